"""The EKS Pod Identity links of an access chain: association → role → target role.

A service account with a Pod Identity association gets its credentials from EKS Auth, not
from a web identity (reference F.1–F.4): the webhook gives its *new* pods the
``eks-pod-identity-token``, the Pod Identity Agent (the ``eks-pod-identity-agent`` add-on)
trades it with ``AssumeRoleForPodIdentity``, and EKS makes one or two role assumptions. The
chain then starts with:

1. ``pod-identity``: the service account → the association role. It holds when the
   association exists, the agent runs (when the inputs say whether it does) and the hop
   :func:`kubetrust.chain.pod_identity.association_hop` decides (the role's trust for
   ``pods.eks.amazonaws.com``: ``sts:AssumeRole``, ``sts:TagSession`` for the six session
   tags unless disabled, ``aws:SourceAccount``…);
2. ``target-role`` (with ``targetRoleArn``): the association role's session → the target
   role, both sides (:func:`kubetrust.chain.pod_identity.target_hop`), with the transitive
   tags set again, the external id, and the one-hour chained cap.

Both hops come from :func:`kubetrust.chain.pod_identity.decide`, the very function the
sandbox's EKS Auth enforces with, over explain's topology (``evaluate_all``: the target hop
is decided even after a denied first hop, so one run shows every broken link).

Offline, the pod is unknown: its name and uid (two of the six tags, and the session name)
are the placeholders :data:`POD_NAME` and :data:`POD_UID`; a condition on them is judged
against those and the explainer says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kubetrust import arn as arns
from kubetrust.chain import context, graph, links, pod_identity
from kubetrust.chain import sts as hops
from kubetrust.chain.links import Failure, Kind, Link, Workload
from kubetrust.chain.topology_parties import TopologyDirectory
from kubetrust.model.eks import POD_IDENTITY_AGENT_ADDON, PodIdentityAssociation
from kubetrust.model.iam import Role
from kubetrust.model.topology import Cluster, Topology

POD_NAME = "POD"
"""The pod's name offline (``kubernetes-pod-name``, the session name's middle part)."""
POD_UID = "00000000-0000-0000-0000-000000000000"
"""The pod's uid offline (``kubernetes-pod-uid``)."""
SESSION_UNIQUE = "UUID"
"""The random part of the session name offline."""


@dataclass(frozen=True, slots=True)
class PodIdentityStart:
    """How a chain starts with Pod Identity: the service account's ``association`` (``None``
    when it has none: then ``role_arn`` is the candidate role the chain is evaluated with,
    as if the association existed) and the roles it names."""

    association: PodIdentityAssociation | None
    role_arn: str
    target_role_arn: str | None = None

    @classmethod
    def of(cls, association: PodIdentityAssociation) -> PodIdentityStart:
        return cls(association, association.role_arn or "", association.target_role_arn)

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles the pod identity hops reach, in order."""
        return (
            (self.role_arn,)
            if self.target_role_arn is None
            else (
                self.role_arn,
                self.target_role_arn,
            )
        )

    @property
    def tags_disabled(self) -> bool:
        return self.association is not None and self.association.disable_session_tags

    def describe(self) -> str:
        """Where the first role comes from, for the explanation's notes."""
        found = self.association
        if found is None:
            return (
                "no pod identity association for the service account: evaluated with "
                f"`{self.role_arn}`, a role whose trust admits pods.eks.amazonaws.com"
            )
        target = f", targetRoleArn {found.target_role_arn}" if found.target_role_arn else ""
        return (
            f"pod identity association {found.association_id or '(no id)'} (roleArn "
            f"{found.role_arn}{target}"
            + (", session tags disabled" if found.disable_session_tags else "")
            + ")"
        )


@dataclass(frozen=True, slots=True)
class PodIdentityLinks:
    """The links of the pod identity hops, what the last session carries (its transitive
    session tags) and its session name."""

    links: tuple[Link, ...]
    carried: hops.Carried
    session: str


