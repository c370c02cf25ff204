"""``kubetrust demo --federation pod-identity``: the whole run as a user starts it.

As for the seed (tests/test_demo.py): a real subprocess with a private state directory and an
empty ``HOME``; it must pass with every link's expected verdict, leave no sandbox process
behind and write nothing into ``HOME``. The verdict rules and the summary are pinned by
tests/unit/test_demo_pod_identity.py.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXPECTED = {
    "agent-addon": "allowed",
    "association": "allowed",
    "association-role": "allowed",
    "target-role": "allowed",
    "aws-api": "allowed",
    "kube-identity": "allowed",
    "rbac": "allowed",
    "other-serviceaccount-denied": "denied",
}
TARGET_SESSION = (
    "arn:aws:sts::222222222222:assumed-role/target-account-iam-role/eks-ci-cluster-test-deployment-"
)


def _processes_naming(text: str) -> list[str]:
    """Command lines of running processes that mention ``text`` (our state directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found


def test_pod_identity_demo_end_to_end(tmp_path: Path) -> None:
    state = tmp_path / "state"
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "HOME": str(home)}
    # `make demo` with the flag the README shows
    flags = f"DEMO_FLAGS=--federation pod-identity --output json --state-dir {state}"
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "-C", str(REPO), "demo", flags],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["failures"] == []
    assert report["federation"] == "pod-identity"
    links = {link["key"]: link for link in report["links"]}
    assert {key: link["verdict"] for key, link in links.items()} == EXPECTED
    # the pod had no AWS config, and its default credentials are the target role's session
    pod_checks = {check["command"]: check for check in links["association"]["checks"]}
    assert (
        "AWS_CONTAINER_CREDENTIALS_FULL_URI="
        in pod_checks["env | grep ^AWS_CONTAINER_ | sort"]["stdout"]
    )
    assert links["target-role"]["evidence"].startswith(TARGET_SESSION)
    # the association the CI administrator reads names both roles
    described = json.loads(links["association"]["checks"][1]["stdout"])["association"]
    assert described["roleArn"] == "arn:aws:iam::111111111111:role/ci-pod-identity-role"
    assert described["targetRoleArn"] == "arn:aws:iam::222222222222:role/target-account-iam-role"
    # kubectl went through the access entry, not aws-auth
    assert links["kube-identity"]["evidence"].startswith("user `ci-deployer`")
    denied = links["other-serviceaccount-denied"]
    assert all(
        "Unable to locate credentials" in check["stderr"]
        for check in denied["checks"]
        if check["command"] != "env | grep ^AWS_CONTAINER_ | sort"
    )
    assert denied["why"].startswith("kubetrust explain (offline, same state)")
    assert report["sandbox"] == "stopped"
    assert report["steps"][-1] == {**report["steps"][-1], "name": "stop the sandbox", "ok": True}
    assert report["graph"].startswith("flowchart LR")
    assert _processes_naming(str(state)) == []
    assert not (state / "sandbox.json").exists()
    assert not (state / "demo").exists()
    assert list(home.iterdir()) == [], "the demo wrote into HOME"
