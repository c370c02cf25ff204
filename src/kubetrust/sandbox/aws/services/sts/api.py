"""STS as AWS implements it: GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity,
GetSessionToken and GetFederationToken (AssumeRoleWithSAML is refused, see below).

moto's STS enforces nothing (probe findings); this module replaces it. The hop decision
itself comes from :mod:`kubetrust.chain.sts` (two-sided: caller side and trust side), so
what the sandbox enforces is what explain reports. This module adds what only a running
STS has: the role must exist, parameter validation with STS's messages (B.1), the web
identity token check against the IAM OIDC provider and the issuer's JWKS (B.3), role
chaining's one-hour cap, and the new session's credentials.

Every decision here sees the full request context, assembled as for every other call
(:mod:`kubetrust.chain.context`, issue 10 item 6): the gate's request facts (time,
transport, region, peer), the target role's tags and account, and the caller's keys —
issue time and MFA (the time STS recorded, ``Credential.mfa_at``). GetSessionToken
evaluates no policy at all, as AWS documents.

``Provider`` in the web identity response is the IAM OIDC provider's ARN, as real STS
answers for EKS tokens (many published ``assume-role-with-web-identity`` outputs show
``"Provider": "arn:aws:iam::<acct>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<ID>"``;
the API reference's "the value of the iss field" is not what the wire carries).

Error choices, as AWS makes them: a role that does not exist is indistinguishable from a
role that does not trust the caller (``AccessDenied`` with the standard message);
a web identity the trust policy refuses gets ``AccessDenied: Not authorized to perform
sts:AssumeRoleWithWebIdentity`` (B.2). Parameters are checked first, all at once, as the
STS model says (:mod:`sts_params`); a ``RoleArn`` that is no ARN of this partition is
``ValidationError: <arn> is invalid``.

Who may call what (STS API reference; IAM UG "Compare STS credentials"):

* GetSessionToken and GetFederationToken need an IAM user's long-term key: session keys get
  ``AccessDenied: Cannot call GetSessionToken with session credentials`` (same wording for
  GetFederationToken; aws/aws-sdk-net#1704, hashicorp/vault#4108). GetSessionToken needs no
  permission; GetFederationToken needs ``sts:GetFederationToken`` on the federated user's ARN
  (next/s3-upload#182 shows the refusal's wording).
* GetSessionToken keys call STS only for AssumeRole and GetCallerIdentity, federated users
  only GetCallerIdentity ([uncertain] the refusal's wording is not reported; the standard
  "not authorized" message is used); their IAM restrictions are
  :func:`credentials.check_service`.
* A virtual MFA code (``SerialNumber``/``TokenCode``) is checked against the device IAM
  enabled for the calling user; a valid one marks the keys ``mfa_authenticated``.

AssumeRoleWithSAML: the sandbox keeps no SAML trust (it verifies no assertion signature).
Its parameters are checked as STS checks them, a ``PrincipalArn`` naming no IAM SAML
provider gets ``InvalidIdentityToken: Specified provider doesn't exist``, and any other
assertion is one STS could not validate: ``InvalidIdentityToken: Response signature
invalid`` (cevoaustralia/aws-google-auth#270). It is never answered as web identity.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from kubetrust import arn as arns
from kubetrust import errors, policy
from kubetrust.chain import context, parties
from kubetrust.chain import sts as hops
from kubetrust.model.vocabulary import (
    ASSUME_ROLE_DURATION,
    DEFAULT_USER_SESSION,
    ROOT_USER_SESSION_CAP,
    USER_SESSION_DURATION,
)
from kubetrust.policy import sts as sts_requests
from kubetrust.sandbox import oidc
from kubetrust.sandbox.aws import credentials, identity, policy_writes, state, wire
from kubetrust.sandbox.aws.operations.query_protocol import member_list as members
from kubetrust.sandbox.aws.propagation import Propagation
from kubetrust.sandbox.aws.services.iam.user_boundaries import UserBoundaries
from kubetrust.sandbox.aws.services.sts import params as sts_params
from kubetrust.sandbox.world import World

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
MAX_SESSION_POLICY_CHARS = 2048
PARTITION = "aws"
"""The one partition the sandbox serves."""
Params = Mapping[str, list[str]]


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful STS answer: the operation name and its ``Result`` XML fragment."""

    operation: str
    result_xml: str

    def render(self, request_id: str) -> bytes:
        op = self.operation
        return (
            f'<{op}Response xmlns="{NAMESPACE}"><{op}Result>{self.result_xml}</{op}Result>'
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
            f"</{op}Response>"
        ).encode()


