"""With realism on, ``kubetrust apply`` of each example spec followed at once by ``kubetrust
verify`` passes the first time, and the output shows the waits (issue 14, "Done when").

A real ``kubetrust sandbox up --detach --realism aws`` (its own process and state directory,
an empty HOME) runs AWS's timing with the preset's figures: five seconds of IAM propagation,
three for access entries and associations to reach the data plane, throttling and AWS's page
sizes. Per example: ``apply``, a pod of each source service account (``kubectl apply``: the
webhook mutates it for IRSA or Pod Identity), ``verify`` at once, then ``destroy`` so the
next example starts clean (the examples share namespaces and service accounts).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kubetrust import provision

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
BIN = Path(sys.executable).parent


def _world(path: Path) -> None:
    """Every account and cluster the examples name."""
    clusters: dict[str, list[str]] = {}
    for example in EXAMPLES:
        spec = provision.load_spec(example)
        clusters.setdefault(spec.source.account, [])
        if spec.source.cluster not in clusters[spec.source.account]:
            clusters[spec.source.account].append(spec.source.cluster)
        for target in spec.targets:
            names = clusters.setdefault(target.account, [])
            names += [c.name for c in target.clusters if c.name not in names]
    world = {
        "region": "us-east-1",
        "accounts": [{"id": account, "clusters": names} for account, names in clusters.items()],
    }
    path.write_text(yaml.safe_dump(world, sort_keys=False), encoding="utf-8")


class Run:
    """``kubetrust`` and ``kubectl`` in a private HOME against one sandbox."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.state = work / "state"
        self.told: dict[str, list[str]] = {}
        """Per example, the lines of apply and verify that told a wait."""
        home = work / "home"
        home.mkdir(parents=True)
        self.env = {
            "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def kubetrust(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "kubetrust", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=self.work,
        )
        if check:
            assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done

    def kubectl(self, cluster: str, *args: str) -> subprocess.CompletedProcess[str]:
        config = self.work / f"{cluster}.kubeconfig"
        if not config.exists():
            self.kubetrust(
                "sandbox", "kubeconfig", "--state-dir", str(self.state),
                "--cluster", cluster, "--out", str(config),
            )  # fmt: skip
        done = subprocess.run(
            [str(BIN / "kubectl"), "--kubeconfig", str(config), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
        return done


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    work = tmp_path_factory.mktemp("apply-realism")
    session = Run(work)
    world = work / "world.yaml"
    _world(world)
    session.kubetrust("sandbox", "up", "--detach", "--state-dir", str(session.state),
                      "--world", str(world), "--realism", "aws")  # fmt: skip
    try:
        yield session
    finally:
        session.kubetrust("sandbox", "down", "--state-dir", str(session.state), check=False)


def _pod(run: Run, cluster: str, namespace: str, service_account: str) -> str:
    name = f"verify-{service_account}"[:60]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "serviceAccountName": service_account,
            "containers": [{"name": "c", "image": "amazon/aws-cli", "command": ["sleep"]}],
        },
    }
    manifest = run.work / f"{cluster}-{namespace}-{name}.json"
    manifest.write_text(json.dumps(pod), encoding="utf-8")
    run.kubectl(cluster, "apply", "-f", str(manifest))
    return name


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_apply_then_verify_at_once_passes_first_time(run: Run, example: Path) -> None:
    spec, source = provision.load_spec(example), provision.load_spec(example).source
    state = ["--sandbox", "--state-dir", str(run.state)]
    pods: list[str] = []
    try:
        applied = run.kubetrust("apply", "-f", str(example), *state, "--backup-dir", "backups")
        pods = [_pod(run, source.cluster, sa.namespace, sa.name) for sa in source.service_accounts]
        where = ["--cluster", source.cluster, "-n", source.service_accounts[0].namespace]
        where = [] if spec.pod_identity else [*where, "--pod", pods[0]]
        verified = run.kubetrust("verify", "-f", str(example), *state, *where, check=False)
        assert verified.returncode == 0, verified.stdout[-4000:] + verified.stderr[-2000:]
        run.told[example.stem] = [
            line
            for line in (applied.stderr + verified.stderr + verified.stdout).splitlines()
            if "waiting for" in line or "waited" in line
        ]
    finally:
        run.kubetrust("destroy", "-f", str(example), *state, "--backup-dir", "backups")
        for pod, sa in zip(pods, source.service_accounts, strict=False):
            run.kubectl(source.cluster, "delete", "pod", pod, "-n", sa.namespace, "--wait=false")


def test_the_waits_were_told(run: Run) -> None:
    """Realism is on: some example met AWS's eventual consistency, and its output said so
    (which ones depends on timing: a wait shorter than the steps between is never met)."""
    assert len(run.told) == len(EXAMPLES), run.told
    assert any(run.told.values()), run.told
