"""A signature authenticates only what AWS would let it: its service, a region the endpoint
serves, a signed ``host``, a signed body (outside S3), and an S3 presigned URL only from its
date on. Also: EKS calls signed for unknown regions (never a 500), and HEAD of a missing S3
bucket or key (404, no body).

Requests are built with botocore's own signers for the region or service under test and sent
as raw HTTP on loopback (``http.client``); the SDK's own behaviour (S3's region redirect) is
driven through boto3.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import json
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import boto3
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

TIMEOUT = 10.0
FORM = "application/x-www-form-urlencoded; charset=utf-8"
QUERY_NS = {
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}
IAM_LIST = b"Action=ListRoles&Version=2010-05-08"
ASSUME = (
    b"Action=AssumeRole&Version=2011-06-15&RoleSessionName=ss"
    b"&RoleArn=arn%3Aaws%3Aiam%3A%3A111111111111%3Arole%2Fx"
)
STS_WHOAMI = b"Action=GetCallerIdentity&Version=2011-06-15"


def _address(aws: Any) -> tuple[str, int]:
    host, port = aws.sandbox.endpoint.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def send(
    aws: Any, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(*_address(aws), timeout=TIMEOUT)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        conn.close()


def creds(aws: Any) -> Credentials:
    return Credentials(*aws.sandbox.admin_keys[aws.CI])


class _NoHost(SigV4Auth):  # type: ignore[misc]
    """botocore's header signer, minus the ``host`` header it always signs."""

    def headers_to_sign(self, request: Any) -> Any:
        headers = super().headers_to_sign(request)
        del headers["host"]
        return headers


class _S3NoHost(S3SigV4Auth):  # type: ignore[misc]
    def headers_to_sign(self, request: Any) -> Any:
        headers = super().headers_to_sign(request)
        del headers["host"]
        return headers


def signed(
    aws: Any,
    service: str,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    region: str | None = None,
    headers: dict[str, str] | None = None,
    signer: Any = None,
) -> tuple[int, dict[str, str], bytes]:
    request = AWSRequest(
        method=method, url=aws.sandbox.endpoint + target, data=body, headers=dict(headers or {})
    )
    if body and method == "POST" and service in ("iam", "sts"):
        request.headers["Content-Type"] = FORM
    if service == "s3" and "X-Amz-Content-SHA256" not in request.headers:
        request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    cls = signer or (S3SigV4Auth if service == "s3" else SigV4Auth)
    cls(creds(aws), service, aws.REGION if region is None else region).add_auth(request)
    prepared = request.prepare()
    url = urlsplit(prepared.url)
    path = url.path + (f"?{url.query}" if url.query else "")
    return send(aws, method, path, body, dict(prepared.headers))


def presigned_url(
    aws: Any,
    service: str,
    target: str,
    *,
    region: str | None = None,
    expires: int = 300,
    at: dt.datetime | None = None,
) -> str:
    request = AWSRequest(method="GET", url=aws.sandbox.endpoint + target)
    if at is not None:
        request.context["timestamp"] = at.strftime("%Y%m%dT%H%M%SZ")
    signer = S3SigV4QueryAuth if service == "s3" else SigV4QueryAuth
    auth = signer(creds(aws), service, aws.REGION if region is None else region, expires=expires)
    if at is not None:  # botocore stamps "now" in add_auth; sign at the given time instead
        auth._modify_request_before_signing(request)
        canonical = auth.canonical_request(request)
        signature = auth.signature(auth.string_to_sign(request, canonical), request)
        request.url = request.url + f"&X-Amz-Signature={signature}"
    else:
        auth.add_auth(request)
    url = urlsplit(request.url)
    return f"{url.path}?{url.query}"


def query_error(status: int, headers: dict[str, str], body: bytes, service: str) -> tuple[str, str]:
    root = ElementTree.fromstring(body)
    ns = QUERY_NS[service]
    assert root.tag == f"{{{ns}}}ErrorResponse", body
    return (
        root.findtext(f"{{{ns}}}Error/{{{ns}}}Code") or "",
        root.findtext(f"{{{ns}}}Error/{{{ns}}}Message") or "",
    )


def s3_error(body: bytes) -> ElementTree.Element:
    root = ElementTree.fromstring(body)
    assert root.tag == "Error", body
    return root


# --------------------------------------------------------------------------- regions


@pytest.mark.parametrize("region", ["xx-fake-9", "us-west-2", "eu-west-1"])
def test_iam_takes_only_its_global_signing_region(aws: Any, region: str) -> None:
    status, headers, body = signed(aws, "iam", "POST", "/", IAM_LIST, region=region)
    assert status == 403
    assert query_error(status, headers, body, "iam") == (
        "SignatureDoesNotMatch",
        f"Credential should be scoped to a valid region, not '{region}'. ",
    )


def test_iam_signed_for_us_east_1_is_answered(aws: Any) -> None:
    status, _, body = signed(aws, "iam", "POST", "/", IAM_LIST, region="us-east-1")
    assert status == 200, body


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2"])
def test_sts_has_an_endpoint_in_every_region(aws: Any, region: str) -> None:
    status, _, body = signed(aws, "sts", "POST", "/", STS_WHOAMI, region=region)
    assert status == 200, body
    assert aws.CI.encode() in body


