"""The checks that span fields of a spec, each with the path of the value to blame.

What a single field cannot know: uniqueness (two targets with one name), the federation
mode's requirements, EKS's rules for access entries (no ``system:`` groups, reserved
username prefixes), the permission statements as IAM would parse them (our engine's
:func:`kubetrust.policy.parse_policy`, so that a statement IAM would reject is rejected
here, before any write), and the generated documents against IAM's size quotas.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from kubetrust import errors, policy
from kubetrust.provision import documents
from kubetrust.provision.source import Path
from kubetrust.provision.spec import (
    RESERVED_USERNAME_PREFIXES,
    AccessEntryAccess,
    Spec,
    Target,
    subjects,
    target_role_arn,
)

MAX_USER_TAGS = 48
"""IAM allows 50 tags on a role; kubetrust adds two (ownership)."""
MAX_MANAGED_POLICIES = 10
"""IAM's default quota of managed policies attached to one role (adjustable to 20)."""
RESERVED_TAG_PREFIX = "kubetrust.dev/"
EXAMPLE_ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/" + "X" * 32
"""An issuer as long as EKS's, to size trust policies before the real one is discovered."""
_TAG_KEY = re.compile(r"[\w.:/=+\-@ ]{1,128}", re.UNICODE)
_NAMESPACE_PATTERN = re.compile(r"[a-z0-9*]([-a-z0-9*]{0,61}[a-z0-9*])?")


@dataclass(frozen=True, slots=True)
class RuleProblem:
    path: Path
    message: str
    at_key: bool = False


SPEC: Path = ("spec",)
SOURCE: Path = ("spec", "source")


def check(spec: Spec) -> list[RuleProblem]:
    """Every cross-field problem of ``spec`` (empty when it is usable)."""
    return [
        *_federation(spec),
        *_service_accounts(spec),
        *_targets(spec),
        *_trust_sizes(spec),
        *_tags(spec),
    ]


def _federation(spec: Spec) -> Iterator[RuleProblem]:
    federation = spec.spec.federation
    if not spec.direct and spec.source.role_name is None:
        role = "the association role" if spec.pod_identity else "the CI role"
        yield RuleProblem(
            SOURCE,
            f"missing required key `roleName` ({role}, needed by federation `{federation}`)",
            at_key=True,
        )
    if spec.pod_identity and spec.source.oidc_issuer is not None:
        yield RuleProblem(
            (*SOURCE, "oidcIssuer"),
            "`oidcIssuer` is not used with federation `podIdentity`: EKS Pod Identity needs "
            "no OIDC provider; remove it",
            at_key=True,
        )
    if not spec.pod_identity and spec.source.pod_identity_agent is not None:
        yield RuleProblem(
            (*SOURCE, "podIdentityAgent"),
            f"`podIdentityAgent` is used only with federation `podIdentity`, not "
            f"`{federation}`; remove it",
            at_key=True,
        )
    if spec.direct and spec.source.role_name is not None:
        yield RuleProblem(
            (*SOURCE, "roleName"),
            "`roleName` is not used with federation `direct`: each target role trusts the "
            "cluster's OIDC provider in its own account; remove it",
            at_key=True,
        )


def _service_accounts(spec: Spec) -> Iterator[RuleProblem]:
    seen: set[str] = set()
    for index, account in enumerate(spec.source.service_accounts):
        if account.subject in seen:
            yield RuleProblem(
                (*SOURCE, "serviceAccounts", index),
                f"service account `{account.namespace}/{account.name}` is listed twice",
            )
        seen.add(account.subject)
    if not spec.source.service_accounts:
        yield RuleProblem((*SOURCE, "serviceAccounts"), "must list at least one service account")


