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
import json
import logging
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

from kubetrust import errors
from kubetrust.sandbox import (
    credentials,
    gate_authorize,
    gate_forward,
    operations,
    policy_writes,
    sigv4,
    state,
    sts_api,
    wire,
)
from kubetrust.sandbox.gate_forward import StartResponse, WsgiApp, respond
from kubetrust.sandbox.gate_request import (
    MAX_BODY_BYTES,
    RawRequest,
    claimed_service,
    eks_route,
    looks_like_s3,
)
from kubetrust.sandbox.gate_request import read as _read  # a module global: benchmarks time it
from kubetrust.sandbox.world import World

__all__ = ["MAX_BODY_BYTES", "Gate", "RawRequest", "StartResponse", "WsgiApp"]

logger = logging.getLogger(__name__)

_SERVICES = frozenset({"sts", "iam", "s3", "eks"})
_UNSIGNED_STS = frozenset({"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"})


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
            service = claimed_service(request)
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
        return respond(start_response, rendered)

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
        if eks_route(request):
            raise wire.AwsError(
                "MissingAuthenticationTokenException", "Missing Authentication Token", 403
            )
        if looks_like_s3(request):
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
            return respond(
                start_response, (200, [("Content-Type", "text/xml")], reply.render(request_id))
            )
        op = self._identify(request, service, caller)
        owner = self._authorize(op, caller)
        trust_write = self._check_policy_write(op, request)
        if caller is not None and self.extras is not None:
            handled = self.extras(caller, op, request)
            if handled is not None:
                return respond(start_response, handled)
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
        resource (moto must run the call there). See :mod:`gate_authorize`."""
        return gate_authorize.authorize(self.world, op, caller)

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
        once moto answered 200. See :mod:`gate_forward`."""
        return gate_forward.forward(
            self.moto_app, environ, start_response, request, account, service, on_stored
        )

    _canonical = staticmethod(gate_forward.canonical)


def _role_path(account: str, name: str) -> str | None:
    facts = state.role(account, name) if account else None
    if facts is None:
        return None
    return facts.arn.split(":role", 1)[1].rsplit("/", 1)[0] + "/"
