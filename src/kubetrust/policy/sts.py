"""The requests STS authorizes when a role is assumed, with the condition keys AWS sets.

An assume call is not one authorization but up to three, against the same role and the same
trust policy (reference B.2, B.4, B.6; IAM UG ``id_session-tags.md``):

- the assume action itself: ``sts:AssumeRole`` or ``sts:AssumeRoleWithWebIdentity``;
- ``sts:TagSession`` when session tags are passed (as parameters, or for web identity in the
  token's ``https://aws.amazon.com/tags`` claim);
- ``sts:SetSourceIdentity`` when a source identity is passed.

Every one must be allowed, each with the same request context (the tag keys included,
:func:`_with_extras`). The functions here only *build* those requests, with the keys AWS
puts in the context; :func:`kubetrust.policy.authorize` decides each, and the hop
evaluation of :mod:`kubetrust.chain` combines them (caller side and trust side).

Web identity keys (B.3): the prefix is the issuer URL without ``https://``
(``oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE``) followed by ``:sub``, ``:aud``, ``:azp``
and ``:amr`` when the token carries those claims. The web identity caller is the IAM OIDC
provider (``Principal.Federated`` = the provider ARN); it has no identity policies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kubetrust import arn, errors
from kubetrust.policy.authorizer import Request

TAGS_CLAIM = "https://aws.amazon.com/tags"
SOURCE_IDENTITY_CLAIM = "https://aws.amazon.com/source_identity"


@dataclass(frozen=True, slots=True)
class SessionTags:
    """Session tags as STS receives them: key → value, and the transitive keys."""

    tags: Mapping[str, str]
    transitive: Sequence[str] = ()


def issuer_key_prefix(issuer: str) -> str:
    """``https://oidc.eks.r.amazonaws.com/id/X`` → ``oidc.eks.r.amazonaws.com/id/X``."""
    if not issuer.startswith("https://"):
        raise errors.InputError(f"issuer `{issuer}` must start with https://")
    prefix = issuer[len("https://") :].rstrip("/")
    if not prefix:
        raise errors.InputError(f"issuer `{issuer}` has no host")
    return prefix


def provider_arn(account: str, issuer: str, *, partition: str = "aws") -> str:
    """The ARN of the IAM OIDC provider for ``issuer`` in ``account``."""
    return arn.format_arn(
        partition=partition,
        service="iam",
        account=account,
        resource=f"oidc-provider/{issuer_key_prefix(issuer)}",
    )


def web_identity_context(issuer: str, claims: Mapping[str, object]) -> dict[str, object]:
    """The trust-policy keys of a web identity token (B.3): ``<issuer>:sub``, ``:aud``,
    ``:azp``, ``:amr`` (multivalued), for the claims the token has."""
    prefix = issuer_key_prefix(issuer)
    context: dict[str, object] = {}
    for claim in ("sub", "aud", "azp", "amr"):
        value = claims.get(claim)
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in values):
            raise errors.InputError(f"token claim `{claim}` must be a string or strings")
        context[f"{prefix}:{claim}"] = values if claim == "amr" or len(values) > 1 else values[0]
    return context


def tag_context(tags: SessionTags) -> dict[str, object]:
    """``aws:RequestTag/<k>``, ``aws:TagKeys`` and ``sts:TransitiveTagKeys`` (B.4, B.6)."""
    context: dict[str, object] = {f"aws:RequestTag/{k}": v for k, v in tags.tags.items()}
    context["aws:TagKeys"] = list(tags.tags)
    if tags.transitive:
        context["sts:TransitiveTagKeys"] = list(tags.transitive)
    return context


def token_tags(claims: Mapping[str, object]) -> SessionTags | None:
    """Session tags carried by a web identity token, if any (B.2, last bullet)."""
    raw = claims.get(TAGS_CLAIM)
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise errors.InputError(f"claim `{TAGS_CLAIM}` must be an object")
    principal_tags = raw.get("principal_tags") or {}
    if not isinstance(principal_tags, Mapping):
        raise errors.InputError("`principal_tags` must map tag keys to lists of values")
    tags: dict[str, str] = {}
    for key, values in principal_tags.items():
        items = values if isinstance(values, list) else [values]
        if len(items) != 1 or not isinstance(items[0], str):
            raise errors.InputError(f"session tag `{key}` must have exactly one string value")
        tags[str(key)] = items[0]
    transitive = raw.get("transitive_tag_keys") or []
    if not isinstance(transitive, list) or not all(isinstance(k, str) for k in transitive):
        raise errors.InputError("`transitive_tag_keys` must be a list of strings")
    return SessionTags(tags, tuple(transitive))


def assume_role_requests(
    caller: str,
    role: str,
    *,
    session_name: str,
    external_id: str | None = None,
    source_identity: str | None = None,
    tags: SessionTags | None = None,
    context: Mapping[str, object] | None = None,
) -> list[Request]:
    """The requests an ``AssumeRole`` by ``caller`` on ``role`` must pass, in order."""
    base: dict[str, object] = dict(context or {})
    base["sts:RoleSessionName"] = session_name
    if external_id is not None:
        base["sts:ExternalId"] = external_id
    if source_identity is not None:
        base["sts:SourceIdentity"] = source_identity
    return _with_extras(caller, role, "sts:AssumeRole", base, tags, source_identity)


def web_identity_requests(
    provider: str,
    role: str,
    issuer: str,
    claims: Mapping[str, object],
    *,
    session_name: str,
    context: Mapping[str, object] | None = None,
) -> list[Request]:
    """The requests an ``AssumeRoleWithWebIdentity`` must pass: the caller is the IAM OIDC
    provider ``provider``; the context holds the token's keys (see module doc) over the
    global keys given in ``context``."""
    base: dict[str, object] = dict(context or {})
    base.update(web_identity_context(issuer, claims))
    base["sts:RoleSessionName"] = session_name
    source_identity = claims.get(SOURCE_IDENTITY_CLAIM)
    if source_identity is not None and not isinstance(source_identity, str):
        raise errors.InputError(f"claim `{SOURCE_IDENTITY_CLAIM}` must be a string")
    if source_identity is not None:
        base["sts:SourceIdentity"] = source_identity
    tags = token_tags(claims)
    return _with_extras(
        provider, role, "sts:AssumeRoleWithWebIdentity", base, tags, source_identity
    )


def _with_extras(
    caller: str,
    role: str,
    action: str,
    base: dict[str, object],
    tags: SessionTags | None,
    source_identity: str | None,
) -> list[Request]:
    """The assume action, then ``sts:TagSession`` and ``sts:SetSourceIdentity`` when asked
    for. The three are one call's authorizations, so they share one request context: the
    tag keys (``aws:RequestTag/<k>``, ``aws:TagKeys``, ``sts:TransitiveTagKeys``) are in
    every one of them, not only in ``sts:TagSession``'s (B.4: ``aws:RequestTag`` is present
    whenever the request passes tags). AWS's own examples rely on it: a trust statement
    granting ``sts:AssumeRole`` and ``sts:TagSession`` together under an
    ``aws:RequestTag/<k>`` condition (EKS UG ``pod-id-assign-target-role``, IAM UG
    ``id_session-tags.md``) admits a caller that passes the tag; deciding the assume
    action without the keys denied it falsely."""
    passed = tags is not None and bool(tags.tags)
    shared = {**base, **tag_context(tags)} if tags is not None and passed else base
    requests = [Request(caller, action, role, shared)]
    if passed:
        requests.append(Request(caller, "sts:TagSession", role, shared))
    if source_identity is not None:
        requests.append(Request(caller, "sts:SetSourceIdentity", role, shared))
    return requests
