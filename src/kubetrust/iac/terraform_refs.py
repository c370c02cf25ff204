"""Attribute values of planned resources, following references for what is unknown.

A value the plan knows is taken as is. A value known only after apply is followed through
the configuration's ``references`` (reference I.1): to another resource's attribute, a
module's output, a module's input variable, a data source; when the references lead to one
value, that value it is (an OIDC provider's ``url`` written as
``aws_eks_cluster.ci.identity[0].oidc[0].issuer`` is the cluster's issuer — and both carry
the same placeholder while it is unknown). Values AWS derives from known parts are derived
(a role's ARN from its account, path and name). Anything else — a ``local``, a function of
several unknowns — becomes a placeholder of its own (:mod:`kubetrust.iac.symbolic`).

Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from kubetrust.iac.symbolic import Unknowns
from kubetrust.iac.terraform_accounts import Placement
from kubetrust.iac.terraform_plan import (
    PlanDocument,
    PlanResource,
    items,
    module_path,
    split_address,
)

__all__ = ["Path", "Resolver", "most_specific", "parse_path", "render_path"]

Path = tuple[str | int, ...]
_STEP = re.compile(r"\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[\"([^\"]*)\"\]")
_UNFOLLOWED = ("local.", "each.", "count.", "path.", "terraform.", "self.")


def parse_path(text: str) -> Path:
    """``identity[0].oidc[0].issuer`` → ``("identity", 0, "oidc", 0, "issuer")``."""
    steps: list[str | int] = []
    for name, number, key in _STEP.findall(text):
        steps.append(name or (int(number) if number else key))
    return tuple(steps)


def render_path(path: Path) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}"
    return text.lstrip(".")


def dig(node: object, path: Path) -> object:
    for step in path:
        if isinstance(step, int) and isinstance(node, list) and step < len(node):
            node = node[step]
        elif isinstance(step, str) and isinstance(node, Mapping):
            node = node.get(step)
        else:
            return None
    return node


def _expression(expressions: object, path: Path) -> Mapping[str, Any] | None:
    """The configuration expression at ``path``, or the one enclosing it (an element of a
    map or list written as one expression: ``annotations = {...}``)."""
    node = expressions
    for step in path:
        if isinstance(node, Mapping) and ("references" in node or "constant_value" in node):
            return node
        node = dig(node, (step,))
    return node if isinstance(node, Mapping) and "references" in node else None


def _unknown(tree: object, path: Path) -> bool:
    """Whether ``path`` (or a part of it) is marked unknown in ``after_unknown``."""
    node = tree
    for step in path:
        if node is True:
            return True
        node = dig(node, (step,))
    return node is True


class Resolver:
    """Values of one plan's resources (module doc)."""

    def __init__(self, plan: PlanDocument, placement: Placement, unknowns: Unknowns) -> None:
        self.plan = plan
        self.placement = placement
        self.unknowns = unknowns
        self.warnings: list[str] = []
        self._active: set[tuple[str, Path]] = set()
        self.policy_document: Callable[[PlanResource], str | None] = lambda _r: None
        """Set by the reader: ``data.aws_iam_policy_document``'s JSON rebuilt from its
        arguments when the plan defers the data source to apply."""

    # ------------------------------------------------------------------ values
    def is_unknown(self, resource: PlanResource, path: Path) -> bool:
        return _unknown(resource.unknown, path)

    def known(self, resource: PlanResource, path: Path) -> Any:
        """The value the plan knows at ``path``, else ``None``."""
        return None if self.is_unknown(resource, path) else dig(resource.values, path)

    def value(self, resource: PlanResource, path: Path) -> Any:
        """The value at ``path``: known, followed, derived, or a placeholder (module doc).
        ``None`` when the attribute is simply absent (not set, not unknown)."""
        if not self.is_unknown(resource, path):
            return dig(resource.values, path)
        key = (resource.address, path)
        if key in self._active:
            return self.placeholder(resource, path)
        self._active.add(key)
        try:
            refs = self.references(resource, path)
            if refs and all(r.startswith("each.value") for r in refs):
                followed = self._each_value(resource, refs)
            else:
                followed = self.follow(resource.module, refs)
            if followed is not None:
                return followed
            derived = self.derived(resource, path)
            return derived if derived is not None else self.placeholder(resource, path)
        finally:
            self._active.discard(key)

    def text(self, resource: PlanResource, path: Path) -> str | None:
        found = self.value(resource, path)
        return found if isinstance(found, str) else None

    def strings(self, resource: PlanResource, path: Path) -> list[str]:
        """A list of strings (each element followed when unknown); a list unknown as a
        whole but following to one string is that string."""
        if self.is_unknown(resource, path):
            found = self.value(resource, path)
            return [found] if isinstance(found, str) else []
        items = dig(resource.values, path)
        if isinstance(items, str):
            return [items]
        if not isinstance(items, list):
            return []
        found_items = (self.value(resource, (*path, i)) for i in range(len(items)))
        return [item for item in found_items if isinstance(item, str)]

    def placeholder(self, resource: PlanResource, path: Path) -> str:
        return self.unknowns.text(f"{resource.address}.{render_path(path)}")

    # ------------------------------------------------------------------ references
    def references(self, resource: PlanResource, path: Path) -> list[str]:
        """The references of the configuration expression at ``path`` (most specific
        only: Terraform lists a traversal and each of its prefixes). An element of a list
        written as one expression of as many references as the list has elements
        (``[module.a.arn, module.b.arn]``) has the reference in its place: Terraform lists
        references in the order they are written."""
        expressions = self.plan.config_of(resource).get("expressions") or {}
        expression = _expression(expressions, path)
        if expression is None:
            return []
        refs = most_specific(expression)
        if len(refs) > 1 and path and isinstance(path[-1], int):
            items = dig(resource.values, path[:-1])
            enclosing = _expression(expressions, path[:-1])
            if enclosing is expression and isinstance(items, list) and len(items) == len(refs):
                return [refs[path[-1]]]
        return refs

    def _each_value(self, resource: PlanResource, refs: list[str]) -> Any:
        """``each.value`` (or ``each.value.NAME``): followed through the resource's
        ``for_each`` expression when that leads to one string, or to a map holding the
        instance's key."""
        expression = self.plan.config_of(resource).get("for_each_expression")
        if not isinstance(expression, Mapping):
            return None
        key = _instance_key(resource.address)
        found: list[Any] = []
        for source in most_specific(expression):
            value = self.resolve(resource.module, source)
            if isinstance(value, Mapping) and key in value:
                attribute = parse_path(refs[0].removeprefix("each.value"))
                value = dig(value[key], attribute)
            if isinstance(value, str) and value not in found:
                found.append(value)
        return found[0] if len(found) == 1 else None

    def module_inputs(self, module: str) -> list[Any]:
        """The values the call of module instance ``module`` passes it (each reference of
        each input followed in the caller): what a value inside the module that its
        configuration does not show (a ``dynamic`` block) can only come from."""
        if not module:
            return []
        call = self.plan.module_call(module_path(module)) or {}
        found: list[Any] = []
        for expression in (call.get("expressions") or {}).values():
            if isinstance(expression, Mapping):
                for source in most_specific(expression):
                    value = self.resolve(_parent(module), source)
                    if value is not None and value not in found:
                        found.append(value)
        return found

    def unknown_inputs(self, module: str, names: tuple[str, ...]) -> list[str]:
        """The values the call of module instance ``module`` passes through the inputs
        named ``names`` (all inputs when none is) that the plan knows only after apply:
        each resource attribute reference, in the order written (Terraform lists
        references so), followed or derived (a role's ARN) or a placeholder."""
        if not module:
            return []
        call = self.plan.module_call(module_path(module)) or {}
        expressions = call.get("expressions") or {}
        if not isinstance(expressions, Mapping):
            return []
        chosen = [k for k in expressions if str(k).endswith(names)] or list(expressions)
        found: list[str] = []
        for name in chosen:
            expression = expressions[name]
            for ref in most_specific(expression) if isinstance(expression, Mapping) else []:
                if ref.startswith(("var.", "local.", "module.", "each.", "count.")):
                    continue
                target, path = self.target(_parent(module), ref)
                if target is None or not path or not self.is_unknown(target, path):
                    continue
                value = self.value(target, path)
                if isinstance(value, str):
                    found.append(value)
        return found

    def configured(self, resource: PlanResource, path: Path) -> bool:
        """Whether the configuration sets ``path`` (an unknown attribute it does not set
        is computed by AWS: its default, not a value of the configuration)."""
        expressions = self.plan.config_of(resource).get("expressions") or {}
        return _expression(expressions, path) is not None or isinstance(
            dig(expressions, path), Mapping
        )

    def follow(self, module: str, refs: list[str]) -> Any:
        """The one value ``refs`` (in module instance ``module``) lead to; ``None`` when
        they lead nowhere or to several values (a function of them: not followed)."""
        found = []
        for ref in refs:
            value = self.resolve(module, ref)
            if value is not None and value not in found:
                found.append(value)
        return found[0] if len(found) == 1 else None

    def resolve(self, module: str, ref: str) -> Any:
        """One reference's value, or ``None`` when it cannot be followed."""
        if ref.startswith(_UNFOLLOWED):
            return None
        if ref.startswith("var."):
            return self._variable(module, parse_path(ref.removeprefix("var.")))
        if ref.startswith("module."):
            return self._output(module, parse_path(ref))
        target, path = self.target(module, ref)
        if target is None:
            return None
        return self.value(target, path) if path else None

    def target(self, module: str, ref: str) -> tuple[PlanResource | None, Path]:
        """The resource a reference names and the attribute path inside it."""
        steps = parse_path(ref)
        head = 3 if steps and steps[0] == "data" else 2
        if len(steps) < head:
            return None, ()
        relative = ".".join(str(s) for s in steps[:head])
        path = steps[head:]
        if path and isinstance(path[0], int):
            relative, path = f"{relative}[{path[0]}]", path[1:]
        elif path and isinstance(path[0], str) and ref.find(f'["{path[0]}"]') > 0:
            relative, path = f'{relative}["{path[0]}"]', path[1:]
        return self.plan.find(module, relative), path

    def _variable(self, module: str, path: Path) -> Any:
        if not module:
            variables = self.plan.data.get("variables")
            found = dig(variables, (path[0], "value")) if path else None
            return dig(found, path[1:]) if found is not None else None
        call = self.plan.module_call(module_path(module)) or {}
        expression = dig(call.get("expressions") or {}, path[:1])
        if not isinstance(expression, Mapping):
            return None
        if "constant_value" in expression:
            return dig(expression["constant_value"], path[1:])
        refs = [r for r in items(expression.get("references")) if isinstance(r, str)]
        refs = [r for r in refs if not any(o != r and o.startswith(r) for o in refs)]
        return self.follow(_parent(module), refs) if len(path) == 1 else None

    def _output(self, module: str, steps: Path) -> Any:
        if len(steps) < 3:
            return None
        name = str(steps[1])
        child_path = f"{module_path(module)}.module.{name}".lstrip(".")
        config = self.plan.module_config(child_path) or {}
        expression = dig(config.get("outputs") or {}, (str(steps[2]), "expression"))
        if not isinstance(expression, Mapping):
            return None
        if "constant_value" in expression:
            return expression["constant_value"]
        refs = [r for r in items(expression.get("references")) if isinstance(r, str)]
        refs = [r for r in refs if not any(o != r and o.startswith(r) for o in refs)]
        instance = f"{module}.module.{name}" if module else f"module.{name}"
        return self.follow(instance, refs)

    # ------------------------------------------------------------------ derived
    def derived(self, resource: PlanResource, path: Path) -> Any:
        """What AWS derives from the resource's known parts (module doc)."""
        attribute = render_path(path)
        kind = resource.type if resource.mode == "managed" else f"data.{resource.type}"
        if kind == "data.aws_iam_policy_document" and attribute == "json":
            return self.policy_document(resource)
        if kind == "data.aws_caller_identity" and attribute == "account_id":
            return self.placement.account(resource)
        builder = _DERIVED.get((kind, attribute))
        return builder(self, resource) if builder is not None else None

    def partition(self, resource: PlanResource) -> str:
        region = self.placement.region(resource) or ""
        if region.startswith("cn-"):
            return "aws-cn"
        return "aws-us-gov" if region.startswith("us-gov-") else "aws"

    def iam_arn(self, resource: PlanResource, kind: str) -> str | None:
        name = self.text(resource, ("name",))
        if name is None:
            return None
        path = self.known(resource, ("path",)) or "/"
        account = self.placement.account(resource)
        return f"arn:{self.partition(resource)}:iam::{account}:{kind}{path}{name}"

    def issuer(self, resource: PlanResource) -> str:
        region = self.placement.region(resource) or "us-east-1"
        origin = f"{resource.address}.identity[0].oidc[0].issuer"
        return self.unknowns.issuer(origin, region)

    def cluster_arn(self, resource: PlanResource) -> str | None:
        name = self.text(resource, ("name",))
        if name is None:
            return None
        region = self.placement.require_region(resource)
        account = self.placement.account(resource)
        return f"arn:{self.partition(resource)}:eks:{region}:{account}:cluster/{name}"

    def provider_arn(self, resource: PlanResource) -> str | None:
        url = self.text(resource, ("url",))
        if url is None:
            return None
        account = self.placement.account(resource)
        host = url.removeprefix("https://")
        return f"arn:{self.partition(resource)}:iam::{account}:oidc-provider/{host}"


