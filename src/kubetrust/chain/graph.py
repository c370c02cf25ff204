"""Who can assume what: candidate edges found through indexes, decided by the engine.

Evaluating every (caller, role) pair of an organization is quadratic (10⁵ roles → 10¹⁰
pairs), so candidates come from two indexes built once from the policies' text:

- :class:`TrustIndex`: for every role, the principals its trust policy names in an Allow
  statement whose action can match ``sts:AssumeRole`` (or ``sts:AssumeRoleWithWebIdentity``
  for federated principals): role ARNs (by account and name: a trust names a role, and every
  session of it, whatever the path, reference A.8), accounts (``:root`` or the bare id), user
  ARNs, unique ids (``AROA…``/``AIDA…``: a trust whose principal was deleted shows them,
  and they still name the one principal that holds the id, A.8), ``"*"``, federated
  providers and services;
- caller *intent*: the resource patterns of every identity's Allow statements whose action
  can match ``sts:AssumeRole`` (:func:`assume_patterns`). A trust naming an account (or
  ``"*"``) admits only those callers of the account whose identity policy allows the call
  (PMapper's ``ROOT_MATCH``), so the patterns filter the account's identities.

Every candidate is then decided by the policy engine (:class:`EdgeJudge`). Across accounts a
hop is allowed only when both evaluations allow (A.2): the caller side (identity policies,
boundary, SCPs, with a trust that delegates to the caller's account) and the trust side (the
trust policy and RCPs, with an allow-all identity) — the same two decisions
:func:`kubetrust.chain.sts.assume_role` keeps, computed here with one compiled policy set per
role instead of three per pair. Within one account the union rules are subtler (a trust
naming the role suffices, one naming the account does not), so same-account pairs go
through :func:`kubetrust.chain.sts.assume_role` itself.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from kubetrust import arn, policy
from kubetrust.chain import context, parties
from kubetrust.chain import sts as hops
from kubetrust.chain.topology_parties import TopologyDirectory, caller_of
from kubetrust.model.iam import Role, User
from kubetrust.model.topology import Topology
from kubetrust.policy import matching, principals
from kubetrust.policy import sts as sts_requests
from kubetrust.policy.document import PolicyDocument, Statement

ASSUME_ROLE = "sts:assumerole"
WEB_IDENTITY = "sts:assumerolewithwebidentity"
SESSION_NAME = "kubetrust"
"""The session name explain and audit give the sessions they reason about."""

Identity = Role | User
_T = TypeVar("_T")


@functools.lru_cache(maxsize=65536)
def glob(patterns: tuple[str, ...], mode: str) -> matching.Glob:
    """The engine's matcher for ``patterns`` (``matching.ACTION`` or ``RESOURCE``), cached:
    an organization repeats the same few action lists in thousands of statements."""
    return matching.compile_globs(patterns, mode)


_ACTION_MATCHES: dict[tuple[tuple[str, ...], str], bool] = {}
_ACTION_MATCHES_LIMIT = 1 << 16


def _patterns_cover(patterns: tuple[str, ...], action: str) -> bool:
    """``glob(patterns, ACTION).fullmatch(action)``, remembered per (patterns, action): the
    trust index, the audit's intents and its trust rules ask it of every statement of a
    million roles for two or three actions, over a few distinct action lists — a dict
    lookup instead of a cache lookup, a case fold and a set or regex match each time."""
    key = (patterns, action)
    found = _ACTION_MATCHES.get(key)
    if found is None:
        if len(_ACTION_MATCHES) >= _ACTION_MATCHES_LIMIT:
            _ACTION_MATCHES.clear()
        found = bool(glob(patterns, matching.ACTION).fullmatch(action))
        _ACTION_MATCHES[key] = found
    return found


def action_matches(statement: Statement, action: str) -> bool:
    """Whether the statement's Action/NotAction covers ``action`` (lower-cased)."""
    if statement.action is not None:
        return _patterns_cover(statement.action, action)
    return not _patterns_cover(statement.not_action or (), action)


def _statement_allows(document: PolicyDocument, action: str) -> Iterator[int]:
    """Indexes of Allow statements whose Action/NotAction can match ``action``."""
    for index, statement in enumerate(document.statements):
        if statement.effect == "Allow" and action_matches(statement, action):
            yield index


_INDEX_MEMO = "chain.graph.TrustIndex"


