"""IAM's eventual consistency, as STS, the authorizer and EKS see it (reference H).

A change IAM stored (a role created, its trust or identity policies changed, an OIDC
provider or access key created) reaches the other services only after
:attr:`~kubetrust.sandbox.world_realism.Realism.iam_propagation_seconds`. With the delay at
zero (realism off) every change is visible at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Propagation"]


class Propagation:
    """What the services other than IAM see of IAM's recent changes."""

    def __init__(self, delay: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.delay = delay
        self.clock = clock

    def principal_visible(self, principal_arn: str) -> bool:
        """Whether EKS (access entries, pod identity associations) sees the IAM principal
        ``principal_arn`` yet."""
        del principal_arn
        return True
