"""IRSA → Pod Identity applied through the in-memory ports: journalled, rerunnable,
resumable after a kill."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support.provision_fakes import Boom, FakePorts

from kubetrust.explain import bundle, worlds
from kubetrust.migrate import journal
from kubetrust.migrate import pod_identity_apply as applying
from kubetrust.migrate import pod_identity_config as config
from kubetrust.migrate import pod_identity_documents as docs
from kubetrust.migrate import pod_identity_plan as planning
from kubetrust.model.eks import ROLE_ANNOTATION
from kubetrust.provision.ports import ClusterRef, LivePod

from .test_pod_identity_plan import CI, CI_ROLE, SA, SEED_CONFIG, SEED_WORLD, TARGET

REGION = "us-east-1"
SETTLED = applying.Settings(settle_seconds=0.0, sleep=lambda seconds: None)


@pytest.fixture
def world() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(SEED_WORLD.read_text(encoding="utf-8")))


def _ports(world: dict[str, Any]) -> FakePorts:
    """The seed's live state in the fakes, as the world says it."""
    ports = FakePorts()
    ports.aws(CI).add_cluster(REGION, "ci-cluster")
    for account in world["accounts"]:
        aws = ports.aws(account["id"])
        for role in account["roles"]:
            aws.roles[role["name"]] = {
                "trust": copy.deepcopy(role["trust"]),
                "max": 3600,
                "tags": {},
                "inline": copy.deepcopy(role.get("policies", {})),
                "attached": [],
            }
    kube = ports.cluster(CI, REGION, "ci-cluster")
    kube._put("sa", SA[0], SA[1], annotations={ROLE_ANNOTATION: CI_ROLE})
    kube._put("cm", SA[0], "awsconfig", data={"config": SEED_CONFIG})
    kube.pods += [
        LivePod(SA[0], "web-1", SA[1], "ReplicaSet/web-5d9c"),
        LivePod(SA[0], "other", "default"),
    ]
    return ports


def _plan(world: dict[str, Any], tmp_path: Path, **request: Any) -> planning.Plan:
    root = tmp_path / "bundle"
    if not root.exists():
        worlds.write_bundle(world, root)
    before = bundle.load_bundle([root])
    pod_config = config.PodConfig(SA[0], "awsconfig", {"config": SEED_CONFIG})
    return planning.plan(before, planning.Request("ci-cluster", pod_config=pod_config, **request))


def _journal(tmp_path: Path) -> journal.Journal:
    return journal.Journal.create(tmp_path / "backup", {"kind": "pod-identity"})


def test_apply_writes_each_change_once_journalled_and_a_rerun_writes_nothing(
    world: dict[str, Any], tmp_path: Path
) -> None:
    ports = _ports(world)
    plan = _plan(world, tmp_path)
    backup = _journal(tmp_path)
    applied = applying.apply(plan, ports, backup, SETTLED)
    writes = list(ports.recorder.writes)
    assert writes == [
        f"{CI} create_addon ci-cluster eks-pod-identity-agent",
        f"{CI} update_trust ci-account-iam-role",
        f"{TARGET} update_trust target-account-iam-role",
        f"{CI} put_role_policy ci-account-iam-role/{docs.TAG_SESSION_POLICY}",
        f"{CI} create_pod_identity_association ci-cluster ci-namespace/ci-serviceaccount",
        "ci-cluster replace_config_map ci-namespace/awsconfig",
    ]
    assert applied.addon_installed
    steps = journal.read_steps(backup.directory)
    assert [s.undo["kind"] for s in steps] == [
        "trust",
        "trust",
        "role_policy",
        "association",
        "config_map",
    ]
    assert all(s.done for s in steps)
    assert steps[0].undo["before"] == world["accounts"][0]["roles"][0]["trust"]
    assert steps[2].undo["before"] is None
    trust = ports.aws(CI).roles["ci-account-iam-role"]["trust"]
    assert len(trust["Statement"]) == 2  # the web identity one stays

    again = applying.apply(plan, ports, _journal(tmp_path / "rerun"), SETTLED)
    assert ports.recorder.writes == writes
    assert again.done == [] and len(again.already) == 5
    assert len(ports.aws(CI).roles["ci-account-iam-role"]["trust"]["Statement"]) == 2


