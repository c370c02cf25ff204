"""The one enforcement seam in front of moto: authenticate, identify, authorize, dispatch.

Every request to the sandbox's AWS endpoint passes here (style anchors, habit 12):

1. read the raw request (path exactly as sent, body re-wrapped for moto);
2. authenticate: SigV4 (header or presigned) against the credential store; unsigned
   requests only where AWS accepts them (``AssumeRoleWithWebIdentity``, anonymous S3);
3. identify the operation and the IAM action and resource ARN(s) it needs;
4. STS is answered here (:mod:`sts_api`); everything else is authorized by the policy
   engine with the caller's policies, the resource's policy and the organization's
   SCPs/RCPs, then forwarded to moto in the right account (``x-moto-account-id``).

Denials and malformed requests are answered in the service's own wire format; an
unexpected failure becomes ``InternalFailure`` (500) and is logged — never a dead server.
What is not emulated is listed in the module docs of ``operations`` and ``sts_api``.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode

from kubetrust import errors, policy
from kubetrust.sandbox import (
    credentials,
    identity,
    operations,
    policy_writes,
    sigv4,
    state,
    sts_api,
    wire,
)
from kubetrust.sandbox.world import World, levels_of

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024 * 1024
StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
_SERVICES = frozenset({"sts", "iam", "s3", "eks"})
_UNSIGNED_STS = frozenset({"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"})
_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    500: "Internal Server Error",
}


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
        moto exactly the parameters it authorized (:meth:`Gate._canonical`), moto can never
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


class Gate:
    """The WSGI middleware that enforces AWS's rules in front of moto."""

    def __init__(
        self,
        moto_app: WsgiApp,
        world: World,
        store: credentials.CredentialStore,
        sts: sts_api.StsService,
        clock: Callable[[], dt.datetime],
        extras: Callable[
            [credentials.Credential, operations.Operation, RawRequest],
            tuple[int, list[tuple[str, str]], bytes] | None,
        ]
        | None = None,
    ) -> None:
        self.moto_app = moto_app
        self.world = world
        self.store = store
        self.sts = sts
        self.clock = clock
        self.extras = extras

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request_id = str(uuid.uuid4())
        service = "sts"
        head = environ.get("REQUEST_METHOD") == "HEAD"
        try:
            request = _read(environ)
            service = _claimed_service(request)
            service, caller = self._authenticate(request)
            return self._dispatch(environ, start_response, request, service, caller, request_id)
        except wire.AwsError as refusal:
            return self._refuse(start_response, service, refusal, request_id, head)
        except sigv4.SignatureError as exc:
            rejected = wire.AwsError(exc.code, exc.message, exc.status)
            return self._refuse(start_response, service, rejected, request_id, head)
        except errors.KubetrustError as exc:
            invalid = wire.AwsError("InvalidRequest", str(exc), 400)
            return self._refuse(start_response, service, invalid, request_id, head)
        except Exception:
            logger.exception("sandbox gate failed on request %s", request_id)
            failure = wire.AwsError(
                "InternalFailure",
                "The request processing has failed because of an unknown error.",
                500,
                sender_fault=False,
            )
            return self._refuse(start_response, service, failure, request_id, head)

    def _refuse(
        self,
        start_response: StartResponse,
        service: str,
        refusal: wire.AwsError,
        request_id: str,
        head: bool,
    ) -> list[bytes]:
        rendered = wire.render_error(
            operations.service_protocol(service), refusal, request_id, service=service, head=head
        )
        return _respond(start_response, rendered)

    # ------------------------------------------------------------------ authentication
    def _authenticate(self, request: RawRequest) -> tuple[str, credentials.Credential | None]:
        if sigv4.is_signed(request.headers, request.raw_query):
            verified = sigv4.verify(
                request.method,
                request.raw_path,
                request.raw_query,
                request.headers,
                request.body,
                self.store.signing_key,
                self.clock(),
            )
            caller = self.store.get(verified.access_key_id)
            if caller is None:  # removed between lookup and now
                raise wire.AwsError(
                    "InvalidClientTokenId",
                    "The security token included in the request is invalid.",
                    403,
                )
            if verified.service not in _SERVICES:
                raise wire.AwsError(
                    "InvalidAction",
                    f"The sandbox does not emulate the {verified.service} "
                    f"service (it serves {', '.join(sorted(_SERVICES))})",
                    400,
                )
            return verified.service, caller
        try:
            action = request.form().get("Action", [""])[0]
        except wire.AwsError:  # an unsigned body that is not even a form
            action = ""
        if action in _UNSIGNED_STS:
            return "sts", None
        if _eks_route(request):
            raise wire.AwsError(
                "MissingAuthenticationTokenException", "Missing Authentication Token", 403
            )
        if _looks_like_s3(request):
            return "s3", None
        raise wire.AwsError(
            "MissingAuthenticationToken", "Request is missing Authentication Token", 403
        )

    # ------------------------------------------------------------------ dispatch
    def _dispatch(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        request: RawRequest,
        service: str,
        caller: credentials.Credential | None,
        request_id: str,
    ) -> Iterable[bytes]:
        if service == "sts":
            reply = self._sts(request, caller)
            return _respond(
                start_response, (200, [("Content-Type", "text/xml")], reply.render(request_id))
            )
        op = self._identify(request, service, caller)
        owner = self._authorize(op, caller)
        trust_write = self._check_policy_write(op, request)
        if caller is not None and self.extras is not None:
            handled = self.extras(caller, op, request)
            if handled is not None:
                return _respond(start_response, handled)
        on_stored = None
        if trust_write is not None:  # bind the trust's principals once moto stored it
            on_stored = functools.partial(self.sts.bindings.record, owner, *trust_write)
        return self._forward(environ, start_response, request, owner, service, on_stored)

    def _check_policy_write(
        self, op: operations.Operation, request: RawRequest
    ) -> tuple[str, str] | None:
        """AWS's write-time checks of policy documents (policy_writes.py)."""
        if op.service == "iam":
            return policy_writes.check_iam_write(op.name, request.form())
        if op.service == "s3" and op.name == "PutBucketPolicy":
            policy_writes.check_bucket_policy(request.body)
        return None

    def _sts(self, request: RawRequest, caller: credentials.Credential | None) -> sts_api.Reply:
        params = request.form()
        action = params.get("Action", [""])[0]
        if caller is None:
            return self.sts.assume_role_with_web_identity(params)
        if action == "GetCallerIdentity":
            return self.sts.get_caller_identity(caller)
        if action == "AssumeRole":
            return self.sts.assume_role(caller, params)
        if action in _UNSIGNED_STS:
            return self.sts.assume_role_with_web_identity(params)
        raise wire.AwsError(
            "InvalidAction", f"Could not find operation {action} for version 2011-06-15", 400
        )

    def _identify(
        self, request: RawRequest, service: str, caller: credentials.Credential | None
    ) -> operations.Operation:
        account = caller.account if caller else ""
        json_body: Mapping[str, Any] | None = None
        if request.body and service == "eks":
            try:
                parsed = json.loads(request.body.decode("utf-8"))
                json_body = parsed if isinstance(parsed, dict) else None
            except (ValueError, RecursionError):
                raise wire.AwsError("BadRequestException", "Malformed JSON body", 400) from None
        form = request.form() if operations.service_protocol(service) == "query" else {}
        op = operations.identify_operation(
            service,
            request.method,
            unquote(request.raw_path),
            parse_qs(request.raw_query, keep_blank_values=True),
            form,
            json_body,
            request.host,
            account,
            self.world.region,
            role_path=lambda name: _role_path(account, name),
            headers=request.headers,
            raw_path=request.raw_path,
            body=request.body,
            caller_arn=caller.principal_arn if caller else None,
        )
        if op is None:
            raise wire.AwsError(
                "InvalidAction", f"The sandbox does not emulate this {service} operation", 400
            )
        return op

    def _authorize(self, op: operations.Operation, caller: credentials.Credential | None) -> str:
        """Authorize every (action, resource) of ``op``; return the account that owns the
        resource (moto must run the call there)."""
        principal = caller.principal_arn if caller else "anonymous"
        owner = caller.account if caller else ""
        for check in op.authorizations:
            resource_policy, resource_account = self._resource_policy(op, check.resource)
            owner = resource_account or owner
            context = dict(identity.caller_context(caller)) if caller else {}
            context.update(check.context)
            decision = policy.authorize(
                policy.Request(
                    principal if caller else "*",
                    check.action,
                    check.resource,
                    context or None,
                    resource_account=resource_account,
                ),
                self._policies(caller, resource_policy, resource_account),
            )
            if not decision.allowed:
                logger.info("denied %s %s on %s", principal, check.action, check.resource)
                raise wire.access_denied(
                    principal,
                    check.action,
                    check.resource,
                    decision,
                    service=op.service,
                    resource_account=resource_account or owner,
                )
        return owner

    def _policies(
        self,
        caller: credentials.Credential | None,
        resource_policy: str | None,
        resource_account: str | None,
    ) -> policy.PolicySet:
        rcps = levels_of(self.world.account(resource_account), "rcps") if resource_account else ()
        if caller is None:
            return policy.policy_set(resource=resource_policy, rcps=rcps)
        side = identity.caller_side(self.world, caller)
        return policy.policy_set(
            identity=side.identity,
            boundaries=side.boundaries,
            session=side.session,
            scps=side.scps,
            resource=resource_policy,
            rcps=rcps,
        )

    def _resource_policy(
        self, op: operations.Operation, resource: str
    ) -> tuple[str | None, str | None]:
        """The resource's own policy and its account (S3 buckets; others have none here)."""
        if op.service != "s3" or not resource.startswith("arn:aws:s3:::"):
            return None, None
        bucket = resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
        owner = state.bucket_owner(bucket, [a.id for a in self.world.accounts])
        if owner is None:
            return None, None
        return state.bucket_policy(owner, bucket), owner

    def _forward(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        request: RawRequest,
        account: str,
        service: str,
        on_stored: Callable[[], object] | None = None,
    ) -> Iterable[bytes]:
        """Run the authorized request in moto, in the owning account; ``on_stored`` runs
        once moto answered 200."""
        body = self._canonical(environ, request, service)
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
            chunks = b"".join(self.moto_app(environ, capture))
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

    @staticmethod
    def _canonical(environ: dict[str, Any], request: RawRequest, service: str) -> bytes:
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


