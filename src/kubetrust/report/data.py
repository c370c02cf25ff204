"""What the report shows, decided by explain and audit: nothing is decided here.

:func:`build_report` builds the access graph
(:func:`~kubetrust.explain.access_graph.build_access_graph`), its element ids
(:func:`~kubetrust.report.ids.element_ids`) and the payload the page's script reads
(``schemaVersion`` 1, the fields of the team's contract):

- every edge's text is the block ``kubetrust explain`` prints for that link, with its fix
  and the command that prints the whole chain (:mod:`~kubetrust.report.data_edges`, over
  the chains of :mod:`~kubetrust.report.data_chains`);
- every node's text, and each service account's verdict at a glance
  (:mod:`~kubetrust.report.data_nodes`);
- every audit finding with the elements it is about
  (:mod:`~kubetrust.report.data_findings`);
- the header: what was read and when, accounts, clusters, counts.

The graph is built with its own audit context: :func:`kubetrust.explain.audit.run_audit`
keeps its context to itself, so the reach graph is computed a second time (cheap: a
200-role organization's whole report data takes well under a second). Deterministic:
the same inputs and ``read_at`` give the same payload.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubetrust.chain import context
from kubetrust.explain.access_graph import AccessGraph, Status, build_access_graph
from kubetrust.explain.audit import AuditReport, Finding, Severity
from kubetrust.iac.model import SourceMap
from kubetrust.iac.symbolic import describe
from kubetrust.model.topology import Topology
from kubetrust.report.data_chains import ChainBook
from kubetrust.report.data_edges import Explained, explain_edges
from kubetrust.report.data_findings import findings_payload
from kubetrust.report.data_nodes import NodeExplainer
from kubetrust.report.ids import ElementIds, element_ids

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """What was read (``inputs``: one line per input, e.g. ``bundle ./org``,
    ``sandbox http://127.0.0.1:4566``, ``terraform plan plan.json``) and when.

    ``read_at`` is also the time the explained calls are made at (``aws:CurrentTime``, as
    ``kubetrust explain`` uses the moment it runs), and ``secure_transport`` whether they
    go over TLS (``aws:SecureTransport``: false for a plain-HTTP endpoint such as the
    sandbox's, as explain decides from ``--endpoint-url``)."""

    inputs: tuple[str, ...]
    read_at: dt.datetime
    title: str = "kubetrust access report"
    secure_transport: bool = True

    def request(self) -> context.RequestFacts:
        """The facts every explained call carries."""
        return context.RequestFacts(now=self.read_at, secure_transport=self.secure_transport)


@dataclass(frozen=True, slots=True)
class ReportData:
    """The graph, its element ids, and ``payload``: the JSON the page's script reads."""

    graph: AccessGraph
    ids: ElementIds
    payload: dict[str, Any]


def build_report(
    topology: Topology,
    inputs: ReportInputs,
    *,
    sources: SourceMap | None = None,
    audit: AuditReport | None = None,
    warnings: tuple[str, ...] = (),
) -> ReportData:
    """The report of ``topology`` (module doc). ``sources``: the IaC inputs' declarations
    (fixes name them, unknown values read "known after apply"); ``audit``: the findings to
    list and link; ``warnings``: what the inputs could not use, shown as given."""
    graph = build_access_graph(topology)
    ids = element_ids(graph)
    book = ChainBook(topology, graph, ids.nodes, inputs.request())
    edges = explain_edges(book, ids.edges, sources)
    findings = audit.findings if audit is not None else ()
    reach = {f.location: f for f in findings if f.rule == "reach"}
    nodes = NodeExplainer(book, edges, sources, reach)
    text = _describer(sources)
    payload: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "header": _header(topology, graph, ids, inputs, findings, nodes),
        "groups": {key: text(label) for key, label in sorted(graph.groups.items())},
        "nodes": [_node(graph, ids, key, nodes.explain(key), text) for key in ids.nodes],
        "edges": [
            _edge(ids, ident, edges[(e.source, e.target, e.hop)], e) for ident, e in ids.edges
        ],
        "findings": [
            _described_finding(f, text) for f in findings_payload(topology, graph, ids, findings)
        ],
        "warnings": [text(w) for w in (*warnings, *(audit.problems if audit else ()))],
    }
    return ReportData(graph, ids, payload)


def _describer(sources: SourceMap | None) -> Any:
    unknowns: Mapping[str, str] = sources.unknowns if sources is not None else {}

    def text(value: str) -> str:
        return describe(value, unknowns)

    return text


def _node(
    graph: AccessGraph, ids: ElementIds, key: str, found: Explained, text: Any
) -> dict[str, Any]:
    node = graph.nodes[key]
    return {
        "id": ids.nodes[key],
        "key": key,
        "kind": node.kind,
        "title": text(node.title),
        "lines": [text(line) for line in node.lines],
        "group": node.group,
        "explanation": found.text,
        "command": found.command,
    }


def _edge(ids: ElementIds, ident: str, found: Explained, edge: Any) -> dict[str, Any]:
    return {
        "id": ident,
        "source": ids.nodes[edge.source],
        "target": ids.nodes[edge.target],
        "hop": edge.hop.value,
        "status": edge.status.value,
        "note": edge.note,
        "explanation": found.text,
        "fix": found.fix,
        "command": found.command,
    }


def _described_finding(found: dict[str, Any], text: Any) -> dict[str, Any]:
    for field in ("location", "message", "fix"):
        found[field] = text(found[field])
    return found


def _header(
    topology: Topology,
    graph: AccessGraph,
    ids: ElementIds,
    inputs: ReportInputs,
    findings: tuple[Finding, ...],
    nodes: NodeExplainer,
) -> dict[str, Any]:
    edges = {status.value: 0 for status in (Status.ALLOWED, Status.CONDITIONAL, Status.DENIED)}
    for edge in graph.edges.values():
        edges[edge.status.value] += 1
    severities = {s.label: 0 for s in sorted(Severity, reverse=True)}
    for finding in findings:
        severities[finding.severity.label] += 1
    verdicts = [
        nodes.verdict(key, ident)
        for key, ident in ids.nodes.items()
        if graph.nodes[key].kind == "serviceaccount"
    ]
    read_at = inputs.read_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return {
        "title": inputs.title,
        "generatedAt": read_at,
        "inputs": list(inputs.inputs),
        "accounts": sorted(topology.accounts),
        "clusters": [
            {
                "name": c.info.name,
                "arn": c.info.arn,
                "account": c.info.account,
                "authenticationMode": c.info.authentication_mode,
            }
            for c in sorted(topology.clusters, key=lambda c: c.info.arn)
        ],
        "counts": {"nodes": len(graph.nodes), "edges": edges, "findings": severities},
        "verdicts": [
            {"node": v.node, "subject": v.subject, "status": v.status.value, "summary": v.summary}
            for v in verdicts
        ],
    }