@pytest.mark.parametrize("region", ["xx-fake-9", "us-fake-1", "cn-north-1", ""])
def test_sts_refuses_a_region_that_does_not_exist_in_its_partition(aws: Any, region: str) -> None:
    status, headers, body = signed(aws, "sts", "POST", "/", STS_WHOAMI, region=region)
    assert status in (400, 403), body
    code, message = query_error(status, headers, body, "sts")
    if region:
        assert (code, message) == (
            "SignatureDoesNotMatch",
            f"Credential should be scoped to a valid region, not '{region}'. ",
        )


@pytest.mark.parametrize("region", ["us-west-2", "xx-fake-9", "mars-north-1", "a" * 300])
@pytest.mark.parametrize(("method", "path"), [("GET", "/clusters"), ("POST", "/clusters")])
def test_eks_signed_for_another_region_is_refused_not_a_server_error(
    aws: Any, region: str, method: str, path: str
) -> None:
    body = json.dumps({"name": "never", "roleArn": "arn:aws:iam::1:role/x"}).encode()
    status, headers, data = signed(
        aws,
        "eks",
        method,
        path,
        body if method == "POST" else b"",
        region=region,
        headers={"Content-Type": "application/json"},
    )
    assert status == 403, data
    assert headers["x-amzn-errortype"] == "InvalidSignatureException"
    assert json.loads(data)["message"] == (
        f"Credential should be scoped to a valid region, not '{region}'. "
    )
    clusters = aws.listed(aws.client("eks", account=aws.CI), "list_clusters", "clusters")
    assert "never" not in clusters


def test_s3_header_signed_for_another_region_names_the_right_one(aws: Any) -> None:
    status, _, body = signed(aws, "s3", "GET", "/", region="eu-west-1")
    assert status == 400
    root = s3_error(body)
    assert root.findtext("Code") == "AuthorizationHeaderMalformed"
    assert root.findtext("Message") == (
        "The authorization header is malformed; the region 'eu-west-1' is wrong; "
        "expecting 'us-east-1'"
    )
    assert root.findtext("Region") == "us-east-1"


def test_s3_presigned_for_another_region_names_the_right_one(aws: Any) -> None:
    status, _, body = send(
        aws, "GET", presigned_url(aws, "s3", "/some-bucket/k", region="eu-west-1")
    )
    assert status == 400
    root = s3_error(body)
    assert root.findtext("Code") == "AuthorizationQueryParametersError"
    assert root.findtext("Message") == (
        "Error parsing the X-Amz-Credential parameter; the region 'eu-west-1' is wrong; "
        "expecting 'us-east-1'"
    )
    assert root.findtext("Region") == "us-east-1"


def test_boto3_follows_s3s_region_answer_as_with_aws(aws: Any) -> None:
    """botocore's S3 region redirector reads ``<Region>`` and re-signs: a client configured
    for another region still reaches the bucket, as against AWS."""
    bucket = aws.unique("redirect")
    aws.client("s3", account=aws.CI).create_bucket(Bucket=bucket)
    aws.client("s3", account=aws.CI).put_object(Bucket=bucket, Key="k", Body=b"v")
    key, secret = aws.sandbox.admin_keys[aws.CI]
    s3 = boto3.session.Session().client(
        "s3",
        endpoint_url=aws.sandbox.endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(region_name="eu-west-1", retries={"max_attempts": 1}),
    )
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"


# --------------------------------------------------------------------------- services


@pytest.mark.parametrize(
    ("scope", "body", "endpoint"),
    [
        ("iam", STS_WHOAMI, "sts"),
        ("iam", ASSUME, "sts"),
        ("sts", IAM_LIST, "iam"),
        ("s3", STS_WHOAMI, "sts"),
        ("eks", IAM_LIST, "iam"),
        ("ec2", STS_WHOAMI, "sts"),
    ],
)
def test_a_signature_for_one_service_does_not_authenticate_another(
    aws: Any, scope: str, body: bytes, endpoint: str
) -> None:
    status, headers, data = signed(aws, scope, "POST", "/", body, headers={"Content-Type": FORM})
    assert status == 403, data
    assert query_error(status, headers, data, endpoint) == (
        "SignatureDoesNotMatch",
        f"Credential should be scoped to correct service: '{endpoint}'. ",
    )


# ------------------------------------------------------------------ signed headers and body


@pytest.mark.parametrize(
    ("service", "method", "path", "body"),
    [
        ("iam", "POST", "/", IAM_LIST),
        ("sts", "POST", "/", STS_WHOAMI),
        ("eks", "GET", "/clusters", b""),
    ],
)
def test_host_must_be_signed(aws: Any, service: str, method: str, path: str, body: bytes) -> None:
    status, headers, data = signed(aws, service, method, path, body, signer=_NoHost)
    assert status == 400, data
    expected = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    if service == "eks":
        assert headers["x-amzn-errortype"] == "IncompleteSignatureException"
        assert json.loads(data)["message"] == expected
    else:
        assert query_error(status, headers, data, service) == ("IncompleteSignature", expected)


