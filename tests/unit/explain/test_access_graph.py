"""The access graph (``kubetrust graph``): edges decided as explain decides them, drawn
deterministically as Mermaid and DOT.

The worst bug a picture of access can have is an edge drawn *allowed* that explain denies
(a fail-open reviewers would trust), so besides hand-made worlds the graph is checked
against explain on every broken setup of the case table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import graphkit
import pytest
from click.testing import CliRunner

from kubetrust.chain.paths import AwsGoal
from kubetrust.cli import explain as explain_cli
from kubetrust.explain import explain, worlds
from kubetrust.explain.access_graph import AccessGraph, Edge, Hop, Status, build_access_graph
from kubetrust.explain.graph_render import to_dot, to_mermaid

from .conftest import CI, CI_ROLE, PREFIX, TARGET, TARGET_ROLE, Build

SA = f"sa:arn:aws:eks:us-east-1:{CI}:cluster/ci-cluster:ci-namespace/ci-serviceaccount"


def edge(graph: AccessGraph, source: str, target: str, hop: Hop) -> Edge | None:
    return graph.edges.get((source, target, hop))


def edges_of(graph: AccessGraph, hop: Hop) -> list[Edge]:
    return [e for e in graph.edges.values() if e.hop is hop]


def _sub(world: dict[str, Any]) -> dict[str, Any]:
    condition: dict[str, Any] = world["accounts"][0]["roles"][0]["trust"]["Statement"][0][
        "Condition"
    ]
    return condition


# ---------------------------------------------------------------------- the seed


def test_seed_graph(seed_world: dict[str, Any], build: Build) -> None:
    graph = build_access_graph(build(seed_world))
    ci, target = f"role:{CI_ROLE}", f"role:{TARGET_ROLE}"
    web = edge(graph, SA, ci, Hop.WEB_IDENTITY)
    assert web is not None and web.status is Status.ALLOWED
    hop = edge(graph, ci, target, Hop.ASSUME_ROLE)
    assert hop is not None and hop.status is Status.ALLOWED
    mapped = edges_of(graph, Hop.AWS_AUTH)
    assert [(e.source, e.status) for e in mapped] == [(target, Status.ALLOWED)]
    identity = graph.nodes[mapped[0].target]
    assert identity.title == "user test-user" and identity.lines == ("groups system:masters",)
    permissions = graph.nodes[f"perm:{TARGET_ROLE}"]
    assert permissions.lines == (
        "allow eks:DescribeCluster, eks:ListClusters, s3:ListAllMyBuckets on *",
    )
    assert f"perm:{CI_ROLE}" not in graph.nodes  # only sts:AssumeRole: drawn as the edge
    assert len(graph.edges) == 4


def test_renderings_are_deterministic_and_complete(
    seed_world: dict[str, Any], build: Build
) -> None:
    first = build(seed_world)
    seed_world["accounts"].reverse()
    seed_world["clusters"].reverse()
    second = build(seed_world)
    assert to_mermaid(build_access_graph(first)) == to_mermaid(build_access_graph(second))
    dot = to_dot(build_access_graph(first))
    assert dot == to_dot(build_access_graph(second))
    assert dot.startswith("digraph access {") and dot.rstrip().endswith("}")
    assert dot.count(" -> ") == 4
    assert 'label="web identity"' in dot and 'label="aws-auth"' in dot
    mermaid = to_mermaid(build_access_graph(first))
    assert mermaid.startswith("flowchart LR\n")
    assert mermaid.count("subgraph ") == mermaid.count("\n  end") == 4
    assert "linkStyle" not in mermaid  # nothing denied in the seed


def test_labels_are_escaped(seed_world: dict[str, Any], build: Build) -> None:
    """Quotes, brackets and backslashes in names cannot break out of a label."""
    mapping = seed_world["clusters"][1]["aws_auth"]["mapRoles"][0]
    mapping["username"] = 'dev"<b>\\x'
    graph = build_access_graph(build(seed_world))
    mermaid = to_mermaid(graph)
    (line,) = [line for line in mermaid.splitlines() if "user dev" in line]
    assert "user dev#quot;#lt;b#gt;\\x<br/>" in line
    assert line.count('"') == 2  # the label's own quotes only
    dot = to_dot(graph)
    (line,) = [line for line in dot.splitlines() if "user dev" in line]
    assert 'label="user dev\\"<b>\\\\x\\ngroups system:masters"' in line


# ---------------------------------------------------------------------- web identity


def test_wildcard_under_string_equals_is_drawn_denied(
    seed_world: dict[str, Any], build: Build
) -> None:
    _sub(seed_world)["StringEquals"][f"{PREFIX}:sub"] = "system:serviceaccount:ci-namespace:*"
    graph = build_access_graph(build(seed_world))
    web = edges_of(graph, Hop.WEB_IDENTITY)
    statuses = {graph.nodes[e.source].title: (e.status, e.note) for e in web}
    assert statuses["ci-namespace/ci-serviceaccount"] == (Status.DENIED, "trust-denied")
    pattern = statuses["service accounts matching ci-namespace:*"]
    assert pattern[0] is Status.DENIED and "never matches" in pattern[1]
    assert not any(e.status is Status.ALLOWED for e in web)
    mermaid = to_mermaid(graph)
    assert mermaid.count("--x") == 2 and mermaid.count("linkStyle") == 2


def test_string_like_pattern_and_missing_sub_are_allowed_sets(
    seed_world: dict[str, Any], build: Build
) -> None:
    del _sub(seed_world)["StringEquals"][f"{PREFIX}:sub"]
    graph = build_access_graph(build(seed_world))
    web = {graph.nodes[e.source].title: e for e in edges_of(graph, Hop.WEB_IDENTITY)}
    assert web["any service account"].status is Status.ALLOWED
    assert web["ci-namespace/ci-serviceaccount"].status is Status.ALLOWED
    _sub(seed_world)["StringLike"] = {f"{PREFIX}:sub": "system:serviceaccount:ci-*:*"}
    graph = build_access_graph(build(seed_world))
    titles = {graph.nodes[e.source].title: e.status for e in edges_of(graph, Hop.WEB_IDENTITY)}
    assert titles["service accounts matching ci-*:*"] is Status.ALLOWED
    assert "any service account" not in titles


def test_missing_provider_denies_every_web_identity(
    seed_world: dict[str, Any], build: Build
) -> None:
    del seed_world["accounts"][0]["oidc_providers"]
    _sub(seed_world)["StringLike"] = {f"{PREFIX}:sub": "system:serviceaccount:apps:*"}
    graph = build_access_graph(build(seed_world))
    web = edges_of(graph, Hop.WEB_IDENTITY)
    assert len(web) == 2 and all(e.status is Status.DENIED for e in web)
    notes = sorted(e.note for e in web)
    assert notes[0] == "no IAM OIDC provider for the issuer in account 111111111111"
    assert notes[1] == "no-provider"


def test_annotation_naming_an_unknown_role(seed_world: dict[str, Any], build: Build) -> None:
    annotations = seed_world["clusters"][0]["manifests"][0]["metadata"]["annotations"]
    annotations["eks.amazonaws.com/role-arn"] = f"arn:aws:iam::{CI}:role/typo"
    graph = build_access_graph(build(seed_world))
    typo = edge(graph, SA, f"role:arn:aws:iam::{CI}:role/typo", Hop.WEB_IDENTITY)
    assert typo is not None and (typo.status, typo.note) == (Status.DENIED, "unknown-role")
    assert graph.nodes[typo.target].lines == ("(not in the inputs)",)


# ---------------------------------------------------------------------- AssumeRole


def test_intended_but_denied_and_conditional_hops(seed_world: dict[str, Any], build: Build) -> None:
    seed_world["accounts"][0]["roles"][0]["policies"] = {}
    seed_world["accounts"][1]["roles"].append(
        {
            "name": "external",
            "trust": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{CI}:role/ci-account-iam-role"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"sts:ExternalId": "x-1"}},
                    }
                ],
            },
        }
    )
    graph = build_access_graph(build(seed_world))
    ci = f"role:{CI_ROLE}"
    denied = edge(graph, ci, f"role:{TARGET_ROLE}", Hop.ASSUME_ROLE)
    assert denied is not None and (denied.status, denied.note) == (Status.DENIED, "caller-denied")
    external = edge(graph, ci, f"role:arn:aws:iam::{TARGET}:role/external", Hop.ASSUME_ROLE)
    assert external is not None and external.status is Status.DENIED  # the caller lacks it too
    seed_world["accounts"][0]["roles"][0]["policies"] = {
        "assume": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
        }
    }
    graph = build_access_graph(build(seed_world))
    external = edge(graph, ci, f"role:arn:aws:iam::{TARGET}:role/external", Hop.ASSUME_ROLE)
    assert external is not None and external.status is Status.CONDITIONAL
    assert external.note == "if StringEquals sts:ExternalId [x-1]"
    assert "style=dashed" in to_dot(graph) and "-. " in to_mermaid(graph)


# ---------------------------------------------------------------------- cluster identities


def _entry(policies: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "principalArn": TARGET_ROLE,
        "kubernetesGroups": ["readers"],
        "policies": policies or [],
    }


@pytest.mark.parametrize(
    ("mode", "winner", "loser", "note"),
    [
        ("API_AND_CONFIG_MAP", Hop.ACCESS_ENTRY, Hop.AWS_AUTH, "overridden by the access entry"),
        ("API", Hop.ACCESS_ENTRY, Hop.AWS_AUTH, "ignored: API mode reads access entries only"),
        ("CONFIG_MAP", Hop.AWS_AUTH, Hop.ACCESS_ENTRY, "ignored: CONFIG_MAP mode reads aws-auth"),
    ],
)
def test_the_authentication_mode_picks_the_mapping(
    seed_world: dict[str, Any], build: Build, mode: str, winner: Hop, loser: Hop, note: str
) -> None:
    seed_world["clusters"][1]["authentication_mode"] = mode
    view = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
    scope = {"type": "namespace", "namespaces": ["kube-system"]}
    seed_world["clusters"][1]["access_entries"] = [
        _entry([{"policyArn": view, "accessScope": scope}])
    ]
    graph = build_access_graph(build(seed_world))
    (won,) = edges_of(graph, winner)
    (lost,) = edges_of(graph, loser)
    assert won.status is Status.ALLOWED
    assert lost.status is Status.DENIED and lost.note.startswith(note)
    entry = graph.nodes[next(iter(edges_of(graph, Hop.ACCESS_ENTRY))).target]
    assert entry.lines == ("groups readers", "access policies View (ns kube-system)")
    assert (
        entry.title
        == f"user arn:aws:sts::{TARGET}:assumed-role/target-account-iam-role/{{{{SessionName}}}}"
    )


@pytest.mark.parametrize(
    ("rolearn", "note"),
    [
        (
            f"arn:aws:iam::{TARGET}:role/ci/target-account-iam-role",
            "never matches: an ARN with a path",
        ),
        (
            f"arn:aws:sts::{TARGET}:assumed-role/target-account-iam-role/s",
            "never matches: a session ARN",
        ),
    ],
)
def test_aws_auth_entries_that_never_match(
    seed_world: dict[str, Any], build: Build, rolearn: str, note: str
) -> None:
    seed_world["clusters"][1]["aws_auth"]["mapRoles"][0]["rolearn"] = rolearn
    graph = build_access_graph(build(seed_world))
    (mapped,) = edges_of(graph, Hop.AWS_AUTH)
    assert (mapped.source, mapped.status, mapped.note) == (
        f"role:{TARGET_ROLE}",
        Status.DENIED,
        note,
    )


# ---------------------------------------------------------------------- graph vs explain


def test_the_graph_never_allows_what_explain_denies(tmp_path: Path) -> None:
    """On every broken setup: the service account → first role edge and the first
    AssumeRole edge have explain's verdict (an absent denied edge is fine, an allowed one
    where explain denies is not)."""
    casekit = graphkit.casekit()
    checked = checked_hops = 0
    for number, case in enumerate(casekit.load_cases("broken_setups.yaml")):
        spec = casekit.substitute(case["explain"])
        if "kube" in spec or spec.get("via") or case["id"] == "no-role-trusts-the-cluster":
            continue
        topology = casekit.build(case, tmp_path / f"b{number}")
        workload = explain.workload_for(
            topology,
            "ci-cluster",
            "ci-namespace",
            spec.get("serviceaccount", "ci-serviceaccount"),
        )
        goal = AwsGoal(spec["action"], spec["resource"], spec.get("account"))
        result = explain.explain_access(topology, workload, goal)
        assert result.chain is not None
        graph = build_access_graph(topology)
        links, roles = result.chain.links, result.chain.roles
        sa = f"sa:arn:aws:eks:us-east-1:{CI}:cluster/ci-cluster:ci-namespace/{workload.name}"
        first = topology.role(roles[0])
        first_key = f"role:{first.arn if first else roles[0]}"
        web = edge(graph, sa, first_key, Hop.WEB_IDENTITY)
        if sa in graph.nodes:
            assert web is not None, case["id"]
            assert (web.status is Status.ALLOWED) is links[0].allowed, case["id"]
        if len(roles) > 1 and first is not None:
            second = topology.role(roles[1])
            hop = edge(
                graph, first_key, f"role:{second.arn if second else roles[1]}", Hop.ASSUME_ROLE
            )
            checked_hops = checked_hops + 1 if not links[1].allowed else checked_hops
            if links[1].allowed:
                assert hop is not None and hop.status is Status.ALLOWED, case["id"]
            else:
                assert hop is None or hop.status is not Status.ALLOWED, case["id"]
        checked += 1
    assert checked >= 20 and checked_hops >= 5, (checked, checked_hops)


# ---------------------------------------------------------------------- the command


def _cli() -> click.Group:
    group = click.Group()
    group.add_command(explain_cli.graph)
    return group


def test_graph_command_formats_and_output_file(seed_world: dict[str, Any], tmp_path: Path) -> None:
    root = worlds.write_bundle(seed_world, tmp_path / "bundle")
    mermaid = CliRunner().invoke(_cli(), ["graph", "--bundle", str(root)])
    assert mermaid.exit_code == 0, mermaid.output
    assert mermaid.output.startswith("flowchart LR")
    out = tmp_path / "graph.dot"
    dot = CliRunner().invoke(
        _cli(), ["graph", "--bundle", str(root), "--output", "dot", "-o", str(out)]
    )
    assert dot.exit_code == 0, dot.output
    assert out.read_text().startswith("digraph access {")


def test_inputs_must_be_one_kind(seed_world: dict[str, Any], tmp_path: Path) -> None:
    root = worlds.write_bundle(seed_world, tmp_path / "bundle")
    both = CliRunner().invoke(
        _cli(), ["graph", "--bundle", str(root), "--live"], standalone_mode=False
    )
    assert isinstance(both.exception, click.UsageError)
    none = CliRunner().invoke(_cli(), ["graph"], standalone_mode=False)
    assert isinstance(none.exception, click.UsageError)
