"""verify right after apply: waiting, for a bounded time, for IAM and EKS to propagate.

verify cannot know whether the spec's roles were changed a moment ago, and on AWS a role
just created, a trust or identity policy just changed, an OIDC provider just added (H.1) or
an access entry just made (H.2) is refused for seconds. So each check that eventual
consistency can refuse is retried while its answer is the one propagation gives:

- an STS hop (``AssumeRoleWithWebIdentity``, ``AssumeRole``): ``AccessDenied``,
  ``InvalidIdentityToken`` (the provider not yet seen: "No OpenIDConnect provider found");
- EKS Auth (``AssumeRoleForPodIdentity``): ``AccessDeniedException``,
  ``ResourceNotFoundException`` (the association not yet in the data plane);
- a probe of an allowed action: a denial (the identity policy not yet seen);
- the cluster: ``401`` for the session (its access entry not yet honoured) and a denied
  access review (the access policy not yet associated in the data plane).

[unconfirmed] AWS documents neither which answers propagation gives at each place nor for
how long; the list above is what the sandbox with realism gives and what AWS's tools retry.

One :class:`Patience` serves a whole run: its budget (``--propagation-wait``, default
:data:`~kubetrust.provision.eventual.VERIFY_PROPAGATION_SECONDS`) is shared by every retry,
so a run waits at most that long in all. A check that passes after a wait says so in its
detail ("waited 4 s for IAM to propagate"); one still refused keeps AWS's answer, with the
wait noted — a real denial is reported as denied, never hidden.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import TypeVar

from kubetrust.explain.verify_model import Outcome, Step
from kubetrust.provision import eventual

T = TypeVar("T")

STS_PROPAGATION_CODES = frozenset({"AccessDenied", "InvalidIdentityToken"})
EKS_AUTH_PROPAGATION_CODES = frozenset({"AccessDeniedException", "ResourceNotFoundException"})
KUBE_UNAUTHORIZED = "401"


class Patience:
    """The run's wait budget and where its waits are told."""

    def __init__(
        self,
        seconds: float,
        progress: Callable[[str], None] = lambda line: None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float], float] = eventual.full_jitter,
    ) -> None:
        self.budget = eventual.Budget(seconds, sleep=sleep, jitter=jitter)
        self.progress = progress

    def run(
        self, what: str, attempt: Callable[[], T], transient: Callable[[T], bool]
    ) -> tuple[T, float]:
        """``attempt`` again while its answer is ``transient`` and budget is left; the last
        answer and the seconds waited for it."""

        def told(waited: float) -> None:
            self.progress(f"waiting for IAM to propagate: {what} ... {waited:.0f} s")

        result = eventual.retry_while(attempt, transient, self.budget, told)
        return result.value, result.waited


def noted(step: Step, waited: float) -> Step:
    """``step`` with the wait said in its detail and kept in its facts (none: unchanged)."""
    if waited <= 0:
        return step
    still = "; still refused" if step.outcome is Outcome.FAIL else ""
    detail = f"{step.detail} (waited {waited:.0f} s for IAM to propagate{still})"
    facts = {**step.facts, "propagation_wait_seconds": round(waited, 1)}
    return dataclasses.replace(step, detail=detail, facts=facts)


def refused_with(codes: frozenset[str]) -> Callable[[Step], bool]:
    """Whether a step failed with one of ``codes``."""
    return lambda step: step.outcome is Outcome.FAIL and step.code in codes


def denied(step: Step) -> bool:
    """A failed check that is a denial (no code: an access review; or a denied probe)."""
    return step.outcome is Outcome.FAIL
