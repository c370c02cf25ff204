"""Audit findings as SARIF 2.1.0, for code scanning (GitHub, GitLab, IDEs), and as the
stable JSON of ``audit --output json``.

SARIF (reference I.3), shaped for GitHub code scanning's documented requirements: one run
with ``automationDetails``; ``tool.driver`` with version, ``informationUri`` and each rule
met (short and full description from :mod:`~kubetrust.explain.audit.sarif_rules`, help,
default level, ``tags`` and ``security-severity`` from the severity); each result with its
rule, level, message (what, then the fix), ``partialFingerprints`` stable across runs, and
one location (:mod:`~kubetrust.explain.audit.sarif_locations`): the template's line or the
plan's resource address when an IaC input declared the subject
(:meth:`kubetrust.iac.model.SourceMap.locate`), else the bundle file holding it, else (a
live account) the subject's ARN as a logical location only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from kubetrust import __version__
from kubetrust.explain.audit import sarif_locations, sarif_rules
from kubetrust.explain.audit.findings import Finding, Severity
from kubetrust.iac.model import Location, SourceMap

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

JSON_SCHEMA_VERSION = 1
"""``schemaVersion`` of ``audit --output json``: raised when a field changes meaning or goes
away (fields may be added within a version); docs/explain.md lists the fields."""

LEVELS: Mapping[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "warning",
    Severity.INFO: "note",
}
"""SARIF has three levels for five severities; the severity itself stays in properties."""


def finding_source(finding: Finding, sources: SourceMap) -> Location | None:
    """Where an IaC input declared what ``finding`` is about: its location first, then the
    texts of its details (a principal, a policy ARN)."""
    return sources.locate(finding.location, *_texts(finding.details))


def _texts(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)


SECURITY_SEVERITY: Mapping[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
}
"""GitHub's ``security-severity`` (a score over 0.0 up to 10.0, read as critical over 9.0,
high from 7.0, medium from 4.0, low from 0.1): one score inside each band. ``info`` has
none: the reachability report is not a vulnerability."""

MAX_RESULTS = 25_000
"""Results per run code scanning accepts (more: the upload is rejected); the most severe are
kept (findings come most severe first) and a notification says how many were left out."""


def information_uri() -> str | None:
    """The project's home page from the package metadata (``[project.urls]``), for
    ``tool.driver.informationUri``; ``None`` (left out) when the package declares none."""
    try:
        urls: list[str] = metadata.metadata("kubetrust").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("homepage", "home", "source", "repository"):
            return url.strip()
    return None


AUTOMATION_ID = "kubetrust/audit/"
"""``runAutomationDetails.id``: the category ``kubetrust/audit`` (a second upload of the
same category replaces the first), no run id."""


def artifact_uri(file: str) -> str:
    """``file`` as a SARIF artifact URI (:func:`sarif_locations.artifact_uri`)."""
    return sarif_locations.artifact_uri(file)


def _rule(rule: str, severity: Severity) -> dict[str, Any]:
    """The rule's descriptor; ``severity`` the highest of its findings in this run."""
    summary = sarif_rules.summary(rule)
    properties: dict[str, Any] = {"severity": severity.label, "precision": "high"}
    if severity in SECURITY_SEVERITY:
        properties["tags"] = ["security", "iam", "kubernetes"]
        properties["security-severity"] = SECURITY_SEVERITY[severity]
    else:
        properties["tags"] = ["iam", "kubernetes"]
        properties["problem.severity"] = "recommendation"
    return {
        "id": rule,
        "name": rule,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": f"{summary} (kubetrust audit rule `{rule}`)."},
        "help": {
            "text": f"{summary}. Each finding says why, and how to fix it; the rules are "
            "listed in kubetrust's docs/explain.md, Audit rules.",
            "markdown": f"**{summary}.** Each finding says why, and how to fix it; the rules "
            "are listed in kubetrust's `docs/explain.md`, *Audit rules*.",
        },
        "defaultConfiguration": {"level": LEVELS[severity]},
        "properties": properties,
    }


