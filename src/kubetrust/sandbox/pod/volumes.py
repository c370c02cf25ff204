"""The container's volumes, materialized in a private temp directory, and the mounts planned
on them (``mountPath``, ``subPath``, ``subPathExpr``, read-only), as the kubelet would.

configMap, secret, downwardAPI and projected volumes are written with the atomic writer (and
kept for the token refresher); emptyDir is an empty 0777 directory; hostPath is the host path
itself. Where the mounts then appear is up to the isolation mode.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubetrust.errors import InputError, shown
from kubetrust.sandbox.pod.atomic_writer import write_atomically
from kubetrust.sandbox.pod.env import expand
from kubetrust.sandbox.pod.payloads import DEFAULT_TOKEN_SECONDS, volume_payload
from kubetrust.sandbox.pod.pod_spec import relative_path, spec_object, spec_objects, spec_text
from kubetrust.sandbox.pod.volume_source import CachedSource, VolumeSource

EMPTY_DIR_MODE = 0o777
_ATOMIC_KINDS = ("configMap", "secret", "downwardAPI", "projected")
_SUPPORTED_KINDS = (*_ATOMIC_KINDS, "emptyDir", "hostPath")


@dataclass(frozen=True)
class Mount:
    """One ``volumeMount``: where in the pod (``target``) which host path (``source``) goes."""

    target: str
    source: str
    is_dir: bool
    read_only: bool


@dataclass
class AtomicVolume:
    """A volume the kubelet writes with its atomic writer; rewritten when its tokens age."""

    name: str
    path: Path
    spec: dict[str, Any]
    pod: Mapping[str, Any]
    where: str
    token_ttls: tuple[int, ...]

    def write(self, source: VolumeSource) -> None:
        write_atomically(
            self.path, volume_payload(self.spec, self.pod, CachedSource(source), self.where)
        )


def materialize(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    source: VolumeSource,
    base: Path,
    env: Mapping[str, str],
    where: str,
) -> tuple[list[Mount], list[AtomicVolume]]:
    """Write each volume the container mounts (once) and plan its mounts, parents first."""
    volumes = {
        str(v.get("name")): v
        for v in spec_objects(spec_object(pod.get("spec"), "spec").get("volumes"), "spec.volumes")
    }
    (base / "volumes").mkdir(mode=0o700)
    written: dict[str, tuple[Path, bool]] = {}
    atomic: list[AtomicVolume] = []
    mounts: list[Mount] = []
    for index, mount in enumerate(spec_objects(container.get("volumeMounts"), "volumeMounts")):
        name = spec_text(mount.get("name"), f"{where}, volumeMounts[{index}].name")
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


def path_is_under(path: str, target: str) -> bool:
    """Whether ``path`` is ``target`` or inside it (``/aws_configs`` is not under
    ``/aws_config``)."""
    normal = posixpath.normpath(path)
    return normal == target or normal.startswith(target.rstrip("/") + "/")


def _depth(path: str) -> int:
    return len([part for part in path.split("/") if part])


def _write_volume(
    spec: dict[str, Any],
    pod: Mapping[str, Any],
    source: VolumeSource,
    base: Path,
    index: int,
    where: str,
) -> tuple[Path, bool, AtomicVolume | None]:
    """Materialize one volume: (its directory, whether we own it, its refresher entry)."""
    kinds = [kind for kind in _SUPPORTED_KINDS if kind in spec]
    if not kinds:
        others = [key for key in spec if key != "name"]
        raise InputError(
            f"{where}: volume type {shown(others[0] if others else '?')} is not supported"
        )
    kind = kinds[0]
    if kind == "hostPath":
        host = spec_text(
            spec_object(spec["hostPath"], where).get("path"), f"{where}: hostPath.path"
        )
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
    volume = AtomicVolume(str(spec.get("name")), path, spec, pod, where, _token_ttls(spec))
    write_atomically(path, volume_payload(spec, pod, source, where))
    return path, True, volume


def _plan_mount(
    mount: dict[str, Any],
    volume: dict[str, Any],
    written: tuple[Path, bool],
    env: Mapping[str, str],
    where: str,
) -> Mount:
    target = spec_text(mount.get("mountPath"), f"{where}: mountPath")
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
    return Mount(posixpath.normpath(target), host, os.path.isdir(host), read_only)


def _sub_path(volume: Path, sub: str, owned: bool, where: str) -> str:
    """A subPath inside the volume, resolved like the kubelet (symlinks followed, never out of
    the volume, created as a directory if missing — only in volumes we own)."""
    rel = relative_path(sub, f"{where}: subPath")
    root = os.path.realpath(volume)
    real = os.path.realpath(os.path.join(root, rel))
    if real != root and not real.startswith(root + os.sep):
        raise InputError(f"{where}: subPath {shown(sub)} leaves the volume")
    if not os.path.lexists(real):
        if not owned:
            raise InputError(f"{where}: subPath {shown(sub)} does not exist in the host path")
        os.makedirs(real, mode=0o755)
    return real


def _token_ttls(spec: dict[str, Any]) -> tuple[int, ...]:
    """The lifetimes of the projected tokens in this volume: what the refresher paces by."""
    projected = spec_object(spec.get("projected"), "projected")
    sources = spec_objects(projected.get("sources"), "projected.sources")
    return tuple(
        int(
            spec_object(s["serviceAccountToken"], "token").get("expirationSeconds")
            or DEFAULT_TOKEN_SECONDS
        )
        for s in sources
        if "serviceAccountToken" in s
    )
