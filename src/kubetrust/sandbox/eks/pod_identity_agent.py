"""The EKS Pod Identity Agent of the sandbox's nodes (reference F.2, F.6, F.7).

On EKS the agent is a ``hostNetwork`` DaemonSet answering ``GET /v1/credentials`` on
``169.254.170.23``/``[fd00:ec2::23]``; a pod's SDK sends it the projected
``eks-pod-identity-token`` verbatim in ``Authorization``, and the agent trades it for
credentials with EKS Auth ``AssumeRoleForPodIdentity``, signed with the **node's** instance
role. The sandbox runs one agent per sandbox, on its own loopback listener, and reproduces
that handler (``pkg/handlers/eks_credential_handler.go``, ``internal/validation/request.go``,
``pkg/errors/errors.go``) in this order:

1. the route: ``GET <cluster prefix>/v1/credentials`` (:func:`credentials_path`), anything
   else 404 ``404 page not found`` as Go's mux answers;
2. the ``Host`` check (port and IPv6 brackets stripped): 403 ``Access Denied. Called agent
   through invalid address, please use either [<hosts>] address not <host>``. **Known
   difference:** the real agent accepts only ``169.254.170.23`` and ``fd00:ec2::23``; the
   sandbox accepts the loopback address it serves (:attr:`PodIdentityAgent.accepted_hosts`),
   which botocore accepts too (any loopback IP is an allowed container-credentials host);
3. the token, parsed **unverified**: empty 400 ``Service account token cannot be empty``;
   not a JWT 400 ``Service account token cannot be parsed: ...``; ``exp`` passed or ``nbf``
   ahead 400 ``Service account token failed basic claim validations: ...`` (golang-jwt v5's
   default validator: ``iat`` is not checked). The signature is EKS Auth's business;
4. the credentials, from the per-token cache (:class:`CredentialCache`) or EKS Auth over the
   sandbox's AWS endpoint, signed with the node role's session (:class:`NodeRoles`); EKS
   Auth's HTTP status is passed through with ``[<requestId>]: (<ErrorCode>): <message>,
   fault: <client|server|unknown>``, and a call that got no HTTP answer is a 500;
5. 200 ``application/json`` ``{"AccessKeyId","SecretAccessKey","Token","AccountId",
   "Expiration"}`` (RFC 3339; ``AccountId`` from the assumed-role ARN, as the agent does).

**Only with the add-on.** The agent is the ``eks-pod-identity-agent`` add-on: without it
nothing listens on ``169.254.170.23`` however the webhook mutated the pod (the webhook is
EKS-hosted and mutates pods whatever the add-ons). So the sandbox's agent serves a
cluster's path only while the cluster runs that add-on (:class:`AddonCheck`); otherwise it
closes the connection without a byte of answer (:class:`NothingListens`), which the pod's
botocore reports as it reports an address where nothing answers ("Error when retrieving
credentials from container-role: Error retrieving metadata: Received error when attempting
to retrieve container metadata: Connection was closed before we received a valid response
from endpoint URL ..."), after its three attempts. **Known difference:** on a node without
the agent the link-local address does not exist, so a connection there is refused or times
out (botocore's wording then names the refused connection or the timeout); an answerless
close is the nearest failure a listener that must keep serving other clusters can give,
and botocore handles all three the same way. The choice is made in one place,
:meth:`PodIdentityAgent.__call__` raising :class:`NothingListens`.

**Which cluster.** A real agent serves the one cluster its node belongs to
(``--cluster-name``). The sandbox's one agent serves every cluster, each under its own path
prefix ``/clusters/<account>/<cluster>`` (the "node" of that cluster): ``kubetrust sandbox
exec`` points a mutated pod's ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` there. The prefix, not
the token, names the cluster, so a token of another cluster fails at EKS Auth as on EKS.

**Node role**: a cluster's nodes have an instance role (the world file's node settings,
:meth:`kubetrust.sandbox.world.World.nodes_of`); by default each account that has a cluster
gets, with its first cluster, the role :data:`NODE_ROLE` (trusting ``ec2.amazonaws.com``,
with ``AmazonEKSWorkerNodePolicy`` attached, which grants
``eks-auth:AssumeRoleForPodIdentity``), unless a role of that name exists. The agent signs
with the session the node's IMDS hands out (:class:`NodeRoles`, shared in kind with
:mod:`.imds`): ``assumed-role/<instance role>/<instance id>``. Detach the policy, or delete
the role, and every pod's fetch fails as on a misconfigured node.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import http
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from kubetrust import errors
from kubetrust.chain import context
from kubetrust.sandbox.aws import credentials, state
from kubetrust.sandbox.aws.services.eks.addons import POD_IDENTITY_AGENT
from kubetrust.sandbox.world import DEFAULT_NODE_ROLE, World

if TYPE_CHECKING:
    from kubetrust.sandbox.aws.services.sts.api import StsService

AGENT_ADDON = POD_IDENTITY_AGENT
"""The EKS add-on that runs the agent on a cluster's nodes."""
REAL_AGENT_HOSTS = ("169.254.170.23", "fd00:ec2::23")
"""What the real agent accepts in ``Host`` (reference F.2); the sandbox's differs (module doc)."""
CREDENTIALS_SUFFIX = "/v1/credentials"
NODE_ROLE = DEFAULT_NODE_ROLE
"""The EKS user guide's name for the node IAM role (``create-node-role``)."""
NODE_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
NODE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
NODE_SESSION_SECONDS = 6 * 3600
"""Instance-role credentials from IMDS last about six hours [uncertain: not documented]."""
MAX_RETENTION = dt.timedelta(hours=3)
"""``--max-credential-retention-before-renewal``'s default: cached at most this long."""
MIN_REMAINING = dt.timedelta(seconds=15)
"""Cached credentials with this little left are not served."""
IRRECOVERABLE = frozenset(
    {
        "ResourceNotFoundException",
        "ExpiredTokenException",
        "InvalidTokenException",
        "AccessDeniedException",
    }
)
"""EKS Auth errors that evict a token's cached credentials (``refreshing_cache.go``)."""
SERVER_FAULTS = frozenset({"InternalServerException", "ServiceUnavailableException"})
CLIENT_FAULTS = frozenset(
    {
        "ThrottlingException",
        "InvalidRequestException",
        "AccessDeniedException",
        "InvalidTokenException",
        "InvalidParameterException",
        "ExpiredTokenException",
        "ResourceNotFoundException",
    }
)
"""The modelled EKS Auth errors and their smithy fault; any other code is ``unknown``."""
EKS_AUTH_TIMEOUT = 5.0
"""The real agent gives EKS Auth 1 s; the sandbox's EKS Auth runs STS and the policy
engine in the same process, so it gets more (a slow answer is not a failure to emulate)."""
NO_NODE_ROLE = (
    "operation error EKS Auth: AssumeRoleForPodIdentity, get identity: get credentials: "
    "failed to refresh cached credentials, no EC2 IMDS role found"
)


