"""Request smuggling through the sandbox's HTTP layer (``sandbox.host.http``).

A request hidden in another's body must never be served: whether the app reads the body
(and gets an error for framing it cannot trust) or leaves it unread (and the listener reads
it away strictly, or closes), the bytes after the visible request's head are body, never
a next request. Each case sends one visible request whose body holds a second one, then
ends the stream; the app records every path it serves. In-process listener, raw bytes on
loopback.

These pin what a lenient HTTP/1.1 server gets wrong (measured for issue 12 with cheroot
11.1.2, which served the hidden request in the "negative chunk size" and "0x chunk size"
cases, and answered a second time to the body of an unread chunked request).
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from kubetrust.sandbox.host.http import Listener

TIMEOUT = 5.0
HIDDEN = b"DELETE /smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
HEAD = b"POST /visible HTTP/1.1\r\nHost: x\r\n"

SMUGGLED = {
    "negative chunk size": HEAD + b"Transfer-Encoding: chunked\r\n\r\n-1\r\n" + HIDDEN,
    "0x chunk size": HEAD + b"Transfer-Encoding: chunked\r\n\r\n0x0\r\n\r\n" + HIDDEN,
    "chunk holding a request": HEAD
    + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(HIDDEN), HIDDEN),
    "two content lengths": HEAD
    + b"Content-Length: 0\r\nContent-Length: %d\r\n\r\n" % len(HIDDEN)
    + HIDDEN,
    "gzip, chunked": HEAD + b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + HIDDEN,
    "content length and chunked": HEAD
    + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    + HIDDEN,
    "content length with a sign": HEAD + b"Content-Length: +0\r\n\r\n" + HIDDEN,
}


class _Recorder:
    """A WSGI app that records each path it serves; reads the body or leaves it."""

    def __init__(self, *, reads_body: bool) -> None:
        self.reads_body = reads_body
        self.paths: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self._lock:
            self.paths.append(str(environ["PATH_INFO"]))
        status = "200 OK"
        if self.reads_body:
            try:
                environ["wsgi.input"].read(1 << 16)
            except (OSError, ValueError):
                status = "400 Bad Request"
        start_response(status, [("Content-Length", "2")])
        return [b"ok"]


@pytest.fixture(params=[True, False], ids=["app-reads-body", "app-leaves-body"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[Listener, _Recorder]]:
    app = _Recorder(reads_body=bool(request.param))
    listener = Listener("127.0.0.1", 0, app)
    thread = listener.serve_in_thread("smuggling")
    try:
        yield listener, app
    finally:
        listener.shutdown()
        listener.server_close()
        thread.join(timeout=TIMEOUT)


def _exchange(port: int, data: bytes) -> bytes:
    received = b""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            while chunk := sock.recv(65536):
                received += chunk
    return received


@pytest.mark.parametrize("data", SMUGGLED.values(), ids=SMUGGLED.keys())
def test_a_request_hidden_in_a_body_is_never_served(
    served: tuple[Listener, _Recorder], data: bytes
) -> None:
    listener, app = served
    reply = _exchange(listener.server_port, data)
    assert "/smuggled" not in app.paths, (app.paths, reply[:600])
    statuses = re.findall(rb"HTTP/1\.[01] (\d{3}) ", reply)
    assert len(statuses) <= 1, reply[:600]  # one answer, to the visible request at most
    assert all(int(code) < 500 for code in statuses), reply[:600]


def test_a_well_framed_pipeline_is_still_served_in_order(
    served: tuple[Listener, _Recorder],
) -> None:
    """The same bytes, framed honestly (a chunked body, then the next request), are two
    requests: the checks above refuse ambiguity, not pipelining."""
    listener, app = served
    body = b"Action=x"
    data = HEAD + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    reply = _exchange(listener.server_port, data + HIDDEN)
    assert app.paths == ["/visible", "/smuggled"], reply[:600]
    assert re.findall(rb"HTTP/1\.[01] (\d{3}) ", reply) == [b"200", b"200"], reply[:600]
