"""Tests of :mod:`kubetrust.sandbox.aws.wire` and :mod:`kubetrust.sandbox.aws.operations`.

The wire tests feed the rendered bytes to botocore's own response parsers, then to real
boto3 clients (and the ``aws`` CLI) through a tiny WSGI server on loopback, and check the
``ClientError`` that comes out. The operation tests do not hand-write requests: real
boto3 clients serialize each call (the prepared request is caught before it is sent), so
paths, query strings, headers and bodies are exactly what boto3 puts on the wire.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import boto3
import botocore.session
import pytest
from botocore import UNSIGNED
from botocore.awsrequest import HeadersDict
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from kubetrust import policy
from kubetrust.sandbox.aws import operations, wire
from kubetrust.sandbox.aws.operations import Authorization, Operation

from . import wirekit

ACCOUNT = "111122223333"
OTHER = "444455556666"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ci"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/s1"
REQUEST_ID = "7a62c49f-347e-4fc4-9331-6e8eexample"

# --------------------------------------------------------------------------- decisions


def _decide(statements: list[dict[str, Any]], action: str, resource: str) -> policy.Decision:
    doc = {"Version": "2012-10-17", "Statement": statements}
    request = policy.Request(principal=SESSION, action=action, resource=resource)
    return policy.authorize(request, policy.PolicySet(identity=[doc]))


def _implicit(action: str, resource: str) -> policy.Decision:
    other = {"Effect": "Allow", "Action": "ec2:DescribeRegions", "Resource": "*"}
    return _decide([other], action, resource)


def _explicit(action: str, resource: str) -> policy.Decision:
    deny = {"Effect": "Deny", "Action": "*", "Resource": "*"}
    return _decide([deny], action, resource)


# --------------------------------------------------------------------------- wire: parsers

_PARSE_CASES = [
    # service, operation, protocol
    ("sts", "AssumeRole", "query"),
    ("iam", "GetRole", "query"),
    ("eks", "DescribeCluster", "rest-json"),
    ("s3", "GetObject", "rest-xml"),
]


def _parse(service: str, operation: str, response: wire.Response) -> dict[str, Any]:
    """What botocore's parser for ``service`` makes of a rendered response."""
    model = botocore.session.get_session().get_service_model(service)
    status, headers, body = response
    raw = {"status_code": status, "headers": HeadersDict(headers), "body": body}
    parser = create_parser(model.protocol)
    parsed: dict[str, Any] = parser.parse(raw, model.operation_model(operation).output_shape)
    return parsed


@pytest.mark.parametrize(("service", "operation", "protocol"), _PARSE_CASES)
def test_botocore_parses_code_message_status_and_request_id(
    service: str, operation: str, protocol: str
) -> None:
    error = wire.AwsError("AccessDenied", "User: x is not authorized", 403)
    rendered = wire.render_error(protocol, error, REQUEST_ID, service=service)
    parsed = _parse(service, operation, rendered)
    assert parsed["Error"]["Code"] == "AccessDenied"
    assert parsed["Error"]["Message"] == "User: x is not authorized"
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert parsed["ResponseMetadata"]["RequestId"] == REQUEST_ID


@pytest.mark.parametrize(("service", "operation", "protocol"), _PARSE_CASES)
def test_markup_in_messages_survives_the_round_trip(
    service: str, operation: str, protocol: str
) -> None:
    message = "a <b> & \"c\" 'd' ]]> é \u2603 \x01end"
    error = wire.AwsError("ValidationError", message, 400)
    parsed = _parse(service, operation, wire.render_error(protocol, error, REQUEST_ID))
    # XML 1.0 cannot carry U+0001: it is replaced, everything else arrives as sent
    expected = message if protocol == "rest-json" else message.replace("\x01", "\ufffd")
    assert parsed["Error"]["Message"] == expected
    assert parsed["Error"]["Code"] == "ValidationError"


def test_query_errors_use_the_services_namespace_and_fault_type() -> None:
    sts = wire.render_error(
        "query", wire.AwsError("AccessDenied", "no", 403), REQUEST_ID, service="sts"
    )
    iam = wire.render_error(
        "query", wire.AwsError("ServiceFailure", "oops", 500, sender_fault=False), REQUEST_ID
    )
    assert b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">' in sts[2]
    assert b"<Type>Sender</Type>" in sts[2]
    assert b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">' in iam[2]
    assert b"<Type>Receiver</Type>" in iam[2]
    assert _parse("iam", "GetRole", iam)["Error"]["Type"] == "Receiver"
    assert ("x-amzn-RequestId", REQUEST_ID) in sts[1]
    assert ("Content-Type", "text/xml") in sts[1]


def test_rest_json_carries_the_code_in_x_amzn_errortype() -> None:
    status, headers, body = wire.render_error(
        "rest-json", wire.AwsError("ResourceNotFoundException", "No cluster found", 404), "r-1"
    )
    assert status == 404
    assert ("x-amzn-ErrorType", "ResourceNotFoundException") in headers
    assert ("x-amzn-RequestId", "r-1") in headers
    assert json.loads(body) == {"message": "No cluster found"}


def test_s3_head_answers_have_no_body_and_parse_to_the_bare_status() -> None:
    status, headers, body = wire.render_error(
        "rest-xml", wire.AwsError("AccessDenied", "Access Denied", 403), REQUEST_ID, head=True
    )
    assert body == b""
    assert ("Content-Length", "0") in headers
    parsed = _parse("s3", "HeadObject", (status, headers, body))
    assert parsed["Error"] == {"Code": "403", "Message": "Forbidden"}
    assert parsed["ResponseMetadata"]["RequestId"] == REQUEST_ID


def test_s3_errors_carry_both_request_ids() -> None:
    status, headers, body = wire.render_error(
        "rest-xml", wire.AwsError("NoSuchKey", "gone", 404), REQUEST_ID, host_id="aG9zdA=="
    )
    names = dict(headers)
    assert names["x-amz-request-id"] == REQUEST_ID
    assert names["x-amz-id-2"] == "aG9zdA=="
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey')
    assert _parse("s3", "GetObject", (status, headers, body))["ResponseMetadata"]["HostId"] == (
        "aG9zdA=="
    )


def test_render_refuses_what_it_cannot_send() -> None:
    error = wire.AwsError("AccessDenied", "no", 403)
    with pytest.raises(ValueError, match="unknown protocol"):
        wire.render_error("json", error, REQUEST_ID)
    with pytest.raises(ValueError, match="request id"):
        wire.render_error("query", error, "bad\r\nid")
    with pytest.raises(ValueError, match="namespace"):
        wire.render_error("query", error, REQUEST_ID, service="sqs")
    with pytest.raises(ValueError, match="error code"):
        wire.AwsError("Access Denied", "no", 403)
    with pytest.raises(ValueError, match="status"):
        wire.AwsError("AccessDenied", "no", 200)


def test_aws_error_is_a_value_that_can_be_raised() -> None:
    error = wire.AwsError("AccessDenied", "no", 403)
    assert error == wire.AwsError("AccessDenied", "no", 403)
    assert hash(error) == hash(wire.AwsError("AccessDenied", "no", 403))
    with pytest.raises(wire.AwsError) as caught:
        raise error
    assert caught.value.code == "AccessDenied"
    assert str(caught.value) == "AccessDenied (403): no"


