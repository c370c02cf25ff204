"""The sandbox's SigV4 verifier against what real AWS clients put on the wire.

Three sources of signed requests, from least to most real:

- AWS's own published examples (S3 GET, presigned GET, chunked PUT), signed by nobody here,
  so that a verifier agreeing with botocore only with itself cannot pass;
- requests built by real boto3 clients (IAM, STS, EKS, S3, presigned GetCallerIdentity as
  ``aws eks get-token`` builds it), taken at ``before-send`` as they would leave the client;
- the wire itself: boto3 and the ``aws`` CLI (a subprocess) against a capture server on
  127.0.0.1 that runs :func:`sigv4.verify` on each raw request (these tests are marked
  ``sandbox``: they run in that tier, the rest of this file in ``unit``).

Then every AWS error the verifier can give, per dialect, and hypothesis fuzzing: whatever
the input, only :class:`sigv4.SignatureError` may escape.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import email.utils
import hashlib
import http.server
import io
import json
import logging
import os
import pickle
import subprocess
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import EMPTY_SHA256_HASH, SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubetrust.errors import KubetrustError
from kubetrust.sandbox.aws import sigv4

AWS_CLI = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "aws"
T0 = dt.datetime.now(dt.UTC).replace(microsecond=0)

LONG = sigv4.SigningKey("AKIAEXAMPLELONGTERM1", "long/term+secret", None, None)
TEMP = sigv4.SigningKey(
    "ASIAEXAMPLETEMPORARY",
    "temp/secret+key",
    "IQoJb3JpZ2luX2VjEXAMPLE/token+==",
    T0 + dt.timedelta(hours=1),
)
EXPIRED = sigv4.SigningKey(
    "ASIAEXAMPLEEXPIRED01",
    "expired/secret",
    "IQoJb3JpZ2luEXPIRED//token",
    T0 - dt.timedelta(seconds=1),
)
KEYS = {key.access_key_id: key for key in (LONG, TEMP, EXPIRED)}
LOOKUP: Callable[[str], sigv4.SigningKey | None] = KEYS.get
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation "
    "for details."
)
TRICKY_KEY = "dir/a b/ü%2F(1)+~.txt"


# --- building requests ---------------------------------------------------------------------


@dataclass(frozen=True)
class Wire:
    """One request as it leaves the client (or arrives at a server): the verifier's input.

    ``at`` is when it was signed, read once when the wire is taken, so that mutated copies
    are still verified at the original time.
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes = b""
    at: dt.datetime | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.at is None:
            object.__setattr__(self, "at", _signing_time(self.headers, self.query))

    def __repr__(self) -> str:  # hypothesis prints failing examples; keep bodies short
        return f"Wire({self.method} {self.path}?{self.query[:80]} body={len(self.body)}B)"

    @property
    def signed_at(self) -> dt.datetime:
        assert self.at is not None
        return self.at

    def verify(
        self,
        *,
        after: dt.timedelta = dt.timedelta(seconds=1),
        lookup: Callable[[str], sigv4.SigningKey | None] = LOOKUP,
        **kwargs: Any,
    ) -> sigv4.VerifiedRequest:
        now = self.signed_at + after
        return sigv4.verify(
            self.method, self.path, self.query, self.headers, self.body, lookup, now, **kwargs
        )

    def with_header(self, name: str, value: str | None) -> Wire:
        headers = {k: v for k, v in self.headers.items() if k.lower() != name.lower()}
        if value is not None:
            headers[name] = value
        return replace(self, headers=headers)


def _signing_time(headers: dict[str, str], query: str) -> dt.datetime:
    stamp = {k.lower(): v for k, v in headers.items()}.get("x-amz-date")
    stamp = stamp or dict(urllib.parse.parse_qsl(query)).get("X-Amz-Date", "")
    try:
        return dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return T0


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if hasattr(body, "read"):
        return bytes(body.read())
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def wire_from(request: Any) -> Wire:
    """A prepared botocore request as the HTTP client sends it (Host added as http.client does)."""
    url = urllib.parse.urlsplit(request.url)
    headers = {_text(k): _text(v) for k, v in request.headers.items()}
    headers.setdefault("Host", url.netloc)
    return Wire(request.method, url.path, url.query, headers, _body_bytes(request.body))


class _Stream:
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data.read()

    def read(self, *args: Any) -> bytes:
        return self._data.read(*args)


def _error_response(url: str, service: str) -> AWSResponse:
    """A 400 every protocol parses as a client error, so that capturing stops there."""
    if service == "eks":
        headers = {"x-amzn-ErrorType": "Captured"}
        return AWSResponse(url, 400, headers, _Stream(b'{"message": "captured"}'))
    body = (
        b"<ErrorResponse><Error><Code>Captured</Code><Message>c</Message></Error></ErrorResponse>"
    )
    if service == "s3":
        body = b"<Error><Code>Captured</Code><Message>c</Message></Error>"
    return AWSResponse(url, 400, {}, _Stream(body))


