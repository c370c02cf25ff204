"""Throughput of the sandbox's AWS endpoint against bare moto, measured in the same run.

    .venv/bin/python benchmarks/sandbox.py [--seconds N] [--clients N [N ...]] [--smoke]

Servers, each in its own process on loopback, all called by the same boto3 clients:

- ``moto_server``: bare ``moto_server -H 127.0.0.1 -p <port>`` (authenticates and authorizes
  nothing; any keys will do);
- ``sandbox``: ``kubetrust sandbox up --detach`` as shipped (SigV4 verification, policy
  enforcement, STS answered by the gate, moto behind it), stopped with ``sandbox down``;

Calls: ``GetCallerIdentity``, ``AssumeRole`` (the administrator into a role that trusts its
account) and IAM ``GetRole``; one client thread and four (``--clients``), each thread with
its own boto3 client (urllib3 keeps connections alive on the client side). Printed: calls/s,
p50 and p99 latency, and the ratio to bare moto for the same call and client count.

Then where the time goes inside the sandbox: a few hundred calls are sent straight to the
gate's WSGI app in this process (no HTTP), timed per gate phase (read, SigV4 verify,
identify, authorize, STS, moto) and profiled with cProfile (top functions, and time by
package). Nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import logging
import os
import pstats
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

logger = logging.getLogger("kubetrust.sandbox.runtime.server")

REGION = "us-east-1"
CALLS = ("GetCallerIdentity", "AssumeRole", "GetRole")
ROLE_NAME = "kubetrust-bench-role"
SERVERS = ("moto_server", "sandbox")
ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- servers


@dataclass
class Target:
    """One server under test: where it listens and whose keys to sign with."""

    name: str
    endpoint: str
    key: str
    secret: str
    role_arn: str = ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint + "/", timeout=1.0):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _wait(ready: Callable[[], bool], what: str, child: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if child is not None and child.poll() is not None:
            raise RuntimeError(f"{what} exited with code {child.returncode} while starting")
        if ready():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer within 60 s")


def _stop_child(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=5)


@contextlib.contextmanager
def moto_server(workdir: Path) -> Iterator[Target]:
    binary = Path(sys.executable).parent / "moto_server"
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with open(workdir / "moto_server.log", "wb") as log:
        child = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    try:
        _wait(lambda: _answers(endpoint), "moto_server", child)
        yield Target("moto_server", endpoint, "AKIABENCHMOTO0000000", "moto-ignores-secrets")
    finally:
        _stop_child(child)


def _sandbox_facts(state_dir: Path, pid: int | None = None) -> dict[str, Any] | None:
    try:
        facts = json.loads((state_dir / "sandbox.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if pid is not None and facts.get("pid") != pid:
        return None
    return facts if _answers(str(facts["endpoint"])) else None


def _sandbox_target(name: str, facts: dict[str, Any]) -> Target:
    account, keys = sorted(facts["accounts"].items())[0]
    del account
    return Target(name, facts["endpoint"], keys["access_key_id"], keys["secret_access_key"])


def _kubetrust(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubetrust", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@contextlib.contextmanager
def shipped_sandbox(workdir: Path) -> Iterator[Target]:
    state_dir = workdir / "sandbox-state"
    _kubetrust("sandbox", "up", "--detach", "--state-dir", str(state_dir))
    try:
        facts = _sandbox_facts(state_dir)
        if facts is None:
            raise RuntimeError("the sandbox started but does not answer")
        yield _sandbox_target("sandbox", facts)
    finally:
        _kubetrust("sandbox", "down", "--state-dir", str(state_dir))


# --------------------------------------------------------------------------- clients


def client(target: Target, service: str, **credentials: str) -> Any:
    config = Config(region_name=REGION, retries={"max_attempts": 1}, max_pool_connections=2)
    keys = credentials or {
        "aws_access_key_id": target.key,
        "aws_secret_access_key": target.secret,
    }
    session = boto3.session.Session()
    return session.client(service, endpoint_url=target.endpoint, config=config, **keys)


def prepare(target: Target) -> None:
    """The role that AssumeRole and GetRole use, trusting the administrator's account."""
    account = client(target, "sts").get_caller_identity()["Account"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam = client(target, "iam")
    created = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))
    target.role_arn = created["Role"]["Arn"]


