"""HTTP/1.1 for the sandbox's werkzeug listeners (AWS endpoint, issuers, clusters).

werkzeug's development server closes every connection, hands the app its own dechunking
reader, and (with ``ssl_context``) wraps the *listening* socket, so that every TLS handshake
runs inside ``accept()`` on the one serving thread. Each of these is a way for one client to
hurt all the others: kubectl and the SDKs pay a handshake per call; a chunk size larger than
what arrives made werkzeug's reader report bytes it never wrote, and CPython then copied
past the end of a buffer (a segfault: every account, cluster and session lost); one idle
TCP connection to a TLS port froze that port. This module replaces all three:

- :class:`KeepAliveHandler` keeps connections open when it is safe to (see its docstring);
- :class:`_TrackedInput` decodes the body itself, strictly, in bounded pieces, up to the
  listener's limit, and fails at once on a framing error (:class:`BodyError`);
- :class:`Listener` accepts plain sockets and does the TLS handshake in the connection's
  own thread, under a deadline (:func:`tls_handshake`).

Why not a maintained WSGI server instead (issue 12 asked; cheroot 11.1.2 was measured in
this role, behind the same interface, with ``benchmarks/sandbox.py``). It was not faster
(its ratios to bare moto overlapped ours run to run; on the HTTP layer alone it was slower)
and gave up guarantees the robustness tests pin (``tests/sandbox/test_robustness_ports.py``,
``test_host_http.py``): its TLS handshake runs on the one accepting thread, so one idle
client froze a TLS port (cheroot issue #748); its fixed pool of worker threads is handed
each new connection before a byte arrives, and the socket timeout bounds each read only, so
as many idle or trickling clients as it has threads froze a plain port too (no cap that
evicts idle ones); it parses chunk sizes and lengths with ``int()`` (``-1`` ends a body,
``0x0`` and ``1_0`` are sizes, a second ``Content-Length`` silently replaces the first:
cheroot issue #275), keeps the connection after a chunked body the app left unread, and so
served a request hidden in another's body; it answers ``gzip, chunked`` with its own 501 and
sends ``100 Continue`` before the app may refuse the body, so the apps could no longer
refuse in AWS's or Kubernetes' own format. Closing these needs its private connection and
request classes replaced: the same amount of code as here, over someone else's internals.
"""

from __future__ import annotations

import contextlib
import functools
import io
import itertools
import logging
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

logger = logging.getLogger(__name__)

DRAIN_LIMIT = 64 * 1024  # unread request body read away to keep a connection
PIECE = 64 * 1024  # the most any one read asks of the socket, whatever a caller asks for
DEFAULT_MAX_BODY = 64 * 1024 * 1024  # a listener's body limit unless it sets its own
MAX_CHUNK_LINE = 4096  # Go's net/http limit on a chunk-size or trailer line
MAX_TRAILER_LINES = 100
HANDSHAKE_SECONDS = 10.0  # a TLS client that has not finished its handshake by then is dropped
_HEX = frozenset(b"0123456789abcdefABCDEF")


class BodyError(OSError):
    """A request body that breaks HTTP/1.1's framing (a chunk-size line that is not one,
    a chunk without its CRLF, a body that ends before its length). An ``OSError``, so that
    readers which already treat a failed read as a broken body keep doing so; the
    connection is never reused after one."""

    status = 400


class UnreadableFraming(BodyError):
    """Headers that give no reliable end to the body: a transfer coding other than exactly
    ``chunked`` (werkzeug would read ``gzip, chunked`` as chunked, an app the raw bytes),
    or ``Content-Length`` headers that disagree (werkzeug would keep the last one). Every
    read of such a body fails, so each app refuses it in its own format; the connection
    then closes, so the bytes are never read as a next request."""


class BodyTooLarge(BodyError):
    """A body beyond the listener's limit, known as soon as a length or chunk size says
    so: refused before the bytes are waited for."""

    status = 413


def _chunk_size(rfile: io.BufferedIOBase) -> int:
    """The size on a chunk-size line (``1*HEXDIG [ BWS ";" ext ] CRLF``), read byte by byte
    so that the first byte that cannot belong to one fails the body at once rather than
    after the socket's timeout. A bare LF ends the line too, as in Go's reader."""
    digits = bytearray()
    spaces = extension = False
    for _ in range(MAX_CHUNK_LINE):
        byte = rfile.read(1)
        if not byte:
            raise BodyError("the chunked body ended inside a chunk-size line")
        if byte == b"\r":
            byte = rfile.read(1)
            if byte != b"\n":
                raise BodyError("a chunk-size line must end with CRLF")
        if byte == b"\n":
            return _hex_size(digits)
        if extension:
            continue
        if byte == b";":
            extension = True
        elif byte[0] in _HEX and not spaces:
            digits += byte
        elif byte in (b" ", b"\t") and digits:
            spaces = True
        else:
            raise BodyError(f"invalid chunk-size line: {bytes(digits + byte)[:40]!r}")
    raise BodyError("chunk-size line too long")


