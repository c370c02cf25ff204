"""Authentication and authorization hooks for API servers built by tests.

A sandbox cluster authenticates EKS and service-account tokens and authorizes through RBAC
(``kubetrust.sandbox.eks.control_plane``); a test of the API server itself often wants
fixed callers instead: a static bearer-token table (the apiserver's ``--token-auth-file``),
a group-based authorizer, and the union of several authenticators. They implement the
hooks of :mod:`kubetrust.sandbox.kube.auth` and live here because nothing in the product
uses them.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection, Mapping

from kubetrust.chain import rbac
from kubetrust.model.kube import RbacObjects
from kubetrust.sandbox.kube.auth import (
    AUTHENTICATED,
    MASTERS,
    Authenticate,
    GroupResource,
    User,
    bearer_token,
)

READ_VERBS = frozenset({"get", "list", "watch"})


class StaticTokens:
    """Authenticate by a fixed token table, like the apiserver's ``--token-auth-file``.
    Every authenticated user is also in ``system:authenticated``."""

    def __init__(self, tokens: Mapping[str, User]) -> None:
        self.tokens = dict(tokens)

    def __call__(self, headers: Mapping[str, str]) -> User | None:
        token = bearer_token(headers)
        if token is None:
            return None
        for known, user in self.tokens.items():
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
    """Members of ``admin_groups`` may do anything (``system:masters`` bypasses RBAC on
    every cluster); members of ``reader_groups`` may get, list and watch anything; everyone
    has what the bootstrap bindings give their groups (discovery, health, the self reviews:
    every cluster has those bindings); nobody else may do anything. Enough to test 403s;
    RBAC evaluation of stored Roles is ``kubetrust.sandbox.kube.rbac``'s."""

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


def union(*authenticators: Authenticate) -> Authenticate:
    """The first user any of ``authenticators`` recognises (the apiserver's union)."""

    def authenticate(headers: Mapping[str, str]) -> User | None:
        for authenticator in authenticators:
            user = authenticator(headers)
            if user is not None:
                return user
        return None

    return authenticate
