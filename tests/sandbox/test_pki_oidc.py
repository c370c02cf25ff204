"""The sandbox CA, the EKS-style OIDC issuers and STS's web-identity token check.

Everything that crosses the network here really does: a TLS server on 127.0.0.1 (port 0)
serves the discovery documents and JWKS of three issuers with a certificate of the sandbox
CA, and the real fetcher (and curl, when installed) read them, verifying TLS. Tokens are
minted by :class:`ClusterIssuer` and checked by :func:`verify_web_identity_token`; each
rejection is pinned to the AWS code and message STS gives for it (sources in
``kubetrust.sandbox.oidc``). Random strings, bytes, JWT-shaped JSON and JWKS documents must
only ever raise :class:`TokenRejected`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import pickle
import shutil
import socket
import ssl
import stat
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubetrust.errors import KubetrustError
from kubetrust.sandbox import oidc
from kubetrust.sandbox.host import pki
from kubetrust.sandbox.oidc import TokenRejected

NOW = 1_750_000_000
ACCOUNT = "111111111111"
STS = "sts.amazonaws.com"
UID = "9a1e7b0c-2f4d-4e55-8a3b-5c6d7e8f9a0b"

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# ---------------------------------------------------------------------- a real TLS server
class _Handler(BaseHTTPRequestHandler):
    server: _TlsServer

    def do_GET(self) -> None:
        route = self.server.routes.get(self.path)
        status, headers, body = route if route is not None else (404, {}, b"not found")
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return


class _TlsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = context
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(5)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except OSError:  # a client that does not trust us, or a plain-TCP probe
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()

    def serve_json(self, path: str, document: object) -> None:
        body = json.dumps(document).encode()
        self.routes[path] = (200, {"Content-Type": "application/json"}, body)


@dataclass
class World:
    ca: pki.CertificateAuthority
    other_ca: pki.CertificateAuthority
    server: _TlsServer
    port: int
    a: oidc.ClusterIssuer
    b: oidc.ClusterIssuer
    local: oidc.ClusterIssuer
    fetch: Callable[[str], Mapping[str, Any]]
    providers: dict[str, oidc.OidcProvider] = field(default_factory=dict)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}{path}"


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    ca = pki.CertificateAuthority.create("kubetrust test CA")
    other_ca = pki.CertificateAuthority.create("someone else's CA")
    cert_pem, key_pem = ca.issue_server_certificate(["127.0.0.1", "localhost", "::1"])
    server = _TlsServer(pki.server_ssl_context(cert_pem, key_pem))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    a = oidc.ClusterIssuer.create(f"https://127.0.0.1:{port}/id/AAAA1111")
    b = oidc.ClusterIssuer.create(f"https://127.0.0.1:{port}/id/BBBB2222")
    local = oidc.ClusterIssuer.create(f"https://localhost:{port}/id/CCCC3333")
    for issuer in (a, b, local):
        path = issuer.issuer_url.split(str(port), 1)[1]
        server.serve_json(f"{path}/.well-known/openid-configuration", issuer.discovery_document())
        server.serve_json(f"{path}/keys", issuer.jwks())
    providers = {
        p.url: p
        for p in (oidc.OidcProvider.for_issuer(i.issuer_url, ACCOUNT) for i in (a, b, local))
    }
    fetch = oidc.https_jwks_fetcher(ca.certificate_pem, timeout=3)
    yield World(ca, other_ca, server, port, a, b, local, fetch, providers)
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


# ---------------------------------------------------------------------- helpers
def mint(issuer: oidc.ClusterIssuer, **overrides: Any) -> str:
    request: dict[str, Any] = {
        "namespace": "ci-namespace",
        "service_account": "ci-serviceaccount",
        "service_account_uid": UID,
        "audiences": [STS],
        "expiration_seconds": 3600,
        "now": NOW,
        "pod": ("ci-pod-7d9f", "0b7c2c1e-5b7e-4a58-9a3e-111111111111"),
    }
    request.update(overrides)
    return issuer.mint_service_account_token(**request)


def verify(
    world: World,
    token: str | bytes,
    *,
    now: int = NOW + 60,
    providers: Mapping[str, oidc.OidcProvider] | None = None,
    fetch: Callable[[str], Mapping[str, Any]] | None = None,
) -> oidc.WebIdentity:
    known = world.providers if providers is None else providers
    return oidc.verify_web_identity_token(
        token, provider_lookup=known.get, fetch_jwks=fetch or world.fetch, now=now
    )


def in_memory(world: World) -> Callable[[str], Mapping[str, Any]]:
    """A fetcher that answers from the issuers' JWKS without the network (for fuzzing)."""
    by_url = {i.issuer_url: i.jwks() for i in (world.a, world.b, world.local)}

    def fetch(url: str) -> Mapping[str, Any]:
        if url not in by_url:
            raise oidc.JwksFetchError(f"unknown issuer `{url}`")
        return by_url[url]

    return fetch


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    header, payload, _ = token.split(".")
    return (
        json.loads(base64.urlsafe_b64decode(header + "==")),
        json.loads(base64.urlsafe_b64decode(payload + "==")),
        base64.urlsafe_b64decode(payload + "=="),
    )


