"""Read the world's state out of moto's backends, in the shapes the engine needs.

moto keeps IAM, S3 and EKS state in process-global backends keyed by account (and region
or partition). The gate reads them in-process (probe findings: "a WSGI middleware ... can
read moto's state"); nothing here goes over HTTP. Everything moto-specific stays in this
module, so that a moto upgrade breaks one file.

Because those backends are per process and keyed by account, a sandbox *claims* its
accounts when it starts (:func:`claim_accounts`): it installs, for each account and its
region, a :class:`SandboxEksBackend` that tells the sandbox's EKS control plane about
every cluster moto stores or deletes. A second sandbox in the same process must use
other accounts: claiming an account a running sandbox holds fails before anything is
written to moto (:class:`AccountsInUse`).

Fidelity notes: moto loads AWS managed policies on first use when
``MOTO_IAM_LOAD_MANAGED_POLICIES`` is set (the sandbox server sets it before it starts).
moto keeps no permissions boundary for users: the sandbox holds them
(:mod:`kubetrust.sandbox.aws.services.iam.user_boundaries`); role boundaries are moto's.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from moto.core.base_backend import backend_lock
from moto.eks.models import EKSBackend, eks_backends
from moto.iam.models import iam_backends
from moto.s3.models import s3_backends

from kubetrust import arn as arns
from kubetrust import errors
from kubetrust.model.vocabulary import DEFAULT_ROLE_MAX_SESSION

ADMIN_USER = "admin"
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"


@dataclass(frozen=True, slots=True)
class RoleFacts:
    """What STS and the engine need to know about a role."""

    arn: str
    name: str
    id: str
    account: str
    trust_policy: str
    max_session_duration: int


def iam(account: str) -> Any:
    return iam_backends[account]["aws"]


def s3(account: str) -> Any:
    return s3_backends[account]["aws"]


def eks(account: str, region: str) -> Any:
    return eks_backends[account][region]


# --------------------------------------------------------------------------- EKS backends


class ClusterEvents(Protocol):
    """What a sandbox does when moto stores or deletes one of its EKS clusters (the EKS
    control plane: issuer, CA, endpoint, API server, access config)."""

    def cluster_created(self, backend: Any, cluster: Any) -> None: ...

    def cluster_deleted(self, backend: Any, cluster: Any) -> None: ...


class SandboxEksBackend(EKSBackend):
    """moto's EKS backend of one account and region, held by one running sandbox.

    After moto stored a cluster, and still inside moto's ``create_cluster``, it hands the
    cluster to ``events``: so moto's own answer to ``CreateCluster`` already shows what the
    control plane gave the cluster (endpoint, CA, issuer, access config), and a world
    file's cluster, created by the server directly, gets the same. ``events`` is ``None``
    once the sandbox stopped (:func:`release_accounts`)."""

    def __init__(
        self, region_name: str, account_id: str, events: ClusterEvents | None = None
    ) -> None:
        super().__init__(region_name, account_id)
        self.events = events

    def reset(self) -> None:
        """moto's reset re-runs ``__init__`` with region and account only: keep the holder."""
        events = self.events
        super().reset()
        self.events = events

    def create_cluster(self, *args: Any, **kwargs: Any) -> Any:
        cluster = super().create_cluster(*args, **kwargs)
        if self.events is not None:
            self.events.cluster_created(self, cluster)
        return cluster

    def delete_cluster(self, *args: Any, **kwargs: Any) -> Any:
        cluster = super().delete_cluster(*args, **kwargs)
        if self.events is not None:
            self.events.cluster_deleted(self, cluster)
        return cluster


class AccountsInUse(errors.InputError):
    """A sandbox asked for accounts another sandbox running in this process holds."""


def claim_accounts(accounts: Collection[str], region: str, events: ClusterEvents) -> None:
    """Make ``events`` the holder of ``accounts``: each gets a fresh EKS backend in
    ``region`` that reports its clusters to ``events``. All or nothing: if a running
    sandbox holds any of them, :class:`AccountsInUse` and nothing changes (its IAM, S3 and
    EKS state are moto's, per process and account: two sandboxes cannot share them)."""
    with backend_lock:
        taken = sorted(a for a in accounts if _holder(a) not in (None, events))
        if taken:
            raise AccountsInUse(
                f"account(s) {', '.join(taken)} already belong to another sandbox running "
                "in this process (moto keeps one state per account and process): give this "
                "sandbox other account ids, or run it in its own process"
            )
        for account in accounts:
            held = eks_backends[account]
            current = held.get(region)  # dict.get: moto creates no backend for a lookup
            if isinstance(current, SandboxEksBackend) and current.events is events:
                continue
            held[region] = SandboxEksBackend(region, account, events)


