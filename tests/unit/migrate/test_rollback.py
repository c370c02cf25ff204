"""Rollback from a backup (kubetrust.migrate.rollback), through the in-memory fakes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.support.provision_fakes import Boom, FakePorts

from kubetrust.migrate import rollback as rb
from kubetrust.migrate.journal import Journal, JournalError
from kubetrust.provision.ports import AccessPolicy

A, R, C = "222222222222", "us-east-1", "target-cluster"
WHERE = {"account": A, "region": R, "cluster": C}
ROLE = f"arn:aws:iam::{A}:role/viewers"
OLD_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": "x"}}],
}
NEW_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        *OLD_TRUST["Statement"],
        {
            "Effect": "Allow",
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Principal": {"Service": "pods.eks.amazonaws.com"},
        },
    ],
}
AWS_AUTH_BEFORE = {"mapRoles": "- rolearn: x\n  groups: [viewers]\n"}


def world(mode: str = "API_AND_CONFIG_MAP") -> FakePorts:
    """The state *after* a migration: an entry and a policy created, aws-auth emptied, a
    trust and an inline policy changed, an association created, an annotation removed."""
    ports = FakePorts()
    aws = ports.aws(A)
    aws.add_cluster(R, C, mode)
    aws.create_role("viewers", NEW_TRUST, 3600, {}, "")
    aws.put_role_policy("viewers", "hop", {"Statement": []})
    aws.create_access_entry(R, C, ROLE, None, ["viewers"], {})
    aws.associate_access_policy(
        R, C, ROLE, AccessPolicy("arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy")
    )
    aws.create_pod_identity_association(R, C, "ci", "ci-sa", ROLE, None, {})
    kube = ports.cluster(A, R, C)
    kube.create_config_map("kube-system", "aws-auth", {}, {})
    kube.create_service_account("ci", "ci-sa", {}, {})
    ports.recorder.writes.clear()
    return ports


def backup(tmp_path: Path, *, last_done: bool = True) -> Path:
    journal = Journal.create(tmp_path / "backup", {"kind": "access-entries", **WHERE})
    steps: list[tuple[str, dict[str, Any]]] = [
        ("mode", {"kind": "authentication_mode", **WHERE, "before": "CONFIG_MAP"}),
        ("entry", {"kind": "access_entry", **WHERE, "principal": ROLE}),
        (
            "policy",
            {
                "kind": "access_policy",
                **WHERE,
                "principal": ROLE,
                "policy_arn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
            },
        ),
        ("trust", {"kind": "trust", "account": A, "role": "viewers", "before": OLD_TRUST}),
        (
            "inline",
            {
                "kind": "role_policy",
                "account": A,
                "role": "viewers",
                "policy_name": "hop",
                "before": None,
            },
        ),
        (
            "association",
            {"kind": "association", **WHERE, "namespace": "ci", "service_account": "ci-sa"},
        ),
        (
            "annotation",
            {
                "kind": "service_account",
                **WHERE,
                "namespace": "ci",
                "name": "ci-sa",
                "before": {"eks.amazonaws.com/role-arn": ROLE},
            },
        ),
        (
            "aws-auth",
            {
                "kind": "config_map",
                **WHERE,
                "namespace": "kube-system",
                "name": "aws-auth",
                "before": AWS_AUTH_BEFORE,
            },
        ),
    ]
    for number, (what, undo) in enumerate(steps, 1):
        journal.started(what, undo)
        if last_done or number < len(steps):
            journal.done(number)
    return journal.directory


def run(directory: Path, ports: FakePorts, *, apply: bool = True) -> list[rb.Outcome]:
    return rb.rollback(rb.read_backup(directory), ports, apply=apply, progress=lambda _: None)


def test_every_step_is_undone_newest_first(tmp_path: Path) -> None:
    ports = world()
    outcomes = run(backup(tmp_path), ports)
    assert [o.step for o in outcomes] == [8, 7, 6, 5, 4, 3, 2, 1]
    assert [o.result for o in outcomes] == [rb.DONE] * 7 + [rb.CANNOT]
    assert "only move forward" in outcomes[-1].detail
    aws, kube = ports.aws(A), ports.cluster(A, R, C)
    assert aws.entries == {} and aws.associations == {}
    assert aws.roles["viewers"]["trust"] == OLD_TRUST
    assert "hop" not in aws.roles["viewers"]["inline"]
    config_map = kube.get_config_map("kube-system", "aws-auth")
    assert config_map is not None and dict(config_map.data) == AWS_AUTH_BEFORE
    account = kube.get_service_account("ci", "ci-sa")
    assert account is not None and account.annotations == {"eks.amazonaws.com/role-arn": ROLE}
    assert ports.recorder.writes[0] == f"{C} replace_config_map kube-system/aws-auth"


def test_without_apply_nothing_is_written(tmp_path: Path) -> None:
    ports = world()
    outcomes = run(backup(tmp_path), ports, apply=False)
    assert ports.recorder.writes == []
    assert sum(o.result == rb.DONE for o in outcomes) == 7
    assert not (tmp_path / "backup" / "rollback.json").exists()
    assert "7 steps to undo: rerun with --apply" in rb.render(outcomes, apply=False)


def test_a_second_rollback_changes_nothing_and_says_so(tmp_path: Path) -> None:
    ports, directory = world(), backup(tmp_path)
    run(directory, ports)
    ports.recorder.writes.clear()
    again = run(directory, ports)
    assert ports.recorder.writes == []
    assert all(o.result in (rb.NOTHING, rb.CANNOT) for o in again)
    assert "nothing to undo" in rb.render(again, apply=True)
    runs = json.loads((directory / "rollback.json").read_text())
    assert runs[0]["undone"] == [8, 7, 6, 5, 4, 3, 2]


def test_undo_is_idempotent_without_the_rollback_record(tmp_path: Path) -> None:
    ports, directory = world(), backup(tmp_path)
    run(directory, ports)
    (directory / "rollback.json").unlink()
    ports.recorder.writes.clear()
    assert {o.result for o in run(directory, ports)} == {rb.NOTHING, rb.CANNOT}
    assert ports.recorder.writes == []


def test_a_step_started_but_never_done_is_undone_too(tmp_path: Path) -> None:
    ports = world()
    outcomes = run(backup(tmp_path, last_done=False), ports)
    assert outcomes[0].step == 8 and outcomes[0].result == rb.DONE


def test_entries_are_kept_when_the_cluster_reads_no_aws_auth(tmp_path: Path) -> None:
    ports = world(mode="API")
    outcomes = {o.step: o for o in run(backup(tmp_path), ports)}
    assert outcomes[2].result == rb.KEPT and "lock its principal out" in outcomes[2].detail
    assert outcomes[3].result == rb.KEPT
    assert (R, C, ROLE) in ports.aws(A).entries


def test_a_failure_keeps_what_was_undone_for_the_rerun(tmp_path: Path) -> None:
    ports, directory = world(), backup(tmp_path)
    ports.recorder.fail_on.add("update_trust")
    with pytest.raises(Boom):
        run(directory, ports)
    runs = json.loads((directory / "rollback.json").read_text())
    assert runs[0]["undone"] == [8, 7, 6, 5]
    ports.recorder.fail_on.clear()
    ports.recorder.writes.clear()
    outcomes = run(directory, ports)
    assert [o.step for o in outcomes if o.result == rb.DONE] == [4, 3, 2]


def test_a_directory_that_is_not_a_backup_is_refused(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="is not a kubetrust migration backup"):
        rb.read_backup(tmp_path)
    with pytest.raises(JournalError, match="is not a directory"):
        rb.read_backup(tmp_path / "missing")


def test_an_undo_record_without_its_coordinates_is_refused(tmp_path: Path) -> None:
    journal = Journal.create(tmp_path, {"kind": "pod-identity"})
    journal.started("trust", {"kind": "trust", "account": A})
    with pytest.raises(JournalError, match="step 1: its trust undo record lacks 'role'"):
        run(tmp_path, world())


def test_an_updated_association_is_set_back_and_a_new_target_is_cleared(tmp_path: Path) -> None:
    ports = world()
    aws = ports.aws(A)
    (found,) = aws.associations.values()
    found["target"] = f"arn:aws:iam::{A}:role/other"
    journal = Journal.create(tmp_path, {"kind": "pod-identity"})
    record = {"kind": "association", **WHERE, "namespace": "ci", "service_account": "ci-sa"}
    journal.started("update", {**record, "before": {"role_arn": ROLE, "target_role_arn": None}})
    (outcome,) = run(tmp_path, ports)
    assert outcome.result == rb.DONE
    (restored,) = aws.associations.values()
    assert restored["role"] == ROLE and restored["target"] is None