def forge(claims: Mapping[str, Any], key: Any, *, kid: str | None, alg: str = "RS256") -> str:
    """A token signed by ``key`` with ``claims`` as given (PyJWT, no claim checks)."""
    headers: dict[str, Any] = {"typ": None}
    if kid is not None:
        headers["kid"] = kid
    payload = json.dumps(dict(claims), separators=(",", ":")).encode()
    return jwt.PyJWS().encode(payload, key, algorithm=alg, headers=headers)


def good_claims(issuer: oidc.ClusterIssuer) -> dict[str, Any]:
    return segments(mint(issuer))[1]


def signing_key(issuer: oidc.ClusterIssuer) -> rsa.RSAPrivateKey:
    pem = issuer.to_dict()["signingKeyPem"].encode()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def rejected(
    call: Callable[[], object], code: str, message: str, status: int = 400
) -> TokenRejected:
    with pytest.raises(TokenRejected) as caught:
        call()
    assert (caught.value.code, caught.value.message, caught.value.status) == (
        code,
        message,
        status,
    ), str(caught.value)
    return caught.value


NOT_A_JWT = oidc.MSG_NOT_A_JWT
NO_KEY = oidc.MSG_NO_KEY


# ====================================================================== PKI
def test_the_ca_certificate_is_a_proper_ca() -> None:
    ca = pki.CertificateAuthority.create("sandbox")
    cert = ca.certificate
    assert cert.subject == cert.issuer
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert dt.timedelta(days=364) < lifetime < dt.timedelta(days=367)
    assert cert.not_valid_before_utc < dt.datetime.now(dt.UTC)


