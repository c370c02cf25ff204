"""Combine every applicable policy kind into one decision, in AWS's order.

This is the *authorizer* half of the Cedar split: it asks :mod:`evaluator` which statements
apply and combines them as AWS documents (reference A.1, A.2; IAM User Guide "Policy
evaluation logic", "Cross-account policy evaluation logic"):

1. **Explicit-deny sweep** over SCPs, RCPs, the resource policy, identity policies,
   permissions boundaries and session policies: one applicable Deny decides.
2. **RCPs**, then **SCPs**, given as levels (organization root → OUs → account): every level
   must hold an applicable Allow. SCPs limit IAM principals of the caller's account
   (users, role sessions, the root user); RCPs limit the resource's account, whoever asks.
3. **Resource-based policy.** Same account: its Allow is a union with the identity side,
   graded by how it names the caller — the *account* delegates back to identity policies;
   the *role* grants its sessions but stays limited by an implicit deny of the boundary or
   the session policy; the *session* ARN, the *user* ARN, the *federated user* ARN and
   ``"*"`` grant directly. Cross-account:
   both sides must allow (identity side in the trusted account, resource policy in the
   trusting one). Role trust policies and KMS key policies must allow explicitly: without
   their Allow nothing else helps, and an ``sts:AssumeRole*`` request on a role with no trust
   policy given is denied.
4. **Identity side**: an identity-policy Allow, within every permissions boundary, within
   the session policies when there are any (several session policies are one set: any of
   them may allow). The account root user has an implicit identity Allow. A federated user
   session (GetFederationToken) without a session policy has no permissions (A.1 step 8).

The account root user cannot assume roles at all (STS API reference, AssumeRole: "You
cannot use AWS account root user credentials to call AssumeRole"): such a request is an
implicit deny whatever the policies say.

Inputs that are not IAM identities (AWS services, web-identity and SAML providers,
anonymous callers) have no identity side: only a resource policy can admit them.

What "conservative" means on a problem (an unreadable request value): the value matches
nothing, so a positive condition fails and a negated one holds — exactly AWS's missing-key
rule — and the problem is listed on the decision. Unknown operators never get here: the
parser rejects them, as IAM does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from kubetrust import arn, errors
from kubetrust.policy import evaluator, principals, validate
from kubetrust.policy.decision import Decision, Outcome, Reason, ReasonKind
from kubetrust.policy.document import PolicyDocument, PolicyKind

DocumentInput = str | Mapping[str, Any] | PolicyDocument
"""A policy as JSON text, a mapping, or an already parsed document."""

_ASSUME_ACTIONS = frozenset(
    {
        "sts:assumerole",
        "sts:assumerolewithwebidentity",
        "sts:assumerolewithsaml",
        "sts:tagsession",
        "sts:setsourceidentity",
        "sts:setcontext",
    }
)
_ROLE_RESOURCE = re.compile(rf"arn:[a-z\-]+:iam::{arn.ACCOUNT_ID.pattern}:role/")
_KMS_KEY = re.compile(r"arn:[a-z\-]+:kms:")


class Request:
    """One request to authorize: who, what, on which resource, with which context.

    ``context`` maps condition keys (any case) to a string, a list of strings, a boolean or
    a number. Keys AWS always sets are derived from the principal unless given:
    ``aws:PrincipalArn`` (the role ARN for a session, B.4), ``aws:PrincipalAccount``,
    ``aws:PrincipalType``, ``aws:username`` (IAM users only), ``aws:PrincipalIsAWSService``.
    ``resource_account`` overrides the account taken from the resource ARN.
    """

    __slots__ = ("action", "context", "principal", "resource", "resource_account")

    def __init__(
        self,
        principal: str,
        action: str,
        resource: str = "*",
        context: Mapping[str, object] | None = None,
        resource_account: str | None = None,
    ) -> None:
        if not isinstance(principal, str) or not principal:
            raise errors.InputError("request principal must be a non-empty string")
        if not isinstance(action, str) or ":" not in action:
            raise errors.InputError("request action must be a string like `service:Name`")
        if context is not None and not isinstance(context, Mapping):
            raise errors.InputError("request context must be an object of key → value(s)")
        if not isinstance(resource, str) or not resource:
            raise errors.InputError("request resource must be a non-empty string (or `*`)")
        _check_account(resource_account)
        self.principal = principal
        self.action = action
        self.resource = resource
        self.context = context
        self.resource_account = resource_account

    def __repr__(self) -> str:
        return (
            f"Request(principal={self.principal!r}, action={self.action!r}, "
            f"resource={self.resource!r})"
        )


class PolicySet:
    """Every policy that bears on a request, parsed and compiled once, reusable.

    ``scps`` and ``rcps`` are lists of levels (root, OUs..., account), each a list of
    documents; an empty list means "no organization". ``resource_kind`` is ``"resource"``
    or ``"trust"``; by default a resource policy without any ``Resource`` element is read
    as a role trust policy.
    """

    def __init__(
        self,
        identity: Iterable[DocumentInput] = (),
        resource: DocumentInput | None = None,
        resource_account: str | None = None,
        boundaries: Iterable[DocumentInput] = (),
        session: Iterable[DocumentInput] = (),
        scps: Iterable[Iterable[DocumentInput]] = (),
        rcps: Iterable[Iterable[DocumentInput]] = (),
        resource_kind: str | None = None,
    ) -> None:
        _check_account(resource_account)
        self.resource_account = resource_account
        self.identity = _group("identity", PolicyKind.IDENTITY, "identity", identity)
        self.boundaries = tuple(
            _group("boundary", PolicyKind.BOUNDARY, f"boundary[{i}]", [doc], single=True)
            for i, doc in enumerate(_listed(boundaries, "boundaries"))
        )
        session_docs = _listed(session, "session")
        self.session = (
            _group("session", PolicyKind.SESSION, "session", session_docs) if session_docs else None
        )
        self.scp_levels = _levels("scp", PolicyKind.SCP, scps)
        self.rcp_levels = _levels("rcp", PolicyKind.RCP, rcps)
        self.resource: evaluator.StatementGroup | None = None
        self.resource_is_trust = False
        if resource is not None:
            kind = _resource_kind(resource, resource_kind)
            if kind not in (PolicyKind.RESOURCE, PolicyKind.TRUST):
                raise errors.InputError(f"a {kind.value} policy cannot be a resource policy")
            self.resource_is_trust = kind is PolicyKind.TRUST
            side: ReasonKind = "trust" if self.resource_is_trust else "resource"
            self.resource = _group(side, kind, kind.value, [resource], single=True)
        self._plans: dict[str, _Plan] = {}


def _check_account(value: object) -> None:
    if value is not None and not (isinstance(value, str) and arn.is_account_id(value)):
        raise errors.InputError(f"resource account {errors.shown(value)} is not 12 digits")


@functools.lru_cache(maxsize=2048)
def _cached_policy_set(key: tuple[Any, ...]) -> PolicySet:
    identity, resource, account, boundaries, session, scps, rcps, kind = key
    return PolicySet(identity, resource, account, boundaries, session, scps, rcps, kind)


def policy_set(
    identity: Iterable[DocumentInput] = (),
    resource: DocumentInput | None = None,
    resource_account: str | None = None,
    boundaries: Iterable[DocumentInput] = (),
    session: Iterable[DocumentInput] = (),
    scps: Iterable[Iterable[DocumentInput]] = (),
    rcps: Iterable[Iterable[DocumentInput]] = (),
    resource_kind: str | None = None,
) -> PolicySet:
    """A :class:`PolicySet`, compiled once per distinct set of documents and reused.

    A server that authorizes every request (the sandbox) sees the same few policy sets
    again and again; parsing and compiling them is most of the cost of a decision. When
    every document is JSON text the set is cached by that text (bounded LRU); documents
    given as mappings are compiled each time.
    """
    key = (
        tuple(_listed(identity, "identity")),
        resource,
        resource_account,
        tuple(_listed(boundaries, "boundaries")),
        tuple(_listed(session, "session")),
        tuple(tuple(_listed(level, "scps")) for level in _listed(scps, "scps")),
        tuple(tuple(_listed(level, "rcps")) for level in _listed(rcps, "rcps")),
        resource_kind,
    )
    try:
        hash(key)
    except TypeError:  # a document given as a mapping: compile without the cache
        return PolicySet(*key)
    return _cached_policy_set(key)


def _listed(documents: Iterable[Any] | None, name: str) -> list[Any]:
    if documents is None:
        return []
    if isinstance(documents, str | bytes | Mapping | PolicyDocument) or not isinstance(
        documents, Iterable
    ):
        raise errors.InputError(f"`{name}` must be a list of policy documents")
    return list(documents)


_SAME_GRAMMAR = {
    # Kinds whose documents follow one grammar (no Principal, Resource required), so a
    # document parsed as one may fill the slot of another.
    PolicyKind.IDENTITY: frozenset(
        {PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.SCP}
    ),
    PolicyKind.RESOURCE: frozenset({PolicyKind.RESOURCE}),
    PolicyKind.TRUST: frozenset({PolicyKind.TRUST}),
    PolicyKind.RCP: frozenset({PolicyKind.RCP}),
}
_SAME_GRAMMAR.update(
    {
        k: _SAME_GRAMMAR[PolicyKind.IDENTITY]
        for k in (PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.SCP)
    }
)


def _parse(document: DocumentInput, kind: PolicyKind, where: str) -> PolicyDocument:
    if isinstance(document, PolicyDocument):
        if document.kind not in _SAME_GRAMMAR[kind]:
            # A trust policy has no Resource element: in an identity slot it would match
            # every resource. Refuse instead of widening.
            raise errors.InputError(
                f"{where}: a {document.kind.value} policy cannot be used as a {kind.value} policy"
            )
        return document
    try:
        return validate.parse_policy(document, kind)
    except errors.PolicyParseError as exc:
        raise exc.within(where) from None


def _group(
    kind: ReasonKind,
    policy_kind: PolicyKind,
    name: str,
    documents: Iterable[DocumentInput],
    *,
    single: bool = False,
) -> evaluator.StatementGroup:
    docs = _listed(documents, name)
    named = [
        (
            name if single else f"{name}[{i}]",
            _parse(doc, policy_kind, name if single else f"{name}[{i}]"),
        )
        for i, doc in enumerate(docs)
    ]
    return evaluator.StatementGroup(kind, name, named)


def _levels(
    kind: Literal["scp", "rcp"], policy_kind: PolicyKind, levels: Iterable[Iterable[DocumentInput]]
) -> tuple[evaluator.StatementGroup, ...]:
    result = []
    for number, level in enumerate(_listed(levels, f"{kind}s")):
        result.append(_group(kind, policy_kind, f"{kind}[level {number}]", level))
    return tuple(result)


def _resource_kind(document: DocumentInput, requested: object) -> PolicyKind:
    if requested is not None:
        if requested not in ("resource", "trust"):
            raise errors.InputError(
                f"resource kind {errors.shown(requested)} is not `resource` or `trust`"
            )
        return PolicyKind(requested)
    if isinstance(document, PolicyDocument):
        return document.kind
    raw = validate.load_document(document)
    statements = raw.get("Statement")
    items = [statements] if isinstance(statements, Mapping) else statements
    if (
        isinstance(items, list)
        and items
        and all(
            isinstance(s, Mapping) and "Resource" not in s and "NotResource" not in s for s in items
        )
    ):
        return PolicyKind.TRUST
    return PolicyKind.RESOURCE


def _context(raw: object, caller: principals.Caller) -> dict[str, tuple[str, ...]]:
    context = dict(caller.derived_context)
    if raw:
        if not isinstance(raw, Mapping):
            raise errors.InputError("request context must be an object of key → value(s)")
        for key, value in raw.items():
            if type(value) is str and type(key) is str and key:
                context[key.lower()] = (value,)  # the common case, without the calls below
                continue
            if not isinstance(key, str) or not key:
                raise errors.InputError(f"context key {key!r} must be a non-empty string")
            normalized = _context_values(key, value)
            if normalized is None:
                context.pop(key.lower(), None)
            else:
                context[key.lower()] = normalized
    return context


def _context_values(key: str, value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = value if isinstance(value, list | tuple) else (value,)
    result = []
    for item in items:
        if isinstance(item, bool):
            result.append("true" if item else "false")
        elif isinstance(item, str):
            result.append(item)
        elif isinstance(item, int | float):
            try:
                result.append(str(item))
            except ValueError:  # an integer too long to print (Python's 4300-digit guard)
                raise errors.InputError(f"context key `{key}`: number too long") from None
        else:
            raise errors.InputError(
                f"context key `{key}`: values must be strings, numbers or booleans"
            )
    return tuple(result)


def _resource_account(
    request: Request, policies: PolicySet, caller: principals.Caller
) -> str | None:
    if request.resource_account is not None:
        return request.resource_account
    if policies.resource_account is not None:
        return policies.resource_account
    return _arn_account(request.resource) or caller.account


@functools.lru_cache(maxsize=8192)
def _arn_account(resource: str) -> str | None:
    """The account field of a resource ARN, if it holds twelve digits."""
    parts = resource.split(":", 5)
    if len(parts) == 6 and arn.is_account_id(parts[4]):
        return parts[4]
    return None


class _Plan:
    """The statements of a policy set that can apply to one action, in evaluation order.

    Built once per (policy set, action) and cached on the set: a request then only looks at
    statements whose Action/NotAction matches.
    """

    __slots__ = (
        "assume_action",
        "boundary_allows",
        "denies_all",
        "denies_iam",
        "identity_allows",
        "org_allows_iam",
        "rcp_allows",
        "resource_allows",
        "scp_allows",
        "session_allows",
    )

    def __init__(self, policies: PolicySet, action: str) -> None:
        def denies(group: evaluator.StatementGroup) -> Statements:
            return group.for_action(action)[0]

        def allows(group: evaluator.StatementGroup) -> Statements:
            return group.for_action(action)[1]

        resource = (policies.resource,) if policies.resource is not None else ()
        caller_side = (
            policies.identity,
            *policies.boundaries,
            *((policies.session,) if policies.session else ()),
        )
        self.denies_all = tuple(s for g in (*policies.rcp_levels, *resource) for s in denies(g))
        self.denies_iam = tuple(
            s
            for g in (*policies.scp_levels, *policies.rcp_levels, *resource, *caller_side)
            for s in denies(g)
        )
        self.rcp_allows = tuple((g, allows(g)) for g in policies.rcp_levels)
        self.scp_allows = tuple((g, allows(g)) for g in policies.scp_levels)
        self.resource_allows = allows(policies.resource) if policies.resource else ()
        self.identity_allows = allows(policies.identity)
        self.boundary_allows = tuple((g, allows(g)) for g in policies.boundaries)
        self.session_allows = allows(policies.session) if policies.session else None
        self.assume_action = action in _ASSUME_ACTIONS
        self.org_allows_iam = (*self.rcp_allows, *self.scp_allows)


Statements = tuple[evaluator.CompiledStatement, ...]


def _plan(policies: PolicySet, action: str) -> _Plan:
    plans = policies._plans
    plan = plans.get(action)
    if plan is None:
        if len(plans) >= _PLAN_CACHE_LIMIT:
            plans.clear()
        plan = plans[action] = _Plan(policies, action)
    return plan


_PLAN_CACHE_LIMIT = 4096


def _first(statements: Statements, facts: evaluator.RequestFacts) -> Reason | None:
    """The reason of the first applicable statement, or ``None``."""
    for statement in statements:
        if statement.applies(facts):
            return statement.reason
    return None


def _best(
    statements: Statements, facts: evaluator.RequestFacts
) -> tuple[principals.Grade, Reason | None]:
    """The most specific applicable resource-policy Allow and its grade."""
    best, reason = NONE, None
    for statement in statements:
        grade = statement.applies(facts)
        if grade > best:
            best, reason = grade, statement.reason
    return best, reason


NONE = principals.Grade.NONE


def authorize(request: Request, policies: PolicySet) -> Decision:
    """Decide ``request`` under ``policies`` as AWS would (see module doc).

    Never raises for a denial; raises :class:`errors.InputError` for a malformed request.
    """
    caller = principals.parse_caller(request.principal)
    plan = _plan(policies, request.action.lower())
    raw = request.context
    context = _context(raw, caller) if raw else caller.derived_context
    iam = caller.is_iam
    state = evaluator.RequestFacts(
        caller, request.resource, context, iam and bool(policies.boundaries)
    )
    denies = [s.reason for s in (plan.denies_iam if iam else plan.denies_all) if s.applies(state)]
    if denies:
        return _decision(Outcome.EXPLICIT_DENY, denies, state)
    if plan.assume_action and caller.kind == "root":
        return _decision(Outcome.IMPLICIT_DENY, [_ROOT_CANNOT_ASSUME], state)
    granted: list[Reason] = []
    for level, allows in plan.org_allows_iam if iam else plan.rcp_allows:
        allow = _first(allows, state)
        if allow is None:
            what = "resource control" if level.kind == "rcp" else "service control"
            return _implicit(
                state,
                level.kind,
                level.name,
                f"no {what} policy at this level allows {request.action}",
            )
        granted.append(allow)
    return _combine(request, policies, plan, state, granted)


def _combine(
    request: Request,
    policies: PolicySet,
    plan: _Plan,
    state: evaluator.RequestFacts,
    granted: list[Reason],
) -> Decision:
    """Steps 3 and 4 of the module doc: the resource policy, then the identity side."""
    caller = state.caller
    same_account = _resource_account(request, policies, caller) == caller.account
    grade, resource_allow = NONE, None
    is_assume = plan.assume_action and bool(_ROLE_RESOURCE.match(request.resource))
    if policies.resource is not None:
        grade, resource_allow = _best(plan.resource_allows, state)
    elif is_assume:
        return _implicit(
            state,
            "trust",
            "trust",
            "no trust policy was given; a role's trust "
            f"policy must allow {request.action} explicitly",
        )
    if (
        resource_allow is None
        and policies.resource is not None
        and _must_allow_explicitly(request, policies, is_assume)
    ):
        return _implicit(
            state,
            policies.resource.kind,
            policies.resource.name,
            f"no statement allows {request.action} for {caller.text}; this "
            "policy must allow the caller explicitly",
        )
    if resource_allow is not None:
        granted.append(resource_allow)
        if not caller.is_iam or _resource_grant_suffices(grade, caller, same_account):
            return _decision(Outcome.ALLOW, granted, state)
    elif not caller.is_iam:
        return _implicit(
            state,
            "resource",
            "resource",
            f"no resource-based policy allows {request.action} for {caller.text}",
        )
    elif not same_account:
        return _implicit(
            state,
            "resource",
            "resource",
            "cross-account request: no resource-based policy in the resource's "
            f"account allows {request.action}",
        )
    role_grant = same_account and grade is principals.Grade.ROLE
    return _identity_side(request, plan, state, role_grant, granted)


def _must_allow_explicitly(request: Request, policies: PolicySet, is_assume: bool) -> bool:
    """Role trust policies (for sts actions) and KMS key policies must allow explicitly."""
    return (
        is_assume
        or bool(_KMS_KEY.match(request.resource))
        or (policies.resource_is_trust and request.action.lower().startswith("sts:"))
    )


def _resource_grant_suffices(
    grade: principals.Grade, caller: principals.Caller, same_account: bool
) -> bool:
    """Whether a resource-policy Allow of ``grade`` admits the caller without identity
    policies (same account only; see module doc, step 3)."""
    if not same_account or grade is principals.Grade.ACCOUNT:
        return False
    # Only a grant to the *role* stays limited by the boundary and session policies; "*"
    # (typically narrowed by an aws:PrincipalArn condition) is not (IAM UG, Principal
    # element, "Role sessions" / "aws:PrincipalArn with a wildcard").
    return grade is not principals.Grade.ROLE or caller.kind in ("user", "root")


def _identity_side(
    request: Request,
    plan: _Plan,
    state: evaluator.RequestFacts,
    role_grant: bool,
    granted: list[Reason],
) -> Decision:
    """Identity policies, boundaries and session policies (A.1 steps 6–8). With
    ``role_grant`` a same-account resource policy named the caller's role (or ``*``): the
    identity policies are not needed, but the boundary and session policies still limit."""
    caller = state.caller
    if caller.kind == "root":
        granted.append(_ROOT_ALLOW)
    elif not role_grant:
        allow = _first(plan.identity_allows, state)
        if allow is None:
            return _implicit(
                state, "identity", "identity", f"no identity-based policy allows {request.action}"
            )
        granted.append(allow)
    for boundary, allows in plan.boundary_allows:
        allow = _first(allows, state)
        if allow is None:
            return _implicit(
                state,
                "boundary",
                boundary.name,
                f"the permissions boundary does not allow {request.action}",
            )
        granted.append(allow)
    if caller.kind == "federated-user" and plan.session_allows is None:
        return _implicit(
            state,
            "session",
            "session",
            "a federated user session without a session policy has no permissions",
        )
    if plan.session_allows is not None and caller.kind in ("session", "role", "federated-user"):
        allow = _first(plan.session_allows, state)
        if allow is None:
            return _implicit(
                state, "session", "session", f"no session policy allows {request.action}"
            )
        granted.append(allow)
    return _decision(Outcome.ALLOW, granted, state)


_ROOT_CANNOT_ASSUME = Reason(
    "root",
    "",
    "",
    "ImplicitDeny",
    "the account root user cannot assume roles: STS requires an IAM user or role session",
)
_ROOT_ALLOW = Reason(
    "root", "", "", "Allow", "the account root user is allowed unless an SCP or RCP denies"
)


def _implicit(
    state: evaluator.RequestFacts, kind: ReasonKind, policy: str, detail: str
) -> Decision:
    reasons = [Reason(kind, policy, "", "ImplicitDeny", detail), *state.misses]
    return _decision(Outcome.IMPLICIT_DENY, reasons, state)


def _decision(outcome: Outcome, reasons: list[Reason], state: evaluator.RequestFacts) -> Decision:
    problems = tuple(dict.fromkeys(state.problems)) if state.problems else ()
    return Decision(outcome, tuple(reasons), problems)
