"""The instance metadata service (IMDS) of the sandbox's nodes (reference H.5).

On EKS every node is an EC2 instance whose IMDS, at ``169.254.169.254``, hands out the
instance role's credentials; a pod without IRSA or Pod Identity gets them through the SDK's
last credential provider unless IMDS is blocked. The sandbox runs one IMDS per sandbox on
its own loopback listener, each node under its own path (:func:`base_path`):
``/clusters/<account>/<cluster>/node-<key>`` is the node itself (one hop; the key is the
service's own, given to no pod, so that a pod cannot name the node's path to skip the hop
limit), ``.../pod`` a pod on
it behind the pod network's bridge (two hops). ``kubetrust sandbox exec`` gives a pod
``AWS_EC2_METADATA_SERVICE_ENDPOINT`` = the pod path; botocore appends ``latest/...``
(``IMDSFetcher._construct_url``).

What it serves, as EC2 does:

1. ``PUT latest/api/token`` with ``X-aws-ec2-metadata-token-ttl-seconds`` (1 to 21600):
   200, an opaque token valid that long on this node only, the TTL echoed in the same
   header; a missing or out-of-range TTL 400; a request with ``X-Forwarded-For`` 403
   (IMDS refuses tokens to forwarded requests); another method on that path 405.
   **The hop limit**: EC2 sends the PUT's response with the IP TTL of the hop limit, so
   with hop limit 1 it dies at the bridge in front of a pod (:func:`put_response_dropped`).
   The sandbox holds such a request for :data:`DROPPED_RESPONSE_HOLD` (past botocore's 1 s
   IMDS timeout) and closes it without a byte; botocore treats the timeout as "no token"
   and goes on without one (reference H.5). GETs (IMDSv1) are not hop-limited.
2. ``GET latest/meta-data/...`` with ``X-aws-ec2-metadata-token``: a token unknown,
   expired or of another node 401; no token 401 when the node requires tokens
   (``http_tokens: required``), else served (IMDSv1).
3. ``iam/security-credentials/``: the instance role's name; 404 while the role does not
   exist (an instance profile without a role). ``iam/security-credentials/<role>``: the
   JSON ``{Code, LastUpdated, Type: AWS-HMAC, AccessKeyId, SecretAccessKey, Token,
   Expiration}`` of the node's session (:class:`~.pod_identity_agent.NodeRoles`:
   ``assumed-role/<role>/<instance id>``, cached and renewed well before it expires);
   when the role's trust does not let ``ec2.amazonaws.com`` assume it, 200 with
   ``{Code: AssumeRoleUnauthorizedAccess, Message, LastUpdated}`` (:data:`EC2_CANNOT_ASSUME`).
   ``instance-id`` and ``iam/`` listings too; anything else 404.

Tokens and credentials are never logged. Answers' bodies for errors are the HTML pages
EC2's IMDS sends (:func:`error_page`).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from kubetrust import policy
from kubetrust.chain import context
from kubetrust.policy import sts as sts_requests
from kubetrust.sandbox.aws import state
from kubetrust.sandbox.eks.pod_identity_agent import NodeRoles, instance_id
from kubetrust.sandbox.world import World

Origin = Literal["node", "pod"]

CLUSTERS_PREFIX = "/clusters"
TOKEN_PATH = "latest/api/token"
META_DATA = "latest/meta-data/"
CREDENTIALS_PATH = META_DATA + "iam/security-credentials/"
TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
MIN_TOKEN_TTL = 1
MAX_TOKEN_TTL = 21600
"""A token lives 1 second to 6 hours (reference H.5)."""
HOPS: Mapping[Origin, int] = {"node": 1, "pod": 2}
"""How many hops a PUT's response travels to reach the caller: the node's own process one,
a pod behind the pod network's bridge two."""
DROPPED_RESPONSE_HOLD = 1.5
"""Seconds a token request whose response cannot reach its caller is held before its
connection is closed without an answer: past botocore's default IMDS timeout (1 s), so its
fetcher times out as on a node; bounded, so no thread hangs."""
MAX_TOKENS = 10000
"""Tokens kept at once; the oldest are forgotten first (a caller then asks again)."""
EC2_SERVICE = "ec2.amazonaws.com"
EC2_CANNOT_ASSUME = (
    "EC2 cannot assume the role {role}.  Please see documentation at "
    "http://docs.amazonwebservices.com/IAM/latest/UserGuide/RolesTroubleshooting.html."
)
"""[unconfirmed: public reports' wording] the IMDS ``Message`` when the role's trust does
not admit ``ec2.amazonaws.com``."""
CREDENTIALS_TIME = "%Y-%m-%dT%H:%M:%SZ"
"""IMDS's timestamps (botocore parses ``Expiration`` with exactly this format)."""


