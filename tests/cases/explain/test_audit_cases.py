"""The audit findings table (``audit_findings.yaml``), and ``kubetrust audit``'s exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from kubetrust.cli import explain as explain_cli
from kubetrust.explain import audit, render

try:
    from . import casekit
except ImportError:  # run as a script
    import casekit  # type: ignore[no-redef]

CASES = casekit.load_cases("audit_findings.yaml")


def test_table_covers_every_rule() -> None:
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids))
    named = {rule for case in CASES for rule in (case["expect"].get("findings") or {})}
    expected = {
        "irsa-trust-no-sub",
        "irsa-sub-wildcard-stringequals",
        "irsa-sub-broad",
        "irsa-sub-negated",
        "irsa-trust-no-aud",
        "node-role-cross-account",
        "node-role-assume-permission",
        "node-role-cluster-access",
        "trust-account-root",
        "trust-everyone",
        "aws-auth-system-masters",
        "aws-auth-entry-never-matches",
        "access-entry-overrides-aws-auth",
        "aws-auth-ignored",
        "chained-session-duration",
        "max-session-only-chained",
        "trust-policy-size",
        "principal-deleted",
        "trust-public-idp-no-audience",
    }
    assert expected <= named, expected - named


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict[str, Any], tmp_path: Path) -> None:
    topology = casekit.build(case, tmp_path / "bundle")
    report = audit.run_audit(topology)
    expect = casekit.substitute(case["expect"])
    shown = render.audit_text(report)
    found: dict[str, set[str]] = {}
    for finding in report.findings:
        found.setdefault(finding.rule, set()).add(finding.severity.label)
    for rule, severity in (expect.get("findings") or {}).items():
        assert severity in found.get(rule, set()), f"{rule} {severity} missing:\n{shown}"
    for rule in expect.get("absent") or []:
        assert rule not in found, f"{rule} unexpected:\n{shown}"
    for rule, count in (expect.get("count") or {}).items():
        assert sum(f.rule == rule for f in report.findings) == count, shown
    if expect.get("clean"):
        assert not report.has_findings, shown
    if expect.get("reach"):
        wanted = expect["reach"]
        finding = next(
            (f for f in report.findings if f.rule == "reach" and f.location == wanted["role"]),
            None,
        )
        assert finding is not None, f"no reach report for {wanted['role']}:\n{shown}"
        reachers = {r["principal"]: r["conditional"] for r in finding.details["reachers"]}
        for principal in wanted.get("includes", []):
            assert principal in reachers, f"{principal} not in {sorted(reachers)}"
        for principal in wanted.get("conditional", []):
            assert reachers[principal] is True
    json.dumps(render.audit_json(report))


def _cli() -> click.Group:
    group = click.Group()
    group.add_command(explain_cli.audit)
    return group


@pytest.mark.parametrize("clean", [True, False])
def test_cli_exit_codes(clean: bool, tmp_path: Path) -> None:
    case = next(c for c in CASES if c["id"] == "least-privilege-seed-is-clean")
    casekit.build(case if clean else {"id": "seed"}, tmp_path / "bundle")
    result = CliRunner().invoke(
        _cli(), ["audit", "--bundle", str(tmp_path / "bundle"), "--output", "json"]
    )
    assert result.exit_code == (0 if clean else 2), result.output
    data = json.loads(result.output)
    assert data["hasFindings"] is not clean


def test_cli_invalid_bundle_exits_3(tmp_path: Path) -> None:
    (tmp_path / "accounts").mkdir()
    (tmp_path / "accounts" / "bad.json").write_text("{not json", encoding="utf-8")
    result = CliRunner().invoke(_cli(), ["audit", "--bundle", str(tmp_path)])
    assert result.exit_code == 3
    assert "bad.json: not valid JSON" in result.output
