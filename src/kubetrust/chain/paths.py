"""Access paths: evaluate a given chain of roles, or find the shortest one to a goal.

:func:`evaluate` decides every link of a chain (service account → role → ... → goal) and
keeps going after a failed link, as if it had passed, so that one run shows every broken
link. :func:`search` finds the chain when none is given: a best-first search from the
service account's roles over ``sts:AssumeRole`` edges (:mod:`kubetrust.chain.graph`),
ordered by (number of failed links, number of links) — the shortest chain that works if one
does, otherwise the chain that needs the fewest fixes. A failed link is only followed when
some policy *intends* it (the trust names the caller, or the caller's identity policy names
the role), so a near-miss chain is a chain someone meant to build.

Where the first role comes from: the service account's EKS Pod Identity association when
the inputs hold one (its role, then its ``targetRoleArn``:
:mod:`kubetrust.chain.pod_identity_links`; the webhook then ignores the IRSA annotation,
F.1); else the service account's
``eks.amazonaws.com/role-arn`` annotation when the inputs hold it (the pod gets exactly that
role, C.2); else every role whose trust policy names an IAM OIDC provider for the cluster's
issuer. Without any of them, on a cluster whose inputs show Pod Identity in use (its
associations read, and the agent add-on or a role trusting ``pods.eks.amazonaws.com`` in
its account), the chain starts with the missing association (:func:`pod_identity_start`).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kubetrust import errors
from kubetrust.chain import context, graph, kube_links, links, pod_identity_links, rbac
from kubetrust.chain import sts as hops
from kubetrust.chain.links import Failure, Kind, Link, Workload
from kubetrust.chain.pod_identity_links import PodIdentityStart
from kubetrust.model.eks import POD_IDENTITY_AGENT_ADDON
from kubetrust.model.iam import Role
from kubetrust.model.topology import Cluster, Topology

MAX_HOPS = 6
"""The longest chain :func:`search` considers (web identity + five AssumeRole hops)."""


@dataclass(frozen=True, slots=True)
class AwsGoal:
    """An AWS ``action`` on ``resource``; ``account`` names the account whose principal must
    do it when the resource ARN does not say (``*``)."""

    action: str
    resource: str
    account: str | None = None

    @property
    def target_account(self) -> str | None:
        return links.account_of(self.resource) or self.account

    def describe(self) -> str:
        return f"{self.action} on {self.resource}"


@dataclass(frozen=True, slots=True)
class KubeGoal:
    """A Kubernetes request in the target cluster (name or ARN)."""

    cluster: str
    request: rbac.KubeRequest

    def describe(self) -> str:
        return f"{self.request.describe()} in cluster {self.cluster}"


Goal = AwsGoal | KubeGoal


@dataclass(frozen=True, slots=True)
class Chain:
    """A decided chain: the roles, every link, and where the first role came from."""

    workload: Workload
    goal: Goal
    roles: tuple[str, ...]
    links: tuple[Link, ...]
    role_source: str = ""
    pod_identity: PodIdentityStart | None = None

    @property
    def allowed(self) -> bool:
        return bool(self.links) and all(link.allowed for link in self.links)

    @property
    def failures(self) -> tuple[Link, ...]:
        return tuple(link for link in self.links if not link.allowed)


def evaluate(
    topology: Topology,
    workload: Workload,
    roles: Sequence[str],
    goal: Goal,
    *,
    session: str = graph.SESSION_NAME,
    role_source: str = "",
    request: context.RequestFacts | None = None,
    hop_params: Sequence[hops.HopParams | None] = (),
    pod_identity: PodIdentityStart | None = None,
    start: Link | None = None,
) -> Chain:
    """Decide every link of the chain ``roles`` (module doc). ``start``: a first link the
    caller decided that gives the session of ``roles[0]`` without web identity (the node
    role through IMDS; its session carries no tags). With ``pod_identity`` the
    chain starts with the pod identity links (``roles`` starts with its roles) instead
    of web identity, and every later session carries its transitive session tags.
    ``request`` holds the facts every call of the chain shares (time, transport…:
    :mod:`kubetrust.chain.context`);
    the region, when not given, is the workload's cluster's (the pod calls STS there).
    ``hop_params[i]``: the source identity and session tags the ``AssumeRole`` into
    ``roles[i]`` passes (``i >= 1``; the first hop's come from the token, and EKS's
    carry none, C.1). Each session carries its source identity and transitive tags into
    the next hop, as the sandbox does (:func:`kubetrust.chain.links.carried_after`)."""
    if not roles:
        raise errors.InputError("a chain needs at least one role")
    cluster = topology.cluster(workload.cluster)
    facts = (request or context.RequestFacts()).with_region(cluster.info.region)
    found: list[Link]
    web_provider: str | None = None
    first_hop = 1
    goal_session = session
    if pod_identity is not None:
        if tuple(roles[: len(pod_identity.roles)]) != pod_identity.roles:
            raise errors.InputError(
                f"the chain must start with the pod identity roles {list(pod_identity.roles)}"
            )
        started = pod_identity_links.evaluate(
            topology, cluster, workload, pod_identity, request=facts
        )
        found = list(started.links)
        carried = started.carried
        first_hop = len(pod_identity.roles)
        if first_hop == len(roles):
            goal_session = started.session
    elif start is not None:
        found = [start]
        carried = hops.Carried()
    else:
        first = links.web_identity(
            topology, cluster, workload, roles[0], session=session, request=facts
        )
        found = [first]
        provider = first.facts.get("provider")
        web_provider = provider if isinstance(provider, str) else None
        carried = hops.Carried()  # an EKS token carries no source identity nor tags (C.1)
    for number, (previous, following) in enumerate(itertools.pairwise(roles), start=1):
        if number < first_hop:
            continue
        params = hop_params[number] if number < len(hop_params) else None
        caller = topology.role(previous)
        if caller is None:
            found.append(
                Link(
                    Kind.ASSUME_ROLE,
                    previous,
                    following,
                    False,
                    failure=Failure.NOT_REACHED,
                    decided_by=(f"`{previous}` is not in the inputs",),
                )
            )
            continue
        found.append(
            links.assume_role(
                topology,
                caller,
                following,
                session=session,
                request=facts,
                federated_provider=web_provider,
                carried=carried,
                params=params,
            )
        )
        carried = links.carried_after(carried, params)
        web_provider = None  # only the first session came from the token
    last = topology.role(roles[-1])
    if last is None:
        found.append(
            Link(
                _goal_kind(goal),
                roles[-1],
                goal.describe(),
                False,
                failure=Failure.NOT_REACHED,
                decided_by=(f"`{roles[-1]}` is not in the inputs",),
            )
        )
    else:
        found.extend(
            goal_links(
                topology,
                last,
                goal,
                session=goal_session,
                request=facts,
                federated_provider=web_provider if len(roles) == 1 else None,
                carried=carried,
            )
        )
    return Chain(workload, goal, tuple(roles), tuple(found), role_source, pod_identity)


def _goal_kind(goal: Goal) -> Kind:
    return Kind.AWS_ACTION if isinstance(goal, AwsGoal) else Kind.KUBE_IDENTITY


def goal_links(
    topology: Topology,
    role: Role,
    goal: Goal,
    *,
    session: str = graph.SESSION_NAME,
    request: context.RequestFacts | None = None,
    federated_provider: str | None = None,
    carried: hops.Carried | None = None,
) -> list[Link]:
    """The goal's links for ``role``'s session: one AWS decision, or mapping then RBAC.
    ``carried``: the session's source identity and tags (its AWS request context)."""
    if isinstance(goal, AwsGoal):
        return [
            links.aws_action(
                topology,
                role,
                goal.action,
                goal.resource,
                session=session,
                request=request,
                federated_provider=federated_provider,
                carried=carried,
            )
        ]
    cluster = topology.cluster(goal.cluster)
    mapping, identity = kube_links.kube_identity(topology, cluster, role, session=session)
    if identity is None:
        return [mapping]
    caller = graph.session_arn(role, session)
    return [mapping, kube_links.kube_rbac(cluster, identity, goal.request, caller)]


