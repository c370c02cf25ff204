"""A cluster's nodes in the world file (kubetrust.sandbox.world): a cluster is a name (the
defaults: the account's node role, IMDSv2 required, hop limit 2) or a mapping with its
``nodes``; every wrong setting is refused with its place; ``nodes_json`` is what explain's
bundle and ``kubetrust snapshot --sandbox`` read."""

from __future__ import annotations

from typing import Any

import pytest

from kubetrust import errors
from kubetrust.sandbox.world import (
    DEFAULT_HOP_LIMIT,
    DEFAULT_NODE_ROLE,
    DEFAULT_NODES,
    ImdsSettings,
    NodeSettings,
    World,
    nodes_json,
    parse_world,
)

A, B = "111111111111", "222222222222"
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _world(*clusters: Any, **account: Any) -> World:
    return parse_world({"accounts": [{"id": A, "clusters": list(clusters), **account}]})


def test_a_named_cluster_has_the_default_nodes() -> None:
    world = _world("ci")
    assert world.accounts[0].clusters == ("ci",)
    assert world.nodes_of(A, "ci") == DEFAULT_NODES == NodeSettings()
    assert DEFAULT_NODES.role_name == DEFAULT_NODE_ROLE and DEFAULT_NODES.default_role
    assert DEFAULT_NODES.imds == ImdsSettings(DEFAULT_HOP_LIMIT, "required")
    assert DEFAULT_HOP_LIMIT == 2 and DEFAULT_NODES.imds.tokens_required


def test_a_cluster_entry_names_its_nodes_role_and_imds() -> None:
    world = _world(
        "open",
        {"name": "locked", "nodes": {"instance_role": "ci-nodes", "imds": {"hop_limit": 1}}},
        {"name": "v1", "nodes": {"imds": {"http_tokens": "optional"}}},
        {"name": "bare"},
    )
    assert world.accounts[0].clusters == ("open", "locked", "v1", "bare")
    locked = world.nodes_of(A, "locked")
    assert locked == NodeSettings("ci-nodes", ImdsSettings(1, "required"))
    assert locked.role_name == "ci-nodes" and not locked.default_role
    assert world.nodes_of(A, "v1").imds == ImdsSettings(2, "optional")
    assert not world.nodes_of(A, "v1").imds.tokens_required
    assert world.nodes_of(A, "bare") == DEFAULT_NODES


def test_clusters_the_world_does_not_name_have_the_defaults() -> None:
    world = _world("ci")
    assert world.nodes_of(A, "made-by-the-api") == DEFAULT_NODES
    assert world.nodes_of(B, "anything") == DEFAULT_NODES


def test_nodes_json_is_the_bundles_shape() -> None:
    role = {"name": "ci-nodes", "trust": EC2_TRUST, "path": "/eks/"}
    world = _world(
        "open",
        {"name": "locked", "nodes": {"instance_role": "ci-nodes", "imds": {"hop_limit": 1}}},
        {"name": "arn", "nodes": {"instance_role": f"arn:aws:iam::{A}:role/x/later"}},
        roles=[role],
    )
    assert nodes_json(world, A, "open") == {
        "instance_role_arn": f"arn:aws:iam::{A}:role/{DEFAULT_NODE_ROLE}",
        "imds": {"hop_limit": 2, "http_tokens": "required"},
    }
    assert nodes_json(world, A, "locked") == {
        "instance_role_arn": f"arn:aws:iam::{A}:role/eks/ci-nodes",  # the world role's path
        "imds": {"hop_limit": 1, "http_tokens": "required"},
    }
    assert nodes_json(world, A, "arn")["instance_role_arn"] == f"arn:aws:iam::{A}:role/x/later"
    assert world.nodes_of(A, "arn").role_name == "later"
    assert nodes_json(world, A, "api-made")["instance_role_arn"].endswith(DEFAULT_NODE_ROLE)
    assert nodes_json(world, B, "open") is None  # not an account of this world


def _cluster(nodes: Any) -> dict[str, Any]:
    return {"accounts": [{"id": A, "clusters": ["ok", {"name": "c", "nodes": nodes}]}]}


AT = "accounts[0].clusters[1]"
REFUSED = [
    ({"accounts": [{"id": A, "clusters": [3]}]}, "accounts[0].clusters[0]: must be a cluster"),
    ({"accounts": [{"id": A, "clusters": [{"nodes": {}}]}]}, "accounts[0].clusters[0]: missing"),
    (
        {"accounts": [{"id": A, "clusters": [{"name": "-x"}]}]},
        "accounts[0].clusters[0].name: `-x` is not a valid EKS cluster",
    ),
    (
        {"accounts": [{"id": A, "clusters": [{"name": "c", "node": {}}]}]},
        "accounts[0].clusters[0]: unknown key `node` (did you mean `nodes`?)",
    ),
    (_cluster({"imd": {}}), f"{AT}.nodes: unknown key `imd` (did you mean `imds`?)"),
    (_cluster({"imds": {"hop_limit": 0}}), f"{AT}.nodes.imds.hop_limit: input should be greater"),
    (_cluster({"imds": {"hop_limit": 65}}), f"{AT}.nodes.imds.hop_limit: input should be less"),
    (_cluster({"imds": {"hop_limit": "2"}}), f"{AT}.nodes.imds.hop_limit: must be an integer"),
    (_cluster({"imds": {"hop_limit": True}}), f"{AT}.nodes.imds.hop_limit: must be an integer"),
    (
        _cluster({"imds": {"http_tokens": "v2"}}),
        f"{AT}.nodes.imds.http_tokens: must be `required` or `optional`, not `v2`",
    ),
    (_cluster({"instance_role": "a b"}), f"{AT}.nodes.instance_role: `a b` is not a valid IAM"),
    (_cluster({"instance_role": 3}), f"{AT}.nodes.instance_role: must be a string"),
    (
        _cluster({"instance_role": "arn:aws:s3:::bucket"}),
        f"{AT}.nodes.instance_role: arn:aws:s3:::bucket is not a role ARN",
    ),
    (
        _cluster({"instance_role": f"arn:aws:iam::{B}:role/nodes"}),
        f"{AT}.nodes.instance_role: arn:aws:iam::{B}:role/nodes is a role of account {B}: "
        f"a node's instance role must be a role of the cluster's account {A}",
    ),
]


@pytest.mark.parametrize(("raw", "message"), REFUSED)
def test_wrong_node_settings_are_refused_with_the_place(raw: Any, message: str) -> None:
    with pytest.raises(errors.InputError) as refused:
        parse_world(raw, "w.yaml")
    assert str(refused.value).startswith(f"w.yaml: {message}"), str(refused.value)
