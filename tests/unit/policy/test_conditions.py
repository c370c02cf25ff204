"""Condition operators: parsing, each typed family, the missing-key and multivalue rules,
and the problems recorded for request values a family cannot read."""

from __future__ import annotations

from typing import Any

import pytest

from kubetrust import policy
from kubetrust.policy import operators
from kubetrust.policy.operators import OperatorSpec

USER = "arn:aws:iam::111122223333:user/alice"
KEY = "test:key"


def decide(
    operator: str,
    values: object,
    context: dict[str, Any] | None,
    *,
    key: str = KEY,
    effect: str = "Allow",
    version: str | None = "2012-10-17",
) -> policy.Decision:
    """Authorize a request under one statement holding one condition entry. For ``Deny``
    an allow-everything statement is added, so that the Deny alone decides."""
    statements: list[dict[str, Any]] = [
        {
            "Effect": effect,
            "Action": "s3:GetObject",
            "Resource": "*",
            "Condition": {operator: {key: values}},
        }
    ]
    if effect == "Deny":
        statements.append({"Effect": "Allow", "Action": "*", "Resource": "*"})
    document: dict[str, Any] = {"Statement": statements}
    if version is not None:
        document["Version"] = version
    request = policy.Request(USER, "s3:GetObject", "arn:aws:s3:::bucket/k", context)
    return policy.authorize(request, policy.PolicySet(identity=[document]))


def holds(operator: str, values: object, context: dict[str, Any] | None, **kw: Any) -> bool:
    """Whether the condition holds (read through an Allow statement)."""
    decision = decide(operator, values, context, **kw)
    assert decision.outcome in (policy.Outcome.ALLOW, policy.Outcome.IMPLICIT_DENY)
    return decision.allowed


# ---------------------------------------------------------------- operator parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("StringEquals", OperatorSpec("StringEquals", None, False)),
        ("stringequals", OperatorSpec("StringEquals", None, False)),
        ("STRINGEQUALS", OperatorSpec("StringEquals", None, False)),
        ("StringEqualsIfExists", OperatorSpec("StringEquals", None, True)),
        ("stringequalsifexists", OperatorSpec("StringEquals", None, True)),
        ("StringEqualsIgnoreCase", OperatorSpec("StringEqualsIgnoreCase", None, False)),
        (
            "StringNotEqualsIgnoreCaseIfExists",
            OperatorSpec("StringNotEqualsIgnoreCase", None, True),
        ),
        ("ForAnyValue:StringLike", OperatorSpec("StringLike", "ForAnyValue", False)),
        ("ForAllValues:StringLikeIfExists", OperatorSpec("StringLike", "ForAllValues", True)),
        ("forallvalues:stringlikeifexists", OperatorSpec("StringLike", "ForAllValues", True)),
        ("FORANYVALUE:ARNLIKE", OperatorSpec("ArnLike", "ForAnyValue", False)),
        ("NumericLessThanEqualsIfExists", OperatorSpec("NumericLessThanEquals", None, True)),
        ("DateGreaterThan", OperatorSpec("DateGreaterThan", None, False)),
        ("BoolIfExists", OperatorSpec("Bool", None, True)),
        ("BinaryEquals", OperatorSpec("BinaryEquals", None, False)),
        ("NotIpAddressIfExists", OperatorSpec("NotIpAddress", None, True)),
        ("ArnNotLike", OperatorSpec("ArnNotLike", None, False)),
        ("Null", OperatorSpec("Null", None, False)),
        ("null", OperatorSpec("Null", None, False)),
    ],
)
def test_parse_operator(text: str, expected: OperatorSpec) -> None:
    assert operators.parse_operator(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "IfExists",
        "NullIfExists",
        "nullifexists",
        "StringEqualz",
        "StringEqualsIfExistsIfExists",
        "StringEquals ",
        " StringEquals",
        "ForSomeValues:StringEquals",
        "ForAnyValue:",
        ":StringEquals",
        "ForAnyValue:ForAllValues:StringEquals",
        "ForAnyValue:StringEquals:",
        "StringEqualsIgnoreCaseX",
        "NumericLike",
        "Bool:Bool",
        None,
        42,
        ["StringEquals"],
    ],
)
def test_parse_operator_unknown(text: object) -> None:
    assert operators.parse_operator(text) is None