def credentials_path(account: str, cluster: str) -> str:
    """The path of the agent of ``cluster``'s nodes (module doc, "Which cluster")."""
    return f"/clusters/{account}/{cluster}{CREDENTIALS_SUFFIX}"


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer of the agent."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"

    @classmethod
    def error(cls, status: int, message: str) -> Answer:
        """Go's ``http.Error``: the message and a newline, as plain text."""
        return cls(status, (message + "\n").encode())


@dataclass(frozen=True, slots=True)
class PodCredentials:
    """What EKS Auth returned for one token, as the agent serves it."""

    access_key_id: str
    secret_access_key: str
    token: str
    account_id: str
    expiration: dt.datetime

    def body(self) -> bytes:
        return json.dumps(
            {
                "AccessKeyId": self.access_key_id,
                "SecretAccessKey": self.secret_access_key,
                "Token": self.token,
                "AccountId": self.account_id,
                "Expiration": rfc3339(self.expiration),
            }
        ).encode()


class EksAuthFailure(Exception):
    """EKS Auth refused, or could not be reached; ``status`` is ``None`` without an answer."""

    def __init__(self, status: int | None, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code

    def answer(self) -> Answer:
        return Answer.error(self.status or 500, self.message)


def rfc3339(moment: dt.datetime) -> str:
    """Go's ``time.RFC3339Nano`` in UTC: fractional seconds only when there are some."""
    utc = moment.astimezone(dt.UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


# ---------------------------------------------------------------------- request checks
def request_host(host_header: str) -> str:
    """``validateRequestTargetHost``: the port and IPv6 brackets stripped."""
    host = host_header
    if host.startswith("["):
        closing = host.find("]")
        if closing != -1 and (closing == len(host) - 1 or host[closing + 1 :].startswith(":")):
            return host[1:closing]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host


def host_refusal(host_header: str, accepted: tuple[str, ...]) -> Answer | None:
    host = request_host(host_header)
    if host in accepted:
        return None
    listed = "[" + " ".join(accepted) + "]"
    return Answer.error(
        403,
        "Access Denied. Called agent through invalid address, "
        f"please use either {listed} address not {host}",
    )


def token_refusal(token: str, now: dt.datetime) -> Answer | None:
    """``validateToken``: parseable without verification, ``exp`` and ``nbf`` hold."""
    if token == "":
        return Answer.error(400, "Service account token cannot be empty")
    try:
        claims = unverified_claims(token)
    except ValueError as error:
        return Answer.error(400, f"Service account token cannot be parsed: {error}")
    problems = claim_problems(claims, now.timestamp())
    if problems:
        message = ", ".join(problems)
        return Answer.error(400, f"Service account token failed basic claim validations: {message}")
    return None


def unverified_claims(token: str) -> Mapping[str, Any]:
    """golang-jwt's ``ParseUnverified``: three segments, a JSON header and claims."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("token is malformed: token contains an invalid number of segments")
    header = _segment(parts[0], "header")
    claims = _segment(parts[1], "claims")
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise ValueError("token is malformed: could not JSON decode claim")
    return claims


def _segment(text: str, what: str) -> Any:
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"token is malformed: could not base64 decode {what}") from None
    try:
        return errors.decode_json(raw)
    except (UnicodeDecodeError, ValueError):
        raise ValueError(f"token is malformed: could not JSON decode {what}") from None


def claim_problems(claims: Mapping[str, Any], now: float) -> list[str]:
    """golang-jwt v5's default ``Validator``: ``exp`` and ``nbf`` when present."""
    problems = []
    for name, failed in (("exp", "token is expired"), ("nbf", "token is not valid yet")):
        if name not in claims:
            continue
        value = claims[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"token has invalid claims: {name} is invalid")
        elif (now >= value) if name == "exp" else (now < value):
            problems.append(failed)
    return problems


# ---------------------------------------------------------------------- the node role
def ensure_node_role(account: str) -> None:
    """Create the account's node role unless a role of that name exists (module doc); the
    EKS control plane calls it as a cluster is created."""
    if state.role(account, NODE_ROLE) is not None:
        return
    state.create_role(account, NODE_ROLE, json.dumps(NODE_TRUST), "/", 3600, {})
    state.iam(account).attach_role_policy(NODE_POLICY_ARN, NODE_ROLE)


def instance_id(account: str, cluster: str) -> str:
    """The instance id of ``cluster``'s node: ``i-`` and 17 hex digits, as EC2's, stable for
    the cluster (the agent's and the IMDS's sessions of one node carry the same name)."""
    return "i-" + hashlib.sha256(f"{account}/{cluster}".encode()).hexdigest()[:17]


class NodeRoles:
    """Sessions of each cluster's node's instance role, as IMDS hands them out (to the
    agent's SDK and to anything else on the node): EC2 assumes the role for the instance
    with the instance id as session name, and rotates the keys well before they expire.
    ``world`` names each cluster's instance role (default: :data:`NODE_ROLE`)."""

    def __init__(
        self, sts: StsService, clock: Callable[[], dt.datetime], world: World | None = None
    ) -> None:
        self.sts = sts
        self.clock = clock
        self.world = world or World()
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, str], credentials.Credential] = {}

    def role_name(self, account: str, cluster: str) -> str:
        """The name of the instance role of ``cluster``'s nodes."""
        return self.world.nodes_of(account, cluster).role_name

    def role(self, account: str, cluster: str) -> state.RoleFacts | None:
        """The instance role as IAM holds it now; ``None`` while it does not exist."""
        return state.role(account, self.role_name(account, cluster))

    def session(self, account: str, cluster: str = "") -> credentials.Credential | None:
        """A session of the node's instance role with at least 15 minutes left (a new one
        when the role was recreated); ``None`` when the role does not exist."""
        role = self.role(account, cluster)
        if role is None:
            return None
        return self.session_of(role, account, cluster)

    def session_of(
        self, role: state.RoleFacts, account: str, cluster: str
    ) -> credentials.Credential:
        """The node's session of ``role`` (cached per node, :meth:`session`)."""
        now = self.clock()
        with self._lock:
            held = self._sessions.get((account, cluster))
            if _still_good(held, role.id, now):
                assert held is not None
                return held
            issued = self.sts.issue_role_session(
                role,
                instance_id(account, cluster),
                NODE_SESSION_SECONDS,
                (),
                context.RequestFacts(now=now),
                chained=False,
                tags={},
            )
            self._sessions[(account, cluster)] = issued
            return issued


