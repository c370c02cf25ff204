"""``kubetrust migrate pod-identity`` end to end on a private sandbox: the seed applied with
IRSA, its pod's checks with the real aws CLI and kubectl inside ``kubetrust sandbox exec``,
a migration the proof refuses, the migration, the recreated pod's checks, and a rerun.

The pod's identities are compared by role ARN: the session names differ (IRSA's is
botocore's, Pod Identity's ``eks-<cluster>-<pod>-<uuid>``; reference F.3), as the proof's
identity lines say too. The seed's accounts are renamed (tests/sandbox/migratekit.py): the
session sandbox holds the seed's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from kubetrust.sandbox.runtime.server import SandboxServer

from .kubekit import admin_kubectl, kubetrust
from .migratekit import pod_checks, seed_files
from .realismkit import private_sandbox

CI, TARGET = "440000000011", "440000000012"
"""The seed's 111111111111 and 222222222222 here."""
SA = "ci-namespace/ci-serviceaccount"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxServer, Path]]:
    """A private sandbox of the demo world and the seed file, both renamed."""
    base = tmp_path_factory.mktemp("migrate-pod-identity")
    seed, world = seed_files(base, CI, TARGET)
    with private_sandbox(base, world) as server:
        yield server, seed


def _migrate(sandbox: SandboxServer, seed: Path, base: Path, *extra: str) -> Any:
    state = str(sandbox.state_dir)
    return kubetrust(
        "migrate", "pod-identity", "-f", str(seed), "--sandbox", "--state-dir", state,
        "--backup-dir", str(base / "backups"), *extra,
    )  # fmt: skip


def _iam(sandbox: SandboxServer, account: str) -> Any:
    key, secret = sandbox.admin_keys[account]
    return boto3.session.Session().client(
        "iam",
        endpoint_url=sandbox.endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(region_name="us-east-1", retries={"max_attempts": 2}),
    )


def _associations(sandbox: SandboxServer) -> list[Any]:
    key, secret = sandbox.admin_keys[CI]
    eks = boto3.session.Session().client(
        "eks",
        endpoint_url=sandbox.endpoint,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        region_name="us-east-1",
    )
    return list(eks.list_pod_identity_associations(clusterName="ci-cluster")["associations"])


def test_the_seed_moves_to_pod_identity_with_the_same_access(
    seeded: tuple[SandboxServer, Path], tmp_path: Path
) -> None:
    sandbox, seed = seeded
    state = str(sandbox.state_dir)
    applied = kubetrust("apply", "-f", str(seed), "--sandbox", "--state-dir", state)
    assert applied.ok, str(applied)
    admin = admin_kubectl(sandbox, "ci-cluster", tmp_path / "admin")
    before = pod_checks(sandbox, admin)
    assert before == {
        "default": f"{CI}:ci-account-iam-role",
        "ci-env": f"{CI}:ci-account-iam-role",
        "target-env": f"{TARGET}:target-account-iam-role",
        "s3": "allowed",
        "iam": "denied",
        "kubectl": "allowed",
    }

    # refused: the target's trust forbids the session tags the Pod Identity path carries
    iam = _iam(sandbox, TARGET)
    role = "target-account-iam-role"
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    deny = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:TagSession"}
    forbidding = {**trust, "Statement": [*trust["Statement"], deny]}
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(forbidding))
    refused = _migrate(sandbox, seed, tmp_path, "--apply")
    assert refused.returncode == 2, str(refused)
    assert f"refused: {SA} would lose" in refused.stdout
    assert "s3:ListAllMyBuckets" in refused.stdout
    assert _associations(sandbox) == []
    assert not (tmp_path / "backups").exists()
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(trust))

    planned = _migrate(sandbox, seed, tmp_path)
    assert planned.ok, str(planned)
    assert "SAME" in planned.stdout and "targetRoleArn none" in planned.stdout
    assert _associations(sandbox) == []

    migrated = _migrate(sandbox, seed, tmp_path, "--apply", "--output", "json")
    assert migrated.ok, str(migrated)
    result = migrated.json()
    assert [d["verdict"] for d in result["recheck"]] == ["same"]
    assert [p["pod"] for p in result["restart"]] == ["test-pod"]
    assert Path(result["backup"], "journal.jsonl").is_file()
    (association,) = _associations(sandbox)
    assert association["serviceAccount"] == "ci-serviceaccount"

    after = pod_checks(sandbox, admin)
    assert after == before

    again = _migrate(sandbox, seed, tmp_path, "--apply")
    assert again.ok, str(again)
    assert "nothing to change" in again.stdout
    assert "applied: 0 changes" in again.stdout
    assert len(list((tmp_path / "backups").iterdir())) == 1
