"""The report page as text: self-contained, its data unable to break out of its element, the
header, findings and warnings written from the payload (the browser tests drive the page).

The payload and SVG here are small hand-made fakes that follow the contracts of
``kubetrust.report.data`` and ``kubetrust.report.svg``, so these tests do not depend on
how the graph is built or drawn.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from kubetrust.explain.access_graph import AccessGraph
from kubetrust.report import html, html_sections
from kubetrust.report.data import ReportData
from kubetrust.report.ids import ElementIds

EVIL = "evil</script><script>alert(1)</script><!--"
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" class="kt-graph" viewBox="0 0 300 100" '
    'width="300" height="100"><g id="kt-viewport">'
    '<g class="kt-node kind-role" id="n1" data-key="role:a" data-group="account 1">'
    '<title>a</title><rect x="0" y="0" width="80" height="30" fill="#fff8e1"/>'
    "<text><tspan>a</tspan></text></g></g></svg>"
)


def payload(**changes: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "schemaVersion": 1,
        "header": {
            "title": "Org & friends <report>",
            "generatedAt": "2026-01-02T03:04:05Z",
            "inputs": ["bundle ./org"],
            "accounts": ["111111111111", "222222222222"],
            "clusters": [
                {
                    "name": "target-cluster",
                    "arn": "arn:aws:eks:us-east-1:222222222222:cluster/target-cluster",
                    "account": "222222222222",
                    "authenticationMode": "CONFIG_MAP",
                }
            ],
            "counts": {
                "nodes": 2,
                "edges": {"allowed": 1, "conditional": 0, "denied": 1},
                "findings": {"critical": 0, "high": 1, "medium": 1, "low": 0, "info": 0},
            },
            "verdicts": [
                {
                    "node": "n2",
                    "subject": "ci-cluster ci-namespace/ci-serviceaccount",
                    "status": "allowed",
                    "summary": "reaches 1 role",
                }
            ],
        },
        "groups": {"account 1": "account 111111111111"},
        "nodes": [
            {
                "id": "n1",
                "key": f"role:arn:aws:iam::1:role/{EVIL}",
                "kind": "role",
                "title": EVIL,
                "lines": [],
                "group": "account 1",
                "explanation": "a role",
                "command": None,
            },
            {
                "id": "n2",
                "key": "sa:ci",
                "kind": "serviceaccount",
                "title": "ci-namespace/ci-serviceaccount",
                "lines": [],
                "group": "account 1",
                "explanation": "a service account",
                "command": "kubetrust explain ...",
            },
        ],
        "edges": [
            {
                "id": "e1",
                "source": "n2",
                "target": "n1",
                "hop": "web identity",
                "status": "denied",
                "note": "trust-denied",
                "explanation": "link 1 fails",
                "fix": "add the service account",
                "command": None,
            }
        ],
        "findings": [
            {
                "id": "f1",
                "rule": "aws-auth-system-masters",
                "severity": "medium",
                "location": "target-cluster/aws-auth",
                "message": "mapped to system:masters",
                "fix": "map to a narrower group",
                "elements": ["n1"],
            },
            {
                "id": "f2",
                "rule": "trust-wildcard",
                "severity": "high",
                "location": "222222222222/role",
                "message": "any principal",
                "fix": None,
                "elements": ["e1"],
            },
        ],
        "warnings": [],
    }
    found.update(changes)
    return found


def page(data: dict[str, Any] | None = None, svg: str = SVG) -> str:
    report = ReportData(AccessGraph(), ElementIds({}, ()), data or payload())
    return html.render_html(report, svg)


class Elements(HTMLParser):
    """Start tags with their attributes, and the text of each script element."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None


def parsed(text: str) -> Elements:
    found = Elements()
    found.feed(text)
    return found


def test_the_page_is_self_contained_and_forbids_the_network() -> None:
    text = page()
    assert text.startswith("<!DOCTYPE html>")
    tags = parsed(text).tags
    csp = [a for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp == [
        {
            "http-equiv": "Content-Security-Policy",
            "content": "default-src 'none'; style-src 'unsafe-inline'; "
            "script-src 'unsafe-inline'; img-src data:",
        }
    ]
    # nothing is loaded from anywhere: no src, no stylesheet link, no url() but data:
    assert not [a for t, a in tags if t in ("script", "img", "iframe") and a.get("src")]
    assert not [a for t, a in tags if t == "link"]
    assert not re.search(r"url\((?!#|data:)", text)
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        '"http://www.w3.org/2000/svg"', ""
    )
    assert "<style>" in text and "window.ktReady = true" in text


