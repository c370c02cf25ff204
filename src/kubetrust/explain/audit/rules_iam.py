"""Audit rules over IAM: IRSA trusts, cross-account trusts, node roles, trust size, sessions.

- IRSA trust statements (reference B.3; EKS user guide "Configure a role for IRSA"): no
  ``:sub`` condition (every service account of the cluster can assume the role); a
  ``StringEquals`` ``:sub`` value with a wildcard (literal, never matches, A.7); an
  over-broad ``StringLike`` (a whole namespace, every namespace); a negated ``:sub``
  condition (admits every other subject); no ``:aud`` condition.
- Cross-account trusts naming an account root, or ``*``, without any condition (A.8: the
  root delegates to every principal of that account whose identity policy allows it).
- Trusts admitting a public identity provider's own tokens (``accounts.google.com``,
  ``cognito-identity.amazonaws.com``, ``graph.facebook.com``, ``www.amazon.com``, A.8)
  without a condition on its audience key (``:aud``, or ``:app_id``): every user of every
  application of that provider can assume the role.
- Trust and resource policies naming a deleted role or user by its unique id (A.8: IAM
  shows ``AROA…``/``AIDA…`` once it cannot map the id back to an ARN): an Allow that
  admits nobody (the intended caller, re-created, is locked out), a Deny that guards
  against nobody (the re-created principal is not denied).
- Node instance roles that can assume roles of other accounts: every pod on the node gets
  that access — the anti-pattern the seed warns against. A role the inputs name as a
  cluster's node role (``nodes.json``) is left to :mod:`.rules_nodes`, which knows whether
  IMDS lets pods reach it.
- Trust policies near IAM's default size quota (2,048 characters, whitespace not counted).
- Chained sessions above one hour: a CLI profile that chains (``source_profile`` with a
  role) and asks for more, and roles whose MaxSessionDuration above one hour only chained
  sessions can use (B.1: role chaining caps a session at one hour).
"""

from __future__ import annotations

from collections.abc import Iterator

from kubetrust.chain import graph
from kubetrust.explain import trust_analysis as ta
from kubetrust.explain.audit.context import AuditContext
from kubetrust.explain.audit.findings import Finding, Severity
from kubetrust.model.iam import Role
from kubetrust.model.vocabulary import CHAINED_SESSION_CAP, IRSA_AUDIENCE
from kubetrust.policy.document import Condition

TRUST_POLICY_QUOTA = 2048
"""IAM's default quota for a role trust policy, in characters without whitespace."""


def irsa_trusts(ctx: AuditContext) -> Iterator[Finding]:
    for role in ctx.topology.roles():
        if role.trust is None:
            continue
        for statement in ta.irsa_statements(role.trust):
            yield from _irsa_statement(role, statement)


def _irsa_statement(role: Role, statement: ta.IrsaStatement) -> Iterator[Finding]:
    url = ta.provider_url(statement.providers[0]) or statement.providers[0]
    where = f"{role.arn} trust {statement.label}"
    if not statement.sub:
        yield Finding(
            "irsa-trust-no-sub",
            Severity.HIGH,
            where,
            f"the trust admits `{url}` tokens with no `:sub` condition: every service account "
            f"of every namespace of that cluster can assume `{role.name}`",
            f'add "StringEquals": {{"{url}:sub": "system:serviceaccount:NAMESPACE:NAME"}}',
        )
    for condition in statement.sub:
        yield from _sub_condition(role, where, condition)
    if not statement.aud:
        yield Finding(
            "irsa-trust-no-aud",
            Severity.LOW,
            where,
            f"the trust does not test `{url}:aud`: tokens minted for other audiences of the "
            "cluster's issuer are accepted",
            f'add "StringEquals": {{"{url}:aud": "{IRSA_AUDIENCE}"}}',
        )


def _sub_condition(role: Role, where: str, condition: Condition) -> Iterator[Finding]:
    wildcards = ta.literal_wildcards(condition)
    base = condition.base.lower()
    if wildcards:
        yield Finding(
            "irsa-sub-wildcard-stringequals",
            Severity.MEDIUM,
            where,
            f"`{condition.key}` is compared with {condition.operator}, which is literal; the "
            f"value `{wildcards[0]}` holds a wildcard, so it never matches a service account",
            "use StringLike, or name the service account",
        )
    if "not" in base:
        yield Finding(
            "irsa-sub-negated",
            Severity.HIGH,
            where,
            f"`{condition.key}` is tested with {condition.operator}: every other subject of the "
            f"issuer can assume `{role.name}`",
            "use StringEquals with the service accounts that need the role",
        )
    elif base.startswith("stringlike"):
        scope = ta.subject_scope(condition.values)
        if scope is not None:
            broad = "namespace `" not in scope
            yield Finding(
                "irsa-sub-broad",
                Severity.HIGH if broad else Severity.MEDIUM,
                where,
                f"`{condition.key}` StringLike {list(condition.values)} admits {scope}",
                "name the service accounts (StringEquals) instead of a pattern",
            )


