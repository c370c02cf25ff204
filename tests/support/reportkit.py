"""The access report in a real browser: Debian's headless Chromium driven by Playwright, with
the network off, and the worlds the report is built from (the seed, a 200-role organization).

Shared by the browser tests (tests/test_report_browser.py), the report benchmark
(benchmarks/report.py) and the screenshot (tools/screenshot_report.py), which put this folder
on ``sys.path``. Playwright never downloads a browser here: it drives ``/usr/bin/chromium``
(``CHROMIUM`` overrides), which ``tools/install_chromium.py`` installs where missing.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kubetrust.explain import worlds

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 900}
SEED_WORLD = REPO / "tests" / "cases" / "explain" / "seed_world.yaml"
CI_ROLE = "arn:aws:iam::111111111111:role/ci-account-iam-role"
READY_SECONDS = 20


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or ``None`` when Chromium is installed."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return None
    return (
        f"Chromium is not installed at {CHROMIUM} (tools/install_chromium.py installs Debian's "
        "package as root; or set CHROMIUM=PATH)"
    )


# ---------------------------------------------------------------------------- worlds


def seed_world() -> dict[str, Any]:
    """The seed (tests/cases/explain/seed_world.yaml) with the demo's second service account,
    ``other-serviceaccount``: annotated with the CI role, which does not trust it (denied)."""
    world = copy.deepcopy(yaml.safe_load(SEED_WORLD.read_text(encoding="utf-8")))
    ci_cluster = next(c for c in world["clusters"] if c["name"] == "ci-cluster")
    ci_cluster["manifests"].append(
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {
                "name": "other-serviceaccount",
                "namespace": "ci-namespace",
                "annotations": {"eks.amazonaws.com/role-arn": CI_ROLE},
            },
        }
    )
    return world


def write_seed_bundle(root: Path) -> Path:
    return worlds.write_bundle(seed_world(), root)


def write_org_bundle(root: Path) -> Path:
    """A 200-role organization: benchmarks/synthetic_org.py's shape with 2 accounts × 100
    roles, one CI account and a target cluster in each account (≈430 nodes: service
    accounts, IRSA and Pod Identity roles, deploy roles, permissions, cluster identities)."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import synthetic_org
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    shape = synthetic_org.Shape(accounts=2, roles=100, ci=1, cluster_every=1)
    return synthetic_org.write(shape, root)


def report_payload(path: Path) -> dict[str, Any]:
    """The data a report file carries (``<script id="kt-data">``), as its script reads it."""
    text = path.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="kt-data">(.*?)</script>', text, re.S)
    assert found is not None, f"{path}: no report data"
    data = json.loads(found.group(1))
    assert isinstance(data, dict)
    return data


def kubetrust_report(
    bundle: Path, out: Path, *extra: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``kubetrust report --bundle BUNDLE --out OUT`` as a user runs it (in ``cwd``)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "kubetrust",
            "report",
            "--bundle",
            str(bundle),
            "--out",
            str(out),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
    )


# ---------------------------------------------------------------------------- the browser


@dataclass
class Opened:
    """A page opened offline, with every request it made and every error it logged."""

    page: Page
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Chromium (Debian's), closed on the way out."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def offline_page(
    browser: Browser, path: Path, *, viewport: dict[str, int] | None = None, wait: bool = True
) -> Iterator[Opened]:
    """``path`` opened through ``file://`` with the network off twice over (the context
    offline, and every request but the file itself aborted); requests and console errors
    recorded. With ``wait``, returns once the page says it is interactive (``ktReady``)."""
    url = path.resolve().as_uri()
    context = browser.new_context(viewport=viewport or VIEWPORT)
    try:
        context.set_offline(True)
        opened = Opened(context.new_page())
        context.on("request", lambda request: opened.requests.append(request.url))
        context.route(
            "**/*",
            lambda route: route.continue_() if route.request.url == url else route.abort(),
        )
        opened.page.on(
            "console",
            lambda message: opened.errors.append(message.text) if message.type == "error" else None,
        )
        opened.page.on("pageerror", lambda error: opened.errors.append(str(error)))
        opened.page.goto(url)
        if wait:
            wait_ready(opened.page)
        yield opened
    finally:
        context.close()


def wait_ready(page: Page) -> None:
    page.wait_for_function("window.ktReady === true", timeout=READY_SECONDS * 1000)


def edge_midpoint(page: Page, edge_id: str) -> tuple[float, float]:
    """Where on screen the middle of edge ``edge_id``'s line is (a point a person would
    click: the box of a bent edge may have nothing under its centre)."""
    point = page.evaluate(
        """(id) => {
            const line = document.getElementById(id).querySelector('.kt-edge-line');
            const at = line.getPointAtLength(line.getTotalLength() / 2);
            const screen = at.matrixTransform(line.getScreenCTM());
            return [screen.x, screen.y];
        }""",
        edge_id,
    )
    return float(point[0]), float(point[1])
