"""``kubetrust explain``: one service account, one goal, every link with its verdict and fix.

:func:`explain_access` is the one library call behind the command (style B6): it picks the
chain (``via`` as given, else :func:`kubetrust.chain.paths.search`), decides every link with
:func:`kubetrust.chain.paths.evaluate`, and attaches to each failed link the smallest fix
(:mod:`kubetrust.explain.fixes`). The :class:`Explanation` is a value: the text and JSON
renderings (:mod:`kubetrust.explain.render`) read it and decide nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

from kubetrust import arn, errors
from kubetrust.chain import context, graph, paths
from kubetrust.chain import sts as hops
from kubetrust.chain.links import Link, Workload
from kubetrust.chain.pod_identity_links import POD_NAME, PodIdentityStart
from kubetrust.explain import fixes_pod_identity, node_role
from kubetrust.explain.fixes import Fix, fix_for
from kubetrust.model.eks import AUDIENCE_ANNOTATION, POD_IDENTITY_AGENT_ADDON
from kubetrust.model.topology import Cluster, Topology
from kubetrust.model.vocabulary import IRSA_AUDIENCE


@dataclass(frozen=True, slots=True)
class Explanation:
    """The decided chain (``None`` when no role is even a candidate), a fix per link
    (``None`` for links that passed), notes on how the chain was chosen, and the input
    problems met while loading."""

    workload: Workload
    goal: paths.Goal
    chain: paths.Chain | None
    fixes: tuple[Fix | None, ...] = ()
    notes: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    no_chain: Fix | None = field(default=None)

    @property
    def allowed(self) -> bool:
        return self.chain is not None and self.chain.allowed


def workload_for(
    topology: Topology,
    cluster: str,
    namespace: str,
    name: str,
    *,
    audience: str | None = None,
) -> Workload:
    """The workload of a service account; its token audience is ``audience``, else the
    service account's ``eks.amazonaws.com/audience`` annotation, else
    ``sts.amazonaws.com`` (C.2). Raises :class:`errors.InputError` for an unknown cluster."""
    found = topology.cluster(cluster)
    account = found.service_accounts.get((namespace, name))
    annotated = account.annotations.get(AUDIENCE_ANNOTATION) if account is not None else None
    return Workload(found.info.name, namespace, name, audience or annotated or IRSA_AUDIENCE)


def _check_via(via: Sequence[str]) -> None:
    for role_arn in via:
        try:
            parsed = arn.parse(role_arn)
        except errors.InvalidArnError as error:
            raise errors.InputError(f"--via: {error}") from None
        if parsed.service != "iam" or parsed.resource_type != "role":
            raise errors.InputError(f"--via: `{role_arn}` is not an IAM role ARN")


def explain_access(
    topology: Topology,
    workload: Workload,
    goal: paths.Goal,
    *,
    via: Sequence[str] = (),
    session: str = graph.SESSION_NAME,
    request: context.RequestFacts | None = None,
    hop_params: Sequence[hops.HopParams | None] = (),
    federation: str | None = None,
) -> Explanation:
    """Explain whether ``workload`` reaches ``goal``, and why (module doc). ``request``:
    the facts every call of the chain carries (the time the caller supplies, transport,
    region: :mod:`kubetrust.chain.context`); unknown facts leave their keys absent.
    ``hop_params``: the source identity and session tags each hop of ``via`` passes
    (:func:`kubetrust.chain.paths.evaluate`); a searched chain passes none.
    ``federation``: ``irsa`` or ``pod-identity`` to force how the chain starts; by default
    the service account's pod identity association wins over its IRSA annotation, as the
    EKS webhook decides (:func:`kubetrust.chain.paths.pod_identity_start`); a service
    account with neither, on a cluster whose node groups the inputs hold, acts as the node
    role through IMDS (:mod:`kubetrust.explain.node_role`).

    Raises :class:`errors.InputError` for an unknown cluster or a malformed ``via``.
    """
    cluster = topology.cluster(workload.cluster)
    if isinstance(goal, paths.KubeGoal):
        topology.cluster(goal.cluster)
    _check_via(via)
    notes: list[str] = []
    annotated, annotation_source = paths.annotated_role(cluster, workload)
    fallback = _node_role_fallback(cluster, workload, federation, via)
    if fallback:
        return _explain_node_role(
            topology, workload, goal, fallback, via, session, request, hop_params
        )
    if via and node_role.falls_back(cluster, workload, federation):
        notes.append(
            "the service account has neither IRSA nor Pod Identity: its pods act as the node "
            "role through IMDS, not as --via's first role"
        )
    start = paths.pod_identity_start(topology, cluster, workload, federation)
    if start is not None:
        return _explain_pod_identity(
            topology, workload, goal, start, via, session, request, hop_params
        )
    if via:
        roles, source = tuple(via), "--via"
        if annotated is not None and annotated != via[0]:
            notes.append(
                f"the pod gets `{annotated}` from its annotation; --via starts elsewhere, which "
                "the workload reaches only by calling AssumeRoleWithWebIdentity itself"
            )
    else:
        found = paths.search(topology, workload, goal)
        roles, source = found.roles, found.role_source
    if (workload.namespace, workload.name) not in cluster.service_accounts:
        notes.append(
            "the service account's manifest is not in the inputs: its role annotation is "
            "unknown, so the first role was " + ("given" if via else "inferred")
        )
        if cluster.exposed_node_groups():
            notes.append(
                "if the service account has no role annotation, its pods act as the node "
                "role through IMDS instead (explain it with the manifest in the inputs)"
            )
    problems = tuple(str(p) for p in topology.problems)
    if not roles:
        return Explanation(
            workload,
            goal,
            None,
            notes=tuple(notes),
            problems=problems,
            no_chain=_no_candidate(topology, cluster.info.issuer, workload),
        )
    chain, fixes = _evaluated(
        topology, workload, roles, goal, session, source, request, hop_params if via else ()
    )
    notes += _chain_notes(chain, annotation_source)
    return Explanation(workload, goal, chain, fixes, tuple(notes), problems)


def _evaluated(
    topology: Topology,
    workload: Workload,
    roles: Sequence[str],
    goal: paths.Goal,
    session: str,
    role_source: str,
    request: context.RequestFacts | None,
    hop_params: Sequence[hops.HopParams | None],
    *,
    pod_identity: PodIdentityStart | None = None,
    start: Link | None = None,
) -> tuple[paths.Chain, tuple[Fix | None, ...]]:
    """Every link of ``roles`` decided (:func:`paths.evaluate`; ``pod_identity`` or
    ``start``: how the chain begins when not by IRSA) and the smallest fix of each: what
    the IRSA, node-role and Pod Identity explanations share."""
    chain = paths.evaluate(
        topology,
        workload,
        roles,
        goal,
        session=session,
        role_source=role_source,
        request=request,
        hop_params=hop_params,
        pod_identity=pod_identity,
        start=start,
    )
    return chain, tuple(fix_for(link, topology, chain) for link in chain.links)


def _node_role_fallback(
    cluster: Cluster, workload: Workload, federation: str | None, via: Sequence[str]
) -> list[node_role.NodeRoleStart]:
    """The node roles the workload's pods fall back to (:func:`node_role.falls_back`),
    narrowed to ``via[0]``'s when given; empty when explain follows another start."""
    if not node_role.falls_back(cluster, workload, federation):
        return []
    found = node_role.starts(cluster)
    if via:
        return [start for start in found if start.role_arn == via[0]]
    return [start for start in found if start.exposed] or found


