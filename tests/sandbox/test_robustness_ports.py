"""Every port of a sandbox under malformed, slow, idle, oversized and odd clients.

The ports: the AWS endpoint (plain HTTP), the OIDC issuer listener (TLS) and a cluster's
API server (TLS). Each attack runs against a sandbox in a **subprocess** (``kubetrust
sandbox up --detach``, one per module), so that an attack that kills the process (a
chunked body larger than what arrives once segfaulted it) fails the test instead of
pytest. After every test (autouse fixture) the process is alive, every port serves a
well-formed request within :data:`SERVED_WITHIN`, and state survives: the administrator's
``GetCallerIdentity``, the world's role, bucket and cluster, and a Kubernetes object read
with the administrator's EKS token.

Attacks are raw bytes on loopback sockets (TLS ones verified against the sandbox CA):
no client can express them. Every socket has a timeout; counts and durations are bounded.
No answer may be a server error: a 5xx is allowed only for HTTP/2 on an HTTP/1 port (505,
http.server's answer), never 500.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import ssl
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from kubetrust import eks_presign
from kubetrust.sandbox.client.state import SandboxState
from kubetrust.sandbox.host import pki
from kubetrust.sandbox.host.http import KeepAliveHandler, Listener
from kubetrust.sandbox.runtime import process

ACCOUNT = "111111111111"
REGION = "us-east-1"
CLUSTER = "survivor"
ROLE = "survivor"
TIMEOUT = 5.0  # seconds any single socket operation here may take
SERVED_WITHIN = 2.0  # seconds a well-formed request may take while others misbehave
AWS_LIMIT = 64 * 1024 * 1024  # the AWS endpoint's body limit (aws.request.MAX_BODY_BYTES)
KUBE_LIMIT = 3 * 1024 * 1024  # the apiserver's (kube.bodies.MAX_BODY)
HANDSHAKE_SECONDS = 10.0  # sandbox.http: a TLS client must finish its handshake by then
ALLOWED_5XX = {505}


# --------------------------------------------------------------------------- the victim


@dataclass
class Port:
    """One listener: where it is, whether it speaks TLS, and a request it must serve."""

    name: str
    host: str
    port: int
    tls: ssl.SSLContext | None
    probe: str  # a GET path answered 2xx (the cluster's with the admin's bearer token)
    token: str = ""

    def connect(self, *, handshake: bool = True) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=TIMEOUT)
        if self.tls is None or not handshake:
            return sock
        return self.tls.wrap_socket(sock, server_hostname=self.host)

    def request(self, method: str, path: str, extra: str = "", body: bytes = b"") -> bytes:
        auth = f"Authorization: Bearer {self.token}\r\n" if self.token else ""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{auth}{extra}\r\n"
        return head.encode() + body


@dataclass
class Victim:
    state_dir: Path
    facts: SandboxState
    ports: dict[str, Port]
    bucket: str
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = self._client(service)
        return self.clients[service]

    def _client(self, service: str) -> Any:
        account = self.facts.accounts[ACCOUNT]
        return boto3.session.Session().client(
            service,
            endpoint_url=self.facts.endpoint,
            region_name=REGION,
            aws_access_key_id=account.access_key_id,
            aws_secret_access_key=account.secret_access_key,
            config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=10),
        )

    def admin_token(self) -> str:
        account = self.facts.accounts[ACCOUNT]
        return eks_presign.presign_with_keys(
            self.facts.endpoint,
            REGION,
            CLUSTER,
            account.access_key_id,
            account.secret_access_key,
        )


def _world(bucket: str) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    account = {"id": ACCOUNT, "name": "ci", "buckets": [bucket], "clusters": [CLUSTER]}
    account["roles"] = [{"name": ROLE, "trust": trust}]
    return json.dumps({"region": REGION, "accounts": [account]})


@pytest.fixture(scope="module")
def victim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Victim]:
    base = tmp_path_factory.mktemp("victim")
    world = base / "world.json"
    bucket = f"survivor-{uuid.uuid4().hex[:8]}"
    world.write_text(_world(bucket), encoding="utf-8")
    state_dir = base / "state"
    facts = process.start_detached(state_dir, world, timeout=90)
    try:
        found = Victim(state_dir, facts, {}, bucket)
        found.ports = _ports(found)
        yield found
    finally:
        process.stop(state_dir)


def _ports(victim: Victim) -> dict[str, Port]:
    cluster = victim.client("eks").describe_cluster(name=CLUSTER)["cluster"]
    context = pki.client_ssl_context(victim.facts.ca_file.read_bytes())
    aws = urlsplit(victim.facts.endpoint)
    issuer = urlsplit(cluster["identity"]["oidc"]["issuer"])
    api = urlsplit(cluster["endpoint"])
    assert aws.hostname and issuer.hostname and api.hostname and aws.port
    assert issuer.port and api.port
    return {
        "aws": Port("aws", aws.hostname, aws.port, None, "/?Action=GetCallerIdentity"),
        "issuer": Port(
            "issuer",
            issuer.hostname,
            issuer.port,
            context,
            issuer.path + "/.well-known/openid-configuration",
        ),
        "cluster": Port(
            "cluster",
            api.hostname,
            api.port,
            context,
            "/api/v1/namespaces/default",
            victim.admin_token(),
        ),
    }


PORTS = ["aws", "issuer", "cluster"]
TLS_PORTS = ["issuer", "cluster"]


# --------------------------------------------------------------------------- checks


def read_answer(sock: socket.socket, most: int = 1 << 20) -> bytes:
    """What the server sends until its first final answer is complete (a kept-alive TLS
    connection then waits for the next request), it closes, the timeout, or ``most``."""
    received = b""
    with contextlib.suppress(ConnectionResetError, ssl.SSLError, TimeoutError):
        while len(received) < most and (chunk := sock.recv(65536)):
            received += chunk
            if _complete(received):
                break
    return received


def _complete(reply: bytes) -> bool:
    for found in re.finditer(rb"HTTP/1\.[01] (\d{3}) ", reply):
        if found.group(1).startswith(b"1"):
            continue
        end = reply.find(b"\r\n\r\n", found.start())
        if end < 0:
            return False
        head = reply[found.start() : end].lower()
        length = re.search(rb"\r\ncontent-length: *(\d+)", head)
        if length:
            return len(reply) >= end + 4 + int(length.group(1))
        return b"transfer-encoding: chunked" in head and reply.endswith(b"0\r\n\r\n")
    return False


def final_status(reply: bytes) -> int | None:
    """The first non-1xx status in ``reply`` (http.server's error page when the request
    line gave no version: "Error code: NNN")."""
    for found in re.finditer(rb"HTTP/1\.[01] (\d{3}) ", reply):
        if not found.group(1).startswith(b"1"):
            return int(found.group(1))
    page = re.search(rb"Error code: (\d{3})", reply)
    return int(page.group(1)) if page else None


def no_server_error(reply: bytes) -> None:
    """Every status answered is below 500, or a protocol feature HTTP does not implement."""
    for code in re.findall(rb"HTTP/1\.[01] (\d{3}) ", reply):
        assert int(code) < 500 or int(code) in ALLOWED_5XX, reply[:600]


def send_then_answer(port: Port, data: bytes, *, half_close: bool = True) -> tuple[bytes, float]:
    """``data`` on a fresh connection, the end of the request stream (plain sockets), and
    everything answered; with how long the answer took."""
    with port.connect() as sock:
        started = time.monotonic()
        sock.sendall(data)
        if half_close and port.tls is None:
            sock.shutdown(socket.SHUT_WR)
        reply = read_answer(sock)
        return reply, time.monotonic() - started


def served(port: Port) -> float:
    """A well-formed GET of ``port.probe``: answered 2xx; the seconds it took."""
    started = time.monotonic()
    with port.connect() as sock:
        sock.sendall(port.request("GET", port.probe, "Connection: close\r\n"))
        reply = read_answer(sock)
    elapsed = time.monotonic() - started
    expected = 403 if port.name == "aws" else 200  # aws: unsigned, MissingAuthenticationToken
    assert final_status(reply) == expected, (port.name, reply[:600])
    return elapsed


def assert_served_quickly(victim: Victim) -> None:
    for port in victim.ports.values():
        elapsed = served(port)
        assert elapsed < SERVED_WITHIN, (port.name, elapsed)


def assert_survived(victim: Victim) -> None:
    """The process lives, every port serves, and the world's state is all there."""
    assert process.read_state(victim.state_dir) is not None, "the sandbox process died"
    assert_served_quickly(victim)
    assert victim.client("sts").get_caller_identity()["Account"] == ACCOUNT
    assert victim.client("iam").get_role(RoleName=ROLE)["Role"]["RoleName"] == ROLE
    victim.client("s3").head_bucket(Bucket=victim.bucket)
    cluster = victim.client("eks").describe_cluster(name=CLUSTER)["cluster"]
    assert cluster["status"] == "ACTIVE"
    api = victim.ports["cluster"]
    request = urllib.request.Request(f"https://{api.host}:{api.port}/api/v1/namespaces/default")
    request.add_header("Authorization", f"Bearer {victim.admin_token()}")
    with urllib.request.urlopen(request, context=api.tls, timeout=TIMEOUT) as response:
        assert json.loads(response.read())["metadata"]["name"] == "default"


