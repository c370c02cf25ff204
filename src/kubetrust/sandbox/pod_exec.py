"""Run a command on this machine as if inside one container of a pod.

``kubetrust sandbox exec`` must run the seed's in-pod commands unmodified (``cat
/var/run/secrets/eks.amazonaws.com/serviceaccount/token``, ``cp -r aws_config/ ~/.aws/`` from
``/``, ``aws sts get-caller-identity --profile ci-env``) without a container runtime. This
module does, for one container of an already admitted (IRSA-mutated) pod, what the kubelet and
the runtime would do:

* **Volumes.** Every volume the container mounts is materialized in a private 0700 temp
  directory: configMap, secret, downwardAPI and projected volumes (service-account tokens
  included) in the kubelet's atomic-writer layout (a ``..<timestamp>`` directory, a ``..data``
  symlink swapped by rename, and one ``name -> ..data/name`` symlink per top-level entry, so a
  reader never sees half a file), with Kubernetes' modes (``defaultMode`` 0644, per-item
  ``mode``); emptyDir as an empty 0777 directory; hostPath as the host path itself. ``items``
  (key to path), ``subPath`` and ``subPathExpr`` behave as in Kubernetes.
* **Environment.** ``envFrom`` then ``env`` (``value`` with ``$(VAR)`` expansion, ``valueFrom``
  configMapKeyRef, secretKeyRef, fieldRef), ``HOSTNAME``, a private ``HOME``, and only ``PATH``
  and the terminal/locale variables from the caller (never its AWS credentials); then the
  caller's ``extra_env`` (the sandbox endpoint, a CA bundle) on top.
* **Token refresh.** A background thread rewrites the volumes holding projected tokens while
  the command runs, once 80% of the token's TTL has passed (capped at 24 h), as the kubelet does.
* **Isolation**, i.e. how the pod's absolute paths work:

  ``namespace`` (preferred): ``unshare --mount --uts`` (as root) or ``unshare --user
  --map-root-user --mount --uts`` (otherwise) starts a small Python bootstrap in a private mount
  namespace. It bind-mounts each volume at its ``mountPath`` (read-only for API-data volumes, as
  Kubernetes does) and execs the command, so the host never sees the mounts. ``mkdir`` is not
  namespaced, so a missing mount point is never created on the host: its nearest existing
  ancestor is first *shadowed* by a tmpfs that re-binds every original entry (``/var/run`` ->
  ``/run`` gains ``secrets/`` this way), and a missing top-level directory (``/aws_config``)
  makes the bootstrap build a new root on a tmpfs (marked unbindable, holding recursive binds
  of every top-level entry of ``/``) and ``chroot`` into it. The working directory defaults to
  the container's ``workingDir`` or ``/`` (the seed's ubuntu image), and the hostname is the
  pod's. This is emulation, not a security boundary.

  ``mapping`` (fallback where namespaces are unavailable, or on request): the same files stay in
  the temp directory, under ``<tmp>/root/<mountPath>`` (symlinks to the volumes); every pod env
  value naming a path at or under a ``mountPath`` (each ``:``-separated element) is rewritten to
  that location, and the working directory ``/`` maps to ``<tmp>/root``, so
  ``$AWS_WEB_IDENTITY_TOKEN_FILE``, ``$AWS_CONFIG_FILE``, ``$KUBECONFIG`` and relative paths from
  ``/`` work. Absolute paths written in the command line or inside files (an AWS config's
  ``web_identity_token_file``) are *not* rewritten.

  ``auto`` probes ``unshare`` once per process and falls back to ``mapping`` if it fails or if
  the bootstrap cannot build the layout (the reason is returned).

Exit status, stdin/stdout/stderr pass through; SIGINT/SIGTERM/SIGHUP/SIGQUIT reach the command
(a terminal's Ctrl-C reaches it directly, so it is not sent twice); the temp directory is
removed afterwards. Tokens and secret values are never logged.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import json
import logging
import os
import posixpath
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any, Literal, Protocol

from kubetrust.errors import InputError, KubetrustError, shown

__all__ = [
    "ExecResult",
    "Isolation",
    "NamespaceSupport",
    "PodExecError",
    "VolumeSource",
    "expand",
    "map_value",
    "namespace_support",
    "resolve_env",
    "run_in_pod",
]

_log = logging.getLogger(__name__)

Isolation = Literal["auto", "namespace", "mapping"]
IsolationUsed = Literal["namespace", "mapping"]
Stream = int | IO[Any] | None

DEFAULT_FILE_MODE = 0o644
EMPTY_DIR_MODE = 0o777
DEFAULT_TOKEN_SECONDS = 3600
REFRESH_FRACTION = 0.8
REFRESH_CAP_SECONDS = 24 * 3600
SETUP_FAILED = 125
_PASSTHROUGH = ("PATH", "TERM", "LANG", "LC_ALL", "LC_CTYPE")
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
_TERMINAL_SIGNALS = (signal.SIGINT, signal.SIGQUIT)
_ATOMIC_KINDS = ("configMap", "secret", "downwardAPI", "projected")
_SUPPORTED_KINDS = (*_ATOMIC_KINDS, "emptyDir", "hostPath")
_LABEL_REF = re.compile(r"metadata\.(labels|annotations)\['([^']*)'\]")
_VAR_REF = re.compile(r"\$(\$|\(([^)]*)\))")


class VolumeSource(Protocol):
    """What the caller (the sandbox's API server) supplies for one pod, in the pod's namespace
    and as the pod's service account; ``None`` means "does not exist"."""

    def service_account_token(self, audience: str | None, expiration_seconds: int) -> str:
        """A TokenRequest for the pod's service account; ``audience`` ``None`` asks for the API
        server's default audience (the ``kube-api-access`` volume does)."""
        ...

    def config_map(self, name: str) -> Mapping[str, str] | None:
        """The ConfigMap's ``data``, or ``None`` if there is no such ConfigMap."""
        ...

    def secret(self, name: str) -> Mapping[str, bytes] | None:
        """The Secret's decoded ``data``, or ``None`` if there is no such Secret."""
        ...


@dataclass(frozen=True)
class ExecResult:
    """How the command ended: ``returncode`` is shell-style (128+N when killed by signal N),
    ``isolation_used`` says how the pod's paths were provided, ``fallback_reason`` why ``auto``
    could not use a namespace, ``timed_out`` whether ``timeout`` killed the command."""

    returncode: int
    isolation_used: IsolationUsed
    fallback_reason: str | None = None
    timed_out: bool = False


@dataclass(frozen=True)
class NamespaceSupport:
    """Whether private mount namespaces work here, the ``unshare`` prefix, or why not."""

    available: bool
    argv: tuple[str, ...]
    reason: str


class PodExecError(KubetrustError):
    """The command could not be started the way the caller required (``isolation="namespace"``
    where namespaces are unavailable or the pod's layout cannot be built)."""


# ---------------------------------------------------------------------------------------------
# Public entry point


def run_in_pod(
    pod: Mapping[str, Any],
    command: Sequence[str],
    source: VolumeSource,
    *,
    container: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    isolation: Isolation = "auto",
    cwd: str | None = None,
    stdin: Stream = None,
    stdout: Stream = None,
    stderr: Stream = None,
    refresh_interval: float | None = None,
    timeout: float | None = None,
) -> ExecResult:
    """Run ``command`` as if ``kubectl exec``-ed into ``container`` (default: the first) of
    ``pod`` (the Pod object as the API server returns it).

    ``cwd`` is a path in the pod (default: the container's ``workingDir``, else ``/``).
    ``refresh_interval`` overrides the token refresh period in seconds (tests); ``timeout`` kills
    the command after that many seconds. Streams are file descriptors or file objects (``None``
    inherits; ``subprocess.PIPE`` is not supported). Raises :class:`InputError` for a pod that
    cannot be materialized (a missing ConfigMap, Secret or key) and :class:`PodExecError` when
    ``isolation="namespace"`` cannot be honoured.
    """
    argv = _argv(command)
    if isolation not in ("auto", "namespace", "mapping"):
        raise InputError(
            f"isolation must be `auto`, `namespace` or `mapping`, not {shown(isolation)}"
        )
    streams = (stdin, stdout, stderr)
    with _workspace() as base:
        plan = _prepare(pod, container, source, base, cwd)
        with _TokenRefresher(plan.volumes, source, refresh_interval):
            return _execute(plan, argv, isolation, dict(extra_env or {}), streams, timeout)


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


# ---------------------------------------------------------------------------------------------
# Plan: what the pod's container sees


@dataclass(frozen=True)
class _File:
    data: bytes
    mode: int


Payload = dict[str, _File]


@dataclass(frozen=True)
class _Mount:
    target: str
    source: str
    is_dir: bool
    read_only: bool


@dataclass
class _AtomicVolume:
    """A volume the kubelet writes with its atomic writer; rewritten when its tokens age."""

    name: str
    path: Path
    spec: dict[str, Any]
    pod: Mapping[str, Any]
    where: str
    token_ttls: tuple[int, ...]

    def write(self, source: VolumeSource) -> None:
        _write_atomically(
            self.path, _payload(self.spec, self.pod, _CachedSource(source), self.where)
        )


@dataclass
class _Plan:
    base: Path
    env: dict[str, str]
    mounts: list[_Mount]
    volumes: list[_AtomicVolume]
    cwd: str
    hostname: str
    home: Path


def _argv(command: Sequence[str]) -> list[str]:
    if isinstance(command, str) or not command or not all(isinstance(a, str) for a in command):
        raise InputError(f"the command must be a non-empty list of strings, not {shown(command)}")
    return list(command)


@contextlib.contextmanager
def _workspace() -> Iterator[Path]:
    """A 0700 temp directory for volumes, HOME and the bootstrap's spec; always removed."""
    base = Path(tempfile.mkdtemp(prefix="kubetrust-pod-"))
    try:
        yield base
    finally:
        _remove_tree(base)


def _remove_tree(path: Path) -> None:
    def retry_writable(func: Callable[..., Any], name: str, _exc: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(name), 0o700)
            func(name)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry_writable)
    else:
        shutil.rmtree(path, onerror=retry_writable)


