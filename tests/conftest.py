"""What every test shares: its tier from its folder, a scrubbed environment, hypothesis profiles.

Tiers (declared in ``pyproject.toml``; ``make unit``, ``make test-sandbox`` and ``make e2e``
select them, ``make test`` runs all three):

- ``unit`` — ``tests/unit/`` and ``tests/cases/``: no server, no subprocess. A guard fails a
  unit test that binds a socket or starts a process: such a test belongs to another tier.
- ``sandbox`` — ``tests/sandbox/``: a sandbox (or moto, or a capture server) on loopback, with
  real clients against it (boto3, the aws CLI, kubectl).
- ``e2e`` — ``tests/test_*.py``: real binaries, ``make``, the demo, the benchmarks.

A test in a unit folder that needs a real binary says so with an explicit ``@pytest.mark.e2e``
(or ``sandbox``); the folder's tier applies to every other test.

The developer's own cloud never leaks in: ``AWS_*`` and ``KUBECONFIG`` are removed and ``HOME``
is an empty temporary directory for the whole session, set in :func:`pytest_configure`, so
before any fixture (session-scoped sandboxes included) reads ``~/.aws`` or ``~/.kube``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

TESTS = Path(__file__).resolve().parent
TIERS = ("unit", "sandbox", "e2e")
FOLDER_TIERS = {"unit": "unit", "cases": "unit", "sandbox": "sandbox"}

# Few examples locally (the fast loop), many more in CI (CI=true). Tests that fix their
# own max_examples in @settings keep it: a profile only sets the default.
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("ci", max_examples=300, deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "dev")


# --- the environment ------------------------------------------------------------------------

_SCRUBBED = ("KUBECONFIG",)
_saved_environ: dict[str, str] = {}
_private_home: list[Path] = []


def _scrub_environment() -> None:
    """No developer credentials, profiles, regions or kubeconfigs; an empty HOME."""
    _saved_environ.update(os.environ)
    for name in list(os.environ):
        if name.startswith("AWS_") or name in _SCRUBBED:
            del os.environ[name]
    home = Path(tempfile.mkdtemp(prefix="kubetrust-test-home-"))
    _private_home.append(home)
    os.environ["HOME"] = str(home)
    # botocore would otherwise ask the instance metadata service for credentials
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def _restore_environment() -> None:
    os.environ.clear()
    os.environ.update(_saved_environ)
    for home in _private_home:
        shutil.rmtree(home, ignore_errors=True)
    _private_home.clear()


# --- the unit guard -------------------------------------------------------------------------

_REFUSED_IN_UNIT = frozenset(
    {
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.spawn",
        "os.posix_spawn",
        "os.fork",
        "os.forkpty",
        "socket.bind",
    }
)


class UnitTierViolation(RuntimeError):
    """A unit test started a process or bound a socket (not an OSError, which code under test
    may catch; and a swallowed one still fails the test, see the report hook)."""


class _UnitGuard:
    """An audit hook that refuses processes and listening sockets while a unit test runs.

    Audit hooks cannot be removed, so the hook stays installed and checks ``active``. Only
    the main thread is watched: pytest runs tests there, while servers left by other tiers'
    session fixtures keep serving in their own threads.
    """

    def __init__(self) -> None:
        self.active = False
        self.violations: list[str] = []

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active or event not in _REFUSED_IN_UNIT:
            return
        if threading.current_thread() is not threading.main_thread():
            return
        what = f"{event}{_short(args)}"
        self.violations.append(what)
        raise UnitTierViolation(
            f"a unit test may not start a process or bind a socket ({what}): "
            "move it to tests/sandbox/ or top-level tests/, or mark it e2e/sandbox"
        )


def _short(args: tuple[Any, ...]) -> str:
    text = repr(args)
    return text if len(text) <= 200 else text[:197] + "..."


_guard = _UnitGuard()


# --- hooks ----------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    _scrub_environment()
    sys.addaudithook(_guard)


def pytest_unconfigure(config: pytest.Config) -> None:
    _restore_environment()


def _folder_tier(path: Path) -> str:
    relative = path.resolve().relative_to(TESTS)
    if len(relative.parts) == 1:
        return "e2e"
    tier = FOLDER_TIERS.get(relative.parts[0])
    if tier is None:
        raise pytest.UsageError(f"{relative}: tests/{relative.parts[0]}/ has no tier (conftest)")
    return tier


def tier_of(item: pytest.Item) -> str:
    """The tier a test runs in: its own explicit marker, else its folder's."""
    explicit = {mark.name for mark in item.iter_markers() if mark.name in TIERS}
    if len(explicit) > 1:
        raise pytest.UsageError(f"{item.nodeid}: more than one tier marker {sorted(explicit)}")
    folder = _folder_tier(item.path)
    if not explicit:
        return folder
    tier = explicit.pop()
    if tier == "unit" and folder != "unit":  # `make unit` collects only the unit folders
        raise pytest.UsageError(f"{item.nodeid}: a unit test belongs in tests/unit/")
    return tier


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(item)
        if not item.get_closest_marker(tier):
            item.add_marker(tier)


def _guarded(item: pytest.Item) -> Generator[None, object, object]:
    _guard.active = item.get_closest_marker("unit") is not None
    try:
        return (yield)
    finally:
        _guard.active = False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    """The guard watches a unit test's setup and call; teardown is left out, since the
    last test's teardown also stops the session's sandboxes (other tiers' fixtures)."""
    _guard.violations.clear()
    return (yield from _guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A violation fails the test even if the code under test swallowed the exception."""
    report = yield
    if _guard.violations and report.when in ("setup", "call"):
        if report.passed:
            report.outcome = "failed"
            report.longrepr = f"unit tier violated: {'; '.join(_guard.violations)}"
        _guard.violations.clear()
    return report