def _hex_size(digits: bytearray) -> int:
    if not digits:
        raise BodyError("a chunk-size line without a size")
    if len(digits) > 16:  # Go: "http chunk length too large"
        raise BodyTooLarge("chunk length too large")
    return int(digits, 16)


def _chunk_end(rfile: io.BufferedIOBase) -> None:
    """The CRLF after a chunk's data, byte by byte (see :func:`_chunk_size`)."""
    if rfile.read(1) != b"\r" or rfile.read(1) != b"\n":
        raise BodyError("a chunk's data must be followed by CRLF")


def _trailers(rfile: io.BufferedIOBase) -> None:
    """Read away the trailer section after the last chunk (bounded; its fields unused)."""
    for _ in range(MAX_TRAILER_LINES):
        line = rfile.readline(MAX_CHUNK_LINE + 1)
        if not line.endswith(b"\n"):
            raise BodyError("the chunked body ended inside its trailer section")
        if line in (b"\r\n", b"\n"):
            return
    raise BodyError("too many trailer fields")


class _TrackedInput(io.RawIOBase):
    """``wsgi.input``: the request's body and nothing past it (werkzeug hands the app the
    raw socket file), decoded here for chunked requests, and never more than ``limit``
    bytes. Reads go to the socket in pieces of at most :data:`PIECE`, whatever size the
    caller asks for, and a short read is an error (:class:`BodyError`), never a buffer
    filled with fewer bytes than reported. Knows whether the body was read to its end."""

    def __init__(
        self,
        rfile: io.BufferedIOBase,
        length: int | None,
        chunked: bool,
        limit: int,
        refusal: str | None = None,
    ) -> None:
        self._rfile = rfile
        self._refusal = refusal
        self._left = length  # None: chunked, or a length that is not a number
        self._chunked = chunked
        self._chunk_left = 0
        self._limit = limit
        self._taken = 0
        self._eof = refusal is None and not chunked and length == 0
        self.broken = refusal is not None

    @classmethod
    def wrap(
        cls,
        environ: dict[str, Any],
        rfile: io.BufferedIOBase,
        limit: int,
        refusal: str | None = None,
    ) -> _TrackedInput:
        chunked = bool(environ.get("wsgi.input_terminated"))
        text = str(environ.get("CONTENT_LENGTH") or "").strip()
        length: int | None = 0 if not text and not chunked else None
        if text.isdigit() and not chunked:
            length = int(text)
        tracked = cls(rfile, length, chunked, limit, refusal)
        environ["wsgi.input"] = tracked
        return tracked

    @property
    def finished(self) -> bool:
        return self._eof

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        """Up to ``size`` bytes (all, when negative), gathered piece by piece: a caller
        asking for a huge size gets no huge buffer."""
        if size is None or size < 0:
            return self.readall()
        parts: list[bytes] = []
        got = 0
        while got < size:
            piece = bytearray(min(size - got, PIECE))
            count = self.readinto(piece)
            if not count:
                break
            parts.append(bytes(piece[:count]))
            got += count
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        if self._refusal is not None:
            raise UnreadableFraming(self._refusal)
        if self._eof or not len(buffer):
            return 0
        if not self._chunked and self._left is None:
            return 0  # unknown framing: nothing is safe to read
        try:
            size = min(len(buffer), PIECE)
            data = self._chunked_piece(size) if self._chunked else self._sized_piece(size)
        except BodyError:
            self.broken = True
            raise
        buffer[: len(data)] = data
        return len(data)

    def _sized_piece(self, size: int) -> bytes:
        assert self._left is not None
        if self._taken + self._left > self._limit:
            raise BodyTooLarge(f"the body is longer than {self._limit} bytes")
        data = self._rfile.read(min(size, self._left))
        if not data:
            raise BodyError("the body ended before its Content-Length")
        self._left -= len(data)
        self._taken += len(data)
        self._eof = self._left == 0
        return data

    def _chunked_piece(self, size: int) -> bytes:
        if not self._chunk_left:
            announced = _chunk_size(self._rfile)
            if not announced:
                _trailers(self._rfile)
                self._eof = True
                return b""
            if announced > self._limit - self._taken:
                raise BodyTooLarge(f"the body is longer than {self._limit} bytes")
            self._chunk_left = announced
        wanted = min(size, self._chunk_left)
        data = self._rfile.read(wanted)
        if len(data) < wanted:
            raise BodyError("the chunked body ended inside a chunk")
        self._chunk_left -= len(data)
        self._taken += len(data)
        if not self._chunk_left:
            _chunk_end(self._rfile)
        return data

    def finish(self, limit: int) -> bool:
        """Read away at most ``limit`` unread bytes; whether the body is now complete."""
        if self._eof:
            return True
        if self.broken or (not self._chunked and (self._left is None or self._left > limit)):
            return False
        taken = 0
        try:
            while not self._eof and taken <= limit:
                chunk = self.read(min(PIECE, limit + 1 - taken))
                if not chunk and not self._eof:
                    return False
                taken += len(chunk)
        except OSError:  # a broken body, a client gone: close instead of reusing
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
        if not framed or handler.close_connection or not self.body.finish(DRAIN_LIMIT):
            handler.send_header("Connection", "close")
        handler.end_headers()
        self.sent = True


