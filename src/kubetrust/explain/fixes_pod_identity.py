"""Fixes for the EKS Pod Identity links, each saying exactly what to change (F.1–F.4).

- ``pod-identity``: no association for the service account (create it, then restart the
  pods: the webhook mutates pods only at creation, and explain cannot see pods offline);
  the ``eks-pod-identity-agent`` add-on missing; the association role's trust not admitting
  ``pods.eks.amazonaws.com``, admitting it without ``sts:TagSession`` while the association
  passes session tags, or under a condition the request does not meet (a tag condition
  with ``disableSessionTags``, ``aws:SourceArn``, whose value EKS does not document);
- ``target-role``: the association role's identity policies lacking ``sts:AssumeRole`` or
  ``sts:TagSession`` on the target, the target's trust not naming the association role,
  naming it without ``sts:TagSession``, or under a condition (``aws:RequestTag``,
  ``aws:PrincipalTag``, ``sts:ExternalId``) that does not hold;
- an AWS action of a pod identity session denied by an ``aws:PrincipalTag`` condition
  (ABAC on the six session tags, or tags disabled).

The snippets are the EKS user guide's statements and the aws CLI's commands, filled in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from kubetrust import arn, policy
from kubetrust.chain import pod_identity
from kubetrust.chain import sts as hops
from kubetrust.chain.links import Failure, Link, Workload
from kubetrust.chain.paths import Chain
from kubetrust.explain import fixes_sts
from kubetrust.explain import trust_analysis as ta
from kubetrust.explain.fix_common import Fix, name_of, statement_json, unknown_role
from kubetrust.model.eks import POD_IDENTITY_AGENT_ADDON
from kubetrust.model.iam import Role
from kubetrust.model.topology import Topology

SERVICE = pod_identity.SERVICE_PRINCIPAL
BOTH_ACTIONS = ["sts:AssumeRole", "sts:TagSession"]
TAG_KEY_PREFIXES = ("aws:requesttag/", "aws:principaltag/")


def association_role_statement() -> dict[str, object]:
    """The association role's trust statement (EKS UG ``pod-id-role``)."""
    return {
        "Sid": "AllowEksAuthToAssumeRoleForPodIdentity",
        "Effect": "Allow",
        "Principal": {"Service": SERVICE},
        "Action": BOTH_ACTIONS,
    }


def _cli(verb: str, chain: Chain, *options: str) -> str:
    cluster = chain.workload.cluster
    return " ".join(("aws eks", verb, "--cluster-name", cluster, *options))


def _association(link: Link) -> Mapping[str, object]:
    found = link.facts.get("association")
    return found if isinstance(found, Mapping) else {}


def _update_tags(chain: Chain, link: Link, *, disable: bool) -> str:
    ident = str(_association(link).get("associationId") or "ASSOCIATION_ID")
    flag = "--disable-session-tags" if disable else "--no-disable-session-tags"
    return _cli("update-pod-identity-association", chain, "--association-id", ident, flag)


def _restart(workload: Workload) -> str:
    return f"kubectl rollout restart deployment -n {workload.namespace} DEPLOYMENT"


# ---------------------------------------------------------------------- no chain at all


def no_role(topology: Topology, workload: Workload) -> Fix:
    """No association and no role of the cluster's account trusting Pod Identity."""
    cluster = topology.cluster(workload.cluster)
    account = cluster.info.account
    return Fix(
        f"service account {workload.namespace}/{workload.name} has no pod identity "
        f"association in cluster `{cluster.name}`, and no role of account {account} trusts "
        f"`{SERVICE}`",
        "create a role with the trust below, associate it with the service account, then "
        "restart the pods (only pods created after the association get credentials)",
        statement_json(association_role_statement())
        + "\n"
        + " ".join(
            (
                "aws eks create-pod-identity-association --cluster-name",
                cluster.name,
                "--namespace",
                workload.namespace,
                "--service-account",
                workload.name,
                f"--role-arn arn:aws:iam::{account}:role/ROLE_NAME",
            )
        ),
    )


# ---------------------------------------------------------------------- link 1