def test_service_protocols_agree_with_botocore() -> None:
    for service, protocol in wirekit.SERVICE_PROTOCOLS.items():
        assert operations.service_protocol(service) == protocol
    _, _, body = wirekit.render_service_error(
        "sts", wire.AwsError("AccessDenied", "no", 403), REQUEST_ID
    )
    assert b"https://sts.amazonaws.com/doc/2011-06-15/" in body
    with pytest.raises(ValueError, match="sqs"):
        wirekit.render_service_error("sqs", wire.AwsError("AccessDenied", "no", 403), REQUEST_ID)


# --------------------------------------------------------------------------- wire: denials


def test_iam_and_sts_denials_use_the_iam_message() -> None:
    error = wire.access_denied(SESSION, "iam:GetRole", ROLE, _implicit("iam:GetRole", ROLE))
    assert error == wire.AwsError(
        "AccessDenied",
        f"User: {SESSION} is not authorized to perform: iam:GetRole on resource: {ROLE} "
        "because no identity-based policy allows the iam:GetRole action",
        403,
    )
    target = "arn:aws:iam::222222222222:role/target"
    for decision in (_implicit("sts:AssumeRole", target), _explicit("sts:AssumeRole", target)):
        denied = wire.access_denied(SESSION, "sts:AssumeRole", target, decision)
        assert denied.code == "AccessDenied" and denied.status == 403
        assert denied.message == policy.access_denied_message(
            decision, SESSION, "sts:AssumeRole", target
        )
    assert "explicit deny" in denied.message


def test_eks_denials_are_access_denied_exceptions() -> None:
    cluster = f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/target"
    decision = _implicit("eks:DescribeCluster", cluster)
    error = wire.access_denied(SESSION, "eks:DescribeCluster", cluster, decision)
    assert error.code == "AccessDeniedException"
    assert error.status == 403
    assert error.message == policy.access_denied_message(
        decision, SESSION, "eks:DescribeCluster", cluster
    )


def test_the_answering_service_decides_the_format_not_the_action() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/cluster-role"
    decision = _implicit("iam:PassRole", role)
    error = wire.access_denied("eks", SESSION, "iam:PassRole", role, decision)
    assert error.code == "AccessDeniedException"
    assert "iam:PassRole on resource: " + role in error.message
    keyword = wire.access_denied(SESSION, "iam:PassRole", role, decision, service="eks")
    assert keyword == error
    with pytest.raises(TypeError):
        wire.access_denied(SESSION, "iam:PassRole", role)  # type: ignore[call-overload]


def test_s3_denials_are_detailed_only_within_the_account() -> None:
    resource = "arn:aws:s3:::bucket/key.txt"
    decision = _implicit("s3:GetObject", resource)
    same = wire.access_denied(SESSION, "s3:GetObject", resource, decision, resource_account=ACCOUNT)
    assert same == wire.AwsError(
        "AccessDenied",
        f'User: {SESSION} is not authorized to perform: s3:GetObject on resource: "{resource}" '
        "because no identity-based policy allows the s3:GetObject action",
        403,
    )
    other = wire.access_denied(SESSION, "s3:GetObject", resource, decision, resource_account=OTHER)
    unknown = wire.access_denied(SESSION, "s3:GetObject", resource, decision)
    assert other == unknown == wire.AwsError("AccessDenied", "Access Denied", 403)


def test_web_identity_trust_refusal() -> None:
    error = wirekit.web_identity_denied()
    assert (error.code, error.message, error.status) == (
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        403,
    )


@pytest.mark.parametrize(
    ("service", "reason", "code", "status"),
    [
        ("sts", "unknown-key", "InvalidClientTokenId", 403),
        ("iam", "bad-signature", "SignatureDoesNotMatch", 403),
        ("sts", "expired-token", "ExpiredToken", 403),
        ("eks", "unknown-key", "UnrecognizedClientException", 403),
        ("eks", "bad-signature", "InvalidSignatureException", 403),
        ("eks", "expired-token", "ExpiredTokenException", 403),
        ("s3", "unknown-key", "InvalidAccessKeyId", 403),
        ("s3", "bad-signature", "SignatureDoesNotMatch", 403),
        ("s3", "expired-token", "ExpiredToken", 400),
        ("s3", "invalid-token", "InvalidToken", 400),
    ],
)
def test_authentication_failures_per_service(
    service: str, reason: wirekit.AuthFailure, code: str, status: int
) -> None:
    error = wirekit.auth_failure(service, reason)
    assert (error.code, error.status) == (code, status)


def test_authentication_failure_of_an_unknown_service() -> None:
    with pytest.raises(ValueError, match="sqs"):
        wirekit.auth_failure("sqs", "unknown-key")


