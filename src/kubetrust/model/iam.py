"""IAM entities of one account as an offline dump describes them: roles, users, policies.

These are the values :mod:`kubetrust.model.account_dump` builds from ``aws iam
get-account-authorization-details`` output and that :mod:`kubetrust.chain` evaluates. Every
policy document is parsed once, here, into a :class:`~kubetrust.policy.PolicyDocument` of the
right kind (trust, identity, boundary), so that a malformed document is reported once, with
its place, instead of failing an evaluation later.

What a role's permissions are (reference A.1): the union of its inline policies and the
default versions of its attached managed policies, limited by its permissions boundary; a
user's also include the policies of its groups. :meth:`Role.identity_documents` and
:meth:`User.identity_documents` give exactly those lists.

Pure: no I/O. Managed policies that the dump does not contain (AWS managed policies when the
dump was filtered) cannot be evaluated; they are listed as missing, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kubetrust.model.vocabulary import DEFAULT_ROLE_MAX_SESSION
from kubetrust.policy import PolicyDocument


@dataclass(frozen=True, slots=True)
class Problem:
    """Something in an input that kubetrust could not use as given, and what it did instead.

    ``where`` locates it (``RoleDetailList[3].AssumeRolePolicyDocument``), ``message`` says
    what is wrong. Loaders prefix ``where`` with the file name.
    """

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True, slots=True)
class NamedDocument:
    """A policy document and where it comes from (``inline ci-assume``, a managed policy ARN)."""

    name: str
    document: PolicyDocument


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    """A managed policy: its ARN, name and default version (``IsDefaultVersion``)."""

    arn: str
    name: str
    document: PolicyDocument | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Role:
    """An IAM role. ``trust`` is ``None`` when its trust policy could not be parsed (then
    nobody can assume it, which is what IAM's evaluation of a missing trust gives)."""

    arn: str
    name: str
    account: str
    path: str = "/"
    role_id: str = ""
    trust: PolicyDocument | None = None
    trust_text: str = ""
    """The trust policy as compact JSON (its size counts against IAM's quota)."""
    trust_problem: str = ""
    """Why ``trust`` is ``None`` (the parser's message and where), for explain to quote."""
    inline: tuple[NamedDocument, ...] = ()
    attached: tuple[str, ...] = ()
    boundary_arn: str | None = None
    max_session_duration: int = DEFAULT_ROLE_MAX_SESSION  # when the dump does not say (A.9)
    max_session_known: bool = False
    instance_profiles: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def is_instance_role(self) -> bool:
        """Whether EC2 instances can carry this role (it is in an instance profile)."""
        return bool(self.instance_profiles)


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    """An IAM user, with the names of its groups."""

    arn: str
    name: str
    account: str
    user_id: str = ""
    inline: tuple[NamedDocument, ...] = ()
    attached: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    boundary_arn: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    """An IAM group (never a principal; its policies apply to its users)."""

    arn: str
    name: str
    inline: tuple[NamedDocument, ...] = ()
    attached: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Permissions:
    """What binds one identity: its identity documents and its boundary (if any), plus the
    managed policy ARNs that were attached but are not in the dump."""

    identity: tuple[NamedDocument, ...]
    boundary: NamedDocument | None
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AccountIam:
    """Every IAM entity of one account, keyed for lookups.

    Role and user names are unique in an account ignoring case (A.5), so they are keyed by
    the lowercased name.
    """

    account: str
    roles: Mapping[str, Role] = field(default_factory=dict)
    users: Mapping[str, User] = field(default_factory=dict)
    groups: Mapping[str, Group] = field(default_factory=dict)
    policies: Mapping[str, ManagedPolicy] = field(default_factory=dict)

    def role(self, name: str) -> Role | None:
        return self.roles.get(name.lower())

    def user(self, name: str) -> User | None:
        return self.users.get(name.lower())

    def permissions(
        self, identity: Role | User, shared: Mapping[str, ManagedPolicy] | None = None
    ) -> Permissions:
        """The identity documents and boundary of a role or user (module doc).

        ``shared`` holds AWS managed policies (``arn:aws:iam::aws:policy/...``) seen in any
        account's dump: they are the same everywhere, and a dump filtered to local policies
        still attaches them.
        """
        known = self.policies if not shared else {**shared, **self.policies}
        documents = list(identity.inline)
        attached = list(identity.attached)
        if isinstance(identity, User):
            for group_name in identity.groups:
                group = self.groups.get(group_name.lower())
                if group is not None:
                    documents.extend(
                        NamedDocument(f"group {group.name} {d.name}", d.document)
                        for d in group.inline
                    )
                    attached.extend(group.attached)
        missing: list[str] = []
        for policy_arn in dict.fromkeys(attached):
            managed = known.get(policy_arn)
            if managed is None or managed.document is None:
                missing.append(policy_arn)
            else:
                documents.append(NamedDocument(policy_arn, managed.document))
        boundary: NamedDocument | None = None
        if identity.boundary_arn is not None:
            managed = known.get(identity.boundary_arn)
            if managed is None or managed.document is None:
                missing.append(identity.boundary_arn)
            else:
                boundary = NamedDocument(identity.boundary_arn, managed.document)
        return Permissions(tuple(documents), boundary, tuple(missing))