def _explain_node_role(
    topology: Topology,
    workload: Workload,
    goal: paths.Goal,
    starts: Sequence[node_role.NodeRoleStart],
    via: Sequence[str],
    session: str,
    request: context.RequestFacts | None,
    hop_params: Sequence[hops.HopParams | None],
) -> Explanation:
    """The chain of a pod acting as its node's instance role through IMDS."""
    cluster = topology.cluster(workload.cluster)
    if via:
        roles: tuple[str, ...] = tuple(via)
    else:
        found = paths.search_from(topology, [s.role_arn for s in starts], goal)
        roles = found or (starts[0].role_arn,)
    start = next(s for s in starts if s.role_arn == roles[0])
    chain, fixes = _evaluated(
        topology,
        workload,
        roles,
        goal,
        session,
        start.describe(),
        request,
        hop_params if via else (),
        start=node_role.imds_link(workload, start),
    )
    notes = [
        f"first role: {start.describe()}",
        *node_role.notes(cluster, start, node_role.starts(cluster)),
        *_chain_notes(chain, "")[1:],
    ]
    problems = tuple(str(p) for p in topology.problems)
    return Explanation(workload, goal, chain, fixes, tuple(notes), problems)


def _explain_pod_identity(
    topology: Topology,
    workload: Workload,
    goal: paths.Goal,
    start: PodIdentityStart,
    via: Sequence[str],
    session: str,
    request: context.RequestFacts | None,
    hop_params: Sequence[hops.HopParams | None],
) -> Explanation:
    """The chain of a workload whose credentials come from EKS Pod Identity."""
    problems = tuple(str(p) for p in topology.problems)
    if via:
        if start.association is None:
            start = dataclasses.replace(start, role_arn=via[0])
        elif tuple(via[: len(start.roles)]) != start.roles:
            raise errors.InputError(
                f"--via: the service account's pod identity association gives "
                f"{' then '.join(start.roles)}: --via must start there (or pass "
                "--federation irsa to follow the IRSA annotation instead)"
            )
        roles: tuple[str, ...] = tuple(via)
    else:
        roles = paths.search(topology, workload, goal, federation=paths.POD_IDENTITY).roles
        if start.association is None and roles:
            start = dataclasses.replace(start, role_arn=roles[0])
    if not roles:
        return Explanation(
            workload,
            goal,
            None,
            notes=tuple(pod_identity_notes(topology, workload, start)),
            problems=problems,
            no_chain=fixes_pod_identity.no_role(topology, workload),
        )
    chain, fixes = _evaluated(
        topology,
        workload,
        roles,
        goal,
        session,
        start.describe(),
        request,
        hop_params if via else (),
        pod_identity=start,
    )
    notes = [f"first role: {start.describe()}", *pod_identity_notes(topology, workload, start)]
    notes += [n for n in _chain_notes(chain, "")[1:] if "role chaining" not in n]
    return Explanation(workload, goal, chain, fixes, tuple(notes), problems)