def _targets(spec: Spec) -> Iterator[RuleProblem]:
    if not spec.targets:
        yield RuleProblem((*SPEC, "targets"), "must list at least one target")
    names: dict[str, int] = {}
    roles: dict[str, str] = {}
    ci_arn = spec.ci_role_arn()
    if ci_arn:
        roles[ci_arn] = "the CI role"
    for index, target in enumerate(spec.targets):
        where: Path = (*SPEC, "targets", index)
        if target.name in names:
            yield RuleProblem(
                (*where, "name"),
                f"target name `{target.name}` is used twice (first target {names[target.name]})",
            )
        names.setdefault(target.name, index)
        arn = target_role_arn(target)
        if arn in roles:
            yield RuleProblem(
                (*where, "roleName"),
                f"role `{arn}` is already {roles[arn]}; each role needs its own name",
            )
        roles.setdefault(arn, f"the role of target `{target.name}`")
        if spec.pod_identity and len(spec.targets) == 1 and target.session_name:
            yield RuleProblem(
                (*where, "sessionName"),
                "`sessionName` is not used with federation `podIdentity` and one target: EKS "
                "names the target role's session (`eks-<cluster>-<pod>-<id>`); remove it",
                at_key=True,
            )
        yield from _permissions(target, where)
        yield from _clusters(spec, target, where)
    arns = [target_role_arn(target) for target in spec.targets]
    if arns and not spec.direct:
        chain = (
            documents.pod_identity_chain_policy(arns)
            if spec.pod_identity
            else documents.chain_policy(arns)
        )
        size = documents.policy_size(chain)
        if size > documents.INLINE_POLICIES_LIMIT:
            yield RuleProblem(
                (*SPEC, "targets"),
                f"the CI role's chain policy would be {size} characters with {len(arns)} "
                f"targets; IAM allows {documents.INLINE_POLICIES_LIMIT} of inline policy per role",
            )


def _permissions(target: Target, where: Path) -> Iterator[RuleProblem]:
    permissions = target.permissions
    at: Path = (*where, "permissions")
    if permissions.statements:
        document = documents.permissions_policy(permissions.statements)
        try:
            policy.parse_policy(document, policy.PolicyKind.IDENTITY)
        except errors.PolicyParseError as error:
            yield RuleProblem(
                _statement_path(at, error.path), f"invalid permission statement: {error}"
            )
        size = documents.policy_size(document)
        if size > documents.INLINE_POLICIES_LIMIT:
            yield RuleProblem(
                (*at, "statements"),
                f"the statements make a policy of {size} characters; IAM allows "
                f"{documents.INLINE_POLICIES_LIMIT} of inline policy per role (attach managed "
                "policies instead)",
            )
    seen: set[str] = set()
    for index, arn in enumerate(permissions.managed_policies):
        if arn in seen:
            yield RuleProblem((*at, "managedPolicies", index), f"`{arn}` is listed twice")
        seen.add(arn)
    if len(permissions.managed_policies) > MAX_MANAGED_POLICIES:
        yield RuleProblem(
            (*at, "managedPolicies"),
            f"{len(permissions.managed_policies)} managed policies; IAM attaches at most "
            f"{MAX_MANAGED_POLICIES} to a role by default",
        )


def _statement_path(at: Path, policy_path: str) -> Path:
    """``Statement[1].Condition.StringEquals`` → ``permissions.statements[1]`` + the rest as
    far as it is a plain key path (condition keys may contain dots, so stop at the block)."""
    match = re.match(r"Statement\[(\d+)\](?:\.(\w+))?", policy_path)
    if not match:
        return (*at, "statements")
    path: Path = (*at, "statements", int(match.group(1)))
    return (*path, match.group(2)) if match.group(2) else path


def _clusters(spec: Spec, target: Target, where: Path) -> Iterator[RuleProblem]:
    seen: set[tuple[str, str]] = set()
    for index, cluster in enumerate(target.clusters):
        at: Path = (*where, "clusters", index)
        key = (spec.cluster_region(cluster), cluster.name)
        if key in seen:
            yield RuleProblem((*at, "name"), f"cluster `{cluster.name}` is listed twice")
        seen.add(key)
        if (cluster.aws_auth is None) == (cluster.access_entry is None):
            yield RuleProblem(
                at, "a cluster needs exactly one of `awsAuth` or `accessEntry` (its access)"
            )
        if cluster.access_entry is not None:
            yield from _access_entry(cluster.access_entry, (*at, "accessEntry"))


