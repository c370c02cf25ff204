"""The sandbox's AWS endpoint under hostile and heavy traffic.

Whatever arrives — malformed bodies, garbage ``Authorization`` headers, oversized or lying
``Content-Length``, unknown paths, odd methods, bytes that are not UTF-8, header injection
attempts, clients that stall — the answer is an AWS-style 4xx (an XML ``ErrorResponse`` for
the query services, ``x-amzn-ErrorType`` for EKS, an S3 ``<Error>``), never a 5xx, and the
server keeps answering: every test here ends with a ``GetCallerIdentity`` by each
administrator (autouse fixture). Bytes that are not an HTTP request line are answered by
the HTTP layer itself (http.server's error page) before any gate runs.

Malformed requests are sent as raw HTTP (``http.client``, or bytes on a socket when even
``http.client`` refuses them), signed with botocore's own signer where the garbage must get
past authentication to reach the parsers. Every socket has a timeout: a server that waits
for bytes that never come fails the test instead of hanging it. Two hypothesis tests send
random requests (unsigned or with garbage credentials; and validly signed IAM reads and
STS calls with random parameters).

Also here: HTTP keep-alive (connections reused, pipelined requests answered, a 413 with an
unread body closes), and the gate and moto reading the same parameters out of a request
(where they differ, the gate authorizes one call and moto executes another).

Then load: eight client threads for ``LOAD_SECONDS`` (30 s, the issue's requirement; one
test) with a mix of STS, IAM, S3 and EKS calls in both accounts, checking that nothing
fails and that no write is lost.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import json
import os
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

import boto3
import botocore.session
import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubetrust.sandbox.aws.request import MAX_BODY_BYTES

LOAD_SECONDS = 30
"""How long the load test runs (the issue asks for 30 s in CI). ``KUBETRUST_LOAD_SECONDS``
shortens it for a quick local run; CI leaves it alone."""

LOAD_THREADS = 8
MAX_OPS_PER_THREAD = 20_000  # a bound on the work, should the machine be very fast
TIMEOUT = 10.0  # seconds any single socket operation of these tests may take
FORM = "application/x-www-form-urlencoded; charset=utf-8"
XML_NAMESPACES = {
    "https://sts.amazonaws.com/doc/2011-06-15/",
    "https://iam.amazonaws.com/doc/2010-05-08/",
}

# --------------------------------------------------------------------------- helpers


@dataclass
class Answer:
    """One HTTP answer, headers by lower-case name."""

    method: str
    status: int
    headers: dict[str, str]
    body: bytes

    def __repr__(self) -> str:
        return f"Answer({self.method} -> {self.status}, {self.headers}, {self.body[:300]!r})"


def _address(sandbox: Any) -> tuple[str, int]:
    host, port = sandbox.endpoint.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _answer(method: str, response: http.client.HTTPResponse) -> Answer:
    body = response.read()
    headers = {name.lower(): value for name, value in response.getheaders()}
    return Answer(method, response.status, headers, body)


def send(
    sandbox: Any,
    method: str,
    target: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> Answer:
    """One request through ``http.client`` (it adds Host and Content-Length)."""
    conn = http.client.HTTPConnection(*_address(sandbox), timeout=TIMEOUT)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        return _answer(method, conn.getresponse())
    finally:
        conn.close()


def exchange(sandbox: Any, data: bytes, *, method: str = "GET") -> Answer:
    """Raw bytes on a fresh connection, then the end of the request stream (a server still
    waiting for body bytes sees that none will come); the first answer."""
    with socket.create_connection(_address(sandbox), timeout=TIMEOUT) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        return _answer(method, response)


def signed(
    aws: Any,
    service: str,
    method: str,
    target: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    account: str | None = None,
) -> Answer:
    """A request signed by an administrator with botocore's signer, sent as is."""
    key, secret = aws.sandbox.admin_keys[account or aws.CI]
    request = AWSRequest(
        method=method, url=aws.sandbox.endpoint + target, data=body, headers=dict(headers or {})
    )
    if service == "s3":
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
        S3SigV4Auth(Credentials(key, secret), "s3", aws.REGION).add_auth(request)
    else:
        SigV4Auth(Credentials(key, secret), service, aws.REGION).add_auth(request)
    prepared = request.prepare()
    url = urlsplit(prepared.url)
    path = url.path + (f"?{url.query}" if url.query else "")
    return send(aws.sandbox, method, path, body, dict(prepared.headers))


def error_code(answer: Answer) -> str:
    """The AWS error code of a 4xx answer, checking that it is shaped as AWS shapes it:
    ``x-amzn-ErrorType`` and a JSON body with a message (rest-json), an XML
    ``ErrorResponse`` (query) or ``Error`` (S3) with a code; HEAD answers carry no body,
    only a request id."""
    assert 400 <= answer.status < 500, answer
    if answer.method == "HEAD":
        assert answer.body == b"", answer
        assert "x-amzn-requestid" in answer.headers or "x-amz-request-id" in answer.headers
        return str(answer.status)
    if "x-amzn-errortype" in answer.headers:
        document = json.loads(answer.body)
        assert isinstance(document, dict), answer
        assert isinstance(document.get("message", document.get("Message")), str), answer
        return answer.headers["x-amzn-errortype"].split(":", 1)[0]
    try:
        root = ElementTree.fromstring(answer.body)
    except ElementTree.ParseError:
        pytest.fail(f"not an AWS error document: {answer!r}")
    namespace, _, tag = root.tag.rpartition("}")
    if tag == "ErrorResponse":
        assert namespace.lstrip("{") in XML_NAMESPACES, answer
        code = root.findtext(f"{namespace}}}Error/{namespace}}}Code")
    else:
        assert tag == "Error", answer
        code = root.findtext("Code")
    assert code, answer
    return code


def protocol_of(answer: Answer) -> str:
    """Which AWS wire format an error answer is in."""
    if "x-amzn-errortype" in answer.headers:
        return "rest-json"
    return "query" if b"<ErrorResponse" in answer.body else "rest-xml"