def release_accounts(accounts: Collection[str], events: ClusterEvents) -> None:
    """``events`` gives its accounts up (its sandbox stopped): their EKS backends report to
    nobody any more, and another sandbox may claim them. Accounts held by another
    holder are left alone."""
    with backend_lock:
        for account in accounts:
            for backend in _eks_backends_of(account):
                if backend.events is events:
                    backend.events = None


def _holder(account: str) -> ClusterEvents | None:
    """The running sandbox's events that hold ``account``, if any."""
    for backend in _eks_backends_of(account):
        if backend.events is not None:
            return backend.events
    return None


def _eks_backends_of(account: str) -> list[SandboxEksBackend]:
    """The sandbox EKS backends moto has for ``account`` (without creating any)."""
    held = eks_backends.get(account)  # dict.get: moto creates no backend for a lookup
    if held is None:
        return []
    return [b for b in list(held.values()) if isinstance(b, SandboxEksBackend)]


def ensure_admin(account: str, keep: tuple[str, str] | None = None) -> tuple[str, str]:
    """Create the account's administrator (an IAM user with AdministratorAccess) and
    return one access key for it: the sandbox's equivalent of an account's first admin.

    ``keep`` is a key pair handed out by an earlier run of the sandbox: it becomes a real
    IAM key of the admin again (moto's state did not survive the restart), so that it
    authenticates exactly as long as IAM says, like every other key."""
    backend = iam(account)
    try:
        user = backend.get_user(ADMIN_USER)
    except Exception:  # moto raises its own NoSuchEntity type
        user = backend.create_user("us-east-1", ADMIN_USER)
        backend.attach_user_policy(ADMIN_POLICY, ADMIN_USER)
    adopt_user_id(account, ADMIN_USER)  # IAM's id form before any key or binding uses it
    if keep is not None:
        held = [k for k in user.access_keys if k.access_key_id == keep[0]]
        if held:
            return str(held[0].access_key_id), str(held[0].secret_access_key)
        if len(user.access_keys) < 2:  # IAM's quota of keys per user
            return _install_key(backend, keep)
    keys = [k for k in user.access_keys if k.status == "Active"]
    key = keys[0] if keys else backend.create_access_key(ADMIN_USER)
    return key.access_key_id, key.secret_access_key


def _install_key(backend: Any, pair: tuple[str, str]) -> tuple[str, str]:
    """Give the admin the access key ``pair`` (moto has no API to import a key)."""
    key = backend.create_access_key(ADMIN_USER)
    del backend.access_keys[key.access_key_id]
    key.access_key_id, key.secret_access_key = pair
    backend.access_keys[key.access_key_id] = key
    return pair


def user_arn(account: str, name: str) -> str | None:
    try:
        return str(iam(account).get_user(name).arn)
    except Exception:
        return None


def user_id(account: str, name: str) -> str:
    return str(iam(account).get_user(name).id)


def user_facts(account: str, name: str) -> UserFacts | None:
    """The user ``name`` of ``account`` (names are unique whatever the path), or ``None``."""
    found = iam(account).users.get(name)
    if found is None:
        return None
    return UserFacts(str(found.arn), str(found.name), str(found.id), account)


@dataclass(frozen=True, slots=True)
class UserFacts:
    """What EKS access entries need to know about a user: its exact ARN and unique id."""

    arn: str
    name: str
    id: str
    account: str


def user_by_arn(user_arn: str) -> UserFacts | None:
    """The user an ARN names exactly (same account, name and path), or ``None``.

    Exact, unlike :func:`role_by_arn`: EKS access entries keep the principal's path and
    refuse an ARN that names no principal (reference E.2)."""
    try:
        parsed = arns.parse(user_arn)
    except Exception:
        return None
    if (
        parsed.service != "iam"
        or parsed.resource_type != "user"
        or parsed.account not in iam_backends
    ):
        return None
    try:
        found = iam(parsed.account).get_user(parsed.resource_name)
    except Exception:
        return None
    if found.arn != user_arn:
        return None
    return UserFacts(str(found.arn), str(found.name), str(found.id), parsed.account)


