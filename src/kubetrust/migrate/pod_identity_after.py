"""The world after an IRSA → Pod Identity plan, as a topology (pure).

The proof compares what each service account can do in the world before and in this one
(:func:`kubetrust.migrate.equivalence.compare`), with the chain code explain uses; so the
after-world is the before-world with exactly the plan's changes: the edited trusts and
inline policies, the new associations (the cluster's associations then known, the agent
add-on running), and, with ``remove_irsa``, the annotations gone.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from kubetrust.migrate import pod_identity_documents as docs
from kubetrust.migrate.pod_identity_plan import Plan
from kubetrust.model.eks import POD_IDENTITY_AGENT_ADDON, ROLE_ANNOTATION, PodIdentityAssociation
from kubetrust.model.iam import AccountIam, NamedDocument, Role
from kubetrust.model.topology import Cluster, Topology
from kubetrust.policy import PolicyKind, parse_policy
from kubetrust.policy.compact import compact_json

INLINE_PREFIX = "inline "
"""How :mod:`kubetrust.model.account_dump` names an inline policy (``inline <name>``)."""


def after_world(plan: Plan) -> Topology:
    """``plan.before`` with the plan applied (module doc)."""
    before = plan.before
    roles: dict[str, Role] = {}
    for edit in (*plan.trust_edits, *plan.irsa_edits):
        role = roles.get(edit.role_arn) or before.role(edit.role_arn)
        if role is not None:
            trust, _ = edit.edited(json.loads(role.trust_text))
            roles[role.arn] = _with_trust(role, trust)
    for policy in plan.policy_edits:
        role = roles.get(policy.role_arn) or before.role(policy.role_arn)
        if role is not None:
            roles[role.arn] = _with_inline(
                role, docs.TAG_SESSION_POLICY, policy.edited(_inline(role))
            )
    accounts = {name: _account(account, roles) for name, account in before.accounts.items()}
    clusters = tuple(
        _cluster(cluster, plan) if cluster.info.arn == plan.cluster_arn else cluster
        for cluster in before.clusters
    )
    return dataclasses.replace(before, accounts=accounts, clusters=clusters)


def _with_trust(role: Role, trust: Mapping[str, Any]) -> Role:
    text = compact_json(trust)
    return dataclasses.replace(
        role, trust=parse_policy(text, PolicyKind.TRUST), trust_text=text, trust_problem=""
    )


def _inline(role: Role) -> dict[str, Any] | None:
    """The role's current :data:`docs.TAG_SESSION_POLICY`, as a mapping (``None``: none)."""
    for named in role.inline:
        if named.name in (docs.TAG_SESSION_POLICY, INLINE_PREFIX + docs.TAG_SESSION_POLICY):
            return {
                "Statement": [_statement_resources(s.resource) for s in named.document.statements]
            }
    return None


def _statement_resources(resources: tuple[str, ...] | None) -> dict[str, Any]:
    return {"Resource": list(resources or ())}


def _with_inline(role: Role, name: str, document: Mapping[str, Any]) -> Role:
    parsed = parse_policy(compact_json(document), PolicyKind.IDENTITY)
    kept = tuple(named for named in role.inline if named.name not in (name, INLINE_PREFIX + name))
    return dataclasses.replace(role, inline=(*kept, NamedDocument(INLINE_PREFIX + name, parsed)))


def _account(account: AccountIam, roles: Mapping[str, Role]) -> AccountIam:
    changed = {key: roles[role.arn] for key, role in account.roles.items() if role.arn in roles}
    if not changed:
        return account
    return dataclasses.replace(account, roles={**account.roles, **changed})


def _cluster(cluster: Cluster, plan: Plan) -> Cluster:
    associations = list(cluster.pod_identity_associations)
    for migration in plan.associations:
        associations.append(
            PodIdentityAssociation(
                cluster_name=cluster.name,
                namespace=migration.namespace,
                service_account=migration.name,
                role_arn=migration.role_arn,
                target_role_arn=migration.target_role_arn,
            )
        )
    accounts = dict(cluster.service_accounts)
    for key in plan.annotations:
        account = accounts.get(key)
        if account is not None:
            annotations = {k: v for k, v in account.annotations.items() if k != ROLE_ANNOTATION}
            accounts[key] = dataclasses.replace(account, role_arn=None, annotations=annotations)
    addons = set(cluster.addons or ())
    addons.add(POD_IDENTITY_AGENT_ADDON)
    return dataclasses.replace(
        cluster,
        pod_identity_associations=tuple(associations),
        associations_known=True,
        addons=tuple(sorted(addons)),
        service_accounts=accounts,
    )
