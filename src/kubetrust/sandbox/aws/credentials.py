"""The sandbox's credential store: every access key it will honour, and who holds it.

AWS knows each access key: a long-term key (``AKIA…``) belongs to an IAM user; a
temporary key (``ASIA…``) belongs to an STS session, carries a session token, expires, and
remembers how it was made (the role, the session name, session policies, whether it came
from role chaining, source identity and transitive tags, reference B.5/B.6). The gate
looks keys up here to verify signatures, and STS reads them to decide the next hop.

Unknown keys are unknown: the store never invents an identity (moto silently maps unknown
keys to account 123456789012; the sandbox must answer ``InvalidClientTokenId`` instead).
Secrets never appear in ``repr`` or logs.

Long-term keys are not copied here: they are IAM's, and a copy drifts (a key deactivated or
deleted in IAM kept working; a key made by ``iam create-access-key`` never did). The store
asks IAM (:func:`iam_key`, through ``long_term``) each time a long-term key is looked up,
so a key authenticates exactly while IAM lists it ``Active`` for a user that exists. Only
temporary keys, which STS issues and nothing else knows, are kept in the store.

Temporary keys issued from a user's long-term key (GetSessionToken, GetFederationToken)
stay valid until they expire when that key is deactivated or deleted, as in AWS ("temporary
security credentials are valid until they expire"; their permissions are the user's,
evaluated on every request, so deleting the user takes them away: IAM UG, "Disabling
permissions for temporary security credentials").
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import string
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from kubetrust.sandbox.aws import state, wire
from kubetrust.sandbox.aws.propagation import Propagation
from kubetrust.sandbox.aws.sigv4 import SigningKey

_KEY_ALPHABET = string.ascii_uppercase + "234567"

USER = "user"
"""A long-term access key of an IAM user."""
ROLE_SESSION = "assumed-role"
"""AssumeRole / AssumeRoleWithWebIdentity: a role session."""
SESSION_TOKEN = "session-token"
"""GetSessionToken: the IAM user itself, on temporary credentials."""
FEDERATED_USER = "federated-user"
"""GetFederationToken: ``arn:aws:sts::ACCT:federated-user/NAME``."""


@dataclass(frozen=True, slots=True)
class Credential:
    """One access key and the identity behind it."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    account: str
    principal_arn: str
    """The user ARN, or the assumed-role session ARN (no role path, B.5)."""
    user_id: str
    """What GetCallerIdentity returns as ``UserId``: ``AIDA…`` or ``AROA…:session``."""
    session_token: str | None = field(default=None, repr=False)
    expires_at: dt.datetime | None = None
    role_arn: str | None = None
    """For sessions, the role's ARN with its path (what ``aws:PrincipalArn`` holds)."""
    session_name: str | None = None
    session_policies: tuple[str, ...] = ()
    chained: bool = False
    """Issued by AssumeRole to a role session: the next AssumeRole is role chaining."""
    source_identity: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    transitive_tag_keys: tuple[str, ...] = ()
    web_identity: Mapping[str, object] = field(default_factory=dict)
    """For web-identity sessions: provider, subject, audience (for explain and audit)."""
    issued_at: dt.datetime | None = None
    """When STS issued a temporary key (``aws:TokenIssueTime``); ``None`` for long-term keys."""
    kind: str = USER
    """:data:`USER`, :data:`ROLE_SESSION`, :data:`SESSION_TOKEN` or :data:`FEDERATED_USER`."""
    principal_id: str | None = None
    """The unique id (``AIDA…``/``AROA…``) of the IAM user or role whose policies bind this
    key. Policies are found by it, never by name: a principal deleted and created again
    under the same name is another principal, and grants nothing to the old one's keys."""
    mfa_authenticated: bool = False
    """GetSessionToken with a valid MFA code (``aws:MultiFactorAuthPresent``)."""
    mfa_at: dt.datetime | None = None
    """When MFA authenticated the session (``aws:MultiFactorAuthAge`` counts from here;
    a session inheriting MFA from its caller keeps the caller's time)."""

    @property
    def is_session(self) -> bool:
        return self.session_token is not None

    def expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    @property
    def bound_id(self) -> str:
        """:attr:`principal_id`, or for a key made without one the id in ``user_id``."""
        return self.principal_id or self.user_id.split(":", 1)[0]