def iam_names(account: str, kind: str) -> list[str]:
    """The names of every IAM entity of ``kind`` in ``account`` (``role``, ``user``,
    ``group``, ``instance-profile``, ``policy``: customer managed only)."""
    backend = iam(account)
    attribute = {
        "role": "roles",
        "user": "users",
        "group": "groups",
        "instance-profile": "instance_profiles",
        "policy": "managed_policies",
    }[kind]
    entities = list(getattr(backend, attribute).values())
    if kind == "policy":  # moto keeps AWS managed policies (`iam::aws:`) with the account's
        entities = [p for p in entities if f":iam::{account}:" in str(p.arn)]
    return [str(entity.name) for entity in entities]


def role(account: str, name: str) -> RoleFacts | None:
    """The role ``name`` in ``account`` (names are unique whatever the path), or ``None``."""
    try:
        found = iam(account).get_role(name)
    except Exception:
        return None
    return RoleFacts(
        arn=found.arn,
        name=found.name,
        id=found.id,
        account=account,
        trust_policy=found.assume_role_policy_document,
        max_session_duration=int(found.max_session_duration or DEFAULT_ROLE_MAX_SESSION),
    )


def role_by_arn(role_arn: str) -> RoleFacts | None:
    """The role an ARN names: same account, same name, and the same path if one is given."""
    try:
        parsed = arns.parse(role_arn)
    except Exception:
        return None
    if (
        parsed.service != "iam"
        or parsed.resource_type != "role"
        or parsed.account not in iam_backends
    ):
        return None
    facts = role(parsed.account, parsed.resource_name)
    if facts is None or (parsed.path != "/" and facts.arn != role_arn):
        return None
    return facts


def _documents(entity: Any) -> Iterator[str]:
    # ``list(...)`` copies moto's dicts in one step: another request thread may change them
    # (PutRolePolicy, AttachRolePolicy) while these documents are read (a live iteration
    # would raise "dictionary changed size during iteration").
    yield from (str(doc) for doc in list(entity.policies.values()))
    for managed in list(entity.managed_policies.values()):
        document = _default_document(managed)
        if document is not None:
            yield document


def _default_document(managed: Any) -> str | None:
    for version in getattr(managed, "versions", []):
        if version.is_default:
            return _as_text(version.document)
    return None


def _as_text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def user_policies(account: str, name: str, boundary_arn: str | None) -> tuple[list[str], list[str]]:
    """Inline and attached policies of the user and of its groups, and its permissions
    boundary: the policy ``boundary_arn`` names (moto keeps no user boundary; the sandbox
    holds it, :mod:`kubetrust.sandbox.aws.services.iam.user_boundaries`)."""
    backend = iam(account)
    user = backend.get_user(name)
    documents = list(_documents(user))
    for group in backend.get_groups_for_user(name):
        documents.extend(_documents(group))
    return documents, boundary_documents(account, boundary_arn)


def role_policies(account: str, name: str) -> tuple[list[str], list[str]]:
    """Inline and attached policies of the role, and its permissions boundary (if any)."""
    found = iam(account).get_role(name)
    boundary_arn = getattr(found, "permissions_boundary_arn", None)
    return list(_documents(found)), boundary_documents(account, boundary_arn)


BOUNDARY_GONE = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}'
)
"""The boundary of an entity whose boundary policy cannot be read: nothing is allowed.
IAM refuses a boundary that names no policy and the deletion of a policy that is one
(``user_boundaries``), so this is a guard, never IAM's state: an unreadable boundary must
not leave the entity unbounded."""


def boundary_documents(account: str, boundary_arn: str | None) -> list[str]:
    """The permissions boundary ``boundary_arn`` names, as a list of none or one document."""
    if not boundary_arn:
        return []
    document = managed_policy_document(account, boundary_arn)
    return [document if document is not None else BOUNDARY_GONE]


def roles_bounded_by(account: str, policy_arn: str) -> int:
    """How many roles of ``account`` have ``policy_arn`` as their permissions boundary."""
    roles = list(iam(account).roles.values())
    return sum(1 for r in roles if getattr(r, "permissions_boundary_arn", None) == policy_arn)


def managed_policy_document(account: str, policy_arn: str) -> str | None:
    try:
        managed = iam(account).get_policy(policy_arn)
    except Exception:
        return None
    return _default_document(managed)


def oidc_provider(account: str, url: str) -> Any | None:
    """The IAM OIDC provider whose URL (stored without scheme) is ``url``."""
    target = url.removeprefix("https://")
    for provider in iam(account).list_open_id_connect_providers():
        arn_text = provider if isinstance(provider, str) else provider.arn
        found = iam(account).get_open_id_connect_provider(arn_text)
        if found.url == target:
            return found
    return None


