"""Fixes for STS hops: the web identity hop and ``sts:AssumeRole`` hops.

Web identity (reference B.2, B.3): STS checks the provider (in the role's account), the
audience, then the trust policy with the token's keys. A trust denial is analysed statement
by statement (:mod:`kubetrust.explain.trust_analysis`): no statement for web identity, a
statement naming another provider (another account, another cluster), or a statement whose
``:sub``/``:aud`` condition fails — each gets its own wording, the wildcard-under-
``StringEquals`` mistake included.

``AssumeRole`` (A.2): the failed side decides the wording — caller side (no identity
statement allows ``sts:AssumeRole`` on the role, a boundary, an SCP, an explicit deny) or
trust side (the trust does not name the caller: wrong account, a typo; or names it under a
condition that does not hold).
"""

from __future__ import annotations

from collections.abc import Mapping

from kubetrust import arn, policy
from kubetrust.chain import graph
from kubetrust.chain.links import Failure, Link
from kubetrust.chain.paths import Chain
from kubetrust.explain import trust_analysis as ta
from kubetrust.explain.fix_common import Fix, closest, name_of, statement_json, unknown_role
from kubetrust.model.iam import Role
from kubetrust.model.topology import Topology
from kubetrust.model.vocabulary import IRSA_AUDIENCE
from kubetrust.policy import PolicyDocument
from kubetrust.policy import sts as sts_requests


def web_identity(link: Link, topology: Topology, chain: Chain) -> Fix:
    role_name = name_of(link.target)
    facts = link.facts
    claims = facts.get("claims")
    token = claims if isinstance(claims, dict) else {}
    issuer = str(token.get("iss") or "")
    if link.failure is Failure.NO_ISSUER:
        return Fix(
            f"cluster `{chain.workload.cluster}` has no OIDC issuer in its describe-cluster "
            "output (`identity.oidc.issuer`)",
            "export `aws eks describe-cluster` again: every EKS cluster has an issuer, and IRSA "
            "needs it",
        )
    if link.failure is Failure.UNKNOWN_ROLE:
        return unknown_role(link.target, topology, what="role annotation (or --via)")
    account = link.target.split(":")[4]
    if link.failure is Failure.NO_PROVIDER:
        elsewhere = [str(a) for a in facts.get("elsewhere") or []]  # type: ignore[attr-defined]
        note = (
            f" (a provider for it exists in {', '.join(a.split(':')[4] for a in elsewhere)}; "
            "STS looks in the role's account only)"
            if elsewhere
            else ""
        )
        return Fix(
            f"account {account} has no IAM OIDC provider for `{issuer}`{note}, so STS answers "
            f'"No OpenIDConnect provider found in your account for {issuer}"',
            f"create the provider in account {account}",
            f"aws iam create-open-id-connect-provider --url {issuer} "
            f"--client-id-list {IRSA_AUDIENCE}",
        )
    if link.failure is Failure.AUDIENCE:
        provider = str(facts.get("provider"))
        return Fix(
            f"the provider `{provider}` lists client IDs {facts.get('client_ids')}, and the "
            f'token\'s `aud` is `{token.get("aud")}`: STS answers "Incorrect token audience"',
            f"add `{token.get('aud')}` to the provider's client IDs",
            f"aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn "
            f"{provider} --client-id {token.get('aud')}",
        )
    role = topology.role(link.target)
    if link.failure is Failure.NO_TRUST or role is None or role.trust is None:
        return unreadable_trust(role_name, role)
    return _web_trust(link, role, role.trust, token)


def unreadable_trust(role_name: str, role: Role | None) -> Fix:
    """A trust the inputs hold but kubetrust could not parse: nobody can assume the role,
    and the parser's message says what and where (IAM would have refused the document)."""
    problem = role.trust_problem if role is not None else ""
    return Fix(
        f"the trust policy of `{role_name}` could not be read"
        + (f": {problem}" if problem else ""),
        "correct that element of the trust policy (IAM refuses such a document with "
        "MalformedPolicyDocument), or export the role again"
        if problem
        else "see the warnings",
    )


