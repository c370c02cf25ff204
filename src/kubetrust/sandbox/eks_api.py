"""EKS access entries, access policies and authentication modes: what moto does not emulate.

moto answers 404 for every access-entry route and ignores ``accessConfig`` (probe
findings). :class:`EksExtras` is the gate's ``extras`` hook: the gate has already
authenticated the caller and authorized the IAM action, so this module implements only
the API's own semantics (reference E), in EKS's REST-JSON wire format (botocore's output
shapes; timestamps as epoch seconds), with EKS's error codes:

- ``CreateAccessEntry``, ``DescribeAccessEntry``, ``ListAccessEntries``,
  ``UpdateAccessEntry``, ``DeleteAccessEntry``: entries per cluster keyed by the principal's
  exact ARN (path kept, E.2); the principal must exist in IAM, and its unique id (``AROA…``,
  ``AIDA…``) is stored with the entry (E.3) so that a deleted and recreated principal no
  longer matches (:func:`resolve`);
- ``AssociateAccessPolicy``, ``DisassociateAccessPolicy``, ``ListAssociatedAccessPolicies``,
  ``ListAccessPolicies``: EKS's managed access policies (E.4);
- ``UpdateClusterConfig`` with ``accessConfig``: the one-way ``CONFIG_MAP`` →
  ``API_AND_CONFIG_MAP`` → ``API`` changes (E.1), reflected by moto's ``DescribeCluster``
  through the cluster's ``access_config``; ``DescribeUpdate`` for those updates;
- ``CreateCluster``: its ``accessConfig`` (default ``CONFIG_MAP`` through the API, E.1)
  and its caller, the creator, who gets an admin access entry when
  ``bootstrapClusterCreatorAdminPermissions`` is true and the API mode is on
  (through :func:`kubetrust.sandbox.clusters.set_creation_listener`).

Error texts quoted from EKS answers seen in public issue reports are marked *[seen]* at
their constant; the others are the sandbox's own wording, marked *[sandbox]*.

Not emulated: tag APIs on access-entry ARNs, ``ListUpdates``, eventual consistency, the
cluster's ``UPDATING`` status during an authentication-mode change.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from kubetrust import arn as arns
from kubetrust import policy
from kubetrust.sandbox import clusters, credentials, gate, operations, state, wire

Response = wire.Response
Clock = Callable[[], dt.datetime]

CONFIG_MAP, API_AND_CONFIG_MAP, API = "CONFIG_MAP", "API_AND_CONFIG_MAP", "API"
MODES = (CONFIG_MAP, API_AND_CONFIG_MAP, API)
DEFAULT_API_MODE = CONFIG_MAP
"""``authenticationMode`` of a cluster created through the API without one (E.1; botocore
``CreateAccessConfigRequest``: the console's default differs, the API's is ``CONFIG_MAP``)."""
_NEXT_MODE = {CONFIG_MAP: API_AND_CONFIG_MAP, API_AND_CONFIG_MAP: API}

STANDARD = "STANDARD"
NODE_TYPES = frozenset(
    {"EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "HYBRID_LINUX", "EC2", "HYPERPOD_LINUX"}
)
ENTRY_TYPES = NODE_TYPES | {STANDARD}
_POLICY_TYPES = frozenset({STANDARD, "EC2"})
"""Entry types that take access policies (E.4: STANDARD; EKS Auto Mode's EC2 entries carry
``AmazonEKSAutoNodePolicy``)."""
_RESERVED_USERNAME_PREFIXES = ("system:", "eks:", "aws:", "amazon:", "iam:")
_MAX_TAGS = 50
_MAX_RESULTS = 100

ACCESS_POLICY_NAMES: tuple[str, ...] = (
    "AIDevOpsAgentAccessPolicy",
    "AmazonAIOpsAssistantPolicy",
    "AmazonARCRegionSwitchScalingPolicy",
    "AmazonEKSACKPolicy",
    "AmazonEKSAdminPolicy",
    "AmazonEKSAdminViewPolicy",
    "AmazonEKSArgoCDClusterPolicy",
    "AmazonEKSArgoCDPolicy",
    "AmazonEKSAutoNodePolicy",
    "AmazonEKSBlockStorageClusterPolicy",
    "AmazonEKSBlockStoragePolicy",
    "AmazonEKSClusterAdminPolicy",
    "AmazonEKSComputeClusterPolicy",
    "AmazonEKSComputePolicy",
    "AmazonEKSEditPolicy",
    "AmazonEKSEventPolicy",
    "AmazonEKSHybridPolicy",
    "AmazonEKSKROPolicy",
    "AmazonEKSLoadBalancingClusterPolicy",
    "AmazonEKSLoadBalancingPolicy",
    "AmazonEKSNetworkingClusterPolicy",
    "AmazonEKSNetworkingPolicy",
    "AmazonEKSPodIdentityPolicy",
    "AmazonEKSSecretAdminPolicy",
    "AmazonEKSSecretReaderPolicy",
    "AmazonEKSViewPolicy",
    "AmazonEMRJobPolicy",
    "AmazonSagemakerHyperpodClusterPolicy",
    "AmazonSagemakerHyperpodControllerPolicy",
    "AmazonSagemakerHyperpodSpacePolicy",
    "AmazonSagemakerHyperpodSpaceTemplatePolicy",
    "AmazonSagemakerHyperpodSystemNamespacePolicy",
    "AmazonSagemakerHyperpodUserClusterPolicy",
)
"""What ``aws eks list-access-policies`` returns (a published listing of 2026; the EKS User
Guide's "Review access policy permissions" page shows the same, abbreviated), in its order."""
POLICY_ARN_PREFIX = "arn:aws:eks::aws:cluster-access-policy/"
CLUSTER_ADMIN_POLICY = POLICY_ARN_PREFIX + "AmazonEKSClusterAdminPolicy"

# [seen] texts: where each was reported is named in the docstring of the function using it.
_MODE_REQUIRED = (
    "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] "
    "to perform this operation."
)
_ENTRY_IN_USE = "The specified access entry resource is already in use on this cluster."
_ENTRY_NOT_FOUND = (
    "The specified principalArn could not be found. You can view your available access "
    "entries with 'list-access-entries'."
)
_INVALID_PRINCIPAL = "The specified principalArn is invalid: invalid principal."
_ONLY_STANDARD = 'This operation can only be performed on Access Entries with a type of "STANDARD".'
_ONE_UPDATE = "Only one type of update can be allowed."
_BOOTSTRAP_REQUIRED = (
    "bootstrapClusterCreatorAdminPermissions must be true if cluster authentication mode "
    "is set to CONFIG_MAP"
)


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
class _ClusterAccess:
    """The access state of one moto cluster object (a recreated cluster starts afresh)."""

    cluster: Any
    creator: Principal | None = None
    entries: dict[str, AccessEntry] = field(default_factory=dict)
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Creation:
    """What a ``CreateCluster`` asked for that moto does not keep."""

    creator: Principal | None
    mode: str
    bootstrap: bool


@dataclass(frozen=True, slots=True)
class _Call:
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


# --------------------------------------------------------------------------- module API

_current: list[EksExtras] = []
"""The sandbox's live hook (one per process, like moto's state), for :func:`resolve`."""
_current_lock = threading.Lock()


def resolve(
    account: str, region: str, cluster: str, principal_arn: str, principal_id: str
) -> AccessEntry | None:
    """The access entry that maps a caller to a Kubernetes identity, or ``None``.

    For the sandbox's Kubernetes side. ``principal_arn`` may be the entry's exact ARN or
    the canonical (path-less) role ARN the authenticator derives from a session;
    ``principal_id`` is the IAM unique id, bare or as STS ``UserId`` (``AROA…:session``).
    ``None`` when the cluster is unknown or in ``CONFIG_MAP`` mode, or when the entry was
    made for another principal with the same ARN (E.3: deleted and recreated)."""
    with _current_lock:
        live = list(_current)
    if not live:
        return None
    return live[0].resolve(account, region, cluster, principal_arn, principal_id)


def authentication_mode(account: str, region: str, cluster: str) -> str | None:
    """The cluster's authentication mode (``None`` for an unknown cluster), so that the
    Kubernetes side knows whether aws-auth, access entries or both apply (E.1)."""
    found = state.eks(account, region).clusters.get(cluster)
    return None if found is None else _mode_of(found)


# --------------------------------------------------------------------------- the hook


class EksExtras:
    """The gate's ``extras`` hook for EKS (module doc). Thread-safe; state in memory."""

    def __init__(self, region: str, clock: Clock | None = None) -> None:
        self.region = region
        self.clock: Clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self._lock = threading.RLock()
        self._access: dict[tuple[str, str, str], _ClusterAccess] = {}
        self._creations: dict[tuple[str, str, str], _Creation] = {}
        self._handlers: dict[str, Callable[[credentials.Credential, _Call], Response | None]] = {
            "CreateCluster": self._create_cluster,
            "UpdateClusterConfig": self._update_cluster_config,
            "DescribeUpdate": self._describe_update,
            "CreateAccessEntry": self._create_entry,
            "DescribeAccessEntry": self._describe_entry,
            "ListAccessEntries": self._list_entries,
            "UpdateAccessEntry": self._update_entry,
            "DeleteAccessEntry": self._delete_entry,
            "AssociateAccessPolicy": self._associate,
            "DisassociateAccessPolicy": self._disassociate,
            "ListAssociatedAccessPolicies": self._list_associated,
            "ListAccessPolicies": self._list_policies,
        }
        clusters.set_creation_listener(self.cluster_created)
        with _current_lock:
            _current[:] = [self]

    def __call__(
        self,
        caller: credentials.Credential,
        op: operations.Operation,
        request: gate.RawRequest,
    ) -> Response | None:
        """Answer ``op`` if it is one of ours, else ``None`` (moto answers it)."""
        handler = self._handlers.get(op.name) if op.service == "eks" else None
        if handler is None:
            return None
        call = self._call(caller, request)
        try:
            with self._lock:
                return handler(caller, call)
        except wire.AwsError as refusal:
            return wire.render_error("rest-json", refusal, _request_id())

    def _call(self, caller: credentials.Credential, request: gate.RawRequest) -> _Call:
        """Path labels split before decoding: a principal ARN's ``%2F`` stays in its label."""
        parts = tuple(unquote(p) for p in request.raw_path.split("/") if p)
        try:
            parsed = json.loads(request.body) if request.body else {}
        except ValueError:
            parsed = {}
        body = parsed if isinstance(parsed, dict) else {}
        query = parse_qs(request.raw_query, keep_blank_values=True)
        return _Call(caller.account, _region_of(request.headers, self.region), parts, query, body)

    # ------------------------------------------------------------------ Kubernetes side
    def resolve(
        self, account: str, region: str, cluster: str, principal_arn: str, principal_id: str
    ) -> AccessEntry | None:
        """See the module-level :func:`resolve`."""
        unique_id = principal_id.split(":", 1)[0]
        with self._lock:
            found = state.eks(account, region).clusters.get(cluster)
            if found is None or _mode_of(found) == CONFIG_MAP:
                return None
            access = self._state(account, region, cluster, found)
            for entry in access.entries.values():
                if entry.principal_id != unique_id:
                    continue
                if principal_arn in (entry.principal_arn, _strip_path(entry.principal_arn)):
                    return entry
        return None

    # ------------------------------------------------------------------ clusters
    def _create_cluster(self, caller: credentials.Credential, call: _Call) -> Response | None:
        """Validate ``accessConfig`` (EKS refuses ``CONFIG_MAP`` without the creator's
        admin, [seen] terraform-aws-eks#3026/#3206) and remember it with the caller for
        :meth:`cluster_created`; moto then creates the cluster."""
        raw = call.body.get("accessConfig")
        config = raw if isinstance(raw, Mapping) else {}
        mode = config.get("authenticationMode") or DEFAULT_API_MODE
        bootstrap = config.get("bootstrapClusterCreatorAdminPermissions")
        bootstrap = True if bootstrap is None else bool(bootstrap)
        if mode not in MODES:
            raise _invalid(f"The authenticationMode {mode} is not valid. Valid values: {MODES}")
        if mode == CONFIG_MAP and not bootstrap:
            raise _invalid(_BOOTSTRAP_REQUIRED)
        _check_service_role(call.body.get("roleArn"))
        name = str(call.body.get("name") or "")
        key = (call.account, call.region, name)
        if name and name not in state.eks(call.account, call.region).clusters:
            self._creations[key] = _Creation(_caller_principal(caller), str(mode), bootstrap)
        return None

    def cluster_created(self, backend: Any, cluster: Any) -> None:
        """Creation listener: give a new cluster the requested access config and, when
        the API mode is on and bootstrap asked for it, the creator's admin entry (E.1).
        A cluster made without a ``CreateCluster`` through the gate keeps the defaults
        :func:`clusters.decorate` gave it and has no known creator."""
        key = (str(backend.account_id), str(backend.region_name), str(cluster.name))
        with self._lock:
            creation = self._creations.pop(key, None)
            access = _ClusterAccess(cluster)
            self._access[key] = access
            if creation is None:
                return
            access.creator = creation.creator
            cluster.access_config = {
                "authenticationMode": creation.mode,
                "bootstrapClusterCreatorAdminPermissions": creation.bootstrap,
            }
            if creation.mode != CONFIG_MAP:
                self._bootstrap_creator(key[0], key[1], access)

    def _bootstrap_creator(self, account: str, region: str, access: _ClusterAccess) -> None:
        """The creator's entry: STANDARD, default username, ``AmazonEKSClusterAdminPolicy``
        on the whole cluster (E.1). Made when the API mode first becomes available."""
        config = getattr(access.cluster, "access_config", None) or {}
        creator = access.creator
        if creator is None or not config.get("bootstrapClusterCreatorAdminPermissions", True):
            return
        if creator.arn in access.entries:
            return
        now = self._now()
        entry = self._new_entry(account, region, str(access.cluster.name), creator, STANDARD, now)
        admin = AssociatedPolicy(CLUSTER_ADMIN_POLICY, AccessScope("cluster"), now, now)
        access.entries[creator.arn] = dataclasses.replace(entry, policies=(admin,))

    def _update_cluster_config(
        self, _caller: credentials.Credential, call: _Call
    ) -> Response | None:
        """``accessConfig.authenticationMode`` changes, one way only (E.1). EKS's texts:
        "Only one type of update can be allowed." ([seen]
        kubernetes-sigs/cluster-api-provider-aws#3553, boto/boto3#2592) and "Unsupported
        authentication mode update from X to Y" ([seen] pulumi/pulumi-eks#1493,
        aws/aws-cdk#31032, also for X = Y). Other updates are moto's."""
        raw = call.body.get("accessConfig")
        if raw is None:
            return None
        others = [k for k, v in call.body.items() if k not in _NOT_UPDATES and v is not None]
        if others:
            raise _invalid(_ONE_UPDATE)
        access = self._existing(call)
        config = raw if isinstance(raw, Mapping) else {}
        wanted = config.get("authenticationMode")
        if wanted not in MODES:
            raise _invalid(f"The authenticationMode {wanted} is not valid. Valid values: {MODES}")
        current = _mode_of(access.cluster)
        if _NEXT_MODE.get(current) != wanted:
            raise _invalid(f"Unsupported authentication mode update from {current} to {wanted}")
        previous = getattr(access.cluster, "access_config", None) or {}
        access.cluster.access_config = {**previous, "authenticationMode": wanted}
        if current == CONFIG_MAP:
            self._bootstrap_creator(call.account, call.region, access)
        update_id = str(uuid.uuid4())
        update: dict[str, Any] = {
            "id": update_id,
            "status": "InProgress",
            "type": "AccessConfigUpdate",
            "params": [{"type": "AuthenticationMode", "value": wanted}],
            "createdAt": self._now(),
            "errors": [],
        }
        access.updates[update_id] = update
        return _ok({"update": update})

    def _describe_update(self, _caller: credentials.Credential, call: _Call) -> Response | None:
        """Our access-config updates, done by the time anyone asks; others are moto's."""
        if any(call.first(k) for k in ("nodegroupName", "addonName", "capabilityName")):
            return None
        found = state.eks(call.account, call.region).clusters.get(call.cluster)
        if found is None:
            return None
        access = self._state(call.account, call.region, call.cluster, found)
        update = access.updates.get(call.label(3))
        if update is None:
            return None
        return _ok({"update": {**update, "status": "Successful"}})

    # ------------------------------------------------------------------ access entries
    def _create_entry(self, _caller: credentials.Credential, call: _Call) -> Response:
        """E.2. Texts: [seen] "already in use" (409, terraform-aws-eks#2977/#3293), "invalid
        principal" (terraform-aws-eks#2969, a principal that does not exist or an ARN
        without the role's path), "kubernetes group name … cannot start with system:"
        (terraform-aws-eks#2915)."""
        access = self._api_cluster(call)
        principal_arn = str(call.body.get("principalArn") or "")
        kind = str(call.body.get("type") or STANDARD)
        groups = _strings(call.body.get("kubernetesGroups"), "kubernetesGroups")
        username = call.body.get("username")
        tags = _tags(call.body.get("tags"))
        token = call.body.get("clientRequestToken")
        _check_type(kind)
        existing = access.entries.get(principal_arn)
        if existing is not None:
            if token and existing.client_request_token == token:
                return _ok({"accessEntry": existing.to_wire()})
            raise wire.AwsError("ResourceInUseException", _ENTRY_IN_USE, 409)
        principal = _lookup_principal(principal_arn)
        _check_new_entry(kind, principal, access, groups, username)
        now = self._now()
        entry = self._new_entry(call.account, call.region, call.cluster, principal, kind, now)
        entry = dataclasses.replace(
            entry,
            username=str(username) if username else entry.username,
            kubernetes_groups=tuple(groups) if groups else entry.kubernetes_groups,
            tags=tags,
            client_request_token=str(token) if token else None,
        )
        access.entries[principal.arn] = entry
        return _ok({"accessEntry": entry.to_wire()})

    def _new_entry(
        self, account: str, region: str, cluster: str, principal: Principal, kind: str, now: float
    ) -> AccessEntry:
        arn = (
            f"arn:{arns.partition_of_region(region)}:eks:{region}:{account}:access-entry/{cluster}/"
            f"{principal.kind}/{principal.account}/{principal.name}/{uuid.uuid4()}"
        )
        return AccessEntry(
            cluster=cluster,
            principal_arn=principal.arn,
            principal_id=principal.id,
            arn=arn,
            type=kind,
            username=_default_username(kind, principal),
            kubernetes_groups=_default_groups(kind),
            created_at=now,
            modified_at=now,
        )

    def _describe_entry(self, _caller: credentials.Credential, call: _Call) -> Response:
        """[seen] not-found text: terraform-aws-eks#3024 (AssociateAccessPolicy), the same
        for DescribeAccessEntry in CLI transcripts."""
        entry = self._entry(self._api_cluster(call), call.label(3))
        return _ok({"accessEntry": entry.to_wire()})

    def _list_entries(self, _caller: credentials.Credential, call: _Call) -> Response:
        access = self._api_cluster(call)
        policy = call.first("associatedPolicyArn")
        arns = [a for a, e in access.entries.items() if policy is None or e.policy(policy)]
        page, token = _page(arns, call)
        return _ok({"accessEntries": page, **({"nextToken": token} if token else {})})

    def _update_entry(self, _caller: credentials.Credential, call: _Call) -> Response:
        """Groups and username change; type and principal never do (E.2). EKS checks the
        name prefixes whatever the type ([seen] aws-ia/terraform-aws-eks-blueprints#2004,
        an EC2_LINUX entry: "The username must not begin with system:")."""
        access = self._api_cluster(call)
        entry = self._entry(access, call.label(3))
        raw_groups = call.body.get("kubernetesGroups")
        groups = None if raw_groups is None else _strings(raw_groups, "kubernetesGroups")
        username = call.body.get("username")
        if username:
            _check_username(str(username))
        if groups:
            _check_groups(groups)
        if entry.type != STANDARD and (groups or username):
            raise _invalid(f"kubernetesGroups and username can't be set on a {entry.type} entry.")
        entry = dataclasses.replace(
            entry,
            kubernetes_groups=entry.kubernetes_groups if groups is None else tuple(groups),
            username=str(username) if username else entry.username,
            modified_at=self._now(),
        )
        access.entries[entry.principal_arn] = entry
        return _ok({"accessEntry": entry.to_wire()})

    def _delete_entry(self, _caller: credentials.Credential, call: _Call) -> Response:
        access = self._api_cluster(call)
        entry = self._entry(access, call.label(3))
        del access.entries[entry.principal_arn]
        return _ok({})

    # ------------------------------------------------------------------ access policies
    def _associate(self, _caller: credentials.Credential, call: _Call) -> Response:
        """E.4: STANDARD entries only ([seen] aws-controllers-k8s/community#2144), one
        association per policy, a new scope replaces the old one."""
        access = self._api_cluster(call)
        entry = self._policy_entry(access, call.label(3))
        policy_arn = str(call.body.get("policyArn") or "")
        _check_policy(policy_arn)
        scope = _scope(call.body.get("accessScope"))
        now = self._now()
        old = entry.policy(policy_arn)
        new = AssociatedPolicy(policy_arn, scope, old.associated_at if old else now, now)
        if old is None:
            policies = (*entry.policies, new)
        else:
            policies = tuple(new if p is old else p for p in entry.policies)
        access.entries[entry.principal_arn] = dataclasses.replace(entry, policies=policies)
        return _ok(
            {
                "clusterName": call.cluster,
                "principalArn": entry.principal_arn,
                "associatedAccessPolicy": new.to_wire(),
            }
        )

    def _disassociate(self, _caller: credentials.Credential, call: _Call) -> Response:
        access = self._api_cluster(call)
        entry = self._policy_entry(access, call.label(3))
        policy_arn = call.label(5)
        if entry.policy(policy_arn) is None:
            raise wire.AwsError(
                "ResourceNotFoundException",
                f"The policy {policy_arn} is not associated with the access entry.",
                404,
            )
        kept = tuple(p for p in entry.policies if p.policy_arn != policy_arn)
        access.entries[entry.principal_arn] = dataclasses.replace(entry, policies=kept)
        return _ok({})

    def _list_associated(self, _caller: credentials.Credential, call: _Call) -> Response:
        access = self._api_cluster(call)
        entry = self._policy_entry(access, call.label(3))
        page, token = _page([p.to_wire() for p in entry.policies], call)
        body: dict[str, Any] = {
            "clusterName": call.cluster,
            "principalArn": entry.principal_arn,
            "associatedAccessPolicies": page,
        }
        if token:
            body["nextToken"] = token
        return _ok(body)

    def _list_policies(self, _caller: credentials.Credential, call: _Call) -> Response:
        policies = [{"name": n, "arn": POLICY_ARN_PREFIX + n} for n in ACCESS_POLICY_NAMES]
        page, token = _page(policies, call)
        return _ok({"accessPolicies": page, **({"nextToken": token} if token else {})})

    # ------------------------------------------------------------------ lookups
    def _state(self, account: str, region: str, name: str, cluster: Any) -> _ClusterAccess:
        """The access state of this very cluster object; a cluster deleted and created
        again under the same name starts with none (EKS deletes entries with clusters)."""
        key = (account, region, name)
        access = self._access.get(key)
        if access is None or access.cluster is not cluster:
            access = _ClusterAccess(cluster)
            self._access[key] = access
        return access

    def _existing(self, call: _Call) -> _ClusterAccess:
        """The named cluster, or moto's own not-found answer ("No cluster found for name:
        X.", which moto's authors took from EKS)."""
        found = state.eks(call.account, call.region).clusters.get(call.cluster)
        if found is None:
            raise wire.AwsError(
                "ResourceNotFoundException", f"No cluster found for name: {call.cluster}.", 404
            )
        return self._state(call.account, call.region, call.cluster, found)

    def _api_cluster(self, call: _Call) -> _ClusterAccess:
        """The cluster, which must have the access-entry API on ([seen] text:
        terraform-aws-eks#3048, aws-ia/terraform-aws-eks-blueprints#1877,
        upbound/configuration-aws-eks#122 for DescribeAccessEntry)."""
        access = self._existing(call)
        if _mode_of(access.cluster) == CONFIG_MAP:
            raise wire.AwsError("InvalidRequestException", _MODE_REQUIRED, 400)
        return access

    @staticmethod
    def _entry(access: _ClusterAccess, principal_arn: str) -> AccessEntry:
        entry = access.entries.get(principal_arn)
        if entry is None:
            raise wire.AwsError("ResourceNotFoundException", _ENTRY_NOT_FOUND, 404)
        return entry

    def _policy_entry(self, access: _ClusterAccess, principal_arn: str) -> AccessEntry:
        entry = self._entry(access, principal_arn)
        if entry.type not in _POLICY_TYPES:
            raise _invalid(_ONLY_STANDARD)
        return entry

    def _now(self) -> float:
        return self.clock().timestamp()


# --------------------------------------------------------------------------- validation

_NOT_UPDATES = frozenset({"name", "clientRequestToken", "accessConfig"})


def _invalid(message: str) -> wire.AwsError:
    return wire.AwsError("InvalidParameterException", message, 400)


def _check_type(kind: str) -> None:
    if kind not in ENTRY_TYPES:
        raise _invalid(f"The type {kind} is not valid. Valid values: {sorted(ENTRY_TYPES)}")


def _check_new_entry(
    kind: str,
    principal: Principal,
    access: _ClusterAccess,
    groups: list[str],
    username: object,
) -> None:
    """Type rules of E.2: node types take a role of the cluster's account and set their
    own username and groups; STANDARD names are free but for the reserved prefixes."""
    if kind == STANDARD:
        if username:
            _check_username(str(username))
        _check_groups(groups)
        return
    cluster_account = str(getattr(access.cluster, "arn", "::::").split(":")[4])
    if principal.kind != "role" or principal.account != cluster_account:
        raise _invalid(
            f"Access entries of type {kind} require an IAM role in the cluster's account."
        )
    if groups or username:
        raise _invalid(f"kubernetesGroups and username can't be set on a {kind} entry.")


def _check_groups(groups: list[str]) -> None:
    """[seen] terraform-aws-eks#2915, eksctl-io/eksctl#7446."""
    for group in groups:
        if group.startswith("system:"):
            raise _invalid(
                f"The kubernetes group name {group} is invalid, it cannot start with system:"
            )


def _check_username(username: str) -> None:
    """Reserved prefixes and ``{{SessionName}}`` after a colon (E.2). The prefix text is
    [seen] for ``system:``; the same form is assumed for the other prefixes."""
    for prefix in _RESERVED_USERNAME_PREFIXES:
        if username.startswith(prefix):
            raise _invalid(f"The username must not begin with {prefix}")
    for template in ("{{SessionName}}", "{{SessionNameRaw}}"):
        at = username.find(template)
        if at >= 0 and ":" not in username[:at]:
            raise _invalid(
                f"The username {username} is invalid: a colon must come before {template}"
            )


def _check_policy(policy_arn: str) -> None:
    name = policy_arn.removeprefix(POLICY_ARN_PREFIX)
    if not policy_arn.startswith(POLICY_ARN_PREFIX) or name not in ACCESS_POLICY_NAMES:
        raise _invalid(f"The specified policyArn {policy_arn} is not a valid access policy.")


def _scope(raw: object) -> AccessScope:
    """``accessScope``: ``cluster`` without namespaces, ``namespace`` with at least one."""
    scope = raw if isinstance(raw, Mapping) else {}
    kind = scope.get("type")
    namespaces = tuple(_strings(scope.get("namespaces"), "namespaces"))
    if kind == "cluster":
        if namespaces:
            raise _invalid("namespaces can't be specified when accessScope type is cluster.")
        return AccessScope("cluster")
    if kind == "namespace":
        if not namespaces:
            raise _invalid("namespaces must be specified when accessScope type is namespace.")
        return AccessScope("namespace", namespaces)
    raise _invalid(f"The accessScope type {kind} is not valid. Valid values: [cluster, namespace]")


def _strings(raw: object, what: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise _invalid(f"{what} must be a list of strings.")
    return list(raw)


def _tags(raw: object) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _invalid("tags must be a map of strings.")
    if len(raw) > _MAX_TAGS:
        raise _invalid(f"A resource can have at most {_MAX_TAGS} tags.")
    return {str(k): str(v) for k, v in raw.items()}


# --------------------------------------------------------------------------- principals


def _lookup_principal(principal_arn: str) -> Principal:
    """The IAM role or user the ARN names exactly (path kept), or EKS's refusal. STS
    session ARNs and service-linked roles are not principals for access entries (E.2)."""
    kind = _principal_kind(principal_arn)
    if kind == "role" and "/aws-service-role/" not in principal_arn:
        role = state.role_by_arn(principal_arn)
        if role is not None and role.arn == principal_arn:
            return Principal(role.arn, role.id, "role", role.account, role.name)
    elif kind == "user":
        user = state.user_by_arn(principal_arn)
        if user is not None:
            return Principal(user.arn, user.id, "user", user.account, user.name)
    raise _invalid(_INVALID_PRINCIPAL)


def _principal_kind(principal_arn: str) -> str | None:
    parts = principal_arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or parts[3]:
        return None
    kind = parts[5].split("/", 1)[0]
    return kind if kind in ("role", "user") and "/" in parts[5] else None


def _caller_principal(caller: credentials.Credential) -> Principal | None:
    """The IAM principal behind a caller: the role of a session, or the user."""
    if caller.role_arn is not None:
        role = state.role_by_arn(caller.role_arn)
        if role is None:
            return None
        return Principal(role.arn, role.id, "role", role.account, role.name)
    user = state.user_by_arn(caller.principal_arn)
    if user is None:
        return None
    return Principal(user.arn, user.id, "user", user.account, user.name)


def _default_username(kind: str, principal: Principal) -> str:
    """E.2: a user's ARN; a role's session ARN (path removed) with ``{{SessionName}}``;
    ``system:node:…`` for node types."""
    if kind in ("EC2_LINUX", "EC2_WINDOWS"):
        return "system:node:{{EC2PrivateDNSName}}"
    if kind in NODE_TYPES:
        return "system:node:{{SessionName}}"
    if principal.kind == "user":
        return principal.arn
    partition = principal.arn.split(":", 2)[1]
    session = f"arn:{partition}:sts::{principal.account}:assumed-role/{principal.name}"
    return session + "/{{SessionName}}"


def _default_groups(kind: str) -> tuple[str, ...]:
    """Node entries join ``system:nodes`` (the CLI's EC2_LINUX example); STANDARD none."""
    return ("system:nodes",) if kind in NODE_TYPES else ()


def _strip_path(principal_arn: str) -> str:
    head, _, resource = principal_arn.partition(":role/")
    if not resource:
        head, _, resource = principal_arn.partition(":user/")
        return f"{head}:user/{resource.rsplit('/', 1)[-1]}" if resource else principal_arn
    return f"{head}:role/{resource.rsplit('/', 1)[-1]}"


# --------------------------------------------------------------------------- wire


def _mode_of(cluster: Any) -> str:
    config = getattr(cluster, "access_config", None) or {}
    return str(config.get("authenticationMode") or CONFIG_MAP)


def _page(items: list[Any], call: _Call) -> tuple[list[Any], str | None]:
    """``maxResults`` (1–100, default 100) and an opaque ``nextToken``."""
    try:
        limit = int(call.first("maxResults") or _MAX_RESULTS)
        start = int(base64.urlsafe_b64decode(call.first("nextToken") or "MA==").decode())
    except ValueError:
        raise _invalid("The nextToken or maxResults parameter is not valid.") from None
    if not 1 <= limit <= _MAX_RESULTS or not 0 <= start <= len(items):
        raise _invalid("The nextToken or maxResults parameter is not valid.")
    end = start + limit
    token = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else None
    return items[start:end], token


def _ok(body: Mapping[str, Any]) -> Response:
    data = json.dumps(body).encode("utf-8")
    headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", _request_id())]
    return 200, headers, data


def _request_id() -> str:
    return str(uuid.uuid4())


def _region_of(headers: Mapping[str, str], default: str) -> str:
    """The region the request was signed for: moto serves that region's backend."""
    auth = headers.get("authorization", "")
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 3 and scope[2]:
            return scope[2]
    return default


def _check_service_role(role_arn: object) -> None:
    """EKS assumes the cluster's service role at creation: the role must exist and trust
    ``eks.amazonaws.com`` — decided by the policy engine, as for any trust ([seen]
    karpenter-blueprints#20, terraform-aws-eks#2406 for the message)."""
    refused = _invalid(
        f"Role with arn: {role_arn}, could not be assumed because it does not exist or the "
        "trusted entity is not correct"
    )
    if not isinstance(role_arn, str):
        raise refused
    role = state.role_by_arn(role_arn)
    if role is None:
        raise refused
    decision = policy.authorize(
        policy.Request("eks.amazonaws.com", "sts:AssumeRole", role.arn),
        policy.PolicySet(resource=role.trust_policy, resource_kind="trust"),
    )
    if not decision.allowed:
        raise refused