def bucket_owner(name: str, accounts: list[str]) -> str | None:
    """The account that owns bucket ``name`` (bucket names are global)."""
    for account in accounts:
        if name in s3(account).buckets:
            return account
    return None


def role_tags(account: str, name: str) -> dict[str, str]:
    """The role's tags (moto keeps them as ``[{"Key", "Value"}]``); none if it is gone."""
    try:
        found = iam(account).get_role(name)
    except Exception:  # moto raises its own NoSuchEntity type
        return {}
    return _key_values(found.tags)


def user_tags(account: str, name: str) -> dict[str, str]:
    """The user's tags (moto keeps them in its tagger); none if the user is gone."""
    try:
        found = iam(account).get_user(name)
    except Exception:
        return {}
    return _key_values(found.tags)


def cluster_tags(account: str, region: str, name: str) -> dict[str, str] | None:
    """The EKS cluster's tags, or ``None`` if there is no such cluster."""
    try:
        found = eks(account, region).clusters.get(name)
    except KeyError:  # a region moto does not know
        return None
    if found is None:
        return None
    return {str(k): str(v) for k, v in (found.tags or {}).items()}


def _key_values(tags: Any) -> dict[str, str]:
    return {str(t["Key"]): str(t["Value"]) for t in tags or ()}


def bucket_policy(account: str, name: str) -> str | None:
    bucket = s3(account).buckets.get(name)
    policy = getattr(bucket, "policy", None) if bucket is not None else None
    if not policy:
        return None
    return policy.decode("utf-8") if isinstance(policy, bytes) else str(policy)


def create_role(
    account: str,
    name: str,
    trust: str,
    path: str,
    max_session_duration: int,
    inline: dict[str, str],
) -> None:
    """Create a role with inline policies (world files; the API path goes through moto)."""
    backend = iam(account)
    backend.create_role(name, trust, path, None, "", [], str(max_session_duration))
    for policy_name, document in inline.items():
        backend.put_role_policy(name, policy_name, document)


# --------------------------------------------------------------------------- keys and ids
# Added for issue 10 (items 5 and 7): the credential store reads IAM's access keys at the
# moment a request is verified, and sessions find their principal by its unique id.


