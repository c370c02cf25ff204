"""Throttling as AWS does it: a token bucket per account, service and API (reference H.3).

The gate asks :meth:`Throttler.check` right after it authenticated the caller and
identified the operation, before any policy is read: AWS throttles a request before it
decides it. The buckets' figures are the world's
(:meth:`~kubetrust.sandbox.world_realism.Realism.throttle_for`): one bucket per
``(account, "service:Operation")`` when that operation has figures of its own, else one per
``(account, service)`` shared by the service's operations. Without figures nothing is
throttled and nothing is kept.

Each service's answer is one botocore's standard (and legacy) retry mode classifies as
throttling, so a client with retries gets through and one without sees the code:

- IAM and STS: ``Throttling`` "Rate exceeded", 400, in the query protocol's XML (the code
  and status AWS's own answers carry; botocore ``retries/standard.py`` lists the code);
- EKS and EKS Auth: ``ThrottlingException``, 429 (both services' models give it 429);
- S3: ``SlowDown`` "Please reduce your request rate.", 503 (S3 API reference, error codes).

[uncertain] The message of EKS's and EKS Auth's ``ThrottlingException`` is not documented:
:data:`RATE_EXCEEDED` is used, as for IAM and STS.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kubetrust.sandbox.aws import wire
from kubetrust.sandbox.world_realism import Realism, Throttle

__all__ = ["RATE_EXCEEDED", "Throttler", "TokenBucket", "throttled"]

RATE_EXCEEDED = "Rate exceeded"


def throttled(service: str) -> wire.AwsError:
    """The answer of ``service`` to a request over its rate (module doc)."""
    if service == "s3":
        return wire.AwsError("SlowDown", "Please reduce your request rate.", 503)
    if service in ("eks", "eks-auth"):
        return wire.AwsError("ThrottlingException", RATE_EXCEEDED, 429)
    return wire.AwsError("Throttling", RATE_EXCEEDED, 400)


@dataclass(slots=True)
class TokenBucket:
    """``rate`` tokens a second, at most ``burst`` kept; a request takes one. Starts full:
    a quiet account may send a burst at once."""

    rate: float
    burst: int
    tokens: float
    updated: float

    @classmethod
    def full(cls, figures: Throttle, now: float) -> TokenBucket:
        return cls(figures.rate, figures.burst, float(figures.burst), now)

    def take(self, now: float) -> bool:
        """Whether a request at ``now`` gets a token (and takes it)."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Throttler:
    """The buckets of one sandbox (module doc)."""

    def __init__(self, realism: Realism, clock: Callable[[], float] = time.monotonic) -> None:
        self.realism = realism
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def admits(self, account: str, service: str, operation: str) -> bool:
        """Whether ``account`` may call ``operation`` of ``service`` now (takes a token)."""
        figures = self.realism.throttle_for(service, operation)
        if figures is None:
            return True
        own = f"{service}:{operation}"
        scope = own if own in self.realism.throttling else service
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get((account, scope))
            if bucket is None:
                bucket = self._buckets[(account, scope)] = TokenBucket.full(figures, now)
            return bucket.take(now)

    def check(self, account: str, service: str, operation: str) -> None:
        """Raise the service's throttling answer when :meth:`admits` says no."""
        if not self.admits(account, service, operation):
            raise throttled(service)
