"""Read the world's state out of moto's backends, in the shapes the engine needs.

moto keeps IAM, S3 and EKS state in process-global backends keyed by account (and region
or partition). The gate reads them in-process (probe findings: "a WSGI middleware ... can
read moto's state"); nothing here goes over HTTP. Everything moto-specific stays in this
module, so that a moto upgrade breaks one file.

Fidelity notes: moto loads AWS managed policies on first use when
``MOTO_IAM_LOAD_MANAGED_POLICIES`` is set (the sandbox server sets it before it starts).
moto keeps no permissions boundary for users, so none is enforced for users; role
boundaries are.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from moto.eks.models import eks_backends
from moto.iam.models import iam_backends
from moto.s3.models import s3_backends

from kubetrust import arn as arns

ADMIN_USER = "admin"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"


@dataclass(frozen=True, slots=True)
class RoleFacts:
    """What STS and the engine need to know about a role."""

    arn: str
    name: str
    id: str
    account: str
    trust_policy: str
    max_session_duration: int


def iam(account: str) -> Any:
    return iam_backends[account]["aws"]


def s3(account: str) -> Any:
    return s3_backends[account]["aws"]


def eks(account: str, region: str) -> Any:
    return eks_backends[account][region]


def ensure_admin(account: str) -> tuple[str, str]:
    """Create the account's administrator (an IAM user with AdministratorAccess) and
    return one access key for it: the sandbox's equivalent of an account's first admin."""
    backend = iam(account)
    try:
        user = backend.get_user(ADMIN_USER)
    except Exception:  # moto raises its own NoSuchEntity type
        user = backend.create_user("us-east-1", ADMIN_USER)
        backend.attach_user_policy(ADMIN_POLICY, ADMIN_USER)
    keys = [k for k in user.access_keys if k.status == "Active"]
    key = keys[0] if keys else backend.create_access_key(ADMIN_USER)
    return key.access_key_id, key.secret_access_key


def user_arn(account: str, name: str) -> str | None:
    try:
        return str(iam(account).get_user(name).arn)
    except Exception:
        return None


def user_id(account: str, name: str) -> str:
    return str(iam(account).get_user(name).id)


@dataclass(frozen=True, slots=True)
class UserFacts:
    """What EKS access entries need to know about a user: its exact ARN and unique id."""

    arn: str
    name: str
    id: str
    account: str


def user_by_arn(user_arn: str) -> UserFacts | None:
    """The user an ARN names exactly (same account, name and path), or ``None``.

    Exact, unlike :func:`role_by_arn`: EKS access entries keep the principal's path and
    refuse an ARN that names no principal (reference E.2)."""
    try:
        parsed = arns.parse(user_arn)
    except Exception:
        return None
    if (
        parsed.service != "iam"
        or parsed.resource_type != "user"
        or parsed.account not in iam_backends
    ):
        return None
    try:
        found = iam(parsed.account).get_user(parsed.resource_name)
    except Exception:
        return None
    if found.arn != user_arn:
        return None
    return UserFacts(str(found.arn), str(found.name), str(found.id), parsed.account)


def role(account: str, name: str) -> RoleFacts | None:
    """The role ``name`` in ``account`` (names are unique whatever the path), or ``None``."""
    try:
        found = iam(account).get_role(name)
    except Exception:
        return None
    return RoleFacts(
        arn=found.arn,
        name=found.name,
        id=found.id,
        account=account,
        trust_policy=found.assume_role_policy_document,
        max_session_duration=int(found.max_session_duration or 3600),
    )


def role_by_arn(role_arn: str) -> RoleFacts | None:
    """The role an ARN names: same account, same name, and the same path if one is given."""
    try:
        parsed = arns.parse(role_arn)
    except Exception:
        return None
    if (
        parsed.service != "iam"
        or parsed.resource_type != "role"
        or parsed.account not in iam_backends
    ):
        return None
    facts = role(parsed.account, parsed.resource_name)
    if facts is None or (parsed.path != "/" and facts.arn != role_arn):
        return None
    return facts


def _documents(entity: Any) -> Iterator[str]:
    yield from (str(doc) for doc in entity.policies.values())
    for managed in entity.managed_policies.values():
        document = _default_document(managed)
        if document is not None:
            yield document


def _default_document(managed: Any) -> str | None:
    for version in getattr(managed, "versions", []):
        if version.is_default:
            return _as_text(version.document)
    return None


def _as_text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def user_policies(account: str, name: str) -> list[str]:
    """Inline and attached policies of the user and of its groups."""
    backend = iam(account)
    user = backend.get_user(name)
    documents = list(_documents(user))
    for group in backend.get_groups_for_user(name):
        documents.extend(_documents(group))
    return documents


def role_policies(account: str, name: str) -> tuple[list[str], list[str]]:
    """Inline and attached policies of the role, and its permissions boundary (if any)."""
    backend = iam(account)
    found = backend.get_role(name)
    boundary: list[str] = []
    boundary_arn = getattr(found, "permissions_boundary_arn", None)
    if boundary_arn:
        document = managed_policy_document(account, boundary_arn)
        if document is not None:
            boundary.append(document)
    return list(_documents(found)), boundary


def managed_policy_document(account: str, policy_arn: str) -> str | None:
    try:
        managed = iam(account).get_policy(policy_arn)
    except Exception:
        return None
    return _default_document(managed)


def oidc_provider(account: str, url: str) -> Any | None:
    """The IAM OIDC provider whose URL (stored without scheme) is ``url``."""
    target = url.removeprefix("https://")
    for provider in iam(account).list_open_id_connect_providers():
        arn_text = provider if isinstance(provider, str) else provider.arn
        found = iam(account).get_open_id_connect_provider(arn_text)
        if found.url == target:
            return found
    return None


def bucket_owner(name: str, accounts: list[str]) -> str | None:
    """The account that owns bucket ``name`` (bucket names are global)."""
    for account in accounts:
        if name in s3(account).buckets:
            return account
    return None


def bucket_policy(account: str, name: str) -> str | None:
    bucket = s3(account).buckets.get(name)
    policy = getattr(bucket, "policy", None) if bucket is not None else None
    if not policy:
        return None
    return policy.decode("utf-8") if isinstance(policy, bytes) else str(policy)


def create_role(
    account: str,
    name: str,
    trust: str,
    path: str,
    max_session_duration: int,
    inline: dict[str, str],
) -> None:
    """Create a role with inline policies (world files; the API path goes through moto)."""
    backend = iam(account)
    backend.create_role(name, trust, path, None, "", [], str(max_session_duration))
    for policy_name, document in inline.items():
        backend.put_role_policy(name, policy_name, document)
