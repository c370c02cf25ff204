"""``AddClientIDToOpenIDConnectProvider`` and ``RemoveClientIDFromOpenIDConnectProvider``:
the audiences of an IAM OIDC provider, which moto does not implement.

``kubetrust apply`` adds ``sts.amazonaws.com`` (IRSA's audience) to a provider that exists
without it, and a user fixing an ``InvalidIdentityToken`` "Incorrect token audience" does the
same with the aws CLI, so the sandbox must answer both as IAM does (IAM API reference):

- both are idempotent: adding a client id the provider has, or removing one it lacks, changes
  nothing and succeeds;
- the provider must exist (``NoSuchEntity``, 404, "OpenIDConnect Provider not found for arn
  <arn>", the wording IAM's other provider calls use);
- a provider holds at most 100 client ids (``LimitExceeded``, 409, "Cannot exceed quota for
  ClientIdsPerOpenIdConnectProvider: 100");
- the client id's length (1-255) is botocore's model, checked before this (``params``).

The gate runs them under its moto lock, after authorization, with IAM propagation captured
around them like every IAM write (reference H.1): STS sees the new audience late.
"""

from __future__ import annotations

from collections.abc import Mapping

from kubetrust.sandbox.aws import state, wire

__all__ = ["ANSWERED", "MAX_CLIENT_IDS", "answer"]

ANSWERED = frozenset(
    {"AddClientIDToOpenIDConnectProvider", "RemoveClientIDFromOpenIDConnectProvider"}
)
MAX_CLIENT_IDS = 100
_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"

Response = tuple[int, list[tuple[str, str]], bytes]


def answer(
    operation: str, form: Mapping[str, list[str]], account: str, request_id: str
) -> Response | None:
    """The call answered (the provider changed in moto's IAM), or ``None`` for every other
    operation."""
    if operation not in ANSWERED:
        return None
    arn = _first(form, "OpenIDConnectProviderArn")
    client_id = _first(form, "ClientID")
    provider = state.iam(account).open_id_providers.get(arn)
    if provider is None:
        raise wire.AwsError("NoSuchEntity", f"OpenIDConnect Provider not found for arn {arn}", 404)
    held: list[str] = provider.client_id_list
    if operation == "AddClientIDToOpenIDConnectProvider" and client_id not in held:
        if len(held) >= MAX_CLIENT_IDS:
            raise wire.AwsError(
                "LimitExceeded",
                f"Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: {MAX_CLIENT_IDS}",
                409,
            )
        held.append(client_id)
    elif operation == "RemoveClientIDFromOpenIDConnectProvider" and client_id in held:
        held.remove(client_id)
    body = (
        f'<{operation}Response xmlns="{_NAMESPACE}"><ResponseMetadata><RequestId>'
        f"{request_id}</RequestId></ResponseMetadata></{operation}Response>"
    ).encode()
    return 200, [("Content-Type", "text/xml")], body


def _first(form: Mapping[str, list[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0]
