"""Policy documents in a plan: JSON strings, or ``aws_iam_policy_document`` rebuilt.

A policy arrives as a JSON string (``jsonencode``, a heredoc, a rendered
``aws_iam_policy_document``). When the policy depends on a value known only after apply,
Terraform cannot render it and the string is unknown; but a deferred
``data.aws_iam_policy_document`` still shows its arguments (statements, principals,
conditions) with only the unknown parts missing, so the document is rebuilt from them, each
unknown part followed like any value (reference I.1). Two parts are shaped by where they
stand: a condition key following to an issuer or OIDC provider becomes
``<issuer host/path>:sub`` or ``:aud`` — by what it compares, ``system:serviceaccount:``
subjects or audiences — and a ``Federated`` principal following to an issuer becomes the
account's OIDC provider ARN for it (reference B.3). Pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kubetrust import errors
from kubetrust.iac.symbolic import has_placeholder
from kubetrust.iac.terraform_dynamic import fill_dynamic_parts
from kubetrust.iac.terraform_plan import PlanResource
from kubetrust.iac.terraform_refs import Path, Resolver, dig

__all__ = ["decode_policy", "rebuild_document"]

VERSION = "2012-10-17"


def decode_policy(text: object) -> Mapping[str, Any] | None:
    """A JSON policy string as a mapping; ``None`` when it is not one."""
    if isinstance(text, Mapping):
        return text
    if not isinstance(text, str):
        return None
    try:
        decoded = errors.decode_json(text)
    except ValueError:
        return None
    return decoded if isinstance(decoded, Mapping) else None


def rebuild_document(resolver: Resolver, resource: PlanResource) -> str | None:
    """The JSON of a ``data.aws_iam_policy_document`` from its arguments (module doc)."""
    known = resolver.known(resource, ("json",))
    if isinstance(known, str):
        return known
    for merged in ("source_policy_documents", "override_policy_documents", "source_json"):
        if dig(resource.values, (merged,)) or resolver.is_unknown(resource, (merged,)):
            resolver.warnings.append(
                f"{resource.address}: `{merged}` is not merged while the document is "
                "known only after apply; the statements given directly are read"
            )
    statements = dig(resource.values, ("statement",))
    if not isinstance(statements, list):
        return None
    document = {
        "Version": resolver.known(resource, ("version",)) or VERSION,
        "Statement": [_statement(resolver, resource, index) for index in range(len(statements))],
    }
    return json.dumps(fill_dynamic_parts(resolver, resource, document))


def _statement(resolver: Resolver, resource: PlanResource, index: int) -> dict[str, Any]:
    base: Path = ("statement", index)
    out: dict[str, Any] = {"Effect": resolver.known(resource, (*base, "effect")) or "Allow"}
    sid = resolver.known(resource, (*base, "sid"))
    if sid:
        out["Sid"] = sid
    for field, name in (
        ("actions", "Action"),
        ("not_actions", "NotAction"),
        ("resources", "Resource"),
        ("not_resources", "NotResource"),
    ):
        values = resolver.strings(resource, (*base, field))
        if values:
            out[name] = values
    for field, name in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
        principals = _principals(resolver, resource, (*base, field))
        if principals:
            out[name] = principals
    federated = out.get("Principal", {}).get("Federated", []) if "Principal" in out else []
    conditions = _conditions(resolver, resource, base, federated)
    if conditions:
        out["Condition"] = conditions
    return out


def _principals(resolver: Resolver, resource: PlanResource, path: Path) -> Any:
    blocks = dig(resource.values, path)
    found: dict[str, list[str]] = {}
    for index in range(len(blocks) if isinstance(blocks, list) else 0):
        kind = resolver.known(resource, (*path, index, "type"))
        identifiers = resolver.strings(resource, (*path, index, "identifiers"))
        if kind == "Federated":
            account = resolver.placement.account(resource)
            identifiers = [
                _provider_arn(_module_provider(resolver, resource, value), account)
                for value in identifiers
            ]
        if isinstance(kind, str):
            found.setdefault(kind, []).extend(identifiers)
    if found.get("*") == ["*"] and len(found) == 1:
        return "*"
    return found


def _module_provider(resolver: Resolver, resource: PlanResource, value: str) -> str:
    """A ``Federated`` principal the configuration does not show (written in a ``dynamic``
    block, as terraform-aws-modules' IRSA role does) inside a module: the one OIDC
    provider or issuer the module is given, when it is given exactly one."""
    if not has_placeholder(value) or value.startswith("arn:"):
        return value
    given = [v for v in resolver.module_inputs(resource.module) if _issuer_host(v)]
    return str(given[0]) if len(given) == 1 else value


def _provider_arn(value: str, account: str) -> str:
    """A Federated principal written as the issuer: the OIDC provider ARN for it."""
    if value.startswith("arn:"):
        return value
    host = value.removeprefix("https://")
    return f"arn:aws:iam::{account}:oidc-provider/{host}" if "/id/" in host else value


def _conditions(
    resolver: Resolver, resource: PlanResource, base: Path, federated: object
) -> dict[str, Any]:
    blocks = dig(resource.values, (*base, "condition"))
    found: dict[str, dict[str, Any]] = {}
    for index in range(len(blocks) if isinstance(blocks, list) else 0):
        path = (*base, "condition", index)
        test = resolver.known(resource, (*path, "test"))
        values = resolver.strings(resource, (*path, "values"))
        variable = resolver.known(resource, (*path, "variable"))
        if not isinstance(variable, str):
            variable = _condition_key(resolver, resource, (*path, "variable"), values, federated)
        if isinstance(test, str) and isinstance(variable, str):
            found.setdefault(test, {})[variable] = values[0] if len(values) == 1 else values
    return found


def _condition_key(
    resolver: Resolver, resource: PlanResource, path: Path, values: list[str], federated: object
) -> str:
    """An unknown condition key that follows to an issuer or OIDC provider (module doc).
    One whose configuration the plan does not show (a ``dynamic`` block) is the key of the
    statement's own ``Federated`` provider, when it has one: a web identity token carries
    only the keys of the provider it is exchanged with (reference B.3)."""
    refs = resolver.references(resource, path)
    followed = resolver.follow(resource.module, refs)
    host = _issuer_host(followed)
    providers = federated if isinstance(federated, list) else [federated]
    if host is None and not refs and len(providers) == 1:
        host = _issuer_host(providers[0])
    if host is None:
        return resolver.placeholder(resource, path)
    if values and all(v.startswith("system:serviceaccount:") for v in values):
        return f"{host}:sub"
    if values and not any(v.startswith("system:") for v in values):
        return f"{host}:aud"
    return resolver.placeholder(resource, path)


def _issuer_host(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    if value.startswith("arn:") and ":oidc-provider/" in value:
        return value.split(":oidc-provider/", 1)[1]
    host = value.removeprefix("https://")
    return host if "/id/" in host or host.startswith("oidc.") else None