def root_trusts(ctx: AuditContext) -> Iterator[Finding]:
    for role in ctx.topology.roles():
        if role.trust is None:
            continue
        for statement in role.trust.statements:
            block = statement.principal
            if block is None or statement.conditions or not ta.allows(statement, "sts:AssumeRole"):
                continue
            where = f"{role.arn} trust {statement.label}"
            if block.everyone:
                yield Finding(
                    "trust-everyone",
                    Severity.CRITICAL,
                    where,
                    f"the trust of `{role.name}` names every principal (`*`) with no condition: "
                    "any AWS account's principal allowed sts:AssumeRole can assume it",
                    "name the roles that need it, or add an aws:PrincipalArn / "
                    "aws:PrincipalOrgID condition",
                )
            for entry in block.aws:
                account = _root_account(entry)
                if account is not None and account != role.account:
                    yield Finding(
                        "trust-account-root",
                        Severity.MEDIUM,
                        where,
                        f"the trust of `{role.name}` names account {account} (root) with no "
                        "condition: every principal of that account whose policies allow "
                        "sts:AssumeRole on it can assume it, not only the intended role",
                        "name the caller role's ARN instead, or add an aws:PrincipalArn or "
                        "sts:ExternalId condition",
                        {"account": account},
                    )


PUBLIC_IDP_AUDIENCE_KEYS = {
    "accounts.google.com": ("accounts.google.com:aud",),
    "cognito-identity.amazonaws.com": ("cognito-identity.amazonaws.com:aud",),
    "graph.facebook.com": ("graph.facebook.com:app_id",),
    "www.amazon.com": ("www.amazon.com:app_id",),
}
"""The key that pins a public identity provider's tokens to one application (IAM UG,
"Available keys for AWS web identity federation")."""


def public_idp_trusts(ctx: AuditContext) -> Iterator[Finding]:
    """Web identity trusts of public providers with no audience condition (module doc)."""
    for role in ctx.topology.roles():
        if role.trust is None:
            continue
        for statement in role.trust.statements:
            if statement.principal is None or not ta.allows(statement, ta.WEB_IDENTITY):
                continue
            tested = {c.key.lower() for c in statement.conditions}
            for provider in statement.principal.federated:
                keys = PUBLIC_IDP_AUDIENCE_KEYS.get(provider.lower())
                if keys is None or tested & set(keys):
                    continue
                yield Finding(
                    "trust-public-idp-no-audience",
                    Severity.CRITICAL,
                    f"{role.arn} trust {statement.label}",
                    f"the trust of `{role.name}` admits `{provider}` tokens without a "
                    f"`{keys[0]}` condition: a user of any application of that provider "
                    "can assume it",
                    f'add "StringEquals": {{"{keys[0]}": "<your application or pool id>"}}',
                    {"provider": provider},
                )


def dangling_principals(ctx: AuditContext) -> Iterator[Finding]:
    """Unique-id principals that no role or user of the inputs holds (module doc)."""
    known = ta.known_ids(ctx.topology)
    for role in ctx.topology.roles():
        if role.trust is not None:
            for found in ta.dangling_ids(role.trust, known):
                yield _dangling(f"{role.arn} trust", f"the trust of `{role.name}`", found)
    for given in ctx.topology.resource_policies.values():
        for found in ta.dangling_ids(given.document, known):
            yield _dangling(f"{given.resource} policy", "the resource policy", found)


def _dangling(where: str, what: str, found: ta.DanglingId) -> Finding:
    statement = found.statement
    if statement.effect == "Deny":
        severity = Severity.MEDIUM
        effect = (
            "this Deny applies to nobody: a role or user re-created with the same name is "
            "not denied"
        )
    else:
        severity = Severity.LOW
        effect = (
            "it admits nobody: a role or user re-created with the same name gets a new id "
            "and does not match"
        )
    return Finding(
        "principal-deleted",
        severity,
        f"{where} {statement.label}",
        f"{what} names {found.wording}; {effect}",
        f"re-save it with the {found.kind}'s ARN (IAM binds the current {found.kind}'s id), "
        "or remove the entry",
        {"unique_id": found.unique_id, "kind": found.kind, "effect": statement.effect},
    )


def _root_account(entry: str) -> str | None:
    if entry.isdigit():
        return entry
    if entry.endswith(":root") and entry.count(":") == 5:
        return entry.split(":")[4]
    return None


