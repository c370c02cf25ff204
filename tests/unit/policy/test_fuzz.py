"""Fuzzing the engine's edges: whatever goes in, only ``KubetrustError`` comes out.

``parse_policy`` (every kind), ``PolicySet``, ``Request`` and ``authorize`` get random
JSON-ish values and mutations of valid documents (dropped, duplicated and retyped keys,
random text in Action/Resource/Condition, deep nesting, huge strings, unicode). The only
exceptions allowed to escape are :class:`kubetrust.errors.KubetrustError` and its subclasses
(``PolicyParseError``, ``InputError``); a ``TypeError``, ``KeyError``, ``RecursionError``,
``ValueError`` or ``re.error`` is a bug. ``simulate_case`` must never raise at all.

Bounded (``max_examples`` ≤ 300 per test, small strings where wildcards can backtrack) and
marked ``slow`` so that ``-m "not slow"`` skips them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from kubetrust import errors, policy
from kubetrust.policy import PolicyKind, cases

pytestmark = pytest.mark.slow

FUZZ = settings(
    max_examples=300,
    deadline=None,
    # no "explain" phase: it reruns a failing example hundreds of times
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
LIGHT = settings(FUZZ, max_examples=150)

T = TypeVar("T")

A = "111122223333"
B = "444455556666"
ROLE = f"arn:aws:iam::{A}:role/ci"

# ------------------------------------------------------------------------ harness


def only_kubetrust_errors(call: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """Run ``call``; a ``KubetrustError`` is an accepted answer (``None``), anything else
    propagates and fails the test."""
    try:
        return call(*args, **kwargs)
    except errors.KubetrustError as exc:
        # the public API's two refusals; an InvalidArnError must arrive as an InputError
        assert isinstance(exc, errors.PolicyParseError | errors.InputError), repr(exc)
        assert str(exc)
        return None


# --------------------------------------------------------------------- vocabulary

POLICY_STRINGS = [
    "*",
    "2012-10-17",
    "2008-10-17",
    "Allow",
    "Deny",
    "allow",
    "s3:GetObject",
    "s3:Get*",
    "sts:AssumeRole",
    "sts:AssumeRoleWithWebIdentity",
    "iam:*",
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::bucket/${aws:username}/*",
    f"arn:aws:iam::{A}:role/ci",
    f"arn:aws:iam::{A}:root",
    f"arn:aws:sts::{A}:assumed-role/ci/s",
    f"arn:aws:iam::{A}:oidc-provider/oidc.example.com",
    A,
    "ec2.amazonaws.com",
    "${aws:username}",
    "${*}",
    "${?}",
    "${$}",
    "${aws:PrincipalTag/team, 'x'}",
    "${",
    "StringEquals",
    "StringLike",
    "ForAnyValue:StringLike",
    "ForAllValues:StringEqualsIfExists",
    "NumericLessThan",
    "DateGreaterThan",
    "IpAddress",
    "NotIpAddress",
    "BinaryEquals",
    "ArnLike",
    "Bool",
    "Null",
    "aws:username",
    "aws:SourceIp",
    "aws:PrincipalTag/team",
    "aws:CurrentTime",
    "10.0.0.0/8",
    "2001:db8::/32",
    "2020-01-01T00:00:00Z",
    "1577836800",
    "QmluYXJ5",
    "true",
    "false",
    "1.5",
    "NaN",
    "Infinity",
    "-1e999999",
    "1e-999999999999999999999",
    "",
    " ",
    ":",
    "::",
    "arn:",
    "arn:aws:s3:::",
    "\u0661" * 12,
    "é☃\u200b\x00",
]
POLICY_KEYS = [
    "Version",
    "Id",
    "Statement",
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
    "AWS",
    "Federated",
    "Service",
    "CanonicalUser",
]

short_text = st.text(max_size=24)
strings = st.one_of(st.sampled_from(POLICY_STRINGS), short_text)
keys = st.one_of(st.sampled_from(POLICY_KEYS + POLICY_STRINGS), short_text)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    strings,
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=25,
)


def deep(depth: int, kind: str = "list") -> object:
    value: object = "s3:GetObject"
    for _ in range(depth):
        value = [value] if kind == "list" else {"Statement": value}
    return value


class Deep:
    """Stands for a deeply nested value in drawn examples (Hypothesis cannot print a
    3000-level list); :func:`materialize` builds the real thing inside the test."""

    def __init__(self, depth: int, kind: str = "list") -> None:
        self.depth = depth
        self.kind = kind

    def __repr__(self) -> str:
        return f"Deep({self.depth}, {self.kind!r})"


class HugeInt:
    """Stands for an integer too long for ``str()`` (Python's 4300-digit limit), which
    Hypothesis cannot print either; :func:`materialize` makes it real."""

    def __init__(self, sign: int = 1) -> None:
        self.sign = sign

    def __repr__(self) -> str:
        return f"HugeInt({self.sign})"


def materialize(value: Any) -> Any:
    """A copy of ``value`` with every :class:`Deep` and :class:`HugeInt` made real."""
    if isinstance(value, Deep):
        return deep(value.depth, value.kind)
    if isinstance(value, HugeInt):
        return value.sign * 10**5000
    if isinstance(value, dict):
        return {materialize(k): materialize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [materialize(v) for v in value]
    if isinstance(value, tuple):
        return tuple(materialize(v) for v in value)
    return value


class Opaque:
    """Not JSON at all; ``str()`` works."""

    def __repr__(self) -> str:
        return "Opaque()"


python_extras = st.one_of(
    st.binary(max_size=8),
    st.dates(),
    st.datetimes(),
    st.tuples(strings, strings),
    st.frozensets(strings, max_size=3),
    st.builds(HugeInt, st.sampled_from([1, -1])),
    st.just(Opaque()),
    st.builds(Deep, st.sampled_from([900, 3000]), st.sampled_from(["list", "dict"])),
)
python_values = st.recursive(
    st.one_of(json_scalars, python_extras),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(keys, st.integers(), st.none()), children, max_size=4),
        st.tuples(children),
    ),
    max_leaves=20,
)

# --------------------------------------------------------------- valid documents

VALID: dict[PolicyKind, dict[str, Any]] = {
    PolicyKind.IDENTITY: {
        "Version": "2012-10-17",
        "Id": "id-1",
        "Statement": [
            {
                "Sid": "Read",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:List*"],
                "Resource": ["arn:aws:s3:::bucket/${aws:username}/*", "arn:aws:s3:::bucket"],
                "Condition": {
                    "StringEquals": {"aws:PrincipalTag/team": ["ci", "ops"]},
                    "ForAnyValue:StringLike": {"aws:TagKeys": "team-*"},
                    "NumericLessThanEquals": {"s3:max-keys": 10},
                    "DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
                    "IpAddressIfExists": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]},
                    "Bool": {"aws:SecureTransport": True},
                    "Null": {"aws:TokenIssueTime": "false"},
                },
            },
            {"Effect": "Deny", "NotAction": "s3:*", "NotResource": "arn:aws:s3:::bucket/*"},
        ],
    },
    PolicyKind.TRUST: {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": [ROLE, A], "Service": "ec2.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {"StringEquals": {"sts:ExternalId": "x"}},
            },
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{A}:oidc-provider/oidc.example.com/id/X"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringLike": {"oidc.example.com/id/X:sub": "system:serviceaccount:ns:*"}
                },
            },
        ],
    },
    PolicyKind.RESOURCE: {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:sts::{B}:assumed-role/x/y"},
                "Action": "s3:*",
                "Resource": "arn:aws:s3:::bucket/*",
                "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{B}:role/*"}},
            },
            {
                "Effect": "Deny",
                "NotPrincipal": {"AWS": [f"arn:aws:iam::{A}:root", ROLE]},
                "Action": "s3:DeleteObject",
                "Resource": "*",
            },
        ],
    },
    PolicyKind.RCP: {
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"}},
        },
    },
}
VALID[PolicyKind.SCP] = {
    "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {
            "Effect": "Deny",
            "Action": "iam:*",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:PrincipalTag/admin": "yes"}},
        },
    ]
}
VALID[PolicyKind.BOUNDARY] = VALID[PolicyKind.IDENTITY]
VALID[PolicyKind.SESSION] = VALID[PolicyKind.SCP]

ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"},
}
PERMISSIVE: dict[PolicyKind, list[dict[str, Any]]] = {
    PolicyKind.IDENTITY: [
        ALLOW_ALL,
        {
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow",
                "Action": ["s3:*", "sts:AssumeRole"],
                "Resource": ["arn:aws:s3:::bucket/${aws:username}/*", f"arn:aws:iam::{B}:role/*"],
            },
        },
    ],
    PolicyKind.TRUST: [
        {
            "Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Principal": {"AWS": [A, B]}, "Action": "sts:*"},
        },
        {"Statement": {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}},
    ],
    PolicyKind.RESOURCE: [
        {
            "Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
        }
    ],
    PolicyKind.RCP: [
        {"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}}
    ],
    PolicyKind.SCP: [ALLOW_ALL],
    PolicyKind.BOUNDARY: [ALLOW_ALL],
    PolicyKind.SESSION: [ALLOW_ALL],
}


def test_base_documents_are_valid() -> None:
    # the mutations start from documents each kind accepts
    for kind, document in VALID.items():
        assert policy.parse_policy(document, kind).kind is kind
    for kind, permissive in PERMISSIVE.items():
        for document in permissive:
            assert policy.parse_policy(document, kind).kind is kind


# ------------------------------------------------------------------------ mutation

Path = tuple[Any, ...]


def paths(value: object, prefix: Path = ()) -> list[Path]:
    """Every location in ``value`` down to a dozen levels (deep nesting is left whole)."""
    found = [prefix]
    if len(prefix) >= 12:
        return found
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(paths(child, (*prefix, index)))
    return found


def get(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


def copy_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value


MUTATIONS = ["drop", "retype", "rename", "wrap", "huge", "unicode", "statement", "deep", "dup"]


@st.composite
def statement_fields(draw: st.DrawFn) -> dict[str, Any]:
    """A statement with random text where the engine compiles patterns."""
    small = st.text(alphabet="ab:*?/$.{}[]()\\^", max_size=12)
    patternish = st.one_of(st.sampled_from(POLICY_STRINGS), small)
    field = draw(st.sampled_from(["Action", "NotAction", "Resource", "NotResource", "Condition"]))
    if field == "Condition":
        operator = draw(st.one_of(st.sampled_from(POLICY_STRINGS), short_text))
        key = draw(st.one_of(st.sampled_from(POLICY_STRINGS), short_text))
        values = draw(st.one_of(patternish, st.lists(patternish, max_size=3), json_values))
        return {"Condition": {operator: {key: values}}}
    return {field: draw(st.one_of(patternish, st.lists(patternish, min_size=1, max_size=3)))}


KINDS = sorted(VALID, key=lambda k: k.value)


@st.composite
def mutated(
    draw: st.DrawFn,
    extras: bool = False,
    kinds: tuple[PolicyKind, ...] = tuple(KINDS),
    operations: tuple[str, ...] = tuple(MUTATIONS),
) -> tuple[object, list[str]]:
    """A valid document of one of ``kinds``, mutated 1-4 times; also the duplicated keys to
    put back into its JSON text (a dict cannot hold them)."""
    kind = draw(st.sampled_from(kinds))
    document: Any = copy_json(VALID[kind])
    duplicates: list[str] = []
    values = python_values if extras else json_values
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(paths(document)))
        operation = draw(st.sampled_from(operations))
        target = get(document, where[:-1]) if where else None
        step = where[-1] if where else None
        if operation == "drop" and where:
            if isinstance(target, dict):
                del target[step]
            else:
                target.pop(step)
        elif operation == "retype":
            new = draw(values)
            if where:
                target[step] = new
            else:
                document = new
        elif operation == "rename" and isinstance(target, dict):
            target[draw(keys)] = target.pop(step)
        elif operation == "wrap" and where:
            target[step] = draw(st.sampled_from([[target[step]], {"x": target[step]}]))
        elif operation == "huge" and where:
            unit = draw(st.text(alphabet="abc:/-é☃", min_size=1, max_size=3))
            target[step] = unit * draw(st.integers(10_000, 60_000))
        elif operation == "unicode" and where:
            target[step] = draw(st.text(min_size=1, max_size=40))
        elif operation == "statement":
            statements = document.get("Statement") if isinstance(document, dict) else None
            items = [statements] if isinstance(statements, dict) else statements
            if isinstance(items, list) and items:
                chosen = items[draw(st.integers(0, len(items) - 1))]
                if isinstance(chosen, dict):
                    chosen.update(draw(statement_fields()))
        elif operation == "deep" and where:
            target[step] = Deep(draw(st.sampled_from([50, 900, 3000])))
        elif operation == "dup":
            duplicates.append(draw(st.sampled_from(POLICY_KEYS)))
    return document, duplicates


def as_text(document: object, duplicates: list[str], junk: str) -> str | None:
    """JSON text of ``document``, with a duplicated key pair inserted after an opening brace
    for each name in ``duplicates``; ``None`` if the document is not JSON."""
    try:
        text = json.dumps(document)
    except (TypeError, ValueError, RecursionError):
        return None
    for number, name in enumerate(duplicates):
        brace = [i for i, c in enumerate(text) if c == "{"]
        if not brace:
            break
        at = brace[number % len(brace)] + 1
        pair = f"{json.dumps(name)}: {json.dumps(junk)}" + ("" if text[at] == "}" else ", ")
        text = text[:at] + pair + text[at:]
    return text


# -------------------------------------------------------------------- parse_policy


@FUZZ
@given(json_values)
def test_parse_policy_random_json_values(value: object) -> None:
    for kind in PolicyKind:
        only_kubetrust_errors(policy.parse_policy, value, kind)  # type: ignore[arg-type]
        only_kubetrust_errors(policy.parse_policy, json.dumps(value), kind)


@FUZZ
@given(st.one_of(st.text(max_size=200), st.binary(max_size=50).map(lambda b: b.decode("latin-1"))))
def test_parse_policy_random_text(text: str) -> None:
    for kind in PolicyKind:
        only_kubetrust_errors(policy.parse_policy, text, kind)


@FUZZ
@given(mutated(), short_text)
def test_parse_policy_mutated_documents(case: tuple[object, list[str]], junk: str) -> None:
    document, duplicates = materialize(case[0]), case[1]
    text = as_text(document, duplicates, junk)
    for kind in PolicyKind:
        parsed = only_kubetrust_errors(policy.parse_policy, document, kind)  # type: ignore[arg-type]
        if parsed is not None:
            assert parsed.kind is kind
            assert parsed.statements
        if text is not None:
            from_text = only_kubetrust_errors(policy.parse_policy, text, kind)
            if not duplicates:
                # the mapping and its JSON text are the same document
                assert from_text == parsed


@LIGHT
@given(mutated(extras=True))
def test_parse_policy_mutated_with_python_values(case: tuple[object, list[str]]) -> None:
    """Mappings that did not come from JSON (YAML dates, bytes, tuples, huge ints, deep
    nesting, arbitrary objects) are refused with ``PolicyParseError`` too."""
    document = materialize(case[0])
    for kind in PolicyKind:
        only_kubetrust_errors(policy.parse_policy, document, kind)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        dt.date(2012, 10, 17),
        b"s3:GetObject",
        10**5000,
        deep(3000),
        Opaque(),
        ("s3:GetObject",),
    ],
    ids=["date", "bytes", "huge-int", "deep-list", "object", "tuple"],
)
@pytest.mark.parametrize("field", ["Action", "Resource", "Effect", "Version", "Condition-value"])
def test_parse_policy_non_json_values_in_each_field(value: object, field: str) -> None:
    """The minimal form of what the python-value fuzz looks for: one non-JSON value."""
    statement: dict[str, Any] = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    document: dict[str, Any] = {"Version": "2012-10-17", "Statement": [statement]}
    if field == "Version":
        document["Version"] = value
    elif field == "Condition-value":
        statement["Condition"] = {"NumericEquals": {"s3:max-keys": value}}
    else:
        statement[field] = [value] if field != "Effect" else value
    with pytest.raises(errors.PolicyParseError):
        policy.parse_policy(document, PolicyKind.IDENTITY)


@pytest.mark.parametrize("depth", [10, 500, 990, 2000, 50_000])
def test_parse_policy_deep_json_text(depth: int) -> None:
    text = '{"Version": "2012-10-17", "Statement": ' + "[" * depth + "]" * depth + "}"
    with pytest.raises(errors.PolicyParseError):
        policy.parse_policy(text, PolicyKind.IDENTITY)


# ------------------------------------------------------------ PolicySet and authorize

PRINCIPALS = [
    f"arn:aws:sts::{A}:assumed-role/ci/s",
    f"arn:aws:iam::{A}:user/alice",
    f"arn:aws:iam::{A}:root",
    f"arn:aws:iam::{A}:role/ci",
    f"arn:aws:sts::{B}:assumed-role/x/y",
    f"arn:aws:sts::{A}:federated-user/f",
    f"arn:aws:iam::{A}:oidc-provider/oidc.example.com/id/X",
    f"arn:aws:iam::{A}:saml-provider/idp",
    "ec2.amazonaws.com",
    "accounts.google.com",
    "*",
    "anonymous",
]
ACTIONS = ["s3:GetObject", "s3:DeleteObject", "sts:AssumeRole", "iam:CreateUser", "S3:getobject"]
RESOURCES = [
    "arn:aws:s3:::bucket/alice/k",
    "arn:aws:s3:::bucket",
    f"arn:aws:iam::{A}:role/ci",
    f"arn:aws:iam::{B}:role/target",
    f"arn:aws:kms:us-east-1:{A}:key/k",
    "*",
]
CONTEXT_KEYS = [
    "aws:username",
    "aws:SourceIp",
    "aws:CurrentTime",
    "aws:PrincipalTag/team",
    "aws:TagKeys",
    "aws:SecureTransport",
    "aws:PrincipalArn",
    "s3:max-keys",
    "sts:ExternalId",
    "oidc.example.com/id/X:sub",
]
small_strings = st.text(alphabet="ab:*?/$.{}01-", max_size=16)
context_scalars = st.one_of(
    st.sampled_from(POLICY_STRINGS),
    small_strings,
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(),
)
contexts = st.one_of(
    st.none(),
    st.dictionaries(
        st.one_of(st.sampled_from(CONTEXT_KEYS), short_text),
        st.one_of(st.none(), context_scalars, st.lists(context_scalars, max_size=3), json_values),
        max_size=6,
    ),
)
SHALLOW = tuple(m for m in MUTATIONS if m != "deep")  # deep nesting: see the parse tests


@st.composite
def documents(draw: st.DrawFn, *kinds: PolicyKind) -> Any:
    """Mostly (85%) valid documents of ``kinds``, so that evaluation runs; otherwise a
    mutated one of those kinds or of any kind."""
    choice = draw(st.integers(0, 19))
    if choice < 17:
        pool = [VALID[k] for k in kinds] + [d for k in kinds for d in PERMISSIVE[k]]
        return draw(st.sampled_from(pool))
    source = kinds if choice < 19 else tuple(KINDS)
    return draw(mutated(kinds=source, operations=SHALLOW))[0]


any_documents = documents(*KINDS)


@st.composite
def policy_set_kwargs(draw: st.DrawFn) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if draw(st.booleans()):
        kwargs["identity"] = draw(st.lists(documents(PolicyKind.IDENTITY), max_size=2))
    if draw(st.booleans()):
        kwargs["resource"] = draw(documents(PolicyKind.RESOURCE, PolicyKind.TRUST))
    if draw(st.booleans()):
        kwargs["boundaries"] = draw(st.lists(documents(PolicyKind.BOUNDARY), max_size=1))
    if draw(st.booleans()):
        kwargs["session"] = draw(st.lists(documents(PolicyKind.SESSION), max_size=1))
    if draw(st.booleans()):
        level = st.lists(documents(PolicyKind.SCP), max_size=2)
        kwargs["scps"] = draw(st.lists(level, max_size=2))
    if draw(st.booleans()):
        level = st.lists(documents(PolicyKind.RCP), max_size=2)
        kwargs["rcps"] = draw(st.lists(level, max_size=2))
    if draw(st.integers(0, 3)) == 0:
        kwargs["resource_kind"] = draw(st.sampled_from(["resource", "trust"] * 3 + ["scp", "x"]))
    if draw(st.integers(0, 3)) == 0:
        kwargs["resource_account"] = draw(st.sampled_from([A, B] * 3 + ["123", ""]))
    return kwargs


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    principals = st.sampled_from(PRINCIPALS)
    actions = st.sampled_from(ACTIONS)
    resources = st.sampled_from(RESOURCES)
    return {
        "principal": draw(st.one_of(principals, principals, principals, short_text)),
        "action": draw(st.one_of(actions, actions, actions, small_strings)),
        "resource": draw(st.one_of(resources, resources, small_strings)),
        "context": draw(contexts),
        "resource_account": draw(st.sampled_from([None, A, B, "12"])),
    }


def decide(kwargs: dict[str, Any], request: dict[str, Any]) -> None:
    policies = only_kubetrust_errors(policy.PolicySet, **materialize(kwargs))
    built = only_kubetrust_errors(policy.Request, **request)
    if policies is None or built is None:
        event("refused: " + ("PolicySet" if policies is None else "Request"))
        return
    decision = only_kubetrust_errors(policy.authorize, built, policies)
    event("authorize: decided" if decision is not None else "authorize: refused")
    if decision is not None:
        event(f"outcome: {decision.outcome.value}")
        assert isinstance(decision.outcome, policy.Outcome)
        assert all(isinstance(r, policy.Reason) for r in decision.reasons)
        if not decision.allowed:
            assert decision.reasons
        message = policy.access_denied_message(
            decision, str(built.principal), built.action, built.resource
        )
        assert message.startswith("User: ")


@FUZZ
@given(policy_set_kwargs(), st.lists(requests(), min_size=1, max_size=3))
def test_authorize_random_policies_and_requests(
    kwargs: dict[str, Any], batch: list[dict[str, Any]]
) -> None:
    for request in batch:
        decide(kwargs, request)


@FUZZ
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "identity": python_values,
            "resource": python_values,
            "boundaries": python_values,
            "session": python_values,
            "scps": python_values,
            "rcps": python_values,
            "resource_kind": python_values,
            "resource_account": python_values,
        },
    )
)
def test_policy_set_random_argument_shapes(kwargs: dict[str, Any]) -> None:
    only_kubetrust_errors(policy.PolicySet, **materialize(kwargs))


@FUZZ
@given(
    st.fixed_dictionaries(
        {
            "principal": st.one_of(st.sampled_from(PRINCIPALS), python_values),
            "action": st.one_of(st.sampled_from(ACTIONS), python_values),
        },
        optional={
            "resource": st.one_of(st.sampled_from(RESOURCES), python_values),
            "context": st.one_of(contexts, python_values),
            "resource_account": python_values,
        },
    )
)
def test_request_random_field_types(request: dict[str, Any]) -> None:
    policies = policy.PolicySet(
        identity=[VALID[PolicyKind.IDENTITY]], resource=VALID[PolicyKind.RESOURCE]
    )
    built = only_kubetrust_errors(policy.Request, **materialize(request))
    if built is not None:
        only_kubetrust_errors(policy.authorize, built, policies)


# ------------------------------------------------------------------- simulate_case


def check_result(case: object, result: object) -> None:
    assert isinstance(result, dict)
    assert "id" in result
    if isinstance(case, dict):
        assert result["id"] == case.get("id") or result["id"] != result["id"]  # NaN ids
    assert ("decision" in result) != ("error" in result)
    if "decision" in result:
        assert result["decision"] in ("Allow", "ExplicitDeny", "ImplicitDeny")
        assert isinstance(result["reasons"], list)
    else:
        assert isinstance(result["error"], str)
        assert result["error"]


@st.composite
def case_objects(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> object:
    """A case that is mostly well-formed, with random parts replaced or dropped."""
    request = draw(requests())
    case: dict[Any, Any] = {
        "id": draw(st.one_of(short_text, st.integers(), st.none())),
        "request": {
            "principal": request["principal"],
            "action": request["action"],
            "resource": request["resource"],
            "resourceAccount": request["resource_account"],
            "context": request["context"],
        },
        "identityPolicies": draw(st.lists(documents(PolicyKind.IDENTITY), max_size=2)),
        "permissionsBoundaries": draw(st.lists(documents(PolicyKind.BOUNDARY), max_size=1)),
        "sessionPolicies": draw(st.lists(documents(PolicyKind.SESSION), max_size=1)),
        "resourcePolicy": draw(st.one_of(st.none(), any_documents)),
        "serviceControlPolicies": draw(
            st.lists(st.lists(documents(PolicyKind.SCP), max_size=2), max_size=2)
        ),
        "resourceControlPolicies": draw(
            st.lists(st.lists(documents(PolicyKind.RCP), max_size=1), max_size=1)
        ),
        "resourcePolicyKind": draw(st.sampled_from([None, "resource", "trust", "scp"])),
    }
    for _ in range(draw(st.integers(0, 3))):
        target = case if draw(st.booleans()) else case.get("request")
        if not isinstance(target, dict) or not target:
            continue
        key = draw(st.sampled_from(sorted(target, key=str)))
        operation = draw(st.sampled_from(["drop", "retype", "extra"]))
        if operation == "drop":
            del target[key]
        elif operation == "retype":
            target[key] = draw(values)
        else:
            target[draw(st.one_of(keys, st.integers()) if values is python_values else keys)] = (
                draw(values)
            )
    return case


@FUZZ
@given(st.one_of(json_values, case_objects(json_values)))
def test_simulate_case_json_cases_never_raise(case: object) -> None:
    """What a JSONL batch can hold: the batch must go on, whatever the line says."""
    case = materialize(case)
    result = cases.simulate_case(case)
    check_result(case, result)
    json.dumps(result)  # results go back out as JSON lines


@LIGHT
@given(st.one_of(python_values, case_objects(python_values)))
def test_simulate_case_python_objects_never_raise(case: object) -> None:
    """``simulate_case(case: object)`` promises never to raise, for any object (a YAML
    corpus, for instance, gives non-string keys and dates)."""
    case = materialize(case)
    check_result(case, cases.simulate_case(case))


@pytest.mark.parametrize(
    "case",
    [
        {1: "x", "extra": "y", "id": "mixed-keys"},
        {"id": "mixed-request-keys", "request": {1: "x", "extra": "y"}},
        {
            "id": "huge-int",
            "request": {
                "principal": f"arn:aws:iam::{A}:user/u",
                "action": "s3:GetObject",
                "context": {"s3:max-keys": 10**5000},
            },
        },
        {
            "id": "date-in-policy",
            "request": {"principal": f"arn:aws:iam::{A}:user/u", "action": "s3:GetObject"},
            "identityPolicies": [
                {
                    "Statement": {
                        "Effect": "Allow",
                        "Action": [dt.date(2012, 10, 17)],
                        "Resource": "*",
                    }
                }
            ],
        },
    ],
    ids=lambda case: case["id"],
)
def test_simulate_case_minimal_reproducers(case: dict[Any, Any]) -> None:
    result = cases.simulate_case(case)
    assert result["id"] == case["id"]
    assert "error" in result
    assert "decision" not in result
