"""``kubetrust apply`` on the sandbox's own clusters: AWS and Kubernetes pieces together.

The seed's spec (unique names) applied as a user runs it — a subprocess with ``--sandbox`` —
against two sandbox clusters whose API servers authenticate the provisioner's EKS tokens:

- an apply killed half-way (SIGKILL once the first role exists) converges on the next run;
- a second plan is empty and a second apply writes nothing;
- a foreign aws-auth entry in the target cluster survives apply and destroy;
- the result works: the annotated service account, the pod's AWS config, and the target role
  mapped in aws-auth (a session of it is ``test-user`` in the target cluster);
- destroy removes what the spec made, and nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from moto.iam.models import IAMBackend

from .kubekit import Caller, admin_kubectl, aws_auth, session_env, unique
from .test_provision_aws import EXAMPLES, _cluster

FOREIGN = {"rolearn": "arn:aws:iam::222222222222:role/someone-else", "username": "other"}


def _kubetrust(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubetrust", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _spec(aws: Any, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    names = {
        "ci_cluster": _cluster(aws, aws.CI, "ci-cluster"),
        "target_cluster": _cluster(aws, aws.TARGET, "target-cluster"),
        "ci_role": unique("full-ci"),
        "target_role": unique("full-target"),
        "namespace": unique("ci-ns"),
    }
    text = (
        (EXAMPLES / "seed.yaml")
        .read_text()
        .replace("cluster: ci-cluster", f"cluster: {names['ci_cluster']}")
        .replace("name: target-cluster", f"name: {names['target_cluster']}")
        .replace("ci-account-iam-role", names["ci_role"])
        .replace("target-account-iam-role", names["target_role"])
        .replace("ci-namespace", names["namespace"])
        .replace("name: seed", f"name: {unique('full')}")
    )
    spec = tmp_path / "kubetrust.yaml"
    spec.write_text(text)
    return spec, names


def _aws_auth_roles(admin: Caller) -> list[dict[str, Any]]:
    got = admin.kubectl("get", "configmap", "aws-auth", "-n", "kube-system", "-o", "json")
    assert got.ok, str(got)
    return list(yaml.safe_load(got.json()["data"]["mapRoles"]) or [])


def _apply_killed_at_its_first_role(
    command: list[str], roles: set[str], monkeypatch: pytest.MonkeyPatch
) -> int:
    """Run an apply and SIGKILL it the moment the sandbox creates its first role — inside
    moto's ``create_role``, before the apply even gets the answer — so the kill lands
    half-way every time (the sandbox runs in this process)."""
    victim: dict[str, int] = {}
    original = IAMBackend.create_role

    def create_role(self: Any, *args: Any, **kwargs: Any) -> Any:
        role = original(self, *args, **kwargs)
        name = kwargs.get("role_name", args[0] if args else "")
        if name in roles and "pid" in victim:
            os.kill(victim.pop("pid"), signal.SIGKILL)
        return role

    monkeypatch.setattr(IAMBackend, "create_role", create_role)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    victim["pid"] = process.pid
    try:
        return process.wait(timeout=120)
    finally:
        monkeypatch.undo()
        if process.poll() is None:
            process.kill()


def test_apply_kill_reapply_idempotent_destroy(
    aws: Any, sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, names = _spec(aws, tmp_path)
    where = ["-f", str(spec), "--sandbox", "--state-dir", str(sandbox.state_dir)]
    target_admin = admin_kubectl(sandbox, names["target_cluster"], tmp_path / "target-admin")
    ci_admin = admin_kubectl(sandbox, names["ci_cluster"], tmp_path / "ci-admin")
    assert target_admin.kubectl("apply", "-f", "-", stdin=aws_auth([FOREIGN])).ok

    iam_ci = aws.client("iam", account=aws.CI)
    backups = ["--backup-dir", str(tmp_path / "backups")]
    command = [sys.executable, "-m", "kubetrust", "apply", *where, *backups, "--parallel", "1"]
    iam_target = aws.client("iam", account=aws.TARGET)
    roles = {names["ci_role"], names["target_role"]}
    killed = _apply_killed_at_its_first_role(command, roles, monkeypatch)
    assert killed == -signal.SIGKILL, f"the first apply was not cut short (exit {killed})"
    made = {
        r["RoleName"]
        for iam in (iam_ci, iam_target)
        for r in aws.listed(iam, "list_roles", "Roles")
    }
    assert len(made & roles) == 1, made & roles
    assert _aws_auth_roles(target_admin) == [FOREIGN], "the killed apply got to aws-auth"

    applied = _kubetrust("apply", *where, "--backup-dir", str(tmp_path / "backups"))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    plan = _kubetrust("plan", *where, "--output", "json")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    summary = json.loads(plan.stdout)["summary"]
    assert summary["create"] == summary["update"] == summary["delete"] == 0, summary
    again = _kubetrust("apply", *where, "--backup-dir", str(tmp_path / "backups"))
    assert again.returncode == 0 and "apply done: 0 writes" in again.stdout, again.stdout

    # what apply made, as the blog's steps need it
    account = ci_admin.kubectl(
        "get", "serviceaccount", "ci-serviceaccount", "-n", names["namespace"], "-o", "json"
    ).json()
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == (
        f"arn:aws:iam::{aws.CI}:role/{names['ci_role']}"
    )
    config = ci_admin.kubectl(
        "get", "configmap", "awsconfig-configmap", "-n", names["namespace"], "-o", "json"
    ).json()
    assert "[profile target-env]" in config["data"]["config"]
    roles = _aws_auth_roles(target_admin)
    target_arn = f"arn:aws:iam::{aws.TARGET}:role/{names['target_role']}"
    assert FOREIGN in roles
    assert any(r["rolearn"] == target_arn and r["username"] == "test-user" for r in roles)
    assert any((tmp_path / "backups").rglob("*")), "apply saved no aws-auth backup"

    # the mapping works: a session of the target role is test-user in the target cluster
    sts = aws.client("sts", account=aws.TARGET)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{aws.TARGET}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    # the spec's trust names only the CI role; let the target admin in for this check
    iam_target.update_assume_role_policy(
        RoleName=names["target_role"], PolicyDocument=json.dumps(trust)
    )
    session = sts.assume_role(RoleArn=target_arn, RoleSessionName="check")["Credentials"]
    caller = Caller(sandbox.endpoint, tmp_path / "caller", session_env(session))
    caller.update_kubeconfig(names["target_cluster"])
    who = caller.kubectl("auth", "whoami", "-o", "json")
    assert who.ok and who.json()["status"]["userInfo"]["username"] == "test-user", str(who)

    destroyed = _kubetrust("destroy", *where, "--backup-dir", str(tmp_path / "backups"))
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    assert _aws_auth_roles(target_admin) == [FOREIGN]
    left = {r["RoleName"] for r in aws.listed(iam_ci, "list_roles", "Roles")}
    assert names["ci_role"] not in left
