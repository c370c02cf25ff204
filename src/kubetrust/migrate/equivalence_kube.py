"""The Kubernetes half of the proof: what one AWS caller may do on one cluster.

A migration changes *how* a caller is mapped (aws-auth → access entries, E.1) but must not
change *what* it may do, so the proof compares RBAC **outcomes** over a fixed universe of
requests, never identities: ``system:masters`` (RBAC bypass) and an access entry with
``AmazonEKSClusterAdminPolicy`` give the same lines, while a group bound to a cluster's
own ``view`` and ``AmazonEKSViewPolicy`` (the built-in ``view`` rules, E.4) differ exactly
where the two rule sets differ.

The universe (:class:`ClusterProbes`) is built from *both* worlds of a comparison, so both
sides answer the same questions: the namespaces named anywhere in the cluster plus
``default`` and ``kube-system`` (an access scope's wildcard, ``dev-*``, gives one namespace
it matches: :func:`wildcard_probe`); the (API group, resource[/subresource][, name]) triples
named by any rule of the cluster's RBAC, of the default roles and of the access policies'
roles, plus a fixed core set; the standard verbs plus any verb a rule names; the
non-resource URLs rules name.

A node role (mapped with ``{{EC2PrivateDNSName}}``) is asked as a node: its caller's
session is an instance id and carries that instance's DNS name (:func:`caller_for`), so its
mapping renders as the authenticator renders it; whether the Node authorizer serves it is
one line of its own (:func:`node_authorizer_lines`).

Decisions are :func:`kubetrust.chain.rbac.authorize`'s, computed in its order —
``system:masters``, then the entry's access-policy grants (:func:`rbac.grant_reason`), then
the RBAC rules the caller's bindings give in the request's namespace
(:func:`rbac.rules_for`, the same bindings ``authorize`` walks) — with the rules gathered
once per namespace instead of once per request, so thousands of probes stay cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubetrust import arn, errors
from kubetrust.chain import kube_identity as kid
from kubetrust.chain import kube_links, rbac, rbac_defaults
from kubetrust.model.kube import PolicyRule
from kubetrust.model.topology import Cluster, Topology

PROOF_SESSION = "kubetrust-proof"
"""The session name the proof gives a role's caller (``{{SessionName}}`` renders to it)."""
UNKNOWN_ID = "UNKNOWN"
"""The unique ID of a principal the inputs do not hold (as :mod:`kube_links` binds the
entries of such principals, so an offline entry maps its principal, E.3)."""

NODE_INSTANCE_ID = "i-0123456789abcdef0"
"""The session name of a node role's caller: EC2 names a node's role session after its
instance (the authenticator renders ``{{EC2PrivateDNSName}}`` only for such a session, D.3)."""
NODE_DNS_NAME = "ip-192-0-2-10.ec2.internal"
"""The private DNS name the proof gives that instance (the authenticator's
``ec2:DescribeInstances`` lookup, which kubetrust does not make; a documentation address)."""
EC2_DNS_TEMPLATE = "{{EC2PrivateDNSName}}"
NODE_PREFIX, NODES_GROUP = "system:node:", "system:nodes"
"""The Node authorizer's caller: username ``system:node:<name>`` in group ``system:nodes``."""

WILDCARD_FILL = "kubetrust-probe"
"""What a ``*`` of an access-scope namespace is filled with to make a probed namespace."""
BASE_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
BASE_NAMESPACES = ("default", "kube-system")
CORE_RESOURCES: tuple[tuple[str, str], ...] = (
    ("", "pods"),
    ("", "pods/log"),
    ("", "pods/exec"),
    ("", "secrets"),
    ("", "configmaps"),
    ("", "services"),
    ("", "serviceaccounts"),
    ("", "serviceaccounts/token"),
    ("", "namespaces"),
    ("", "nodes"),
    ("", "persistentvolumes"),
    ("", "events"),
    ("apps", "deployments"),
    ("apps", "daemonsets"),
    ("batch", "jobs"),
    (rbac_defaults.RBAC_GROUP, "roles"),
    (rbac_defaults.RBAC_GROUP, "rolebindings"),
    (rbac_defaults.RBAC_GROUP, "clusterroles"),
    (rbac_defaults.RBAC_GROUP, "clusterrolebindings"),
)

Probe = tuple[str, str, str]
"""(API group, ``resource[/subresource]``, name or ``""``)."""