def client(
    service: str,
    key: sigv4.SigningKey = LONG,
    *,
    endpoint: str = "http://127.0.0.1:4566",
    **config: Any,
) -> Any:
    """A real boto3 client (``signature_version="s3v4"`` for SigV4 presigned S3 URLs: boto3's
    default S3 presigned URL is SigV2, see :func:`test_sigv2_is_refused_as_unsupported`)."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
        aws_session_token=key.session_token,
        config=Config(retries={"max_attempts": 1}, **config),
    )


def captured(
    service: str,
    call: Callable[[Any], Any],
    key: sigv4.SigningKey = LONG,
    *,
    endpoint: str = "http://127.0.0.1:4566",
) -> Wire:
    """The one request a real boto3 client sends for ``call``, taken at ``before-send``."""
    c = client(service, key, endpoint=endpoint)
    wires: list[Wire] = []

    def before_send(request: Any, **_: Any) -> AWSResponse:
        wires.append(wire_from(request))
        return _error_response(request.url, service)

    c.meta.events.register("before-send", before_send)
    with contextlib.suppress(ClientError):
        call(c)
    assert len(wires) == 1
    return wires[0]


S3_V4 = client("s3", signature_version="s3v4")


def eks_token_request(key: sigv4.SigningKey = LONG, cluster: str = "demo") -> Wire:
    """The presigned GetCallerIdentity of ``aws eks get-token``, built the way the CLI does.

    The CLI moves ``x-k8s-aws-id`` from the call parameters into the request context and
    injects it as a header before signing (awscli/customizations/eks/get_token.py); the
    cluster's authenticator then sends that header along with the GET.
    """
    sts = client("sts", key)

    def retrieve(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if "x-k8s-aws-id" in params:
            context["x-k8s-aws-id"] = params.pop("x-k8s-aws-id")

    def inject(request: Any, **_: Any) -> None:
        if "x-k8s-aws-id" in request.context:
            request.headers["x-k8s-aws-id"] = request.context["x-k8s-aws-id"]

    sts.meta.events.register("provide-client-params.sts.GetCallerIdentity", retrieve)
    sts.meta.events.register("before-sign.sts.GetCallerIdentity", inject)
    url = sts.generate_presigned_url(
        "get_caller_identity", Params={"x-k8s-aws-id": cluster}, ExpiresIn=60, HttpMethod="GET"
    )
    return url_wire(url, {"x-k8s-aws-id": cluster})


def url_wire(url: str, headers: dict[str, str] | None = None) -> Wire:
    parts = urllib.parse.urlsplit(url)
    return Wire("GET", parts.path, parts.query, {"Host": parts.netloc, **(headers or {})})


OPERATIONS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "sts-get-caller-identity": ("sts", lambda c: c.get_caller_identity()),
    "iam-create-role": (
        "iam",
        lambda c: c.create_role(
            RoleName="target-account-iam-role",
            AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": []}',
            Path="/ci/",
        ),
    ),
    "eks-list-clusters": ("eks", lambda c: c.list_clusters(maxResults=10)),
    "eks-describe-cluster": ("eks", lambda c: c.describe_cluster(name="target cluster")),
    "s3-put-object": (
        "s3",
        lambda c: c.put_object(Bucket="bucket", Key=TRICKY_KEY, Body=b"hello \x00 world"),
    ),
    "s3-get-object": ("s3", lambda c: c.get_object(Bucket="bucket", Key=TRICKY_KEY)),
    "s3-list-objects": (
        "s3",
        lambda c: c.list_objects_v2(Bucket="bucket", Prefix="dir/a b/ü", Delimiter="/"),
    ),
}


def op_wire(name: str, key: sigv4.SigningKey = LONG) -> Wire:
    service, call = OPERATIONS[name]
    return captured(service, call, key)


def code_of(wire: Wire, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(sigv4.SignatureError) as caught:
        wire.verify(**kwargs)
    return caught.value.code, caught.value.status, caught.value.message


# --- AWS's published examples --------------------------------------------------------------

AWS_DOC_KEY = sigv4.SigningKey(
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", None, None
)
AWS_DOC_TIME = dt.datetime(2013, 5, 24, tzinfo=dt.UTC)
AWS_DOC_SCOPE = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"


def _doc_verify(wire: Wire, after: dt.timedelta = dt.timedelta(minutes=1)) -> sigv4.VerifiedRequest:
    return sigv4.verify(
        wire.method,
        wire.path,
        wire.query,
        wire.headers,
        wire.body,
        {AWS_DOC_KEY.access_key_id: AWS_DOC_KEY}.get,
        AWS_DOC_TIME + after,
    )


def test_aws_documented_s3_get_object_example() -> None:
    """AmazonS3/latest/API/sig-v4-header-based-auth.html, "Example: GET Object"."""
    wire = Wire(
        "GET",
        "/test.txt",
        "",
        {
            "Host": "examplebucket.s3.amazonaws.com",
            "Range": "bytes=0-9",
            "x-amz-content-sha256": EMPTY_SHA256_HASH,
            "x-amz-date": "20130524T000000Z",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={AWS_DOC_SCOPE},SignedHeaders=host;"
            "range;x-amz-content-sha256;x-amz-date,Signature="
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        },
    )
    verified = _doc_verify(wire)
    assert verified == sigv4.VerifiedRequest(
        access_key_id="AKIAIOSFODNN7EXAMPLE",
        region="us-east-1",
        service="s3",
        signed_at=AWS_DOC_TIME,
        presigned=False,
        signed_headers=("host", "range", "x-amz-content-sha256", "x-amz-date"),
    )
    with pytest.raises(sigv4.SignatureError, match="Check your key and signing method"):
        _doc_verify(wire.with_header("Range", "bytes=0-10"))


def test_aws_documented_presigned_url_example() -> None:
    """AmazonS3/latest/API/sigv4-query-string-auth.html: valid for 86400 s, then expired."""
    query = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
        + urllib.parse.quote(AWS_DOC_SCOPE, safe="")
        + "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )
    wire = Wire("GET", "/test.txt", query, {"Host": "examplebucket.s3.amazonaws.com"})
    assert _doc_verify(wire, dt.timedelta(hours=23)).presigned
    with pytest.raises(sigv4.SignatureError) as caught:
        _doc_verify(wire, dt.timedelta(seconds=86401))
    assert (caught.value.code, caught.value.status, caught.value.message) == (
        "AccessDenied",
        403,
        "Request has expired",
    )


def _doc_chunked(chunks: list[tuple[int, str]], filler: bytes = b"a") -> bytes:
    return b"".join(
        f"{size:x};chunk-signature={sig}\r\n".encode() + filler * size + b"\r\n"
        for size, sig in chunks
    )


DOC_CHUNKS = [
    (65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"),
    (1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"),
    (0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"),
]
DOC_CHUNKED = Wire(
    "PUT",
    "/examplebucket/chunkObject.txt",
    "",
    {
        "Host": "s3.amazonaws.com",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "Authorization": f"AWS4-HMAC-SHA256 Credential={AWS_DOC_SCOPE},SignedHeaders="
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
        "x-amz-decoded-content-length;x-amz-storage-class,Signature="
        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "Content-Encoding": "aws-chunked",
        "x-amz-decoded-content-length": "66560",
        "Content-Length": "66824",
    },
    _doc_chunked(DOC_CHUNKS),
)


def test_aws_documented_chunked_upload_example() -> None:
    """AmazonS3/latest/API/sigv4-streaming.html: seed and every chunk signature verified."""
    assert len(DOC_CHUNKED.body) == 66824
    assert _doc_verify(DOC_CHUNKED).service == "s3"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param(
            DOC_CHUNKED.body.replace(b"a\r\n0;", b"b\r\n0;"), "SignatureDoesNotMatch", id="data"
        ),
        pytest.param(
            DOC_CHUNKED.body.replace(DOC_CHUNKS[1][1].encode(), DOC_CHUNKS[0][1].encode()),
            "SignatureDoesNotMatch",
            id="chain",
        ),
        pytest.param(_doc_chunked(DOC_CHUNKS[:1] + DOC_CHUNKS[2:]), "IncompleteBody", id="dropped"),
        pytest.param(DOC_CHUNKED.body[:-40], "IncompleteBody", id="truncated"),
        pytest.param(DOC_CHUNKED.body.replace(b"10000;", b"1000x;"), "IncompleteBody", id="size"),
        pytest.param(
            DOC_CHUNKED.body.replace(b"chunk-signature", b"chunk-sig"), "IncompleteBody", id="ext"
        ),
    ],
)
def test_aws_documented_chunked_upload_tampered(body: bytes, code: str) -> None:
    with pytest.raises(sigv4.SignatureError) as caught:
        _doc_verify(replace(DOC_CHUNKED, body=body))
    assert caught.value.code == code


def test_chunked_upload_decoded_length_is_signed() -> None:
    wire = DOC_CHUNKED.with_header("x-amz-decoded-content-length", "66561")
    with pytest.raises(sigv4.SignatureError) as caught:
        _doc_verify(wire)
    # the header is signed: the seed signature fails before the body is read
    assert caught.value.code == "SignatureDoesNotMatch"


# --- what real boto3 clients send ------------------------------------------------------------


@pytest.mark.parametrize("key", [LONG, TEMP], ids=["long-term", "temporary"])
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_boto3_requests_verify(operation: str, key: sigv4.SigningKey) -> None:
    wire = op_wire(operation, key)
    verified = wire.verify()
    service = OPERATIONS[operation][0]
    assert verified.access_key_id == key.access_key_id
    assert (verified.service, verified.region, verified.presigned) == (service, "us-east-1", False)
    assert {"host", "x-amz-date"} <= set(verified.signed_headers)
    assert ("x-amz-security-token" in verified.signed_headers) == (key is TEMP)
    assert verified.signed_at == wire.signed_at


def test_s3_put_object_over_http_signs_the_body_hash() -> None:
    wire = op_wire("s3-put-object")
    headers = {k.lower(): v for k, v in wire.headers.items()}
    assert "%2520" not in wire.path and "%252F" in wire.path and "%C3%BC" in wire.path
    assert headers["x-amz-content-sha256"] == hashlib.sha256(b"hello \x00 world").hexdigest()
    assert "x-amz-checksum-crc32" in wire.verify().signed_headers
    with pytest.raises(sigv4.SignatureError) as caught:
        replace(wire, body=b"hello \x00 World").verify()
    assert caught.value.code == "XAmzContentSHA256Mismatch"
    assert caught.value.message == (
        "The provided 'x-amz-content-sha256' header does not match what was computed."
    )


@pytest.mark.parametrize("size", [11, 3 * 1024 * 1024 + 5], ids=["one-chunk", "many-chunks"])
def test_s3_put_object_over_https_is_aws_chunked_with_unsigned_trailer(size: int) -> None:
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    wire = captured(
        "s3",
        lambda c: c.put_object(Bucket="bucket", Key=TRICKY_KEY, Body=io.BytesIO(body)),
        TEMP,
        endpoint="https://s3.sandbox.test",
    )
    headers = {k.lower(): v for k, v in wire.headers.items()}
    assert headers["x-amz-content-sha256"] == sigv4.STREAMING_UNSIGNED_TRAILER
    assert headers["content-encoding"] == "aws-chunked"
    assert wire.body.endswith(b"\r\n\r\n") and b"x-amz-checksum-crc32:" in wire.body
    assert wire.verify().service == "s3"
    with pytest.raises(sigv4.SignatureError) as caught:
        replace(wire, body=wire.body[:-7]).verify()
    assert caught.value.code == "IncompleteBody"


def test_sts_body_is_covered_by_the_signature() -> None:
    wire = op_wire("sts-get-caller-identity")
    assert wire.method == "POST" and wire.body == b"Action=GetCallerIdentity&Version=2011-06-15"
    tampered = replace(wire, body=wire.body.replace(b"GetCallerIdentity", b"GetSessionToken"))
    assert code_of(tampered) == ("SignatureDoesNotMatch", 403, SIGNATURE_MISMATCH)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda w: replace(w, path=w.path.replace("dir", "Dir")), id="path"),
        pytest.param(lambda w: replace(w, method="DELETE"), id="method"),
        pytest.param(lambda w: replace(w, query=w.query + "&x-id=PutObject"), id="query"),
        pytest.param(lambda w: w.with_header("Host", "127.0.0.1:4567"), id="host"),
        pytest.param(lambda w: w.with_header("x-amz-checksum-crc32", "AAAAAA=="), id="header"),
        pytest.param(lambda w: w.with_header("x-amz-date", None), id="no-date"),
    ],
)
def test_tampered_s3_requests_are_refused(tamper: Callable[[Wire], Wire]) -> None:
    with pytest.raises(sigv4.SignatureError) as caught:
        tamper(op_wire("s3-put-object")).verify()
    assert caught.value.code in {"SignatureDoesNotMatch", "AccessDenied"}


def test_unsigned_headers_may_change_but_not_be_added_for_s3() -> None:
    wire = op_wire("s3-get-object")
    assert wire.with_header("User-Agent", "curl/8").with_header("X-Forwarded-For", "1").verify()
    assert code_of(wire.with_header("x-amz-meta-extra", "1")) == (
        "AccessDenied",
        403,
        "There were headers present in the request which were not signed",
    )
    # other services do not care about unsigned x-amz-* headers
    assert op_wire("sts-get-caller-identity").with_header("x-amz-meta-extra", "1").verify()


def test_header_names_are_case_insensitive() -> None:
    wire = op_wire("eks-list-clusters", TEMP)
    shouted = replace(wire, headers={k.upper(): v for k, v in wire.headers.items()})
    assert shouted.verify().service == "eks"


def test_date_header_instead_of_x_amz_date() -> None:
    """botocore signs with ``Date`` (RFC 1123) when the request carries one."""
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:4566/",
        data=b"Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Date": "x", "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    creds = Credentials(LONG.access_key_id, LONG.secret_access_key)
    SigV4Auth(creds, "sts", "us-east-1").add_auth(request)
    wire = wire_from(request.prepare())
    assert "X-Amz-Date" not in wire.headers and "date" in wire.headers["Authorization"]
    signed_at = email.utils.parsedate_to_datetime(wire.headers["Date"])
    verified = sigv4.verify(
        wire.method, wire.path, wire.query, wire.headers, wire.body, LOOKUP, signed_at
    )
    assert verified.signed_at == signed_at.astimezone(dt.UTC)
    assert "date" in verified.signed_headers


def test_query_is_canonicalized_from_what_was_decoded() -> None:
    """AWS re-encodes each decoded name and value: safe characters may arrive unencoded."""
    wire = op_wire("s3-list-objects")
    assert "prefix=dir%2Fa%20b%2F%C3%BC" in wire.query
    assert wire.verify()
    loose = replace(wire, query=wire.query.replace("%2F", "/"))
    assert loose.verify()


# --- presigned requests --------------------------------------------------------------------


def test_eks_get_token_request_verifies() -> None:
    wire = eks_token_request()
    params = dict(urllib.parse.parse_qsl(wire.query))
    assert params["X-Amz-SignedHeaders"] == "host;x-k8s-aws-id"
    assert params["X-Amz-Expires"] == "60"
    verified = wire.verify()
    assert (verified.service, verified.presigned) == ("sts", True)
    assert verified.signed_headers == ("host", "x-k8s-aws-id")


def test_eks_get_token_with_temporary_credentials_carries_the_token() -> None:
    wire = eks_token_request(TEMP)
    assert "X-Amz-Security-Token=" in wire.query
    assert wire.verify().access_key_id == TEMP.access_key_id
    stripped = replace(
        wire, query="&".join(p for p in wire.query.split("&") if "Security-Token" not in p)
    )
    assert code_of(stripped)[0] == "InvalidClientTokenId"


@pytest.mark.parametrize("cluster_header", [None, "other-cluster"])
def test_eks_get_token_is_bound_to_its_cluster(cluster_header: str | None) -> None:
    wire = eks_token_request().with_header("x-k8s-aws-id", cluster_header)
    assert code_of(wire) == ("SignatureDoesNotMatch", 403, SIGNATURE_MISMATCH)


def test_sts_presigned_requests_ignore_x_amz_expires_and_live_15_minutes() -> None:
    """STS ignores ``X-Amz-Expires`` (aws-sdk-go #2167, PR #2224): 15 minutes, like headers."""
    wire = eks_token_request()
    assert wire.verify(after=dt.timedelta(minutes=14))
    code, status, message = code_of(wire, after=dt.timedelta(minutes=15, seconds=1))
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    assert message.startswith(f"Signature expired: {wire.signed_at:%Y%m%dT%H%M%SZ} is now")


def test_s3_presigned_url_expires_after_x_amz_expires() -> None:
    url = client("s3", TEMP, signature_version="s3v4").generate_presigned_url(
        "get_object", Params={"Bucket": "bucket", "Key": TRICKY_KEY}, ExpiresIn=60
    )
    wire = url_wire(url)
    verified = wire.verify(after=dt.timedelta(seconds=60))
    assert verified.presigned and verified.service == "s3"
    assert code_of(wire, after=dt.timedelta(seconds=61)) == (
        "AccessDenied",
        403,
        "Request has expired",
    )


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        (
            "604801",
            "X-Amz-Expires must be less than a week (in seconds); that is, the given "
            "X-Amz-Expires must be less than 604800 seconds",
        ),
        ("-1", "X-Amz-Expires must be non-negative"),
        ("soon", "X-Amz-Expires should be a number"),
    ],
)
def test_s3_presigned_expires_limits(expires: str, message: str) -> None:
    url = client("s3", signature_version="s3v4").generate_presigned_url(
        "get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=60
    )
    wire = url_wire(url.replace("X-Amz-Expires=60", f"X-Amz-Expires={expires}"))
    assert code_of(wire) == ("AuthorizationQueryParametersError", 400, message)