def test_server_certificate_has_what_go_openssl_and_python_require(world: World) -> None:
    cert_pem, key_pem = world.ca.issue_server_certificate(["127.0.0.1", "localhost", "[::1]"])
    cert = x509.load_pem_x509_certificate(cert_pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and not constraints.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and not usage.value.key_cert_sign
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    ca_ski = world.ca.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ca_ski.value.digest
    assert cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert cert.not_valid_after_utc <= world.ca.certificate.not_valid_after_utc
    assert world.ca.issued(cert_pem) and not world.other_ca.issued(cert_pem)
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.public_key() == cert.public_key()


@pytest.mark.parametrize(
    "subject",
    [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ],
)
def test_server_certificate_passes_the_web_pki_verifier(
    world: World, subject: x509.DNSName | x509.IPAddress
) -> None:
    """cryptography's RFC 5280 / CA-B Forum verifier is as strict as Go's crypto/x509."""
    cert_pem, _ = world.ca.issue_server_certificate(["127.0.0.1", "localhost", "::1"])
    leaf = x509.load_pem_x509_certificate(cert_pem)
    verifier = PolicyBuilder().store(Store([world.ca.certificate])).build_server_verifier(subject)
    chain = verifier.verify(leaf, [])
    assert chain[-1] == world.ca.certificate
    stranger = PolicyBuilder().store(Store([world.other_ca.certificate]))
    with pytest.raises(VerificationError):
        stranger.build_server_verifier(subject).verify(leaf, [])


def test_save_and_load_from_keep_the_key_private(tmp_path: Path) -> None:
    ca = pki.CertificateAuthority.create("sandbox")
    state = tmp_path / "state" / "pki"
    ca.save(state)
    assert stat.S_IMODE((state / "ca.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((state / "ca.crt").stat().st_mode) == 0o644
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    loaded = pki.CertificateAuthority.load_from(state)
    assert loaded.certificate_pem == ca.certificate_pem
    assert loaded.key_pem == ca.key_pem
    cert_pem, _ = loaded.issue_server_certificate(["localhost"])
    assert ca.issued(cert_pem)
    (state / "ca.key").chmod(0o644)
    ca.save(state)  # saving again tightens the mode of an existing key file
    assert stat.S_IMODE((state / "ca.key").stat().st_mode) == 0o600
    assert sorted(p.name for p in state.iterdir()) == ["ca.crt", "ca.key"]


def test_load_refuses_what_is_not_this_ca(tmp_path: Path) -> None:
    ca = pki.CertificateAuthority.create("sandbox")
    other = pki.CertificateAuthority.create("other")
    leaf_pem, leaf_key = ca.issue_server_certificate(["localhost"])
    with pytest.raises(pki.PkiError, match="does not belong"):
        pki.CertificateAuthority.load(ca.certificate_pem, other.key_pem)
    with pytest.raises(pki.PkiError, match="not a CA"):
        pki.CertificateAuthority.load(leaf_pem, leaf_key)
    with pytest.raises(pki.PkiError, match="not a PEM"):
        pki.CertificateAuthority.load(b"garbage", ca.key_pem)
    with pytest.raises(pki.PkiError) as caught:
        pki.CertificateAuthority.load(ca.certificate_pem, b"-----BEGIN PRIVATE KEY-----\nxx")
    assert "xx" not in str(caught.value) and caught.value.__cause__ is None
    with pytest.raises(pki.PkiError, match="cannot read"):
        pki.CertificateAuthority.load_from(tmp_path / "missing")
    assert "PRIVATE" not in repr(ca)


@pytest.mark.parametrize(
    "hosts",
    [[], "localhost", ["bad host!"], [""], ["-leading.dash"], ["*"], ["a" * 64 + ".com"], [None]],
)
def test_invalid_hosts_are_refused(hosts: Any) -> None:
    ca = pki.CertificateAuthority.create("sandbox")
    with pytest.raises(pki.PkiError):
        ca.issue_server_certificate(hosts)


def test_ssl_contexts_clean_up_and_refuse_garbage(world: World) -> None:
    before = {p.name for p in Path(tempfile.gettempdir()).glob("kubetrust-tls-*")}
    cert_pem, key_pem = world.ca.issue_server_certificate(["localhost"])
    context = pki.server_ssl_context(cert_pem, key_pem)
    assert isinstance(context, ssl.SSLContext)
    after = {p.name for p in Path(tempfile.gettempdir()).glob("kubetrust-tls-*")}
    assert after == before
    _, other_key = world.other_ca.issue_server_certificate(["localhost"])
    with pytest.raises(pki.PkiError):
        pki.server_ssl_context(cert_pem, other_key)  # key of another certificate
    with pytest.raises(pki.PkiError):
        pki.client_ssl_context(b"not a certificate")
    client = pki.client_ssl_context(world.ca.certificate_pem)
    assert client.check_hostname and client.verify_mode == ssl.CERT_REQUIRED
    assert len(client.get_ca_certs()) == 1  # the sandbox CA only, no system roots


# ====================================================================== curl, a real client
CURL = shutil.which("curl")


def _curl(
    world: World, url: str, ca_pem: bytes, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    bundle = tmp_path / "bundle.crt"
    bundle.write_bytes(ca_pem)
    assert CURL is not None
    return subprocess.run(
        [
            *(CURL, "--silent", "--show-error", "--fail", "--noproxy", "*", "--max-time", "5"),
            *("--cacert", str(bundle), url),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=15,
    )


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_curl_reads_discovery_and_keys_over_verified_tls(
    world: World, host: str, tmp_path: Path
) -> None:
    issuer = world.a if host == "127.0.0.1" else world.local
    path = issuer.issuer_url.split(str(world.port), 1)[1]
    found = _curl(
        world,
        world.url(f"{path}/.well-known/openid-configuration", host),
        world.ca.certificate_pem,
        tmp_path,
    )
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout) == issuer.discovery_document()
    keys = _curl(world, json.loads(found.stdout)["jwks_uri"], world.ca.certificate_pem, tmp_path)
    assert json.loads(keys.stdout) == issuer.jwks()


@pytest.mark.skipif(CURL is None, reason="curl is not installed")
def test_curl_refuses_the_server_under_another_ca(world: World, tmp_path: Path) -> None:
    found = _curl(world, world.url("/id/AAAA1111/keys"), world.other_ca.certificate_pem, tmp_path)
    assert found.returncode == 60, found.stderr  # CURLE_PEER_FAILED_VERIFICATION


# ====================================================================== the cluster issuer
def test_kid_is_the_kubernetes_key_id(world: World) -> None:
    public = signing_key(world.a).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    expected = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")
    assert world.a.key_id == expected == oidc.kubernetes_key_id(public)
    assert len(expected) == 43 and world.a.key_id != world.b.key_id


def test_discovery_document_is_eks_shaped(world: World) -> None:
    assert world.a.discovery_document() == {
        "issuer": world.a.issuer_url,
        "jwks_uri": world.a.issuer_url + "/keys",
        "authorization_endpoint": "urn:kubernetes:programmatic_authorization",
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "claims_supported": ["sub", "iss"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }


def test_jwks_publishes_the_public_key(world: World) -> None:
    (key,) = world.a.jwks()["keys"]
    assert list(key) == ["kty", "kid", "use", "alg", "n", "e"]
    assert (key["kty"], key["kid"], key["use"], key["alg"]) == (
        "RSA",
        world.a.key_id,
        "sig",
        "RS256",
    )
    public = jwt.PyJWK(key).key
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.public_numbers() == signing_key(world.a).public_key().public_numbers()
    assert "d" not in key and key["e"] == "AQAB"


def test_token_header_and_claims_are_exactly_kubernetes(world: World) -> None:
    node = ("ip-10-0-1-23.ec2.internal", "5e0b2a6c-0000-4000-8000-000000000001")
    token = mint(world.a, node=node)
    header, claims, raw = segments(token)
    assert header == {"alg": "RS256", "kid": world.a.key_id}
    assert set(claims) == {"aud", "exp", "iat", "iss", "jti", "kubernetes.io", "nbf", "sub"}
    assert claims["aud"] == [STS]
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (NOW, NOW, NOW + 3600)
    assert claims["iss"] == world.a.issuer_url
    assert claims["sub"] == "system:serviceaccount:ci-namespace:ci-serviceaccount"
    assert uuid.UUID(claims["jti"]).version == 4
    assert claims["kubernetes.io"] == {
        "namespace": "ci-namespace",
        "node": {"name": node[0], "uid": node[1]},
        "pod": {"name": "ci-pod-7d9f", "uid": "0b7c2c1e-5b7e-4a58-9a3e-111111111111"},
        "serviceaccount": {"name": "ci-serviceaccount", "uid": UID},
    }
    # Go's encoder writes map keys sorted, at every level
    assert raw.decode() == json.dumps(claims, separators=(",", ":"), sort_keys=True)
    unbound = segments(mint(world.a, pod=None, audiences=["a", "b"]))[1]
    assert unbound["kubernetes.io"] == {
        "namespace": "ci-namespace",
        "serviceaccount": {"name": "ci-serviceaccount", "uid": UID},
    }
    assert unbound["aud"] == ["a", "b"]
    assert segments(mint(world.a))[1]["jti"] != claims["jti"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"expiration_seconds": 599},
            "spec.expirationSeconds: Invalid value: 599: may not specify a duration less "
            "than 10 minutes",
        ),
        ({"expiration_seconds": 2**32 + 1}, "larger than 2^32 seconds"),
        ({"expiration_seconds": 3600.0}, "must be an integer"),
        ({"expiration_seconds": True}, "must be an integer"),
        ({"audiences": []}, "non-empty list"),
        ({"audiences": "sts.amazonaws.com"}, "must be a list"),
        ({"audiences": [STS, ""]}, "non-empty list"),
        ({"namespace": "CI"}, "invalid namespace `CI`"),
        ({"namespace": "a" * 64}, "invalid namespace"),
        ({"service_account": "ci sa"}, "invalid service account name"),
        ({"service_account_uid": ""}, "invalid service account uid"),
        ({"pod": ("p",)}, "(name, uid) pair"),
        ({"node": ("Node!", "u")}, "invalid node name"),
        ({"now": -1}, "epoch seconds"),
        ({"now": 1.5}, "epoch seconds"),
    ],
)
def test_mint_refuses_what_kubernetes_refuses(
    world: World, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(oidc.TokenRequestError) as caught:
        mint(world.a, **overrides)
    assert message in str(caught.value)


def test_the_minimum_expiration_is_accepted(world: World) -> None:
    claims = segments(mint(world.a, expiration_seconds=oidc.MIN_EXPIRATION_SECONDS))[1]
    assert claims["exp"] - claims["iat"] == 600


@pytest.mark.parametrize(
    "url",
    [
        "http://oidc.example/id/1",
        "oidc.example/id/1",
        "https://",
        "https://oidc.example/id/1/",
        "https://oidc.example/id?x=1",
        "https://oidc.example/id#frag",
        "https://user@oidc.example/id",
        "https://oidc.example:99999/id",
        "https://oidc.example/" + "x" * 250,
        "https://oidc.example/ü",
        42,
    ],
)
def test_issuer_urls_that_kubernetes_or_iam_refuse(url: Any) -> None:
    with pytest.raises(oidc.IssuerError):
        oidc.ClusterIssuer.create(url)


def test_issuer_state_round_trips_and_hides_its_key(world: World) -> None:
    data = json.loads(json.dumps(world.a.to_dict()))
    restored = oidc.ClusterIssuer.from_dict(data)
    assert (restored.issuer_url, restored.key_id) == (world.a.issuer_url, world.a.key_id)
    assert restored.jwks() == world.a.jwks()
    token = mint(restored)
    assert verify(world, token).subject.endswith(":ci-serviceaccount")  # served JWKS of `a`
    assert "PRIVATE" not in repr(world.a) and data["signingKeyPem"] not in repr(world.a)
    bad_states: list[Any] = [
        [],
        {},
        {"issuerUrl": world.a.issuer_url, "signingKeyPem": "nope"},
        {**data, "retiredPublicKeysPem": "x"},
        {**data, "signingKeyPem": pki.CertificateAuthority.create("x").key_pem.decode()},
    ]
    for bad in bad_states:
        with pytest.raises(oidc.IssuerError):
            oidc.ClusterIssuer.from_dict(bad)


def test_rotation_keeps_old_tokens_verifiable(world: World) -> None:
    rotated = world.a.rotated()
    assert rotated.key_id != world.a.key_id and rotated.issuer_url == world.a.issuer_url
    kids = [k["kid"] for k in rotated.jwks()["keys"]]
    assert kids == [rotated.key_id, world.a.key_id]
    served = {world.a.issuer_url: rotated.jwks()}
    old, new = mint(world.a), mint(rotated)
    for token in (old, new):
        assert verify(world, token, fetch=served.__getitem__).issuer == world.a.issuer_url
    again = oidc.ClusterIssuer.from_dict(rotated.to_dict())
    assert again.jwks() == rotated.jwks()


# ====================================================================== the real fetcher
def test_the_fetcher_reads_discovery_then_jwks_over_tls(world: World) -> None:
    for issuer in (world.a, world.b, world.local):
        assert world.fetch(issuer.issuer_url) == issuer.jwks()


def test_the_fetcher_refuses_a_server_under_another_ca(world: World) -> None:
    fetch = oidc.https_jwks_fetcher(world.other_ca.certificate_pem, timeout=3)
    with pytest.raises(oidc.IdpCertificateError, match="did not verify"):
        fetch(world.a.issuer_url)
    rejected(
        lambda: verify(world, mint(world.a), fetch=fetch),
        "InvalidIdentityToken",
        "OpenIDConnect provider's HTTPS certificate doesn't match configured thumbprint",
    )


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ((404, {}, b"no"), "HTTP 404"),
        ((302, {"Location": "https://127.0.0.1:1/x"}, b""), "HTTP 302"),
        ((204, {}, b""), "HTTP 204"),
        ((200, {}, b"<html>"), "did not send JSON"),
        ((200, {}, b"[1, 2]"), "not send a JSON object"),
        ((200, {}, b'{"a": NaN}'), "did not send JSON"),
        ((200, {}, b"[" * 5000 + b"]" * 5000), "did not send JSON"),
        ((200, {}, b'{"pad": "' + b"x" * 20000 + b'"}'), "more than 16384 bytes"),
    ],
)
def test_the_fetcher_refuses_bad_answers(
    world: World, route: tuple[int, dict[str, str], bytes], reason: str
) -> None:
    path = f"/bad/{uuid.uuid4().hex}"
    world.server.routes[path + "/.well-known/openid-configuration"] = route
    fetch = oidc.https_jwks_fetcher(world.ca.certificate_pem, timeout=3, max_bytes=16384)
    with pytest.raises(oidc.JwksFetchError, match=reason) as caught:
        fetch(world.url(path))
    assert not isinstance(caught.value, oidc.IdpCertificateError)


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"jwks_uri": "https://127.0.0.1/keys"}, "names another issuer"),
        ({"issuer": "ISSUER", "jwks_uri": "http://127.0.0.1/keys"}, "no https `jwks_uri`"),
        ({"issuer": "ISSUER"}, "no https `jwks_uri`"),
        ({"issuer": "ISSUER", "jwks_uri": "JWKS_MISSING"}, "HTTP 404"),
    ],
)
def test_the_fetcher_checks_the_discovery_document(
    world: World, document: dict[str, str], reason: str
) -> None:
    path = f"/disc/{uuid.uuid4().hex}"
    issuer = world.url(path)
    text = json.dumps(document).replace("ISSUER", issuer)
    text = text.replace("JWKS_MISSING", world.url(path + "/missing"))
    world.server.serve_json(path + "/.well-known/openid-configuration", json.loads(text))
    with pytest.raises(oidc.JwksFetchError, match=reason):
        world.fetch(issuer)