def _prepare(
    pod: Mapping[str, Any],
    container_name: str | None,
    source: VolumeSource,
    base: Path,
    cwd: str | None,
) -> _Plan:
    """Resolve the env and materialize the mounted volumes; all InputErrors come from here."""
    if not isinstance(pod, Mapping):
        raise InputError(f"the pod must be an object, not {shown(pod)}")
    container = _container(pod, container_name)
    where = f"pod `{_pod_label(pod)}`, container `{container.get('name', '')}`"
    cached = _CachedSource(source)
    env = resolve_env(pod, container, cached, where)
    mounts, volumes = _materialize(pod, container, cached, base, env, where)
    workdir = cwd if cwd is not None else str(container.get("workingDir") or "/")
    if not workdir.startswith("/"):
        raise InputError(f"{where}: the working directory must be absolute, not {shown(workdir)}")
    home = base / "home"
    home.mkdir(mode=0o700)
    spec = _obj(pod.get("spec"), "spec")
    hostname = str(spec.get("hostname") or _obj(pod.get("metadata"), "metadata").get("name") or "")
    return _Plan(base, env, mounts, volumes, posixpath.normpath(workdir), hostname[:63], home)


def _container(pod: Mapping[str, Any], name: str | None) -> dict[str, Any]:
    containers = _items(_obj(pod.get("spec"), "spec").get("containers"), "spec.containers")
    if not containers:
        raise InputError(f"pod `{_pod_label(pod)}` has no containers")
    if name is None:
        return containers[0]
    for candidate in containers:
        if candidate.get("name") == name:
            return candidate
    names = ", ".join(f"`{c.get('name')}`" for c in containers)
    raise InputError(f"container `{name}` is not valid for pod `{_pod_label(pod)}` (has {names})")


