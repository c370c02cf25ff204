"""The one enforcement seam in front of moto: authenticate, identify, authorize, dispatch.

Every request to the sandbox's AWS endpoint passes here (style anchors, habit 12):

1. read the raw request (path exactly as sent, body re-wrapped for moto);
2. authenticate: SigV4 (header or presigned) against the credential store; unsigned
   requests only where AWS accepts them (``AssumeRoleWithWebIdentity``, anonymous S3);
3. identify the operation and the IAM action and resource ARN(s) it needs;
4. STS is answered here (:mod:`.services.sts.api`); everything else is authorized by the policy
   engine with the caller's policies, the resource's policy and the organization's
   SCPs/RCPs, then forwarded to moto in the right account (``x-moto-account-id``).

Denials and malformed requests are answered in the service's own wire format; an
unexpected failure becomes ``InternalFailure`` (500) and is logged — never a dead server.
A kubetrust error that reaches the top (:func:`refusal_for`) is answered with the
service's own code for it, never with kubetrust's text: that text names internals.
What is not emulated is listed in the module docs of ``operations`` and ``services.sts.api``.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

from kubetrust import arn as arns
from kubetrust import errors
from kubetrust.chain import context
from kubetrust.sandbox import oidc
from kubetrust.sandbox.aws import (
    authorize,
    credentials,
    forward,
    operations,
    params,
    policy_writes,
    sigv4,
    state,
    throttle,
    wire,
)
from kubetrust.sandbox.aws.forward import StartResponse, WsgiApp, respond
from kubetrust.sandbox.aws.request import (
    RawRequest,
    claimed_service,
    eks_route,
    endpoint_service,
    looks_like_s3,
)
from kubetrust.sandbox.aws.request import read as _read
from kubetrust.sandbox.aws.services.iam import oidc_clients, user_boundaries
from kubetrust.sandbox.aws.services.sts import api
from kubetrust.sandbox.world import World

__all__ = ["Gate", "RawRequest", "StartResponse", "WsgiApp", "refusal_for"]

logger = logging.getLogger(__name__)

EksAuth = Callable[
    [credentials.Credential, operations.Operation, RawRequest, context.RequestFacts],
    tuple[int, list[tuple[str, str]], bytes],
]
"""EKS Auth's handler (:class:`~kubetrust.sandbox.aws.services.eks_auth.api.EksAuthService`):
given an authenticated, identified and authorized call, its answer."""

_SERVICES = frozenset({"sts", "iam", "s3", "eks", "eks-auth"})
_UNSIGNED_STS = frozenset({"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"})


class Gate:
    """The WSGI middleware that enforces AWS's rules in front of moto."""

    def __init__(
        self,
        moto: forward.MotoBackends,
        world: World,
        store: credentials.CredentialStore,
        sts: api.StsService,
        clock: Callable[[], dt.datetime],
        extras: Callable[
            [credentials.Credential, operations.Operation, RawRequest],
            tuple[int, list[tuple[str, str]], bytes] | None,
        ]
        | None = None,
        eks_auth: EksAuth | None = None,
        throttler: throttle.Throttler | None = None,
    ) -> None:
        self.moto = moto
        self.world = world
        self.store = store
        self.sts = sts
        self.clock = clock
        self.extras = extras
        self.eks_auth = eks_auth
        self.throttler = throttler or throttle.Throttler(world.realism)
        """The world's per-API rates (reference H.3); none: nothing is throttled."""
        self.moto_lock = threading.RLock()
        """Serializes the calls that reach moto with the checks made just before them."""

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request_id = str(uuid.uuid4())
        service = "sts"
        head = environ.get("REQUEST_METHOD") == "HEAD"
        try:
            request = _read(environ)
            service = claimed_service(request)
            service = endpoint_service(request, service)
            service, caller = self._authenticate(request, service)
            return self._dispatch(environ, start_response, request, service, caller, request_id)
        except wire.AwsError as refusal:
            return self._refuse(start_response, service, refusal, request_id, head)
        except sigv4.SignatureError as exc:
            rejected = wire.AwsError(exc.code, exc.message, exc.status, details=exc.details)
            return self._refuse(start_response, service, rejected, request_id, head)
        except errors.KubetrustError as exc:
            logger.debug("request %s refused: %s", request_id, exc)
            mapped = refusal_for(exc, service)
            return self._refuse(start_response, service, mapped, request_id, head)
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
    def _authenticate(
        self, request: RawRequest, service: str
    ) -> tuple[str, credentials.Credential | None]:
        """The caller of a signed request, verified for the endpoint of ``service`` (the
        service the request is for: its scope must name it and a region it serves), or
        ``None`` for the unsigned calls AWS accepts."""
        if sigv4.is_signed(request.headers, request.raw_query):
            region = self.world.region
            verified = sigv4.verify(
                request.method,
                request.raw_path,
                request.raw_query,
                request.headers,
                request.body,
                self.store.signing_key,
                self.clock(),
                service=service,
                endpoint=sigv4.endpoint_for(service, region, arns.partition_of_region(region)),
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
        facts = authorize.request_facts(environ, request, self.clock(), self.world.region)
        account = caller.account if caller is not None else ""
        if service == "sts":
            self.throttler.check(account, "sts", request.form().get("Action", [""])[0])
            reply = self._sts(request, caller, facts)
            return respond(
                start_response, (200, [("Content-Type", "text/xml")], reply.render(request_id))
            )
        if caller is not None:  # temporary keys some services refuse (issue 10, item 16)
            credentials.check_service(caller, service)
        op = self._identify(request, service, caller)
        self.throttler.check(account, op.service, op.name)  # AWS throttles before deciding
        _check_parameters(request, op)
        owner = self._authorize(op, caller, facts)
        if op.service == "eks-auth":  # EKS Auth is answered here, never by moto
            if caller is None or self.eks_auth is None:
                raise wire.AwsError("InvalidAction", "The sandbox does not serve eks-auth", 400)
            return respond(start_response, self.eks_auth(caller, op, request, facts))
        if caller is not None and self.extras is not None:
            handled = self.extras(caller, op, request)
            if handled is not None:
                return respond(start_response, handled)
        with self.moto_lock:  # check-then-write as one step; moto is not thread-safe
            return self._write_checked(
                environ, start_response, request, owner, op, caller, request_id
            )

    def _write_checked(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        request: RawRequest,
        owner: str,
        op: operations.Operation,
        caller: credentials.Credential | None,
        request_id: str,
    ) -> Iterable[bytes]:
        """IAM's write-time checks (policy documents, conflicts, names taken, users'
        boundaries), then moto. Run under :attr:`moto_lock`: two concurrent ``CreateRole``
        of one name must not both pass the name check, and moto's backends iterate plain
        dicts that a concurrent write resizes (``RuntimeError`` under load)."""
        trust_write = self._check_policy_write(op, request)
        if op.service == "iam":  # users' permissions boundaries: moto keeps none
            boundaries = self.sts.user_boundaries
            form = user_boundaries.call_parameters(request)
            boundaries.check(op.name, form, owner)
            answered = boundaries.answer(op.name, form, owner, request_id)
            if answered is not None:
                return respond(start_response, answered)
            if op.name in oidc_clients.ANSWERED:  # moto lacks them
                return respond(start_response, self._oidc_clients(op, request, owner, request_id))
        steps: list[Callable[[], object]] = []
        if trust_write is not None:  # bind the trust's principals once moto stored it
            steps.append(functools.partial(self.sts.bindings.record, owner, *trust_write))
        if op.service == "iam":  # the other services see it late (reference H.1)
            pending = self.sts.propagation.capture(op.name, request.form(), owner)
            if pending is not None:
                steps.append(pending.commit)
        on_stored = functools.partial(_run_all, tuple(steps)) if steps else None
        return self._forward(environ, start_response, request, owner, op, caller, on_stored)

    def _oidc_clients(
        self, op: operations.Operation, request: RawRequest, owner: str, request_id: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """A provider's audiences changed here (:mod:`.services.iam.oidc_clients`), seen
        late by STS like every IAM write (reference H.1)."""
        pending = self.sts.propagation.capture(op.name, request.form(), owner)
        answered = oidc_clients.answer(op.name, request.form(), owner, request_id)
        if pending is not None:
            pending.commit()
        assert answered is not None  # INVARIANT: called only for oidc_clients.ANSWERED
        return answered

    def _check_policy_write(
        self, op: operations.Operation, request: RawRequest
    ) -> tuple[str, str] | None:
        """AWS's write-time checks of policy documents (policy_writes.py)."""
        if op.service == "iam":
            return policy_writes.check_iam_write(op.name, request.form(), op.resource_account or "")
        if op.service == "s3" and op.name == "PutBucketPolicy":
            policy_writes.check_bucket_policy(request.body)
        return None

    def _sts(
        self,
        request: RawRequest,
        caller: credentials.Credential | None,
        facts: context.RequestFacts,
    ) -> api.Reply:
        """Each STS action by its own handler: the unsigned ones whether signed or not
        (AWS ignores a signature on them), the others only for an authenticated caller.
        Every decision STS makes sees the request's own facts (time, transport, region,
        peer), as every other service's does."""
        form = request.form()
        action = form.get("Action", [""])[0]
        if action == "AssumeRoleWithWebIdentity":
            return self.sts.assume_role_with_web_identity(form, facts)
        if action == "AssumeRoleWithSAML":
            return self.sts.assume_role_with_saml(form)
        signed = {
            "GetCallerIdentity": lambda c, _, __: self.sts.get_caller_identity(c),
            "AssumeRole": self.sts.assume_role,
            "GetSessionToken": self.sts.get_session_token,
            "GetFederationToken": self.sts.get_federation_token,
        }.get(action)
        if signed is None or caller is None:  # unsigned calls reach here for the two above
            raise wire.AwsError(
                "InvalidAction", f"Could not find operation {action} for version 2011-06-15", 400
            )
        return signed(caller, form, facts)

    def _identify(
        self, request: RawRequest, service: str, caller: credentials.Credential | None
    ) -> operations.Operation:
        account = caller.account if caller else ""
        json_body: Mapping[str, Any] | None = None
        if request.body and service in ("eks", "eks-auth"):
            try:
                parsed = errors.decode_json(request.body.decode("utf-8"))
                json_body = parsed if isinstance(parsed, dict) else None
            except ValueError:  # nesting too (errors.NestingError): no service sees it
                raise wire.AwsError("BadRequestException", "Malformed JSON body", 400) from None
        form = request.form() if operations.service_protocol(service) == "query" else {}
        raw_path = _routed_path(request, service)
        op = operations.identify_operation(
            service,
            request.method,
            unquote(raw_path),
            parse_qs(request.raw_query, keep_blank_values=True),
            form,
            json_body,
            "",  # S3's virtual host is in the routed path already: one decision
            account,
            self.world.region,
            role_path=lambda name: _role_path(account, name),
            headers=request.headers,
            raw_path=raw_path,
            body=request.body,
            caller_arn=caller.principal_arn if caller else None,
        )
        if op is None:
            raise wire.AwsError(
                "InvalidAction", f"The sandbox does not emulate this {service} operation", 400
            )
        return op

    def _authorize(
        self,
        op: operations.Operation,
        caller: credentials.Credential | None,
        facts: context.RequestFacts | None = None,
    ) -> str:
        """Authorize every (action, resource) of ``op``; return the account that owns the
        resource (moto must run the call there). See :mod:`.authorize`."""
        return authorize.authorize(
            self.world,
            op,
            caller,
            facts,
            bindings=self.sts.bindings,
            user_boundaries=self.sts.user_boundaries,
            iam=self.sts.propagation,
        )

    def _forward(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        request: RawRequest,
        account: str,
        op: operations.Operation,
        caller: credentials.Credential | None,
        on_stored: Callable[[], object] | None = None,
    ) -> Iterable[bytes]:
        """Run the authorized request in moto, in the owning account; ``on_stored`` runs
        once moto answered 200. moto learns only what the gate decided (the routed path,
        operation, account, region and caller): see :mod:`.forward`."""
        target = forward.Target(
            service=op.service,
            operation=op.name,
            account=account,
            region=self.world.region,
            access_key_id=caller.access_key_id if caller else None,
            caller_arn=caller.principal_arn if caller else None,
            raw_path=_routed_path(request, op.service),
            aws_page_sizes=self.world.realism.aws_page_sizes,
        )
        return forward.forward(
            self.moto,
            environ,
            start_response,
            request,
            target,
            on_stored,
            bindings=self.sts.bindings,
            user_boundaries=self.sts.user_boundaries,
        )


_MALFORMED_POLICY = {"s3": "MalformedPolicy", "eks": "InvalidParameterException"}
"""The code for a policy document the service cannot read (IAM and STS:
``MalformedPolicyDocument``; S3's ``PutBucketPolicy`` answers ``MalformedPolicy``)."""
_INVALID_INPUT = {
    "iam": (
        "ValidationError",
        "The input fails to satisfy the constraints specified by an AWS service.",
    ),
    "sts": (
        "ValidationError",
        "The input fails to satisfy the constraints specified by an AWS service.",
    ),
    "eks": ("InvalidParameterException", "The specified parameter is invalid."),
    "s3": ("InvalidArgument", "Invalid Argument"),
}
"""Each service's generic "your input is invalid" answer (400). The query services' is
the AWS common error ``ValidationError`` with its documented message (Common Errors,
API reference); [uncertain] EKS's and S3's messages are generic texts of their codes,
AWS words each case differently."""


def refusal_for(exc: errors.KubetrustError, service: str) -> wire.AwsError:
    """The AWS answer to a kubetrust error that reached the gate's top level.

    The gate and STS map the errors they expect where they raise them; this is the net
    under them, so that no internal text (paths, parser details, type names) reaches the
    wire. A policy document that does not parse is the service's malformed-policy error
    with IAM's wording of the problem (:attr:`errors.PolicyParseError.aws_message`); an
    ARN that does not parse is the service's invalid-ARN answer; a refusal that already
    carries STS's code (a web identity token) keeps it; anything else is the service's
    generic invalid-input error (400: it is the request that kubetrust could not take)."""
    if isinstance(exc, errors.PolicyParseError):
        code = _MALFORMED_POLICY.get(service, "MalformedPolicyDocument")
        return wire.AwsError(code, exc.aws_message, 400)
    if isinstance(exc, errors.InvalidArnError):
        return _invalid_arn(exc.arn, service)
    if isinstance(exc, oidc.TokenRejected):
        return wire.AwsError(exc.code, exc.message, exc.status)
    code, message = _INVALID_INPUT.get(service, _INVALID_INPUT["iam"])
    return wire.AwsError(code, message, 400)


def _invalid_arn(value: str, service: str) -> wire.AwsError:
    """IAM: ``InvalidInput: ARN <arn> is not valid.`` (hashicorp/terraform-provider-aws
    #1337); STS: ``ValidationError: <arn> is invalid`` (as :mod:`.services.sts.api` answers a bad
    ``RoleArn``); [uncertain] EKS and S3 have no reported wording: their generic
    invalid-parameter answer."""
    shown = value if len(value) <= 200 else value[:200] + "..."
    if service == "iam":
        return wire.AwsError("InvalidInput", f"ARN {shown} is not valid.", 400)
    if service == "sts":
        return wire.AwsError("ValidationError", f"{shown} is invalid", 400)
    code, message = _INVALID_INPUT.get(service, _INVALID_INPUT["iam"])
    return wire.AwsError(code, message, 400)


def _check_parameters(request: RawRequest, op: operations.Operation) -> None:
    """AWS's model validation of the call's parameters, before it is authorized
    (:mod:`.params`): the parameters exactly as the gate read them to identify the
    operation (query-protocol: query string merged with the form, the form winning)."""
    query = parse_qs(request.raw_query, keep_blank_values=True)
    if op.service == "iam":
        merged = {**query, **request.form()}
        params.check_query(op.service, op.name, merged)
    elif op.service in ("eks", "eks-auth"):
        raw_path = request.raw_path
        labels = operations.route_labels(
            op.service,
            request.method,
            unquote(raw_path),
            query,
            headers=request.headers,
            raw_path=raw_path,
        )
        params.check_rest_json(
            op.service, op.name, labels, query, request.headers, _json_object(request.body)
        )


def _run_all(steps: tuple[Callable[[], object], ...]) -> None:
    """Every step to take once moto stored a write, in order."""
    for step in steps:
        step()


def _json_object(body: bytes) -> dict[str, Any] | None:
    """An EKS body as the gate parsed it (a malformed one was refused in ``_identify``)."""
    if not body:
        return None
    try:
        parsed = errors.decode_json(body.decode("utf-8"))
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _routed_path(request: RawRequest, service: str) -> str:
    """The raw path the gate routes and moto runs: for S3 the path-style form of a
    virtual-hosted request (:func:`operations.s3_path_style`), decided once."""
    if service == "s3":
        return operations.s3_path_style(request.host, request.raw_path)
    return request.raw_path


def _role_path(account: str, name: str) -> str | None:
    facts = state.role(account, name) if account else None
    if facts is None:
        return None
    return facts.arn.split(":role", 1)[1].rsplit("/", 1)[0] + "/"