@pytest.fixture(autouse=True)
def survives(victim: Victim) -> Iterator[None]:
    yield
    assert_survived(victim)


# --------------------------------------------------------------------------- malformed framing

H = "Content-Type: application/json\r\n"
CHUNKED = H + "Transfer-Encoding: chunked\r\n"

BAD_CHUNKS = {
    "not hex": b"zz\r\n",
    "negative": b"-5\r\nabcde\r\n0\r\n\r\n",
    "plus sign": b"+5\r\nabcde\r\n0\r\n\r\n",
    "0x prefix": b"0x5\r\nabcde\r\n0\r\n\r\n",
    "underscore": b"1_0\r\n",
    "empty size": b"\r\nabc\r\n0\r\n\r\n",
    "seventeen digits": b"1" * 17 + b"\r\n",
    "line too long": b"1" + b" " * 5000,
    "CR without LF": b"3\rabc",
    "no CRLF after data": b"3\r\nabcXY",
    "size then garbage": b"5 x\r\n",
}


def _post_target(port: Port) -> str:
    """A path whose handler reads the body (the cluster's with the admin's token)."""
    return {"aws": "/", "issuer": "/id/x/keys", "cluster": "/api/v1/namespaces/default/configmaps"}[
        port.name
    ]


@pytest.mark.parametrize("name", PORTS)
@pytest.mark.parametrize("chunk", BAD_CHUNKS.values(), ids=BAD_CHUNKS.keys())
def test_a_malformed_chunk_line_is_refused_at_once(victim: Victim, name: str, chunk: bytes) -> None:
    """The client keeps its end open: an answer that waited for the socket's timeout (the
    bug) would take 60 s; a 4xx comes at once (the issuer reads no body: 404)."""
    port = victim.ports[name]
    data = port.request("POST", _post_target(port), CHUNKED) + chunk
    reply, elapsed = send_then_answer(port, data, half_close=False)
    assert elapsed < SERVED_WITHIN, (elapsed, reply[:300])
    status = final_status(reply)
    assert status is not None and 400 <= status < 500, reply[:600]
    no_server_error(reply)


