"""Read trust policies the way a reviewer does: which statements serve IRSA, what they test.

Explain (why did this web identity fail, what is the smallest fix) and audit (which trusts
are too broad) ask the same questions of a trust policy, so the answers live here once:

- which Allow statements admit ``sts:AssumeRoleWithWebIdentity`` for an IAM OIDC provider
  (:func:`irsa_statements`), and which conditions they put on ``<issuer>:sub`` and
  ``<issuer>:aud`` (reference B.3: the keys are the issuer URL without ``https://``);
- whether one condition holds for a request context (:func:`condition_holds`), decided by
  the engine's own condition compiler so that the analysis cannot disagree with
  :func:`kubetrust.policy.authorize`;
- which ``Principal.AWS`` entries are unique ids (``AROA…``/``AIDA…``) that no role or user
  of the inputs holds (:func:`dangling_ids`): IAM shows a role's or user's unique id in
  place of its ARN once it is deleted (reference A.8), and the entry then matches nobody,
  not even a role re-created with the same name.

A ``*`` or ``?`` in a ``StringEquals`` value is literal (A.7): the value only matches a
subject that contains that very character, which no Kubernetes service account name can
(names are DNS labels), so such a condition never matches.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

from kubetrust.chain import graph
from kubetrust.model.topology import Topology
from kubetrust.model.vocabulary import POD_IDENTITY_SERVICE
from kubetrust.policy import PolicyDocument, Statement
from kubetrust.policy import conditions as policy_conditions
from kubetrust.policy import principals as policy_principals
from kubetrust.policy.document import Condition

WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"
WILDCARDS = ("*", "?")


def allows(statement: Statement, action: str) -> bool:
    """An Allow statement whose Action/NotAction covers ``action`` (case-insensitive)."""
    return statement.effect == "Allow" and graph.action_matches(statement, action.lower())


def provider_url(provider_arn: str) -> str | None:
    """``arn:aws:iam::A:oidc-provider/URL`` → ``URL``; ``None`` for other principals."""
    head, sep, url = provider_arn.partition(":oidc-provider/")
    return url if sep and head.startswith("arn:") else None


@dataclass(frozen=True, slots=True)
class IrsaStatement:
    """A trust statement that admits web identities of OIDC providers.

    ``providers`` are the provider ARNs it names; ``sub`` and ``aud`` the conditions on the
    ``:sub`` and ``:aud`` keys of *those* providers' URLs; ``other`` every other condition.
    """

    statement: Statement
    providers: tuple[str, ...]
    sub: tuple[Condition, ...]
    aud: tuple[Condition, ...]
    other: tuple[Condition, ...]

    @property
    def label(self) -> str:
        return self.statement.label


def irsa_statements(trust: PolicyDocument) -> Iterator[IrsaStatement]:
    """Every Allow statement of ``trust`` that lets an OIDC provider assume the role."""
    for statement in trust.statements:
        principal = statement.principal
        if principal is None or not allows(statement, WEB_IDENTITY):
            continue
        providers = tuple(p for p in principal.federated if provider_url(p) is not None)
        if not providers:
            continue
        prefixes = {(provider_url(p) or "").lower() for p in providers}
        sub, aud, other = [], [], []
        for condition in statement.conditions:
            prefix, _, suffix = condition.key.lower().rpartition(":")
            if prefix in prefixes and suffix == "sub":
                sub.append(condition)
            elif prefix in prefixes and suffix == "aud":
                aud.append(condition)
            else:
                other.append(condition)
        yield IrsaStatement(statement, providers, tuple(sub), tuple(aud), tuple(other))


def literal_wildcards(condition: Condition) -> tuple[str, ...]:
    """Values of a ``StringEquals``-family condition that hold ``*`` or ``?`` (never match)."""
    if not condition.base.lower().startswith("stringequals"):
        return ()
    return tuple(v for v in condition.values if any(w in v for w in WILDCARDS))


def condition_holds(
    condition: Condition, document: PolicyDocument, context: Mapping[str, object]
) -> bool:
    """Whether ``condition`` holds for ``context`` (keys any case; values a string or a
    list of strings), decided by the engine's compiled condition."""
    compiled = policy_conditions.compile_condition(condition, document.variables_enabled)
    lowered: dict[str, tuple[str, ...]] = {}
    for key, value in context.items():
        items = value if isinstance(value, list | tuple) else (value,)
        lowered[key.lower()] = tuple(str(item) for item in items)
    return compiled.holds(lowered, [])