@pytest.mark.parametrize("dropped", ["X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date"])
def test_presigned_missing_parameters(dropped: str) -> None:
    sts = eks_token_request()
    sts = replace(sts, query="&".join(p for p in sts.query.split("&") if not p.startswith(dropped)))
    code, status, message = code_of(sts, service="sts")
    assert (code, status) == ("IncompleteSignature", 400)
    assert f"AWS query-string parameters must include '{dropped}'." in message
    s3 = url_wire(S3_V4.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"}))
    s3 = replace(s3, query="&".join(p for p in s3.query.split("&") if not p.startswith(dropped)))
    code, status, message = code_of(s3, service="s3")
    assert (code, status) == ("AuthorizationQueryParametersError", 400)
    assert message.startswith("Query-string authentication version 4 requires the X-Amz-Algorithm")


def test_presigned_bad_date_and_algorithm() -> None:
    s3 = url_wire(S3_V4.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"}))
    stamp = dict(urllib.parse.parse_qsl(s3.query))["X-Amz-Date"]
    bad_date = replace(s3, query=s3.query.replace(stamp, stamp.replace("T", "-")))
    assert code_of(bad_date, service="s3") == (
        "AuthorizationQueryParametersError",
        400,
        "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
    )
    bad_alg = replace(s3, query=s3.query.replace("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"))
    assert code_of(bad_alg)[0] == "AuthorizationQueryParametersError"


def test_both_auth_mechanisms_at_once() -> None:
    url = S3_V4.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    wire = url_wire(url).with_header(
        "Authorization", op_wire("s3-get-object").headers["Authorization"]
    )
    code, status, message = code_of(wire)
    assert (code, status) == ("InvalidArgument", 400)
    assert message.startswith("Only one auth mechanism allowed")


# --- credentials -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        (
            "sts-get-caller-identity",
            ("InvalidClientTokenId", 403, "The security token included in the request is invalid."),
        ),
        (
            "iam-create-role",
            ("InvalidClientTokenId", 403, "The security token included in the request is invalid."),
        ),
        (
            "eks-list-clusters",
            (
                "UnrecognizedClientException",
                403,
                "The security token included in the request is invalid.",
            ),
        ),
        (
            "s3-get-object",
            (
                "InvalidAccessKeyId",
                403,
                "The AWS Access Key Id you provided does not exist in our records.",
            ),
        ),
    ],
)
def test_unknown_access_key(operation: str, expected: tuple[str, int, str]) -> None:
    assert code_of(op_wire(operation), lookup=lambda _: None) == expected


