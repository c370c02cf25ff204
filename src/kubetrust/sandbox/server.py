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

import contextlib
import datetime as dt
import io
import json
import logging
import os
import selectors
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from kubetrust.sandbox import clusters, credentials, eks_api, gate, oidc, pki, state, sts_api
from kubetrust.sandbox.world import World

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
DRAIN_LIMIT = 64 * 1024  # unread request body read away to keep a connection
STATE_FILE = "sandbox.json"
CA_FILE = "ca.crt"
ADMIN_KEYS_FILE = "admin-keys.json"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class _TrackedInput(io.RawIOBase):
    """``wsgi.input`` that never reads past the request's body (werkzeug hands the app the
    raw socket file) and knows whether the body was read to its end."""

    def __init__(self, stream: Any, length: int | None, chunked: bool) -> None:
        self._stream = stream
        self._left = length  # None: chunked, or a length that is not a number
        self._chunked = chunked
        self._eof = not chunked and length == 0

    @classmethod
    def wrap(cls, environ: dict[str, Any]) -> _TrackedInput:
        chunked = bool(environ.get("wsgi.input_terminated"))
        text = str(environ.get("CONTENT_LENGTH") or "").strip()
        length: int | None = 0 if not text and not chunked else None
        if text.isdigit() and not chunked:
            length = int(text)
        tracked = cls(environ["wsgi.input"], length, chunked)
        environ["wsgi.input"] = tracked
        return tracked

    @property
    def finished(self) -> bool:
        return self._eof

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._eof:
            return 0
        size = len(buffer)
        if self._left is not None:
            size = min(size, self._left)
        elif not self._chunked:
            return 0  # unknown framing: nothing is safe to read
        data = self._stream.read(size) if size else b""
        buffer[: len(data)] = data
        if self._left is not None:
            self._left -= len(data)
            self._eof = self._left == 0 or not data
        elif not data:
            self._eof = True
        return len(data)

    def finish(self, limit: int) -> bool:
        """Read away at most ``limit`` unread bytes; whether the body is now complete."""
        if self._eof:
            return True
        if self._left is not None and self._left > limit:
            return False
        if self._left is None and not self._chunked:
            return False
        taken = 0
        try:
            while not self._eof and taken <= limit:
                chunk = self.read(min(65536, limit + 1 - taken))
                taken += len(chunk)
        except (OSError, ValueError):  # a broken chunked body: close instead of reusing
            return False
        return self._eof


class _Response:
    """One response of :class:`_KeepAliveHandler`: status line and headers go out with the
    first write, and say whether the connection stays open."""

    def __init__(self, handler: _KeepAliveHandler, body: _TrackedInput, *, bodiless: bool) -> None:
        self.handler = handler
        self.body = body
        self.bodiless = bodiless
        self.pending: tuple[str, list[tuple[str, str]]] | None = None
        self.sent = False
        self.chunked = False

    def start_response(self, status: str, headers: Any, exc_info: Any = None) -> Any:
        if exc_info and self.sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self.pending = (status, list(headers))
        return self.write

    def write(self, data: bytes) -> None:
        if not self.sent:
            self._head()
        if data and not self.bodiless:
            framed = b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data
            self.handler.wfile.write(framed)

    def end(self) -> None:
        if not self.sent:
            self.write(b"")
        if self.chunked:
            self.handler.wfile.write(b"0\r\n\r\n")

    def _head(self) -> None:
        assert self.pending is not None, "write() before start_response()"
        handler = self.handler
        status, headers = self.pending
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        handler.send_response(code, reason)
        for name, value in headers:
            handler.send_header(name, value)
        self.bodiless = self.bodiless or 100 <= code < 200 or code in (204, 304)
        framed = self.bodiless or any(n.lower() == "content-length" for n, _ in headers)
        if not framed and handler.request_version == "HTTP/1.1":
            self.chunked = framed = True
            handler.send_header("Transfer-Encoding", "chunked")
        if not framed or not self.body.finish(DRAIN_LIMIT):
            handler.send_header("Connection", "close")
        handler.end_headers()
        self.sent = True


