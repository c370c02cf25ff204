"""Apply and destroy: execute a plan's changes in dependency order, targets in parallel.

Phases run one after the other (OIDC provider → CI role → target roles → chain policy →
service accounts → ConfigMaps → cluster access; destroy backwards). Within a phase each
unit (the source, or one target) is a job of a thread pool, so three targets' roles and
aws-auth entries are written side by side. A unit that fails stops; the other targets go
on; a failure of the source stops every later phase, since everything after it depends on
it (the CI role, the service accounts). The report says which units are done and which are
not, and why.

Nothing is remembered between runs: each run plans from live state, so an apply killed
half-way, then run again, sees what exists and makes only what is missing. A run that finds
nothing to do makes no write (:attr:`ApplyReport.writes` counts every API write).

AWS is eventually consistent and asynchronous (reference H): the handlers wait, for a
bounded time, for EKS to see a role just made (:mod:`.handlers_propagation`) and the ports
for clusters and add-ons to be ``ACTIVE``; every wait is told to :attr:`Options.progress`
while it lasts, and a bound reached fails the change with a message that says so.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from kubetrust import errors
from kubetrust.provision import desired as desired_state
from kubetrust.provision import documents, eventual
from kubetrust.provision.changes import SYMBOLS, Change, Plan
from kubetrust.provision.context import Context, utcnow
from kubetrust.provision.plan import handler, plan, plan_destroy
from kubetrust.provision.ports import Ports
from kubetrust.provision.resources import SOURCE_UNIT
from kubetrust.provision.spec import Spec


@dataclass(frozen=True)
class Options:
    """How to apply. ``kubernetes=False`` does the AWS side only."""

    kubernetes: bool = True
    backup_dir: Path | None = None
    artifacts_dir: Path | None = None
    parallel: int = 4
    progress: Callable[[str], None] = lambda line: None
    clock: Callable[[], dt.datetime] = utcnow
    sleep: Callable[[float], None] = time.sleep
    propagation_seconds: float = eventual.IAM_PROPAGATION_SECONDS
    """How long one EKS write waits for a role IAM has just changed (reference H.1)."""
    jitter: Callable[[float], float] = eventual.full_jitter
    association_settle_seconds: float = eventual.ASSOCIATION_SETTLE_SECONDS
    """How long new Pod Identity associations are given to reach EKS's data plane before
    apply returns (:data:`~kubetrust.provision.eventual.ASSOCIATION_SETTLE_SECONDS`)."""


@dataclass(frozen=True)
class UnitResult:
    unit: str
    done: bool
    applied: int
    pending: int
    error: str = ""


@dataclass(frozen=True)
class ApplyReport:
    plan: Plan
    writes: int
    units: tuple[UnitResult, ...]
    backups: tuple[Path, ...] = ()
    artifacts: tuple[Path, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.plan.conflicts and all(unit.done for unit in self.units)

    def to_json(self) -> dict[str, object]:
        return {
            "spec": self.plan.spec_name,
            "operation": self.plan.operation,
            "ok": self.ok,
            "writes": self.writes,
            "conflicts": self.plan.conflicts,
            "units": [
                {
                    "unit": u.unit,
                    "done": u.done,
                    "applied": u.applied,
                    "pending": u.pending,
                    **({"error": u.error} if u.error else {}),
                }
                for u in self.units
            ],
            "backups": [str(p) for p in self.backups],
            "artifacts": [str(p) for p in self.artifacts],
            "changes": [c.to_json() for c in self.plan.pending],
        }


def apply(spec: Spec, ports: Ports, options: Options | None = None) -> ApplyReport:
    """Plan, then make every pending change (nothing at all if the plan has conflicts)."""
    options = options or Options()
    current = plan(spec, ports, kubernetes=options.kubernetes)
    report = execute(current, spec, ports, options)
    if report.ok and options.artifacts_dir is not None:
        paths = write_artifacts(spec, current, options.artifacts_dir)
        report = ApplyReport(report.plan, report.writes, report.units, report.backups, paths)
    return report


def destroy(spec: Spec, ports: Ports, options: Options | None = None) -> ApplyReport:
    """Remove what this spec created (by its tags and labels) and its aws-auth entries."""
    options = options or Options()
    return execute(plan_destroy(spec, ports, kubernetes=options.kubernetes), spec, ports, options)


def execute(current: Plan, spec: Spec, ports: Ports, options: Options) -> ApplyReport:
    """Make the pending changes of ``current``, phase by phase, units in parallel."""
    units = [SOURCE_UNIT] + [target.name for target in spec.targets]
    pending = current.pending
    counts = {unit: sum(1 for c in pending if c.unit == unit) for unit in units}
    if current.conflicts:
        results = tuple(UnitResult(u, False, 0, counts[u], "not started: conflicts") for u in units)
        return ApplyReport(current, 0, results)
    context = Context(
        ports,
        spec.name,
        options.backup_dir,
        options.clock,
        options.sleep,
        options.progress,
        options.propagation_seconds,
        options.jitter,
    )
    state = _State()
    phases = sorted({c.phase for c in pending}, reverse=current.operation == "destroy")
    with ThreadPoolExecutor(max_workers=max(1, options.parallel)) as pool:
        for phase in phases:
            if SOURCE_UNIT in state.failed:
                break
            jobs: dict[str, list[Change]] = {}
            for change in pending:
                if change.phase == phase and change.unit not in state.failed:
                    jobs.setdefault(change.unit, []).append(change)
            futures = [
                pool.submit(_run_unit, unit, changes, context, state, options.progress)
                for unit, changes in jobs.items()
            ]
            for future in futures:
                future.result()
    _settle_associations(context, options)
    results = tuple(
        UnitResult(
            unit,
            unit not in state.failed and state.applied.get(unit, 0) == counts[unit],
            state.applied.get(unit, 0),
            counts[unit],
            state.failed.get(unit, "") or _not_started(state, unit, counts[unit]),
        )
        for unit in units
    )
    return ApplyReport(current, state.writes, results, tuple(context.backups))


def _settle_associations(context: Context, options: Options) -> None:
    """Let the associations this apply wrote reach EKS's webhook and EKS Auth before
    returning, so that a pod started next gets credentials (a pod created before is never
    mutated). EKS gives no signal to poll (reference H.2), so this waits out
    ``association_settle_seconds`` from the last write, and says so."""
    written = context.association_written
    if written is None or options.association_settle_seconds <= 0:
        return
    elapsed = (options.clock() - written).total_seconds()
    remaining = options.association_settle_seconds - elapsed
    if remaining <= 0:
        return
    options.progress(
        f"waiting {remaining:.0f} s for EKS to propagate the new Pod Identity associations to "
        "its webhook and EKS Auth (EKS is eventually consistent and gives no signal; a pod "
        "created before they arrive gets no credentials until it is recreated)"
    )
    options.sleep(remaining)


def _not_started(state: _State, unit: str, count: int) -> str:
    return "not started: the source failed" if state.applied.get(unit, 0) < count else ""


@dataclass
class _State:
    writes: int = 0
    applied: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _run_unit(
    unit: str,
    changes: list[Change],
    context: Context,
    state: _State,
    progress: Callable[[str], None],
) -> None:
    for change in changes:
        label = f"[{unit}] {SYMBOLS[change.action]} {change.action} {change.key}"
        try:
            writes = handler(change.item).execute(change, context)
        except errors.KubetrustError as error:
            progress(f"{label}: failed: {error}")
            with state.lock:
                state.failed[unit] = f"{change.key}: {error}"
            return
        progress(f"{label}: done")
        with state.lock:
            state.writes += writes
            state.applied[unit] = state.applied.get(unit, 0) + 1


def write_artifacts(spec: Spec, current: Plan, directory: Path) -> tuple[Path, ...]:
    """The pod-side files, for use outside the cluster too: ``aws-config`` (the profiles;
    none with Pod Identity and one target) and, when the plan knows target clusters,
    ``kubeconfig`` (one context per cluster)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    if desired_state.needs_aws_config(spec):
        paths.append(directory / "aws-config")
        paths[0].write_text(desired_state.aws_config(spec), encoding="utf-8")
    facts = current.facts
    if isinstance(facts, desired_state.Facts):
        contexts = desired_state.kube_contexts(spec, facts)
        if contexts:
            path = directory / "kubeconfig"
            path.write_text(documents.kubeconfig(contexts), encoding="utf-8")
            paths.append(path)
    return tuple(paths)
