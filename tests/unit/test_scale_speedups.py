"""The shortcuts that make a 10,000-account audit fast decide exactly what the slow paths
decide: compact JSON without a per-call encoder, wildcard-free patterns by set lookup,
validation remembered per value, the audit's edge judge with per-caller and per-target
facts kept, one trust index per topology, and collection frozen after a paused block.
Each test compares the shortcut with the plain computation it replaces (or with what
the code did before it), on inputs chosen where the two could part."""

from __future__ import annotations

import dataclasses
import gc
import json
import pickle
import re
import types
from typing import Any

import pytest

from kubetrust import errors, policy
from kubetrust.chain import graph
from kubetrust.chain import sts as hops
from kubetrust.explain.gcpause import paused_gc
from kubetrust.model import account_dump
from kubetrust.model.iam import AccountIam, NamedDocument, Role
from kubetrust.model.topology import Topology
from kubetrust.policy import PolicyKind, compact, matching, parse_policy, slotted
from kubetrust.policy import document as policy_document

A = "111111111111"
V = "2012-10-17"


# ---------------------------------------------------------------- compact JSON
@pytest.mark.parametrize(
    "document",
    [
        {"Version": V, "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
        {"Statement": {"Sid": 'élan ✓ \u2028 "quoted" \\', "Condition": {"N": [1, 2.5, -3e-7]}}},
        {"k": [True, False, None, 10**30, float("inf"), float("nan"), {"": []}]},
        {},
    ],
)
def test_compact_json_is_what_json_dumps_gives(document: dict[str, Any]) -> None:
    expected = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    assert compact.compact_json(document) == expected


def test_compact_json_fails_as_json_dumps_does() -> None:
    circular: dict[str, Any] = {"Statement": []}
    circular["Statement"].append(circular)
    with pytest.raises(ValueError, match="Circular reference"):
        compact.compact_json(circular)
    with pytest.raises(TypeError, match="not JSON serializable"):
        compact.compact_json({"when": object()})
    proxy = types.MappingProxyType({"a": 1})  # a mapping that is not a dict
    with pytest.raises(TypeError):
        json.dumps(proxy)
    with pytest.raises(TypeError):
        compact.compact_json(proxy)
    # and a good document right after a failure still encodes (no state left behind)
    assert compact.compact_json({"a": [1]}) == '{"a":[1]}'


# ---------------------------------------------------------------- wildcard-free patterns
PATTERNS = [
    ("sts:AssumeRole",),
    ("sts:AssumeRole", "iam:*", "s3:Get?bject"),
    ("arn:aws:iam::111111111111:role/ci",),
    ("arn:aws:iam::111111111111:role/ci", "arn:aws:iam::*:role/team-*", ""),
    ("k", "sts:x", "ünïcode:Action"),
]
TEXTS = [
    "sts:AssumeRole",
    "STS:assumerole",
    "sts:AssumeRoleX",
    "\u017fts:AssumeRole",  # LATIN SMALL LETTER LONG S: `re` folds it to s
    "\u212a",  # KELVIN SIGN: `re` folds it to k
    "K",
    "iam:PassRole",
    "s3:GetObject",
    "arn:aws:iam::111111111111:role/ci",
    "arn:aws:iam::111111111111:role/CI",
    "arn:aws:iam::222222222222:role/team-a",
    "",
    "ÜNÏCODE:action",
    "sts:x",
]


def _regex_decision(patterns: tuple[str, ...], mode: str, text: str) -> bool:
    """What one regex per pattern decides (the path wildcard-free patterns used to take)."""
    flags = re.DOTALL | (re.IGNORECASE if mode == matching.ACTION else 0)
    for pattern in patterns:
        source = matching.glob_regex(((pattern, True),), mode)
        if source is not None and re.fullmatch(source, text, flags):
            return True
    return False


@pytest.mark.parametrize("patterns", PATTERNS)
@pytest.mark.parametrize("mode", [matching.ACTION, matching.RESOURCE])
def test_literal_patterns_match_as_their_regex(patterns: tuple[str, ...], mode: str) -> None:
    glob = matching.compile_globs(patterns, mode)
    for text in TEXTS:
        assert bool(glob.fullmatch(text)) is _regex_decision(patterns, mode, text), text


def test_literal_action_folds_case_like_iam() -> None:
    glob = matching.compile_globs(("sts:AssumeRole",), matching.ACTION)
    assert glob.fullmatch("STS:ASSUMEROLE")
    assert glob.fullmatch("sts:assumerolewithwebidentity") is None
    resource = matching.compile_globs(("arn:aws:iam::111111111111:role/Ci",), matching.RESOURCE)
    assert resource.fullmatch("arn:aws:iam::111111111111:role/ci") is None


# ---------------------------------------------------------------- validation per value
def _identity(*actions: str, resource: str = "*") -> dict[str, Any]:
    return {
        "Version": V,
        "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}],
    }


def test_an_action_valid_in_an_identity_policy_is_still_refused_in_a_trust() -> None:
    parse_policy(_identity("s3:GetObject"), PolicyKind.IDENTITY)
    trust = {
        "Version": V,
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"}],
    }
    with pytest.raises(errors.PolicyParseError) as caught:
        parse_policy(trust, PolicyKind.TRUST)
    assert caught.value.path == "Statement[0].Action"


def test_each_bad_value_is_reported_every_time_with_its_own_path() -> None:
    parse_policy(_identity("s3:GetObject"), PolicyKind.IDENTITY)
    for position in (0, 1):
        actions = ["s3:GetObject", "s3:GetObject"]
        actions[position] = "nocolon"
        doc = {"Version": V, "Statement": [_identity("s3:GetObject")["Statement"][0]] * position}
        doc["Statement"] = [
            *doc["Statement"],
            {"Effect": "Allow", "Action": actions, "Resource": "*"},
        ]
        with pytest.raises(errors.PolicyParseError) as caught:
            parse_policy(doc, PolicyKind.IDENTITY)
        assert caught.value.path == f"Statement[{position}].Action"
    with pytest.raises(errors.PolicyParseError, match="ARN format"):
        parse_policy(_identity("s3:GetObject", resource="bucket"), PolicyKind.IDENTITY)
    with pytest.raises(errors.PolicyParseError, match="ARN format"):
        parse_policy(_identity("s3:GetObject", resource="bucket"), PolicyKind.IDENTITY)


def test_a_principal_accepted_once_is_accepted_again_and_a_bad_one_never() -> None:
    good = {"AWS": f"arn:aws:iam::{A}:role/ci"}
    bad = {"AWS": f"arn:aws:iam::{A}:role/c*"}
    for _ in range(2):
        statement = {"Effect": "Allow", "Principal": good, "Action": "sts:AssumeRole"}
        parsed = parse_policy({"Version": V, "Statement": [statement]}, PolicyKind.TRUST)
        assert parsed.statements[0].principal is not None
        assert parsed.statements[0].principal.aws == (good["AWS"],)
        statement = {"Effect": "Allow", "Principal": bad, "Action": "sts:AssumeRole"}
        with pytest.raises(errors.PolicyParseError) as caught:
            parse_policy({"Version": V, "Statement": [statement]}, PolicyKind.TRUST)
        assert caught.value.path == "Statement[0].Principal.AWS"


def test_policy_kind_hashes_by_identity_and_survives_pickling() -> None:
    kinds = {kind: kind.value for kind in PolicyKind}
    assert kinds[pickle.loads(pickle.dumps(PolicyKind.TRUST))] == "trust"
    assert kinds[PolicyKind("identity")] == "identity"


# ---------------------------------------------------------------- the audit's edge judge
def _doc(kind: PolicyKind, *statements: dict[str, Any]) -> policy.PolicyDocument:
    return parse_policy({"Version": V, "Statement": list(statements)}, kind)


def _role(name: str, trust: policy.PolicyDocument, *identity: policy.PolicyDocument) -> Role:
    return Role(
        arn=f"arn:aws:iam::{A}:role/{name}",
        name=name,
        account=A,
        role_id=f"AROA{name.upper():0<17}"[:21],
        trust=trust,
        inline=tuple(NamedDocument(f"inline {i}", d) for i, d in enumerate(identity)),
    )


def _same_account_topology() -> tuple[Topology, Role, list[Role]]:
    allow_assume = _doc(
        PolicyKind.IDENTITY, {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}
    )
    caller = _role(
        "caller",
        _doc(
            PolicyKind.TRUST,
            {"Effect": "Allow", "Principal": {"AWS": A}, "Action": "sts:AssumeRole"},
        ),
        allow_assume,
    )
    names_role = {"AWS": caller.arn}
    targets = [
        # named by the role: allowed within the account whatever the identity side says
        _role(
            "named",
            _doc(
                PolicyKind.TRUST,
                {"Effect": "Allow", "Principal": names_role, "Action": "sts:AssumeRole"},
            ),
        ),
        # named by the account: the identity policy must allow too (it does)
        _role(
            "account",
            _doc(
                PolicyKind.TRUST,
                {"Effect": "Allow", "Principal": {"AWS": A}, "Action": "sts:AssumeRole"},
            ),
        ),
        # a condition the inputs cannot meet: a near miss, with the condition
        _role(
            "external",
            _doc(
                PolicyKind.TRUST,
                {
                    "Effect": "Allow",
                    "Principal": names_role,
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": "secret"}},
                },
            ),
        ),
        # an explicit deny: no near miss
        _role(
            "denied",
            _doc(
                PolicyKind.TRUST,
                {"Effect": "Allow", "Principal": names_role, "Action": "sts:AssumeRole"},
                {"Effect": "Deny", "Principal": names_role, "Action": "sts:AssumeRole"},
            ),
        ),
    ]
    roles = {r.name.lower(): r for r in (caller, *targets)}
    return Topology.build([AccountIam(A, roles)]), caller, targets


def _assume_role_verdict(topology: Topology, caller: Role, target: Role) -> graph.Verdict:
    """The verdict as the judge computed it before: through ``hops.assume_role``."""
    hop = hops.assume_role(
        graph.caller_arn(caller),
        graph.caller_side(topology, caller),
        graph.role_side(topology, target),
        session_name=graph.SESSION_NAME,
        context=graph.caller_context(caller, topology=topology),
    )
    failed = hop.failed
    if failed is None:
        return graph.Verdict(True)
    decision = failed.trust_side
    if decision.outcome is policy.Outcome.EXPLICIT_DENY:
        return graph.Verdict(False)
    details = (r.detail for r in decision.reasons if r.effect == "NotApplicable")
    return graph.Verdict(False, tuple(dict.fromkeys(details)))


def test_same_account_verdicts_are_those_of_assume_role() -> None:
    topology, caller, targets = _same_account_topology()
    judge = graph.EdgeJudge(topology)
    verdicts = {t.name: judge.judge(caller, t) for t in targets}
    for target in targets:
        assert verdicts[target.name] == _assume_role_verdict(topology, caller, target)
        assert judge.judge(caller, target) == verdicts[target.name]  # memoized: the same
    assert verdicts["named"].allowed and verdicts["account"].allowed
    assert not verdicts["external"].allowed and verdicts["external"].conditional
    assert verdicts["denied"] == graph.Verdict(False)


def test_a_changed_role_under_the_same_arn_is_judged_afresh() -> None:
    topology, caller, targets = _same_account_topology()
    judge = graph.EdgeJudge(topology)
    assert judge.judge(caller, targets[1]).allowed
    stripped = dataclasses.replace(caller, inline=())  # no identity permission any more
    assert not judge.judge(stripped, targets[1]).allowed


# ---------------------------------------------------------------- one trust index per topology
def test_the_trust_index_is_built_once_per_topology() -> None:
    topology, caller, _ = _same_account_topology()
    index = graph.TrustIndex.of(topology)
    assert graph.TrustIndex.of(topology) is index
    assert {r.name for r in index.naming(caller)} == {"named", "external", "denied"}
    smaller = dataclasses.replace(topology, accounts={A: AccountIam(A, {"caller": caller})})
    assert graph.TrustIndex.of(smaller) is not index
    assert graph.TrustIndex.of(smaller).naming(caller) == []


# ---------------------------------------------------------------- paused collection
@pytest.mark.parametrize("enabled", [True, False])
def test_paused_gc_restores_the_collector_and_freezes_what_was_built(enabled: bool) -> None:
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with paused_gc():
            assert not gc.isenabled()
            built = [{"n": n} for n in range(100)]
        assert gc.isenabled() is enabled
        assert gc.get_freeze_count() >= len(built)
    finally:
        gc.unfreeze()
        (gc.enable if was else gc.disable)()


# ---------------------------------------------------------------- slotted constructors
def _every_field(cls: type, seed: int) -> tuple[Any, ...]:
    """A distinct value per field (none equal to its default), in field order."""
    return tuple(f"{cls.__name__}-{field.name}-{seed}" for field in dataclasses.fields(cls))


@pytest.mark.parametrize(
    "cls",
    [
        policy.Statement,
        policy.PolicyDocument,
        policy_document.PrincipalBlock,
        Role,
        NamedDocument,
    ],
)
def test_a_slotted_constructor_builds_what_init_builds(cls: type) -> None:
    values = _every_field(cls, 1)
    made = slotted.constructor(cls)(*values)
    expected = cls(**{f.name: v for f, v in zip(dataclasses.fields(cls), values, strict=True)})
    assert type(made) is cls
    assert made == expected
    assert [getattr(made, f.name) for f in dataclasses.fields(cls)] == list(values)
    assert made != slotted.constructor(cls)(*_every_field(cls, 2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.__setattr__(dataclasses.fields(cls)[0].name, "changed")


def test_a_slotted_constructor_takes_every_field_and_no_more() -> None:
    make = slotted.constructor(NamedDocument)
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        make("only a name")
    with pytest.raises(TypeError, match="takes 2 positional arguments but 3 were given"):
        make("name", None, "extra")


def test_a_slotted_constructor_refuses_classes_it_cannot_build_exactly() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            raise AssertionError("never skipped")

    @dataclasses.dataclass(frozen=True, slots=True)
    class Derived(NamedDocument):
        extra: int = 0

    @dataclasses.dataclass(frozen=True, slots=True)
    class Computed:
        a: int
        b: int = dataclasses.field(init=False, default=0)

    class Plain:
        __slots__ = ("a",)

    for cls, reason in (
        (NoSlots, "not exactly its slots"),
        (Checked, "does more than set its fields"),
        (Derived, "without base classes"),
        (Computed, "does more than set its fields"),
        (Plain, "not a dataclass"),
    ):
        with pytest.raises(TypeError, match=reason):
            slotted.constructor(cls)


def test_a_restorer_brings_back_every_slot_without_running_post_init() -> None:
    """What unpickling needs: the exact state, ``init=False`` fields included, and no
    ``__post_init__`` run again; a class whose state is not its slots is refused."""

    @dataclasses.dataclass(frozen=True, slots=True)
    class Computed:
        a: int
        b: int = dataclasses.field(init=False, default=0)

        def __post_init__(self) -> None:
            object.__setattr__(self, "b", self.a * 2)

    original = Computed(4)
    restored = slotted.restorer(Computed)(4, 8)
    assert (restored.a, restored.b) == (4, 8) and restored == original
    assert slotted.restorer(Computed)(4, 99).b == 99  # stored as given, not recomputed
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        slotted.restorer(Computed)(4)

    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    with pytest.raises(TypeError, match="not exactly its slots"):
        slotted.restorer(NoSlots)


def test_parsed_documents_and_roles_equal_what_init_builds() -> None:
    """The loader's fast-built values compare (and hash) equal to ``__init__``-built ones."""
    trust = {
        "Version": V,
        "Statement": [
            {"Sid": "ci", "Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": f"arn:aws:iam::{A}:root", "Service": "ec2.amazonaws.com"}},
        ],
    }  # fmt: skip
    parsed = parse_policy(trust, PolicyKind.TRUST)
    block = policy_document.PrincipalBlock(
        aws=(f"arn:aws:iam::{A}:root",), service=("ec2.amazonaws.com",)
    )
    statement = policy.Statement(
        index=0, sid="ci", effect="Allow", action=("sts:AssumeRole",), principal=block
    )
    expected = policy.PolicyDocument(PolicyKind.TRUST, V, None, (statement,))
    assert parsed == expected and hash(parsed) == hash(expected)
    dump = {
        "RoleDetailList": [
            {"Arn": f"arn:aws:iam::{A}:role/team/deployer", "RoleId": "AROAX",
             "AssumeRolePolicyDocument": trust, "MaxSessionDuration": 7200,
             "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": {"Statement": {
                 "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}}],
             "Tags": [{"Key": "team", "Value": "a"}]},
        ]
    }  # fmt: skip
    iam, problems = account_dump.parse_authorization_details(dump)
    assert problems == []
    inline = parse_policy(
        {"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}},
        PolicyKind.IDENTITY,
    )
    assert iam.roles["deployer"] == Role(
        arn=f"arn:aws:iam::{A}:role/team/deployer",
        name="deployer",
        account=A,
        path="/team/",
        role_id="AROAX",
        trust=expected,
        trust_text=compact.compact_json(trust),
        inline=(NamedDocument("inline p", inline),),
        max_session_duration=7200,
        max_session_known=True,
        tags={"team": "a"},
    )
    assert iam.roles["deployer"].tags == {"team": "a"}


@pytest.mark.parametrize(
    "resource",
    ["role/a", "role", "role:x/y", "a/b:c", "x:y", "", "/a", ":a", "assumed-role/r/s"],
)
def test_resource_type_without_the_regex_is_the_arns(resource: str) -> None:
    expected = re.split(r"[/:]", resource, maxsplit=1)[0]
    assert account_dump.resource_type(resource) == expected
