"""Who can reach each target role: the organization's assume graph, walked backwards.

Edges (all decided by the engine through :class:`kubetrust.chain.graph.EdgeJudge`, found
through :class:`kubetrust.chain.graph.TrustIndex`):

- ``sts:AssumeRole`` from a role session or a user to a role — allowed, or *conditional*
  when the trust names the caller under a condition the inputs cannot settle
  (``sts:ExternalId``, ``aws:PrincipalOrgID``...): reachable if the condition holds;
- web identity from the service accounts of a cluster to a role whose trust names the
  cluster's OIDC provider in the role's account, described by its ``:sub`` conditions
  (a ``StringEquals`` value with a wildcard never matches and makes no edge);
- AWS services (``ec2.amazonaws.com``: every pod on a node with that instance profile);
- ``sts:AssumeRole`` from a role or user that a trust names by its unique id (A.8).

A *target role* is one that a principal of another account, or a web identity, reaches
directly; for each, :func:`reachers` lists every principal with a path to it — not only
the service account it was built for. Reference A.2 (both sides), B.3 (web identity).
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from kubetrust.chain import graph
from kubetrust.explain import trust_analysis as ta
from kubetrust.explain.audit import forked
from kubetrust.model.iam import Role, User
from kubetrust.model.topology import Topology


@dataclass(frozen=True, slots=True)
class Source:
    """A node that can start or continue a chain: ``kind`` is ``role``, ``user``,
    ``web-identity`` or ``service``; ``key`` is unique; ``label`` is for people."""

    kind: str
    key: str
    label: str
    account: str = ""


@dataclass(slots=True)
class ReachGraph:
    """Incoming edges per role ARN: ``(source key, conditions)``; sources by key."""

    incoming: dict[str, list[tuple[str, tuple[str, ...]]]] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)
    edges: int = 0

    def add(self, source: Source, target: Role, conditions: tuple[str, ...] = ()) -> None:
        self.sources.setdefault(source.key, source)
        self.incoming.setdefault(target.arn, []).append((source.key, conditions))
        self.edges += 1


def _role_source(role: Role) -> Source:
    return Source("role", role.arn, role.arn, role.account)


def _user_source(user: User) -> Source:
    return Source("user", user.arn, user.arn, user.account)


def _assumers(topology: Topology) -> dict[str, list[tuple[Role | User, tuple[str, ...]]]]:
    """Per account, the identities whose policies can allow ``sts:AssumeRole``, with the
    resource patterns they allow it on. In this process even for a large organization:
    measured at 10,000 accounts, a forked child reading half of them saved no wall time
    (about 2 s of reading against the copies of half the heap's pages it touched: 470,000
    more page faults, twice the system time) — the edges' judging is what pays for a child."""
    identities: list[Role | User] = [*topology.roles(), *topology.users()]
    patterns = _assume_patterns(topology, identities)
    found: dict[str, list[tuple[Role | User, tuple[str, ...]]]] = {}
    for identity, allowed in zip(identities, patterns, strict=True):
        if allowed:
            found.setdefault(identity.account, []).append((identity, allowed))
    return found


def _assume_patterns(
    topology: Topology, identities: Sequence[Role | User]
) -> list[tuple[str, ...]]:
    return [
        graph.assume_patterns([d.document for d in topology.permissions(identity).identity])
        for identity in identities
    ]


Candidate = tuple[Role | User, Role, Source]
"""An edge to decide: caller, target role, and the source the caller is in the graph."""


MEANWHILE_CHILD_SHARE = 0.65
"""The forked child's share of the candidates when this process has other work to do while
they are judged (``meanwhile``): at 10,000 accounts of ``benchmarks/scale.py`` the audit's
rules that need no reach graph cost about 6 s of one core, judging every candidate about
15 s, so the child takes about two thirds and both processes end together."""


def build(
    topology: Topology,
    index: graph.TrustIndex,
    judge: graph.EdgeJudge,
    meanwhile: Callable[[], None] | None = None,
) -> ReachGraph:
    """Every edge of the organization (module doc). The assume-role candidates are listed
    first, in the order their edges are added, then judged — on both cores for a large
    organization (:func:`kubetrust.explain.audit.forked.split_map`) — so that the graph is
    the same whichever process judged an edge. ``meanwhile`` runs once, in this process,
    while a forked child judges (its part then the larger; after judging in one process):
    the audit's rules that do not need the graph."""
    reach = ReachGraph()
    candidates: list[Candidate] = []
    _named_edges(topology, index, candidates)
    _unique_id_edges(topology, index, candidates)
    assumers = _assumers(topology)
    for account, targets in index.accounts.items():
        _pattern_edges(assumers.get(account, ()), targets, candidates)
    if index.everyone:
        everyone = [pair for pairs in assumers.values() for pair in pairs]
        _pattern_edges(everyone, index.everyone, candidates)
    verdicts = forked.split_map(
        candidates,
        functools.partial(_verdicts, judge),
        meanwhile=meanwhile,
        child_share=MEANWHILE_CHILD_SHARE if meanwhile is not None else 0.5,
    )
    for (_, target, source), verdict in zip(candidates, verdicts, strict=True):
        if verdict is True:
            reach.add(source, target)
        elif verdict:
            reach.add(source, target, verdict)
    _web_edges(topology, index, reach)
    for service, roles in index.services.items():
        label = (
            "EC2 instances (every pod on the nodes with the instance profile)"
            if service == "ec2.amazonaws.com"
            else f"AWS service {service}"
        )
        source = Source("service", f"service:{service}", label)
        for role in roles:
            reach.add(source, role)
    return reach


