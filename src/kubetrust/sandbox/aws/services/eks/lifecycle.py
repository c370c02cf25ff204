"""EKS's asynchronous side as time-based values: a cluster's status and updates, an
add-on's status, and the data plane's delayed view of access entries and associations
(reference H.2).

EKS answers a write before the work is done: ``CreateCluster`` answers ``CREATING``,
``UpdateClusterConfig``/``UpdateClusterVersion`` answer an update ``InProgress`` with the
cluster ``UPDATING``, ``CreateAddon`` answers ``CREATING``, and an access entry or a Pod
Identity association reaches the data plane (the cluster's authenticator, EKS Auth, the
webhook) a little after the API answered. The sandbox needs no background work for any of
it: each value here is computed from the time of the question (``now``, epoch seconds of
the EKS hook's clock), so a status is always what the clock says, whoever asks, and with
every delay at zero (realism off) everything is done at the moment it is asked for.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = [
    "ACTIVE",
    "CREATING",
    "IN_PROGRESS",
    "SUCCESSFUL",
    "UPDATING",
    "ClusterTimeline",
    "DelayedView",
    "PlannedUpdate",
    "Update",
    "addon_status",
]

CREATING = "CREATING"
ACTIVE = "ACTIVE"
UPDATING = "UPDATING"
IN_PROGRESS = "InProgress"
SUCCESSFUL = "Successful"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PlannedUpdate:
    """An update a request asks for, validated, before it starts: its type, its params
    (botocore's ``UpdateParam`` pairs) and what it changes at its end."""

    type: str
    params: tuple[tuple[str, str], ...]
    changes: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Update:
    """One cluster update (botocore's ``Update`` shape) and what it changes at its end.

    ``changes`` maps an attribute of the cluster (moto's name: ``access_config``,
    ``version``, ``logging``, ``resources_vpc_config``) to its value once the update
    succeeded: until ``done_at`` the cluster shows the value it had before."""

    id: str
    type: str
    params: tuple[tuple[str, str], ...]
    created_at: float
    done_at: float
    changes: Mapping[str, Any] = field(default_factory=dict)

    def status(self, now: float) -> str:
        return IN_PROGRESS if now < self.done_at else SUCCESSFUL

    def to_wire(self, status: str) -> dict[str, Any]:
        """botocore's ``Update`` with ``status`` (:meth:`status`; a write's own answer
        says ``InProgress`` whatever the delay, as EKS's does)."""
        return {
            "id": self.id,
            "status": status,
            "type": self.type,
            "params": [{"type": kind, "value": value} for kind, value in self.params],
            "createdAt": self.created_at,
            "errors": [],
        }


@dataclass(slots=True)
class ClusterTimeline:
    """A cluster's status over time: ``CREATING`` until ``active_at``, then ``UPDATING``
    while one of its updates is in progress, else ``ACTIVE``."""

    active_at: float = -math.inf
    updates: list[Update] = field(default_factory=list)

    def status(self, now: float) -> str:
        if now < self.active_at:
            return CREATING
        return UPDATING if self.in_progress(now) is not None else ACTIVE

    def creating(self, now: float) -> bool:
        return now < self.active_at

    def in_progress(self, now: float) -> Update | None:
        """The update still running at ``now`` (EKS runs one at a time)."""
        return next((u for u in self.updates if u.status(now) == IN_PROGRESS), None)

    def find(self, update_id: str) -> Update | None:
        return next((u for u in self.updates if u.id == update_id), None)

    def effective(self, attribute: str, base: Any, now: float) -> Any:
        """``attribute``'s value at ``now``: the last finished update's that changed it,
        else ``base`` (the value the cluster was created with)."""
        value = base
        for update in self.updates:
            if attribute in update.changes and update.status(now) == SUCCESSFUL:
                value = update.changes[attribute]
        return value


def addon_status(created_at: float, creation_seconds: float, now: float) -> str:
    """An add-on is ``CREATING`` for ``creation_seconds`` after it was created."""
    return CREATING if now < created_at + creation_seconds else ACTIVE


class DelayedView(Generic[T]):
    """What a reader ``delay`` seconds behind the writer sees: the last value recorded at
    least ``delay`` seconds before the question (``initial`` before any). The data plane's
    view of access entries and associations: EKS's own API reads its writes at once, the
    authenticator, EKS Auth and the webhook a little later (reference H.2)."""

    def __init__(self, delay: float, initial: T) -> None:
        self.delay = delay
        self._history: list[tuple[float, T]] = [(-math.inf, initial)]

    @property
    def latest(self) -> T:
        return self._history[-1][1]

    def record(self, now: float, value: T) -> None:
        """``value`` is the writer's state from ``now`` on; history no reader can reach
        any more is dropped."""
        self._history.append((now, value))
        horizon = now - self.delay
        while len(self._history) > 1 and self._history[1][0] <= horizon:
            del self._history[0]

    def seen(self, now: float) -> T:
        horizon = now - self.delay
        found = self._history[0][1]
        for written_at, value in self._history:
            if written_at > horizon:
                break
            found = value
        return found
