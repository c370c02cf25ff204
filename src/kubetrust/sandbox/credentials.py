"""The sandbox's credential store: every access key it will honour, and who holds it.

AWS knows each access key: a long-term key (``AKIA…``) belongs to an IAM user; a
temporary key (``ASIA…``) belongs to an STS session, carries a session token, expires, and
remembers how it was made (the role, the session name, session policies, whether it came
from role chaining, source identity and transitive tags, reference B.5/B.6). The gate
looks keys up here to verify signatures, and STS reads them to decide the next hop.

Unknown keys are unknown: the store never invents an identity (moto silently maps unknown
keys to account 123456789012; the sandbox must answer ``InvalidClientTokenId`` instead).
Secrets never appear in ``repr`` or logs.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import string
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from kubetrust.sandbox.sigv4 import SigningKey

_KEY_ALPHABET = string.ascii_uppercase + "234567"


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

    @property
    def is_session(self) -> bool:
        return self.session_token is not None

    def expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def new_access_key_id(prefix: str) -> str:
    """``AKIA``/``ASIA`` followed by 16 characters, as AWS key ids look."""
    return prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))


def new_secret() -> str:
    return base64.b64encode(secrets.token_bytes(30)).decode("ascii")


def new_session_token() -> str:
    return base64.b64encode(b"kubetrust-sandbox:" + secrets.token_bytes(96)).decode("ascii")


class CredentialStore:
    """Thread-safe map of access key id → :class:`Credential`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, Credential] = {}

    def add(self, credential: Credential) -> Credential:
        with self._lock:
            self._keys[credential.access_key_id] = credential
        return credential

    def get(self, access_key_id: str) -> Credential | None:
        with self._lock:
            return self._keys.get(access_key_id)

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