def test_s3_host_must_be_signed(aws: Any) -> None:
    status, _, body = signed(aws, "s3", "GET", "/", signer=_S3NoHost)
    assert status == 403
    root = s3_error(body)
    assert root.findtext("Code") == "AccessDenied"
    assert root.findtext("HeadersNotSigned") == "host"


def test_a_presigned_url_must_sign_host(aws: Any) -> None:
    url = presigned_url(aws, "sts", "/?Action=GetCallerIdentity&Version=2011-06-15")
    unsigned_host = url.replace("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=x-amz-date")
    status, headers, body = send(aws, "GET", unsigned_host)
    assert status == 400, body
    assert query_error(status, headers, body, "sts")[0] == "IncompleteSignature"


@pytest.mark.parametrize(
    ("service", "method", "path", "signed_body", "sent_body"),
    [
        ("iam", "POST", "/", IAM_LIST, IAM_LIST),
        ("iam", "POST", "/", IAM_LIST, b"Action=DeleteRole&Version=2010-05-08&RoleName=x"),
        ("sts", "POST", "/", STS_WHOAMI, STS_WHOAMI),
        ("eks", "POST", "/clusters", b"{}", b'{"name": "swapped"}'),
    ],
)
def test_unsigned_payload_is_s3s_alone(
    aws: Any, service: str, method: str, path: str, signed_body: bytes, sent_body: bytes
) -> None:
    """``x-amz-content-sha256: UNSIGNED-PAYLOAD`` signed by botocore: outside S3 the body
    is hashed anyway, so the signature fails (and a swapped body cannot slip through)."""
    request = AWSRequest(
        method=method,
        url=aws.sandbox.endpoint + path,
        data=signed_body,
        headers={
            "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD",
            "Content-Type": "application/json" if service == "eks" else FORM,
        },
    )

    class Unsigned(SigV4Auth):  # type: ignore[misc]
        def payload(self, request: Any) -> str:
            return "UNSIGNED-PAYLOAD"

    Unsigned(creds(aws), service, aws.REGION).add_auth(request)
    status, headers, data = send(aws, method, path, sent_body, dict(request.prepare().headers))
    assert status == 403, data
    if service == "eks":
        assert headers["x-amzn-errortype"] == "InvalidSignatureException"
    else:
        assert query_error(status, headers, data, service)[0] == "SignatureDoesNotMatch"
    if service == "eks":
        assert "swapped" not in aws.listed(
            aws.client("eks", account=aws.CI), "list_clusters", "clusters"
        )


def test_unsigned_payload_still_works_for_s3(aws: Any) -> None:
    bucket = aws.unique("unsigned")
    aws.client("s3", account=aws.CI).create_bucket(Bucket=bucket)
    status, _, body = signed(
        aws,
        "s3",
        "PUT",
        f"/{bucket}/k",
        b"payload",
        headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
    )
    assert status == 200, body


# --------------------------------------------------------------------------- presigned dates


def test_an_s3_presigned_url_dated_ahead_is_not_yet_valid(aws: Any) -> None:
    bucket = aws.unique("future")
    aws.client("s3", account=aws.CI).create_bucket(Bucket=bucket)
    aws.client("s3", account=aws.CI).put_object(Bucket=bucket, Key="k", Body=b"v")
    now = dt.datetime.now(dt.UTC)
    for ahead, expected in ((dt.timedelta(days=365), 403), (dt.timedelta(minutes=5), 200)):
        url = presigned_url(aws, "s3", f"/{bucket}/k", at=now + ahead, expires=3600)
        status, _, body = send(aws, "GET", url)
        assert status == expected, (ahead, body)
        if expected == 403:
            root = s3_error(body)
            assert (root.findtext("Code"), root.findtext("Message")) == (
                "AccessDenied",
                "Request is not yet valid",
            )


def test_an_s3_presigned_url_may_not_live_longer_than_a_week(aws: Any) -> None:
    url = presigned_url(aws, "s3", "/b/k", expires=604801)
    status, _, body = send(aws, "GET", url)
    assert status == 400
    assert s3_error(body).findtext("Code") == "AuthorizationQueryParametersError"


# ------------------------------------------------------------------ HEAD of what is missing


def test_head_of_a_missing_bucket_or_key_is_404_without_a_body(aws: Any) -> None:
    bucket = aws.unique("head")
    aws.client("s3", account=aws.CI).create_bucket(Bucket=bucket)
    for path in (f"/{aws.unique('missing')}", f"/{bucket}/missing-key"):
        status, headers, body = signed(aws, "s3", "HEAD", path)
        assert (status, body) == (404, b""), (path, headers)
    s3 = aws.client("s3", account=aws.CI)
    with pytest.raises(s3.exceptions.ClientError) as missing:
        s3.head_object(Bucket=bucket, Key="missing-key")
    assert missing.value.response["Error"]["Code"] == "404"