@dataclass(slots=True)
class TrustIndex:
    """Which roles' trust policies name a principal (see module doc)."""

    roles: dict[tuple[str, str], list[Role]] = field(default_factory=dict)
    accounts: dict[str, list[Role]] = field(default_factory=dict)
    exact: dict[str, list[Role]] = field(default_factory=dict)
    everyone: list[Role] = field(default_factory=list)
    federated: dict[str, list[Role]] = field(default_factory=dict)
    """Keyed by the provider ARN as written (IAM compares it ignoring case)."""
    services: dict[str, list[Role]] = field(default_factory=dict)
    unique: dict[str, list[Role]] = field(default_factory=dict)
    """Keyed by the role's or user's unique id as written (``AROA…``/``AIDA…``)."""

    @classmethod
    def of(cls, topology: Topology) -> TrustIndex:
        """The index of every role of ``topology``, built on first use and kept with it
        (:attr:`Topology.memo`): an audit and each explain over one topology share it."""
        found = topology.memo.get(_INDEX_MEMO)
        if not isinstance(found, TrustIndex):
            found = cls.build(topology.roles())
            topology.memo[_INDEX_MEMO] = found
        return found

    @classmethod
    def build(cls, roles: Iterator[Role]) -> TrustIndex:
        """Index ``roles``. What a trust names depends on the document alone, and equal
        documents are one object (:mod:`kubetrust.policy.interning`: the trusts a template
        stamps out in every account), so each document is read once per run of
        :data:`_NAMED_LIMIT` distinct ones and its names filed for every role holding it."""
        index = cls()
        named: dict[int, tuple[PolicyDocument, tuple[tuple[str, str], ...]]] = {}
        for role in roles:
            trust = role.trust
            if trust is None:
                continue
            found = named.get(id(trust))
            if found is None:
                if len(named) >= _NAMED_LIMIT:
                    named.clear()
                found = named[id(trust)] = (trust, trust_names(trust))  # held: ids stay unique
            for kind, key in found[1]:
                index._file(kind, key, role)
        return index

    def add(self, role: Role, trust: PolicyDocument) -> None:
        for kind, key in trust_names(trust):
            self._file(kind, key, role)

    def _file(self, kind: str, key: str, role: Role) -> None:
        if kind == "*":
            self.everyone.append(role)
        elif kind == "account":
            self.accounts.setdefault(key, []).append(role)
        elif kind == "role":
            account, name = key.split(":", 1)
            self.roles.setdefault((account, name), []).append(role)
        elif kind == "exact":
            self.exact.setdefault(key, []).append(role)
        elif kind == "federated":
            self.federated.setdefault(key, []).append(role)
        elif kind == "unique":
            self.unique.setdefault(key, []).append(role)
        else:
            self.services.setdefault(key, []).append(role)

    def naming(self, caller: Identity) -> list[Role]:
        """Roles whose trust names ``caller`` itself: its role or user ARN, or its unique
        id (only the id ``caller`` holds now: a deleted namesake's id names nobody)."""
        if isinstance(caller, Role):
            by_name = self.roles.get((caller.account, caller.name), ())
            by_id = self.unique.get(caller.role_id, ()) if caller.role_id else ()
        else:
            by_name = self.exact.get(caller.arn, ())
            by_id = self.unique.get(caller.user_id, ()) if caller.user_id else ()
        found = {role.arn: role for role in (*by_name, *by_id)}
        return list(found.values())


_NAMED_LIMIT = 65536
"""Trust documents whose names one index build remembers (emptied when full)."""


def trust_names(trust: PolicyDocument) -> tuple[tuple[str, str], ...]:
    """What ``trust`` lets assume its role, as ``(kind, key)`` index entries, each once, in
    the order met: ``("*", "")`` everyone, ``("account", ID)``, ``("role", "ID:NAME")``,
    ``("exact", ARN)`` (users and other principals), ``("unique", AROA…)``,
    ``("service", name)`` for ``sts:AssumeRole``; ``("federated", provider ARN)`` for web
    identity."""
    names: dict[tuple[str, str], None] = {}
    assume = set(_statement_allows(trust, ASSUME_ROLE))
    web = set(_statement_allows(trust, WEB_IDENTITY))
    for number, statement in enumerate(trust.statements):
        block = statement.principal
        if block is None or (number not in assume and number not in web):
            continue
        if number in assume:
            if block.everyone:
                names["*", ""] = None
            for entry in block.aws:
                names[_aws_name(entry)] = None
            for service in block.service:
                names["service", service.lower()] = None
        if number in web:
            for provider in block.federated:
                names["federated", provider] = None
    names.pop(("", ""), None)  # an entry no index holds
    return tuple(names)


def _aws_name(entry: str) -> tuple[str, str]:
    if principals.unique_id_kind(entry) is not None:
        return "unique", entry
    if entry.isdigit():
        return "account", entry
    try:
        parsed = arn.parse(entry)
    except Exception:  # the parser already accepted it; be safe with odd stored forms
        return "", ""
    if parsed.resource_type == "root":
        return "account", parsed.account
    if parsed.service == "iam" and parsed.resource_type == "role":
        return "role", f"{parsed.account}:{parsed.resource_name}"
    return "exact", entry