# ---------------------------------------------------------------------- search


@dataclass(frozen=True, slots=True)
class Found:
    """What :func:`search` found: the roles (empty when no role is even a candidate) and
    where the first one came from."""

    roles: tuple[str, ...]
    role_source: str
    pod_identity: PodIdentityStart | None = None


IRSA = "irsa"
POD_IDENTITY = "pod-identity"
FEDERATIONS = (IRSA, POD_IDENTITY)
"""How a chain may start (``federation``): web identity, or EKS Pod Identity."""


def pod_identity_start(
    topology: Topology, cluster: Cluster, workload: Workload, federation: str | None = None
) -> PodIdentityStart | None:
    """How the workload's chain starts with Pod Identity, or ``None`` for IRSA (module
    doc). ``federation`` forces one (``irsa``: the association is ignored; ``pod-identity``:
    a missing association is the first failure)."""
    if federation == IRSA:
        return None
    association = cluster.association_for(workload.namespace, workload.name)
    if association is not None:
        return PodIdentityStart.of(association)
    candidates = pod_identity_links.candidates(topology, cluster)
    if federation != POD_IDENTITY:
        annotated, _ = annotated_role(cluster, workload)
        irsa_possible = annotated is not None or bool(
            _federated(graph.TrustIndex.of(topology), cluster)
        )
        in_use = cluster.associations_known and (
            bool(cluster.pod_identity_associations)
            or cluster.has_addon(POD_IDENTITY_AGENT_ADDON) is True
            or bool(candidates)
        )
        if irsa_possible or not in_use:
            return None
    if not candidates:
        return PodIdentityStart(None, "")
    return PodIdentityStart(None, candidates[0].arn)


