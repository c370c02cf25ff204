"""aws-auth → access entries: the world after, the proof, refusals (kubetrust.migrate.access_*)."""

from __future__ import annotations

from pathlib import Path

import pytest
from access_world import (
    ADMINS,
    ALICE,
    AWS_AUTH,
    CALLER,
    MONITOR,
    NODES,
    OPS,
    VIEWERS,
    Build,
    T,
    builder,
    world,
)

from kubetrust import errors
from kubetrust.migrate import access_after as aa
from kubetrust.migrate import access_proof as ap
from kubetrust.model.topology import Topology


@pytest.fixture
def build(tmp_path: Path) -> Build:
    return builder(tmp_path)


def decide(
    topology: Topology, mode: str | None = None, remove: bool = False, caller: str = CALLER
) -> aa.AccessMove:
    cluster = aa.find_cluster(topology, "legacy", None)
    return aa.decide(
        topology, cluster, caller_arn=caller, requested_mode=mode, remove_aws_auth=remove
    )


def test_the_realistic_aws_auth_migrates_with_every_principal_the_same(build: Build) -> None:
    topology = build(world())
    move = decide(topology)
    assert move.modes == ("API_AND_CONFIG_MAP",)
    assert [(e.principal_arn, e.type) for e in move.plan.entries] == [
        (ADMINS, "STANDARD"),
        (VIEWERS, "STANDARD"),
        (NODES, "EC2_LINUX"),
        (OPS, "STANDARD"),
        (ALICE, "STANDARD"),
    ]
    assert [i.what for i in move.plan.not_carried] == ["333333333333"]
    proof = ap.prove(topology, move)
    keys = {d.principal.key for d in proof.differences}
    assert {ADMINS, VIEWERS, NODES, OPS, ALICE, CALLER} <= keys
    assert {d.principal.key: d.verdict for d in proof.differences} == dict.fromkeys(keys, "same")
    assert any(d.before.allowed for d in proof.differences if d.principal.key == VIEWERS)
    assert ap.refusal(ap.losses(proof.differences, move), (), move) == []


def test_the_after_world_has_the_entries_the_mode_and_an_untouched_aws_auth(build: Build) -> None:
    topology = build(world())
    move = decide(topology)
    after = aa.world_after(topology, move)
    (cluster,) = after.clusters
    assert cluster.info.authentication_mode == "API_AND_CONFIG_MAP"
    assert cluster.aws_auth == topology.clusters[0].aws_auth
    principals = {e.principal_arn for e in cluster.access_entries}
    assert principals == {ADMINS, VIEWERS, NODES, OPS, ALICE, CALLER}  # the creator's, by EKS


def test_the_unmapped_caller_of_a_config_map_cluster_is_taken_for_its_creator(build: Build) -> None:
    topology = build(world())
    assert decide(topology).creator == CALLER
    assert decide(topology, caller=f"arn:aws:sts::{T}:assumed-role/admins/me").creator is None
    assert decide(build(world(mode="API_AND_CONFIG_MAP"))).creator is None


def test_a_mapping_that_is_not_carried_loses_access_in_api_mode_and_is_refused_by_name(
    build: Build,
) -> None:
    aws_auth = {
        **AWS_AUTH,
        "mapRoles": [*AWS_AUTH["mapRoles"], {"rolearn": MONITOR, "groups": ["system:monitoring"]}],
    }
    topology = build(world(aws_auth))
    move = decide(topology, mode="API")
    assert move.modes == ("API_AND_CONFIG_MAP", "API")
    losses = ap.losses(ap.prove(topology, move).differences, move)
    reasons = ap.refusal(losses, (), move)
    monitor = next(r for r in reasons if r.startswith(MONITOR))
    assert "mapRoles[4] not carried" in monitor and "system:monitoring" in monitor
    assert any(r.startswith("333333333333 (mapAccounts[0]) would be locked out") for r in reasons)
    assert ap.refusal(losses, (MONITOR, "333333333333"), move) == []


def test_the_callers_own_loss_is_refused_even_when_accepted(build: Build) -> None:
    aws_auth = {
        "mapRoles": [
            {
                "rolearn": MONITOR,
                "username": "mon",
                "groups": ["system:masters", "system:monitoring"],
            }
        ]
    }
    topology = build(world(aws_auth))
    caller = f"arn:aws:sts::{T}:assumed-role/monitor/me"
    move = decide(topology, mode="API", caller=caller)
    assert move.caller == MONITOR
    losses = ap.losses(ap.prove(topology, move).differences, move)
    (reason,) = ap.refusal(losses, (MONITOR,), move)
    assert reason.startswith(f"{MONITOR} (you, the caller) would lose access")


def test_removing_aws_auth_entries_removes_only_the_migrated_ones(build: Build) -> None:
    aws_auth = {
        **AWS_AUTH,
        "mapRoles": [*AWS_AUTH["mapRoles"], {"rolearn": MONITOR, "groups": ["system:monitoring"]}],
    }
    topology = build(world(aws_auth))
    move = decide(topology, remove=True)
    after = aa.world_after(topology, move).clusters[0].aws_auth
    assert after is not None
    assert [r.role_arn for r in after.roles] == [MONITOR] and after.users == ()
    assert after.accounts == ("333333333333",)
    assert ap.losses(ap.prove(topology, move).differences, move) == []


def test_modes_go_one_way_and_the_cluster_is_found_by_account(build: Build) -> None:
    assert aa.mode_path("CONFIG_MAP", None, False) == ()
    assert aa.mode_path("API_AND_CONFIG_MAP", "API", True) == ("API",)
    with pytest.raises(errors.InputError, match="cannot go back"):
        aa.mode_path("API", "API_AND_CONFIG_MAP", True)
    topology = build(world())
    with pytest.raises(errors.InputError, match="no cluster `legacy` in account 111111111111"):
        aa.find_cluster(topology, "legacy", "111111111111")


def test_a_second_run_plans_nothing(build: Build) -> None:
    topology = build(world())
    move = decide(topology)
    entries = [
        {
            "principalArn": e.principal_arn,
            "type": e.type,
            "kubernetesGroups": list(e.kubernetes_groups),
            **({"username": e.username} if e.username else {}),
        }
        for e in move.plan.entries
    ]
    again = decide(build(world(mode="API_AND_CONFIG_MAP", access_entries=entries)))
    assert again.nothing_to_do and again.plan.entries == ()
