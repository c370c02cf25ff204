"""The links of an access chain, each decided with every decision kept.

A chain runs from a Kubernetes service account to a goal (style habit 1: decisions are
values, the explainer renders them and never re-derives them):

1. ``web-identity``: the pod's projected token → ``sts:AssumeRoleWithWebIdentity`` into the
   first role. STS first finds the IAM OIDC provider for the token's ``iss`` **in the role's
   account** and checks that the token's ``aud`` is one of its client IDs ("No
   OpenIDConnect provider found", "Incorrect token audience", reference B.2: the checks the
   sandbox's STS makes, :mod:`kubetrust.chain.web_identity`), then the trust policy decides
   with the token's keys (:func:`kubetrust.chain.sts.assume_role_with_web_identity`).
2. ``assume-role``: each further hop, two-sided (:func:`kubetrust.chain.sts.assume_role`).
3. the goal: ``aws-action`` (the last session's policies, and a resource policy when given,
   A.1/A.2), or ``kube-identity`` (aws-auth / access entries, E.1, D.3) then ``kube-rbac``
   (:mod:`kubetrust.chain.rbac`); those two live in :mod:`kubetrust.chain.kube_links`.

The claims are those EKS puts in an IRSA token (C.1): ``iss`` the cluster's issuer, ``sub``
``system:serviceaccount:<namespace>:<name>``, ``aud`` ``sts.amazonaws.com`` (or the
``eks.amazonaws.com/audience`` annotation).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from kubetrust import arn as arns
from kubetrust import policy
from kubetrust.chain import context, graph, parties
from kubetrust.chain import sts as hops
from kubetrust.chain import web_identity as web_identity_checks
from kubetrust.chain.topology_parties import TopologyDirectory
from kubetrust.model.iam import Role
from kubetrust.model.topology import Cluster, Topology
from kubetrust.model.vocabulary import CHAINED_SESSION_CAP, IRSA_AUDIENCE, service_account_subject
from kubetrust.policy import sts as sts_requests


class Kind(enum.Enum):
    WEB_IDENTITY = "web-identity"
    ASSUME_ROLE = "assume-role"
    AWS_ACTION = "aws-action"
    KUBE_IDENTITY = "kube-identity"
    KUBE_RBAC = "kube-rbac"
    POD_IDENTITY = "pod-identity"
    TARGET_ROLE = "target-role"
    IMDS = "imds"
    """The pod acting as its node's instance role through IMDS (reference H.5): decided from
    the node group's IMDS settings by :mod:`kubetrust.explain.node_role`."""


class Failure(enum.Enum):
    """Why a link failed, for the explainer to pick the fix."""

    NO_ISSUER = "no-issuer"
    UNKNOWN_ROLE = "unknown-role"
    NO_PROVIDER = "no-provider"
    AUDIENCE = "audience"
    NO_TRUST = "no-trust"
    TRUST_DENIED = "trust-denied"
    CALLER_DENIED = "caller-denied"
    BOTH_DENIED = "both-denied"
    ACTION_DENIED = "action-denied"
    NOT_MAPPED = "not-mapped"
    RBAC_DENIED = "rbac-denied"
    NOT_REACHED = "not-reached"
    INVALID_REQUEST = "invalid-request"
    NO_ASSOCIATION = "no-association"
    NO_AGENT = "no-agent"
    IMDS_BLOCKED = "imds-blocked"


