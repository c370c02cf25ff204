"""Who is calling (authentication) and may they (authorization): the API server's two hooks.

The app takes an ``authenticate(headers) -> User | None`` and an ``authorize(user, verb,
resource, namespace, name) -> (allowed, reason)``. The sandbox plugs in the EKS token
verifier and the aws-auth / access-entry mapping there; this module holds the shared types,
Kubernetes' exact forbidden wording, and simple implementations for tests and local use: a
static bearer-token table and a group-based authorizer (``system:masters`` may do anything,
as on every cluster, since that group bypasses RBAC).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from kubetrust.chain import rbac
from kubetrust.chain.kube_identity import AccessGrant
from kubetrust.model.kube import RbacObjects

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS_NAME = "system:anonymous"
READ_VERBS = frozenset({"get", "list", "watch"})


@dataclass(frozen=True, slots=True)
class User:
    """An authenticated Kubernetes user (the ``user.Info`` of the apiserver)."""

    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    grants: tuple[AccessGrant, ...] = ()
    """EKS access policies of the access entry that mapped the user (E.4): they authorize
    beside RBAC, and like EKS they are not visible in the user's info."""

    def user_info(self) -> dict[str, object]:
        """The ``UserInfo`` of a SelfSubjectReview / TokenReview status."""
        info: dict[str, object] = {"username": self.username, "groups": list(self.groups)}
        if self.uid:
            info["uid"] = self.uid
        if self.extra:
            info["extra"] = {key: list(values) for key, values in self.extra.items()}
        return info


@dataclass(frozen=True, slots=True)
class GroupResource:
    """What a request is about: API group (``""`` core), plural resource, subresource."""

    group: str
    resource: str
    subresource: str = ""

    def qualified(self) -> str:
        """``pods``, ``deployments.apps``: how the apiserver names a resource in messages."""
        return f"{self.resource}.{self.group}" if self.group else self.resource


Authenticate = Callable[[Mapping[str, str]], User | None]
Authorize = Callable[[User, str, GroupResource, str | None, str | None], tuple[bool, str]]


ANONYMOUS = User(ANONYMOUS_NAME, groups=(UNAUTHENTICATED,))
"""Who an unauthenticated request is (upstream's anonymous authenticator): it reaches
authorization, where only the public-info paths are granted to its group."""


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, if any."""
    value = headers.get("Authorization") or ""
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class StaticTokens:
    """Authenticate by a fixed token table, like the apiserver's ``--token-auth-file``.
    Every authenticated user is also in ``system:authenticated``."""

    def __init__(self, tokens: Mapping[str, User]) -> None:
        self._tokens = dict(tokens)

    def __call__(self, headers: Mapping[str, str]) -> User | None:
        token = bearer_token(headers)
        if token is None:
            return None
        for known, user in self._tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                if AUTHENTICATED in user.groups:
                    return user
                return User(
                    user.username, user.uid, (*user.groups, AUTHENTICATED), user.extra, user.grants
                )
        return None


def admin_user(username: str = "kubernetes-admin") -> User:
    """A cluster administrator: member of ``system:masters``."""
    return User(username, uid="", groups=(MASTERS, AUTHENTICATED))


class GroupAuthorizer:
    """Members of ``admin_groups`` may do anything; members of ``reader_groups`` may get,
    list and watch anything; everyone has what the bootstrap bindings give their groups
    (discovery, health, the self reviews: every cluster has those bindings); nobody else may
    do anything. Enough to test 403s; RBAC evaluation of stored Roles is a separate piece."""

    def __init__(
        self,
        admin_groups: Collection[str] = (MASTERS,),
        reader_groups: Collection[str] = (),
    ) -> None:
        self.admin_groups = frozenset(admin_groups)
        self.reader_groups = frozenset(reader_groups)

    def __call__(
        self,
        user: User,
        verb: str,
        resource: GroupResource,
        namespace: str | None,
        name: str | None,
    ) -> tuple[bool, str]:
        groups = set(user.groups)
        if groups & self.admin_groups:
            return True, "member of an admin group"
        if verb in READ_VERBS and groups & self.reader_groups:
            return True, "member of a reader group"
        if resource.resource:
            asked = rbac.KubeRequest(
                verb, resource.resource, resource.group, resource.subresource, namespace or ""
            )
        else:
            asked = rbac.KubeRequest(verb, path=name or "")
        bootstrap = rbac.authorize(
            user.username, user.groups, asked, RbacObjects(), authenticated=False
        )
        return (True, bootstrap.reason) if bootstrap.allowed else (False, "")


def forbidden_message(
    user: User,
    verb: str,
    resource: GroupResource,
    namespace: str | None,
    name: str | None,
    reason: str = "",
) -> str:
    """The apiserver's 403 message (``errors.NewForbidden`` around ``forbiddenMessage``):
    ``pods "x" is forbidden: User "u" cannot get resource "pods" in API group "" in the
    namespace "default"``; cluster-scoped requests end ``at the cluster scope``. A
    non-resource request (``resource`` empty, the URL path as ``name``) reads ``forbidden:
    User "u" cannot get path "/metrics"``, as upstream ``forbiddenMessage``."""
    if not resource.resource:
        text = f'forbidden: User "{user.username}" cannot {verb} path "{name or ""}"'
        return text + (f": {reason}" if reason else "")
    plural = resource.resource + (f"/{resource.subresource}" if resource.subresource else "")
    what = (
        f'User "{user.username}" cannot {verb} resource "{plural}" in API group "{resource.group}"'
    )
    what += f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    if reason:
        what += f": {reason}"
    subject = resource.qualified()
    if name:
        return f'{subject} "{name}" is forbidden: {what}'
    return f"{subject} is forbidden: {what}"