def _error(code: str, message: str, status: int = 400) -> wire.AwsError:
    return wire.AwsError(code, message, status)


def _validation(message: str) -> wire.AwsError:
    return _error("ValidationError", message)


def _one(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[0] if values else None


class StsService:
    """The STS operations of one sandbox (its world, credential store, clock, JWKS)."""

    def __init__(
        self,
        world: World,
        store: credentials.CredentialStore,
        clock: Callable[[], dt.datetime],
        fetch_jwks: Callable[[str], Mapping[str, Any]],
        bindings: policy_writes.PrincipalBindings | None = None,
        *,
        user_boundaries: UserBoundaries,
        propagation: Propagation | None = None,
    ) -> None:
        self.bindings = bindings or policy_writes.PrincipalBindings()
        self.propagation = propagation or Propagation(0.0)
        """IAM as STS (and through it the gate's authorizer) sees it: reference H.1."""
        self.user_boundaries = user_boundaries  # the users' boundaries moto does not keep
        self.world = world
        self.store = store
        self.clock = clock
        self.fetch_jwks = fetch_jwks

    # ------------------------------------------------------------------ GetCallerIdentity
    def get_caller_identity(self, caller: credentials.Credential) -> Reply:
        """Needs no permission, even under an explicit deny (B.5)."""
        return Reply(
            "GetCallerIdentity",
            f"<Arn>{escape(caller.principal_arn)}</Arn><UserId>{escape(caller.user_id)}</UserId>"
            f"<Account>{caller.account}</Account>",
        )

    # ------------------------------------------------------------------ AssumeRole
    def assume_role(
        self,
        caller: credentials.Credential,
        params: Params,
        request: context.RequestFacts | None = None,
    ) -> Reply:
        """Both sides decide with the full context (:mod:`kubetrust.chain.context`): the
        caller's keys (MFA from this call's code or the caller's own session), the role's
        tags and account, and the request's time, transport, region and peer."""
        facts = self._facts(request)
        checks = sts_params.Checks(params)
        role_arn, session_name = _role_and_session(checks)
        external_id = checks.text(
            "ExternalId", "externalId", 2, 1224, pattern=sts_params.EXTERNAL_ID
        )
        source_identity = checks.text(
            "SourceIdentity", "sourceIdentity", 2, 64, pattern=sts_params.NAME
        )
        checks.integer(
            "DurationSeconds",
            "durationSeconds",
            ASSUME_ROLE_DURATION.minimum,
            ASSUME_ROLE_DURATION.maximum,
        )
        serial, code = _mfa_params(checks)
        _check_lists(checks, params)
        checks.done()
        _check_arn(role_arn)
        if caller.kind == credentials.FEDERATED_USER:  # STS calls but GetCallerIdentity
            raise _not_authorized(caller.principal_arn, "sts:AssumeRole", role_arn)
        role = self.propagation.role_by_arn(role_arn)
        if role is None:
            raise _not_authorized(caller.principal_arn, "sts:AssumeRole", role_arn)
        acting = self._with_mfa(caller, serial, code, facts)
        duration = self._duration(params, role, chained=caller.kind == credentials.ROLE_SESSION)
        session_policies = self._session_policies(params, role.account)
        source_identity = _chained_source_identity(caller, source_identity)
        tags = _hop_tags(caller, _session_tags(params))
        hop = hops.assume_role(
            caller.principal_arn,
            identity.caller_side(self.world, caller, self.user_boundaries, self.propagation),
            self.role_side(role),
            session_name=session_name,
            external_id=external_id,
            source_identity=source_identity,
            tags=tags,
            context=identity.caller_context(acting, facts, self.world),
            request=facts,
        )
        failed = hop.failed
        if failed is not None:
            raise self._denied(caller.principal_arn, failed.action, role_arn, failed.decision)
        issued = self.issue_role_session(
            role,
            session_name,
            duration,
            session_policies,
            facts,
            chained=True,
            tags=dict(tags.tags) if tags else {},
            transitive=tuple(tags.transitive) if tags else (),
            source_identity=source_identity,
            mfa_at=identity.mfa_time(acting),
        )
        return Reply("AssumeRole", _role_session_xml(issued))

    # ------------------------------------------------------------------ GetSessionToken
    def get_session_token(
        self,
        caller: credentials.Credential,
        params: Params,
        request: context.RequestFacts | None = None,
    ) -> Reply:
        """The IAM user itself on temporary keys (with MFA context if a code was given).
        No permission is needed and no policy is evaluated, so no condition (on any
        context key) can refuse it: "You can include the GetSessionToken action in your
        policies, but it has no effect on a user's ability to perform the GetSessionToken
        operation" (IAM UG, "Permissions for GetSessionToken"). ``request`` gives the
        issue time, the MFA time and the time of the MFA code check."""
        facts = self._facts(request)
        checks = sts_params.Checks(params)
        requested = checks.integer(
            "DurationSeconds",
            "durationSeconds",
            USER_SESSION_DURATION.minimum,
            USER_SESSION_DURATION.maximum,
        )
        serial, code = _mfa_params(checks)
        checks.done()
        if caller.is_session:
            raise _error(
                "AccessDenied", "Cannot call GetSessionToken with session credentials", 403
            )
        mfa_at = facts.now if self._mfa(caller, serial, code, facts) else None
        issued = self._new_session(
            _user_duration(caller, requested),
            facts,
            kind=credentials.SESSION_TOKEN,
            account=caller.account,
            principal_arn=caller.principal_arn,
            user_id=caller.user_id,
            principal_id=caller.bound_id,
            mfa_authenticated=mfa_at is not None,
            mfa_at=mfa_at,
        )
        return Reply("GetSessionToken", _credentials_block(issued))

    # ------------------------------------------------------------------ GetFederationToken
    def get_federation_token(
        self,
        caller: credentials.Credential,
        params: Params,
        request: context.RequestFacts | None = None,
    ) -> Reply:
        """A federated user ``arn:aws:sts::ACCT:federated-user/NAME`` whose permissions are
        the user's intersected with the session policies (none: no permissions). The user
        needs ``sts:GetFederationToken`` on that ARN (and ``sts:TagSession`` for tags),
        decided with the full request context."""
        facts = self._facts(request)
        checks = sts_params.Checks(params)
        name = checks.text("Name", "name", 2, 32, pattern=sts_params.NAME, required=True)
        requested = checks.integer(
            "DurationSeconds",
            "durationSeconds",
            USER_SESSION_DURATION.minimum,
            USER_SESSION_DURATION.maximum,
        )
        checks.text("Policy", "policy", 1, MAX_SESSION_POLICY_CHARS, secret=True)
        _check_lists(checks, params)
        checks.done()
        assert name is not None  # required: checks.done() raised otherwise
        if caller.is_session:
            raise _error(
                "AccessDenied", "Cannot call GetFederationToken with session credentials", 403
            )
        federated = f"arn:aws:sts::{caller.account}:federated-user/{name}"
        tags = _session_tags(params)
        # aws:RequestTag/*, aws:TagKeys (B.6): one call, one context for both checks
        extra = sts_requests.tag_context(tags) if tags is not None else {}
        self._authorize_caller(caller, "sts:GetFederationToken", federated, facts, extra)
        if tags is not None:
            self._authorize_caller(caller, "sts:TagSession", federated, facts, extra)
        issued = self._new_session(
            _user_duration(caller, requested),
            facts,
            kind=credentials.FEDERATED_USER,
            account=caller.account,
            principal_arn=federated,
            user_id=f"{caller.account}:{name}",
            principal_id=caller.bound_id,
            session_policies=self._session_policies(params, caller.account),
            tags=dict(tags.tags) if tags else {},
        )
        user = (
            f"<FederatedUser><FederatedUserId>{escape(issued.user_id)}</FederatedUserId>"
            f"<Arn>{escape(federated)}</Arn></FederatedUser>"
        )
        return Reply("GetFederationToken", _credentials_block(issued) + user)

    # ------------------------------------------------------------------ SAML
    def assume_role_with_saml(self, params: Params) -> Reply:
        """Parameters are checked as STS checks them; then, as the sandbox verifies no SAML
        signature, every assertion is one STS could not validate (see module doc)."""
        checks = sts_params.Checks(params)
        role_arn = checks.text("RoleArn", "roleArn", 20, 2048, required=True)
        principal_arn = checks.text("PrincipalArn", "principalArn", 20, 2048, required=True)
        checks.text("SAMLAssertion", "sAMLAssertion", 4, 100000, required=True, secret=True)
        checks.integer(
            "DurationSeconds",
            "durationSeconds",
            ASSUME_ROLE_DURATION.minimum,
            ASSUME_ROLE_DURATION.maximum,
        )
        checks.text("Policy", "policy", 1, MAX_SESSION_POLICY_CHARS, secret=True)
        _check_lists(checks, params)
        checks.done()
        assert role_arn is not None and principal_arn is not None
        _check_arn(role_arn)
        _check_arn(principal_arn)
        if ":role/" not in role_arn:  # onelogin-aws-cli#12: role and provider swapped
            raise _validation("Request ARN is invalid")
        if ":saml-provider/" not in principal_arn:  # aws-google-auth#199
            raise _validation("Principal ARN is invalid")
        if not state.saml_provider_exists(principal_arn):
            raise _error("InvalidIdentityToken", "Specified provider doesn't exist")
        raise _error("InvalidIdentityToken", "Response signature invalid")

    # ------------------------------------------------------------------ web identity
    def assume_role_with_web_identity(
        self, params: Params, request: context.RequestFacts | None = None
    ) -> Reply:
        """No caller side: the trust policy and the role account's RCPs decide, with the
        role's tags and the request's own keys (time, transport, region, peer)."""
        facts = self._facts(request)
        denied = _error(
            "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403
        )
        checks = sts_params.Checks(params)
        role_arn, session_name = _role_and_session(checks)
        token = checks.text(
            "WebIdentityToken", "webIdentityToken", 4, 20000, required=True, secret=True
        )
        checks.integer(
            "DurationSeconds",
            "durationSeconds",
            ASSUME_ROLE_DURATION.minimum,
            ASSUME_ROLE_DURATION.maximum,
        )
        checks.text("Policy", "policy", 1, MAX_SESSION_POLICY_CHARS, secret=True)
        _check_lists(checks, params)
        checks.done()
        assert token is not None
        _check_arn(role_arn)
        role = self.propagation.role_by_arn(role_arn)
        if role is None:
            raise denied
        web = self._verify_token(token, role.account)
        duration = self._duration(params, role, chained=False)
        session_policies = self._session_policies(params, role.account)
        try:
            hop = hops.assume_role_with_web_identity(
                web.provider_arn,
                web.issuer,
                web.claims,
                self.role_side(role),
                session_name=session_name,
                request=facts,
            )
            tags = sts_requests.token_tags(web.claims)
        except errors.KubetrustError:  # claims the trust cannot read: never our own text
            raise _error("InvalidIdentityToken", MSG_UNREADABLE_CLAIMS) from None
        if not hop.allowed:
            raise denied
        issued = self.issue_role_session(
            role,
            session_name,
            duration,
            session_policies,
            facts,
            chained=False,
            tags=dict(tags.tags) if tags else {},
            transitive=tuple(tags.transitive) if tags else (),
            source_identity=_token_source_identity(web.claims),
            web_identity={
                "provider": web.provider_arn,
                "subject": web.subject,
                "audience": web.audience,
            },
        )
        extra = (
            f"<SubjectFromWebIdentityToken>{escape(web.subject)}"
            f"</SubjectFromWebIdentityToken><Audience>{escape(web.audience)}</Audience>"
            f"<Provider>{escape(web.provider_arn)}</Provider>"
        )
        return Reply("AssumeRoleWithWebIdentity", _role_session_xml(issued) + extra)

    def _verify_token(self, token: str, account: str) -> oidc.WebIdentity:
        """The token checked as STS checks it before the trust policy, against the IAM
        OIDC providers of the role's ``account`` (:mod:`kubetrust.chain.web_identity`
        through :func:`kubetrust.sandbox.oidc.verify_web_identity_token`)."""
        directory = identity.SandboxDirectory(self.world, iam=self.propagation)

        def provider_lookup(url: str) -> oidc.OidcProvider | None:
            found = directory.oidc_provider(account, url)
            if found is None:
                return None
            return oidc.OidcProvider(
                url=found.url, arn=found.arn, client_ids=found.client_ids or (), account=account
            )

        now = int(self.clock().timestamp())
        try:
            return oidc.verify_web_identity_token(
                token, provider_lookup=provider_lookup, fetch_jwks=self.fetch_jwks, now=now
            )
        except oidc.TokenRejected as exc:
            raise _error(exc.code, exc.message, exc.status) from None

    # ------------------------------------------------------------------ shared steps
    def _facts(self, request: context.RequestFacts | None) -> context.RequestFacts:
        """The request's facts, with the time known (the sandbox's clock) when the caller
        gave none: issue times and MFA ages count from it."""
        facts = request or context.RequestFacts(region=self.world.region)
        return facts if facts.now is not None else dataclasses.replace(facts, now=self.clock())

    def _with_mfa(
        self,
        caller: credentials.Credential,
        serial: str | None,
        code: str | None,
        facts: context.RequestFacts,
    ) -> credentials.Credential:
        """``caller`` as this AssumeRole call authenticates it: MFA-authenticated now if
        the call carries a valid code, else as its keys were issued.

        [uncertain] A session that was MFA-authenticated (GetSessionToken with a code)
        passes its MFA, and its MFA time, to the role session it assumes: the AssumeRole
        call itself certainly carries it (a trust requiring MFA admits it, as the tools
        that chain GetSessionToken into AssumeRole rely on); that the new session keeps it
        follows the same tools' reports, not a documented rule."""
        if self._mfa(caller, serial, code, facts):
            return dataclasses.replace(caller, mfa_authenticated=True, mfa_at=facts.now)
        return caller

    def _mfa(
        self,
        caller: credentials.Credential,
        serial: str | None,
        code: str | None,
        facts: context.RequestFacts,
    ) -> bool:
        """Whether the request carries a valid MFA code of the calling user's virtual
        device; ``False`` without one; STS's ``AccessDenied`` for a wrong one."""
        if serial is None and code is None:
            return False
        user = state.user_by_id(caller.account, caller.bound_id)
        seed = None
        if user is not None and serial is not None and caller.kind != credentials.ROLE_SESSION:
            seed = state.mfa_seed(caller.account, user.name, serial)
        if seed is None:
            raise _error("AccessDenied", sts_params.MFA_UNKNOWN_DEVICE, 403)
        if code is None or not sts_params.totp_matches(seed, code, facts.now or self.clock()):
            raise _error("AccessDenied", sts_params.MFA_WRONG_CODE, 403)
        return True

    def _authorize_caller(
        self,
        caller: credentials.Credential,
        action: str,
        resource: str,
        facts: context.RequestFacts,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        """The caller's own policies (no resource policy) must allow ``action`` on
        ``resource`` (in the caller's account), with the full request context and the
        call's own keys (``extra``: the session tags of a TagSession check)."""
        side = identity.caller_side(self.world, caller, self.user_boundaries, self.propagation)
        keys = context.build(
            identity.principal(caller, self.world),
            facts,
            identity.resource_side(self.world, context.Resource(account=caller.account)),
            service="sts",
        )
        keys.update(extra or {})
        decision = policy.authorize(
            policy.Request(caller.principal_arn, action, resource, keys),
            policy.policy_set(
                identity=side.identity,
                boundaries=side.boundaries,
                session=side.session,
                scps=side.scps,
            ),
        )
        if not decision.allowed:
            raise self._denied(caller.principal_arn, action, resource, decision)

    def _duration(self, params: Params, role: state.RoleFacts, *, chained: bool) -> int:
        raw = _one(params, "DurationSeconds")
        requested = int(raw) if raw is not None else None  # checked by sts_params before
        duration, problem = hops.check_duration(
            requested, max_session_duration=role.max_session_duration, chained=chained
        )
        if problem is not None:
            raise _validation(problem)
        return duration

    def _session_policies(self, params: Params, account: str) -> tuple[str, ...]:
        """The inline session policy and the managed ``PolicyArns`` (in ``account``)."""
        documents: list[str] = []
        inline = _one(params, "Policy")
        if inline is not None:
            if len(inline) > MAX_SESSION_POLICY_CHARS:
                raise _error(
                    "PackedPolicyTooLarge", "Packed size of consumed session policies exceeds 100%."
                )
            try:
                policy.parse_policy(inline, policy.PolicyKind.SESSION)
            except errors.PolicyParseError as exc:
                raise _error("MalformedPolicyDocument", exc.aws_message) from None
            documents.append(inline)
        for policy_arn in members(params, "PolicyArns", ".arn"):
            document = state.managed_policy_document(account, policy_arn)
            if document is None:
                raise _validation(f"Policy {policy_arn} does not exist or is not attachable.")
            documents.append(document)
        return tuple(documents)

    def role_side(self, role: state.RoleFacts) -> hops.RoleSide:
        """The role's trust as IAM holds it (principals bound to the unique ids they had
        when the trust was saved: policy_writes.PrincipalBindings) and its current tags
        (``aws:ResourceTag/<k>`` of the assume call), with its account's RCPs and
        organization as explain gathers them (:func:`kubetrust.chain.parties.role_side`)."""
        return parties.role_side(
            identity.SandboxDirectory(self.world),
            arn=role.arn,
            account=role.account,
            trust=self.bindings.effective(role.account, role.name, role.trust_policy),
            max_session_duration=role.max_session_duration,
            tags=state.role_tags(role.account, role.name),
        )

    def _denied(
        self, principal: str, action: str, resource: str, decision: policy.Decision
    ) -> wire.AwsError:
        """AccessDenied as STS words it: a refusal by the role's trust policy carries no
        "because ..." clause (seen in public reports of cross-account trust failures);
        caller-side refusals name the policy type, as IAM's newer messages do."""
        message = policy.access_denied_message(decision, principal, action, resource)
        if decision.deciding_kind == "trust" and decision.outcome is policy.Outcome.IMPLICIT_DENY:
            message = message.split(" because no ", 1)[0]
        return _error("AccessDenied", message, 403)

    def issue_role_session(
        self,
        role: state.RoleFacts,
        session_name: str,
        duration: int,
        session_policies: Sequence[str],
        facts: context.RequestFacts,
        *,
        chained: bool,
        tags: Mapping[str, str],
        transitive: Sequence[str] = (),
        source_identity: str | None = None,
        web_identity: Mapping[str, object] | None = None,
        mfa_at: dt.datetime | None = None,
    ) -> credentials.Credential:
        """A role session, bound to the role's unique id (item 7: not to its name). Public:
        EKS Auth (``services.eks_auth``) mints the sessions of Pod Identity here too, so
        they work at the gate like any AssumeRole session."""
        return self._new_session(
            duration,
            facts,
            kind=credentials.ROLE_SESSION,
            account=role.account,
            principal_arn=arns.assumed_role_arn(role.account, role.name, session_name),
            user_id=f"{role.id}:{session_name}",
            principal_id=role.id,
            role_arn=role.arn,
            session_name=session_name,
            session_policies=tuple(session_policies),
            chained=chained,
            source_identity=source_identity,
            tags=dict(tags),
            transitive_tag_keys=tuple(transitive),
            web_identity=dict(web_identity or {}),
            mfa_authenticated=mfa_at is not None,
            mfa_at=mfa_at,
        )

    def _new_session(
        self, duration: int, facts: context.RequestFacts, **identity_fields: Any
    ) -> credentials.Credential:
        """New temporary keys (``ASIA…``, secret, token) valid for ``duration`` seconds,
        issued at the request's time (``aws:TokenIssueTime``)."""
        now = facts.now or self.clock()
        return self.store.add(
            credentials.Credential(
                access_key_id=credentials.new_access_key_id("ASIA"),
                secret_access_key=credentials.new_secret(),
                session_token=credentials.new_session_token(),
                expires_at=now + dt.timedelta(seconds=duration),
                issued_at=now,
                **identity_fields,
            )
        )


MSG_UNREADABLE_CLAIMS = "The web identity token's claims could not be read"
"""[uncertain] our wording: STS's text for session-tag or condition claims of the wrong
type is unreported."""


def _not_authorized(principal: str, action: str, resource: str) -> wire.AwsError:
    """STS's AccessDenied that hides whether the role exists (B.1)."""
    return _error(
        "AccessDenied",
        f"User: {principal} is not authorized to perform: {action} on resource: {resource}",
        403,
    )


def _role_and_session(checks: sts_params.Checks) -> tuple[str, str]:
    """``RoleArn`` and ``RoleSessionName``, both required, checked as the model says."""
    role_arn = checks.text("RoleArn", "roleArn", 20, 2048, required=True)
    session_name = checks.text(
        "RoleSessionName", "roleSessionName", 2, 64, pattern=sts_params.NAME, required=True
    )
    return role_arn or "", session_name or ""


def _mfa_params(checks: sts_params.Checks) -> tuple[str | None, str | None]:
    serial = checks.text("SerialNumber", "serialNumber", 9, 256, pattern=sts_params.SERIAL_NUMBER)
    code = checks.text("TokenCode", "tokenCode", 6, 6, pattern=sts_params.TOKEN_CODE)
    return serial, code


def _check_lists(checks: sts_params.Checks, params: Params) -> None:
    """PolicyArns up to 10, Tags and TransitiveTagKeys up to 50 (B.1)."""
    checks.count("policyArns", len(members(params, "PolicyArns", ".arn")), 10)
    checks.count("tags", len(members(params, "Tags", ".Key")), 50)
    checks.count("transitiveTagKeys", len(members(params, "TransitiveTagKeys")), 50)


def _check_arn(value: str) -> None:
    """An ARN STS can read, in the partition this endpoint serves (``aws``).

    [uncertain] A well-formed ARN of another partition (``aws-cn``, ``aws-us-gov``) is
    answered like a malformed one; no public report shows STS's text for it."""
    if not sts_params.ARN.fullmatch(value) or value.split(":", 2)[1] != PARTITION:
        raise _validation(f"{value} is invalid")


def _user_duration(caller: credentials.Credential, requested: int | None) -> int:
    """GetSessionToken/GetFederationToken: 12 hours by default, at most 36; the root
    user's sessions last at most one hour (longer requests are cut to one hour)."""
    if caller.principal_arn.endswith(":root"):
        return min(requested or ROOT_USER_SESSION_CAP, ROOT_USER_SESSION_CAP)
    return requested or DEFAULT_USER_SESSION


def _session_tags(params: Params) -> sts_requests.SessionTags | None:
    keys = members(params, "Tags", ".Key")
    values = members(params, "Tags", ".Value")
    if not keys:
        return None
    if len(keys) != len(values):
        raise _validation("Each session tag needs a Key and a Value")
    return sts_requests.SessionTags(
        dict(zip(keys, values, strict=True)), tuple(members(params, "TransitiveTagKeys"))
    )


def _chained_source_identity(caller: credentials.Credential, requested: str | None) -> str | None:
    """The new session's source identity by the one rule explain follows too
    (:func:`kubetrust.chain.sts.chained_source_identity`)."""
    try:
        return hops.chained_source_identity(caller.source_identity, requested)
    except hops.ChainRefused as refused:
        raise _validation(str(refused)) from None


def _hop_tags(
    caller: credentials.Credential, requested: sts_requests.SessionTags | None
) -> sts_requests.SessionTags | None:
    """The session tags this hop sets, by the one rule explain follows too
    (:func:`kubetrust.chain.sts.chained_tags`): the caller's session tags, of which its
    transitive keys are inherited, and the requested ones."""
    carried = hops.Carried(None, dict(caller.tags), tuple(caller.transitive_tag_keys))
    try:
        return hops.chained_tags(carried, requested)
    except hops.ChainRefused as refused:
        raise _validation(str(refused)) from None


def _token_source_identity(claims: Mapping[str, object]) -> str | None:
    """The token's source identity (B.2): the session keeps it, and every later hop of
    the chain carries it (the trust already decided ``sts:SetSourceIdentity`` for it)."""
    value = claims.get(sts_requests.SOURCE_IDENTITY_CLAIM)
    return value if isinstance(value, str) else None


def _credentials_block(issued: credentials.Credential) -> str:
    expiration = issued.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ") if issued.expires_at else ""
    return (
        "<Credentials>"
        f"<AccessKeyId>{issued.access_key_id}</AccessKeyId>"
        f"<SecretAccessKey>{issued.secret_access_key}</SecretAccessKey>"
        f"<SessionToken>{issued.session_token}</SessionToken>"
        f"<Expiration>{expiration}</Expiration>"
        "</Credentials>"
    )


def _role_session_xml(issued: credentials.Credential) -> str:
    """Credentials, AssumedRoleUser and SourceIdentity of a role session."""
    return (
        _credentials_block(issued)
        + f"<AssumedRoleUser><AssumedRoleId>{escape(issued.user_id)}</AssumedRoleId>"
        f"<Arn>{escape(issued.principal_arn)}</Arn></AssumedRoleUser>"
        + (
            f"<SourceIdentity>{escape(issued.source_identity)}</SourceIdentity>"
            if issued.source_identity
            else ""
        )
    )