@dataclass(frozen=True, slots=True)
class ClusterProbes:
    """The requests asked of one cluster, the same on both sides of a comparison."""

    namespaces: tuple[str, ...]
    resources: tuple[Probe, ...]
    verbs: tuple[str, ...]
    urls: tuple[str, ...]
    url_verbs: tuple[str, ...]

    def size(self) -> int:
        """How many requests one principal is asked (for the size test)."""
        per_scope = len(self.resources) * len(self.verbs)
        return per_scope * (len(self.namespaces) + 1) + len(self.urls) * len(self.url_verbs)

    def as_json(self) -> dict[str, Any]:
        return {
            "namespaces": list(self.namespaces),
            "resources": [list(p) for p in self.resources],
            "verbs": list(self.verbs),
            "urls": list(self.urls),
            "url_verbs": list(self.url_verbs),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClusterProbes:
        """Read back :meth:`as_json` (a backup's recorded universe); raises
        :class:`errors.InputError` on another shape."""
        try:
            resources = tuple((str(g), str(r), str(n)) for g, r, n in data["resources"])
            return cls(
                tuple(str(n) for n in data["namespaces"]),
                resources,
                tuple(str(v) for v in data["verbs"]),
                tuple(str(u) for u in data["urls"]),
                tuple(str(v) for v in data["url_verbs"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise errors.InputError(f"a recorded probe universe is malformed: {error}") from None


Universe = Mapping[str, ClusterProbes]
"""Cluster name → its probes."""


def build_universe(topologies: Sequence[Topology]) -> dict[str, ClusterProbes]:
    """One universe for every cluster named in any of ``topologies`` (module doc)."""
    by_name: dict[str, list[Cluster]] = {}
    for topology in topologies:
        for cluster in topology.clusters:
            by_name.setdefault(cluster.name, []).append(cluster)
    return {name: _probes(clusters) for name, clusters in sorted(by_name.items())}


def _probes(clusters: Sequence[Cluster]) -> ClusterProbes:
    namespaces: set[str] = set(BASE_NAMESPACES)
    resources: set[Probe] = {(g, r, "") for g, r in CORE_RESOURCES}
    verbs: set[str] = set(BASE_VERBS)
    urls: set[str] = set()
    url_verbs: set[str] = {"get"}
    for cluster in clusters:
        namespaces.update(_namespaces(cluster))
    for rule in _every_rule(clusters):
        if rule.non_resource_urls:
            urls.update(_concrete_url(u) for u in rule.non_resource_urls if u != rbac.ALL)
            url_verbs.update(v for v in rule.verbs if v != rbac.ALL)
            continue
        verbs.update(v for v in rule.verbs if v != rbac.ALL)
        resources.update(_rule_probes(rule))
    return ClusterProbes(
        tuple(sorted(namespaces)),
        tuple(sorted(resources)),
        tuple(sorted(verbs)),
        tuple(sorted(urls)),
        tuple(sorted(url_verbs)),
    )


def _namespaces(cluster: Cluster) -> Iterator[str]:
    yield from cluster.rbac.role_bindings
    yield from (namespace for namespace, _ in cluster.rbac.roles)
    yield from (namespace for namespace, _ in cluster.service_accounts)
    yield from (a.namespace for a in cluster.pod_identity_associations)
    for entry in cluster.access_entries:
        for _, _, scoped in entry.policies:
            yield from (wildcard_probe(n) if "*" in n else n for n in scoped)


def wildcard_probe(pattern: str) -> str:
    """A namespace an access-scope pattern covers and nothing else names (``dev-*`` →
    ``dev-kubetrust-probe``, E.4): it stands for the namespaces the pattern matches that do
    not exist yet, so a scope ``dev-*`` and bindings in each ``dev-`` namespace of today
    show their honest difference."""
    return pattern.replace("*", WILDCARD_FILL)


def _every_rule(clusters: Sequence[Cluster]) -> Iterator[PolicyRule]:
    for rules in rbac_defaults.CLUSTER_ROLE_RULES.values():
        yield from rules
    for cluster in clusters:
        for role in (*cluster.rbac.cluster_roles.values(), *cluster.rbac.roles.values()):
            yield from role.rules


def _rule_probes(rule: PolicyRule) -> Iterator[Probe]:
    groups = [g for g in rule.api_groups if g != rbac.ALL] or [""]
    for group in groups:
        for resource in rule.resources:
            if resource == rbac.ALL or resource.startswith("*/"):
                continue
            yield group, resource, ""
            for name in rule.resource_names:
                yield group, resource, name


def _concrete_url(url: str) -> str:
    """A path a URL pattern covers (``/healthz/*`` → ``/healthz/``)."""
    return url[:-1] if url.endswith(rbac.ALL) else url


# ------------------------------------------------------------------ the caller


def caller_for(topology: Topology, principal_arn: str) -> kid.Caller:
    """The caller the authenticator sees for an IAM principal: a role → its session named
    :data:`PROOF_SESSION` (no path, B.5) — a node role's (:func:`is_node_role`) named
    :data:`NODE_INSTANCE_ID`, carrying :data:`NODE_DNS_NAME` to render
    ``{{EC2PrivateDNSName}}`` — a user → its ARN; unique IDs from the topology where known
    (E.3). Raises :class:`errors.InputError` for an ARN that is neither."""
    try:
        parsed = arn.parse(principal_arn)
    except errors.InvalidArnError as error:
        raise errors.InputError(f"principal {errors.shown(principal_arn)}: {error}") from None
    if parsed.service == "sts" and parsed.resource_type == "assumed-role":
        role_name = parsed.resource_name.split("/")[0]
        role = topology.role(arn.role_arn(parsed.account, role_name, partition=parsed.partition))
        principal_id = role.role_id if role is not None and role.role_id else UNKNOWN_ID
        session = parsed.resource_name.partition("/")[2] or PROOF_SESSION
        return kid.Caller.of(
            principal_arn, account=parsed.account, principal_id=principal_id, session_name=session
        )
    if parsed.service == "iam" and parsed.resource_type == "role":
        role = topology.role(kid.strip_role_path(principal_arn))
        principal_id = role.role_id if role is not None and role.role_id else UNKNOWN_ID
        node = is_node_role(topology, principal_arn)
        session = NODE_INSTANCE_ID if node else PROOF_SESSION
        session_arn = arn.assumed_role_arn(
            parsed.account, parsed.resource_name, session, partition=parsed.partition
        )
        return kid.Caller.of(
            session_arn,
            account=parsed.account,
            principal_id=principal_id,
            session_name=session,
            private_dns_name=NODE_DNS_NAME if node else "",
        )
    if parsed.service == "iam" and parsed.resource_type == "user":
        user = topology.user(principal_arn)
        principal_id = user.user_id if user is not None and user.user_id else UNKNOWN_ID
        return kid.Caller.of(principal_arn, account=parsed.account, principal_id=principal_id)
    raise errors.InputError(
        f"principal {errors.shown(principal_arn)} is not an IAM role, user or role session"
    )


def is_node_role(topology: Topology, role_arn: str) -> bool:
    """Whether a cluster of ``topology`` maps the role with ``{{EC2PrivateDNSName}}`` — an
    aws-auth mapping, or an ``EC2_LINUX``/``EC2_WINDOWS`` entry (E.2) — so that the proof
    sees it as a node: its session named after an instance, whose DNS name it knows.

    Asked of each world on its own: a migration that keeps the role a node (aws-auth →
    ``EC2_LINUX``) gives it the same caller on both sides; one that stops mapping it as a
    node changes its session name, which only a ``{{SessionName}}`` mapping would show.
    """
    canonical = kid.strip_role_path(role_arn).lower()
    for cluster in topology.clusters:
        if cluster.aws_auth is not None:
            mapping = cluster.aws_auth.find_role(canonical)
            if mapping is not None and _names_ec2_dns(mapping.username, mapping.groups):
                return True
        for entry in kube_links.entry_views(topology, cluster):
            if kid.strip_role_path(entry.principal_arn).lower() != canonical:
                continue
            if _names_ec2_dns(kid.access_entry_username(entry) or "", ()):
                return True
    return False


def _names_ec2_dns(username: str, groups: Iterable[str]) -> bool:
    return any(EC2_DNS_TEMPLATE in text for text in (username, *groups))


def identify(topology: Topology, cluster: Cluster, caller: kid.Caller) -> kid.KubeIdentity | str:
    """The caller's Kubernetes identity on ``cluster`` (mode, entries, aws-auth: E.1), or
    why it has none."""
    chain = kid.mapper_chain(
        cluster.info.authentication_mode,
        access_entries=kube_links.entry_views(topology, cluster),
        aws_auth=cluster.aws_auth,
    )
    result = kid.map_caller(chain, caller)
    return result if isinstance(result, kid.KubeIdentity) else result.reason


def identity_line(cluster: str, identity: kid.KubeIdentity | str, who: str = "") -> str:
    """``k8s NAME: kubernetes user U, groups [G] (via)`` or ``k8s NAME: not mapped (why)``;
    with ``who`` (a role reached by a service account): ``k8s NAME: WHO is kubernetes user
    ...``."""
    subject = f"{who} is " if who else ""
    if isinstance(identity, str):
        return f"k8s {cluster}: {subject}not mapped ({identity})"
    groups = ", ".join(identity.groups)
    grants = ""
    if identity.grants:
        grants = ", access policies " + ", ".join(_grant_text(g) for g in identity.grants)
    return (
        f"k8s {cluster}: {subject}kubernetes user {identity.username}, groups [{groups}]{grants} "
        f"({identity.via})"
    )


def _grant_text(grant: kid.AccessGrant) -> str:
    name = grant.policy_arn.rpartition("/")[2]
    return name if grant.namespaces is None else f"{name} in {', '.join(grant.namespaces)}"


# ------------------------------------------------------------------ the lines


def allowed_lines(
    cluster: Cluster, identity: kid.KubeIdentity, probes: ClusterProbes
) -> frozenset[str]:
    """Every request of ``probes`` the identity may make on ``cluster``, one canonical line
    each (``k8s NAME: list pods in ns default``, ``k8s NAME: get nodes (cluster)``)."""
    masters = rbac_defaults.MASTERS in identity.groups
    found: set[str] = set()
    for namespace in ("", *probes.namespaces):
        rules = () if masters else _rules(cluster, identity, namespace)
        for request in _requests(probes, namespace):
            effective = rbac.normalized(request)
            if effective.namespace != request.namespace:
                continue  # a cluster-scoped resource is asked once, at cluster scope
            if masters or _allows(identity.grants, rules, effective):
                found.add(line(cluster.name, effective))
    found.update(node_authorizer_lines(cluster.name, identity))
    if masters or _url_rules(cluster, identity):
        url_rules = () if masters else _url_rules(cluster, identity)
        for url in probes.urls:
            for verb in probes.url_verbs:
                request = rbac.KubeRequest(verb, path=url)
                if masters or rbac.rules_allow(url_rules, request):
                    found.add(line(cluster.name, request))
    return frozenset(found)


def node_authorizer_lines(cluster: str, identity: kid.KubeIdentity) -> frozenset[str]:
    """What the Node authorizer gives a kubelet, as one line: EKS clusters authorize with
    ``Node`` before ``RBAC``, and it serves exactly a caller named ``system:node:<name>`` in
    group ``system:nodes`` (its reads of the node's own pods, secrets and configmaps, node
    and pod status, CSRs for TLS bootstrapping; Kubernetes "Using Node Authorization").
    kubetrust does not model what it allows request by request; the line says that the
    identity qualifies, so a node that stops qualifying shows as lost."""
    if NODES_GROUP not in identity.groups or not identity.username.startswith(NODE_PREFIX):
        return frozenset()
    node = identity.username.removeprefix(NODE_PREFIX)
    return frozenset({f"k8s {cluster}: what the Node authorizer allows the kubelet of node {node}"})


def _rules(cluster: Cluster, identity: kid.KubeIdentity, namespace: str) -> tuple[PolicyRule, ...]:
    return rbac.rules_for(identity.username, identity.groups, namespace, cluster.rbac)


def _url_rules(cluster: Cluster, identity: kid.KubeIdentity) -> tuple[PolicyRule, ...]:
    return tuple(r for r in _rules(cluster, identity, "") if r.non_resource_urls)


def _allows(
    grants: Iterable[kid.AccessGrant], rules: Sequence[PolicyRule], request: rbac.KubeRequest
) -> bool:
    """``authorize``'s steps 2 and 3 (module doc): an access policy, else an RBAC rule."""
    return bool(rbac.grant_reason(grants, request)) or rbac.rules_allow(rules, request)


def _requests(probes: ClusterProbes, namespace: str) -> Iterator[rbac.KubeRequest]:
    for group, combined, name in probes.resources:
        resource, _, subresource = combined.partition("/")
        for verb in probes.verbs:
            if name and verb in ("list", "watch", "create", "deletecollection"):
                continue  # a named request is one of get/update/patch/delete (upstream)
            if (group, resource) == rbac.NAMESPACES and namespace and not name:
                yield rbac.request_info(verb, resource, group, subresource, namespace, namespace)
                continue
            yield rbac.KubeRequest(verb, resource, group, subresource, namespace, name)


def line(cluster: str, request: rbac.KubeRequest) -> str:
    """The canonical line of one allowed request."""
    if not request.is_resource_request:
        return f"k8s {cluster}: {request.verb} {request.path}"
    what = request.combined + (f".{request.group}" if request.group else "")
    if request.name and (request.group, request.resource) != rbac.NAMESPACES:
        what += f" named {request.name}"
    where = f" in ns {request.namespace}" if request.namespace else " (cluster)"
    return f"k8s {cluster}: {request.verb} {what}{where}"
