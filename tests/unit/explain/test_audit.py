"""audit: the report, its renderings, and the backwards walk of the reach graph."""

from __future__ import annotations

from typing import Any

from kubetrust.explain import audit, render
from kubetrust.explain.audit import reach
from kubetrust.explain.audit.findings import Finding, Severity
from kubetrust.model.iam import Role

from .conftest import CI_ROLE, TARGET_ROLE, Build


def test_seed_report(seed_world: dict[str, Any], build: Build) -> None:
    report = audit.run_audit(build(seed_world))
    rules = [f.rule for f in report.findings]
    assert rules[0] == "aws-auth-system-masters"  # most severe first
    assert rules.count("reach") == 2 and report.has_findings
    assert report.edges >= 2
    text = render.audit_text(report)
    assert text.splitlines()[0] == "findings: 1 medium, 2 info"
    data = render.audit_json(report)
    assert data["hasFindings"] is True
    assert {f["severity"] for f in data["findings"]} == {"medium", "info"}


def test_info_does_not_count() -> None:
    report = audit.AuditReport((Finding("reach", Severity.INFO, "x", "m", "f"),))
    assert not report.has_findings


def test_rules_can_be_chosen(seed_world: dict[str, Any], build: Build) -> None:
    report = audit.run_audit(build(seed_world), {"irsa-trust": audit.RULES["irsa-trust"]})
    assert report.findings == () and report.edges == 0


def _role(arn: str) -> Role:
    return Role(arn=arn, name=arn.rsplit("/", 1)[1], account=arn.split(":")[4])


def test_reachers_walk_back_and_keep_conditions() -> None:
    graph = reach.ReachGraph()
    web = reach.Source("web-identity", "web:c:s", "service accounts of c")
    ci = reach.Source("role", CI_ROLE, CI_ROLE, "111111111111")
    user = reach.Source("user", "arn:aws:iam::111111111111:user/u", "u", "111111111111")
    graph.add(web, _role(CI_ROLE))
    graph.add(ci, _role(TARGET_ROLE), ("condition sts:ExternalId is not met",))
    graph.add(user, _role(TARGET_ROLE))
    graph.add(reach.Source("role", TARGET_ROLE, TARGET_ROLE, "222222222222"), _role(CI_ROLE))
    found = {source.key: conditional for source, conditional in reach.reachers(graph, TARGET_ROLE)}
    assert found == {CI_ROLE: True, "web:c:s": True, "arn:aws:iam::111111111111:user/u": False}
