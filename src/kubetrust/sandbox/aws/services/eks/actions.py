"""EKS (rest-json): the SAR resources, condition keys and extra authorizations of its calls."""

from __future__ import annotations

import re
from collections.abc import Mapping

from kubetrust.model.vocabulary import POD_IDENTITY_SERVICE
from kubetrust.sandbox.aws.operations import model

# --------------------------------------------------------------------------- EKS

_EKS_STAR = frozenset(
    {
        "CreateCluster",
        "ListClusters",
        "ListAccessPolicies",
        "DescribeAddonVersions",
        "DescribeAddonConfiguration",
        "DescribeClusterVersions",
        "ListEksAnywhereSubscriptions",
        "CreateEksAnywhereSubscription",
        "RegisterCluster",
    }
)
_EKS_ACCESS_ENTRY_OPS = frozenset(
    {
        "DescribeAccessEntry",
        "UpdateAccessEntry",
        "DeleteAccessEntry",
        "AssociateAccessPolicy",
        "DisassociateAccessPolicy",
        "ListAssociatedAccessPolicies",
    }
)
_EKS_SUBRESOURCES: dict[str, tuple[str, str]] = {
    # operation → (SAR resource type, route label naming it)
    **dict.fromkeys(
        ("DescribeNodegroup", "DeleteNodegroup", "UpdateNodegroupConfig", "UpdateNodegroupVersion"),
        ("nodegroup", "nodegroupName"),
    ),
    **dict.fromkeys(("DescribeAddon", "DeleteAddon", "UpdateAddon"), ("addon", "addonName")),
    **dict.fromkeys(
        ("DescribeFargateProfile", "DeleteFargateProfile"),
        ("fargateprofile", "fargateProfileName"),
    ),
    **dict.fromkeys(
        ("DescribeCapability", "DeleteCapability", "UpdateCapability"),
        ("capability", "capabilityName"),
    ),
}
_EKS_POD_IDENTITY_OPS = frozenset(
    {
        "DescribePodIdentityAssociation",
        "UpdatePodIdentityAssociation",
        "DeletePodIdentityAssociation",
    }
)
_EKS_PASSED_ROLES: dict[str, tuple[str, str]] = {
    # operation → (body member holding a role ARN, iam:PassedToService), SAR operations table
    "CreateCluster": ("roleArn", "eks.amazonaws.com"),
    "CreateNodegroup": ("nodeRole", "eks.amazonaws.com"),
    "CreateFargateProfile": ("podExecutionRoleArn", "eks.amazonaws.com"),
    "CreateAddon": ("serviceAccountRoleArn", "eks.amazonaws.com"),
    "CreatePodIdentityAssociation": ("roleArn", POD_IDENTITY_SERVICE),
    # a new association role is passed again; ``targetRoleArn`` is not passed to EKS (EKS
    # assumes it with the association role's session, in any account): no PassRole (F.5)
    "UpdatePodIdentityAssociation": ("roleArn", POD_IDENTITY_SERVICE),
}


def operation(req: model.Request) -> model.Operation:
    """EKS (SAR "Amazon Elastic Kubernetes Service"; every API action is ``eks:<Name>``).

    Resource types per the SAR: ``cluster`` ``arn:aws:eks:R:A:cluster/NAME`` for the
    cluster and its listings (``ListAccessEntries``, ``CreateAccessEntry``, …);
    ``access-entry`` ``…:access-entry/CLUSTER/<role|user>/<principal account>/<name>/UUID``
    for the operations on one entry and its access policies; ``nodegroup``, ``addon``,
    ``fargateprofile``, ``capability``, ``identityproviderconfig`` likewise end in a UUID;
    ``podidentityassociation`` ``…/CLUSTER/<association id>``; ``TagResource`` and friends
    act on the ARN in the path; ``ListClusters``, ``CreateCluster``,
    ``ListAccessPolicies`` and the version/catalogue listings have no resource type
    (``*``). Context: ``eks:clusterName``, ``eks:principalArn``, ``eks:policyArn``,
    ``eks:accessScope``, ``eks:namespaces``, ``eks:kubernetesGroups``, ``eks:username``,
    ``eks:accessEntryType`` from the request, and the request tags. Creating with a role
    also needs ``iam:PassRole`` (``iam:PassedToService`` as the SAR lists); creating a
    cluster or access entry with ``tags`` needs ``eks:TagResource``.
    """
    name = req.name
    action = f"eks:{name}"
    context = _eks_context(req)
    extra = _eks_passed_role(req)
    if name in _EKS_STAR:
        extra += _eks_create_tags(req, name, context)
        return model.build_operation(req, action, ["*"], extra=extra, context=context)
    if name in ("TagResource", "UntagResource", "ListTagsForResource"):
        return model.build_operation(
            req, action, [req.param("resourceArn") or "*"], context=context
        )
    resource = _eks_resource(req)
    if resource is None:
        return model.build_operation(req, action, ["*"], context=context, inferred=True)
    if name == "CreateAccessEntry":
        principal = str(req.member("principalArn") or "*")
        entry = _access_entry_arn(req, req.param("name") or "*", principal)
        extra += _eks_create_tags(req, entry, context)
    return model.build_operation(req, action, [resource], extra=extra, context=context)