def _still_good(held: credentials.Credential | None, role_id: str, now: dt.datetime) -> bool:
    if held is None or held.principal_id != role_id or held.expires_at is None:
        return False
    return held.expires_at - now > dt.timedelta(minutes=15)


# ---------------------------------------------------------------------- EKS Auth
class EksAuth(Protocol):
    """``AssumeRoleForPodIdentity`` as the agent calls it."""

    def assume_role_for_pod_identity(
        self, node: credentials.Credential, cluster: str, token: str
    ) -> PodCredentials: ...


class EksAuthOverHttp:
    """EKS Auth through the sandbox's AWS endpoint with botocore, as the agent's SDK
    calls it (signed SigV4 for ``eks-auth``, one attempt)."""

    def __init__(self, endpoint: Callable[[], str], region: str) -> None:
        self.endpoint = endpoint
        self.region = region

    def assume_role_for_pod_identity(
        self, node: credentials.Credential, cluster: str, token: str
    ) -> PodCredentials:
        client = botocore.session.get_session().create_client(
            "eks-auth",
            endpoint_url=self.endpoint(),
            region_name=self.region,
            aws_access_key_id=node.access_key_id,
            aws_secret_access_key=node.secret_access_key,
            aws_session_token=node.session_token,
            config=Config(
                retries={"total_max_attempts": 1},
                connect_timeout=EKS_AUTH_TIMEOUT,
                read_timeout=EKS_AUTH_TIMEOUT,
            ),
        )
        try:
            reply = client.assume_role_for_pod_identity(clusterName=cluster, token=token)
        except ClientError as error:
            raise failure_of(error.response) from None
        except (BotoCoreError, ValueError) as error:
            raise EksAuthFailure(
                None, f"operation error EKS Auth: AssumeRoleForPodIdentity, {error}"
            ) from None
        issued = reply["credentials"]
        return PodCredentials(
            access_key_id=issued["accessKeyId"],
            secret_access_key=issued["secretAccessKey"],
            token=issued["sessionToken"],
            account_id=reply["assumedRoleUser"]["arn"].split(":")[4],
            expiration=issued["expiration"],
        )


