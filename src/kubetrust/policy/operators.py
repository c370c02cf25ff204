"""Condition operators: one small comparison per family, qualifiers applied generically.

Each base operator names a *family* (how one request value is compared with one policy
value) and whether it is *negated*. Negated operators are the negation of their positive
twin over the whole value list: ``StringNotEquals`` with several values holds when the
request value differs from all of them (A.7). ``ForAllValues:``/``ForAnyValue:`` and
``...IfExists`` are applied once, in :mod:`kubetrust.policy.conditions`, for every family
(the anti-pattern to avoid is PMapper's per-family copy of that logic).

Families and the values they compare (A.7):

- ``string``, ``string_ci`` (``...IgnoreCase``), ``like`` (glob), ``arn`` (field-wise glob):
  policy variables allowed;
- ``numeric`` (decimal, exact), ``date`` (ISO 8601 or epoch seconds), ``bool``, ``binary``
  (base64, byte-for-byte), ``ip`` (CIDR, IPv4 and IPv6; a bare address is /32 or /128):
  no variables, the text is taken literally;
- ``null`` is special: it tests presence, not values.

A request value that cannot be read as the family's type (``"abc"`` for a numeric key) does
not match; the evaluator records that as a problem of the decision.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import functools
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

STRING = "string"
STRING_CI = "string_ci"
LIKE = "like"
ARN = "arn"
NUMERIC = "numeric"
DATE = "date"
BOOL = "bool"
BINARY = "binary"
IP = "ip"
NULL = "null"

VARIABLE_FAMILIES = frozenset({STRING, STRING_CI, LIKE, ARN})
"""Families whose values may hold policy variables (A.6)."""


@dataclass(frozen=True, slots=True)
class BaseOperator:
    """A base operator: its family, whether negated, and for ordered families the test."""

    name: str
    family: str
    negated: bool
    order: str = "eq"


def _family(names: dict[str, tuple[str, bool, str]]) -> dict[str, BaseOperator]:
    return {
        name.lower(): BaseOperator(name, family, negated, order)
        for name, (family, negated, order) in names.items()
    }


OPERATORS: dict[str, BaseOperator] = _family(
    {
        "StringEquals": (STRING, False, "eq"),
        "StringNotEquals": (STRING, True, "eq"),
        "StringEqualsIgnoreCase": (STRING_CI, False, "eq"),
        "StringNotEqualsIgnoreCase": (STRING_CI, True, "eq"),
        "StringLike": (LIKE, False, "eq"),
        "StringNotLike": (LIKE, True, "eq"),
        "NumericEquals": (NUMERIC, False, "eq"),
        "NumericNotEquals": (NUMERIC, True, "eq"),
        "NumericLessThan": (NUMERIC, False, "lt"),
        "NumericLessThanEquals": (NUMERIC, False, "le"),
        "NumericGreaterThan": (NUMERIC, False, "gt"),
        "NumericGreaterThanEquals": (NUMERIC, False, "ge"),
        "DateEquals": (DATE, False, "eq"),
        "DateNotEquals": (DATE, True, "eq"),
        "DateLessThan": (DATE, False, "lt"),
        "DateLessThanEquals": (DATE, False, "le"),
        "DateGreaterThan": (DATE, False, "gt"),
        "DateGreaterThanEquals": (DATE, False, "ge"),
        "Bool": (BOOL, False, "eq"),
        "BinaryEquals": (BINARY, False, "eq"),
        "IpAddress": (IP, False, "eq"),
        "NotIpAddress": (IP, True, "eq"),
        "ArnEquals": (ARN, False, "eq"),
        "ArnLike": (ARN, False, "eq"),
        "ArnNotEquals": (ARN, True, "eq"),
        "ArnNotLike": (ARN, True, "eq"),
        "Null": (NULL, False, "eq"),
    }
)
"""The registry of base operators, keyed by lower-cased name."""

QUALIFIERS = {"forallvalues": "ForAllValues", "foranyvalue": "ForAnyValue"}


@dataclass(frozen=True, slots=True)
class OperatorSpec:
    """A condition operator as written, taken apart."""

    base: str
    qualifier: str | None
    if_exists: bool


def parse_operator(text: object) -> OperatorSpec | None:
    """Split ``ForAnyValue:StringLikeIfExists`` into its parts; ``None`` if unknown.

    ``Null`` takes no ``IfExists`` (A.7: "any operator except Null")."""
    if not isinstance(text, str):
        return None
    qualifier = None
    rest = text
    if ":" in text:
        prefix, rest = text.split(":", 1)
        qualifier = QUALIFIERS.get(prefix.lower())
        if qualifier is None:
            return None
    lowered = rest.lower()
    if_exists = lowered.endswith("ifexists") and lowered not in OPERATORS
    if if_exists:
        lowered = lowered[: -len("ifexists")]
    base = OPERATORS.get(lowered)
    if base is None or (base.family == NULL and if_exists):
        return None
    return OperatorSpec(base=base.name, qualifier=qualifier, if_exists=if_exists)


def check_values(base: str, values: tuple[str, ...]) -> str | None:
    """A reason why ``values`` cannot be policy values of ``base``, or ``None``."""
    family = OPERATORS[base.lower()].family
    parser = _POLICY_VALUE_PARSERS.get(family)
    if parser is None:
        return None
    for value in values:
        try:
            parser(value)
        except ValueError as exc:
            return f"`{value}` is not a valid value for {base}: {exc}"
    return None


class UnreadableValue(Exception):
    """A request value that the family cannot read; the evaluator records it."""


def parse_decimal(text: str) -> decimal.Decimal:
    """A finite decimal number (IAM numeric values are integers or decimals)."""
    try:
        number = decimal.Decimal(text.strip())
    except decimal.InvalidOperation:
        raise ValueError("not a number") from None
    if not number.is_finite():
        raise ValueError("not a finite number")
    return number


_EPOCH = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")


def parse_date(text: str) -> float:
    """Seconds since the epoch from ISO 8601 (W3C profile) or epoch seconds (A.7)."""
    text = text.strip()
    if _EPOCH.match(text):
        return float(text)
    try:
        moment = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValueError("not an ISO 8601 date or epoch seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise ValueError("must be true or false")
    return lowered == "true"


def parse_binary(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError("not an IPv4 or IPv6 address or CIDR block") from None


Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=4096)
def parse_request_address(text: str) -> Address | Network | None:
    """A request's address (``aws:SourceIp``) — or a CIDR block, which matches a policy
    block that contains it — or ``None`` if it is neither. Cached: the same few addresses
    come back request after request."""
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        pass
    try:
        return parse_network(text)
    except ValueError:
        return None


_POLICY_VALUE_PARSERS: dict[str, Callable[[str], object]] = {
    NUMERIC: parse_decimal,
    DATE: parse_date,
    BINARY: parse_binary,
    IP: parse_network,
    NULL: parse_bool,
}
"""Families whose policy values IAM checks when the policy is written."""
