"""IAM's eventual consistency, as STS, the authorizer and EKS see it (reference H.1).

A change IAM stored (a role created, its trust or identity policies changed, a user
created or its policies changed, an OIDC provider created or its client ids changed, an
access key created) reaches the other services only
:attr:`~kubetrust.sandbox.world_realism.Realism.iam_propagation_seconds` later; meanwhile
they see IAM as it was before the change. IAM's own reads (``GetRole``, ``ListRoles``) are
moto's and stay immediate: IAM reads its own writes.

How: the gate calls :meth:`Propagation.capture` just before moto runs an IAM write (under
its ``moto_lock``) and commits the returned :class:`PendingChange` once moto stored it.
The ledger keeps, per IAM entity, the entity's state *before* each change with the time
the change settles. :class:`Propagation` is then the one view of IAM the other services
read (the directory of :mod:`.identity`, STS, the credential store, EKS): for an entity
with a change not settled yet it answers the state before the oldest such change, else
IAM's state now. With the delay at zero (realism off) nothing is ever recorded and every
read is IAM's own, at the cost of one dictionary lookup.

Not delayed (a choice, easy to extend in :data:`ROLE_WRITES` and the other tables):
deletions (a deleted role, user, key or provider is gone at once: AWS may keep honouring
it for a few seconds, which a script never relies on), tags, a change to a customer
managed policy's default version (it reaches every entity it is attached to), group
membership, and users' permissions boundaries (which the sandbox keeps itself).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from kubetrust import arn as arns
from kubetrust.model.eks import OidcProvider
from kubetrust.sandbox.aws import state

__all__ = [
    "KEY_WRITES",
    "OIDC_WRITES",
    "ROLE_WRITES",
    "USER_WRITES",
    "PendingChange",
    "Propagation",
    "RoleSeen",
]

ROLE_WRITES = frozenset(
    {
        "CreateRole",
        "UpdateAssumeRolePolicy",
        "UpdateRole",
        "PutRolePolicy",
        "DeleteRolePolicy",
        "AttachRolePolicy",
        "DetachRolePolicy",
        "PutRolePermissionsBoundary",
        "DeleteRolePermissionsBoundary",
    }
)
"""IAM writes (form field ``RoleName``) whose effect reaches STS and the authorizer late."""
USER_WRITES = frozenset(
    {"CreateUser", "PutUserPolicy", "DeleteUserPolicy", "AttachUserPolicy", "DetachUserPolicy"}
)
"""IAM writes (form field ``UserName``) on a user's existence or identity policies."""
OIDC_WRITES = frozenset(
    {
        "CreateOpenIDConnectProvider",
        "AddClientIDToOpenIDConnectProvider",
        "RemoveClientIDFromOpenIDConnectProvider",
    }
)
"""IAM writes on an OIDC provider that STS's web-identity check reads."""
KEY_WRITES = frozenset({"CreateAccessKey"})
"""IAM writes that make a new long-term access key."""


@dataclass(frozen=True, slots=True)
class RoleSeen:
    """A role as another service sees it: its facts (trust, ids) and its policies."""

    facts: state.RoleFacts
    identity: tuple[str, ...]
    boundary: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _UserSeen:
    """A user as another service sees it: its own and its groups' identity policies."""

    identity: tuple[str, ...]


_Absent = None
"""The "before" of a creation: the entity did not exist."""


@dataclass(slots=True)
class _Entry:
    settles_at: float
    before: object


class PendingChange:
    """One IAM write's "before", taken before moto ran it; :meth:`commit` once moto stored
    the write starts its propagation delay (a refused write records nothing)."""

    def __init__(self, propagation: Propagation, records: Callable[[], list[tuple[str, object]]]):
        self._propagation = propagation
        self._records = records

    def commit(self) -> None:
        self._propagation.record(self._records())


