"""The API server's service-account token authenticator (reference C.1).

A bearer token is a service account's when it is a JWT whose ``iss`` is the cluster's
issuer URL; tokens of other issuers (an EKS ``k8s-aws-v1.`` token, a static token) are
not this authenticator's, and it answers ``None`` without a reason so that the next one
can try. For its own tokens it checks, like ``pkg/serviceaccount/claims.go``: the RS256
signature against the issuer's keys (current and retired, by ``kid``), ``exp``/``nbf``/
``iat`` with go-jose's one-minute leeway, that ``aud`` intersects the audiences wanted
(the API audiences, so an IRSA token for ``sts.amazonaws.com`` is refused, as on EKS), and
that the service account, and the bound pod or secret, still exist with the same uid.

Audiences are per request in the apiserver (a TokenReview may name its own): here the
:class:`AudienceScope` context carries them, and returns the matched audiences and the
refusal reason to the TokenReview handler. The authenticator never raises.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt

from kubetrust.model import vocabulary
from kubetrust.sandbox.kube import auth, status
from kubetrust.sandbox.kube.store import Store
from kubetrust.sandbox.oidc import ClusterIssuer

API_AUDIENCES: tuple[str, ...] = ("https://kubernetes.default.svc",)
"""The apiserver's ``--api-audiences`` (its default: the issuer's, here the in-cluster URL)."""
LEEWAY_SECONDS = 60
SERVICE_ACCOUNTS = "/v1/serviceaccounts"
PODS = "/v1/pods"
SECRETS = "/v1/secrets"
EXTRA_PREFIX = "authentication.kubernetes.io/"
MAX_TOKEN = 16 * 1024
IssuerSource = ClusterIssuer | Callable[[], ClusterIssuer]


@dataclass(slots=True)
class AudienceScope:
    """Per-request audiences: ``requested`` in, ``matched`` and ``error`` out."""

    requested: tuple[str, ...]
    matched: tuple[str, ...] | None = None
    error: str = ""
    reasons: list[str] = field(default_factory=list)


_SCOPE: contextvars.ContextVar[AudienceScope | None] = contextvars.ContextVar(
    "kube_audience_scope", default=None
)


@contextmanager
def audience_scope(requested: Sequence[str]) -> Iterator[AudienceScope]:
    """Authenticate for ``requested`` audiences within the block (a TokenReview)."""
    scope = AudienceScope(tuple(requested))
    reset = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(reset)


class Refused(Exception):
    """A token of this issuer that does not authenticate: the apiserver's reason."""


