"""Hand an authorized request to moto, and translate what moto answers.

Once the gate has authorized a request, moto must execute *that* request and nothing else:
the operation the gate identified, on the resources it authorized, for the caller it
authenticated, in the owning account and the sandbox's region. moto re-reads everything by
itself — its domain dispatcher picks a backend from the ``Authorization`` header, the body
or the path (``/moto-api/*`` reaches its management app, an unsigned request falls back to
S3), S3 reads a bucket from any ``Host`` that looks virtual-hosted, every backend reads the
region from the host, the ``User-Agent`` or the credential scope, the account from a
client-sent ``x-moto-account-id``, the caller from an ``AWSAccessKeyId`` parameter of a
presigned call, and a REST operation from an ``Action`` query parameter, an
``X-Amz-Target`` header or a body that parses as a form. So moto never sees the client's
request: :func:`forward` builds a new one from the gate's decisions only, for the backend
app of exactly the authorized service (:class:`MotoBackends`), with

- the path the gate routed (S3: path style, :func:`operations.s3_path_style`; EKS: the
  operation's path rebuilt from the labels it authorized, :func:`operations.rest_path`)
  and a host every backend reads as ``<service>.<region>.amazonaws.com`` (path style
  for S3);
- the account (``x-moto-account-id``) and the authenticated access key (a stand-in
  ``Authorization`` header naming it; moto checks no signature);
- only the parameters the operation has: a query service's form as the gate parsed it
  (without SigV2/SigV4 parameters), an EKS call's declared query, header and body members
  (the JSON re-encoded so that it cannot parse as a form), an S3 call's headers without
  the hop-by-hop and identity ones.

Whatever moto does with input the gate let through (crash, HTML page for a route it lacks,
5xx) reaches the client as the service's own 400, never as a dead server. A successful
answer passes through :func:`kubetrust.sandbox.aws.services.iam.reads.answer` (documents as
IAM and S3 hold them, IAM's user ids) before the client sees it.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, unquote_plus, unquote_to_bytes, urlencode

from kubetrust import errors
from kubetrust.sandbox.aws import operations, policy_writes, wire
from kubetrust.sandbox.aws.request import RawRequest
from kubetrust.sandbox.aws.services.iam import reads
from kubetrust.sandbox.aws.services.iam.user_boundaries import UserBoundaries

logger = logging.getLogger(__name__)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    500: "Internal Server Error",
}

FORWARDED_SERVICES = frozenset({"iam", "s3", "eks"})
"""The services moto executes (STS is answered by the gate itself)."""

_AUTH_PARAMETERS = frozenset(
    {
        # SigV4 presigned and SigV2 parameters: authentication, never an API's input
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Signature",
        "X-Amz-Security-Token",
        "AWSAccessKeyId",
        "Signature",
        "SignatureMethod",
        "SignatureVersion",
        "Timestamp",
        "Expires",
        "SecurityToken",
    }
)
_S3_DROPPED_HEADERS = frozenset(
    {
        # identity and routing (the gate sets its own), hop-by-hop, and what moto reads as
        # an operation outside S3's own routing
        "host",
        "authorization",
        "x-amz-security-token",
        "x-amz-target",
        "user-agent",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "expect",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-connection",
    }
)
MOTO_S3_OPERATIONS = frozenset(
    {
        # buckets
        "ListBuckets",
        "CreateBucket",
        "HeadBucket",
        "DeleteBucket",
        "ListObjects",
        "ListObjectsV2",
        "ListObjectVersions",
        "ListMultipartUploads",
        "GetBucketLocation",
        "DeleteObjects",
        # bucket configurations moto has a branch for
        *(
            f"{verb}{what}"
            for verb in ("Get", "Put", "Delete")
            for what in (
                "BucketPolicy",
                "BucketTagging",
                "BucketCors",
                "BucketWebsite",
                "BucketEncryption",
                "BucketReplication",
                "BucketOwnershipControls",
                "PublicAccessBlock",
            )
        ),
        "GetBucketPolicyStatus",
        "GetBucketAcl",
        "PutBucketAcl",
        "GetBucketVersioning",
        "PutBucketVersioning",
        "GetBucketLifecycleConfiguration",
        "PutBucketLifecycleConfiguration",
        "DeleteBucketLifecycle",
        "GetBucketLogging",
        "PutBucketLogging",
        "GetBucketNotificationConfiguration",
        "PutBucketNotificationConfiguration",
        "GetBucketAccelerateConfiguration",
        "PutBucketAccelerateConfiguration",
        "GetBucketInventoryConfiguration",
        "PutBucketInventoryConfiguration",
        "ListBucketInventoryConfigurations",
        "GetObjectLockConfiguration",
        "PutObjectLockConfiguration",
        # objects
        "GetObject",
        "HeadObject",
        "PutObject",
        "CopyObject",
        "DeleteObject",
        "GetObjectAcl",
        "PutObjectAcl",
        "GetObjectTagging",
        "PutObjectTagging",
        "DeleteObjectTagging",
        "GetObjectLegalHold",
        "PutObjectLegalHold",
        "PutObjectRetention",
        "GetObjectAttributes",
        "RestoreObject",
        "SelectObjectContent",
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPartCopy",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
        "ListParts",
    }
)
"""The S3 operations moto's dispatcher (``moto/s3/responses.py``) has a branch for. Any
other operation falls through its branches to a default that is a different operation:
``DELETE /b?analytics`` deletes the bucket, ``GET /b/k?torrent`` or ``?retention`` reads
the object, ``PUT /b?requestPayment`` creates a bucket, ``PUT /b/k?renameObject`` writes
the object. So the gate forwards only these, and refuses the rest as not emulated, after
authorizing the operation the client named. ``tests/sandbox/test_s3_dispatch_agreement``
proves, against moto's own dispatcher, that each one runs as itself and no other does."""