def _pod_label(pod: Mapping[str, Any]) -> str:
    meta = pod.get("metadata")
    if not isinstance(meta, dict):
        meta = {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _obj(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"{where} must be an object, not {shown(value)}")
    return value


def _items(value: object, where: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{where} must be a list, not {shown(value)}")
    return [_obj(item, f"{where}[{index}]") for index, item in enumerate(value)]


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"{where} must be a non-empty string, not {shown(value)}")
    return value


class _CachedSource:
    """Ask the caller for each ConfigMap and Secret once per pass (env and volumes share them);
    tokens are never cached, every projected volume gets its own."""

    def __init__(self, source: VolumeSource) -> None:
        self._source = source
        self._config_maps: dict[str, Mapping[str, str] | None] = {}
        self._secrets: dict[str, Mapping[str, bytes] | None] = {}

    def service_account_token(self, audience: str | None, expiration_seconds: int) -> str:
        return self._source.service_account_token(audience, expiration_seconds)

    def config_map(self, name: str) -> Mapping[str, str] | None:
        if name not in self._config_maps:
            self._config_maps[name] = self._source.config_map(name)
        return self._config_maps[name]

    def secret(self, name: str) -> Mapping[str, bytes] | None:
        if name not in self._secrets:
            self._secrets[name] = self._source.secret(name)
        return self._secrets[name]


# ---------------------------------------------------------------------------------------------
# Environment


def resolve_env(
    pod: Mapping[str, Any], container: Mapping[str, Any], source: VolumeSource, where: str = "pod"
) -> dict[str, str]:
    """The container's environment as the kubelet builds it: ``envFrom`` in order, then ``env``
    in order (later wins; ``value`` expands ``$(VAR)`` against what is defined so far)."""
    env: dict[str, str] = {}
    for index, entry in enumerate(_items(container.get("envFrom"), "envFrom")):
        env.update(_env_from(entry, source, f"{where}, envFrom[{index}]"))
    for index, entry in enumerate(_items(container.get("env"), "env")):
        name = _text(entry.get("name"), f"{where}, env[{index}].name")
        value = _env_value(entry, env, pod, source, f"{where}, env `{name}`")
        if value is not None:
            env[name] = value
    for name, value in env.items():
        if "=" in name or "\0" in name or "\0" in value:
            raise InputError(f"{where}: env `{name}` cannot be passed to a process")
    return env


def _env_from(entry: dict[str, Any], source: VolumeSource, where: str) -> dict[str, str]:
    prefix = str(entry.get("prefix") or "")
    if "configMapRef" in entry:
        ref = _obj(entry["configMapRef"], f"{where}.configMapRef")
        data: Mapping[str, str | bytes] | None = source.config_map(_text(ref.get("name"), where))
        kind = "configmap"
    elif "secretRef" in entry:
        ref = _obj(entry["secretRef"], f"{where}.secretRef")
        data = source.secret(_text(ref.get("name"), where))
        kind = "secret"
    else:
        raise InputError(f"{where}: needs `configMapRef` or `secretRef`")
    if data is None:
        if ref.get("optional"):
            return {}
        raise InputError(f"{where}: {kind} `{ref['name']}` not found")
    # Kubernetes skips keys that are not valid variable names (and reports an event).
    return {prefix + key: _as_text(value) for key, value in data.items() if key and "=" not in key}


def _env_value(
    entry: dict[str, Any],
    defined: Mapping[str, str],
    pod: Mapping[str, Any],
    source: VolumeSource,
    where: str,
) -> str | None:
    if "valueFrom" not in entry:
        return expand(str(entry.get("value") or ""), defined)
    ref = _obj(entry["valueFrom"], f"{where}.valueFrom")
    if "configMapKeyRef" in ref:
        return _key_ref(_obj(ref["configMapKeyRef"], where), "configmap", source.config_map, where)
    if "secretKeyRef" in ref:
        return _key_ref(_obj(ref["secretKeyRef"], where), "secret", source.secret, where)
    if "fieldRef" in ref:
        field_path = _text(_obj(ref["fieldRef"], where).get("fieldPath"), f"{where}.fieldPath")
        return _field_value(pod, field_path, where)
    raise InputError(f"{where}: only configMapKeyRef, secretKeyRef and fieldRef are supported")


def _key_ref(
    ref: dict[str, Any],
    kind: str,
    fetch: Callable[[str], Mapping[str, Any] | None],
    where: str,
) -> str | None:
    name = _text(ref.get("name"), f"{where}: {kind} name")
    key = _text(ref.get("key"), f"{where}: {kind} key")
    data = fetch(name)
    if data is None or key not in data:
        if ref.get("optional"):
            return None
        if data is None:
            raise InputError(f"{where}: {kind} `{name}` not found")
        raise InputError(f"{where}: key `{key}` not found in {kind} `{name}`")
    return _as_text(data[key])


def _as_text(value: str | bytes) -> str:
    """Secret bytes keep their exact value through the environment (surrogateescape)."""
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value)


def expand(value: str, defined: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: known names are replaced, unknown ones stay literally,
    ``$$`` is an escaped ``$``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1) == "$":
            return "$"
        name = match.group(2)
        return defined.get(name, match.group(0))

    return _VAR_REF.sub(replace, value)