def test_the_fetcher_gives_up_on_a_silent_server(world: World) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts the TCP handshake, never answers the TLS one
        port = silent.getsockname()[1]
        fetch = oidc.https_jwks_fetcher(world.ca.certificate_pem, timeout=0.5)
        started = time.monotonic()
        with pytest.raises(oidc.JwksFetchError, match="timed out"):
            fetch(f"https://127.0.0.1:{port}/id/silent")
        assert time.monotonic() - started < 3


def test_the_fetcher_reports_a_closed_port(world: World) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(oidc.JwksFetchError, match="cannot reach"):
        world.fetch(f"https://127.0.0.1:{port}/id/gone")


# ====================================================================== STS accepts
def test_minted_tokens_verify(world: World) -> None:
    for issuer in (world.a, world.b, world.local):
        token = mint(issuer)
        identity = verify(world, token)
        provider = world.providers[issuer.issuer_url.removeprefix("https://")]
        assert identity.issuer == issuer.issuer_url
        assert identity.subject == "system:serviceaccount:ci-namespace:ci-serviceaccount"
        assert identity.audience == STS
        assert identity.provider_arn == provider.arn
        assert provider.arn == (
            f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer.issuer_url[len('https://') :]}"
        )
        assert dict(identity.claims) == segments(token)[1]
        assert verify(world, token.encode()).subject == identity.subject


