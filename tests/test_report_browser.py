"""``kubetrust report`` as a person sees it: the page in headless Chromium, network off.

The seed's report (the seed world with the demo's denied ``other-serviceaccount``, built by
the real command) must draw every node and edge of its data, show the fix of the denied edge
when it is clicked, link each finding to its place, find nodes by name, and ask for nothing
but its own file. A 200-role organization's report must open with no two node labels
overlapping at the default zoom, each label inside its box.

Chromium is Debian's (tools/install_chromium.py); without it these tests skip, except in CI
(``CI`` set), where a missing browser fails them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from reportkit import (
    chromium,
    chromium_missing,
    edge_midpoint,
    kubetrust_report,
    offline_page,
    report_payload,
    write_org_bundle,
    write_seed_bundle,
)

if (reason := chromium_missing()) is not None:
    if os.environ.get("CI"):
        pytest.fail(f"CI needs the browser: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def seed_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("seed")
    out = root / "report.html"
    done = kubetrust_report(write_seed_bundle(root / "bundle"), out)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"wrote .+ \(\d+ nodes, \d+ edges, \d+ findings\)\n", done.stdout)
    return out


@pytest.fixture
def seed(browser: Browser, seed_report: Path) -> Iterator[Page]:
    with offline_page(browser, seed_report) as opened:
        yield opened.page
        assert opened.errors == [], "the page logged errors"
        assert opened.requests == [seed_report.resolve().as_uri()]


def node_by_title(data: dict[str, Any], title: str) -> dict[str, Any]:
    return next(node for node in data["nodes"] if node["title"] == title)


def in_canvas(page: Page, element_id: str) -> bool:
    """Whether the element's centre is inside the visible graph area."""
    return bool(
        page.evaluate(
            """(id) => {
                const r = document.getElementById(id).getBoundingClientRect();
                const c = document.getElementById('kt-canvas').getBoundingClientRect();
                const x = r.left + r.width / 2, y = r.top + r.height / 2;
                return x > c.left && x < c.right && y > c.top && y < c.bottom;
            }""",
            element_id,
        )
    )


# ---------------------------------------------------------------------------- the seed


def test_the_seed_report_draws_every_node_and_edge_offline(
    browser: Browser, seed_report: Path
) -> None:
    data = report_payload(seed_report)
    with offline_page(browser, seed_report) as opened:
        page = opened.page
        for node in data["nodes"]:
            assert page.locator(f"g.kt-node#{node['id']}").is_visible(), node["title"]
        for edge in data["edges"]:
            assert page.locator(f"g.kt-edge#{edge['id']}").count() == 1, edge
        assert page.locator("g.kt-node").count() == len(data["nodes"])
        assert page.locator("g.kt-edge").count() == len(data["edges"])
        titles = {node["title"] for node in data["nodes"]}
        assert {
            "ci-namespace/ci-serviceaccount",
            "ci-namespace/other-serviceaccount",
            "ci-account-iam-role",
            "target-account-iam-role",
        } <= titles
        assert any(node["kind"] == "kube-identity" and "test-user" in node["title"]
                   for node in data["nodes"])  # fmt: skip
        assert page.locator("#kt-zoom-level").inner_text() == "100%"
        # the first service account is in view at the default zoom
        first = next(node for node in data["nodes"] if node["kind"] == "serviceaccount")
        assert in_canvas(page, first["id"])
        assert page.locator("#kt-legend li").count() >= 3
        assert opened.errors == []
    assert opened.requests == [seed_report.resolve().as_uri()]


def test_clicking_the_denied_edge_shows_its_fix(seed: Page, seed_report: Path) -> None:
    data = report_payload(seed_report)
    other = node_by_title(data, "ci-namespace/other-serviceaccount")
    denied = next(edge for edge in data["edges"] if edge["source"] == other["id"])
    assert denied["status"] == "denied" and denied["fix"]
    seed.mouse.click(*edge_midpoint(seed, denied["id"]))
    panel = seed.locator("#kt-panel")
    assert panel.locator(".kt-fix").inner_text() == denied["fix"]
    assert panel.locator(".kt-explanation").inner_text() == denied["explanation"]
    assert "denied" in panel.locator(".kt-badge").first.inner_text().lower()
    assert "kt-selected" in (seed.locator(f"#{denied['id']}").get_attribute("class") or "")
    seed.keyboard.press("Escape")
    assert panel.locator(".kt-fix").count() == 0
    assert seed.locator(".kt-selected").count() == 0


