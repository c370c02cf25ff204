"""The sandbox process: the AWS endpoint (HTTP) and the clusters' OIDC issuers (HTTPS).

One :class:`SandboxServer` owns everything a sandbox is: its state directory, the sandbox
CA, the credential store, the moto application behind the gate, and two loopback
listeners. Both bind 127.0.0.1 only. The AWS endpoint speaks HTTP/1.1 with keep-alive
(werkzeug's server, which hands moto the raw request URI; probe findings); the issuer
listener serves ``/id/<ID>/.well-known/openid-configuration`` and ``/id/<ID>/keys`` for
every cluster, over TLS with a certificate from the sandbox CA.

moto's state is process-global, so one process holds one sandbox; two sandboxes side by
side are two processes with two state directories.
"""

from __future__ import annotations

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

from kubetrust.sandbox import oidc
from kubetrust.sandbox.aws import credentials, forward, gate, state
from kubetrust.sandbox.aws.request import MAX_BODY_BYTES
from kubetrust.sandbox.aws.services.eks import api as eks_api
from kubetrust.sandbox.aws.services.sts import api as sts_api
from kubetrust.sandbox.eks import clusters, control_plane
from kubetrust.sandbox.runtime import pki
from kubetrust.sandbox.runtime.http import DRAIN_LIMIT, Listener
from kubetrust.sandbox.world import World

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
STATE_FILE = "sandbox.json"
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
    ) -> None:
        self.state_dir = state_dir
        self.world_file = world_file
        self.world = world or World()
        self.clock = clock
        self.store = credentials.CredentialStore(long_term=credentials.iam_key)
        self.issuers = Issuers()
        self._port = port
        self._issuer_port = issuer_port
        self._servers: list[BaseWSGIServer] = []
        self._threads: list[threading.Thread] = []
        self.ca: pki.CertificateAuthority | None = None
        self.admin_keys: dict[str, tuple[str, str]] = {}
        self.kube: control_plane.KubeClusters | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> SandboxServer:
        os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        from moto.moto_server.werkzeug_app import create_backend_app

        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.ca = self._load_ca()
        self._seed_admins()
        issuer_server = self._listen(issuer_app(self.issuers), self._issuer_port, tls=True)
        ca_pem = self.ca.certificate_pem
        sts = sts_api.StsService(
            self.world, self.store, self.clock, oidc.https_jwks_fetcher(ca_pem, timeout=5.0)
        )
        self.eks = eks_api.EksExtras(self.world.region, self.clock)
        app = gate.Gate(
            # moto's app of each service the gate forwards to, never its domain dispatcher
            # (which serves /moto-api/* and guesses the service itself): forward
            forward.MotoBackends(create_backend_app),
            self.world,
            self.store,
            sts,
            self.clock,
            extras=self.eks,
        )
        self.issuer_base = f"https://{HOST}:{issuer_server.server_port}"
        aws_server = self._listen(app, self._port, tls=False)
        self.endpoint = f"http://{HOST}:{aws_server.server_port}"
        self.kube = control_plane.KubeClusters(self.ca, self.store, self.clock, self._endpoint)
        self._install_cluster_hook(ca_pem)
        self._create_world_resources(sts)
        self._write_state()
        return self

    def _endpoint(self) -> str:
        return self.endpoint

    def stop(self) -> None:
        if self.kube is not None:
            self.kube.stop_all()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ pieces
    def _install_cluster_hook(self, ca_pem: bytes) -> None:
        """Every cluster moto creates gets its issuer, CA data and endpoint (clusters.py).
        Records of an earlier run are stale: moto's state did not survive it."""
        shutil.rmtree(self.state_dir / clusters.CLUSTERS_DIR, ignore_errors=True)

        def on_create(backend: Any, cluster: Any) -> None:
            record = clusters.decorate(
                backend,
                cluster,
                issuer_base=self.issuer_base,
                ca_pem=ca_pem,
                state_dir=self.state_dir,
                register=self.issuers.add,
            )
            assert self.kube is not None
            self.kube.start(record)

        def on_delete(backend: Any, cluster: Any) -> None:
            assert self.kube is not None
            self.kube.stop(str(backend.account_id), str(cluster.name))
            clusters.record_path(self.state_dir, str(backend.account_id), cluster.name).unlink(
                missing_ok=True
            )

        clusters.install_hook(on_create, on_delete)

    def _load_ca(self) -> pki.CertificateAuthority:
        if (self.state_dir / CA_FILE).exists():
            return pki.CertificateAuthority.load_from(self.state_dir)
        ca = pki.CertificateAuthority.create("kubetrust sandbox CA")
        ca.save(self.state_dir)
        return ca

    def _create_world_resources(self, sts: sts_api.StsService) -> None:
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
                    account.id, self.world.region, cluster, admin, eks_api.API_AND_CONFIG_MAP
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
            kept = json.loads(path.read_text(encoding="utf-8"))
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
        facts = {
            "pid": os.getpid(),
            "endpoint": self.endpoint,
            "issuer_base": self.issuer_base,
            "region": self.world.region,
            "world_file": str(self.world_file.resolve()) if self.world_file else None,
            "ca_file": str(self.state_dir / CA_FILE),
            "accounts": {
                account: {"access_key_id": key, "secret_access_key": secret}
                for account, (key, secret) in self.admin_keys.items()
            },
        }
        path = self.state_dir / STATE_FILE
        path.write_text(json.dumps(facts, indent=2), encoding="utf-8")
        path.chmod(0o600)
