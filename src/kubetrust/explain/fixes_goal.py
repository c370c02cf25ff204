"""Fixes for the goal links: an AWS action, the Kubernetes mapping, Kubernetes RBAC.

- AWS action (A.1, A.2): an explicit deny is named; an implicit deny names the policy kind
  that lacked the allow (identity, boundary, SCP, RCP), and a cross-account resource without
  a resource policy says so — the session must chain on into the resource's account, or the
  resource must trust it.
- Mapping (E.1, D.3): by authentication mode. aws-auth entries that can never match (a role
  ARN with a path, a session ARN: the model's problems) are pointed at; an aws-auth entry in
  ``API`` mode is ignored; otherwise the entry to add is given.
- RBAC: the bindings that do name the identity (near misses), and the smallest default role
  that would allow the request (``view`` < ``edit`` < ``admin`` < ``cluster-admin``), as a
  binding for the identity's group, or as an access policy for an access entry.
"""

from __future__ import annotations

from kubetrust import arn, errors
from kubetrust.chain import rbac, rbac_defaults
from kubetrust.chain.links import Link
from kubetrust.chain.paths import Chain, KubeGoal
from kubetrust.explain.fix_common import Fix, name_of, statement_json
from kubetrust.model.topology import Cluster, Topology
from kubetrust.model.vocabulary import (
    API,
    API_AND_CONFIG_MAP,
    CONFIG_MAP,
    POLICY_FOR_CLUSTER_ROLE,
    VIEW_POLICY,
)
from kubetrust.yaml_codec import CODEC

_ROLE_ORDER = ("view", "edit", "admin", "cluster-admin")


def aws_action(link: Link, topology: Topology, chain: Chain) -> Fix:
    decision = link.decision
    role_arn = chain.roles[-1] if chain.roles else link.caller
    role = name_of(role_arn)
    action, _, resource = link.target.partition(" on ")
    if decision is None:
        return Fix("the action could not be evaluated", "see the warnings")
    for reason in decision.reasons:
        if reason.effect == "Deny":
            where = f"{reason.policy} {reason.statement}".strip()
            return Fix(
                f"{reason.kind} {where} denies {action} explicitly",
                "narrow or remove that Deny",
            )
    kind = decision.deciding_kind
    if kind in ("scp", "rcp", "boundary"):
        detail = next((r.detail for r in decision.reasons if r.kind == kind), "")
        return Fix(f"{kind}: {detail}", f"allow {action} there")
    if link.facts.get("cross_account") and not link.facts.get("resource_policy"):
        return Fix(
            f"`{resource}` is in another account than `{role}`'s session and no resource "
            "policy of it is in the inputs: a cross-account request needs both sides (A.2)",
            "chain on into a role of the resource's account (--via), or add a resource "
            f"policy allowing `{role_arn}`",
        )
    return Fix(
        f"no identity policy of `{role}` allows {action} on `{resource}`",
        f"allow it in an identity policy of `{role}`",
        statement_json({"Effect": "Allow", "Action": action, "Resource": resource}),
    )


def kube_identity(link: Link, topology: Topology, chain: Chain) -> Fix:
    goal = chain.goal
    assert isinstance(goal, KubeGoal)
    cluster = topology.cluster(goal.cluster)
    mode = cluster.info.authentication_mode
    canonical = str(link.facts.get("canonical_arn"))
    name = name_of(canonical)
    broken = _aws_auth_problem(cluster, name, canonical)
    in_aws_auth = cluster.aws_auth is not None and cluster.aws_auth.find_role(canonical)
    if mode == API:
        cause = f"cluster `{cluster.name}` authenticates with access entries only (mode API)"
        if in_aws_auth:
            cause += "; its aws-auth entry for the role is ignored"
        return Fix(
            f"{cause}, and no access entry maps `{canonical}`",
            "create an access entry (and associate an access policy or give it groups)",
            _entry_commands(cluster.name, canonical),
        )
    if broken is not None:
        return Fix(broken, f"write the role ARN without path: `{canonical}`")
    snippet = CODEC.dump(
        [{"rolearn": canonical, "username": name, "groups": ["<a group your RBAC binds>"]}]
    )
    if cluster.aws_auth is None:
        cause = f"the inputs hold no aws-auth ConfigMap for cluster `{cluster.name}`"
    else:
        cause = f"aws-auth of cluster `{cluster.name}` maps no role `{canonical}`"
    action = "add a mapRoles entry"
    if mode == API_AND_CONFIG_MAP:
        action += " (or create an access entry)"
    return Fix(cause, action, snippet)