def fine(answer: Answer) -> None:
    """Not a server error; an error answer is AWS-shaped."""
    assert answer.status < 500, answer
    if answer.status >= 400:
        error_code(answer)


_ADMIN_STS: dict[tuple[str, str], Any] = {}


def assert_alive(aws: Any) -> None:
    """Both administrators' GetCallerIdentity answers (clients kept: this runs often)."""
    for account in (aws.CI, aws.TARGET):
        key = (aws.sandbox.endpoint, account)
        if key not in _ADMIN_STS:
            _ADMIN_STS[key] = aws.client("sts", account=account)
        assert _ADMIN_STS[key].get_caller_identity()["Account"] == account


@pytest.fixture(autouse=True)
def still_answering(aws: Any) -> Iterator[None]:
    """Every batch of abuse ends with the administrators' GetCallerIdentity."""
    yield
    assert_alive(aws)


# --------------------------------------------------------------------------- malformed bodies

GARBAGE_FORMS = {
    "invalid percent encoding": b"Action=GetCallerIdentity&Version=2011-06-15&%%%zz=%g0",
    "binary garbage": bytes(range(256)) * 4,
    "nul bytes": b"Action=\x00GetCallerIdentity\x00&Version=\x00",
    "truncated": b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1111",
    "separators only": b"&&&===&=&=",
    "huge key": b"A" * 100_000 + b"=1",
    "json instead of form": b'{"Action": "GetCallerIdentity"}',
    "xml instead of form": b"<Action>GetCallerIdentity</Action>",
}


@pytest.mark.parametrize("body", GARBAGE_FORMS.values(), ids=GARBAGE_FORMS.keys())
def test_unsigned_garbage_form_bodies_are_refused(aws: Any, body: bytes) -> None:
    answer = send(aws.sandbox, "POST", "/", body, {"Content-Type": FORM})
    assert error_code(answer) in {"MissingAuthenticationToken", "AccessDenied"}


def _garbage_form_cases() -> list[Any]:
    """Every garbage body to STS and to IAM. A body whose Action is an STS action sent
    with an IAM scope is an unknown IAM action."""
    return [
        pytest.param(service, body, id=f"{service}-{name}")
        for service in ("sts", "iam")
        for name, body in GARBAGE_FORMS.items()
    ]


_STS_ACTION_BODIES = {"invalid percent encoding", "truncated"}


@pytest.mark.parametrize("service,body", _garbage_form_cases())
def test_signed_garbage_form_bodies_get_a_query_error(aws: Any, service: str, body: bytes) -> None:
    answer = signed(aws, service, "POST", "/", body, {"Content-Type": FORM})
    fine(answer)  # GetCallerIdentity with a stray garbage pair is still GetCallerIdentity
    if answer.status >= 400:
        assert protocol_of(answer) == "query", answer


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"Action=GetUser&Version=2010-05-08&x=\xff\xfe"),
        pytest.param(b"Action=NoSuchOperation&Version=2010-05-08"),
        pytest.param(b"Action=ListRoles&Version=2010-05-08&MaxItems=abc"),
        pytest.param(b"Action=GetMFADevice&Version=2010-05-08&SerialNumber=x"),
        b"Action=GetRole&Version=2010-05-08",
        b"Action=GetRole&Version=2010-05-08&RoleName=" + b"r" * 5000,
        pytest.param(b"Action=ListRoles&Version=2010-05-08&Marker=%00%01"),
        b"Action=PutRolePolicy&Version=2010-05-08&RoleName=no-such-role&PolicyName=p",
    ],
    ids=[
        "not-utf8",
        "unknown-action",
        "non-numeric-maxitems",
        "not-implemented-by-moto",
        "missing-role-name",
        "overlong-role-name",
        "binary-marker",
        "missing-policy-document",
    ],
)
def test_signed_malformed_iam_calls_get_a_query_error(aws: Any, body: bytes) -> None:
    answer = signed(aws, "iam", "POST", "/", body, {"Content-Type": FORM})
    error_code(answer)
    assert protocol_of(answer) == "query"


@pytest.mark.parametrize(
    "body",
    [
        b"Action=AssumeRole&Version=2011-06-15",
        b"Action=AssumeRole&Version=2011-06-15&RoleArn=x&RoleSessionName=s",
        b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111"
        b"%3Arole%2Fnope&RoleSessionName=session&DurationSeconds=forever",
        b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111"
        b"%3Arole%2Fnope&RoleSessionName=session&Policy=%7Bnot%20json",
        b"Action=GetSessionToken&Version=2011-06-15&DurationSeconds=-1",
    ],
    ids=["no-params", "short-values", "bad-duration", "bad-policy", "unsupported-action"],
)
def test_signed_malformed_sts_calls_get_a_query_error(aws: Any, body: bytes) -> None:
    answer = signed(aws, "sts", "POST", "/", body, {"Content-Type": FORM})
    error_code(answer)
    assert protocol_of(answer) == "query"


