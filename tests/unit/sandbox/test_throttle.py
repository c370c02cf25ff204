"""The gate's token buckets (sandbox/aws/throttle.py) with a fake clock, and each service's
throttling answer."""

from __future__ import annotations

import pytest

from kubetrust.sandbox.aws import throttle, wire
from kubetrust.sandbox.world_realism import OFF, Realism, Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def _throttler(clock: Clock, **buckets: Throttle) -> throttle.Throttler:
    keys = {k.replace("__", ":"): v for k, v in buckets.items()}
    return throttle.Throttler(Realism(throttling=keys), clock)


def test_a_burst_then_the_rate() -> None:
    clock = Clock()
    gate = _throttler(clock, iam=Throttle(rate=2.0, burst=3))
    assert [gate.admits("1", "iam", "GetRole") for _ in range(4)] == [True, True, True, False]
    clock.now += 0.4  # 0.8 of a token
    assert not gate.admits("1", "iam", "GetRole")
    clock.now += 0.1  # 1.0
    assert gate.admits("1", "iam", "GetRole")
    clock.now += 100  # refills to the burst, never past it
    assert [gate.admits("1", "iam", "ListRoles") for _ in range(4)] == [True, True, True, False]


def test_buckets_are_per_account_and_operation_figures_win() -> None:
    clock = Clock()
    gate = _throttler(clock, eks=Throttle(1.0, 1), eks__DescribeCluster=Throttle(1.0, 2))
    assert gate.admits("1", "eks", "ListClusters")
    assert not gate.admits("1", "eks", "CreateCluster")  # one bucket for the service
    assert gate.admits("2", "eks", "ListClusters")  # another account's
    assert gate.admits("1", "eks", "DescribeCluster")  # its own bucket of 2
    assert gate.admits("1", "eks", "DescribeCluster")
    assert not gate.admits("1", "eks", "DescribeCluster")


def test_off_never_throttles() -> None:
    gate = throttle.Throttler(OFF, Clock())
    assert all(gate.admits("1", "sts", "AssumeRole") for _ in range(1000))


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ("iam", wire.AwsError("Throttling", "Rate exceeded", 400)),
        ("sts", wire.AwsError("Throttling", "Rate exceeded", 400)),
        ("eks", wire.AwsError("ThrottlingException", "Rate exceeded", 429)),
        ("eks-auth", wire.AwsError("ThrottlingException", "Rate exceeded", 429)),
        ("s3", wire.AwsError("SlowDown", "Please reduce your request rate.", 503)),
    ],
)
def test_each_service_answers_its_own_throttling(service: str, expected: wire.AwsError) -> None:
    clock = Clock()
    gate = throttle.Throttler(Realism(throttling={service: Throttle(1.0, 1)}), clock)
    gate.check("1", service, "Op")
    with pytest.raises(wire.AwsError) as refused:
        gate.check("1", service, "Op")
    assert refused.value == expected
