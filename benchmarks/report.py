"""Report benchmark: build a 200-role organization's access report, and open it in Chromium.

    .venv/bin/python benchmarks/report.py              # 3 builds, 5 opens of each page
    .venv/bin/python benchmarks/report.py --runs 1     # the smoke test's run

Steps: generate the organization as a bundle in a temporary directory (benchmarks/
synthetic_org.py's shape with 2 accounts × 100 roles, as the browser tests build it:
tests/support/reportkit.py; not timed), then

- **build**: ``kubetrust report --bundle ORG --out report.html``, a process as a user runs it
  (Python's start-up, loading, the audit, the layout, the page), wall-clock seconds;
- **open**: headless Chromium (Debian's, network off) navigates to the file until the page
  says it is interactive (``window.ktReady``: the data parsed, the graph laid out on screen,
  the initial view set), wall-clock seconds, a fresh page each time;
- **baseline**: the same for a trivial HTML file that sets ``ktReady`` at once, measured in
  the same run: the browser's own cost of a navigation, which the ratio divides out.

Medians of the runs are printed with the ratio to the baseline. Issue 17's bound: the
report opens in under 2 s. Nothing is asserted (the machine may be shared); exit 1 only when
Chromium is missing or a step fails.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))

import reportkit  # noqa: E402  (the test kit: the organization and the browser)

BOUND_SECONDS = 2.0
TRIVIAL = (
    "<!DOCTYPE html><title>baseline</title><p>baseline</p><script>window.ktReady = true</script>"
)


def time_build(bundle: Path, out: Path) -> float:
    started = time.perf_counter()
    done = reportkit.kubetrust_report(bundle, out)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"kubetrust report failed ({done.returncode}): {done.stderr.strip()}")
    return seconds


def time_opens(path: Path, runs: int) -> list[float]:
    """Seconds from navigation to ``ktReady``, one fresh page per run (one browser)."""
    found = []
    with reportkit.chromium() as browser:
        for _ in range(runs):
            started = time.perf_counter()
            with reportkit.offline_page(browser, path) as opened:
                found.append(time.perf_counter() - started)
                if opened.errors:
                    raise SystemExit(f"{path}: the page logged errors: {opened.errors}")
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=0, help="runs of each step (default 3/5)")
    args = parser.parse_args(argv)
    missing = reportkit.chromium_missing()
    if missing is not None:
        print(f"report benchmark: {missing}", file=sys.stderr)
        return 1
    builds, opens = (args.runs, args.runs) if args.runs > 0 else (3, 5)
    with tempfile.TemporaryDirectory(prefix="kubetrust-report-bench-") as scratch:
        work = Path(scratch)
        bundle = reportkit.write_org_bundle(work / "org")
        report = work / "report.html"
        built = [time_build(bundle, report) for _ in range(builds)]
        data = reportkit.report_payload(report)
        trivial = work / "trivial.html"
        trivial.write_text(TRIVIAL, encoding="utf-8")
        baseline = time_opens(trivial, opens)
        opened = time_opens(report, opens)
        size = report.stat().st_size
    roles = sum(node["kind"] == "role" for node in data["nodes"])
    print(
        f"organization: {roles} roles; report: {len(data['nodes'])} nodes, "
        f"{len(data['edges'])} edges, {len(data['findings'])} findings, {size / 1024:.0f} KiB"
    )
    print(f"{'step':<44}{'median s':>10}{'runs':>6}")
    rows = [
        ("build (kubetrust report, a process)", built),
        ("open a trivial page (baseline)", baseline),
        ("open the report until ktReady", opened),
    ]
    for name, values in rows:
        print(f"{name:<44}{statistics.median(values):>10.3f}{len(values):>6}")
    ratio = statistics.median(opened) / statistics.median(baseline)
    print(f"open / baseline: {ratio:.1f}×")
    within = "yes" if statistics.median(opened) < BOUND_SECONDS else "NO"
    print(f"opens in under {BOUND_SECONDS:.0f} s (issue 17): {within}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
