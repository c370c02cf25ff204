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
from dataclasses import dataclass

from kubetrust import arn, errors
from kubetrust.policy.document import PrincipalBlock

_ACCOUNT_ID = re.compile(r"\d{12}\Z")
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

    @property
    def is_iam(self) -> bool:
        """An IAM identity of an account: SCPs, boundaries and identity policies apply."""
        return self.kind in ("root", "user", "session", "role", "federated-user")

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
    if _ACCOUNT_ID.match(text):
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


def grade(block: PrincipalBlock, caller: Caller) -> Grade:
    """How specifically ``block`` names ``caller`` (``Grade.NONE`` if it does not)."""
    best = Grade.EVERYONE if block.everyone else Grade.NONE
    if caller.kind == "service":
        return max(best, _named(block.service, caller.text))
    if caller.kind in ("web-identity", "saml"):
        return max(best, _named(block.federated, caller.text))
    if caller.kind == "anonymous":
        return best
    for entry in block.aws:
        best = max(best, _aws_entry(entry, caller))
    return best


def _named(entries: tuple[str, ...], text: str) -> Grade:
    lowered = text.lower()
    return Grade.DIRECT if any(e.lower() == lowered for e in entries) else Grade.NONE


def _aws_entry(entry: str, caller: Caller) -> Grade:
    if _ACCOUNT_ID.match(entry):
        return Grade.ACCOUNT if entry == caller.account else Grade.NONE
    parsed = arn.parse(entry)
    if parsed.account != caller.account or parsed.partition != caller.partition:
        return Grade.NONE
    kind = parsed.resource_type
    if kind == "root":
        return Grade.ACCOUNT
    if kind == "role" and caller.kind in ("session", "role"):
        return Grade.ROLE if parsed.resource_name == caller.role_name else Grade.NONE
    if entry == caller.text:
        return Grade.DIRECT
    return Grade.NONE


def excluded(block: PrincipalBlock, caller: Caller, *, all_levels: bool) -> bool:
    """Whether a NotPrincipal ``block`` excludes ``caller``.

    For Deny (``all_levels``) every level of the caller (account, role, session) must be
    listed, as the NotPrincipal doc requires; otherwise the Deny still applies (A.4).
    """
    listed = set(block.aws) | set(block.federated) | set(block.service)
    listed |= {f"arn:{caller.partition}:iam::{e}:root" for e in block.aws if _ACCOUNT_ID.match(e)}
    levels = caller.levels()
    hits = [level in listed for level in levels]
    return all(hits) if all_levels else any(hits)
