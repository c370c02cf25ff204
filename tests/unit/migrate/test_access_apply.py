"""aws-auth → access entries applied through the fake ports (kubetrust.migrate.access_apply)."""

from __future__ import annotations

from pathlib import Path

import pytest
from access_world import ADMINS, ALICE, CALLER, NODES, OPS, VIEWERS, Build, builder, world
from provision_fakes import Boom, FakePorts

from kubetrust.migrate import access_after as aa
from kubetrust.migrate import access_apply as apply
from kubetrust.migrate import journal
from kubetrust.model.topology import Topology
from kubetrust.provision import eventual
from kubetrust.yaml_codec import CODEC

T, REGION = "222222222222", "us-east-1"
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
NO_WAIT = eventual.Budget(0.0)


@pytest.fixture
def build(tmp_path: Path) -> Build:
    return builder(tmp_path / "bundles")


def fake_ports(mode: str = "CONFIG_MAP") -> FakePorts:
    ports = FakePorts()
    aws = ports.aws(T)
    aws.add_cluster(REGION, "legacy", mode)
    for name in ("admins", "viewers", "nodes", "ops", "alice"):  # the fake sees them as principals
        aws.roles[name] = {}
    data = {k: CODEC.dump(v) for k, v in world()["clusters"][0]["aws_auth"].items()}
    ports.cluster(T, REGION, "legacy").create_config_map("kube-system", "aws-auth", data, {})
    ports.recorder.writes.clear()
    return ports


def decide(topology: Topology, **kw: object) -> aa.AccessMove:
    cluster = aa.find_cluster(topology, "legacy", None)
    return aa.decide(
        topology,
        cluster,
        caller_arn=CALLER,
        requested_mode=kw.get("mode"),  # type: ignore[arg-type]
        remove_aws_auth=bool(kw.get("remove")),
    )


def run(ports: FakePorts, move: aa.AccessMove, directory: Path) -> list[apply.Applied]:
    book = journal.Journal.create(directory, apply.migration_header(move, {}))
    return apply.apply_move(ports, move, book, budget=NO_WAIT)


def test_apply_creates_every_entry_after_the_mode_and_a_rerun_writes_nothing(
    build: Build, tmp_path: Path
) -> None:
    ports, move = fake_ports(), decide(build(world()))
    run(ports, move, tmp_path / "b1")
    writes = ports.recorder.writes
    assert writes[0] == f"{T} update_authentication_mode legacy API_AND_CONFIG_MAP"
    assert f"{T} create_access_entry legacy {NODES} EC2_LINUX" in writes
    assert f"{T} associate_access_policy legacy {ADMIN_POLICY}" in writes
    entries = ports.aws(T).entries
    assert entries[(REGION, "legacy", OPS)]["username"] == "ops:{{SessionName}}"
    assert entries[(REGION, "legacy", ALICE)]["groups"] == ["viewers"]
    assert not any("config_map" in w for w in writes)  # aws-auth untouched by default
    count = len(writes)
    steps = run(ports, move, tmp_path / "b2")
    assert len(ports.recorder.writes) == count and not any(s.changed for s in steps)
    kinds = [s.undo["kind"] for s in journal.read_steps(tmp_path / "b1")]
    assert kinds == ["authentication_mode"] + ["access_entry"] * 5


def test_a_run_killed_after_a_step_is_resumed_from_its_backup(build: Build, tmp_path: Path) -> None:
    ports, before = fake_ports(), build(world())
    move = decide(before)
    ports.recorder.fail_on.add("associate_access_policy")
    root = tmp_path / "backups"
    directory = root / "migrate-access-entries-legacy-20250101T000000Z"
    with pytest.raises(Boom):
        run(ports, move, directory)
    steps = journal.read_steps(directory)
    assert [s.done for s in steps] == [True, False]  # the admins entry: started, not done
    assert apply.unfinished_backup(root, T, REGION, "legacy") == directory
    # the world as re-read now: the mode moved, the admins entry exists without its policy
    now = build(
        world(
            mode="API_AND_CONFIG_MAP",
            access_entries=[{"principalArn": ADMINS, "username": "admin"}],
        )
    )
    restored = apply.world_before_backup(now, directory, now.clusters[0].info.arn)
    assert restored.clusters[0].info.authentication_mode == "CONFIG_MAP"
    assert restored.clusters[0].access_entries == ()
    ports.recorder.fail_on.clear()
    again = decide(restored)
    assert ADMINS in {e.principal_arn for e in again.plan.entries}
    run(ports, again, directory)
    assert ports.aws(T).entries[(REGION, "legacy", ADMINS)]["policies"] == {ADMIN_POLICY: None}
    assert {p for (_, _, p) in ports.aws(T).entries} >= {ADMINS, VIEWERS, NODES, OPS, ALICE}
    undo = [s.undo for s in journal.read_steps(directory)]
    assert {
        "kind": "access_policy",
        "principal": ADMINS,
        "policy_arn": ADMIN_POLICY,
    }.items() <= undo[-5].items()
    apply.finish(directory, {})
    assert apply.unfinished_backup(root, T, REGION, "legacy") is None


def test_removing_aws_auth_entries_keeps_what_is_not_carried(build: Build, tmp_path: Path) -> None:
    ports, move = fake_ports(), decide(build(world()), remove=True)
    run(ports, move, tmp_path / "b")
    live = ports.cluster(T, REGION, "legacy").get_config_map("kube-system", "aws-auth")
    assert live is not None
    assert "mapRoles" not in live.data and "mapUsers" not in live.data
    assert CODEC.load(live.data["mapAccounts"]) == ["333333333333"]
    (step,) = [s for s in journal.read_steps(tmp_path / "b") if s.undo["kind"] == "config_map"]
    assert "mapRoles" in step.undo["before"] and step.undo["name"] == "aws-auth"


def test_api_mode_comes_last_after_every_entry(build: Build, tmp_path: Path) -> None:
    aws_auth = {k: v for k, v in world()["clusters"][0]["aws_auth"].items() if k != "mapAccounts"}
    ports, move = fake_ports(), decide(build(world(aws_auth)), mode="API")
    run(ports, move, tmp_path / "b")
    writes = ports.recorder.writes
    assert writes[-1] == f"{T} update_authentication_mode legacy API"
    assert writes[0] == f"{T} update_authentication_mode legacy API_AND_CONFIG_MAP"


def test_an_entry_someone_else_made_differently_is_not_touched(
    build: Build, tmp_path: Path
) -> None:
    ports, move = fake_ports("API_AND_CONFIG_MAP"), decide(build(world()))
    ports.aws(T).entries[(REGION, "legacy", VIEWERS)] = {
        "username": "x",
        "groups": ["other"],
        "policies": {},
    }
    with pytest.raises(Exception, match="someone else made it"):
        run(ports, move, tmp_path / "b")