class _KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 keep-alive that actually keeps the connection.

    werkzeug 3.1's ``run_wsgi`` sends ``Connection: close`` on every response and then
    reads the socket until EOF, so ``protocol_version`` alone keeps nothing alive. This
    ``run_wsgi`` keeps the connection when the response is framed (Content-Length,
    chunked, HEAD, 1xx/204/304) and the request body was read to its end (or a small rest
    could be read away); it closes otherwise (a 413 before the body was read, a body
    length that is not a number, errors), after a bounded drain so that the client reads
    the answer rather than a reset. ``disable_nagle_algorithm`` sets TCP_NODELAY: status
    line and headers, then the body, are two writes, and with Nagle and delayed ACKs each
    kept-alive call would wait ~40 ms. ``timeout`` ends idle connections and stalled
    requests. ``log_request`` survives a request line that did not parse (no ``path``).
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 60.0

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = str(getattr(self, "path", "") or "")
        logger.debug("%s %s %s", getattr(self, "command", None), path.split("?", 1)[0], code)

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.environ = self.make_environ()
        body = _TrackedInput.wrap(environ)
        response = _Response(self, body, bodiless=environ["REQUEST_METHOD"] == "HEAD")
        try:
            result = self.server.app(environ, response.start_response)
            try:
                for data in result:
                    response.write(data)
                response.end()
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        except Exception:
            self.close_connection = True
            logger.exception("request failed: %s", self.requestline)
            if not response.sent:
                with contextlib.suppress(OSError):
                    self.send_error(500)
            return
        if self.close_connection and not body.finished:
            self._discard_unread()

    def _discard_unread(self, seconds: float = 1.0, most: int = 16 * 1024 * 1024) -> None:
        """Read what the client still sends, briefly, before the connection closes."""
        deadline = time.monotonic() + seconds
        taken = 0
        with selectors.DefaultSelector() as selector:
            selector.register(self.connection, selectors.EVENT_READ)
            while taken < most and time.monotonic() < deadline:
                if not selector.select(timeout=0.05):
                    break
                try:
                    data = self.connection.recv(65536)
                except OSError:
                    break
                if not data:
                    break
                taken += len(data)


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
        self.store = credentials.CredentialStore()
        self.issuers = Issuers()
        self._port = port
        self._issuer_port = issuer_port
        self._servers: list[BaseWSGIServer] = []
        self._threads: list[threading.Thread] = []
        self.ca: pki.CertificateAuthority | None = None
        self.admin_keys: dict[str, tuple[str, str]] = {}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> SandboxServer:
        os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            create_backend_app,
        )

        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.ca = self._load_ca()
        self._seed_admins()
        issuer_server = self._listen(issuer_app(self.issuers), self._issuer_port, tls=True)
        ca_pem = self.ca.certificate_pem
        sts = sts_api.StsService(
            self.world, self.store, self.clock, oidc.https_jwks_fetcher(ca_pem, timeout=5.0)
        )
        app = gate.Gate(
            DomainDispatcherApplication(create_backend_app),
            self.world,
            self.store,
            sts,
            self.clock,
            extras=eks_api.EksExtras(self.world.region, self.clock),
        )
        self.issuer_base = f"https://{HOST}:{issuer_server.server_port}"
        self._install_cluster_hook(ca_pem)
        self._create_world_resources(sts)
        aws_server = self._listen(app, self._port, tls=False)
        self.endpoint = f"http://{HOST}:{aws_server.server_port}"
        self._write_state()
        return self

    def stop(self) -> None:
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
            clusters.decorate(
                backend,
                cluster,
                issuer_base=self.issuer_base,
                ca_pem=ca_pem,
                state_dir=self.state_dir,
                register=self.issuers.add,
            )

        clusters.install_hook(on_create)

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
                state.eks(account.id, self.world.region).create_cluster(
                    name=cluster,
                    role_arn=f"arn:aws:iam::{account.id}:role/eks-cluster-role",
                    resources_vpc_config={"subnetIds": []},
                )

    def _seed_admins(self) -> None:
        """One administrator per account; its keys are kept in the state directory so that
        ``sandbox env`` output stays valid across restarts."""
        path = self.state_dir / ADMIN_KEYS_FILE
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            kept = {}
        for account in self.world.accounts:
            key, secret = state.ensure_admin(account.id)
            saved = kept.get(account.id)
            if isinstance(saved, list) and len(saved) == 2:
                key, secret = str(saved[0]), str(saved[1])
            self.admin_keys[account.id] = (key, secret)
            self.store.add(
                credentials.Credential(
                    access_key_id=key,
                    secret_access_key=secret,
                    account=account.id,
                    principal_arn=f"arn:aws:iam::{account.id}:user/{state.ADMIN_USER}",
                    user_id=state.user_id(account.id, state.ADMIN_USER),
                )
            )
        path.write_text(
            json.dumps({a: list(k) for a, k in self.admin_keys.items()}), encoding="utf-8"
        )
        path.chmod(0o600)

    def _listen(self, app: Any, port: int, *, tls: bool) -> BaseWSGIServer:
        ssl_context = None
        if tls:
            assert self.ca is not None
            cert, key = self.ca.issue_server_certificate(["127.0.0.1", "localhost"])
            ssl_context = pki.server_ssl_context(cert, key)
        server = make_server(
            HOST,
            port,
            app,
            threaded=True,
            request_handler=_KeepAliveHandler,
            ssl_context=ssl_context,
        )
        thread = threading.Thread(target=server.serve_forever, name=f"sandbox-{port}", daemon=True)
        thread.start()
        self._servers.append(server)
        self._threads.append(thread)
        return server

    def _write_state(self) -> None:
        facts = {
            "pid": os.getpid(),
            "endpoint": self.endpoint,
            "issuer_base": self.issuer_base,
            "region": self.world.region,
            "world_file": str(self.world_file) if self.world_file else None,
            "ca_file": str(self.state_dir / CA_FILE),
            "accounts": {
                account: {"access_key_id": key, "secret_access_key": secret}
                for account, (key, secret) in self.admin_keys.items()
            },
        }
        path = self.state_dir / STATE_FILE
        path.write_text(json.dumps(facts, indent=2), encoding="utf-8")
        path.chmod(0o600)
