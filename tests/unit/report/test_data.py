"""The report's data: every edge's and node's text is what ``kubetrust explain`` prints,
verdicts at a glance, findings linked to the graph, a deterministic JSON payload."""

from __future__ import annotations

import copy
import datetime as dt
import json
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner

from kubetrust.cli import explain as explain_cli
from kubetrust.explain import bundle, worlds
from kubetrust.explain.audit import Finding, Severity, run_audit
from kubetrust.model.topology import Topology
from kubetrust.model.vocabulary import VIEW_POLICY
from kubetrust.report.data import ReportData, ReportInputs, build_report
from kubetrust.report.data_findings import findings_payload
from kubetrust.report.ids import element_ids

SEED_WORLD = Path(__file__).resolve().parents[2] / "cases" / "explain" / "seed_world.yaml"
CI, TARGET = "111111111111", "222222222222"
CI_ROLE = f"arn:aws:iam::{CI}:role/ci-account-iam-role"
TARGET_ROLE = f"arn:aws:iam::{TARGET}:role/target-account-iam-role"
CI_CLUSTER = f"arn:aws:eks:us-east-1:{CI}:cluster/ci-cluster"
SA = f"sa:{CI_CLUSTER}:ci-namespace/ci-serviceaccount"
OTHER = f"sa:{CI_CLUSTER}:ci-namespace/other-serviceaccount"
READ_AT = dt.datetime(2025, 5, 1, 12, 0, tzinfo=dt.UTC)


def seed_world() -> dict[str, Any]:
    """The seed, plus the demo's `other-serviceaccount`: annotated with the CI role, which
    its trust's `:sub` does not admit."""
    world: dict[str, Any] = yaml.safe_load(SEED_WORLD.read_text(encoding="utf-8"))
    other = copy.deepcopy(world["clusters"][0]["manifests"][0])
    other["metadata"]["name"] = "other-serviceaccount"
    world["clusters"][0]["manifests"].append(other)
    return world


def load(world: dict[str, Any], root: Path) -> Topology:
    worlds.write_bundle(world, root)
    return bundle.load_bundle([root])


def report(topology: Topology, **kw: Any) -> ReportData:
    inputs = ReportInputs(("bundle ./org",), READ_AT)
    return build_report(topology, inputs, audit=run_audit(topology), **kw)


def by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in items}


def edge_of(data: ReportData, source: str, target: str, hop: str = "") -> dict[str, Any]:
    wanted = (data.ids.nodes[source], data.ids.nodes[target])
    edges: list[dict[str, Any]] = data.payload["edges"]
    (found,) = [
        e for e in edges if (e["source"], e["target"]) == wanted and e["hop"] == (hop or e["hop"])
    ]
    return found


def run_explain(root: Path, line: str) -> str:
    """``line`` (a report's command) run by the real CLI over the bundle, in process."""
    words = shlex.split(line)
    assert words[:2] == ["kubetrust", "explain"]
    group = click.Group(commands={"explain": explain_cli.explain})
    result = CliRunner().invoke(group, ["explain", "--bundle", str(root), *words[2:]])
    assert result.exit_code in (0, 2), result.output
    return result.output


@pytest.fixture
def seed(tmp_path: Path) -> tuple[Path, Topology, ReportData]:
    root = tmp_path / "seed"
    topology = load(seed_world(), root)
    return root, topology, report(topology)


def test_the_denied_edge_is_the_block_explain_prints_with_its_fix(
    seed: tuple[Path, Topology, ReportData],
) -> None:
    root, _, data = seed
    edge = edge_of(data, OTHER, f"role:{CI_ROLE}")
    assert edge["status"] == "denied" and edge["hop"] == "web identity"
    printed = run_explain(root, edge["command"])
    block = edge["explanation"]
    assert block.startswith("FAIL 1. web identity: system:serviceaccount:ci-namespace:other-")
    assert "\n" + block + "\n" in printed  # the very lines explain prints for link 1
    assert ":sub [system:serviceaccount:ci-namespace:ci-serviceaccount] is not met" in block
    assert edge["fix"].startswith("cause: the trust policy of `ci-account-iam-role` admits")
    assert "fix:   add `system:serviceaccount:ci-namespace:other-serviceaccount`" in edge["fix"]
    assert edge["fix"].splitlines()[1].strip() in block


