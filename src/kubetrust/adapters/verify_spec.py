"""What a ``kubetrust.yaml`` promises, as plans for ``kubetrust verify -f``.

Per target: the chain (``chained``: web identity into the CI role, then ``AssumeRole`` into
the target role; ``direct``: web identity into the target role; ``podIdentity``: EKS Pod
Identity, see :func:`chain_roles`), every action its
permission statements allow (actions without wildcards; Deny statements and managed
policies are not expectations), and per target cluster the identity the cluster must map
the role to (aws-auth ``username``/``groups``, or the access entry's; the entry wins, E.1)
plus one access review per access policy (``View`` → ``list pods``, ``Edit`` → ``create
configmaps``, ``Admin`` → ``create rolebindings``, ``ClusterAdmin`` → ``create
clusterrolebindings``; in the first namespace the policy names, else cluster-wide), and
for ``system:masters``: ``list namespaces``. A review never changes anything.

Here and not in ``explain`` because it reads the provisioning spec, a peer layer.
"""

from __future__ import annotations

from kubetrust.chain.rbac import KubeRequest
from kubetrust.explain.verify_model import (
    AwsExpectation,
    ChainPlan,
    IdentityExpectation,
    KubeExpectation,
)
from kubetrust.model import vocabulary
from kubetrust.provision.spec import AccessPolicyRef, Spec, Target, TargetCluster, target_role_arn

_POLICY_CHECKS = {
    vocabulary.VIEW_POLICY.name: KubeRequest("list", "pods"),
    vocabulary.EDIT_POLICY.name: KubeRequest("create", "configmaps"),
    vocabulary.ADMIN_POLICY.name: KubeRequest(
        "create", "rolebindings", "rbac.authorization.k8s.io"
    ),
    vocabulary.CLUSTER_ADMIN_POLICY.name: KubeRequest(
        "create", "clusterrolebindings", "rbac.authorization.k8s.io"
    ),
}


def _actions(target: Target) -> list[AwsExpectation]:
    found: list[AwsExpectation] = []
    for statement in target.permissions.statements:
        if statement.get("Effect") != "Allow" or "Action" not in statement:
            continue
        actions = statement["Action"]
        resources = statement.get("Resource", "*")
        resource = resources if isinstance(resources, str) else "*"
        if isinstance(resources, list) and len(resources) == 1:
            resource = str(resources[0])
        for action in [actions] if isinstance(actions, str) else actions:
            expectation = AwsExpectation(str(action), resource)
            if "*" not in action and "?" not in action and expectation not in found:
                found.append(expectation)
    return found


def _policy_check(policy: AccessPolicyRef, cluster: str, region: str) -> KubeExpectation | None:
    base = _POLICY_CHECKS.get(policy.arn.rpartition("/")[2])
    if base is None:
        return None
    namespace = ""
    if policy.namespaces is not None:
        literal = [n for n in policy.namespaces if "*" not in n]
        if not literal:
            return None  # only patterns: no namespace is known to exist
        namespace = literal[0]
    request = KubeRequest(base.verb, base.resource, base.group, namespace=namespace)
    return KubeExpectation(cluster, request, region)


def _cluster(
    spec: Spec, cluster: TargetCluster
) -> tuple[list[IdentityExpectation], list[KubeExpectation]]:
    region = spec.cluster_region(cluster)
    identities: list[IdentityExpectation] = []
    checks: list[KubeExpectation] = []
    if cluster.access_entry is not None:
        entry = cluster.access_entry
        identities.append(IdentityExpectation(cluster.name, entry.username, entry.groups, region))
        for policy in entry.access_policies:
            check = _policy_check(policy, cluster.name, region)
            if check is not None:
                checks.append(check)
    elif cluster.aws_auth is not None:
        mapping = cluster.aws_auth
        identities.append(
            IdentityExpectation(cluster.name, mapping.username, mapping.groups, region)
        )
    groups = cluster.access_entry.groups if cluster.access_entry else ()
    if cluster.access_entry is None and cluster.aws_auth is not None:
        groups = cluster.aws_auth.groups
    if "system:masters" in groups:
        checks.append(KubeExpectation(cluster.name, KubeRequest("list", "namespaces"), region))
    return identities, checks


def chain_roles(spec: Spec, target: Target) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    """``(first, hops, pod_identity)`` of ``target``'s chain (:class:`ChainPlan`).

    ``podIdentity`` maps onto one association per service account (docs/spec.md): with one
    target the association carries it as ``targetRoleArn``, so EKS Auth assumes both roles
    and the pod's own credentials are the target role's; with several, the association has
    no target role, EKS Auth hands out the source role's session and the pod assumes each
    target itself (its ``EcsContainer`` profile) — an ``AssumeRole`` hop."""
    role = target_role_arn(target)
    source = spec.ci_role_arn()
    if spec.pod_identity and source is not None:
        if len(spec.targets) == 1:
            return None, (), (source, role)
        return None, (role,), (source,)
    if spec.direct:
        return role, (), ()
    return source, (role,), ()


def plans_from_spec(spec: Spec, session_name: str) -> list[ChainPlan]:
    """One plan per target of ``spec`` (module doc)."""
    plans = []
    for target in spec.targets:
        first, hops, pod_identity = chain_roles(spec, target)
        identities: list[IdentityExpectation] = []
        checks: list[KubeExpectation] = []
        for cluster in target.clusters:
            found, more = _cluster(spec, cluster)
            identities += found
            checks += more
        plans.append(
            ChainPlan(
                name=f"{target.name} ({target.account})",
                first=first,
                hops=hops,
                aws=tuple(_actions(target)),
                kube=tuple(checks),
                identities=tuple(identities),
                session_name=target.session_name or session_name,
                pod_identity=pod_identity,
            )
        )
    return plans