def test_clicking_a_node_shows_its_explanation_and_command(seed: Page, seed_report: Path) -> None:
    data = report_payload(seed_report)
    role = node_by_title(data, "target-account-iam-role")
    seed.locator(f"#{role['id']}").click()
    panel = seed.locator("#kt-panel")
    assert panel.locator(".kt-panel-title").inner_text() == role["title"]
    assert panel.locator(".kt-explanation").inner_text() == role["explanation"]
    if role["command"]:
        assert panel.locator(".kt-command").inner_text() == role["command"]
    # its edges are listed and lead to them
    assert panel.locator(".kt-related li").count() == sum(
        role["id"] in (edge["source"], edge["target"]) for edge in data["edges"]
    )


def test_a_finding_row_highlights_and_centres_its_elements(seed: Page, seed_report: Path) -> None:
    data = report_payload(seed_report)
    finding = next(f for f in data["findings"] if f["rule"] == "aws-auth-system-masters")
    assert finding["elements"]
    seed.locator(f'#kt-findings tr[data-finding="{finding["id"]}"] td').nth(1).click()
    for element in finding["elements"]:
        assert "kt-flagged" in (seed.locator(f"#{element}").get_attribute("class") or "")
    first = finding["elements"][0]
    assert "kt-selected" in (seed.locator(f"#{first}").get_attribute("class") or "")
    assert in_canvas(seed, first)


def test_findings_sort_by_severity_rule_and_location(seed: Page, seed_report: Path) -> None:
    data = report_payload(seed_report)
    rank = ["critical", "high", "medium", "low", "info"]

    def shown(column: str) -> list[str]:
        return [str(v) for v in seed.eval_on_selector_all(
            "#kt-findings tbody tr", f"rows => rows.map(r => r.dataset.{column})"
        )]  # fmt: skip

    by_rule = sorted(data["findings"], key=lambda f: f["rule"])
    seed.locator('#kt-findings th[data-sort="rule"] button').click()
    assert shown("rule") == [f["rule"] for f in by_rule]
    seed.locator('#kt-findings th[data-sort="location"] button').click()
    assert shown("location") == sorted(f["location"] for f in data["findings"])
    seed.locator('#kt-findings th[data-sort="severity"] button').click()
    worst_last = shown("rank")
    assert worst_last == sorted(worst_last, reverse=True)  # ascending: least severe first
    seed.locator('#kt-findings th[data-sort="severity"] button').click()
    assert shown("rank") == sorted(str(rank.index(f["severity"])) for f in data["findings"])


def test_search_finds_the_target_role(seed: Page, seed_report: Path) -> None:
    data = report_payload(seed_report)
    role = node_by_title(data, "target-account-iam-role")
    search = seed.locator("#kt-search")
    search.fill("target-account-iam")
    matches = [n["id"] for n in data["nodes"] if "target-account-iam" in
               " ".join([n["title"], n["key"], *n["lines"]]).lower()]  # fmt: skip
    assert role["id"] in matches
    assert seed.locator("g.kt-node.kt-match").count() == len(matches)
    assert seed.locator("#kt-search-results li").count() == len(matches)
    search.press("Enter")
    selected = seed.locator("g.kt-node.kt-selected")
    assert selected.get_attribute("id") == matches[0]
    assert in_canvas(seed, matches[0])
    search.fill("no-such-node-anywhere")
    assert seed.locator("#kt-search-count").inner_text() == "0 matches"
    assert seed.locator("g.kt-node.kt-match").count() == 0


def test_a_verdict_leads_to_its_service_account(seed: Page, seed_report: Path) -> None:
    data = report_payload(seed_report)
    verdict = next(v for v in data["header"]["verdicts"] if v["status"] == "denied")
    seed.locator(f'.kt-verdict[data-node="{verdict["node"]}"]').click()
    assert seed.locator("g.kt-node.kt-selected").get_attribute("id") == verdict["node"]
    assert in_canvas(seed, verdict["node"])


