"""moto only ever executes the request the gate authorized, for the service it authorized.

Attacks driven as an outsider would, over raw HTTP on loopback (``http.client``) with
requests signed by botocore's own signers where a client could not express them:

- moto's management API and other non-AWS routes (``/moto-api/data.json`` holds every
  account's secret keys, ``/moto-api/reset`` wipes every account) are not reachable, signed
  or not, for any service: S3 answers them as the bucket paths they are;
- a ``Host`` that the gate and moto could read differently (``b.example.com``, a trailing
  dot, upper case, IPv6, two Host headers, an absolute-form target) never lets one account
  read, list or write another account's private bucket;
- presigned (query-signed) IAM and EKS calls reach IAM and EKS, not S3;
- client-sent headers and parameters moto reads for identity, account or operation
  (``x-moto-account-id``, ``AWSAccessKeyId``, an EKS ``Action`` parameter, header or
  form-looking body, query or body members that shadow a path label) change nothing.

Every test ends with both administrators' ``GetCallerIdentity`` and a check that a role
made at the start of the module still exists (nothing was wiped).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit
from xml.etree import ElementTree

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TIMEOUT = 10.0
FORM = "application/x-www-form-urlencoded; charset=utf-8"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def _address(aws: Any) -> tuple[str, int]:
    host, port = aws.sandbox.endpoint.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def send(
    aws: Any, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> Answer:
    """One request as given (a ``Host`` in ``headers`` is sent instead of the address)."""
    conn = http.client.HTTPConnection(*_address(aws), timeout=TIMEOUT)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        conn.close()


def admin(aws: Any, account: str) -> Credentials:
    return Credentials(*aws.sandbox.admin_keys[account])


def signed(
    aws: Any,
    service: str,
    method: str,
    target: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    *,
    credentials: Credentials,
    host: str | None = None,
) -> Answer:
    """A header-signed request; ``host`` is signed and sent as the ``Host`` header."""
    base = f"http://{host}" if host else aws.sandbox.endpoint
    request = AWSRequest(method=method, url=base + target, data=body, headers=dict(headers or {}))
    if service == "s3":
        request.headers["X-Amz-Content-SHA256"] = _sha256(body)
        S3SigV4Auth(credentials, "s3", aws.REGION).add_auth(request)
    else:
        SigV4Auth(credentials, service, aws.REGION).add_auth(request)
    prepared = request.prepare()
    url = urlsplit(prepared.url)
    sent = dict(prepared.headers)
    if host:
        sent["Host"] = host
    return send(aws, method, url.path + (f"?{url.query}" if url.query else ""), body, sent)


class _BodyKeepingQueryAuth(SigV4QueryAuth):  # type: ignore[misc]
    """botocore's presigner moves a body into the query; this one signs the body's hash
    and keeps it (what an attacker sends)."""

    def _modify_request_before_signing(self, request: Any) -> None:
        data, request.data = request.data, b""
        super()._modify_request_before_signing(request)
        request.data = data


def presigned(
    aws: Any,
    service: str,
    method: str,
    target: str,
    *,
    credentials: Credentials,
    body: bytes = b"",
    content_type: str = FORM,
) -> Answer:
    """A query-signed request (botocore's presigner for ``service``; a body is kept)."""
    request = AWSRequest(method=method, url=aws.sandbox.endpoint + target, data=body)
    signer = S3SigV4QueryAuth if service == "s3" else _BodyKeepingQueryAuth
    signer(credentials, service, aws.REGION, expires=300).add_auth(request)
    url = urlsplit(request.url)
    headers = {"Content-Type": content_type} if body else {}
    return send(aws, method, f"{url.path}?{url.query}", body, headers)


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def s3_code(answer: Answer) -> str:
    root = ElementTree.fromstring(answer.body)
    assert root.tag == "Error", answer
    return root.findtext("Code") or ""


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def sentinel_role(aws: Any) -> str:
    """A role in each account that must survive every test of this module."""
    name = aws.unique("survivor")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    for account in (aws.CI, aws.TARGET):
        aws.client("iam", account=account).create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust)
        )
    return name


