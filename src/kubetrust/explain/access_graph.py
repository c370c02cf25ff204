"""The access graph: service accounts → roles → roles → AWS permissions and cluster identities.

``kubetrust graph`` draws what explain and audit reason over, as one picture. Every edge is
*decided* by the functions explain and audit use, never guessed from names, so the picture
cannot disagree with ``kubetrust explain``:

- **web identity** edges from service accounts to roles: for a service account the inputs
  name (its manifest, or a literal ``:sub`` in a trust), :func:`kubetrust.chain.links.web_identity`
  decides, with the token that service account would carry; for ``:sub`` patterns
  (``StringLike`` wildcards, no ``:sub`` at all, negated operators) a node stands for the set
  of service accounts admitted — a wildcard under ``StringEquals`` is drawn *denied*: it
  never matches (A.7);
- **pod-identity** edges from service accounts to their EKS Pod Identity association's role,
  and **targetRoleArn** edges from that role to the association's target role: decided by
  :func:`kubetrust.chain.pod_identity_links.evaluate`, as explain decides them (the agent
  add-on, the trust for ``pods.eks.amazonaws.com``, both sides of the target hop);
- **AssumeRole** edges between roles and from users: the allowed and *conditional* edges of
  audit's reach graph (:mod:`kubetrust.explain.audit.reach`), plus the *denied* edges some
  policy intends (the trust names the caller, or the caller's policy names the role) —
  the chains someone meant to build and that fail;
- **aws-auth** and **access entry** edges from roles to the Kubernetes identities target
  clusters map them to: the mapping that wins under the cluster's authentication mode
  (:func:`kubetrust.chain.kube_links.kube_identity`), and, denied, the mappings that do not
  (ignored in ``API`` mode, overridden by an access entry, an ARN with a path or a session
  ARN that never matches);
- **IMDS (node role)** edges from a cluster's pods to the instance role of its node groups
  (``nodes.json``): allowed when the IMDS settings let pods through, denied (blocked) when
  not (:func:`kubetrust.model.eks.pods_reach_imds`, reference H.5);
- **permissions**: one node per role summarizing its identity policies' statements (its
  ``sts:AssumeRole`` grants are the AssumeRole edges already).

Pure: rendering (Mermaid, DOT) is :mod:`kubetrust.explain.graph_render`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from kubetrust import arn
from kubetrust.chain import graph, kube_links, links, pod_identity_links
from kubetrust.chain import kube_identity as kid
from kubetrust.explain import trust_analysis as ta
from kubetrust.explain.access_graph_nodes import (
    Node,
    cluster_group,
    identity_node,
    permissions_node,
    pods_node,
    principal_node,
    service_account_node,
    subjects_node,
)
from kubetrust.explain.audit.context import AuditContext
from kubetrust.model import vocabulary
from kubetrust.model.aws_auth import RoleMapping
from kubetrust.model.eks import AUDIENCE_ANNOTATION
from kubetrust.model.iam import Role, User
from kubetrust.model.topology import Cluster, Topology


class Status(enum.Enum):
    """How an edge is decided: ``allowed``; ``conditional`` (allowed if a condition the
    inputs cannot settle holds, e.g. ``sts:ExternalId``); ``denied`` (intended, but fails)."""

    ALLOWED = "allowed"
    CONDITIONAL = "conditional"
    DENIED = "denied"


class Hop(enum.Enum):
    WEB_IDENTITY = "web identity"
    POD_IDENTITY = "pod-identity"
    TARGET_ROLE = "targetRoleArn"
    ASSUME_ROLE = "AssumeRole"
    SERVICE = "service"
    AWS_AUTH = "aws-auth"
    ACCESS_ENTRY = "access entry"
    PERMISSIONS = "grants"
    IMDS = "IMDS (node role)"


@dataclass(frozen=True, slots=True)
class Edge:
    """One decided edge; ``note`` says why a denied edge fails, or what a conditional one
    needs."""

    source: str
    target: str
    hop: Hop
    status: Status
    note: str = ""


@dataclass(slots=True)
class AccessGraph:
    """Nodes by key, edges by ``(source, target, hop)``, group labels by group key."""

    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str, Hop], Edge] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)

    def add_node(self, node: Node, group_label: str) -> str:
        self.nodes.setdefault(node.key, node)
        self.groups.setdefault(node.group, group_label)
        return node.key

    def add_edge(self, source: str, target: str, hop: Hop, status: Status, note: str = "") -> None:
        """Add an edge; a decided edge is never overwritten by a weaker one (allowed beats
        conditional beats denied: the first decision for a pair is the engine's)."""
        key = (source, target, hop)
        found = self.edges.get(key)
        order = (Status.DENIED, Status.CONDITIONAL, Status.ALLOWED)
        if found is None or order.index(status) > order.index(found.status):
            self.edges[key] = Edge(source, target, hop, status, note)

    def sorted_nodes(self) -> list[Node]:
        return sorted(self.nodes.values(), key=lambda n: (n.group, n.rank, n.title, n.key))


def build_access_graph(topology: Topology, *, context: AuditContext | None = None) -> AccessGraph:
    """The access graph of ``topology`` (module doc)."""
    ctx = context or AuditContext(topology)
    result = AccessGraph()
    for cluster in topology.clusters:
        _web_identity_edges(topology, ctx, cluster, result)
        _pod_identity_edges(topology, cluster, result)
        _node_role_edges(topology, cluster, result)
    _assume_role_edges(topology, ctx, result)
    for cluster in topology.clusters:
        _cluster_identity_edges(topology, cluster, result)
    for key in sorted({k for k, n in result.nodes.items() if n.kind == "role"}):
        role = topology.role(key.removeprefix("role:"))
        if role is not None:
            node = permissions_node(topology, role)
            if node is not None:
                result.add_node(node, f"account {role.account}")
                result.add_edge(key, node.key, Hop.PERMISSIONS, Status.ALLOWED)
    return result


# ---------------------------------------------------------------------- web identity


def _role_key(result: AccessGraph, topology: Topology, role_arn: str) -> str:
    role = topology.role(role_arn)
    node = principal_node(role if role is not None else role_arn)
    return result.add_node(node, f"account {node.group.removeprefix('account:')}")


def _web_identity_edges(
    topology: Topology, ctx: AuditContext, cluster: Cluster, result: AccessGraph
) -> None:
    for (namespace, name), account in sorted(cluster.service_accounts.items()):
        if account.role_arn:
            _service_account_edge(topology, cluster, namespace, name, account.role_arn, result)
    issuer = cluster.info.issuer
    if issuer is None:
        return
    url = issuer.removeprefix("https://").rstrip("/")
    for provider_key, roles in sorted(ctx.index.federated.items()):
        if (ta.provider_url(provider_key) or "").lower() != url.lower():
            continue
        for role in sorted(roles, key=lambda r: r.arn):
            provider_ok = (
                provider_key.split(":")[4] == role.account
                and topology.provider(role.account, url) is not None
            )
            for statement in ta.irsa_statements(role.trust) if role.trust else ():
                if provider_key.lower() in (p.lower() for p in statement.providers):
                    _statement_edges(topology, cluster, role, statement, provider_ok, result)


def _statement_edges(
    topology: Topology,
    cluster: Cluster,
    role: Role,
    statement: ta.IrsaStatement,
    provider_ok: bool,
    result: AccessGraph,
) -> None:
    """The service accounts one IRSA statement admits → ``role``."""
    for subject, status, note in _admitted(statement):
        parsed = _service_account(subject) if status is None else None
        if parsed is not None:
            _service_account_edge(topology, cluster, parsed[0], parsed[1], role.arn, result)
            continue
        source = result.add_node(subjects_node(cluster, subject), cluster_group(cluster)[1])
        target = _role_key(result, topology, role.arn)
        decided, why = status or Status.ALLOWED, note
        if not provider_ok and decided is not Status.DENIED:
            decided = Status.DENIED
            why = f"no IAM OIDC provider for the issuer in account {role.account}"
        result.add_edge(source, target, Hop.WEB_IDENTITY, decided, why)


def _service_account(subject: str) -> tuple[str, str] | None:
    """``(namespace, name)`` of a literal ``system:serviceaccount:NS:NAME`` subject."""
    if any(w in subject for w in ta.WILDCARDS):
        return None
    return vocabulary.parse_service_account_subject(subject)


def _admitted(statement: ta.IrsaStatement) -> list[tuple[str, Status | None, str]]:
    """What one IRSA statement's ``:sub`` conditions admit: ``(subject, status, note)``;
    ``status`` is ``None`` for a literal subject, decided per service account later."""
    if not statement.sub:
        return [("*", Status.ALLOWED, "no :sub condition: any service account of the cluster")]
    found: list[tuple[str, Status | None, str]] = []
    for condition in statement.sub:
        base = condition.base.lower()
        never = set(ta.literal_wildcards(condition))
        for value in condition.values:
            if base.startswith("stringnot"):
                found.append((f"not {value}", Status.ALLOWED, f"{condition.operator}: all others"))
            elif value in never:
                note = f"{condition.operator} is literal: `{value}` never matches"
                found.append((value, Status.DENIED, note))
            elif any(w in value for w in ta.WILDCARDS):
                found.append((value, Status.ALLOWED, ""))
            else:
                found.append((value, None, ""))
    return found


def _service_account_edge(
    topology: Topology,
    cluster: Cluster,
    namespace: str,
    name: str,
    role_arn: str,
    result: AccessGraph,
) -> None:
    """A service account → role edge, decided exactly as explain decides link 1."""
    account = cluster.service_accounts.get((namespace, name))
    annotated = account.annotations.get(AUDIENCE_ANNOTATION) if account is not None else None
    workload = links.Workload(
        cluster.info.name, namespace, name, annotated or vocabulary.IRSA_AUDIENCE
    )
    link = links.web_identity(topology, cluster, workload, role_arn)
    node = service_account_node(cluster, namespace, name, account)
    source = result.add_node(node, cluster_group(cluster)[1])
    target = _role_key(result, topology, role_arn)
    note = "" if link.allowed else (link.failure.value if link.failure else "denied")
    status = Status.ALLOWED if link.allowed else Status.DENIED
    result.add_edge(source, target, Hop.WEB_IDENTITY, status, note)


# ---------------------------------------------------------------------- Pod Identity


def _pod_identity_edges(topology: Topology, cluster: Cluster, result: AccessGraph) -> None:
    """Every association: service account → role, and role → target role."""
    for association in sorted(cluster.pod_identity_associations, key=lambda a: a.key):
        if not association.role_arn:
            continue
        namespace, name = association.key
        workload = links.Workload(cluster.info.name, namespace, name)
        start = pod_identity_links.PodIdentityStart.of(association)
        evaluated = pod_identity_links.evaluate(topology, cluster, workload, start)
        account = cluster.service_accounts.get((namespace, name))
        node = service_account_node(cluster, namespace, name, account)
        source = result.add_node(node, cluster_group(cluster)[1])
        first = evaluated.links[0]
        role_key = _role_key(result, topology, association.role_arn)
        result.add_edge(source, role_key, Hop.POD_IDENTITY, *_verdict(first))
        if association.target_role_arn and len(evaluated.links) > 1:
            target_key = _role_key(result, topology, association.target_role_arn)
            result.add_edge(role_key, target_key, Hop.TARGET_ROLE, *_verdict(evaluated.links[1]))


def _verdict(link: links.Link) -> tuple[Status, str]:
    if link.allowed:
        return Status.ALLOWED, ""
    return Status.DENIED, link.failure.value if link.failure else "denied"


# ---------------------------------------------------------------------- node role


def _node_role_edges(topology: Topology, cluster: Cluster, result: AccessGraph) -> None:
    """The cluster's pods → each instance role of its nodes, through IMDS."""
    for group in cluster.node_groups or ():
        source = result.add_node(pods_node(cluster), cluster_group(cluster)[1])
        target = _role_key(result, topology, group.instance_role_arn)
        status = Status.ALLOWED if group.exposed else Status.DENIED
        result.add_edge(source, target, Hop.IMDS, status, group.why)


# ---------------------------------------------------------------------- AssumeRole


def _assume_role_edges(topology: Topology, ctx: AuditContext, result: AccessGraph) -> None:
    reach = ctx.reach
    for target_arn, incoming in sorted(reach.incoming.items()):
        for source_key, conditions in incoming:
            source = reach.sources[source_key]
            if source.kind not in ("role", "user", "service"):
                continue
            target = _role_key(result, topology, target_arn)
            if source.kind == "service":
                node = principal_node(source.key.removeprefix("service:"), service=True)
                key = result.add_node(node, "AWS services")
                result.add_edge(key, target, Hop.SERVICE, Status.ALLOWED, source.label)
                continue
            key = _principal_key(result, topology, source.key)
            status = Status.CONDITIONAL if conditions else Status.ALLOWED
            note = "if " + "; ".join(_condition(c) for c in conditions) if conditions else ""
            result.add_edge(key, target, Hop.ASSUME_ROLE, status, note)
    _denied_edges(topology, ctx, result)


def _denied_edges(topology: Topology, ctx: AuditContext, result: AccessGraph) -> None:
    """The AssumeRole edges some policy intends that the engine denies."""
    existing = {(e.source, e.target) for e in result.edges.values()}
    callers: list[Role | User] = [*topology.roles(), *topology.users()]
    for caller in sorted(callers, key=lambda c: c.arn):
        for role in _intended(topology, ctx, caller):
            if (principal_node(caller).key, principal_node(role).key) in existing:
                continue
            verdict = ctx.judge.judge(caller, role)
            if verdict.allowed or verdict.conditional:
                continue  # reach already holds it
            note = "denied"
            if isinstance(caller, Role):
                failure = links.assume_role(topology, caller, role.arn).failure
                note = failure.value if failure is not None else note
            source_key = _principal_key(result, topology, caller.arn)
            target_key = _role_key(result, topology, role.arn)
            result.add_edge(source_key, target_key, Hop.ASSUME_ROLE, Status.DENIED, note)


def _condition(detail: str) -> str:
    """``condition X is not met`` (the engine's near miss) → ``X``."""
    return detail.removeprefix("condition ").removesuffix(" is not met")


def _principal_key(result: AccessGraph, topology: Topology, principal_arn: str) -> str:
    identity: Role | User | None = topology.role(principal_arn) or topology.user(principal_arn)
    node = principal_node(identity if identity is not None else principal_arn)
    return result.add_node(node, f"account {node.group.removeprefix('account:')}")


def _intended(topology: Topology, ctx: AuditContext, caller: Role | User) -> list[Role]:
    """Roles some policy means ``caller`` to assume: the trust names it, or its identity
    policy names the role (no wildcard), as explain's chain search follows them."""
    found = {role.arn: role for role in ctx.index.naming(caller)}
    patterns = graph.assume_patterns([d.document for d in topology.permissions(caller).identity])
    for pattern in patterns:
        if "*" not in pattern and "?" not in pattern:
            named = topology.role(pattern)
            if named is not None:
                found.setdefault(named.arn, named)
    found.pop(caller.arn, None)
    return [found[k] for k in sorted(found)]


# ---------------------------------------------------------------------- cluster identities


def _cluster_identity_edges(topology: Topology, cluster: Cluster, result: AccessGraph) -> None:
    """Every role the cluster's aws-auth or access entries name → the identity it maps to."""
    mappings = cluster.aws_auth.roles if cluster.aws_auth else ()
    views = kube_links.entry_views(topology, cluster)
    roles: dict[str, Role] = {}
    for named in (*(m.role_arn for m in mappings), *(v.principal_arn for v in views)):
        role = _role_named(topology, named)
        if role is not None:
            roles[role.arn] = role
    for role_arn in sorted(roles):
        role = roles[role_arn]
        link, mapped = kube_links.kube_identity(topology, cluster, role)
        winner = mapped.via if mapped is not None else ""
        source = _role_key(result, topology, role.arn)
        for mapping in mappings:
            if _role_named(topology, mapping.role_arn) is role:
                _aws_auth_edge(cluster, source, mapping, winner, result)
        for view in sorted(views, key=lambda v: v.principal_arn):
            if _role_named(topology, view.principal_arn) is role:
                _entry_edge(cluster, source, view, winner, link.decided_by, result)


def _aws_auth_edge(
    cluster: Cluster, source: str, mapping: RoleMapping, winner: str, result: AccessGraph
) -> None:
    node = identity_node(cluster, "aws-auth", mapping.username, mapping.groups)
    target = result.add_node(node, cluster_group(cluster)[1])
    if winner == f"aws-auth mapRoles {mapping.key}":
        result.add_edge(source, target, Hop.AWS_AUTH, Status.ALLOWED)
        return
    uses_aws_auth = vocabulary.reads_aws_auth(cluster.info.authentication_mode)
    note = _aws_auth_note(mapping.role_arn, uses_aws_auth, winner)
    result.add_edge(source, target, Hop.AWS_AUTH, Status.DENIED, note)


def _entry_edge(
    cluster: Cluster,
    source: str,
    view: kid.AccessEntryView,
    winner: str,
    decided_by: tuple[str, ...],
    result: AccessGraph,
) -> None:
    username = kid.access_entry_username(view) or "(none)"
    node = identity_node(cluster, "access entry", username, view.kubernetes_groups, _grants(view))
    target = result.add_node(node, cluster_group(cluster)[1])
    if winner == f"access entry {view.principal_arn}":
        result.add_edge(source, target, Hop.ACCESS_ENTRY, Status.ALLOWED)
        return
    if cluster.info.authentication_mode == vocabulary.CONFIG_MAP:
        note = "ignored: CONFIG_MAP mode reads aws-auth only"
    else:
        note = decided_by[0] if decided_by else "not used"
    result.add_edge(source, target, Hop.ACCESS_ENTRY, Status.DENIED, note)


def _role_named(topology: Topology, text: str) -> Role | None:
    """The role an aws-auth or access-entry ARN names (a session ARN names its role)."""
    try:
        parsed = arn.parse(text)
    except Exception:  # an unparseable rolearn: aws-auth problems report it
        return None
    if parsed.service == "sts" and parsed.resource_type == "assumed-role":
        return topology.role(arn.role_arn(parsed.account, parsed.resource.split("/")[1]))
    return topology.role(text)


def _aws_auth_note(role_arn: str, uses_aws_auth: bool, winner: str) -> str:
    if not uses_aws_auth:
        return "ignored: API mode reads access entries only"
    if winner.startswith("access entry"):
        return "overridden by the access entry"
    if ":assumed-role/" in role_arn:
        return "never matches: a session ARN"
    if role_arn.count("/") > 1:
        return "never matches: an ARN with a path"
    return "not used"


def _grants(view: kid.AccessEntryView) -> tuple[str, ...]:
    found = []
    for policy_arn, scope, namespaces in view.policies:
        name = policy_arn.rpartition("/")[2].removeprefix("AmazonEKS").removesuffix("Policy")
        where = "cluster" if scope == "cluster" else "ns " + ", ".join(namespaces)
        found.append(f"{name} ({where})")
    return tuple(found)