# --------------------------------------------------------------------------- wire: real clients


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def error_server() -> Iterator[tuple[str, dict[str, Any]]]:
    """A loopback WSGI server answering every request with ``state["error"]`` rendered
    for ``state["service"]`` (HEAD without a body)."""
    state: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"].read(length)
        head = environ["REQUEST_METHOD"] == "HEAD"
        status, headers, body = wirekit.render_service_error(
            state["service"], state["error"], REQUEST_ID, head=head
        )
        start_response(f"{status} Error", headers)
        return [body]

    server = make_server("127.0.0.1", 0, app, WSGIServer, _Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", state
    finally:
        server.shutdown()
        server.server_close()


def _real_client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="AKIAEXAMPLEEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def _denial(service: str, action: str, resource: str, **kw: Any) -> wire.AwsError:
    return wire.access_denied(SESSION, action, resource, _implicit(action, resource), **kw)


_REAL_CALLS: list[tuple[str, str, dict[str, Any], str, str]] = [
    # service, method, params, action, resource
    (
        "sts",
        "assume_role",
        {"RoleArn": "arn:aws:iam::222222222222:role/t", "RoleSessionName": "s1"},
        "sts:AssumeRole",
        "arn:aws:iam::222222222222:role/t",
    ),
    ("iam", "get_role", {"RoleName": "ci"}, "iam:GetRole", ROLE),
    (
        "eks",
        "describe_cluster",
        {"name": "target"},
        "eks:DescribeCluster",
        f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/target",
    ),
    ("eks", "list_clusters", {}, "eks:ListClusters", "*"),
    (
        "s3",
        "get_object",
        {"Bucket": "bucket", "Key": "a/b.txt"},
        "s3:GetObject",
        "arn:aws:s3:::bucket/a/b.txt",
    ),
]


@pytest.mark.parametrize(("service", "method", "params", "action", "resource"), _REAL_CALLS)
def test_boto3_raises_the_denial_we_render(
    error_server: tuple[str, dict[str, Any]],
    service: str,
    method: str,
    params: dict[str, Any],
    action: str,
    resource: str,
) -> None:
    endpoint, state = error_server
    error = _denial(service, action, resource, resource_account=ACCOUNT)
    state.update(service=service, error=error)
    with pytest.raises(ClientError) as caught:
        getattr(_real_client(service, endpoint), method)(**params)
    response = caught.value.response
    assert response["Error"]["Code"] == error.code
    assert response["Error"]["Message"] == error.message
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert response["ResponseMetadata"]["RequestId"] == REQUEST_ID
    assert error.message.startswith(f"User: {SESSION} is not authorized to perform: {action}")


def test_boto3_maps_modeled_error_codes_to_exception_classes(
    error_server: tuple[str, dict[str, Any]],
) -> None:
    endpoint, state = error_server
    eks = _real_client("eks", endpoint)
    state.update(
        service="eks", error=wire.AwsError("ResourceNotFoundException", "No cluster found", 404)
    )
    with pytest.raises(eks.exceptions.ResourceNotFoundException):
        eks.describe_cluster(name="gone")
    iam = _real_client("iam", endpoint)
    state.update(
        service="iam", error=wire.AwsError("NoSuchEntity", "The role ci cannot be found", 404)
    )
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_role(RoleName="ci")


def test_boto3_head_object_sees_a_bare_403(error_server: tuple[str, dict[str, Any]]) -> None:
    endpoint, state = error_server
    state.update(service="s3", error=wire.AwsError("AccessDenied", "Access Denied", 403))
    with pytest.raises(ClientError) as caught:
        _real_client("s3", endpoint).head_object(Bucket="bucket", Key="k")
    assert caught.value.response["Error"] == {"Code": "403", "Message": "Forbidden"}


def test_boto3_web_identity_refusal(error_server: tuple[str, dict[str, Any]]) -> None:
    endpoint, state = error_server
    state.update(service="sts", error=wirekit.web_identity_denied())
    client = boto3.client(
        "sts", endpoint_url=endpoint, region_name=REGION, config=Config(signature_version=UNSIGNED)
    )
    with pytest.raises(ClientError) as caught:
        client.assume_role_with_web_identity(
            RoleArn=ROLE, RoleSessionName="s1", WebIdentityToken="a.b.c-token"
        )
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert caught.value.response["Error"]["Message"] == (
        "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    )


def _aws_cli() -> str | None:
    here = os.path.join(os.path.dirname(sys.executable), "aws")
    return here if os.path.exists(here) else shutil.which("aws")


@pytest.mark.skipif(_aws_cli() is None, reason="the aws CLI is not installed")
def test_the_aws_cli_prints_our_denials(
    error_server: tuple[str, dict[str, Any]], tmp_path: Any
) -> None:
    endpoint, state = error_server
    target = "arn:aws:iam::222222222222:role/t"
    error = _denial("sts", "sts:AssumeRole", target)
    state.update(service="sts", error=error)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_MAX_ATTEMPTS": "1",
    }
    cli = _aws_cli()
    assert cli is not None
    command = [cli, "sts", "assume-role", "--role-arn", target, "--role-session-name", "s1"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert (
        f"An error occurred (AccessDenied) when calling the AssumeRole operation: {error.message}"
    ) in done.stderr


# --------------------------------------------------------------------------- operations: capture


class _Caught(Exception):
    """Raised from ``before-send`` to stop a client once the request is prepared."""


@cache
def _capturing_client(service: str, endpoint: str, style: str | None) -> tuple[Any, list[Any]]:
    config = Config(
        retries={"max_attempts": 1, "mode": "standard"},
        s3={"addressing_style": style} if style else None,
    )
    client = boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="AKIAEXAMPLEEXAMPLE",
        aws_secret_access_key="secret",
        config=config,
    )
    seen: list[Any] = []

    def grab(request: Any, **_: Any) -> None:
        seen.append(request)
        raise _Caught

    client.meta.events.register("before-send", grab)
    return client, seen


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _wire_request(
    service: str,
    method: str,
    params: Mapping[str, Any],
    *,
    endpoint: str = "http://localhost:4566",
    style: str | None = None,
) -> dict[str, Any]:
    """Serialize one boto3 call and split it the way the gate sees a request."""
    client, seen = _capturing_client(service, endpoint, style)
    seen.clear()
    with pytest.raises(_Caught):
        getattr(client, method)(**params)
    prepared = seen[-1]
    url = urlsplit(prepared.url)
    headers = {str(k): _text(v) for k, v in prepared.headers.items()}
    body = prepared.body or b""
    if hasattr(body, "read"):
        body = body.read()
    body = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    content_type = headers.get("Content-Type", "")
    form = parse_qs(body.decode("utf-8"), keep_blank_values=True) if "form" in content_type else {}
    is_json = body and service == "eks"
    return {
        "method": prepared.method,
        "path": unquote(url.path or "/"),
        "raw_path": url.path or "/",
        "query": parse_qs(url.query, keep_blank_values=True),
        "form": form,
        "json_body": json.loads(body) if is_json else None,
        "host": headers.get("Host", url.netloc),
        "headers": headers,
        "body": body,
    }


def _identify(service: str, method: str, params: Mapping[str, Any], **kw: Any) -> Operation | None:
    wire_kw = {k: kw.pop(k) for k in ("endpoint", "style") if k in kw}
    request = _wire_request(service, method, params, **wire_kw)
    use_raw = kw.pop("use_raw_path", True)
    return operations.identify_operation(
        service,
        request["method"],
        request["path"],
        request["query"],
        request["form"],
        request["json_body"],
        request["host"],
        ACCOUNT,
        REGION,
        headers=request["headers"],
        raw_path=request["raw_path"] if use_raw else None,
        body=request["body"],
        **kw,
    )


def _checks(op: Operation | None) -> tuple[tuple[str, str], ...]:
    assert op is not None
    return op.checks()


# --------------------------------------------------------------------------- operations: STS

IAM_ARN = f"arn:aws:iam::{ACCOUNT}"
TARGET_ROLE = "arn:aws:iam::222233334444:role/target-account-iam-role"

_STS_CASES: list[tuple[str, dict[str, Any], str, tuple[str, ...]]] = [
    ("get_caller_identity", {}, "sts:GetCallerIdentity", ("*",)),
    (
        "assume_role",
        {"RoleArn": TARGET_ROLE, "RoleSessionName": "s2", "ExternalId": "x-123"},
        "sts:AssumeRole",
        (TARGET_ROLE,),
    ),
    (
        "assume_role_with_web_identity",
        {"RoleArn": ROLE, "RoleSessionName": "s1", "WebIdentityToken": "a.b.c-token"},
        "sts:AssumeRoleWithWebIdentity",
        (ROLE,),
    ),
    ("get_session_token", {}, "sts:GetSessionToken", ("*",)),
    (
        "decode_authorization_message",
        {"EncodedMessage": "abc"},
        "sts:DecodeAuthorizationMessage",
        ("*",),
    ),
    ("get_access_key_info", {"AccessKeyId": "AKIAEXAMPLEEXAMPLE"}, "sts:GetAccessKeyInfo", ("*",)),
    (
        "get_federation_token",
        {"Name": "bob"},
        "sts:GetFederationToken",
        (f"arn:aws:sts::{ACCOUNT}:federated-user/bob",),
    ),
]


@pytest.mark.parametrize(("method", "params", "action", "resources"), _STS_CASES)
def test_sts_operations(
    method: str, params: dict[str, Any], action: str, resources: tuple[str, ...]
) -> None:
    op = _identify("sts", method, params)
    assert op is not None
    assert (op.action, op.resources, op.extra) == (action, resources, ())


def test_sts_flags_and_accounts() -> None:
    who = _identify("sts", "get_caller_identity", {})
    assume = _identify("sts", "assume_role", {"RoleArn": TARGET_ROLE, "RoleSessionName": "s2"})
    web = _identify(
        "sts",
        "assume_role_with_web_identity",
        {"RoleArn": ROLE, "RoleSessionName": "s1", "WebIdentityToken": "a.b.c-token"},
    )
    assert who is not None and assume is not None and web is not None
    assert (who.permission_required, who.signed, who.account_scoped_resource) == (
        False,
        True,
        True,
    )
    assert (assume.permission_required, assume.signed) == (True, True)
    assert (assume.account_scoped_resource, assume.resource_account) == (False, "222233334444")
    assert (web.signed, web.account_scoped_resource, web.resource_account) == (
        False,
        True,
        ACCOUNT,
    )


# --------------------------------------------------------------------------- operations: IAM

TRUST = json.dumps({"Version": "2012-10-17", "Statement": []})
POLICY_DOC = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)
MANAGED = "arn:aws:iam::aws:policy/ReadOnlyAccess"
CUSTOMER = f"{IAM_ARN}:policy/team/deploy"
ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
PROVIDER = (
    f"{IAM_ARN}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
)
TEAM_ROLE = f"{IAM_ARN}:role/team/deployer"

