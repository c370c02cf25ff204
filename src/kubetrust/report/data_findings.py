"""Audit findings, each linked to its place in the graph (the node and edge ids).

A finding's ``location`` is read as the rules write it (:mod:`kubetrust.explain.audit`):

- a cluster's aws-auth (``SOURCE mapRoles[i]``, ``SOURCE`` being the cluster's
  ``aws_auth_source`` or ``cluster NAME aws-auth``): that mapping's aws-auth edges, their
  role and identity nodes (no entry: every aws-auth edge of the cluster);
- ``cluster NAME access entry ARN``: the access-entry edges of that principal there;
- ``CLUSTER_ARN nodes (…)``: the cluster's pods, their IMDS edges and the node roles;
- ``CLUSTER_ARN serviceaccount NS/NAME``: that service account's node;
- ``CLUSTER_ARN`` alone: the cluster's Pod Identity edges and their service accounts;
- else the location's first word when it is a role or user ARN: that node.

A finding with no place in the graph keeps ``elements: []``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from kubetrust.explain.access_graph import AccessGraph, Edge, Hop
from kubetrust.explain.audit import Finding
from kubetrust.model.topology import Cluster, Topology
from kubetrust.report.ids import ElementIds

_ENTRY = re.compile(r"\bmap(Roles|Users)\[(\d+)\]")


def findings_payload(
    topology: Topology, graph: AccessGraph, ids: ElementIds, findings: Iterable[Finding]
) -> list[dict[str, Any]]:
    """The findings, most severe first, then by rule and location, with their elements."""
    ordered = sorted(findings, key=lambda f: (-f.severity, f.rule, f.location))
    edge_ids = {(e.source, e.target, e.hop): ident for ident, e in ids.edges}
    found = []
    for number, finding in enumerate(ordered, 1):
        keys = list(dict.fromkeys(_places(topology, graph, finding.location)))
        elements = [
            ids.nodes[k] if isinstance(k, str) else edge_ids[k]
            for k in keys
            if (k in ids.nodes if isinstance(k, str) else k in edge_ids)
        ]
        found.append(
            {
                "id": f"f{number}",
                "rule": finding.rule,
                "severity": finding.severity.label,
                "location": finding.location,
                "message": finding.message,
                "fix": finding.fix,
                "elements": elements,
            }
        )
    return found


Place = str | tuple[str, str, Hop]


def _places(topology: Topology, graph: AccessGraph, location: str) -> Iterator[Place]:
    for cluster in topology.clusters:
        found = list(_cluster_places(cluster, graph, location))
        if found:
            yield from found
            return
    head = location.split(" ", 1)[0]
    for prefix in ("role:", "user:"):
        if prefix + head in graph.nodes:
            yield prefix + head


def _cluster_places(cluster: Cluster, graph: AccessGraph, location: str) -> Iterator[Place]:
    info = cluster.info
    aws_auth = cluster.aws_auth_source or f"cluster {info.name} aws-auth"
    if location.startswith(aws_auth):
        yield from _aws_auth_places(cluster, graph, location[len(aws_auth) :])
    elif location.startswith(f"cluster {info.name} access entry "):
        principal = location.removeprefix(f"cluster {info.name} access entry ")
        yield from _edges(graph, info.arn, Hop.ACCESS_ENTRY, f"role:{principal}")
    elif location.startswith(f"{info.arn} nodes"):
        yield f"pods:{info.arn}"
        yield from _edges(graph, info.arn, Hop.IMDS, None)
    elif location.startswith(f"{info.arn} serviceaccount "):
        yield f"sa:{info.arn}:{location.removeprefix(f'{info.arn} serviceaccount ')}"
    elif location == info.arn:
        yield from _edges(graph, info.arn, Hop.POD_IDENTITY, None)


def _aws_auth_places(cluster: Cluster, graph: AccessGraph, rest: str) -> Iterator[Place]:
    entry = _ENTRY.search(rest)
    if entry is None or cluster.aws_auth is None:
        yield from _edges(graph, cluster.info.arn, Hop.AWS_AUTH, None)
        return
    kind, index = entry.group(1), int(entry.group(2))
    mappings = cluster.aws_auth.roles if kind == "Roles" else ()
    named = f"role:{mappings[index].role_arn}" if index < len(mappings) else None
    found = list(_edges(graph, cluster.info.arn, Hop.AWS_AUTH, named)) if named else []
    yield from found or _edges(graph, cluster.info.arn, Hop.AWS_AUTH, None)


def _edges(graph: AccessGraph, cluster_arn: str, hop: Hop, source: str | None) -> Iterator[Place]:
    """The ``hop`` edges into or out of the cluster's nodes (from ``source`` only, when
    given), each with its two nodes."""
    for key, edge in sorted(graph.edges.items(), key=lambda item: _order(item[1])):
        if edge.hop is not hop or (source is not None and edge.source != source):
            continue
        if cluster_arn in edge.source or cluster_arn in edge.target:
            yield edge.source
            yield key
            yield edge.target


def _order(edge: Edge) -> tuple[str, str, str]:
    return edge.source, edge.target, edge.hop.value
