"""User impersonation: the ``Impersonate-*`` headers (``kubectl --as``, ``--as-group``).

Upstream ``apiserver/pkg/endpoints/filters/impersonation.go``, which runs after
authentication and before anything else: every thing asked for is authorized with the verb
``impersonate`` for the *authenticated* user, and the first refusal is a 403 naming it;
only then does the request go on as the impersonated user.

- ``Impersonate-User: u`` → ``impersonate`` on ``users`` named ``u`` (core group);
  ``system:serviceaccount:<ns>:<name>`` → on ``serviceaccounts`` ``<name>`` in ``<ns>``,
  with the groups ``system:serviceaccounts`` and ``system:serviceaccounts:<ns>`` unless
  groups are given.
- each ``Impersonate-Group`` value → on ``groups`` named by it (core group);
- each ``Impersonate-Extra-<key>`` value → on ``userextras/<key>`` (``authentication.k8s.io``),
  the key lower-cased and percent-decoded;
- ``Impersonate-Uid`` → on ``uids`` (``authentication.k8s.io``).

Repeated headers (``--as-group a --as-group b``) reach a WSGI app joined by commas, so
group and extra values are split on commas: a group whose name holds a comma cannot be
impersonated here (each part is authorized on its own, so nothing is gained by it).

Groups, extras or a UID without a user are refused as upstream does: 500, "requested [...]
without impersonating a user" (kubectl refuses to send such a request). The impersonated
user gets ``system:authenticated`` unless a group given is ``system:authenticated`` or
``system:unauthenticated`` (``system:anonymous`` gets ``system:unauthenticated``), and no EKS
access policies: impersonation forces pure RBAC on EKS (reference E.4).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass

from kubetrust.model import vocabulary
from kubetrust.sandbox.kube import auth, status

USER = "impersonate-user"
GROUP = "impersonate-group"
UID = "impersonate-uid"
EXTRA = "impersonate-extra-"
AUTHENTICATION = "authentication.k8s.io"
ANONYMOUS = "system:anonymous"
UNAUTHENTICATED = "system:unauthenticated"
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


@dataclass(frozen=True, slots=True)
class _Ask:
    """One thing to impersonate: what is authorized, and how upstream prints it."""

    resource: auth.GroupResource
    name: str
    namespace: str | None = None


class Impersonation(Exception):
    """A request whose impersonation is malformed (upstream answers 500)."""


def apply(
    user: auth.User, headers: Iterable[tuple[str, str]], authorize: auth.Authorize
) -> auth.User:
    """The user the request acts as: ``user`` when no ``Impersonate-*`` header is sent,
    else the impersonated user once every part is authorized (module doc). Raises a 403
    :class:`status.ApiError` for the first part not allowed."""
    pairs = [(key.lower(), value) for key, value in headers]
    username = next((value for key, value in pairs if key == USER), "")
    groups = [group for key, value in pairs if key == GROUP for group in value.split(",")]
    uid = next((value for key, value in pairs if key == UID), "")
    extras = [
        (_extra_key(key), part)
        for key, value in pairs
        if key.startswith(EXTRA)
        for part in value.split(",")
    ]
    if not (username or groups or uid or extras):
        return user
    if not username:
        raise Impersonation(
            f"requested {_describe(groups, extras, uid)} without impersonating a user"
        )
    asks, default_groups = _user_asks(username)
    asks += [_Ask(auth.GroupResource("", "groups"), group) for group in groups]
    asks += [
        _Ask(auth.GroupResource(AUTHENTICATION, "userextras", key), value) for key, value in extras
    ]
    if uid:
        asks.append(_Ask(auth.GroupResource(AUTHENTICATION, "uids"), uid))
    for ask in asks:
        allowed, reason = authorize(user, "impersonate", ask.resource, ask.namespace, ask.name)
        if not allowed:
            raise _forbidden(user, ask, reason)
    extra: dict[str, tuple[str, ...]] = {}
    for key, value in extras:
        extra[key] = (*extra.get(key, ()), value)
    final = _with_all_group(username, groups or default_groups)
    return auth.User(username, uid, tuple(final), extra)


def _user_asks(username: str) -> tuple[list[_Ask], list[str]]:
    """What impersonating ``username`` asks, and its groups when none are given."""
    account = _service_account(username)
    if account is None:
        return [_Ask(auth.GroupResource("", "users"), username)], []
    namespace, name = account
    ask = _Ask(auth.GroupResource("", "serviceaccounts"), name, namespace)
    return [ask], ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]


def _service_account(username: str) -> tuple[str, str] | None:
    """Upstream ``serviceaccount.SplitUsername``: (namespace, name) or None."""
    parts = vocabulary.parse_service_account_subject(username)
    if parts is None:
        return None
    namespace, name = parts
    if not (len(namespace) <= 63 and _LABEL.match(namespace)):
        return None
    if not (len(name) <= 253 and _SUBDOMAIN.match(name)):
        return None
    return namespace, name


def _with_all_group(username: str, groups: list[str]) -> list[str]:
    """``system:authenticated`` (or, for the anonymous user, ``system:unauthenticated``)
    added as upstream does."""
    if username == ANONYMOUS:
        return groups if UNAUTHENTICATED in groups else [*groups, UNAUTHENTICATED]
    if auth.AUTHENTICATED in groups or UNAUTHENTICATED in groups:
        return groups
    return [*groups, auth.AUTHENTICATED]


def _extra_key(header: str) -> str:
    """The extra key of an ``Impersonate-Extra-<key>`` header: lower-cased, then
    percent-decoded (upstream ``unescapeExtraKey``)."""
    return urllib.parse.unquote(header.removeprefix(EXTRA).lower())


def _describe(groups: list[str], extras: list[tuple[str, str]], uid: str) -> str:
    """The requests, roughly as upstream prints its ``[]ObjectReference`` (exact Go struct
    formatting is not reproduced)."""
    parts = [f"Group {group}" for group in groups]
    parts += [f"UserExtra {key}={value}" for key, value in extras]
    parts += [f"UID {uid}"] if uid else []
    return "[" + " ".join("{" + part + "}" for part in parts) + "]"


def _forbidden(user: auth.User, ask: _Ask, reason: str) -> status.ApiError:
    """``responsewriters.Forbidden``: ``users "bob" is forbidden: User "alice" cannot
    impersonate resource "users" in API group "" at the cluster scope``."""
    message = auth.forbidden_message(
        user, "impersonate", ask.resource, ask.namespace, ask.name, reason
    )
    details = {"name": ask.name, "group": ask.resource.group, "kind": ask.resource.resource}
    return status.ApiError("Forbidden", message, details)
