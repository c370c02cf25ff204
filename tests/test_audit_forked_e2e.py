"""The audit's forked half (``kubetrust.explain.audit.forked``) for real: the same results
as one process, in order; a child that fails leaves its half to the parent; no child is
left behind. In the e2e tier: it forks."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from forkkit import no_children_left

from kubetrust.explain import audit, bundle, render
from kubetrust.explain.audit import forked

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import synthetic_org


def _squares(items: Sequence[int]) -> list[tuple[int, str]]:
    return [(item * item, str(item)) for item in items]


@pytest.fixture(autouse=True)
def _forking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(forked.DISABLE, raising=False)
    if not forked.fork_usable():
        pytest.skip("fork is not usable here (one CPU, threads, or no fork)")


def test_split_map_same_as_one_process() -> None:
    items = list(range(10_001))
    assert forked.split_map(items, _squares, threshold=2) == _squares(items)
    assert no_children_left()


def test_failing_child_leaves_its_half_to_the_parent() -> None:
    parent = os.getpid()
    calls: list[int] = []

    def fails_in_child(items: Sequence[int]) -> list[tuple[int, str]]:
        if os.getpid() != parent:
            raise RuntimeError("child trouble")
        calls.append(len(items))
        return _squares(items)

    items = list(range(1001))
    assert forked.split_map(items, fails_in_child, threshold=2) == _squares(items)
    assert calls == [500, 501]  # its own half, then the child's
    assert no_children_left()


def test_error_in_parent_still_reaps_the_child() -> None:
    parent = os.getpid()

    def fails_in_parent(items: Sequence[int]) -> list[tuple[int, str]]:
        if os.getpid() == parent:
            raise ValueError("parent trouble")
        return _squares(items)

    with pytest.raises(ValueError, match="parent trouble"):
        forked.split_map(list(range(100)), fails_in_parent, threshold=2)
    assert no_children_left()


def test_meanwhile_runs_once_here_while_the_child_takes_the_larger_part(tmp_path: Path) -> None:
    parent = os.getpid()
    record = tmp_path / "meanwhile"
    parts: list[int] = []

    def meanwhile() -> None:
        with record.open("a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()}\n")

    def squares(items: Sequence[int]) -> list[tuple[int, str]]:
        if os.getpid() == parent:
            parts.append(len(items))
        return _squares(items)

    items = list(range(1000))
    found = forked.split_map(items, squares, threshold=2, meanwhile=meanwhile, child_share=0.65)
    assert found == _squares(items)
    assert record.read_text(encoding="utf-8") == f"{parent}\n"  # once, and not in the child
    assert parts == [350]  # the child judged the other 650
    assert no_children_left()


def test_meanwhile_runs_after_the_work_without_a_child() -> None:
    order: list[str] = []

    def squares(items: Sequence[int]) -> list[tuple[int, str]]:
        order.append("work")
        return _squares(items)

    found = forked.split_map([1, 2, 3], squares, meanwhile=lambda: order.append("meanwhile"))
    assert found == _squares([1, 2, 3])
    assert order == ["work", "meanwhile"]


def test_an_error_in_meanwhile_still_reaps_the_child() -> None:
    def fails() -> None:
        raise ValueError("meanwhile trouble")

    with pytest.raises(ValueError, match="meanwhile trouble"):
        forked.split_map(list(range(100)), _squares, threshold=2, meanwhile=fails)
    assert no_children_left()


def test_audit_forked_is_byte_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shape = synthetic_org.Shape(accounts=20, roles=20, ci=2, cluster_every=5)
    root = synthetic_org.write(shape, tmp_path / "bundle")
    topology = bundle.load_bundle([root])
    monkeypatch.setenv(forked.DISABLE, "1")
    alone = render.audit_json(audit.run_audit(topology))
    monkeypatch.delenv(forked.DISABLE)
    monkeypatch.setattr(forked, "THRESHOLD", 2)
    topology = bundle.load_bundle([root])
    split = render.audit_json(audit.run_audit(topology))
    assert split == alone
    assert alone["edges"] > 0 and alone["findings"]
    assert no_children_left()
