"""What handlers share while planning (:class:`Observer`) and applying (:class:`Context`).

The observer caches reads (a role is read once per plan, though three resources look at
it); the context carries the apply options, the per-cluster locks that serialize edits of
one aws-auth ConfigMap by several targets' threads, and the callers' identities that guard
against a change removing the caller's own access.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from kubetrust import arn, errors
from kubetrust.provision import eventual
from kubetrust.provision.changes import Change
from kubetrust.provision.ports import LiveRole, Ports
from kubetrust.provision.resources import MANAGED_BY_TAG, MANAGER, SPEC_TAG, Item


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Observer:
    ports: Ports
    spec_name: str
    _roles: dict[tuple[str, str], LiveRole | None] = field(default_factory=dict)

    def role(self, account: str, name: str) -> LiveRole | None:
        key = (account, name)
        if key not in self._roles:
            self._roles[key] = self.ports.aws(account).get_role(name)
        return self._roles[key]


@dataclass
class Context:
    ports: Ports
    spec_name: str
    backup_dir: Path | None = None
    clock: Callable[[], dt.datetime] = utcnow
    sleep: Callable[[float], None] = time.sleep
    """How apply waits before retrying (tests pass one that does not)."""
    progress: Callable[[str], None] = lambda line: None
    """Where waits are told while they last (the CLI: stderr)."""
    propagation_seconds: float = eventual.IAM_PROPAGATION_SECONDS
    """How long one write waits for EKS to see a role IAM has just changed."""
    jitter: Callable[[float], float] = eventual.full_jitter
    backups: list[Path] = field(default_factory=list)
    association_written: dt.datetime | None = None
    """When this apply last created or changed a Pod Identity association (apply lets it
    settle before returning: :data:`~kubetrust.provision.eventual.ASSOCIATION_SETTLE_SECONDS`)."""
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _callers: dict[str, str] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def budget(self) -> eventual.Budget:
        """A fresh wait budget for one write (:mod:`kubetrust.provision.eventual`)."""
        return eventual.Budget(self.propagation_seconds, sleep=self.sleep, jitter=self.jitter)

    def note_association_written(self) -> None:
        """An association was just created or changed (see :attr:`association_written`)."""
        with self._guard:
            self.association_written = self.clock()

    def lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def caller(self, account: str) -> str:
        """The canonical ARN of whoever kubetrust acts as in ``account`` (a role session
        becomes its role, as aws-auth and access entries see it)."""
        with self._guard:
            known = self._callers.get(account)
        if known is None:
            raw = self.ports.aws(account).caller_arn()
            try:
                known = arn.canonicalize(raw)
            except errors.KubetrustError:  # an unusual caller ARN: compare it as it is
                known = raw
            with self._guard:
                self._callers[account] = known
        return known


class Handler(Protocol):
    """Plans and applies one kind of resource."""

    def observe(self, item: Item, observer: Observer) -> Change: ...

    def observe_destroy(self, item: Item, observer: Observer) -> Change | None: ...

    def execute(self, change: Change, context: Context) -> int:
        """Make the change; return how many writes it took."""
        ...


def ownership(tags: Mapping[str, str], spec_name: str) -> str:
    """``"this"`` (made by this spec), ``"other"`` (by another kubetrust spec) or
    ``"foreign"`` (not by kubetrust)."""
    if tags.get(MANAGED_BY_TAG) != MANAGER:
        return "foreign"
    return "this" if tags.get(SPEC_TAG) == spec_name else "other"


def missing_tags(desired: Mapping[str, str], live: Mapping[str, str]) -> dict[str, str]:
    """The desired tags that are absent or different live (foreign tags are left alone)."""
    return {key: value for key, value in desired.items() if live.get(key) != value}