def _claimed_service(request: RawRequest) -> str:
    """The service a request says it is for (credential scope), to answer in its format
    even when authentication fails; ``sts`` for query calls and ``s3`` otherwise."""
    parts = sigv4.claimed_scope(request.headers, request.raw_query)
    if len(parts) >= 5 and parts[3] in ("sts", "iam", "s3", "eks"):
        return parts[3]
    if "Action=" in request.raw_query or (request.method == "POST" and b"Action=" in request.body):
        return "sts"
    return "eks" if _eks_route(request) else "s3"


_EKS_ROUTES = ("clusters", "access-policies", "addons", "cluster-registrations", "insights")


def _eks_route(request: RawRequest) -> bool:
    """An unsigned request to an EKS route (AWS tells EKS from S3 by host; the sandbox's
    one endpoint tells them by path, unless a bucket has that name)."""
    first = request.raw_path.lstrip("/").split("/", 1)[0]
    return first in _EKS_ROUTES and "x-amz-content-sha256" not in request.headers


def _role_path(account: str, name: str) -> str | None:
    facts = state.role(account, name) if account else None
    if facts is None:
        return None
    return facts.arn.split(":role", 1)[1].rsplit("/", 1)[0] + "/"


def _looks_like_s3(request: RawRequest) -> bool:
    return "Action=" not in request.raw_query and request.method in ("GET", "HEAD", "PUT")


