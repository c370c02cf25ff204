"""Who a verified AWS caller is (the authenticator's ``token.Identity``, D.2) and the two
outcomes of mapping it: the Kubernetes user it becomes, or a denial with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from kubetrust import arn, errors
from kubetrust.chain.access_entries import AccessGrant

UID_PREFIX: Final = "aws-iam-authenticator"


@dataclass(frozen=True, slots=True)
class Caller:
    """A verified AWS caller, as the authenticator's ``token.Identity`` holds it (D.2).

    Build it with :meth:`of` or :meth:`from_caller_identity`, which canonicalize the ARN once,
    at the door; an ARN that is not an IAM user, role, root, session or federated user raises
    :class:`errors.InvalidArnError`, as the authenticator refuses such tokens before mapping.

    ``private_dns_name`` is the EC2 private DNS name of the instance the session name names,
    when the caller of the model knows it (the migration proof's node caller): the
    authenticator looks it up with ``ec2:DescribeInstances`` to render
    ``{{EC2PrivateDNSName}}`` (D.3), which kubetrust does not emulate, so without it that
    template does not render (explain and the sandbox never set it).
    """

    arn: str
    canonical_arn: str
    account: str
    principal_id: str
    session_name: str = ""
    access_key_id: str = ""
    private_dns_name: str = ""

    @classmethod
    def of(
        cls,
        caller_arn: str,
        *,
        account: str,
        principal_id: str,
        session_name: str = "",
        access_key_id: str = "",
        private_dns_name: str = "",
    ) -> Caller:
        """The caller from its parts (``principal_id`` is the ``AROA…``/``AIDA…`` part)."""
        canonical = arn.canonicalize(caller_arn)
        return cls(
            caller_arn,
            canonical,
            account,
            principal_id,
            session_name,
            access_key_id,
            private_dns_name,
        )

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
