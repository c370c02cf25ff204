"""aws-auth → access entries: what the command prints, as text and as JSON (issue 15).

Pure. :class:`Report` gathers one run (the move, the proof, the losses, the refusal, what
apply did, the re-check) and renders it: text with headings and aligned columns, and JSON of
a stable shape (docs/migrate.md, "aws-auth → access entries", documents its keys).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kubetrust.migrate import equivalence
from kubetrust.migrate.access_after import AccessMove
from kubetrust.migrate.access_apply import Applied
from kubetrust.migrate.access_plan import NODE_NOTE
from kubetrust.migrate.access_proof import Loss
from kubetrust.model.vocabulary import CONFIG_MAP

__all__ = ["ONE_WAY", "Report", "as_json", "render_text"]

ONE_WAY = (
    "authentication modes change one way only, CONFIG_MAP → API_AND_CONFIG_MAP → API "
    "(reference E.1): this cannot be rolled back"
)
CREATOR_NOTE = (
    "assumed to be the cluster creator (aws-auth does not map it, yet it reads the cluster): "
    "its system:masters mapping is invisible in CONFIG_MAP, and EKS gives it an "
    "AmazonEKSClusterAdminPolicy access entry when the cluster leaves CONFIG_MAP"
)


@dataclass(frozen=True, slots=True)
class Report:
    """One run of ``kubetrust migrate access-entries``."""

    move: AccessMove
    differences: tuple[equivalence.Difference, ...] = ()
    losses: tuple[Loss, ...] = ()
    refused: tuple[str, ...] = ()
    applied: bool = False
    steps: tuple[Applied, ...] = ()
    backup: str | None = None
    resumed: str | None = None
    recheck: tuple[equivalence.Difference, ...] | None = None
    unexpected: tuple[str, ...] = field(default=())
    """Re-check differences the plan did not prove (one line each)."""

    @property
    def nothing_to_migrate(self) -> bool:
        return self.move.nothing_to_do and self.resumed is None


# ------------------------------------------------------------------ text


def render_text(report: Report) -> str:
    """The plan, the proof, and (after --apply) the steps and the re-check."""
    move = report.move
    info = move.cluster.info
    out = [
        f"# aws-auth → access entries: cluster {info.name} (account {info.account}, {info.region})"
    ]
    if report.resumed:
        out.append(f"resuming the unfinished migration backed up in {report.resumed}")
    if report.nothing_to_migrate:
        out.append("nothing to migrate: every mapping aws-auth carries has its access entry")
    out += _entries(move)
    out += _already(move)
    out += _not_carried(move)
    out += _mode(move)
    out += _aws_auth(move)
    if move.creator:
        out += ["", "## Cluster creator", f"{move.creator}: {CREATOR_NOTE}"]
    if report.differences:
        out += [
            "",
            "## Proof (before → after, per principal)",
            equivalence.render_text(report.differences),
        ]
    out += _refusal(report)
    out += _applied(report)
    return "\n".join(out)


def _table(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in rows
    ]


def _entries(move: AccessMove) -> list[str]:
    if not move.plan.entries:
        return []
    rows = [("PRINCIPAL", "TYPE", "USERNAME", "GROUPS", "POLICIES", "FROM")]
    for e in move.plan.entries:
        policies = ",".join(p.rpartition("/")[2] for p in e.policies) or "-"
        rows.append(
            (
                e.principal_arn,
                e.type,
                e.username or "(EKS default)",
                ",".join(e.kubernetes_groups) or "-",
                policies,
                e.source,
            )
        )
    return ["", "## Access entries to create", *_table(rows), *_node_groups(move)]


def _node_groups(move: AccessMove) -> list[str]:
    """Each node entry's dropped groups, said with why that is EKS's own move (E.6)."""
    nodes = [e for e in move.plan.entries if e.dropped_groups]
    if not nodes:
        return []
    lines = [
        f"  {e.principal_arn} ({e.source}): groups {', '.join(e.dropped_groups)} not carried"
        for e in nodes
    ]
    return [*lines, f"    why: {NODE_NOTE}"]


def _already(move: AccessMove) -> list[str]:
    if not move.plan.already:
        return []
    lines = ["", "## Left alone (an access entry exists; it wins over aws-auth, E.1)"]
    return lines + [f"  {p}" for p in move.plan.already]


def _not_carried(move: AccessMove) -> list[str]:
    if not move.plan.not_carried:
        return []
    lines = ["", "## Not carried (kept in aws-auth, never removed; a manual step each)"]
    for item in move.plan.not_carried:
        lines.append(f"  {item.source}  {item.what}: {item.reason}")
        lines.append(f"      manual step: {item.manual}")
    return lines


def _mode(move: AccessMove) -> list[str]:
    if not move.modes:
        return ["", f"## Authentication mode: {move.mode_before} (unchanged)"]
    path = " → ".join((move.mode_before, *move.modes))
    why = (
        "needed: access-entry calls need it"
        if move.mode_before == CONFIG_MAP and move.modes == ("API_AND_CONFIG_MAP",)
        else "asked with --mode"
    )
    return ["", f"## Authentication mode: {path} ({why})", f"  {ONE_WAY}"]


def _aws_auth(move: AccessMove) -> list[str]:
    if not move.removed_keys:
        return [
            "",
            "## aws-auth: left untouched (--remove-aws-auth-entries removes the migrated mappings)",
        ]
    keys = sorted(k.partition(":")[2] for k in move.removed_keys)
    return ["", "## aws-auth: the migrated mappings are removed", *[f"  {k}" for k in keys]]


def _refusal(report: Report) -> list[str]:
    if not report.refused:
        return []
    head = "## Refused: nothing was changed" if not report.applied else "## Would refuse --apply"
    if not report.steps and report.backup is None:
        head = "## Refused: nothing was changed"
    return ["", head, *[f"  - {reason}" for reason in report.refused]]


def _applied(report: Report) -> list[str]:
    if not report.applied or report.refused:
        return []
    lines = ["", "## Applied"]
    lines += [f"  {'done' if s.changed else 'found'}  {s.what}" for s in report.steps] or [
        "  nothing to do"
    ]
    if report.backup:
        lines.append(
            f"  backup: {report.backup} (kubetrust migrate rollback --backup {report.backup})"
        )
    if report.recheck is not None:
        lines += ["", "## Re-check against the live state", equivalence.render_text(report.recheck)]
        if report.unexpected:
            lines += [
                "",
                "## The re-check differs from the proof",
                *[f"  - {u}" for u in report.unexpected],
            ]
    return lines


# ------------------------------------------------------------------ JSON


def as_json(report: Report) -> dict[str, Any]:
    """The run as one JSON object (module doc)."""
    move = report.move
    info = move.cluster.info
    return {
        "cluster": {
            "name": info.name,
            "account": info.account,
            "region": info.region,
            "arn": info.arn,
        },
        "caller": move.caller,
        "creator": move.creator,
        "resumed": report.resumed,
        "nothing_to_migrate": report.nothing_to_migrate,
        "plan": {
            "entries": [
                {
                    "principal": e.principal_arn,
                    "type": e.type,
                    "username": e.username,
                    "kubernetes_groups": list(e.kubernetes_groups),
                    "policies": list(e.policies),
                    "source": e.source,
                    "dropped_groups": list(e.dropped_groups),
                }
                for e in move.plan.entries
            ],
            "already": list(move.plan.already),
        },
        "not_carried": [
            {"source": i.source, "what": i.what, "reason": i.reason, "manual": i.manual}
            for i in move.plan.not_carried
        ],
        "mode": {"before": move.mode_before, "steps": list(move.modes), "after": move.mode_after},
        "aws_auth_removed": sorted(k.partition(":")[2] for k in move.removed_keys),
        "proof": equivalence.as_json(report.differences),
        "losses": [
            {
                "principal": loss.principal,
                "lost": list(loss.lost),
                "why": loss.why,
                "caller": loss.caller,
            }
            for loss in report.losses
        ],
        "refused": list(report.refused),
        "applied": report.applied,
        "steps": [{"what": s.what, "changed": s.changed} for s in report.steps],
        "backup": report.backup,
        "recheck": None if report.recheck is None else equivalence.as_json(report.recheck),
        "recheck_differs": list(report.unexpected),
    }