def test_the_matching_audience_is_the_first_client_id_in_token_order(world: World) -> None:
    token = mint(world.a, audiences=["https://kubernetes.default.svc", "b", STS])
    provider = oidc.OidcProvider.for_issuer(world.a.issuer_url, ACCOUNT, ("b", STS))
    identity = verify(world, token, providers={provider.url: provider})
    assert identity.audience == "b"


def test_a_token_is_valid_from_nbf_until_just_before_exp(world: World) -> None:
    token = mint(world.a)
    assert verify(world, token, now=NOW).audience == STS
    assert verify(world, token, now=NOW + 3599).audience == STS


def test_es256_tokens_are_accepted_when_the_jwks_has_the_ec_key(world: World) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwks = {"keys": [{**jwk, "kid": "ec-1", "use": "sig", "alg": "ES256"}]}
    token = forge(good_claims(world.a), key, kid="ec-1", alg="ES256")
    assert verify(world, token, fetch=lambda _: jwks).subject.endswith("ci-serviceaccount")
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    wrong_curve = {**jwt.algorithms.ECAlgorithm.to_jwk(p384, as_dict=True), "kid": "ec-1"}
    rejected(
        lambda: verify(world, token, fetch=lambda _: {"keys": [wrong_curve]}),
        "InvalidIdentityToken",
        NO_KEY,
    )