def call_for(target: Target, name: str) -> Callable[[], Any]:
    """A fresh client's bound call (one per thread)."""
    if name == "GetCallerIdentity":
        return client(target, "sts").get_caller_identity
    if name == "AssumeRole":
        sts = client(target, "sts")
        return lambda: sts.assume_role(RoleArn=target.role_arn, RoleSessionName="bench")
    iam = client(target, "iam")
    return lambda: iam.get_role(RoleName=ROLE_NAME)


@dataclass
class Result:
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int


def _percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(target: Target, name: str, clients: int, seconds: float) -> Result:
    calls = [call_for(target, name) for _ in range(clients)]
    for call in calls:  # warm up: connections, botocore's lazy loading
        for _ in range(3):
            call()
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    barrier = threading.Barrier(clients + 1)
    spans: list[float] = []

    def work(index: int) -> None:
        call, mine = calls[index], latencies[index]
        barrier.wait()
        end = time.perf_counter() + seconds
        while (started := time.perf_counter()) < end:
            try:
                call()
            except Exception:
                errors[index] += 1
                continue
            mine.append(time.perf_counter() - started)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    spans.append(time.perf_counter() - began)
    ordered = sorted(x for mine in latencies for x in mine)
    return Result(
        len(ordered) / spans[0],
        _percentile(ordered, 0.50) * 1000,
        _percentile(ordered, 0.99) * 1000,
        sum(errors),
    )


def connection_header(target: Target) -> str:
    """What the server says about the connection after a request (raw HTTP, unsigned)."""
    import http.client

    host, port = target.endpoint.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        response.read()
        return response.getheader("Connection") or "(none: keep-alive)"
    finally:
        conn.close()


# --------------------------------------------------------------------------- profile


class _Phases:
    """Wall time per gate phase, by wrapping the gate's steps in this process."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def timed(self, phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = function(*args, **kwargs)
                if phase == "moto":
                    result = list(result)
                return result
            finally:
                self.seconds[phase] += time.perf_counter() - started

        return wrapper


def _wsgi_requests(endpoint: str, keys: tuple[str, str], role_arn: str) -> dict[str, Any]:
    """Signed requests, as botocore sends them, for each call (replayable: no nonce)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    credentials = Credentials(*keys)
    form = "application/x-www-form-urlencoded; charset=utf-8"
    bodies = {
        "GetCallerIdentity": ("sts", "Action=GetCallerIdentity&Version=2011-06-15"),
        "AssumeRole": (
            "sts",
            "Action=AssumeRole&Version=2011-06-15&RoleSessionName=bench&RoleArn="
            + role_arn.replace(":", "%3A").replace("/", "%2F"),
        ),
        "GetRole": ("iam", f"Action=GetRole&Version=2010-05-08&RoleName={ROLE_NAME}"),
    }
    signed = {}
    for name, (service, body) in bodies.items():
        request = AWSRequest("POST", endpoint + "/", data=body.encode(), headers={})
        request.headers["Content-Type"] = form
        SigV4Auth(credentials, service, REGION).add_auth(request)
        signed[name] = (dict(request.prepare().headers), body.encode())
    return signed


