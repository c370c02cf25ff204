"""Running ``make demo`` as the README tells a newcomer, and checking it left nothing
behind: shared by the end-to-end tests of both demos (IRSA and Pod Identity)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def make_demo(tmp_path: Path, *flags: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``make demo DEMO_FLAGS="<flags> --output json --state-dir <tmp>/state"`` with a
    private HOME (``<tmp>/home``) and only PATH and LANG from this environment; the run
    and its state dir."""
    state = tmp_path / "state"
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "HOME": str(home)}
    demo_flags = " ".join((*flags, "--output json", f"--state-dir {state}"))
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "-C", str(REPO), "demo", f"DEMO_FLAGS={demo_flags}"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    return done, state


def processes_naming(text: str) -> list[str]:
    """Command lines of running processes that mention ``text`` (our state directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found
