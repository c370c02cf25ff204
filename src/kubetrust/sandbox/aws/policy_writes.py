"""What IAM and S3 check when a policy is *written*, and IAM's unique-ID binding.

moto stores policy documents nearly as given. AWS checks them when they are saved
(reference A.8, IAM UG "policy grammar"), and so does the sandbox, before moto sees them:

- the grammar, per kind (our parser: ``MalformedPolicyDocument`` with IAM's message; S3
  answers ``MalformedPolicy``) — this also guarantees that every stored document can be
  evaluated later;
- every IAM role or user named as a principal must exist: ``MalformedPolicyDocument:
  Invalid principal in policy: "AWS":"<arn>"``.

Unique-ID binding (A.8, "delete-and-recreate breaks the trust"): IAM saves a principal
role or user ARN as the entity's unique id, and so does S3 for a bucket policy. A
:class:`PrincipalBindings` (one per sandbox, made by its server) remembers the id each
stored trust and bucket policy was bound to, and gives the document as AWS holds it: a
principal whose entity was deleted (and perhaps recreated: a new id) is its stale
``AROA…``/``AIDA…`` id, which no caller matches. Enforcement (trusts in
:mod:`~kubetrust.sandbox.aws.services.sts.api`, bucket policies in
:mod:`~kubetrust.sandbox.aws.authorize`) and every read that returns the document
(:mod:`~kubetrust.sandbox.aws.services.iam.reads`) use that one object, so ``explain`` on
a sandbox export sees what the sandbox enforces. ``aws:PrincipalArn`` conditions are
ARNs, not ids, and keep working after a recreation.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from kubetrust import arn as arns
from kubetrust import errors, policy
from kubetrust.policy import principals
from kubetrust.sandbox.aws import state, wire
from kubetrust.sandbox.aws.services.iam import conflicts

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


def check_iam_write(
    name: str, form: Mapping[str, list[str]], account: str = ""
) -> tuple[str, str] | None:
    """Refuse an IAM write that IAM refuses before it changes anything — a malformed policy,
    or the deletion of an entity of ``account`` that still holds something
    (:mod:`conflicts`); return ``(role name, document)`` for a trust policy write (to
    bind its principals), ``None`` otherwise."""
    if account:
        conflicts.check_delete(name, form, account)
        conflicts.check_name_taken(name, form, account)
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
    for statement in parsed.statements:
        block = statement.principal or statement.not_principal
        for entry in block.aws if block is not None else ():
            # The grammar reads unique ids (IAM shows them for deleted principals, A.8); IAM
            # refuses to save one ("Invalid principal in policy", the re:Post article on that
            # error). [uncertain] whether it accepts a live principal's id; refused here too.
            if principals.unique_id_kind(entry) is not None:
                raise _malformed(service, f'Invalid principal in policy: "AWS":"{entry}"')
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


# --------------------------------------------------------------------------- unique-id binding


class PrincipalBindings:
    """The unique ids one sandbox's stored trust and bucket policies were bound to (module
    doc). The server makes one and hands it to STS, which holds it for the gate (trust
    writes, bucket-policy authorization and reads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bound: dict[str, dict[str, str]] = {}

    # ------------------------------------------------------------------ trust policies
    def record(self, account: str, role_name: str, document: str) -> None:
        """Bind a trust policy's principals once IAM stored it."""
        self._bind(_trust_key(account, role_name), document, policy.PolicyKind.TRUST)

    def effective(self, account: str, role_name: str, document: str) -> str:
        """The role's trust policy as IAM holds it (:meth:`effective_document`)."""
        return self.effective_document(_trust_key(account, role_name), document)

    # ------------------------------------------------------------------ bucket policies
    def bind_bucket_policy(self, account: str, bucket: str, document: str) -> None:
        """S3 binds a bucket policy's role and user principals as IAM binds a trust's (the
        re:Post articles on unknown principals in resource policies and on a recreated
        user losing bucket access): called once ``PutBucketPolicy`` is stored."""
        self._bind(_bucket_key(account, bucket), document, policy.PolicyKind.RESOURCE)

    def effective_bucket_policy(self, account: str, bucket: str, document: str) -> str:
        """The bucket policy ``document`` as S3 holds it (:meth:`effective_document`)."""
        return self.effective_document(_bucket_key(account, bucket), document)

    def bucket_policy(self, account: str, bucket: str) -> str | None:
        """The bucket's stored policy as S3 holds it, or ``None`` (enforcement reads this)."""
        document = state.bucket_policy(account, bucket)
        if document is None:
            return None
        return self.effective_bucket_policy(account, bucket, document)

    # ------------------------------------------------------------------ the one decision
    def effective_document(self, key: str, document: str) -> str:
        """``document`` as IAM holds it now: the one decision of what a stored trust or
        bucket policy names, used by enforcement and by every read that returns it.

        IAM keeps a principal role or user as the unique id it had when the document was
        saved and shows it back as that entity's *current* ARN (reference A.8). So an entry
        whose entity was deleted (or deleted and created again: another id) becomes the
        stale id — which no caller matches and which IAM returns in place of the ARN — and
        an entry whose user was renamed or moved (``UpdateUser``: same id) becomes the new
        ARN. A document whose entries all still name their saved entity is returned
        unchanged."""
        with self._lock:
            bound = dict(self._bound.get(key, {}))
        swaps = {entry: _shown_as(entry, saved) for entry, saved in bound.items()}
        swaps = {entry: shown for entry, shown in swaps.items() if shown != entry}
        if not swaps:
            return document
        try:
            raw = json.loads(document)
        except ValueError:  # INVARIANT: bound documents passed the grammar when saved
            return document
        for statement in _statements(raw):
            for element in ("Principal", "NotPrincipal"):
                block = statement.get(element)
                if isinstance(block, dict) and "AWS" in block:
                    block["AWS"] = _replace(block["AWS"], swaps)
        return json.dumps(raw)

    def _bind(self, key: str, document: str, kind: policy.PolicyKind) -> None:
        """Remember the unique id of every role or user ``document`` names, as IAM does
        when it saves the document (called once the document is stored)."""
        parsed = policy.parse_policy(document, kind)
        ids = {entry: _unique_id(entry) for entry in _named_entities(parsed)}
        with self._lock:
            self._bound[key] = {k: v for k, v in ids.items() if v}


def _trust_key(account: str, role_name: str) -> str:
    return f"trust {account}/{role_name}"


def _bucket_key(account: str, bucket: str) -> str:
    return f"bucket {account}/{bucket}"


def _shown_as(entry: str, saved_id: str) -> str:
    """How IAM shows a principal saved as ``entry`` bound to ``saved_id``."""
    if _unique_id(entry) == saved_id:
        return entry
    parsed = arns.parse(entry)
    if parsed.resource_type == "role":
        role_now = state.role_by_id(parsed.account, saved_id)
        return role_now.arn if role_now is not None else saved_id
    user_now = state.user_by_id(parsed.account, saved_id)
    return user_now.arn if user_now is not None else saved_id


def _statements(raw: Any) -> list[dict[str, Any]]:
    items = raw.get("Statement", []) if isinstance(raw, dict) else []
    items = [items] if isinstance(items, dict) else items
    return [s for s in items if isinstance(s, dict)]


def _replace(value: Any, swaps: Mapping[str, str]) -> Any:
    if isinstance(value, list):
        return [swaps.get(v, v) if isinstance(v, str) else v for v in value]
    return swaps.get(value, value) if isinstance(value, str) else value
