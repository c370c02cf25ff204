"""Amazon Resource Names: parse, format, and canonicalize.

An ARN is ``arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE``; the resource part may itself
contain colons (``arn:aws:logs:us-east-1:111122223333:log-group:g:log-stream:s``), so only the
first five colons split (semantics reference A.9).

:func:`canonicalize` maps an assumed-role *session* ARN to the ARN of its *role*, as
aws-iam-authenticator's ``arn.Canonicalize`` does before it looks a caller up in aws-auth
(reference D.3): ``arn:aws:sts::111122223333:assumed-role/ci/s1`` becomes
``arn:aws:iam::111122223333:role/ci``. The role path is lost in a session ARN (B.5), so the
canonical form never carries one.

This module refuses to guess: anything that is not an ARN raises :class:`InvalidArnError`
with the reason, never a bare ``ValueError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from kubetrust import errors

PARTITIONS = frozenset(
    {
        "aws",
        "aws-cn",
        "aws-us-gov",
        "aws-iso",
        "aws-iso-b",
        "aws-iso-e",
        "aws-iso-f",
        "aws-eusc",
    }
)
"""The partitions AWS documents; an ARN in any other partition is rejected."""

_SERVICE = re.compile(r"[a-z0-9][a-z0-9.\-]*\Z")
_REGION = re.compile(r"([a-z0-9\-]*)\Z")
ACCOUNT_ID: Final = re.compile(r"[0-9]{12}")
"""An AWS account id: exactly 12 ASCII digits, leading zeros included (match it whole, with
``fullmatch``). Defined here, the lowest layer that reads account ids; every other module
uses this one (or :func:`is_account_id`)."""
_ACCOUNT = re.compile(rf"({ACCOUNT_ID.pattern}|aws|)\Z")
MAX_ARN_LENGTH = 2048


@dataclass(frozen=True, slots=True)
class Arn:
    """A parsed ARN. ``str(arn)`` gives back the exact text it was parsed from."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, text: str) -> Arn:
        """Parse ``text``; raise :class:`errors.InvalidArnError` saying what is wrong."""
        return parse(text)

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"

    @property
    def resource_type(self) -> str:
        """The resource part up to the first ``/`` or ``:`` (``role``, ``assumed-role``)."""
        return re.split(r"[/:]", self.resource, maxsplit=1)[0]

    @property
    def resource_name(self) -> str:
        """The last ``/``-separated component of the resource (a role or user name, no path)."""
        return self.resource.rsplit("/", 1)[-1]

    @property
    def path(self) -> str:
        """For IAM users and roles, the path between the type and the name (``/`` if none)."""
        parts = self.resource.split("/")
        if len(parts) <= 2:
            return "/"
        return "/" + "/".join(parts[1:-1]) + "/"

    def canonical(self) -> Arn:
        """This ARN with an assumed-role session replaced by its role (see module doc)."""
        return parse(canonicalize(str(self)))


def is_account_id(text: str) -> bool:
    """Whether ``text`` is an AWS account id (:data:`ACCOUNT_ID`, all of it)."""
    return ACCOUNT_ID.fullmatch(text) is not None


def parse(text: object) -> Arn:
    """Parse an ARN, checking each of the five fixed fields.

    The account may be empty (S3 buckets), twelve digits, or ``aws`` (AWS managed policies,
    ``arn:aws:iam::aws:policy/...``).
    """
    if not isinstance(text, str):
        raise errors.InvalidArnError(repr(text), "an ARN must be a string")
    if len(text) > MAX_ARN_LENGTH:
        raise errors.InvalidArnError(text, f"longer than {MAX_ARN_LENGTH} characters")
    parts = text.split(":", 5)
    if len(parts) != 6:
        raise errors.InvalidArnError(
            text, "expected arn:partition:service:region:account:resource (six fields)"
        )
    prefix, partition, service, region, account, resource = parts
    if prefix != "arn":
        raise errors.InvalidArnError(text, "must start with `arn:`")
    if partition not in PARTITIONS:
        raise errors.InvalidArnError(text, f"unknown partition `{partition}`")
    if not _SERVICE.match(service):
        raise errors.InvalidArnError(text, f"invalid service `{service}`")
    if not _REGION.match(region):
        raise errors.InvalidArnError(text, f"invalid region `{region}`")
    if not _ACCOUNT.match(account):
        raise errors.InvalidArnError(text, f"account `{account}` is not 12 digits")
    if not resource:
        raise errors.InvalidArnError(text, "the resource part is empty")
    return Arn(partition, service, region, account, resource)


def canonicalize(text: str) -> str:
    """Return the canonical principal ARN for an IAM or STS principal ARN.

    - ``sts`` ``assumed-role/ROLE/SESSION`` → ``iam`` ``role/ROLE`` (no path, see B.5);
    - ``sts`` ``federated-user/NAME`` and ``iam`` ``role/…``, ``user/…``, ``root`` are
      returned unchanged;
    - anything else raises :class:`errors.InvalidArnError` (the authenticator rejects them
      too: it maps only users, roles, sessions and federated users).
    """
    arn = parse(text)
    kind = arn.resource_type
    if arn.service == "sts":
        if kind == "assumed-role":
            pieces = arn.resource.split("/")
            if len(pieces) < 3 or not pieces[1] or not pieces[-1]:
                raise errors.InvalidArnError(
                    text, "an assumed-role ARN needs `assumed-role/ROLE/SESSION`"
                )
            return f"arn:{arn.partition}:iam::{arn.account}:role/{pieces[1]}"
        if kind == "federated-user":
            return text
        raise errors.InvalidArnError(text, f"unrecognized resource `{kind}` for service sts")
    if arn.service == "iam" and kind in ("role", "user", "root"):
        return text
    raise errors.InvalidArnError(text, "not an IAM user, role, root or STS session ARN")


def format_arn(
    *, partition: str = "aws", service: str, region: str = "", account: str, resource: str
) -> str:
    """Build an ARN string from its fields, validating the result."""
    text = f"arn:{partition}:{service}:{region}:{account}:{resource}"
    parse(text)
    return text


def role_arn(account: str, name: str, *, path: str = "/", partition: str = "aws") -> str:
    """The ARN of IAM role ``name`` in ``account`` (``path`` as IAM stores it, ``/…/``)."""
    return format_arn(
        partition=partition, service="iam", account=account, resource=f"role{path}{name}"
    )


def assumed_role_arn(account: str, role_name: str, session: str, *, partition: str = "aws") -> str:
    """The ARN STS gives a session of role ``role_name`` (never with the role's path)."""
    return format_arn(
        partition=partition,
        service="sts",
        account=account,
        resource=f"assumed-role/{role_name}/{session}",
    )


def partition_of_region(region: str) -> str:
    """The partition whose ARNs a region's resources carry (``cn-north-1`` → ``aws-cn``)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"