@pytest.mark.parametrize(
    "token",
    ["a.b.c", "x" * 30, "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "\u00ff" * 8, "." * 50],
)
def test_garbage_web_identity_tokens_are_refused(aws: Any, token: str) -> None:
    body = (
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleSessionName=web"
        f"&RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Fnope&WebIdentityToken={quote(token)}"
    )
    answer = send(aws.sandbox, "POST", "/", body.encode(), {"Content-Type": FORM})
    assert error_code(answer) in {"InvalidIdentityToken", "AccessDenied", "ValidationError"}


EKS_GARBAGE = {
    "not json": b"{not json",
    "binary": bytes(range(256)),
    "truncated": b'{"name": "c", "roleArn": "arn:aws:iam::1',
    "a string": b'"cluster"',
    "null": b"null",
    "huge number": b"1e999999",
    "utf-16": '{"name": "c"}'.encode("utf-16"),
}


def _eks_garbage_cases() -> list[Any]:
    return [
        pytest.param(route, body, id=f"{route}-{name}")
        for route in ("POST /clusters", "GET /clusters", "POST /clusters/c/update-config")
        for name, body in EKS_GARBAGE.items()
    ]


@pytest.mark.parametrize("route,body", _eks_garbage_cases())
def test_json_garbage_to_eks_routes_gets_a_rest_json_error(
    aws: Any, route: str, body: bytes
) -> None:
    """Garbage a route must parse is refused; ListClusters ignores a body, as AWS does."""
    method, path = route.split()
    answer = signed(aws, "eks", method, path, body, {"Content-Type": "application/json"})
    fine(answer)
    if method == "POST":
        error_code(answer)
        assert protocol_of(answer) == "rest-json", answer


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b"{}",
        b'{"name": "only-a-name"}',
        b'{"name": 5, "roleArn": 7, "resourcesVpcConfig": "x"}',
        pytest.param(b"[" * 100_000 + b"]" * 100_000),
    ],
    ids=["array", "empty-object", "only-name", "wrong-types", "deeply-nested"],
)
def test_wrong_json_shapes_to_create_cluster_get_a_rest_json_error(aws: Any, body: bytes) -> None:
    answer = signed(aws, "eks", "POST", "/clusters", body, {"Content-Type": "application/json"})
    error_code(answer)


@pytest.mark.parametrize(
    "route",
    [
        pytest.param("GET /clusters?maxResults=many"),
        "GET /clusters/%ff%fe",
        "GET /clusters/" + "c" * 3000,
        "GET /clusters/no-such-cluster/access-entries",
        pytest.param("GET /clusters/no-such-cluster/node-groups"),
        pytest.param("POST /clusters/no-such-cluster/addons"),
        pytest.param("POST /cluster-registrations"),
    ],
    ids=[
        "bad-max-results",
        "not-utf8-name",
        "long-name",
        "access-entries",
        "node-groups",
        "addons",
        "register-cluster",
    ],
)
def test_odd_eks_requests_get_a_rest_json_error(aws: Any, route: str) -> None:
    method, target = route.split()
    body = b"{}" if method == "POST" else b""
    answer = signed(aws, "eks", method, target, body, {"Content-Type": "application/json"})
    error_code(answer)
    assert protocol_of(answer) == "rest-json"


@pytest.mark.parametrize(
    "method,target,body",
    [
        ("GET", "/{bucket}/no-such-key", b""),
        ("GET", "/no-such-bucket-{bucket}/key", b""),
        pytest.param("PUT", "/{bucket}?acl", b"\xff\xfe garbage"),
        pytest.param("POST", "/{bucket}/key?uploadId=nope", b"<garbage"),
        pytest.param("PUT", "/{bucket}/key?partNumber=1&uploadId=nope", b"part"),
        pytest.param("PUT", "/{bucket}/key?partNumber=x&uploadId=nope", b"part"),
        pytest.param("PUT", "/{bucket}?tagging", b"<Tagging><TagSet><Tag>"),
        pytest.param("POST", "/{bucket}?delete", b"<not xml"),
        pytest.param("GET", "/{bucket}?list-type=2&max-keys=abc", b""),
        pytest.param("GET", "/{bucket}?list-type=2&max-keys=-5", b""),
    ],
    ids=[
        "no-such-key",
        "no-such-bucket",
        "acl-garbage",
        "complete-unknown-upload",
        "part-of-unknown-upload",
        "part-number-not-a-number",
        "tagging-truncated-xml",
        "delete-objects-bad-xml",
        "max-keys-abc",
        "max-keys-negative",
    ],
)
def test_malformed_s3_requests_get_an_s3_error(
    aws: Any, method: str, target: str, body: bytes
) -> None:
    bucket = aws.unique("robust")
    aws.client("s3", account=aws.CI).create_bucket(Bucket=bucket)
    answer = signed(aws, "s3", method, target.format(bucket=bucket), body)
    error_code(answer)
    assert protocol_of(answer) == "rest-xml", answer


def test_a_malformed_bucket_policy_is_refused_and_does_not_poison_the_bucket(aws: Any) -> None:
    """Before 0da33ef moto stored any policy text, and the gate then failed to parse it on
    every later request to the bucket, the owner's included."""
    s3 = aws.client("s3", account=aws.TARGET)
    bucket = aws.unique("poison")
    s3.create_bucket(Bucket=bucket)
    answer = signed(aws, "s3", "PUT", f"/{bucket}?policy", b"{not json", account=aws.TARGET)
    assert error_code(answer) == "MalformedPolicy"
    s3.put_object(Bucket=bucket, Key="still-works", Body=b"x")


# --------------------------------------------------------------------------- authorization

RANDOM = random.Random(20261128)
RANDOM_AUTH = [
    "".join(RANDOM.choice("ABCDEFabcdef0123456789 =,/-_+") for _ in range(RANDOM.randint(1, 200)))
    for _ in range(6)
]
SCOPE = "AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/{service}/aws4_request"
GARBAGE_AUTH = {
    **{f"random-{i}": value for i, value in enumerate(RANDOM_AUTH)},
    "empty": "",
    "algorithm-only": "AWS4-HMAC-SHA256",
    "sha512": "AWS4-HMAC-SHA512 Credential={scope}, SignedHeaders=host, Signature=00",
    "sigv4a": "AWS4-ECDSA-P256-SHA256 Credential={scope}, SignedHeaders=host, Signature=00",
    "sigv2": "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
    "bearer": "Bearer eyJhbGciOiJub25lIn0.e30.",
    "basic": "Basic dXNlcjpwYXNz",
    "no-signature": "AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host",
    "no-signed-headers": "AWS4-HMAC-SHA256 Credential={scope}, Signature=" + "0" * 64,
    "no-credential": "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=" + "0" * 64,
    "short-credential": "AWS4-HMAC-SHA256 Credential=AKIA/2026, SignedHeaders=host, Signature=0",
    "empty-parts": "AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=",
    "bad-date": "AWS4-HMAC-SHA256 Credential=AKIA/notadate/us-east-1/{service}/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
    "repeated-parts": "AWS4-HMAC-SHA256 " + "Credential={scope}, " * 200 + "Signature=0",
    "huge": "AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=" + "f" * 60_000,
    "latin-1": "AWS4-HMAC-SHA256 Credential=\u00e9\u00ff/20260101/us-east-1/{service}/aws4_req",
    "unknown-key": "AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host;x-amz-date, "
    "Signature=" + "0" * 64,
}
AUTH_TARGETS = {
    "sts": ("POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15"),
    "iam": ("POST", "/", b"Action=ListRoles&Version=2010-05-08"),
    "eks": ("GET", "/clusters", b""),
    "s3": ("GET", "/some-bucket/some-key", b""),
}
EXPECTED_PROTOCOL = {"sts": "query", "iam": "query", "eks": "rest-json", "s3": "rest-xml"}