def test_every_registered_operator_parses_with_qualifiers_and_if_exists() -> None:
    for base in operators.OPERATORS.values():
        for qualifier in (None, "ForAllValues", "ForAnyValue"):
            prefix = f"{qualifier}:" if qualifier else ""
            spec = operators.parse_operator(prefix + base.name)
            assert spec == OperatorSpec(base.name, qualifier, False)
            with_if = operators.parse_operator(prefix + base.name + "IfExists")
            if base.family == operators.NULL:
                assert with_if is None
            else:
                assert with_if == OperatorSpec(base.name, qualifier, True)


# ------------------------------------------------------------------- string family


def test_string_equals_is_case_sensitive_and_ignore_case_is_not() -> None:
    assert holds("StringEquals", "Team-A", {KEY: "Team-A"})
    assert not holds("StringEquals", "Team-A", {KEY: "team-a"})
    assert holds("StringEqualsIgnoreCase", "Team-A", {KEY: "tEAM-a"})
    assert not holds("StringEqualsIgnoreCase", "Team-A", {KEY: "team-b"})
    assert not holds("StringNotEqualsIgnoreCase", "Team-A", {KEY: "team-a"})


def test_values_of_one_key_are_ored_and_negation_means_none() -> None:
    assert holds("StringEquals", ["a", "b"], {KEY: "b"})
    assert not holds("StringEquals", ["a", "b"], {KEY: "c"})
    assert holds("StringNotEquals", ["a", "b"], {KEY: "c"})
    assert not holds("StringNotEquals", ["a", "b"], {KEY: "b"})


def test_condition_keys_are_case_insensitive() -> None:
    assert holds("StringEquals", "x", {"TEST:KEY": "x"}, key="Test:Key")


def test_string_like_and_not_like() -> None:
    assert holds("StringLike", "system:serviceaccount:ns:*", {KEY: "system:serviceaccount:ns:sa"})
    assert not holds("StringLike", "system:serviceaccount:ns:*", {KEY: "system:serviceaccount:x:y"})
    assert holds("StringNotLike", "prod-*", {KEY: "dev-1"})
    assert not holds("StringNotLike", "prod-*", {KEY: "prod-1"})
    assert holds("StringLike", "a.c", {KEY: "a.c"})
    assert not holds("StringLike", "a.c", {KEY: "abc"})


def test_arn_like_is_field_wise() -> None:
    key = "aws:SourceArn"
    assert holds(
        "ArnLike",
        "arn:aws:sns:*:111122223333:topic",
        {key: "arn:aws:sns:us-east-1:111122223333:topic"},
        key=key,
    )
    assert not holds(
        "ArnLike",
        "arn:aws:sns:*:111122223333:topic",
        {key: "arn:aws:sns:a:b:111122223333:topic"},
        key=key,
    )
    assert holds(
        "ArnEquals",
        "arn:aws:sns:us-east-1:111122223333:topic",
        {key: "arn:aws:sns:us-east-1:111122223333:topic"},
        key=key,
    )
    assert holds("ArnNotLike", "arn:aws:s3:::prod-*", {key: "arn:aws:s3:::dev"}, key=key)


def test_policy_variables_in_condition_values() -> None:
    # aws:username is derived from the IAM user principal
    assert holds("StringEquals", "${aws:username}", {KEY: "alice"})
    assert not holds("StringEquals", "${aws:username}", {KEY: "bob"})
    assert holds("StringLike", "home/${aws:username}/*", {KEY: "home/alice/x"})
    # unresolved variable: matches nothing
    assert not holds("StringEquals", "${aws:nothere}", {KEY: ""})
    assert holds("StringEquals", "${aws:nothere, 'dflt'}", {KEY: "dflt"})
    # without Version 2012-10-17 the variable is literal text
    assert not holds("StringEquals", "${aws:username}", {KEY: "alice"}, version=None)
    assert holds("StringEquals", "${aws:username}", {KEY: "${aws:username}"}, version=None)


# ------------------------------------------------------------------ numeric family


@pytest.mark.parametrize(
    ("operator", "policy_value", "request_value", "expected"),
    [
        ("NumericEquals", "0.1", "0.10", True),
        ("NumericEquals", "1", "1.0", True),
        ("NumericEquals", "-0", "0", True),
        ("NumericEquals", "1", "1.0000000000000000001", False),  # a float would say equal
        ("NumericEquals", "0.3", "0.30000000000000004", False),
        ("NumericLessThan", "10", "9.9999999999999999999", True),  # a float would say 10
        ("NumericLessThan", "10", "10", False),
        ("NumericLessThanEquals", "10", "10.000", True),
        ("NumericGreaterThan", "100", "100.0000000000000000001", True),
        ("NumericGreaterThanEquals", "-5", "-5", True),
        ("NumericNotEquals", "3", "3.0", False),
        ("NumericNotEquals", "3", "4", True),
        ("NumericEquals", "12345678901234567890", "12345678901234567891", False),
    ],
)
def test_numeric_is_exact_decimal(
    operator: str, policy_value: str, request_value: str, expected: bool
) -> None:
    assert holds(operator, policy_value, {KEY: request_value}) is expected


