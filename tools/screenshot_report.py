"""Regenerate docs/images/report-seed.png: the seed's access report in headless Chromium with
the denied ``other-serviceaccount`` edge selected, its fix in the side panel (`make screenshot`).

The report is built as a user builds it (``kubetrust report`` over a bundle of the seed world
with the demo's second service account: tests/support/reportkit.py), opened offline in
Debian's Chromium, and the edge is clicked where a person would click it.

Usage: <venv>/bin/python tools/screenshot_report.py [--out PATH]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

import reportkit  # noqa: E402  (the test kit: the seed world and the browser)

OUT = ROOT / "docs" / "images" / "report-seed.png"
VIEWPORT = {"width": 1800, "height": 960}
OTHER = "ci-namespace/other-serviceaccount"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    missing = reportkit.chromium_missing()
    if missing is not None:
        print(f"screenshot: {missing}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="kubetrust-screenshot-") as scratch:
        work = Path(scratch)
        report = work / "report.html"
        reportkit.write_seed_bundle(work / "seed")
        done = reportkit.kubetrust_report(
            Path("seed"), report, "--title", "The seed's access report", cwd=work
        )
        if done.returncode != 0:
            print(f"screenshot: kubetrust report failed: {done.stderr.strip()}", file=sys.stderr)
            return 1
        data = reportkit.report_payload(report)
        other = next(node["id"] for node in data["nodes"] if node["title"] == OTHER)
        denied = next(edge["id"] for edge in data["edges"] if edge["source"] == other)
        with (
            reportkit.chromium() as browser,
            reportkit.offline_page(browser, report, viewport=VIEWPORT) as opened,
        ):
            page = opened.page
            page.mouse.click(*reportkit.edge_midpoint(page, denied))
            page.locator("#kt-panel .kt-fix").wait_for()
            page.mouse.move(0, 0)  # no hover highlight in the picture
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out))
            if opened.errors:
                print(f"screenshot: the page logged errors: {opened.errors}", file=sys.stderr)
                return 1
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