def pod_identity_link(link: Link, topology: Topology, chain: Chain) -> Fix:
    """The fix of a failed ``pod-identity`` link (module doc)."""
    workload = chain.workload
    if link.failure is Failure.NO_ASSOCIATION:
        return _no_association(link, chain)
    if link.failure is Failure.NO_AGENT:
        agent = _no_agent(chain)
        if link.facts.get("hop_denied"):
            trust = _association_trust(link, topology, chain)
            return Fix(
                f"{agent.cause}; and {trust.cause}",
                f"{agent.action}; and {trust.action}",
                "\n".join(f.snippet for f in (agent, trust) if f.snippet),
            )
        return agent
    if link.failure is Failure.UNKNOWN_ROLE:
        if link.facts.get("association") and not _association(link).get("roleArn"):
            return Fix(
                "the inputs hold the association's summary only (list-pod-identity-"
                "associations has no roleArn)",
                "export `aws eks describe-pod-identity-association` for it "
                f"(clusters/{workload.cluster}/pod-identity-associations/)",
            )
        return unknown_role(link.target, topology, what="association's roleArn")
    return _association_trust(link, topology, chain)


def _no_association(link: Link, chain: Chain) -> Fix:
    workload = chain.workload
    role = str(link.facts.get("candidate_role") or link.target or "ROLE_ARN")
    target = next(
        (r for r in chain.roles[1:2] if arn.parse(r).account != arn.parse(role).account), None
    )
    options = [
        "--namespace",
        workload.namespace,
        "--service-account",
        workload.name,
        "--role-arn",
        role,
    ]
    if target is not None and len(chain.roles) > 1:
        options += ["--target-role-arn", target]
    return Fix(
        f"service account {workload.namespace}/{workload.name} has no pod identity "
        f"association in cluster `{workload.cluster}`: the EKS webhook gives its pods no "
        "eks-pod-identity-token, so there are no credentials in the pod (the SDK falls back "
        "to the node's role, or fails)",
        "create the association, then restart the pods: a pod gets its credentials only if "
        "created after the association (explain cannot see pods offline; a pod older than "
        "its association has no credentials either)",
        _cli("create-pod-identity-association", chain, *options) + "\n" + _restart(workload),
    )


def _no_agent(chain: Chain) -> Fix:
    return Fix(
        f"cluster `{chain.workload.cluster}` has no `{POD_IDENTITY_AGENT_ADDON}` add-on: "
        "nothing on the nodes answers the pods' credential requests (169.254.170.23)",
        "install the add-on (its DaemonSet runs the agent), then restart the pods",
        _cli("create-addon", chain, "--addon-name", POD_IDENTITY_AGENT_ADDON),
    )


def _association_trust(link: Link, topology: Topology, chain: Chain) -> Fix:
    role = topology.role(link.target)
    if role is None:
        return unknown_role(link.target, topology, what="association's roleArn")
    if role.trust is None or link.hop is None:
        return fixes_sts.unreadable_trust(role.name, role)
    failed = link.hop.failed
    if failed is None:
        return Fix("the trust policy of the association role denies", "see the reasons")
    named = fixes_sts.explicit_or_org(link, role.name)
    if named is not None:
        return named
    trust = role.trust
    admitting = [
        s
        for s in trust.statements
        if s.effect == "Allow"
        and s.principal is not None
        and SERVICE in (x.lower() for x in s.principal.service)
    ]
    if not admitting:
        return _not_admitting(role, trust)
    action = failed.action
    allowing = [s for s in admitting if ta.allows(s, action)]
    if not allowing:
        if action.lower() == "sts:tagsession":
            return Fix(
                f"the trust policy of `{role.name}` ({admitting[0].label}) lets "
                f"`{SERVICE}` call sts:AssumeRole but not sts:TagSession, and the association "
                "passes the six session tags (EKS sets them unless disableSessionTags)",
                f"add sts:TagSession to that statement's Action (or, if nothing needs the "
                f"tags, disable them: `{_update_tags(chain, link, disable=True)}`)",
                statement_json(association_role_statement()),
            )
        return Fix(
            f"the trust policy of `{role.name}` ({admitting[0].label}) names `{SERVICE}` but "
            f"does not allow {action}",
            "allow sts:AssumeRole and sts:TagSession in that statement",
            statement_json(association_role_statement()),
        )
    return _condition_fix(role, allowing[0].label, failed.request.context or {}, link, chain)