@pytest.mark.parametrize("service", AUTH_TARGETS)
@pytest.mark.parametrize("auth", GARBAGE_AUTH.values(), ids=GARBAGE_AUTH.keys())
def test_garbage_authorization_headers_are_refused_in_the_services_format(
    aws: Any, service: str, auth: str
) -> None:
    method, target, body = AUTH_TARGETS[service]
    value = auth.replace("{scope}", SCOPE.format(service=service)).replace("{service}", service)
    headers = {
        "Authorization": value,
        "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
        "Content-Type": FORM,
    }
    answer = send(aws.sandbox, method, target, body, headers)
    error_code(answer)
    if "{scope}" in auth and answer.status != 431:
        assert protocol_of(answer) == EXPECTED_PROTOCOL[service], answer


def test_an_authorization_header_beyond_the_line_limit_is_refused(aws: Any) -> None:
    """Past 64 KiB the HTTP layer refuses the header line (431) before the gate runs."""
    answer = send(aws.sandbox, "GET", "/", headers={"Authorization": "A" * 70_000})
    assert 400 <= answer.status < 500, answer


def test_two_authorization_headers_are_refused(aws: Any) -> None:
    scope = SCOPE.format(service="sts")
    line = f"Authorization: AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0"
    request = (
        "POST / HTTP/1.1\r\nHost: x\r\n"
        f"{line}\r\n{line}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 24\r\n\r\n"
        "Action=GetCallerIdentity"
    )
    error_code(exchange(aws.sandbox, request.encode(), method="POST"))


# --------------------------------------------------------------------------- sizes


