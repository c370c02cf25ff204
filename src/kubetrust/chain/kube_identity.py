"""Kubernetes identity mapping: which user and groups a verified AWS caller becomes in EKS.

After aws-iam-authenticator has verified a token (reference D.2), it knows the caller: the ARN
STS returned, its canonical form (a session ARN becomes its role's ARN, without the role's
path), the account, the principal's unique ID (``AROA…``/``AIDA…``), the session name and the
access key ID. It then walks a chain of mappers; the first that maps wins, and a caller that no
mapper maps is denied (``ErrNotMapped``, HTTP 403). EKS has two mappers (E.1):

- **access entries** (:class:`AccessEntryMapper`): the entry for the caller's ARN, bound to the
  principal's unique ID when it was created (E.3), so a deleted and recreated role or user no
  longer matches it;
- **aws-auth** (:class:`AwsAuthMapper`): ``mapRoles`` then ``mapUsers``, compared ignoring case
  with the canonical ARN (so a ``rolearn`` with a path never matches, D.3), then ``mapAccounts``.

The authentication mode picks the chain: ``CONFIG_MAP`` → aws-auth, ``API`` → access entries,
``API_AND_CONFIG_MAP`` → access entries, then aws-auth (an entry overrides the ConfigMap, E.1).

Pure: the caller and the configuration come in, a :class:`KubeIdentity` or a :class:`NotMapped`
(with its reason) comes out. Not modelled: ``{{EC2PrivateDNSName}}`` (the authenticator calls
``ec2:DescribeInstances`` to render it; here rendering fails and the caller is not mapped), the
cluster creator's invisible ``system:masters`` in ``CONFIG_MAP`` mode, scrubbed accounts
(``aws-iam-authenticator:administrative:…`` UIDs) and configured reserved username prefixes
(EKS's ConfigMap mapper reserves none).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from kubetrust import arn, errors
from kubetrust.model.aws_auth import AwsAuthMap

AUTHENTICATION_MODES: Final = ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API")

UID_PREFIX: Final = "aws-iam-authenticator"
_INSTANCE_ID = re.compile(r"i-(\w{8}|\w{17})\Z", re.ASCII)
_EC2_DNS = "{{EC2PrivateDNSName}}"
ACCESS_POLICY_PREFIX: Final = "arn:aws:eks::aws:cluster-access-policy/"
_ACCESS_POLICY = re.compile(r"arn:[a-z-]+:eks::aws:cluster-access-policy/([A-Za-z0-9]+)\Z")


@dataclass(frozen=True, slots=True)
class Caller:
    """A verified AWS caller, as the authenticator's ``token.Identity`` holds it (D.2).

    Build it with :meth:`of` or :meth:`from_caller_identity`, which canonicalize the ARN once,
    at the door; an ARN that is not an IAM user, role, root, session or federated user raises
    :class:`errors.InvalidArnError`, as the authenticator refuses such tokens before mapping.
    """

    arn: str
    canonical_arn: str
    account: str
    principal_id: str
    session_name: str = ""
    access_key_id: str = ""

    @classmethod
    def of(
        cls,
        caller_arn: str,
        *,
        account: str,
        principal_id: str,
        session_name: str = "",
        access_key_id: str = "",
    ) -> Caller:
        """The caller from its parts (``principal_id`` is the ``AROA…``/``AIDA…`` part)."""
        canonical = arn.canonicalize(caller_arn)
        return cls(caller_arn, canonical, account, principal_id, session_name, access_key_id)

    @classmethod
    def from_caller_identity(
        cls, caller_arn: str, *, account: str, user_id: str, access_key_id: str = ""
    ) -> Caller:
        """The caller from a ``GetCallerIdentity`` answer (D.2 step 16).

        For a role session ``UserId`` is ``AROA…:session`` and must split into exactly two
        parts (else the authenticator's "malformed UserID"); for users, root and federated
        users the whole ``UserId`` is the principal ID and there is no session name.
        """
        parsed = arn.parse(caller_arn)
        if parsed.service == "sts" and parsed.resource_type == "assumed-role":
            parts = user_id.split(":")
            if len(parts) != 2:
                raise errors.InputError(f"malformed UserID {errors.shown(user_id)}")
            return cls.of(
                caller_arn,
                account=account,
                principal_id=parts[0],
                session_name=parts[1],
                access_key_id=access_key_id,
            )
        return cls.of(
            caller_arn, account=account, principal_id=user_id, access_key_id=access_key_id
        )

    @property
    def uid(self) -> str:
        """The TokenReview UID: ``aws-iam-authenticator:<account>:<principal id>`` (D.4)."""
        return f"{UID_PREFIX}:{self.account}:{self.principal_id}"

    def extra(self) -> dict[str, tuple[str, ...]]:
        """The TokenReview ``user.extra`` the authenticator sends (D.4)."""
        return {
            "arn": (self.arn,),
            "canonicalArn": (self.canonical_arn,),
            "sessionName": (self.session_name,),
            "accessKeyId": (self.access_key_id,),
            "principalId": (self.principal_id,),
            "sigs.k8s.io/aws-iam-authenticator/principalId": (self.principal_id,),
        }


@dataclass(frozen=True, slots=True)
class AccessGrant:
    """What an EKS access policy association grants, in Kubernetes terms (E.4).

    ``cluster_role`` is the Kubernetes default ClusterRole the policy is like (``cluster-admin``,
    ``admin``, ``edit``, ``view``), or ``None`` for a policy with no such equivalent
    (``AmazonEKSAdminViewPolicy`` reads Secrets, which ``view`` does not; the node, networking
    and storage policies). ``namespaces`` is ``None`` for cluster scope, else the namespace
    names, which may end in ``*``. Access policies sit beside RBAC: the caller gets the union.
    """

    policy_arn: str
    cluster_role: str | None
    namespaces: tuple[str, ...] | None = None

    def applies_to(self, namespace: str | None) -> bool:
        """Whether the grant covers a request in ``namespace`` (``None``: cluster-scoped)."""
        if self.namespaces is None:
            return True
        if namespace is None:
            return False
        return any(_namespace_matches(pattern, namespace) for pattern in self.namespaces)


@dataclass(frozen=True, slots=True)
class KubeIdentity:
    """The Kubernetes user an AWS caller becomes: what the TokenReview answer carries (D.4).

    ``via`` names the mapping that decided (``aws-auth mapRoles <rolearn>``, ``aws-auth
    mapAccounts <account>``, ``access entry <principal ARN>``). ``grants`` are the access
    policies of the access entry that mapped the caller (empty for aws-auth).
    """

    username: str
    groups: tuple[str, ...]
    uid: str
    via: str
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    grants: tuple[AccessGrant, ...] = ()


@dataclass(frozen=True, slots=True)
class NotMapped:
    """No mapping for the caller (the authenticator's ``ErrNotMapped``): a denial, not an error.

    ``reason`` says why, for explain; :data:`NOT_MAPPED` is the instance without a reason.
    """

    reason: str = "not mapped"


NOT_MAPPED: Final = NotMapped()

PolicyAssociation = tuple[str, str, tuple[str, ...]]
"""``(policy ARN, scope type "cluster" | "namespace", namespaces)``, as AssociateAccessPolicy."""


@dataclass(frozen=True, slots=True)
class AccessEntryView:
    """An EKS access entry as the mapper needs it (E.2, E.3, E.4).

    ``principal_id`` is the unique ID EKS stored when the entry was created; ``username`` is
    ``None`` when EKS generates it; ``type`` is ``STANDARD`` or a node type.
    """

    principal_arn: str
    principal_id: str
    username: str | None = None
    kubernetes_groups: tuple[str, ...] = ()
    type: str = "STANDARD"
    policies: tuple[PolicyAssociation, ...] = ()


# --- templates -----------------------------------------------------------------------------


class TemplateError(errors.KubetrustError):
    """A username or group template that cannot be rendered (the caller is then not mapped).

    Raised only by :func:`render_template`; the mappers turn it into a :class:`NotMapped`, as
    the authenticator denies a caller whose templates fail to render.
    """


def render_template(template: str, caller: Caller) -> str:
    """Expand the authenticator's templates in one username or group (``renderTemplate``, D.3).

    ``{{AccountID}}`` → the account; ``{{SessionName}}`` → the session name with every ``@``
    replaced by ``-``; ``{{SessionNameRaw}}`` → the session name as is; ``{{AccessKeyID}}`` →
    the signing access key. Replacements happen in that order, on the whole string.
    ``{{EC2PrivateDNSName}}`` is not supported (it needs ``ec2:DescribeInstances``): it raises
    :class:`TemplateError`, with the authenticator's reason when the session name is not even
    an instance ID.
    """
    if _EC2_DNS in template:
        if not _INSTANCE_ID.match(caller.session_name):
            raise TemplateError("SessionName did not contain an instance id")
        raise TemplateError(
            f"{_EC2_DNS} needs ec2:DescribeInstances, which kubetrust does not emulate"
        )
    rendered = template.replace("{{AccountID}}", caller.account)
    rendered = rendered.replace("{{SessionName}}", caller.session_name.replace("@", "-"))
    rendered = rendered.replace("{{SessionNameRaw}}", caller.session_name)
    return rendered.replace("{{AccessKeyID}}", caller.access_key_id)


def _identity(
    caller: Caller,
    username: str,
    groups: Sequence[str],
    via: str,
    grants: tuple[AccessGrant, ...] = (),
) -> KubeIdentity | NotMapped:
    """Render the templates and build the identity; a render failure denies (``doMapping``)."""
    try:
        rendered = render_template(username, caller)
        rendered_groups = tuple(render_template(group, caller) for group in groups)
    except TemplateError as error:
        return NotMapped(f"{via}: cannot render the templates: {error}")
    return KubeIdentity(rendered, rendered_groups, caller.uid, via, caller.extra(), grants)


# --- mappers -------------------------------------------------------------------------------


class IdentityMapper(Protocol):
    """One source of mappings, as the authenticator's ``mapper.Mapper`` (style habit 4)."""

    @property
    def name(self) -> str: ...

    def map(self, caller: Caller) -> KubeIdentity | NotMapped:
        """The caller's identity from this source, or why there is none."""
        ...

    def is_account_allowed(self, account: str) -> bool:
        """Whether every principal of ``account`` maps to its own ARN (``mapAccounts``)."""
        ...


@dataclass(frozen=True, slots=True)
class AwsAuthMapper:
    """The aws-auth ConfigMap (``EKSConfigMap`` mode): roles first, then users (D.3).

    ``sso_role_match`` is the authenticator's alpha ``SSORoleMatch`` feature gate, off by
    default; whether EKS turns it on is not documented.
    """

    aws_auth: AwsAuthMap
    sso_role_match: bool = False

    @property
    def name(self) -> str:
        return "aws-auth"

    def map(self, caller: Caller) -> KubeIdentity | NotMapped:
        role = self.aws_auth.find_role(caller.canonical_arn, sso_role_match=self.sso_role_match)
        if role is not None:
            via = f"aws-auth mapRoles {role.role_arn or role.key}"
            return _identity(caller, role.username, role.groups, via)
        user = self.aws_auth.find_user(caller.canonical_arn)
        if user is not None:
            return _identity(caller, user.username, user.groups, f"aws-auth mapUsers {user.key}")
        return NotMapped(f"aws-auth maps no role or user `{caller.canonical_arn}`")

    def is_account_allowed(self, account: str) -> bool:
        return self.aws_auth.allows_account(account)


_NODE_USERNAMES: Final = {
    "EC2_LINUX": "system:node:{{EC2PrivateDNSName}}",
    "EC2_WINDOWS": "system:node:{{EC2PrivateDNSName}}",
    "FARGATE_LINUX": "system:node:{{SessionName}}",
    "HYBRID_LINUX": "system:node:{{SessionName}}",
}
"""Usernames EKS sets for node access entries (E.2; the types EKS documents a username for)."""

_NODE_GROUPS: Final = ("system:nodes",)
"""[inferred] Groups of a node access entry: EKS documents none, and nodes need this one."""


@dataclass(frozen=True, slots=True)
class AccessEntryMapper:
    """EKS access entries: the entry whose principal is the caller, bound by unique ID (E.3).

    Entries come from the EKS API, which validated their ARNs; a malformed one raises
    :class:`errors.InvalidArnError` rather than being skipped.
    """

    entries: tuple[AccessEntryView, ...] = ()

    @property
    def name(self) -> str:
        return "access entries"

    def map(self, caller: Caller) -> KubeIdentity | NotMapped:
        entry = self._entry_for(caller)
        if entry is None:
            return NotMapped(f"no access entry for `{caller.canonical_arn}`")
        if entry.principal_id != caller.principal_id:
            return NotMapped(
                f"the access entry for `{entry.principal_arn}` is bound to principal ID "
                f"`{entry.principal_id}`, the caller is `{caller.principal_id}`: the principal "
                "was deleted and recreated, so the entry must be recreated too (E.3)"
            )
        username = access_entry_username(entry)
        if username is None:
            return NotMapped(f"EKS documents no username for access entry type `{entry.type}`")
        groups = entry.kubernetes_groups if entry.type == "STANDARD" else _NODE_GROUPS
        via = f"access entry {entry.principal_arn}"
        return _identity(caller, username, groups, via, access_grants(entry))

    def is_account_allowed(self, account: str) -> bool:
        return False

    def _entry_for(self, caller: Caller) -> AccessEntryView | None:
        """The entry whose principal ARN, role path removed, is the caller's canonical ARN."""
        wanted = caller.canonical_arn.lower()
        for entry in self.entries:
            if strip_role_path(entry.principal_arn).lower() == wanted:
                return entry
        return None


_aws_auth_mapper_conforms: type[IdentityMapper] = AwsAuthMapper
_access_entry_mapper_conforms: type[IdentityMapper] = AccessEntryMapper


def strip_role_path(principal_arn: str) -> str:
    """A role ARN without its path (``role/a/b/r`` → ``role/r``); other ARNs unchanged.

    Like the authenticator's ``arn.StripPath``: a session ARN names the role without its path
    (B.5), so this is how a role ARN with a path meets a caller's canonical ARN.
    """
    parsed = arn.parse(principal_arn)
    if parsed.service != "iam" or parsed.resource_type != "role" or parsed.path == "/":
        return principal_arn
    return arn.role_arn(parsed.account, parsed.resource_name, partition=parsed.partition)


def access_entry_username(entry: AccessEntryView) -> str | None:
    """The entry's username template: its own, or the one EKS generates (E.2).

    A role gets ``arn:aws:sts::ACCOUNT:assumed-role/NAME/{{SessionName}}`` (path removed), a
    user its ARN; node types get ``system:node:…``. ``None`` for a type without a documented
    username.
    """
    if entry.type != "STANDARD":
        return _NODE_USERNAMES.get(entry.type)
    if entry.username:
        return entry.username
    parsed = arn.parse(entry.principal_arn)
    if parsed.service == "iam" and parsed.resource_type == "role":
        return arn.assumed_role_arn(
            parsed.account, parsed.resource_name, "{{SessionName}}", partition=parsed.partition
        )
    return entry.principal_arn


# --- access policies -----------------------------------------------------------------------

ACCESS_POLICY_CLUSTER_ROLES: Final[Mapping[str, str]] = {
    "AmazonEKSClusterAdminPolicy": "cluster-admin",
    "AmazonEKSAdminPolicy": "admin",
    "AmazonEKSEditPolicy": "edit",
    "AmazonEKSViewPolicy": "view",
}
"""Access policies and the Kubernetes default ClusterRole each is like (E.4)."""


def access_policy_grant(
    policy_arn: str, *, scope_type: str = "cluster", namespaces: Sequence[str] = ()
) -> AccessGrant:
    """What associating ``policy_arn`` with ``accessScope`` grants (E.4).

    ``scope_type`` is ``cluster`` (namespaces ignored) or ``namespace`` (at least one
    namespace). A policy ARN that is not an EKS cluster access policy, or a bad scope, raises
    :class:`errors.InputError` (EKS refuses such associations).
    """
    matched = _ACCESS_POLICY.match(policy_arn)
    if matched is None:
        raise errors.InputError(
            f"{errors.shown(policy_arn)} is not an EKS cluster access policy ARN "
            f"(`{ACCESS_POLICY_PREFIX}NAME`, in any partition)"
        )
    role = ACCESS_POLICY_CLUSTER_ROLES.get(matched.group(1))
    if scope_type == "cluster":
        return AccessGrant(policy_arn, role, None)
    if scope_type == "namespace":
        if not namespaces:
            raise errors.InputError("an access scope of type `namespace` needs namespaces")
        return AccessGrant(policy_arn, role, tuple(namespaces))
    raise errors.InputError(
        f"access scope type {errors.shown(scope_type)} is not `cluster` or `namespace`"
    )


def access_grants(entry: AccessEntryView) -> tuple[AccessGrant, ...]:
    """The grants of every policy associated with ``entry`` (only STANDARD entries have any)."""
    if entry.type != "STANDARD":
        return ()
    return tuple(
        access_policy_grant(policy, scope_type=scope, namespaces=namespaces)
        for policy, scope, namespaces in entry.policies
    )


def _namespace_matches(pattern: str, namespace: str) -> bool:
    """An access-scope namespace, where ``*`` matches any run of characters (``dev-*``)."""
    regex = ".*".join(re.escape(piece) for piece in pattern.split("*"))
    return re.fullmatch(regex, namespace) is not None


# --- the chain -----------------------------------------------------------------------------


def mapper_chain(
    mode: str,
    *,
    access_entries: Sequence[AccessEntryView] = (),
    aws_auth: AwsAuthMap | None = None,
    sso_role_match: bool = False,
) -> tuple[IdentityMapper, ...]:
    """The mappers an authentication mode consults, in order (E.1; ``BuildMapperChain``).

    A missing aws-auth ConfigMap maps nobody (the authenticator resets to empty on delete).
    An unknown mode raises :class:`errors.InputError`.
    """
    entries = AccessEntryMapper(tuple(access_entries))
    config_map = AwsAuthMapper(aws_auth or AwsAuthMap(), sso_role_match)
    if mode == "CONFIG_MAP":
        return (config_map,)
    if mode == "API":
        return (entries,)
    if mode == "API_AND_CONFIG_MAP":
        return (entries, config_map)
    raise errors.InputError(
        f"authentication mode {errors.shown(mode)} is not one of {', '.join(AUTHENTICATION_MODES)}"
    )


def map_caller(mappers: Sequence[IdentityMapper], caller: Caller) -> KubeIdentity | NotMapped:
    """Walk the chain as the authenticator's ``doMapping`` does.

    The first mapper that maps wins. When a mapper does not, and it lists the caller's account
    (``mapAccounts``), the username is the caller's canonical ARN, with no groups. A stale
    access entry (E.3) does not stop the walk: the next mapper still gets the caller
    ([inferred] from ``doMapping``, which only collects a mapper's errors).
    """
    reasons: list[str] = []
    for mapper in mappers:
        result = mapper.map(caller)
        if isinstance(result, KubeIdentity):
            return result
        reasons.append(result.reason)
        if mapper.is_account_allowed(caller.account):
            via = f"{mapper.name} mapAccounts {caller.account}"
            return KubeIdentity(caller.canonical_arn, (), caller.uid, via, caller.extra())
    return NotMapped("; ".join(reasons)) if reasons else NOT_MAPPED


def map_with_aws_auth(
    caller_arn: str,
    *,
    account: str,
    access_key_id: str,
    session_name: str,
    principal_id: str,
    aws_auth: AwsAuthMap,
    sso_role_match: bool = False,
) -> KubeIdentity | None:
    """The caller's identity from aws-auth alone (roles, users, then accounts), or ``None``."""
    caller = Caller.of(
        caller_arn,
        account=account,
        principal_id=principal_id,
        session_name=session_name,
        access_key_id=access_key_id,
    )
    return _or_none(map_caller((AwsAuthMapper(aws_auth, sso_role_match),), caller))


def map_with_access_entry(
    caller_arn: str,
    *,
    account: str,
    access_key_id: str,
    session_name: str,
    principal_id: str,
    entry: AccessEntryView,
) -> KubeIdentity | None:
    """The caller's identity from one access entry, or ``None`` (not its principal, or bound
    to another unique ID)."""
    caller = Caller.of(
        caller_arn,
        account=account,
        principal_id=principal_id,
        session_name=session_name,
        access_key_id=access_key_id,
    )
    return _or_none(AccessEntryMapper((entry,)).map(caller))


def resolve_kube_identity(
    caller_arn: str,
    *,
    account: str,
    access_key_id: str,
    session_name: str,
    principal_id: str,
    mode: str,
    access_entries: Sequence[AccessEntryView] = (),
    aws_auth: AwsAuthMap | None = None,
    sso_role_match: bool = False,
) -> KubeIdentity | None:
    """The caller's identity under an authentication mode (E.1), or ``None`` (denied).

    Use :func:`mapper_chain` and :func:`map_caller` directly to learn why a caller is not
    mapped.
    """
    caller = Caller.of(
        caller_arn,
        account=account,
        principal_id=principal_id,
        session_name=session_name,
        access_key_id=access_key_id,
    )
    chain = mapper_chain(
        mode, access_entries=access_entries, aws_auth=aws_auth, sso_role_match=sso_role_match
    )
    return _or_none(map_caller(chain, caller))


def _or_none(result: KubeIdentity | NotMapped) -> KubeIdentity | None:
    return result if isinstance(result, KubeIdentity) else None