class ServiceAccountTokenAuthenticator:
    """``authenticate(headers)`` for projected service-account tokens (module doc).

    ``issuer`` is the cluster's :class:`ClusterIssuer`, or a callable returning the current
    one (so a rotated issuer is picked up); ``clock`` gives the current time."""

    def __init__(
        self,
        issuer: IssuerSource,
        store: Store,
        clock: Callable[[], dt.datetime] | None = None,
        audiences: Sequence[str] = API_AUDIENCES,
    ) -> None:
        self._issuer = issuer
        self.store = store
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.audiences = tuple(audiences)

    @property
    def issuer(self) -> ClusterIssuer:
        return self._issuer if isinstance(self._issuer, ClusterIssuer) else self._issuer()

    def __call__(self, headers: Mapping[str, str]) -> auth.User | None:
        token = auth.bearer_token(headers)
        if token is None or token.count(".") != 2 or len(token) > MAX_TOKEN:
            return None
        scope = _SCOPE.get()
        wanted = scope.requested if scope is not None else self.audiences
        try:
            user, matched = self.authenticate_token(token, wanted)
        except Refused as refused:
            if scope is not None:
                scope.error = str(refused)
            return None
        except Exception:  # never raise: a bad token is a refusal, whatever broke
            return None
        if user is not None and scope is not None:
            scope.matched = matched
        return user

    def authenticate_token(
        self, token: str, audiences: Sequence[str]
    ) -> tuple[auth.User | None, tuple[str, ...]]:
        """``(user, matched audiences)``; ``(None, ())`` for a token of another issuer;
        :class:`Refused` for this issuer's tokens that fail a check."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, ValueError, json.JSONDecodeError):
            return None, ()
        issuer = self.issuer
        if not isinstance(claims, dict) or claims.get("iss") != issuer.issuer_url:
            return None, ()
        self._verify_signature(token, header, issuer)
        self._check_times(claims)
        matched = self._check_audiences(claims, audiences)
        private = claims.get("kubernetes.io")
        if not isinstance(private, dict):
            raise Refused("token does not contain the kubernetes.io claim")
        return self._user(claims, private), matched

    def _verify_signature(self, token: str, header: dict[str, Any], issuer: ClusterIssuer) -> None:
        if header.get("alg") != "RS256":
            raise Refused("invalid signature")
        keys = [key for key in issuer.jwks()["keys"] if key["kid"] == header.get("kid")]
        for key in keys or issuer.jwks()["keys"]:
            try:
                jwt.PyJWS().decode(token, jwt.PyJWK(key).key, algorithms=["RS256"])
                return
            except jwt.PyJWTError:
                continue
        raise Refused("invalid signature")

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self.clock().timestamp()
        times = [claims.get("exp"), claims.get("nbf", 0), claims.get("iat", 0)]
        if not all(_number(value) for value in times):
            raise Refused("service account token has invalid times")
        exp, nbf, iat = (float(value) for value in times if value is not None)
        if exp < now - LEEWAY_SECONDS:
            raise Refused("service account token has expired")
        if nbf > now + LEEWAY_SECONDS:
            raise Refused("service account token is not valid yet")
        if iat > now + LEEWAY_SECONDS:
            raise Refused("service account token is issued in the future")

    @staticmethod
    def _check_audiences(claims: dict[str, Any], audiences: Sequence[str]) -> tuple[str, ...]:
        token_audiences = claims.get("aud")
        if isinstance(token_audiences, str):
            token_audiences = [token_audiences]
        if not isinstance(token_audiences, list):
            token_audiences = []
        matched = tuple(a for a in audiences if a in token_audiences)
        if not matched:
            raise Refused(
                f"token audiences {json.dumps(token_audiences)} is invalid for the target "
                f"audiences {json.dumps(list(audiences))}"
            )
        return matched

    def _user(self, claims: dict[str, Any], private: dict[str, Any]) -> auth.User:
        namespace = private.get("namespace")
        account = private.get("serviceaccount") or {}
        if not isinstance(namespace, str) or not isinstance(account, dict):
            raise Refused("token does not name a service account")
        name, uid = account.get("name"), account.get("uid")
        username = vocabulary.service_account_subject(namespace, str(name))
        if claims.get("sub") != username or not isinstance(name, str):
            raise Refused("token subject does not match its kubernetes.io claim")
        try:
            stored = self.store.get(SERVICE_ACCOUNTS, namespace, name)
        except status.ApiError:
            raise Refused("service account token has been invalidated") from None
        if stored["metadata"]["uid"] != uid:
            raise Refused(
                f"service account UID ({stored['metadata']['uid']}) does not match claim ({uid})"
            )
        extra: dict[str, tuple[str, ...]] = {}
        for kind, key in (("pod", PODS), ("secret", SECRETS)):
            bound = private.get(kind)
            if bound is not None:
                self._check_bound(kind, key, namespace, bound)
                extra[f"{EXTRA_PREFIX}{kind}-name"] = (bound["name"],)
                extra[f"{EXTRA_PREFIX}{kind}-uid"] = (bound["uid"],)
        node = private.get("node")
        if isinstance(node, dict) and isinstance(node.get("name"), str):
            extra[f"{EXTRA_PREFIX}node-name"] = (node["name"],)
            extra[f"{EXTRA_PREFIX}node-uid"] = (str(node.get("uid", "")),)
        if isinstance(claims.get("jti"), str):
            extra[f"{EXTRA_PREFIX}credential-id"] = (f"JTI={claims['jti']}",)
        groups = (
            "system:serviceaccounts",
            f"system:serviceaccounts:{namespace}",
            auth.AUTHENTICATED,
        )
        return auth.User(username, uid=str(uid), groups=groups, extra=dict(sorted(extra.items())))

    def _check_bound(self, kind: str, key: str, namespace: str, bound: Any) -> None:
        if not isinstance(bound, dict) or not isinstance(bound.get("name"), str):
            raise Refused(f"token has an invalid {kind} binding")
        try:
            stored = self.store.get(key, namespace, bound["name"])
        except status.ApiError:
            raise Refused("service account token has been invalidated") from None
        if stored["metadata"]["uid"] != bound.get("uid"):
            raise Refused(
                f"{kind.capitalize()} UID ({stored['metadata']['uid']}) does not match claim "
                f"({bound.get('uid')})"
            )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def still_bound(store: Store, namespace: str, bindings: Mapping[str, tuple[str, str]]) -> bool:
    """Whether each bound object of a token still exists with its uid, as the authenticator
    checks them: ``bindings`` maps ``serviceaccount``/``pod``/``secret`` to ``(name, uid)``.
    Outside services that trust this cluster's tokens (EKS Auth) ask this too."""
    keys = {"serviceaccount": SERVICE_ACCOUNTS, "pod": PODS, "secret": SECRETS}
    for kind, (name, uid) in bindings.items():
        try:
            stored = store.get(keys[kind], namespace, name)
        except status.ApiError:
            return False
        if stored["metadata"]["uid"] != uid:
            return False
    return True
