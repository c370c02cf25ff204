"""`make setup` puts kubectl v1.33 next to the virtualenv's python (tools/install_kubectl.py)."""

import json
import subprocess
import sys
from pathlib import Path


def test_kubectl_in_venv_reports_v1_33() -> None:
    kubectl = Path(sys.executable).parent / "kubectl"
    assert kubectl.is_file(), f"{kubectl} is missing: run `make setup`"
    done = subprocess.run(
        [str(kubectl), "version", "--client", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    client = json.loads(done.stdout)["clientVersion"]
    assert client["gitVersion"].startswith("v1.33."), client
