"""The world file's ``organization:`` block: paths, levels and strict validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubetrust import errors
from kubetrust.explain import bundle
from kubetrust.sandbox.world import load_world, organization_json, parse_world

ALLOW = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
DENY_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}],
}
A, B, C = "111111111111", "222222222222", "333333333333"


def _world(**organization: Any) -> dict[str, Any]:
    block = {"id": "o-a1b2c3d4e5", "root": "r-ab12", "management_account": A, **organization}
    return {"organization": block, "accounts": [{"id": a} for a in (A, B, C)]}


NESTED = _world(
    scps=[ALLOW],
    ous=[
        {
            "id": "ou-ab12-11111111",
            "scps": [DENY_S3],
            "ous": [{"id": "ou-ab12-22222222", "accounts": [B]}],
        }
    ],
)


def test_paths_follow_the_tree_and_outsiders_have_none() -> None:
    world = parse_world(NESTED)
    member = world.org_of(B)
    assert member is not None
    assert member.id == "o-a1b2c3d4e5"
    assert member.paths == ("o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ou-ab12-22222222/",)
    management = world.org_of(A)
    assert management is not None and management.paths == ("o-a1b2c3d4e5/r-ab12/",)
    assert world.org_of(C) is None


def test_levels_follow_the_tree_but_not_for_the_management_account() -> None:
    world = parse_world(NESTED)
    member = world.account(B)
    assert member is not None
    assert [len(level) for level in member.scps] == [1, 1]  # root, OU; the child OU: default
    assert "s3:*" in member.scps[1][0]
    management = world.account(A)
    assert management is not None and management.scps == ()


def test_the_accounts_own_levels_come_after_the_trees() -> None:
    raw = _world(scps=[ALLOW], accounts=[B])
    raw["accounts"][1]["scps"] = [[DENY_S3]]
    member = parse_world(raw).account(B)
    assert member is not None and len(member.scps) == 2 and "s3:*" in member.scps[1][0]


def test_no_organization_means_no_membership() -> None:
    world = parse_world({"accounts": [{"id": A, "scps": [[ALLOW]]}]})
    assert world.organization is None and world.org_of(A) is None
    assert organization_json(world, A) == {"scps": [[ALLOW]], "rcps": []}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "o-short"}, "organization.id: `o-short` is not an organization id"),
        ({"id": "o-A1B2C3D4E5"}, "is not an organization id"),
        ({"root": "root"}, "organization.root: `root` is not a root id"),
        ({"management_account": "999999999999"}, "must be the id of an account of the world"),
        ({"ous": [{"id": "ou-zz99-11111111"}]}, "does not name the root `r-ab12`"),
        ({"ous": [{"id": "ou-ab12-1"}]}, "organization.ous[0].id: `ou-ab12-1` is not an OU id"),
        (
            {"ous": [{"id": "ou-ab12-11111111"}, {"id": "ou-ab12-11111111"}]},
            "organization.ous[1].id: OU `ou-ab12-11111111` appears twice",
        ),
        ({"accounts": [B, B]}, "organization.accounts[1]: account 222222222222 is placed twice"),
        ({"accounts": ["444444444444"]}, "is not in the world's accounts"),
        ({"scps": []}, "organization.scps: must be a non-empty list"),
        ({"scps": [{"Statement": "nope"}]}, "organization.scps[0]:"),
        ({"color": "red"}, "organization: unknown key `color`"),
        ({"ous": [{"id": "ou-ab12-11111111", "units": []}]}, "unknown key `units`"),
        (
            {
                "ous": [
                    {"id": "ou-ab12-11111111", "ous": [{"id": "ou-ab12-22222222", "acounts": []}]}
                ]
            },
            "organization.ous[0].ous[0]: unknown key `acounts` (did you mean `accounts`?)",
        ),
        (
            {"management_account": 111111111111},
            "organization.management_account: 111111111111 is a number",
        ),
        ({"accounts": ["1"]}, "organization.accounts[0]: `1` is not an AWS account id"),
        ({"accounts": B}, "organization.accounts: must be a list"),
        ({"ous": ["x"]}, "organization.ous[0]: must be a mapping"),
        (
            {"ous": [{"id": "ou-ab12-11111111", "name": 1}]},
            "organization.ous[0].name: must be a string",
        ),
        ({"scps": None}, "organization.scps: must be a list, not null"),
        ({"rcps": [ALLOW]}, "organization.rcps[0]: Missing required field Principal"),
    ],
)
def test_invalid_organizations_are_refused_with_the_place(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(errors.InputError) as refused:
        parse_world(_world(**change), "w.yaml")
    assert message in str(refused.value)
    assert str(refused.value).startswith("w.yaml: ")


def test_policies_on_accounts_the_scps_cannot_bind_are_refused() -> None:
    for account in (A, C):  # the management account; an account outside the organization
        raw = _world(accounts=[B])
        raw["accounts"][[A, B, C].index(account)]["scps"] = [[ALLOW]]
        with pytest.raises(errors.InputError, match=f"account {account} is"):
            parse_world(raw)


def test_world_file_round_trips_to_explain_bundle(tmp_path: Path) -> None:
    """What the sandbox enforces is what explain's bundle reads back (snapshot path)."""
    path = tmp_path / "world.json"
    path.write_text(json.dumps(NESTED), encoding="utf-8")
    world = load_world(path)
    found = organization_json(world, B)
    assert found is not None
    target = tmp_path / "organization.json"
    target.write_text(json.dumps(found), encoding="utf-8")
    read = bundle._org(target)
    assert read.org_id == "o-a1b2c3d4e5"
    assert read.paths == ("o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ou-ab12-22222222/",)
    assert len(read.scps) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"id": "o-bad"}, "is not an organization id"),
        ({"id": "o-a1b2c3d4e5", "path": "o-zzzzzzzzzz/r-ab12/"}, "must be the account's path"),
        ({"path": "o-a1b2c3d4e5/r-ab12/"}, "must be the account's path"),
        ({"id": "o-a1b2c3d4e5", "path": "o-a1b2c3d4e5/r-ab12/ou-x/"}, "must be the account's path"),
    ],
)
def test_bundle_org_facts_are_checked(
    tmp_path: Path, content: dict[str, Any], message: str
) -> None:
    target = tmp_path / "organization.json"
    target.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(bundle.BundleError, match=message):
        bundle._org(target)


def test_old_bundles_without_org_facts_still_load(tmp_path: Path) -> None:
    target = tmp_path / "organization.json"
    target.write_text(json.dumps({"scps": [[ALLOW]]}), encoding="utf-8")
    read = bundle._org(target)
    assert read.org_id is None and read.paths == () and len(read.scps) == 1
