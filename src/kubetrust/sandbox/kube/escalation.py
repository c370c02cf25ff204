"""RBAC privilege-escalation prevention on writes of Roles, ClusterRoles and their bindings.

What the apiserver's RBAC storage does on create and update (and so on every patch, which is
an update) — upstream ``pkg/registry/rbac/{role,clusterrole,rolebinding,clusterrolebinding}
/policybased/storage.go`` and the RBAC docs, "Privilege escalation prevention and
bootstrapping":

- ``system:masters`` may write anything (``EscalationAllowed``).
- A Role or ClusterRole: allowed when the user may ``escalate`` it (asked of the whole
  authorizer, with the URL's namespace and name), or already holds every rule in it — in
  the Role's namespace, cluster-wide for a ClusterRole. A ClusterRole with an
  ``aggregationRule`` (or an update that changes it) needs full authority, since it can
  gather anything.
- A RoleBinding or ClusterRoleBinding: allowed when the user may ``bind`` the referenced
  role (verb ``bind`` on ``roles``/``clusterroles`` named by the roleRef, in the binding's
  namespace; resourceNames-scoped ``bind`` works), or holds every rule of that role in the
  binding's namespace. A roleRef to a role that does not exist is a 404, as upstream.
- An update that changes only ``ownerReferences``/``finalizers`` is not checked
  (``IsOnlyMutatingGCFields``): the garbage collector must be able to finish a delete.

"Holds" is :func:`kubetrust.chain.rbac.rules_for` over the stored RBAC objects (RBAC only,
as upstream's rule resolver: EKS access policies authorize ``bind``/``escalate`` through
the authorizer but hold no listable rules) and :func:`kubetrust.chain.rbac_escalation.covers`.
A refusal is a 403 ``Forbidden`` Status: ``clusterroles.rbac.authorization.k8s.io "x" is
forbidden: user "u" (groups=[...]) is attempting to grant RBAC permissions not currently
held:`` and the missing permissions.

Fidelity gap: a roleRef of an unknown kind is answered 422 ``Invalid`` (upstream's rule
resolver fails with an internal error before validation can say so).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubetrust.chain import rbac, rbac_escalation
from kubetrust.model.kube import PolicyRule, RbacObjects, parse_manifests
from kubetrust.sandbox.kube import auth, status
from kubetrust.sandbox.kube.routing import Target

RBAC_GROUP = "rbac.authorization.k8s.io"
ROLES = frozenset({"roles", "clusterroles"})
BINDINGS = frozenset({"rolebindings", "clusterrolebindings"})
WRITES = frozenset({"create", "update", "patch"})
GC_FIELDS = ("ownerReferences", "finalizers", "selfLink", "managedFields", "resourceVersion")
AGGREGATION_ERROR = "must have cluster-admin privileges to use the aggregationRule"
Obj = dict[str, Any]


def guard(
    user: auth.User,
    verb: str,
    found: Target,
    obj: Obj,
    old: Obj | None,
    authorize: auth.Authorize,
    objects: Callable[[], RbacObjects],
) -> None:
    """Raise 403 when writing ``obj`` (over ``old``, for an update) would grant ``user``
    more than it holds (module doc); return for anything else."""
    plural = found.resource.plural
    if found.resource.group != RBAC_GROUP or verb not in WRITES or found.subresource:
        return
    if plural not in ROLES | BINDINGS or auth.MASTERS in user.groups:
        return
    if old is not None and _only_gc_fields(obj, old):
        return
    if plural in ROLES:
        _guard_role(user, found, obj, old, authorize, objects)
    else:
        _guard_binding(user, found, obj, authorize, objects)


def _guard_role(
    user: auth.User,
    found: Target,
    obj: Obj,
    old: Obj | None,
    authorize: auth.Authorize,
    objects: Callable[[], RbacObjects],
) -> None:
    resource = auth.GroupResource(RBAC_GROUP, found.resource.plural)
    if authorize(user, "escalate", resource, found.namespace or None, found.name)[0]:
        return
    namespace = found.scope
    held = _held(user, namespace, objects())
    _confirm(user, found, obj, held, _rules_of(obj))
    if found.resource.plural == "clusterroles" and _aggregation_changed(obj, old):
        covered, _ = rbac_escalation.covers(held, rbac_escalation.FULL_AUTHORITY)
        if not covered:
            raise _forbidden(found, obj, AGGREGATION_ERROR)


def _guard_binding(
    user: auth.User,
    found: Target,
    obj: Obj,
    authorize: auth.Authorize,
    objects: Callable[[], RbacObjects],
) -> None:
    ref = obj.get("roleRef")
    ref = ref if isinstance(ref, dict) else {}
    kind, name, group = (str(ref.get(key) or "") for key in ("kind", "name", "apiGroup"))
    plural = {"ClusterRole": "clusterroles", "Role": "roles"}.get(kind)
    if plural is None or (kind == "Role" and found.resource.plural == "clusterrolebindings"):
        supported = (
            '"ClusterRole"'
            if found.resource.plural == "clusterrolebindings"
            else ('"Role", "ClusterRole"')
        )
        raise status.invalid(
            found.resource.kind,
            RBAC_GROUP,
            _name(obj),
            f'roleRef.kind: Unsupported value: "{kind}": supported values: {supported}',
        )
    bind = auth.GroupResource(group, plural)
    if authorize(user, "bind", bind, found.namespace or None, name)[0]:
        return
    stored = objects()
    role = (
        stored.cluster_roles.get(name)
        if kind == "ClusterRole"
        else stored.roles.get((found.scope, name))
    )
    if role is None:
        raise status.not_found(RBAC_GROUP, plural, name)
    _confirm(user, found, obj, _held(user, found.scope, stored), role.rules)


def _held(user: auth.User, namespace: str, objects: RbacObjects) -> tuple[PolicyRule, ...]:
    """The RBAC rules ``user`` holds in ``namespace`` (``""``: cluster-wide)."""
    return rbac.rules_for(
        user.username, user.groups, namespace, objects, defaults=False, authenticated=False
    )


def _confirm(
    user: auth.User,
    found: Target,
    obj: Obj,
    held: tuple[PolicyRule, ...],
    wanted: tuple[PolicyRule, ...],
) -> None:
    covered, missing = rbac_escalation.covers(held, wanted)
    if not covered:
        message = rbac_escalation.escalation_error(user.username, user.groups, missing)
        raise _forbidden(found, obj, message)


def _rules_of(obj: Obj) -> tuple[PolicyRule, ...]:
    """The rules of a Role/ClusterRole body, parsed as the authorizer will read them (a
    malformed rule grants nothing there, so it needs nothing here)."""
    body = {**obj, "rules": obj.get("rules"), "aggregationRule": None}
    manifests, _ = parse_manifests([body], "request")
    roles = (*manifests.rbac.cluster_roles.values(), *manifests.rbac.roles.values())
    return roles[0].rules if roles else ()


def _aggregation_changed(obj: Obj, old: Obj | None) -> bool:
    rule = obj.get("aggregationRule")
    if old is None:
        return bool(rule)
    return bool(rule or old.get("aggregationRule")) and rule != old.get("aggregationRule")


def _only_gc_fields(obj: Obj, old: Obj) -> bool:
    """Upstream ``IsOnlyMutatingGCFields``: equal once the GC's fields are ignored."""

    def stripped(value: Obj) -> Obj:
        metadata = value.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        kept = {k: v for k, v in metadata.items() if k not in GC_FIELDS}
        return {**value, "metadata": kept}

    return stripped(obj) == stripped(old)


def _name(obj: Obj) -> str:
    metadata = obj.get("metadata")
    return str(metadata.get("name") or "") if isinstance(metadata, dict) else ""


def _forbidden(found: Target, obj: Obj, message: str) -> status.ApiError:
    """``errors.NewForbidden``: ``<plural>.<group> "<name>" is forbidden: <message>``."""
    name = _name(obj)
    qualified = f"{found.resource.plural}.{RBAC_GROUP}"
    head = f'{qualified} "{name}"' if name else qualified
    details = {"name": name, "group": RBAC_GROUP, "kind": found.resource.plural}
    return status.ApiError("Forbidden", f"{head} is forbidden: {message}", details)
