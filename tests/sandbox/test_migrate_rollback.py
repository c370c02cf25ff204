"""``kubetrust migrate rollback`` as a user runs it, against the session's sandbox.

The backup is written here through the journal API, as a migration writes it (each change
recorded before it is made with boto3): so rollback is tested on its own, whatever state
the migration commands are in. A real subprocess with ``--sandbox --state-dir``; what it
restored is read back with boto3.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubetrust.migrate.journal import Journal

from .kubekit import Done, kubetrust
from .realismkit import private_sandbox
from .test_migrate_access import WORLD, Legacy, T, role_arn
from .test_provision_aws import _cluster

REGION = "us-east-1"


def _kubetrust(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubetrust", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _trust(principal: dict[str, Any], actions: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": actions}],
    }


def test_rollback_undoes_a_journal_and_a_rerun_changes_nothing(aws: Any, tmp_path: Path) -> None:
    account = aws.TARGET
    cluster = _cluster(aws, account, "rollback")
    eks, iam = aws.client("eks", account=account), aws.client("iam", account=account)
    eks.update_cluster_config(
        name=cluster, accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"}
    )
    role = aws.unique("rollback-role")
    old = _trust({"AWS": f"arn:aws:iam::{account}:root"}, ["sts:AssumeRole"])
    new = _trust({"Service": "pods.eks.amazonaws.com"}, ["sts:AssumeRole", "sts:TagSession"])
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(old))["Role"][
        "Arn"
    ]
    where = {"account": account, "region": REGION, "cluster": cluster}

    journal = Journal.create(tmp_path / "backup", {"kind": "access-entries", **where})
    step = journal.started(
        f"trust of {role}", {"kind": "trust", "account": account, "role": role, "before": old}
    )
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(new))
    journal.done(step)
    step = journal.started(
        f"access entry {role}", {"kind": "access_entry", **where, "principal": role_arn}
    )
    eks.create_access_entry(
        clusterName=cluster, principalArn=role_arn, kubernetesGroups=["viewers"]
    )
    journal.done(step)
    journal.started("mode", {"kind": "authentication_mode", **where, "before": "CONFIG_MAP"})
    live = ["--sandbox", "--state-dir", str(aws.sandbox.state_dir)]
    backup = ["--backup", str(journal.directory)]

    planned = _kubetrust("migrate", "rollback", *backup, *live)
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert f"(plan) step 2: undone: access entry {role_arn} on {cluster} deleted" in planned.stdout
    assert eks.describe_access_entry(clusterName=cluster, principalArn=role_arn)

    applied = _kubetrust("migrate", "rollback", *backup, *live, "--apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "step 3: cannot undo: " in applied.stdout and "only move forward" in applied.stdout
    assert "2 steps undone" in applied.stdout
    entries = eks.list_access_entries(clusterName=cluster)["accessEntries"]
    assert role_arn not in entries
    restored = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert restored == old

    again = _kubetrust("migrate", "rollback", *backup, *live, "--apply", "--output", "json")
    assert again.returncode == 0, again.stdout + again.stderr
    document = json.loads(again.stdout)
    assert {s["result"] for s in document["steps"]} == {"nothing to undo", "cannot undo"}
    runs = json.loads((journal.directory / "rollback.json").read_text())
    assert [run["undone"] for run in runs] == [[2, 1]]  # the rerun undid nothing


def test_a_directory_that_is_not_a_backup_exits_3(aws: Any, tmp_path: Path) -> None:
    result = _kubetrust(
        "migrate",
        "rollback",
        "--backup",
        str(tmp_path),
        "--sandbox",
        "--state-dir",
        str(aws.sandbox.state_dir),
    )
    assert result.returncode == 3
    assert "is not a kubetrust migration backup (no migration.json)" in result.stderr


# ------------------------------------------------------------ the full loop with a migration


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Legacy]:
    """A private sandbox (its cluster's mode and aws-auth change) with A's CONFIG_MAP world."""
    base = tmp_path_factory.mktemp("rollback-access")
    with private_sandbox(base, WORLD) as sandbox:
        yield Legacy(sandbox, base)


def _aws_auth(legacy: Legacy) -> dict[str, str]:
    done = legacy.admin.kubectl("get", "configmap", "aws-auth", "-n", "kube-system", "-o", "json")
    assert done.ok, str(done)
    return dict(done.json()["data"])


def _entries(legacy: Legacy) -> set[str]:
    """The cluster's access entries (none in CONFIG_MAP mode: EKS refuses to list them)."""
    if legacy.mode() == "CONFIG_MAP":
        return set()
    return set(legacy.eks.list_access_entries(clusterName="legacy")["accessEntries"])


def _rollback(legacy: Legacy, backup: str, *extra: str) -> Done:
    state = str(legacy.sandbox.state_dir)
    return kubetrust(
        "migrate", "rollback", "--backup", backup, "--sandbox", "--state-dir", state, *extra
    )


def test_access_entries_migration_rolled_back_gives_every_principal_its_access_back(
    legacy: Legacy,
) -> None:
    aws_auth, entries, answers = _aws_auth(legacy), _entries(legacy), legacy.answers()
    assert answers["admins"][5][:2] == (0, "yes") and answers["viewers"][1][:2] == (1, "no")

    migrated = legacy.migrate("--apply", "--remove-aws-auth-entries", "--output", "json")
    assert migrated.ok, str(migrated)
    backup = migrated.json()["backup"]
    assert legacy.mode() == "API_AND_CONFIG_MAP"
    created = _entries(legacy) - entries
    assert role_arn("viewers", with_path=True) in created and role_arn("admins") in created
    assert _aws_auth(legacy) != aws_auth  # the migrated mappings were removed

    planned = _rollback(legacy, backup)
    assert planned.returncode == 2, str(planned)
    assert "(plan) step" in planned.stdout and _entries(legacy) - entries == created

    rolled = _rollback(legacy, backup, "--apply")
    assert rolled.returncode == 0, str(rolled)
    assert _aws_auth(legacy) == aws_auth
    assert _entries(legacy) == entries
    assert legacy.mode() == "API_AND_CONFIG_MAP"  # one-way: said, not undone
    assert "cannot undo: cluster legacy's authentication mode was CONFIG_MAP" in rolled.stdout
    assert "only move forward" in rolled.stdout
    recheck = rolled.stdout.split("re-check against the access before the migration:")[1]
    principals = {"admins", "viewers", "ops", "nodes", "monitor"}
    for name in principals:
        assert f"SAME     {role_arn(name)} (iam, legacy)" in recheck, recheck
    assert f"SAME     arn:aws:iam::{T}:user/alice (iam, legacy)" in recheck, recheck
    assert "LOST" not in recheck and "GAINED" not in recheck and "CHANGED" not in recheck
    (legacy.base / "rolled.txt").write_text(rolled.stdout + rolled.stderr)

    assert legacy.answers() == answers

    again = _rollback(legacy, backup, "--apply", "--output", "json")
    assert again.returncode == 0, str(again)
    document = again.json()
    assert {s["result"] for s in document["steps"]} == {"nothing to undo", "cannot undo"}
    assert {d["verdict"] for d in document["recheck"]} == {"same"}
    assert _aws_auth(legacy) == aws_auth and _entries(legacy) == entries
    runs = json.loads((Path(backup) / "rollback.json").read_text())
    assert len(runs) == 1  # the rerun undid nothing
