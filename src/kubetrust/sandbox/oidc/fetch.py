"""Fetching an issuer's keys as STS does: :func:`https_jwks_fetcher`."""

from __future__ import annotations

import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from http.client import HTTPException
from typing import Any

from kubetrust import errors as kubetrust_errors
from kubetrust.sandbox.host import pki
from kubetrust.sandbox.oidc import errors, verifier


# ---------------------------------------------------------------------- fetching keys
def https_jwks_fetcher(
    ca_pem: bytes, timeout: float = 5.0, *, max_bytes: int = 256 * 1024
) -> Callable[[str], Mapping[str, Any]]:
    """A ``fetch_jwks`` for :func:`verify_web_identity_token` that does what STS does.

    For an issuer URL it GETs ``<issuer>/.well-known/openid-configuration``, checks that
    the document is a JSON object whose ``issuer`` is that URL and whose ``jwks_uri`` is an
    ``https`` URL, then GETs the ``jwks_uri`` and returns the JSON object found there.

    TLS is verified against ``ca_pem`` only (hostname checked, no system CAs); redirects
    are not followed; proxies from the environment are ignored (the sandbox lives on
    loopback); each document may be at most ``max_bytes`` and each fetch must finish within
    ``timeout`` seconds (STS gives up after about 5 s). Failures raise
    :class:`JwksFetchError`, or :class:`IdpCertificateError` for a certificate that does
    not verify."""
    context = pki.client_ssl_context(ca_pem)
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        urllib.request.HTTPSHandler(context=context),
        _NoRedirects(),
    )

    def fetch(issuer_url: str) -> Mapping[str, Any]:
        discovery_url = f"{issuer_url.rstrip('/')}/.well-known/openid-configuration"
        discovery = _get_json(opener, discovery_url, timeout, max_bytes)
        if discovery.get("issuer") != issuer_url:
            raise errors.JwksFetchError(
                f"the discovery document at `{discovery_url}` names another issuer"
            )
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith("https://"):
            raise errors.JwksFetchError(
                f"the discovery document at `{discovery_url}` has no https `jwks_uri`"
            )
        return _get_json(opener, jwks_uri, timeout, max_bytes)

    return fetch


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _get_json(
    opener: urllib.request.OpenerDirector, url: str, timeout: float, max_bytes: int
) -> dict[str, Any]:
    body = _download(opener, url, timeout, max_bytes)
    try:
        document = kubetrust_errors.decode_json(body, parse_constant=verifier.reject_json_constant)
    except (ValueError, RecursionError):
        raise errors.JwksFetchError(f"`{_short(url)}` did not send JSON") from None
    if not isinstance(document, dict):
        raise errors.JwksFetchError(f"`{_short(url)}` did not send a JSON object")
    return document


def _download(
    opener: urllib.request.OpenerDirector, url: str, timeout: float, max_bytes: int
) -> bytes:
    """The body of a 200 answer to GET ``url``, within ``timeout`` and ``max_bytes``."""
    if not url.startswith("https://"):
        raise errors.JwksFetchError(f"refusing to fetch `{_short(url)}`: not https")
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    body = bytearray()
    try:
        with opener.open(request, timeout=timeout) as response:
            status = response.status
            while chunk := response.read(64 * 1024):
                body += chunk
                if len(body) > max_bytes:
                    raise errors.JwksFetchError(f"`{_short(url)}` sent more than {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise errors.JwksFetchError(f"`{_short(url)}` took longer than {timeout} s")
    except urllib.error.HTTPError as exc:
        raise errors.JwksFetchError(f"`{_short(url)}` answered HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise _unreachable(url, exc.reason) from None
    except (OSError, HTTPException, ValueError) as exc:
        raise _unreachable(url, exc) from None
    if status != 200:
        raise errors.JwksFetchError(f"`{_short(url)}` answered HTTP {status}")
    return bytes(body)


def _unreachable(url: str, reason: object) -> errors.JwksFetchError:
    if isinstance(reason, ssl.SSLCertVerificationError):
        return errors.IdpCertificateError(
            f"TLS certificate of `{_short(url)}` did not verify: {reason.verify_message}"
        )
    return errors.JwksFetchError(f"cannot reach `{_short(url)}`: {_reason(reason)}")


def _short(url: str) -> str:
    return url if len(url) <= 200 else url[:200] + "..."


def _reason(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return type(reason).__name__ if not isinstance(reason, str) else reason