def _eks_arn(req: model.Request, resource: str) -> str:
    return f"arn:{req.partition}:eks:{req.region}:{req.account}:{resource}"


def _eks_resource(req: model.Request) -> str | None:
    """The SAR resource of an EKS call on a cluster or one of its sub-resources."""
    name = req.name
    cluster = req.param("name")
    if cluster is None:
        subscription = req.param("id")
        if subscription is None:
            return None
        return _eks_arn(req, f"eks-anywhere-subscription/{subscription}")
    if name in _EKS_ACCESS_ENTRY_OPS:
        return _access_entry_arn(req, cluster, req.param("principalArn") or "*")
    if name in _EKS_SUBRESOURCES:
        kind, label = _EKS_SUBRESOURCES[name]
        item = req.param(label) or "*"
        found = req.eks_arn(kind, cluster, item)
        if found:
            return found
        middle = f"*/{item}" if kind == "capability" else item
        return _eks_arn(req, f"{kind}/{cluster}/{middle}/*")
    if name in _EKS_POD_IDENTITY_OPS:
        association = req.param("associationId") or "*"
        return _eks_arn(req, f"podidentityassociation/{cluster}/{association}")
    if name in ("DescribeIdentityProviderConfig", "DisassociateIdentityProviderConfig"):
        config = req.member("identityProviderConfig")
        config = config if isinstance(config, Mapping) else {}
        ident = f"{config.get('type', '*')}/{config.get('name', '*')}"
        found = req.eks_arn("identityproviderconfig", cluster, ident)
        return found or _eks_arn(req, f"identityproviderconfig/{cluster}/{ident}/*")
    return _eks_arn(req, f"cluster/{cluster}")


def _access_entry_arn(req: model.Request, cluster: str, principal: str) -> str:
    """``…:access-entry/CLUSTER/<role|user>/<account>/<name>/<UUID>`` (SAR resource type
    ``access-entry``); the UUID comes from the lookup, else ``*``."""
    found = req.eks_arn("access-entry", cluster, principal)
    if found:
        return found
    m = re.match(r"arn:[^:]+:iam::(\d{12}):(role|user)/(?:.*/)?([^/]+)\Z", principal)
    if m is None:
        return _eks_arn(req, f"access-entry/{cluster}/*")
    account, kind, entity = m.groups()
    return _eks_arn(req, f"access-entry/{cluster}/{kind}/{account}/{entity}/*")


def _eks_context(req: model.Request) -> dict[str, object]:
    name = req.name
    context: dict[str, object] = {}
    if name in _EKS_ACCESS_ENTRY_OPS or name == "CreateAccessEntry":
        cluster = req.param("name")
        if cluster:
            context["eks:clusterName"] = cluster
        principal = req.param("principalArn") or req.member("principalArn")
        if isinstance(principal, str):
            context["eks:principalArn"] = principal
        context.update(_eks_entry_fields(req))
    if name in ("AssociateAccessPolicy", "DisassociateAccessPolicy"):
        policy = req.param("policyArn") or req.member("policyArn")
        if isinstance(policy, str):
            context["eks:policyArn"] = policy
        scope = req.member("accessScope")
        if isinstance(scope, Mapping):
            if isinstance(scope.get("type"), str):
                context["eks:accessScope"] = scope["type"]
            if isinstance(scope.get("namespaces"), list):
                context["eks:namespaces"] = [str(n) for n in scope["namespaces"]]
    tags = req.member("tags")
    if isinstance(tags, Mapping):
        context.update(model.tag_context({str(k): str(v) for k, v in tags.items()}))
    if name == "UntagResource":
        keys = req.params.get("tagKeys")
        if keys:
            context["aws:TagKeys"] = list(keys)
    return context


def _eks_entry_fields(req: model.Request) -> dict[str, object]:
    fields: dict[str, object] = {}
    groups = req.member("kubernetesGroups")
    if isinstance(groups, list):
        fields["eks:kubernetesGroups"] = [str(g) for g in groups]
    username = req.member("username")
    if isinstance(username, str):
        fields["eks:username"] = username
    kind = req.member("type")
    if isinstance(kind, str):
        fields["eks:accessEntryType"] = kind
    elif req.name == "CreateAccessEntry":
        fields["eks:accessEntryType"] = "STANDARD"
    return fields


def _eks_passed_role(req: model.Request) -> list[model.Authorization]:
    if req.name not in _EKS_PASSED_ROLES:
        return []
    member, service = _EKS_PASSED_ROLES[req.name]
    role = req.member(member)
    if not isinstance(role, str) or not role:
        return []
    return [model.Authorization("iam:PassRole", role, {"iam:PassedToService": service})]


def _eks_create_tags(
    req: model.Request, resource: str, context: Mapping[str, object]
) -> list[model.Authorization]:
    """``eks:TagResource`` on the new resource when a create call passes tags."""
    tags = req.member("tags")
    if not isinstance(tags, Mapping) or not tags:
        return []
    if req.name == "CreateCluster":
        resource = _eks_arn(req, f"cluster/{req.member('name') or '*'}")
    elif req.name != "CreateAccessEntry":
        return []
    tag_context = {k: v for k, v in context.items() if k.startswith("aws:")}
    return [model.Authorization("eks:TagResource", resource, tag_context)]