@dataclass(frozen=True, slots=True)
class AccessKeyFacts:
    """An IAM user's long-term access key as IAM holds it now."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    active: bool
    user: UserFacts


def access_key(access_key_id: str) -> AccessKeyFacts | None:
    """The IAM access key ``access_key_id`` of a user that still exists, or ``None``.

    moto indexes every key it created per account, but keeps the index entry when the
    user is deleted; the key counts only while its user exists and still holds it."""
    for account in list(iam_backends.keys()):
        backend = iam(account)
        key = backend.access_keys.get(access_key_id)
        user = _key_holder(backend, key) if key is not None else None
        if user is None:
            continue
        facts = UserFacts(str(user.arn), str(user.name), str(user.id), account)
        return AccessKeyFacts(
            str(key.access_key_id), str(key.secret_access_key), key.status == "Active", facts
        )
    return None


def access_key_ids(account: str) -> frozenset[str]:
    """Every access key id moto indexes in ``account`` (IAM propagation tells a key that
    ``CreateAccessKey`` just made from the ones that were there before)."""
    return frozenset(str(k) for k in list(iam(account).access_keys.keys()))


def _key_holder(backend: Any, key: Any) -> Any | None:
    """The user holding ``key`` now: found by the key, not by the name moto wrote on the key
    (``UpdateUser`` renames a user without updating its keys; IAM's keys follow the user)."""
    for user in list(backend.users.values()):
        if any(k is key for k in user.access_keys):
            return user
    return None


def user_by_id(account: str, unique_id: str) -> UserFacts | None:
    """The user of ``account`` whose unique id (``AIDA…``) is ``unique_id``: a user deleted
    and created again under the same name has another id, and is not found by the old one."""
    for user in list(iam(account).users.values()):
        if user.id == unique_id:
            return UserFacts(str(user.arn), str(user.name), str(user.id), account)
    return None


def role_by_id(account: str, unique_id: str) -> RoleFacts | None:
    """The role of ``account`` whose unique id (``AROA…``) is ``unique_id`` (see
    :func:`user_by_id`: a role of the same name created later is another role)."""
    found = iam(account).get_role_by_id(unique_id)
    if found is None:
        return None
    return role(account, str(found.name)) if found.id == unique_id else None


def mfa_seed(account: str, user_name: str, serial_number: str) -> str | None:
    """The base32 seed of the virtual MFA device ``serial_number`` if it is enabled for
    the user, else ``None`` (moto keeps the seed it generated for the device)."""
    backend = iam(account)
    user = backend.users.get(user_name)
    device = backend.virtual_mfa_devices.get(serial_number)
    if user is None or device is None or serial_number not in user.mfa_devices:
        return None
    return str(device.base32_string_seed)


def saml_provider_exists(provider_arn: str) -> bool:
    """Whether an IAM SAML provider with this ARN exists (in the account the ARN names)."""
    try:
        parsed = arns.parse(provider_arn)
    except Exception:
        return False
    if parsed.account not in iam_backends:
        return False
    return any(p.arn == provider_arn for p in iam(parsed.account).list_saml_providers())


# --------------------------------------------------------------------------- IAM's ids and holdings
# Added for issue 10 (IAM reads and deletes): IAM's unique-id form for users, and what an
# entity still holds when it is deleted.

_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def adopt_user_id(account: str, name: str) -> str | None:
    """Give the user ``name`` a unique id of IAM's form (reference A.9: ``AIDA`` + 17
    characters of ``A-Z2-7``, like IAM's own ids and the role ids moto already makes) in
    place of moto's random lowercase one, and return it (``None``: no such user).

    Called once the user exists and before anything can have recorded its id (the
    sandbox's admin, ``CreateUser`` through the gate), so that ``GetUser``, ``ListUsers``,
    ``GetCallerIdentity``, trust bindings and EKS access entries all see one id."""
    backend = iam(account)
    user = backend.users.get(name)
    if user is None:
        return None
    if not str(user.id).startswith("AIDA"):
        taken = {str(u.id) for u in list(backend.users.values())}
        new_id = _iam_id(account, "AIDA", taken)
        user.id = new_id
    return str(user.id)


def _iam_id(account: str, prefix: str, taken: set[str]) -> str:
    from moto.iam.utils import generate_access_key_id_from_account_id

    while True:  # 32**8 random tails: a collision is a formality
        found = generate_access_key_id_from_account_id(account, prefix, 21)
        if found not in taken:
            return str(found)


@dataclass(frozen=True, slots=True)
class Holdings:
    """What an IAM entity still has, in the order IAM's ``Delete*`` checks it (the ones
    ``DeleteUser`` names in its API reference, then policies and memberships); each is a
    count, 0 when there is none."""

    login_profile: int = 0
    access_keys: int = 0
    signing_certificates: int = 0
    ssh_public_keys: int = 0
    mfa_devices: int = 0
    inline_policies: int = 0
    attached_policies: int = 0
    groups: int = 0
    members: int = 0  # a group's users
    instance_profiles: int = 0  # a role's
    attachments: int = 0  # a managed policy's
    other_versions: int = 0  # a managed policy's non-default versions


def user_holdings(account: str, name: str) -> Holdings | None:
    """What the user ``name`` holds, or ``None`` when there is no such user."""
    backend = iam(account)
    user = backend.users.get(name)
    if user is None:
        return None
    return Holdings(
        login_profile=1 if user.password else 0,
        access_keys=len(user.access_keys),
        signing_certificates=len(user.signing_certificates),
        ssh_public_keys=len(user.ssh_public_keys),
        mfa_devices=len(user.mfa_devices),
        inline_policies=len(user.policies),
        attached_policies=len(user.managed_policies),
        groups=sum(1 for g in list(backend.groups.values()) if user in g.users),
    )


def group_holdings(account: str, name: str) -> Holdings | None:
    group = iam(account).groups.get(name)
    if group is None:
        return None
    return Holdings(
        inline_policies=len(group.policies),
        attached_policies=len(group.managed_policies),
        members=len(group.users),
    )


def role_holdings(account: str, name: str) -> Holdings | None:
    backend = iam(account)
    try:
        found = backend.get_role(name)
    except Exception:  # moto raises its own NoSuchEntity type
        return None
    profiles = [p for p in list(backend.instance_profiles.values()) if found in p.roles]
    return Holdings(
        inline_policies=len(found.policies),
        attached_policies=len(found.managed_policies),
        instance_profiles=len(profiles),
    )


def policy_holdings(account: str, policy_arn: str) -> Holdings | None:
    """What a customer managed policy of ``account`` holds (``None``: no such policy)."""
    managed = iam(account).managed_policies.get(policy_arn)
    if managed is None:
        return None
    versions = getattr(managed, "versions", [])
    return Holdings(
        attachments=int(managed.attachment_count),
        other_versions=sum(1 for v in versions if not v.is_default),
    )