@pytest.fixture(autouse=True)
def nothing_wiped(aws: Any, sentinel_role: str) -> Iterator[None]:
    yield
    for account in (aws.CI, aws.TARGET):
        sts = aws.client("sts", account=account)
        assert sts.get_caller_identity()["Account"] == account
        iam = aws.client("iam", account=account)
        assert iam.get_role(RoleName=sentinel_role)["Role"]["RoleName"] == sentinel_role


@pytest.fixture(scope="module")
def private_bucket(aws: Any) -> str:
    """A bucket of the target account holding ``secret.txt``, with no bucket policy."""
    bucket = aws.unique("b-secret")
    s3 = aws.client("s3", account=aws.TARGET)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"the target's secret")
    return bucket


def _keys(aws: Any, bucket: str) -> list[str]:
    listing = aws.client("s3", account=aws.TARGET).list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


# --------------------------------------------------------------------------- moto's own routes

MOTO_ROUTES = [
    ("GET", "/moto-api/data.json"),
    ("GET", "/moto-api/"),
    ("POST", "/moto-api/reset"),
    ("POST", "/moto-api/reset?uploads"),
    ("GET", "/moto-api/reset-auth"),
    ("GET", "/favicon.ico"),
    ("GET", "/latest/meta-data/iam/security-credentials/"),
    ("PUT", "/latest/api/token"),
]


@pytest.mark.parametrize(("method", "path"), MOTO_ROUTES)
def test_moto_routes_signed_as_s3_are_bucket_paths(aws: Any, method: str, path: str) -> None:
    """An administrator allowed everything in S3 gets S3's answer for a bucket that does
    not exist — never moto's state or its reset."""
    secret = aws.sandbox.admin_keys[aws.TARGET][1]
    answer = signed(aws, "s3", method, path, credentials=admin(aws, aws.CI))
    assert 400 <= answer.status < 500, answer
    assert secret.encode() not in answer.body
    if method == "GET" or "?uploads" in path:  # GetObject, CreateMultipartUpload
        assert (answer.status, s3_code(answer)) == (404, "NoSuchBucket"), answer


@pytest.mark.parametrize(("method", "path"), MOTO_ROUTES)
@pytest.mark.parametrize("service", ["iam", "eks"])
def test_moto_routes_signed_for_other_services_are_refused(
    aws: Any, service: str, method: str, path: str
) -> None:
    answer = signed(aws, service, method, path, credentials=admin(aws, aws.CI))
    assert 400 <= answer.status < 500, answer
    assert aws.sandbox.admin_keys[aws.TARGET][1].encode() not in answer.body


@pytest.mark.parametrize(("method", "path"), MOTO_ROUTES)
def test_moto_routes_unsigned_are_refused(aws: Any, method: str, path: str) -> None:
    answer = send(aws, method, path)
    assert answer.status == 403, answer
    assert aws.sandbox.admin_keys[aws.TARGET][1].encode() not in answer.body


def test_presigned_moto_api_reset_wipes_nothing(aws: Any) -> None:
    answer = presigned(aws, "s3", "POST", "/moto-api/reset?uploads", credentials=admin(aws, aws.CI))
    assert answer.status == 404, answer  # the sentinel role's survival: nothing_wiped


# --------------------------------------------------------------------------- bucket addressing


def _hosts(bucket: str, port: int) -> list[str]:
    return [
        f"{bucket}.example.com",
        f"{bucket}.example.com.",
        f"{bucket.upper()}.EXAMPLE.COM",
        f"{bucket}.example.com:{port}",
        f"{bucket}.s3.amazonaws.com",
        f"{bucket}.s3.us-east-1.amazonaws.com.",
        f"{bucket}.localhost",
        f"{bucket.upper()}.LOCALHOST.",
        f"{bucket}.localhost:{port}",
        "[::1]",
        f"[::1]:{port}",
        "",
    ]


