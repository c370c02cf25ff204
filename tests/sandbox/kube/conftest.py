"""A KubeApiServer on loopback (TLS from a fresh sandbox CA) and a urllib client for it;
an in-process WSGI client (:class:`App`) for the tests that need no socket.

One server per module: each test names its own objects, so tests stay independent. The
server authenticates the static test tokens and the service-account tokens its issuer
signs (one RSA key per session: key generation is the slow part).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kube_appkit
import pytest
from kube_appkit import (  # noqa: F401 - names the tests here import from this conftest
    ADMIN_TOKEN,
    ISSUER_URL,
    NOBODY_TOKEN,
    READER_TOKEN,
    START,
    App,
    Clock,
    static_tokens,
)
from kube_authkit import GroupAuthorizer, union

from kubetrust.sandbox.host import pki
from kubetrust.sandbox.kube import api, sa_tokens
from kubetrust.sandbox.kube.server import KubeApiServer
from kubetrust.sandbox.kube.store import Store
from kubetrust.sandbox.oidc import ClusterIssuer

KUBECTL = Path(sys.prefix) / "bin" / "kubectl"  # installed by `make setup`; a miss fails

issuer = kube_appkit.issuer
app = kube_appkit.app


class Client:
    """JSON over HTTPS, verified against the sandbox CA; answers ``(status, body)``."""

    def __init__(self, endpoint: str, context: ssl.SSLContext) -> None:
        self.endpoint = endpoint
        self.context = context

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = ADMIN_TOKEN,
        content_type: str = "application/json",
        accept: str = "application/json",
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(self.endpoint + path, data=data, method=method)
        request.add_header("Accept", accept)
        if data is not None:
            request.add_header("Content-Type", content_type)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            text = error.read()
            return error.code, json.loads(text) if text.startswith(b"{") else text


@pytest.fixture(scope="module")
def ca() -> pki.CertificateAuthority:
    return pki.CertificateAuthority.create("kube api test CA")


@pytest.fixture(scope="module")
def kube_server(ca: pki.CertificateAuthority, issuer: ClusterIssuer) -> Iterator[KubeApiServer]:
    store = Store()
    authenticate = union(static_tokens(), sa_tokens.ServiceAccountTokenAuthenticator(issuer, store))
    authorize = GroupAuthorizer(reader_groups=("readers",))
    served = api.KubeApi(authenticate, authorize, store, issuer=issuer, ca_pem=ca.certificate_pem)
    with KubeApiServer(ca, 0, served) as server:
        yield server


@pytest.fixture(scope="module")
def client(kube_server: KubeApiServer, ca: pki.CertificateAuthority) -> Client:
    return Client(kube_server.endpoint, pki.client_ssl_context(ca.certificate_pem))


class Kubectl:
    """Real kubectl with ``KUBECONFIG`` and a private ``HOME`` (its discovery cache lives
    there), so nothing leaks between tests or into the user's files."""

    def __init__(self, home: Path, endpoint: str, ca_pem: bytes) -> None:
        self.home = home
        self.endpoint = endpoint
        self.ca_data = base64.b64encode(ca_pem).decode()

    def config(self, token: str) -> Path:
        path = self.home / f"kubeconfig-{hashlib.sha256(token.encode()).hexdigest()[:16]}"
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": "c",
                            "cluster": {
                                "server": self.endpoint,
                                "certificate-authority-data": self.ca_data,
                            },
                        }
                    ],
                    "users": [{"name": "u", "user": {"token": token}}],
                    "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                    "current-context": "c",
                }
            )
        )
        return path

    def __call__(
        self, *args: str, token: str = ADMIN_TOKEN, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.home),
            "KUBECONFIG": str(self.config(token)),
        }
        return subprocess.run(
            [str(KUBECTL), *args],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )


@pytest.fixture(scope="module")
def kubectl(
    tmp_path_factory: pytest.TempPathFactory,
    kube_server: KubeApiServer,
    ca: pki.CertificateAuthority,
) -> Kubectl:
    home = tmp_path_factory.mktemp("kubectl-home")
    return Kubectl(home, kube_server.endpoint, ca.certificate_pem)