def assume_patterns(documents: Sequence[PolicyDocument]) -> tuple[str, ...]:
    """Resource patterns of the Allow statements that can grant ``sts:AssumeRole``
    (``NotResource`` statements count as ``*``: they allow all but a few)."""
    patterns: list[str] = []
    for document in documents:
        for index in _statement_allows(document, ASSUME_ROLE):
            statement = document.statements[index]
            patterns.extend(statement.resource if statement.resource is not None else ("*",))
    return tuple(dict.fromkeys(patterns))


def patterns_match(patterns: tuple[str, ...], role_arn: str) -> bool:
    """Whether any resource pattern matches the role ARN (the engine's resource rules)."""
    return bool(patterns) and bool(glob(patterns, matching.RESOURCE).fullmatch(role_arn))


def session_arn(role: Role, session: str = SESSION_NAME) -> str:
    """The ARN STS gives a session of ``role`` (no path, B.5)."""
    return arn.assumed_role_arn(role.account, role.name, session, partition=role.arn.split(":")[1])


def caller_arn(caller: Identity, session: str = SESSION_NAME) -> str:
    return session_arn(caller, session) if isinstance(caller, Role) else caller.arn


def caller_side(topology: Topology, caller: Identity) -> hops.CallerSide:
    """Identity policies, boundary and SCPs of ``caller`` (no session policies), gathered
    as the sandbox gathers them (:func:`kubetrust.chain.parties.caller_side`)."""
    return parties.caller_side(TopologyDirectory(topology), caller_of(caller, SESSION_NAME))


def role_side(topology: Topology, role: Role) -> hops.RoleSide:
    """``role`` as the assume call's resource (:func:`kubetrust.chain.parties.role_side`);
    a role whose trust could not be parsed trusts nobody."""
    return parties.role_side(
        TopologyDirectory(topology),
        arn=role.arn,
        account=role.account,
        trust=role.trust if role.trust is not None else _NOBODY,
        max_session_duration=role.max_session_duration,
        tags=role.tags,
    )


def org_of(topology: Topology | None, account: str | None) -> context.Org | None:
    """The organization membership of ``account`` as the request context shows it
    (:class:`kubetrust.chain.context.Org`), when the inputs hold it; ``None`` otherwise,
    and the org keys stay absent, as for an account outside any organization."""
    return TopologyDirectory(topology).org(account)


def principal(
    caller: Identity,
    session: str = SESSION_NAME,
    *,
    request: context.RequestFacts | None = None,
    federated_provider: str | None = None,
    topology: Topology | None = None,
    carried: hops.Carried | None = None,
) -> context.Principal:
    """The context's view of ``caller`` (:mod:`kubetrust.chain.context`): a role session
    named ``session`` — ``aws:PrincipalArn`` the role's ARN with its path (B.4), its tags,
    ``aws:userid`` ``AROA…:session``, temporary credentials issued at the request's time,
    without MFA — or an IAM user with its long-term keys. ``federated_provider`` for the
    session AssumeRoleWithWebIdentity issued. ``topology``: where the caller's account's
    organization is found (``aws:PrincipalOrgID``/``…Paths``); without it they are absent.
    ``carried``: what the hop that made the session set (session tags over the role's,
    ``aws:SourceIdentity``), as the sandbox keeps it on the session's credentials. The
    rules are the sandbox's (:func:`kubetrust.chain.parties.principal`)."""
    who = caller_of(
        caller, session, request=request, federated_provider=federated_provider, carried=carried
    )
    return parties.principal(TopologyDirectory(topology), who)


def caller_context(
    caller: Identity,
    session: str = SESSION_NAME,
    *,
    request: context.RequestFacts | None = None,
    federated_provider: str | None = None,
    topology: Topology | None = None,
    carried: hops.Carried | None = None,
) -> dict[str, object]:
    """Every key ``caller``'s request carries that does not depend on the resource: the
    principal's (:func:`principal`) and the request's own (time, transport, region)."""
    facts = request or context.RequestFacts()
    who = caller_of(
        caller, session, request=facts, federated_provider=federated_provider, carried=carried
    )
    return parties.caller_context(TopologyDirectory(topology), who, facts)


