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
  longer matches (:meth:`EksExtras.resolve`);
- ``AssociateAccessPolicy``, ``DisassociateAccessPolicy``, ``ListAssociatedAccessPolicies``,
  ``ListAccessPolicies``: EKS's managed access policies (E.4);
- ``UpdateClusterConfig`` with ``accessConfig``: the one-way ``CONFIG_MAP`` →
  ``API_AND_CONFIG_MAP`` → ``API`` changes (E.1), reflected by moto's ``DescribeCluster``
  through the cluster's ``access_config``; with ``logging`` or ``resourcesVpcConfig``;
  ``UpdateClusterVersion``; ``DescribeUpdate`` and ``ListUpdates`` (:mod:`.updates`);
- ``CreateCluster``: its ``accessConfig`` (default ``CONFIG_MAP`` through the API, E.1)
  and its caller, the creator, who gets an admin access entry when
  ``bootstrapClusterCreatorAdminPermissions`` is true and the API mode is on
  (:meth:`EksExtras.cluster_created`, which the EKS control plane calls once moto stored
  the cluster).

- ``CreatePodIdentityAssociation``, ``DescribePodIdentityAssociation``,
  ``ListPodIdentityAssociations``, ``UpdatePodIdentityAssociation``,
  ``DeletePodIdentityAssociation``: :mod:`.pod_identity` (reference F.5); the data plane
  finds them through :meth:`EksExtras.association_for` (the
  :class:`~.associations.AssociationLookup` protocol);
- ``CreateAddon``, ``DescribeAddon``, ``ListAddons``, ``DeleteAddon``, minimal
  (:mod:`.addons`): :meth:`EksExtras.has_addon` tells whether a cluster runs the
  ``eks-pod-identity-agent`` add-on.