_IAM_CASES: list[tuple[str, dict[str, Any], str, tuple[str, ...]]] = [
    # roles (the lookup below puts `deployer` under /team/)
    (
        "create_role",
        {"RoleName": "deployer", "Path": "/team/", "AssumeRolePolicyDocument": TRUST},
        "iam:CreateRole",
        (TEAM_ROLE,),
    ),
    (
        "create_role",
        {"RoleName": "ci", "AssumeRolePolicyDocument": TRUST},
        "iam:CreateRole",
        (ROLE,),
    ),
    ("get_role", {"RoleName": "deployer"}, "iam:GetRole", (TEAM_ROLE,)),
    ("get_role", {"RoleName": "ci"}, "iam:GetRole", (ROLE,)),
    ("delete_role", {"RoleName": "deployer"}, "iam:DeleteRole", (TEAM_ROLE,)),
    ("update_role", {"RoleName": "ci", "MaxSessionDuration": 7200}, "iam:UpdateRole", (ROLE,)),
    (
        "update_assume_role_policy",
        {"RoleName": "ci", "PolicyDocument": TRUST},
        "iam:UpdateAssumeRolePolicy",
        (ROLE,),
    ),
    ("list_roles", {}, "iam:ListRoles", (f"{IAM_ARN}:role/",)),
    ("list_roles", {"PathPrefix": "/team/"}, "iam:ListRoles", (f"{IAM_ARN}:role/team/",)),
    ("tag_role", {"RoleName": "ci", "Tags": [{"Key": "k", "Value": "v"}]}, "iam:TagRole", (ROLE,)),
    ("untag_role", {"RoleName": "ci", "TagKeys": ["k"]}, "iam:UntagRole", (ROLE,)),
    ("list_role_tags", {"RoleName": "ci"}, "iam:ListRoleTags", (ROLE,)),
    # inline and attached role policies
    (
        "put_role_policy",
        {"RoleName": "ci", "PolicyName": "p", "PolicyDocument": POLICY_DOC},
        "iam:PutRolePolicy",
        (ROLE,),
    ),
    ("get_role_policy", {"RoleName": "ci", "PolicyName": "p"}, "iam:GetRolePolicy", (ROLE,)),
    ("delete_role_policy", {"RoleName": "ci", "PolicyName": "p"}, "iam:DeleteRolePolicy", (ROLE,)),
    ("list_role_policies", {"RoleName": "ci"}, "iam:ListRolePolicies", (ROLE,)),
    (
        "attach_role_policy",
        {"RoleName": "ci", "PolicyArn": MANAGED},
        "iam:AttachRolePolicy",
        (ROLE,),
    ),
    (
        "detach_role_policy",
        {"RoleName": "ci", "PolicyArn": MANAGED},
        "iam:DetachRolePolicy",
        (ROLE,),
    ),
    ("list_attached_role_policies", {"RoleName": "ci"}, "iam:ListAttachedRolePolicies", (ROLE,)),
    # managed policies
    (
        "create_policy",
        {"PolicyName": "deploy", "Path": "/team/", "PolicyDocument": POLICY_DOC},
        "iam:CreatePolicy",
        (CUSTOMER,),
    ),
    ("get_policy", {"PolicyArn": CUSTOMER}, "iam:GetPolicy", (CUSTOMER,)),
    ("delete_policy", {"PolicyArn": CUSTOMER}, "iam:DeletePolicy", (CUSTOMER,)),
    ("list_policies", {}, "iam:ListPolicies", ("policy path /",)),
    (
        "create_policy_version",
        {"PolicyArn": CUSTOMER, "PolicyDocument": POLICY_DOC, "SetAsDefault": True},
        "iam:CreatePolicyVersion",
        (CUSTOMER,),
    ),
    (
        "get_policy_version",
        {"PolicyArn": MANAGED, "VersionId": "v1"},
        "iam:GetPolicyVersion",
        (MANAGED,),
    ),
    ("list_policy_versions", {"PolicyArn": CUSTOMER}, "iam:ListPolicyVersions", (CUSTOMER,)),
    # users, groups, access keys
    ("create_user", {"UserName": "alice"}, "iam:CreateUser", (f"{IAM_ARN}:user/alice",)),
    ("get_user", {"UserName": "alice"}, "iam:GetUser", (f"{IAM_ARN}:user/alice",)),
    ("get_user", {}, "iam:GetUser", (f"{IAM_ARN}:user/caller",)),
    ("delete_user", {"UserName": "alice"}, "iam:DeleteUser", (f"{IAM_ARN}:user/alice",)),
    ("list_users", {}, "iam:ListUsers", (f"{IAM_ARN}:user/",)),
    ("create_group", {"GroupName": "ops"}, "iam:CreateGroup", (f"{IAM_ARN}:group/ops",)),
    ("get_group", {"GroupName": "ops"}, "iam:GetGroup", (f"{IAM_ARN}:group/ops",)),
    (
        "add_user_to_group",
        {"GroupName": "ops", "UserName": "alice"},
        "iam:AddUserToGroup",
        (f"{IAM_ARN}:group/ops",),
    ),
    ("list_groups", {}, "iam:ListGroups", (f"{IAM_ARN}:group/",)),
    ("create_access_key", {"UserName": "alice"}, "iam:CreateAccessKey", (f"{IAM_ARN}:user/alice",)),
    ("list_access_keys", {}, "iam:ListAccessKeys", (f"{IAM_ARN}:user/caller",)),
    (
        "delete_access_key",
        {"UserName": "alice", "AccessKeyId": "AKIAEXAMPLEEXAMPLE"},
        "iam:DeleteAccessKey",
        (f"{IAM_ARN}:user/alice",),
    ),
    # OIDC providers
    (
        "create_open_id_connect_provider",
        {"Url": ISSUER, "ClientIDList": ["sts.amazonaws.com"], "ThumbprintList": ["a" * 40]},
        "iam:CreateOpenIDConnectProvider",
        (PROVIDER,),
    ),
    (
        "get_open_id_connect_provider",
        {"OpenIDConnectProviderArn": PROVIDER},
        "iam:GetOpenIDConnectProvider",
        (PROVIDER,),
    ),
    (
        "list_open_id_connect_providers",
        {},
        "iam:ListOpenIDConnectProviders",
        (f"{IAM_ARN}:oidc-provider/*",),
    ),
    (
        "delete_open_id_connect_provider",
        {"OpenIDConnectProviderArn": PROVIDER},
        "iam:DeleteOpenIDConnectProvider",
        (PROVIDER,),
    ),
    (
        "add_client_id_to_open_id_connect_provider",
        {"OpenIDConnectProviderArn": PROVIDER, "ClientID": "sts.amazonaws.com"},
        "iam:AddClientIDToOpenIDConnectProvider",
        (PROVIDER,),
    ),
    (
        "remove_client_id_from_open_id_connect_provider",
        {"OpenIDConnectProviderArn": PROVIDER, "ClientID": "sts.amazonaws.com"},
        "iam:RemoveClientIDFromOpenIDConnectProvider",
        (PROVIDER,),
    ),
    (
        "update_open_id_connect_provider_thumbprint",
        {"OpenIDConnectProviderArn": PROVIDER, "ThumbprintList": ["b" * 40]},
        "iam:UpdateOpenIDConnectProviderThumbprint",
        (PROVIDER,),
    ),
    (
        "tag_open_id_connect_provider",
        {"OpenIDConnectProviderArn": PROVIDER, "Tags": [{"Key": "k", "Value": "v"}]},
        "iam:TagOpenIDConnectProvider",
        (PROVIDER,),
    ),
    # instance profiles and the account
    (
        "create_instance_profile",
        {"InstanceProfileName": "nodes"},
        "iam:CreateInstanceProfile",
        (f"{IAM_ARN}:instance-profile/nodes",),
    ),
    (
        "get_instance_profile",
        {"InstanceProfileName": "nodes"},
        "iam:GetInstanceProfile",
        (f"{IAM_ARN}:instance-profile/nodes",),
    ),
    ("list_instance_profiles", {}, "iam:ListInstanceProfiles", (f"{IAM_ARN}:instance-profile/",)),
    ("get_account_summary", {}, "iam:GetAccountSummary", ("*",)),
]