def failure_of(response: Mapping[str, Any]) -> EksAuthFailure:
    """``HandleCredentialFetchingError`` over botocore's parsed error response."""
    metadata = response.get("ResponseMetadata") or {}
    error = response.get("Error") or {}
    status = int(metadata.get("HTTPStatusCode") or 0) or None
    code = str(error.get("Code") or "")
    fault = "server" if code in SERVER_FAULTS else "client" if code in CLIENT_FAULTS else "unknown"
    request_id = str(metadata.get("RequestId") or "")
    message = f"[{request_id}]: ({code}): {error.get('Message') or ''}, fault: {fault}"
    return EksAuthFailure(status, message, code)


# ---------------------------------------------------------------------- the cache
class CredentialCache:
    """The agent's per-token cache (``refreshing_cache.go``): served while more than
    :data:`MIN_REMAINING` is left and for at most :data:`MAX_RETENTION`; an association
    changed meanwhile does not reset it; an irrecoverable EKS Auth error evicts."""

    def __init__(self, clock: Callable[[], dt.datetime]) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._held: dict[tuple[str, str, str], tuple[PodCredentials, dt.datetime]] = {}

    def get(self, key: tuple[str, str, str]) -> PodCredentials | None:
        now = self.clock()
        with self._lock:
            found = self._held.get(key)
        if found is None:
            return None
        held, fetched = found
        if held.expiration - now <= MIN_REMAINING or now - fetched >= MAX_RETENTION:
            return None
        return held

    def put(self, key: tuple[str, str, str], held: PodCredentials) -> None:
        with self._lock:
            self._held[key] = (held, self.clock())

    def evict(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            self._held.pop(key, None)


# ---------------------------------------------------------------------- the agent
class AddonCheck(Protocol):
    """Whether a cluster runs an EKS add-on (the sandbox's EKS API answers it)."""

    def has_addon(self, account: str, region: str, cluster: str, name: str) -> bool: ...


class NothingListens(ConnectionAbortedError):
    """No agent runs on this cluster's nodes (module doc, "Only with the add-on"). A
    ``ConnectionError``: the sandbox's listener closes the connection without an answer
    when its app raises one (:class:`kubetrust.sandbox.host.http.KeepAliveHandler`)."""


class PodIdentityAgent:
    """The agent's WSGI app (module doc). ``accepted_hosts`` is what ``Host`` may name;
    ``addons`` and ``region`` tell whether a cluster runs the agent's add-on."""

    def __init__(
        self,
        nodes: NodeRoles,
        eks_auth: EksAuth,
        clock: Callable[[], dt.datetime],
        *,
        addons: AddonCheck,
        region: str,
        accepted_hosts: tuple[str, ...] = REAL_AGENT_HOSTS,
    ) -> None:
        self.nodes = nodes
        self.eks_auth = eks_auth
        self.clock = clock
        self.addons = addons
        self.region = region
        self.accepted_hosts = accepted_hosts
        self.cache = CredentialCache(clock)

    def runs_on(self, account: str, cluster: str) -> bool:
        """Whether ``cluster``'s nodes run the agent: the cluster has the add-on."""
        return self.addons.has_addon(account, self.region, cluster, AGENT_ADDON)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        cluster = route(str(environ.get("PATH_INFO", "")))
        if cluster is not None and not self.runs_on(*cluster):
            raise NothingListens(f"no {AGENT_ADDON} add-on on cluster {cluster[1]}")
        answer = self.answer(
            str(environ.get("REQUEST_METHOD", "")),
            str(environ.get("PATH_INFO", "")),
            str(environ.get("HTTP_HOST", "")),
            str(environ.get("HTTP_AUTHORIZATION", "")),
        )
        headers = [("Content-Type", answer.content_type), ("Content-Length", str(len(answer.body)))]
        if answer.content_type.startswith("text/plain"):
            headers.append(("X-Content-Type-Options", "nosniff"))
        start_response(f"{answer.status} {_reason(answer.status)}".rstrip(), headers)
        return [answer.body]

    def answer(self, method: str, path: str, host: str, token: str) -> Answer:
        """The agent's answer to one request (module doc, steps 1-5)."""
        cluster = route(path)
        if cluster is None or method not in ("GET", "HEAD"):
            return Answer.error(404, "404 page not found")
        refusal = host_refusal(host, self.accepted_hosts) or token_refusal(token, self.clock())
        if refusal is not None:
            return refusal
        account, name = cluster
        try:
            held = self.fetch(account, name, token)
        except EksAuthFailure as failure:
            return failure.answer()
        return Answer(200, held.body(), "application/json")

    def fetch(self, account: str, cluster: str, token: str) -> PodCredentials:
        key = (account, cluster, token)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        node = self.nodes.session(account, cluster)
        if node is None:
            raise EksAuthFailure(None, NO_NODE_ROLE)
        try:
            fetched = self.eks_auth.assume_role_for_pod_identity(node, cluster, token)
        except EksAuthFailure as failure:
            if failure.code in IRRECOVERABLE:
                self.cache.evict(key)
            raise
        self.cache.put(key, fetched)
        return fetched


def route(path: str) -> tuple[str, str] | None:
    """(account, cluster) of ``/clusters/<account>/<cluster>/v1/credentials``."""
    parts = path.split("/")
    if len(parts) != 6 or parts[0] != "" or parts[1] != "clusters":
        return None
    if "/" + "/".join(parts[4:]) != CREDENTIALS_SUFFIX or not parts[2] or not parts[3]:
        return None
    return parts[2], parts[3]


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""
