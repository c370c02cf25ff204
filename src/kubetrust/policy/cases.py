"""Batch simulation cases: one JSON object in, one JSON-ready result out.

The case shape is the stable format of ``kubetrust iam simulate`` (README):
``{"id", "request": {"principal", "action", "resource", "resourceAccount", "context"},
"identityPolicies", "permissionsBoundaries", "sessionPolicies", "resourcePolicy",
"serviceControlPolicies", "resourceControlPolicies"}``. ``resourceAccount`` null means the
account in the resource ARN if it has one, else the principal's.

A malformed case gives ``{"id", "error"}`` and never raises: a batch must go on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubetrust import errors
from kubetrust.policy import authorizer

_CASE_KEYS = frozenset(
    {
        "id",
        "request",
        "identityPolicies",
        "permissionsBoundaries",
        "sessionPolicies",
        "resourcePolicy",
        "serviceControlPolicies",
        "resourceControlPolicies",
        "resourcePolicyKind",
    }
)
_REQUEST_KEYS = frozenset({"principal", "action", "resource", "resourceAccount", "context"})


def simulate_case(case: object) -> dict[str, Any]:
    """Evaluate one case; return ``{"id", "decision", "reasons"}`` or ``{"id", "error"}``."""
    case_id = case.get("id") if isinstance(case, Mapping) else None
    try:
        request, policies = build_case(case)
        decision = authorizer.authorize(request, policies)
    except errors.KubetrustError as exc:
        return {"id": case_id, "error": str(exc)}
    result: dict[str, Any] = {
        "id": case_id,
        "decision": decision.outcome.value,
        "reasons": [reason.as_dict() for reason in decision.reasons],
    }
    if decision.problems:
        result["problems"] = list(decision.problems)
    return result


def build_case(case: object) -> tuple[authorizer.Request, authorizer.PolicySet]:
    """Turn a case object into a request and a policy set; ``KubetrustError`` if malformed."""
    if not isinstance(case, Mapping):
        raise errors.InputError("a case must be a JSON object")
    unknown = [key for key in case if key not in _CASE_KEYS]
    if unknown:
        raise errors.InputError(f"unknown case field `{unknown[0]!s:.80}`")
    raw_request = case.get("request")
    if not isinstance(raw_request, Mapping):
        raise errors.InputError("`request` must be an object")
    unknown = [key for key in raw_request if key not in _REQUEST_KEYS]
    if unknown:
        raise errors.InputError(f"unknown request field `{unknown[0]!s:.80}`")
    for required in ("principal", "action"):
        if not isinstance(raw_request.get(required), str):
            raise errors.InputError(f"`request.{required}` must be a string")
    request = authorizer.Request(
        principal=raw_request["principal"],
        action=raw_request["action"],
        resource=_optional_str(raw_request, "resource") or "*",
        context=_context(raw_request.get("context")),
        resource_account=_optional_str(raw_request, "resourceAccount"),
    )
    policies = authorizer.PolicySet(
        identity=_documents(case, "identityPolicies"),
        resource=case.get("resourcePolicy"),
        boundaries=_documents(case, "permissionsBoundaries"),
        session=_documents(case, "sessionPolicies"),
        scps=_levels(case, "serviceControlPolicies"),
        rcps=_levels(case, "resourceControlPolicies"),
        resource_kind=_optional_str(case, "resourcePolicyKind"),
    )
    return request, policies


def _optional_str(mapping: Mapping[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    if value is not None and not isinstance(value, str):
        raise errors.InputError(f"`{key}` must be a string or null")
    return value


def _context(value: object) -> Mapping[str, object] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise errors.InputError("`request.context` must be an object")
    return value


def _documents(case: Mapping[str, Any], key: str) -> list[Any]:
    value = case.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise errors.InputError(f"`{key}` must be a list of policy documents")
    return value


def _levels(case: Mapping[str, Any], key: str) -> list[Any]:
    levels = _documents(case, key)
    for number, level in enumerate(levels):
        if not isinstance(level, list):
            raise errors.InputError(f"`{key}[{number}]` must be a list of policy documents")
    return levels