def test_no_host_reads_another_accounts_bucket(aws: Any, private_bucket: str) -> None:
    """The CI administrator signs ``GET /secret.txt`` and ``GET /`` (a listing) with
    hosts that name the target's bucket, or name nothing: S3 answers as for any caller of
    another account (AccessDenied) or for the path-style bucket ``secret.txt``."""
    port = _address(aws)[1]
    for host in _hosts(private_bucket, port):
        for path in ("/secret.txt", "/", "/?list-type=2"):
            answer = signed(aws, "s3", "GET", path, credentials=admin(aws, aws.CI), host=host)
            assert b"the target's secret" not in answer.body, (host, path, answer)
            assert b"secret.txt" not in answer.body or answer.status >= 400, (host, answer)
            if answer.status == 200:  # path style: the CI account's own bucket listing
                assert private_bucket.encode() not in answer.body, (host, path, answer)
            else:
                # upper case: botocore signs the host as given, so the signature fails
                codes = ("AccessDenied", "NoSuchBucket", "SignatureDoesNotMatch")
                assert s3_code(answer) in codes, (host, answer)


def test_no_host_writes_another_accounts_bucket(aws: Any, private_bucket: str) -> None:
    port = _address(aws)[1]
    before = _keys(aws, private_bucket)
    for host in _hosts(private_bucket, port):
        name = f"planted-{uuid.uuid4().hex[:6]}"
        answer = signed(
            aws, "s3", "PUT", f"/{name}", b"planted", credentials=admin(aws, aws.CI), host=host
        )
        assert answer.status >= 400 or answer.status == 200, answer
    assert _keys(aws, private_bucket) == before


def test_a_virtual_host_names_the_bucket_for_gate_and_moto_alike(aws: Any) -> None:
    """The sandbox's own virtual-host form works, and addresses the caller's bucket."""
    bucket = aws.unique("vhost")
    aws.client("s3", account=aws.CI).create_bucket(Bucket=bucket)
    put = signed(
        aws,
        "s3",
        "PUT",
        "/k.txt",
        b"mine",
        credentials=admin(aws, aws.CI),
        host=f"{bucket}.localhost.",
    )
    assert put.status == 200, put
    got = aws.client("s3", account=aws.CI).get_object(Bucket=bucket, Key="k.txt")
    assert got["Body"].read() == b"mine"


def test_two_host_headers_address_no_bucket(aws: Any, private_bucket: str) -> None:
    """Duplicate ``Host`` headers (joined by the server) name no bucket for either side."""
    creds = admin(aws, aws.CI)
    request = AWSRequest(method="GET", url=f"{aws.sandbox.endpoint}/secret.txt")
    request.headers["X-Amz-Content-SHA256"] = _sha256(b"")
    S3SigV4Auth(creds, "s3", aws.REGION).add_auth(request)
    host, port = _address(aws)
    lines = [
        "GET /secret.txt HTTP/1.1",
        f"Host: {host}:{port}",
        f"Host: {private_bucket}.localhost",
    ]
    lines += [f"{k}: {v}" for k, v in request.headers.items()]
    data = ("\r\n".join(lines) + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock, method="GET")
        response.begin()
        body = response.read()
    assert response.status in (400, 403, 404), body
    assert b"the target's secret" not in body


def test_an_absolute_form_target_is_read_once(aws: Any, private_bucket: str) -> None:
    """``GET http://<bucket>.localhost/secret.txt``: its authority is the host for the gate,
    the signature and moto alike — a cross-account read, refused."""
    creds = admin(aws, aws.CI)
    host = f"{private_bucket}.localhost"
    request = AWSRequest(method="GET", url=f"http://{host}/secret.txt")
    request.headers["X-Amz-Content-SHA256"] = _sha256(b"")
    S3SigV4Auth(creds, "s3", aws.REGION).add_auth(request)
    headers = dict(request.headers)
    headers["Host"] = f"127.0.0.1:{_address(aws)[1]}"
    answer = send(aws, "GET", f"http://{host}/secret.txt", headers=headers)
    assert answer.status == 403, answer
    assert s3_code(answer) == "AccessDenied"


# --------------------------------------------------------------------------- presigned calls


