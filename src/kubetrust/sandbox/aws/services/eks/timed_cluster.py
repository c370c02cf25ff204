"""moto's cluster object, made to answer with EKS's timing (reference H.2).

moto fixes a cluster's ``status`` at ``ACTIVE`` and writes every change at once, and moto's
serializer reads the cluster's attributes for ``CreateCluster``, ``DescribeCluster`` and
the rest. :func:`make_timed` turns a stored cluster into a :class:`TimedCluster`, whose
attributes are computed from its :class:`~.lifecycle.ClusterTimeline` when read: the
status (``CREATING``, ``UPDATING``, ``ACTIVE``), no ``endpoint``, CA data or OIDC
``identity`` while ``CREATING`` (EKS shows ``"certificateAuthority": {}`` and no endpoint
until the cluster is active), and the attributes an update changes (authentication mode,
version, logging, VPC config) as they were until the update succeeded. Every reader —
moto's answers, the EKS hook, the Kubernetes side through it — sees the same values.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from moto.eks.models import Cluster

from kubetrust.sandbox.aws.services.eks.lifecycle import ClusterTimeline

__all__ = ["TimedCluster", "make_timed", "now_of", "timeline_of"]

UPDATED_ATTRIBUTES = ("access_config", "version", "logging", "resources_vpc_config")
"""What a cluster update may change (moto's attribute names)."""


def _hidden_while_creating(name: str, shown_instead: Any) -> property:
    """An attribute EKS leaves out of its answers until the cluster is active."""

    def read(self: TimedCluster) -> Any:
        if self.sandbox_timeline.creating(self.sandbox_clock()):
            return shown_instead
        return self.__dict__.get(name)

    def write(self: TimedCluster, value: Any) -> None:
        self.__dict__[name] = value

    return property(read, write)


def _changed_by_updates(name: str) -> property:
    """An attribute an update changes when it succeeds."""

    def read(self: TimedCluster) -> Any:
        base = self.__dict__.get(name)
        return self.sandbox_timeline.effective(name, base, self.sandbox_clock())

    def write(self: TimedCluster, value: Any) -> None:
        self.__dict__[name] = value

    return property(read, write)


def _status_read(self: TimedCluster) -> str:
    return self.sandbox_timeline.status(self.sandbox_clock())


def _status_write(self: TimedCluster, value: str) -> None:
    del value  # moto's constant ACTIVE: the timeline decides


class TimedCluster(Cluster):
    """A moto cluster whose status and updated attributes follow its timeline (module
    doc). Never constructed: :func:`make_timed` re-classes a cluster moto made."""

    sandbox_timeline: ClusterTimeline
    sandbox_clock: Callable[[], float]

    status = property(_status_read, _status_write)
    endpoint = _hidden_while_creating("endpoint", None)
    certificate_authority = _hidden_while_creating("certificate_authority", {})
    identity = _hidden_while_creating("identity", None)
    access_config = _changed_by_updates("access_config")
    version = _changed_by_updates("version")
    logging = _changed_by_updates("logging")
    resources_vpc_config = _changed_by_updates("resources_vpc_config")


def make_timed(cluster: Any, timeline: ClusterTimeline, clock: Callable[[], float]) -> None:
    """Make moto's ``cluster`` follow ``timeline`` read with ``clock`` (epoch seconds).
    Its attributes stay in its ``__dict__`` as moto and the control plane wrote them."""
    cluster.__dict__["sandbox_timeline"] = timeline
    cluster.__dict__["sandbox_clock"] = clock
    cluster.__class__ = TimedCluster


def timeline_of(cluster: Any) -> ClusterTimeline:
    """The cluster's timeline; a cluster the sandbox did not time is active, with no
    updates (a fresh, unattached timeline)."""
    found = getattr(cluster, "sandbox_timeline", None)
    return found if isinstance(found, ClusterTimeline) else ClusterTimeline()


def now_of(cluster: Any) -> float:
    """The time by the cluster's own clock (``inf`` for an untimed cluster: all done)."""
    clock = getattr(cluster, "sandbox_clock", None)
    return float(clock()) if callable(clock) else math.inf
