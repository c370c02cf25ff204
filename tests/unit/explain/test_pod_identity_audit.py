"""Audit rules for EKS Pod Identity: each finding where it applies, and not where it does not."""

from __future__ import annotations

from typing import Any

from kubetrust.explain.audit import Finding, run_audit

from .conftest import CI, TARGET, Build
from .test_pod_identity_explain import SOURCE, TARGET_ROLE, _annotated, world


def _rules(build: Build, w: dict[str, Any]) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {}
    for finding in run_audit(build(w)).findings:
        found.setdefault(finding.rule, []).append(finding)
    return found


def test_the_guides_setup_has_no_pod_identity_finding(build: Build) -> None:
    rules = _rules(build, world())
    assert not {r for r in rules if "pod-identity" in r}, rules


def test_open_pod_identity_trust(build: Build) -> None:
    w = world()
    del w["accounts"][0]["roles"][0]["trust"]["Statement"][0]["Condition"]
    (finding,) = _rules(build, w)["pod-identity-trust-open"]
    assert finding.severity.label == "medium" and finding.location.startswith(SOURCE)
    assert "any pod identity association in account" in finding.message
    assert "aws:SourceAccount" in finding.fix and "kubernetes-namespace" in finding.fix


def test_a_tag_condition_scopes_the_trust(build: Build) -> None:
    w = world()
    w["accounts"][0]["roles"][0]["trust"]["Statement"][0]["Condition"] = {
        "StringEquals": {"aws:RequestTag/kubernetes-namespace": "ci"}
    }
    assert "pod-identity-trust-open" not in _rules(build, w)


def test_target_trust_without_the_guides_conditions(build: Build) -> None:
    w = world()
    del w["accounts"][1]["roles"][0]["trust"]["Statement"][0]["Condition"]
    (finding,) = _rules(build, w)["pod-identity-target-trust"]
    assert finding.location.startswith(TARGET_ROLE)
    assert "eks-cluster-arn, kubernetes-namespace, kubernetes-service-account" in finding.message
    # found from the trust alone too (no association names the target)
    del w["clusters"][0]["pod_identity_associations"][0]["targetRoleArn"]
    assert len(_rules(build, w)["pod-identity-target-trust"]) == 1


def test_target_trust_with_external_id_is_scoped(build: Build) -> None:
    w = world()
    w["accounts"][1]["roles"][0]["trust"]["Statement"][0]["Condition"] = {
        "StringEquals": {"sts:ExternalId": f"us-east-1/{CI}/ci-cluster/ci/deployer"}
    }
    assert "pod-identity-target-trust" not in _rules(build, w)


def test_irsa_and_pod_identity_on_one_service_account(build: Build) -> None:
    other = _rules(build, _annotated(world(), f"arn:aws:iam::{CI}:role/irsa-role"))
    (finding,) = other["irsa-and-pod-identity"]
    assert finding.severity.label == "medium" and "is ignored" in finding.message
    same = _rules(build, _annotated(world(), SOURCE))["irsa-and-pod-identity"]
    assert same[0].severity.label == "low"
    assert "irsa-and-pod-identity" not in _rules(build, world())


def test_associations_without_the_agent(build: Build) -> None:
    w = world()
    w["clusters"][0]["addons"] = []
    (finding,) = _rules(build, w)["pod-identity-agent-missing"]
    assert "create-addon" in finding.fix
    del w["clusters"][0]["addons"]  # unknown: no finding
    assert "pod-identity-agent-missing" not in _rules(build, w)
    assert TARGET  # the world's two accounts
