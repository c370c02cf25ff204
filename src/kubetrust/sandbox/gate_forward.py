"""Hand an authorized request to moto, and translate what moto answers.

Once the gate has authorized a request, moto must execute *that* request and nothing else,
in the owning account; and whatever moto does with input the gate let through (crash, HTML
404, 5xx) must reach the client as the service's own 400, never as a dead server. Those
rules, and the WSGI plumbing of writing a final response, are kept here so the pipeline in
:mod:`kubetrust.sandbox.gate` reads as its steps (that module re-exports the WSGI types).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from kubetrust.sandbox import operations, wire
from kubetrust.sandbox.gate_request import RawRequest

# the gate's own logger name, kept from before this module was split out of it
logger = logging.getLogger("kubetrust.sandbox.gate")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    500: "Internal Server Error",
}


def forward(
    moto_app: WsgiApp,
    environ: dict[str, Any],
    start_response: StartResponse,
    request: RawRequest,
    account: str,
    service: str,
    on_stored: Callable[[], object] | None = None,
) -> Iterable[bytes]:
    """Run the authorized request in moto, in the owning account; ``on_stored`` runs
    once moto answered 200."""
    body = canonical(environ, request, service)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    if account:
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = account
    captured: list[Any] = []

    def capture(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
        captured[:] = [status, headers]
        return lambda data: None

    try:
        chunks = b"".join(moto_app(environ, capture))
    except Exception as exc:  # moto's own failure on input the gate let through
        logger.warning(
            "moto failed on %s %s: %s", request.method, request.raw_path, type(exc).__name__
        )
        raise _moto_failure(service, type(exc).__name__) from None
    status, headers = captured
    if status.startswith("5") or (
        status.startswith("404")
        and any(n.lower() == "content-type" and "text/html" in v for n, v in headers)
    ):
        raise _moto_failure(service, status)
    if on_stored is not None and status.startswith("200"):
        on_stored()
    start_response(status, headers)
    return [chunks]


def canonical(environ: dict[str, Any], request: RawRequest, service: str) -> bytes:
    """For query-protocol services, the body moto gets is re-encoded from exactly the
    parameters the gate parsed and authorized (no query string, no multipart)."""
    if operations.service_protocol(service) != "query":
        return request.body
    body = urlencode(request.form(), doseq=True).encode("ascii")
    environ["REQUEST_METHOD"] = "POST"
    environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded; charset=utf-8"
    environ["QUERY_STRING"] = ""
    for key in ("RAW_URI", "REQUEST_URI"):
        if key in environ:
            environ[key] = request.raw_path
    return body


def _moto_failure(service: str, what: str) -> wire.AwsError:
    """moto could not process a request the gate authorized (an action it does not
    implement, a value it cannot parse): a 400 in the service's format, never a 500."""
    code = {
        "iam": "ValidationError",
        "sts": "ValidationError",
        "eks": "InvalidRequestException",
        "s3": "InvalidRequest",
    }.get(service, "InvalidRequest")
    return wire.AwsError(
        code,
        f"The sandbox cannot process this request ({what}): the "
        "operation or one of its parameters is not emulated",
        400,
    )


def respond(
    start_response: StartResponse, response: tuple[int, list[tuple[str, str]], bytes]
) -> list[bytes]:
    """Start a final response with its ``Content-Length`` (any other one is dropped)."""
    status, headers, body = response
    headers = [h for h in headers if h[0].lower() != "content-length"]
    headers.append(("Content-Length", str(len(body))))
    start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
    return [body]