@pytest.mark.parametrize(
    ("operation", "missing", "wrong"),
    [
        ("sts-get-caller-identity", "InvalidClientTokenId", "InvalidClientTokenId"),
        ("eks-list-clusters", "UnrecognizedClientException", "UnrecognizedClientException"),
        ("s3-get-object", "InvalidAccessKeyId", "InvalidToken"),
    ],
)
def test_temporary_key_session_token(operation: str, missing: str, wrong: str) -> None:
    without = op_wire(operation, replace(TEMP, session_token=None))
    assert code_of(without)[0] == missing
    other = op_wire(operation, replace(TEMP, session_token="IQoJb3JpZ2luX2VjEXAMPLE/other"))
    assert code_of(other)[0] == wrong
    if wrong == "InvalidToken":
        assert code_of(other)[1:] == (400, "The provided token is malformed or otherwise invalid.")


def test_long_term_key_with_a_session_token() -> None:
    wire = op_wire("sts-get-caller-identity", replace(LONG, session_token="made-up"))
    assert code_of(wire)[0] == "InvalidClientTokenId"


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        (
            "sts-get-caller-identity",
            ("ExpiredToken", 403, "The security token included in the request is expired"),
        ),
        (
            "iam-create-role",
            ("ExpiredToken", 403, "The security token included in the request is expired"),
        ),
        (
            "eks-list-clusters",
            ("ExpiredTokenException", 403, "The security token included in the request is expired"),
        ),
        ("s3-put-object", ("ExpiredToken", 400, "The provided token has expired.")),
    ],
)
def test_expired_temporary_key(operation: str, expected: tuple[str, int, str]) -> None:
    assert code_of(op_wire(operation, EXPIRED)) == expected


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ("sts-get-caller-identity", ("SignatureDoesNotMatch", 403, SIGNATURE_MISMATCH)),
        ("iam-create-role", ("SignatureDoesNotMatch", 403, SIGNATURE_MISMATCH)),
        ("eks-describe-cluster", ("InvalidSignatureException", 403, SIGNATURE_MISMATCH)),
        (
            "s3-put-object",
            (
                "SignatureDoesNotMatch",
                403,
                "The request signature we calculated does not match the signature "
                "you provided. Check your key and signing method.",
            ),
        ),
    ],
)
def test_wrong_secret(operation: str, expected: tuple[str, int, str]) -> None:
    impostor = replace(LONG, secret_access_key="not the secret")
    assert code_of(op_wire(operation), lookup={LONG.access_key_id: impostor}.get) == expected


