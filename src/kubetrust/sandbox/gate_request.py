"""What the gate knows about a request before trusting it: its raw pieces and its claims.

The gate must read a request exactly as sent (the raw path and query are what SigV4 signed)
and must answer a refusal in the format of the service the request is *for*, before it has
authenticated anything. Both jobs work on untrusted bytes only, need no credentials and no
state, and so live apart from the gate's pipeline in :mod:`kubetrust.sandbox.gate`, which
re-exports :class:`RawRequest` and :data:`MAX_BODY_BYTES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from kubetrust.sandbox import sigv4, wire

MAX_BODY_BYTES = 64 * 1024 * 1024


@dataclass(slots=True)
class RawRequest:
    """A request as it arrived, before anyone interpreted it."""

    method: str
    raw_path: str
    raw_query: str
    headers: dict[str, str]
    body: bytes
    parsed_form: dict[str, list[str]] | None = None

    @property
    def host(self) -> str:
        return self.headers.get("host", "")

    def form(self) -> dict[str, list[str]]:
        """Query-protocol parameters: a form-urlencoded UTF-8 body (POST) or the query
        string (GET). Anything else yields no parameters — and since the gate forwards to
        moto exactly the parameters it authorized (:func:`gate_forward.canonical`), moto can never
        execute a different operation than the one authorized."""
        if self.parsed_form is None:
            self.parsed_form = self._parse_form()
        return self.parsed_form

    def _parse_form(self) -> dict[str, list[str]]:
        if self.method != "POST":
            return parse_qs(self.raw_query, keep_blank_values=True)
        content_type = self.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type not in ("", "application/x-www-form-urlencoded"):
            return {}
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise wire.AwsError(
                "MalformedQueryString", "The request body is not UTF-8", 400
            ) from None
        return parse_qs(text, keep_blank_values=True)


def claimed_service(request: RawRequest) -> str:
    """The service a request says it is for (credential scope), to answer in its format
    even when authentication fails; ``sts`` for query calls and ``s3`` otherwise."""
    parts = sigv4.claimed_scope(request.headers, request.raw_query)
    if len(parts) >= 5 and parts[3] in ("sts", "iam", "s3", "eks"):
        return parts[3]
    if "Action=" in request.raw_query or (request.method == "POST" and b"Action=" in request.body):
        return "sts"
    return "eks" if eks_route(request) else "s3"


_EKS_ROUTES = ("clusters", "access-policies", "addons", "cluster-registrations", "insights")


def eks_route(request: RawRequest) -> bool:
    """An unsigned request to an EKS route (AWS tells EKS from S3 by host; the sandbox's
    one endpoint tells them by path, unless a bucket has that name)."""
    first = request.raw_path.lstrip("/").split("/", 1)[0]
    return first in _EKS_ROUTES and "x-amz-content-sha256" not in request.headers


def looks_like_s3(request: RawRequest) -> bool:
    """An unsigned request S3 may answer anonymously (a read or an upload, not a query call)."""
    return "Action=" not in request.raw_query and request.method in ("GET", "HEAD", "PUT")


def read(environ: Mapping[str, Any]) -> RawRequest:
    """The request as sent: the raw URI (not the decoded ``PATH_INFO``) and the body."""
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
    raw_path, _, raw_query = str(raw_uri).partition("?")
    if not raw_query:
        raw_query = environ.get("QUERY_STRING", "")
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return RawRequest(
        str(environ.get("REQUEST_METHOD", "GET")), raw_path, raw_query, headers, _body(environ)
    )


def _body(environ: Mapping[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length_text = environ.get("CONTENT_LENGTH") or ""
    try:
        length = int(length_text) if length_text else -1
    except ValueError:
        raise wire.AwsError("InvalidRequest", "Content-Length is not a number", 400) from None
    if length > MAX_BODY_BYTES:
        raise wire.AwsError(
            "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 413
        )
    try:
        return _read_stream(stream, length, environ)
    except (OSError, ValueError) as exc:  # a broken chunked body, a client that went away
        raise wire.AwsError(
            "IncompleteBody", f"The request body could not be read: {type(exc).__name__}", 400
        ) from None


def _read_stream(stream: Any, length: int, environ: Mapping[str, Any]) -> bytes:
    if length >= 0:
        return bytes(stream.read(length))
    if environ.get("wsgi.input_terminated") or environ.get("HTTP_TRANSFER_ENCODING"):
        data = stream.read(MAX_BODY_BYTES + 1)
        if len(data) > MAX_BODY_BYTES:
            raise wire.AwsError(
                "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 413
            )
        return bytes(data)
    return b""