def _verdicts(
    judge: graph.EdgeJudge, candidates: Sequence[Candidate]
) -> list[bool | tuple[str, ...]]:
    """Each candidate's verdict, compact (it may cross a pipe): ``True`` allowed, the
    conditions when conditional, ``False`` (or ``()``) for no edge."""
    found: list[bool | tuple[str, ...]] = []
    for caller, target, _ in candidates:
        verdict = judge.judge(caller, target)
        found.append(True if verdict.allowed else verdict.conditional or False)
    return found


def _named_edges(topology: Topology, index: graph.TrustIndex, candidates: list[Candidate]) -> None:
    for (account, name), targets in index.roles.items():
        iam = topology.accounts.get(account)
        caller = iam.role(name) if iam is not None else None
        if caller is None or caller.name != name:
            continue  # names compare exactly in principals (A.8)
        for target in targets:
            _candidate(caller, target, _role_source(caller), candidates)
    for principal, targets in index.exact.items():
        user = topology.user(principal)
        if user is None or user.arn != principal:
            continue
        for target in targets:
            _candidate(user, target, _user_source(user), candidates)


def _unique_id_edges(
    topology: Topology, index: graph.TrustIndex, candidates: list[Candidate]
) -> None:
    """Trusts naming a role or user of the inputs by its unique id (``AROA…``/``AIDA…``,
    reference A.8), from the index's ``unique`` entries. An id no principal of the inputs
    holds (a deleted principal's) makes no edge; a trust naming the caller by ARN as well
    made its edge in :func:`_named_edges` already."""
    if not index.unique:
        return
    holders: dict[str, Role | User] = {r.role_id: r for r in topology.roles() if r.role_id}
    holders.update({u.user_id: u for u in topology.users() if u.user_id})
    for unique_id, targets in index.unique.items():
        caller = holders.get(unique_id)
        if caller is None:
            continue
        by_arn = {r.arn for r in _named_by_arn(index, caller)}
        source = _role_source(caller) if isinstance(caller, Role) else _user_source(caller)
        for target in targets:
            if target.arn not in by_arn:
                _candidate(caller, target, source, candidates)


def _named_by_arn(index: graph.TrustIndex, caller: Role | User) -> list[Role]:
    """The roles whose trust names ``caller`` by its ARN (what :func:`_named_edges` saw)."""
    if isinstance(caller, Role):
        return index.roles.get((caller.account, caller.name), [])
    return index.exact.get(caller.arn, [])


def _pattern_edges(
    callers: Iterable[tuple[Role | User, tuple[str, ...]]],
    targets: list[Role],
    candidates: list[Candidate],
) -> None:
    for caller, patterns in callers:
        for target in targets:
            if target.arn == caller.arn or not graph.patterns_match(patterns, target.arn):
                continue
            source = _role_source(caller) if isinstance(caller, Role) else _user_source(caller)
            _candidate(caller, target, source, candidates)


def _candidate(
    caller: Role | User, target: Role, source: Source, candidates: list[Candidate]
) -> None:
    if caller.arn != target.arn:
        candidates.append((caller, target, source))


def _web_edges(topology: Topology, index: graph.TrustIndex, reach: ReachGraph) -> None:
    issuers = {
        (c.info.issuer or "").removeprefix("https://").rstrip("/"): c.info.name
        for c in topology.clusters
    }
    for provider_key, roles in index.federated.items():
        url = ta.provider_url(provider_key)
        if url is None:
            continue
        cluster = issuers.get(url, f"issuer {url}")
        for role in roles:
            if role.trust is None or provider_key.split(":")[4] != role.account:
                continue  # STS looks for the provider in the role's account only (B.2)
            if topology.provider(role.account, url) is None:
                continue
            for statement in ta.irsa_statements(role.trust):
                if provider_key.lower() not in (p.lower() for p in statement.providers):
                    continue
                scope = _subjects(statement)
                if scope is None:
                    continue
                key = f"web:{cluster}:{scope}"
                label = f"service accounts of {cluster} matching {scope}"
                reach.add(Source("web-identity", key, label), role)


def _subjects(statement: ta.IrsaStatement) -> str | None:
    """The subjects a statement admits, in words; ``None`` when it admits none."""
    if not statement.sub:
        return "any subject (no :sub condition)"
    values: list[str] = []
    for condition in statement.sub:
        if condition.base.lower().startswith("stringequals"):
            usable = [v for v in condition.values if v not in ta.literal_wildcards(condition)]
            values += usable
        else:
            values += list(condition.values)
    return ", ".join(sorted(values)) if values else None


def targets(topology: Topology, reach: ReachGraph) -> list[Role]:
    """Roles reached directly from another account or by a web identity (module doc)."""
    found = []
    for role in topology.roles():
        for key, _ in reach.incoming.get(role.arn, ()):
            source = reach.sources[key]
            if source.kind == "web-identity" or (source.account and source.account != role.account):
                found.append(role)
                break
    return found


def reachers(reach: ReachGraph, role_arn: str) -> list[tuple[Source, bool]]:
    """Every source with a path to ``role_arn``, and whether every path to it is
    conditional (breadth-first, backwards)."""
    seen: dict[str, bool] = {}
    queue: deque[tuple[str, bool]] = deque([(role_arn, False)])
    while queue:
        node, conditional = queue.popleft()
        for key, conditions in reach.incoming.get(node, ()):
            via_condition = conditional or bool(conditions)
            if key in seen and (not seen[key] or via_condition):
                continue
            seen[key] = via_condition
            if key != role_arn:
                queue.append((key, via_condition))
    seen.pop(role_arn, None)
    return [(reach.sources[key], conditional) for key, conditional in sorted(seen.items())]