def trust_size(ctx: AuditContext) -> Iterator[Finding]:
    near = 0.8 * TRUST_POLICY_QUOTA
    for role in ctx.topology.roles():
        if len(role.trust_text) < near:  # no shorter without whitespace: most trusts
            continue
        size = len("".join(role.trust_text.split()))
        if size < near:
            continue
        if size > TRUST_POLICY_QUOTA:
            severity, state = Severity.HIGH, "exceeds"
        elif size >= 0.95 * TRUST_POLICY_QUOTA:
            severity, state = Severity.MEDIUM, "is within 5% of"
        else:
            severity, state = Severity.LOW, "is within 20% of"
        yield Finding(
            "trust-policy-size",
            severity,
            role.arn,
            f"the trust policy of `{role.name}` has {size} characters and {state} IAM's default "
            f"quota of {TRUST_POLICY_QUOTA}: the next principal added may be refused "
            "(LimitExceeded)",
            "consolidate principals (one statement per provider, StringLike lists), or raise "
            "the account's quota",
            {"size": size, "quota": TRUST_POLICY_QUOTA},
        )


def _ec2_trusted(ctx: AuditContext) -> set[str]:
    """ARNs of the roles whose trust admits EC2 (a set: looked up once per role)."""
    return {r.arn for r in ctx.index.services.get("ec2.amazonaws.com", ())}


def _is_node_role(role: Role, ec2_trusted: set[str]) -> bool:
    return role.is_instance_role or role.arn in ec2_trusted


def node_roles(ctx: AuditContext) -> Iterator[Finding]:
    reach = ctx.reach
    outgoing: dict[str, list[str]] = {}
    for target, sources in reach.incoming.items():
        for key, _ in sources:
            outgoing.setdefault(key, []).append(target)
    known = {
        group.instance_role_arn
        for cluster in ctx.topology.clusters
        for group in cluster.node_groups or ()
    }
    ec2_trusted = _ec2_trusted(ctx)
    for role in ctx.topology.roles():
        if role.arn in known or not _is_node_role(role, ec2_trusted):
            continue
        others = sorted(t for t in outgoing.get(role.arn, ()) if t.split(":")[4] != role.account)
        if others:
            yield Finding(
                "node-role-cross-account",
                Severity.HIGH,
                role.arn,
                f"node instance role `{role.name}` can assume {len(others)} role(s) in other "
                f"accounts ({', '.join(others[:3])}): every pod on those nodes gets that access, "
                "not one service account",
                "remove sts:AssumeRole from the node role and the node role from the targets' "
                "trust; give the workload its own IRSA role",
                {"targets": others},
            )
            continue
        documents = [d.document for d in ctx.topology.permissions(role).identity]
        patterns = graph.assume_patterns(documents)
        foreign = [p for p in patterns if p.split(":")[4:5] not in ([role.account], [])]
        if foreign:
            yield Finding(
                "node-role-assume-permission",
                Severity.MEDIUM,
                role.arn,
                f"node instance role `{role.name}` is allowed sts:AssumeRole on {foreign[:3]}: "
                "once a target trusts it, every pod on the node can reach the target",
                "remove the permission; use IRSA for the workload that needs it",
                {"patterns": foreign},
            )


def chained_durations(ctx: AuditContext) -> Iterator[Finding]:
    profiles = {p.name: p for p in ctx.topology.profiles}
    for profile in ctx.topology.profiles:
        source = profiles.get(profile.source_profile or "")
        chained = source is not None and bool(source.role_arn or source.web_identity_token_file)
        seconds = profile.duration_seconds
        if profile.role_arn and chained and seconds and seconds > CHAINED_SESSION_CAP:
            yield Finding(
                "chained-session-duration",
                Severity.HIGH,
                f"{profile.source} [profile {profile.name}]",
                f"profile `{profile.name}` asks for {seconds} s, but its source profile "
                f"`{profile.source_profile}` holds role credentials: that is role chaining, "
                f"and STS refuses more than {CHAINED_SESSION_CAP} s "
                '("exceeds the 1 hour session limit for roles assumed by role chaining")',
                f"set duration_seconds to {CHAINED_SESSION_CAP} or less",
            )
    reach = ctx.reach
    for role in ctx.topology.roles():
        if not role.max_session_known or role.max_session_duration <= CHAINED_SESSION_CAP:
            continue
        kinds = {reach.sources[key].kind for key, _ in reach.incoming.get(role.arn, ())}
        if kinds == {"role"}:
            yield Finding(
                "max-session-only-chained",
                Severity.LOW,
                role.arn,
                f"`{role.name}` allows {role.max_session_duration} s sessions, but only role "
                "sessions can assume it: chained sessions are capped at "
                f"{CHAINED_SESSION_CAP} s, so the longer maximum is never granted",
                "expect one-hour sessions (refresh), or let the first hop assume this role",
            )
