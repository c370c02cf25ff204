"""The EKS access API's values, constants and EKS's texts, the hook's shared state and
lookups, and the REST-JSON wire helpers."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubetrust.model.vocabulary import CONFIG_MAP
from kubetrust.sandbox.aws import sigv4, state, wire
from kubetrust.sandbox.aws.propagation import Propagation
from kubetrust.sandbox.aws.services.eks import lifecycle, timed_cluster
from kubetrust.sandbox.world_realism import Realism

Response = wire.Response
Clock = Callable[[], dt.datetime]

DEFAULT_API_MODE = CONFIG_MAP
"""``authenticationMode`` of a cluster created through the API without one (E.1; botocore
``CreateAccessConfigRequest``: the console's default differs, the API's is ``CONFIG_MAP``)."""

STANDARD = "STANDARD"
NODE_TYPES = frozenset(
    {"EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "HYBRID_LINUX", "EC2", "HYPERPOD_LINUX"}
)
ENTRY_TYPES = NODE_TYPES | {STANDARD}
_POLICY_TYPES = frozenset({STANDARD, "EC2"})
"""Entry types that take access policies (E.4: STANDARD; EKS Auto Mode's EC2 entries carry
``AmazonEKSAutoNodePolicy``)."""
RESERVED_USERNAME_PREFIXES = ("system:", "eks:", "aws:", "amazon:", "iam:")
MAX_TAGS = 50
_MAX_RESULTS = 100

# [seen] texts: where each was reported is named in the docstring of the function using it.
_MODE_REQUIRED = (
    "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] "
    "to perform this operation."
)
ENTRY_IN_USE = "The specified access entry resource is already in use on this cluster."
_ENTRY_NOT_FOUND = (
    "The specified principalArn could not be found. You can view your available access "
    "entries with 'list-access-entries'."
)
INVALID_PRINCIPAL = "The specified principalArn is invalid: invalid principal."
_ONLY_STANDARD = 'This operation can only be performed on Access Entries with a type of "STANDARD".'
ONE_UPDATE = "Only one type of update can be allowed."
BOOTSTRAP_REQUIRED = (
    "bootstrapClusterCreatorAdminPermissions must be true if cluster authentication mode "
    "is set to CONFIG_MAP"
)
UPDATE_IN_PROGRESS = (
    "Cannot {what} because cluster {cluster} currently has update {update} in progress"
)
"""[seen] ``ResourceInUseException`` (409) while an update runs, ``what`` an update type or
an operation: "Cannot EndpointAccessUpdate because cluster … currently has update … in
progress" (aws-controllers-k8s/community#1192), "Cannot AccessConfigUpdate …"
(aws/aws-cdk#33452), "Cannot AssociateIdentityProviderConfig …" (elastic/cloudbeat#3093)."""
NOT_ACTIVE = "Cluster '{cluster}' is not in ACTIVE status"
"""``InvalidRequestException`` (400) for a call that needs an active cluster while it is
``CREATING``: moto's text for ``CreateNodegroup``, which moto's authors took from EKS;
[uncertain] that EKS words it so for access entries, associations, add-ons and updates."""


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Principal:
    """An IAM role or user as EKS binds it: exact ARN (with path) and unique id."""

    arn: str
    id: str
    kind: str
    account: str
    name: str


@dataclass(frozen=True, slots=True)
class AccessScope:
    """``cluster``, or ``namespace`` with the namespaces (wildcards allowed, E.4)."""

    type: str
    namespaces: tuple[str, ...] = ()

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.type, "namespaces": list(self.namespaces)}