def test_numeric_json_number_values() -> None:
    """JSON numbers in the policy and numbers in the context are compared as decimals."""
    assert holds("NumericLessThan", 10, {KEY: 9})
    assert holds("NumericEquals", 1.5, {KEY: "1.50"})
    assert holds("NumericEquals", 2, {KEY: 2.0})
    assert not holds("NumericEquals", 2, {KEY: 2.5})


def test_numeric_json_text_keeps_the_decimal_as_written() -> None:
    """``0.10000000000000000001`` in the policy text is not ``0.1``: IAM stores and compares
    the decimal as written; a round trip through ``float`` changes the number."""
    text = (
        '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject",'
        ' "Resource": "*", "Condition": {"NumericEquals": {"test:key": 0.10000000000000000001}}}}'
    )
    parsed = policy.parse_policy(text, policy.PolicyKind.IDENTITY)
    (condition,) = parsed.statements[0].conditions
    request = policy.Request(USER, "s3:GetObject", "*", {KEY: "0.1"})
    decision = policy.authorize(request, policy.PolicySet(identity=[parsed]))
    assert condition.values != ("0.1",)
    assert not decision.allowed


# --------------------------------------------------------------------- date family


@pytest.mark.parametrize(
    ("operator", "policy_value", "request_value", "expected"),
    [
        ("DateEquals", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", True),
        ("DateEquals", "2020-01-01T00:00:00Z", "1577836800", True),  # epoch seconds
        ("DateEquals", "1577836800", "2020-01-01T00:00:00Z", True),
        ("DateEquals", "2020-01-01T00:00:00Z", "2020-01-01T01:00:00+01:00", True),  # offsets
        ("DateEquals", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00", True),  # naive is UTC
        ("DateEquals", "2020-01-01T00:00:00Z", "2020-01-01", True),
        ("DateEquals", "2020-01-01T00:00:00Z", "2020-01-01T00:00:01Z", False),
        ("DateEquals", "2020-01-01T00:00:00.500Z", "1577836800.5", True),
        ("DateLessThan", "2020-01-01T00:00:00Z", "2019-12-31T23:59:59Z", True),
        ("DateLessThan", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", False),
        ("DateLessThanEquals", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00Z", True),
        ("DateGreaterThan", "2020-01-01T00:00:00Z", "2021-06-01T12:00:00-07:00", True),
        ("DateGreaterThan", "2020-01-01T00:00:00Z", "1500000000", False),
        ("DateGreaterThanEquals", "2020-01-01T00:00:00Z", "1577836800", True),
        ("DateNotEquals", "2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z", True),
        ("DateNotEquals", "2020-01-01T00:00:00Z", "1577836800", False),
    ],
)
def test_dates(operator: str, policy_value: str, request_value: str, expected: bool) -> None:
    assert (
        holds(operator, policy_value, {"aws:CurrentTime": request_value}, key="aws:CurrentTime")
        is expected
    )


# ----------------------------------------------------------------------- ip family


@pytest.mark.parametrize(
    ("operator", "policy_value", "request_value", "expected"),
    [
        ("IpAddress", "203.0.113.0/24", "203.0.113.7", True),
        ("IpAddress", "203.0.113.0/24", "203.0.114.7", False),
        ("IpAddress", "203.0.113.5", "203.0.113.5", True),  # a bare address is /32
        ("IpAddress", "203.0.113.5", "203.0.113.6", False),
        ("IpAddress", "10.0.0.0/8", "10.1.0.0/16", True),  # a request block inside
        ("IpAddress", "10.0.0.0/16", "10.0.0.0/8", False),
        ("IpAddress", "2001:db8::/32", "2001:db8:0:1::5", True),
        ("IpAddress", "2001:db8::/32", "2001:DB8::1", True),
        ("IpAddress", "2001:db8::/32", "2001:db9::1", False),
        ("IpAddress", "2001:db8::1", "2001:db8::1", True),  # a bare address is /128
        ("IpAddress", "2001:db8::1", "2001:db8::2", False),
        ("IpAddress", "::/0", "2001:db8::2", True),
        ("IpAddress", "::/0", "203.0.113.5", False),  # families do not mix
        ("IpAddress", "0.0.0.0/0", "2001:db8::2", False),
        ("IpAddress", ["10.0.0.0/8", "2001:db8::/32"], "2001:db8::9", True),
        ("NotIpAddress", "203.0.113.0/24", "198.51.100.1", True),
        ("NotIpAddress", "203.0.113.0/24", "203.0.113.1", False),
        ("NotIpAddress", "2001:db8::/32", "2001:db8::1", False),
    ],
)
def test_ip_addresses(
    operator: str, policy_value: object, request_value: str, expected: bool
) -> None:
    key = "aws:SourceIp"
    assert holds(operator, policy_value, {key: request_value}, key=key) is expected


# ------------------------------------------------------------- binary and bool, null


def test_binary_equals_compares_bytes() -> None:
    assert holds("BinaryEquals", "QmluYXJ5", {KEY: "QmluYXJ5"})  # b"Binary"
    assert not holds("BinaryEquals", "QmluYXJ5", {KEY: "QmluYXJ6"})
    assert holds("BinaryEquals", ["eA==", "QmluYXJ5"], {KEY: "eA=="})


def test_bool() -> None:
    key = "aws:SecureTransport"
    assert holds("Bool", "true", {key: True}, key=key)
    assert holds("Bool", True, {key: "true"}, key=key)
    assert holds("Bool", "false", {key: False}, key=key)
    assert not holds("Bool", "true", {key: False}, key=key)
    assert holds("Bool", "true", {key: "TRUE"}, key=key)
    assert not holds("Bool", "true", {}, key=key)
    assert holds("BoolIfExists", "true", {}, key=key)


def test_null() -> None:
    assert holds("Null", "true", {})
    assert not holds("Null", "true", {KEY: "x"})
    assert holds("Null", "false", {KEY: "x"})
    assert not holds("Null", "false", {})
    assert holds("Null", True, {})
    # an empty list is no value
    assert holds("Null", "true", {KEY: []})


# ------------------------------------------------------------ missing keys, qualifiers


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEquals", False),
        ("StringNotEquals", True),
        ("StringEqualsIfExists", True),
        ("StringNotEqualsIfExists", True),
        ("StringLike", False),
        ("StringNotLike", True),
        ("NumericLessThan", False),
        ("NumericNotEquals", True),
        ("DateNotEquals", True),
        ("NotIpAddress", True),
        ("IpAddressIfExists", True),
        ("ArnNotEquals", True),
        ("ForAllValues:StringEquals", True),
        ("ForAnyValue:StringEquals", False),
        ("ForAnyValue:StringEqualsIfExists", True),
        ("ForAllValues:StringNotEquals", True),
    ],
)
def test_missing_key(operator: str, expected: bool) -> None:
    value = "10.0.0.0/8" if "Ip" in operator else "5" if "Numeric" in operator else "1"
    if operator.startswith("Arn"):
        value = "arn:aws:s3:::b"
    assert holds(operator, value, {}) is expected


@pytest.mark.parametrize(
    ("operator", "request_values", "expected"),
    [
        ("ForAllValues:StringEquals", ["a"], True),
        ("ForAllValues:StringEquals", ["a", "b"], True),
        ("ForAllValues:StringEquals", ["a", "c"], False),
        ("ForAllValues:StringEquals", [], True),
        ("ForAnyValue:StringEquals", ["c", "b"], True),
        ("ForAnyValue:StringEquals", ["c", "d"], False),
        ("ForAnyValue:StringEquals", [], False),
        ("ForAnyValue:StringNotEquals", ["a", "c"], True),
        ("ForAnyValue:StringNotEquals", ["a", "b"], False),
        ("ForAllValues:StringNotEquals", ["c", "d"], True),
        ("ForAllValues:StringNotEquals", ["c", "a"], False),
        ("ForAllValues:StringLike", ["a1", "b2"], False),
        ("ForAllValues:StringLike", ["a1", "a2"], False),
        ("StringEquals", ["c", "a"], True),  # no qualifier, positive: any value passes
        ("StringNotEquals", ["c", "a"], False),  # negated: only when none matches
        ("StringNotEquals", ["c", "d"], True),
    ],
)
def test_multivalued_keys(operator: str, request_values: list[str], expected: bool) -> None:
    assert holds(operator, ["a", "b"], {KEY: request_values}) is expected


def test_for_all_values_like_over_patterns() -> None:
    assert holds("ForAllValues:StringLike", ["a*", "b*"], {KEY: ["a1", "b2"]})
    assert not holds("ForAllValues:StringLike", ["a*", "b*"], {KEY: ["a1", "c2"]})


def test_separate_keys_and_operators_are_anded() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"test:a": "1", "test:b": "2"},
                "NumericLessThan": {"test:n": "5"},
            },
        },
    }
    ps = policy.PolicySet(identity=[document])

    def allowed(context: dict[str, Any]) -> bool:
        return policy.authorize(policy.Request(USER, "s3:GetObject", "*", context), ps).allowed

    assert allowed({"test:a": "1", "test:b": "2", "test:n": 4})
    assert not allowed({"test:a": "1", "test:b": "2", "test:n": 6})
    assert not allowed({"test:a": "1", "test:b": "3", "test:n": 4})
    assert not allowed({"test:a": "1", "test:n": 4})