class Propagation:
    """The view of IAM that the services other than IAM read (module doc)."""

    def __init__(self, delay: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.delay = delay
        self.clock = clock
        self._lock = threading.Lock()
        self._ledger: dict[str, list[_Entry]] = {}

    @property
    def on(self) -> bool:
        return self.delay > 0

    # ------------------------------------------------------------------ recording
    def capture(
        self, operation: str, form: Mapping[str, Sequence[str]], account: str
    ) -> PendingChange | None:
        """The "before" of the IAM write ``operation`` in ``account`` (``None``: nothing of
        it is delayed, or realism is off). Call under the lock that serializes IAM writes,
        before moto runs the write."""
        if not self.on:
            return None
        given = {name: values[0] for name, values in form.items() if values}
        if operation in ROLE_WRITES and given.get("RoleName"):
            key = _role_key(account, given["RoleName"])
            before = _role_now(account, given["RoleName"])
            return PendingChange(self, lambda: [(key, before)])
        if operation in USER_WRITES and given.get("UserName"):
            key = _user_key(account, given["UserName"])
            seen = _user_now(account, given["UserName"])
            return PendingChange(self, lambda: [(key, seen)])
        if operation in OIDC_WRITES:
            return self._capture_provider(operation, given, account)
        if operation in KEY_WRITES:
            keys_before = state.access_key_ids(account)
            return PendingChange(
                self,
                lambda: [
                    (_key_key(k), _Absent) for k in state.access_key_ids(account) - keys_before
                ],
            )
        return None

    def _capture_provider(
        self, operation: str, given: Mapping[str, str], account: str
    ) -> PendingChange | None:
        if operation == "CreateOpenIDConnectProvider":
            url = given.get("Url", "")
        else:
            url = _provider_url(given.get("OpenIDConnectProviderArn", ""))
        if not url:
            return None
        key = _provider_key(account, url)
        before = _provider_now(account, url)
        return PendingChange(self, lambda: [(key, before)])

    def record(self, befores: Sequence[tuple[str, object]]) -> None:
        """Each ``(entity key, state before)`` settles :attr:`delay` seconds from now."""
        settles_at = self.clock() + self.delay
        with self._lock:
            for key, before in befores:
                self._ledger.setdefault(key, []).append(_Entry(settles_at, before))

    def _seen(self, key: str) -> tuple[bool, object]:
        """``(True, before)`` while a change to ``key`` has not settled: the state before
        the oldest unsettled change; ``(False, None)``: IAM's state now is seen."""
        if not self._ledger:  # realism off, or nothing pending: no lock, no clock
            return False, None
        now = self.clock()
        with self._lock:
            entries = self._ledger.get(key)
            if not entries:
                return False, None
            pending = [e for e in entries if e.settles_at > now]
            if pending:
                self._ledger[key] = pending
                return True, pending[0].before
            del self._ledger[key]
            return False, None

    # ------------------------------------------------------------------ roles
    def role(self, account: str, name: str) -> RoleSeen | None:
        """The role ``name`` of ``account`` as the other services see it (``None``: absent
        for them)."""
        pending, before = self._seen(_role_key(account, name))
        if pending:
            return before if isinstance(before, RoleSeen) else None
        return _role_now(account, name)

    def role_by_arn(self, role_arn: str) -> state.RoleFacts | None:
        """:func:`state.role_by_arn`, as the other services see it."""
        found = state.role_by_arn(role_arn)
        return self._visible_facts(found)

    def role_by_id(self, account: str, unique_id: str) -> state.RoleFacts | None:
        """:func:`state.role_by_id`, as the other services see it."""
        return self._visible_facts(state.role_by_id(account, unique_id))

    def _visible_facts(self, found: state.RoleFacts | None) -> state.RoleFacts | None:
        if found is None:
            return None
        seen = self.role(found.account, found.name)
        if seen is None or seen.facts.id != found.id:  # not yet, or an earlier role
            return None
        return seen.facts

    def role_policies(self, account: str, name: str) -> tuple[list[str], list[str]]:
        """:func:`state.role_policies`, as the other services see them (none for a role
        they do not see)."""
        seen = self.role(account, name)
        if seen is None:
            return [], []
        return list(seen.identity), list(seen.boundary)

    # ------------------------------------------------------------------ users
    def user_visible(self, account: str, name: str) -> bool:
        pending, before = self._seen(_user_key(account, name))
        if pending:
            return isinstance(before, _UserSeen)
        return state.user_facts(account, name) is not None

    def user_policies(
        self, account: str, name: str, boundary_arn: str | None
    ) -> tuple[list[str], list[str]]:
        """:func:`state.user_policies`, the identity part as the other services see it;
        the boundary (kept by the sandbox, not delayed) as it is now."""
        identity, boundary = state.user_policies(account, name, boundary_arn)
        pending, before = self._seen(_user_key(account, name))
        if pending:
            identity = list(before.identity) if isinstance(before, _UserSeen) else []
        return identity, boundary

    # ------------------------------------------------------------------ providers, keys
    def oidc_provider(self, account: str, url: str) -> OidcProvider | None:
        """The IAM OIDC provider of ``account`` for ``url`` (with or without scheme), as
        STS sees it."""
        pending, before = self._seen(_provider_key(account, url))
        if pending:
            return before if isinstance(before, OidcProvider) else None
        return _provider_now(account, url)

    def access_key(self, access_key_id: str) -> state.AccessKeyFacts | None:
        """:func:`state.access_key`, unless the key is too new for the other services."""
        pending, _ = self._seen(_key_key(access_key_id))
        return None if pending else state.access_key(access_key_id)

    # ------------------------------------------------------------------ EKS
    def principal_visible(self, principal_arn: str) -> bool:
        """Whether EKS (access entries, pod identity associations) sees the IAM principal
        ``principal_arn`` yet: a role or user IAM holds whose creation has settled."""
        try:
            parsed = arns.parse(principal_arn)
        except Exception:
            return False
        if parsed.resource_type == "role":
            return self.role_by_arn(principal_arn) is not None
        if parsed.resource_type == "user":
            return self.user_visible(parsed.account, parsed.resource_name)
        return False


def _role_key(account: str, name: str) -> str:
    return f"role {account}/{name}"


def _user_key(account: str, name: str) -> str:
    return f"user {account}/{name}"


def _provider_key(account: str, url: str) -> str:
    return f"oidc {account}/{url.removeprefix('https://')}"


def _key_key(access_key_id: str) -> str:
    return f"key {access_key_id}"


def _role_now(account: str, name: str) -> RoleSeen | None:
    facts = state.role(account, name)
    if facts is None:
        return None
    identity, boundary = state.role_policies(account, name)
    return RoleSeen(facts, tuple(identity), tuple(boundary))


def _user_now(account: str, name: str) -> _UserSeen | None:
    if state.user_facts(account, name) is None:
        return None
    identity, _ = state.user_policies(account, name, None)
    return _UserSeen(tuple(identity))


def _provider_now(account: str, url: str) -> OidcProvider | None:
    found = state.oidc_provider(account, url)
    if found is None:
        return None
    return OidcProvider(
        arn=found.arn, account=account, url=found.url, client_ids=tuple(found.client_id_list)
    )


def _provider_url(provider_arn: str) -> str:
    """The URL (no scheme) an OIDC provider ARN names: ``…:oidc-provider/<url>``."""
    return provider_arn.partition(":oidc-provider/")[2]
