"""STS as AWS implements it: GetCallerIdentity, AssumeRole, AssumeRoleWithWebIdentity.

moto's STS enforces nothing (probe findings); this module replaces it. The hop decision
itself comes from :mod:`kubetrust.chain.sts` (two-sided: caller side and trust side), so
what the sandbox enforces is what explain reports. This module adds what only a running
STS has: the role must exist, parameter validation with STS's messages (B.1), the web
identity token check against the IAM OIDC provider and the issuer's JWKS (B.3), role
chaining's one-hour cap, and the new session's credentials.

``Provider`` in the web identity response is the IAM OIDC provider's ARN, as real STS
answers for EKS tokens (many published ``assume-role-with-web-identity`` outputs show
``"Provider": "arn:aws:iam::<acct>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<ID>"``;
the API reference's "the value of the iss field" is not what the wire carries).

Error choices, as AWS makes them: a role that does not exist is indistinguishable from a
role that does not trust the caller (``AccessDenied`` with the standard message);
a web identity the trust policy refuses gets ``AccessDenied: Not authorized to perform
sts:AssumeRoleWithWebIdentity`` (B.2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from kubetrust import arn as arns
from kubetrust import errors, policy
from kubetrust.chain import sts as hops
from kubetrust.policy import sts as sts_requests
from kubetrust.sandbox import credentials, identity, oidc, policy_writes, state, wire
from kubetrust.sandbox.world import World, levels_of

NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
MAX_SESSION_POLICY_CHARS = 2048
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


def _members(params: Params, prefix: str, suffix: str = "") -> list[str]:
    """``Prefix.member.N[.suffix]`` values in N order (query protocol lists)."""
    found: dict[int, str] = {}
    for key, values in params.items():
        if not key.startswith(prefix + ".member.") or not key.endswith(suffix):
            continue
        middle = key[len(prefix) + 8 : len(key) - len(suffix)] if suffix else key[len(prefix) + 8 :]
        if middle.isdigit() and values:
            found[int(middle)] = values[0]
    return [found[n] for n in sorted(found)]


class StsService:
    """The STS operations of one sandbox (its world, credential store, clock, JWKS)."""

    def __init__(
        self,
        world: World,
        store: credentials.CredentialStore,
        clock: Callable[[], dt.datetime],
        fetch_jwks: Callable[[str], Mapping[str, Any]],
        bindings: policy_writes.PrincipalBindings | None = None,
    ) -> None:
        self.bindings = bindings or policy_writes.PrincipalBindings()
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
    def assume_role(self, caller: credentials.Credential, params: Params) -> Reply:
        role_arn, session_name, role = self._target(params, caller.principal_arn, "sts:AssumeRole")
        if role is None:
            raise _error(
                "AccessDenied",
                f"User: {caller.principal_arn} is not authorized to perform: sts:AssumeRole "
                f"on resource: {role_arn}",
                403,
            )
        duration = self._duration(params, role, chained=caller.is_session)
        session_policies = self._session_policies(params, role)
        tags = _session_tags(params)
        hop = hops.assume_role(
            caller.principal_arn,
            identity.caller_side(self.world, caller),
            self._role_side(role),
            session_name=session_name,
            external_id=_one(params, "ExternalId"),
            source_identity=_one(params, "SourceIdentity"),
            tags=tags,
            context=identity.caller_context(caller),
        )
        failed = hop.failed
        if failed is not None:
            raise self._denied(caller.principal_arn, failed.action, role_arn, failed.decision)
        issued = self._issue(
            role,
            session_name,
            duration,
            session_policies,
            chained=True,
            tags=_inherited_tags(caller, tags),
            source_identity=caller.source_identity or _one(params, "SourceIdentity"),
        )
        return Reply("AssumeRole", _credentials_xml(issued))

    # ------------------------------------------------------------------ web identity
    def assume_role_with_web_identity(self, params: Params) -> Reply:
        denied = _error(
            "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403
        )
        token = _one(params, "WebIdentityToken")
        if token is None or not 4 <= len(token) <= 20000:
            raise _validation(
                "1 validation error detected: Value at 'webIdentityToken' failed to satisfy "
                "constraint: Member must have length between 4 and 20000"
            )
        _, session_name, role = self._target(params, None, "sts:AssumeRoleWithWebIdentity")
        if role is None:
            raise denied
        web = self._verify_token(token, role.account)
        duration = self._duration(params, role, chained=False)
        session_policies = self._session_policies(params, role)
        hop = hops.assume_role_with_web_identity(
            web.provider_arn,
            web.issuer,
            web.claims,
            self._role_side(role),
            session_name=session_name,
        )
        if not hop.allowed:
            raise denied
        tags = sts_requests.token_tags(web.claims)
        issued = self._issue(
            role,
            session_name,
            duration,
            session_policies,
            chained=False,
            tags=dict(tags.tags) if tags else {},
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
        return Reply("AssumeRoleWithWebIdentity", _credentials_xml(issued) + extra)

    def _verify_token(self, token: str, account: str) -> oidc.WebIdentity:
        def provider_lookup(issuer: str) -> oidc.OidcProvider | None:
            found = state.oidc_provider(account, issuer)
            if found is None:
                return None
            return oidc.OidcProvider(
                url=found.url,
                arn=found.arn,
                client_ids=tuple(found.client_id_list),
                account=account,
            )

        now = int(self.clock().timestamp())
        try:
            return oidc.verify_web_identity_token(
                token, provider_lookup=provider_lookup, fetch_jwks=self.fetch_jwks, now=now
            )
        except oidc.TokenRejected as exc:
            raise _error(exc.code, exc.message, exc.status) from None

    # ------------------------------------------------------------------ shared steps
    def _target(
        self, params: Params, principal: str | None, action: str
    ) -> tuple[str, str, state.RoleFacts | None]:
        """Validate RoleArn and RoleSessionName; find the role (``None`` if it does not
        exist: the caller decides how to deny, as AWS hides which roles exist)."""
        role_arn = _one(params, "RoleArn")
        session_name = _one(params, "RoleSessionName")
        if role_arn is None or not 20 <= len(role_arn) <= 2048:
            raise _validation(
                f"1 validation error detected: Value '{role_arn}' at 'roleArn' failed to "
                "satisfy constraint: Member must have length greater than or equal to 20"
            )
        problem = hops.check_session_name(session_name)
        if problem is not None or session_name is None:
            raise _validation(problem or "RoleSessionName is required")
        return role_arn, session_name, state.role_by_arn(role_arn)

    def _duration(self, params: Params, role: state.RoleFacts, *, chained: bool) -> int:
        raw = _one(params, "DurationSeconds")
        requested: int | None = None
        if raw is not None:
            try:
                requested = int(raw)
            except ValueError:
                raise _validation(f"Invalid value for DurationSeconds: {raw}") from None
        duration, problem = hops.check_duration(
            requested, max_session_duration=role.max_session_duration, chained=chained
        )
        if problem is not None:
            raise _validation(problem)
        return duration

    def _session_policies(self, params: Params, role: state.RoleFacts) -> tuple[str, ...]:
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
        for policy_arn in _members(params, "PolicyArns", ".arn"):
            document = state.managed_policy_document(role.account, policy_arn)
            if document is None:
                raise _validation(f"Policy {policy_arn} does not exist or is not attachable.")
            documents.append(document)
        return tuple(documents)

    def _role_side(self, role: state.RoleFacts) -> hops.RoleSide:
        """The role's trust as IAM holds it: principals bound to the unique ids they had
        when the trust was saved (policy_writes.PrincipalBindings)."""
        account = self.world.account(role.account)
        trust = self.bindings.effective(role.account, role.name, role.trust_policy)
        return hops.RoleSide(role.arn, trust, levels_of(account, "rcps"), role.max_session_duration)

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

    def _issue(
        self,
        role: state.RoleFacts,
        session_name: str,
        duration: int,
        session_policies: Sequence[str],
        *,
        chained: bool,
        tags: Mapping[str, str],
        source_identity: str | None = None,
        web_identity: Mapping[str, object] | None = None,
    ) -> credentials.Credential:
        now = self.clock()
        return self.store.add(
            credentials.Credential(
                access_key_id=credentials.new_access_key_id("ASIA"),
                secret_access_key=credentials.new_secret(),
                session_token=credentials.new_session_token(),
                account=role.account,
                principal_arn=arns.assumed_role_arn(role.account, role.name, session_name),
                user_id=f"{role.id}:{session_name}",
                expires_at=now + dt.timedelta(seconds=duration),
                role_arn=role.arn,
                session_name=session_name,
                session_policies=tuple(session_policies),
                chained=chained,
                source_identity=source_identity,
                tags=dict(tags),
                web_identity=dict(web_identity or {}),
            )
        )


def _session_tags(params: Params) -> sts_requests.SessionTags | None:
    keys = _members(params, "Tags", ".Key")
    values = _members(params, "Tags", ".Value")
    if not keys:
        return None
    if len(keys) != len(values):
        raise _validation("Each session tag needs a Key and a Value")
    return sts_requests.SessionTags(
        dict(zip(keys, values, strict=True)), tuple(_members(params, "TransitiveTagKeys"))
    )


def _inherited_tags(
    caller: credentials.Credential, tags: sts_requests.SessionTags | None
) -> dict[str, str]:
    """Transitive tags of the caller's session persist; new tags are added (B.6)."""
    inherited = {k: v for k, v in caller.tags.items() if k in caller.transitive_tag_keys}
    if tags is not None:
        inherited.update(tags.tags)
    return inherited


def _credentials_xml(issued: credentials.Credential) -> str:
    expiration = issued.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ") if issued.expires_at else ""
    return (
        "<Credentials>"
        f"<AccessKeyId>{issued.access_key_id}</AccessKeyId>"
        f"<SecretAccessKey>{issued.secret_access_key}</SecretAccessKey>"
        f"<SessionToken>{issued.session_token}</SessionToken>"
        f"<Expiration>{expiration}</Expiration>"
        "</Credentials>"
        f"<AssumedRoleUser><AssumedRoleId>{escape(issued.user_id)}</AssumedRoleId>"
        f"<Arn>{escape(issued.principal_arn)}</Arn></AssumedRoleUser>"
        + (
            f"<SourceIdentity>{escape(issued.source_identity)}</SourceIdentity>"
            if issued.source_identity
            else ""
        )
    )