def explicit_or_org(link: Link, role_name: str) -> Fix | None:
    """A denial by a Deny statement or an RCP/SCP, named as such."""
    failed = link.hop.failed if link.hop is not None else None
    if failed is None:
        return None
    decision = failed.decision
    for reason in decision.reasons:
        if reason.effect == "Deny":
            where = f"{reason.policy} {reason.statement}".strip()
            return Fix(
                f"{reason.kind} policy {where} denies {failed.action} explicitly",
                f"narrow or remove that Deny statement (of `{role_name}`'s {reason.kind})"
                if reason.kind == "trust"
                else "narrow or remove that Deny statement",
            )
        if reason.effect == "ImplicitDeny" and reason.kind in ("rcp", "scp"):
            return Fix(f"{reason.policy}: {reason.detail}", f"allow {failed.action} at that level")
    return None


def _web_trust(link: Link, role: Role, trust: PolicyDocument, token: dict[str, object]) -> Fix:
    org = explicit_or_org(link, role.name)
    if org is not None:
        return org
    provider = str(link.facts.get("provider"))
    url = ta.provider_url(provider) or ""
    irsa = list(ta.irsa_statements(trust))
    if not irsa:
        wrong_action = [
            s.label
            for s in trust.statements
            if s.principal is not None and provider in s.principal.federated
        ]
        if wrong_action:
            return Fix(
                f"the trust policy of `{role.name}` names the provider in {wrong_action[0]} "
                "but does not allow `sts:AssumeRoleWithWebIdentity` there",
                "set that statement's Action to `sts:AssumeRoleWithWebIdentity`",
            )
        return _no_irsa_statement(role, trust, provider, url, str(token.get("sub")))
    ours = [s for s in irsa if provider.lower() in (p.lower() for p in s.providers)]
    if not ours:
        named = irsa[0].providers[0]
        return Fix(
            f"the trust policy of `{role.name}` ({irsa[0].label}) names the provider "
            f"`{named}`, but the service account's tokens come from `{provider}`"
            + _provider_difference(named, provider),
            f"name `{provider}` in Principal.Federated (and key the conditions on `{url}:sub`)",
        )
    context = sts_requests.web_identity_context("https://" + url, token)
    for statement in ours:
        fix = _failed_condition(role, trust, statement, context, url, token)
        if fix is not None:
            return fix
    return Fix(
        f"the trust policy of `{role.name}` does not admit the token",
        "see the reasons: " + "; ".join(link.decided_by[-3:]),
    )


def _no_irsa_statement(
    role: Role, trust: PolicyDocument, provider: str, url: str, subject: str
) -> Fix:
    """No statement admits an IAM OIDC provider: say whom the trust does admit (another
    identity provider, SAML, EKS Pod Identity, AWS principals), so the mismatch is plain."""
    trusted = [
        f"{statement.label}: {words}"
        for statement in trust.statements
        if statement.effect == "Allow"
        for words in ta.describe_principals(statement)
    ]
    shown = f"; it trusts {'; '.join(trusted[:4])}" if trusted else ""
    action = "add a statement for the cluster's provider, limited to the service account"
    if ta.trusts_pod_identity(trust):
        action += (
            ", or use EKS Pod Identity as the trust intends: a pod identity association for "
            "the service account (`aws eks create-pod-identity-association`) instead of the "
            "role annotation"
        )
    return Fix(
        f"the trust policy of `{role.name}` has no statement that lets an OIDC provider "
        f"assume it with `sts:AssumeRoleWithWebIdentity`{shown}",
        action,
        statement_json(_irsa_statement(provider, url, subject)),
    )


def _provider_difference(named: str, provider: str) -> str:
    named_account, actual_account = named.split(":")[4], provider.split(":")[4]
    if named_account != actual_account:
        return f" (account {named_account} instead of {actual_account})"
    return " (another issuer: a different cluster's OIDC ID)"