@dataclass(frozen=True, slots=True)
class Workload:
    """A service account in a cluster: the start of every chain."""

    cluster: str
    namespace: str
    name: str
    audience: str = IRSA_AUDIENCE

    @property
    def subject(self) -> str:
        return service_account_subject(self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class Link:
    """One decided link. ``decided_by`` lists the statements, conditions or mappings that
    decided it, in words; ``hop`` keeps both sides of an STS hop, ``decision`` the engine's
    answer for an AWS action; ``facts`` what else the explainer needs (claims, provider,
    Kubernetes identity, near misses)."""

    kind: Kind
    caller: str
    target: str
    allowed: bool
    decided_by: tuple[str, ...] = ()
    failure: Failure | None = None
    hop: hops.HopResult | None = None
    decision: policy.Decision | None = None
    facts: Mapping[str, object] = field(default_factory=dict)


def claims(cluster: Cluster, workload: Workload) -> dict[str, object]:
    """The claims of the workload's projected IRSA token (module doc)."""
    return {"iss": cluster.info.issuer, "sub": workload.subject, "aud": workload.audience}


_KINDS = {
    "identity": "identity policy",
    "boundary": "permissions boundary",
    "session": "session policy",
    "scp": "SCP",
    "rcp": "RCP",
    "trust": "trust policy",
    "resource": "resource policy",
    "root": "root user",
}


def reason_text(reason: policy.Reason, names: Mapping[str, str]) -> str:
    """One reason in words, the engine's document slot (``identity[0]``) replaced by the
    document's name (``inline assume-target``, a managed policy ARN, ``ci-role``)."""
    label = _KINDS.get(reason.kind, reason.kind)
    document = names.get(reason.policy, reason.policy)
    where = " ".join(
        part for part in (label, f"`{document}`" if document else "", reason.statement) if part
    )
    return f"{reason.effect}: {where}: {reason.detail}"


def _side_reasons(
    decision: policy.Decision, side: str, keep: frozenset[str], names: Mapping[str, str]
) -> list[str]:
    """The reasons of one side, without the stand-in policy the side was evaluated with
    (the delegating trust of the caller side, the allow-all identity of the trust side)."""
    return [
        f"{side}: {reason_text(reason, names)}"
        for reason in decision.reasons
        if reason.kind in keep
    ]


_CALLER_KINDS = frozenset({"identity", "boundary", "session", "scp", "root"})
_TRUST_KINDS = frozenset({"trust", "rcp"})


def hop_reasons(hop: hops.HopResult, names: Mapping[str, str]) -> tuple[str, ...]:
    """Every reason of every check, caller side then trust side, in words."""
    lines: list[str] = []
    for check in hop.checks:
        head = check.action
        if check.caller_side is not None:
            lines += _side_reasons(check.caller_side, f"{head} caller side", _CALLER_KINDS, names)
        lines += _side_reasons(check.trust_side, f"{head} trust side", _TRUST_KINDS, names)
    return tuple(dict.fromkeys(lines))


def policy_names(topology: Topology, caller: Role | None, target: Role | None) -> dict[str, str]:
    """Engine document slots → document names, for :func:`reason_text`."""
    names: dict[str, str] = {}
    if caller is not None:
        names["identity"] = f"{caller.name}'s identity policies"
        permissions = topology.permissions(caller)
        for index, named in enumerate(permissions.identity):
            names[f"identity[{index}]"] = f"{caller.name}: {named.name}"
        if permissions.boundary is not None:
            names["boundary[0]"] = permissions.boundary.name
    if target is not None:
        names["trust"] = target.name
    return names


def web_identity(
    topology: Topology,
    cluster: Cluster,
    workload: Workload,
    role_arn: str,
    *,
    session: str = graph.SESSION_NAME,
    request: context.RequestFacts | None = None,
) -> Link:
    """Link 1 (module doc): provider lookup in the role's account, audience, trust;
    ``request`` holds the call's facts (time, region…: :mod:`kubetrust.chain.context`)."""
    caller = workload.subject
    issuer = cluster.info.issuer
    token = claims(cluster, workload)
    facts: dict[str, object] = {"claims": token, "cluster": cluster.info.arn}
    if issuer is None:
        return Link(
            Kind.WEB_IDENTITY, caller, role_arn, False, failure=Failure.NO_ISSUER, facts=facts
        )
    role = topology.role(role_arn)
    if role is None:
        return Link(
            Kind.WEB_IDENTITY, caller, role_arn, False, failure=Failure.UNKNOWN_ROLE, facts=facts
        )
    directory = TopologyDirectory(topology)
    try:
        accepted = web_identity_checks.check_provider_and_audience(
            issuer,
            [workload.audience],
            lambda iss: directory.oidc_provider(role.account, iss),
        )
    except web_identity_checks.WebIdentityRefused as refused:
        return _refused_before_trust(topology, caller, role, issuer, refused, facts)
    provider = accepted.provider
    facts.update(_provider_facts(provider))
    if role.trust is None:
        return Link(
            Kind.WEB_IDENTITY, caller, role.arn, False, failure=Failure.NO_TRUST, facts=facts
        )
    hop = hops.assume_role_with_web_identity(
        provider.arn,
        issuer,
        token,
        graph.role_side(topology, role),
        session_name=session,
        request=request,
    )
    names = policy_names(topology, None, role)
    return Link(
        Kind.WEB_IDENTITY,
        caller,
        role.arn,
        hop.allowed,
        hop_reasons(hop, names),
        None if hop.allowed else Failure.TRUST_DENIED,
        hop=hop,
        facts=facts,
    )


def _provider_facts(provider: web_identity_checks.ProviderFacts) -> dict[str, object]:
    """What the explainer shows of the provider that was found."""
    client_ids = list(provider.client_ids) if provider.client_ids is not None else None
    return {"provider": provider.arn, "client_ids": client_ids}


def _refused_before_trust(
    topology: Topology,
    caller: str,
    role: Role,
    issuer: str,
    refused: web_identity_checks.WebIdentityRefused,
    facts: dict[str, object],
) -> Link:
    """Link 1 refused by STS's checks before the trust policy, in STS's words
    (:mod:`kubetrust.chain.web_identity`), with the facts the fix needs: the providers
    for the issuer in other accounts, or the provider found and its client IDs."""
    if refused.refusal is web_identity_checks.Refusal.NO_PROVIDER:
        facts["elsewhere"] = [p.arn for p in topology.providers_for(issuer)]
        failure = Failure.NO_PROVIDER
    else:
        if refused.provider is not None:
            facts.update(_provider_facts(refused.provider))
        failure = Failure.AUDIENCE
    return Link(
        Kind.WEB_IDENTITY, caller, role.arn, False, (refused.message,), failure, facts=facts
    )


def assume_role(
    topology: Topology,
    caller: Role,
    target_arn: str,
    *,
    session: str = graph.SESSION_NAME,
    request: context.RequestFacts | None = None,
    federated_provider: str | None = None,
    carried: hops.Carried | None = None,
    params: hops.HopParams | None = None,
) -> Link:
    """A further hop: ``caller``'s session calls ``sts:AssumeRole`` on ``target_arn``.
    ``federated_provider``: the IAM OIDC provider whose token made ``caller``'s session;
    ``carried``: what that session carries (source identity, session tags), which this
    hop sets again with ``params``' own (:func:`kubetrust.chain.sts.chained_tags`)."""
    principal = graph.session_arn(caller, session)
    target = topology.role(target_arn)
    if target is None:
        return Link(Kind.ASSUME_ROLE, principal, target_arn, False, failure=Failure.UNKNOWN_ROLE)
    try:
        source_identity, tags = hop_parameters(carried, params)
    except hops.ChainRefused as refused:
        return Link(
            Kind.ASSUME_ROLE,
            principal,
            target.arn,
            False,
            (f"STS refuses the call (ValidationError): {refused}",),
            Failure.INVALID_REQUEST,
        )
    hop = hops.assume_role(
        principal,
        graph.caller_side(topology, caller),
        graph.role_side(topology, target),
        session_name=session,
        source_identity=source_identity,
        tags=tags,
        context=graph.caller_context(
            caller,
            session,
            request=request,
            federated_provider=federated_provider,
            topology=topology,
            carried=carried,
        ),
        request=request,
    )
    facts: dict[str, object] = {
        "cross_account": caller.account != target.account,
        "chained_duration_cap": CHAINED_SESSION_CAP,
    }
    missing = topology.permissions(caller).missing
    if missing:
        facts["policies_not_in_inputs"] = list(missing)
    failure = None
    failed = hop.failed
    if failed is not None:
        caller_ok = failed.caller_side is None or failed.caller_side.allowed
        trust_ok = failed.trust_side.allowed
        if target.trust is None:
            failure = Failure.NO_TRUST
        elif not caller_ok and not trust_ok:
            failure = Failure.BOTH_DENIED
        elif not caller_ok:
            failure = Failure.CALLER_DENIED
        else:
            failure = Failure.TRUST_DENIED
    names = policy_names(topology, caller, target)
    return Link(
        Kind.ASSUME_ROLE,
        principal,
        target.arn,
        hop.allowed,
        hop_reasons(hop, names),
        failure,
        hop=hop,
        facts=facts,
    )


def hop_parameters(
    carried: hops.Carried | None, params: hops.HopParams | None
) -> tuple[str | None, sts_requests.SessionTags | None]:
    """The source identity and session tags an ``AssumeRole`` hop sets: what the calling
    session carries and what the call passes, by the sandbox's own rule (B.1, B.6).
    Raises :class:`kubetrust.chain.sts.ChainRefused` where STS refuses the parameters."""
    given = params or hops.HopParams()
    inherited = carried or hops.Carried()
    source_identity = hops.chained_source_identity(inherited.source_identity, given.source_identity)
    return source_identity, hops.chained_tags(inherited, given.tags)


def carried_after(carried: hops.Carried | None, params: hops.HopParams | None) -> hops.Carried:
    """What the session an ``AssumeRole`` hop issues carries on (unchanged when STS
    refuses the call: the chain is then evaluated as if it had passed)."""
    try:
        return hops.Carried.of(*hop_parameters(carried, params))
    except hops.ChainRefused:
        return carried or hops.Carried()


def aws_action(
    topology: Topology,
    role: Role,
    action: str,
    resource: str,
    *,
    session: str = graph.SESSION_NAME,
    request: context.RequestFacts | None = None,
    federated_provider: str | None = None,
    carried: hops.Carried | None = None,
) -> Link:
    """The goal ``action`` on ``resource`` by ``role``'s session (A.1, A.2): identity
    policies, boundary and SCPs of the session's account; a resource policy and the
    resource account's RCPs when the inputs hold them. The context is the sandbox's
    (:mod:`kubetrust.chain.context`), with the resource's tags where the inputs hold them
    (IAM roles)."""
    principal = graph.session_arn(role, session)
    side = graph.caller_side(topology, role)
    given = topology.resource_policies.get(resource)
    resource_account = given.account if given is not None else account_of(resource)
    policies = policy.PolicySet(
        identity=side.identity,
        resource=given.document if given is not None else None,
        boundaries=side.boundaries,
        scps=side.scps,
        rcps=topology.rcps(resource_account) if resource_account else (),
        resource_kind="resource" if given is not None else None,
    )
    known = request or context.RequestFacts()
    who = graph.principal(
        role,
        session,
        request=known,
        federated_provider=federated_provider,
        topology=topology,
        carried=carried,
    )
    owner = resource_account or role.account
    keys = context.build(
        who,
        known,
        parties.resource_side(TopologyDirectory(topology), _resource(topology, resource, owner)),
        service=action.split(":", 1)[0].lower(),
    )
    decision = policy.authorize(policy.Request(principal, action, resource, keys), policies)
    facts: dict[str, object] = {
        "cross_account": bool(resource_account) and resource_account != role.account,
        "resource_policy": given is not None,
    }
    names = policy_names(topology, role, None)
    names["resource"] = resource
    lines = tuple(reason_text(r, names) for r in decision.reasons)
    failure = None if decision.allowed else Failure.ACTION_DENIED
    if not decision.allowed:
        facts["message"] = policy.access_denied_message(decision, principal, action, resource)
    return Link(
        Kind.AWS_ACTION,
        principal,
        f"{action} on {resource}",
        decision.allowed,
        lines,
        failure,
        decision=decision,
        facts=facts,
    )


def _resource(topology: Topology, resource: str, account: str) -> context.Resource:
    """The resource's side of the context: its account, and its tags when the inputs hold
    them and its service authorizes on them (:func:`kubetrust.chain.context.tag_prefixes`):
    IAM roles (``aws:`` and ``iam:ResourceTag``) and EKS clusters (``aws:ResourceTag``, as
    ``describe-cluster`` shows them). Other resources' tags are not in the inputs: their
    keys stay absent."""
    role = topology.role(resource)
    if role is not None:
        return context.Resource(
            account=account, tags=dict(role.tags), tag_prefixes=context.tag_prefixes("iam", "role")
        )
    cluster = next((c for c in topology.clusters if c.info.arn == resource), None)
    if cluster is not None:
        return context.Resource(
            account=account,
            tags=dict(cluster.info.tags),
            tag_prefixes=context.tag_prefixes("eks", "cluster"),
        )
    return context.Resource(account=account)


def account_of(resource: str) -> str | None:
    parts = resource.split(":", 5)
    if len(parts) == 6 and arns.is_account_id(parts[4]):
        return parts[4]
    return None
