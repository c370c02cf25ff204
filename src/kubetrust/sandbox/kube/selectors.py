"""Kubernetes label selectors (``a=b``, ``a!=b``, ``a in (x,y)``, ``a notin (x)``, ``a``, ``!a``).

kubectl sends them verbatim in ``?labelSelector=``; a selector that does not parse is a
400 for the API server, so :func:`parse` raises ``ValueError`` with the apiserver's wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from kubetrust.chain import rbac

Requirement = Callable[[Mapping[str, str]], bool]

_SET = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s+(in|notin)\s*\(([^)]*)\)\s*$")
_EQ = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*$")


def _split(text: str) -> list[str]:
    """Split on commas that are not inside ``( )``."""
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part for part in parts if part.strip()]


def _requirement(term: str) -> Requirement:
    match = _SET.match(term)
    if match and not match.group(1):
        key, operator = match.group(2), match.group(3)
        values = {value.strip() for value in match.group(4).split(",") if value.strip()}
        if operator == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    match = _EQ.match(term)
    if match:
        key, operator, value = match.groups()
        if operator == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    match = _EXISTS.match(term)
    if match:
        negated, key = match.groups()
        if negated:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise ValueError(f"unable to parse requirement: {term.strip()!r}")


def parse(selector: str | None) -> Requirement:
    """A predicate over a label map; an empty selector matches everything."""
    requirements = [_requirement(term) for term in _split(selector or "")]
    return lambda labels: all(requirement(labels) for requirement in requirements)


def parse_fields(selector: str | None) -> Callable[[Mapping[str, object]], bool]:
    """``?fieldSelector=`` on a dotted field path: ``metadata.name`` (what kubectl sends for
    ``get <name> --watch``), a pod's ``spec.nodeName`` and ``status.phase`` (``kubectl
    describe node``), an event's ``involvedObject.*``; a missing field is ``""``. Parsed by
    :func:`kubetrust.chain.rbac.parse_field_selector`, the parser that also decides which
    name a list or watch is authorized for: what is filtered is what was authorized."""
    terms = [
        (field, operator != "!=", value)
        for field, operator, value in rbac.parse_field_selector(selector or "")
    ]

    def matches(obj: Mapping[str, object]) -> bool:
        for field, equal, value in terms:
            actual: object = obj
            for part in field.split("."):
                actual = actual.get(part) if isinstance(actual, Mapping) else None
            if (str(actual or "") == value) != equal:
                return False
        return True

    return matches


def format_selector(selector: Mapping[str, object]) -> str:
    """A ``LabelSelector`` object in the string form above (``metav1.FormatLabelSelector``):
    what a Scale's ``status.selector`` and the wide Tables show."""
    labels = selector.get("matchLabels")
    terms = [f"{k}={v}" for k, v in sorted(labels.items())] if isinstance(labels, dict) else []
    expressions = selector.get("matchExpressions")
    for requirement in expressions if isinstance(expressions, list) else []:
        if not isinstance(requirement, dict):
            continue
        key, operator = requirement.get("key"), requirement.get("operator")
        values = ",".join(sorted(map(str, requirement.get("values") or [])))
        forms = {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})"}
        terms.append(forms.get(str(operator), f"{key}" if operator == "Exists" else f"!{key}"))
    return ",".join(terms)
