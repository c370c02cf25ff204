"""The sandbox process: the AWS endpoint (HTTP) and the clusters' OIDC issuers (HTTPS).

One :class:`SandboxServer` owns everything a sandbox is: its state directory, the sandbox
CA, the credential store, the moto application behind the gate, and two loopback
listeners. Both bind 127.0.0.1 only. The AWS endpoint speaks HTTP/1.1 with keep-alive
(werkzeug's server, which hands moto the raw request URI; probe findings); the issuer
listener serves ``/id/<ID>/.well-known/openid-configuration`` and ``/id/<ID>/keys`` for
every cluster, over TLS with a certificate from the sandbox CA.

Everything a sandbox holds lives on its :class:`SandboxServer` and is handed to the
pieces through their constructors: the credential store, the unique-id bindings of stored
policies (:class:`~kubetrust.sandbox.aws.policy_writes.PrincipalBindings`, through STS to
the gate), the EKS access API (:class:`~kubetrust.sandbox.aws.services.eks.api.EksExtras`:
the gate's ``extras``, and through the EKS control plane every cluster's token
authenticator), the clusters' API servers and issuers. No module keeps a sandbox's state.

moto's state is not the sandbox's to place: its backends are process-global, keyed by
account. So two sandboxes may run in one process only with disjoint accounts. At start a
sandbox claims its world's accounts (:func:`~kubetrust.sandbox.aws.state.claim_accounts`:
each gets a fresh moto EKS backend that reports its clusters to this sandbox's control
plane); if a running sandbox of the process holds one of them, the start fails with
:class:`~kubetrust.sandbox.aws.state.AccountsInUse` before anything is written to moto.
``stop()`` gives the accounts back (what moto holds in them stays, as it always did).
A sandbox's credential store honours the IAM keys of its own accounts only, so one
sandbox's callers are unknown to the other. Not separated: what moto reads by ARN across
accounts — a policy that names another sandbox's account or role explicitly finds it, and
S3 bucket names are one namespace, as in one AWS partition. For sandboxes that share
nothing, run two processes with two state directories.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer

from kubetrust import errors
from kubetrust.sandbox import oidc
from kubetrust.sandbox.aws import credentials, forward, gate, policy_writes, state, throttle
from kubetrust.sandbox.aws.propagation import Propagation
from kubetrust.sandbox.aws.request import MAX_BODY_BYTES
from kubetrust.sandbox.aws.services.eks.api import EksExtras
from kubetrust.sandbox.aws.services.eks_auth.api import EksAuthService
from kubetrust.sandbox.aws.services.eks_auth.token import PodToken
from kubetrust.sandbox.aws.services.iam.user_boundaries import UserBoundaries
from kubetrust.sandbox.aws.services.sts.api import StsService
from kubetrust.sandbox.client.state import AdminKeys, SandboxState
from kubetrust.sandbox.eks import clusters, control_plane, imds, nodes, pod_identity_agent
from kubetrust.sandbox.host import pki
from kubetrust.sandbox.host.http import DRAIN_LIMIT, Listener
from kubetrust.sandbox.kube import sa_tokens
from kubetrust.sandbox.world import World
from kubetrust.sandbox.world_realism import PRESETS

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
CA_FILE = "ca.crt"
ADMIN_KEYS_FILE = "admin-keys.json"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(slots=True)
class Issuers:
    """The OIDC issuers of the sandbox's clusters, by issuer id."""

    by_id: dict[str, oidc.ClusterIssuer] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, issuer_id: str, issuer: oidc.ClusterIssuer) -> None:
        with self.lock:
            self.by_id[issuer_id] = issuer

    def get(self, issuer_id: str) -> oidc.ClusterIssuer | None:
        with self.lock:
            return self.by_id.get(issuer_id)


