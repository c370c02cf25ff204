"""The world file: what it builds, and every rule it enforces, each failing with the file,
the place and a message a user can act on (the ``organization:`` block: test_world_org)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubetrust import errors
from kubetrust.sandbox.world import DEFAULT_REGION, RoleSpec, World, load_world, parse_world

A, B = "111111111111", "222222222222"
ALLOW = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": A}, "Action": "sts:AssumeRole"}],
}
RCP = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}],
}


def _role(**change: Any) -> dict[str, Any]:
    return {"name": "deployer", "trust": TRUST, **change}


def _account(**change: Any) -> dict[str, Any]:
    return {"accounts": [{"id": A, **change}]}


def test_no_file_and_an_empty_world_are_the_default_world() -> None:
    assert load_world(None) == World() == parse_world({})
    assert World().region == DEFAULT_REGION
    assert [a.id for a in World().accounts] == [A, B]


def test_a_full_account_is_read_whole() -> None:
    world = parse_world(
        {
            "region": "eu-west-3",
            "accounts": [
                {
                    "id": A,
                    "name": "ci",
                    "scps": [[ALLOW], [ALLOW, ALLOW]],
                    "rcps": [[RCP]],
                    "roles": [
                        _role(policies={"all": ALLOW}, path="/team/", max_session_duration=7200)
                    ],
                    "buckets": ["ci-artifacts"],
                    "clusters": ["ci"],
                },
                {"id": B},
            ],
        }
    )
    assert world.region == "eu-west-3" and world.organization is None
    ci, other = world.accounts
    assert (ci.name, other.name) == ("ci", B)  # the name defaults to the id
    assert [len(level) for level in ci.scps] == [1, 2] and len(ci.rcps) == 1
    assert json.loads(ci.scps[0][0]) == ALLOW  # levels are JSON text
    assert ci.roles == (RoleSpec("deployer", TRUST, {"all": ALLOW}, "/team/", 7200),)
    assert (ci.buckets, ci.clusters) == (("ci-artifacts",), ("ci",))


# (world, the place and the message expected after "w.yaml: ")
REFUSED = [
    ([], "a world must be a mapping"),
    ({"regions": "us-east-1"}, "unknown key `regions` (did you mean `region`?)"),
    ({"region": "mars"}, "region: `mars` is not an AWS region"),
    ({"accounts": []}, "accounts: must be a non-empty list"),
    ({"accounts": {"id": A}}, "accounts: must be a list, not a mapping"),
    ({"accounts": [A]}, "accounts[0]: must be a mapping, not `111111111111`"),
    ({"accounts": [{"name": "ci"}]}, "accounts[0]: missing required key `id`"),
    (_account(color="red"), "accounts[0]: unknown key `color` (expected one of `id`, "),
    ({"accounts": [{"id": 12345}]}, "accounts[0].id: 12345 is a number: an AWS account id"),
    ({"accounts": [{"id": "12345"}]}, "accounts[0].id: `12345` is not an AWS account id"),
    ({"accounts": [{"id": A}, {"id": A}]}, "accounts[1].id: account 111111111111 appears twice"),
    (_account(name=3), "accounts[0].name: must be a string, not 3"),
    (_account(scps=[ALLOW]), "accounts[0].scps[0]: must be a level: a list of policy documents"),
    (_account(scps=[[{"Statement": "x"}]]), "accounts[0].scps[0][0]: Syntax errors in policy"),
    (_account(rcps=[[ALLOW]]), "accounts[0].rcps[0][0]: Missing required field Principal"),
    (_account(rcps=[["{}"]]), "accounts[0].rcps[0][0]: must be a mapping"),
    (_account(roles={}), "accounts[0].roles: must be a list, not a mapping"),
    (_account(roles=["r"]), "accounts[0].roles[0]: must be a mapping"),
    (_account(roles=[_role(tags=[])]), "accounts[0].roles[0]: unknown key `tags`"),
    (_account(roles=[_role(name="a b")]), "accounts[0].roles[0].name: `a b` is not a valid IAM"),
    (_account(roles=[_role(name="é")]), "accounts[0].roles[0].name: `é` is not a valid IAM"),
    (_account(roles=[{"name": "r"}]), "accounts[0].roles[0]: missing required key `trust`"),
    (_account(roles=[_role(trust=ALLOW)]), "accounts[0].roles[0].trust: Has prohibited field"),
    (_account(roles=[_role(trust="{}")]), "accounts[0].roles[0].trust: must be a mapping"),
    (_account(roles=[_role(policies=[])]), "accounts[0].roles[0].policies: must be a mapping"),
    (
        _account(roles=[_role(policies={"p": TRUST})]),
        "accounts[0].roles[0].policies.p: Policy statement must contain resources",
    ),
    (
        _account(roles=[_role(policies={1: ALLOW})]),
        "accounts[0].roles[0].policies: a key must be a string, not 1",
    ),
    (_account(roles=[_role(path="team/")]), "accounts[0].roles[0].path: `team/` is not a role"),
    (
        _account(roles=[_role(max_session_duration=60)]),
        "accounts[0].roles[0].max_session_duration: 60 is not a valid max session duration",
    ),
    (
        _account(roles=[_role(max_session_duration="7200")]),
        "accounts[0].roles[0].max_session_duration: must be an integer, not `7200`",
    ),
    (_account(buckets="b"), "accounts[0].buckets: must be a list, not `b`"),
    (_account(buckets=["A_B"]), "accounts[0].buckets[0]: `A_B` is not a valid S3 bucket name"),
    (_account(clusters=["-x"]), "accounts[0].clusters[0]: `-x` is not a valid EKS cluster"),
    ({"organization": []}, "organization: must be a mapping, not a list"),
]


@pytest.mark.parametrize(("raw", "message"), REFUSED)
def test_invalid_worlds_are_refused_with_the_place(raw: Any, message: str) -> None:
    with pytest.raises(errors.InputError) as refused:
        parse_world(raw, "w.yaml")
    assert str(refused.value).startswith(f"w.yaml: {message}")


def test_every_field_problem_is_reported_at_once() -> None:
    raw = {"region": "x", "accounts": [{"id": A, "buckets": ["A"]}, {"id": "1"}]}
    with pytest.raises(errors.InputError) as refused:
        parse_world(raw, "w.yaml")
    assert str(refused.value).splitlines() == [
        "w.yaml: region: `x` is not an AWS region (like `us-east-1`)",
        "w.yaml: accounts[0].buckets[0]: `A` is not a valid S3 bucket name (3-63 lowercase "
        "letters, digits, . and -, starting and ending with a letter or digit)",
        "w.yaml: accounts[1].id: `1` is not an AWS account id (12 digits)",
    ]


def test_a_yaml_file_names_itself_and_the_place(tmp_path: Path) -> None:
    path = tmp_path / "world.yaml"
    path.write_text("accounts:\n  - id: 222222222222\n", encoding="utf-8")
    with pytest.raises(errors.InputError) as refused:
        load_world(path)
    assert str(refused.value) == (
        f"{path}: accounts[0].id: 222222222222 is a number: an AWS account id must be "
        "12 digits, quoted in YAML"
    )
    path.write_text('accounts:\n  - id: "222222222222"\n', encoding="utf-8")
    assert [a.id for a in load_world(path).accounts] == [B]


@pytest.mark.parametrize(
    ("content", "message"),
    [("accounts: [", "not valid YAML/JSON"), ("", "a world must be a mapping")],
)
def test_unreadable_world_files_are_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "world.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(errors.InputError, match=message):
        load_world(path)
    with pytest.raises(errors.InputError, match="cannot read world file"):
        load_world(tmp_path / "missing.yaml")
