"""chain.graph.TrustIndex: a trust naming a principal by its unique id (``AROA…``/``AIDA…``,
what IAM shows once the named principal was deleted, and valid input) names the one
principal holding that id now — so explain's chain search must find the edge — and never a
later principal of the same name (reference A.8)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from kubetrust.chain import graph, paths
from kubetrust.chain.links import Workload
from kubetrust.explain import bundle, worlds
from kubetrust.model.iam import Role, User
from kubetrust.policy import PolicyKind, parse_policy

A, B = "111111111111", "222222222222"
V = "2012-10-17"
SEED_WORLD = Path(__file__).resolve().parents[2] / "cases" / "explain" / "seed_world.yaml"


def _trust(*statements: dict[str, Any]) -> Any:
    return parse_policy({"Version": V, "Statement": list(statements)}, PolicyKind.TRUST)


def _allow(principal: Any, action: str = "sts:AssumeRole") -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action}


def _role(account: str, name: str, role_id: str, *statements: dict[str, Any]) -> Role:
    return Role(
        arn=f"arn:aws:iam::{account}:role/{name}",
        name=name,
        account=account,
        role_id=role_id,
        trust=_trust(*statements) if statements else None,
    )


CALLER_ID = "AROAAAAAAAAAAAAAAAAAA"
SUCCESSOR_ID = "AROABBBBBBBBBBBBBBBBB"
USER_ID = "AIDACCCCCCCCCCCCCCCCC"


def test_a_trust_naming_a_role_by_its_unique_id_names_that_role() -> None:
    caller = _role(A, "ci", CALLER_ID)
    target = _role(B, "target", "AROATARGETTARGETTARG1", _allow({"AWS": CALLER_ID}))
    index = graph.TrustIndex.build(iter([caller, target]))
    assert [r.name for r in index.naming(caller)] == ["target"]
    assert index.unique == {CALLER_ID: [target]}
    assert not index.roles and not index.exact  # an id is not filed as an ARN


def test_a_same_name_successor_is_not_named_by_its_predecessors_id() -> None:
    successor = _role(A, "ci", SUCCESSOR_ID)  # "ci" deleted and created again
    target = _role(B, "target", "AROATARGETTARGETTARG1", _allow({"AWS": CALLER_ID}))
    index = graph.TrustIndex.build(iter([successor, target]))
    assert index.naming(successor) == []


def test_a_user_named_by_its_unique_id() -> None:
    user = User(arn=f"arn:aws:iam::{A}:user/dev", name="dev", account=A, user_id=USER_ID)
    other = User(arn=f"arn:aws:iam::{A}:user/dev2", name="dev2", account=A, user_id="AIDAX" * 4)
    target = _role(B, "target", "AROATARGETTARGETTARG1", _allow({"AWS": [USER_ID]}))
    index = graph.TrustIndex.build(iter([target]))
    assert index.naming(user) == [target]
    assert index.naming(other) == []


def test_only_statements_that_can_allow_assume_role_are_indexed() -> None:
    caller = _role(A, "ci", CALLER_ID)
    denied = _role(
        B, "denied", "AROADENIEDDENIEDDENI1", {**_allow({"AWS": CALLER_ID}), "Effect": "Deny"}
    )
    tagging = _role(
        B, "tagging", "AROATAGGINGTAGGINGTA1", _allow({"AWS": CALLER_ID}, "sts:TagSession")
    )
    index = graph.TrustIndex.build(iter([caller, denied, tagging]))
    assert index.naming(caller) == []


def test_a_trust_naming_the_role_by_arn_and_by_id_is_one_candidate() -> None:
    caller = _role(A, "ci", CALLER_ID)
    both = _role(
        B,
        "both",
        "AROABOTHBOTHBOTHBOTH1",
        _allow({"AWS": [CALLER_ID, f"arn:aws:iam::{A}:role/ci"]}),
    )
    index = graph.TrustIndex.build(iter([caller, both]))
    assert index.naming(caller) == [both]


def _seed_with_id_trust(tmp_path: Path) -> Any:
    """The seed's world where the target role's trust names the CI role by its unique id,
    and the CI role may assume any role of the target account (no ARN names the target)."""
    world = copy.deepcopy(yaml.safe_load(SEED_WORLD.read_text(encoding="utf-8")))
    ci_role = f"arn:aws:iam::{A}:role/ci-account-iam-role"
    ci, target = world["accounts"]
    ci["roles"][0]["policies"]["assume-target"]["Statement"][0]["Resource"] = (
        f"arn:aws:iam::{B}:role/*"
    )
    trust = target["roles"][0]["trust"]["Statement"][0]
    trust["Principal"] = {"AWS": worlds.unique_id("AROA", ci_role)}
    root = tmp_path / "bundle"
    worlds.write_bundle(world, root)
    return bundle.load_bundle([root])


def test_explains_chain_search_finds_a_trust_naming_the_caller_by_id(tmp_path: Path) -> None:
    topology = _seed_with_id_trust(tmp_path)
    target = f"arn:aws:iam::{B}:role/target-account-iam-role"
    workload = Workload("ci-cluster", "ci-namespace", "ci-serviceaccount")
    goal = paths.AwsGoal("s3:ListAllMyBuckets", "*", account=B)
    found = paths.search(topology, workload, goal)
    assert found.roles == (f"arn:aws:iam::{A}:role/ci-account-iam-role", target)
    chain = paths.evaluate(topology, workload, found.roles, goal)
    assert chain.allowed, chain.failures


def test_roles_sharing_one_trust_document_are_each_filed_under_every_name() -> None:
    """The build reads a shared document once (documents are interned) and files every role
    holding it, exactly as indexing each role on its own does."""
    shared = _trust(
        _allow({"AWS": [f"arn:aws:iam::{A}:root", f"arn:aws:iam::{A}:role/ci", CALLER_ID]}),
        _allow({"Service": "EC2.amazonaws.com"}),
        _allow({"Federated": f"arn:aws:iam::{B}:oidc-provider/x"}, graph.WEB_IDENTITY),
        _allow("*"),
        _allow({"AWS": f"arn:aws:iam::{A}:user/u"}, "sts:TagSession"),
    )
    roles = [
        Role(arn=f"arn:aws:iam::{B}:role/r{n}", name=f"r{n}", account=B, trust=shared)
        for n in range(3)
    ]
    built = graph.TrustIndex.build(iter(roles))
    one_by_one = graph.TrustIndex()
    for role in roles:
        assert role.trust is not None
        one_by_one.add(role, role.trust)
    assert built == one_by_one
    assert built.accounts[A] == roles and built.roles[(A, "ci")] == roles
    assert built.unique[CALLER_ID] == roles and built.everyone == roles
    assert built.services["ec2.amazonaws.com"] == roles
    assert built.federated[f"arn:aws:iam::{B}:oidc-provider/x"] == roles
    assert f"arn:aws:iam::{A}:user/u" not in built.exact  # TagSession alone assumes nothing
    assert graph.trust_names(shared)[0] == ("account", A)
