"""The sandbox's EKS control plane: what a cluster gets when moto stores it, and its API server.

:class:`ControlPlane` is told by the sandbox's moto backend
(:class:`kubetrust.sandbox.aws.state.SandboxEksBackend`) about every cluster moto stores or
deletes, world file or ``aws eks create-cluster`` alike, still inside moto's call (so
moto's answer shows what the cluster was given). For a new cluster, in this order:
:func:`.clusters.decorate` gives it its issuer, CA and endpoint port; :meth:`KubeClusters.start`
serves the cluster's API there, over TLS with a certificate from the sandbox CA for
``127.0.0.1`` and ``localhost`` (what DescribeCluster's ``certificateAuthority`` verifies),
once the EKS access API applied what the ``CreateCluster`` asked for (:class:`ClusterCreated`:
its ``accessConfig``, the creator's access entry, its ``CREATING`` time). A cluster created
through ``CreateCluster`` with realism on is ``CREATING`` for a while (reference H.2): its
API server starts when the cluster turns ``ACTIVE`` (:meth:`KubeClusters.start_later`), as
EKS's endpoint answers only then.

Each cluster has its own object store, seeded as a new EKS cluster is: the default RBAC roles
and bindings, ``default``/``kube-system``/``kube-public`` namespaces with their ``default``
service accounts, and the kube-system workloads ``kubectl get pods -n kube-system`` shows.
Authentication, in order: EKS tokens (:mod:`.token_auth`), then the cluster's own
service-account tokens (signed by its OIDC issuer). Authorization: ``system:masters``, EKS
access policies, then RBAC over the stored roles and bindings. Pod admission sees the EKS
Pod Identity associations of its cluster (:class:`ClusterAssociations`, over the EKS API's
:class:`~kubetrust.sandbox.aws.services.eks.associations.AssociationLookup`), so the
hosted webhook's Pod Identity branch applies as on EKS (reference F.2).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from kubetrust.sandbox import oidc
from kubetrust.sandbox.aws import credentials
from kubetrust.sandbox.aws.services.eks.associations import AssociationLookup
from kubetrust.sandbox.eks import clusters, pod_identity_agent, token_auth
from kubetrust.sandbox.host import pki
from kubetrust.sandbox.kube import (
    api,
    auth,
    bootstrap,
    pod_identity_webhook,
    rbac,
    sa_tokens,
    workloads,
)
from kubetrust.sandbox.kube.server import KubeApiServer
from kubetrust.sandbox.kube.store import Store


class FirstOf:
    """Authenticate with the first authenticator that recognises the request, as the
    apiserver's union authenticator does."""

    def __init__(self, authenticators: Sequence[auth.Authenticate]) -> None:
        self.authenticators = tuple(authenticators)

    def __call__(self, headers: Mapping[str, str]) -> auth.User | None:
        for authenticate in self.authenticators:
            user = authenticate(headers)
            if user is not None:
                return user
        return None


@dataclass(frozen=True, slots=True)
class ClusterAssociations:
    """The webhook's view of one cluster's Pod Identity associations
    (:class:`~kubetrust.sandbox.kube.pod_identity_webhook.ServiceAccountAssociations`),
    read from the EKS API's store at each pod admission: an association made after a pod
    was created does not reach that pod, as on EKS."""

    lookup: AssociationLookup
    account: str
    region: str
    cluster: str

    def has_association(self, namespace: str, service_account: str) -> bool:
        found = self.lookup.association_for(
            self.account, self.region, self.cluster, namespace, service_account
        )
        return found is not None


@dataclass(slots=True)
class KubeCluster:
    """One running cluster: its record, objects, app and listener."""

    record: clusters.ClusterRecord
    store: Store
    app: api.KubeApi
    server: KubeApiServer

    @property
    def endpoint(self) -> str:
        return self.server.endpoint