def candidates(topology: Topology, cluster: Cluster) -> list[Role]:
    """Roles of the cluster's account whose trust names ``pods.eks.amazonaws.com``
    (an association's role must be in the cluster's account, F.4)."""
    account = topology.accounts.get(cluster.info.account)
    if account is None:
        return []
    return sorted(
        (r for r in account.roles.values() if r.trust is not None and _names_service(r)),
        key=lambda r: r.arn,
    )


def _names_service(role: Role) -> bool:
    assert role.trust is not None
    return any(
        statement.effect == "Allow"
        and statement.principal is not None
        and pod_identity.SERVICE_PRINCIPAL in (s.lower() for s in statement.principal.service)
        for statement in role.trust.statements
    )


def subject(cluster: Cluster, workload: Workload) -> pod_identity.PodSubject:
    """The pod as explain imagines it (module doc)."""
    return pod_identity.PodSubject(
        cluster.info.arn, workload.namespace, workload.name, POD_NAME, POD_UID
    )


def evaluate(
    topology: Topology,
    cluster: Cluster,
    workload: Workload,
    start: PodIdentityStart,
    *,
    request: context.RequestFacts | None = None,
) -> PodIdentityLinks:
    """The ``pod-identity`` link and, with a target role, the ``target-role`` link."""
    pod = subject(cluster, workload)
    role = topology.role(start.role_arn) if start.role_arn else None
    target = topology.role(start.target_role_arn) if start.target_role_arn else None
    tags_disabled = start.tags_disabled
    name = pod_identity.session_name(pod.cluster_name, POD_NAME, SESSION_UNIQUE)
    tags = pod_identity.session_tags(pod, disabled=tags_disabled)
    decision = None
    if role is not None:
        association = start.association
        decision = pod_identity.decide(
            TopologyDirectory(topology),
            role,
            subject=pod,
            association=pod_identity.Association(
                role.arn,
                start.target_role_arn,
                tags_disabled,
                association.external_id if association is not None else None,
            ),
            role=pod_identity.RoleParty(
                side=graph.role_side(topology, role), role_id=role.role_id, name=role.name
            ),
            target=graph.role_side(topology, target) if target is not None else None,
            unique=SESSION_UNIQUE,
            request=request,
            evaluate_all=True,
        )
        name, tags = decision.session_name, decision.tags
    first = _association_link(topology, cluster, workload, start, role, decision)
    found = [first]
    if start.target_role_arn is not None:
        found.append(_target_link(topology, start, role, target, decision, name))
    carried = hops.Carried.of(None, tags)
    if decision is not None and decision.target is not None:
        carried = hops.Carried.of(None, hops.chained_tags(carried, None))
    return PodIdentityLinks(tuple(found), carried, name)


def _association_facts(
    cluster: Cluster,
    workload: Workload,
    start: PodIdentityStart,
    decision: pod_identity.PodIdentityDecision | None,
) -> dict[str, object]:
    association = start.association
    account = cluster.service_accounts.get((workload.namespace, workload.name))
    facts: dict[str, object] = {
        "cluster": cluster.info.arn,
        "association": _association_json(association) if association is not None else None,
        "agent": cluster.has_addon(POD_IDENTITY_AGENT_ADDON),
        "tags_disabled": start.tags_disabled,
        "session_tags": dict(decision.tags.tags) if decision and decision.tags else {},
        "candidate_role": start.role_arn if association is None else None,
    }
    if account is not None and account.role_arn:
        facts["ignored_annotation"] = account.role_arn
    if decision is not None:
        facts["hop_denied"] = not decision.association.allowed
    return facts


def _association_json(association: PodIdentityAssociation) -> dict[str, object]:
    return {
        "associationId": association.association_id,
        "associationArn": association.association_arn,
        "namespace": association.namespace,
        "serviceAccount": association.service_account,
        "roleArn": association.role_arn,
        "targetRoleArn": association.target_role_arn,
        "disableSessionTags": association.disable_session_tags,
        "externalId": association.external_id,
    }


