"""Kubernetes RBAC authorization of a sandbox cluster: the stored objects, the shared evaluator.

:class:`RbacAuthorizer` is an ``auth.Authorize``. The decision itself is
:func:`kubetrust.chain.rbac.authorize` — the same pure function explain uses, so what the
sandbox enforces and what explain says cannot drift apart. Its order is the one an EKS
cluster's authorizer chain gives the same answers for:

1. ``system:masters`` may do anything. Upstream this is the privileged-group authorizer in
   front of RBAC, not a binding, so it cannot be revoked by editing RBAC (reference D.3); it
   allows with no reason, as upstream.
2. EKS access policies of the caller's access entry (``User.grants``, reference E.4), from
   the built-in rules of :mod:`kubetrust.chain.rbac_defaults`, never from the stored
   ClusterRoles: users cannot view or change access policies.
3. RBAC: every ClusterRoleBinding, then the RoleBindings of the request's namespace, read
   fresh from the store on each call (no cache can go stale). Only the stored objects count
   (``defaults=False``): a cluster whose admin deleted a default binding has lost it.

Stored objects are user input: anything malformed (rules not a list, a subject without a
name, a roleRef of an unknown kind) is skipped by :func:`kubetrust.model.kube.parse_manifests`,
never raised — one bad object must not take authorization down.
"""

from __future__ import annotations

from typing import Any

from kubetrust.chain import rbac
from kubetrust.model.kube import RbacObjects, parse_manifests
from kubetrust.sandbox.kube import auth
from kubetrust.sandbox.kube.bootstrap import (
    CLUSTER_ROLE_BINDINGS_KEY,
    CLUSTER_ROLES_KEY,
    ROLE_BINDINGS_KEY,
    ROLES_KEY,
)
from kubetrust.sandbox.kube.store import Store

RBAC_KINDS = (CLUSTER_ROLES_KEY, ROLES_KEY, CLUSTER_ROLE_BINDINGS_KEY, ROLE_BINDINGS_KEY)


def kube_request(
    verb: str, resource: auth.GroupResource, namespace: str | None, name: str | None
) -> rbac.KubeRequest:
    """The request of an ``auth.Authorize`` call. A non-resource request reaches the
    authorizer as ``GroupResource("", "")`` with the URL path as the name
    (``reviews._decide``)."""
    if not resource.resource:
        return rbac.KubeRequest(verb, path=name or "")
    return rbac.KubeRequest(
        verb,
        resource.resource,
        resource.group,
        resource.subresource,
        namespace or "",
        name or "",
    )


class RbacAuthorizer:
    """``auth.Authorize`` by masters, EKS access policies, then RBAC (see module doc)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._parsed: tuple[str, RbacObjects] | None = None

    def __call__(
        self,
        user: auth.User,
        verb: str,
        resource: auth.GroupResource,
        namespace: str | None,
        name: str | None,
    ) -> tuple[bool, str]:
        if auth.MASTERS in user.groups:
            return True, ""
        decision = rbac.authorize(
            user.username,
            user.groups,
            kube_request(verb, resource, namespace, name),
            self.objects(),
            user.grants,
            defaults=False,
            authenticated=False,
        )
        return (True, decision.reason) if decision.allowed else (False, "")

    def objects(self) -> RbacObjects:
        """The cluster's RBAC objects as they are stored now, parsed once per store revision
        (every request is authorized; writes are rare). The revision is read before the
        objects, so a write in between only makes the next call parse again: never stale."""
        revision = self.store.resource_version
        parsed = self._parsed
        if parsed is not None and parsed[0] == revision:
            return parsed[1]
        documents: list[Any] = []
        for kind in RBAC_KINDS:
            items, _ = self.store.list(kind)
            documents.extend(items)
        manifests, _problems = parse_manifests(documents, "store")
        self._parsed = (revision, manifests.rbac)
        return manifests.rbac