@dataclass(frozen=True, slots=True)
class AssociatedPolicy:
    """One access policy on one entry (``AssociatedAccessPolicy``)."""

    policy_arn: str
    scope: AccessScope
    associated_at: float
    modified_at: float

    def to_wire(self) -> dict[str, Any]:
        return {
            "policyArn": self.policy_arn,
            "accessScope": self.scope.to_wire(),
            "associatedAt": self.associated_at,
            "modifiedAt": self.modified_at,
        }


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One access entry, as the Kubernetes side needs it and as the API shows it.

    ``principal_id`` is the IAM unique id at creation (E.3): the entry applies to that
    principal only, not to a later one with the same ARN."""

    cluster: str
    principal_arn: str
    principal_id: str
    arn: str
    type: str
    username: str
    kubernetes_groups: tuple[str, ...]
    created_at: float
    modified_at: float
    tags: Mapping[str, str] = field(default_factory=dict)
    policies: tuple[AssociatedPolicy, ...] = ()
    client_request_token: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "clusterName": self.cluster,
            "principalArn": self.principal_arn,
            "kubernetesGroups": list(self.kubernetes_groups),
            "accessEntryArn": self.arn,
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
            "tags": dict(self.tags),
            "username": self.username,
            "type": self.type,
        }

    def policy(self, policy_arn: str) -> AssociatedPolicy | None:
        return next((p for p in self.policies if p.policy_arn == policy_arn), None)


@dataclass(slots=True)
class ClusterAccess:
    """The access state of one moto cluster object (a recreated cluster starts afresh)."""

    cluster: Any
    published: lifecycle.DelayedView[dict[str, AccessEntry]]
    """The entries as the cluster's authenticator sees them (reference H.2)."""
    creator: Principal | None = None
    entries: dict[str, AccessEntry] = field(default_factory=dict)

    def publish(self, now: float) -> None:
        """The data plane sees the entries as they are now, after EKS's delay."""
        if self.entries != self.published.latest:
            self.published.record(now, dict(self.entries))


@dataclass(frozen=True, slots=True)
class Creation:
    """What a ``CreateCluster`` asked for that moto does not keep."""

    creator: Principal | None
    mode: str
    bootstrap: bool
    asynchronous: bool = False
    """Through ``CreateCluster``: ``CREATING`` first (a world file's cluster is not)."""


