"""Serve a cluster's API over HTTPS on loopback, as DescribeCluster's endpoint promises.

The certificate is issued by the sandbox CA for ``127.0.0.1`` and ``localhost`` (what the
kubeconfig's ``certificate-authority-data`` must verify). The listener is the sandbox's
(:class:`~kubetrust.sandbox.host.http.Listener`): keep-alive, so kubectl's many discovery calls
share one TLS connection instead of a handshake each; TLS negotiated in each connection's
thread, so an idle client cannot freeze the port; bodies cut at the apiserver's limit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from kubetrust.sandbox.host import pki
from kubetrust.sandbox.host.http import Listener
from kubetrust.sandbox.kube.api import KubeApi
from kubetrust.sandbox.kube.bodies import MAX_BODY

HOST = "127.0.0.1"
HOSTS = ("127.0.0.1", "localhost")
WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class KubeApiServer:
    """A TLS listener for one API server app; :meth:`start` returns once it listens."""

    def __init__(self, ca: pki.CertificateAuthority, port: int, app: WsgiApp) -> None:
        self.ca = ca
        self.port = port
        self.app = app
        self._server: Listener | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """``https://127.0.0.1:<port>``: the cluster endpoint for a kubeconfig."""
        return f"https://{HOST}:{self.port}"

    def start(self) -> KubeApiServer:
        cert_pem, key_pem = self.ca.issue_server_certificate(list(HOSTS))
        context = pki.server_ssl_context(cert_pem, key_pem)
        server = Listener(HOST, self.port, self.app, tls=context, max_body=MAX_BODY)
        self.port = server.server_port
        if isinstance(self.app, KubeApi):  # APIVersions names the address clients use
            self.app.server_address = f"{HOST}:{self.port}"
        self._server = server
        self._thread = server.serve_in_thread(f"kube-api-{self.port}")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> KubeApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
