"""``authorize`` and ``PolicySet``: decision shapes, AccessDenied messages, reuse, inputs."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from kubetrust import errors, policy
from kubetrust.policy import Outcome, PolicyKind, Reason

A = "111122223333"
B = "444455556666"
SESSION = f"arn:aws:sts::{A}:assumed-role/ci/s1"
USER = f"arn:aws:iam::{A}:user/alice"
TARGET_ROLE = f"arn:aws:iam::{B}:role/target"
OBJECT = "arn:aws:s3:::bucket/key"


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version:
        document["Version"] = version
    return document


def allow(action: str = "*", resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str = "*", resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def rcp(effect: str, action: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Principal": "*", "Action": action, "Resource": "*", **extra}


def trust(principal: str) -> dict[str, Any]:
    return doc({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"})


def run(
    principal: str = SESSION,
    action: str = "s3:GetObject",
    target: str = OBJECT,
    context: dict[str, Any] | None = None,
    **policies: Any,
) -> policy.Decision:
    """One request on ``target`` under a PolicySet of ``policies``."""
    return policy.authorize(
        policy.Request(principal, action, target, context), policy.PolicySet(**policies)
    )


# ----------------------------------------------------------------- decision shapes


def test_allow_decision_shape() -> None:
    decision = run(identity=[doc(allow("s3:Get*", Sid="ReadObjects"))])
    assert decision.outcome is Outcome.ALLOW
    assert decision.allowed
    assert decision.deciding_kind is None
    assert decision.problems == ()
    assert decision.reasons == (
        Reason("identity", "identity[0]", "ReadObjects", "Allow", "allows"),
    )
    assert decision.as_dict() == {
        "decision": "Allow",
        "reasons": [
            {
                "kind": "identity",
                "policy": "identity[0]",
                "statement": "ReadObjects",
                "effect": "Allow",
                "detail": "allows",
            }
        ],
        "problems": [],
    }
    assert str(decision.reasons[0]) == "Allow by identity identity[0] ReadObjects: allows"
    json.dumps(decision.as_dict())  # JSON-ready


def test_reason_detail_names_the_conditions_that_held() -> None:
    statement = allow(Condition={"StringEquals": {"aws:PrincipalTag/team": "ci"}})
    decision = run(identity=[doc(statement)], context={"aws:PrincipalTag/team": "ci"})
    assert decision.allowed
    (reason,) = decision.reasons
    assert reason.statement == "Statement[0]"
    assert "StringEquals aws:PrincipalTag/team [ci]" in reason.detail


def test_explicit_deny_shape() -> None:
    decision = run(identity=[doc(allow(), deny("s3:*", Sid="NoS3"))])
    assert decision.outcome is Outcome.EXPLICIT_DENY
    assert not decision.allowed
    assert decision.deciding_kind == "identity"
    assert Reason("identity", "identity[0]", "NoS3", "Deny", "denies") in decision.reasons
    assert decision.as_dict()["decision"] == "ExplicitDeny"


def test_implicit_deny_shape() -> None:
    decision = run(identity=[doc(allow("ec2:*"))])
    assert decision.outcome is Outcome.IMPLICIT_DENY
    first = decision.reasons[0]
    assert first.kind == "identity"
    assert first.effect == "ImplicitDeny"
    assert first.statement == ""
    assert "s3:GetObject" in first.detail
    assert decision.deciding_kind == "identity"


def test_implicit_deny_lists_allows_whose_condition_failed() -> None:
    statement = allow(Sid="Tagged", Condition={"StringEquals": {"aws:PrincipalTag/team": "ci"}})
    decision = run(identity=[doc(statement)], context={"aws:PrincipalTag/team": "web"})
    assert decision.outcome is Outcome.IMPLICIT_DENY
    missed = [r for r in decision.reasons if r.effect == "NotApplicable"]
    assert len(missed) == 1
    assert missed[0].statement == "Tagged"
    assert "aws:PrincipalTag/team" in missed[0].detail


def test_explicit_deny_beats_every_allow() -> None:
    decision = run(
        identity=[doc(allow())],
        scps=[[doc(allow(), deny("s3:GetObject", Sid="Guard"))]],
    )
    assert decision.outcome is Outcome.EXPLICIT_DENY
    assert decision.deciding_kind == "scp"
    assert decision.reasons[0].policy == "scp[level 0][0]"


# ------------------------------------------------------------ access denied messages

HEAD = f"User: {SESSION} is not authorized to perform: s3:GetObject on resource: {OBJECT}"


@pytest.mark.parametrize(
    ("policies", "phrase"),
    [
        ({"identity": [doc(deny())]}, "identity-based policy"),
        ({"identity": [doc(allow())], "scps": [[doc(deny())]]}, "service control policy"),
        ({"identity": [doc(allow())], "rcps": [[doc(rcp("Deny"))]]}, "resource control policy"),
        ({"identity": [doc(allow())], "boundaries": [doc(deny())]}, "permissions boundary"),
        ({"identity": [doc(allow())], "session": [doc(deny())]}, "session policy"),
        (
            {
                "identity": [doc(allow())],
                "resource": doc(
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": "arn:aws:s3:::bucket/*",
                    }
                ),
            },
            "resource-based policy",
        ),
    ],
)
def test_explicit_deny_message(policies: dict[str, Any], phrase: str) -> None:
    decision = run(**policies)
    assert decision.outcome is Outcome.EXPLICIT_DENY
    message = policy.access_denied_message(decision, SESSION, "s3:GetObject", OBJECT)
    article = "an" if phrase[0] in "aeiou" else "a"  # AWS: "in an identity-based policy"
    assert message == f"{HEAD} with an explicit deny in {article} {phrase}"


@pytest.mark.parametrize(
    ("policies", "phrase"),
    [
        ({}, "identity-based policy"),
        ({"identity": [doc(allow("ec2:*"))]}, "identity-based policy"),
        ({"identity": [doc(allow())], "scps": [[doc(allow())], []]}, "service control policy"),
        (
            {"identity": [doc(allow())], "rcps": [[doc(rcp("Allow", "ec2:*"))]]},
            "resource control policy",
        ),
        ({"identity": [doc(allow())], "boundaries": [doc(allow("ec2:*"))]}, "permissions boundary"),
        ({"identity": [doc(allow())], "session": [doc(allow("ec2:*"))]}, "session policy"),
    ],
)
def test_implicit_deny_message(policies: dict[str, Any], phrase: str) -> None:
    decision = run(**policies)
    assert decision.outcome is Outcome.IMPLICIT_DENY
    message = policy.access_denied_message(decision, SESSION, "s3:GetObject", OBJECT)
    assert message == f"{HEAD} because no {phrase} allows the s3:GetObject action"


def test_trust_policy_denial_message() -> None:
    decision = run(
        action="sts:AssumeRole",
        target=TARGET_ROLE,
        identity=[doc(allow("sts:AssumeRole", TARGET_ROLE))],
        resource=trust(f"arn:aws:iam::{A}:role/someone-else"),
    )
    assert decision.outcome is Outcome.IMPLICIT_DENY
    assert decision.deciding_kind == "trust"
    message = policy.access_denied_message(decision, SESSION, "sts:AssumeRole", TARGET_ROLE)
    assert message == (
        f"User: {SESSION} is not authorized to perform: sts:AssumeRole on resource: "
        f"{TARGET_ROLE} because no resource-based policy allows the sts:AssumeRole action"
    )


def test_assume_role_without_trust_policy_is_denied() -> None:
    decision = run(
        action="sts:AssumeRole",
        target=TARGET_ROLE,
        identity=[doc(allow("sts:AssumeRole", TARGET_ROLE))],
    )
    assert decision.outcome is Outcome.IMPLICIT_DENY
    assert decision.reasons[0].kind == "trust"


def test_cross_account_assume_role_needs_both_sides() -> None:
    both = run(
        action="sts:AssumeRole",
        target=TARGET_ROLE,
        identity=[doc(allow("sts:AssumeRole", TARGET_ROLE))],
        resource=trust(f"arn:aws:iam::{A}:role/ci"),
    )
    assert both.allowed
    assert sorted(r.kind for r in both.reasons) == ["identity", "trust"]
    trust_only = run(
        action="sts:AssumeRole", target=TARGET_ROLE, resource=trust(f"arn:aws:iam::{A}:role/ci")
    )
    assert trust_only.outcome is Outcome.IMPLICIT_DENY
    assert trust_only.reasons[0].kind == "identity"


# ---------------------------------------------------------------- policy set inputs


def test_policy_set_accepts_dicts_json_and_parsed_documents() -> None:
    identity = doc(allow("s3:Get*", "arn:aws:s3:::bucket/*", Sid="Read"))
    boundary = doc(allow("s3:*"))
    scp = doc(allow())
    as_dicts = policy.PolicySet(identity=[identity], boundaries=[boundary], scps=[[scp]])
    as_json = policy.PolicySet(
        identity=[json.dumps(identity)], boundaries=[json.dumps(boundary)], scps=[[json.dumps(scp)]]
    )
    as_parsed = policy.PolicySet(
        identity=[policy.parse_policy(identity, PolicyKind.IDENTITY)],
        boundaries=[policy.parse_policy(boundary, PolicyKind.BOUNDARY)],
        scps=[[policy.parse_policy(scp, PolicyKind.SCP)]],
    )
    requests = [
        policy.Request(SESSION, "s3:GetObject", OBJECT),
        policy.Request(SESSION, "s3:PutObject", OBJECT),
        policy.Request(SESSION, "s3:GetObject", "arn:aws:s3:::other/key"),
    ]
    outcomes = [
        [policy.authorize(r, ps) for r in requests] for ps in (as_dicts, as_json, as_parsed)
    ]
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert [d.outcome for d in outcomes[0]] == [
        Outcome.ALLOW,
        Outcome.IMPLICIT_DENY,
        Outcome.IMPLICIT_DENY,
    ]


def test_resource_policy_kind_by_shape_and_by_request() -> None:
    trust_text = json.dumps(trust(f"arn:aws:iam::{A}:role/ci"))
    assert policy.PolicySet(resource=trust_text).resource_is_trust
    resource_policy = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": A},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::bucket/*",
        }
    )
    assert not policy.PolicySet(resource=resource_policy).resource_is_trust
    parsed_trust = policy.parse_policy(trust_text, PolicyKind.TRUST)
    assert policy.PolicySet(resource=parsed_trust).resource_is_trust
    with pytest.raises(errors.PolicyParseError):
        # read as a resource policy, a trust policy lacks its Resource
        policy.PolicySet(resource=trust_text, resource_kind="resource")


@pytest.mark.parametrize(
    ("make", "message_part"),
    [
        (lambda: policy.PolicySet(identity=doc(allow())), "`identity` must be a list"),
        (lambda: policy.PolicySet(identity=json.dumps(doc(allow()))), "must be a list"),
        (lambda: policy.PolicySet(boundaries=doc(allow())), "`boundaries` must be a list"),
        (lambda: policy.PolicySet(session=doc(allow())), "`session` must be a list"),
        (lambda: policy.PolicySet(scps=doc(allow())), "`scps` must be a list"),
        (lambda: policy.PolicySet(scps=[doc(allow())]), "must be a list"),
        (lambda: policy.PolicySet(rcps=["{}"]), "must be a list"),
        (lambda: policy.PolicySet(resource_account="12345"), "not 12 digits"),
        (
            lambda: policy.PolicySet(resource=doc(allow()), resource_kind="identity"),
            "resource kind",
        ),
        (lambda: policy.PolicySet(resource=doc(allow()), resource_kind="bogus"), "resource kind"),
        (lambda: policy.PolicySet(resource=doc(allow()), resource_kind=["x"]), "resource kind"),
    ],
)
def test_policy_set_input_errors(make: Any, message_part: str) -> None:
    with pytest.raises(errors.InputError) as caught:
        make()
    assert message_part in str(caught.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"identity": 5},
        {"boundaries": True},
        {"session": 3.5},
        {"scps": 1},
        {"scps": [7]},
        {"rcps": [[doc(rcp("Allow"))], 7]},
        {"identity": b"{}"},
    ],
)
def test_policy_set_non_iterable_inputs_raise_input_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(errors.InputError) as caught:
        policy.PolicySet(**kwargs)
    assert "must be a list" in str(caught.value)


@pytest.mark.parametrize("slot", ["identity", "boundaries", "session", "scps", "rcps"])
def test_policy_set_none_means_no_documents(slot: str) -> None:
    """``None`` for a list of documents is read as "none given", like omitting it."""
    base: dict[str, Any] = {} if slot == "identity" else {"identity": [doc(allow())]}
    with_none = policy.PolicySet(**{**base, slot: None})
    without = policy.PolicySet(**base)
    request = policy.Request(SESSION, "s3:GetObject", OBJECT)
    decision = policy.authorize(request, with_none)
    assert decision == policy.authorize(request, without)
    assert decision.allowed is (slot != "identity")


def test_policy_set_parse_errors_are_policy_parse_errors() -> None:
    with pytest.raises(errors.PolicyParseError) as caught:
        policy.PolicySet(identity=["{not json"])
    assert caught.value.path == "identity[0]"
    with pytest.raises(errors.PolicyParseError):
        policy.PolicySet(resource="[]")


# ------------------------------------------------------------------- request inputs


@pytest.mark.parametrize(
    ("make", "message_part"),
    [
        (lambda: policy.Request(SESSION, "GetObject"), "`service:Name`"),
        (lambda: policy.Request(SESSION, 5), "`service:Name`"),  # type: ignore[arg-type]
        (lambda: policy.Request(SESSION, None), "`service:Name`"),  # type: ignore[arg-type]
        (lambda: policy.Request(SESSION, "s3:GetObject", ""), "resource must be a non-empty"),
        (lambda: policy.Request(SESSION, "s3:GetObject", None), "resource must be"),  # type: ignore[arg-type]
        (
            lambda: policy.Request(SESSION, "s3:GetObject", OBJECT, resource_account="abc"),
            "not 12 digits",
        ),
    ],
)
def test_request_construction_errors(make: Any, message_part: str) -> None:
    with pytest.raises(errors.InputError) as caught:
        make()
    assert message_part in str(caught.value)


@pytest.mark.parametrize(
    ("principal", "message_part"),
    [
        ("", "non-empty string"),
        (None, "non-empty string"),
        (42, "non-empty string"),
        (A, "is an account id"),
        ("not-an-arn", "not an ARN or a known service"),
        ("arn:aws:s3:::bucket", "is not a user, role, session"),
        (f"arn:aws:iam::{A}:policy/p", "is not a user, role, session"),
        (f"arn:aws:sts::{A}:assumed-role/ci", "assumed-role/ROLE/SESSION"),
        ("arn:aws:iam::1:root", "request principal"),
        (["arn:aws:iam::111122223333:root"], "non-empty string"),
        ({"arn": "x"}, "non-empty string"),
    ],
)
def test_bad_principals_raise_input_error(principal: Any, message_part: str) -> None:
    """Refused when the Request is built or when it is authorized, as an InputError."""
    ps = policy.PolicySet(identity=[doc(allow())])
    with pytest.raises(errors.InputError) as caught:
        policy.authorize(policy.Request(principal, "s3:GetObject", OBJECT), ps)
    assert message_part in str(caught.value)


@pytest.mark.parametrize(
    ("context", "message_part"),
    [
        (["aws:username"], "must be an object"),
        ("aws:username=x", "must be an object"),
        ({"": "x"}, "must be a non-empty string"),
        ({5: "x"}, "must be a non-empty string"),
        ({"test:key": {"a": 1}}, "values must be strings, numbers or booleans"),
        ({"test:key": ["a", None]}, "values must be strings, numbers or booleans"),
        ({"test:key": [["a"]]}, "values must be strings, numbers or booleans"),
        ({"test:key": 10**5000}, "test:key"),
    ],
)
def test_bad_contexts_raise_input_error(context: Any, message_part: str) -> None:
    """Refused when the Request is built or when it is authorized, as an InputError."""
    ps = policy.PolicySet(identity=[doc(allow())])
    with pytest.raises(errors.InputError) as caught:
        policy.authorize(policy.Request(SESSION, "s3:GetObject", OBJECT, context), ps)
    assert message_part in str(caught.value)


def test_context_values_of_every_accepted_type() -> None:
    statement = allow(
        Condition={
            "StringEquals": {"test:s": "x", "test:list": ["a", "b"]},
            "NumericEquals": {"test:i": "3", "test:f": "2.5"},
            "Bool": {"test:b": "true"},
        }
    )
    context = {
        "test:s": "x",
        "test:list": ("b",),
        "test:i": 3,
        "test:f": 2.5,
        "test:b": True,
    }
    assert run(identity=[doc(statement)], context=context).allowed


def test_none_context_value_removes_a_derived_key() -> None:
    statement = allow(Condition={"Null": {"aws:PrincipalArn": "true"}})
    assert not run(identity=[doc(statement)]).allowed
    assert run(identity=[doc(statement)], context={"aws:PrincipalArn": None}).allowed


def test_derived_keys_are_set_and_can_be_overridden() -> None:
    statement = allow(
        Condition={
            "ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{A}:role/ci"},
            "StringEquals": {"aws:PrincipalAccount": A, "aws:PrincipalType": "AssumedRole"},
        }
    )
    assert run(identity=[doc(statement)]).allowed
    other = {"aws:principalarn": f"arn:aws:iam::{A}:role/other"}
    assert not run(identity=[doc(statement)], context=other).allowed


@pytest.mark.parametrize("account", [int(A), "\u0661" * 12])
def test_resource_account_must_be_twelve_ascii_digits_text(account: Any) -> None:
    """An int account, or twelve non-ASCII digits, must be refused (or the int normalized):
    silently keeping it makes a same-account request look cross-account."""
    try:
        request = policy.Request(SESSION, "s3:GetObject", OBJECT, resource_account=account)
    except errors.InputError:
        return
    ps = policy.PolicySet(identity=[doc(allow())])
    expected = policy.authorize(
        policy.Request(SESSION, "s3:GetObject", OBJECT, resource_account=str(account)), ps
    )
    assert str(account) == A, f"accepted resource account {account!r}"
    assert policy.authorize(request, ps) == expected


# ------------------------------------------------------------------------- reuse


def test_policy_set_is_reusable_across_many_requests() -> None:
    """One compiled PolicySet answers every request as a fresh one would, in any order:
    per-action indexes and regex caches must not leak between requests or contexts."""
    documents: dict[str, Any] = {
        "identity": [
            doc(
                allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/*"),
                allow(
                    "s3:PutObject",
                    "*",
                    Condition={"StringLike": {"aws:PrincipalTag/team": "${aws:username, 'x'}*"}},
                ),
                deny("s3:DeleteObject", "*", Condition={"NumericGreaterThan": {"test:n": "5"}}),
                allow("s3:DeleteObject"),
            )
        ],
        "boundaries": [doc(allow("s3:*"))],
        "scps": [[doc(allow())], [doc(allow("s3:*"))]],
    }
    shared = policy.PolicySet(**documents)
    principals = [SESSION, USER, f"arn:aws:sts::{B}:assumed-role/x/y", f"arn:aws:iam::{A}:root"]
    actions = [
        "s3:GetObject",
        "S3:getobject",
        "s3:PutObject",
        "s3:DeleteObject",
        "ec2:RunInstances",
    ]
    resources = ["arn:aws:s3:::bucket/red/k", "arn:aws:s3:::bucket/blue/k", "*"]
    contexts = [
        {},
        {"aws:PrincipalTag/team": "red"},
        {"aws:PrincipalTag/team": "blue", "test:n": 9},
        {"aws:PrincipalTag/team": "alice-team", "test:n": "1"},
    ]
    combos = list(itertools.product(principals, actions, resources, contexts))
    first_pass = []
    for principal, action, resource, context in combos:
        request = policy.Request(principal, action, resource, context)
        fresh = policy.authorize(request, policy.PolicySet(**documents))
        reused = policy.authorize(request, shared)
        assert reused == fresh, request
        first_pass.append(reused)
    # and again, in reverse order, on the same PolicySet
    for (principal, action, resource, context), earlier in reversed(
        list(zip(combos, first_pass, strict=True))
    ):
        request = policy.Request(principal, action, resource, context)
        assert policy.authorize(request, shared) == earlier
    outcomes = {d.outcome for d in first_pass}
    assert outcomes == {Outcome.ALLOW, Outcome.IMPLICIT_DENY, Outcome.EXPLICIT_DENY}


def _deep_list(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "value", [10**5000, _deep_list(5000)], ids=["int-over-4300-digits", "deep-list"]
)
@pytest.mark.parametrize(
    "make",
    [
        lambda v: policy.PolicySet(resource_account=v),
        lambda v: policy.PolicySet(resource=doc(allow()), resource_kind=v),
        lambda v: policy.Request(SESSION, "s3:GetObject", OBJECT, resource_account=v),
    ],
    ids=["PolicySet.resource_account", "PolicySet.resource_kind", "Request.resource_account"],
)
def test_unprintable_values_are_refused_as_input_errors(make: Any, value: object) -> None:
    """Values whose ``str()`` fails (Python's 4300-digit guard, recursion) must still be
    refused as ``InputError``, not escape as ``ValueError``/``RecursionError``."""
    with pytest.raises(errors.InputError):
        make(value)