def _field_value(pod: Mapping[str, Any], path: str, where: str, *, whole_maps: bool = False) -> str:
    """The downward API: the pod fields an env var or a downwardAPI file may name."""
    meta = _obj(pod.get("metadata"), "metadata")
    spec = _obj(pod.get("spec"), "spec")
    status = _obj(pod.get("status"), "status")
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.hostIP": status.get("hostIP"),
        "status.podIP": status.get("podIP"),
    }
    if path in simple:
        return str(simple[path] or "")
    if path in ("status.podIPs", "status.hostIPs"):
        ips = _items(status.get(path.split(".")[1]), path)
        return ",".join(str(ip.get("ip", "")) for ip in ips)
    labelled = _LABEL_REF.fullmatch(path)
    if labelled:
        return str(_obj(meta.get(labelled.group(1)), path).get(labelled.group(2), ""))
    if whole_maps and path in ("metadata.labels", "metadata.annotations"):
        values = _obj(meta.get(path.split(".")[1]), path)
        return "\n".join(
            f"{k}={json.dumps(str(values[k]), ensure_ascii=False)}" for k in sorted(values)
        )
    raise InputError(f"{where}: fieldPath {shown(path)} is not supported")


# ---------------------------------------------------------------------------------------------
# Volumes


def _materialize(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    source: VolumeSource,
    base: Path,
    env: Mapping[str, str],
    where: str,
) -> tuple[list[_Mount], list[_AtomicVolume]]:
    """Write each volume the container mounts (once) and plan its mounts, parents first."""
    volumes = {
        str(v.get("name")): v
        for v in _items(_obj(pod.get("spec"), "spec").get("volumes"), "spec.volumes")
    }
    (base / "volumes").mkdir(mode=0o700)
    written: dict[str, tuple[Path, bool]] = {}
    atomic: list[_AtomicVolume] = []
    mounts: list[_Mount] = []
    for index, mount in enumerate(_items(container.get("volumeMounts"), "volumeMounts")):
        name = _text(mount.get("name"), f"{where}, volumeMounts[{index}].name")
        mount_where = f"{where}, volume `{name}`"
        if name not in volumes:
            raise InputError(f"{mount_where}: the pod has no such volume")
        if name not in written:
            path, owned, refreshable = _write_volume(
                volumes[name], pod, source, base, len(written), mount_where
            )
            written[name] = (path, owned)
            if refreshable is not None:
                atomic.append(refreshable)
        mounts.append(_plan_mount(mount, volumes[name], written[name], env, mount_where))
    targets = [m.target for m in mounts]
    duplicate = next((t for t in targets if targets.count(t) > 1), None)
    if duplicate is not None:
        raise InputError(f"{where}: mountPath `{duplicate}` is used twice")
    return sorted(mounts, key=lambda m: _depth(m.target)), atomic


def _depth(path: str) -> int:
    return len([part for part in path.split("/") if part])


def _write_volume(
    spec: dict[str, Any],
    pod: Mapping[str, Any],
    source: VolumeSource,
    base: Path,
    index: int,
    where: str,
) -> tuple[Path, bool, _AtomicVolume | None]:
    """Materialize one volume: (its directory, whether we own it, its refresher entry)."""
    kinds = [kind for kind in _SUPPORTED_KINDS if kind in spec]
    if not kinds:
        others = [key for key in spec if key != "name"]
        raise InputError(
            f"{where}: volume type {shown(others[0] if others else '?')} is not supported"
        )
    kind = kinds[0]
    if kind == "hostPath":
        host = _text(_obj(spec["hostPath"], where).get("path"), f"{where}: hostPath.path")
        if not os.path.exists(host):
            raise InputError(f"{where}: hostPath `{host}` does not exist on this machine")
        return Path(host), False, None
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", str(spec.get("name")))
    path = base / "volumes" / f"{index:02d}-{safe}"
    path.mkdir()
    if kind == "emptyDir":
        os.chmod(path, EMPTY_DIR_MODE)
        return path, True, None
    os.chmod(path, 0o755)
    volume = _AtomicVolume(str(spec.get("name")), path, spec, pod, where, _token_ttls(spec))
    _write_atomically(path, _payload(spec, pod, source, where))
    return path, True, volume


def _plan_mount(
    mount: dict[str, Any],
    volume: dict[str, Any],
    written: tuple[Path, bool],
    env: Mapping[str, str],
    where: str,
) -> _Mount:
    target = _text(mount.get("mountPath"), f"{where}: mountPath")
    if not target.startswith("/") or ".." in target.split("/"):
        raise InputError(
            f"{where}: mountPath must be an absolute path without `..`, not {shown(target)}"
        )
    path, owned = written
    host = str(path)
    sub = mount.get("subPath") or (
        expand(str(mount["subPathExpr"]), env) if mount.get("subPathExpr") else ""
    )
    if sub:
        host = _sub_path(path, str(sub), owned, where)
    read_only = bool(mount.get("readOnly")) or any(kind in volume for kind in _ATOMIC_KINDS)
    return _Mount(posixpath.normpath(target), host, os.path.isdir(host), read_only)


def _sub_path(volume: Path, sub: str, owned: bool, where: str) -> str:
    """A subPath inside the volume, resolved like the kubelet (symlinks followed, never out of
    the volume, created as a directory if missing — only in volumes we own)."""
    rel = _relative(sub, f"{where}: subPath")
    root = os.path.realpath(volume)
    real = os.path.realpath(os.path.join(root, rel))
    if real != root and not real.startswith(root + os.sep):
        raise InputError(f"{where}: subPath {shown(sub)} leaves the volume")
    if not os.path.lexists(real):
        if not owned:
            raise InputError(f"{where}: subPath {shown(sub)} does not exist in the host path")
        os.makedirs(real, mode=0o755)
    return real