def _irsa_statement(provider: str, url: str, subject: str) -> dict[str, object]:
    return {
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{url}:sub": subject, f"{url}:aud": IRSA_AUDIENCE}},
    }


def _failed_condition(
    role: Role,
    trust: PolicyDocument,
    statement: ta.IrsaStatement,
    context: dict[str, object],
    url: str,
    token: dict[str, object],
) -> Fix | None:
    subject, audience = str(token.get("sub")), str(token.get("aud"))
    for condition in statement.statement.conditions:
        if ta.condition_holds(condition, trust, context):
            continue
        shown = ta.describe(condition)
        prefix, _, suffix = condition.key.rpartition(":")
        if prefix.lower() != url.lower() and suffix.lower() in ("sub", "aud"):
            return Fix(
                f"the trust policy of `{role.name}` ({statement.label}) tests `{condition.key}`, "
                f"a key of another issuer; this cluster's tokens set `{url}:{suffix}`",
                f"key the condition on `{url}:{suffix}`",
            )
        if suffix.lower() == "sub":
            wildcards = ta.literal_wildcards(condition)
            if wildcards:
                return Fix(
                    f"the trust policy of `{role.name}` compares `{condition.key}` with "
                    f"{condition.operator}, which is literal; the value `{wildcards[0]}` holds "
                    "a wildcard",
                    f"use StringLike or name the service account (`{subject}`)",
                )
            guess = closest(subject, condition.values)
            hint = f" (`{guess}` looks like a typo of it)" if guess else ""
            return Fix(
                f"the trust policy of `{role.name}` admits `{condition.key}` "
                f"{list(condition.values)} ({condition.operator}); the service account's token "
                f"carries `{subject}`{hint}",
                f"add `{subject}` to that condition, or run the workload as one of those "
                "service accounts",
            )
        if suffix.lower() == "aud":
            return Fix(
                f"the trust policy of `{role.name}` expects `{condition.key}` "
                f"{list(condition.values)}; IRSA tokens carry `{audience}`",
                f"set the `:aud` condition to `{audience}`",
            )
        return Fix(
            f"the trust policy of `{role.name}` ({statement.label}) requires {shown}, which the "
            "web identity request does not meet",
            "remove or correct that condition",
        )
    return None


# ---------------------------------------------------------------------- AssumeRole


def assume_role(link: Link, topology: Topology) -> Fix:
    target_name = name_of(link.target)
    if link.failure is Failure.UNKNOWN_ROLE:
        return unknown_role(link.target, topology, what="role ARN of this hop")
    if link.failure is Failure.INVALID_REQUEST:
        return Fix(
            link.decided_by[0],
            "pass no source identity or session tag the calling session already carries "
            "(a source identity and transitive session tags persist through the chain)",
        )
    target = topology.role(link.target)
    caller = (
        topology.role(arn.canonicalize(link.caller)) if link.caller.startswith("arn:") else None
    )
    if target is None or caller is None or link.hop is None:
        return Fix("the hop could not be evaluated", "see the warnings")
    if link.failure is Failure.NO_TRUST or target.trust is None:
        return unreadable_trust(target_name, target)
    failed = link.hop.failed
    assert failed is not None
    fixes: list[Fix] = []
    if failed.caller_side is not None and not failed.caller_side.allowed:
        fixes.append(caller_fix(failed.caller_side, caller, target, topology))
    keys = failed.request.context or {}
    if not failed.trust_side.allowed:
        fixes.append(trust_fix(failed.trust_side, caller, target, topology, keys))
    if not fixes:  # same account: each side alone would do, the union still denied
        fixes.append(trust_fix(failed.decision, caller, target, topology, keys))
    if len(fixes) == 1:
        return fixes[0]
    return Fix(
        f"{fixes[0].cause}; and {fixes[1].cause}",
        f"{fixes[0].action}; and {fixes[1].action} (cross-account: both sides must allow)",
        "\n".join(f.snippet for f in fixes if f.snippet),
    )


