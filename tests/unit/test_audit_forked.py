"""When an audit step stays in one process, and that the action-match memo decides what the
engine's matcher decides. (The forked path itself is exercised in
``tests/test_audit_forked_e2e.py``: a unit test may not start a process.)"""

from __future__ import annotations

import threading

import pytest

from kubetrust.chain import graph
from kubetrust.explain.audit import forked
from kubetrust.policy import PolicyKind, matching, parse_policy


def _double(items: object) -> list[int]:
    return [2 * item for item in items]  # type: ignore[attr-defined]


def test_short_lists_stay_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse() -> int:
        raise AssertionError("forked below the threshold")

    monkeypatch.setattr(forked.os, "fork", refuse)
    assert forked.split_map(list(range(10)), _double, threshold=11) == _double(range(10))
    assert forked.split_map([], _double, threshold=0 + 1) == []


def test_disabled_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(forked.DISABLE, "1")
    assert not forked.fork_usable()
    monkeypatch.setattr(forked.os, "fork", lambda: pytest.fail("forked while disabled"))
    assert forked.split_map(list(range(100)), _double, threshold=1) == _double(range(100))


def test_not_with_other_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(forked.DISABLE, raising=False)
    release = threading.Event()
    worker = threading.Thread(target=release.wait)
    worker.start()
    try:
        assert not forked.fork_usable()
    finally:
        release.set()
        worker.join()


def test_not_on_one_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(forked.DISABLE, raising=False)
    monkeypatch.setattr(forked, "_usable_cpus", lambda: 1)
    assert not forked.fork_usable()


@pytest.mark.parametrize(
    "actions",
    [
        ("sts:AssumeRole",),
        ("STS:assumerole",),
        ("sts:Assume*",),
        ("sts:AssumeRoleWith*",),
        ("s3:GetObject", "sts:?ssumeRole"),
        ("*",),
        ("sts:TagSession",),
    ],
)
@pytest.mark.parametrize("negated", [False, True])
def test_action_memo_matches_engine(actions: tuple[str, ...], negated: bool) -> None:
    element = "NotAction" if negated else "Action"
    document = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", element: list(actions), "Resource": "*"}],
        },
        PolicyKind.IDENTITY,
    )
    (statement,) = document.statements
    for action in (graph.ASSUME_ROLE, graph.WEB_IDENTITY, "sts:tagsession"):
        plain = bool(graph.glob(actions, matching.ACTION).fullmatch(action))
        expected = not plain if negated else plain
        assert graph.action_matches(statement, action) is expected  # first: computed
        assert graph.action_matches(statement, action) is expected  # then: remembered