@dataclass(frozen=True, slots=True)
class Call:
    """One request's parts, read once: the path labels, query and JSON body."""

    account: str
    region: str
    parts: tuple[str, ...]
    query: Mapping[str, list[str]]
    body: Mapping[str, Any]

    @property
    def cluster(self) -> str:
        return self.parts[1] if len(self.parts) > 1 else ""

    def label(self, index: int) -> str:
        return self.parts[index] if len(self.parts) > index else ""

    def first(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


# --------------------------------------------------------------------------- the hook's state


class AccessState:
    """What the handlers of :class:`~kubetrust.sandbox.aws.services.eks.api.EksExtras` share:
    the access state of the clusters, the clock, and the lookups on them (the handler
    classes :class:`.entries.EntryHandlers`, :class:`.policies.PolicyHandlers` and
    :class:`.modes.ModeHandlers` build on it)."""

    region: str
    clock: Clock
    realism: Realism
    propagation: Propagation
    _lock: threading.RLock
    _access: dict[tuple[str, str, str], ClusterAccess]
    _creations: dict[tuple[str, str, str], Creation]

    # ------------------------------------------------------------------ lookups
    def _state(self, account: str, region: str, name: str, cluster: Any) -> ClusterAccess:
        """The access state of this very cluster object; a cluster deleted and created
        again under the same name starts with none (EKS deletes entries with clusters)."""
        key = (account, region, name)
        access = self._access.get(key)
        if access is None or access.cluster is not cluster:
            access = self._new_access(cluster)
            self._access[key] = access
        return access

    def _new_access(self, cluster: Any) -> ClusterAccess:
        delay = self.realism.eks_propagation_seconds
        return ClusterAccess(cluster, lifecycle.DelayedView(delay, {}))

    def _timeline(self, cluster: Any) -> lifecycle.ClusterTimeline:
        """The cluster's timeline; a cluster not timed yet (made before the hook knew
        it) becomes timed, active since ever."""
        if not isinstance(cluster, timed_cluster.TimedCluster):
            timed_cluster.make_timed(cluster, lifecycle.ClusterTimeline(), self._now)
        return timed_cluster.timeline_of(cluster)

    def _require_active(self, call: Call, cluster: Any) -> None:
        self._timeline(cluster)
        require_active(call, cluster)

    def _require_settled(self, call: Call, cluster: Any, what: str) -> None:
        """Active and no update running, else EKS's refusal (:data:`UPDATE_IN_PROGRESS`)."""
        self._require_active(call, cluster)
        running = self._timeline(cluster).in_progress(self._now())
        if running is not None:
            message = UPDATE_IN_PROGRESS.format(what=what, cluster=call.cluster, update=running.id)
            raise wire.AwsError("ResourceInUseException", message, 409)

    def _existing(self, call: Call) -> ClusterAccess:
        """The named cluster, or moto's own not-found answer ("No cluster found for name:
        X.", which moto's authors took from EKS)."""
        found = state.eks(call.account, call.region).clusters.get(call.cluster)
        if found is None:
            raise wire.AwsError(
                "ResourceNotFoundException", f"No cluster found for name: {call.cluster}.", 404
            )
        return self._state(call.account, call.region, call.cluster, found)

    def _api_cluster(self, call: Call) -> ClusterAccess:
        """The cluster, which must have the access-entry API on ([seen] text:
        terraform-aws-eks#3048, aws-ia/terraform-aws-eks-blueprints#1877,
        upbound/configuration-aws-eks#122 for DescribeAccessEntry)."""
        access = self._existing(call)
        if mode_of(access.cluster) == CONFIG_MAP:
            raise wire.AwsError("InvalidRequestException", _MODE_REQUIRED, 400)
        return access

    def _writable_api_cluster(self, call: Call, operation: str) -> ClusterAccess:
        """:meth:`_api_cluster` for a change of its access entries, which
        :func:`entry_writes_wait_for_updates` may refuse while an update runs."""
        access = self._api_cluster(call)
        if entry_writes_wait_for_updates():
            self._require_settled(call, access.cluster, operation)
        else:
            self._require_active(call, access.cluster)
        return access

    @staticmethod
    def _entry(access: ClusterAccess, principal_arn: str) -> AccessEntry:
        entry = access.entries.get(principal_arn)
        if entry is None:
            raise wire.AwsError("ResourceNotFoundException", _ENTRY_NOT_FOUND, 404)
        return entry

    def _policy_entry(self, access: ClusterAccess, principal_arn: str) -> AccessEntry:
        entry = self._entry(access, principal_arn)
        if entry.type not in _POLICY_TYPES:
            raise invalid(_ONLY_STANDARD)
        return entry

    def _now(self) -> float:
        return self.clock().timestamp()


# --------------------------------------------------------------------------- lifecycle


def require_active(call: Call, cluster: Any) -> None:
    """EKS refuses work on a cluster still ``CREATING`` (:data:`NOT_ACTIVE`)."""
    timeline = timed_cluster.timeline_of(cluster)
    if timeline.creating(timed_cluster.now_of(cluster)):
        raise wire.AwsError("InvalidRequestException", NOT_ACTIVE.format(cluster=call.cluster), 400)


# --------------------------------------------------------------------------- choices


def entry_writes_wait_for_updates() -> bool:
    """Whether EKS refuses an access-entry or access-policy change while a cluster update
    runs. [uncertain] Not documented; EKS refuses other cluster-level work then
    (:data:`UPDATE_IN_PROGRESS`, also for ``AssociateIdentityProviderConfig``, an operation
    rather than an update). The sandbox refuses, so that what survives it survives EKS."""
    return True


# --------------------------------------------------------------------------- validation


def invalid(message: str) -> wire.AwsError:
    """EKS's refusal of a parameter value (``InvalidParameterException``, 400)."""
    return wire.AwsError("InvalidParameterException", message, 400)


# --------------------------------------------------------------------------- wire


def mode_of(cluster: Any) -> str:
    config = getattr(cluster, "access_config", None) or {}
    return str(config.get("authenticationMode") or CONFIG_MAP)


def page(items: list[Any], call: Call) -> tuple[list[Any], str | None]:
    """``maxResults`` (1–100, default 100) and an opaque ``nextToken``."""
    try:
        limit = int(call.first("maxResults") or _MAX_RESULTS)
        start = int(base64.urlsafe_b64decode(call.first("nextToken") or "MA==").decode())
    except ValueError:
        raise invalid("The nextToken or maxResults parameter is not valid.") from None
    if not 1 <= limit <= _MAX_RESULTS or not 0 <= start <= len(items):
        raise invalid("The nextToken or maxResults parameter is not valid.")
    end = start + limit
    token = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], token


def ok(body: Mapping[str, Any]) -> Response:
    data = json.dumps(body).encode("utf-8")
    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id())]
    return 200, headers, data


def request_id() -> str:
    """A fresh ``x-amzn-RequestId`` for an answer of ours."""
    return str(uuid.uuid4())


def region_of(headers: Mapping[str, str], default: str) -> str:
    """The region the request was signed for: moto serves that region's backend."""
    scope = sigv4.claimed_scope(headers, "")
    return scope[2] if len(scope) >= 3 and scope[2] else default
