"""IRSA → Pod Identity as text and as JSON (pure).

The JSON shape (``-o json``), stable: ``{"cluster": {account, region, name, arn},
"agent": "present"|"install"|"unknown", "migrations": [{service_account, role_arn,
target_role_arn, targets, target_reason, association: "create"|"exists"}], "skipped":
[{service_account, rule, reason}], "changes": [{kind: "addon"|"trust"|"role_policy"|
"association"|"config_map"|"service_account", what, ...}], "notes": [...], "proof":
equivalence.as_json, "applied": {done, already, addon_installed, settled_seconds} (with
--apply), "recheck": equivalence.as_json (with --apply), "restart": [{namespace, pod,
service_account, owner}], "backup": DIR}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kubetrust.migrate import equivalence
from kubetrust.migrate import pod_identity_documents as docs
from kubetrust.migrate.pod_identity_apply import Applied
from kubetrust.migrate.pod_identity_plan import Plan, TrustEdit
from kubetrust.model.eks import POD_IDENTITY_AGENT_ADDON, ROLE_ANNOTATION
from kubetrust.provision.ports import LivePod


def changes(plan: Plan) -> list[dict[str, Any]]:
    """Every change of the plan, in apply order."""
    found: list[dict[str, Any]] = []
    if plan.agent == "install":
        found.append({"kind": "addon", "what": f"install add-on {POD_IDENTITY_AGENT_ADDON}"})
    for edit in plan.trust_edits:
        found.append(
            {
                "kind": "trust",
                "what": f"trust of {edit.role_arn}: {edit.why}",
                "add": list(edit.add),
            }
        )
    for policy in plan.policy_edits:
        found.append(
            {
                "kind": "role_policy",
                "what": f"inline policy {docs.TAG_SESSION_POLICY} of {policy.role_arn}: "
                f"sts:TagSession on {', '.join(policy.resources)}",
                "document": policy.edited(None),
            }
        )
    for migration in plan.associations:
        target = migration.target_role_arn
        found.append(
            {
                "kind": "association",
                "what": f"association {plan.cluster} {migration.key} -> {migration.role_arn}"
                + (f" (targetRoleArn {target})" if target else ""),
            }
        )
    if plan.config_edit is not None:
        moved = plan.config_edit
        found.append(
            {
                "kind": "config_map",
                "what": f"AWS config {moved.namespace}/{moved.name}: web identity -> container "
                "credentials",
                "after": dict(moved.after),
            }
        )
    for dropped in plan.irsa_edits:
        found.append(
            {"kind": "trust", "what": f"trust of {dropped.role_arn}: drop {_subjects(dropped)}"}
        )
    for namespace, name in plan.annotations:
        found.append(
            {"kind": "service_account", "what": f"remove {ROLE_ANNOTATION} of {namespace}/{name}"}
        )
    return found


def _subjects(edit: TrustEdit) -> str:
    return ", ".join(subject for _, _, subject in edit.drop) + " from web identity"


def as_json(
    plan: Plan,
    proof: Sequence[equivalence.Difference],
    applied: Applied | None = None,
    recheck: Sequence[equivalence.Difference] | None = None,
    restart: Sequence[LivePod] = (),
    backup: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "cluster": {
            "account": plan.account,
            "region": plan.region,
            "name": plan.cluster,
            "arn": plan.cluster_arn,
        },
        "agent": plan.agent,
        "migrations": [
            {
                "service_account": m.key,
                "role_arn": m.role_arn,
                "target_role_arn": m.target_role_arn,
                "targets": list(m.targets),
                "target_reason": m.target_reason,
                "association": "exists" if m.association_exists else "create",
            }
            for m in plan.migrations
        ],
        "skipped": [
            {"service_account": s.key, "rule": s.rule, "reason": s.reason} for s in plan.skipped
        ],
        "changes": changes(plan),
        "notes": list(plan.notes),
        "proof": equivalence.as_json(proof),
    }
    if applied is not None:
        data["applied"] = {
            "done": applied.done,
            "already": applied.already,
            "addon_installed": applied.addon_installed,
            "settled_seconds": applied.settled,
        }
    if recheck is not None:
        data["recheck"] = equivalence.as_json(recheck)
        data["restart"] = [
            {
                "namespace": p.namespace,
                "pod": p.name,
                "service_account": p.service_account,
                "owner": p.owner,
            }
            for p in restart
        ]
    if backup is not None:
        data["backup"] = backup
    return data


def render_plan(plan: Plan) -> str:
    """The plan, as ``kubetrust plan`` shows its changes."""
    found = changes(plan)
    lines = [
        f"migrate pod-identity {plan.cluster} (account {plan.account}, {plan.region}): "
        f"{equivalence.counted(len(plan.migrations), 'service account')}, "
        f"{len(plan.skipped)} skipped, {equivalence.counted(len(found), 'change')}"
    ]
    for m in plan.migrations:
        target = m.target_role_arn or "none"
        lines.append(f"  {m.key}: role {m.role_arn}, targetRoleArn {target} ({m.target_reason})")
    for skip in plan.skipped:
        lines.append(f"  skipped {skip.key} [{skip.rule}]: {skip.reason}")
    for change in found:
        lines.append(f"+ {change['what']}")
    if not found:
        lines.append("nothing to change")
    lines += [f"note: {note}" for note in plan.notes]
    return "\n".join(lines)


def render_restart(restart: Sequence[LivePod]) -> str:
    if not restart:
        return "no pod to restart"
    lines = ["restart these pods (they keep IRSA credentials until recreated, reference F.2):"]
    for pod in restart:
        owner = f" (owned by {pod.owner})" if pod.owner else ""
        lines.append(f"  {pod.namespace}/{pod.name} as {pod.service_account}{owner}")
    return "\n".join(lines)