@pytest.mark.parametrize("length", [MAX_BODY_BYTES + 1, 10**15])
@pytest.mark.parametrize("target", ["/", "/some-bucket/some-key"])
def test_an_oversized_body_is_refused_before_it_is_read(aws: Any, length: int, target: str) -> None:
    """The gate answers 413 from Content-Length alone: 4 KiB of the body are sent, the
    answer must come while the rest is still missing."""
    head = (
        f"PUT {target} HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()
    with socket.create_connection(_address(aws.sandbox), timeout=TIMEOUT) as sock:
        sock.sendall(head + b"Action=GetCallerIdentity&" + b"p" * 4096)
        response = http.client.HTTPResponse(sock, method="PUT")
        response.begin()
        answer = _answer("PUT", response)
    assert answer.status == 413, answer
    assert error_code(answer) == "EntityTooLarge"


def test_a_large_but_allowed_object_round_trips(aws: Any) -> None:
    s3 = aws.client("s3", account=aws.CI)
    bucket = aws.unique("large")
    s3.create_bucket(Bucket=bucket)
    data = os.urandom(8 * 1024 * 1024)
    s3.put_object(Bucket=bucket, Key="big", Body=data)
    assert s3.get_object(Bucket=bucket, Key="big")["Body"].read() == data


def test_a_large_but_allowed_form_body_is_answered(aws: Any) -> None:
    body = b"Action=GetCallerIdentity&Version=2011-06-15&Padding=" + b"p" * (2 * 1024 * 1024)
    answer = signed(aws, "sts", "POST", "/", body, {"Content-Type": FORM})
    fine(answer)


# --------------------------------------------------------------------------- paths and methods

UNKNOWN_PATHS = [
    "/no/such/path",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/../../etc/passwd",
    "//",
    "/" + "a" * 8000,
    "/%00",
    "/clusters/a/b/c/d/e",
    "/?",
    "/;jsessionid=1",
]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
@pytest.mark.parametrize("path", UNKNOWN_PATHS, ids=range(len(UNKNOWN_PATHS)))
def test_unknown_paths_unsigned(aws: Any, method: str, path: str) -> None:
    error_code(send(aws.sandbox, method, path))


@pytest.mark.parametrize("service", ["sts", "iam", "eks", "s3"])
@pytest.mark.parametrize("path", UNKNOWN_PATHS[:7], ids=range(7))
def test_unknown_paths_signed(aws: Any, service: str, path: str) -> None:
    answer = signed(aws, service, "GET", path)
    fine(answer)
    if service != "s3":  # for S3 some of these are plausible bucket/key names
        assert answer.status >= 400, answer


ODD_METHODS = ["HEAD", "OPTIONS", "PATCH", "TRACE", "PROPFIND", "BREW", "MKCOL", "LOCK"]


@pytest.mark.parametrize("path", ["/", "/clusters", "/some-bucket/some-key"])
@pytest.mark.parametrize("method", ODD_METHODS)
def test_odd_methods_unsigned(aws: Any, method: str, path: str) -> None:
    error_code(send(aws.sandbox, method, path))


@pytest.mark.parametrize("service", ["sts", "iam", "eks", "s3"])
@pytest.mark.parametrize("method", ODD_METHODS)
def test_odd_methods_signed(aws: Any, method: str, service: str) -> None:
    path = {"eks": "/clusters", "s3": "/some-bucket/some-key"}.get(service, "/")
    fine(signed(aws, service, method, path))


def test_connect_is_refused(aws: Any) -> None:
    answer = exchange(aws.sandbox, b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: x\r\n\r\n")
    error_code(answer)


# --------------------------------------------------------------------------- bytes and headers

NOT_UTF8 = [
    b"GET /?\xff\xfe=\xfd HTTP/1.1",
    b"GET /?Action=GetCallerIdentity&Version=2011-06-15&x=\xc3\x28 HTTP/1.1",
    b"POST /?Action=\xff\xff HTTP/1.1",
    b"GET /\xff\xfe/key HTTP/1.1",
    b"GET /clusters/\xe2\x82 HTTP/1.1",
    b"GET /?%ff%fe=%fd HTTP/1.1",
]


@pytest.mark.parametrize("line", NOT_UTF8, ids=range(len(NOT_UTF8)))
def test_query_strings_and_paths_that_are_not_utf8(aws: Any, line: bytes) -> None:
    method = line.split(b" ", 1)[0].decode()
    answer = exchange(
        aws.sandbox, line + b"\r\nHost: x\r\nContent-Length: 0\r\n\r\n", method=method
    )
    error_code(answer)


@pytest.mark.parametrize("service", ["sts", "iam", "eks", "s3"])
def test_signed_query_strings_that_are_not_utf8(aws: Any, service: str) -> None:
    target = {
        "sts": "/?Action=GetCallerIdentity&Version=2011-06-15&x=%FF%FE",
        "iam": "/?Action=ListRoles&Version=2010-05-08&Marker=%FF%C3%28",
        "eks": "/clusters?nextToken=%FF%FE",
        "s3": "/some-bucket?prefix=%FF%FE",
    }[service]
    fine(signed(aws, service, "GET", target))


INJECTIONS = {
    "bare lf": b"X-A: a\nX-Injected: yes",
    "bare cr": b"X-A: a\rX-Injected: yes",
    "nul": b"X-A: a\x00b",
    "space in name": b"Bad Header: x",
    "no colon": b"NoColonHere",
    "obs-fold": b"X-A: a\r\n  X-Injected: yes",
    "injected auth": b"X-A: x\r\nAuthorization: AWS4-HMAC-SHA256 Credential=a%0d%0aX-Injected",
    "host with crlf": b"Host: a%0d%0aX-Injected:%20yes",
    "conflicting lengths": b"Content-Length: 50",
    "length and chunked": b"Transfer-Encoding: chunked",
    "bogus encoding": b"Transfer-Encoding: gzip, identity",
    "expect": b"Expect: 100-continue",
    "long header list": b"\r\n".join(b"X-H%d: v" % i for i in range(90)),
}


@pytest.mark.parametrize("extra", INJECTIONS.values(), ids=INJECTIONS.keys())
@pytest.mark.parametrize("path", ["/", "/%0d%0aX-Injected:%20yes", "/b/k%0AX-Injected:%20yes"])
def test_header_injection_attempts(aws: Any, extra: bytes, path: str) -> None:
    body = b"Action=GetCallerIdentity"
    request = (
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + extra + b"\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )
    if extra == INJECTIONS["length and chunked"]:
        request = request.replace(b"\r\n\r\n" + body, b"\r\n\r\n0\r\n\r\n")
    answer = exchange(aws.sandbox, request, method="POST")
    error_code(answer)
    assert "x-injected" not in answer.headers, answer


def test_an_s3_key_with_a_newline_gets_an_s3_answer(aws: Any) -> None:
    bucket = aws.unique("newline")
    aws.client("s3", account=aws.CI).create_bucket(Bucket=bucket)
    fine(signed(aws, "s3", "PUT", f"/{bucket}/line%0d%0aX-Injected:%20yes", b"x"))


def test_a_malformed_chunked_body_is_refused(aws: Any) -> None:
    request = (
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\nzz\r\nAction\r\n0\r\n\r\n"
    )
    error_code(exchange(aws.sandbox, request, method="POST"))


@pytest.mark.parametrize(
    "line,code",
    [
        (b"GARBAGE", 400),
        (b"GET / HTTP/1.x", 400),
        (b"GET / HTTP/1.1 extra", 400),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),
        (b"GET / HTTP/2.0", 505),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1", 414),
    ],
    ids=["one-word", "bad-version", "four-words", "tls-hello", "http2", "uri-too-long"],
)
def test_a_request_line_that_does_not_parse_is_answered(aws: Any, line: bytes, code: int) -> None:
    """The HTTP layer answers these itself (http.server: an HTML error page, without a
    status line when the request line gave no usable version); what must not happen is a
    connection closed without a word. 505 is HTTP's answer to HTTP/2 on an HTTP/1 port."""
    reply = b""
    with socket.create_connection(_address(aws.sandbox), timeout=TIMEOUT) as sock:
        sock.sendall(line + b"\r\nHost: x\r\n\r\n")
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                reply += chunk
    found = re.search(rb"^HTTP/1\.[01] (\d{3}) |Error code: (\d{3})", reply)
    assert found, reply
    assert int(found.group(1) or found.group(2)) == code, reply


# --------------------------------------------------------------------------- lying clients


def test_a_body_shorter_than_its_content_length(aws: Any) -> None:
    """The server waits for the missing bytes (it cannot know they will not come), keeps
    serving others meanwhile, and answers 4xx once the client ends the stream."""
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: " + FORM.encode()
    with socket.create_connection(_address(aws.sandbox), timeout=TIMEOUT) as sock:
        sock.sendall(head + b"\r\nContent-Length: 100\r\n\r\nAction=GetCallerIdentity")
        sock.settimeout(1.0)
        with pytest.raises(TimeoutError):
            sock.recv(1)  # no answer yet: the body is not complete
        assert_alive(aws)
        sock.settimeout(TIMEOUT)
        sock.shutdown(socket.SHUT_WR)
        response = http.client.HTTPResponse(sock, method="POST")
        response.begin()
        answer = _answer("POST", response)
    error_code(answer)


def test_a_body_longer_than_its_content_length(aws: Any) -> None:
    request = (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 6\r\n\r\nAction=GetCallerIdentity&Version=2011-06-15" + b"x" * 10_000
    )
    error_code(exchange(aws.sandbox, request, method="POST"))


@pytest.mark.parametrize("declared", [-5, "abc", "1e3", " 12", "0x10"])
def test_a_content_length_that_is_not_a_length(aws: Any, declared: object) -> None:
    request = (
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %s\r\n\r\nAction=GetCallerIdentity" % str(declared).encode()
    )
    error_code(exchange(aws.sandbox, request, method="POST"))


def test_a_signed_request_with_a_truncated_body_is_refused(aws: Any) -> None:
    """A body that ends before its Content-Length is never handed on as if it were whole:
    S3's ``IncompleteBody`` ("You did not provide the number of bytes specified by the
    Content-Length HTTP header"), before any signature is checked."""
    key, secret = aws.sandbox.admin_keys[aws.CI]
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    request = AWSRequest("POST", aws.sandbox.endpoint + "/", data=body, headers={})
    request.headers["Content-Type"] = FORM
    SigV4Auth(Credentials(key, secret), "sts", aws.REGION).add_auth(request)
    head = "".join(f"{k}: {v}\r\n" for k, v in request.prepare().headers.items())
    raw = f"POST / HTTP/1.1\r\nHost: x\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode()
    answer = exchange(aws.sandbox, raw + body[:-10], method="POST")
    assert error_code(answer) == "IncompleteBody"


def test_stalled_clients_do_not_block_others(aws: Any) -> None:
    """Slowloris: sockets that trickle a request byte by byte (request line, headers, or
    body) while other clients are served as usual."""
    address = _address(aws.sandbox)
    partials = [
        b"GE",
        b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nAction=",
    ] * 2
    stop = threading.Event()
    sockets = [socket.create_connection(address, timeout=TIMEOUT) for _ in partials]

    def trickle() -> None:
        for sock, start in zip(sockets, partials, strict=True):
            sock.sendall(start)
        while not stop.wait(0.1):
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.sendall(b"a")

    feeder = threading.Thread(target=trickle, daemon=True)
    feeder.start()
    try:
        sts = aws.client("sts", account=aws.CI)
        for _ in range(20):
            started = time.monotonic()
            assert sts.get_caller_identity()["Account"] == aws.CI
            assert time.monotonic() - started < 2.0
    finally:
        stop.set()
        feeder.join(timeout=TIMEOUT)
        for sock in sockets:
            sock.close()


# --------------------------------------------------------------------------- keep-alive


def test_connections_are_kept_alive(aws: Any) -> None:
    conn = http.client.HTTPConnection(*_address(aws.sandbox), timeout=TIMEOUT)
    try:
        conn.request("GET", "/")
        first = conn.getresponse()
        first.read()
        sock = conn.sock
        assert not first.will_close, first.getheaders()
        conn.request("GET", "/")
        conn.getresponse().read()
        assert conn.sock is sock
    finally:
        conn.close()


class _Replay:
    """Bytes already received, handed to ``http.client`` one answer after the other."""

    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)

    def makefile(self, mode: str) -> Any:
        return self

    def __getattr__(self, name: str) -> Any:
        return getattr(self.buffer, name)

    def close(self) -> None:  # http.client closes its file after each answer
        pass


def test_pipelined_requests_get_one_answer_each(aws: Any) -> None:
    one = b"GET /?Action=GetCallerIdentity HTTP/1.1\r\nHost: x\r\n\r\n"
    received = b""
    with socket.create_connection(_address(aws.sandbox), timeout=TIMEOUT) as sock:
        sock.sendall(one * 3)
        sock.shutdown(socket.SHUT_WR)
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                received += chunk
    replay = _Replay(received)
    codes = []
    for _ in range(3):
        response = http.client.HTTPResponse(replay, method="GET")  # type: ignore[arg-type]
        try:
            response.begin()
        except http.client.HTTPException:
            break
        codes.append(error_code(_answer("GET", response)))
    assert codes == ["MissingAuthenticationToken"] * 3, received


def test_an_unread_oversized_body_ends_the_connection(aws: Any) -> None:
    """After a 413 the rest of the body is still in flight: the connection must close
    (whatever keep-alive does), or those bytes would be read as the next request."""
    head = f"PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n"
    with socket.create_connection(_address(aws.sandbox), timeout=TIMEOUT) as sock:
        sock.sendall(head.encode() + b"x" * 1024)
        response = http.client.HTTPResponse(sock, method="PUT")
        response.begin()
        answer = _answer("PUT", response)
        assert answer.status == 413, answer
        assert answer.headers.get("connection", "").lower() == "close", answer


# --------------------------------------------------------------------------- parser differentials


def _limited_session(aws: Any) -> Credentials:
    """A session of a role that may only call iam:GetUser."""
    iam = aws.client("iam", account=aws.CI)
    name = aws.unique("only-get-user")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{aws.CI}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    allow = {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}
    iam.put_role_policy(
        RoleName=name,
        PolicyName="get-user",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [allow]}),
    )
    got = aws.client("sts", account=aws.CI).assume_role(
        RoleArn=f"arn:aws:iam::{aws.CI}:role/{name}", RoleSessionName="limited"
    )["Credentials"]
    return Credentials(got["AccessKeyId"], got["SecretAccessKey"], got["SessionToken"])