def test_a_run_killed_after_the_trusts_resumes_with_the_rest(
    world: dict[str, Any], tmp_path: Path
) -> None:
    ports = _ports(world)
    plan = _plan(world, tmp_path)
    ports.recorder.fail_on.add("create_pod_identity_association")
    backup = _journal(tmp_path)
    with pytest.raises(Boom):
        applying.apply(plan, ports, backup, SETTLED)
    steps = journal.read_steps(backup.directory)
    assert [(s.undo["kind"], s.done) for s in steps][-1] == ("association", False)
    ports.recorder.fail_on.clear()
    first = len(ports.recorder.writes)
    resumed = applying.apply(plan, ports, journal.Journal(backup.directory), SETTLED)
    assert ports.recorder.writes[first:] == [
        f"{CI} create_pod_identity_association ci-cluster ci-namespace/ci-serviceaccount",
        "ci-cluster replace_config_map ci-namespace/awsconfig",
    ]
    assert len(resumed.already) == 3
    trust = ports.aws(CI).roles["ci-account-iam-role"]["trust"]
    assert len(trust["Statement"]) == 2


def test_an_association_to_another_role_is_never_overridden(
    world: dict[str, Any], tmp_path: Path
) -> None:
    ports = _ports(world)
    plan = _plan(world, tmp_path)
    other = f"arn:aws:iam::{CI}:role/other"
    ports.aws(CI).roles["other"] = {
        "trust": {},
        "max": 3600,
        "tags": {},
        "inline": {},
        "attached": [],
    }
    ports.aws(CI).create_pod_identity_association(REGION, "ci-cluster", *SA, other, None, {})
    with pytest.raises(applying.MigrationConflict, match="now associated with"):
        applying.apply(plan, ports, _journal(tmp_path), SETTLED)


def test_remove_irsa_removes_the_annotation_last_and_journals_it(
    world: dict[str, Any], tmp_path: Path
) -> None:
    ports = _ports(world)
    plan = _plan(world, tmp_path, remove_irsa=True)
    backup = _journal(tmp_path)
    applying.apply(plan, ports, backup, SETTLED)
    assert ports.recorder.writes[-2:] == [
        f"{CI} update_trust ci-account-iam-role",
        "ci-cluster patch_service_account ci-namespace/ci-serviceaccount",
    ]
    trust = ports.aws(CI).roles["ci-account-iam-role"]["trust"]
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "pods.eks.amazonaws.com"}]
    last = journal.read_steps(backup.directory)[-1]
    assert last.undo["before"] == {ROLE_ANNOTATION: CI_ROLE}
    sa = ports.cluster(CI, REGION, "ci-cluster").get_service_account(*SA)
    assert sa is not None and ROLE_ANNOTATION not in sa.annotations


def test_the_pods_to_restart_are_those_of_the_migrated_service_accounts(
    world: dict[str, Any], tmp_path: Path
) -> None:
    ports = _ports(world)
    plan = _plan(world, tmp_path)
    pods = applying.pods_to_restart(plan, ports)
    assert [(p.name, p.owner) for p in pods] == [("web-1", "ReplicaSet/web-5d9c")]
    kube = ports.kube(ClusterRef(CI, REGION, "ci-cluster"))
    kube.pods[0] = LivePod(SA[0], "web-1", SA[1], "ReplicaSet/web-5d9c", pod_identity=True)
    assert applying.pods_to_restart(plan, ports) == []


def test_the_settle_is_waited_and_said(world: dict[str, Any], tmp_path: Path) -> None:
    ports = _ports(world)
    slept: list[float] = []
    said: list[str] = []
    settings = applying.Settings(settle_seconds=7.0, sleep=slept.append)
    applying.apply(_plan(world, tmp_path), ports, _journal(tmp_path), settings, said.append)
    assert slept == [7.0]
    assert any("settle 7 s" in line for line in said)
    assert json.dumps(applying.Applied().done) == "[]"
