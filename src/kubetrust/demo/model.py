"""What the demo found: setup steps, the chain's links with their verdicts, the audit.

Plain values, so that rendering (text or JSON) and the tests read one structure, and the
exit code is a property of the report rather than of the code path that produced it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Verdict(enum.StrEnum):
    """What one link did. ``error`` is a failure that is not an authorization decision (a
    tool missing, a connection refused): it never counts as the expected denial."""

    ALLOWED = "allowed"
    DENIED = "denied"
    ERROR = "error"
    NOT_RUN = "not run"


@dataclass(frozen=True)
class Check:
    """One finished command: as a user would type it, where it ran, and what it printed."""

    command: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float = 0.0
    where: str = "host"
    """``host`` (an administrator on this machine) or ``pod <namespace>/<name>``."""

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "where": self.where,
            "exitCode": self.returncode,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class LinkSpec:
    """One link of the chain as the demo presents it: what it is and what it proves."""

    key: str
    title: str
    expected: Verdict
    proves: str
    seed_step: str
    """Where the source does it (``step 3``), so that a reader can follow along."""
    source: str = "blog"
    """The document ``seed_step`` refers to: the seed's blog post, or the EKS user guide."""


@dataclass(frozen=True)
class Link:
    """A link's verdict, the evidence behind it (one line), and the commands that decided."""

    spec: LinkSpec
    verdict: Verdict = Verdict.NOT_RUN
    evidence: str = ""
    checks: tuple[Check, ...] = ()
    why: str = ""
    """For a denial: why, in kubetrust explain's words (offline, from the same state)."""

    @property
    def ok(self) -> bool:
        return self.verdict is self.spec.expected

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.spec.key,
            "title": self.spec.title,
            "seedStep": self.spec.seed_step,
            "source": self.spec.source,
            "expected": str(self.spec.expected),
            "verdict": str(self.verdict),
            "ok": self.ok,
            "evidence": self.evidence,
            "proves": self.spec.proves,
            "checks": [check.to_json() for check in self.checks],
        }
        if self.why:
            out["why"] = self.why
        return out


@dataclass(frozen=True)
class Step:
    """A setup or tear-down step (start the sandbox, apply, deploy...)."""

    name: str
    ok: bool
    seconds: float
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Finding:
    """One ``kubetrust audit`` finding, as the demo shows it."""

    severity: str
    rule: str
    message: str
    fix: str

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "rule": self.rule,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Kept:
    """How to use a sandbox left running by ``--keep``."""

    state_dir: str
    kubeconfigs: dict[str, str]
    accounts: tuple[str, ...]
    pod: str
    federation: str = "irsa"

    def to_json(self) -> dict[str, Any]:
        return {
            "federation": self.federation,
            "stateDir": self.state_dir,
            "kubeconfigs": self.kubeconfigs,
            "accounts": list(self.accounts),
            "pod": self.pod,
        }


@dataclass
class Report:
    """Everything the demo did, in order; ``ok`` decides the exit code."""

    state_dir: str
    federation: str = "irsa"
    """Which chain the demo ran: ``irsa`` (the seed) or ``pod-identity``."""
    steps: list[Step] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    expected_finding: str = ""
    failed_step: str | None = None
    seconds: float = 0.0
    isolation: str = ""
    sandbox: str = "not started"
    """What became of the sandbox: ``not started``, ``stopped`` or ``running`` (--keep)."""
    kept: Kept | None = None
    graph: str = ""
    """The access graph of what was applied, as ``kubetrust graph`` draws it (Mermaid)."""
    audited: bool = False
    """Whether the offline audit ran (its findings may be none)."""
    explained: str = ""
    """What offline ``kubetrust explain`` says of the allowed service account (shown as it
    is: the demo's verdicts come from the live checks)."""
    report_file: str = ""
    """The access report of what was applied (``kubetrust report``), when one was written."""

    @property
    def failures(self) -> list[str]:
        """Each reason the demo failed, naming the step or link (empty when it passed)."""
        reasons = [self.failed_step] if self.failed_step else []
        for number, link in enumerate(self.links, 1):
            if not link.ok and link.verdict is not Verdict.NOT_RUN:
                reasons.append(
                    f"link {number} ({link.spec.title}): expected {link.spec.expected}, "
                    f"got {link.verdict}"
                )
        return reasons

    @property
    def ok(self) -> bool:
        return not self.failures and all(link.ok for link in self.links)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "federation": self.federation,
            "failures": self.failures,
            "seconds": round(self.seconds, 3),
            "stateDir": self.state_dir,
            "isolation": self.isolation,
            "sandbox": self.sandbox,
            "steps": [step.to_json() for step in self.steps],
            "links": [link.to_json() for link in self.links],
            "audit": {
                "expected": self.expected_finding,
                "findings": [finding.to_json() for finding in self.findings],
            },
            "graph": self.graph,
            "explained": self.explained,
            "reportFile": self.report_file or None,
            "kept": self.kept.to_json() if self.kept else None,
        }