_NO_USER = "Must specify userName when calling with non-User credentials"
"""IAM's answer when a user call without ``UserName`` comes from a role session (AWS's
text as quoted in public SDK issues)."""


class MotoBackends:
    """moto's Flask app of each forwarded service, made on first use, and nothing else of
    moto: no domain dispatcher, so no management API, instance metadata or other service
    is reachable whatever a request looks like."""

    def __init__(self, create_app: Callable[[Any], Any]) -> None:
        self._create = create_app
        self._apps: dict[str, Any] = {}
        self._lock = threading.Lock()

    def app(self, service: str) -> Any:
        if service not in FORWARDED_SERVICES:
            raise ValueError(f"moto serves no `{service}` calls through the gate")
        with self._lock:
            found = self._apps.get(service)
            if found is None:
                found = self._apps[service] = self._create(service)
            return found


@dataclass(frozen=True, slots=True)
class Target:
    """What the gate decided about a request, all that moto may learn of it."""

    service: str
    operation: str
    account: str  # where moto runs it
    region: str  # the sandbox's region
    access_key_id: str | None  # the authenticated signer; None for an anonymous call
    caller_arn: str | None
    raw_path: str  # the path the gate routed (S3: path style)
    aws_page_sizes: bool = False  # IAM lists moto answers whole are paged (paging.py)


