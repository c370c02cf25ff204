"""A sandbox cluster's nodes, as they exist on AWS: an EKS managed node group whose
``nodeRole`` is the nodes' instance role (reference H.5).

The EKS control plane calls :meth:`ClusterNodes.cluster_created` as moto stores a cluster
(world file or ``aws eks create-cluster`` alike): the account's default node role is
created unless the world names another instance role for the cluster
(:meth:`kubetrust.sandbox.world.World.nodes_of`), and the cluster gets the node group
:func:`node_group_name`, so that ``aws eks list-nodegroups``/``describe-nodegroup`` show
the nodes and their role. A role the world names but nothing created (yet) is fine: the
node group names it, and the nodes' IMDS has no role to give until it exists (:mod:`.imds`).

**Known differences:** on AWS a node group is created by its own ``CreateNodegroup`` once
the cluster is ``ACTIVE``, and takes minutes; the sandbox's exists from the cluster's
creation, ``ACTIVE`` at once (the nodes are what pods run on, and pods run at once). And on
AWS ``DeleteCluster`` is refused while node groups remain; the sandbox's node group is not
counted as one (moto's ``nodegroup_count``), so it goes with its cluster: a script that
never made a node group can delete the cluster as it could on AWS. (Deleting that node
group itself through the API leaves moto's count below zero, which then refuses the
cluster's deletion: not supported.)
"""

from __future__ import annotations

from typing import Any

from moto.eks.models import Nodegroup

from kubetrust.sandbox.eks.pod_identity_agent import ensure_node_role
from kubetrust.sandbox.world import World, instance_role_arn

NODE_GROUP_SUFFIX = "-nodes"
NODE_GROUP_SIZE = {"minSize": 1, "maxSize": 2, "desiredSize": 1}


def node_group_name(cluster: str) -> str:
    """``<cluster>-nodes``; the suffix keeps within EKS's 63 characters for a cluster name
    of up to 57 (longer names are cut)."""
    return cluster[: 63 - len(NODE_GROUP_SUFFIX)] + NODE_GROUP_SUFFIX


class ClusterNodes:
    """What a new cluster's nodes need (module doc); ``world`` holds their settings."""

    def __init__(self, world: World) -> None:
        self.world = world

    def cluster_created(self, backend: Any, cluster: Any) -> None:
        account = str(backend.account_id)
        name = str(cluster.name)
        if self.world.nodes_of(account, name).default_role:
            ensure_node_role(account)
        add_node_group(backend, cluster, instance_role_arn(self.world, account, name))


def add_node_group(backend: Any, cluster: Any, role_arn: str) -> None:
    """Store the cluster's node group in moto, as ``CreateNodegroup`` would have, without
    its check that the cluster is ``ACTIVE`` and uncounted (module doc, "Known
    differences")."""
    name = node_group_name(str(cluster.name))
    if name in cluster.nodegroups:
        return
    cluster.nodegroups[name] = Nodegroup(
        cluster_name=str(cluster.name),
        node_role=role_arn,
        nodegroup_name=name,
        subnets=list(cluster.resources_vpc_config.get("subnetIds") or []),
        account_id=str(backend.account_id),
        region_name=str(backend.region_name),
        aws_partition=str(backend.partition),
        scaling_config=dict(NODE_GROUP_SIZE),
    )