def test_a_presigned_iam_call_reaches_iam(aws: Any, sentinel_role: str) -> None:
    """A presigned GetRole (not ListRoles: other tests' roles would page the sentinel out)."""
    answer = presigned(
        aws,
        "iam",
        "GET",
        f"/?Action=GetRole&RoleName={sentinel_role}&Version=2010-05-08",
        credentials=admin(aws, aws.CI),
    )
    assert answer.status == 200, answer
    root = ElementTree.fromstring(answer.body)
    assert root.tag.endswith("GetRoleResponse"), answer
    assert sentinel_role.encode() in answer.body


def test_a_presigned_iam_form_post_to_a_bucket_path_uploads_nothing(
    aws: Any, private_bucket: str
) -> None:
    """The issue's attack: a presigned ``iam:ListRoles`` POSTed to another account's bucket
    path with an S3 browser-upload form: IAM answers it, no object appears."""
    before = _keys(aws, private_bucket)
    multipart = (
        b'--B\r\nContent-Disposition: form-data; name="key"\r\n\r\nplanted.txt\r\n'
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n'
        b"planted\r\n--B--\r\n"
    )
    for body, content_type in (
        (b"key=planted.txt&file=planted", FORM),
        (multipart, "multipart/form-data; boundary=B"),
    ):
        answer = presigned(
            aws,
            "iam",
            "POST",
            f"/{private_bucket}?Action=ListRoles&Version=2010-05-08",
            credentials=admin(aws, aws.CI),
            body=body,
            content_type=content_type,
        )
        assert answer.status < 500 and b"PostResponse" not in answer.body, answer
    assert _keys(aws, private_bucket) == before


def test_a_presigned_eks_call_reaches_eks(aws: Any) -> None:
    answer = presigned(aws, "eks", "GET", "/clusters", credentials=admin(aws, aws.CI))
    assert answer.status == 200, answer
    assert isinstance(json.loads(answer.body)["clusters"], list)


# ------------------------------------------------------------------ what moto reads by itself


def test_a_client_sent_moto_account_header_is_ignored(aws: Any) -> None:
    bucket = aws.unique("mine")
    aws.client("s3", account=aws.TARGET).create_bucket(Bucket=bucket)
    answer = signed(
        aws,
        "s3",
        "GET",
        "/",
        credentials=admin(aws, aws.CI),
        headers={"x-moto-account-id": aws.TARGET},
    )
    assert answer.status == 200, answer
    assert bucket.encode() not in answer.body


@pytest.fixture(scope="module")
def limited_user(aws: Any) -> tuple[str, Credentials]:
    """An IAM user that may only manage its own access keys."""
    iam = aws.client("iam", account=aws.CI)
    name = aws.unique("keys-only")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    allow = {
        "Effect": "Allow",
        "Action": ["iam:CreateAccessKey", "iam:ListAccessKeys", "iam:UpdateAccessKey"],
        "Resource": arn,
    }
    iam.put_user_policy(
        UserName=name,
        PolicyName="own-keys",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [allow]}),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def _admin_keys(aws: Any) -> list[dict[str, Any]]:
    iam = aws.client("iam", account=aws.CI)
    return iam.list_access_keys(UserName="admin")["AccessKeyMetadata"]


def test_an_access_key_id_parameter_does_not_name_the_caller(
    aws: Any, limited_user: tuple[str, Credentials]
) -> None:
    """A user allowed to create its own keys names the administrator's key id in a
    presigned ``CreateAccessKey``: the key is the user's, never the administrator's."""
    name, creds = limited_user
    admin_key = aws.sandbox.admin_keys[aws.CI][0]
    before = _admin_keys(aws)
    query = f"/?Action=CreateAccessKey&Version=2010-05-08&AWSAccessKeyId={admin_key}"
    answer = presigned(aws, "iam", "GET", query, credentials=creds)
    assert _admin_keys(aws) == before
    assert answer.status == 200, answer
    assert f"<UserName>{name}</UserName>".encode() in answer.body