class _DeadlineReader(io.RawIOBase):
    """The connection's raw reads; while ``deadline`` is set, each waits at most what is
    left of it. The socket's own timeout bounds each read only, so a client sending a
    header byte every few seconds would hold its thread forever."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock = sock
        self._timeout = timeout
        self.deadline: float | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        wait = self._timeout
        if self.deadline is not None:
            wait = min(wait, self.deadline - time.monotonic())
            if wait <= 0:
                raise TimeoutError("the request head did not arrive in time")
        self._sock.settimeout(wait)
        return self._sock.recv_into(buffer)


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
    kept-alive call would wait ~40 ms. ``timeout`` ends stalled reads and writes, and
    ``head_seconds`` bounds the wait for a request line and headers as a whole (idle time
    included), however the bytes trickle in. The body is the app's to read, through
    :class:`_TrackedInput` (never werkzeug's dechunking reader); a body whose framing the
    headers leave unclear is refused on its first read (:class:`UnreadableFraming`), a
    request with both ``Content-Length`` and ``chunked`` is read as chunked and then the
    connection closes (RFC 9112 6.1: else the length's bytes could be a next request), and
    ``100 Continue`` is sent only for a body that will be read. An app that lets a
    :class:`BodyError` through gets HTTP's 400/413 rather than a 500. ``log_request``
    survives a request line that did not parse (no ``path``).
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 60.0
    head_seconds = 60.0  # request line and headers, idle wait included (Go: ReadHeaderTimeout)

    def setup(self) -> None:
        super().setup()
        self._reader = _DeadlineReader(self.connection, self.timeout)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        self._reader.deadline = time.monotonic() + self.head_seconds
        self._idle(True)
        try:
            super().handle_one_request()
        finally:
            self._reader.deadline = None

    def parse_request(self) -> bool:
        """Headers read (http.server reads them here): the head's deadline ends, and the
        connection is no longer idle (its listener will not evict it: :class:`Connections`)."""
        try:
            return super().parse_request()
        finally:
            self._reader.deadline = None
            self._idle(False)

    def _idle(self, idle: bool) -> None:
        connections = getattr(self.server, "connections", None)
        if isinstance(connections, Connections):
            connections.idle(idle)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = str(getattr(self, "path", "") or "")
        logger.debug("%s %s %s", getattr(self, "command", None), path.split("?", 1)[0], code)

    def run_wsgi(self) -> None:
        environ = self.environ = self.make_environ()
        if environ.get("wsgi.input_terminated") and "CONTENT_LENGTH" in environ:
            environ.pop("CONTENT_LENGTH")  # chunked overrides it (RFC 9112 6.3; as Go) ...
            self.close_connection = True  # ... and the connection closes after (RFC 9112 6.1)
        refusal = self._framing_refusal()
        body = _TrackedInput.wrap(environ, self.rfile, self._body_limit(), refusal)
        response = _Response(self, body, bodiless=environ["REQUEST_METHOD"] == "HEAD")
        try:
            self._run_app(environ, response)
        except (ConnectionError, TimeoutError, ssl.SSLEOFError):  # the client went away
            self.close_connection = True
            return
        except BodyError as exc:  # an app let a broken body through: HTTP's answer, not 500
            self.close_connection = True
            if not response.sent:
                self._refuse(exc.status, str(exc))
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

    def _run_app(self, environ: dict[str, Any], response: _Response) -> None:
        result = self.server.app(environ, response.start_response)
        try:
            for data in result:
                response.write(data)
            response.end()
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    def handle_expect_100(self) -> bool:
        """``100 Continue`` (http.server sends it while parsing the request, before
        ``run_wsgi``) only for a body that will be read: not when the framing is refused
        or the declared length is beyond the limit (the app refuses it unread; RFC 9110
        10.1.1 lets the server answer the final status instead)."""
        declared = str(self.headers.get("Content-Length", "")).strip()
        if self._framing_refusal() is None and not (
            declared.isdigit() and int(declared) > self._body_limit()
        ):
            super().handle_expect_100()
        return True

    def _body_limit(self) -> int:
        return int(getattr(self.server, "max_body", DEFAULT_MAX_BODY))

    def _framing_refusal(self) -> str | None:
        """Why the body's end cannot be known from the headers (see
        :class:`UnreadableFraming`; Go's server refuses the same requests)."""
        codings = [
            coding.strip().lower()
            for value in self.headers.get_all("Transfer-Encoding") or []
            for coding in value.split(",")
            if coding.strip()
        ]
        if codings and codings != ["chunked"]:
            return f"unsupported transfer encoding: {', '.join(codings)[:100]}"
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or []}
        if len(lengths) > 1:
            return "conflicting Content-Length headers"
        return None

    def _refuse(self, code: int, message: str) -> None:
        """Answer an HTTP-level refusal and close, reading away (briefly) what the client
        still sends so that it reads the answer rather than a reset."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.send_error(code, None, message)
            self.wfile.flush()
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


MAX_CONNECTIONS = 256  # open connections (threads) per listener; see Connections
FULL_WAIT_SECONDS = 2.0  # how long a new connection waits for a slot when none is idle


class Connections:
    """The open connections of one listener, at most ``limit`` at once.

    werkzeug's threaded server gives each connection a thread until it ends, so many idle
    clients meant as many threads (each ending only at its deadline: 10 s for a TLS
    handshake, 60 s for a request head). Refusing new connections once full would let a
    few hundred idle sockets lock every legitimate client out for as long as they are
    renewed; so a new connection instead **evicts the connection idle longest** — one
    waiting for its TLS handshake or for a request head, never one whose request is being
    read or answered — and is served. This is what HTTP servers do under pressure (Go's
    and nginx's servers close idle keep-alive connections first); a kept-alive client
    evicted between two requests reconnects (the SDKs and kubectl retry a request on a
    reused connection that was closed before it was answered). Only when every slot is
    busy with a request does the new connection wait, at most ``wait`` seconds, for one
    to end; it is then closed unanswered. Eviction is a ``shutdown()`` of the socket,
    which ends the blocked read in its thread at once.

    Each connection holds a token (never reused, unlike its descriptor); its thread knows
    its own (:meth:`attach`), and releases it before its socket closes, so that an
    eviction never reaches a later connection on the same descriptor.
    """

    def __init__(self, limit: int, wait: float = FULL_WAIT_SECONDS) -> None:
        self.limit = limit
        self.wait = wait
        self._changed = threading.Condition()
        self._open: dict[int, tuple[int, float | None]] = {}  # token -> (fd, idle since)
        self._evicted: set[int] = set()
        self._tokens = itertools.count(1)
        self._mine = threading.local()

    def admit(self, sock: socket.socket) -> int | None:
        """A slot's token for ``sock`` (evicting an idle connection if need be); ``None``
        when none freed within the wait."""
        deadline = time.monotonic() + self.wait
        with self._changed:
            while len(self._open) - len(self._evicted) >= self.limit:
                if self._evict_one():
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)
            token = next(self._tokens)
            self._open[token] = (sock.fileno(), time.monotonic())
            return token

    def _evict_one(self) -> bool:
        candidates = [
            (since, token, fd)
            for token, (fd, since) in self._open.items()
            if since is not None and token not in self._evicted
        ]
        if not candidates:
            return False
        _, token, fd = min(candidates)
        self._evicted.add(token)
        _shutdown_fd(fd)
        logger.debug("an idle connection evicted for a new one (%d open)", len(self._open))
        return True

    def attach(self, token: int) -> None:
        """The calling thread serves the connection of ``token``."""
        self._mine.token = token

    def current(self) -> int | None:
        """The token of the calling thread's connection (``None`` outside one)."""
        token = getattr(self._mine, "token", None)
        return token if isinstance(token, int) else None

    def idle(self, idle: bool) -> None:
        """The calling thread's connection waits for a request head (``True``) or is
        serving one (``False``: it is not evicted then)."""
        token = self.current()
        with self._changed:
            if token in self._open:
                fd, _ = self._open[token]
                self._open[token] = (fd, time.monotonic() if idle else None)

    def release(self, token: int) -> None:
        """The connection of ``token`` is about to close: its slot is free (idempotent)."""
        with self._changed:
            self._open.pop(token, None)
            self._evicted.discard(token)
            self._changed.notify_all()

    @property
    def open(self) -> int:
        with self._changed:
            return len(self._open)


def _shutdown_fd(fd: int) -> None:
    """Shut the connection on ``fd`` down in both directions (a duplicate descriptor:
    ``shutdown`` acts on the connection, the owner's socket object stays untouched)."""
    try:
        duplicate = socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return
    with duplicate, contextlib.suppress(OSError):
        duplicate.shutdown(socket.SHUT_RDWR)


def tls_handshake(
    context: ssl.SSLContext,
    sock: socket.socket,
    seconds: float,
    *,
    before_close: Callable[[], object] | None = None,
) -> ssl.SSLSocket | None:
    """``sock`` with TLS negotiated as the server, or ``None`` when the client did not
    complete a handshake within ``seconds`` (idle, half a ClientHello, not TLS at all).
    The socket's timeout bounds the whole handshake: CPython's ``do_handshake`` turns it
    into one deadline, so a client dripping bytes cannot stretch it."""
    try:
        sock.settimeout(seconds)
        secured = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
    except OSError:
        return None
    try:
        secured.do_handshake()
    except (OSError, ValueError) as exc:  # SSLError and TimeoutError are OSErrors
        logger.debug("TLS handshake failed: %s", exc)
        if before_close is not None:
            before_close()
        secured.close()
        return None
    return secured


class Listener(ThreadedWSGIServer):
    """One sandbox listener: werkzeug's threaded server with :class:`KeepAliveHandler`,
    a request-body limit (``max_body``), and TLS negotiated in each connection's own
    thread under :data:`HANDSHAKE_SECONDS`. werkzeug's own ``ssl_context`` wraps the
    listening socket instead, so the handshake ran in ``accept()`` on the serving thread
    with no timeout, and one idle client froze the port; here ``accept()`` stays plain
    and ``finish_request`` (already in the connection's thread) negotiates TLS."""

    handshake_seconds = HANDSHAKE_SECONDS

    def __init__(
        self,
        host: str,
        port: int,
        app: Any,
        *,
        tls: ssl.SSLContext | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        handler: type[KeepAliveHandler] = KeepAliveHandler,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        super().__init__(host, port, app, handler)
        self.ssl_context = tls  # werkzeug reads it for wsgi.url_scheme and its SSL errors
        self.max_body = max_body
        self.connections = Connections(max_connections)
        self._admitted: dict[Any, int] = {}  # a new connection's token, until its thread runs

    def process_request(self, request: Any, client_address: Any) -> None:
        """A thread for the connection once it has a slot (:class:`Connections`); closed
        unanswered when none frees in time."""
        token = self.connections.admit(request)
        if token is None:
            logger.info("connection refused: all %d connections busy", self.connections.limit)
            self.shutdown_request(request)
            return
        self._admitted[request] = token
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread: nobody holds the slot
            self._admitted.pop(request, None)
            self.connections.release(token)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        token = self._admitted.pop(request, None)
        if token is not None:
            self.connections.attach(token)
        super().process_request_thread(request, client_address)

    def finish_request(self, request: Any, client_address: Any) -> None:
        token = self.connections.current()
        release = functools.partial(self._release, token)
        try:
            if self.ssl_context is None:
                super().finish_request(request, client_address)
                return
            secured = tls_handshake(
                self.ssl_context, request, self.handshake_seconds, before_close=release
            )
            if secured is None:
                return
            try:
                super().finish_request(secured, client_address)
            finally:
                release()  # before the TLS socket closes
                with contextlib.suppress(OSError):
                    secured.shutdown(socket.SHUT_WR)
                secured.close()
        finally:
            release()  # before shutdown_request closes the socket

    def _release(self, token: int | None) -> None:
        if token is not None:
            self.connections.release(token)

    def serve_in_thread(self, name: str) -> threading.Thread:
        """Serve until :meth:`shutdown`, on a daemon thread named ``name``."""
        thread = threading.Thread(target=self.serve_forever, name=name, daemon=True)
        thread.start()
        return thread
