"""``audit --output sarif`` against GitHub code scanning's documented requirements ("SARIF
support for code scanning", docs.github.com; reference I.3): one test per requirement, on
the log of a real audit of CloudFormation stacks (the seed with an open trust added) plus
findings no IaC input declared."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kubetrust.explain import overlay
from kubetrust.explain.audit import run_audit, sarif
from kubetrust.explain.audit.findings import Finding, Severity
from kubetrust.iac.cloudformation import read_templates
from kubetrust.iac.model import SourceMap, merge_sources

CASES = Path(__file__).resolve().parents[2] / "cases" / "cloudformation"
OPEN_TRUST = """\
Resources:
  Everyone:
    Type: AWS::IAM::Role
    Properties:
      RoleName: everyone
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {AWS: "*"}, Action: sts:AssumeRole}
"""


def audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[tuple[Finding, ...], SourceMap]:
    monkeypatch.chdir(tmp_path)
    Path("stacks").mkdir()
    for name in ("ci.yaml", "target.json"):
        Path("stacks", name).write_text((CASES / "seed" / name).read_text("utf-8"), "utf-8")
    Path("stacks", "open.yaml").write_text(OPEN_TRUST, "utf-8")
    specs = ["stacks/ci.yaml:111111111111", "stacks/target.json:222222222222"]
    read = read_templates([*specs, "stacks/open.yaml:222222222222"], {})
    report = run_audit(overlay.apply_overlay(None, read))
    return report.findings, merge_sources(read)


@pytest.fixture
def log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    findings, sources = audited(tmp_path, monkeypatch)
    extra = Finding(
        "aws-auth-system-masters",
        Severity.MEDIUM,
        "arn:aws:iam::333333333333:role/admin",
        "mapped to system:masters",
        "map it to a scoped group",
    )
    built = sarif.sarif_log((*findings, extra), sources)
    assert len(built["runs"][0]["results"]) >= 3
    return built


def _rules(log: dict[str, Any]) -> list[dict[str, Any]]:
    return list(log["runs"][0]["tool"]["driver"]["rules"])


def _results(log: dict[str, Any]) -> list[dict[str, Any]]:
    return list(log["runs"][0]["results"])


def test_the_log_has_schema_version_and_runs(log: dict[str, Any]) -> None:
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1  # at most 20 runs per file


def test_the_tool_has_a_name_a_version_and_its_rules(log: dict[str, Any]) -> None:
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "kubetrust"
    assert driver["version"]
    assert isinstance(driver["rules"], list) and driver["rules"]


def test_every_rule_has_id_descriptions_and_help_within_limits(log: dict[str, Any]) -> None:
    for rule in _rules(log):
        assert rule["id"] and len(rule["name"]) <= 255
        for text in (rule["shortDescription"]["text"], rule["fullDescription"]["text"]):
            assert text.strip() and len(text) <= 1024
        assert rule["help"]["text"].strip()
        assert rule["defaultConfiguration"]["level"] in ("note", "warning", "error")
        assert len(rule["properties"]["tags"]) <= 20


def test_rule_descriptions_do_not_depend_on_one_finding(log: dict[str, Any]) -> None:
    """Rules change only with the tool: no finding's message or subject in them."""
    for rule in _rules(log):
        assert "arn:aws" not in str(rule) and "KNOWN-AFTER-APPLY" not in str(rule)


_BANDS = {"critical": (9.0, 10.0), "high": (7.0, 8.9), "medium": (4.0, 6.9), "low": (0.1, 3.9)}


def test_security_severity_is_a_score_in_the_band_of_the_severity(log: dict[str, Any]) -> None:
    seen = set()
    for rule in _rules(log):
        properties = rule["properties"]
        if properties["severity"] == "info":
            assert "security-severity" not in properties
            continue
        score = properties["security-severity"]
        assert isinstance(score, str)
        low, high = _BANDS[properties["severity"]]
        assert low <= float(score) <= high and (
            properties["severity"] != "critical" or float(score) > 9.0
        )
        assert "security" in properties["tags"]  # GitHub reads security-severity only then
        seen.add(properties["severity"])
    assert {"critical", "medium"} <= seen


def test_a_rule_gets_the_worst_severity_of_its_findings() -> None:
    findings = (
        Finding("trust-policy-size", Severity.LOW, "a", "m", "f"),
        Finding("trust-policy-size", Severity.HIGH, "b", "m", "f"),
    )
    (rule,) = sarif.sarif_log(findings, SourceMap())["runs"][0]["tool"]["driver"]["rules"]
    assert rule["properties"]["security-severity"] == sarif.SECURITY_SEVERITY[Severity.HIGH]