def pod_identity_notes(
    topology: Topology, workload: Workload, start: PodIdentityStart
) -> list[str]:
    """What explain cannot see offline, and what the webhook ignores."""
    cluster = topology.cluster(workload.cluster)
    notes = [
        "pods get pod identity credentials only if created after the association (the "
        "webhook mutates pods at creation): explain cannot see pods; restart older ones"
    ]
    account = cluster.service_accounts.get((workload.namespace, workload.name))
    if start.association is not None and account is not None and account.role_arn:
        notes.append(
            f"the IRSA annotation `{account.role_arn}` is ignored: the pod identity "
            "association takes precedence (EKS webhook)"
        )
    if cluster.has_addon(POD_IDENTITY_AGENT_ADDON) is None:
        notes.append(
            f"the inputs do not say whether the cluster runs the `{POD_IDENTITY_AGENT_ADDON}` "
            "add-on (addons.json): not checked"
        )
    if start.target_role_arn is not None:
        notes.append("targetRoleArn: EKS chains the target role's session, capped at one hour")
    notes.append(
        f"the pod's name and uid are unknown offline (`{POD_NAME}`): conditions on "
        "kubernetes-pod-name or kubernetes-pod-uid are judged against that placeholder"
    )
    return notes


def _no_candidate(topology: Topology, issuer: str | None, workload: Workload) -> Fix:
    if issuer is None:
        return Fix(
            f"cluster `{workload.cluster}` has no OIDC issuer in the inputs",
            "export `aws eks describe-cluster` again (identity.oidc.issuer)",
        )
    providers = topology.providers_for(issuer)
    where = ", ".join(p.account for p in providers) or "no account"
    return Fix(
        f"no role's trust policy names an OIDC provider for `{issuer}` (providers exist in "
        f"{where}), and the service account has no role annotation in the inputs",
        "create a role whose trust admits the service account and annotate the service "
        f"account with it (`eks.amazonaws.com/role-arn`), for `{workload.subject}`",
    )


def _chain_notes(chain: paths.Chain, annotation_source: str) -> list[str]:
    notes = [f"first role: {chain.role_source or annotation_source}"]
    if len(chain.roles) > 1:
        notes.append(
            "role chaining: every session after the first is capped at one hour "
            "(DurationSeconds above 3600 fails with ValidationError)"
        )
    for link in chain.links:
        if link.facts.get("client_ids", "") is None:
            notes.append(
                f"the audiences of `{link.facts.get('provider')}` are not in the inputs "
                "(list-open-id-connect-providers output has ARNs only): not checked"
            )
        missing = link.facts.get("policies_not_in_inputs")
        if missing:
            notes.append(f"managed policies not in the inputs, not evaluated: {missing}")
    return notes