def _locations(
    finding: Finding, source: Location | None, bundles: Sequence[Path]
) -> list[dict[str, Any]]:
    """One location: the file and region that hold the subject, when one does, and its
    names (the IaC address, then the ARN); a subject only a live account holds has its
    names alone (:mod:`~kubetrust.explain.audit.sarif_locations`)."""
    logical = [{"fullyQualifiedName": finding.location, "kind": "resource"}]
    if source is None:
        physical = sarif_locations.fallback_location(finding.location, bundles)
    else:
        physical = sarif_locations.physical_location(source)
        if source.address is not None:
            logical.insert(0, {"fullyQualifiedName": source.address, "kind": "resource"})
    location: dict[str, Any] = {"logicalLocations": logical}
    if physical is not None:
        location = {"physicalLocation": physical, **location}
    return [location]


def fingerprint(finding: Finding) -> str:
    """Stable across runs and line moves: the rule, the subject and the message (not the
    file or line, so that editing a template above a resource keeps its alert)."""
    text = "\0".join((finding.rule, finding.location, finding.message))
    return hashlib.sha256(text.encode()).hexdigest()


def _result(
    finding: Finding, rule_index: int, source: Location | None, bundles: Sequence[Path]
) -> dict[str, Any]:
    digest = fingerprint(finding)
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": f"{finding.message}. Fix: {finding.fix}"},
        "locations": _locations(finding, source, bundles),
        "partialFingerprints": {
            "primaryLocationLineHash": f"{digest[:16]}:1",
            "kubetrustFinding/v1": digest,
        },
        "properties": {"severity": finding.severity.label, "subject": finding.location},
    }


def sarif_log(
    findings: tuple[Finding, ...], sources: SourceMap, *, bundles: Sequence[Path] = ()
) -> dict[str, Any]:
    """The SARIF 2.1.0 log of ``findings`` (module doc); ``bundles``: the bundle directories
    read, where findings no IaC input declared are located."""
    sarif_locations.forget_files()
    kept = findings[:MAX_RESULTS]
    worst: dict[str, Severity] = {}
    for finding in kept:
        worst[finding.rule] = max(worst.get(finding.rule, finding.severity), finding.severity)
    rules = {rule: index for index, rule in enumerate(worst)}
    results = [
        _result(finding, rules[finding.rule], finding_source(finding, sources), bundles)
        for finding in kept
    ]
    driver: dict[str, Any] = {"name": "kubetrust", "version": __version__}
    uri = information_uri()
    if uri is not None:
        driver["informationUri"] = uri
    driver["rules"] = [_rule(rule, severity) for rule, severity in worst.items()]
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "automationDetails": {"id": AUTOMATION_ID},
        "results": results,
    }
    if len(findings) > len(kept):
        run["invocations"] = [_left_out(len(findings) - len(kept))]
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _left_out(count: int) -> dict[str, Any]:
    text = (
        f"{count} less severe findings left out: code scanning accepts {MAX_RESULTS} results "
        "per run (audit --output json has them all)"
    )
    return {
        "executionSuccessful": True,
        "toolExecutionNotifications": [{"level": "warning", "message": {"text": text}}],
    }


def source_json(source: Location | None) -> dict[str, Any] | None:
    """A finding's IaC source in ``audit --output json`` (``null`` without one)."""
    if source is None:
        return None
    return {"file": source.file, "address": source.address, "line": source.line}


def audit_json(
    rendered: Mapping[str, Any],
    findings: tuple[Finding, ...],
    sources: SourceMap,
    *,
    fail_on: Severity,
    warnings: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The documented JSON (docs/explain.md): :func:`kubetrust.explain.render.audit_json`'s
    fields plus ``schemaVersion``, ``failOn``, ``failed``, the IaC ``warnings`` and each
    finding's ``source``."""
    out: dict[str, Any] = {"schemaVersion": JSON_SCHEMA_VERSION, **rendered}
    out["findings"] = [
        {**item, "source": source_json(finding_source(finding, sources))}
        for item, finding in zip(rendered["findings"], findings, strict=True)
    ]
    out["failOn"] = fail_on.label
    out["failed"] = fails(findings, fail_on)
    out["warnings"] = list(warnings)
    return out


def fails(findings: tuple[Finding, ...], fail_on: Severity) -> bool:
    """Whether a finding is at or above ``fail_on`` (``audit`` exits 2)."""
    return any(finding.severity >= fail_on for finding in findings)
