"""What the gate knows about a request before trusting it: its raw pieces and its claims.

The gate must read a request exactly as sent (the raw path and query are what SigV4 signed)
and must answer a refusal in the format of the service the request is *for*, before it has
authenticated anything. Both jobs work on untrusted bytes only, need no credentials and no
state, and so live apart from the gate's pipeline in :mod:`kubetrust.sandbox.aws.gate`, which
re-exports :class:`RawRequest`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from kubetrust.sandbox.aws import operations, sigv4, wire
from kubetrust.sandbox.host.http import PIECE, BodyTooLarge, UnreadableFraming

MAX_BODY_BYTES = 64 * 1024 * 1024

logger = logging.getLogger(__name__)


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
        moto exactly the parameters it authorized (:mod:`.forward`), moto can never
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
    if len(parts) >= 5 and parts[3] in ("sts", "iam", "s3", "eks", "eks-auth"):
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
    """The request as sent: the raw URI (not the decoded ``PATH_INFO``) and the body.

    An absolute-form target (``GET http://host/path``) names its host in the URI, which
    then replaces the ``Host`` header (RFC 9112 §3.2.2), so that the gate, the signature
    and moto all read one host and one path; a target that is neither (``*``) is refused.
    """
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
    raw_target, _, raw_query = str(raw_uri).partition("?")
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
    raw_path = _origin_form(raw_target, headers)
    return RawRequest(
        str(environ.get("REQUEST_METHOD", "GET")), raw_path, raw_query, headers, _body(environ)
    )


_ABSOLUTE_FORM = re.compile(r"(?i)https?://([^/]*)(/.*)?\Z", re.DOTALL)


def _origin_form(target: str, headers: dict[str, str]) -> str:
    """The path of a request target; an absolute-form target's authority becomes the host."""
    if target.startswith("/"):
        return target
    absolute = _ABSOLUTE_FORM.match(target)
    if absolute is None:
        # ours: AWS's answer to a request target that is not a path is not documented
        raise wire.AwsError("InvalidRequest", "The request target is not a path", 400)
    headers["host"] = absolute.group(1)
    return absolute.group(2) or "/"


_QUERY_SERVICES = ("sts", "iam")


def endpoint_service(request: RawRequest, claimed: str) -> str:
    """The service a request is *for*, judged from the request itself: AWS tells services
    apart by endpoint, the sandbox's one endpoint by what the request asks. A query call
    (an ``Action`` of IAM's or STS's API, in the body or the query string) is for that
    service, whatever its credential scope claims (an IAM-scoped signature on
    ``AssumeRole`` reaches STS, which refuses the scope); otherwise the claimed service."""
    try:
        action = request.form().get("Action", [""])[0]
    except wire.AwsError:  # a body that is not a form: answered later, in context
        action = ""
    if not action:
        action = parse_qs(request.raw_query).get("Action", [""])[0]
    owners = [s for s in _QUERY_SERVICES if action in operations.operation_names(s)]
    return owners[0] if len(owners) == 1 else claimed


def _body(environ: Mapping[str, Any]) -> bytes:
    """The whole body, at most :data:`MAX_BODY_BYTES`: refused unread when its declared
    length is larger (413), refused when it ends early or breaks chunked framing (400)."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = _declared_length(environ)
    if length is not None and length > MAX_BODY_BYTES:
        raise _too_large()
    try:
        return _read_stream(stream, length, environ)
    except BodyTooLarge:  # a chunk size past the limit: refused before its bytes arrive
        raise _too_large() from None
    except UnreadableFraming as exc:  # headers that give the body no reliable end
        logger.debug("request framing refused: %s", exc)
        raise wire.AwsError("InvalidRequest", _UNREADABLE_FRAMING, 400) from None
    except (OSError, ValueError) as exc:  # a broken chunked body, a client that went away
        logger.debug("request body unreadable: %s: %s", type(exc).__name__, exc)
        raise wire.AwsError("IncompleteBody", _INCOMPLETE_BODY, 400) from None


_UNREADABLE_FRAMING = (
    "The request's Transfer-Encoding and Content-Length headers do not frame its body"
)
"""[uncertain] AWS's front ends answer such framing before any service sees it and their
text is not documented; this one is ours. No exception text reaches the wire: it names
internals (reader classes, byte reprs of what the client sent) and the detail is logged."""
_INCOMPLETE_BODY = "The request body ended before its framing said it would"
"""[uncertain] S3's ``IncompleteBody`` answer to a chunked body cut short is not quoted
publicly (its documented text is about ``Content-Length``, :func:`_read_stream`); the
code is S3's, the words are ours, the reader's own text is logged."""


def _declared_length(environ: Mapping[str, Any]) -> int | None:
    """``Content-Length`` as a number, ``None`` when absent; digits only (Python's ``int``
    would also take ``-5``, ``+5`` and ``1_0``)."""
    text = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise wire.AwsError("InvalidRequest", "Content-Length is not a number", 400)
    return int(text)


def _too_large() -> wire.AwsError:
    return wire.AwsError(
        "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 413
    )


def _read_stream(stream: Any, length: int | None, environ: Mapping[str, Any]) -> bytes:
    """Read in pieces of at most ``http.PIECE`` bytes: no caller-sized
    buffer is ever handed to the stream (werkzeug's dechunking reader, given one larger
    than what arrived, reported bytes it never wrote, and CPython copied past the end of
    the buffer). ``length`` bytes exactly, or, for a chunked body, up to one past the limit."""
    if length is None and not (
        environ.get("wsgi.input_terminated") or environ.get("HTTP_TRANSFER_ENCODING")
    ):
        return b""
    want = MAX_BODY_BYTES + 1 if length is None else length
    pieces: list[bytes] = []
    got = 0
    while got < want:
        piece = bytes(stream.read(min(PIECE, want - got)))
        if not piece:
            break
        pieces.append(piece)
        got += len(piece)
    if length is not None and got < length:
        raise wire.AwsError(
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header",
            400,
        )
    if got > MAX_BODY_BYTES:
        raise _too_large()
    return b"".join(pieces)