# --- the clock and the scope -------------------------------------------------------------


def test_clock_skew_header_auth() -> None:
    wire = op_wire("sts-get-caller-identity")
    t = wire.signed_at
    assert wire.verify(after=dt.timedelta(minutes=15))
    assert wire.verify(after=-dt.timedelta(minutes=15))
    late = t + dt.timedelta(minutes=20)
    assert code_of(wire, after=dt.timedelta(minutes=20)) == (
        "SignatureDoesNotMatch",
        403,
        f"Signature expired: {t:%Y%m%dT%H%M%SZ} is now earlier than "
        f"{late - dt.timedelta(minutes=15):%Y%m%dT%H%M%SZ} ({late:%Y%m%dT%H%M%SZ} - 15 min.)",
    )
    early = t - dt.timedelta(minutes=16)
    assert code_of(wire, after=-dt.timedelta(minutes=16)) == (
        "SignatureDoesNotMatch",
        403,
        f"Signature not yet current: {t:%Y%m%dT%H%M%SZ} is still later than "
        f"{early + dt.timedelta(minutes=15):%Y%m%dT%H%M%SZ} ({early:%Y%m%dT%H%M%SZ} + 15 min.)",
    )
    assert code_of(op_wire("eks-list-clusters"), after=dt.timedelta(hours=1))[0] == (
        "InvalidSignatureException"
    )
    assert code_of(op_wire("s3-get-object"), after=dt.timedelta(hours=1)) == (
        "RequestTimeTooSkewed",
        403,
        "The difference between the request time and the current time is too large.",
    )


def _redate_scope(wire: Wire, day: str) -> Wire:
    auth = wire.headers["Authorization"]
    stamp = wire.signed_at.strftime("%Y%m%d")
    return wire.with_header("Authorization", auth.replace(f"/{stamp}/", f"/{day}/"))


def test_credential_scope_date_must_match_the_request_date() -> None:
    wire = op_wire("sts-get-caller-identity")
    stamp = wire.headers["X-Amz-Date"]
    assert code_of(_redate_scope(wire, "20200101")) == (
        "SignatureDoesNotMatch",
        403,
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        f"HTTP: '20200101' != '{stamp[:8]}', from '{stamp}'.",
    )
    assert code_of(_redate_scope(op_wire("s3-get-object"), "20200101")) == (
        "AuthorizationHeaderMalformed",
        400,
        "The authorization header is malformed; Invalid credential date. "
        "Date is not the same as X-Amz-Date.",
    )


# --- malformed Authorization headers -----------------------------------------------------


def test_incomplete_signature_names_everything_missing() -> None:
    wire = Wire("POST", "/", "", {"Host": "h", "Authorization": "Basic dXNlcjpwYXNzd29yZA=="})
    code, status, message = code_of(wire, service="sts")
    assert (code, status) == ("IncompleteSignature", 400)
    assert message == (
        "Authorization header requires 'Credential' parameter. Authorization header requires "
        "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        "Authorization=Basic dXNlcjpwYXNzd29yZA=="
    )


def test_incomplete_signature_variants() -> None:
    wire = op_wire("sts-get-caller-identity")
    auth = wire.headers["Authorization"]
    no_sig = auth.split(", Signature=")[0]
    assert code_of(wire.with_header("Authorization", no_sig)) == (
        "IncompleteSignature",
        400,
        f"Authorization header requires 'Signature' parameter. Authorization={no_sig}",
    )
    spaced = auth.replace("Credential=AKIA", "Credential= AKIA")
    code, _, message = code_of(wire.with_header("Authorization", spaced))
    assert code == "IncompleteSignature"
    assert message.startswith("'AKIAEXAMPLELONGTERM1/") and "(missing equal-sign)" in message
    four = auth.replace("/us-east-1/sts/", "/sts/")
    assert code_of(wire.with_header("Authorization", four))[2].startswith(
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/"
        "service/term, got 'AKIAEXAMPLELONGTERM1/"
    )
    eks = op_wire("eks-list-clusters")
    eks_auth = eks.headers["Authorization"].split(", Signature=")[0]
    assert code_of(eks.with_header("Authorization", eks_auth))[:2] == (
        "IncompleteSignatureException",
        400,
    )
    assert code_of(wire.with_header("X-Amz-Date", "2024-01-01T00:00:00Z"))[0] == (
        "IncompleteSignature"
    )