def test_the_payload_cannot_close_its_script_element() -> None:
    text = page()
    scripts = parsed(text).scripts
    # exactly two scripts: the data and the page's own; the role name opened none
    assert [attrs.get("type") for attrs, _ in scripts] == ["application/json", None]
    data_attrs, data_text = scripts[0]
    assert data_attrs["id"] == "kt-data"
    assert "</" not in data_text and "<!--" not in data_text
    assert json.loads(data_text) == payload()


def test_script_json_escapes_markup_and_line_separators() -> None:
    value = {"a": "</script><!-- & \u2028\u2029 ünïcode"}
    text = html.script_json(value)
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert "ünïcode" in text
    assert json.loads(text) == value


def test_header_shows_what_was_read_and_the_verdicts() -> None:
    text = page()
    assert "<title>Org &amp; friends &lt;report&gt;</title>" in text
    assert "<h1>Org &amp; friends &lt;report&gt;</h1>" in text
    assert "2026-01-02T03:04:05Z" in text
    for shown in ("bundle ./org", "111111111111", "target-cluster (222222222222, CONFIG_MAP)"):
        assert f"<li>{shown}</li>" in text
    for chip in ("2 nodes", "1 allowed edges", "1 denied edges", "2 findings", "1 high"):
        assert f'<li class="kt-count">{chip}</li>' in text
    verdicts = [a for t, a in parsed(text).tags if t == "button" and a.get("data-node")]
    assert verdicts == [
        {
            "type": "button",
            "class": "kt-verdict status-allowed",
            "data-node": "n2",
            "title": "reaches 1 role",
        }
    ]


def test_findings_worst_first_each_naming_its_elements() -> None:
    text = page()
    rows = [a for t, a in parsed(text).tags if t == "tr" and a.get("data-finding")]
    assert [(r["data-finding"], r["data-rank"]) for r in rows] == [("f2", "1"), ("f1", "2")]
    links = [
        a["data-element"] for t, a in parsed(text).tags if t == "button" and "data-element" in a
    ]
    assert links == ["e1", "n1"]
    # an edge is named by its ends and hop; markup in a name is escaped
    assert "ci-namespace/ci-serviceaccount → evil&lt;/script&gt;" in text
    assert "fix: map to a narrower group" in text
    assert EVIL not in text.split('<script type="application/json"')[0]


def test_no_findings_and_no_verdicts_say_so() -> None:
    data = payload(findings=[])
    data["header"]["verdicts"] = []
    text = page(data)
    assert "Findings (0)" in text and "<p>No findings.</p>" in text
    assert 'id="kt-findings"' not in text
    assert "no verdicts" in text


def test_warnings_are_listed_only_when_there_are_some() -> None:
    assert 'id="kt-warnings"' not in page()
    text = page(payload(warnings=["plan.json: resource <x> not understood"]))
    assert "Warnings (1)" in text and "resource &lt;x&gt; not understood" in text


def test_the_svg_is_inlined_without_its_prologue() -> None:
    standalone = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE svg>\n' + SVG
    text = page(svg=standalone)
    assert "<?xml" not in text and "<!DOCTYPE svg" not in text
    assert SVG in text


@pytest.mark.parametrize("svg", ["", "<div>not svg</div>", "<svg>unclosed"])
def test_anything_but_one_svg_element_is_refused(svg: str) -> None:
    with pytest.raises(ValueError, match="one <svg> element"):
        page(svg=svg)


def test_assets_cannot_close_their_own_element(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("report.css", "report.js"):
        assert html.asset(name)  # the packaged assets pass

    class Fake:
        def joinpath(self, *parts: str) -> Fake:
            return self

        def read_text(self, encoding: str) -> str:
            return "x = '</SCRIPT>'"

    monkeypatch.setattr(html.resources, "files", lambda package: Fake())
    with pytest.raises(ValueError, match="would close its own element"):
        html.asset("report.js")


def test_element_labels_name_nodes_and_edges() -> None:
    labels = html_sections.element_labels(payload())
    assert labels["n2"] == "ci-namespace/ci-serviceaccount"
    assert labels["e1"] == f"ci-namespace/ci-serviceaccount → {EVIL} (web identity)"


def test_verdicts_are_worst_first_under_a_tally() -> None:
    data = payload()
    data["header"]["verdicts"] = [
        {"node": f"n{number}", "subject": f"c ns/sa-{number}", "status": status, "summary": ""}
        for number, status in enumerate(["allowed", "denied", "allowed", "conditional"], 1)
    ]
    text = page(data)
    verdicts = [a for t, a in parsed(text).tags if t == "button" and a.get("data-node")]
    assert [v["data-node"] for v in verdicts] == ["n2", "n4", "n1", "n3"]
    assert "(1 denied, 1 conditional, 2 allowed)" in text
