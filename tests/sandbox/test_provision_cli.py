"""``kubetrust plan | apply | destroy`` as a user runs them, against the session's sandbox.

A real subprocess with ``--sandbox --state-dir``: the session's sandbox writes its state
file like a detached one, so the CLI finds its endpoint and admin keys there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from .test_provision_aws import EXAMPLES, _cluster


def _kubetrust(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubetrust", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_plan_apply_destroy_exit_codes(aws: Any, tmp_path: Path) -> None:
    cluster = _cluster(aws, aws.CI, "ci-cluster")
    ci_role, target_role = aws.unique("cli-ci"), aws.unique("cli-target")
    text = (
        (EXAMPLES / "seed.yaml")
        .read_text()
        .replace("cluster: ci-cluster", f"cluster: {cluster}")
        .replace("ci-account-iam-role", ci_role)
        .replace("target-account-iam-role", target_role)
    )
    spec = tmp_path / "kubetrust.yaml"
    spec.write_text(text)
    where = ["-f", str(spec), "--sandbox", "--state-dir", str(aws.sandbox.state_dir), "--aws-only"]

    pending = _kubetrust("plan", *where)
    assert pending.returncode == 2, pending.stderr
    assert pending.stdout.startswith("plan `seed`: 5 to create, 0 to update, 0 to delete")
    assert f"+ create   role 111111111111 {ci_role}  [source]" in pending.stdout
    assert '    +      "Action": "sts:AssumeRoleWithWebIdentity",' in pending.stdout

    applied = _kubetrust("apply", *where, "--backup-dir", str(tmp_path / "b"))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "apply done: 5 writes" in applied.stdout
    assert f"[target] + create role 222222222222 {target_role}: done" in applied.stderr

    clean = _kubetrust("plan", *where, "--output", "json")
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["summary"] == {
        "create": 0,
        "update": 0,
        "delete": 0,
        "noop": 6,
    }

    destroyed = _kubetrust("destroy", *where)
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
    assert "destroy done" in destroyed.stdout


def test_invalid_spec_exits_3_with_positions(tmp_path: Path) -> None:
    spec = tmp_path / "kubetrust.yaml"
    spec.write_text((EXAMPLES / "seed.yaml").read_text().replace('"222222222222"', '"2222"'))
    result = _kubetrust("plan", "-f", str(spec))
    assert result.returncode == 3
    assert result.stderr == f"{spec}:27:16: `2222` is not an AWS account id (12 digits)\n"


def test_sandbox_flag_starts_a_sandbox_with_the_specs_world(tmp_path: Path) -> None:
    """No sandbox runs in the state dir: ``--sandbox`` starts one whose world holds the
    spec's accounts and clusters, so the seed's spec applies as it is (AWS and Kubernetes)."""
    state = tmp_path / "state"
    where = ["-f", str(EXAMPLES / "seed.yaml"), "--sandbox", "--state-dir", str(state)]
    try:
        pending = _kubetrust("plan", *where)
        assert pending.returncode == 2, pending.stdout + pending.stderr
        assert f"started a sandbox in {state}" in pending.stderr
        applied = _kubetrust("apply", *where, "--backup-dir", str(tmp_path / "b"))
        assert applied.returncode == 0, applied.stdout + applied.stderr
        clean = _kubetrust("plan", *where)
        assert clean.returncode == 0, clean.stdout + clean.stderr
        assert "started a sandbox" not in clean.stderr
    finally:
        down = _kubetrust("sandbox", "down", "--state-dir", str(state))
        assert down.returncode == 0, down.stdout + down.stderr
