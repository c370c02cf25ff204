"""``kubetrust migrate pod-identity`` end to end on a private sandbox: the seed applied with
IRSA, its pod's checks with the real aws CLI and kubectl inside ``kubetrust sandbox exec``,
a migration the proof refuses, the migration, the recreated pod's checks, and a rerun.

The pod's identities are compared by role ARN: the session names differ (IRSA's is
botocore's, Pod Identity's ``eks-<cluster>-<pod>-<uuid>``; reference F.3), as the proof's
identity lines say too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.config import Config

from kubetrust.sandbox.runtime.server import SandboxServer

from .kubekit import Caller, admin_kubectl, kubetrust
from .realismkit import private_sandbox

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "seed.yaml"
WORLD = yaml.safe_load((ROOT / "src/kubetrust/demo/scenario/world.yaml").read_text())
CI, TARGET = "111111111111", "222222222222"
SA = "ci-namespace/ci-serviceaccount"
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "test-pod", "namespace": "ci-namespace"},
    "spec": {
        "serviceAccountName": "ci-serviceaccount",
        "containers": [
            {
                "name": "main",
                "image": "ubuntu",
                "volumeMounts": [{"name": "cfg", "mountPath": "/aws_config"}],
            }
        ],
        "volumes": [{"name": "cfg", "configMap": {"name": "awsconfig-configmap"}}],
    },
}
CHECKS = """
mkdir -p ~/.aws && cp /aws_config/config ~/.aws/config
echo "@default $(aws sts get-caller-identity --query Arn --output text)"
echo "@ci-env $(aws sts get-caller-identity --profile ci-env --query Arn --output text)"
echo "@target-env $(aws sts get-caller-identity --profile target-env --query Arn --output text)"
aws s3 ls --profile target-env >/dev/null 2>&1 && echo "@s3 allowed" || echo "@s3 denied"
aws iam list-roles --profile target-env >/dev/null 2>&1 && echo "@iam allowed" || echo "@iam denied"
aws eks update-kubeconfig --name target-cluster --profile target-env >/dev/null 2>&1
kubectl get namespaces >/dev/null 2>&1 && echo "@kubectl allowed" || echo "@kubectl denied"
"""


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with private_sandbox(tmp_path_factory.mktemp("migrate-pod-identity"), WORLD) as server:
        yield server


def _migrate(sandbox: SandboxServer, base: Path, *extra: str) -> Any:
    state = str(sandbox.state_dir)
    return kubetrust(
        "migrate", "pod-identity", "-f", str(SEED), "--sandbox", "--state-dir", state,
        "--backup-dir", str(base / "backups"), *extra,
    )  # fmt: skip


def _pod_checks(sandbox: SandboxServer, admin: Caller) -> dict[str, str]:
    """The seed pod's checks, in a pod created now: ``{check: outcome}``; identities as the
    role's ARN (the session name cut off)."""
    admin.kubectl("delete", "pod", "test-pod", "-n", "ci-namespace", "--ignore-not-found")
    created = admin.kubectl("apply", "-f", "-", stdin=json.dumps(POD))
    assert created.ok, str(created)
    done = kubetrust(
        "sandbox", "exec", "--state-dir", str(sandbox.state_dir), "--cluster", "ci-cluster",
        "--namespace", "ci-namespace", "--pod", "test-pod", "--", "sh", "-c", CHECKS,
    )  # fmt: skip
    found = dict(re.findall(r"^@(\S+) (.*)$", done.stdout, re.MULTILINE))
    assert len(found) == 6, str(done)
    return {
        key: re.sub(r"^arn:aws:sts::(\d+):assumed-role/([^/]+)/.*$", r"\1:\2", value)
        for key, value in found.items()
    }


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
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    state = str(sandbox.state_dir)
    applied = kubetrust("apply", "-f", str(SEED), "--sandbox", "--state-dir", state)
    assert applied.ok, str(applied)
    admin = admin_kubectl(sandbox, "ci-cluster", tmp_path / "admin")
    before = _pod_checks(sandbox, admin)
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
    refused = _migrate(sandbox, tmp_path, "--apply")
    assert refused.returncode == 2, str(refused)
    assert f"refused: {SA} would lose" in refused.stdout
    assert "s3:ListAllMyBuckets" in refused.stdout
    assert _associations(sandbox) == []
    assert not (tmp_path / "backups").exists()
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(trust))

    planned = _migrate(sandbox, tmp_path)
    assert planned.ok, str(planned)
    assert "SAME" in planned.stdout and "targetRoleArn none" in planned.stdout
    assert _associations(sandbox) == []

    migrated = _migrate(sandbox, tmp_path, "--apply", "--output", "json")
    assert migrated.ok, str(migrated)
    result = migrated.json()
    assert [d["verdict"] for d in result["recheck"]] == ["same"]
    assert [p["pod"] for p in result["restart"]] == ["test-pod"]
    assert Path(result["backup"], "journal.jsonl").is_file()
    (association,) = _associations(sandbox)
    assert association["serviceAccount"] == "ci-serviceaccount"

    after = _pod_checks(sandbox, admin)
    assert after == before

    again = _migrate(sandbox, tmp_path, "--apply")
    assert again.ok, str(again)
    assert "nothing to change" in again.stdout
    assert "applied: 0 changes" in again.stdout
    assert len(list((tmp_path / "backups").iterdir())) == 1