def _relative(path: str, where: str) -> str:
    parts = path.split("/")
    if not path or path.startswith("/") or ".." in parts:
        raise InputError(f"{where} must be a relative path without `..`, not {shown(path)}")
    return posixpath.normpath(path)


def _mode(value: object, default: int, where: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0o777:
        raise InputError(f"{where}: mode must be an integer between 0 and 0777, not {shown(value)}")
    return value


def _token_ttls(spec: dict[str, Any]) -> tuple[int, ...]:
    sources = _items(_obj(spec.get("projected"), "projected").get("sources"), "projected.sources")
    return tuple(
        int(
            _obj(s["serviceAccountToken"], "token").get("expirationSeconds")
            or DEFAULT_TOKEN_SECONDS
        )
        for s in sources
        if "serviceAccountToken" in s
    )


def _payload(
    spec: dict[str, Any], pod: Mapping[str, Any], source: VolumeSource, where: str
) -> Payload:
    """The files of an API-data volume: relative path -> content and mode."""
    for kind in ("configMap", "secret", "downwardAPI"):
        if kind in spec:
            body = _obj(spec[kind], f"{where}.{kind}")
            default = _mode(body.get("defaultMode"), DEFAULT_FILE_MODE, where)
            return _source_payload(kind, body, default, pod, source, where)
    body = _obj(spec.get("projected"), f"{where}.projected")
    default = _mode(body.get("defaultMode"), DEFAULT_FILE_MODE, where)
    payload: Payload = {}
    for index, item in enumerate(_items(body.get("sources"), f"{where}.projected.sources")):
        kinds = [
            k for k in item if k in ("configMap", "secret", "downwardAPI", "serviceAccountToken")
        ]
        if not kinds:
            raise InputError(f"{where}: projected source {shown(sorted(item))} is not supported")
        part = _obj(item[kinds[0]], f"{where}.sources[{index}].{kinds[0]}")
        payload.update(_source_payload(kinds[0], part, default, pod, source, where))
    return payload


def _source_payload(
    kind: str,
    body: dict[str, Any],
    default: int,
    pod: Mapping[str, Any],
    source: VolumeSource,
    where: str,
) -> Payload:
    if kind == "serviceAccountToken":
        path = _relative(_text(body.get("path"), f"{where}: token path"), f"{where}: token path")
        audience = body.get("audience") or None
        seconds = int(body.get("expirationSeconds") or DEFAULT_TOKEN_SECONDS)
        return {path: _File(source.service_account_token(audience, seconds).encode(), default)}
    if kind == "downwardAPI":
        return _downward_payload(body, default, pod, where)
    if kind == "configMap":
        name = _text(body.get("name"), f"{where}: configMap name")
        data: Mapping[str, str | bytes] | None = source.config_map(name)
        label = "configmap"
    else:
        name = _text(body.get("secretName") or body.get("name"), f"{where}: secret name")
        data = source.secret(name)
        label = "secret"
    return _keyed_payload(data, body, default, f"{label} `{name}`", where)


def _keyed_payload(
    data: Mapping[str, str | bytes] | None,
    body: dict[str, Any],
    default: int,
    label: str,
    where: str,
) -> Payload:
    """A ConfigMap's or Secret's keys as files: all keys, or ``items`` (key -> path, mode)."""
    optional = bool(body.get("optional"))
    if data is None:
        if optional:
            return {}
        raise InputError(f"{where}: {label} not found")
    items = _items(body.get("items"), f"{where}.items")
    if not items:
        return {key: _File(_as_bytes(value), default) for key, value in data.items()}
    payload: Payload = {}
    for item in items:
        key = _text(item.get("key"), f"{where}: item key")
        if key not in data:
            if optional:
                continue
            raise InputError(f"{where}: {label} has no key `{key}`")
        path = _relative(_text(item.get("path"), f"{where}: item path"), f"{where}: item path")
        payload[path] = _File(_as_bytes(data[key]), _mode(item.get("mode"), default, where))
    return payload


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _downward_payload(
    body: dict[str, Any], default: int, pod: Mapping[str, Any], where: str
) -> Payload:
    payload: Payload = {}
    for item in _items(body.get("items"), f"{where}.downwardAPI.items"):
        path = _relative(_text(item.get("path"), f"{where}: item path"), f"{where}: item path")
        if "fieldRef" not in item:
            raise InputError(f"{where}: downwardAPI item `{path}`: only fieldRef is supported")
        field_path = _text(_obj(item["fieldRef"], where).get("fieldPath"), f"{where}: fieldPath")
        value = _field_value(pod, field_path, where, whole_maps=True)
        payload[path] = _File(value.encode(), _mode(item.get("mode"), default, where))
    return payload


def _write_atomically(volume: Path, payload: Payload) -> None:
    """The kubelet's atomic writer: files go into a fresh ``..<timestamp>`` directory, then the
    ``..data`` symlink is replaced by rename, so readers of ``name -> ..data/name`` see the old
    or the new file, never a partial one; the old directory and stale names go afterwards."""
    data_link = volume / "..data"
    old = os.readlink(data_link) if data_link.is_symlink() else None
    old_names = set(os.listdir(volume / old)) if old and (volume / old).is_dir() else set()
    fresh = Path(tempfile.mkdtemp(prefix=time.strftime("..%Y_%m_%d_%H_%M_%S."), dir=volume))
    os.chmod(fresh, 0o755)
    for rel, file in sorted(payload.items()):
        _write_file(fresh, rel, file)
    staging = volume / "..data_tmp"
    with contextlib.suppress(FileNotFoundError):
        staging.unlink()
    os.symlink(fresh.name, staging)
    os.replace(staging, data_link)
    names = {rel.split("/")[0] for rel in payload}
    for name in sorted(names):
        if not (volume / name).is_symlink():
            os.symlink(f"..data/{name}", volume / name)
    for name in old_names - names:
        with contextlib.suppress(FileNotFoundError):
            (volume / name).unlink()
    if old:
        shutil.rmtree(volume / old, ignore_errors=True)


def _write_file(root: Path, rel: str, file: _File) -> None:
    dest = root / rel
    for parent in reversed(dest.relative_to(root).parents[:-1]):
        directory = root / parent
        if not directory.is_dir():
            directory.mkdir()
            os.chmod(directory, 0o755)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(file.data)
        os.fchmod(handle.fileno(), file.mode)


class _TokenRefresher:
    """Rewrites token-bearing volumes while the command runs, as the kubelet does once a token
    is older than 80% of its TTL (at most daily); failures keep the old token and are logged
    without content."""

    def __init__(
        self, volumes: Sequence[_AtomicVolume], source: VolumeSource, interval: float | None
    ) -> None:
        self._periods = [
            (volume, interval if interval is not None else _refresh_period(volume.token_ttls))
            for volume in volumes
            if volume.token_ttls
        ]
        self._source = source
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="kubetrust-token-refresh", daemon=True
        )

    def __enter__(self) -> _TokenRefresher:
        if self._periods:
            self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        due = [time.monotonic() + period for _, period in self._periods]
        while not self._stop.wait(max(0.0, min(due) - time.monotonic())):
            now = time.monotonic()
            for index, (volume, period) in enumerate(self._periods):
                if due[index] <= now:
                    self._refresh(volume)
                    due[index] = time.monotonic() + period

    def _refresh(self, volume: _AtomicVolume) -> None:
        try:
            volume.write(self._source)
        except KubetrustError as exc:
            _log.warning("refreshing volume %s failed: %s", volume.name, exc)
        except Exception as exc:
            _log.warning("refreshing volume %s failed: %s", volume.name, type(exc).__name__)
        else:
            _log.debug("refreshed volume %s", volume.name)