def test_zoom_buttons_wheel_and_fit(seed: Page) -> None:
    level = seed.locator("#kt-zoom-level")
    seed.locator("#kt-zoom-in").click()
    assert level.inner_text() == "125%"
    seed.locator("#kt-zoom-reset").click()
    assert level.inner_text() == "100%"
    box = seed.locator("#kt-canvas").bounding_box()
    assert box is not None
    seed.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    seed.mouse.wheel(0, 400)
    assert int(level.inner_text().rstrip("%")) < 100
    seed.locator("#kt-fit").click()
    inside = seed.evaluate(
        """() => {
            const c = document.getElementById('kt-canvas').getBoundingClientRect();
            const g = document.getElementById('kt-viewport').getBoundingClientRect();
            return g.left >= c.left - 1 && g.right <= c.right + 1
                && g.top >= c.top - 1 && g.bottom <= c.bottom + 1;
        }"""
    )
    assert inside


def test_dragging_pans_without_selecting(seed: Page) -> None:
    before = seed.locator("#kt-viewport").get_attribute("transform")
    box = seed.locator("#kt-canvas").bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] - 40, box["y"] + 80  # in view, right of the graph
    seed.mouse.move(x, y)
    seed.mouse.down()
    seed.mouse.move(x - 120, y - 60, steps=5)
    seed.mouse.up()
    assert seed.locator("#kt-viewport").get_attribute("transform") != before
    assert seed.locator(".kt-selected").count() == 0


def test_the_request_log_catches_a_page_that_reaches_out(browser: Browser, tmp_path: Path) -> None:
    """The control for the offline assertions: a page loading an image from the network is
    seen doing so (and the load fails)."""
    page = tmp_path / "leaky.html"
    page.write_text('<img src="https://example.com/x.png"><p>hi</p>', encoding="utf-8")
    with offline_page(browser, page, wait=False) as opened:
        opened.page.wait_for_load_state("load")
    assert "https://example.com/x.png" in opened.requests


# ---------------------------------------------------------------------------- 200 roles


@pytest.fixture(scope="module")
def org_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("org")
    out = root / "report.html"
    done = kubetrust_report(write_org_bundle(root / "bundle"), out, "--title", "200 roles")
    assert done.returncode == 0, done.stderr
    return out


def test_a_200_role_report_has_no_overlapping_labels_at_default_zoom(
    browser: Browser, org_report: Path
) -> None:
    data = report_payload(org_report)
    roles = [node for node in data["nodes"] if node["kind"] == "role"]
    assert len(roles) == 200
    with offline_page(browser, org_report) as opened:
        page = opened.page
        assert page.locator("#kt-zoom-level").inner_text() == "100%"
        assert page.locator("g.kt-node").count() == len(data["nodes"])
        found = page.evaluate(
            """() => {
                const boxes = [...document.querySelectorAll('g.kt-node')].map(g => ({
                    id: g.id,
                    text: g.querySelector('text').getBoundingClientRect(),
                    rect: g.querySelector('rect').getBoundingClientRect(),
                }));
                const overlaps = [], outside = [];
                for (const b of boxes) {
                    const t = b.text, r = b.rect;
                    if (t.left < r.left - 0.5 || t.right > r.right + 0.5
                        || t.top < r.top - 0.5 || t.bottom > r.bottom + 0.5) outside.push(b.id);
                }
                const sorted = boxes.slice().sort((a, b) => a.text.left - b.text.left);
                for (let i = 0; i < sorted.length; i++) {
                    const a = sorted[i].text;
                    for (let j = i + 1; j < sorted.length && sorted[j].text.left < a.right; j++) {
                        const b = sorted[j].text;
                        if (a.top < b.bottom && b.top < a.bottom) {
                            overlaps.push([sorted[i].id, sorted[j].id]);
                        }
                    }
                }
                return {count: boxes.length, overlaps, outside};
            }"""
        )
        assert found["count"] == len(data["nodes"])
        assert found["overlaps"] == []
        assert found["outside"] == []
        assert opened.errors == []
    assert opened.requests == [org_report.resolve().as_uri()]