def base_path(account: str, cluster: str, origin: Origin, node_key: str = "") -> str:
    """The path under which ``cluster``'s node answers a caller at ``origin`` (module doc).
    The node's own path carries the service's :attr:`~InstanceMetadataService.node_key`:
    a pod that names the node path itself must not skip the hop limit (on EC2 no address
    does: the TTL is the network's)."""
    segment = "pod" if origin == "pod" else f"node-{node_key}"
    return f"{CLUSTERS_PREFIX}/{account}/{cluster}/{segment}"


@dataclass(frozen=True, slots=True)
class Route:
    """Where a request is addressed: a node, from where, and the IMDS path (``latest/...``)."""

    account: str
    cluster: str
    origin: Origin
    path: str
    node_key: str = ""
    """The key a node path carried (:func:`base_path`); the service checks it."""

    @property
    def node(self) -> tuple[str, str]:
        return self.account, self.cluster


def route(path: str) -> Route | None:
    """The :class:`Route` of ``/clusters/<account>/<cluster>/<node-KEY|pod>/<path>``."""
    parts = path.split("/", 5)
    if len(parts) < 5 or parts[0] != "" or "/" + parts[1] != CLUSTERS_PREFIX:
        return None
    account, cluster, origin = parts[2], parts[3], parts[4]
    if not account or not cluster:
        return None
    rest = parts[5] if len(parts) == 6 else ""
    if origin == "pod":
        return Route(account, cluster, "pod", rest)
    if origin.startswith("node-"):
        return Route(account, cluster, "node", rest, origin.removeprefix("node-"))
    return None


def token_ttl(header: str | None) -> int | None:
    """The TTL a token request asks for; ``None`` when missing or outside 1..21600 (400)."""
    if header is None or not header.strip().isdigit():
        return None
    ttl = int(header.strip())
    return ttl if MIN_TOKEN_TTL <= ttl <= MAX_TOKEN_TTL else None


def put_response_dropped(origin: Origin, hop_limit: int) -> bool:
    """Whether a token PUT's response dies on the way back: it needs more hops than the
    node's hop limit allows (module doc, "The hop limit")."""
    return HOPS[origin] > hop_limit