CHUNK_SIZES = {
    "1 MiB, 10 bytes sent": (0x100000, b"x" * 10),
    "past the AWS limit": (AWS_LIMIT + 1, b"x" * 1000),
    "65 MiB": (65 * 1024 * 1024, b"abc"),
    "16 hex digits": (0x7FFFFFFFFFFFFFFF, b"abc"),
}


@pytest.mark.parametrize("name", PORTS)
@pytest.mark.parametrize("size,sent", CHUNK_SIZES.values(), ids=CHUNK_SIZES.keys())
def test_a_chunk_larger_than_what_arrives_then_close(
    victim: Victim, name: str, size: int, sent: bytes
) -> None:
    """The attack that segfaulted the sandbox: a chunk size far above what is sent, then
    the client closes without reading. Only the autouse check can fail here."""
    port = victim.ports[name]
    data = port.request("POST", _post_target(port), CHUNKED) + b"%x\r\n" % size + sent
    with port.connect() as sock:
        sock.sendall(data)
        time.sleep(0.2)


@pytest.mark.parametrize("name", PORTS)
def test_a_chunk_size_past_the_limit_is_refused_before_its_bytes(victim: Victim, name: str) -> None:
    port = victim.ports[name]
    limit = KUBE_LIMIT if name == "cluster" else AWS_LIMIT
    data = port.request("POST", _post_target(port), CHUNKED) + b"%x\r\nabc" % (limit + 1)
    reply, elapsed = send_then_answer(port, data, half_close=False)
    assert elapsed < SERVED_WITHIN, (elapsed, reply[:300])
    expected = {"aws": 413, "issuer": 404, "cluster": 413}[name]  # RequestEntityTooLarge
    assert final_status(reply) == expected, reply[:600]
    assert b"connection: close" in reply.lower(), reply[:600]


