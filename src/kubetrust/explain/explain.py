"""``kubetrust explain``: one service account, one goal, every link with its verdict and fix.

:func:`explain_access` is the one library call behind the command (style B6): it picks the
chain (``via`` as given, else :func:`kubetrust.chain.paths.search`), decides every link with
:func:`kubetrust.chain.paths.evaluate`, and attaches to each failed link the smallest fix
(:mod:`kubetrust.explain.fixes`). The :class:`Explanation` is a value: the text and JSON
renderings (:mod:`kubetrust.explain.render`) read it and decide nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from kubetrust import arn, errors
from kubetrust.chain import context, graph, paths
from kubetrust.chain import sts as hops
from kubetrust.chain.links import Workload
from kubetrust.explain.fixes import Fix, fix_for
from kubetrust.model.eks import AUDIENCE_ANNOTATION
from kubetrust.model.topology import Topology
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
) -> Explanation:
    """Explain whether ``workload`` reaches ``goal``, and why (module doc). ``request``:
    the facts every call of the chain carries (the time the caller supplies, transport,
    region: :mod:`kubetrust.chain.context`); unknown facts leave their keys absent.
    ``hop_params``: the source identity and session tags each hop of ``via`` passes
    (:func:`kubetrust.chain.paths.evaluate`); a searched chain passes none.

    Raises :class:`errors.InputError` for an unknown cluster or a malformed ``via``.
    """
    cluster = topology.cluster(workload.cluster)
    if isinstance(goal, paths.KubeGoal):
        topology.cluster(goal.cluster)
    _check_via(via)
    notes: list[str] = []
    annotated, annotation_source = paths.annotated_role(cluster, workload)
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
    chain = paths.evaluate(
        topology,
        workload,
        roles,
        goal,
        session=session,
        role_source=source,
        request=request,
        hop_params=hop_params if via else (),
    )
    fixes = tuple(fix_for(link, topology, chain) for link in chain.links)
    notes += _chain_notes(chain, annotation_source)
    return Explanation(workload, goal, chain, fixes, tuple(notes), problems)


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
