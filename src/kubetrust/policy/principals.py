"""Who is asking, and how a ``Principal`` element names them.

A request's principal is an ARN or a name (A.8, A.9, B.5):

==============================================  ====================  ==================
principal                                        kind                  aws:PrincipalType
==============================================  ====================  ==================
``arn:aws:iam::A:root``                          ``root``              ``Account``
``arn:aws:iam::A:user/path/name``                ``user``              ``User``
``arn:aws:sts::A:assumed-role/role/session``     ``session``           ``AssumedRole``
``arn:aws:iam::A:role/path/name``                ``role`` (a session   ``AssumedRole``
                                                 whose name we ignore)
``arn:aws:sts::A:federated-user/name``           ``federated-user``    ``FederatedUser``
``arn:aws:iam::A:oidc-provider/host/path``       ``web-identity``      ``WebIdentityUser``
``arn:aws:iam::A:saml-provider/name``            ``saml``              ``SAMLUser``
``ec2.amazonaws.com`` (a service)                ``service``           (none)
``accounts.google.com``, ``www.amazon.com``...   ``web-identity``      ``WebIdentityUser``
``*`` or ``anonymous``                           ``anonymous``         ``Anonymous``
==============================================  ====================  ==================

A ``Principal.AWS`` entry may also be a *unique id* (``AROA…`` a role, ``AIDA…`` a user,
A.9): IAM stores a named role or user as its unique id when the policy is saved, and shows
the id instead of the ARN once that role or user is deleted (A.8, "delete-and-recreate
breaks the trust"). Such an entry names the entity that had that id, never another one
with the same name: it matches only a caller whose ``aws:userid`` carries that very id
(:func:`caller_unique_id`), with the grade the ARN would have had.

How a principal element matches is graded, because the grade decides what else must allow
(A.1 step 5, A.8): naming the *account* delegates to the account's own policies; naming
the *role* grants to its sessions but stays limited by boundary and session policies;
naming the *session* or the *user* grants directly. Role and user names compare exactly
(names in principal ARNs are case-sensitive, A.8); a role named with a path matches its
sessions by name, since a session ARN carries no path (B.5) and role names are unique in
an account whatever their path.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from kubetrust import arn, errors
from kubetrust.policy.document import PrincipalBlock

UNIQUE_ID = re.compile(r"(AROA|AIDA)[A-Z0-9]{12,124}\Z")
"""A role's or user's unique id as a principal (A.9; IAM's ``idType``: 16–128 characters)."""
UNIQUE_ID_KINDS = {"AROA": "role", "AIDA": "user"}
OTHER_ID_PREFIXES = {
    "AGPA": "a group",
    "ANPA": "a managed policy",
    "ANVA": "a policy version",
    "AIPA": "an instance profile",
    "AKIA": "an access key",
    "ASIA": "a temporary access key",
    "APKA": "a public key",
    "ASCA": "a certificate",
    "ACCA": "a context-specific credential",
    "ABIA": "an STS bearer token",
}
"""Unique-id prefixes of things that are never principals (A.9), for precise messages."""
_WEB_IDENTITY_NAMES = frozenset(
    {
        "cognito-identity.amazonaws.com",
        "www.amazon.com",
        "graph.facebook.com",
        "accounts.google.com",
    }
)


class Grade(enum.IntEnum):
    """How specifically a Principal element named the caller (higher is more specific)."""

    NONE = 0
    ACCOUNT = 1
    EVERYONE = 2
    ROLE = 3
    DIRECT = 4
    """The session ARN, the user ARN, the federated-user ARN, a service or an IdP."""


@dataclass(frozen=True, slots=True)
class Caller:
    """The parsed principal of a request."""

    text: str
    kind: str
    account: str | None
    partition: str = "aws"
    role_name: str | None = None
    principal_arn: str | None = None
    """The value of ``aws:PrincipalArn``: the role ARN for a session (B.4)."""
    is_iam: bool = field(init=False, default=False)
    """An IAM identity of an account: SCPs, boundaries and identity policies apply."""
    derived_context: Mapping[str, tuple[str, ...]] = field(
        init=False, default_factory=dict, compare=False, hash=False
    )
    """The condition keys AWS sets for every request of this caller (B.4); read-only."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "is_iam", self.kind in _IAM_KINDS)
        object.__setattr__(self, "derived_context", MappingProxyType(_derive(self)))

    @property
    def principal_type(self) -> str | None:
        return _TYPES.get(self.kind)

    def levels(self) -> tuple[str, ...]:
        """The identities a NotPrincipal must list to exclude this caller (A.4): the
        account, then the role, then the session."""
        if self.account is None:
            return (self.text,)
        root = f"arn:{self.partition}:iam::{self.account}:root"
        if self.kind == "session" and self.principal_arn:
            return (root, self.principal_arn, self.text)
        if self.kind == "root":
            return (root,)
        return (root, self.text)


def _derive(caller: Caller) -> dict[str, tuple[str, ...]]:
    derived: dict[str, tuple[str, ...]] = {}
    if caller.principal_arn:
        derived["aws:principalarn"] = (caller.principal_arn,)
    if caller.account:
        derived["aws:principalaccount"] = (caller.account,)
    elif caller.kind == "anonymous":
        derived["aws:principalaccount"] = ("anonymous",)
    if caller.principal_type:
        derived["aws:principaltype"] = (caller.principal_type,)
    if caller.kind == "user":
        derived["aws:username"] = (caller.text.rsplit("/", 1)[-1],)
    if caller.kind == "service":
        derived["aws:principalservicename"] = (caller.text,)
    derived["aws:principalisawsservice"] = ("true" if caller.kind == "service" else "false",)
    return derived


_IAM_KINDS = frozenset({"root", "user", "session", "role", "federated-user"})
_TYPES = {
    "root": "Account",
    "user": "User",
    "session": "AssumedRole",
    "role": "AssumedRole",
    "federated-user": "FederatedUser",
    "web-identity": "WebIdentityUser",
    "saml": "SAMLUser",
    "anonymous": "Anonymous",
}


@functools.lru_cache(maxsize=4096)
def parse_caller(text: str) -> Caller:
    """Parse a request principal (see module table); raise ``InputError`` if unknown."""
    if not isinstance(text, str) or not text:
        raise errors.InputError("request principal must be a non-empty string")
    if text in ("*", "anonymous"):
        return Caller(text=text, kind="anonymous", account=None)
    if not text.startswith("arn:"):
        return _named_caller(text)
    try:
        parsed = arn.parse(text)
    except errors.InvalidArnError as exc:
        raise errors.InputError(f"request principal: {exc}") from None
    kind = _arn_kind(parsed)
    if kind is None:
        raise errors.InputError(
            f"request principal `{text}` is not a user, role, session, root, federated "
            "user or identity provider ARN"
        )
    return _arn_caller(text, parsed, kind)


def _named_caller(text: str) -> Caller:
    lowered = text.lower()
    if lowered in _WEB_IDENTITY_NAMES:
        return Caller(text=text, kind="web-identity", account=None)
    if re.fullmatch(r"[a-z0-9][a-z0-9.\-]*\.amazonaws\.com(\.cn)?", lowered):
        return Caller(text=text, kind="service", account=None)
    if arn.is_account_id(text):
        raise errors.InputError(
            f"request principal `{text}` is an account id; name the caller, e.g. "
            f"`arn:aws:iam::{text}:root`"
        )
    raise errors.InputError(f"request principal `{text}` is not an ARN or a known service")


def _arn_kind(parsed: arn.Arn) -> str | None:
    kinds = {
        ("iam", "root"): "root",
        ("iam", "user"): "user",
        ("iam", "role"): "role",
        ("sts", "assumed-role"): "session",
        ("sts", "federated-user"): "federated-user",
        ("iam", "oidc-provider"): "web-identity",
        ("iam", "saml-provider"): "saml",
    }
    return kinds.get((parsed.service, parsed.resource_type))


def _arn_caller(text: str, parsed: arn.Arn, kind: str) -> Caller:
    common = {"text": text, "kind": kind, "account": parsed.account, "partition": parsed.partition}
    if kind == "session":
        pieces = parsed.resource.split("/")
        if len(pieces) < 3 or not pieces[1] or not pieces[-1]:
            raise errors.InputError(f"`{text}` needs `assumed-role/ROLE/SESSION`")
        role = f"arn:{parsed.partition}:iam::{parsed.account}:role/{pieces[1]}"
        return Caller(**common, role_name=pieces[1], principal_arn=role)
    if kind == "role":
        return Caller(**common, role_name=parsed.resource_name, principal_arn=text)
    if kind in ("root", "user", "federated-user"):
        return Caller(**common, principal_arn=text)
    return Caller(**common)


def unique_id_kind(entry: str) -> str | None:
    """``"role"`` or ``"user"`` when ``entry`` is a role's or user's unique id, else ``None``."""
    if UNIQUE_ID.match(entry):
        return UNIQUE_ID_KINDS[entry[:4]]
    return None


def caller_unique_id(caller: Caller, context: Mapping[str, tuple[str, ...]]) -> str | None:
    """The unique id of the role or user behind ``caller``, from ``aws:userid`` (B.4: a
    role session's is ``AROA…:session``, a user's ``AIDA…``); ``None`` when unknown.

    Only the prefix that fits the caller's kind counts, so a request context cannot make a
    user match a role's id or the reverse.
    """
    values = context.get("aws:userid") or ()
    if len(values) != 1:
        return None
    head = values[0].split(":", 1)[0]
    kind = unique_id_kind(head)
    if kind == "role" and caller.kind in ("session", "role"):
        return head
    if kind == "user" and caller.kind == "user" and head == values[0]:
        return head
    return None


class PrincipalMatcher:
    """A ``Principal``/``NotPrincipal`` block compiled into sets, with graded matching.

    Built once per statement: account ids (from ``123456789012`` and ``:root`` entries),
    roles by ``(partition, account, name)``, exact ARNs (users, sessions, federated users),
    unique ids (``AROA…``/``AIDA…``, module doc), federated providers and services
    (case-insensitive names).
    """

    __slots__ = (
        "_cache",
        "accounts",
        "everyone",
        "exact",
        "federated",
        "roles",
        "services",
        "unique_ids",
    )

    def __init__(self, block: PrincipalBlock) -> None:
        self.everyone = block.everyone
        accounts: set[tuple[str, str]] = set()
        roles: set[tuple[str, str, str]] = set()
        exact: set[str] = set()
        unique_ids: set[str] = set()
        for entry in block.aws:
            if arn.is_account_id(entry):
                accounts.add(("*", entry))
                continue
            if UNIQUE_ID.match(entry):
                unique_ids.add(entry)
                continue
            parsed = arn.parse(entry)
            if parsed.resource_type == "root":
                accounts.add((parsed.partition, parsed.account))
            elif parsed.resource_type == "role":
                roles.add((parsed.partition, parsed.account, parsed.resource_name))
            else:
                exact.add(entry)
        self.accounts = frozenset(accounts)
        self.roles = frozenset(roles)
        self.exact = frozenset(exact)
        self.unique_ids = frozenset(unique_ids)
        self.federated = frozenset(e.lower() for e in block.federated)
        self.services = frozenset(e.lower() for e in block.service)
        self._cache: dict[tuple[str, str | None], Grade] = {}

    def grade(self, caller: Caller, unique_id: str | None = None) -> Grade:
        """How specifically this block names ``caller`` (``Grade.NONE`` if it does not).

        ``unique_id`` is the caller's (:func:`caller_unique_id`); only entries that are
        unique ids look at it.
        """
        key = (caller.text, unique_id)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            found = self._cache[key] = self._grade(caller, unique_id)
        return found

    def _grade(self, caller: Caller, unique_id: str | None) -> Grade:
        best = Grade.EVERYONE if self.everyone else Grade.NONE
        kind = caller.kind
        if kind == "service":
            return max(best, Grade.DIRECT if caller.text.lower() in self.services else best)
        if kind in ("web-identity", "saml"):
            return max(best, Grade.DIRECT if caller.text.lower() in self.federated else best)
        if kind == "anonymous" or caller.account is None:
            return best
        if caller.text in self.exact:
            return Grade.DIRECT
        if unique_id is not None and unique_id in self.unique_ids:
            # The id stands for the ARN IAM bound it to: a role's grants to its sessions
            # (ROLE), a user's to the user (DIRECT).
            return max(best, Grade.ROLE if kind in ("session", "role") else Grade.DIRECT)
        role = (caller.partition, caller.account, caller.role_name)
        if kind in ("session", "role") and role in self.roles:
            return max(best, Grade.ROLE)
        if (caller.partition, caller.account) in self.accounts or (
            "*",
            caller.account,
        ) in self.accounts:
            return max(best, Grade.ACCOUNT)
        return best

    def excludes(self, caller: Caller, *, all_levels: bool, unique_id: str | None = None) -> bool:
        """As a NotPrincipal: whether it excludes ``caller``.

        For Deny (``all_levels``) every level of the caller (account, role, session) must be
        listed, as the NotPrincipal doc requires; otherwise the Deny still applies (A.4).
        A unique id lists the role (or user) level of the caller that holds it.
        """
        hits = [self._lists(level, caller, unique_id) for level in caller.levels()]
        return all(hits) if all_levels else any(hits)

    def _lists(self, level: str, caller: Caller, unique_id: str | None) -> bool:
        if level in self.exact:
            return True
        if unique_id is not None and unique_id in self.unique_ids and level == caller.principal_arn:
            return True
        if level.endswith(":root"):
            return (caller.partition, caller.account) in self.accounts or (
                "*",
                caller.account,
            ) in self.accounts
        if ":role/" in level:
            return (caller.partition, caller.account, caller.role_name) in self.roles
        lowered = level.lower()
        return lowered in self.federated or lowered in self.services


_CACHE_LIMIT = 4096