# ----------------------------------------------------------- unreadable request values


@pytest.mark.parametrize(
    ("operator", "policy_value", "bad_value", "what"),
    [
        ("NumericLessThan", "10", "ten", "number"),
        ("NumericEquals", "10", "NaN", "number"),
        ("DateLessThan", "2020-01-01T00:00:00Z", "yesterday", "date"),
        ("IpAddress", "10.0.0.0/8", "10.0.0.300", "IP address"),
        ("BinaryEquals", "QmluYXJ5", "not base64!", "base64"),
    ],
)
def test_unreadable_request_value_fails_and_is_recorded(
    operator: str, policy_value: str, bad_value: str, what: str
) -> None:
    decision = decide(operator, policy_value, {KEY: bad_value})
    assert decision.outcome is policy.Outcome.IMPLICIT_DENY
    assert len(decision.problems) == 1
    (problem,) = decision.problems
    assert operator in problem
    assert KEY in problem
    assert f"`{bad_value}`" in problem
    assert what in problem
    # the condition that failed is named among the reasons
    assert any(r.effect == "NotApplicable" and operator in r.detail for r in decision.reasons)


def test_readable_values_record_no_problem() -> None:
    decision = decide("NumericLessThan", "10", {KEY: "5"})
    assert decision.allowed
    assert decision.problems == ()