def _environ(endpoint: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(path="/", base_url=endpoint, method="POST", headers=headers, data=body)
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    environ["RAW_URI"] = "/"
    return environ


@dataclass
class _InProcess:
    """A sandbox in this process, called straight through its gate's WSGI app."""

    gate: Any
    endpoint: str
    requests: dict[str, Any]

    def environs(self, name: str, count: int) -> list[dict[str, Any]]:
        headers, body = self.requests[name]
        return [_environ(self.endpoint, headers, body) for _ in range(count)]

    def send(self, environ: dict[str, Any]) -> int:
        status: list[str] = []
        b"".join(self.gate(environ, lambda s, h: status.append(s)))
        return int(status[0].split()[0])


@contextlib.contextmanager
def _in_process() -> Iterator[_InProcess]:
    from kubetrust.sandbox.runtime.server import SandboxServer

    logging.getLogger("kubetrust").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp, SandboxServer(Path(tmp)) as server:
        the_gate = server.gate
        assert the_gate is not None
        keys = server.admin_keys[sorted(server.admin_keys)[0]]
        target = Target("in-process", server.endpoint, *keys)
        prepare(target)
        sandbox = _InProcess(
            the_gate, server.endpoint, _wsgi_requests(server.endpoint, keys, target.role_arn)
        )
        for name in CALLS:  # warm up, and check that every call succeeds
            for environ in sandbox.environs(name, 5):
                code = sandbox.send(environ)
                if code != 200:
                    raise RuntimeError(f"{name} answered {code} in process")
        yield sandbox


def _time_phases(sandbox: _InProcess, calls: int) -> None:
    from kubetrust.sandbox.aws import gate, sigv4

    phases = _Phases()
    modules = {"read": (gate, "_read"), "sigv4 verify": (sigv4, "verify")}
    methods = {"identify": "_identify", "authorize": "_authorize", "sts": "_sts"}
    methods["moto"] = "_forward"
    originals = {phase: getattr(owner, name) for phase, (owner, name) in modules.items()}
    for phase, (owner, name) in modules.items():
        setattr(owner, name, phases.timed(phase, originals[phase]))
    for phase, name in methods.items():
        setattr(sandbox.gate, name, phases.timed(phase, getattr(sandbox.gate, name)))
    print(f"\nwhere the time goes in the sandbox (in process, no HTTP, {calls} calls each; µs)")
    order = (*modules, *methods)
    print(f"{'call':<18} {'total':>7} " + " ".join(f"{p:>12}" for p in order))
    try:
        for name in CALLS:
            prepared = sandbox.environs(name, calls)
            phases.seconds.clear()
            started = time.perf_counter()
            for environ in prepared:
                sandbox.send(environ)
            total = (time.perf_counter() - started) / calls * 1e6
            cells = " ".join(f"{phases.seconds[p] / calls * 1e6:>12.0f}" for p in order)
            print(f"{name:<18} {total:>7.0f} {cells}")
    finally:
        for phase, (owner, name) in modules.items():
            setattr(owner, name, originals[phase])
        for name in methods.values():
            vars(sandbox.gate).pop(name, None)


def profile(calls: int, top: int) -> None:
    """Where the sandbox's time goes, without HTTP: gate phases, then cProfile."""
    with _in_process() as sandbox:
        _time_phases(sandbox, calls)
        pairs = zip(*(sandbox.environs(n, calls) for n in CALLS[:2]), strict=True)
        prepared = [environ for pair in pairs for environ in pair]
        profiler = cProfile.Profile()
        profiler.enable()
        for environ in prepared:
            sandbox.send(environ)
        profiler.disable()
        _print_profile(profiler, calls, top)


def _package(filename: str) -> str:
    path = filename.replace("\\", "/")
    if "/kubetrust/" in path:
        rest = path.split("/kubetrust/", 1)[1].removesuffix(".py").split("/")
        return "kubetrust." + ".".join(rest[:2])
    if "/benchmarks/" in path:
        return "benchmark harness"
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if filename.startswith("<") or filename == "~":
        return "builtins"
    return "stdlib:" + Path(path).stem


def _print_profile(profiler: cProfile.Profile, calls: int, top: int) -> None:
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())
    per_call = 2 * calls
    by_package: dict[str, float] = defaultdict(float)
    for (filename, _, _), entry in raw.items():
        by_package[_package(filename)] += entry[2]
    print(
        f"\ncProfile, {calls} GetCallerIdentity + {calls} AssumeRole "
        f"(self time; profiling inflates it): {total / per_call * 1e6:.0f} µs per call"
    )
    print(f"{'package':<36} {'µs/call':>9} {'share':>7}")
    for package, seconds in sorted(by_package.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{package:<36} {seconds / per_call * 1e6:>9.0f} {seconds / total:>7.1%}")
    print(f"\n{'function (self time)':<70} {'ncalls':>8} {'µs/call':>9} {'cum µs':>9}")
    ranked = sorted(raw.items(), key=lambda kv: -kv[1][2])[:top]
    for (filename, line, function), (_, ncalls, tottime, cumtime, _) in ranked:
        where = f"{_package(filename)}:{line}({function})"
        print(
            f"{where[:70]:<70} {ncalls:>8} {tottime / per_call * 1e6:>9.1f} "
            f"{cumtime / per_call * 1e6:>9.1f}"
        )


# --------------------------------------------------------------------------- main


def _keep_best(results: dict[Any, Result], key: Any, got: Result) -> None:
    kept = results.get(key)
    if kept is None or got.rate > kept.rate:
        got.errors += kept.errors if kept else 0
        results[key] = got
    else:
        kept.errors += got.errors


def run(seconds: float, client_counts: list[int], servers: list[str], rounds: int) -> int:
    """All servers run side by side (idle unless measured); cells are interleaved so that
    drift on a busy machine hits every server alike; the best round of each cell is kept."""
    starters = {
        "moto_server": moto_server,
        "sandbox": shipped_sandbox,
    }
    results: dict[tuple[str, str, int], Result] = {}
    headers: dict[str, str] = {}
    with (
        tempfile.TemporaryDirectory(prefix="kubetrust-bench-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        targets = {name: stack.enter_context(starters[name](Path(tmp))) for name in servers}
        for name, target in targets.items():
            prepare(target)
            headers[name] = connection_header(target)
        for _ in range(rounds):
            for call in CALLS:
                for clients in client_counts:
                    for name, target in targets.items():
                        _keep_best(
                            results, (name, call, clients), measure(target, call, clients, seconds)
                        )
    print(f"{'call':<18} {'clients':>7}  {'server':<18} {'calls/s':>8} {'p50 ms':>7} ", end="")
    print(f"{'p99 ms':>7} {'errors':>6} {'vs moto':>8}")
    for call in CALLS:
        for clients in client_counts:
            base = results.get(("moto_server", call, clients))
            for name in servers:
                r = results[(name, call, clients)]
                ratio = f"{r.rate / base.rate:>7.2f}x" if base else f"{'-':>8}"
                print(
                    f"{call:<18} {clients:>7}  {name:<18} {r.rate:>8.0f} {r.p50_ms:>7.2f} "
                    f"{r.p99_ms:>7.2f} {r.errors:>6} {ratio}"
                )
    print("\nConnection header on responses:")
    for name, value in headers.items():
        print(f"  {name:<18} {value}")
    return 1 if any(r.errors for r in results.values()) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per call and client count")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4], help="client threads")
    parser.add_argument(
        "--servers", nargs="+", choices=SERVERS, default=list(SERVERS), help="servers to measure"
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds; the best is kept")
    parser.add_argument("--profile-calls", type=int, default=300, help="0: no profile")
    parser.add_argument("--top", type=int, default=15, help="rows of the profile")
    parser.add_argument("--smoke", action="store_true", help="tiny run (tests)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.seconds, args.clients, args.rounds = 0.5, [1], 1
        args.profile_calls, args.top = 20, 5
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    status = run(args.seconds, args.clients, args.servers, args.rounds)
    if args.profile_calls > 0:
        profile(args.profile_calls, args.top)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