def test_update_access_key_without_user_name_acts_on_the_caller(
    aws: Any, limited_user: tuple[str, Credentials]
) -> None:
    """``UpdateAccessKey`` without ``UserName`` is the caller's: another user's key id is
    not found there, and stays active."""
    _, creds = limited_user
    admin_key = aws.sandbox.admin_keys[aws.CI][0]
    body = f"Action=UpdateAccessKey&Version=2010-05-08&AccessKeyId={admin_key}&Status=Inactive"
    answer = signed(
        aws, "iam", "POST", "/", body.encode(), {"Content-Type": FORM}, credentials=creds
    )
    assert answer.status >= 400, answer
    statuses = {k["AccessKeyId"]: k["Status"] for k in _admin_keys(aws)}
    assert statuses[admin_key] == "Active"


def test_a_role_session_must_name_the_user(aws: Any) -> None:
    iam = aws.client("iam", account=aws.CI)
    name = aws.unique("lister")
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
    iam.put_role_policy(
        RoleName=name,
        PolicyName="p",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}],
            }
        ),
    )
    got = aws.client("sts", account=aws.CI).assume_role(
        RoleArn=f"arn:aws:iam::{aws.CI}:role/{name}", RoleSessionName="sess"
    )
    session = aws.client("iam", credentials=aws.session_credentials(got))
    with pytest.raises(session.exceptions.ClientError) as refused:
        session.list_access_keys()
    error = refused.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "ValidationError",
        "Must specify userName when calling with non-User credentials",
    )


@pytest.fixture(scope="module")
def cluster_role(aws: Any) -> str:
    name = aws.unique("eks-cluster-role")
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
    iam = aws.client("iam", account=aws.CI)
    return str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    )


@pytest.fixture(scope="module")
def two_clusters(aws: Any, cluster_role: str) -> tuple[str, str]:
    """Two clusters of the CI account (the second is what a smuggled call would hit)."""
    eks = aws.client("eks", account=aws.CI)
    names = (aws.unique("keep"), aws.unique("other"))
    for name in names:
        eks.create_cluster(name=name, roleArn=cluster_role, resourcesVpcConfig={"subnetIds": []})
    return names


def _cluster_names(aws: Any) -> set[str]:
    return set(aws.listed(aws.client("eks", account=aws.CI), "list_clusters", "clusters"))


@pytest.mark.parametrize(
    ("target", "headers", "body"),
    [
        ("/clusters?Action=DeleteCluster&name={victim}", {}, b""),
        ("/clusters", {"Action": "DeleteCluster", "Name": "{victim}"}, b""),
        ("/clusters", {"X-Amz-Target": "AWSWesleyFrontend.DeleteCluster"}, b""),
        ("/clusters", {"Content-Type": FORM}, b"Action=DeleteCluster&name={victim}"),
        ("/clusters", {}, b'{"x": "&Action=DeleteCluster&name={victim}&"}'),
    ],
    ids=["query", "header", "target-header", "form-body", "json-with-form"],
)
def test_an_eks_operation_cannot_be_smuggled(
    aws: Any, two_clusters: tuple[str, str], target: str, headers: dict[str, str], body: bytes
) -> None:
    """The gate authorizes ``ListClusters``; moto must not run a ``DeleteCluster``."""
    victim = two_clusters[1]
    target = target.replace("{victim}", victim)
    headers = {k: v.replace("{victim}", victim) for k, v in headers.items()}
    body = body.replace(b"{victim}", victim.encode())
    answer = signed(aws, "eks", "GET", target, body, headers, credentials=admin(aws, aws.CI))
    assert answer.status < 500, answer
    assert victim in _cluster_names(aws)


@pytest.mark.parametrize("how", ["query", "body"])
def test_an_eks_path_label_cannot_be_shadowed(
    aws: Any, two_clusters: tuple[str, str], how: str
) -> None:
    """``GET /clusters/A`` authorizes ``DescribeCluster`` on A; a ``name`` query parameter
    or body member naming B must not make moto describe B."""
    keep, other = two_clusters
    target, body = f"/clusters/{keep}", b""
    if how == "query":
        target += f"?name={other}"
    else:
        body = json.dumps({"name": other}).encode()
    answer = signed(aws, "eks", "GET", target, body, credentials=admin(aws, aws.CI))
    assert answer.status == 200, answer
    assert json.loads(answer.body)["cluster"]["name"] == keep


