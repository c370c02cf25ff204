"""The ``namespace`` isolation: the pod's volumes at their absolute paths, in a private mount
namespace the host never sees.

``unshare --mount --uts`` (as root) or ``unshare --user --map-root-user --mount --uts``
(otherwise) starts :mod:`.bootstrap` under a fresh interpreter; it builds the layout and execs
the command. A status pipe tells us whether the layout could be built *before* the command ran,
so that ``auto`` can still fall back to the mapping safely.
"""

from __future__ import annotations

import functools
import json
import os
import posixpath
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import kubetrust
from kubetrust.sandbox.pod.api import NamespaceSupport, Stream
from kubetrust.sandbox.pod.plan import Plan
from kubetrust.sandbox.pod.process import command_env, read_all, wait_for
from kubetrust.sandbox.pod.signals import SignalForwarder
from kubetrust.sandbox.pod.volumes import Mount, path_is_under

# The bootstrap runs under ``python -I -S`` (no site-packages, no PYTHONPATH), so it is given
# the directory holding the ``kubetrust`` package and re-enters it by module path.
_BOOTSTRAP_IMPORT = "from kubetrust.sandbox.pod.bootstrap import bootstrap_main; bootstrap_main()"


@functools.cache
def namespace_support() -> NamespaceSupport:
    """Probe once per process whether ``unshare`` gives us a private mount namespace.

    As root a plain mount namespace suffices; otherwise (or if root lacks CAP_SYS_ADMIN, as in
    a default container) a user namespace mapping us to root is tried.
    """
    exe = shutil.which("unshare") or (
        "/usr/bin/unshare" if Path("/usr/bin/unshare").exists() else None
    )
    if exe is None:
        return NamespaceSupport(False, (), "`unshare` is not installed")
    plain = ["--mount", "--uts", "--propagation", "private"]
    candidates = [["--user", "--map-root-user", *plain]]
    if os.geteuid() == 0:
        candidates.insert(0, plain)
    reasons = []
    for flags in candidates:
        try:
            probe = subprocess.run(
                [exe, *flags, "true"], capture_output=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            reasons.append(f"`unshare {' '.join(flags)}`: {exc}")
            continue
        if probe.returncode == 0:
            return NamespaceSupport(True, (exe, *flags), "")
        detail = probe.stderr.decode(errors="replace").strip().splitlines()
        reasons.append(f"`unshare {' '.join(flags)}`: {detail[-1] if detail else probe.returncode}")
    return NamespaceSupport(False, (), "; ".join(reasons))


def run_namespace(
    plan: Plan,
    unshare: Sequence[str],
    argv: list[str],
    extra_env: Mapping[str, str],
    streams: tuple[Stream, Stream, Stream],
    timeout: float | None,
) -> tuple[int, bool] | str:
    """Start the bootstrap in a private mount namespace. Returns (status, timed out), or the
    reason the namespace could not be set up (before the command ran, so a fallback is safe).

    The bootstrap writes ``B`` on a status pipe when it starts, ``E<reason>`` if it cannot
    build the layout; the pipe closes on exec, so ``B`` then EOF means the command runs."""
    precreate_nested(plan)
    spec_path = _write_bootstrap_spec(plan, argv, extra_env)
    read_end, write_end = os.pipe()
    with SignalForwarder() as forwarder:
        try:
            proc = subprocess.Popen(
                [*unshare, *_bootstrap_argv(spec_path, write_end)],
                env={"PATH": os.environ.get("PATH", os.defpath)},
                pass_fds=(write_end,),
                stdin=streams[0],
                stdout=streams[1],
                stderr=streams[2],
            )
        finally:
            os.close(write_end)
        forwarder.attach(proc.pid)
        report = read_all(read_end)
        if report != b"B":
            proc.wait()
            if report.startswith(b"BE"):
                return report[2:].decode(errors="replace")
            return f"the namespace bootstrap did not start (exit status {proc.returncode})"
        return wait_for(proc, timeout)


def precreate_nested(plan: Plan) -> None:
    """Create mount points for nested mounts inside the parent volume's own directory (as the
    container runtime does), so the bootstrap need not shadow our volumes with a tmpfs."""
    for mount in plan.mounts:
        parents = [
            p for p in plan.mounts if p is not mount and path_is_under(mount.target, p.target)
        ]
        if not parents:
            continue
        parent = max(parents, key=lambda p: len(p.target))
        inside = os.path.realpath(parent.source)
        if not parent.is_dir or not inside.startswith(str(plan.base.resolve()) + os.sep):
            continue
        point = Path(inside) / posixpath.relpath(mount.target, parent.target)
        if not os.path.lexists(point):
            point.parent.mkdir(parents=True, exist_ok=True)
            if mount.is_dir:
                point.mkdir()
            else:
                point.touch()


def _write_bootstrap_spec(plan: Plan, argv: list[str], extra_env: Mapping[str, str]) -> Path:
    """The bootstrap's instructions (0600, in the workspace): mounts (the private HOME as one
    more, onto its own path), working directory, hostname, command and its environment."""
    home = Mount(str(plan.home), str(plan.home), True, False)
    spec = {
        "newroot": str(plan.base / "newroot"),
        "mounts": [m.__dict__ for m in [*plan.mounts, home]],
        "cwd": plan.cwd,
        "hostname": plan.hostname,
        "argv": argv,
        "env": command_env(plan.env, plan, extra_env),
    }
    (plan.base / "newroot").mkdir(mode=0o755)
    spec_path = plan.base / "bootstrap.json"
    fd = os.open(spec_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(spec, handle)
    return spec_path


def _bootstrap_argv(spec_path: Path, status_fd: int) -> list[str]:
    """``python -I -S -c ...`` re-entering :func:`.bootstrap.bootstrap_main`."""
    src_root = str(Path(kubetrust.__file__).resolve().parents[1])
    code = f"import sys; sys.path.append({src_root!r}); {_BOOTSTRAP_IMPORT}"
    return [sys.executable, "-I", "-S", "-c", code, str(spec_path), str(status_fd)]