def test_every_result_has_a_message_and_a_known_rule(log: dict[str, Any]) -> None:
    rules = _rules(log)
    for result in _results(log):
        assert result["message"]["text"].strip()
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_every_result_has_one_location_a_file_with_a_full_region_when_known(
    log: dict[str, Any],
) -> None:
    """GitHub annotates files: a result with a file has a relative URI and a full region; a
    result no file holds (a live account) names its subject as a logical location instead
    of a path no repository has (`artifactLocation.uri` must then be left out, not empty)."""
    with_file = 0
    for result in _results(log):
        assert 1 <= len(result["locations"]) <= 10
        location = result["locations"][0]
        assert (
            location["logicalLocations"][-1]["fullyQualifiedName"]
            == (result["properties"]["subject"])
        )
        if "physicalLocation" not in location:
            assert result["properties"]["subject"].startswith("arn:aws:iam::333333333333:")
            continue
        with_file += 1
        physical = location["physicalLocation"]
        uri = physical["artifactLocation"]["uri"]
        assert uri and not re.match(r"^[a-z][a-z0-9+.-]*:", uri)  # relative: no scheme
        region = physical["region"]
        for key in ("startLine", "startColumn", "endLine", "endColumn"):
            assert isinstance(region[key], int) and region[key] >= 1
        assert (region["endLine"], region["endColumn"]) >= (
            region["startLine"],
            region["startColumn"],
        )
    assert with_file == len(_results(log)) - 1  # the templates' findings have their file


def test_template_findings_point_at_the_logical_id_line(log: dict[str, Any]) -> None:
    everyone = next(r for r in _results(log) if r["ruleId"] == "trust-everyone")
    physical = everyone["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "stacks/open.yaml"
    assert physical["region"]["startLine"] == 2
    assert physical["region"]["startColumn"] == 3  # "Everyone:", not its indentation


def test_fingerprints_are_stable_across_runs_and_line_moves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, sources = audited(tmp_path, monkeypatch)
    before = [r["partialFingerprints"] for r in _results(sarif.sarif_log(first, sources))]
    moved = Path("stacks/open.yaml")
    moved.write_text("# a comment above the resource\n" + OPEN_TRUST, "utf-8")
    read = read_templates(
        ["stacks/ci.yaml:111111111111", "stacks/target.json:222222222222", f"{moved}:222222222222"],
        {},
    )
    again = run_audit(overlay.apply_overlay(None, read)).findings
    results = _results(sarif.sarif_log(again, merge_sources(read)))
    assert [r["partialFingerprints"] for r in results] == before
    assert (
        next(r for r in results if r["ruleId"] == "trust-everyone")["locations"][0][
            "physicalLocation"
        ]["region"]["startLine"]
        == 3
    )


def test_fingerprints_tell_findings_apart(log: dict[str, Any]) -> None:
    hashes = [r["partialFingerprints"]["primaryLocationLineHash"] for r in _results(log)]
    assert len(set(hashes)) == len(hashes)


def test_the_run_has_an_automation_category(log: dict[str, Any]) -> None:
    automation_id = log["runs"][0]["automationDetails"]["id"]
    category, _, _ = automation_id.rpartition("/")
    assert category == "kubetrust/audit"


def test_more_results_than_code_scanning_takes_keeps_the_most_severe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sarif, "MAX_RESULTS", 3)
    findings = tuple(
        Finding("trust-policy-size", severity, f"arn:aws:iam::111111111111:role/r{i}", "m", "f")
        for i, severity in enumerate([Severity.HIGH, Severity.HIGH, Severity.MEDIUM, Severity.LOW])
    )
    run = sarif.sarif_log(findings, SourceMap())["runs"][0]
    assert len(run["results"]) == 3
    assert [r["properties"]["severity"] for r in run["results"]] == ["high", "high", "medium"]
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert "1 less severe findings left out" in note["message"]["text"]


def test_the_real_limit_is_code_scannings() -> None:
    assert sarif.MAX_RESULTS == 25_000


def test_every_documented_rule_has_its_own_description() -> None:
    from kubetrust.explain.audit import sarif_rules

    docs = (Path(__file__).resolve().parents[3] / "docs" / "explain.md").read_text("utf-8")
    table = docs.split("## Audit rules", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", table, flags=re.MULTILINE))
    assert documented and documented <= set(sarif_rules.SUMMARIES)