def _not_admitting(role: Role, trust: policy.PolicyDocument) -> Fix:
    trusted = [
        f"{statement.label}: {words}"
        for statement in trust.statements
        if statement.effect == "Allow"
        for words in ta.describe_principals(statement)
    ]
    shown = f" (it trusts {'; '.join(trusted[:3])})" if trusted else ""
    return Fix(
        f"the trust policy of `{role.name}` does not admit `{SERVICE}`{shown}: EKS Auth answers "
        '"EKS does not have permissions to assume the associated role" (and EKS refuses new '
        'associations with it: "Trust policy of the role provided is invalid")',
        f"add the statement EKS Pod Identity needs to the trust policy of `{role.name}`",
        statement_json(association_role_statement()),
    )


def _condition_fix(
    role: Role, label: str, keys: Mapping[str, object], link: Link, chain: Chain
) -> Fix:
    """A statement names the caller under a condition that does not hold."""
    trust = role.trust
    assert trust is not None
    statement = next((s for s in trust.statements if s.label == label), None)
    tags_disabled = bool(link.facts.get("tags_disabled"))
    for condition in statement.conditions if statement is not None else ():
        if ta.condition_holds(condition, trust, keys):
            continue
        key = condition.key.lower()
        if tags_disabled and key.startswith(TAG_KEY_PREFIXES):
            return Fix(
                f"the trust policy of `{role.name}` ({label}) requires {ta.describe(condition)}, "
                "but the association disables session tags (disableSessionTags): the request "
                f"carries no `{condition.key}`",
                "enable the session tags (`"
                + _update_tags(chain, chain.links[0], disable=False)
                + "`), or condition on what the request carries without them"
                + (
                    " (sts:ExternalId on the target hop)"
                    if link.target != chain.roles[0]
                    else " (aws:SourceAccount)"
                ),
            )
        if key == "aws:sourcearn":
            return Fix(
                f"the trust policy of `{role.name}` ({label}) requires {ta.describe(condition)}; "
                "EKS does not document the aws:SourceArn it sends, and kubetrust assumes none "
                "(the EKS best practices guide and AWS samples use aws:SourceAccount)",
                f"condition on aws:SourceAccount `{chain_account(chain)}` or "
                "aws:RequestTag/eks-cluster-arn instead",
            )
        break
    carried, action = fixes_sts.condition_miss(role, label, keys)
    return Fix(
        f"the trust policy of `{role.name}` ({label}) admits the caller only under a "
        f"condition the request does not meet{carried}",
        action,
    )


def chain_account(chain: Chain) -> str:
    """The account of the workload's cluster (``aws:SourceAccount`` of hop 1)."""
    cluster = chain.links[0].facts.get("cluster") if chain.links else None
    return arn.parse(cluster).account if isinstance(cluster, str) else "CLUSTER_ACCOUNT"


# ---------------------------------------------------------------------- link 2


def target_link(link: Link, topology: Topology, chain: Chain) -> Fix:
    """The fix of a failed ``target-role`` link (module doc)."""
    if link.failure is Failure.NOT_REACHED:
        return Fix("the association role is not in the inputs", "fix the first link first")
    if link.failure is Failure.UNKNOWN_ROLE:
        return unknown_role(link.target, topology, what="association's targetRoleArn")
    target = topology.role(link.target)
    source = topology.role(chain.roles[0])
    if target is None or source is None or link.hop is None:
        return Fix("the hop could not be evaluated", "see the warnings")
    if link.failure is Failure.NO_TRUST or target.trust is None:
        return fixes_sts.unreadable_trust(target.name, target)
    failed = link.hop.failed
    assert failed is not None
    fixes: list[Fix] = []
    tags_on = not link.facts.get("tags_disabled")
    if failed.caller_side is not None and not failed.caller_side.allowed:
        fixes.append(
            _target_caller(failed.caller_side, failed.action, source, target, topology, tags_on)
        )
    if not failed.trust_side.allowed:
        fixes.append(_target_trust(failed, source, target, link, chain, topology))
    if not fixes:
        fixes.append(_target_trust(failed, source, target, link, chain, topology))
    if len(fixes) == 1:
        return fixes[0]
    return Fix(
        f"{fixes[0].cause}; and {fixes[1].cause}",
        f"{fixes[0].action}; and {fixes[1].action} (cross-account: both sides must allow)",
        "\n".join(f.snippet for f in fixes if f.snippet),
    )