def _association_link(
    topology: Topology,
    cluster: Cluster,
    workload: Workload,
    start: PodIdentityStart,
    role: Role | None,
    decision: pod_identity.PodIdentityDecision | None,
) -> Link:
    facts = _association_facts(cluster, workload, start, decision)
    lines: list[str] = []
    if start.association is None:
        lines.append(
            f"no pod identity association in cluster `{cluster.name}` for "
            f"{workload.namespace}/{workload.name}"
        )
    else:
        lines.append(start.describe())
    agent = facts["agent"]
    if agent is False:
        lines.append(f"the cluster has no `{POD_IDENTITY_AGENT_ADDON}` add-on")
    hop = decision.association if decision is not None else None
    if hop is not None and role is not None:
        lines += links.hop_reasons(hop, links.policy_names(topology, None, role))
    failure = _association_failure(start, role, hop, agent)
    return Link(
        Kind.POD_IDENTITY,
        workload.subject,
        start.role_arn,
        failure is None,
        tuple(lines),
        failure,
        hop=hop,
        facts=facts,
    )


def _association_failure(
    start: PodIdentityStart, role: Role | None, hop: hops.HopResult | None, agent: object
) -> Failure | None:
    if start.association is None:
        return Failure.NO_ASSOCIATION
    if agent is False:
        return Failure.NO_AGENT
    if role is None or hop is None:
        return Failure.UNKNOWN_ROLE
    if role.trust is None:
        return Failure.NO_TRUST
    return None if hop.allowed else Failure.TRUST_DENIED


def _target_link(
    topology: Topology,
    start: PodIdentityStart,
    role: Role | None,
    target: Role | None,
    decision: pod_identity.PodIdentityDecision | None,
    session: str,
) -> Link:
    target_arn = start.target_role_arn or ""
    caller = arns.assumed_role_arn(role.account, role.name, session) if role is not None else ""
    facts: dict[str, object] = {
        "tags_disabled": start.tags_disabled,
        "external_id": start.association.external_id if start.association else None,
        "chained_duration_cap": pod_identity.TARGET_SESSION_SECONDS,
    }
    if role is None:
        return Link(
            Kind.TARGET_ROLE,
            caller or start.role_arn,
            target_arn,
            False,
            (f"`{start.role_arn}` is not in the inputs",),
            Failure.NOT_REACHED,
            facts=facts,
        )
    facts["cross_account"] = role.account != arns.parse(target_arn).account
    if target is None or decision is None or decision.target is None:
        return Link(
            Kind.TARGET_ROLE, caller, target_arn, False, (), Failure.UNKNOWN_ROLE, facts=facts
        )
    hop = decision.target
    lines = links.hop_reasons(hop, links.policy_names(topology, role, target))
    return Link(
        Kind.TARGET_ROLE,
        caller,
        target.arn,
        hop.allowed,
        lines,
        _side_failure(hop, target),
        hop=hop,
        facts=facts,
    )


def _side_failure(hop: hops.HopResult, target: Role) -> Failure | None:
    """Which side denied, as :func:`kubetrust.chain.links.assume_role` names it."""
    failed = hop.failed
    if failed is None:
        return None
    if target.trust is None:
        return Failure.NO_TRUST
    caller_ok = failed.caller_side is None or failed.caller_side.allowed
    trust_ok = failed.trust_side.allowed
    if not caller_ok and not trust_ok:
        return Failure.BOTH_DENIED
    return Failure.CALLER_DENIED if not caller_ok else Failure.TRUST_DENIED


def tag_facts(link: Link) -> Mapping[str, object]:
    """The session tags a pod identity link's session carries (empty when disabled)."""
    found = link.facts.get("session_tags")
    return found if isinstance(found, Mapping) else {}