def issuer_app(issuers: Issuers) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    """WSGI app for ``/id/<ID>/.well-known/openid-configuration`` and ``/id/<ID>/keys``."""

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        parts = str(environ.get("PATH_INFO", "")).strip("/").split("/")
        body: dict[str, Any] | None = None
        if len(parts) >= 3 and parts[0] == "id":
            issuer = issuers.get(parts[1])
            rest = "/".join(parts[2:])
            if issuer is not None and rest == ".well-known/openid-configuration":
                body = issuer.discovery_document()
            elif issuer is not None and rest == "keys":
                body = issuer.jwks()
        if body is None or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response(
                "404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")]
            )
            return [b"not found"]
        data = json.dumps(body).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]

    return app


class SandboxServer:
    """A running sandbox (see module doc). ``start()`` returns once both listeners answer."""

    def __init__(
        self,
        state_dir: Path,
        world: World | None = None,
        *,
        port: int = 0,
        issuer_port: int = 0,
        clock: Callable[[], dt.datetime] = utcnow,
        world_file: Path | None = None,
        realism_preset: str | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.world_file = world_file
        self.world = world or World()
        self.realism_preset = realism_preset
        if realism_preset is not None:  # the command line wins over the world file
            self.world = dataclasses.replace(self.world, realism=PRESETS[realism_preset])
        self.realism = self.world.realism
        self.clock = clock
        self.propagation = Propagation(self.realism.iam_propagation_seconds)
        """IAM as STS, the authorizer, the credential store and EKS see it (reference H.1)."""
        self.store = credentials.CredentialStore(long_term=self._own_key)
        self.bindings = policy_writes.PrincipalBindings()
        self.user_boundaries = UserBoundaries()  # moto keeps no user's boundary
        self.eks = EksExtras(
            self.world.region, self.clock, realism=self.realism, propagation=self.propagation
        )
        self.issuers = Issuers()
        self._port = port
        self._issuer_port = issuer_port
        self._servers: list[BaseWSGIServer] = []
        self.gate: gate.Gate | None = None  # the AWS endpoint's app, once serving
        self._threads: list[threading.Thread] = []
        self.ca: pki.CertificateAuthority | None = None
        self.admin_keys: dict[str, tuple[str, str]] = {}
        self.kube: control_plane.KubeClusters | None = None
        self.control_plane: control_plane.ControlPlane | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> SandboxServer:
        """Claim the world's accounts in this process's moto (module doc; fails with
        :class:`~kubetrust.sandbox.aws.state.AccountsInUse` before anything is written),
        then seed them and listen. A start that fails half-way stops what it started."""
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.ca = self._load_ca()
        self.kube = control_plane.KubeClusters(
            self.ca, self.store, self.clock, self._endpoint, self.eks, associations=self.eks
        )
        self.control_plane = control_plane.ControlPlane(
            self.kube,
            self.eks,
            issuer_base=self._issuer_base,
            register_issuer=self.issuers.add,
            state_dir=self.state_dir,
            nodes=nodes.ClusterNodes(self.world),
        )
        state.claim_accounts(self._account_ids(), self.world.region, self.control_plane)
        try:
            self._serve()
        except BaseException:
            self.stop()
            raise
        return self

    def _serve(self) -> None:
        os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        from moto.moto_server.werkzeug_app import create_backend_app

        assert self.ca is not None
        self._seed_admins()
        issuer_server = self._listen(issuer_app(self.issuers), self._issuer_port, tls=True)
        ca_pem = self.ca.certificate_pem
        sts = StsService(
            self.world,
            self.store,
            self.clock,
            oidc.https_jwks_fetcher(ca_pem, timeout=5.0),
            bindings=self.bindings,
            user_boundaries=self.user_boundaries,
            propagation=self.propagation,
        )
        app = gate.Gate(
            # moto's app of each service the gate forwards to, never its domain dispatcher
            # (which serves /moto-api/* and guesses the service itself): forward
            forward.MotoBackends(create_backend_app),
            self.world,
            self.store,
            sts,
            self.clock,
            extras=self.eks,
            eks_auth=EksAuthService(sts, self.eks, self._cluster_issuer, self._pod_still_bound),
            throttler=throttle.Throttler(self.realism),
        )
        self.gate = app
        self.issuer_base = f"https://{HOST}:{issuer_server.server_port}"
        aws_server = self._listen(app, self._port, tls=False)
        self.endpoint = f"http://{HOST}:{aws_server.server_port}"
        self.pod_identity_agent = self._serve_pod_identity_agent(sts)
        self.imds = self._serve_imds(sts)
        # records of an earlier run are stale: moto's state did not survive it
        shutil.rmtree(self.state_dir / clusters.CLUSTERS_DIR, ignore_errors=True)
        self._create_world_resources(sts)
        self._write_state()

    def _endpoint(self) -> str:
        return self.endpoint

    def _serve_pod_identity_agent(self, sts: StsService) -> str:
        """The EKS Pod Identity Agent of every cluster's nodes, on its own loopback
        listener; its base URL (:mod:`~kubetrust.sandbox.eks.pod_identity_agent`)."""
        agent = pod_identity_agent.PodIdentityAgent(
            pod_identity_agent.NodeRoles(sts, self.clock, self.world),
            pod_identity_agent.EksAuthOverHttp(self._endpoint, self.world.region),
            self.clock,
            addons=self.eks,
            region=self.world.region,
            accepted_hosts=(HOST,),
        )
        listener = self._listen(agent, 0, tls=False)
        return f"http://{HOST}:{listener.server_port}"

    def _serve_imds(self, sts: StsService) -> str:
        """The instance metadata service of every cluster's nodes, on its own loopback
        listener; its base URL (:mod:`~kubetrust.sandbox.eks.imds`)."""
        service = imds.InstanceMetadataService(
            pod_identity_agent.NodeRoles(sts, self.clock, self.world),
            self.world,
            self.clock,
            running=self._cluster_running,
        )
        self.imds_service = service
        listener = self._listen(service, 0, tls=False)
        return f"http://{HOST}:{listener.server_port}"

    def _cluster_running(self, account: str, name: str) -> bool:
        return self.kube is not None and self.kube.get(account, name) is not None

    def _issuer_base(self) -> str:
        return self.issuer_base

    def _cluster_issuer(self, account: str, region: str, name: str) -> oidc.ClusterIssuer | None:
        """The service-account issuer of a running cluster (EKS Auth verifies pod tokens
        with it), ``None`` for no such cluster."""
        running = self.kube.get(account, name) if self.kube is not None else None
        if running is None or running.record.region != region:
            return None
        return running.record.issuer

    def _pod_still_bound(self, account: str, region: str, name: str, pod: PodToken) -> bool:
        """Whether a pod token's pod and service account still exist in the running cluster
        (EKS Auth refuses a token the cluster's TokenReview would refuse)."""
        running = self.kube.get(account, name) if self.kube is not None else None
        if running is None or running.record.region != region:
            return False
        bindings = {
            "serviceaccount": (pod.service_account, pod.service_account_uid),
            "pod": (pod.pod_name, pod.pod_uid),
        }
        return sa_tokens.still_bound(running.store, pod.namespace, bindings)

    def _account_ids(self) -> list[str]:
        return [account.id for account in self.world.accounts]

    def _own_key(self, access_key_id: str) -> credentials.Credential | None:
        """A long-term IAM key of one of this sandbox's accounts, as IAM holds it now.
        moto's IAM holds the keys of every sandbox in the process; another sandbox's
        are unknown here (module doc)."""
        found = credentials.iam_key(access_key_id, self.propagation)
        if found is None or self.world.account(found.account) is None:
            return None
        return found

    def stop(self) -> None:
        """Stop the clusters' API servers and the listeners, and give the accounts back."""
        if self.kube is not None:
            self.kube.stop_all()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()
        if self.control_plane is not None:
            state.release_accounts(self._account_ids(), self.control_plane)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ pieces
    def _load_ca(self) -> pki.CertificateAuthority:
        if (self.state_dir / CA_FILE).exists():
            return pki.CertificateAuthority.load_from(self.state_dir)
        ca = pki.CertificateAuthority.create("kubetrust sandbox CA")
        ca.save(self.state_dir)
        return ca

    def _create_world_resources(self, sts: StsService) -> None:
        """The world file's roles, buckets and clusters (validated when it was loaded).
        Roles first, all of them, then their trusts are bound: trusts may name each other."""
        for account in self.world.accounts:
            for role in account.roles:
                state.create_role(
                    account.id,
                    role.name,
                    json.dumps(role.trust),
                    role.path,
                    role.max_session_duration,
                    {n: json.dumps(d) for n, d in role.policies.items()},
                )
        for account in self.world.accounts:
            for role in account.roles:
                sts.bindings.record(account.id, role.name, json.dumps(role.trust))
            for bucket in account.buckets:
                state.s3(account.id).create_bucket(bucket, self.world.region)
            for cluster in account.clusters:
                admin = f"arn:aws:iam::{account.id}:user/{state.ADMIN_USER}"
                self.eks.expect_creation(
                    account.id,
                    self.world.region,
                    cluster,
                    admin,
                    self.world.authentication_mode_of(account.id, cluster),
                )
                state.eks(account.id, self.world.region).create_cluster(
                    name=cluster,
                    role_arn=f"arn:aws:iam::{account.id}:role/eks-cluster-role",
                    resources_vpc_config={"subnetIds": []},
                )

    def _seed_admins(self) -> None:
        """One administrator per account; its keys are kept in the state directory so that
        ``sandbox env`` output stays valid across restarts. They are real IAM keys of the
        admin user (restored into IAM on restart), so the credential store finds them in
        IAM like any other key: deactivating or deleting them works as in AWS."""
        path = self.state_dir / ADMIN_KEYS_FILE
        try:
            kept = errors.decode_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            kept = {}
        if not isinstance(kept, dict):
            kept = {}
        for account in self.world.accounts:
            saved = kept.get(account.id)
            keep = None
            if isinstance(saved, list) and len(saved) == 2:
                keep = (str(saved[0]), str(saved[1]))
            self.admin_keys[account.id] = state.ensure_admin(account.id, keep)
        path.write_text(
            json.dumps({a: list(k) for a, k in self.admin_keys.items()}), encoding="utf-8"
        )
        path.chmod(0o600)

    def _listen(self, app: Any, port: int, *, tls: bool) -> BaseWSGIServer:
        """A :class:`.http.Listener` on ``port``, served on its own thread.
        The AWS endpoint takes bodies up to the gate's limit; the issuer reads none."""
        ssl_context = None
        if tls:
            assert self.ca is not None
            cert, key = self.ca.issue_server_certificate(["127.0.0.1", "localhost"])
            ssl_context = pki.server_ssl_context(cert, key)
        limit = DRAIN_LIMIT if tls else MAX_BODY_BYTES
        server = Listener(HOST, port, app, tls=ssl_context, max_body=limit)
        self._servers.append(server)
        self._threads.append(server.serve_in_thread(f"sandbox-{server.server_port}"))
        return server

    def _write_state(self) -> None:
        SandboxState(
            pid=os.getpid(),
            endpoint=self.endpoint,
            issuer_base=self.issuer_base,
            region=self.world.region,
            world_file=self.world_file.resolve() if self.world_file else None,
            ca_file=self.state_dir / CA_FILE,
            pod_identity_agent=self.pod_identity_agent,
            realism=self.realism_preset,
            iam_propagation_seconds=self.realism.iam_propagation_seconds,
            eks_propagation_seconds=self.realism.eks_propagation_seconds,
            imds=self.imds,
            accounts={
                account: AdminKeys(key, secret)
                for account, (key, secret) in self.admin_keys.items()
            },
        ).write(self.state_dir)
