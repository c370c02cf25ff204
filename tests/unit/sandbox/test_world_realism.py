"""The world file's ``realism:`` block: presets, figures, and what is refused, where."""

from __future__ import annotations

from typing import Any

import pytest

from kubetrust import errors
from kubetrust.sandbox.world import parse_world
from kubetrust.sandbox.world_realism import AWS, OFF, PRESETS, Realism, Throttle


def _realism(block: Any) -> Realism:
    return parse_world({"realism": block}).realism


def test_without_a_block_realism_is_off() -> None:
    assert parse_world({}).realism == OFF
    assert not OFF.on


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_a_preset_by_name(name: str) -> None:
    assert _realism(name) == PRESETS[name]


def test_the_aws_preset_delays_throttles_and_pages() -> None:
    assert AWS.on
    assert AWS.iam_propagation_seconds > 0
    assert AWS.eks_cluster_creation_seconds > 0
    assert AWS.aws_page_sizes
    assert AWS.throttle_for("iam", "ListRoles") is not None


def test_figures_given_replace_the_presets_and_the_rest_stay_aws() -> None:
    found = _realism({"iam_propagation_seconds": 1.5, "eks_update_seconds": 0})
    assert found.iam_propagation_seconds == 1.5
    assert found.eks_update_seconds == 0
    assert found.eks_cluster_creation_seconds == AWS.eks_cluster_creation_seconds
    assert found.throttling == AWS.throttling


def test_an_operation_bucket_wins_over_its_service() -> None:
    found = _realism(
        {
            "throttling": {
                "eks": {"rate": 5, "burst": 10},
                "eks:DescribeCluster": {"rate": 1, "burst": 2},
            }
        }
    )
    assert found.throttle_for("eks", "DescribeCluster") == Throttle(1.0, 2)
    assert found.throttle_for("eks", "ListClusters") == Throttle(5.0, 10)
    assert found.throttle_for("iam", "ListRoles") is None


def test_an_empty_throttling_block_throttles_nothing() -> None:
    found = _realism({"throttling": {}})
    assert found.throttle_for("iam", "CreateRole") is None
    assert found.on


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("fast", "world: realism: must be `aws`, `off` or a mapping of figures, not `fast`"),
        (
            {"iam_propagation_seconds": -1},
            "world: realism.iam_propagation_seconds: input should be greater than or equal to 0",
        ),
        ({"bogus": 1}, "world: realism: unknown key `bogus`"),
        ({"throttling": {"ec2": {"rate": 1, "burst": 1}}}, "`ec2` is not a service"),
        ({"throttling": {"iam:List-Roles": {"rate": 1, "burst": 1}}}, "`service:Operation`"),
        ({"throttling": {"iam": {"rate": 0, "burst": 1}}}, "realism.throttling.iam.rate"),
        (
            {"throttling": {"iam": {"rate": 1}}},
            "realism.throttling.iam: missing required key `burst`",
        ),
        ({"aws_page_sizes": "yes"}, "realism.aws_page_sizes"),
    ],
)
def test_a_bad_block_is_refused_with_its_place(block: Any, message: str) -> None:
    with pytest.raises(errors.InputError) as refused:
        parse_world({"realism": block})
    assert message in str(refused.value)
