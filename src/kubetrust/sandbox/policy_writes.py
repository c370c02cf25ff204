"""What IAM and S3 check when a policy is *written*, and IAM's unique-ID binding.

moto stores policy documents nearly as given. AWS checks them when they are saved
(reference A.8, IAM UG "policy grammar"), and so does the sandbox, before moto sees them:

- the grammar, per kind (our parser: ``MalformedPolicyDocument`` with IAM's message; S3
  answers ``MalformedPolicy``) — this also guarantees that every stored document can be
  evaluated later;
- every IAM role or user named as a principal must exist: ``MalformedPolicyDocument:
  Invalid principal in policy: "AWS":"<arn>"``.

Unique-ID binding (A.8, "delete-and-recreate breaks the trust"): IAM saves a principal
role or user ARN as the entity's unique id. :class:`PrincipalBindings` remembers the id
each saved document was bound to; when a trust policy is evaluated, a principal whose
role was deleted and recreated (a new id) no longer matches — exactly as on AWS, where the
console then shows the stale ``AROA…`` id. ``aws:PrincipalArn`` conditions are ARNs, not
ids, and keep working after a recreation.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from kubetrust import arn as arns
from kubetrust import errors, policy
from kubetrust.sandbox import state, wire

_IAM_DOCUMENTS = {
    "CreateRole": ("AssumeRolePolicyDocument", policy.PolicyKind.TRUST),
    "UpdateAssumeRolePolicy": ("PolicyDocument", policy.PolicyKind.TRUST),
    "PutRolePolicy": ("PolicyDocument", policy.PolicyKind.IDENTITY),
    "PutUserPolicy": ("PolicyDocument", policy.PolicyKind.IDENTITY),
    "PutGroupPolicy": ("PolicyDocument", policy.PolicyKind.IDENTITY),
    "CreatePolicy": ("PolicyDocument", policy.PolicyKind.IDENTITY),
    "CreatePolicyVersion": ("PolicyDocument", policy.PolicyKind.IDENTITY),
}


def _malformed(service: str, message: str) -> wire.AwsError:
    code = "MalformedPolicy" if service == "s3" else "MalformedPolicyDocument"
    return wire.AwsError(code, message, 400)


def check_iam_write(name: str, form: Mapping[str, list[str]]) -> tuple[str, str] | None:
    """Refuse a malformed policy in an IAM write; return ``(role name, document)`` for a
    trust policy write (to bind its principals), ``None`` otherwise."""
    spec = _IAM_DOCUMENTS.get(name)
    if spec is None:
        return None
    field, kind = spec
    values = form.get(field)
    if not values:
        return None
    document = values[0]
    parsed = _parse(document, kind, "iam")
    _check_principals_exist(parsed, "iam")
    if kind is policy.PolicyKind.TRUST:
        return (form.get("RoleName") or [""])[0], document
    return None


def check_bucket_policy(body: bytes) -> None:
    """The same checks for an S3 bucket policy (``PutBucketPolicy``)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed("s3", "This policy contains invalid Json") from None
    parsed = _parse(text, policy.PolicyKind.RESOURCE, "s3")
    _check_principals_exist(parsed, "s3")


def _parse(document: str, kind: policy.PolicyKind, service: str) -> policy.PolicyDocument:
    try:
        return policy.parse_policy(document, kind)
    except errors.PolicyParseError as exc:
        raise _malformed(service, exc.aws_message) from None


def _named_entities(parsed: policy.PolicyDocument) -> list[str]:
    names: list[str] = []
    for statement in parsed.statements:
        block = statement.principal or statement.not_principal
        if block is not None:
            names.extend(e for e in block.aws if e.startswith("arn:"))
    return names


def _check_principals_exist(parsed: policy.PolicyDocument, service: str) -> None:
    for entry in _named_entities(parsed):
        if _unique_id(entry) is None and _is_entity(entry):
            raise _malformed(service, f'Invalid principal in policy: "AWS":"{entry}"')


def _is_entity(entry: str) -> bool:
    return arns.parse(entry).resource_type in ("role", "user") and ":iam::" in entry


def _unique_id(entry: str) -> str | None:
    """The current unique id of the role or user an ARN names, if it exists."""
    parsed = arns.parse(entry)
    if parsed.service != "iam" or parsed.resource_type not in ("role", "user"):
        return None
    if parsed.resource_type == "role":
        facts = state.role_by_arn(entry)
        return facts.id if facts else None
    try:
        return str(state.iam(parsed.account).get_user(parsed.resource_name).id)
    except Exception:
        return None


class PrincipalBindings:
    """The unique ids each trust policy's principals were bound to when it was saved."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bound: dict[str, dict[str, str]] = {}

    def record(self, account: str, role_name: str, document: str) -> None:
        parsed = policy.parse_policy(document, policy.PolicyKind.TRUST)
        ids = {entry: _unique_id(entry) for entry in _named_entities(parsed)}
        with self._lock:
            self._bound[f"{account}/{role_name}"] = {k: v for k, v in ids.items() if v}

    def effective(self, account: str, role_name: str, document: str) -> str:
        """``document`` with every principal whose entity changed id replaced by the id it
        was saved with (which matches no caller any more)."""
        with self._lock:
            bound = dict(self._bound.get(f"{account}/{role_name}", {}))
        stale = {entry: saved for entry, saved in bound.items() if _unique_id(entry) != saved}
        if not stale:
            return document
        raw = json.loads(document)
        for statement in _statements(raw):
            for element in ("Principal", "NotPrincipal"):
                block = statement.get(element)
                if isinstance(block, dict) and "AWS" in block:
                    block["AWS"] = _replace(block["AWS"], stale)
        return json.dumps(raw)


def _statements(raw: Any) -> list[dict[str, Any]]:
    items = raw.get("Statement", []) if isinstance(raw, dict) else []
    items = [items] if isinstance(items, dict) else items
    return [s for s in items if isinstance(s, dict)]


def _replace(value: Any, stale: Mapping[str, str]) -> Any:
    """Stand-in for a stale principal: its old unique id, as a role-session ARN nobody can
    hold (an ``AROA…`` id alone is not an ARN our grammar accepts)."""

    def swap(entry: Any) -> Any:
        if isinstance(entry, str) and entry in stale:
            account = arns.parse(entry).account
            return f"arn:aws:sts::{account}:assumed-role/{stale[entry]}/deleted-principal"
        return entry

    if isinstance(value, list):
        return [swap(v) for v in value]
    return swap(value)