def test_unreadable_value_with_a_negated_operator_holds() -> None:
    """The authorizer's rule: an unreadable value matches nothing, so a negated condition
    holds (as for a missing key). A Deny with ``NotIpAddress`` must still deny a request
    whose source IP cannot be read — otherwise garbage in the key escapes the Deny."""
    decision = decide(
        "NotIpAddress",
        "203.0.113.0/24",
        {"aws:SourceIp": "not-an-ip"},
        key="aws:SourceIp",
        effect="Deny",
    )
    assert decision.problems  # recorded either way
    assert decision.outcome is policy.Outcome.EXPLICIT_DENY


def test_problems_are_deduplicated() -> None:
    decision = decide("NumericLessThan", "10", {KEY: ["x", "x"]})
    assert len(decision.problems) == 1


# ------------------------------------------------------------------ policy-time checks


@pytest.mark.parametrize(
    ("operator", "value"),
    [
        ("NumericEquals", "1.5"),
        ("NumericEquals", "-7"),
        ("DateEquals", "2020-01-01T00:00:00Z"),
        ("DateEquals", "1577836800"),
        ("IpAddress", "2001:db8::/32"),
        ("IpAddress", "10.0.0.1"),
        ("BinaryEquals", "QmluYXJ5"),
        ("Null", "false"),
        ("StringEquals", "anything at all"),
    ],
)
def test_valid_policy_values(operator: str, value: str) -> None:
    assert operators.check_values(operator, (value,)) is None


@pytest.mark.parametrize(
    ("operator", "value"),
    [
        ("NumericEquals", "1.5.2"),
        ("NumericEquals", "Infinity"),
        ("NumericEquals", "NaN"),
        ("DateEquals", "not a date"),
        ("IpAddress", "10.0.0.1/33"),
        ("IpAddress", "2001:db8::/129"),
        ("BinaryEquals", "%%%"),
        ("Null", "yes"),
    ],
)
def test_invalid_policy_values(operator: str, value: str) -> None:
    problem = operators.check_values(operator, (value,))
    assert problem is not None
    assert f"`{value}`" in problem
    assert operator in problem