@dataclass(slots=True)
class Tokens:
    """The IMDSv2 tokens issued, each bound to one node until it expires."""

    clock: Callable[[], dt.datetime]
    limit: int = MAX_TOKENS
    _held: dict[str, tuple[tuple[str, str], dt.datetime]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def issue(self, node: tuple[str, str], ttl: int) -> str:
        token = secrets.token_urlsafe(42)
        expires = self.clock() + dt.timedelta(seconds=ttl)
        with self._lock:
            self._forget_expired()
            while len(self._held) >= self.limit:
                self._held.pop(next(iter(self._held)))
            self._held[token] = (node, expires)
        return token

    def valid(self, token: str, node: tuple[str, str]) -> bool:
        """Whether ``token`` was issued by ``node`` and has not expired."""
        with self._lock:
            found = self._held.get(token)
        return found is not None and found[0] == node and self.clock() < found[1]

    def remaining(self, token: str) -> int:
        """Seconds ``token`` has left (EC2 echoes it on every answer to a token)."""
        with self._lock:
            found = self._held.get(token)
        if found is None:
            return 0
        return max(0, int((found[1] - self.clock()).total_seconds()))

    def _forget_expired(self) -> None:
        now = self.clock()
        for token in [t for t, (_, expires) in self._held.items() if expires <= now]:
            del self._held[token]


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer of IMDS."""

    status: int
    body: bytes
    content_type: str = "text/plain"
    headers: tuple[tuple[str, str], ...] = ()


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
}


def error_page(status: int) -> Answer:
    """EC2's IMDS error answer: a small XHTML page naming the status."""
    title = f"{status} - {_REASONS[status]}"
    body = (
        '<?xml version="1.0" encoding="iso-8859-1"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
        '\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n'
        f" <head>\n  <title>{title}</title>\n </head>\n"
        f" <body>\n  <h1>{title}</h1>\n </body>\n</html>\n"
    )
    return Answer(status, body.encode(), "text/html")


def timestamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime(CREDENTIALS_TIME)


class ResponseDropped(ConnectionAbortedError):
    """The token's response cannot reach the caller (module doc, "The hop limit"). A
    ``ConnectionError``: the listener closes the connection without an answer."""


class InstanceMetadataService:
    """The WSGI app of every node's IMDS (module doc). ``running`` says whether a cluster
    (and so its node) exists; ``hold`` is :data:`DROPPED_RESPONSE_HOLD` (tests shorten it)."""

    def __init__(
        self,
        nodes: NodeRoles,
        world: World,
        clock: Callable[[], dt.datetime],
        *,
        running: Callable[[str, str], bool],
        hold: float = DROPPED_RESPONSE_HOLD,
        node_key: str | None = None,
    ) -> None:
        self.node_key = node_key or secrets.token_urlsafe(18)
        """What a node's own path carries (:func:`base_path`): given to no pod."""
        self.nodes = nodes
        self.world = world
        self.clock = clock
        self.running = running
        self.hold = hold
        self.tokens = Tokens(clock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        answer = self.answer(
            str(environ.get("REQUEST_METHOD", "")), str(environ.get("PATH_INFO", "")), headers
        )
        sent = [
            ("Content-Type", answer.content_type),
            ("Content-Length", str(len(answer.body))),
            *answer.headers,
        ]
        start_response(f"{answer.status} {_reason(answer.status)}", sent)
        return [answer.body]

    def node_path(self, account: str, cluster: str) -> str:
        """The path of ``cluster``'s node itself (one hop: the hop limit never stops it)."""
        return base_path(account, cluster, "node", self.node_key)

    def answer(self, method: str, path: str, headers: Mapping[str, str]) -> Answer:
        """IMDS's answer to one request; raises :class:`ResponseDropped` after holding a
        token request whose response would not reach its caller. A node path without this
        service's key is no path at all (:func:`base_path`)."""
        found = route(path)
        if found is None or not self.running(found.account, found.cluster):
            return error_page(404)
        if found.origin == "node" and not secrets.compare_digest(found.node_key, self.node_key):
            return error_page(404)
        if found.path == TOKEN_PATH:
            return self._token(method, found, headers)
        if method not in ("GET", "HEAD"):
            return error_page(405)
        settings = self.world.nodes_of(found.account, found.cluster).imds
        token = headers.get(TOKEN_HEADER.lower())
        if token is not None and not self.tokens.valid(token, found.node):
            return error_page(401)
        if token is None and settings.tokens_required:
            return error_page(401)
        served = self._metadata(found)
        if token is None:
            return served
        echoed = (TTL_HEADER, str(self.tokens.remaining(token)))
        return Answer(served.status, served.body, served.content_type, (*served.headers, echoed))

    def _token(self, method: str, found: Route, headers: Mapping[str, str]) -> Answer:
        if method != "PUT":
            return error_page(405)
        if "x-forwarded-for" in headers:
            return error_page(403)
        ttl = token_ttl(headers.get(TTL_HEADER.lower()))
        if ttl is None:
            return error_page(400)
        hop_limit = self.world.nodes_of(found.account, found.cluster).imds.hop_limit
        if put_response_dropped(found.origin, hop_limit):
            time.sleep(self.hold)
            raise ResponseDropped(f"hop limit {hop_limit}: the token's response dies on the way")
        token = self.tokens.issue(found.node, ttl)
        return Answer(200, token.encode(), headers=((TTL_HEADER, str(ttl)),))

    def _metadata(self, found: Route) -> Answer:
        account, cluster = found.node
        if found.path == META_DATA + "instance-id":
            return Answer(200, instance_id(account, cluster).encode())
        if found.path == META_DATA + "iam/":
            return self._listing(found, "security-credentials/")
        if not found.path.startswith(CREDENTIALS_PATH):
            return error_page(404)
        asked = found.path.removeprefix(CREDENTIALS_PATH)
        role_name = self.nodes.role_name(account, cluster)
        if asked == "":
            return self._listing(found, role_name)
        if asked == role_name:
            return self._credentials(account, cluster)
        return error_page(404)

    def _listing(self, found: Route, entry: str) -> Answer:
        """A listing that names the role (or leads to it): 404 while the role is missing."""
        if self.nodes.role(*found.node) is None:
            return error_page(404)
        return Answer(200, entry.encode())

    def _credentials(self, account: str, cluster: str) -> Answer:
        role = self.nodes.role(account, cluster)
        if role is None:
            return error_page(404)
        now = self.clock()
        if not ec2_may_assume(self.nodes, role, now):
            refusal = {
                "Code": "AssumeRoleUnauthorizedAccess",
                "Message": EC2_CANNOT_ASSUME.format(role=role.name),
                "LastUpdated": timestamp(now),
            }
            return Answer(200, json.dumps(refusal, indent=2).encode())
        issued = self.nodes.session_of(role, account, cluster)
        assert issued.expires_at is not None and issued.session_token is not None
        body = {
            "Code": "Success",
            "LastUpdated": timestamp(issued.issued_at or now),
            "Type": "AWS-HMAC",
            "AccessKeyId": issued.access_key_id,
            "SecretAccessKey": issued.secret_access_key,
            "Token": issued.session_token,
            "Expiration": timestamp(issued.expires_at),
        }
        return Answer(200, json.dumps(body, indent=2).encode())


def ec2_may_assume(nodes: NodeRoles, role: state.RoleFacts, now: dt.datetime) -> bool:
    """Whether the role's trust (and its account's RCPs) let ``ec2.amazonaws.com`` assume
    it, as EC2 does for the instance: a service principal has no identity policies."""
    side = nodes.sts.role_side(role)
    request = context.RequestFacts(now=now)
    requests = sts_requests.assume_role_requests(
        EC2_SERVICE, role.arn, session_name="i-0", context=side.context(request)
    )
    policies = policy.policy_set(resource=side.trust, rcps=side.rcps, resource_kind="trust")
    return all(policy.authorize(r, policies).allowed for r in requests)


def _reason(status: int) -> str:
    return "OK" if status == 200 else _REASONS.get(status, "")
