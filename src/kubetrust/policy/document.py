"""Policy documents as immutable, normalized values.

A document arrives as a ``dict`` or as JSON text and leaves as a :class:`PolicyDocument`:
every "string or list" element is a tuple, every condition value a tuple of strings, and
every statement keeps its ``Sid`` and its index so that a decision can say which statement
decided (style anchors, habit 1).

Which elements a document may hold depends on its kind (:class:`PolicyKind`); the rules, and
the messages IAM gives when they are broken, live in :mod:`kubetrust.policy.validate`, which
:func:`parse_policy` applies. A malformed document raises
:class:`kubetrust.errors.PolicyParseError` and nothing else.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

StatementEffect = Literal["Allow", "Deny"]
"""A statement's ``Effect``."""


class PolicyKind(enum.Enum):
    """Where a policy is attached; it decides which elements the document may hold."""

    IDENTITY = "identity"
    """Attached to a user, group or role (inline or managed): no Principal."""
    RESOURCE = "resource"
    """Attached to a resource (bucket policy, key policy...): Principal or NotPrincipal."""
    TRUST = "trust"
    """A role's trust policy: Principal, no NotPrincipal, no Resource, sts actions only."""
    SCP = "scp"
    """An Organizations service control policy: limits principals of an account."""
    RCP = "rcp"
    """An Organizations resource control policy: limits resources of an account."""
    BOUNDARY = "boundary"
    """A permissions boundary: a managed policy used as the ceiling of an identity."""
    SESSION = "session"
    """A session policy passed to AssumeRole*/GetFederationToken."""

    __hash__ = object.__hash__
    """Members are singletons compared by identity; ``Enum``'s own hash is Python code
    hashing the name, measurable where every parsed document is looked up by kind."""

    @property
    def label(self) -> str:
        """The phrase AWS uses for this kind in access-denied messages (reference A.3)."""
        return _LABELS[self]


_LABELS = {
    PolicyKind.IDENTITY: "identity-based policy",
    PolicyKind.RESOURCE: "resource-based policy",
    PolicyKind.TRUST: "resource-based policy",
    PolicyKind.SCP: "service control policy",
    PolicyKind.RCP: "resource control policy",
    PolicyKind.BOUNDARY: "permissions boundary",
    PolicyKind.SESSION: "session policy",
}

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"
VALID_VERSIONS = (VERSION_2012, VERSION_2008)


@dataclass(frozen=True, slots=True)
class PrincipalBlock:
    """A ``Principal`` or ``NotPrincipal`` element.

    ``everyone`` is true for ``"*"`` and for ``{"AWS": "*"}`` (reference A.8: the two are
    equivalent and include anonymous callers).
    """

    everyone: bool = False
    aws: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    canonical_user: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``operator → key → values`` entry of a ``Condition`` block.

    ``operator`` is the text as written (``ForAnyValue:StringLikeIfExists``); ``base`` the
    operator without qualifier and ``IfExists`` (``StringLike``); ``qualifier`` is
    ``ForAllValues``, ``ForAnyValue`` or ``None``. Values are strings: JSON booleans become
    ``"true"``/``"false"`` and numbers their decimal text, as IAM stores them.
    """

    operator: str
    base: str
    qualifier: str | None
    if_exists: bool
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement, normalized. Exactly one of each Action/NotAction pair is set;
    Resource/NotResource are both ``None`` only in trust policies; Principal/NotPrincipal
    only in resource, trust and resource-control policies."""

    index: int
    sid: str | None
    effect: StatementEffect
    action: tuple[str, ...] | None = None
    not_action: tuple[str, ...] | None = None
    resource: tuple[str, ...] | None = None
    not_resource: tuple[str, ...] | None = None
    principal: PrincipalBlock | None = None
    not_principal: PrincipalBlock | None = None
    conditions: tuple[Condition, ...] = ()

    @property
    def label(self) -> str:
        """How a reason names this statement: its Sid, else ``Statement[i]``."""
        return self.sid if self.sid else f"Statement[{self.index}]"


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """A parsed, validated policy document of one :class:`PolicyKind`.

    ``version`` is ``None`` when the document has no ``Version`` element; AWS then applies
    the 2008-10-17 language, in which policy variables are literal text (reference A.6).
    """

    kind: PolicyKind
    version: str | None
    id: str | None
    statements: tuple[Statement, ...]

    @property
    def variables_enabled(self) -> bool:
        """Whether ``${...}`` is a policy variable here (only under 2012-10-17)."""
        return self.version == VERSION_2012
