"""The Kubernetes side of every sandbox EKS cluster: one API server each, started with it.

When moto creates a cluster (world file or ``aws eks create-cluster`` alike),
:func:`.clusters.decorate` reserves its endpoint port; :meth:`KubeClusters.start`
then serves the cluster's API there, over TLS with a certificate from the sandbox CA for
``127.0.0.1`` and ``localhost`` (what DescribeCluster's ``certificateAuthority`` verifies).

Each cluster has its own object store, seeded as a new EKS cluster is: the default RBAC roles
and bindings, ``default``/``kube-system``/``kube-public`` namespaces with their ``default``
service accounts, and the kube-system workloads ``kubectl get pods -n kube-system`` shows.
Authentication, in order: EKS tokens (:mod:`.eks_auth`), then the cluster's own
service-account tokens (signed by its OIDC issuer). Authorization: ``system:masters``, EKS
access policies, then RBAC over the stored roles and bindings.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from kubetrust.sandbox.aws import credentials
from kubetrust.sandbox.eks import clusters, token_auth
from kubetrust.sandbox.kube import api, auth, bootstrap, rbac, sa_tokens, workloads
from kubetrust.sandbox.kube.server import KubeApiServer
from kubetrust.sandbox.kube.store import Store
from kubetrust.sandbox.runtime import pki


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
    """The API servers of the sandbox's clusters, keyed by (account, name)."""

    def __init__(
        self,
        ca: pki.CertificateAuthority,
        keys: credentials.CredentialStore,
        clock: Callable[[], dt.datetime],
        sts_endpoint: Callable[[], str],
    ) -> None:
        self.ca = ca
        self.keys = keys
        self.clock = clock
        self.sts_endpoint = sts_endpoint
        self._lock = threading.Lock()
        self._running: dict[tuple[str, str], KubeCluster] = {}

    def start(self, record: clusters.ClusterRecord) -> KubeCluster:
        """Serve ``record``'s cluster at its endpoint (a recreated cluster starts afresh)."""
        self.stop(record.account, record.name)
        store = Store(clock=self.clock)
        identity = token_auth.ClusterIdentity(
            record.account, record.region, record.name, token_auth.sts_hosts(self.sts_endpoint())
        )
        authenticate = FirstOf(
            [
                token_auth.EksTokenAuthenticator(identity, store, self.keys, self.clock),
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
            cluster = self._running.pop((account, name), None)
        if cluster is not None:
            cluster.server.stop()

    def stop_all(self) -> None:
        """Stop every cluster's server, side by side: each stop waits for its serve loop's
        poll (up to half a second), which one by one adds up with many clusters."""
        with self._lock:
            running = list(self._running.values())
            self._running.clear()
        stoppers = [threading.Thread(target=cluster.server.stop) for cluster in running]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join(timeout=10)