def annotated_role(cluster: Cluster, workload: Workload) -> tuple[str | None, str]:
    """The role of the service account's annotation, and where it was read."""
    account = cluster.service_accounts.get((workload.namespace, workload.name))
    if account is None or not account.role_arn:
        return None, ""
    return account.role_arn, f"annotation eks.amazonaws.com/role-arn ({account.source})"


def search(
    topology: Topology,
    workload: Workload,
    goal: Goal,
    *,
    index: graph.TrustIndex | None = None,
    judge: graph.EdgeJudge | None = None,
    max_hops: int = MAX_HOPS,
    federation: str | None = None,
) -> Found:
    """The best chain to ``goal`` (module doc); ``index`` and ``judge`` may be shared."""
    cluster = topology.cluster(workload.cluster)
    index = index or graph.TrustIndex.of(topology)
    judge = judge or graph.EdgeJudge(topology)
    start = pod_identity_start(topology, cluster, workload, federation)
    if start is not None:
        return _search_from_pod_identity(
            topology, cluster, workload, goal, start, index, judge, max_hops
        )
    annotated, source = annotated_role(cluster, workload)
    if annotated is not None:
        starts = [annotated]
    else:
        source = "inferred: roles whose trust names the cluster's OIDC provider"
        starts = sorted(r.arn for r in _federated(index, cluster))
    queue: list[_Entry] = []
    for role_arn in starts:
        link = links.web_identity(topology, cluster, workload, role_arn)
        heapq.heappush(queue, (0 if link.allowed else 1, 1, (role_arn,)))
    best = _best_first(topology, queue, _goal_test(topology, goal), index, judge, max_hops)
    if best is None:
        return Found(tuple(starts[:1]), source)
    return Found(best[2], source)


def search_from(
    topology: Topology,
    roles: Sequence[str],
    goal: Goal,
    *,
    index: graph.TrustIndex | None = None,
    judge: graph.EdgeJudge | None = None,
    max_hops: int = MAX_HOPS,
) -> tuple[str, ...] | None:
    """The best chain to ``goal`` starting from sessions the workload already holds (one of
    ``roles``: the node role through IMDS), or ``None`` when none is a candidate."""
    index = index or graph.TrustIndex.of(topology)
    judge = judge or graph.EdgeJudge(topology)
    queue: list[_Entry] = [(0, 1, (role_arn,)) for role_arn in sorted(roles)]
    heapq.heapify(queue)
    best = _best_first(topology, queue, _goal_test(topology, goal), index, judge, max_hops)
    return best[2] if best is not None else None


