"""Who is calling (authentication) and may they (authorization): the API server's two hooks.

The app takes an ``authenticate(headers) -> User | None`` and an ``authorize(user, verb,
resource, namespace, name) -> (allowed, reason)``. The sandbox plugs in the EKS token
verifier, the service-account token authenticator and RBAC with the aws-auth / access-entry
mapping there; this module holds what they share: the user and resource types, the
well-known groups, the anonymous user, bearer-token parsing and Kubernetes' exact forbidden
wording.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from kubetrust.chain.kube_identity import AccessGrant

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS_NAME = "system:anonymous"


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