def _access_entry(entry: AccessEntryAccess, at: Path) -> Iterator[RuleProblem]:
    username = entry.username
    if username is not None:
        if username.startswith(RESERVED_USERNAME_PREFIXES):
            yield RuleProblem(
                (*at, "username"),
                f"username `{username}` is reserved: EKS rejects usernames starting with "
                + ", ".join(f"`{p}`" for p in RESERVED_USERNAME_PREFIXES),
            )
        if "{{SessionName}}" in username and ":" not in username.split("{{SessionName}}")[0]:
            yield RuleProblem(
                (*at, "username"),
                "a username with `{{SessionName}}` needs a `:` before it (EKS's rule)",
            )
    for index, group in enumerate(entry.groups):
        if group.startswith("system:"):
            yield RuleProblem(
                (*at, "groups", index),
                f"group `{group}` cannot be used in an access entry: EKS rejects groups "
                "starting with `system:` (use an access policy such as "
                "`AmazonEKSClusterAdminPolicy`)",
            )
    seen: set[str] = set()
    for index, ref in enumerate(entry.access_policies):
        where: Path = (*at, "accessPolicies", index)
        if ref.arn in seen:
            yield RuleProblem((*where, "policy"), f"access policy `{ref.policy}` is listed twice")
        seen.add(ref.arn)
        if ref.namespaces is not None and not ref.namespaces:
            yield RuleProblem(
                (*where, "namespaces"), "must list namespaces, or be left out for the whole cluster"
            )
        for n, namespace in enumerate(ref.namespaces or ()):
            if not _NAMESPACE_PATTERN.fullmatch(namespace):
                yield RuleProblem(
                    (*where, "namespaces", n),
                    f"`{namespace}` is not a namespace name or pattern (DNS label, `*` allowed)",
                )


def _trust_sizes(spec: Spec) -> Iterator[RuleProblem]:
    if spec.pod_identity:
        yield from _pod_identity_trust_sizes(spec)
        return
    issuer = spec.source.oidc_issuer or EXAMPLE_ISSUER
    size = trust_size(spec, issuer)
    if size > documents.TRUST_POLICY_LIMIT:
        about = "" if spec.source.oidc_issuer else "about "
        yield RuleProblem(
            (*SOURCE, "serviceAccounts"),
            f"the web identity trust policy would be {about}{size} characters with "
            f"{len(spec.source.service_accounts)} service accounts; IAM's default limit is "
            f"{documents.TRUST_POLICY_LIMIT} (a quota, adjustable to 4096)",
            at_key=True,
        )


def _pod_identity_trust_sizes(spec: Spec) -> Iterator[RuleProblem]:
    """The Pod Identity trusts grow by one statement per service account (their sizes
    depend on nothing discovered, so this check is final)."""
    source = spec.source
    cluster_arn = spec.source_cluster_arn()
    accounts = [(account.namespace, account.name) for account in source.service_accounts]
    role_arn = spec.ci_role_arn() or ""
    documents_by_role = {
        "the association role's trust": documents.pod_identity_trust(
            source.account, cluster_arn, accounts
        ),
        "each target role's trust": documents.pod_identity_target_trust(
            role_arn, cluster_arn, accounts
        ),
    }
    for what, document in documents_by_role.items():
        size = documents.policy_size(document)
        if size > documents.TRUST_POLICY_LIMIT:
            yield RuleProblem(
                (*SOURCE, "serviceAccounts"),
                f"{what} would be {size} characters with {len(accounts)} service accounts "
                f"(one statement each); IAM's default limit is {documents.TRUST_POLICY_LIMIT} "
                "(a quota, adjustable to 4096)",
                at_key=True,
            )
            return


def trust_size(spec: Spec, issuer: str) -> int:
    """The size of the web identity trust policy for ``issuer`` (the CI role's, or each
    target's with direct federation)."""
    provider = documents.oidc_provider_arn(spec.source.account, issuer)
    return documents.policy_size(
        documents.web_identity_trust(provider, issuer, subjects(spec.source))
    )


def _tags(spec: Spec) -> Iterator[RuleProblem]:
    tags = spec.spec.tags
    at: Path = (*SPEC, "tags")
    if len(tags) > MAX_USER_TAGS:
        yield RuleProblem(
            at, f"{len(tags)} tags; at most {MAX_USER_TAGS} (IAM's 50 less kubetrust's 2)"
        )
    for key, value in tags.items():
        if not _TAG_KEY.fullmatch(key) or key.lower().startswith("aws:"):
            yield RuleProblem(
                (*at, key),
                f"`{key}` is not a valid tag key (1-128 characters, not `aws:`)",
                at_key=True,
            )
        elif key.startswith(RESERVED_TAG_PREFIX):
            yield RuleProblem(
                (*at, key),
                f"tag keys starting with `{RESERVED_TAG_PREFIX}` are kubetrust's own",
                at_key=True,
            )
        if len(value) > 256:
            yield RuleProblem((*at, key), "a tag value has at most 256 characters")