def _search_from_pod_identity(
    topology: Topology,
    cluster: Cluster,
    workload: Workload,
    goal: Goal,
    start: PodIdentityStart,
    index: graph.TrustIndex,
    judge: graph.EdgeJudge,
    max_hops: int,
) -> Found:
    """The best chain whose first roles are the association's (or the candidate's)."""
    if not start.role_arn:
        return Found((), start.describe(), start)
    evaluated = pod_identity_links.evaluate(topology, cluster, workload, start)
    broken = sum(1 for link in evaluated.links if not link.allowed)
    queue: list[_Entry] = [(broken, len(start.roles), start.roles)]
    best = _best_first(topology, queue, _goal_test(topology, goal), index, judge, max_hops)
    roles = best[2] if best is not None else start.roles
    return Found(roles, start.describe(), start)


_Entry = tuple[int, int, tuple[str, ...]]
"""(failed links, links, roles): the search's priority order."""


def _best_first(
    topology: Topology,
    queue: list[_Entry],
    goal_test: Callable[[Role], bool | None],
    index: graph.TrustIndex,
    judge: graph.EdgeJudge,
    max_hops: int,
) -> _Entry | None:
    best: _Entry | None = None
    settled: set[str] = set()
    while queue:
        broken, length, path = heapq.heappop(queue)
        if best is not None and (broken, length) >= best[:2]:
            break
        node = path[-1]
        role = topology.role(node)
        if node in settled or role is None:
            continue
        settled.add(node)
        verdict = goal_test(role)
        if verdict is not None:
            candidate = (broken + (0 if verdict else 1), length, path)
            best = candidate if best is None or candidate < best else best
        if length > max_hops:
            continue
        for target, allowed in assume_edges(topology, index, judge, role):
            if target.arn not in settled and target.arn not in path:
                step = (broken + (0 if allowed else 1), length + 1, (*path, target.arn))
                heapq.heappush(queue, step)
    return best


def _federated(index: graph.TrustIndex, cluster: Cluster) -> list[Role]:
    issuer = cluster.info.issuer
    if issuer is None:
        return []
    suffix = ":oidc-provider/" + issuer.removeprefix("https://").rstrip("/").lower()
    found: dict[str, Role] = {}
    for key, roles in index.federated.items():
        if key.lower().endswith(suffix):
            for role in roles:
                found[role.arn] = role
    return list(found.values())


def assume_edges(
    topology: Topology, index: graph.TrustIndex, judge: graph.EdgeJudge, caller: Role
) -> list[tuple[Role, bool]]:
    """Intended ``sts:AssumeRole`` edges from ``caller`` and whether each is allowed
    (public: the migration proof walks the same edges, :mod:`kubetrust.migrate`)."""
    return [
        (role, judge.judge(caller, role).allowed)
        for role in assume_candidates(topology, index, caller)
    ]


def assume_candidates(topology: Topology, index: graph.TrustIndex, caller: Role) -> list[Role]:
    """The roles ``caller`` may mean to assume, by ARN: those whose trust names it, and those
    its identity policies allow ``sts:AssumeRole`` on (in its account, trusting everyone, or
    named exactly); never itself."""
    patterns = graph.assume_patterns([d.document for d in topology.permissions(caller).identity])
    candidates: dict[str, Role] = {r.arn: r for r in index.naming(caller)}
    for role in (*index.accounts.get(caller.account, ()), *index.everyone):
        if graph.patterns_match(patterns, role.arn):
            candidates.setdefault(role.arn, role)
    for pattern in patterns:
        if "*" not in pattern and "?" not in pattern:
            named = topology.role(pattern)
            if named is not None:
                candidates.setdefault(named.arn, named)
    candidates.pop(caller.arn, None)
    return [role for _, role in sorted(candidates.items())]


def _goal_test(topology: Topology, goal: Goal) -> Callable[[Role], bool | None]:
    """``True`` if the role reaches the goal, ``False`` if it is meant to (same account as
    the goal, or mapped in the cluster) but does not, ``None`` if it is not a candidate."""
    if isinstance(goal, AwsGoal):
        account = goal.target_account

        def aws(role: Role) -> bool | None:
            (link,) = goal_links(topology, role, goal)
            if link.allowed:
                return True
            return False if account is None or role.account == account else None

        return aws
    cluster = topology.cluster(goal.cluster)

    def kube(role: Role) -> bool | None:
        found = goal_links(topology, role, goal)
        if all(link.allowed for link in found):
            return True
        mapped = found[0].allowed
        return False if mapped or role.account == cluster.info.account else None

    return kube
