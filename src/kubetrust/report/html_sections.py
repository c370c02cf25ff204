"""The report's server-rendered parts: the header, the findings table and the warnings.

They are written into the page as HTML (every value escaped) rather than built by the
script, so that the page reads — and prints — with scripts off, and so that a unit test can
check them without a browser. The script (``assets/report.js``) only adds behaviour:
sorting, and the links from verdicts and findings to their place in the graph, which it
finds through the ``data-node``/``data-element`` ids (:mod:`kubetrust.report.ids`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")
"""Audit's severities, worst first: the findings table's default order."""
STATUSES = ("allowed", "conditional", "denied")

Payload = Mapping[str, Any]


def header_html(payload: Payload) -> str:
    """Title, when, what was read, the counts and the verdicts at a glance."""
    header = payload.get("header", {})
    facts = [
        _fact("Inputs", _items(header.get("inputs", ()))),
        _fact("Accounts", _items(header.get("accounts", ()))),
        _fact("Clusters", _items(_cluster_line(c) for c in header.get("clusters", ()))),
        _fact("Counts", _counts(header.get("counts", {}))),
    ]
    return (
        '<header id="kt-header">'
        f"<h1>{escape(str(header.get('title', 'kubetrust access report')))}</h1>"
        f'<p class="kt-meta">generated <time id="kt-generated">'
        f"{escape(str(header.get('generatedAt', '')))}</time> by kubetrust</p>"
        f'<dl class="kt-facts">{"".join(facts)}</dl>'
        f"{_verdicts(header.get('verdicts', ()))}"
        "</header>"
    )


def _fact(name: str, value: str) -> str:
    return f"<div><dt>{escape(name)}</dt><dd>{value}</dd></div>"


def _items(values: Iterable[object]) -> str:
    shown = [f"<li>{escape(str(value))}</li>" for value in values]
    return f"<ul>{''.join(shown)}</ul>" if shown else "<ul><li>none</li></ul>"


def _cluster_line(cluster: Mapping[str, Any]) -> str:
    return (
        f"{cluster.get('name', '?')} ({cluster.get('account', '?')}, "
        f"{cluster.get('authenticationMode', '?')})"
    )


def _counts(counts: Mapping[str, Any]) -> str:
    """One chip per count: nodes, edges by status, findings by severity (zeros left out,
    except the totals a reader looks for)."""
    edges = counts.get("edges", {})
    findings = counts.get("findings", {})
    chips = [f"{counts.get('nodes', 0)} nodes"]
    chips += [f"{edges.get(status, 0)} {status} edges" for status in STATUSES]
    total = sum(int(findings.get(severity, 0)) for severity in SEVERITIES)
    chips.append(f"{total} findings")
    chips += [f"{findings[s]} {s}" for s in SEVERITIES if findings.get(s)]
    shown = "".join(f'<li class="kt-count">{escape(chip)}</li>' for chip in chips)
    return f'<ul class="kt-counts">{shown}</ul>'


VERDICT_ORDER = ("denied", "conditional", "allowed")
"""Verdicts worst first: in an organization of many service accounts, the few that fail are
what the reader is looking for, and the list scrolls."""


def _verdict_rank(verdict: Mapping[str, Any]) -> int:
    status = str(verdict.get("status", ""))
    return VERDICT_ORDER.index(status) if status in VERDICT_ORDER else len(VERDICT_ORDER)


def _verdict_tally(verdicts: list[Mapping[str, Any]]) -> str:
    counts = [(s, sum(1 for v in verdicts if v.get("status") == s)) for s in VERDICT_ORDER]
    return ", ".join(f"{count} {status}" for status, count in counts if count)


def _verdicts(given: Iterable[Mapping[str, Any]]) -> str:
    """Each service account's verdict as a button to its node (``data-node``), worst first
    (:data:`VERDICT_ORDER`; the payload's order within a status), under a tally."""
    verdicts = sorted(given, key=_verdict_rank)
    buttons = [
        f'<li><button type="button" class="kt-verdict status-{_token(v.get("status"))}" '
        f'data-node="{escape(str(v.get("node", "")))}" '
        f'title="{escape(str(v.get("summary", "")))}">'
        f'<span class="kt-badge status-{_token(v.get("status"))}">'
        f"{escape(str(v.get('status', '')))}</span> "
        f"{escape(str(v.get('subject', '')))}"
        f'<span class="kt-summary">{escape(str(v.get("summary", "")))}</span></button></li>'
        for v in verdicts
    ]
    if not buttons:
        return '<p class="kt-meta">No service account in the inputs: no verdicts.</p>'
    return (
        f'<h2 id="kt-verdicts-title">Verdicts at a glance '
        f'<span class="kt-meta">({escape(_verdict_tally(verdicts))})</span></h2>'
        f'<ul class="kt-verdicts" aria-labelledby="kt-verdicts-title">{"".join(buttons)}</ul>'
    )


def _token(value: object) -> str:
    """A value used in a class name: letters, digits and dashes only."""
    return "".join(c if c.isalnum() or c == "-" else "-" for c in str(value or "none").lower())


def findings_html(payload: Payload) -> str:
    """The audit's findings, worst first; each row names its elements (``data-element``)."""
    findings = list(payload.get("findings", ()))
    heading = f'<h2 id="kt-findings-title">Findings ({len(findings)})</h2>'
    if not findings:
        return f'<section id="kt-findings-section">{heading}<p>No findings.</p></section>'
    labels = element_labels(payload)
    ordered = sorted(enumerate(findings), key=lambda item: (_rank(item[1]), item[0]))
    rows = "".join(_finding_row(finding, order, labels) for order, finding in ordered)
    columns = (
        '<th aria-sort="descending" data-sort="severity">'
        '<button type="button">Severity</button></th>'
        '<th data-sort="rule"><button type="button">Rule</button></th>'
        '<th data-sort="location"><button type="button">Location</button></th>'
        "<th>Finding and fix</th><th>In the graph</th>"
    )
    return (
        f'<section id="kt-findings-section">{heading}'
        f'<table id="kt-findings" aria-labelledby="kt-findings-title">'
        f"<thead><tr>{columns}</tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _rank(finding: Mapping[str, Any]) -> int:
    severity = str(finding.get("severity", "info"))
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def _finding_row(finding: Mapping[str, Any], order: int, labels: Mapping[str, str]) -> str:
    severity = str(finding.get("severity", ""))
    links = "".join(
        f'<button type="button" class="kt-link" data-element="{escape(str(element))}">'
        f"{escape(labels.get(str(element), str(element)))}</button>"
        for element in finding.get("elements", ())
    )
    fix = finding.get("fix")
    fix_text = f'<div class="kt-fix-text">fix: {escape(str(fix))}</div>' if fix else ""
    return (
        f'<tr data-finding="{escape(str(finding.get("id", "")))}" data-order="{order}" '
        f'data-rank="{_rank(finding)}" data-rule="{escape(str(finding.get("rule", "")))}" '
        f'data-location="{escape(str(finding.get("location", "")))}">'
        f'<td><span class="kt-badge severity-{_token(severity)}">{escape(severity)}</span></td>'
        f"<td><code>{escape(str(finding.get('rule', '')))}</code></td>"
        f'<td class="kt-mono">{escape(str(finding.get("location", "")))}</td>'
        f"<td>{escape(str(finding.get('message', '')))}{fix_text}</td>"
        f'<td class="kt-elements">{links or "—"}</td></tr>'
    )


def element_labels(payload: Payload) -> dict[str, str]:
    """``nN`` → the node's title, ``eN`` → ``source → target (hop)``: how a finding names
    its places in the graph."""
    nodes = payload.get("nodes", ())
    titles = {str(n.get("id")): str(n.get("title", n.get("key", ""))) for n in nodes}
    labels = dict(titles)
    for edge in payload.get("edges", ()):
        source = titles.get(str(edge.get("source")), str(edge.get("source")))
        target = titles.get(str(edge.get("target")), str(edge.get("target")))
        labels[str(edge.get("id"))] = f"{source} → {target} ({edge.get('hop', '')})"
    return labels


def warnings_html(payload: Payload) -> str:
    """What the inputs held that kubetrust read but did not understand (IaC inputs)."""
    warnings = list(payload.get("warnings", ()))
    if not warnings:
        return ""
    shown = "".join(f"<li>{escape(str(w))}</li>" for w in warnings)
    return (
        f'<section id="kt-warnings"><h2>Warnings ({len(warnings)})</h2><ul>{shown}</ul></section>'
    )