def _refresh_period(ttls: Sequence[int]) -> float:
    return min(REFRESH_FRACTION * min(ttls), REFRESH_CAP_SECONDS)


# ---------------------------------------------------------------------------------------------
# Running the command


def _execute(
    plan: _Plan,
    argv: list[str],
    isolation: Isolation,
    extra_env: dict[str, str],
    streams: tuple[Stream, Stream, Stream],
    timeout: float | None,
) -> ExecResult:
    reason: str | None = None
    if isolation != "mapping":
        support = namespace_support()
        if support.available:
            outcome = _run_namespace(plan, support.argv, argv, extra_env, streams, timeout)
            if isinstance(outcome, tuple):
                _log.debug("ran in a private mount namespace")
                return ExecResult(outcome[0], "namespace", None, outcome[1])
            reason = outcome
        else:
            reason = support.reason
        if isolation == "namespace":
            raise PodExecError(f"cannot run in a private mount namespace: {reason}")
        _log.info("no private mount namespace (%s); using the path mapping", reason)
    code, timed_out = _run_mapping(plan, argv, extra_env, streams, timeout)
    return ExecResult(code, "mapping", reason, timed_out)


def _command_env(
    pod_env: Mapping[str, str], plan: _Plan, extra_env: Mapping[str, str]
) -> dict[str, str]:
    """Only PATH and the terminal/locale settings come from the caller: its AWS variables
    must not leak into the pod. The pod's own env may set HOME; extra_env has the last word."""
    env = {name: os.environ[name] for name in _PASSTHROUGH if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env["HOME"] = str(plan.home)
    env["HOSTNAME"] = plan.hostname
    env.update(pod_env)
    env.update(extra_env)
    return env


def _run_mapping(
    plan: _Plan,
    argv: list[str],
    extra_env: Mapping[str, str],
    streams: tuple[Stream, Stream, Stream],
    timeout: float | None,
) -> tuple[int, bool]:
    root = plan.base / "root"
    root.mkdir(mode=0o755)
    targets = [m.target for m in plan.mounts]
    for mount in plan.mounts:
        _link_mount(root, plan.base, mount)
    workdir = _mapped_dir(root, plan.base, plan.cwd)
    env = _command_env(
        {k: map_value(v, targets, str(root)) for k, v in plan.env.items()}, plan, extra_env
    )
    with _SignalForwarder() as forwarder:
        try:
            proc = subprocess.Popen(
                argv, env=env, cwd=workdir, stdin=streams[0], stdout=streams[1], stderr=streams[2]
            )
        except OSError as exc:
            _complain(streams[2], f"kubetrust: exec `{argv[0]}`: {exc.strerror}")
            return (127 if exc.errno == errno.ENOENT else 126), False
        forwarder.attach(proc.pid)
        return _wait(proc, timeout)


def map_value(value: str, targets: Sequence[str], root: str) -> str:
    """In mapping mode, each ``:``-separated element of an env value that names a path at or
    under a mountPath is moved under ``root``; everything else is left alone."""

    def mapped(element: str) -> str:
        if element.startswith("/") and any(_under(element, t) for t in targets):
            return root + element
        return element

    return ":".join(mapped(element) for element in value.split(":"))


def _under(path: str, target: str) -> bool:
    normal = posixpath.normpath(path)
    return normal == target or normal.startswith(target.rstrip("/") + "/")


def _link_mount(root: Path, base: Path, mount: _Mount) -> None:
    """Mapping mode: the mountPath under ``root`` becomes a symlink to the volume."""
    link = root / mount.target.lstrip("/")
    _mapped_dir(root, base, str(Path(mount.target).parent))
    # An empty placeholder may be left by a namespace attempt (_precreate_nested).
    if link.is_dir() and not link.is_symlink() and not any(link.iterdir()):
        link.rmdir()
    elif link.is_file() and not link.is_symlink() and link.stat().st_size == 0:
        link.unlink()
    if os.path.lexists(link):
        raise PodExecError(f"mapping mode cannot place mount `{mount.target}`: the path exists")
    os.symlink(mount.source, link)


def _mapped_dir(root: Path, base: Path, pod_path: str) -> str:
    """A pod directory under ``root``, created only inside our workspace (a nested mount inside
    a hostPath volume would otherwise create directories on the host)."""
    path = root / pod_path.lstrip("/")
    real = os.path.realpath(path)
    base_real = os.path.realpath(base)
    if not real.startswith(base_real + os.sep):
        raise PodExecError(f"mapping mode cannot create `{pod_path}` outside its temp directory")
    os.makedirs(real, mode=0o755, exist_ok=True)
    return str(path)


def _run_namespace(
    plan: _Plan,
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
    _precreate_nested(plan)
    home = _Mount(str(plan.home), str(plan.home), True, False)
    spec = {
        "newroot": str(plan.base / "newroot"),
        "mounts": [m.__dict__ for m in [*plan.mounts, home]],
        "cwd": plan.cwd,
        "hostname": plan.hostname,
        "argv": argv,
        "env": _command_env(plan.env, plan, extra_env),
    }
    (plan.base / "newroot").mkdir(mode=0o755)
    spec_path = plan.base / "bootstrap.json"
    fd = os.open(spec_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(spec, handle)
    src_root = str(Path(__file__).resolve().parents[2])
    code = (
        f"import sys; sys.path.append({src_root!r}); "
        "from kubetrust.sandbox.pod_exec import _bootstrap_main; _bootstrap_main()"
    )
    read_end, write_end = os.pipe()
    with _SignalForwarder() as forwarder:
        try:
            proc = subprocess.Popen(
                [*unshare, sys.executable, "-I", "-S", "-c", code, str(spec_path), str(write_end)],
                env={"PATH": os.environ.get("PATH", os.defpath)},
                pass_fds=(write_end,),
                stdin=streams[0],
                stdout=streams[1],
                stderr=streams[2],
            )
        finally:
            os.close(write_end)
        forwarder.attach(proc.pid)
        report = _read_all(read_end)
        if report != b"B":
            proc.wait()
            if report.startswith(b"BE"):
                return report[2:].decode(errors="replace")
            return f"the namespace bootstrap did not start (exit status {proc.returncode})"
        return _wait(proc, timeout)


def _precreate_nested(plan: _Plan) -> None:
    """Create mount points for nested mounts inside the parent volume's own directory (as the
    container runtime does), so the bootstrap need not shadow our volumes with a tmpfs."""
    for mount in plan.mounts:
        parents = [p for p in plan.mounts if p is not mount and _under(mount.target, p.target)]
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


def _read_all(fd: int) -> bytes:
    chunks = []
    try:
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks)


def _wait(proc: subprocess.Popen[bytes], timeout: float | None) -> tuple[int, bool]:
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return _shell_status(proc.wait()), True
    return _shell_status(code), False


def _shell_status(code: int) -> int:
    return 128 - code if code < 0 else code


def _complain(stream: Stream, message: str) -> None:
    """Write a one-line error where the command's stderr would go."""
    target = sys.stderr if stream is None else stream
    try:
        fd = target if isinstance(target, int) else target.fileno()
        os.write(fd, (message + "\n").encode())
    except (OSError, ValueError, AttributeError):
        _log.warning("%s", message)


class _SignalForwarder:
    """Pass SIGINT/SIGTERM/SIGHUP/SIGQUIT on to the command while we wait, as a shell does for
    its foreground job. When our process group owns the terminal, SIGINT and SIGQUIT came from
    the keyboard and already reached the command (same group), so they are not sent twice.
    Handlers can only be installed from the main thread; elsewhere nothing is forwarded."""

    def __init__(self) -> None:
        self._pid: int | None = None
        self._pending: list[int] = []
        self._saved: dict[int, Any] = {}
        self._keyboard = _owns_terminal()

    def __enter__(self) -> _SignalForwarder:
        if threading.current_thread() is threading.main_thread():
            for sig in _FORWARDED:
                self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *_exc: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)

    def attach(self, pid: int) -> None:
        self._pid = pid
        for sig in self._pending:
            self._send(sig)
        self._pending.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if signum in _TERMINAL_SIGNALS and self._keyboard:
            return
        if self._pid is None:
            self._pending.append(signum)
        else:
            self._send(signum)

    def _send(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            assert self._pid is not None
            os.kill(self._pid, signum)


def _owns_terminal() -> bool:
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# The bootstrap: runs inside the new mount namespace, then becomes the command (exec)

_MS_RDONLY = 1
_MS_REMOUNT = 32
_MS_BIND = 4096
_MS_REC = 16384
_MS_UNBINDABLE = 1 << 17
_MS_PRIVATE = 1 << 18
_MS_RELATIME = 1 << 21
# Flags a read-only remount must keep: in a user namespace they are locked and dropping one
# fails with EPERM. Linux's statvfs bits (nosuid 2, nodev 4, noexec 8, noatime 1024,
# nodiratime 2048) equal the MS_ bits; relatime is 4096 there and 1 << 21 here. Literals, so
# that importing this module works on any platform (namespace mode is Linux-only anyway).
_KEPT_FLAGS = 2 | 4 | 8 | 1024 | 2048
_ST_RELATIME = 4096


def _bootstrap_main() -> None:
    """Entry point of ``python -c`` under ``unshare``: build the layout, then exec the command."""
    spec_path, status_fd = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a forwarded Ctrl-C ends us like the command
    os.write(status_fd, b"B")
    try:
        with open(spec_path, encoding="utf-8") as handle:
            spec = json.load(handle)
        os.unlink(spec_path)
        layout = _MountLayout(spec["newroot"])
        layout.build(spec["mounts"])
        os.chdir(layout.mount_point(spec["cwd"], is_dir=True))
        with contextlib.suppress(OSError):
            socket.sethostname(spec["hostname"] or "pod")
    except Exception as exc:
        os.write(status_fd, b"E" + str(exc).encode(errors="replace")[:4000])
        os._exit(SETUP_FAILED)
    _exec(spec["argv"], spec["env"], status_fd)


def _exec(argv: list[str], env: dict[str, str], status_fd: int) -> None:
    # Python ignores SIGPIPE and SIGXFSZ, and ignored signals survive exec.
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_DFL)
    os.set_inheritable(status_fd, False)
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as exc:
        os.write(2, f"kubetrust: exec `{argv[0]}`: {exc.strerror}\n".encode())
        os._exit(127 if exc.errno == errno.ENOENT else 126)


class _MountLayout:
    """The pod's mounts inside a private mount namespace, without ever writing to the host:
    directories are only created on tmpfs mounts of our own (``private_devs``)."""

    def __init__(self, newroot: str) -> None:
        self.newroot = newroot
        self.private_devs: set[int] = set()

    def build(self, mounts: list[dict[str, Any]]) -> None:
        _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
        # Open every source first: later mounts (or the chroot) may hide their host paths.
        fds = [os.open(m["source"], os.O_PATH | os.O_CLOEXEC) for m in mounts]
        try:
            for mount, fd in zip(mounts, fds, strict=True):
                target = self.mount_point(mount["target"], is_dir=mount["is_dir"])
                _bind(f"/proc/self/fd/{fd}", target, read_only=mount["read_only"])
        finally:
            for fd in fds:
                os.close(fd)

    def mount_point(self, path: str, *, is_dir: bool, depth: int = 0) -> str:
        """The real path of ``path``, creating what is missing on private tmpfs only."""
        if depth > 40:
            raise OSError(errno.ELOOP, f"too many symlinks resolving `{path}`")
        current = "/"
        parts = [part for part in path.split("/") if part]
        for index, name in enumerate(parts):
            last = index == len(parts) - 1
            candidate = os.path.join(current, name)
            if os.path.islink(candidate):
                resolved = os.path.realpath(candidate)
                if not os.path.lexists(resolved):
                    resolved = self.mount_point(
                        resolved, is_dir=is_dir or not last, depth=depth + 1
                    )
                current = resolved
                continue
            if not os.path.lexists(candidate):
                self._make_private(current)
                if last and not is_dir:
                    os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
                else:
                    os.mkdir(candidate, 0o755)
            current = candidate
        if os.path.isdir(current) != is_dir:
            kind = "directory" if is_dir else "file"
            raise OSError(errno.ENOTDIR, f"mount point `{path}` exists but is not a {kind}")
        return current

    def _make_private(self, directory: str) -> None:
        if os.stat(directory).st_dev in self.private_devs:
            return
        if directory == "/":
            self._enter_new_root()
        else:
            self._shadow(directory)

    def _shadow(self, directory: str) -> None:
        """Cover ``directory`` with a tmpfs that re-binds every original entry."""
        info = os.stat(directory)
        fd = os.open(directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            _mount("tmpfs", directory, "tmpfs", 0, f"mode={info.st_mode & 0o7777:o}")
            _replicate(f"/proc/self/fd/{fd}", directory)
        finally:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.chown(directory, info.st_uid, info.st_gid)
        self.private_devs.add(os.stat(directory).st_dev)

    def _enter_new_root(self) -> None:
        """A tmpfs root with every top-level entry of ``/`` re-bound, then chroot into it.
        It is unbindable, so binding ``/tmp`` (where it lives) does not copy it into itself."""
        fd = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            _mount("tmpfs", self.newroot, "tmpfs", 0, "mode=755")
            _mount(None, self.newroot, None, _MS_UNBINDABLE)
            _replicate(f"/proc/self/fd/{fd}", self.newroot)
        finally:
            os.close(fd)
        os.chdir(self.newroot)
        os.chroot(".")
        os.chdir("/")
        self.private_devs.add(os.stat("/").st_dev)


def _replicate(source: str, target: str) -> None:
    for name in os.listdir(source):
        origin = os.path.join(source, name)
        copy = os.path.join(target, name)
        mode = os.lstat(origin).st_mode
        if stat.S_ISLNK(mode):
            os.symlink(os.readlink(origin), copy)
            continue
        if stat.S_ISDIR(mode):
            os.mkdir(copy, 0o755)
        else:
            os.close(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
        _mount(origin, copy, None, _MS_BIND | _MS_REC)


def _bind(source: str, target: str, *, read_only: bool) -> None:
    _mount(source, target, None, _MS_BIND | _MS_REC)
    if read_only:
        flags = os.statvfs(target).f_flag
        kept = flags & _KEPT_FLAGS | (_MS_RELATIME if flags & _ST_RELATIME else 0)
        _mount(None, target, None, _MS_REMOUNT | _MS_BIND | _MS_RDONLY | kept)


@functools.cache
def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_char_p,
    ]
    libc.mount.restype = ctypes.c_int
    return libc


def _mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    def raw(text: str | None) -> bytes | None:
        return None if text is None else os.fsencode(text)

    if _libc().mount(raw(source), raw(target), raw(fstype), flags, raw(data)) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"mount {target}: {os.strerror(code)}")