def _target_caller(
    decision: policy.Decision,
    action: str,
    source: Role,
    target: Role,
    topology: Topology,
    tags_on: bool,
) -> Fix:
    if decision.deciding_kind in ("boundary", "scp") or any(
        r.effect == "Deny" for r in decision.reasons
    ):
        return fixes_sts.caller_fix(decision, source, target, topology)
    actions = BOTH_ACTIONS if tags_on else ["sts:AssumeRole"]
    why = (
        "EKS assumes the target role with the association role's session and sets its six "
        "transitive session tags again, so it needs sts:AssumeRole and sts:TagSession there"
        if tags_on
        else "EKS assumes the target role with the association role's session"
    )
    return Fix(
        f"no identity policy of `{source.name}` allows {action} on `{target.arn}` ({why})",
        f"allow {' and '.join(actions)} on the target role in an identity policy of "
        f"`{source.name}`",
        statement_json({"Effect": "Allow", "Action": actions, "Resource": target.arn}),
    )


REQUEST_TAG = "aws:RequestTag/"
PRINCIPAL_TAG = "aws:PrincipalTag/"


def tag_condition_prefix(trust: policy.PolicyDocument | None) -> str:
    """``aws:PrincipalTag/`` when the target's trust already conditions on the session's
    tags that way, else the user guide's ``aws:RequestTag/``. On the target hop both hold the
    same values: EKS sets the six tags again in the request and the association role's
    session carries them, transitive (reference F.1) — so a fix in the user's own keys is as
    right as the guide's and reads like the rest of their policy."""
    for statement in trust.statements if trust is not None else ():
        for condition in statement.conditions:
            key = condition.key.lower()
            if key.startswith(PRINCIPAL_TAG.lower()):
                return PRINCIPAL_TAG
            if key.startswith(REQUEST_TAG.lower()):
                return REQUEST_TAG
    return REQUEST_TAG


def target_trust_statement(
    source: Role,
    chain: Chain,
    *,
    tags_on: bool,
    external_id: str,
    tag_prefix: str = REQUEST_TAG,
) -> dict[str, object]:
    """The target role's trust statement of the EKS user guide (``pod-id-assign-target-role``):
    with session tags, the transitive tags name the cluster, namespace and service account
    (under ``tag_prefix``: :func:`tag_condition_prefix`); without, the association's external
    id does."""
    workload = chain.workload
    cluster_arn = str(chain.links[0].facts.get("cluster") or "")
    principal = {"AWS": source.arn}
    if tags_on:
        return {
            "Effect": "Allow",
            "Principal": principal,
            "Action": BOTH_ACTIONS,
            "Condition": {
                "StringEquals": {
                    f"{tag_prefix}{pod_identity.CLUSTER_ARN_TAG}": cluster_arn,
                    f"{tag_prefix}{pod_identity.NAMESPACE_TAG}": workload.namespace,
                    f"{tag_prefix}{pod_identity.SERVICE_ACCOUNT_TAG}": workload.name,
                }
            },
        }
    return {
        "Effect": "Allow",
        "Principal": principal,
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
    }


