"""A kubetrust error that reaches the gate's top level is answered as AWS would answer the
request — the service's own code, in its own wire format — and never with kubetrust's
text (issue 10: ``InvalidRequest`` with ``str(exc)`` leaked internals and is no code
IAM, STS or EKS uses).

No request from outside was found that still gets a kubetrust error to the top: the gate
and STS map the ones they expect where they raise them (a fuzz of every IAM, STS, EKS and
S3 operation's members with odd values found none). The net under them is still needed,
so these tests inject each kind of error at the real seam — the authorization step, or
STS's handler — and send the request through the running sandbox as a client would.
"""

from __future__ import annotations

import http.client
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from kubetrust import errors
from kubetrust.sandbox import oidc
from kubetrust.sandbox.aws import authorize, gate
from kubetrust.sandbox.aws.services.sts import api

SECRET = "/srv/kubetrust/internal/detail"
"""Internal text every injected error carries: it must never reach the wire."""


def _raising(exc: Exception) -> Callable[..., Any]:
    def fail(*_: Any, **__: Any) -> Any:
        raise exc

    return fail


def _error(call: Callable[[], Any]) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as refused:
        call()
    response = refused.value.response
    return (
        str(response["Error"]["Code"]),
        str(response["Error"].get("Message", "")),
        int(response["ResponseMetadata"]["HTTPStatusCode"]),
    )


def _calls(aws: Any) -> dict[str, Callable[[], Any]]:
    """One authorized call per service the gate forwards (each reaches authorization)."""
    return {
        "iam": lambda: aws.client("iam", account=aws.CI).list_roles(),
        "s3": lambda: aws.client("s3", account=aws.CI).list_buckets(),
        "eks": lambda: aws.client("eks", account=aws.CI).list_clusters(),
    }


INPUT = errors.InputError(f"request context key broke at {SECRET}")
POLICY = errors.PolicyParseError("Syntax errors in policy.", path="Statement[0]", reason=SECRET)
ARN = errors.InvalidArnError("arn:aws:iam::111111111111", SECRET)

EXPECTED = {
    # service: (input error, malformed policy, invalid ARN) as (code, status)
    "iam": (("ValidationError", 400), ("MalformedPolicyDocument", 400), ("InvalidInput", 400)),
    "s3": (("InvalidArgument", 400), ("MalformedPolicy", 400), ("InvalidArgument", 400)),
    "eks": (
        ("InvalidParameterException", 400),
        ("InvalidParameterException", 400),
        ("InvalidParameterException", 400),
    ),
}


@pytest.mark.parametrize("service", sorted(EXPECTED))
def test_kubetrust_errors_get_the_services_code_and_no_internal_text(
    aws: Any, monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    call = _calls(aws)[service]
    for injected, (want_code, want_status) in zip(
        (INPUT, POLICY, ARN), EXPECTED[service], strict=True
    ):
        monkeypatch.setattr(authorize, "authorize", _raising(injected))
        got_code, message, status = _error(call)
        assert (got_code, status) == (want_code, want_status), injected
        assert SECRET not in message
        assert got_code != "InvalidRequest"
    monkeypatch.undo()
    call()  # and the sandbox answers normally again


def test_iam_messages_are_iams_own(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    iam = aws.client("iam", account=aws.CI)
    monkeypatch.setattr(authorize, "authorize", _raising(POLICY))
    assert _error(iam.list_roles)[1] == "Syntax errors in policy."
    monkeypatch.setattr(authorize, "authorize", _raising(ARN))
    assert _error(iam.list_roles)[1] == "ARN arn:aws:iam::111111111111 is not valid."
    monkeypatch.setattr(authorize, "authorize", _raising(INPUT))
    assert _error(iam.list_roles)[1] == (
        "The input fails to satisfy the constraints specified by an AWS service."
    )


def test_sts_errors_in_stss_format(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sts = aws.client("sts", account=aws.CI)
    role = f"arn:aws:iam::{aws.CI}:role/anything"
    for injected, want in (
        (INPUT, "ValidationError"),
        (POLICY, "MalformedPolicyDocument"),
        (ARN, "ValidationError"),
        (
            oidc.TokenRejected("InvalidIdentityToken", "No OpenIDConnect provider found"),
            "InvalidIdentityToken",
        ),
    ):
        monkeypatch.setattr(api.StsService, "assume_role", _raising(injected))
        got_code, message, status = _error(
            lambda: sts.assume_role(RoleArn=role, RoleSessionName="ss")
        )
        assert (got_code, status) == (want, 400)
        assert SECRET not in message


def test_the_raw_body_carries_no_internal_text(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a client that prints the whole answer would see (an unsigned anonymous S3
    read reaches authorization too)."""
    monkeypatch.setattr(authorize, "authorize", _raising(INPUT))
    host, port = aws.sandbox.endpoint.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", "/" + urllib.parse.quote("some-bucket") + "/key")
        response = connection.getresponse()
        body = response.read().decode()
    finally:
        connection.close()
    assert response.status == 400
    assert "<Code>InvalidArgument</Code>" in body
    assert SECRET not in body and "kubetrust" not in body.lower()


def test_refusal_for_keeps_only_aws_text() -> None:
    """The mapping itself, for every kind of kubetrust error (and an unknown service)."""
    rejected = oidc.TokenRejected("InvalidIdentityToken", "Couldn't retrieve", detail=SECRET)
    for exc in (
        INPUT,
        POLICY,
        ARN,
        rejected,
        errors.ModelError(SECRET),
        errors.KubetrustError(SECRET),
    ):
        for service in ("iam", "sts", "s3", "eks", "other"):
            refusal = gate.refusal_for(exc, service)
            assert SECRET not in refusal.message
            assert refusal.status == 400
