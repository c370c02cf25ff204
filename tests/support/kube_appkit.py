"""The Kubernetes API server in-process, for tests that need no socket: :class:`App` (the
WSGI app with a store, a clock moved by hand and a service-account issuer), the static test
tokens, and the ``issuer``/``app`` fixtures that ``tests/unit/sandbox/kube/`` and
``tests/sandbox/kube/`` both use (their conftests import them)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from kube_authkit import GroupAuthorizer, StaticTokens, admin_user, union
from werkzeug.test import Client as WsgiClient

from kubetrust.sandbox.kube import api, auth, sa_tokens
from kubetrust.sandbox.kube.store import Store
from kubetrust.sandbox.oidc import ClusterIssuer

ADMIN_TOKEN = "admin-token"
READER_TOKEN = "reader-token"
NOBODY_TOKEN = "nobody-token"
ISSUER_URL = "https://oidc.eks.us-west-2.amazonaws.com/id/5C2A1B0E9D8F7A6B5C4D3E2F1A0B9C8D"
START = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def static_tokens() -> StaticTokens:
    return StaticTokens(
        {
            ADMIN_TOKEN: admin_user(),
            READER_TOKEN: auth.User("reader", uid="r-1", groups=("readers",)),
            NOBODY_TOKEN: auth.User("nobody", uid="n-1"),
        }
    )


class Clock:
    """A clock tests move by hand."""

    def __init__(self, start: dt.datetime = START) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


class App:
    """The WSGI app in-process: ``call`` answers ``(status, JSON body)`` like
    :class:`Client`; ``app``, ``store``, ``clock`` and ``issuer`` are at hand."""

    def __init__(self, issuer: ClusterIssuer, *, region: str = "us-west-2") -> None:
        self.clock = Clock()
        self.store = Store(self.clock)
        self.issuer = issuer
        self.sa_auth = sa_tokens.ServiceAccountTokenAuthenticator(issuer, self.store, self.clock)
        self.app = api.KubeApi(
            union(static_tokens(), self.sa_auth),
            GroupAuthorizer(reader_groups=("readers",)),
            self.store,
            issuer=issuer,
            region=region,
            clock=self.clock,
            ca_pem=b"-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n",
        )
        self.client = WsgiClient(self.app)

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = ADMIN_TOKEN,
        content_type: str = "application/json",
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is not None:
            headers["Content-Type"] = content_type
        response = self.client.open(path, method=method, data=data, headers=headers)
        text = response.get_data()
        try:
            return response.status_code, json.loads(text) if text else None
        except ValueError:
            return response.status_code, text


@pytest.fixture(scope="session")
def issuer() -> ClusterIssuer:
    return ClusterIssuer.create(ISSUER_URL)


@pytest.fixture
def app(issuer: ClusterIssuer) -> App:
    return App(issuer)