def _role_path(name: str) -> str | None:
    return "/team/" if name == "deployer" else None


@pytest.mark.parametrize(("method", "params", "action", "resources"), _IAM_CASES)
def test_iam_operations(
    method: str, params: dict[str, Any], action: str, resources: tuple[str, ...]
) -> None:
    op = _identify("iam", method, params, role_path=_role_path, caller_arn=f"{IAM_ARN}:user/caller")
    assert op is not None
    assert (op.action, op.resources) == (action, resources)
    assert not op.inferred


def test_iam_extra_authorizations_and_context() -> None:
    tags = [{"Key": "team", "Value": "ci"}]
    create = _identify(
        "iam",
        "create_role",
        {
            "RoleName": "ci",
            "AssumeRolePolicyDocument": TRUST,
            "Tags": tags,
            "PermissionsBoundary": CUSTOMER,
        },
    )
    assert _checks(create) == (("iam:CreateRole", ROLE), ("iam:TagRole", ROLE))
    assert create is not None
    assert create.context == {
        "aws:RequestTag/team": "ci",
        "aws:TagKeys": ["team"],
        "iam:PermissionsBoundary": CUSTOMER,
    }
    attach = _identify("iam", "attach_role_policy", {"RoleName": "ci", "PolicyArn": MANAGED})
    assert attach is not None and attach.context == {"iam:PolicyARN": MANAGED}
    untag = _identify("iam", "untag_role", {"RoleName": "ci", "TagKeys": ["a", "b"]})
    assert untag is not None and untag.context == {"aws:TagKeys": ["a", "b"]}
    provider = _identify(
        "iam",
        "create_open_id_connect_provider",
        {"Url": ISSUER, "ClientIDList": ["sts.amazonaws.com"], "Tags": tags},
    )
    assert _checks(provider) == (
        ("iam:CreateOpenIDConnectProvider", PROVIDER),
        ("iam:TagOpenIDConnectProvider", PROVIDER),
    )
    add = _identify(
        "iam", "add_role_to_instance_profile", {"InstanceProfileName": "nodes", "RoleName": "ci"}
    )
    assert _checks(add) == (
        ("iam:AddRoleToInstanceProfile", f"{IAM_ARN}:instance-profile/nodes"),
        ("iam:PassRole", ROLE),
    )


def test_iam_accounts_of_managed_policies_and_lookups() -> None:
    managed = _identify("iam", "get_policy", {"PolicyArn": MANAGED})
    assert managed is not None
    assert (managed.account_scoped_resource, managed.resource_account) == (False, "aws")
    user = _identify(
        "iam",
        "get_user",
        {"UserName": "alice"},
        entity_path=lambda kind, name: "/people/" if kind == "user" else None,
    )
    assert _checks(user) == (("iam:GetUser", f"{IAM_ARN}:user/people/alice"),)
    role_caller = _identify("iam", "list_access_keys", {}, caller_arn=SESSION)
    assert _checks(role_caller) == (("iam:ListAccessKeys", "*"),)


def test_unknown_iam_actions_are_guessed_on_star() -> None:
    op = operations.identify_operation(
        "iam", "POST", "/", {}, {"Action": ["FrobnicateRole"]}, None, "localhost", ACCOUNT, REGION
    )
    assert op is not None
    assert (op.action, op.resources, op.inferred) == ("iam:FrobnicateRole", ("*",), True)


def test_every_iam_operation_of_the_model_gets_an_iam_action() -> None:
    model = botocore.session.get_session().get_service_model("iam")
    for name in model.operation_names:
        op = operations.identify_operation(
            "iam", "POST", "/", {}, {"Action": [name]}, None, "localhost", ACCOUNT, REGION
        )
        assert op is not None and op.action == f"iam:{name}" and not op.inferred


# --------------------------------------------------------------------------- operations: EKS

EKS_ARN = f"arn:aws:eks:{REGION}:{ACCOUNT}"
CLUSTER = f"{EKS_ARN}:cluster/target"
VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
ENTRY = f"{EKS_ARN}:access-entry/target/role/{ACCOUNT}/ci/*"
PATH_ROLE = f"{IAM_ARN}:role/team/dev"
PATH_ENTRY = f"{EKS_ARN}:access-entry/target/role/{ACCOUNT}/dev/*"