def forward(
    backends: MotoBackends,
    environ: dict[str, Any],
    start_response: StartResponse,
    request: RawRequest,
    target: Target,
    on_stored: Callable[[], object] | None = None,
    *,
    bindings: policy_writes.PrincipalBindings,
    user_boundaries: UserBoundaries,
) -> Iterable[bytes]:
    """Run the authorized request in moto (see module doc); ``on_stored`` runs once moto
    answered 200."""
    if target.service == "s3" and target.operation not in MOTO_S3_OPERATIONS:
        raise _moto_failure(target.service, f"moto's S3 has no {target.operation}")
    app = backends.app(target.service)
    moto_request = moto_environ(environ, request, target)
    if not has_route(app, moto_request):
        raise _moto_failure(target.service, "no such route")
    captured: list[Any] = []

    def capture(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
        captured[:] = [status, headers]
        return lambda data: None

    try:
        chunks = b"".join(app(moto_request, capture))
    except Exception as exc:  # moto's own failure on input the gate let through
        logger.warning(
            "moto failed on %s %s: %s", request.method, request.raw_path, type(exc).__name__
        )
        raise _moto_failure(target.service, type(exc).__name__) from None
    status, headers = captured
    if status.startswith("5") or (status.startswith("404") and _html(headers, chunks)):
        raise _moto_failure(target.service, status)
    chunks = _well_formed(target, status, headers, chunks)
    if status.startswith("200"):  # what AWS shows and keeps, not moto's view (iam.reads)
        shown = reads.answer(target, request, chunks, bindings, user_boundaries)
        if shown != chunks:  # a HEAD's Content-Length is the object's: kept unless rewritten
            chunks = shown
            headers = [h for h in headers if h[0].lower() != "content-length"]
            headers.append(("Content-Length", str(len(chunks))))
    if on_stored is not None and status.startswith("200"):
        on_stored()
    start_response(status, headers)
    return [chunks]


_PAYLOAD_OPERATIONS = frozenset({"GetObject", "HeadObject"})
"""S3 operations whose 2xx body is the object's own bytes, never an XML document of S3's."""


def _well_formed(target: Target, status: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    """moto's XML answer as a document every client can parse. moto echoes request
    values (an S3 key, a value without a pattern) into its bodies without asking whether
    XML 1.0 can carry them; a NUL there made the answer unreadable to every SDK. An error
    answer keeps its code and status with each such character as U+FFFD (as the gate's own
    error bodies: :func:`wire.xml_sanitized`); a successful answer is refused instead,
    since a listing with altered keys would mislead. [uncertain] AWS S3 itself writes such
    keys as character references (``&#x7;``) that XML 1.0 parsers refuse (boto/botocore
    #3496): the client fails there as here, with S3's answer readable here."""
    if not _xml_answer(target, status, headers, body):
        return body
    text = body.decode("utf-8", errors="replace")
    if not wire.xml_unsafe(text):
        return body
    if status.startswith("2"):
        logger.info("moto answered %s with characters XML cannot carry", target.operation)
        raise _unsafe_answer(target.service)
    headers[:] = [h for h in headers if h[0].lower() != "content-length"]
    fixed = wire.xml_sanitized(text).encode("utf-8")
    headers.append(("Content-Length", str(len(fixed))))
    return fixed


def _xml_answer(target: Target, status: str, headers: list[tuple[str, str]], body: bytes) -> bool:
    """Whether moto's answer is an XML document of the service (not an object's bytes)."""
    if not body or target.service == "eks":  # EKS answers JSON, which escapes anything
        return False
    if target.service == "s3" and status.startswith("2"):
        return target.operation not in _PAYLOAD_OPERATIONS
    return True


def _unsafe_answer(service: str) -> wire.AwsError:
    """[uncertain] ours: the answer would carry characters XML 1.0 cannot (S3: ask for
    ``EncodingType=url``, which S3 offers for exactly this)."""
    if service == "s3":
        return wire.AwsError(
            "InvalidRequest",
            "The answer would contain characters XML cannot carry; "
            "request it with encoding-type=url",
            400,
        )
    code, _ = _UNSAFE_PARAMETER.get(service, _UNSAFE_PARAMETER["iam"])
    return wire.AwsError(code, "The answer would contain characters XML cannot carry", 400)


def _html(headers: list[tuple[str, str]], body: bytes) -> bool:
    """A web page (Flask's own 404), not an AWS answer; an empty 404 (S3's answer to a HEAD
    of a missing bucket or key) is moto's legitimate answer."""
    html = any(n.lower() == "content-type" and "text/html" in v for n, v in headers)
    return html and bool(body.strip())


def has_route(app: Any, environ: Mapping[str, Any]) -> bool:
    """Whether moto's app has a route for the request (else Flask answers a web page)."""
    adapter = app.url_map.bind_to_environ(dict(environ))
    try:
        adapter.match(method=environ["REQUEST_METHOD"])
    except Exception:  # werkzeug's NotFound/MethodNotAllowed/RequestRedirect
        return False
    return True


# --------------------------------------------------------------------------- the request moto gets


def moto_environ(client: Mapping[str, Any], request: RawRequest, target: Target) -> dict[str, Any]:
    """The WSGI environ moto gets for ``request``, built from the gate's decisions only
    (module doc); ``client`` is the client's environ, of which only ``wsgi.*`` and the
    peer address are kept."""
    if not target.account:  # INVARIANT: every authorized call has an owning account
        raise wire.AwsError("AccessDenied", "Access Denied", 403)
    host = _host(target)
    path = _forwarded_path(request, target)
    query, headers, body = _parameters(request, target)
    env: dict[str, Any] = {k: v for k, v in client.items() if k.startswith("wsgi.")}
    env.update(
        {
            "REQUEST_METHOD": "POST" if _query_protocol(target) else request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "RAW_URI": path + (f"?{query}" if query else ""),
            "REQUEST_URI": path + (f"?{query}" if query else ""),
            "SERVER_NAME": host,
            "SERVER_PORT": "443",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": client.get("REMOTE_ADDR", "127.0.0.1"),
            "wsgi.url_scheme": "https",
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
        }
    )
    for name, value in headers:
        key = name.upper().replace("-", "_")
        env[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    env["HTTP_HOST"] = host
    env["HTTP_X_MOTO_ACCOUNT_ID"] = target.account
    if target.access_key_id:
        env["HTTP_AUTHORIZATION"] = _stand_in_authorization(target)
    return env


def _forwarded_path(request: RawRequest, target: Target) -> str:
    """The raw path moto gets. EKS: rebuilt from the labels the gate authorized
    (:func:`operations.rest_path`), never the client's spelling, which moto's routers read
    by rules of their own (its tag handlers keep a trailing ``/`` in the ARN and drop a
    ``;…`` suffix as URL parameters: ``POST /tags/…cluster%2Fprod;x`` was authorized on
    ``cluster/prod;x`` and tagged ``cluster/prod``). S3 and the query services: the path
    the gate routed (S3's path-style form; moto's IAM reads no path)."""
    if target.service != "eks":
        return target.raw_path
    raw, method, headers = target.raw_path, request.method, request.headers
    query = parse_qs(request.raw_query, keep_blank_values=True)
    name = operations.operation_protocol_name(
        "eks", method, unquote(raw), query, {}, headers=headers, raw_path=raw
    )
    if name != target.operation:  # INVARIANT: the gate authorized this route's operation
        raise _moto_failure(target.service, "route changed")
    labels = operations.route_labels(
        "eks", method, unquote(raw), query, headers=headers, raw_path=raw
    )
    try:
        return operations.rest_path("eks", target.operation, labels)
    except KeyError:  # a label the route has but the match lacks: never for a routed call
        raise _moto_failure(target.service, "missing label") from None


def _host(target: Target) -> str:
    """A host from which every backend reads the sandbox's region (and S3 path style)."""
    return f"{target.service}.{target.region}.amazonaws.com"


def _stand_in_authorization(target: Target) -> str:
    """An ``Authorization`` header naming the authenticated key: moto reads the caller
    from it (IAM's ``GetUser`` without ``UserName``), never a signature."""
    scope = f"{target.access_key_id}/19700101/{target.region}/{target.service}/aws4_request"
    return f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature={'0' * 64}"


def _query_protocol(target: Target) -> bool:
    return operations.service_protocol(target.service) == "query"


def _parameters(request: RawRequest, target: Target) -> tuple[str, list[tuple[str, str]], bytes]:
    """``(query string, headers, body)`` moto gets, per protocol."""
    if _query_protocol(target):
        form = _query_form(request, target)
        body = urlencode(form, doseq=True).encode("ascii")
        return "", [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")], body
    if target.service == "eks":
        return _eks_parameters(request, target)
    headers = [(n, v) for n, v in request.headers.items() if _s3_header_kept(target, n)]
    return _s3_query(request.raw_query, target.operation), headers, request.body


def _s3_header_kept(target: Target, name: str) -> bool:
    lower = name.lower()
    if lower in _S3_DROPPED_HEADERS or lower.startswith("x-moto-"):
        return False
    return not operations.s3_foreign_header(target.operation, lower)


def _s3_query(raw_query: str, operation: str) -> str:
    """The client's query with only the keys the authorized S3 operation has (its route's
    sub-resource keys and its query members), each pair as sent. moto's S3 picks its own
    operation from whichever sub-resource key it tests first (``?tagging&policy`` is a
    policy write to it; ``?uploadId=`` turns any object call into a multipart one), so a
    key the gate did not route on must never reach it; authentication parameters and
    ``x-id`` are not members either."""
    allowed = operations.s3_operation_query_keys(operation)
    kept = [
        pair
        for pair in raw_query.split("&")
        if pair and unquote_plus(pair.partition("=")[0]) in allowed
    ]
    return "&".join(kept)


def _query_form(request: RawRequest, target: Target) -> dict[str, list[str]]:
    """Exactly the parameters the gate parsed and authorized (query string and form, as
    :func:`operations.identify_operation` merges them, each key's first value), without
    authentication parameters (moto reads the caller from ``AWSAccessKeyId``), and with
    the caller's ``UserName`` where the operation acts on the caller when it is omitted
    (moto would look the user up by any access key id the request names)."""
    merged = parse_qs(request.raw_query, keep_blank_values=True)
    merged.update(request.form())  # the body's parameters win, as when the gate identified
    # one value per key, the one the gate read (its first; the query protocol sends each
    # key once), and the authorized Action by name: a second ``Action`` or ``RoleName``
    # can never be the one moto's parser picks
    form = {k: list(v[:1]) for k, v in merged.items() if k not in _AUTH_PARAMETERS}
    form["Action"] = [target.operation]
    _refuse_unsafe_parameters(target.service, form)
    members = operations.members(target.service, target.operation)
    if "UserName" in members.optional and not form.get("UserName"):
        form["UserName"] = [_caller_user(target)]
    return form


_UNSAFE_PARAMETER = {"iam": ("ValidationError", 400), "sts": ("ValidationError", 400)}


def _refuse_unsafe_parameters(service: str, form: Mapping[str, list[str]]) -> None:
    """A query call whose parameters hold characters XML 1.0 cannot carry never reaches
    moto: IAM answers in XML, and moto would echo them (a NUL in a ``PolicyArn``, which
    has no pattern in the model for :mod:`kubetrust.sandbox.aws.params` to refuse it by).
    Refused as AWS's model validation answers, every such member at once, without its
    value (the value itself cannot be shown). [uncertain] AWS's exact constraint text for
    such input is not reported publicly; the shape is B.1's."""
    problems = [
        f"Value at '{_member_label(key)}' failed to satisfy constraint: Member must "
        "contain only characters XML 1.0 allows"
        for key, values in sorted(form.items())
        if wire.XML_INVALID.search(key) is None
        and any(wire.XML_INVALID.search(value) for value in values)
    ]
    if any(wire.XML_INVALID.search(key) for key in form):
        problems.append(
            "Value at 'parameterName' failed to satisfy constraint: Member must "
            "contain only characters XML 1.0 allows"
        )
    if problems:
        code, status = _UNSAFE_PARAMETER.get(service, _UNSAFE_PARAMETER["iam"])
        noun = "error" if len(problems) == 1 else "errors"
        message = f"{len(problems)} validation {noun} detected: " + "; ".join(problems)
        raise wire.AwsError(code, message, status)


def _member_label(key: str) -> str:
    """A query key as AWS's messages name the member: ``PolicyArn`` → ``policyArn``,
    ``Tags.member.1.Value`` → ``tags.1.member.value`` (as :mod:`kubetrust.sandbox.aws.params`
    does)."""
    parts = key.split(".")
    out: list[str] = []
    for index, part in enumerate(parts):
        if part == "member" and index + 1 < len(parts) and parts[index + 1].isdigit():
            continue
        out.append(part[:1].lower() + part[1:])
        if part.isdigit() and index > 0 and parts[index - 1] == "member":
            out.append("member")
    return ".".join(out)


def _caller_user(target: Target) -> str:
    """The IAM user name of the caller, or IAM's refusal for other principals."""
    arn = target.caller_arn or ""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("user/"):
        return parts[5].rsplit("/", 1)[-1]
    raise wire.AwsError("ValidationError", _NO_USER, 400)


def _eks_parameters(
    request: RawRequest, target: Target
) -> tuple[str, list[tuple[str, str]], bytes]:
    """The declared members of the EKS operation only: moto's ``_get_param`` prefers any
    query parameter, then any JSON member, to the path labels the gate authorized on, and
    picks its operation from an ``Action`` parameter or header before the route."""
    members = operations.members("eks", target.operation)
    pairs = [
        (k, v)
        for k, v in parse_qsl(request.raw_query, keep_blank_values=True)
        if k in members.query and k not in _AUTH_PARAMETERS
    ]
    query = urlencode(pairs)
    headers = [(n, v) for n, v in request.headers.items() if n.lower() in members.headers]
    headers.append(("Content-Type", "application/json"))
    return query, headers, _eks_body(request.body, members.body)


def _eks_body(body: bytes, allowed: frozenset[str]) -> bytes:
    """The JSON body's declared members, with ``&`` and ``=`` escaped: moto parses a body
    as a form when the URL has no query, and ``"…&Action=DeleteCluster&…"`` in a string
    would name its operation. Both are never structural in JSON, so the value is the same.
    """
    if not body:
        return b""
    try:
        document = errors.decode_json(body.decode("utf-8"))
    except ValueError:  # the gate refused these already
        return b""
    if not isinstance(document, dict):
        return b""
    kept = {k: v for k, v in document.items() if k in allowed}
    if not kept:
        return b""
    text = json.dumps(kept).replace("&", "\\u0026").replace("=", "\\u003d")
    return text.encode("utf-8")


def _moto_failure(service: str, what: str) -> wire.AwsError:
    """moto could not process a request the gate authorized (an action it does not
    implement, a value it cannot parse): a 400 in the service's format, never a 500.
    ``what`` (an exception's type, moto's status) is logged, never answered: it names
    internals."""
    logger.debug("moto could not process a %s request: %s", service, what)
    code = {
        "iam": "ValidationError",
        "sts": "ValidationError",
        "eks": "InvalidRequestException",
        "s3": "InvalidRequest",
    }.get(service, "InvalidRequest")
    return wire.AwsError(
        code,
        "The sandbox cannot process this request: the operation or one of its "
        "parameters is not emulated",
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