def _target_trust(
    failed: hops.Check, source: Role, target: Role, link: Link, chain: Chain, topology: Topology
) -> Fix:
    decision = failed.trust_side if not failed.trust_side.allowed else failed.decision
    tags_on = not link.facts.get("tags_disabled")
    external_id = str(link.facts.get("external_id") or "")
    keys = failed.request.context or {}
    for reason in decision.reasons:
        if reason.effect == "Deny" or (reason.effect == "ImplicitDeny" and reason.kind == "rcp"):
            return fixes_sts.trust_fix(decision, source, target, topology, keys)
    misses = [r for r in decision.reasons if r.effect == "NotApplicable"]
    if misses:
        return _condition_fix(target, misses[0].statement, keys, link, chain)
    trust = target.trust
    assert trust is not None
    if failed.action.lower() == "sts:tagsession":
        return Fix(
            f"the trust policy of `{target.name}` does not allow sts:TagSession to "
            f"`{source.name}`'s session, which carries six transitive session tags that the "
            "target hop sets again",
            f"add sts:TagSession to the statement that admits `{source.arn}` (or disable the "
            f"tags: `{_update_tags(chain, chain.links[0], disable=True)}`, and condition on "
            "sts:ExternalId)",
            statement_json(
                target_trust_statement(
                    source,
                    chain,
                    tags_on=True,
                    external_id=external_id,
                    tag_prefix=tag_condition_prefix(trust),
                )
            ),
        )
    named = [
        entry
        for statement in trust.statements
        if statement.principal is not None and ta.allows(statement, "sts:AssumeRole")
        for entry in statement.principal.aws
    ]
    shown = f"; it names {', '.join(f'`{n}`' for n in named[:3])}" if named else ""
    return Fix(
        f"the trust policy of `{target.name}` does not name the association role "
        f"`{source.arn}`{shown}",
        f"add `{source.arn}` to the trust policy of `{target.name}`, limited to the cluster, "
        "namespace and service account as the EKS user guide shows",
        statement_json(
            target_trust_statement(
                source,
                chain,
                tags_on=tags_on,
                external_id=external_id,
                tag_prefix=tag_condition_prefix(trust),
            )
        ),
    )


# ---------------------------------------------------------------------- the goal


_PRINCIPAL_TAG = re.compile(r"aws:PrincipalTag/([A-Za-z0-9_.:/=+\-@]+)", re.IGNORECASE)


def tagged_action(link: Link, chain: Chain) -> Fix | None:
    """An AWS action of a pod identity session denied by an ``aws:PrincipalTag`` condition;
    ``None`` when the denial is something else (:mod:`.fixes_goal` words it)."""
    start = chain.pod_identity
    decision = link.decision
    if start is None or decision is None or decision.allowed:
        return None
    if any(r.effect == "Deny" for r in decision.reasons):
        return None
    for reason in decision.reasons:
        found = _PRINCIPAL_TAG.search(reason.detail) if reason.effect == "NotApplicable" else None
        if found is None:
            continue
        key = found.group(1)
        tags = chain.links[0].facts.get("session_tags")
        carried = tags if isinstance(tags, Mapping) else {}
        role = name_of(chain.roles[-1])
        if start.tags_disabled and key.lower() in pod_identity.SESSION_TAG_KEYS:
            return Fix(
                f"{reason.statement} of `{role}`'s policies requires aws:PrincipalTag/{key} "
                "(ABAC), but the association disables session tags (disableSessionTags): the "
                "session has no such tag",
                "enable the session tags (`"
                + _update_tags(chain, chain.links[0], disable=False)
                + "`), or drop the tag condition",
            )
        value = carried.get(key) if isinstance(key, str) else None
        if value is None:
            value = next((v for k, v in carried.items() if str(k).lower() == key.lower()), None)
        if value is None:
            return Fix(
                f"{reason.statement} of `{role}`'s policies requires aws:PrincipalTag/{key}, "
                "which no pod identity session tag sets (EKS sets only "
                f"{', '.join(pod_identity.SESSION_TAG_KEYS)}) and the role has no such tag",
                "condition on one of the six session tags, or tag the role",
            )
        return Fix(
            f"{reason.statement} of `{role}`'s policies requires {_condition_text(reason)}; "
            f"the session's aws:PrincipalTag/{key} is `{value}` (EKS sets it from the pod)",
            f"correct that condition to admit `{value}`, or run the workload where the tag matches",
        )
    return None


def _condition_text(reason: policy.Reason) -> str:
    """``condition X is not met`` (the engine's near miss) → ``X``."""
    return reason.detail.removeprefix("condition ").removesuffix(" is not met")