INVALID_TOKEN = "The security token included in the request is invalid"


def check_service(caller: Credential, service: str) -> None:
    """Refuse what AWS refuses to some temporary keys before any policy is read.

    Keys from GetSessionToken call no IAM API unless MFA was used, and keys from
    GetFederationToken call none at all (STS API reference, GetSessionToken and
    GetFederationToken; IAM UG "Compare STS credentials"). IAM answers
    ``InvalidClientTokenId`` for them, not ``AccessDenied`` (aws/aws-sdk-js#460,
    99designs/aws-vault#1056, cloudyr/aws.iam#15). STS's own limits are in ``services.sts.api``."""
    if service != "iam":
        return
    if caller.kind == FEDERATED_USER or (
        caller.kind == SESSION_TOKEN and not caller.mfa_authenticated
    ):
        raise wire.AwsError("InvalidClientTokenId", INVALID_TOKEN, 403)


def iam_key(access_key_id: str, iam: Propagation | None = None) -> Credential | None:
    """The long-term key ``access_key_id`` as IAM holds it now: ``None`` when IAM has no
    such key, the key is ``Inactive``, or its user is gone (AWS answers all three as an
    unknown key: ``InvalidClientTokenId`` / S3's ``InvalidAccessKeyId``); with ``iam``,
    also while the key is too new to have propagated (reference H.1)."""
    facts = state.access_key(access_key_id) if iam is None else iam.access_key(access_key_id)
    if facts is None or not facts.active:
        return None
    return Credential(
        access_key_id=facts.access_key_id,
        secret_access_key=facts.secret_access_key,
        account=facts.user.account,
        principal_arn=facts.user.arn,
        user_id=facts.user.id,
        principal_id=facts.user.id,
    )


def new_access_key_id(prefix: str) -> str:
    """``AKIA``/``ASIA`` followed by 16 characters, as AWS key ids look."""
    return prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))


def new_secret() -> str:
    return base64.b64encode(secrets.token_bytes(30)).decode("ascii")


def new_session_token() -> str:
    return base64.b64encode(b"kubetrust-sandbox:" + secrets.token_bytes(96)).decode("ascii")


class CredentialStore:
    """Thread-safe map of access key id → :class:`Credential` for temporary keys, in
    front of ``long_term`` (e.g. :func:`iam_key`), which answers for long-term keys."""

    def __init__(self, long_term: Callable[[str], Credential | None] | None = None) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, Credential] = {}
        self._long_term = long_term

    def add(self, credential: Credential) -> Credential:
        """Keep a temporary key; long-term keys belong to ``long_term`` when there is one
        (a copy here would outlive its deactivation in IAM)."""
        if self._long_term is not None and not credential.is_session:
            raise ValueError("long-term keys are IAM's: create them with iam CreateAccessKey")
        with self._lock:
            self._keys[credential.access_key_id] = credential
        return credential

    def get(self, access_key_id: str) -> Credential | None:
        with self._lock:
            found = self._keys.get(access_key_id)
        if found is None and self._long_term is not None:
            return self._long_term(access_key_id)
        return found

    def signing_key(self, access_key_id: str) -> SigningKey | None:
        """The key as the SigV4 verifier needs it (the lookup of ``sigv4.verify``)."""
        found = self.get(access_key_id)
        if found is None:
            return None
        return SigningKey(
            found.access_key_id, found.secret_access_key, found.session_token, found.expires_at
        )

    def remove_expired(self, now: dt.datetime) -> int:
        """Forget sessions that expired more than a day ago (bounded memory)."""
        cutoff = now - dt.timedelta(days=1)
        with self._lock:
            stale = [k for k, c in self._keys.items() if c.expires_at and c.expires_at < cutoff]
            for key in stale:
                del self._keys[key]
        return len(stale)

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()

    def __iter__(self) -> Iterator[Credential]:
        with self._lock:
            return iter(list(self._keys.values()))

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)
