"""The sandbox certificate authority: one private CA that every sandbox TLS endpoint uses.

Real clients only talk to the sandbox if TLS verifies, so the certificates issued here must
pass the strictest verifier that will see them: Go's ``crypto/x509`` (kubectl), OpenSSL
with ``X509_STRICT`` (Python ``ssl``, curl) and the Web PKI profile of RFC 5280. Hence:
a CA with critical ``basicConstraints CA:TRUE, pathlen:0`` and ``keyCertSign``; leaves
with the host names and addresses in the subjectAltName (Go ignores the CN), ``CA:FALSE``,
``digitalSignature`` key usage, the ``serverAuth`` extended key usage, and subject and
authority key identifiers chaining leaf to CA. Keys are EC P-256.

This module refuses to do anything else: no certificate revocation, no intermediates, no
client certificates, no encrypted private keys (the sandbox state directory is private;
:meth:`CertificateAuthority.save` writes the key ``0600``). Private keys never reach a log
or an error message.

Fidelity gaps: the real EKS endpoints present certificates of public CAs (for the OIDC
issuer, Amazon's); in the sandbox that role is played by this CA, which clients trust
explicitly (``--cacert``, kubeconfig ``certificate-authority-data``, ``AWS_CA_BUNDLE``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import logging
import os
import re
import ssl
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kubetrust.errors import KubetrustError

logger = logging.getLogger(__name__)

__all__ = [
    "CA_CERT_FILE",
    "CA_KEY_FILE",
    "CertificateAuthority",
    "PkiError",
    "client_ssl_context",
    "server_ssl_context",
]

CA_CERT_FILE = "ca.crt"
CA_KEY_FILE = "ca.key"

_CA_VALIDITY = dt.timedelta(days=365)
_LEAF_VALIDITY = dt.timedelta(days=365)
# Certificates start an hour in the past so that a client whose clock lags a little still
# accepts them (the same margin cfssl and kubeadm use for their backdating).
_BACKDATE = dt.timedelta(hours=1)
_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


class PkiError(KubetrustError):
    """A certificate or key that cannot be created, read or used as asked."""


class CertificateAuthority:
    """A self-signed CA (EC P-256) that issues TLS server certificates for the sandbox.

    Build one with :meth:`create`, or read one back with :meth:`load` (PEM bytes) or
    :meth:`load_from` (a directory written by :meth:`save`).
    """

    __slots__ = ("_certificate", "_key")

    def __init__(self, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        self._certificate = certificate
        self._key = key

    def __repr__(self) -> str:
        return f"CertificateAuthority(subject={self._certificate.subject.rfc4514_string()!r})"

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(
        cls, name: str, *, now: dt.datetime | None = None, validity: dt.timedelta = _CA_VALIDITY
    ) -> CertificateAuthority:
        """A new CA whose subject CN is ``name``, valid from an hour before ``now``
        (default: the current time) for ``validity`` (default one year)."""
        if not isinstance(name, str) or not name.strip() or len(name) > 64:
            raise PkiError(f"invalid CA name `{name}`: must be 1 to 64 characters")
        start = _aware(now) - _BACKDATE
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "kubetrust sandbox"),
                x509.NameAttribute(NameOID.COMMON_NAME, name),
            ]
        )
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + _BACKDATE + validity)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                critical=False,
            )
            .sign(key, hashes.SHA256())
        )
        logger.debug("created sandbox CA %s", subject.rfc4514_string())
        return cls(certificate, key)

    @classmethod
    def load(cls, cert_pem: bytes, key_pem: bytes) -> CertificateAuthority:
        """The CA whose certificate and (unencrypted) private key are these PEM bytes.

        Raises :class:`PkiError` when either does not parse, the key does not belong to
        the certificate, or the certificate is not a CA certificate."""
        try:
            certificate = x509.load_pem_x509_certificate(cert_pem)
        except (ValueError, TypeError) as exc:
            raise PkiError("CA certificate is not a PEM X.509 certificate") from exc
        try:
            key = serialization.load_pem_private_key(key_pem, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            # the key text itself is secret: never chain its parse error
            raise PkiError("CA key is not an unencrypted PEM private key") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise PkiError("CA key must be an EC private key")
        if key.public_key() != certificate.public_key():
            raise PkiError("CA key does not belong to the CA certificate")
        try:
            constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        except x509.ExtensionNotFound:
            raise PkiError("certificate has no basicConstraints: not a CA") from None
        if not constraints.value.ca:
            raise PkiError("certificate has basicConstraints CA:FALSE: not a CA")
        return cls(certificate, key)

    @classmethod
    def load_from(cls, directory: Path) -> CertificateAuthority:
        """The CA saved in ``directory`` by :meth:`save` (``ca.crt`` and ``ca.key``)."""
        directory = Path(directory)
        try:
            cert_pem = (directory / CA_CERT_FILE).read_bytes()
            key_pem = (directory / CA_KEY_FILE).read_bytes()
        except OSError as exc:
            raise PkiError(f"cannot read the CA from `{directory}`: {exc.strerror}") from exc
        return cls.load(cert_pem, key_pem)

    def save(self, directory: Path) -> None:
        """Write ``ca.crt`` (mode 0644) and ``ca.key`` (mode 0600) into ``directory``,
        creating it (mode 0700) if needed. Each file is replaced atomically."""
        directory = Path(directory)
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write_atomically(directory / CA_CERT_FILE, self.certificate_pem, 0o644)
            _write_atomically(directory / CA_KEY_FILE, self.key_pem, 0o600)
        except OSError as exc:
            raise PkiError(f"cannot save the CA to `{directory}`: {exc.strerror}") from exc

    # ------------------------------------------------------------------ accessors
    @property
    def certificate(self) -> x509.Certificate:
        """The CA certificate."""
        return self._certificate

    @property
    def certificate_pem(self) -> bytes:
        """The CA certificate in PEM: what clients must trust."""
        return self._certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        """The CA private key in unencrypted PKCS#8 PEM. Secret."""
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    # ------------------------------------------------------------------ issuing
    def issue_server_certificate(
        self,
        hosts: Sequence[str],
        *,
        now: dt.datetime | None = None,
        validity: dt.timedelta = _LEAF_VALIDITY,
    ) -> tuple[bytes, bytes]:
        """A TLS server certificate for ``hosts`` and its new private key, both PEM.

        Each host is a DNS name (``localhost``, ``oidc.eks.local``, ``*.example``) or an
        IP address (``127.0.0.1``, ``::1``, also ``[::1]``); addresses become iPAddress
        subjectAltNames, names dNSName ones. The first host is also the subject CN. The
        certificate never outlives the CA."""
        if isinstance(hosts, str | bytes) or not hosts:
            raise PkiError("a server certificate needs a non-empty list of host names")
        names = _subject_alt_names(hosts)
        key = ec.generate_private_key(ec.SECP256R1())
        start = _aware(now) - _BACKDATE
        end = min(start + _BACKDATE + validity, self._certificate.not_valid_after_utc)
        if end <= start:
            raise PkiError("the CA has expired: cannot issue certificates")
        ca_ski = self._certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _cn(hosts[0]))]))
            .issuer_name(self._certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski.value),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        logger.debug("issued a server certificate for %s", ", ".join(map(str, hosts)))
        return certificate.public_bytes(serialization.Encoding.PEM), key_pem

    def issued(self, cert_pem: bytes) -> bool:
        """Whether ``cert_pem`` is a certificate signed by this CA (signature check only)."""
        try:
            certificate = x509.load_pem_x509_certificate(cert_pem)
            certificate.verify_directly_issued_by(self._certificate)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True