_EKS_CASES: list[tuple[str, dict[str, Any], str, tuple[str, ...]]] = [
    ("list_clusters", {}, "eks:ListClusters", ("*",)),
    ("describe_cluster", {"name": "target"}, "eks:DescribeCluster", (CLUSTER,)),
    ("delete_cluster", {"name": "target"}, "eks:DeleteCluster", (CLUSTER,)),
    (
        "update_cluster_config",
        {"name": "target", "accessConfig": {"authenticationMode": "API_AND_CONFIG_MAP"}},
        "eks:UpdateClusterConfig",
        (CLUSTER,),
    ),
    (
        "create_access_entry",
        {"clusterName": "target", "principalArn": ROLE, "kubernetesGroups": ["viewers"]},
        "eks:CreateAccessEntry",
        (CLUSTER,),
    ),
    ("list_access_entries", {"clusterName": "target"}, "eks:ListAccessEntries", (CLUSTER,)),
    (
        "describe_access_entry",
        {"clusterName": "target", "principalArn": ROLE},
        "eks:DescribeAccessEntry",
        (ENTRY,),
    ),
    (
        "describe_access_entry",
        {"clusterName": "target", "principalArn": PATH_ROLE},
        "eks:DescribeAccessEntry",
        (PATH_ENTRY,),
    ),
    (
        "update_access_entry",
        {"clusterName": "target", "principalArn": ROLE, "username": "ci"},
        "eks:UpdateAccessEntry",
        (ENTRY,),
    ),
    (
        "delete_access_entry",
        {"clusterName": "target", "principalArn": ROLE},
        "eks:DeleteAccessEntry",
        (ENTRY,),
    ),
    (
        "associate_access_policy",
        {
            "clusterName": "target",
            "principalArn": ROLE,
            "policyArn": VIEW,
            "accessScope": {"type": "namespace", "namespaces": ["dev"]},
        },
        "eks:AssociateAccessPolicy",
        (ENTRY,),
    ),
    (
        "disassociate_access_policy",
        {"clusterName": "target", "principalArn": PATH_ROLE, "policyArn": VIEW},
        "eks:DisassociateAccessPolicy",
        (PATH_ENTRY,),
    ),
    (
        "list_associated_access_policies",
        {"clusterName": "target", "principalArn": PATH_ROLE},
        "eks:ListAssociatedAccessPolicies",
        (PATH_ENTRY,),
    ),
    ("list_access_policies", {}, "eks:ListAccessPolicies", ("*",)),
    (
        "tag_resource",
        {"resourceArn": CLUSTER, "tags": {"team": "ci"}},
        "eks:TagResource",
        (CLUSTER,),
    ),
    (
        "untag_resource",
        {"resourceArn": CLUSTER, "tagKeys": ["team"]},
        "eks:UntagResource",
        (CLUSTER,),
    ),
    ("list_tags_for_resource", {"resourceArn": CLUSTER}, "eks:ListTagsForResource", (CLUSTER,)),
    ("list_nodegroups", {"clusterName": "target"}, "eks:ListNodegroups", (CLUSTER,)),
    (
        "describe_nodegroup",
        {"clusterName": "target", "nodegroupName": "ng"},
        "eks:DescribeNodegroup",
        (f"{EKS_ARN}:nodegroup/target/ng/*",),
    ),
    ("list_addons", {"clusterName": "target"}, "eks:ListAddons", (CLUSTER,)),
    (
        "describe_addon",
        {"clusterName": "target", "addonName": "vpc-cni"},
        "eks:DescribeAddon",
        (f"{EKS_ARN}:addon/target/vpc-cni/*",),
    ),
    ("list_updates", {"name": "target"}, "eks:ListUpdates", (CLUSTER,)),
    ("describe_update", {"name": "target", "updateId": "u-1"}, "eks:DescribeUpdate", (CLUSTER,)),
    (
        "describe_pod_identity_association",
        {"clusterName": "target", "associationId": "a-123"},
        "eks:DescribePodIdentityAssociation",
        (f"{EKS_ARN}:podidentityassociation/target/a-123",),
    ),
]


@pytest.mark.parametrize("use_raw_path", [True, False], ids=["raw-path", "decoded-path"])
@pytest.mark.parametrize(("method", "params", "action", "resources"), _EKS_CASES)
def test_eks_operations(
    method: str,
    params: dict[str, Any],
    action: str,
    resources: tuple[str, ...],
    use_raw_path: bool,
) -> None:
    op = _identify("eks", method, params, use_raw_path=use_raw_path)
    assert op is not None
    assert (op.action, op.resources) == (action, resources)
    assert op.account_scoped_resource and op.resource_account == ACCOUNT


def test_eks_context_keys_from_the_request() -> None:
    associate = _identify(
        "eks",
        "associate_access_policy",
        {
            "clusterName": "target",
            "principalArn": ROLE,
            "policyArn": VIEW,
            "accessScope": {"type": "namespace", "namespaces": ["dev", "stg"]},
        },
    )
    assert associate is not None
    assert associate.context == {
        "eks:clusterName": "target",
        "eks:principalArn": ROLE,
        "eks:policyArn": VIEW,
        "eks:accessScope": "namespace",
        "eks:namespaces": ["dev", "stg"],
    }
    create = _identify(
        "eks",
        "create_access_entry",
        {
            "clusterName": "target",
            "principalArn": ROLE,
            "kubernetesGroups": ["viewers"],
            "username": "ci-user",
            "tags": {"team": "ci"},
        },
    )
    assert create is not None
    assert create.context == {
        "eks:clusterName": "target",
        "eks:principalArn": ROLE,
        "eks:kubernetesGroups": ["viewers"],
        "eks:username": "ci-user",
        "eks:accessEntryType": "STANDARD",
        "aws:RequestTag/team": "ci",
        "aws:TagKeys": ["team"],
    }
    assert create.checks() == (
        ("eks:CreateAccessEntry", CLUSTER),
        ("eks:TagResource", ENTRY),
    )
    untag = _identify("eks", "untag_resource", {"resourceArn": CLUSTER, "tagKeys": ["a", "b"]})
    assert untag is not None and untag.context == {"aws:TagKeys": ["a", "b"]}


def test_eks_create_cluster_passes_its_role_and_tags() -> None:
    cluster_role = f"{IAM_ARN}:role/eks-cluster"
    op = _identify(
        "eks",
        "create_cluster",
        {
            "name": "target",
            "roleArn": cluster_role,
            "resourcesVpcConfig": {"subnetIds": ["subnet-1"]},
            "tags": {"env": "dev"},
        },
    )
    assert op is not None
    assert op.checks() == (
        ("eks:CreateCluster", "*"),
        ("iam:PassRole", cluster_role),
        ("eks:TagResource", CLUSTER),
    )
    assert op.extra[0].context == {"iam:PassedToService": "eks.amazonaws.com"}


def test_eks_sub_resource_arns_come_from_the_lookup() -> None:
    known = f"{EKS_ARN}:access-entry/target/role/{ACCOUNT}/ci/0fc7a1b2-aaaa-bbbb-cccc-1234567890ab"
    seen: list[tuple[str, str, str]] = []

    def lookup(kind: str, cluster: str, name: str) -> str | None:
        seen.append((kind, cluster, name))
        return known if kind == "access-entry" else None

    op = _identify(
        "eks",
        "describe_access_entry",
        {"clusterName": "target", "principalArn": ROLE},
        eks_resource_arn=lookup,
    )
    assert _checks(op) == (("eks:DescribeAccessEntry", known),)
    assert seen == [("access-entry", "target", ROLE)]


def test_eks_raw_path_settles_a_role_path_that_looks_like_a_route() -> None:
    tricky = f"{IAM_ARN}:role/team/access-policies"
    request = _wire_request(
        "eks", "describe_access_entry", {"clusterName": "c", "principalArn": tricky}
    )
    args: tuple[Any, ...] = (
        "eks",
        request["method"],
        request["path"],
        request["query"],
        {},
        None,
        request["host"],
        ACCOUNT,
        REGION,
    )
    raw = operations.identify_operation(*args, raw_path=request["raw_path"])
    decoded = operations.identify_operation(*args)
    assert raw is not None and raw.name == "DescribeAccessEntry"
    assert raw.context["eks:principalArn"] == tricky
    # without the raw path the more specific route wins: the documented ambiguity
    assert decoded is not None and decoded.name == "ListAssociatedAccessPolicies"


def _sample(shape: Any, depth: int = 0) -> Any:
    """A minimal value botocore's validator accepts for ``shape``."""
    kind = shape.type_name
    if kind == "structure":
        return {m: _sample(shape.members[m], depth + 1) for m in shape.required_members}
    if kind == "list":
        return [_sample(shape.member, depth + 1)] * max(1, shape.metadata.get("min", 1))
    if kind == "map":
        return {"k": _sample(shape.value, depth + 1)}
    if kind in ("integer", "long"):
        return max(1, shape.metadata.get("min", 1))
    if kind in ("double", "float"):
        return 1.0
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return 0
    if kind == "blob":
        return b"x"
    enum = shape.enum
    if enum:
        return enum[0]
    return "x" * max(3, int(shape.metadata.get("min", 1)))


