"""Test support for :mod:`kubetrust.sandbox.aws.wire`: renderers and error tables the tests
use and the sandbox does not (the gate renders by botocore's protocol of the service,
:func:`kubetrust.sandbox.aws.operations.service_protocol`, and SigV4 failures come from
:mod:`kubetrust.sandbox.aws.sigv4`, whose table :func:`auth_failure` reads)."""

from __future__ import annotations

from typing import Literal

from kubetrust.sandbox.aws import wire
from kubetrust.sandbox.aws.sigv4 import errors as sigv4_errors

Protocol = Literal["query", "rest-json", "rest-xml"]

SERVICE_PROTOCOLS: dict[str, Protocol] = {
    "iam": "query",
    "sts": "query",
    "eks": "rest-json",
    "s3": "rest-xml",
}
"""The wire protocol of each service the sandbox serves (botocore ``metadata.protocol``;
:func:`kubetrust.sandbox.aws.operations.service_protocol` reads the same from botocore)."""


def render_service_error(
    service: str, error: wire.AwsError, request_id: str, *, head: bool = False
) -> wire.Response:
    """:func:`wire.render_error` in the protocol (and namespace) of ``service``."""
    try:
        protocol = SERVICE_PROTOCOLS[service]
    except KeyError:
        raise ValueError(f"no wire protocol known for service `{service}`") from None
    return wire.render_error(protocol, error, request_id, service=service, head=head)


def web_identity_denied() -> wire.AwsError:
    """STS's answer when a role's trust policy refuses a valid web identity token (B.2)."""
    return wire.AwsError("AccessDenied", wire.WEB_IDENTITY_DENIED, 403)


AuthFailure = Literal["unknown-key", "bad-signature", "expired-token", "invalid-token"]

_KINDS: dict[str, str] = {
    # this module's reasons → the SigV4 verifier's kinds of failure
    "unknown-key": "unknown-key",
    "bad-signature": "mismatch",
    "expired-token": "expired-token",
    "invalid-token": "bad-token",
}
_DIALECTS: dict[str, sigv4_errors.Dialect] = {
    "query": sigv4_errors.Dialect.QUERY,
    "rest-json": sigv4_errors.Dialect.JSON,
    "rest-xml": sigv4_errors.Dialect.S3,
}


def auth_failure(service: str, reason: AuthFailure) -> wire.AwsError:
    """The error ``service`` gives when SigV4 authentication fails for ``reason``, as the
    sandbox's verifier raises it (:func:`kubetrust.sandbox.aws.sigv4.errors.fail`) and the
    gate answers it.

    ``unknown-key``: the access key (or session token's key) is not known;
    ``bad-signature``: the signature does not verify; ``expired-token``: the session
    token has expired; ``invalid-token``: the session token is not one the service issued.
    """
    try:
        dialect = _DIALECTS[SERVICE_PROTOCOLS[service]]
        kind = _KINDS[reason]
    except KeyError:
        raise ValueError(f"no authentication error known for {service}/{reason}") from None
    failure = sigv4_errors.fail(kind, dialect)
    return wire.AwsError(failure.code, failure.message, failure.status)