# ====================================================================== STS rejects
def test_another_clusters_key_under_its_own_kid(world: World) -> None:
    """Signed by cluster B (B's kid), claiming to come from A: A's JWKS has no such key."""
    token = forge(good_claims(world.a), signing_key(world.b), kid=world.b.key_id)
    rejected(lambda: verify(world, token), "InvalidIdentityToken", NO_KEY)


def test_another_clusters_key_under_the_right_kid(world: World) -> None:
    """Same kid format, same kid as A's key, but signed by B's key: the signature fails."""
    token = forge(good_claims(world.a), signing_key(world.b), kid=world.a.key_id)
    error = rejected(lambda: verify(world, token), "InvalidIdentityToken", oidc.MSG_BAD_SIGNATURE)
    assert "signature" in error.detail


def test_a_tampered_payload_breaks_the_signature(world: World) -> None:
    header, _, signature = mint(world.a).split(".")
    claims = good_claims(world.a)
    claims["sub"] = "system:serviceaccount:kube-system:admin"
    payload = b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    token = f"{header}.{payload}.{signature}"
    rejected(lambda: verify(world, token), "InvalidIdentityToken", oidc.MSG_BAD_SIGNATURE)


def test_alg_none_is_not_a_valid_jwt(world: World) -> None:
    claims = good_claims(world.a)
    header = b64(json.dumps({"alg": "none"}).encode())
    token = f"{header}.{b64(json.dumps(claims).encode())}."
    rejected(lambda: verify(world, token), "InvalidIdentityToken", NOT_A_JWT)


def test_hs256_with_the_public_key_as_secret_is_refused(world: World) -> None:
    public_pem = (
        signing_key(world.a)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = b64(json.dumps({"alg": "HS256", "kid": world.a.key_id}).encode())
    payload = b64(json.dumps(good_claims(world.a)).encode())
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{b64(mac)}"
    error = rejected(lambda: verify(world, token), "InvalidIdentityToken", NOT_A_JWT)
    assert "HS256" in error.detail


@pytest.mark.parametrize("late", [0, 1234])
def test_an_expired_token_is_expired(world: World, late: int) -> None:
    """At ``exp`` already (RFC 7519: now must be *before* exp). STS writes no space
    between "date/time" and the expiry (awslabs/aws-orbit-workbench#771)."""
    token = mint(world.a, expiration_seconds=600)
    exp = NOW + 600
    rejected(
        lambda: verify(world, token, now=exp + late),
        "ExpiredTokenException",
        f"Token expired: current date/time {exp + late} must be before the expiration "
        f"date/time{exp}",
    )


def test_a_token_from_the_future_is_not_yet_valid(world: World) -> None:
    token = mint(world.a, now=NOW + 100)
    error = rejected(
        lambda: verify(world, token, now=NOW),
        "InvalidIdentityToken",
        f"Token not yet valid: current date/time {NOW} must not be before the not-before "
        f"date/time {NOW + 100}",
    )
    assert "nbf" in error.detail


def test_a_wrong_audience_is_incorrect(world: World) -> None:
    token = mint(world.a, audiences=["https://kubernetes.default.svc"])
    rejected(lambda: verify(world, token), "InvalidIdentityToken", "Incorrect token audience")


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "exp"])
def test_a_missing_claim_is_named(world: World, claim: str) -> None:
    claims = good_claims(world.a)
    del claims[claim]
    token = forge(claims, signing_key(world.a), kid=world.a.key_id)
    rejected(
        lambda: verify(world, token), "InvalidIdentityToken", f"Missing a required claim: {claim}"
    )


def test_an_empty_audience_list_is_a_missing_aud(world: World) -> None:
    claims = {**good_claims(world.a), "aud": []}
    token = forge(claims, signing_key(world.a), kid=world.a.key_id)
    rejected(lambda: verify(world, token), "InvalidIdentityToken", "Missing a required claim: aud")


def test_no_provider_in_the_roles_account(world: World) -> None:
    token = mint(world.a)
    rejected(
        lambda: verify(world, token, providers={}),
        "InvalidIdentityToken",
        f"No OpenIDConnect provider found in your account for {world.a.issuer_url}",
    )


def test_a_token_of_another_issuer_finds_no_provider(world: World) -> None:
    only_b = {k: v for k, v in world.providers.items() if v.url.endswith("BBBB2222")}
    rejected(
        lambda: verify(world, mint(world.a), providers=only_b),
        "InvalidIdentityToken",
        f"No OpenIDConnect provider found in your account for {world.a.issuer_url}",
    )


def test_a_provider_of_another_url_does_not_count(world: World) -> None:
    b = world.providers[world.b.issuer_url.removeprefix("https://")]
    rejected(
        lambda: oidc.verify_web_identity_token(
            mint(world.a), provider_lookup=lambda _: b, fetch_jwks=world.fetch, now=NOW
        ),
        "InvalidIdentityToken",
        f"No OpenIDConnect provider found in your account for {world.a.issuer_url}",
    )