def test_s3_malformed_authorization() -> None:
    wire = op_wire("s3-get-object")
    auth = wire.headers["Authorization"]
    assert code_of(wire.with_header("Authorization", auth.split(", Signature=")[0])) == (
        "AuthorizationHeaderMalformed",
        400,
        "The authorization header is malformed; the authorization header requires three "
        "components: Credential, SignedHeaders, and Signature.",
    )
    assert code_of(wire.with_header("Authorization", auth.replace("aws4_request", "aws3")))[
        2
    ].endswith('expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".')
    bearer = wire.with_header("Authorization", "Bearer c2lnbmF0dXJl")
    assert code_of(bearer, service="s3") == (
        "InvalidArgument",
        400,
        "Unsupported Authorization Type",
    )
    assert code_of(wire.with_header("X-Amz-Date", "yesterday")) == (
        "AccessDenied",
        403,
        "AWS authentication requires a valid Date or x-amz-date header",
    )


def test_s3_content_sha256_rules() -> None:
    wire = op_wire("s3-get-object")
    assert code_of(wire.with_header("X-Amz-Content-SHA256", None)) == (
        "InvalidRequest",
        400,
        "Missing required header for this request: x-amz-content-sha256",
    )
    auth = wire.headers["Authorization"].replace("x-amz-content-sha256;", "")
    assert code_of(wire.with_header("Authorization", auth))[2] == (
        "header 'x-amz-content-sha256' must be included in signature"
    )
    code, status, message = code_of(wire.with_header("X-Amz-Content-SHA256", "SHA-256-OF-IT"))
    assert (code, status) == ("InvalidArgument", 400)
    assert message.startswith("x-amz-content-sha256 must be UNSIGNED-PAYLOAD")


def test_sigv2_is_refused_as_unsupported() -> None:
    """boto3's default presigned S3 URL is SigV2 (``AWSAccessKeyId``/``Signature``/``Expires``);
    the sandbox answers as S3 does in SigV4-only regions."""
    url = client("s3").generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    wire = url_wire(url)
    assert "AWSAccessKeyId=" in wire.query and sigv4.is_signed(wire.headers, wire.query)
    unsupported = (
        "InvalidRequest",
        400,
        "The authorization mechanism you have provided is not supported. "
        "Please use AWS4-HMAC-SHA256.",
    )
    assert code_of(wire, service="s3") == unsupported
    header = op_wire("s3-get-object").with_header("Authorization", "AWS AKIAEXAMPLE:c2lnbmF0dXJl")
    assert code_of(header, service="s3") == unsupported


def test_missing_authentication_entirely() -> None:
    wire = Wire("GET", "/", "Action=GetCallerIdentity", {"Host": "h"})
    assert not sigv4.is_signed(wire.headers, wire.query)
    assert code_of(wire, service="sts") == (
        "MissingAuthenticationToken",
        403,
        "Request is missing Authentication Token",
    )


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ({"Host": "h"}, "", False),
        ({"authorization": ""}, "", True),
        ({"AUTHORIZATION": "AWS4-HMAC-SHA256 ..."}, "", True),
        ({}, "X-Amz-Credential=a%2Fb", True),
        ({}, "X-Amz-Signature", True),
        ({}, "AWSAccessKeyId=AKIA&Signature=x&Expires=1", True),
        ({}, "Signature=x", False),
        ({}, "x-amz-credential=lowercase-is-not-sigv4", False),
    ],
)
def test_is_signed(headers: dict[str, str], query: str, expected: bool) -> None:
    assert sigv4.is_signed(headers, query) is expected


# --- the error value and the logs --------------------------------------------------------


def test_signature_error_is_a_kubetrust_error_and_pickles() -> None:
    error = sigv4.SignatureError("ExpiredToken", "The provided token has expired.", 400)
    assert isinstance(error, KubetrustError)
    assert str(error) == "The provided token has expired."
    again = pickle.loads(pickle.dumps(error))
    assert (again.code, again.message, again.status) == (error.code, error.message, error.status)


def test_debug_logs_name_the_steps_but_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="kubetrust.sandbox.aws.sigv4")
    wire = op_wire("sts-get-caller-identity", TEMP)
    wire.verify()
    eks_token_request(TEMP).verify()
    with contextlib.suppress(sigv4.SignatureError):
        wire.verify(lookup={TEMP.access_key_id: replace(TEMP, secret_access_key="x")}.get)
    text = caplog.text
    assert "CanonicalRequest" in text and "StringToSign" in text and "<redacted>" in text
    assert TEMP.session_token and TEMP.session_token not in text
    assert urllib.parse.quote(TEMP.session_token, safe="") not in text
    assert TEMP.secret_access_key not in text
    assert wire.headers["Authorization"].split("Signature=")[1] not in text


# --- on the wire: boto3 and the aws CLI against a capture server ---------------------------


@dataclass
class Capture:
    """One request the capture server received, and what :func:`sigv4.verify` made of it."""

    wire: Wire
    result: sigv4.VerifiedRequest | sigv4.SignatureError


GET_CALLER_IDENTITY = (
    b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    b"<GetCallerIdentityResult><Arn>arn:aws:iam::111111111111:user/ci</Arn>"
    b"<UserId>AIDAEXAMPLE</UserId><Account>111111111111</Account></GetCallerIdentityResult>"
    b"<ResponseMetadata><RequestId>c0ffee</RequestId></ResponseMetadata>"
    b"</GetCallerIdentityResponse>"
)


def _answer(capture: Capture) -> tuple[int, dict[str, str], bytes]:
    """A minimal valid answer per service, or an error body when verification failed."""
    result = capture.result
    if isinstance(result, sigv4.SignatureError):
        auth = capture.wire.headers.get("Authorization", "")
        error = f"<Error><Code>{result.code}</Code><Message>{result.message}</Message></Error>"
        if "/eks/" in auth:
            body = json.dumps({"message": result.message}).encode()
            return result.status, {"x-amzn-ErrorType": result.code}, body
        if "/s3/" not in auth:
            error = f"<ErrorResponse>{error}<RequestId>c0ffee</RequestId></ErrorResponse>"
        return result.status, {"Content-Type": "text/xml"}, error.encode()
    if result.service == "sts":
        return 200, {"Content-Type": "text/xml"}, GET_CALLER_IDENTITY
    if result.service == "eks":
        return 200, {"Content-Type": "application/json"}, b'{"clusters": ["demo"]}'
    if capture.wire.method == "PUT":
        return 200, {"ETag": '"0123456789abcdef"'}, b""
    return 200, {"Content-Type": "application/octet-stream"}, b"object data"