def _smuggled_create_role(aws: Any, how: str, name: str) -> tuple[str, bytes, dict[str, str]]:
    """A request the gate reads as ``iam:GetUser`` and moto as ``CreateRole``."""
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{aws.CI}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    create = {
        "Action": "CreateRole",
        "Version": "2010-05-08",
        "RoleName": name,
        "AssumeRolePolicyDocument": trust,
    }
    decoy = "Action=GetUser&Version=2010-05-08"
    if how == "multipart":  # moto reads the parts; the gate reads the preamble as a form
        parts = "".join(
            f'--B\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in create.items()
        )
        body = f"{decoy}&x=\r\n{parts}--B--\r\n".encode()
        return "/", body, {"Content-Type": "multipart/form-data; boundary=B"}
    # moto takes the query string when the body is not a form; the gate reads the body
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in create.items())
    return f"/?{query}", decoy.encode(), {"Content-Type": "text/plain"}


@pytest.mark.parametrize("how", ["multipart", "query-and-text-body"])
def test_the_gate_authorizes_what_moto_executes(aws: Any, how: str) -> None:
    limited = _limited_session(aws)
    name = aws.unique("smuggled")
    target, body, headers = _smuggled_create_role(aws, how, name)
    request = AWSRequest("POST", aws.sandbox.endpoint + target, data=body, headers=headers)
    SigV4Auth(limited, "iam", aws.REGION).add_auth(request)
    url = urlsplit(request.prepare().url)
    path = url.path + (f"?{url.query}" if url.query else "")
    answer = send(aws.sandbox, "POST", path, body, dict(request.prepare().headers))
    iam = aws.client("iam", account=aws.CI)
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName=name)
    assert answer.status >= 400, answer


