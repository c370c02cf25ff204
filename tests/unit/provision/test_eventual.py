"""Waiting for AWS to settle (kubetrust.provision.eventual): backoff, budget, what is retried."""

from __future__ import annotations

import pytest

from kubetrust import errors
from kubetrust.adapters.aws import AwsApiError
from kubetrust.provision import eventual
from kubetrust.provision.handlers_propagation import PRINCIPAL_NOT_VISIBLE, ROLE_NOT_VISIBLE


class Clock:
    """A sleep that advances a monotonic clock instead of waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def _budget(seconds: float, clock: Clock) -> eventual.Budget:
    return eventual.Budget(
        seconds, sleep=clock.sleep, monotonic=clock.monotonic, jitter=lambda delay: delay
    )


def test_pauses_double_up_to_the_cap_and_stop_at_the_budget() -> None:
    clock = Clock()
    result = eventual.retry_while(lambda: "refused", lambda answer: True, _budget(30, clock))
    assert clock.slept == [1, 2, 4, 8, 8, 7]
    assert result == eventual.Retried("refused", 30.0, True)


def test_a_settled_answer_ends_the_wait_and_says_how_long_it_took() -> None:
    clock, answers, told = Clock(), iter(["refused", "refused", "ok"]), []
    result = eventual.retry_while(
        lambda: next(answers), lambda a: a == "refused", _budget(30, clock), told.append
    )
    assert result == eventual.Retried("ok", 3.0, False)
    assert told == [0.0, 1.0]


def test_a_zero_budget_never_waits() -> None:
    clock = Clock()
    result = eventual.retry_while(lambda: 1, lambda a: True, _budget(0, clock))
    assert result.exhausted and clock.slept == []


def test_jitter_stays_between_half_and_the_whole_delay() -> None:
    assert all(4 <= eventual.full_jitter(8) <= 8 for _ in range(200))


def test_one_budget_shared_by_several_waits_is_spent_once() -> None:
    clock = Clock()
    budget = _budget(5, clock)
    first = eventual.retry_while(lambda: 0, lambda a: True, budget)
    second = eventual.retry_while(lambda: 0, lambda a: True, budget)
    assert first.waited == 5 and second.waited == 0 and second.exhausted


def _refusal(code: str, text: str) -> AwsApiError:
    return AwsApiError("create_access_entry", code, text, "222222222222")


def test_retry_write_retries_only_the_transient_answer() -> None:
    clock, calls = Clock(), []

    def write() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise _refusal("InvalidParameterException", PRINCIPAL_NOT_VISIBLE.text + ".")
        raise _refusal("InvalidParameterException", "The principalArn is malformed")

    with pytest.raises(AwsApiError, match="malformed"):
        eventual.retry_write(write, PRINCIPAL_NOT_VISIBLE.matches, _budget(60, clock))
    assert clock.slept == [1]


def test_retry_write_reports_the_lasting_answer_with_the_wait() -> None:
    clock = Clock()

    def write() -> None:
        raise _refusal("InvalidParameterException", ROLE_NOT_VISIBLE.text)

    with pytest.raises(eventual.StillRefused) as raised:
        eventual.retry_write(write, ROLE_NOT_VISIBLE.matches, _budget(10, clock), why="w")
    assert raised.value.code == "InvalidParameterException" and raised.value.waited == 10
    assert "(still refused after waiting 10 s: w; if it persists" in str(raised.value)
    assert isinstance(raised.value, errors.KubetrustError)


@pytest.mark.parametrize(
    ("code", "text", "matches"),
    [
        ("InvalidParameterException", "Role provided in the request does not exist", True),
        ("InvalidParameterException", "Trust policy of the role provided is invalid", False),
        ("AccessDeniedException", "Role provided in the request does not exist", False),
    ],
)
def test_an_answer_is_matched_by_code_and_text(code: str, text: str, matches: bool) -> None:
    assert ROLE_NOT_VISIBLE.matches(_refusal(code, text)) is matches