class KubeClusters:
    """The API servers of the sandbox's clusters, keyed by (account, name). ``access`` is
    the EKS access API's state every cluster's token authenticator maps callers with;
    ``associations`` the Pod Identity associations every cluster's admission reads."""

    def __init__(
        self,
        ca: pki.CertificateAuthority,
        keys: credentials.CredentialStore,
        clock: Callable[[], dt.datetime],
        sts_endpoint: Callable[[], str],
        access: token_auth.EksAccess,
        associations: AssociationLookup | None = None,
    ) -> None:
        self.ca = ca
        self.keys = keys
        self.access = access
        self.associations = associations
        self.clock = clock
        self.sts_endpoint = sts_endpoint
        self._lock = threading.Lock()
        self._running: dict[tuple[str, str], KubeCluster] = {}
        self._pending: dict[tuple[str, str], threading.Timer] = {}

    def start_later(self, record: clusters.ClusterRecord, delay: float) -> None:
        """Serve ``record``'s cluster ``delay`` seconds from now (when it turns ``ACTIVE``);
        at once for no delay. A stop before then cancels it."""
        if delay <= 0:
            self.start(record)
            return
        self.stop(record.account, record.name)
        timer = threading.Timer(delay, self._start_pending, args=(record,))
        timer.daemon = True
        with self._lock:
            self._pending[(record.account, record.name)] = timer
        timer.start()

    def _start_pending(self, record: clusters.ClusterRecord) -> None:
        with self._lock:
            timer = self._pending.get((record.account, record.name))
            if timer is None or timer is not threading.current_thread():
                return  # stopped, or replaced by a cluster created again
        self.start(record)

    def start(self, record: clusters.ClusterRecord) -> KubeCluster:
        """Serve ``record``'s cluster at its endpoint (a recreated cluster starts afresh)."""
        self.stop(record.account, record.name)
        store = Store(clock=self.clock)
        identity = token_auth.ClusterIdentity(
            record.account, record.region, record.name, token_auth.sts_hosts(self.sts_endpoint())
        )
        authenticate = FirstOf(
            [
                token_auth.EksTokenAuthenticator(
                    identity, self.access, store, self.keys, self.clock
                ),
                sa_tokens.ServiceAccountTokenAuthenticator(record.issuer, store, self.clock),
            ]
        )
        app = api.KubeApi(
            authenticate,
            rbac.RbacAuthorizer(store),
            store,
            issuer=record.issuer,
            region=record.region,
            clock=self.clock,
            ca_pem=self.ca.certificate_pem,
        )
        if self.associations is not None:
            app.cluster.admission.pod_identity = pod_identity_webhook.PodIdentityWebhook(
                ClusterAssociations(self.associations, record.account, record.region, record.name),
                region=record.region,
            )
        bootstrap.seed(store)
        workloads.seed_system(app, record.region)
        port = int(record.endpoint.rpartition(":")[2])
        server = KubeApiServer(self.ca, port, app).start()
        cluster = KubeCluster(record, store, app, server)
        with self._lock:
            self._running[(record.account, record.name)] = cluster
        return cluster

    def get(self, account: str, name: str) -> KubeCluster | None:
        with self._lock:
            return self._running.get((account, name))

    def stop(self, account: str, name: str) -> None:
        with self._lock:
            pending = self._pending.pop((account, name), None)
            cluster = self._running.pop((account, name), None)
        if pending is not None:
            pending.cancel()
        if cluster is not None:
            cluster.server.stop()

    def stop_all(self) -> None:
        """Stop every cluster's server, side by side: each stop waits for its serve loop's
        poll (up to half a second), which one by one adds up with many clusters."""
        with self._lock:
            running = list(self._running.values())
            self._running.clear()
            pending = list(self._pending.values())
            self._pending.clear()
        for timer in pending:
            timer.cancel()
        stoppers = [threading.Thread(target=cluster.server.stop) for cluster in running]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join(timeout=10)


class ClusterCreated(Protocol):
    """The EKS access API's part in a cluster's creation
    (:meth:`kubetrust.sandbox.aws.services.eks.api.EksExtras.cluster_created`): the
    answer is the seconds until the cluster is ``ACTIVE``."""

    def cluster_created(self, backend: Any, cluster: Any) -> float: ...


class ClusterNodes(Protocol):
    """A new cluster's nodes (:class:`kubetrust.sandbox.eks.nodes.ClusterNodes`)."""

    def cluster_created(self, backend: Any, cluster: Any) -> None: ...


class ControlPlane:
    """What happens when moto stores or deletes a sandbox cluster (module doc); the
    :class:`kubetrust.sandbox.aws.state.ClusterEvents` of one sandbox.

    ``issuer_base`` is read when a cluster is created: the issuer listener's address is
    known once the server listens, after the control plane holds its accounts."""

    def __init__(
        self,
        servers: KubeClusters,
        access: ClusterCreated,
        *,
        issuer_base: Callable[[], str],
        register_issuer: Callable[[str, oidc.ClusterIssuer], None],
        state_dir: Path,
        nodes: ClusterNodes | None = None,
    ) -> None:
        self.servers = servers
        self.nodes = nodes
        self.access = access
        self.issuer_base = issuer_base
        self.register_issuer = register_issuer
        self.state_dir = state_dir

    def cluster_created(self, backend: Any, cluster: Any) -> None:
        record = clusters.decorate(
            backend,
            cluster,
            issuer_base=self.issuer_base(),
            ca_pem=self.servers.ca.certificate_pem,
            state_dir=self.state_dir,
            register=self.register_issuer,
        )
        until_active = self.access.cluster_created(backend, cluster)
        self.servers.start_later(record, until_active)
        if self.nodes is not None:  # the nodes: instance role, node group (eks.nodes)
            self.nodes.cluster_created(backend, cluster)
        else:
            pod_identity_agent.ensure_node_role(record.account)  # the nodes' role (agent doc)

    def cluster_deleted(self, backend: Any, cluster: Any) -> None:
        """Its API server stops and its record goes with it."""
        account = str(backend.account_id)
        self.servers.stop(account, str(cluster.name))
        clusters.record_path(self.state_dir, account, str(cluster.name)).unlink(missing_ok=True)
