"""Make sure Debian's Chromium is at /usr/bin/chromium for the report's browser tests
(run by `make test` and `make e2e` before the tests).

Why this exists: the browser tests (tests/test_report_browser.py) open the report in a real,
headless Chromium driven by Playwright's Python client. Playwright can download its own
browser builds, but we never do that: the browser comes from the distribution's package,
like every other system tool the tests use, and Playwright is pointed at it.

- Chromium already at /usr/bin/chromium (or CHROMIUM): nothing to do, nothing printed.
- Missing, and we are root on a machine with apt-get: `apt-get update` and
  `apt-get install -y --no-install-recommends chromium`, quietly and with a time bound.
- Missing otherwise (not root, no apt-get): one line saying why nothing was installed and
  how to install it; exit 0, since the tests then skip with that reason (in CI, where `CI`
  is set, they fail instead).

Exit status 1 only when an installation was attempted and failed. Standard library only.

Usage: <venv>/bin/python tools/install_chromium.py [--check]
  --check   only say whether Chromium is there (exit 0 yes, 1 no); install nothing
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
PACKAGE = "chromium"
UPDATE_SECONDS = 300
INSTALL_SECONDS = 900
HOW = "install it with `sudo apt-get install chromium` (Debian/Ubuntu), or set CHROMIUM=PATH"


def present() -> bool:
    """Whether an executable Chromium is at :data:`CHROMIUM`."""
    return CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)


def why_not_installable() -> str | None:
    """Why this script cannot install Chromium here, or ``None`` when it can."""
    if shutil.which("apt-get") is None:
        return "no apt-get on this machine"
    if os.geteuid() != 0:
        return "not root (apt-get needs root)"
    return None


def apt_get(*args: str, seconds: int) -> None:
    """Run apt-get non-interactively and quietly; raise with its last lines on failure."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        done = subprocess.run(
            ["apt-get", "-q", *args],
            capture_output=True,
            text=True,
            timeout=seconds,
            check=False,
            env=env,
        )
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"`apt-get {' '.join(args)}` took more than {seconds} s") from error
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise RuntimeError(f"`apt-get {' '.join(args)}` failed ({done.returncode}):\n{tail}")


def main(argv: list[str]) -> int:
    if present():
        return 0
    if "--check" in argv:
        print(f"chromium: not found at {CHROMIUM}; {HOW}")
        return 1
    reason = why_not_installable()
    if reason is not None:
        print(
            f"chromium: not found at {CHROMIUM} and not installed ({reason}): the report's "
            f"browser tests will skip (fail in CI); {HOW}"
        )
        return 0
    print(f"chromium: installing Debian's {PACKAGE} package for the browser tests")
    try:
        apt_get("update", seconds=UPDATE_SECONDS)
        apt_get("install", "-y", "--no-install-recommends", PACKAGE, seconds=INSTALL_SECONDS)
    except RuntimeError as error:
        print(f"chromium: {error}", file=sys.stderr)
        return 1
    if not present():
        print(f"chromium: {PACKAGE} installed, but {CHROMIUM} is still missing", file=sys.stderr)
        return 1
    print(f"chromium: installed at {CHROMIUM}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
