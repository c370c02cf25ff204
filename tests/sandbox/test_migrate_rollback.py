"""``kubetrust migrate rollback`` as a user runs it: real subprocesses with ``--sandbox
--state-dir``, what it restored read back with boto3 and kubectl.

- On its own: a backup written here through the journal API, as a migration writes it
  (each change recorded before it is made with boto3).
- After ``kubetrust migrate access-entries --apply --remove-aws-auth-entries`` (the CONFIG_MAP
  world of tests/sandbox/test_migrate_access.py): aws-auth as before, the created entries
  gone, the mode move reported one-way, the live re-check of the backup's ``proof_before``
  same for every principal, ``kubectl auth can-i`` as each as before.
- After ``kubetrust migrate pod-identity -f examples/seed.yaml --apply --remove-irsa`` (the
  world of tests/sandbox/test_migrate_pod_identity.py): trusts, policies, the pod's AWS
  config, the service account's annotation as before, the association gone, and a
  recreated pod reaches the target role again through web identity.

Each ends with a second rollback that changes nothing. Every test has a private sandbox
(they change modes, aws-auth and trusts) and none uses the session's: a process holds an
account in one sandbox at a time (:func:`kubetrust.sandbox.aws.state.claim_accounts`), so
every world here has accounts of its own (tests/sandbox/migratekit.py: the aws-auth world in
its own account, the seed's account ids renamed).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from kubetrust.migrate.journal import Journal, read_steps
from kubetrust.sandbox.runtime.server import SandboxServer

from .kubekit import Caller, Done, admin_kubectl, kubetrust
from .migratekit import Legacy, access_world, pod_checks, seed_files
from .migratekit import role_arn as role_arn_in
from .realismkit import private_sandbox

REGION = "us-east-1"
JOURNAL_ACCOUNT = "430000000001"
T = "430000000002"
"""The aws-auth world's account here."""
CI, TARGET = "430000000011", "430000000012"
"""The seed's accounts here (its 111111111111 and 222222222222 renamed)."""
SA_NAME, CI_ROLE = "ci-serviceaccount", "ci-account-iam-role"


def role_arn(name: str, with_path: bool = False) -> str:
    return role_arn_in(T, name, with_path)


def _client(sandbox: SandboxServer, service: str, account: str) -> Any:
    key, secret = sandbox.admin_keys[account]
    return boto3.session.Session().client(
        service,
        endpoint_url=sandbox.endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 2}),
    )


def _trust(principal: dict[str, Any], actions: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": actions}],
    }


@pytest.fixture(scope="module")
def journal_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    cluster = {"name": "rollback", "authentication_mode": "API_AND_CONFIG_MAP"}
    world = {"accounts": [{"id": JOURNAL_ACCOUNT, "name": "journal", "clusters": [cluster]}]}
    with private_sandbox(tmp_path_factory.mktemp("rollback-journal"), world) as server:
        yield server


def test_rollback_undoes_a_journal_and_a_rerun_changes_nothing(
    journal_sandbox: SandboxServer, tmp_path: Path
) -> None:
    account, cluster = JOURNAL_ACCOUNT, "rollback"
    eks = _client(journal_sandbox, "eks", account)
    iam = _client(journal_sandbox, "iam", account)
    role = f"rollback-role-{uuid.uuid4().hex[:8]}"
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
    backup = str(journal.directory)

    planned = _rollback(journal_sandbox, backup)
    assert planned.returncode == 2, str(planned)
    assert f"(plan) step 2: undone: access entry {role_arn} on {cluster} deleted" in planned.stdout
    assert eks.describe_access_entry(clusterName=cluster, principalArn=role_arn)

    applied = _rollback(journal_sandbox, backup, "--apply")
    assert applied.returncode == 0, str(applied)
    assert "step 3: cannot undo: " in applied.stdout and "only move forward" in applied.stdout
    assert "2 steps undone" in applied.stdout
    entries = eks.list_access_entries(clusterName=cluster)["accessEntries"]
    assert role_arn not in entries
    restored = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert restored == old

    again = _rollback(journal_sandbox, backup, "--apply", "--output", "json")
    assert again.returncode == 0, str(again)
    document = again.json()
    assert {s["result"] for s in document["steps"]} == {"nothing to undo", "cannot undo"}
    runs = json.loads((journal.directory / "rollback.json").read_text())
    assert [run["undone"] for run in runs] == [[2, 1]]  # the rerun undid nothing


def test_a_directory_that_is_not_a_backup_exits_3(
    journal_sandbox: SandboxServer, tmp_path: Path
) -> None:
    result = _rollback(journal_sandbox, str(tmp_path))
    assert result.returncode == 3
    assert "is not a kubetrust migration backup (no migration.json)" in result.stderr


