"""Policy statements a module writes in ``dynamic "statement"`` blocks from its inputs.

terraform-aws-modules build policies from a list input — eks-pod-identity's and
iam-role-for-service-accounts' ``policy_statements``, the iam modules' ``*_statements`` —
expanded by ``dynamic "statement" { for_each = var.policy_statements ... }`` in a
``data.aws_iam_policy_document``. The plan's configuration does not show what a
``dynamic`` block writes, so an unknown value in such a statement (``resources =
[aws_iam_role.target.arn]`` in the caller) has no reference of its own to follow.

What the plan does show: the module call's input expression with its references, in the
order written, and the statements as lists in the same order (a ``dynamic`` block keeps the
input's order). So the unknown parts of the rebuilt document (its placeholders with no
configuration of their own, in document order) are matched one for one with the unknown
resource attributes the statements input references (an input named ``*statements`` or
``*permissions``, else every input). When the counts differ — a reference used twice, a
value from a ``local`` or from inside the module — nothing is matched (one candidate for
every part excepted): the parts stay *known after apply* and a warning says so, since
pairing them by guess could make a denial look allowed (reference I.1).

Pure.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kubetrust.iac.symbolic import has_placeholder
from kubetrust.iac.terraform_plan import PlanResource
from kubetrust.iac.terraform_refs import Resolver, parse_path

__all__ = ["STATEMENT_INPUTS", "fill_dynamic_parts"]

STATEMENT_INPUTS = ("statements", "permissions")
"""How the modules name the input their ``dynamic "statement"`` iterates over."""


def fill_dynamic_parts(resolver: Resolver, resource: PlanResource, document: Any) -> Any:
    """``document`` with the dynamic statements' unknown parts taken from the module's
    inputs (module doc); unchanged outside modules or when nothing can be matched."""
    if not resource.module:
        return document
    slots = list(dict.fromkeys(_dynamic_slots(resolver, resource, document)))
    if not slots:
        return document
    values = resolver.unknown_inputs(resource.module, STATEMENT_INPUTS)
    if len(values) == 1:
        values = values * len(slots)
    if len(values) != len(slots):
        resolver.warnings.append(
            f"{resolver.plan.file}: {resource.address}: {len(slots)} value(s) of statements "
            f"written in a `dynamic` block are known only after apply and the module call "
            f"passes {len(values)} such value(s): not paired, left known after apply"
        )
        return document
    return _replaced(document, dict(zip(slots, values, strict=True)))


def _dynamic_slots(resolver: Resolver, resource: PlanResource, node: Any) -> Iterator[str]:
    """The placeholders of ``node`` standing for a part of one of the resource's statements
    that its configuration does not write (a ``dynamic`` block's), in document order."""
    if isinstance(node, dict):
        for value in node.values():
            yield from _dynamic_slots(resolver, resource, value)
    elif isinstance(node, list):
        for value in node:
            yield from _dynamic_slots(resolver, resource, value)
    elif isinstance(node, str) and has_placeholder(node):
        origin = resolver.unknowns.as_mapping().get(node, "")
        prefix = f"{resource.address}.statement["
        if origin.startswith(prefix):
            path = parse_path(origin[len(resource.address) + 1 :])
            if not resolver.configured(resource, path):
                yield node


def _replaced(node: Any, values: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {key: _replaced(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_replaced(value, values) for value in node]
    if isinstance(node, str):
        return values.get(node, node)
    return node