def most_specific(expression: Mapping[str, Any]) -> list[str]:
    """An expression's references without the prefixes Terraform lists with each."""
    refs = [r for r in items(expression.get("references")) if isinstance(r, str)]
    return [r for r in refs if not any(o != r and o.startswith(r) for o in refs)]


def _instance_key(address: str) -> str | None:
    """``aws_x.y["key"]`` → ``key`` (a ``for_each`` instance's key)."""
    if not address.endswith('"]'):
        return None
    return address[address.rfind('["') + 2 : -2]


def _parent(module: str) -> str:
    """The module instance that calls ``module``."""
    parent, _relative = split_address(module + ".x.y")
    segments = parent.rsplit(".module.", 1)
    return segments[0] if len(segments) == 2 else ""


_DERIVED: dict[tuple[str, str], Callable[[Resolver, PlanResource], Any]] = {
    ("aws_iam_role", "arn"): lambda r, res: r.iam_arn(res, "role"),
    ("aws_iam_role", "id"): lambda r, res: r.text(res, ("name",)),
    ("aws_iam_policy", "arn"): lambda r, res: r.iam_arn(res, "policy"),
    ("aws_iam_policy", "id"): lambda r, res: r.iam_arn(res, "policy"),
    ("aws_iam_openid_connect_provider", "arn"): Resolver.provider_arn,
    ("aws_iam_openid_connect_provider", "id"): Resolver.provider_arn,
    ("aws_eks_cluster", "arn"): Resolver.cluster_arn,
    ("aws_eks_cluster", "id"): lambda r, res: r.text(res, ("name",)),
    ("aws_eks_cluster", "identity[0].oidc[0].issuer"): Resolver.issuer,
}