FRAMING = {
    "transfer coding gzip": ("Transfer-Encoding: gzip, chunked\r\n", b"0\r\n\r\n"),
    "transfer coding identity": ("Transfer-Encoding: identity\r\n", b""),
    "two content lengths": ("Content-Length: 3\r\nContent-Length: 4\r\n", b"abcd"),
    "content length not a number": ("Content-Length: 1_0\r\n", b"abcdefghij"),
    "negative content length": ("Content-Length: -5\r\n", b""),
}


@pytest.mark.parametrize("name", PORTS)
@pytest.mark.parametrize("extra,body", FRAMING.values(), ids=FRAMING.keys())
def test_framing_http_cannot_read_is_refused(
    victim: Victim, name: str, extra: str, body: bytes
) -> None:
    """Headers that give the body no reliable end: each app refuses the request in its
    own format (the issuer reads no body: 404), and the connection closes, so the bytes
    are never read as a next request."""
    port = victim.ports[name]
    reply, elapsed = send_then_answer(port, port.request("POST", _post_target(port), extra) + body)
    assert elapsed < SERVED_WITHIN
    status = final_status(reply)
    assert status == (404 if name == "issuer" else 400), reply[:600]
    if "Content-Length: 1_0" not in extra:  # a length that is only not a number: the app's
        assert b"connection: close" in reply.lower(), reply[:600]
    no_server_error(reply)


REQUEST_LINES = {
    "one word": b"GARBAGE\r\n\r\n",
    "bad version": b"GET / HTTP/1.x\r\n\r\n",
    "four words": b"GET / HTTP/1.1 extra\r\n\r\n",
    "http2": b"GET / HTTP/2.0\r\n\r\n",
    "uri too long": b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
    "header line too long": b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n",
    "too many headers": b"GET / HTTP/1.1\r\n" + b"X-A: 1\r\n" * 200 + b"\r\n",
    "header without colon": b"GET / HTTP/1.1\r\nnot a header\r\n\r\n",
    "nul bytes": b"GET /\x00 HTTP/1.1\r\n\r\n",
    "binary": bytes(range(256)),
    "only CRLFs": b"\r\n" * 50,
}


@pytest.mark.parametrize("name", PORTS)
@pytest.mark.parametrize("data", REQUEST_LINES.values(), ids=REQUEST_LINES.keys())
def test_requests_that_do_not_parse_are_answered(victim: Victim, name: str, data: bytes) -> None:
    port = victim.ports[name]
    reply, elapsed = send_then_answer(port, data)
    assert elapsed < SERVED_WITHIN, elapsed
    no_server_error(reply)


# --------------------------------------------------------------------------- lying bodies


@pytest.mark.parametrize("name", PORTS)
def test_a_body_shorter_than_its_content_length_then_close(victim: Victim, name: str) -> None:
    """The server waits (the bytes may still come), serves others meanwhile, and answers
    4xx once the stream ends (plain HTTP: half-close; TLS: the client closes)."""
    port = victim.ports[name]
    data = port.request("POST", _post_target(port), H + "Content-Length: 1000\r\n") + b"{}"
    with port.connect() as sock:
        sock.sendall(data)
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(1)  # no answer yet: the body is not complete (the issuer: 404 unread)
    assert_served_quickly(victim)


@pytest.mark.parametrize("name", ["aws"])
def test_a_truncated_body_is_incomplete(victim: Victim, name: str) -> None:
    port = victim.ports[name]
    data = port.request("PUT", f"/{victim.bucket}/k", "Content-Length: 1000\r\n") + b"x" * 10
    reply, _ = send_then_answer(port, data)
    assert final_status(reply) == 400 and b"<Code>IncompleteBody</Code>" in reply, reply[:600]


@pytest.mark.parametrize("name", PORTS)
def test_a_body_longer_than_its_content_length(victim: Victim, name: str) -> None:
    port = victim.ports[name]
    data = port.request("POST", _post_target(port), H + "Content-Length: 2\r\n") + b"{}" * 5000
    reply, elapsed = send_then_answer(port, data)
    assert elapsed < SERVED_WITHIN
    no_server_error(reply)


