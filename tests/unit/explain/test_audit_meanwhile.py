"""The audit runs the rules that need no reach graph while the graph's edges are judged
(:data:`kubetrust.explain.audit.NEEDS_REACH`): the findings must be what running each rule
in turn finds, and a rule that does read the graph but is not listed must fail loudly."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from kubetrust.explain import audit, bundle
from kubetrust.explain.audit import AuditContext, Finding
from kubetrust.model.topology import Topology

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import synthetic_org


@pytest.fixture(scope="module")
def organization(tmp_path_factory: pytest.TempPathFactory) -> Topology:
    """A small organization on which every kind of rule finds something, with one cluster's
    nodes on a role and IMDS open to pods (so that the node rule reads the graph)."""
    shape = synthetic_org.Shape(accounts=12, roles=20, ci=2, cluster_every=5)
    root = synthetic_org.write(shape, tmp_path_factory.mktemp("org") / "b")
    first = bundle.load_bundle([root])
    cluster = first.clusters[0]
    account = cluster.info.arn.split(":")[4]
    role = next(iter(first.accounts[account].roles.values()))
    nodes = {"instance_role_arn": role.arn, "imds": {"hop_limit": 2, "http_tokens": "optional"}}
    folder = next(d for d in (root / "clusters").iterdir() if cluster.info.name in d.name)
    (folder / "nodes.json").write_text(json.dumps(nodes), encoding="utf-8")
    return bundle.load_bundle([root])


def _in_turn(topology: Topology) -> list[Finding]:
    ctx = AuditContext(topology)
    findings = [finding for rule in audit.RULES.values() for finding in rule(ctx)]
    findings.sort(key=lambda f: (-f.severity, f.rule, f.location))
    return findings


def test_the_audit_finds_what_each_rule_finds_in_turn(organization: Topology) -> None:
    report = audit.run_audit(organization)
    assert list(report.findings) == _in_turn(organization)
    assert report.edges > 0
    assert {f.rule for f in report.findings} >= {"reach", "node-role-imds", "irsa-sub-broad"}


@pytest.mark.parametrize("name", sorted(set(audit.RULES) - audit.NEEDS_REACH))
def test_rules_not_listed_never_ask_for_the_graph(organization: Topology, name: str) -> None:
    ctx = AuditContext(organization)
    found: list[Finding] = []
    ctx.build_reach(meanwhile=lambda: found.extend(audit.RULES[name](ctx)))
    assert found == list(audit.RULES[name](AuditContext(organization)))


@pytest.mark.parametrize("name", sorted(audit.NEEDS_REACH))
def test_a_rule_reading_the_graph_while_it_is_built_is_refused(
    organization: Topology, name: str
) -> None:
    """What keeps :data:`NEEDS_REACH` honest: were a graph-reading rule left out of it, every
    audit would stop here instead of building the graph twice or judging nothing."""
    ctx = AuditContext(organization)
    with pytest.raises(RuntimeError, match="asked for while it is being built"):
        ctx.build_reach(meanwhile=lambda: list(audit.RULES[name](ctx)))


def test_an_audit_without_graph_rules_never_builds_the_graph(organization: Topology) -> None:
    rules = {k: v for k, v in audit.RULES.items() if k not in audit.NEEDS_REACH}
    report = audit.run_audit(organization, rules)
    assert report.edges == 0
    assert report.findings and not {f.rule for f in report.findings} & {"reach"}
