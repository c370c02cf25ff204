"""``kubetrust verify``: what to check (plans and expectations) and what was found (the report).

Explain *reasons* about a chain; verify *runs* it — STS for each hop, a read-only call per
expected AWS permission, a ``SelfSubjectAccessReview`` per expected Kubernetes permission —
and reports each link. This module is the pure half: a :class:`ChainPlan` says which roles
to walk and what each chain must be able to do; the runner
(:mod:`kubetrust.adapters.verify`) turns it into :class:`Step` values, and the renderers
here read them and decide nothing.

A step is ``ok``, ``FAIL`` or ``skip``. A step after a failed one is ``skip`` ("not
reached"): its caller has no credentials. An expected AWS action with no read-only probe
is ``skip`` ("not verified") and said so: verify never reports as verified what it did not
call. The report fails when any step fails.
"""

from __future__ import annotations

import enum
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubetrust import arn, errors
from kubetrust.chain.rbac import KubeRequest, request_info

DEFAULT_SESSION = "kubetrust-verify"


class Outcome(enum.Enum):
    PASS = "ok"
    FAIL = "FAIL"
    SKIP = "skip"


class StepKind(enum.Enum):
    TOKEN = "token"
    START = "identity"
    WEB_IDENTITY = "web identity"
    ASSOCIATION = "association"
    POD_IDENTITY = "pod identity"
    ASSUME_ROLE = "assume role"
    AWS_ACTION = "AWS action"
    KUBE_IDENTITY = "cluster identity"
    KUBE_ACCESS = "Kubernetes access"


@dataclass(frozen=True, slots=True)
class Step:
    """One verified link: what was called (``caller`` → ``target``), the outcome, AWS's or
    Kubernetes' answer in words (``detail``), the error code if any, and the facts kept
    (session ARN, token claims, username and groups...)."""

    kind: StepKind
    caller: str
    target: str
    outcome: Outcome
    detail: str = ""
    code: str = ""
    facts: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AwsExpectation:
    """The last session must be allowed ``action`` (on ``resource`` when it names one)."""

    action: str
    resource: str = "*"


@dataclass(frozen=True, slots=True)
class KubeExpectation:
    """The last session, mapped by ``cluster``, must be allowed ``request`` there."""

    cluster: str
    request: KubeRequest
    region: str | None = None


@dataclass(frozen=True, slots=True)
class IdentityExpectation:
    """``cluster`` must map the last session, to ``username`` (unless ``None`` or a
    template) and at least ``groups``."""

    cluster: str
    username: str | None = None
    groups: tuple[str, ...] = ()
    region: str | None = None


@dataclass(frozen=True, slots=True)
class ChainPlan:
    """One chain to run: ``first`` is the role the start assumes by web identity (``None``:
    the pod's ``AWS_ROLE_ARN``, or the current identity as it is), ``hops`` the roles
    assumed after it, then the expectations of the last session. ``pod_identity``, when
    set, says the chain starts with EKS Pod Identity instead: the roles EKS Auth assumes
    for the pod (the association's ``roleArn``, then its ``targetRoleArn`` if any)."""

    name: str
    first: str | None = None
    hops: tuple[str, ...] = ()
    aws: tuple[AwsExpectation, ...] = ()
    kube: tuple[KubeExpectation, ...] = ()
    identities: tuple[IdentityExpectation, ...] = ()
    session_name: str = DEFAULT_SESSION
    pod_identity: tuple[str, ...] = ()

    def clusters(self) -> list[tuple[str, str | None]]:
        """The clusters the Kubernetes expectations name, ``(name, region)``, in order."""
        found: dict[str, str | None] = {}
        items: list[IdentityExpectation | KubeExpectation] = [*self.identities, *self.kube]
        for item in items:
            found.setdefault(item.cluster, item.region)
        return list(found.items())


@dataclass(frozen=True, slots=True)
class ChainRun:
    plan: ChainPlan
    steps: tuple[Step, ...]

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.outcome is not Outcome.FAIL for s in self.steps)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for step in self.steps if step.outcome is outcome)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """Every chain run from one start (a pod, or the current credentials)."""

    start: str
    runs: tuple[ChainRun, ...]

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(run.ok for run in self.runs)


# ---------------------------------------------------------------------- parsing