def test_an_eks_call_lands_in_the_sandboxs_region(aws: Any, cluster_role: str) -> None:
    """A ``User-Agent`` naming a region does not move moto's backend."""
    name = aws.unique("ua")
    body = json.dumps(
        {
            "name": name,
            "roleArn": cluster_role,
            "resourcesVpcConfig": {"subnetIds": []},
        }
    ).encode()
    headers = {"User-Agent": "evil region/eu-west-1", "Content-Type": "application/json"}
    answer = signed(aws, "eks", "POST", "/clusters", body, headers, credentials=admin(aws, aws.CI))
    assert answer.status == 200, answer
    assert json.loads(answer.body)["cluster"]["arn"].startswith(f"arn:aws:eks:{aws.REGION}:")
    assert name in _cluster_names(aws)


# --------------------------------------------------------------------------- one S3 operation


def _s3_user(aws: Any, bucket: str, allow: list[str], deny: list[str] | None = None) -> Credentials:
    """A user of the CI account with ``allow`` (and ``deny``) on ``bucket`` and its keys."""
    iam = aws.client("iam", account=aws.CI)
    name = aws.unique("s3-one")
    iam.create_user(UserName=name)
    resources = [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    statements = [{"Effect": "Allow", "Action": allow, "Resource": resources}]
    if deny:
        statements.append({"Effect": "Deny", "Action": deny, "Resource": resources})
    iam.put_user_policy(
        UserName=name,
        PolicyName="one-s3-action",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


@pytest.fixture
def own_bucket(aws: Any) -> str:
    """A CI-account bucket holding ``k.txt``, without a bucket policy."""
    bucket = aws.unique("b-dispatch")
    s3 = aws.client("s3", account=aws.CI)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k.txt", Body=b"object bytes")
    return bucket


def _policy_of(aws: Any, bucket: str) -> str | None:
    try:
        return str(aws.client("s3", account=aws.CI).get_bucket_policy(Bucket=bucket)["Policy"])
    except Exception as exc:  # botocore's NoSuchBucketPolicy
        assert "NoSuchBucketPolicy" in str(exc), exc
        return None


def _open_policy(bucket: str) -> bytes:
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}).encode()


@pytest.mark.parametrize("query", ["tagging&policy", "policy&tagging", "tagging&policy=x"])
def test_two_sub_resources_are_refused_as_s3_refuses_them(
    aws: Any, own_bucket: str, query: str
) -> None:
    """A caller allowed only ``s3:PutBucketTagging`` sends a policy with ``?tagging&policy``:
    S3 refuses two sub-resources (``InvalidArgument``, ``ResourceType``), and the bucket
    keeps no policy."""
    creds = _s3_user(aws, own_bucket, ["s3:PutBucketTagging"])
    answer = signed(
        aws, "s3", "PUT", f"/{own_bucket}?{query}", _open_policy(own_bucket), credentials=creds
    )
    assert answer.status == 400, answer
    assert s3_code(answer) == "InvalidArgument"
    root = ElementTree.fromstring(answer.body)
    assert root.findtext("Message") == "Conflicting query string parameters: policy, tagging"
    assert root.findtext("ArgumentName") == "ResourceType"
    assert root.findtext("ArgumentValue") == "policy"
    assert _policy_of(aws, own_bucket) is None


def test_an_x_id_annotation_does_not_name_the_operation(aws: Any, own_bucket: str) -> None:
    """``x-id`` is what SDKs add to label a call; the sub-resource decides. A caller allowed
    only ``s3:PutBucketTagging`` labelling a policy write as ``PutBucketTagging`` is
    refused as the policy write it is."""
    creds = _s3_user(aws, own_bucket, ["s3:PutBucketTagging"])
    answer = signed(
        aws,
        "s3",
        "PUT",
        f"/{own_bucket}?policy&x-id=PutBucketTagging",
        _open_policy(own_bucket),
        credentials=creds,
    )
    assert answer.status == 403, answer
    assert s3_code(answer) == "AccessDenied"
    assert _policy_of(aws, own_bucket) is None


