"""A KubeApiServer on loopback (TLS from a fresh sandbox CA) and a urllib client for it.

One server per module: each test names its own objects, so tests stay independent.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from kubetrust.sandbox import pki
from kubetrust.sandbox.kube import api, auth
from kubetrust.sandbox.kube.server import KubeApiServer

ADMIN_TOKEN = "admin-token"
READER_TOKEN = "reader-token"
NOBODY_TOKEN = "nobody-token"


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
def kube_server(ca: pki.CertificateAuthority) -> Iterator[KubeApiServer]:
    tokens = auth.StaticTokens(
        {
            ADMIN_TOKEN: auth.admin_user(),
            READER_TOKEN: auth.User("reader", uid="r-1", groups=("readers",)),
            NOBODY_TOKEN: auth.User("nobody", uid="n-1"),
        }
    )
    app = api.KubeApi(tokens, auth.GroupAuthorizer(reader_groups=("readers",)))
    with KubeApiServer(ca, 0, app) as server:
        yield server


@pytest.fixture(scope="module")
def client(kube_server: KubeApiServer, ca: pki.CertificateAuthority) -> Client:
    return Client(kube_server.endpoint, pki.client_ssl_context(ca.certificate_pem))