def parse_kube_expectation(text: str, cluster: str, region: str | None = None) -> KubeExpectation:
    """kubectl's words: ``VERB TYPE[.GROUP][/NAME] [-n NS] [--subresource S]``, or ``VERB
    /URL``; without ``-n`` the request is cluster-wide (every namespace).

    Raises :class:`errors.InputError` for anything else.
    """
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise errors.InputError(f"--expect-kube `{text}`: {error}") from None
    if len(words) < 2:
        raise errors.InputError(f"--expect-kube `{text}`: expected `VERB RESOURCE [-n NS]`")
    verb, what, rest = words[0], words[1], words[2:]
    options: dict[str, str] = {}
    while rest:
        flag = rest.pop(0)
        name = {"-n": "namespace", "--namespace": "namespace", "--subresource": "subresource"}
        if flag in ("-A", "--all-namespaces"):
            continue
        if flag not in name or not rest:
            raise errors.InputError(f"--expect-kube `{text}`: unexpected `{flag}`")
        options[name[flag]] = rest.pop(0)
    if what.startswith("/"):
        return KubeExpectation(cluster, KubeRequest(verb, path=what), region)
    kind, _, resource_name = what.partition("/")
    plural, _, group = kind.partition(".")
    request = request_info(
        verb,
        plural,
        group,
        options.get("subresource", ""),
        options.get("namespace", ""),
        resource_name,
    )
    return KubeExpectation(cluster, request, region)


# ---------------------------------------------------------------------- rendering


def short(value: str) -> str:
    """A role or session ARN as ``name (account)``, for text; other values unchanged."""
    try:
        parsed = arn.parse(value)
    except errors.InvalidArnError:
        return value
    if parsed.service == "sts" and parsed.resource_type == "assumed-role":
        role, _, session = parsed.resource.removeprefix("assumed-role/").partition("/")
        return f"{role}/{session} ({parsed.account})"
    if parsed.service == "iam" and parsed.resource_type in ("role", "user"):
        return f"{parsed.resource_name} ({parsed.account})"
    return value


def _line(number: int, step: Step) -> str:
    mark = {Outcome.PASS: "ok  ", Outcome.FAIL: "FAIL", Outcome.SKIP: "skip"}[step.outcome]
    head = f"{mark} {number}. {step.kind.value}: {short(step.caller)} → {short(step.target)}"
    detail = f"\n         {step.detail}" if step.detail else ""
    return head + detail


def report_text(report: VerifyReport) -> str:
    """At a glance: per chain its verdict, then one line (and its detail) per step."""
    lines = [f"verify: {report.start}"]
    for run in report.runs:
        failed, skipped = run.count(Outcome.FAIL), run.count(Outcome.SKIP)
        verdict = "VERIFIED" if run.ok else f"FAILED ({failed} of {len(run.steps)} checks)"
        extra = f", {skipped} not run or not verified" if skipped else ""
        lines += ["", f"chain {run.plan.name}: {verdict}{extra}"]
        lines += [_line(number, step) for number, step in enumerate(run.steps, 1)]
    lines += ["", "verdict: " + ("VERIFIED" if report.ok else "FAILED")]
    return "\n".join(lines)


def _request(request: KubeRequest) -> dict[str, str]:
    return {
        "verb": request.verb,
        "resource": request.resource,
        "group": request.group,
        "subresource": request.subresource,
        "namespace": request.namespace,
        "name": request.name,
        "path": request.path,
    }


def _plan(plan: ChainPlan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "first": plan.first,
        "hops": list(plan.hops),
        "pod_identity": list(plan.pod_identity),
        "session_name": plan.session_name,
        "aws": [{"action": e.action, "resource": e.resource} for e in plan.aws],
        "kube": [
            {"cluster": e.cluster, "region": e.region, "request": _request(e.request)}
            for e in plan.kube
        ],
        "identities": [
            {"cluster": e.cluster, "username": e.username, "groups": list(e.groups)}
            for e in plan.identities
        ],
    }


def _step(step: Step) -> dict[str, Any]:
    return {
        "kind": step.kind.value,
        "caller": step.caller,
        "target": step.target,
        "outcome": step.outcome.value,
        "ok": step.outcome is not Outcome.FAIL,
        "detail": step.detail,
        "code": step.code,
        "facts": dict(step.facts),
    }


def report_json(report: VerifyReport) -> dict[str, Any]:
    """Everything: the plans, every step with its answer and facts."""
    return {
        "start": report.start,
        "ok": report.ok,
        "chains": [
            {"plan": _plan(run.plan), "ok": run.ok, "steps": [_step(s) for s in run.steps]}
            for run in report.runs
        ],
    }


def not_reached(kind: StepKind, caller: str, target: str) -> Step:
    """A step whose caller has no credentials: an earlier link failed."""
    return Step(kind, caller, target, Outcome.SKIP, "not reached: an earlier link failed")