@pytest.mark.parametrize("name", PORTS)
@pytest.mark.parametrize("length", [AWS_LIMIT + 1, 10**15, 10**40])
def test_a_huge_announced_body_is_refused_unread(victim: Victim, name: str, length: int) -> None:
    """Refused at once, without ``100 Continue``, and the connection closes."""
    port = victim.ports[name]
    extra = f"Content-Length: {length}\r\nExpect: 100-continue\r\n"
    with port.connect() as sock:
        started = time.monotonic()
        sock.sendall(port.request("PUT", f"/{victim.bucket}/k", extra) + b"x" * 1024)
        reply = read_answer(sock)
    assert time.monotonic() - started < SERVED_WITHIN
    assert b" 100 Continue" not in reply, reply[:300]
    assert final_status(reply) in {"aws": (413,), "issuer": (404,), "cluster": (413, 404)}[name]
    assert b"connection: close" in reply.lower(), reply[:600]


@pytest.mark.parametrize("name", ["aws", "cluster"])
def test_a_chunked_body_within_the_limit_is_read(victim: Victim, name: str) -> None:
    """The strict decoder still reads what clients send: extensions, many small chunks,
    trailers."""
    port = victim.ports[name]
    if name == "aws":
        target, content = f"/{victim.bucket}/chunked", b"0123456789" * 1000
    else:
        target = _post_target(port)
        content = json.dumps(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{os.getpid()}"}}
        ).encode()
    pieces = [content[i : i + 7] for i in range(0, len(content), 7)]
    body = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\nX-T: 1\r\n\r\n"
    method = "PUT" if name == "aws" else "POST"
    reply, _ = send_then_answer(port, port.request(method, target, CHUNKED) + body)
    if name == "aws":  # unsigned: S3 refuses the anonymous write, after reading the body
        assert final_status(reply) == 403, reply[:600]
    else:
        assert final_status(reply) == 201, reply[:600]


# --------------------------------------------------------------------------- slow and idle


def _trickle(sockets: list[socket.socket], stop: threading.Event) -> None:
    while not stop.wait(0.2):
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.sendall(b"a")


def test_idle_slow_and_half_open_clients_on_every_port_do_not_block_others(
    victim: Victim,
) -> None:
    """On each port at once: idle TCP connections, half a TLS ClientHello (TLS ports),
    TLS done then nothing, headers trickled byte by byte, a body trickled, and
    ``Expect: 100-continue`` without its body. Every port must still serve, quickly,
    several times over."""
    held: list[socket.socket] = []
    trickled: list[socket.socket] = []
    try:
        for port in victim.ports.values():
            for _ in range(4):
                held.append(port.connect(handshake=False))
            if port.tls is not None:
                half = port.connect(handshake=False)
                half.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
                held += [half, port.connect()]
            slow_head = port.connect()
            slow_head.sendall(b"GET / HTTP/1.1\r\nX-Slow: ")
            slow_body = port.connect()
            extra = H + "Content-Length: 100000\r\n"
            slow_body.sendall(port.request("POST", _post_target(port), extra))
            expect = port.connect()
            expect.sendall(
                port.request("PUT", "/x", "Content-Length: 10\r\nExpect: 100-continue\r\n")
            )
            held.append(expect)
            trickled += [slow_head, slow_body]
        stop = threading.Event()
        feeder = threading.Thread(target=_trickle, args=(trickled, stop), daemon=True)
        feeder.start()
        try:
            for _ in range(5):
                assert_served_quickly(victim)
        finally:
            stop.set()
            feeder.join(timeout=TIMEOUT)
    finally:
        for sock in held + trickled:
            sock.close()


