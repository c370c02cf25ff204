"""The default RBAC objects every new cluster has (upstream ``bootstrappolicy``).

A real apiserver reconciles these at start-up from
``plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go``; the rules below are copied from
that package's ``testdata/cluster-roles.yaml`` (the materialized form). The user-facing roles
``admin``, ``edit`` and ``view`` are *aggregated* upstream: their stored ``rules`` are filled in
by the clusterrole-aggregation controller from every ClusterRole labelled
``rbac.authorization.k8s.io/aggregate-to-<role>: "true"``, taken in name order. The sandbox
has no aggregation controller, so :func:`seed` stores them already materialized:

- ``view``  = ``system:aggregate-to-view``
- ``edit``  = ``system:aggregate-to-edit`` + ``view``
- ``admin`` = ``edit`` + ``system:aggregate-to-admin``

The rules themselves live in :mod:`kubetrust.chain.rbac_defaults` (pure data, shared with
explain): EKS access policies (reference E.4) are "like" these roles yet cannot be viewed or
modified by users, so authorization evaluates them from those constants, never from the
(editable) stored copies made here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from kubetrust.chain.rbac_defaults import CLUSTER_ROLE_BINDINGS, CLUSTER_ROLE_RULES
from kubetrust.model.kube import PolicyRule
from kubetrust.sandbox.kube import resources, status
from kubetrust.sandbox.kube.store import Store

RBAC_API_VERSION: Final = f"{resources.RBAC}/v1"
BOOTSTRAP_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {"kubernetes.io/bootstrapping": "rbac-defaults"}
)
AUTOUPDATE_ANNOTATIONS: Final[Mapping[str, str]] = MappingProxyType(
    {"rbac.authorization.kubernetes.io/autoupdate": "true"}
)
AGGREGATE_TO: Final = "rbac.authorization.k8s.io/aggregate-to-"

AGGREGATION: Final[Mapping[str, tuple[str, str | None]]] = MappingProxyType(
    {
        "admin": ("admin", None),
        "edit": ("edit", "admin"),
        "view": ("view", "edit"),
        "system:aggregate-to-admin": ("", "admin"),
        "system:aggregate-to-edit": ("", "edit"),
        "system:aggregate-to-view": ("", "view"),
    }
)
"""Per role: the ``aggregate-to-<x>`` label its ``aggregationRule`` selects (``""``: none)
and the role it is itself aggregated into (its ``aggregate-to-<y>`` label), as upstream."""


def _kind_key(plural: str) -> str:
    found = resources.find(resources.RBAC, "v1", plural)
    if found is None:  # pragma: no cover - resources.py always serves RBAC
        raise LookupError(f"{plural}.{resources.RBAC} is not served")
    return found.key


CLUSTER_ROLES_KEY: Final = _kind_key("clusterroles")
CLUSTER_ROLE_BINDINGS_KEY: Final = _kind_key("clusterrolebindings")
ROLES_KEY: Final = _kind_key("roles")
ROLE_BINDINGS_KEY: Final = _kind_key("rolebindings")


def rule_json(rule: PolicyRule) -> dict[str, list[str]]:
    """A rule as stored and served (JSON lists; empty fields omitted, as ``omitempty``)."""
    fields = {
        "apiGroups": rule.api_groups,
        "resources": rule.resources,
        "verbs": rule.verbs,
        "resourceNames": rule.resource_names,
        "nonResourceURLs": rule.non_resource_urls,
    }
    return {field: list(values) for field, values in fields.items() if values}


def _metadata(name: str, extra_labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "labels": {**BOOTSTRAP_LABELS, **(extra_labels or {})},
        "annotations": dict(AUTOUPDATE_ANNOTATIONS),
    }


def cluster_role(name: str) -> dict[str, Any]:
    """The bootstrap ClusterRole ``name`` as the apiserver stores it, including the
    ``aggregationRule`` and ``aggregate-to-*`` label of the aggregated roles."""
    selects, into = AGGREGATION.get(name, ("", None))
    labels = {f"{AGGREGATE_TO}{into}": "true"} if into else None
    role: dict[str, Any] = {
        "apiVersion": RBAC_API_VERSION,
        "kind": "ClusterRole",
        "metadata": _metadata(name, labels),
    }
    if selects:
        selector = {"matchLabels": {f"{AGGREGATE_TO}{selects}": "true"}}
        role["aggregationRule"] = {"clusterRoleSelectors": [selector]}
    role["rules"] = [rule_json(rule) for rule in CLUSTER_ROLE_RULES[name]]
    return role


def cluster_role_binding(name: str) -> dict[str, Any]:
    """The bootstrap ClusterRoleBinding ``name`` (same-named ClusterRole to its groups)."""
    subjects = [
        {"apiGroup": resources.RBAC, "kind": "Group", "name": group}
        for group in CLUSTER_ROLE_BINDINGS[name]
    ]
    return {
        "apiVersion": RBAC_API_VERSION,
        "kind": "ClusterRoleBinding",
        "metadata": _metadata(name),
        "roleRef": {"apiGroup": resources.RBAC, "kind": "ClusterRole", "name": name},
        "subjects": subjects,
    }


def seed(store: Store) -> None:
    """Create the bootstrap ClusterRoles and ClusterRoleBindings that are missing.

    Idempotent, and like upstream reconciliation it never overwrites what exists: an object
    a user changed keeps the user's change (we do not model ``autoupdate`` reconciliation).
    """
    for name in CLUSTER_ROLE_RULES:
        _create_missing(store, CLUSTER_ROLES_KEY, cluster_role(name))
    for name in CLUSTER_ROLE_BINDINGS:
        _create_missing(store, CLUSTER_ROLE_BINDINGS_KEY, cluster_role_binding(name))


def _create_missing(store: Store, kind: str, obj: dict[str, Any]) -> None:
    """Create ``obj`` unless one of that name exists (create-and-catch: no race window)."""
    try:
        store.create(kind, "", obj)
    except status.ApiError as error:
        if error.reason != "AlreadyExists":
            raise
