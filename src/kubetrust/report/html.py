"""One self-contained HTML file: the access report (``kubetrust report``).

Everything is inline — the stylesheet and script of ``assets/`` (read at render time, so an
installed wheel carries them as package data), the SVG of :mod:`kubetrust.report.svg`, and
the payload of :mod:`kubetrust.report.data` as ``<script type="application/json"
id="kt-data">`` — and a ``Content-Security-Policy`` forbids every fetch, so the page
*cannot* reach the network: it can be attached to a change request and opened anywhere.

The payload is JSON inside a script element, which the HTML parser ends at the first
``</script``; every ``<``, ``>`` and ``&`` in it is written as a JSON ``\\u`` escape, so no
value (a role name, a policy's text) can end the element or open a comment, and
``JSON.parse`` reads the same strings back.
"""

from __future__ import annotations

import json
import re
from html import escape
from importlib import resources
from typing import Any

from kubetrust import __version__
from kubetrust.report import html_sections
from kubetrust.report.data import ReportData

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
)
"""Inline styles and scripts only, images only as ``data:`` URLs: nothing is fetched."""
_PROLOGUE = re.compile(r"\A\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?", re.IGNORECASE)
_JSON_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def render_html(data: ReportData, svg: str) -> str:
    """The report page of ``data`` with ``svg`` (the graph drawn with ``data.ids``) inline."""
    payload = data.payload
    title = str(payload.get("header", {}).get("title", "kubetrust access report"))
    return _PAGE.format(
        csp=escape(CONTENT_SECURITY_POLICY),
        version=escape(__version__),
        title=escape(title),
        css=asset("report.css"),
        header=html_sections.header_html(payload),
        svg=inline_svg(svg),
        findings=html_sections.findings_html(payload),
        warnings=html_sections.warnings_html(payload),
        data=script_json(payload),
        script=asset("report.js"),
    )


def asset(name: str) -> str:
    """A file of ``assets/``; it must not hold ``</`` + ``style``/``script``, which would end
    the element it is inlined in."""
    text = resources.files("kubetrust.report").joinpath("assets", name).read_text("utf-8")
    if re.search(r"</(script|style)", text, re.IGNORECASE):
        raise ValueError(f"report asset {name} would close its own element")
    return text


def inline_svg(svg: str) -> str:
    """``svg`` without the XML declaration and doctype a standalone file may carry (HTML
    has no place for them); it must be one ``<svg>`` element."""
    body = _PROLOGUE.sub("", svg, count=1).strip()
    if not body.startswith("<svg") or not body.endswith("</svg>"):
        raise ValueError("the report's graph must be one <svg> element")
    return body


def script_json(payload: Any) -> str:
    """``payload`` as JSON safe inside ``<script>`` (module doc)."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return "".join(_JSON_ESCAPES.get(char, char) for char in text)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="kubetrust {version}">
<title>{title}</title>
<style>
{css}
</style>
</head>
<body>
{header}
<main id="kt-main">
<section id="kt-graph-area" aria-label="The access graph">
<div id="kt-toolbar" role="toolbar" aria-label="Graph tools">
<input id="kt-search" type="search" autocomplete="off" spellcheck="false"
 placeholder="Search nodes (Enter: next match)" aria-label="Search nodes">
<span id="kt-search-count" aria-live="polite"></span>
<button type="button" id="kt-zoom-out" title="Zoom out (-)">&minus;</button>
<span id="kt-zoom-level">100%</span>
<button type="button" id="kt-zoom-in" title="Zoom in (+)">+</button>
<button type="button" id="kt-zoom-reset" title="Actual size (1)">1:1</button>
<button type="button" id="kt-fit" title="Fit the whole graph (0)">Fit</button>
</div>
<div id="kt-canvas">
<ul id="kt-search-results" hidden></ul>
{svg}
</div>
</section>
<aside id="kt-panel" aria-live="polite" aria-label="Details">
<p class="kt-empty">Click a node or an edge to see its explanation, the fix and the command
that reproduces it. Drag to pan, wheel to zoom, Escape to clear.</p>
</aside>
</main>
<div id="kt-lower">
<section id="kt-legend"><h2>Legend</h2><ul></ul></section>
{findings}
{warnings}
</div>
<script type="application/json" id="kt-data">{data}</script>
<script>
{script}
</script>
</body>
</html>
"""