def test_the_allowed_chain_edges_come_from_one_chain(
    seed: tuple[Path, Topology, ReportData],
) -> None:
    root, _, data = seed
    web = edge_of(data, SA, f"role:{CI_ROLE}")
    hop = edge_of(data, f"role:{CI_ROLE}", f"role:{TARGET_ROLE}")
    mapping = next(e for e in data.payload["edges"] if e["hop"] == "aws-auth")
    assert [e["status"] for e in (web, hop, mapping)] == ["allowed"] * 3
    assert [e["fix"] for e in (web, hop, mapping)] == [None] * 3
    assert web["explanation"].startswith("ok   1. web identity: ")
    assert hop["explanation"].startswith("ok   2. assume role: ci-account-iam-role (111111111111)")
    assert "trust side: Allow: trust policy `target-account-iam-role`" in hop["explanation"]
    assert "caller side: Allow: identity policy" in hop["explanation"]
    assert mapping["explanation"].startswith("ok   3. cluster identity: ")
    assert "--serviceaccount ci-serviceaccount" in hop["command"]
    assert f"--via {CI_ROLE} --via {TARGET_ROLE}" in hop["command"]
    for edge in (web, hop, mapping):
        assert "\n" + edge["explanation"] + "\n" in run_explain(root, edge["command"])
    grants = next(e for e in data.payload["edges"] if e["hop"] == "grants")
    assert grants["command"] is None and "eks:DescribeCluster" in grants["explanation"]


def test_a_service_account_node_is_explain_of_its_command(
    seed: tuple[Path, Topology, ReportData],
) -> None:
    root, _, data = seed
    nodes = by_id(data.payload["nodes"])
    node = nodes[data.ids.nodes[SA]]
    assert (
        "--kube-verb get --kube-resource namespaces --target-cluster target-cluster"
        in (node["command"])
    )
    assert "--via" not in node["command"]  # explain finds that chain by itself
    assert run_explain(root, node["command"]) == node["explanation"] + "\n"
    assert node["explanation"].splitlines()[1] == "verdict: ALLOWED"
    other = nodes[data.ids.nodes[OTHER]]
    assert run_explain(root, other["command"]) == other["explanation"] + "\n"
    assert other["explanation"].splitlines()[1] == "verdict: DENIED (1 of 4 links fail)"
    role = nodes[data.ids.nodes[f"role:{TARGET_ROLE}"]]
    assert role["command"] is None
    assert "reached by:\n  ok   AssumeRole: ci-account-iam-role" in role["explanation"]
    assert "maps to:\n  ok   aws-auth: user test-user" in role["explanation"]
    assert "audit: reachable by 2 principal(s)" in role["explanation"]


def test_verdicts_at_a_glance(seed: tuple[Path, Topology, ReportData]) -> None:
    _, _, data = seed
    verdicts = {v["subject"]: v for v in data.payload["header"]["verdicts"]}
    assert set(verdicts) == {
        "ci-cluster ci-namespace/ci-serviceaccount",
        "ci-cluster ci-namespace/other-serviceaccount",
    }
    allowed = verdicts["ci-cluster ci-namespace/ci-serviceaccount"]
    denied = verdicts["ci-cluster ci-namespace/other-serviceaccount"]
    assert allowed["status"] == "allowed" and allowed["node"] == data.ids.nodes[SA]
    assert denied["status"] == "denied" and denied["node"] == data.ids.nodes[OTHER]
    assert ":sub` ['system:serviceaccount:ci-namespace:ci-serviceaccount']" in denied["summary"]
    assert (
        "carries `system:serviceaccount:ci-namespace:other-serviceaccount`" in (denied["summary"])
    )


def test_header_counts_and_json_are_deterministic(
    seed: tuple[Path, Topology, ReportData],
) -> None:
    _, topology, data = seed
    header = data.payload["header"]
    assert header["generatedAt"] == "2025-05-01T12:00:00Z"
    assert header["inputs"] == ["bundle ./org"] and header["accounts"] == [CI, TARGET]
    assert [c["name"] for c in header["clusters"]] == ["ci-cluster", "target-cluster"]
    assert header["counts"] == {
        "nodes": 6,
        "edges": {"allowed": 4, "conditional": 0, "denied": 1},
        "findings": {"critical": 0, "high": 0, "medium": 1, "low": 0, "info": 2},
    }
    again = report(topology)
    assert json.dumps(again.payload, sort_keys=True) == json.dumps(data.payload, sort_keys=True)
    ids = [n["id"] for n in data.payload["nodes"]] + [e["id"] for e in data.payload["edges"]]
    assert ids == [*data.ids.nodes.values(), *(i for i, _ in data.ids.edges)]


def test_findings_carry_their_places_in_the_graph(tmp_path: Path) -> None:
    world = seed_world()
    statement = world["accounts"][1]["roles"][0]["trust"]["Statement"][0]
    statement["Principal"] = {"AWS": "*"}  # the target role trusts everyone
    topology = load(world, tmp_path / "open")
    data = report(topology)
    findings = data.payload["findings"]
    severities = [f["severity"] for f in findings]
    order = ["critical", "high", "medium", "low", "info"]
    assert severities == sorted(severities, key=order.index)
    everyone = next(f for f in findings if f["rule"] == "trust-everyone")
    assert everyone["severity"] == "critical"
    assert everyone["elements"] == [data.ids.nodes[f"role:{TARGET_ROLE}"]]
    masters = next(f for f in findings if f["rule"] == "aws-auth-system-masters")
    mapping = next(e for e in data.payload["edges"] if e["hop"] == "aws-auth")
    assert masters["elements"] == [mapping["source"], mapping["id"], mapping["target"]]
    nowhere = Finding("x", Severity.LOW, "somewhere else entirely", "m", "f")
    (alone,) = findings_payload(topology, data.graph, element_ids(data.graph), [nowhere])
    assert alone["elements"] == [] and alone["id"] == "f1"