_NOBODY = policy.parse_policy(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}],
    },
    policy.PolicyKind.TRUST,
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A decided edge: ``allowed``; ``conditional`` lists the conditions that failed in
    statements that otherwise name the caller (an ``sts:ExternalId``, an
    ``aws:PrincipalOrgID`` the inputs cannot tell): reachable if they hold."""

    allowed: bool
    conditional: tuple[str, ...] = ()


class EdgeJudge:
    """Decide ``sts:AssumeRole`` edges with one compiled policy set per role (module doc).

    What does not depend on the pair is built once and kept: per caller its ARN, request
    keys, caller side and compiled caller-side set; per target its role side, the keys it
    adds and its compiled trust-side set. An audit judges each caller against many targets
    (and each target against many callers), so per-pair work is only the request and the
    decisions (``benchmarks/scale.py``)."""

    MEMO_LIMIT = 65536
    """Callers or targets kept (the memo is emptied when full: a bound, not an LRU)."""

    def __init__(self, topology: Topology, request: context.RequestFacts | None = None) -> None:
        self.topology = topology
        self.request = request  # the facts of the calls judged (time, region…: .context)
        self._caller_sets: dict[str, policy.PolicySet] = {}
        self._trust_sets: dict[str, policy.PolicySet] = {}
        self._callers: dict[str, _CallerFacts] = {}
        self._targets: dict[str, _TargetFacts] = {}

    def _caller_set(self, caller: Identity) -> policy.PolicySet:
        found = self._caller_sets.get(caller.arn)
        if found is None:
            side = self._caller(caller).side
            found = hops.caller_side_policy_set(caller_arn(caller), side)
            self._caller_sets[caller.arn] = found
        return found

    def _trust_set(self, role: Role) -> policy.PolicySet:
        found = self._trust_sets.get(role.arn)
        if found is None:
            found = hops.trust_side_policy_set(self._target(role).side)
            self._trust_sets[role.arn] = found
        return found

    def _caller(self, caller: Identity) -> _CallerFacts:
        found = self._callers.get(caller.arn)
        if found is None or found.identity is not caller:
            found = _CallerFacts(
                caller,
                caller_arn(caller),
                caller_context(caller, request=self.request, topology=self.topology),
                caller_side(self.topology, caller),
            )
            _remember(self._callers, caller.arn, found, self.MEMO_LIMIT)
        return found

    def _target(self, role: Role) -> _TargetFacts:
        found = self._targets.get(role.arn)
        if found is None or found.role is not role:
            side = role_side(self.topology, role)
            found = _TargetFacts(role, side, side.context(self.request))
            _remember(self._targets, role.arn, found, self.MEMO_LIMIT)
        return found

    def judge(self, caller: Identity, target: Role) -> Verdict:
        """Whether ``caller`` may assume ``target`` (sessions named :data:`SESSION_NAME`)."""
        who = self._caller(caller)
        role = self._target(target)
        (request,) = sts_requests.assume_role_requests(
            who.principal,
            target.arn,
            session_name=SESSION_NAME,
            context={**role.keys, **who.keys},
        )
        if caller.account == target.account:
            return self._same_account(request, who, role)
        trust = policy.authorize(request, self._trust_set(target))
        if not trust.allowed:
            conditional = _conditions(trust)
            if conditional and policy.authorize(request, self._caller_set(caller)).allowed:
                return Verdict(False, conditional)
            return Verdict(False)
        return Verdict(policy.authorize(request, self._caller_set(caller)).allowed)

    def _same_account(
        self, request: policy.Request, who: _CallerFacts, role: _TargetFacts
    ) -> Verdict:
        """Within one account the trust and the identity policies are one union (A.2):
        the decision :func:`kubetrust.chain.sts.assume_role` calls ``decision`` (its full
        set), and, when that denies, its trust-side decision for the near misses — the
        same sets, built here without the per-pair caller-only set it also computes."""
        side = who.side
        full = policy.PolicySet(
            identity=side.identity,
            resource=role.side.trust,
            boundaries=side.boundaries,
            session=side.session,
            scps=side.scps,
            rcps=role.side.rcps,
            resource_kind="trust",
        )
        if policy.authorize(request, full).allowed:
            return Verdict(True)
        return Verdict(False, _conditions(policy.authorize(request, self._trust_set(role.role))))


@dataclass(frozen=True, slots=True)
class _CallerFacts:
    identity: Identity
    principal: str
    keys: dict[str, object]
    side: hops.CallerSide


@dataclass(frozen=True, slots=True)
class _TargetFacts:
    role: Role
    side: hops.RoleSide
    keys: dict[str, object]


def _remember(memo: dict[str, _T], key: str, value: _T, limit: int) -> None:
    if len(memo) >= limit:
        memo.clear()
    memo[key] = value


def _conditions(decision: policy.Decision) -> tuple[str, ...]:
    """The unmet conditions of statements that named the caller (the engine's near misses),
    when nothing denied explicitly."""
    if decision.outcome is policy.Outcome.EXPLICIT_DENY:
        return ()
    return tuple(dict.fromkeys(r.detail for r in decision.reasons if r.effect == "NotApplicable"))
