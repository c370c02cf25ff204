"""HTTP/1.1 keep-alive for the sandbox's werkzeug listeners (AWS endpoint, issuers, clusters).

werkzeug's development server closes every connection; kubectl and the SDKs then pay a TCP
(and TLS) handshake per call. :class:`KeepAliveHandler` keeps connections open when it is
safe to (see its docstring).
"""

from __future__ import annotations

import contextlib
import io
import logging
import selectors
import ssl
import time
from typing import Any

from werkzeug.serving import WSGIRequestHandler

logger = logging.getLogger(__name__)

DRAIN_LIMIT = 64 * 1024  # unread request body read away to keep a connection


class _TrackedInput(io.RawIOBase):
    """``wsgi.input`` that never reads past the request's body (werkzeug hands the app the
    raw socket file) and knows whether the body was read to its end."""

    def __init__(self, stream: Any, length: int | None, chunked: bool) -> None:
        self._stream = stream
        self._left = length  # None: chunked, or a length that is not a number
        self._chunked = chunked
        self._eof = not chunked and length == 0

    @classmethod
    def wrap(cls, environ: dict[str, Any]) -> _TrackedInput:
        chunked = bool(environ.get("wsgi.input_terminated"))
        text = str(environ.get("CONTENT_LENGTH") or "").strip()
        length: int | None = 0 if not text and not chunked else None
        if text.isdigit() and not chunked:
            length = int(text)
        tracked = cls(environ["wsgi.input"], length, chunked)
        environ["wsgi.input"] = tracked
        return tracked

    @property
    def finished(self) -> bool:
        return self._eof

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._eof:
            return 0
        size = len(buffer)
        if self._left is not None:
            size = min(size, self._left)
        elif not self._chunked:
            return 0  # unknown framing: nothing is safe to read
        data = self._stream.read(size) if size else b""
        buffer[: len(data)] = data
        if self._left is not None:
            self._left -= len(data)
            self._eof = self._left == 0 or not data
        elif not data:
            self._eof = True
        return len(data)

    def finish(self, limit: int) -> bool:
        """Read away at most ``limit`` unread bytes; whether the body is now complete."""
        if self._eof:
            return True
        if self._left is not None and self._left > limit:
            return False
        if self._left is None and not self._chunked:
            return False
        taken = 0
        try:
            while not self._eof and taken <= limit:
                chunk = self.read(min(65536, limit + 1 - taken))
                taken += len(chunk)
        except (OSError, ValueError):  # a broken chunked body: close instead of reusing
            return False
        return self._eof


class _Response:
    """One response of :class:`KeepAliveHandler`: status line and headers go out with the
    first write, and say whether the connection stays open."""

    def __init__(self, handler: KeepAliveHandler, body: _TrackedInput, *, bodiless: bool) -> None:
        self.handler = handler
        self.body = body
        self.bodiless = bodiless
        self.pending: tuple[str, list[tuple[str, str]]] | None = None
        self.sent = False
        self.chunked = False

    def start_response(self, status: str, headers: Any, exc_info: Any = None) -> Any:
        if exc_info and self.sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self.pending = (status, list(headers))
        return self.write

    def write(self, data: bytes) -> None:
        if not self.sent:
            self._head()
        if data and not self.bodiless:
            framed = b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data
            self.handler.wfile.write(framed)

    def end(self) -> None:
        if not self.sent:
            self.write(b"")
        if self.chunked:
            self.handler.wfile.write(b"0\r\n\r\n")

    def _head(self) -> None:
        assert self.pending is not None, "write() before start_response()"
        handler = self.handler
        status, headers = self.pending
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        handler.send_response(code, reason)
        for name, value in headers:
            handler.send_header(name, value)
        self.bodiless = self.bodiless or 100 <= code < 200 or code in (204, 304)
        framed = self.bodiless or any(n.lower() == "content-length" for n, _ in headers)
        if not framed and handler.request_version == "HTTP/1.1":
            self.chunked = framed = True
            handler.send_header("Transfer-Encoding", "chunked")
        if not framed or not self.body.finish(DRAIN_LIMIT):
            handler.send_header("Connection", "close")
        handler.end_headers()
        self.sent = True


class KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 keep-alive that actually keeps the connection.

    werkzeug 3.1's ``run_wsgi`` sends ``Connection: close`` on every response and then
    reads the socket until EOF, so ``protocol_version`` alone keeps nothing alive. This
    ``run_wsgi`` keeps the connection when the response is framed (Content-Length,
    chunked, HEAD, 1xx/204/304) and the request body was read to its end (or a small rest
    could be read away); it closes otherwise (a 413 before the body was read, a body
    length that is not a number, errors), after a bounded drain so that the client reads
    the answer rather than a reset. ``disable_nagle_algorithm`` sets TCP_NODELAY: status
    line and headers, then the body, are two writes, and with Nagle and delayed ACKs each
    kept-alive call would wait ~40 ms. ``timeout`` ends idle connections and stalled
    requests. ``log_request`` survives a request line that did not parse (no ``path``).
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 60.0

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = str(getattr(self, "path", "") or "")
        logger.debug("%s %s %s", getattr(self, "command", None), path.split("?", 1)[0], code)

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.environ = self.make_environ()
        body = _TrackedInput.wrap(environ)
        response = _Response(self, body, bodiless=environ["REQUEST_METHOD"] == "HEAD")
        try:
            result = self.server.app(environ, response.start_response)
            try:
                for data in result:
                    response.write(data)
                response.end()
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except (ConnectionError, TimeoutError, ssl.SSLEOFError):  # the client went away
            self.close_connection = True
            return
        except Exception:
            self.close_connection = True
            logger.exception("request failed: %s", self.requestline)
            if not response.sent:
                with contextlib.suppress(OSError):
                    self.send_error(500)
            return
        if self.close_connection and not body.finished:
            self._discard_unread()

    def _discard_unread(self, seconds: float = 1.0, most: int = 16 * 1024 * 1024) -> None:
        """Read what the client still sends, briefly, before the connection closes."""
        deadline = time.monotonic() + seconds
        taken = 0
        with selectors.DefaultSelector() as selector:
            selector.register(self.connection, selectors.EVENT_READ)
            while taken < most and time.monotonic() < deadline:
                if not selector.select(timeout=0.05):
                    break
                try:
                    data = self.connection.recv(65536)
                except OSError:
                    break
                if not data:
                    break
                taken += len(data)