@pytest.mark.parametrize("service", ["eks", "s3"])
def test_every_rest_operation_routes_back_to_itself(service: str) -> None:
    """botocore serializes each operation; routing the result must name it again."""
    model = botocore.session.get_session().get_service_model(service)
    serializer = create_serializer(model.protocol, include_validation=False)
    skipped = {"ListDirectoryBuckets", "CreateSession", "WriteGetObjectResponse"}
    for name in model.operation_names:
        operation = model.operation_model(name)
        if name in skipped or operation.deprecated:
            continue
        params = _sample(operation.input_shape) if operation.input_shape else {}
        if service == "s3" and "Bucket" in params:
            params["Bucket"] = "bucket"
        request = serializer.serialize_to_request(params, operation)
        raw_path, _, literal = request["url_path"].partition("?")
        query = parse_qs(literal, keep_blank_values=True)
        for key, value in request["query_string"].items():
            query[key] = value if isinstance(value, list) else [str(value)]
        headers = {k: str(v) for k, v in request["headers"].items()}
        found = operations.operation_protocol_name(
            service,
            request["method"],
            unquote(raw_path),
            query,
            {},
            headers=headers,
            raw_path=raw_path,
        )
        assert found == name, f"{name} routed to {found}"


# --------------------------------------------------------------------------- operations: S3

_S3_CASES: list[tuple[str, dict[str, Any], str, tuple[str, ...]]] = [
    ("list_buckets", {}, "s3:ListAllMyBuckets", ("*",)),
    ("create_bucket", {"Bucket": "bkt"}, "s3:CreateBucket", ("arn:aws:s3:::bkt",)),
    ("delete_bucket", {"Bucket": "bkt"}, "s3:DeleteBucket", ("arn:aws:s3:::bkt",)),
    ("head_bucket", {"Bucket": "bkt"}, "s3:ListBucket", ("arn:aws:s3:::bkt",)),
    ("get_bucket_location", {"Bucket": "bkt"}, "s3:GetBucketLocation", ("arn:aws:s3:::bkt",)),
    (
        "put_bucket_policy",
        {"Bucket": "bkt", "Policy": POLICY_DOC},
        "s3:PutBucketPolicy",
        ("arn:aws:s3:::bkt",),
    ),
    ("get_bucket_policy", {"Bucket": "bkt"}, "s3:GetBucketPolicy", ("arn:aws:s3:::bkt",)),
    ("delete_bucket_policy", {"Bucket": "bkt"}, "s3:DeleteBucketPolicy", ("arn:aws:s3:::bkt",)),
    ("list_objects", {"Bucket": "bkt"}, "s3:ListBucket", ("arn:aws:s3:::bkt",)),
    ("list_objects_v2", {"Bucket": "bkt", "Prefix": "a/"}, "s3:ListBucket", ("arn:aws:s3:::bkt",)),
    ("list_object_versions", {"Bucket": "bkt"}, "s3:ListBucketVersions", ("arn:aws:s3:::bkt",)),
    ("get_bucket_tagging", {"Bucket": "bkt"}, "s3:GetBucketTagging", ("arn:aws:s3:::bkt",)),
    (
        "put_bucket_tagging",
        {"Bucket": "bkt", "Tagging": {"TagSet": [{"Key": "k", "Value": "v"}]}},
        "s3:PutBucketTagging",
        ("arn:aws:s3:::bkt",),
    ),
    ("delete_bucket_tagging", {"Bucket": "bkt"}, "s3:PutBucketTagging", ("arn:aws:s3:::bkt",)),
    ("get_bucket_acl", {"Bucket": "bkt"}, "s3:GetBucketAcl", ("arn:aws:s3:::bkt",)),
    ("get_bucket_versioning", {"Bucket": "bkt"}, "s3:GetBucketVersioning", ("arn:aws:s3:::bkt",)),
    (
        "put_object",
        {"Bucket": "bkt", "Key": "dir/a b?.txt", "Body": b"x"},
        "s3:PutObject",
        ("arn:aws:s3:::bkt/dir/a b?.txt",),
    ),
    ("get_object", {"Bucket": "bkt", "Key": "dir/k"}, "s3:GetObject", ("arn:aws:s3:::bkt/dir/k",)),
    (
        "get_object",
        {"Bucket": "bkt", "Key": "k", "VersionId": "v1"},
        "s3:GetObjectVersion",
        ("arn:aws:s3:::bkt/k",),
    ),
    ("head_object", {"Bucket": "bkt", "Key": "k"}, "s3:GetObject", ("arn:aws:s3:::bkt/k",)),
    ("delete_object", {"Bucket": "bkt", "Key": "k"}, "s3:DeleteObject", ("arn:aws:s3:::bkt/k",)),
    (
        "delete_object",
        {"Bucket": "bkt", "Key": "k", "VersionId": "v1"},
        "s3:DeleteObjectVersion",
        ("arn:aws:s3:::bkt/k",),
    ),
    ("get_object_acl", {"Bucket": "bkt", "Key": "k"}, "s3:GetObjectAcl", ("arn:aws:s3:::bkt/k",)),
    (
        "get_object_tagging",
        {"Bucket": "bkt", "Key": "k"},
        "s3:GetObjectTagging",
        ("arn:aws:s3:::bkt/k",),
    ),
    (
        "create_multipart_upload",
        {"Bucket": "bkt", "Key": "big"},
        "s3:PutObject",
        ("arn:aws:s3:::bkt/big",),
    ),
    (
        "upload_part",
        {"Bucket": "bkt", "Key": "big", "PartNumber": 1, "UploadId": "u1", "Body": b"x"},
        "s3:PutObject",
        ("arn:aws:s3:::bkt/big",),
    ),
    (
        "complete_multipart_upload",
        {"Bucket": "bkt", "Key": "big", "UploadId": "u1"},
        "s3:PutObject",
        ("arn:aws:s3:::bkt/big",),
    ),
    (
        "abort_multipart_upload",
        {"Bucket": "bkt", "Key": "big", "UploadId": "u1"},
        "s3:AbortMultipartUpload",
        ("arn:aws:s3:::bkt/big",),
    ),
    (
        "list_parts",
        {"Bucket": "bkt", "Key": "big", "UploadId": "u1"},
        "s3:ListMultipartUploadParts",
        ("arn:aws:s3:::bkt/big",),
    ),
]


@pytest.mark.parametrize(
    ("endpoint", "style"),
    [
        ("http://localhost:4566", None),
        ("http://127.0.0.1:4566", None),
        ("http://localhost:4566", "virtual"),
    ],
    ids=["localhost", "ip", "virtual-host"],
)
@pytest.mark.parametrize(("method", "params", "action", "resources"), _S3_CASES)
def test_s3_operations(
    method: str,
    params: dict[str, Any],
    action: str,
    resources: tuple[str, ...],
    endpoint: str,
    style: str | None,
) -> None:
    op = _identify("s3", method, params, endpoint=endpoint, style=style)
    assert op is not None
    assert (op.action, op.resources, op.extra) == (action, resources, ())
    if resources == ("*",):
        assert op.account_scoped_resource and op.resource_account == ACCOUNT
    else:
        assert not op.account_scoped_resource and op.resource_account is None


