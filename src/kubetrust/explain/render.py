"""Render an :class:`~kubetrust.explain.explain.Explanation` as text or JSON.

Text is for a glance: the verdict first, then one block per link — a mark, the hop, what
decided, and for a failure the cause and the fix. JSON is complete: every check of every
hop with the caller-side, trust-side and authoritative decisions and their reasons, the
facts each link kept, and the fixes. Rendering decides nothing (style habit 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubetrust import arn, errors, policy
from kubetrust.chain import sts as hops
from kubetrust.chain.links import Failure, Kind, Link
from kubetrust.chain.paths import Goal, KubeGoal
from kubetrust.explain.audit import AuditReport
from kubetrust.explain.explain import Explanation
from kubetrust.explain.fixes import Fix
from kubetrust.iac import model as iac_model
from kubetrust.iac.model import Location, SourceMap
from kubetrust.iac.symbolic import describe

_TITLES = {
    Kind.WEB_IDENTITY: "web identity",
    Kind.ASSUME_ROLE: "assume role",
    Kind.AWS_ACTION: "AWS action",
    Kind.KUBE_IDENTITY: "cluster identity",
    Kind.KUBE_RBAC: "Kubernetes RBAC",
    Kind.POD_IDENTITY: "pod identity",
    Kind.TARGET_ROLE: "target role (targetRoleArn)",
    Kind.IMDS: "IMDS (node role)",
}


def _short(value: str) -> str:
    """A role or session ARN as ``name (account)``; other values unchanged."""
    try:
        parsed = arn.parse(value)
    except errors.InvalidArnError:
        return value
    if parsed.service == "sts" and parsed.resource_type == "assumed-role":
        return f"{parsed.resource.split('/')[1]} ({parsed.account})"
    if parsed.service == "iam" and parsed.resource_type in ("role", "user"):
        return f"{parsed.resource_name} ({parsed.account})"
    return value


def explanation_text(explanation: Explanation, sources: SourceMap | None = None) -> str:
    """The at-a-glance text (module doc). With the ``sources`` of IaC inputs, a fix names
    the resource that declared what it changes ("in ADDRESS"), and values known only after
    apply read "known after apply (ADDRESS.ATTRIBUTE)"."""
    workload = explanation.workload
    head = (
        f"{workload.cluster} {workload.namespace}/{workload.name} → {explanation.goal.describe()}"
    )
    lines = [head]
    chain = explanation.chain
    if chain is None:
        lines.append("verdict: DENIED (no chain to evaluate)")
        if explanation.no_chain is not None:
            lines += _fix_lines(explanation.no_chain, "  ")
    else:
        failed = len(chain.failures)
        verdict = (
            "ALLOWED" if chain.allowed else f"DENIED ({failed} of {len(chain.links)} links fail)"
        )
        lines.append(f"verdict: {verdict}")
        path = " → ".join([workload.subject, *(_short(r) for r in chain.roles)])
        lines.append(f"chain:   {path}")
        lines.append("")
        for number, (link, fix) in enumerate(zip(chain.links, explanation.fixes, strict=True), 1):
            lines += _link_lines(number, link, fix)
            if fix is not None and sources is not None:
                lines += _declared_in(link, sources)
    for note in explanation.notes:
        lines.append(f"note: {note}")
    for problem in explanation.problems:
        lines.append(f"warning: {problem}")
    text = "\n".join(lines)
    return describe(text, sources.unknowns) if sources is not None else text


_CALLER_SIDE = ("caller-denied", "action-denied", "both-denied")


def _declared_in(link: Link, sources: SourceMap) -> list[str]:
    found = declared_location(link, sources)
    return [f"       in:    {found.describe()}"] if found is not None else []


def declared_location(link: Link, sources: SourceMap) -> Location | None:
    """Where the IaC input declared what the link's fix changes: the aws-auth ConfigMap or
    access entry for a cluster mapping, else the role whose policy decided (the caller's
    identity policy, or the target's trust)."""
    failure = link.failure.value if link.failure is not None else ""
    keys = [_role_key(link.target, sources), _role_key(link.caller, sources)]
    if failure in _CALLER_SIDE:
        keys.reverse()
    if link.kind in (Kind.KUBE_IDENTITY, Kind.KUBE_RBAC):
        cluster = str(link.facts.get("cluster_arn") or link.target)
        keys = [
            iac_model.access_entry_key(cluster, link.caller),
            iac_model.aws_auth_key(cluster),
            *keys,
        ]
    if link.kind is Kind.POD_IDENTITY:
        keys = [*_association_keys(link, sources), *keys]
        if link.failure is Failure.NO_AGENT:  # the add-on is the cluster's, not the association's
            keys.insert(0, str(link.facts.get("cluster") or ""))
    found = next((sources.locations[k] for k in keys if k in sources.locations), None)
    return found if found is not None else sources.locate(*keys)


def _association_keys(link: Link, sources: SourceMap) -> list[str]:
    """The Pod Identity association of the link's service account; when the input declares
    none, the one it declares in that cluster and namespace (made for another service
    account: the one to fix), or the cluster's only one."""
    subject = link.caller.removeprefix("system:serviceaccount:")
    namespace, _, name = subject.partition(":")
    cluster = str(link.facts.get("cluster") or "")
    exact = iac_model.association_key(cluster, namespace, name)
    if exact in sources.locations:
        return [exact]
    declared = [k for k in sources.locations if k.startswith(f"association:{cluster}:")]
    same_namespace = [k for k in declared if k.rsplit(":", 1)[-1].startswith(f"{namespace}/")]
    for candidates in (same_namespace, declared):
        if len(candidates) == 1:
            return candidates
    return []


def _role_key(principal: str, sources: SourceMap) -> str:
    """A session ARN (``assumed-role/NAME/SESSION``) as the key of its role, whose path the
    session does not show."""
    if ":assumed-role/" not in principal:
        return principal
    account = principal.split(":")[4]
    name = principal.split(":assumed-role/", 1)[1].split("/", 1)[0]
    prefix = f"arn:aws:iam::{account}:role/"
    return next(
        (
            key
            for key in sources.locations
            if key.startswith(prefix) and "#" not in key and key.rsplit("/", 1)[-1] == name
        ),
        principal,
    )


def link_text(number: int, link: Link, fix: Fix | None, sources: SourceMap | None = None) -> str:
    """Link ``number``'s block exactly as :func:`explanation_text` prints it (the mark, the
    hop, what decided, for a failure the cause and the fix, and with ``sources`` where the
    input declared it): the access report shows it for the graph's edge."""
    lines = _link_lines(number, link, fix)
    if fix is not None and sources is not None:
        lines += _declared_in(link, sources)
    text = "\n".join(lines)
    return describe(text, sources.unknowns) if sources is not None else text


def fix_text(fix: Fix, sources: SourceMap | None = None) -> str:
    """A fix alone (cause, fix, snippet), unindented, as :func:`explanation_text` words it."""
    text = "\n".join(line.rstrip() for line in _fix_lines(fix, ""))
    return describe(text, sources.unknowns) if sources is not None else text


def _link_lines(number: int, link: Link, fix: Fix | None) -> list[str]:
    mark = "ok  " if link.allowed else "FAIL"
    title = _TITLES[link.kind]
    extra = ""
    if link.kind in (Kind.ASSUME_ROLE, Kind.TARGET_ROLE) and link.facts.get("cross_account"):
        extra = "  [cross-account: both sides must allow]"
    lines = [f"{mark} {number}. {title}: {_short(link.caller)} → {_short(link.target)}{extra}"]
    shown = link.decided_by if not link.allowed else link.decided_by[:4]
    for reason in shown:
        lines.append(f"         {reason}")
    if fix is not None:
        lines += _fix_lines(fix, "     ")
    return lines


def _fix_lines(fix: Fix, indent: str) -> list[str]:
    lines = [f"{indent}cause: {fix.cause}"]
    if fix.action:
        lines.append(f"{indent}fix:   {fix.action}")
    for snippet_line in fix.snippet.splitlines():
        lines.append(f"{indent}       {snippet_line}")
    return lines


# ---------------------------------------------------------------------- JSON


def _request(request: policy.Request) -> dict[str, Any]:
    return {
        "principal": request.principal,
        "action": request.action,
        "resource": request.resource,
        "context": dict(request.context or {}),
    }


def hop_json(hop: hops.HopResult) -> dict[str, Any]:
    return {
        "action": hop.action,
        "caller": hop.caller,
        "role": hop.role,
        "allowed": hop.allowed,
        "checks": [
            {
                "action": check.action,
                "request": _request(check.request),
                "decision": check.decision.as_dict(),
                "callerSide": check.caller_side.as_dict() if check.caller_side else None,
                "trustSide": check.trust_side.as_dict(),
            }
            for check in hop.checks
        ],
    }


def link_json(link: Link, fix: Fix | None) -> dict[str, Any]:
    return {
        "kind": link.kind.value,
        "caller": link.caller,
        "target": link.target,
        "allowed": link.allowed,
        "failure": link.failure.value if link.failure else None,
        "decidedBy": list(link.decided_by),
        "hop": hop_json(link.hop) if link.hop is not None else None,
        "decision": link.decision.as_dict() if link.decision is not None else None,
        "facts": dict(link.facts),
        "fix": fix.as_dict() if fix is not None else None,
    }


def goal_json(goal: Goal) -> dict[str, Any]:
    if isinstance(goal, KubeGoal):
        request = goal.request
        return {
            "kind": "kubernetes",
            "cluster": goal.cluster,
            "verb": request.verb,
            "resource": request.resource,
            "group": request.group,
            "subresource": request.subresource,
            "namespace": request.namespace,
            "name": request.name,
            "path": request.path,
        }
    return {
        "kind": "aws",
        "action": goal.action,
        "resource": goal.resource,
        "account": goal.account,
    }


def explanation_json(explanation: Explanation, sources: SourceMap | None = None) -> dict[str, Any]:
    """The complete explanation (module doc). With the ``sources`` of IaC inputs, each
    failing link with a fix has ``declaredIn`` (where the input declared what the fix
    changes: ``file``, ``address``, ``line``), and values known only after apply read
    "known after apply (ADDRESS.ATTRIBUTE)", as in the text."""
    found = _explanation_json(explanation)
    if sources is None:
        return found
    chain = explanation.chain
    for link, entry in zip(chain.links if chain else (), found["links"], strict=False):
        if entry["fix"] is not None and not link.allowed:
            entry["declaredIn"] = _declared_json(link, sources)
    described: dict[str, Any] = _described(found, sources.unknowns)
    return described


def _declared_json(link: Link, sources: SourceMap) -> dict[str, Any] | None:
    location = declared_location(link, sources)
    if location is None:
        return None
    return {"file": location.file, "address": location.address, "line": location.line}


def _described(node: Any, unknowns: Mapping[str, str]) -> Any:
    """``node`` with every string's placeholders described (:func:`describe`)."""
    if isinstance(node, str):
        return describe(node, unknowns)
    if isinstance(node, Mapping):
        return {describe(str(k), unknowns): _described(v, unknowns) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_described(v, unknowns) for v in node]
    return node


def _explanation_json(explanation: Explanation) -> dict[str, Any]:
    workload = explanation.workload
    chain = explanation.chain
    return {
        "workload": {
            "cluster": workload.cluster,
            "namespace": workload.namespace,
            "serviceAccount": workload.name,
            "subject": workload.subject,
            "audience": workload.audience,
        },
        "goal": goal_json(explanation.goal),
        "allowed": explanation.allowed,
        "roles": list(chain.roles) if chain else [],
        "roleSource": chain.role_source if chain else "",
        "links": [
            link_json(link, fix)
            for link, fix in zip(chain.links if chain else (), explanation.fixes, strict=False)
        ],
        "noChain": explanation.no_chain.as_dict() if explanation.no_chain else None,
        "notes": list(explanation.notes),
        "problems": list(explanation.problems),
    }


# ---------------------------------------------------------------------- audit


def audit_text(report: AuditReport) -> str:
    """Findings most severe first: severity, rule, location, message, fix."""
    counts: dict[str, int] = {}
    for finding in report.findings:
        counts[finding.severity.label] = counts.get(finding.severity.label, 0) + 1
    order = ("critical", "high", "medium", "low", "info")
    summary = ", ".join(f"{counts[s]} {s}" for s in order if s in counts) or "none"
    lines = [f"findings: {summary}"]
    for finding in report.findings:
        lines.append("")
        lines.append(f"{finding.severity.label.upper():<8} {finding.rule}  {finding.location}")
        lines.append(f"         {finding.message}")
        lines.append(f"         fix: {finding.fix}")
    for problem in report.problems:
        lines.append(f"warning: {problem}")
    return "\n".join(lines)


def audit_json(report: AuditReport) -> dict[str, Any]:
    return {
        "findings": [f.as_dict() for f in report.findings],
        "hasFindings": report.has_findings,
        "problems": list(report.problems),
        "edges": report.edges,
    }