# ---------------------------------------------------------------------- ssl contexts
def server_ssl_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """An ``SSLContext`` for a TLS server presenting ``cert_pem`` with ``key_pem``.

    Python's ``ssl`` loads certificates only from files, so both are written into a fresh
    private temporary directory (0700, files 0600) and removed as soon as they are loaded.
    TLS 1.2 is the minimum, as on EKS endpoints."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with tempfile.TemporaryDirectory(prefix="kubetrust-tls-") as private:
        os.chmod(private, 0o700)
        cert_path = Path(private) / "tls.crt"
        key_path = Path(private) / "tls.key"
        _write_private(cert_path, cert_pem)
        _write_private(key_path, key_pem)
        try:
            context.load_cert_chain(certfile=str(cert_path), keyfile=str(key_path))
        except ssl.SSLError as exc:
            raise PkiError(
                f"cannot use this certificate and key for TLS: {exc.reason or 'invalid'}"
            ) from None
    return context


def client_ssl_context(ca_pem: bytes) -> ssl.SSLContext:
    """An ``SSLContext`` for a TLS client that trusts only the CA(s) in ``ca_pem``.

    Hostname checking and certificate verification are on (Python's defaults for
    ``create_default_context``); the system trust store is *not* loaded, so a server
    certified by any other CA is refused."""
    try:
        text = ca_pem.decode("ascii")
    except (UnicodeDecodeError, AttributeError):
        raise PkiError("CA bundle is not ASCII PEM text") from None
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=text)
    except (ssl.SSLError, ValueError) as exc:
        raise PkiError("CA bundle holds no usable PEM certificate") from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


# ---------------------------------------------------------------------- helpers
def _aware(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise PkiError("`now` must be a timezone-aware datetime")
    return now.astimezone(dt.UTC)


def _subject_alt_names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        name = _general_name(host)
        if name not in names:
            names.append(name)
    return names


def _general_name(host: object) -> x509.GeneralName:
    if not isinstance(host, str) or not host:
        raise PkiError(f"invalid host `{host}`: must be a non-empty string")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return x509.IPAddress(ipaddress.ip_address(bare))
    except ValueError:
        pass
    name = host.rstrip(".").lower()
    labels = name.split(".")
    if labels[0] == "*":
        labels = labels[1:]
    if (
        len(name) > 253
        or not labels
        or not all(_DNS_LABEL.fullmatch(label) for label in labels)
        or not name.isascii()
    ):
        raise PkiError(f"invalid host `{host}`: not an IP address or a DNS name")
    return x509.DNSName(name)


def _cn(host: str) -> str:
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return bare[:64]


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