def test_tagging_alone_still_works(aws: Any, own_bucket: str) -> None:
    """The positive case: the same caller tags the bucket."""
    creds = _s3_user(aws, own_bucket, ["s3:PutBucketTagging"])
    tagging = b"<Tagging><TagSet><Tag><Key>team</Key><Value>a</Value></Tag></TagSet></Tagging>"
    answer = signed(
        aws, "s3", "PUT", f"/{own_bucket}?tagging&x-id=PutBucketTagging", tagging, credentials=creds
    )
    assert answer.status in (200, 204), answer
    tags = aws.client("s3", account=aws.CI).get_bucket_tagging(Bucket=own_bucket)["TagSet"]
    assert tags == [{"Key": "team", "Value": "a"}]


@pytest.mark.parametrize(
    ("method", "query"),
    [
        ("DELETE", "uploadId=1&x-id=GetObject"),
        ("DELETE", "tagging&uploadId=1"),
        ("POST", "uploadId=1&acl"),
        ("POST", "uploads&uploadId=1"),
        ("PUT", "acl&uploadId=1&partNumber=1"),
        ("PUT", "tagging&x-id=GetObject"),
    ],
)
def test_a_reader_cannot_write_through_key_combinations(
    aws: Any, own_bucket: str, method: str, query: str
) -> None:
    """A caller allowed only ``s3:GetObject`` combines an object's sub-resource keys: no
    delete, abort, complete, upload or tagging write happens."""
    creds = _s3_user(aws, own_bucket, ["s3:GetObject"])
    answer = signed(aws, "s3", method, f"/{own_bucket}/k.txt?{query}", b"", credentials=creds)
    assert answer.status in (400, 403), answer
    s3 = aws.client("s3", account=aws.CI)
    assert s3.get_object(Bucket=own_bucket, Key="k.txt")["Body"].read() == b"object bytes"
    assert s3.get_object_tagging(Bucket=own_bucket, Key="k.txt")["TagSet"] == []
    assert s3.list_multipart_uploads(Bucket=own_bucket).get("Uploads", []) == []


@pytest.mark.parametrize(
    ("method", "target", "allow", "deny"),
    [
        # moto has no analytics, metrics or inventory deletion: its default is DeleteBucket
        ("DELETE", "?analytics&id=a", ["s3:*"], ["s3:DeleteBucket"]),
        ("DELETE", "?metrics&id=a", ["s3:*"], ["s3:DeleteBucket"]),
        ("DELETE", "?inventory&id=a", ["s3:*"], ["s3:DeleteBucket"]),
        # and no torrent or retention read: its default reads the object
        ("GET", "/k.txt?torrent", ["s3:GetObjectTorrent"], []),
        ("GET", "/k.txt?retention", ["s3:GetObjectRetention"], []),
    ],
)
def test_an_operation_moto_lacks_never_runs_as_its_default(
    aws: Any, own_bucket: str, method: str, target: str, allow: list[str], deny: list[str]
) -> None:
    """An operation the sandbox does not emulate is refused, never run as what moto does
    for an unknown sub-resource (delete the bucket, return the object)."""
    creds = _s3_user(aws, own_bucket, allow, deny)
    answer = signed(aws, "s3", method, f"/{own_bucket}{target}", b"", credentials=creds)
    assert answer.status == 400, answer
    assert b"object bytes" not in answer.body
    s3 = aws.client("s3", account=aws.CI)
    assert s3.get_object(Bucket=own_bucket, Key="k.txt")["Body"].read() == b"object bytes"


@pytest.mark.parametrize(
    "form",
    [
        "action=DeleteRole&Version=2010-05-08&RoleName={role}",
        "ACTION=DeleteRole&Version=2010-05-08&RoleName={role}",
        "Action=ListRoles&action=DeleteRole&Version=2010-05-08&RoleName={role}",
        "action=DeleteRole&Action=ListRoles&Version=2010-05-08&RoleName={role}",
    ],
)
def test_an_iam_action_in_another_case_is_not_an_action(aws: Any, form: str) -> None:
    """IAM reads ``Action`` only: ``action=DeleteRole`` (any case) is no operation, and
    beside ``Action=ListRoles`` the call is the listing, authorized and run as such; the
    role survives either way."""
    iam = aws.client("iam", account=aws.CI)
    creds = admin(aws, aws.CI)
    role = aws.unique("case-role")
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{aws.CI}:root"},
        "Action": "sts:AssumeRole",
    }
    trust = {"Version": "2012-10-17", "Statement": [statement]}
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))
    body = form.format(role=role).encode()
    answer = signed(aws, "iam", "POST", "/", body, {"Content-Type": FORM}, credentials=creds)
    assert answer.status in (200, 400), answer
    assert iam.get_role(RoleName=role)["Role"]["RoleName"] == role
    if answer.status == 200:
        assert b"<ListRolesResponse" in answer.body


