"""Waiting for AWS to settle: exponential backoff with jitter inside a bounded budget.

Real AWS is eventually consistent (reference H.1, H.2): a role IAM has just created is not
yet visible to EKS or STS, an access entry not yet to the cluster's authenticator. apply and
verify therefore retry *exactly* the answers that eventual consistency gives, for a bounded
time, and say so while they wait; anything else, and the same answer once the budget is
spent, is reported as it is. No fixed sleeps: each pause doubles (from
:attr:`Budget.first_delay` up to :attr:`Budget.max_delay`), is jittered so that parallel
apply threads do not retry in step, and never runs past the budget's end.

Pure (no SDK, no I/O but the injected ``sleep``): the adapters and the handlers share it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from kubetrust import errors

T = TypeVar("T")

IAM_PROPAGATION_SECONDS = 120.0
"""How long apply waits for EKS to see a role IAM has just created or changed: two minutes,
the figure terraform-provider-aws uses for the same retries (its EKS ``propagationTimeout``;
reference H.1). AWS publishes none."""
ASSOCIATION_SETTLE_SECONDS = 15.0
"""How long apply lets new or changed Pod Identity associations settle before it returns:
EKS propagates them to its webhook and EKS Auth "within seconds" and gives no signal when it
has (reference F.5, H.2); a pod created meanwhile is never mutated and gets no credentials
until it is recreated. [unconfirmed] 15 s is the delay an EKS maintainer pointed to
(eksctl#7709); ``apply --association-settle`` changes it, and the sandbox's own figure is
used against a sandbox. This is the one wait apply cannot poll for: it is told, never
silent."""
VERIFY_PROPAGATION_SECONDS = 60.0
"""verify's default budget (``--propagation-wait``) for the whole run: [unconfirmed] AWS
gives no figure; a minute covers the seconds IAM usually takes, and a real denial then
costs at most a minute before it is reported (``0`` turns waiting off)."""


def full_jitter(delay: float) -> float:
    """A pause between half of ``delay`` and ``delay`` (never zero: a retry at once would
    meet the same answer)."""
    return random.uniform(delay / 2, delay)


@dataclass
class Budget:
    """Seconds that may be spent waiting, from the first pause on; shared by every retry
    that draws on it (verify gives one budget to its whole run)."""

    seconds: float
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    jitter: Callable[[float], float] = full_jitter
    first_delay: float = 1.0
    max_delay: float = 8.0
    spent: float = 0.0
    """Seconds slept so far."""

    @property
    def remaining(self) -> float:
        return max(0.0, self.seconds - self.spent)

    def pause(self, attempt: int) -> float | None:
        """Sleep before retry number ``attempt`` (0 first); ``None`` (no sleep) when the
        budget is spent."""
        if self.remaining <= 0:
            return None
        delay = min(self.max_delay, self.first_delay * 2**attempt)
        delay = min(self.remaining, self.jitter(delay))
        started = self.monotonic()
        self.sleep(delay)
        self.spent += max(delay, self.monotonic() - started)
        return delay


@dataclass(frozen=True, slots=True)
class Retried(Generic[T]):
    """The last answer, how long was waited for it, and whether the budget ran out on an
    answer that was still transient."""

    value: T
    waited: float
    exhausted: bool


def retry_while(
    attempt: Callable[[], T],
    transient: Callable[[T], bool],
    budget: Budget,
    on_wait: Callable[[float], None] = lambda waited: None,
) -> Retried[T]:
    """Call ``attempt`` until its answer is not ``transient`` or ``budget`` is spent;
    ``on_wait(seconds waited so far)`` before each pause."""
    waited = 0.0
    number = 0
    while True:
        value = attempt()
        if not transient(value):
            return Retried(value, waited, False)
        if budget.remaining <= 0:
            return Retried(value, waited, True)
        on_wait(waited)
        slept = budget.pause(number)
        if slept is None:
            return Retried(value, waited, True)
        waited += slept
        number += 1


def retry_write(
    write: Callable[[], None],
    transient: Callable[[errors.KubetrustError], bool],
    budget: Budget,
    on_wait: Callable[[float], None] = lambda waited: None,
    why: str = "",
) -> float:
    """Run ``write``, retrying while it raises a ``transient`` error; return the seconds
    waited. The error that outlives the budget is raised again, with the wait and ``why``
    it was waited for added to its message (a :class:`~kubetrust.errors.KubetrustError`)."""

    def attempt() -> errors.KubetrustError | None:
        try:
            write()
        except errors.KubetrustError as error:
            if transient(error):
                return error
            raise
        return None

    result = retry_while(attempt, lambda error: error is not None, budget, on_wait)
    if result.value is not None:
        raise StillRefused(result.value, result.waited, why) from result.value
    return result.waited


class StillRefused(errors.KubetrustError):
    """An answer of eventual consistency that did not go away within the budget: the
    original error (its ``code`` kept), the wait, and what was waited for."""

    def __init__(self, error: errors.KubetrustError, waited: float, why: str) -> None:
        self.code = getattr(error, "code", None)
        self.waited = waited
        reason = f": {why}" if why else ""
        super().__init__(
            f"{error} (still refused after waiting {waited:.0f} s{reason}; if it persists, "
            "it is not eventual consistency)"
        )