def _read(environ: Mapping[str, Any]) -> RawRequest:
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
    raw_path, _, raw_query = str(raw_uri).partition("?")
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
    return RawRequest(
        str(environ.get("REQUEST_METHOD", "GET")), raw_path, raw_query, headers, _body(environ)
    )


def _body(environ: Mapping[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length_text = environ.get("CONTENT_LENGTH") or ""
    try:
        length = int(length_text) if length_text else -1
    except ValueError:
        raise wire.AwsError("InvalidRequest", "Content-Length is not a number", 400) from None
    if length > MAX_BODY_BYTES:
        raise wire.AwsError(
            "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 413
        )
    try:
        return _read_stream(stream, length, environ)
    except (OSError, ValueError) as exc:  # a broken chunked body, a client that went away
        raise wire.AwsError(
            "IncompleteBody", f"The request body could not be read: {type(exc).__name__}", 400
        ) from None


def _read_stream(stream: Any, length: int, environ: Mapping[str, Any]) -> bytes:
    if length >= 0:
        return bytes(stream.read(length))
    if environ.get("wsgi.input_terminated") or environ.get("HTTP_TRANSFER_ENCODING"):
        data = stream.read(MAX_BODY_BYTES + 1)
        if len(data) > MAX_BODY_BYTES:
            raise wire.AwsError(
                "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 413
            )
        return bytes(data)
    return b""


def _respond(
    start_response: StartResponse, response: tuple[int, list[tuple[str, str]], bytes]
) -> list[bytes]:
    status, headers, body = response
    headers = [h for h in headers if h[0].lower() != "content-length"]
    headers.append(("Content-Length", str(len(body))))
    start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
    return [body]