# --------------------------------------------------------------------------- fuzzing

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TOKEN = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1)
PRINTABLE = st.text(st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"))
PATH_CHARS = st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="#?")
RESERVED_HEADERS = {"host", "content-length", "transfer-encoding", "expect", "connection"}


@st.composite
def authorizations(draw: st.DrawFn) -> str:
    service = draw(st.sampled_from(["sts", "iam", "s3", "eks", "ec2", ""]))
    key = draw(st.sampled_from(["AKIAIOSFODNN7EXAMPLE", "ASIA", "", "AKIA" + "Z" * 16]))
    date = draw(st.sampled_from(["20260101", "99999999", "", time.strftime("%Y%m%d")]))
    signed_headers = draw(st.sampled_from(["host", "host;x-amz-date", "", ";;", "x-amz-*"]))
    signature = draw(st.text("0123456789abcdef", max_size=64))
    structured = (
        f"AWS4-HMAC-SHA256 Credential={key}/{date}/us-east-1/{service}/aws4_request, "
        f"SignedHeaders={signed_headers}, Signature={signature}"
    )
    return draw(st.sampled_from([structured, structured.replace(", ", ",")]) | PRINTABLE)


@st.composite
def random_requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], bytes]:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"]) | TOKEN)
    segments = draw(st.lists(st.text(PATH_CHARS, max_size=12), max_size=4))
    path = "/" + "/".join(segments)
    query = draw(
        st.lists(st.tuples(PRINTABLE, PRINTABLE), max_size=4).map(
            lambda pairs: "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)
        )
    )
    if draw(st.booleans()):
        query = "Action=" + draw(st.sampled_from(["GetCallerIdentity", "AssumeRole", "X"]))
        query += "&" + query
    headers = dict(draw(st.lists(st.tuples(TOKEN, PRINTABLE), max_size=4)))
    headers = {k: v.strip() for k, v in headers.items() if k.lower() not in RESERVED_HEADERS}
    if draw(st.booleans()):
        headers["Authorization"] = draw(authorizations())
    if draw(st.booleans()):
        headers["X-Amz-Date"] = draw(st.sampled_from([time.strftime("%Y%m%dT%H%M%SZ"), "x"]))
    for name in ("X-Amz-Security-Token", "X-Amz-Content-SHA256", "Content-Type"):
        if draw(st.booleans()):
            headers[name] = draw(PRINTABLE).strip()
    body = draw(st.binary(max_size=512) | PRINTABLE.map(lambda t: t.encode("utf-8")))
    return method, path + (f"?{query}" if query else ""), headers, body


@FUZZ
@given(request=random_requests())
def test_random_requests_never_get_a_server_error(
    aws: Any, request: tuple[str, str, dict[str, str], bytes]
) -> None:
    method, target, headers, body = request
    answer = send(aws.sandbox, method, target, body, headers)
    fine(answer)


_IAM_MODEL = botocore.session.get_session().get_service_model("iam")
IAM_READS = sorted(name for name in _IAM_MODEL.operation_names if name.startswith(("Get", "List")))
STS_CALLS = ["GetCallerIdentity", "AssumeRole", "GetSessionToken", "GetAccessKeyInfo", "Nope"]


@st.composite
def signed_query_calls(draw: st.DrawFn) -> tuple[str, bytes]:
    """A validly signed IAM read or STS call with random values for its parameters."""
    service = draw(st.sampled_from(["iam", "sts"]))
    if service == "iam":
        action = draw(st.sampled_from(IAM_READS))
        shape = _IAM_MODEL.operation_model(action).input_shape
        members = list(shape.members) if shape is not None else []
        version = "2010-05-08"
    else:
        action = draw(st.sampled_from(STS_CALLS))
        members = ["RoleArn", "RoleSessionName", "DurationSeconds", "Policy", "AccessKeyId"]
        version = "2011-06-15"
    value = PRINTABLE | st.integers(-(2**40), 2**40).map(str) | st.sampled_from(["", "abc"])
    params = draw(st.dictionaries(st.sampled_from(members), value, max_size=4)) if members else {}
    form = {"Action": action, "Version": version, **params}
    return service, "&".join(f"{k}={quote(v, safe='')}" for k, v in form.items()).encode()


@settings(FUZZ, derandomize=True)
@given(call=signed_query_calls())
def test_random_signed_iam_reads_and_sts_calls_never_get_a_server_error(
    aws: Any, call: tuple[str, bytes]
) -> None:
    """Past authentication: random parameters reach moto's own parsers."""
    service, body = call
    fine(signed(aws, service, "POST", "/", body, {"Content-Type": FORM}))


# --------------------------------------------------------------------------- load


@dataclass
class Ledger:
    """What one load thread did, and what must be there afterwards."""

    ops: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    roles: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    objects: dict[tuple[str, str, str], bytes] = field(default_factory=dict)