The Kubernetes side reads what it needs through :meth:`EksExtras.authentication_mode`,
:meth:`EksExtras.creator` and :meth:`EksExtras.resolve`: the sandbox server hands this one
object to the gate (as its ``extras``) and to the EKS control plane (which passes it to
every cluster's token authenticator), so both sides see one state.

Error texts quoted from EKS answers seen in public issue reports are marked *[seen]* at
their constant; the others are the sandbox's own wording, marked *[sandbox]*.

EKS's timing (reference H.2, figures from the sandbox's
:class:`~kubetrust.sandbox.world_realism.Realism`): a cluster made with ``CreateCluster`` is
``CREATING`` before ``ACTIVE`` and an update ``InProgress`` before ``Successful``
(:mod:`.lifecycle`, :mod:`.timed_cluster`); the data plane — :meth:`EksExtras.resolve` for
the authenticator, :meth:`EksExtras.association_for` for EKS Auth and the webhook — sees
access entries and associations as they were ``eks_propagation_seconds`` ago, while the API
reads its own writes; and EKS sees IAM through :class:`~kubetrust.sandbox.aws.propagation.
Propagation` (a principal or role just made is refused until IAM's change reached EKS).

Not emulated: tag APIs on access-entry ARNs.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from urllib.parse import parse_qs, unquote

from kubetrust import errors
from kubetrust.model import vocabulary
from kubetrust.sandbox.aws import credentials, gate, operations, state, wire
from kubetrust.sandbox.aws.propagation import Propagation
from kubetrust.sandbox.aws.services.eks import (
    addons,
    model,
    pod_identity,
    policies,
    principals,
    updates,
)
from kubetrust.sandbox.aws.services.eks.associations import PodIdentityAssociation
from kubetrust.sandbox.aws.services.eks.model import (
    DEFAULT_API_MODE,
    ENTRY_TYPES,
    NODE_TYPES,
    STANDARD,
    AccessEntry,
    AccessScope,
    AssociatedPolicy,
    Clock,
    Principal,
    Response,
)
from kubetrust.sandbox.world_realism import OFF, Realism

__all__ = [
    "DEFAULT_API_MODE",
    "ENTRY_TYPES",
    "NODE_TYPES",
    "STANDARD",
    "AccessEntry",
    "AccessScope",
    "AssociatedPolicy",
    "Clock",
    "EksExtras",
    "Principal",
    "Response",
]

# --------------------------------------------------------------------------- the hook


class EksExtras(updates.UpdateHandlers, policies.PolicyHandlers):
    """The gate's ``extras`` hook for EKS (module doc). Thread-safe; state in memory, on
    the instance: one per sandbox. ``realism`` gives EKS's delays (all zero: none);
    ``propagation`` is IAM as EKS sees it (the gate's, so that both agree)."""

    def __init__(
        self,
        region: str,
        clock: model.Clock | None = None,
        *,
        realism: Realism = OFF,
        propagation: Propagation | None = None,
    ) -> None:
        self.region = region
        self.clock: model.Clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.realism = realism
        self.propagation = propagation or Propagation(0.0)
        self._lock = threading.RLock()
        self._access: dict[tuple[str, str, str], model.ClusterAccess] = {}
        self._creations: dict[tuple[str, str, str], model.Creation] = {}
        self._handlers: dict[
            str, Callable[[credentials.Credential, model.Call], model.Response | None]
        ] = {
            "CreateCluster": self._create_cluster,
            "UpdateClusterConfig": self._update_cluster_config,
            "UpdateClusterVersion": self._update_cluster_version,
            "DescribeUpdate": self._describe_update,
            "ListUpdates": self._list_updates,
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
        self.pod_identity = pod_identity.PodIdentityApi(
            self.clock,
            propagation=self.propagation,
            visibility_seconds=realism.eks_propagation_seconds,
        )
        self._handlers.update(self.pod_identity.handlers())
        self.addons = addons.AddonApi(self.clock, realism.addon_creation_seconds)
        self._handlers.update(self.addons.handlers())

    def __call__(
        self,
        caller: credentials.Credential,
        op: operations.Operation,
        request: gate.RawRequest,
    ) -> model.Response | None:
        """Answer ``op`` if it is one of ours, else ``None`` (moto answers it)."""
        handler = self._handlers.get(op.name) if op.service == "eks" else None
        if handler is None:
            return None
        call = self._call(caller, request)
        try:
            with self._lock:
                answer = handler(caller, call)
                self._publish(call)
                return answer
        except wire.AwsError as refusal:
            return wire.render_error("rest-json", refusal, model.request_id())

    def _publish(self, call: model.Call) -> None:
        """What the call changed starts on its way to the data plane (reference H.2)."""
        now = self._now()
        access = self._access.get((call.account, call.region, call.cluster))
        if access is not None:
            access.publish(now)
        self.pod_identity.publish(call.account, call.region, call.cluster, now)

    def _call(self, caller: credentials.Credential, request: gate.RawRequest) -> model.Call:
        """Path labels split before decoding: a principal ARN's ``%2F`` stays in its label."""
        parts = tuple(unquote(p) for p in request.raw_path.split("/") if p)
        try:
            parsed = errors.decode_json(request.body) if request.body else {}
        except ValueError:  # the gate refused these already
            parsed = {}
        body = parsed if isinstance(parsed, dict) else {}
        query = parse_qs(request.raw_query, keep_blank_values=True)
        return model.Call(
            caller.account, model.region_of(request.headers, self.region), parts, query, body
        )

    def expect_creation(
        self, account: str, region: str, name: str, creator_arn: str, mode: str
    ) -> None:
        """Announce a cluster the sandbox creates itself (a world file's), as a
        ``CreateCluster`` by ``creator_arn`` with ``accessConfig.authenticationMode`` =
        ``mode`` and the default bootstrap would, so that it has a creator like any cluster."""
        principal = principals.lookup_principal(creator_arn)
        with self._lock:
            self._creations[(account, region, name)] = model.Creation(principal, mode, True)

    # ------------------------------------------------------------------ Kubernetes side
    def authentication_mode(self, account: str, region: str, cluster: str) -> str | None:
        """The cluster's authentication mode (``None`` for an unknown cluster), so that the
        Kubernetes side knows whether aws-auth, access entries or both apply (E.1)."""
        found = state.eks(account, region).clusters.get(cluster)
        return None if found is None else model.mode_of(found)

    def creator(self, account: str, region: str, cluster: str) -> Principal | None:
        """The IAM principal that created the cluster, when known: in ``CONFIG_MAP`` mode it
        has an invisible ``system:masters`` mapping (reference D.3, "Cluster creator")."""
        with self._lock:
            found = state.eks(account, region).clusters.get(cluster)
            if found is None:
                return None
            return self._state(account, region, cluster, found).creator

    def resolve(
        self, account: str, region: str, cluster: str, principal_arn: str, principal_id: str
    ) -> model.AccessEntry | None:
        """The access entry that maps a caller to a Kubernetes identity, or ``None``.

        ``principal_arn`` may be the entry's exact ARN or the canonical (path-less) role
        ARN the authenticator derives from a session; ``principal_id`` is the IAM unique
        id, bare or as STS ``UserId`` (``AROA…:session``). ``None`` when the cluster is
        unknown or in ``CONFIG_MAP`` mode, or when the entry was made for another
        principal with the same ARN (E.3: deleted and recreated). The entries are those the
        data plane sees: a change reaches it ``eks_propagation_seconds`` after the API
        answered (reference H.2)."""
        unique_id = principal_id.split(":", 1)[0]
        with self._lock:
            found = state.eks(account, region).clusters.get(cluster)
            if found is None or model.mode_of(found) == vocabulary.CONFIG_MAP:
                return None
            access = self._state(account, region, cluster, found)
            for entry in access.published.seen(self._now()).values():
                if entry.principal_id != unique_id:
                    continue
                if principal_arn in (
                    entry.principal_arn,
                    principals.strip_path(entry.principal_arn),
                ):
                    return entry
        return None

    # ------------------------------------------------------------------ Pod Identity
    def association_for(
        self, account: str, region: str, cluster: str, namespace: str, service_account: str
    ) -> PodIdentityAssociation | None:
        """The Pod Identity association of a service account in the cluster now named
        ``cluster`` (:class:`~.associations.AssociationLookup`): ``None`` when there is none,
        or the cluster is unknown (a deleted cluster's associations went with it). As the
        data plane sees it: ``eks_propagation_seconds`` behind the API (reference H.2)."""
        with self._lock:
            return self.pod_identity.association_for(
                account, region, cluster, namespace, service_account, self._now()
            )

    def has_addon(self, account: str, region: str, cluster: str, name: str) -> bool:
        """Whether the cluster now named ``cluster`` runs the EKS add-on ``name`` (made with
        ``CreateAddon``, ``ACTIVE`` by now, not deleted since)."""
        with self._lock:
            return self.addons.has_addon(account, region, cluster, name)
