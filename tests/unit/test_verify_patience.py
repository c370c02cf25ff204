"""verify's patience (kubetrust.adapters.verify_patience): which refusals wait, and how a
wait is said in the report."""

from __future__ import annotations

from kubetrust.adapters import verify_patience
from kubetrust.explain.verify_model import Outcome, Step, StepKind

DENIED = Step(StepKind.ASSUME_ROLE, "a", "b", Outcome.FAIL, "not authorized", "AccessDenied")
PASSED = Step(StepKind.ASSUME_ROLE, "a", "b", Outcome.PASS, "session s")


def test_a_wait_is_said_in_the_detail_and_kept_in_the_facts() -> None:
    step = verify_patience.noted(PASSED, 4.2)
    assert step.detail == "session s (waited 4 s for IAM to propagate)"
    assert step.facts["propagation_wait_seconds"] == 4.2
    assert verify_patience.noted(PASSED, 0) is PASSED


def test_a_lasting_denial_stays_a_denial_with_the_wait_noted() -> None:
    step = verify_patience.noted(DENIED, 60)
    assert step.outcome is Outcome.FAIL and step.code == "AccessDenied"
    assert step.detail == "not authorized (waited 60 s for IAM to propagate; still refused)"


def test_only_the_codes_of_propagation_are_retried() -> None:
    sts = verify_patience.refused_with(verify_patience.STS_PROPAGATION_CODES)
    assert sts(DENIED) and not sts(PASSED)
    other = Step(StepKind.ASSUME_ROLE, "a", "b", Outcome.FAIL, "bad", "ValidationError")
    assert not sts(other)


def test_the_budget_is_shared_by_the_whole_run() -> None:
    slept: list[float] = []
    patience = verify_patience.Patience(3, sleep=slept.append, jitter=lambda d: d)
    lines: list[str] = []
    patience.progress = lines.append
    first, waited = patience.run("hop 1", lambda: DENIED, verify_patience.denied)
    assert first is DENIED and waited == 3 and slept == [1, 2]
    _, waited = patience.run("hop 2", lambda: DENIED, verify_patience.denied)
    assert waited == 0 and slept == [1, 2]
    assert lines == [
        "waiting for IAM to propagate: hop 1 ... 0 s",
        "waiting for IAM to propagate: hop 1 ... 1 s",
    ]