class _CaptureHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and Expect: 100-continue, as clients expect
    server: _CaptureServer

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while size := int(self.rfile.readline().split(b";")[0], 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b""):
                pass
            return data
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _serve(self) -> None:
        path, _, query = self.path.partition("?")
        wire = Wire(self.command, path, query, dict(self.headers.items()), self._body())
        try:
            result: sigv4.VerifiedRequest | sigv4.SignatureError = sigv4.verify(
                wire.method, path, query, wire.headers, wire.body, LOOKUP, dt.datetime.now(dt.UTC)
            )
        except sigv4.SignatureError as error:
            result = error
        capture = Capture(wire, result)
        self.server.captures.append(capture)
        status, headers, body = _answer(capture)
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _CaptureServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    captures: list[Capture]


@pytest.fixture(scope="module")
def capture_server() -> Iterator[_CaptureServer]:
    server = _CaptureServer(("127.0.0.1", 0), _CaptureHandler)
    server.captures = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def endpoint(capture_server: _CaptureServer) -> str:
    capture_server.captures.clear()
    return f"http://127.0.0.1:{capture_server.server_address[1]}"


def _verified(capture_server: _CaptureServer) -> list[sigv4.VerifiedRequest]:
    results = [c.result for c in capture_server.captures]
    failures = [r for r in results if isinstance(r, sigv4.SignatureError)]
    assert not failures, failures
    return [r for r in results if isinstance(r, sigv4.VerifiedRequest)]


@pytest.mark.sandbox  # a capture server on loopback
def test_boto3_round_trip_over_http(capture_server: _CaptureServer, endpoint: str) -> None:
    sts = client("sts", TEMP, endpoint=endpoint)
    assert sts.get_caller_identity()["Account"] == "111111111111"
    s3 = client("s3", TEMP, endpoint=endpoint)
    s3.put_object(Bucket="bucket", Key=TRICKY_KEY, Body=b"payload \xff bytes")
    s3.upload_fileobj(io.BytesIO(b"streamed body"), "bucket", "streamed key")
    assert s3.get_object(Bucket="bucket", Key=TRICKY_KEY)["Body"].read() == b"object data"
    assert client("eks", LONG, endpoint=endpoint).list_clusters()["clusters"] == ["demo"]
    verified = _verified(capture_server)
    assert [v.service for v in verified] == ["sts", "s3", "s3", "s3", "eks"]
    put = capture_server.captures[1].wire
    assert "%252F" in put.path and put.body == b"payload \xff bytes"
    assert "x-amz-checksum-crc32" in verified[1].signed_headers