def test_a_token_claiming_another_issuer_has_no_key_there(world: World) -> None:
    """A's key, A's kid, but ``iss`` = B: STS fetches B's keys, which lack A's kid."""
    claims = {**good_claims(world.a), "iss": world.b.issuer_url}
    token = forge(claims, signing_key(world.a), kid=world.a.key_id)
    rejected(lambda: verify(world, token), "InvalidIdentityToken", NO_KEY)


def test_an_issuer_without_scheme_matches_no_provider(world: World) -> None:
    claims = {**good_claims(world.a), "iss": "kubernetes/serviceaccount"}
    token = forge(claims, signing_key(world.a), kid=world.a.key_id)
    rejected(
        lambda: verify(world, token),
        "InvalidIdentityToken",
        "No OpenIDConnect provider found in your account for kubernetes/serviceaccount",
    )


def test_unreachable_keys_cannot_be_retrieved(world: World) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gone = oidc.ClusterIssuer.create(f"https://127.0.0.1:{port}/id/GONE")
    provider = oidc.OidcProvider.for_issuer(gone.issuer_url, ACCOUNT)
    error = rejected(
        lambda: verify(world, mint(gone), providers={provider.url: provider}),
        "InvalidIdentityToken",
        NO_KEY,
    )
    assert "cannot reach" in error.detail


@pytest.mark.parametrize("answer", [[], {}, {"keys": "x"}, {"keys": [1, "k", None]}])
def test_a_jwks_without_keys_means_no_key(world: World, answer: Any) -> None:
    token = mint(world.a)
    rejected(lambda: verify(world, token, fetch=lambda _: answer), "InvalidIdentityToken", NO_KEY)


def test_a_fetcher_that_breaks_its_contract_still_means_no_key(world: World) -> None:
    def broken(_: str) -> Mapping[str, Any]:
        raise ConnectionResetError("peer reset")

    rejected(lambda: verify(world, mint(world.a), fetch=broken), "InvalidIdentityToken", NO_KEY)


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", NOW + 3600.5),
        ("exp", str(NOW + 3600)),
        ("exp", True),
        ("nbf", 1.0),
        ("iat", "now"),
        ("iss", 42),
        ("sub", ""),
        ("aud", [STS, 7]),
        ("aud", {"x": 1}),
    ],
)
def test_claims_of_the_wrong_type_are_not_a_valid_jwt(
    world: World, claim: str, value: object
) -> None:
    claims = {**good_claims(world.a), claim: value}
    token = forge(claims, signing_key(world.a), kid=world.a.key_id)
    error = rejected(lambda: verify(world, token), "InvalidIdentityToken", NOT_A_JWT)
    assert claim in error.detail


@pytest.mark.parametrize(
    "token",
    [
        "abcd",
        "a.b.c",
        "....",
        "eyJhbGciOiJSUzI1NiJ9.e30",  # two segments
        "x" * 100,
        "ab.cd.ef.gh",
        "é.é.é",
        "eyJhbGciOiJSUzI1NiJ9.W10.c2ln",  # payload is a JSON array
        "W10.e30.c2ln",  # header is a JSON array
        "eyJhbGciOiJSUzI1NiJ9.e30=.c2ln=",  # a padded signature segment of bad length
    ],
)
def test_garbage_is_not_a_valid_jwt(world: World, token: str) -> None:
    rejected(lambda: verify(world, token), "InvalidIdentityToken", NOT_A_JWT)


@pytest.mark.parametrize("token", ["abc", "x" * 20001])
def test_the_token_length_is_validated_first(world: World, token: str) -> None:
    error = rejected(
        lambda: verify(world, token),
        "ValidationError",
        "1 validation error detected: Value at 'webIdentityToken' failed to satisfy "
        "constraint: Member must have length between 4 and 20000",
    )
    assert str(len(token)) in error.detail


def test_the_order_of_checks(world: World) -> None:
    key, kid = signing_key(world.a), world.a.key_id
    # a legacy token (no aud, iss matching no provider): the missing claim comes first
    legacy = forge({"iss": "kubernetes/serviceaccount", "sub": "s", "exp": NOW + 9}, key, kid=kid)
    rejected(lambda: verify(world, legacy), "InvalidIdentityToken", "Missing a required claim: aud")
    # expired, and under a wrong audience: expiry first (reference B.3)
    expired = mint(world.a, audiences=["other"], expiration_seconds=600)
    rejected(
        lambda: verify(world, expired, now=NOW + 601),
        "ExpiredTokenException",
        (
            f"Token expired: current date/time {NOW + 601} must be before the expiration "
            f"date/time{NOW + 600}"
        ),
    )
    # forged and expired: the signature first
    forged = forge(segments(expired)[1], signing_key(world.b), kid=kid)
    rejected(
        lambda: verify(world, forged, now=NOW + 601), "InvalidIdentityToken", oidc.MSG_BAD_SIGNATURE
    )
    # no provider, and keys that cannot be fetched: the provider first, nothing fetched
    calls: list[str] = []

    def fetch(url: str) -> Mapping[str, Any]:
        calls.append(url)
        return world.fetch(url)

    rejected(
        lambda: verify(world, mint(world.a), providers={}, fetch=fetch),
        "InvalidIdentityToken",
        f"No OpenIDConnect provider found in your account for {world.a.issuer_url}",
    )
    assert calls == []