def test_virtual_hosted_requests_really_name_the_bucket_in_the_host() -> None:
    request = _wire_request("s3", "get_object", {"Bucket": "bkt", "Key": "k"}, style="virtual")
    assert request["host"] == "bkt.localhost:4566"
    assert request["path"] == "/k"
    assert operations.s3_virtual_bucket("bkt.s3.us-east-1.amazonaws.com") == "bkt"
    assert operations.s3_virtual_bucket("my.bucket.s3.amazonaws.com") == "my.bucket"
    assert operations.s3_virtual_bucket("bkt.s3.localhost:4566") == "bkt"
    for host in ("localhost:4566", "s3.localhost", "127.0.0.1:4566", "[::1]:4566"):
        assert operations.s3_virtual_bucket(host) is None


def test_s3_copy_reads_the_source_and_writes_the_target() -> None:
    plain = _identify(
        "s3", "copy_object", {"Bucket": "dst", "Key": "copy", "CopySource": "src/dir/orig"}
    )
    assert _checks(plain) == (
        ("s3:PutObject", "arn:aws:s3:::dst/copy"),
        ("s3:GetObject", "arn:aws:s3:::src/dir/orig"),
    )
    versioned = _identify(
        "s3",
        "copy_object",
        {
            "Bucket": "dst",
            "Key": "copy",
            "CopySource": {"Bucket": "src", "Key": "a b", "VersionId": "v7"},
        },
    )
    assert _checks(versioned) == (
        ("s3:PutObject", "arn:aws:s3:::dst/copy"),
        ("s3:GetObjectVersion", "arn:aws:s3:::src/a b"),
    )
    part = _identify(
        "s3",
        "upload_part_copy",
        {"Bucket": "dst", "Key": "big", "PartNumber": 2, "UploadId": "u1", "CopySource": "src/k"},
    )
    assert part is not None and part.name == "UploadPartCopy"
    assert part.checks() == (
        ("s3:PutObject", "arn:aws:s3:::dst/big"),
        ("s3:GetObject", "arn:aws:s3:::src/k"),
    )


def test_s3_headers_that_need_more_permissions() -> None:
    put = _identify(
        "s3",
        "put_object",
        {"Bucket": "bkt", "Key": "k", "Body": b"x", "ACL": "public-read", "Tagging": "a=b"},
    )
    assert _checks(put) == (
        ("s3:PutObject", "arn:aws:s3:::bkt/k"),
        ("s3:PutObjectAcl", "arn:aws:s3:::bkt/k"),
        ("s3:PutObjectTagging", "arn:aws:s3:::bkt/k"),
    )
    assert put is not None and put.context["s3:x-amz-acl"] == "public-read"
    bucket = _identify(
        "s3",
        "create_bucket",
        {
            "Bucket": "bkt",
            "ACL": "public-read",
            "ObjectLockEnabledForBucket": True,
            "ObjectOwnership": "ObjectWriter",
        },
    )
    assert _checks(bucket) == (
        ("s3:CreateBucket", "arn:aws:s3:::bkt"),
        ("s3:PutBucketAcl", "arn:aws:s3:::bkt"),
        ("s3:PutBucketObjectLockConfiguration", "arn:aws:s3:::bkt"),
        ("s3:PutBucketVersioning", "arn:aws:s3:::bkt"),
        ("s3:PutBucketOwnershipControls", "arn:aws:s3:::bkt"),
    )
    private = _identify("s3", "create_bucket", {"Bucket": "bkt", "ACL": "private"})
    assert _checks(private) == (("s3:CreateBucket", "arn:aws:s3:::bkt"),)


def test_s3_delete_objects_authorizes_every_key() -> None:
    op = _identify(
        "s3",
        "delete_objects",
        {
            "Bucket": "bkt",
            "Delete": {"Objects": [{"Key": "a"}, {"Key": "d/b"}, {"Key": "c", "VersionId": "v"}]},
        },
    )
    assert _checks(op) == (
        ("s3:DeleteObject", "arn:aws:s3:::bkt/a"),
        ("s3:DeleteObject", "arn:aws:s3:::bkt/d/b"),
        ("s3:DeleteObjectVersion", "arn:aws:s3:::bkt/c"),
    )
    blind = operations.identify_operation(
        "s3", "POST", "/bkt", {"delete": [""]}, {}, None, "localhost", ACCOUNT, REGION
    )
    assert _checks(blind) == (("s3:DeleteObject", "arn:aws:s3:::bkt/*"),)


def test_s3_list_context() -> None:
    op = _identify("s3", "list_objects_v2", {"Bucket": "bkt", "Prefix": "home/", "Delimiter": "/"})
    assert op is not None and op.name == "ListObjectsV2"
    assert op.context == {"s3:prefix": "home/", "s3:delimiter": "/"}
    versioned = _identify("s3", "get_object", {"Bucket": "bkt", "Key": "k", "VersionId": "v1"})
    assert versioned is not None and versioned.context == {"s3:versionid": "v1"}


# --------------------------------------------------------------------------- unknown routes


@pytest.mark.parametrize(
    ("service", "method", "path", "query", "form"),
    [
        ("eks", "GET", "/nothing-here", {}, {}),
        ("eks", "PATCH", "/clusters/target", {}, {}),
        ("eks", "GET", "/clusters/a/b/c/d/e/f", {}, {}),
        ("s3", "PATCH", "/bkt/k", {}, {}),
        ("s3", "OPTIONS", "/bkt", {}, {}),
        ("iam", "POST", "/", {}, {}),
        ("sts", "POST", "/", {}, {"Action": ["Not An Action"]}),
    ],
)
def test_unknown_routes_are_none(
    service: str, method: str, path: str, query: dict[str, list[str]], form: dict[str, list[str]]
) -> None:
    assert (
        operations.identify_operation(
            service, method, path, query, form, None, "localhost", ACCOUNT, REGION
        )
        is None
    )
    assert operations.operation_protocol_name(service, method, path, query, form) is None


def test_operation_protocol_names() -> None:
    assert (
        operations.operation_protocol_name(
            "sts", "POST", "/", {}, {"Action": ["AssumeRoleWithWebIdentity"]}
        )
        == "AssumeRoleWithWebIdentity"
    )
    assert operations.operation_protocol_name(
        "sts", "GET", "/", {"Action": ["GetCallerIdentity"]}, {}
    ) == ("GetCallerIdentity")
    assert operations.operation_protocol_name("s3", "HEAD", "/bkt/k", {}, {}) == "HeadObject"
    assert operations.operation_protocol_name("s3", "HEAD", "/", {}, {}, host="bkt.localhost") == (
        "HeadBucket"
    )
    assert operations.operation_protocol_name("eks", "GET", "/clusters", {}, {}) == "ListClusters"
    with pytest.raises(ValueError, match="sqs"):
        operations.service_protocol("sqs")


def test_authorizations_carry_the_context() -> None:
    op = Operation(
        service="eks",
        name="DescribeCluster",
        action="eks:DescribeCluster",
        resources=(CLUSTER,),
        account_scoped_resource=True,
        extra=(Authorization("iam:PassRole", ROLE),),
        context={"eks:clusterName": "target"},
    )
    assert op.authorizations == (
        Authorization("eks:DescribeCluster", CLUSTER, {"eks:clusterName": "target"}),
        Authorization("iam:PassRole", ROLE),
    )
    assert hash(op) == hash(op)
