"""A CONFIG_MAP cluster with a realistic aws-auth, as a bundle world (the unit tests of
``kubetrust migrate access-entries``: tests/unit/migrate/test_access_*.py)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubetrust.explain import bundle, worlds
from kubetrust.model.topology import Topology

T = "222222222222"
ADMINS, VIEWERS, NODES, OPS = (
    f"arn:aws:iam::{T}:role/{n}" for n in ("admins", "viewers", "nodes", "ops")
)
MONITOR = f"arn:aws:iam::{T}:role/monitor"
ALICE, CALLER = f"arn:aws:iam::{T}:user/alice", f"arn:aws:iam::{T}:user/admin"
Build = Callable[[dict[str, Any]], Topology]


def _binding(kind: str, name: str, role: str, group: str, namespace: str = "") -> dict[str, Any]:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}],
    }  # fmt: skip


AWS_AUTH = {
    "mapRoles": [
        {"rolearn": ADMINS, "username": "admin", "groups": ["system:masters"]},
        {"rolearn": VIEWERS, "username": "viewer", "groups": ["viewers"]},
        {"rolearn": NODES, "username": "system:node:{{EC2PrivateDNSName}}",
         "groups": ["system:bootstrappers", "system:nodes"]},
        {"rolearn": OPS, "username": "ops:{{SessionName}}", "groups": ["ops-team"]},
    ],
    "mapUsers": [{"userarn": ALICE, "username": "alice", "groups": ["viewers"]}],
    "mapAccounts": ["333333333333"],
}  # fmt: skip


def world(
    aws_auth: dict[str, Any] = AWS_AUTH, mode: str = "CONFIG_MAP", **extra: Any
) -> dict[str, Any]:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{T}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    roles = [{"name": n, "trust": trust} for n in ("admins", "viewers", "nodes", "ops", "monitor")]
    manifests = [
        _binding("ClusterRoleBinding", "viewers", "view", "viewers"),
        _binding("RoleBinding", "ops", "edit", "ops-team", namespace="ops"),
    ]
    cluster = {
        "name": "legacy", "account": T, "region": "us-east-1", "authentication_mode": mode,
        "aws_auth": aws_auth, "manifests": manifests, **extra,
    }  # fmt: skip
    users = [{"name": "alice"}, {"name": "admin"}]
    return {"accounts": [{"id": T, "roles": roles, "users": users}], "clusters": [cluster]}


def builder(tmp_path: Path) -> Build:
    counter = iter(range(1000))

    def _build(raw: dict[str, Any]) -> Topology:
        root = tmp_path / f"bundle-{next(counter)}"
        worlds.write_bundle(copy.deepcopy(raw), root)
        return bundle.load_bundle([root])

    return _build
