"""``kubetrust demo --federation pod-identity``: the whole run as a user starts it.

As for the seed (tests/test_demo.py): a real subprocess with a private state directory and an
empty ``HOME``; it must pass with every link's expected verdict, leave no sandbox process
behind and write nothing into ``HOME``. The verdict rules and the summary are pinned by
tests/unit/test_demo_pod_identity.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from demokit import make_demo, processes_naming
from reportkit import report_payload

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


def test_pod_identity_demo_end_to_end(tmp_path: Path) -> None:
    # `make demo` with the flag the README shows
    written = tmp_path / "report.html"
    done, state = make_demo(tmp_path, "--federation pod-identity", f"--report {written}")
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
    # the access report draws the association's pod-identity and targetRoleArn edges
    assert report["reportFile"] == str(written)
    hops = {edge["hop"] for edge in report_payload(written)["edges"]}
    assert {"pod-identity", "targetRoleArn"} <= hops, hops
    assert processes_naming(str(state)) == []
    assert not (state / "sandbox.json").exists()
    assert not (state / "demo").exists()
    assert list((tmp_path / "home").iterdir()) == [], "the demo wrote into HOME"
