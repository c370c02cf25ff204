"""Where a pod's API data comes from: the caller's :class:`VolumeSource`, and the per-pass
cache that makes the environment and the volumes agree on one read of each object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


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


class CachedSource:
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