# --------------------------------------------------------------------------- EKS path spelling


@pytest.fixture(scope="module")
def eks_tagger(aws: Any, two_clusters: tuple[str, str]) -> Credentials:
    """A user allowed every EKS action except tagging the first of ``two_clusters`` (an
    explicit Deny on its exact ARN, as a guard on one production cluster reads)."""
    iam = aws.client("iam", account=aws.CI)
    name = aws.unique("eks-tagger")
    iam.create_user(UserName=name)
    guarded = f"arn:aws:eks:{aws.REGION}:{aws.CI}:cluster/{two_clusters[0]}"
    statements = [
        {"Effect": "Allow", "Action": "eks:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "eks:TagResource", "Resource": guarded},
    ]
    iam.put_user_policy(
        UserName=name,
        PolicyName="no-tags-on-one-cluster",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def _cluster_tags(aws: Any, name: str) -> dict[str, str]:
    cluster = aws.client("eks", account=aws.CI).describe_cluster(name=name)["cluster"]
    return dict(cluster.get("tags") or {})


@pytest.mark.parametrize("suffix", [";x", "%3B", "/", ";", "/;x"])
def test_a_tag_arn_spelled_another_way_tags_only_what_was_authorized(
    aws: Any, two_clusters: tuple[str, str], eks_tagger: Credentials, suffix: str
) -> None:
    """``POST /tags/<ARN of the guarded cluster>;x`` was authorized on ``…cluster/N;x``
    (the Deny on ``…cluster/N`` did not match) and moto, reading ``;x`` as URL parameters,
    tagged ``…cluster/N``. moto now gets the path rebuilt from the authorized ARN, so the
    call tags nothing, or is refused; the guarded cluster keeps no such tag."""
    guarded = two_clusters[0]
    arn = f"arn:aws:eks:{aws.REGION}:{aws.CI}:cluster/{guarded}"
    target = "/tags/" + quote(arn, safe="") + suffix
    key = aws.unique("spelled")
    body = json.dumps({"tags": {key: suffix}}).encode()
    headers = {"Content-Type": "application/json"}
    answer = signed(aws, "eks", "POST", target, body, headers, credentials=eks_tagger)
    assert answer.status < 500, answer
    assert key not in _cluster_tags(aws, guarded)


def test_the_tagger_tags_the_cluster_it_may_tag(
    aws: Any, two_clusters: tuple[str, str], eks_tagger: Credentials
) -> None:
    """The control: the same user tags the other cluster, with the SDK's spelling and with
    a trailing slash (both name that cluster's ARN to the gate and, now, to moto)."""
    other = two_clusters[1]
    arn = f"arn:aws:eks:{aws.REGION}:{aws.CI}:cluster/{other}"
    headers = {"Content-Type": "application/json"}
    for index, suffix in enumerate(["", "/"]):
        body = json.dumps({"tags": {f"t{index}": "v"}}).encode()
        target = "/tags/" + quote(arn, safe="") + suffix
        answer = signed(aws, "eks", "POST", target, body, headers, credentials=eks_tagger)
        assert answer.status == 200, answer
    assert {"t0", "t1"} <= set(_cluster_tags(aws, other))
    refused = signed(
        aws,
        "eks",
        "POST",
        "/tags/" + quote(f"arn:aws:eks:{aws.REGION}:{aws.CI}:cluster/{two_clusters[0]}", safe=""),
        b'{"tags": {"denied": "v"}}',
        headers,
        credentials=eks_tagger,
    )
    assert refused.status == 403, refused
