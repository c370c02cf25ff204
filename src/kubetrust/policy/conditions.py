"""Compile and evaluate condition entries against a request context.

The rules applied here, once, for every operator family (A.7):

- separate operators and separate keys are ANDed (the evaluator does that); the values of
  one key are ORed: the *positive* test of a request value is "matches any policy value";
- a *negated* operator holds for a request value that matches none of the policy values;
- **missing key**: a positive condition is false, a negated one true; ``...IfExists``
  makes it true; ``Null`` tests presence itself (``"true"``: the key is absent);
- ``ForAllValues:`` holds when every request value passes (and when the key is absent or
  empty, which is why it is dangerous with Allow); ``ForAnyValue:`` holds when at least one
  passes (false when absent or empty, unless ``IfExists``);
- a multivalued key under an operator without a qualifier passes when any of its values
  passes for a positive operator, and only when none matches for a negated one — the
  reading that never widens an Allow beyond what the values justify.

Key names are case-insensitive; the context arrives with lower-cased keys.
"""

from __future__ import annotations

import ipaddress
import operator as op
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubetrust.policy import matching, operators
from kubetrust.policy.document import Condition

Matcher = Callable[[str, matching.Context], bool]
"""Does one request value match any of the policy values (positive sense)?"""

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "eq": op.eq,
    "lt": op.lt,
    "le": op.le,
    "gt": op.gt,
    "ge": op.ge,
}


Problems = list[str]
"""Problems met while evaluating (unreadable request values); kept on the Decision."""


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """A condition entry ready to run: the parsed :class:`Condition` plus its matcher."""

    source: Condition
    key: str
    negated: bool
    is_null: bool
    matcher: Matcher

    def holds(self, context: matching.Context, problems: Problems) -> bool:
        """Whether this entry is true for ``context`` (see module doc for the rules)."""
        source = self.source
        values = context.get(self.key)
        if self.is_null:
            absent = not values
            return any(operators.parse_bool(v) == absent for v in source.values)
        if not values:
            if source.if_exists:
                return True
            if source.qualifier == "ForAllValues":
                return True
            if source.qualifier == "ForAnyValue":
                return False
            return self.negated
        if len(values) == 1:  # every form below reduces to this for one value
            return self._passes(values[0], context, problems)
        if source.qualifier == "ForAllValues":
            return all(self._passes(v, context, problems) for v in values)
        if source.qualifier == "ForAnyValue":
            return any(self._passes(v, context, problems) for v in values)
        if self.negated:
            return all(self._passes(v, context, problems) for v in values)
        return any(self._passes(v, context, problems) for v in values)

    def _passes(self, value: str, context: matching.Context, problems: Problems) -> bool:
        try:
            matched = self.matcher(value, context)
        except operators.UnreadableValue as exc:
            problems.append(f"condition `{self.source.operator}` on `{self.source.key}`: {exc}")
            return self.negated  # the value matches nothing: positive fails, negated holds
        return not matched if self.negated else matched

    def describe(self) -> str:
        """``StringEquals oidc.../id/X:sub [system:serviceaccount:ns:sa]``, for reasons."""
        shown = ", ".join(self.source.values)
        return f"{self.source.operator} {self.source.key} [{shown}]"


def compile_condition(condition: Condition, variables_enabled: bool) -> CompiledCondition:
    """Build the matcher for ``condition`` once, at policy-compile time."""
    base = operators.OPERATORS[condition.base.lower()]
    if base.family == operators.NULL:
        matcher: Matcher = _never
    elif base.family in operators.VARIABLE_FAMILIES:
        matcher = _text_matcher(condition.values, base.family, variables_enabled)
    else:
        matcher = _typed_matcher(condition.values, base)
    return CompiledCondition(
        source=condition,
        key=condition.key.lower(),
        negated=base.negated,
        is_null=base.family == operators.NULL,
        matcher=matcher,
    )


def _never(value: str, context: matching.Context) -> bool:
    return False


def _text_matcher(values: tuple[str, ...], family: str, variables_enabled: bool) -> Matcher:
    templates = [matching.parse_template(v, variables_enabled) for v in values]
    if not any(t.has_variables for t in templates):
        return _static_text_matcher(values, family)

    def dynamic(value: str, context: matching.Context) -> bool:
        resolved = []
        for template in templates:
            pieces = template.resolve(context)
            if pieces is not None:  # an unresolved variable matches nothing (A.6)
                resolved.append(pieces)
        return any(_pieces_match(pieces, value, family) for pieces in resolved)

    return dynamic


def _pieces_match(pieces: tuple[tuple[str, bool], ...], value: str, family: str) -> bool:
    if family == operators.STRING:
        return "".join(text for text, _ in pieces) == value
    if family == operators.STRING_CI:
        return "".join(text for text, _ in pieces).lower() == value.lower()
    mode = matching.LIKE if family == operators.LIKE else matching.ARN
    return bool(matching.compile_pieces(pieces, mode).fullmatch(value))


def _static_text_matcher(values: tuple[str, ...], family: str) -> Matcher:
    if family == operators.STRING:
        exact = frozenset(values)
        return lambda value, _context: value in exact
    if family == operators.STRING_CI:
        folded = frozenset(v.lower() for v in values)
        return lambda value, _context: value.lower() in folded
    mode = matching.LIKE if family == operators.LIKE else matching.ARN
    glob = matching.compile_globs(values, mode)
    return lambda value, _context: glob.fullmatch(value) is not None


def _typed_matcher(values: tuple[str, ...], base: operators.BaseOperator) -> Matcher:
    compare = _ORDER[base.order]
    if base.family == operators.NUMERIC:
        return _ordered(values, operators.parse_decimal, compare, "number")
    if base.family == operators.DATE:
        return _ordered(values, operators.parse_date, compare, "date")
    if base.family == operators.BOOL:
        expected = frozenset(v.strip().lower() for v in values)
        return lambda value, _context: value.strip().lower() in expected
    if base.family == operators.BINARY:
        return _binary(values)
    return _ip(values)


def _ordered(
    values: tuple[str, ...],
    parse: Callable[[str], Any],
    compare: Callable[[Any, Any], bool],
    what: str,
) -> Matcher:
    limits = [parse(v) for v in values]

    def matcher(value: str, _context: matching.Context) -> bool:
        try:
            actual = parse(value)
        except ValueError:
            raise operators.UnreadableValue(f"request value `{value}` is not a {what}") from None
        return any(compare(actual, limit) for limit in limits)

    return matcher


def _binary(values: tuple[str, ...]) -> Matcher:
    expected = frozenset(operators.parse_binary(v) for v in values)

    def matcher(value: str, _context: matching.Context) -> bool:
        try:
            return operators.parse_binary(value) in expected
        except ValueError:
            raise operators.UnreadableValue(f"request value `{value}` is not base64") from None

    return matcher


def _ip(values: tuple[str, ...]) -> Matcher:
    networks = [operators.parse_network(v) for v in values]

    def matcher(value: str, _context: matching.Context) -> bool:
        address = operators.parse_request_address(value)
        if address is None:
            raise operators.UnreadableValue(f"request value `{value}` is not an IP address")
        if isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return any(address in net for net in networks)
        return any(
            address.version == net.version and address.subnet_of(net)  # type: ignore[arg-type]
            for net in networks
        )

    return matcher