POD_ROLE = f"arn:aws:iam::{CI}:role/ci-pod-role"
POD_TARGET = f"arn:aws:iam::{TARGET}:role/target-role"


def pod_identity_world() -> dict[str, Any]:
    def doc(statement: dict[str, Any]) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": [statement]}

    both = ["sts:AssumeRole", "sts:TagSession"]
    pods = {"Service": "pods.eks.amazonaws.com"}
    pod_role = {
        "name": "ci-pod-role",
        "trust": doc({"Effect": "Allow", "Principal": pods, "Action": both}),
        "policies": {"chain": doc({"Effect": "Allow", "Action": both, "Resource": POD_TARGET})},
    }
    target = {
        "name": "target-role",
        "trust": doc({"Effect": "Allow", "Principal": {"AWS": POD_ROLE}, "Action": both}),
        "policies": {"p": doc({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"})},
    }
    association = {
        "namespace": "ci",
        "serviceAccount": "deployer",
        "roleArn": POD_ROLE,
        "targetRoleArn": POD_TARGET,
    }
    cluster = {
        "name": "ci-cluster",
        "account": CI,
        "issuer": "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE",
        "pod_identity_associations": [association],
        "addons": ["eks-pod-identity-agent"],
    }
    return {
        "accounts": [{"id": CI, "roles": [pod_role]}, {"id": TARGET, "roles": [target]}],
        "clusters": [cluster],
    }


def test_pod_identity_and_its_target_role(tmp_path: Path) -> None:
    root = tmp_path / "pods"
    data = report(load(pod_identity_world(), root))
    sa = f"sa:{CI_CLUSTER}:ci/deployer"
    first = edge_of(data, sa, f"role:{POD_ROLE}")
    second = edge_of(data, f"role:{POD_ROLE}", f"role:{POD_TARGET}", "targetRoleArn")
    assert (first["hop"], second["hop"]) == ("pod-identity", "targetRoleArn")
    assert first["explanation"].startswith("ok   1. pod identity: ")
    assert second["explanation"].startswith("ok   2. target role (targetRoleArn): ci-pod-role")
    assert "--federation pod-identity" in second["command"]
    assert "--action s3:ListBucket" in second["command"]
    for edge in (first, second):
        assert "\n" + edge["explanation"] + "\n" in run_explain(root, edge["command"])
    (verdict,) = data.payload["header"]["verdicts"]
    assert verdict["status"] == "allowed" and "ci-pod-role → target-role" in verdict["summary"]


def test_an_access_entry_cluster(tmp_path: Path) -> None:
    world = seed_world()
    target = world["clusters"][1]
    target["authentication_mode"] = "API"
    policy = {"policyArn": VIEW_POLICY.arn, "accessScope": {"type": "cluster"}}
    target["access_entries"] = [{"principalArn": TARGET_ROLE, "policies": [policy]}]
    root = tmp_path / "entries"
    data = report(load(world, root))
    edges = {e["hop"]: e for e in data.payload["edges"] if e["source"] == "n2"}
    entry, ignored = edges["access entry"], edges["aws-auth"]
    assert entry["status"] == "allowed" and entry["fix"] is None
    assert entry["explanation"].startswith("ok   3. cluster identity: ")
    assert "access entry" in entry["explanation"]
    assert "\n" + entry["explanation"] + "\n" in run_explain(root, entry["command"])
    assert ignored["status"] == "denied"
    assert ignored["explanation"].startswith(
        "this aws-auth mapping is not used: ignored: API mode reads access entries only\n"
    )
    header = data.payload["header"]
    assert [c["authenticationMode"] for c in header["clusters"]] == ["CONFIG_MAP", "API"]
    identity = by_id(data.payload["nodes"])[entry["target"]]
    assert "access policies View (cluster)" in identity["explanation"]
    assert "mapped from:\n  ok   access entry: target-account-iam-role" in (identity["explanation"])


def test_a_role_no_service_account_reaches_is_explained_alone(tmp_path: Path) -> None:
    world = seed_world()
    world["clusters"][0]["manifests"] = []  # no service account: nothing starts a chain
    statement = world["accounts"][0]["roles"][0]["trust"]["Statement"][0]
    statement["Condition"]["StringEquals"].pop(next(iter(statement["Condition"]["StringEquals"])))
    data = report(load(world, tmp_path / "alone"))
    hop = edge_of(data, f"role:{CI_ROLE}", f"role:{TARGET_ROLE}")
    assert hop["explanation"].startswith("ok   1. assume role: ci-account-iam-role")
    assert hop["command"] is None
    assert not [v for v in data.payload["header"]["verdicts"]]