def _rollback(sandbox: SandboxServer, backup: str, *extra: str) -> Done:
    state = str(sandbox.state_dir)
    return kubetrust(
        "migrate", "rollback", "--backup", backup, "--sandbox", "--state-dir", state, *extra
    )


# ------------------------------------------------------------ the full loop with a migration


@pytest.fixture
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Legacy]:
    """A private sandbox (its cluster's mode and aws-auth change) with A's CONFIG_MAP world."""
    base = tmp_path_factory.mktemp("rollback-access")
    with private_sandbox(base, access_world(T)) as sandbox:
        yield Legacy(sandbox, base, T)


def _aws_auth(legacy: Legacy) -> dict[str, str]:
    done = legacy.admin.kubectl("get", "configmap", "aws-auth", "-n", "kube-system", "-o", "json")
    assert done.ok, str(done)
    return dict(done.json()["data"])


def _entries(legacy: Legacy) -> set[str]:
    """The cluster's access entries (none in CONFIG_MAP mode: EKS refuses to list them)."""
    if legacy.mode() == "CONFIG_MAP":
        return set()
    return set(legacy.eks.list_access_entries(clusterName="legacy")["accessEntries"])


def test_access_entries_migration_rolled_back_gives_every_principal_its_access_back(
    legacy: Legacy,
) -> None:
    aws_auth, answers = _aws_auth(legacy), legacy.answers()
    assert _entries(legacy) == set()
    assert answers["admins"][5][:2] == (0, "yes") and answers["viewers"][1][:2] == (1, "no")

    migrated = legacy.migrate("--apply", "--remove-aws-auth-entries", "--output", "json")
    assert migrated.ok, str(migrated)
    backup = migrated.json()["backup"]
    assert legacy.mode() == "API_AND_CONFIG_MAP"
    created = {
        str(step.undo["principal"])
        for step in read_steps(Path(backup))
        if step.undo["kind"] == "access_entry" and step.undo.get("before") is None
    }
    assert role_arn("viewers", with_path=True) in created and role_arn("admins") in created
    assert created <= _entries(legacy)
    kept = _entries(legacy) - created
    assert kept == {f"arn:aws:iam::{T}:user/admin"}  # the creator's (E.1): not the migration's
    assert _aws_auth(legacy) != aws_auth  # the migrated mappings were removed

    planned = _rollback(legacy.sandbox, backup)
    assert planned.returncode == 2, str(planned)
    assert "(plan) step" in planned.stdout and _entries(legacy) == created | kept

    rolled = _rollback(legacy.sandbox, backup, "--apply")
    assert rolled.returncode == 0, str(rolled)
    assert _aws_auth(legacy) == aws_auth
    assert _entries(legacy) == kept
    assert legacy.mode() == "API_AND_CONFIG_MAP"  # one-way: said, not undone
    assert "cannot undo: cluster legacy's authentication mode was CONFIG_MAP" in rolled.stdout
    assert "only move forward" in rolled.stdout
    recheck = rolled.stdout.split("re-check against the access before the migration:")[1]
    keys = [role_arn(n, with_path=True) for n in ("admins", "viewers", "ops", "monitor")]
    for key in [*keys, f"arn:aws:iam::{T}:user/alice", f"arn:aws:iam::{T}:user/admin"]:
        assert f"SAME     {key} (iam, legacy)" in recheck, recheck
    assert "groups [viewers] (aws-auth mapRoles" in recheck  # read live, after the restore
    assert "LOST" not in recheck and "GAINED" not in recheck and "CHANGED" not in recheck

    assert legacy.answers() == answers

    again = _rollback(legacy.sandbox, backup, "--apply", "--output", "json")
    assert again.returncode == 0, str(again)
    document = again.json()
    assert {s["result"] for s in document["steps"]} == {"nothing to undo", "cannot undo"}
    assert {d["verdict"] for d in document["recheck"]} == {"same"}
    assert _aws_auth(legacy) == aws_auth and _entries(legacy) == kept
    runs = json.loads((Path(backup) / "rollback.json").read_text())
    assert len(runs) == 1  # the rerun undid nothing


# ------------------------------------------------------- the seed's IRSA chain, migrated back


@pytest.fixture
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxServer, Path]]:
    """A private sandbox of the demo world with the seed applied, IRSA (their account ids
    renamed, module doc), and the renamed seed file."""
    base = tmp_path_factory.mktemp("rollback-seed")
    seed, world = seed_files(base, CI, TARGET)
    with private_sandbox(base, world) as server:
        state = str(server.state_dir)
        applied = kubetrust("apply", "-f", str(seed), "--sandbox", "--state-dir", state)
        assert applied.ok, str(applied)
        yield server, seed


