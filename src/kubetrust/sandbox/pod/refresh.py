"""Projected service-account tokens kept fresh while the command runs, as the kubelet does:
a long-running command (or one that sleeps past the TTL) keeps reading a valid token."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from kubetrust.errors import KubetrustError
from kubetrust.sandbox.pod.volume_source import VolumeSource
from kubetrust.sandbox.pod.volumes import AtomicVolume

_log = logging.getLogger(__name__)

REFRESH_FRACTION = 0.8
REFRESH_CAP_SECONDS = 24 * 3600


class TokenRefresher:
    """Rewrites token-bearing volumes while the command runs, as the kubelet does once a token
    is older than 80% of its TTL (at most daily); failures keep the old token and are logged
    without content."""

    def __init__(
        self, volumes: Sequence[AtomicVolume], source: VolumeSource, interval: float | None
    ) -> None:
        self._periods = [
            (volume, interval if interval is not None else refresh_period(volume.token_ttls))
            for volume in volumes
            if volume.token_ttls
        ]
        self._source = source
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="kubetrust-token-refresh", daemon=True
        )

    def __enter__(self) -> TokenRefresher:
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

    def _refresh(self, volume: AtomicVolume) -> None:
        try:
            volume.write(self._source)
        except KubetrustError as exc:
            _log.warning("refreshing volume %s failed: %s", volume.name, exc)
        except Exception as exc:
            _log.warning("refreshing volume %s failed: %s", volume.name, type(exc).__name__)
        else:
            _log.debug("refreshed volume %s", volume.name)


def refresh_period(ttls: Sequence[int]) -> float:
    """Seconds between rewrites: 80% of the shortest token TTL, capped at a day."""
    return min(REFRESH_FRACTION * min(ttls), REFRESH_CAP_SECONDS)
