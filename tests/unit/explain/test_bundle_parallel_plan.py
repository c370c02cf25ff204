"""How the bundle load picks the part a forked child reads (``kubetrust.explain.
bundle_parallel``), decided without forking: never below the size threshold, never when
forking is unusable or switched off, only account items, the end of the longest run of
them, about the child's share of their bytes; and a load that cannot fork reads everything
itself. The fork itself is tested in tests/test_bundle_forked_e2e.py (this tier may not
start a process)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from kubetrust.explain import bundle, bundle_parallel, forking

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import synthetic_org

BIG = bundle_parallel.THRESHOLD_BYTES


@pytest.fixture
def forkable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forking allowed as far as the checks go (none happens: child_run only plans)."""
    monkeypatch.delenv(bundle_parallel.DISABLE, raising=False)
    monkeypatch.setattr(forking, "fork_usable", lambda disable, cpus=None: True)


def _plan(weights: Sequence[int], share: float = 0.5) -> tuple[int, int] | None:
    return bundle_parallel.child_run(list(weights), lambda weight: weight, share)


@pytest.mark.usefixtures("forkable")
def test_the_child_takes_the_end_of_the_account_run() -> None:
    weights = [BIG // 10] * 10 + [0, 0]  # ten accounts, then two clusters
    assert _plan(weights) == (5, 10)
    assert _plan(weights, share=0.3) == (7, 10)


@pytest.mark.usefixtures("forkable")
def test_the_longest_run_of_accounts_is_split() -> None:
    weights = [BIG, 0, BIG // 4, BIG // 4, BIG // 4, BIG // 4, 0, BIG]
    start, stop = _plan(weights) or (0, 0)
    assert (start, stop) == (3, 6)
    assert all(weights[index] > 0 for index in range(start, stop))


@pytest.mark.usefixtures("forkable")
def test_the_parent_keeps_at_least_one_item_of_the_run() -> None:
    assert _plan([BIG * 3], share=0.9) is None
    assert _plan([BIG, BIG], share=0.99) == (1, 2)


@pytest.mark.usefixtures("forkable")
def test_small_bundles_stay_in_one_process() -> None:
    assert _plan([BIG // 10] * 9) is None
    assert _plan([0] * 100) is None


def test_switched_off_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(bundle_parallel.DISABLE, "1")
    assert not forking.fork_usable(bundle_parallel.DISABLE)
    asked: list[int] = []

    def weight(item: int) -> int:
        asked.append(item)
        return BIG

    assert bundle_parallel.child_run([1, 2, 3], weight) is None
    assert asked == []  # not even the sizes are read


def test_not_with_one_cpu_or_other_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(bundle_parallel.DISABLE, raising=False)
    assert not forking.fork_usable(bundle_parallel.DISABLE, cpus=lambda: 1)
    monkeypatch.setattr(forking.threading, "active_count", lambda: 2)
    assert not forking.fork_usable(bundle_parallel.DISABLE, cpus=lambda: 2)


def test_no_fork_to_be_had_reads_everything_here(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise OSError("no process slot")

    monkeypatch.setattr(bundle_parallel.os, "fork", no_fork)
    calls: list[tuple[int, int]] = []

    def run(start: int, stop: int) -> list[int]:
        calls.append((start, stop))
        return list(range(start, stop))

    def join(parts: Sequence[list[int]]) -> list[int]:
        return [item for part in parts for item in part]

    assert bundle_parallel.split_run(10, (4, 8), run, join) == list(range(10))
    assert calls == [(0, 10)]


def test_a_load_that_may_not_fork_is_the_single_process_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over the threshold, with forking refused by the platform: the same topology."""
    root = synthetic_org.write(
        synthetic_org.Shape(accounts=8, roles=10, ci=2, cluster_every=4), tmp_path / "b"
    )
    alone = bundle.load_bundle([root])
    monkeypatch.setattr(bundle_parallel, "THRESHOLD_BYTES", 1)
    monkeypatch.delenv(bundle_parallel.DISABLE, raising=False)
    monkeypatch.setattr(forking, "fork_usable", lambda disable, cpus=None: True)

    def no_fork() -> int:
        raise OSError("no process slot")

    monkeypatch.setattr(bundle_parallel.os, "fork", no_fork)
    assert bundle.load_bundle([root]) == alone