def _seed_state(sandbox: SandboxServer, admin: Caller) -> dict[str, Any]:
    """What the migration changes and rollback restores: the chain's trusts and inline
    policies, the pod's AWS config, the service account's annotations, the associations."""
    found: dict[str, Any] = {}
    for account, role in ((CI, "ci-account-iam-role"), (TARGET, "target-account-iam-role")):
        iam = _client(sandbox, "iam", account)
        found[f"trust {role}"] = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            found[f"policy {role}/{name}"] = document
    for kind, name in (("configmap", "awsconfig-configmap"), ("serviceaccount", SA_NAME)):
        done = admin.kubectl("get", kind, name, "-n", "ci-namespace", "-o", "json")
        assert done.ok, str(done)
        found[kind] = done.json().get("data") or done.json()["metadata"].get("annotations")
    eks = _client(sandbox, "eks", CI)
    found["associations"] = eks.list_pod_identity_associations(clusterName="ci-cluster")[
        "associations"
    ]
    return found


def _pod_credentials(sandbox: SandboxServer) -> dict[str, str]:
    """How the seed's (recreated) pod gets its credentials: which variables EKS's webhooks
    gave it, and its session ARN as the default profile sees it."""
    script = (
        'echo "@web-identity ${AWS_WEB_IDENTITY_TOKEN_FILE:+yes}"\n'
        'echo "@container ${AWS_CONTAINER_CREDENTIALS_FULL_URI:+yes}"\n'
        'echo "@arn $(aws sts get-caller-identity --query Arn --output text)"\n'
    )
    done = kubetrust(
        "sandbox", "exec", "--state-dir", str(sandbox.state_dir), "--cluster", "ci-cluster",
        "--namespace", "ci-namespace", "--pod", "test-pod", "--", "sh", "-c", script,
    )  # fmt: skip
    found = dict(re.findall(r"^@(\S+) ?(.*)$", done.stdout, re.MULTILINE))
    assert len(found) == 3, str(done)
    return found


def test_pod_identity_migration_rolled_back_gives_the_pod_its_irsa_path_back(
    seeded: tuple[SandboxServer, Path], tmp_path: Path
) -> None:
    sandbox, seed = seeded
    state = str(sandbox.state_dir)
    admin = admin_kubectl(sandbox, "ci-cluster", tmp_path / "admin")
    before, checks = _seed_state(sandbox, admin), pod_checks(sandbox, admin)
    assert checks["target-env"] == f"{TARGET}:target-account-iam-role", checks
    assert checks["s3"] == "allowed" and checks["iam"] == "denied", checks
    irsa = _pod_credentials(sandbox)
    assert (irsa["web-identity"], irsa["container"]) == ("yes", "")
    assert before["serviceaccount"]["eks.amazonaws.com/role-arn"].endswith(f"role/{CI_ROLE}")

    migrated = kubetrust(
        "migrate", "pod-identity", "-f", str(seed), "--sandbox", "--state-dir", state,
        "--backup-dir", str(tmp_path / "backups"), "--apply", "--remove-irsa", "--output", "json",
    )  # fmt: skip
    assert migrated.ok, str(migrated)
    backup = migrated.json()["backup"]
    moved = _seed_state(sandbox, admin)
    assert len(moved["associations"]) == 1
    assert moved[f"trust {CI_ROLE}"] != before[f"trust {CI_ROLE}"]  # Pod Identity, no OIDC
    assert "eks.amazonaws.com/role-arn" not in (moved["serviceaccount"] or {})
    assert pod_checks(sandbox, admin) == checks
    assert _pod_credentials(sandbox)["container"] == "yes"  # the pod now runs Pod Identity

    rolled = _rollback(sandbox, backup, "--apply", "--output", "json")
    assert rolled.ok, str(rolled)
    document = rolled.json()
    assert any("association" in s["detail"] and "deleted" in s["detail"] for s in document["steps"])
    assert [(d["principal"]["key"], d["verdict"]) for d in document["recheck"]] == [
        (f"ci-namespace/{SA_NAME}", "same")
    ], document["recheck"]
    assert _seed_state(sandbox, admin) == before
    assert pod_checks(sandbox, admin) == checks
    after = _pod_credentials(sandbox)
    assert (after["web-identity"], after["container"]) == ("yes", "")
    assert after["arn"].startswith(f"arn:aws:sts::{CI}:assumed-role/{CI_ROLE}/botocore-session")

    again = _rollback(sandbox, backup, "--apply")
    assert again.ok, str(again)
    assert "nothing to undo: every step is as it was before the migration" in again.stdout
    assert "proof: 1 principal: 1 same" in again.stdout
    assert _seed_state(sandbox, admin) == before