def _load_clients(aws: Any) -> dict[str, dict[str, Any]]:
    """A thread's own clients: every service, both accounts, no retries."""
    session = boto3.session.Session()
    config = Config(
        region_name=aws.REGION, retries={"max_attempts": 1}, connect_timeout=10, read_timeout=30
    )
    clients: dict[str, dict[str, Any]] = {}
    for account in (aws.CI, aws.TARGET):
        key, secret = aws.sandbox.admin_keys[account]
        clients[account] = {
            service: session.client(
                service,
                endpoint_url=aws.sandbox.endpoint,
                config=config,
                aws_access_key_id=key,
                aws_secret_access_key=secret,
            )
            for service in ("sts", "iam", "s3", "eks")
        }
    return clients


@dataclass
class LoadWorld:
    """What the load test sets up: roles to assume and buckets to write, per account."""

    run: str
    path: str
    roles: dict[str, str]
    buckets: dict[str, str]


def _setup_load(aws: Any) -> LoadWorld:
    run = uuid.uuid4().hex[:8]
    world = LoadWorld(run, f"/load-{run}/", {}, {})
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in (aws.CI, aws.TARGET)]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    for account in (aws.CI, aws.TARGET):
        name = f"load-target-{run}"
        aws.client("iam", account=account).create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust)
        )
        world.roles[account] = f"arn:aws:iam::{account}:role/{name}"
        world.buckets[account] = f"load-{run}-{account}"
        aws.client("s3", account=account).create_bucket(Bucket=world.buckets[account])
    return world


def _one_op(
    aws: Any, world: LoadWorld, clients: dict[str, Any], ledger: Ledger, rng: random.Random
) -> str:
    account = rng.choice((aws.CI, aws.TARGET))
    mine = clients[account]
    kind = rng.choices(["identity", "assume", "iam", "s3", "eks"], [2, 2, 2, 3, 1])[0]
    unique = f"{world.run}-{uuid.uuid4().hex[:12]}"
    if kind == "identity":
        assert mine["sts"].get_caller_identity()["Account"] == account
    elif kind == "assume":
        role_account = rng.choice((aws.CI, aws.TARGET))
        role_arn = world.roles[role_account]
        got = mine["sts"].assume_role(RoleArn=role_arn, RoleSessionName=f"s-{unique}")
        name = role_arn.rsplit("/", 1)[1]
        expected = f"arn:aws:sts::{role_account}:assumed-role/{name}/s-{unique}"
        assert got["AssumedRoleUser"]["Arn"] == expected, got["AssumedRoleUser"]
    elif kind == "iam":
        name = f"load-{unique}"
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "eks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        document = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{name}/*"}
            ],
        }
        iam = mine["iam"]
        iam.create_role(Path=world.path, RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(document))
        role = iam.get_role(RoleName=name)["Role"]
        assert role["Arn"] == f"arn:aws:iam::{account}:role{world.path}{name}", role
        ledger.roles[(account, name)] = document
    elif kind == "s3":
        key = f"objects/{unique}"
        data = rng.randbytes(rng.choice([0, 1, 1000, 64 * 1024]))
        bucket = world.buckets[account]
        mine["s3"].put_object(Bucket=bucket, Key=key, Body=data)
        assert mine["s3"].get_object(Bucket=bucket, Key=key)["Body"].read() == data
        ledger.objects[(account, bucket, key)] = data
    else:
        assert isinstance(mine["eks"].list_clusters()["clusters"], list)
    return kind


def _load_thread(aws: Any, world: LoadWorld, seed: int, deadline: float, ledger: Ledger) -> None:
    rng = random.Random(seed)
    try:
        clients = _load_clients(aws)
    except Exception as exc:  # pragma: no cover - reported by the test
        ledger.failures.append(f"thread {seed}: clients: {exc!r}")
        return
    for _ in range(MAX_OPS_PER_THREAD):
        if time.monotonic() >= deadline:
            break
        try:
            kind = _one_op(aws, world, clients, ledger, rng)
        except Exception as exc:
            ledger.failures.append(f"thread {seed}: {exc!r}")
            continue
        ledger.ops[kind] = ledger.ops.get(kind, 0) + 1


def test_eight_clients_under_load_lose_nothing(aws: Any) -> None:
    seconds = float(os.environ.get("KUBETRUST_LOAD_SECONDS", LOAD_SECONDS))
    world = _setup_load(aws)
    ledgers = [Ledger() for _ in range(LOAD_THREADS)]
    deadline = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=_load_thread, args=(aws, world, i, deadline, ledger), name=f"load-{i}"
        )
        for i, ledger in enumerate(ledgers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    assert not any(thread.is_alive() for thread in threads), "a load thread did not stop"

    failures = [failure for ledger in ledgers for failure in ledger.failures]
    assert failures == [], f"{len(failures)} failed calls, first: {failures[:5]}"
    totals: dict[str, int] = {}
    for ledger in ledgers:
        for kind, count in ledger.ops.items():
            totals[kind] = totals.get(kind, 0) + count
    assert set(totals) == {"identity", "assume", "iam", "s3", "eks"}, totals
    print(f"load: {sum(totals.values())} operations in {seconds:.0f} s: {totals}")

    roles = {key: doc for ledger in ledgers for key, doc in ledger.roles.items()}
    objects = {key: data for ledger in ledgers for key, data in ledger.objects.items()}
    for account in (aws.CI, aws.TARGET):
        iam = aws.client("iam", account=account)
        listed = {
            role["RoleName"]
            for page in iam.get_paginator("list_roles").paginate(PathPrefix=world.path)
            for role in page["Roles"]
        }
        assert listed == {name for (owner, name) in roles if owner == account}
        for (owner, name), document in roles.items():
            if owner == account:
                stored = iam.get_role_policy(RoleName=name, PolicyName="p")["PolicyDocument"]
                assert stored == document, name
        s3 = aws.client("s3", account=account)
        bucket = world.buckets[account]
        keys = {
            item["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for item in page.get("Contents", [])
        }
        assert keys == {key for (owner, _, key) in objects if owner == account}
        for (owner, where, key), data in objects.items():
            if owner == account:
                assert s3.get_object(Bucket=where, Key=key)["Body"].read() == data, key