def caller_fix(decision: policy.Decision, caller: Role, target: Role, topology: Topology) -> Fix:
    for reason in decision.reasons:
        if reason.effect == "Deny":
            return Fix(
                f"{reason.kind} {reason.policy} {reason.statement} of `{caller.name}`'s side "
                f"denies sts:AssumeRole on `{target.arn}`",
                "narrow or remove that Deny",
            )
    kind = decision.deciding_kind
    if kind == "boundary":
        return Fix(
            f"the permissions boundary of `{caller.name}` does not allow sts:AssumeRole on "
            f"`{target.arn}`",
            "allow it in the boundary policy",
        )
    if kind == "scp":
        detail = next((r.detail for r in decision.reasons if r.kind == "scp"), "")
        return Fix(f"an SCP of account {caller.account}: {detail}", "allow sts:AssumeRole there")
    patterns = graph.assume_patterns([d.document for d in topology.permissions(caller).identity])
    near = closest(target.arn, patterns)
    known = (
        f"; its policies allow it on {list(patterns)} only"
        + (f" (`{near}` looks like a typo of the target)" if near else "")
        if patterns
        else ""
    )
    cross = (
        " (cross-account, the target's trust alone is not enough)"
        if (caller.account != target.account)
        else ""
    )
    return Fix(
        f"no identity policy of `{caller.name}` allows sts:AssumeRole on `{target.arn}`{known}"
        + cross,
        f"allow it in an identity policy of `{caller.name}`",
        statement_json({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": target.arn}),
    )


def trust_fix(
    decision: policy.Decision,
    caller: Role,
    target: Role,
    topology: Topology,
    keys: Mapping[str, object],
) -> Fix:
    for reason in decision.reasons:
        if reason.effect == "Deny":
            return Fix(
                f"{reason.kind} {reason.policy} {reason.statement} denies sts:AssumeRole "
                f"to `{caller.name}`",
                "narrow or remove that Deny",
            )
        if reason.effect == "ImplicitDeny" and reason.kind == "rcp":
            return Fix(f"an RCP of account {target.account}: {reason.detail}", "allow it there")
    misses = [r for r in decision.reasons if r.effect == "NotApplicable"]
    if misses:
        miss = misses[0]
        carried, action = condition_miss(target, miss.statement, keys)
        return Fix(
            f"the trust policy of `{target.name}` ({miss.statement}) names the caller, but "
            f"{miss.detail}{carried}",
            action,
        )
    dangling = _dangling_for_assume(target, topology)
    if dangling is not None:
        return _dangling_fix(dangling, caller, target)
    named = _named_aws(target)
    hint = _principal_hint(named, caller)
    return Fix(
        f"the trust policy of `{target.name}` does not name `{caller.arn}`"
        + (f"; it names {hint}" if hint else ""),
        f"add `{caller.arn}` to Principal.AWS of the trust policy of `{target.name}`",
        statement_json(
            {"Effect": "Allow", "Principal": {"AWS": caller.arn}, "Action": "sts:AssumeRole"}
        ),
    )


_CALL_PARAMETERS = {
    "sts:externalid": "ExternalId",
    "sts:sourceidentity": "SourceIdentity",
    "sts:rolesessionname": "RoleSessionName",
    "sts:transitivetagkeys": "TransitiveTagKeys",
}
"""Keys whose value is a parameter of the ``AssumeRole`` call itself (B.4)."""


def condition_miss(target: Role, label: str, keys: Mapping[str, object]) -> tuple[str, str]:
    """What the request carried for the first unmet condition of the trust statement
    ``label`` (``; the request's <key> is `<value>```, or that it carries none), and the
    action that meets it: a "meet that condition" without the value sends users guessing
    (an ``aws:PrincipalArn`` written as the session ARN, or without the role's path)."""
    trust = target.trust
    if trust is None:
        return "", "meet that condition or relax it"
    statement = next((st for st in trust.statements if st.label == label), None)
    shown = {key.lower(): value for key, value in keys.items()}
    for condition in statement.conditions if statement is not None else ():
        if ta.condition_holds(condition, trust, _strings(keys)):
            continue
        key = condition.key
        parameter = _CALL_PARAMETERS.get(key.lower())
        if key.lower() not in shown:
            if parameter is not None:
                return (
                    f"; the call passes no {parameter}",
                    f"pass {parameter} in the AssumeRole call, or relax that condition",
                )
            return (
                f"; the request carries no `{key}`",
                "relax that condition: no such key in this request",
            )
        value = _shown(shown[key.lower()])
        hint = ""
        if key.lower() == "aws:principalarn":
            hint = " (a session's aws:PrincipalArn is its role's ARN, with the role's path)"
        if parameter is not None:
            return (
                f"; the call passes {parameter} `{value}`",
                f"pass the {parameter} the condition expects, or relax that condition",
            )
        return (
            f"; the request's `{key}` is `{value}`{hint}",
            f"correct that condition to admit `{value}`, or relax it",
        )
    return "", "meet that condition or relax it"


def _strings(keys: Mapping[str, object]) -> dict[str, object]:
    """The context as :func:`trust_analysis.condition_holds` reads it (booleans as IAM
    writes them: ``true``/``false``)."""
    return {k: _shown(v) if isinstance(v, bool) else v for k, v in keys.items()}


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(_shown(v) for v in value)
    return str(value)


def _dangling_for_assume(target: Role, topology: Topology) -> ta.DanglingId | None:
    """The first unique id of a deleted role (else user) in an Allow of the trust that
    covers ``sts:AssumeRole`` (reference A.8: what IAM shows once the entity is gone)."""
    if target.trust is None:
        return None
    found = [
        d
        for d in ta.dangling_ids(target.trust, ta.known_ids(topology))
        if ta.allows(d.statement, "sts:AssumeRole") and d.statement.principal is not None
    ]
    found.sort(key=lambda d: d.kind != "role")
    return found[0] if found else None


def _dangling_fix(dangling: ta.DanglingId, caller: Role, target: Role) -> Fix:
    """The trust names a deleted role or user by its unique id; the caller does not match
    it, even when it is the same name re-created (A.8, "delete-and-recreate")."""
    kind = dangling.kind
    cause = (
        f"the trust policy of `{target.name}` ({dangling.statement.label}) names "
        f"{dangling.wording}, which matches no current {kind}: a {kind} re-created with the "
        "same name gets a new unique id"
    )
    if kind == "role":
        action = f"re-save it with the role's ARN: `{caller.arn}` in Principal.AWS"
    else:
        action = (
            f"re-save it with the user's ARN if that user was re-created; for this hop add "
            f"`{caller.arn}` to Principal.AWS"
        )
    statement = {"Effect": "Allow", "Principal": {"AWS": caller.arn}, "Action": "sts:AssumeRole"}
    return Fix(cause, action, statement_json(statement))


def _named_aws(target: Role) -> list[str]:
    trust = target.trust
    if trust is None:
        return []
    return [
        entry
        for statement in trust.statements
        if statement.principal is not None and ta.allows(statement, "sts:AssumeRole")
        for entry in statement.principal.aws
    ]


def _principal_hint(named: list[str], caller: Role) -> str:
    """Name the principal that looks meant for the caller: same role name in another
    account, a typo of the name, or another account's root."""
    for entry in named:
        try:
            parsed = arn.parse(entry) if entry.startswith("arn:") else None
        except Exception:
            parsed = None
        if parsed is None:
            continue
        other_account = parsed.account != caller.account
        if parsed.resource_type == "role" and parsed.resource_name == caller.name and other_account:
            return f"`{entry}` — account {parsed.account}, the caller is in {caller.account}"
        if parsed.resource_type == "root" and other_account:
            return f"account {parsed.account} (root), the caller is in {caller.account}"
    names = [e for e in named if e.startswith(f"arn:aws:iam::{caller.account}:role/")]
    guess = closest(caller.arn, names)
    if guess:
        return f"`{guess}`, which looks like a typo of the caller"
    return ", ".join(f"`{e}`" for e in named[:3])