@pytest.mark.sandbox  # a capture server on loopback
def test_boto3_refused_on_the_wire(capture_server: _CaptureServer, endpoint: str) -> None:
    impostor = replace(LONG, secret_access_key="guessed")
    with pytest.raises(ClientError) as caught:
        client("sts", impostor, endpoint=endpoint).get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def _aws(endpoint: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_ACCESS_KEY_ID": LONG.access_key_id,
        "AWS_SECRET_ACCESS_KEY": LONG.secret_access_key,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.run(
        [str(AWS_CLI), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.sandbox  # a capture server on loopback, the aws CLI as a subprocess
@pytest.mark.skipif(not AWS_CLI.exists(), reason="the aws CLI is installed by `make setup`")
def test_aws_cli_against_the_capture_server(
    capture_server: _CaptureServer, endpoint: str, tmp_path: Path
) -> None:
    identity = _aws(endpoint, tmp_path, "sts", "get-caller-identity", "--output", "json")
    assert identity.returncode == 0, identity.stderr
    assert json.loads(identity.stdout)["Arn"] == "arn:aws:iam::111111111111:user/ci"

    upload = tmp_path / "small file.txt"
    upload.write_bytes(b"seed: cross-account access\n")
    copied = _aws(endpoint, tmp_path, "s3", "cp", str(upload), "s3://bucket/dir/ü file.txt")
    assert copied.returncode == 0, copied.stderr

    verified = _verified(capture_server)
    assert [(v.service, v.presigned) for v in verified] == [("sts", False), ("s3", False)]
    put = capture_server.captures[1].wire
    assert put.method == "PUT" and put.body == upload.read_bytes()
    assert put.path == "/bucket/dir/%C3%BC%20file.txt"
    headers = {k.lower(): v for k, v in put.headers.items()}
    assert headers["x-amz-content-sha256"] == hashlib.sha256(put.body).hexdigest()

    token = _aws(endpoint, tmp_path, "eks", "get-token", "--cluster-name", "demo")
    assert token.returncode == 0, token.stderr
    encoded = json.loads(token.stdout)["status"]["token"].removeprefix("k8s-aws-v1.")
    url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    assert url.startswith(endpoint + "/?Action=GetCallerIdentity&Version=2011-06-15&")
    presigned = url_wire(url, {"x-k8s-aws-id": "demo"}).verify()
    assert (presigned.service, presigned.presigned) == ("sts", True)
    assert presigned.signed_headers == ("host", "x-k8s-aws-id")


# --- fuzzing: only SignatureError may escape ---------------------------------------------

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
HEADER_NAMES = st.sampled_from(
    [
        "Authorization",
        "X-Amz-Date",
        "Date",
        "x-amz-content-sha256",
        "X-Amz-Security-Token",
        "Host",
        "x-amz-decoded-content-length",
        "x-amz-meta-a",
        "content-type",
    ]
)
PIECES = st.sampled_from(
    [
        "AWS4-HMAC-SHA256",
        "AWS4-HMAC-SHA256 ",
        "Credential=",
        "SignedHeaders=",
        "Signature=",
        "AKIAEXAMPLELONGTERM1",
        "ASIAEXAMPLETEMPORARY",
        "/",
        "20240101",
        "us-east-1",
        "s3",
        "sts",
        "eks",
        "aws4_request",
        ",",
        ", ",
        ";",
        "=",
        "host;x-amz-date",
        "x-amz-content-sha256",
        "0" * 64,
        " ",
        "\t",
        "\x00",
        "\ud800",
        "é",
    ]
)
AUTHORIZATION = st.lists(PIECES | ANY_TEXT, max_size=25).map("".join)
QUERY = st.lists(
    st.sampled_from(
        [
            "X-Amz-Algorithm=AWS4-HMAC-SHA256",
            "X-Amz-Credential=ASIAEXAMPLETEMPORARY%2F20240101%2Fus-east-1%2Fs3%2Faws4_request",
            "X-Amz-Credential=AKIAEXAMPLELONGTERM1/20240101/us-east-1/sts/aws4_request",
            "X-Amz-Date=20240101T000000Z",
            "X-Amz-Expires=60",
            "X-Amz-Expires=99999999999999999999999",
            "X-Amz-SignedHeaders=host",
            "X-Amz-Signature=" + "0" * 64,
            "X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE%2Ftoken%2B%3D%3D",
            "%",
            "%ff%fe",
            "a=b",
            "&",
        ]
    )
    | ANY_TEXT,
    max_size=12,
).map("&".join)


def _anything_goes(key_id: str) -> sigv4.SigningKey | None:
    """A lookup that knows every key, so that garbage reaches the signature computation."""
    if key_id.startswith("ASIA"):
        return replace(TEMP, access_key_id=key_id)
    return replace(LONG, access_key_id=key_id) if key_id else None


def _survives(
    method: str, path: str, query: str, headers: dict[str, str], body: bytes, now: dt.datetime
) -> None:
    with contextlib.suppress(sigv4.SignatureError):
        sigv4.verify(method, path, query, headers, body, _anything_goes, now)


@FUZZ
@given(
    method=st.sampled_from(["GET", "PUT", "POST", ""]) | ANY_TEXT,
    path=st.sampled_from(["/", "/bucket/key", "//x", "", "[", "/%zz"]) | ANY_TEXT,
    query=QUERY,
    headers=st.dictionaries(HEADER_NAMES | ANY_TEXT, AUTHORIZATION | ANY_TEXT, max_size=8),
    body=st.binary(max_size=64),
    now=st.datetimes(
        min_value=dt.datetime(1970, 1, 1),
        max_value=dt.datetime(2100, 1, 1),
        timezones=st.just(dt.UTC),
    ),
)
def test_fuzz_random_requests(
    method: str, path: str, query: str, headers: dict[str, str], body: bytes, now: dt.datetime
) -> None:
    _survives(method, path, query, headers, body, now)


@FUZZ
@given(
    authorization=AUTHORIZATION,
    amz_date=st.sampled_from(["20240101T000000Z", "20240101T250000Z", "", "Mon, 01 Jan 2024"])
    | ANY_TEXT,
    use_date_header=st.booleans(),
    content_sha=st.sampled_from(
        [
            "UNSIGNED-PAYLOAD",
            sigv4.STREAMING_SIGNED,
            sigv4.STREAMING_SIGNED_TRAILER,
            sigv4.STREAMING_UNSIGNED_TRAILER,
            "0" * 64,
            EMPTY_SHA256_HASH,
        ]
    )
    | ANY_TEXT,
    body=st.binary(max_size=64)
    | st.lists(
        st.sampled_from([b"0\r\n", b"\r\n", b"5;chunk-signature=", b"0" * 64, b"hello", b"x:y"]),
        max_size=10,
    ).map(b"".join),
)
def test_fuzz_authorization_headers(
    authorization: str, amz_date: str, use_date_header: bool, content_sha: str, body: bytes
) -> None:
    headers = {
        "Authorization": authorization,
        "Date" if use_date_header else "X-Amz-Date": amz_date,
        "x-amz-content-sha256": content_sha,
        "Host": "127.0.0.1:4566",
        "x-amz-decoded-content-length": "5",
    }
    _survives("PUT", "/bucket/key", "", headers, body, dt.datetime(2024, 1, 1, tzinfo=dt.UTC))


@pytest.fixture(scope="module")
def valid_wires() -> list[Wire]:
    return [
        op_wire("s3-put-object", TEMP),
        op_wire("sts-get-caller-identity"),
        eks_token_request(TEMP),
        DOC_CHUNKED,
    ]


@FUZZ
@given(
    which=st.integers(0, 3),
    part=st.sampled_from(["path", "query", "body", "header", "drop", "case"]),
    position=st.integers(0, 10_000),
    text=ANY_TEXT,
)
def test_fuzz_mutated_valid_requests(
    valid_wires: list[Wire], which: int, part: str, position: int, text: str
) -> None:
    wire = valid_wires[which]
    names = sorted(wire.headers)
    name = names[position % len(names)]
    if part == "path":
        i = position % (len(wire.path) + 1)
        wire = replace(wire, path=wire.path[:i] + text + wire.path[i:])
    elif part == "query":
        i = position % (len(wire.query) + 1)
        wire = replace(wire, query=wire.query[:i] + text + wire.query[i:])
    elif part == "body":
        i = position % (len(wire.body) + 1)
        data = text.encode("utf-8", "surrogatepass")
        wire = replace(wire, body=wire.body[:i] + data + wire.body[i + len(data) :])
    elif part == "header":
        value = wire.headers[name]
        i = position % (len(value) + 1)
        wire = wire.with_header(name, value[:i] + text + value[i:])
    elif part == "drop":
        wire = wire.with_header(name, None)
    else:
        wire = replace(wire, headers={**wire.headers, name.swapcase(): text})
    now = wire.signed_at if wire is not DOC_CHUNKED else AWS_DOC_TIME
    _survives(wire.method, wire.path, wire.query, wire.headers, wire.body, now)


def _https_chunked_wire() -> Wire:
    return captured(
        "s3",
        lambda c: c.put_object(Bucket="b", Key="k", Body=io.BytesIO(b"hello world")),
        endpoint="https://s3.sandbox.test",
    )


HTTPS_CHUNKED = _https_chunked_wire()
CHUNK_PIECES = st.sampled_from(
    [
        b"\r\n",
        b"0",
        b"b",
        b"10000",
        b"400",
        b";",
        b";chunk-signature=",
        DOC_CHUNKS[0][1].encode(),
        DOC_CHUNKS[2][1].encode(),
        b"hello world",
        b"a" * 1024,
        b"x-amz-checksum-crc32:DUoRhQ==",
        b"x-amz-trailer-signature:",
        b":",
    ]
)


@FUZZ
@given(
    signed=st.booleans(),
    pieces=st.lists(CHUNK_PIECES | st.binary(max_size=8), max_size=16),
)
def test_fuzz_aws_chunked_bodies(signed: bool, pieces: list[bytes]) -> None:
    """Bodies behind a valid seed signature: the chunk parser sees them all."""
    if signed:
        wire, now = DOC_CHUNKED, AWS_DOC_TIME
    else:
        wire = HTTPS_CHUNKED
        now = wire.signed_at
    _survives(wire.method, wire.path, wire.query, wire.headers, b"".join(pieces), now)


@pytest.mark.parametrize("which", [0, 1, 2, 3])
def test_fuzz_baseline_wires_verify(valid_wires: list[Wire], which: int) -> None:
    """The fuzzed requests start from requests that verify (else the fuzz proves nothing)."""
    wire = valid_wires[which]
    if wire is DOC_CHUNKED:
        assert _doc_verify(wire)
    else:
        assert wire.verify()