def describe(condition: Condition) -> str:
    """``StringEquals oidc.../id/X:sub [system:serviceaccount:ns:sa]``."""
    return f"{condition.operator} {condition.key} [{', '.join(condition.values)}]"


def subject_scope(values: tuple[str, ...]) -> str | None:
    """How broad ``StringLike`` subject patterns are: ``"every service account"``,
    ``"every service account of namespace N"``, or ``None`` when each names one account."""
    for value in values:
        if not any(w in value for w in WILDCARDS):
            continue
        parts = value.split(":")
        if len(parts) != 4 or parts[:2] != ["system", "serviceaccount"]:
            return "every subject (the pattern does not pin `system:serviceaccount:NS:NAME`)"
        namespace, name = parts[2], parts[3]
        if any(w in namespace for w in WILDCARDS):
            return "service accounts of every namespace"
        if any(w in name for w in WILDCARDS):
            return f"every service account of namespace `{namespace}`"
    return None


@dataclass(frozen=True, slots=True)
class DanglingId:
    """A ``Principal.AWS`` (or ``NotPrincipal.AWS``) unique id that no role or user of the
    inputs holds: ``kind`` is ``role`` or ``user``."""

    statement: Statement
    unique_id: str
    kind: str

    @property
    def wording(self) -> str:
        """``a deleted role (its unique id AROA…)``: the words explain and audit share."""
        return f"a deleted {self.kind} (its unique id {self.unique_id})"


def known_ids(topology: Topology) -> frozenset[str]:
    """The unique ids of every role and user of the inputs (built once per audit)."""
    roles = (r.role_id for r in topology.roles())
    users = (u.user_id for u in topology.users())
    return frozenset(i for i in (*roles, *users) if i)


def dangling_ids(document: PolicyDocument, known: Collection[str]) -> list[DanglingId]:
    """Unique-id principals of ``document`` that no role or user in ``known`` holds.

    A dump shows an id in place of an ARN only when IAM can no longer map it back, so
    such an id names a deleted role or user (reference A.8, A.9).
    """
    found: list[DanglingId] = []
    for statement in document.statements:
        block = statement.principal or statement.not_principal
        for entry in block.aws if block is not None else ():
            kind = policy_principals.unique_id_kind(entry)
            if kind is not None and entry not in known:
                found.append(DanglingId(statement, entry, kind))
    return found


"""The service principal EKS Pod Identity assumes roles as (reference F.1)."""


def describe_principals(statement: Statement) -> list[str]:
    """Who a statement's ``Principal`` names, in words, one item per entry (A.8): explain
    says what a trust *does* admit when it does not admit the caller."""
    block = statement.principal
    if block is None:
        return []
    words = ["everyone (`*`)"] if block.everyone else []
    for entry in block.aws:
        kind = policy_principals.unique_id_kind(entry)
        if kind is not None:
            words.append(f"a deleted {kind} (its unique id {entry})")
        elif entry.isdigit() or entry.endswith(":root"):
            account = entry if entry.isdigit() else entry.split(":")[4]
            words.append(f"account {account} (every principal its policies allow)")
        else:
            words.append(f"`{entry}`")
    for service in block.service:
        note = " (EKS Pod Identity)" if service.lower() == POD_IDENTITY_SERVICE else ""
        words.append(f"the service `{service}`{note}")
    for federated in block.federated:
        if provider_url(federated) is not None:
            words.append(f"the OIDC provider `{federated}`")
        elif ":saml-provider/" in federated:
            words.append(f"the SAML provider `{federated}` (sts:AssumeRoleWithSAML)")
        else:
            words.append(f"`{federated}` tokens (that identity provider's own, not an EKS issuer)")
    for canonical in block.canonical_user:
        words.append(f"the canonical user `{canonical}`")
    return words


def trusts_pod_identity(trust: PolicyDocument) -> bool:
    """Whether an Allow statement lets EKS Pod Identity assume the role (F.1)."""
    return any(
        allows(s, "sts:AssumeRole")
        and s.principal is not None
        and POD_IDENTITY_SERVICE in (x.lower() for x in s.principal.service)
        for s in trust.statements
    )


def assume_unique_ids(trust: PolicyDocument) -> list[str]:
    """Unique ids named by the Allow statements of ``trust`` that cover ``sts:AssumeRole``."""
    return [
        entry
        for statement in trust.statements
        if statement.principal is not None and allows(statement, "sts:AssumeRole")
        for entry in statement.principal.aws
        if policy_principals.unique_id_kind(entry) is not None
    ]