@pytest.mark.parametrize("name", TLS_PORTS)
def test_not_tls_on_a_tls_port_is_dropped_at_once(victim: Victim, name: str) -> None:
    port = victim.ports[name]
    alert = b"\x15\x03\x01\x00\x02\x02\x28"  # a TLS record: fatal handshake_failure
    for data in (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", bytes(range(256)), alert):
        with port.connect(handshake=False) as sock:
            started = time.monotonic()
            sock.sendall(data)
            read_answer(sock)
            assert time.monotonic() - started < SERVED_WITHIN


@pytest.mark.slow
def test_an_unfinished_tls_handshake_is_dropped_after_its_deadline(victim: Victim) -> None:
    """Idle, or dripping a ClientHello a byte at a time: the server closes the connection
    once the handshake deadline passes, however the bytes are spread."""
    held = []
    for name in TLS_PORTS:
        port = victim.ports[name]
        idle = port.connect(handshake=False)
        drip = port.connect(handshake=False)
        held += [(idle, b""), (drip, b"\x16\x03\x01\x02\x00" + b"\x01" * 100)]
    started = time.monotonic()
    try:
        for step in range(int(HANDSHAKE_SECONDS * 2) + 6):
            for sock, hello in held:
                if step < len(hello):
                    with contextlib.suppress(OSError):
                        sock.sendall(hello[step : step + 1])
            time.sleep(0.5)
            if all(_closed(sock) for sock, _ in held):
                break
        assert all(_closed(sock) for sock, _ in held)
        assert time.monotonic() - started < HANDSHAKE_SECONDS + 3
    finally:
        for sock, _ in held:
            sock.close()


def _closed(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.settimeout(TIMEOUT)


@pytest.mark.parametrize("name", PORTS)
def test_a_client_that_never_reads_its_answers(victim: Victim, name: str) -> None:
    """Pipelined requests whose answers are never read: the server's writes block on that
    connection only."""
    port = victim.ports[name]
    sock = port.connect()
    try:
        sock.settimeout(0.5)
        one = port.request("GET", port.probe)
        with contextlib.suppress(TimeoutError, ssl.SSLError, OSError):
            for _ in range(2000):
                sock.sendall(one)
        assert_served_quickly(victim)
    finally:
        sock.close()


# --------------------------------------------------------------------------- odd hosts, paths

ODD = {
    "absolute form": b"GET http://evil.example.com/ HTTP/1.1\r\nHost: x\r\n\r\n",
    "asterisk": b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    "no host": b"GET / HTTP/1.1\r\n\r\n",
    "empty host": b"GET / HTTP/1.1\r\nHost:\r\n\r\n",
    "two hosts": b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "long host": b"GET / HTTP/1.1\r\nHost: " + b"h" * 60_000 + b"\r\n\r\n",
    "host with port garbage": b"GET / HTTP/1.1\r\nHost: x:99999999999\r\n\r\n",
    "upper-case trailing dot": b"GET / HTTP/1.1\r\nHost: B-SECRET.EXAMPLE.COM.\r\n\r\n",
    "dot segments": b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
    "double slashes": b"GET //x//y HTTP/1.1\r\nHost: x\r\n\r\n",
    "percent nul": b"GET /%00/%ff/%zz HTTP/1.1\r\nHost: x\r\n\r\n",
    "not utf8": b"GET /\xff\xfe?\xc3\x28=\xa0 HTTP/1.1\r\nHost: \xff\r\n\r\n",
    "moto api": b"GET /moto-api/data.json HTTP/1.1\r\nHost: x\r\n\r\n",
    "odd method": b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n",
    "connect": b"CONNECT evil.example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n",
    "http/1.0": b"GET / HTTP/1.0\r\n\r\n",
}


@pytest.mark.parametrize("name", PORTS)
@pytest.mark.parametrize("data", ODD.values(), ids=ODD.keys())
def test_odd_hosts_and_paths_are_answered(victim: Victim, name: str, data: bytes) -> None:
    port = victim.ports[name]
    reply, elapsed = send_then_answer(port, data)
    assert elapsed < SERVED_WITHIN, elapsed
    assert final_status(reply) is not None, reply[:300]
    no_server_error(reply)


def test_many_connections_at_once_then_gone(victim: Victim) -> None:
    """A burst of connections on every port that each send half a request and vanish."""
    for port in victim.ports.values():
        opened = [port.connect(handshake=False) for _ in range(30)]
        for sock in opened:
            with contextlib.suppress(OSError):
                sock.sendall(b"\x16\x03\x01" if port.tls else b"POST / HTTP/1.1\r\nContent-Le")
            sock.close()
    assert_served_quickly(victim)


# --------------------------------------------------------------------------- the head's deadline


class _QuickHead(KeepAliveHandler):
    head_seconds = 1.0


def _hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]


@pytest.fixture
def quick_head() -> Iterator[Listener]:
    """An in-process listener whose request heads must arrive within a second."""
    listener = Listener("127.0.0.1", 0, _hello, handler=_QuickHead)
    thread = listener.serve_in_thread("quick-head")
    try:
        yield listener
    finally:
        listener.shutdown()
        listener.server_close()
        thread.join(timeout=TIMEOUT)


def test_a_trickled_request_head_is_cut_at_its_deadline(quick_head: Listener) -> None:
    """A byte of header every 0.2 s never trips the socket's timeout; the head's deadline
    ends it (the sandbox's listeners: 60 s)."""
    with socket.create_connection(("127.0.0.1", quick_head.server_port), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        started = time.monotonic()
        closed = False
        while not closed and time.monotonic() - started < 3.0:
            with contextlib.suppress(OSError):
                sock.sendall(b"a")
            time.sleep(0.2)
            closed = _closed(sock)
        assert closed
        assert 0.8 < time.monotonic() - started < 2.0


def test_the_deadline_is_per_request_on_a_kept_connection(quick_head: Listener) -> None:
    """Each request of a kept-alive connection gets its own deadline; a body read after
    the head is not cut by it."""
    with socket.create_connection(("127.0.0.1", quick_head.server_port), timeout=TIMEOUT) as sock:
        for _ in range(3):
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
            time.sleep(0.7)
            sock.sendall(b"cd")
            assert final_status(read_answer(sock)) == 200
            time.sleep(0.7)


# --------------------------------------------------------------------------- connection cap


def test_more_idle_connections_than_the_cap_on_every_port(victim: Victim) -> None:
    """Past each listener's cap (sandbox.http.MAX_CONNECTIONS) of idle TCP connections,
    plain and before the TLS handshake: the oldest idle ones are evicted, a legitimate
    client is served within the bound, and the process survives (autouse check)."""
    from kubetrust.sandbox.host.http import MAX_CONNECTIONS

    held: list[socket.socket] = []
    try:
        for port in victim.ports.values():
            held += [port.connect(handshake=False) for _ in range(MAX_CONNECTIONS + 40)]
        for _ in range(3):
            assert_served_quickly(victim)
        assert any(_closed(sock) for sock in held)  # the cap evicted some
    finally:
        for sock in held:
            sock.close()


def test_a_full_listener_evicts_idle_connections_and_serves_new_ones() -> None:
    """An in-process listener capped at 4: ten idle clients, then a real request; it is
    answered at once, and the listener never holds more than its cap plus the evicted."""
    listener = Listener("127.0.0.1", 0, _hello, max_connections=4)
    thread = listener.serve_in_thread("capped")
    idle: list[socket.socket] = []
    try:
        address = ("127.0.0.1", listener.server_port)
        idle = [socket.create_connection(address, timeout=TIMEOUT) for _ in range(10)]
        started = time.monotonic()
        with socket.create_connection(address, timeout=TIMEOUT) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert final_status(read_answer(sock)) == 200
        assert time.monotonic() - started < SERVED_WITHIN
        assert sum(_closed(sock) for sock in idle) >= 7  # the oldest idle were evicted
        # the served connection's thread counts itself out just after its answer is sent
        settled = time.monotonic() + TIMEOUT
        while listener.connections.open > 4 and time.monotonic() < settled:
            time.sleep(0.01)
        assert listener.connections.open <= 4
    finally:
        for sock in idle:
            sock.close()
        listener.shutdown()
        listener.server_close()
        thread.join(timeout=TIMEOUT)


def test_a_full_listener_of_busy_connections_closes_the_newcomer() -> None:
    """Every slot serving a request (a body still arriving): a new connection waits its
    bound for a slot, then is closed unanswered; once a slot frees, clients are served."""
    listener = Listener("127.0.0.1", 0, _hello, max_connections=2)
    listener.connections.wait = 0.5
    thread = listener.serve_in_thread("busy")
    busy: list[socket.socket] = []
    try:
        address = ("127.0.0.1", listener.server_port)
        for _ in range(2):
            sock = socket.create_connection(address, timeout=TIMEOUT)
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
            busy.append(sock)
        time.sleep(0.3)
        with socket.create_connection(address, timeout=TIMEOUT) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_answer(sock) == b""
        busy.pop().close()
        time.sleep(0.3)
        with socket.create_connection(address, timeout=TIMEOUT) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert final_status(read_answer(sock)) == 200
    finally:
        for sock in busy:
            sock.close()
        listener.shutdown()
        listener.server_close()
        thread.join(timeout=TIMEOUT)
