"""The bundle load's forked child (``kubetrust.explain.bundle_parallel``) for real: the same
topology and byte-identical audit as one process; a child that fails leaves its part to the
parent; a bad file in the child's part gives the error one process gives; no child is left
behind. In the e2e tier: it forks (and, where this process may not fork, runs these checks
in a fresh single-threaded pytest process, as tests/test_audit_forked_ci.py does)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from forkkit import no_children_left, run_fresh

from kubetrust.explain import audit, bundle, bundle_parallel, forking, render, slot_pickle

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import synthetic_org

FRESH = "KUBETRUST_TEST_FRESH_PROCESS"
SHAPE = synthetic_org.Shape(accounts=20, roles=20, ci=2, cluster_every=5)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return synthetic_org.write(SHAPE, tmp_path / "bundle")


@pytest.fixture
def forking_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(bundle_parallel.DISABLE, raising=False)
    if not forking.fork_usable(bundle_parallel.DISABLE):
        pytest.skip("fork is not usable here (one CPU, threads, or no fork)")
    monkeypatch.setattr(bundle_parallel, "THRESHOLD_BYTES", 1)


def _alone(root: Path, monkeypatch: pytest.MonkeyPatch) -> bundle.Topology:
    with monkeypatch.context() as local:
        local.setenv(bundle_parallel.DISABLE, "1")
        return bundle.load_bundle([root])


@pytest.mark.usefixtures("forking_load")
def test_forked_load_is_the_single_process_load(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = os.getpid()
    forks: list[int] = []
    dumps: list[int] = []
    real_fork, real_dump = os.fork, slot_pickle.dump

    def counting_fork() -> int:
        forks.append(os.getpid())
        return real_fork()

    def counting_dump(value: object, file: object) -> None:
        dumps.append(os.getpid())
        real_dump(value, file)  # type: ignore[arg-type]

    monkeypatch.setattr(bundle_parallel.os, "fork", counting_fork)
    monkeypatch.setattr(slot_pickle, "dump", counting_dump)
    alone = _alone(root, monkeypatch)
    split = bundle.load_bundle([root])
    assert split == alone
    assert list(split.accounts) == list(alone.accounts)
    assert split.problems == alone.problems
    monkeypatch.setenv("KUBETRUST_AUDIT_PROCESSES", "1")
    assert json.dumps(render.audit_json(audit.run_audit(split))) == json.dumps(
        render.audit_json(audit.run_audit(alone))
    )
    assert forks == [parent]  # one child, forked by this process
    assert dumps == []  # the child sent its part: its list of dumps is not this one
    assert no_children_left()


@pytest.mark.usefixtures("forking_load")
def test_failing_child_leaves_its_part_to_the_parent(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = os.getpid()

    def fails_in_child(value: object, file: object) -> None:
        if os.getpid() != parent:
            raise RuntimeError("child trouble")

    monkeypatch.setattr(slot_pickle, "dump", fails_in_child)
    assert bundle.load_bundle([root]) == _alone(root, monkeypatch)
    assert no_children_left()


@pytest.mark.usefixtures("forking_load")
@pytest.mark.parametrize(
    "broken",
    [
        ["accounts/100000000003/authorization-details.json"],  # the parent's part
        ["accounts/100000000018/authorization-details.json"],  # the child's part
        ["clusters/prod-10/describe-cluster.json"],  # the parent's tail
        [  # the child's part comes before the tail
            "clusters/prod-10/describe-cluster.json",
            "accounts/100000000018/authorization-details.json",
        ],
        [  # the head before the child's part
            "accounts/100000000018/authorization-details.json",
            "accounts/100000000002/authorization-details.json",
        ],
    ],
)
def test_a_bad_file_gives_the_single_process_error(
    root: Path, monkeypatch: pytest.MonkeyPatch, broken: list[str]
) -> None:
    for name in broken:
        (root / name).write_text("{ not json", encoding="utf-8")
    target = root / broken[-1]
    with monkeypatch.context() as local:
        local.setenv(bundle_parallel.DISABLE, "1")
        with pytest.raises(bundle.BundleError) as alone:
            bundle.load_bundle([root])
    with pytest.raises(bundle.BundleError) as split:
        bundle.load_bundle([root])
    assert str(split.value) == str(alone.value)
    assert str(target) in str(split.value)
    assert no_children_left()


def test_the_checks_run_where_this_process_cannot_fork() -> None:
    """Under pytest-xdist a worker that started a sandbox has threads, so the checks above
    skip there; this runs them in a fresh single-threaded pytest process."""
    if os.environ.get(FRESH) or forking.fork_usable(bundle_parallel.DISABLE):
        pytest.skip("this process forks: the checks ran in it directly")
    if forking.usable_cpus() < 2:
        pytest.skip("one CPU: the load never forks here")
    run_fresh(
        Path(__file__), passed=7, extra_environment={FRESH: "1", bundle_parallel.DISABLE: None}
    )
