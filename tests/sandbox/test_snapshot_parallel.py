"""Snapshots read accounts in parallel, within their bound, through AWS's throttling.

A private sandbox of five accounts throttles IAM tightly (a burst of two calls per account,
then one a second: every account's snapshot makes more IAM calls than that). The parallel
snapshot must be the serial one, file for file; it must be retried through the throttling
(never failed), never read more accounts at once than its bound, and name the account whose
read failed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubetrust.adapters import snapshot
from kubetrust.adapters.aws import AwsAccess
from kubetrust.adapters.snapshot import SnapshotError, SnapshotOptions, take_snapshot
from kubetrust.explain import bundle
from kubetrust.sandbox.aws.throttle import Throttler
from kubetrust.sandbox.runtime.server import SandboxServer

from .realismkit import private_sandbox, realism
from .seedkit import REGION

ACCOUNTS = [f"32000000000{n}" for n in range(5)]
TIGHT_IAM = {"iam": {"rate": 1, "burst": 2}}


def _account(index: int, account: str) -> dict[str, Any]:
    """Roles that trust the next account and may assume its roles: the bundles must keep
    every cross-account edge whichever thread read which account."""
    following = ACCOUNTS[(index + 1) % len(ACCOUNTS)]
    return {
        "id": account,
        "name": f"account-{index}",
        "roles": [
            {
                "name": f"role-{n}",
                "trust": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{following}:role/role-{n}"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "policies": {
                    "next": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "sts:AssumeRole",
                                "Resource": f"arn:aws:iam::{following}:role/role-{n}",
                            }
                        ],
                    }
                },
            }
            for n in range(3)
        ],
    }


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    world = {
        "region": REGION,
        "realism": realism(throttling=TIGHT_IAM),
        "accounts": [_account(i, a) for i, a in enumerate(ACCOUNTS)],
    }
    with private_sandbox(tmp_path_factory.mktemp("snapshot-parallel"), world) as server:
        yield server


def _access(sandbox: SandboxServer, account: str) -> AwsAccess:
    key, secret = sandbox.admin_keys[account]
    return AwsAccess(
        access_key_id=key, secret_access_key=secret, endpoint_url=sandbox.endpoint, region=REGION
    )


def _files(root: Path) -> dict[str, str]:
    """Every file of a bundle but the snapshot's own record (it holds the time)."""
    return {
        str(p.relative_to(root)): p.read_text("utf-8")
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "snapshot.json"
    }


class _Watch:
    """Counts the accounts being read at once, and the calls the sandbox throttled."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.lock = threading.Lock()
        self.running = self.most = self.throttled = 0
        read, admits = snapshot.read_account, Throttler.admits

        def counted_read(*args: Any) -> snapshot.AccountRead:
            with self.lock:
                self.running += 1
                self.most = max(self.most, self.running)
            try:
                return read(*args)
            finally:
                with self.lock:
                    self.running -= 1

        def counted_admits(throttler: Throttler, *args: Any) -> bool:
            admitted = admits(throttler, *args)
            if not admitted:
                with self.lock:
                    self.throttled += 1
            return admitted

        monkeypatch.setattr(snapshot, "read_account", counted_read)
        monkeypatch.setattr(Throttler, "admits", counted_admits)


def test_parallel_snapshot_equals_the_serial_one_through_throttling(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    accesses = [_access(sandbox, a) for a in ACCOUNTS]
    serial = take_snapshot(accesses, tmp_path / "serial", SnapshotOptions(max_concurrency=1))
    watch = _Watch(monkeypatch)
    parallel = take_snapshot(accesses, tmp_path / "parallel", SnapshotOptions(max_concurrency=3))

    assert parallel.accounts == serial.accounts == ACCOUNTS
    assert parallel.warnings == serial.warnings == []
    assert watch.throttled > 0, "the IAM throttle never bit: the test proves nothing"
    assert 2 <= watch.most <= 3, f"{watch.most} accounts read at once with a bound of 3"
    assert _files(tmp_path / "parallel") == _files(tmp_path / "serial")
    assert not (tmp_path / "parallel" / snapshot.STAGING).exists()
    topology = bundle.load_bundle([tmp_path / "parallel"])
    assert sum(len(a.roles) for a in topology.accounts.values()) >= 3 * len(ACCOUNTS)


def test_the_bound_holds_with_more_accounts_than_workers(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watch = _Watch(monkeypatch)
    accesses = [_access(sandbox, a) for a in ACCOUNTS] * 2  # each account twice: read once
    result = take_snapshot(accesses, tmp_path / "b", SnapshotOptions(max_concurrency=2))
    assert result.accounts == ACCOUNTS
    assert watch.most == 2


def test_an_account_that_cannot_be_read_is_named_after_the_others_finish(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    good = [_access(sandbox, a) for a in ACCOUNTS[:2]]
    bad = AwsAccess(
        access_key_id="AKIAIOSFODNN7EXAMPLE",
        secret_access_key="not-a-key",
        endpoint_url=sandbox.endpoint,
        region=REGION,
    )
    with pytest.raises(SnapshotError) as refused:
        take_snapshot([*good, bad], tmp_path / "c", SnapshotOptions(max_concurrency=3))
    assert "credentials: sts:GetCallerIdentity" in str(refused.value)
    assert not (tmp_path / "c" / snapshot.STAGING).exists()


def test_a_bound_below_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="must be at least 1"):
        take_snapshot([AwsAccess()], tmp_path / "d", SnapshotOptions(max_concurrency=0))
