"""EKS Auth (rest-json): the IAM authorization of its one call.

Service Authorization Reference, "Amazon EKS Auth" (service prefix ``eks-auth``):
``AssumeRoleForPodIdentity`` is the action ``eks-auth:AssumeRoleForPodIdentity`` on the
resource type ``cluster`` (``arn:${Partition}:eks:${Region}:${Account}:cluster/${ClusterName}``),
with the cluster's tags as ``aws:ResourceTag/<k>`` ("can be limited by tags", EKS UG
``pod-id-agent-setup``; reference F.3). The cluster is the caller's account's: the node
role calls EKS Auth of its own cluster, in the region of the endpoint it calls.
"""

from __future__ import annotations

from kubetrust.sandbox.aws.operations import model

ACTION = "eks-auth:AssumeRoleForPodIdentity"


def cluster_arn(partition: str, region: str, account: str, cluster: str) -> str:
    return f"arn:{partition}:eks:{region}:{account}:cluster/{cluster}"


def operation(req: model.Request) -> model.Operation:
    """The one authorization of an EKS Auth call (module doc); an operation the model may
    add later is the generic ``eks-auth:<Name>`` on ``*``, marked inferred."""
    if req.name != "AssumeRoleForPodIdentity":
        return model.build_operation(req, f"eks-auth:{req.name}", ["*"], inferred=True)
    cluster = req.param("clusterName") or "*"
    resource = cluster_arn(req.partition, req.region, req.account, cluster)
    return model.build_operation(req, ACTION, [resource])