def _aws_auth_problem(cluster: Cluster, name: str, canonical: str) -> str | None:
    """An aws-auth entry meant for this role that never matches (D.3): the role ARN with a
    path, or a session ARN of the role."""
    account = canonical.split(":")[4]
    for index, role in enumerate(cluster.aws_auth.roles if cluster.aws_auth else ()):
        try:
            parsed = arn.parse(role.role_arn)
        except errors.InvalidArnError:
            continue
        if parsed.account != account:
            continue
        if parsed.service == "sts" and parsed.resource_type == "assumed-role":
            if parsed.resource.split("/")[1] == name:
                return (
                    f"aws-auth mapRoles entry {index} (`{role.role_arn}`) is a session ARN; "
                    "callers are looked up by their role ARN, so it never matches"
                )
        elif parsed.resource_type == "role" and parsed.resource_name == name and parsed.path != "/":
            return (
                f"aws-auth mapRoles entry {index} (`{role.role_arn}`) has the path "
                f"`{parsed.path}`; a caller's canonical ARN never carries one, so it never "
                "matches"
            )
    return None


def _entry_commands(cluster: str, principal: str) -> str:
    return (
        f"aws eks create-access-entry --cluster-name {cluster} --principal-arn {principal}\n"
        f"aws eks associate-access-policy --cluster-name {cluster} --principal-arn {principal} "
        f"--policy-arn {VIEW_POLICY.arn} "
        "--access-scope type=cluster"
    )


def smallest_role(request: rbac.KubeRequest) -> str | None:
    """The smallest default ClusterRole that allows ``request``."""
    for name in _ROLE_ORDER:
        if rbac.rules_allow(rbac_defaults.CLUSTER_ROLE_RULES[name], request):
            return name
    return None


def kube_rbac(link: Link, topology: Topology, chain: Chain) -> Fix:
    goal = chain.goal
    assert isinstance(goal, KubeGoal)
    request = rbac.normalized(goal.request)  # the attributes the link decided on
    username = str(link.facts.get("username"))
    groups = [str(g) for g in link.facts.get("groups") or []]  # type: ignore[attr-defined]
    misses = [str(m) for m in link.facts.get("near_misses") or []]  # type: ignore[attr-defined]
    role = smallest_role(request) or "cluster-admin"
    cause = f"RBAC gives user `{username}` (groups {groups}) no rule to {request.describe()}"
    if misses:
        cause += "; bindings that name it: " + "; ".join(misses)
    subject = f"--group={groups[0]}" if groups else f"--user={username}"
    if request.namespace and role != "cluster-admin":
        command = (
            f"kubectl create rolebinding kubetrust-{role} --clusterrole={role} {subject} "
            f"-n {request.namespace}"
        )
        scope = f"type=namespace,namespaces={request.namespace}"
    else:
        command = (
            f"kubectl create clusterrolebinding kubetrust-{role} --clusterrole={role} {subject}"
        )
        scope = "type=cluster"
    cluster = topology.cluster(goal.cluster)
    principal = chain.roles[-1] if chain.roles else "<role ARN>"
    return Fix(
        cause,
        f"bind the `{role}` ClusterRole (the smallest default role that allows it)"
        + (" or associate the matching access policy" if cluster.access_entries else ""),
        command
        + (
            f"\n# or, for an access entry: aws eks associate-access-policy --cluster-name "
            f"{cluster.name} --principal-arn {principal} --policy-arn "
            f"{POLICY_FOR_CLUSTER_ROLE[role].arn} --access-scope {scope}"
            if cluster.info.authentication_mode != CONFIG_MAP
            else ""
        ),
    )