def test_a_non_integer_clock_is_a_caller_bug(world: World) -> None:
    with pytest.raises(KubetrustError) as caught:
        oidc.verify_web_identity_token(
            mint(world.a),
            provider_lookup=world.providers.get,
            fetch_jwks=world.fetch,
            now=1.5,  # type: ignore[arg-type]
        )
    assert not isinstance(caught.value, TokenRejected)


def test_rejections_print_and_pickle_without_the_token(world: World) -> None:
    token = mint(world.a, audiences=["other"])
    error = rejected(
        lambda: verify(world, token), "InvalidIdentityToken", "Incorrect token audience"
    )
    assert str(error).startswith("InvalidIdentityToken: Incorrect token audience (")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.code, copy.message, copy.status, copy.detail) == (
        error.code,
        error.message,
        error.status,
        error.detail,
    )
    assert token not in str(error) and token.split(".")[1] not in str(error)


def test_tokens_and_keys_are_never_logged(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="kubetrust")
    token = mint(world.a)
    verify(world, token)
    with pytest.raises(TokenRejected):
        verify(world, token, providers={})
    ca = pki.CertificateAuthority.create("logged")
    ca.issue_server_certificate(["localhost"])
    text = caplog.text
    assert token not in text and token.split(".")[2] not in text
    assert "PRIVATE KEY" not in text and ca.key_pem.decode() not in text


# ====================================================================== fuzzing
JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@FUZZ
@given(token=st.text(max_size=400) | st.text(alphabet="abcXYZ019-_.=", max_size=400))
def test_random_strings_are_only_ever_rejected(world: World, token: str) -> None:
    with pytest.raises(TokenRejected):
        verify(world, token, fetch=in_memory(world))


@FUZZ
@given(token=st.binary(max_size=400))
def test_random_bytes_are_only_ever_rejected(world: World, token: bytes) -> None:
    with pytest.raises(TokenRejected):
        verify(world, token, fetch=in_memory(world))


@FUZZ
@given(
    header=st.dictionaries(
        st.sampled_from(["alg", "kid", "typ", "crit", "b64"]), JSONISH, max_size=4
    )
    | st.fixed_dictionaries(
        {"alg": st.sampled_from(oidc.ALLOWED_ALGORITHMS)},
        optional={"kid": st.text(max_size=50) | JSONISH},
    ),
    claims=st.dictionaries(
        st.sampled_from(["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "kubernetes.io"]),
        JSONISH,
        max_size=8,
    ),
    issuer=st.sampled_from(["a", "b", "none"]),
    signature=st.binary(max_size=300),
    raw_header=st.booleans(),
)
def test_jwt_shaped_junk_is_only_ever_rejected(
    world: World,
    header: dict[str, Any],
    claims: dict[str, Any],
    issuer: str,
    signature: bytes,
    raw_header: bool,
) -> None:
    if issuer != "none":
        claims = {**claims, "iss": getattr(world, issuer).issuer_url}
    try:
        head = json.dumps(header).encode() if not raw_header else json.dumps([header]).encode()
        body = json.dumps(claims).encode()
    except (ValueError, OverflowError):
        return
    token = f"{b64(head)}.{b64(body)}.{b64(signature)}"
    with pytest.raises(TokenRejected):
        verify(world, token, fetch=in_memory(world))


JWK_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "kty": st.sampled_from(["RSA", "EC", "oct", "OKP", ""]) | JSONISH,
        "kid": st.just("KID") | JSONISH,
        "use": st.sampled_from(["sig", "enc"]) | JSONISH,
        "alg": st.sampled_from(["RS256", "ES256", "HS256"]) | JSONISH,
        "n": st.sampled_from(["N", "AQAB", ""]) | JSONISH,
        "e": st.sampled_from(["AQAB", "AQ"]) | JSONISH,
        "crv": st.sampled_from(["P-256", "P-384", "X"]) | JSONISH,
        "x": JSONISH,
        "y": JSONISH,
        "d": JSONISH,
    },
)


@FUZZ
@given(
    document=st.fixed_dictionaries({"keys": st.lists(JWK_FIELDS | JSONISH, max_size=4)}) | JSONISH
)
def test_junk_key_sets_only_ever_reject(world: World, document: Any) -> None:
    real = world.a.jwks()["keys"][0]

    def restore(entry: Any) -> Any:
        if isinstance(entry, dict):
            return {
                k: real[k] if v in ("KID", "N") and k in ("kid", "n") else v
                for k, v in entry.items()
            }
        return entry

    if isinstance(document, dict) and isinstance(document.get("keys"), list):
        document = {"keys": [restore(e) for e in document["keys"]]}
    token = mint(world.a)
    try:
        identity = verify(world, token, fetch=lambda _: document)
    except TokenRejected as error:
        assert error.code == "InvalidIdentityToken"
        assert error.message in (NO_KEY, oidc.MSG_BAD_SIGNATURE)
    else:  # only the real key can have verified the token
        assert identity.issuer == world.a.issuer_url
