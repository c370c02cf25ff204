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

The same rule lists are exported as :data:`CLUSTER_ROLE_RULES`, because EKS access policies
(reference E.4) are "like" these roles yet cannot be viewed or modified by users: the
authorizer must evaluate them from these constants, never from the (editable) stored copies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Final

from kubetrust.sandbox.kube import resources, status
from kubetrust.sandbox.kube.auth import AUTHENTICATED, MASTERS
from kubetrust.sandbox.kube.store import Store

Rule = Mapping[str, tuple[str, ...]]
"""A PolicyRule: ``apiGroups``, ``resources``, ``verbs``, ``resourceNames``,
``nonResourceURLs``, each a tuple of strings (absent keys are empty)."""

RBAC_API_VERSION: Final = f"{resources.RBAC}/v1"
BOOTSTRAP_LABELS: Final[Mapping[str, str]] = MappingProxyType(
    {"kubernetes.io/bootstrapping": "rbac-defaults"}
)
AUTOUPDATE_ANNOTATIONS: Final[Mapping[str, str]] = MappingProxyType(
    {"rbac.authorization.kubernetes.io/autoupdate": "true"}
)
AGGREGATE_TO: Final = "rbac.authorization.k8s.io/aggregate-to-"

UNAUTHENTICATED: Final = "system:unauthenticated"

READ: Final = ("get", "list", "watch")
WRITE: Final = ("create", "delete", "deletecollection", "patch", "update")
READ_WRITE: Final = (
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
)


def _rule(groups: Iterable[str], names: Iterable[str], verbs: Iterable[str]) -> Rule:
    """A resource rule (upstream ``rbacv1helpers.NewRule(verbs...).Groups().Resources()``)."""
    return MappingProxyType(
        {"apiGroups": tuple(groups), "resources": tuple(names), "verbs": tuple(verbs)}
    )


def _urls(urls: Iterable[str], verbs: Iterable[str]) -> Rule:
    """A non-resource rule (``NewRule(verbs...).URLs(urls...)``)."""
    return MappingProxyType({"nonResourceURLs": tuple(urls), "verbs": tuple(verbs)})


_CORE = ("",)

AGGREGATE_TO_VIEW_RULES: Final[tuple[Rule, ...]] = (
    _rule(
        _CORE,
        (
            "configmaps",
            "endpoints",
            "persistentvolumeclaims",
            "persistentvolumeclaims/status",
            "pods",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "serviceaccounts",
            "services",
            "services/status",
        ),
        READ,
    ),
    _rule(
        _CORE,
        (
            "bindings",
            "events",
            "limitranges",
            "namespaces/status",
            "pods/log",
            "pods/status",
            "replicationcontrollers/status",
            "resourcequotas",
            "resourcequotas/status",
        ),
        READ,
    ),
    _rule(_CORE, ("namespaces",), READ),
    _rule(("discovery.k8s.io",), ("endpointslices",), READ),
    _rule(
        ("apps",),
        (
            "controllerrevisions",
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "statefulsets",
            "statefulsets/scale",
            "statefulsets/status",
        ),
        READ,
    ),
    _rule(("autoscaling",), ("horizontalpodautoscalers", "horizontalpodautoscalers/status"), READ),
    _rule(("batch",), ("cronjobs", "cronjobs/status", "jobs", "jobs/status"), READ),
    _rule(
        ("extensions",),
        (
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "ingresses",
            "ingresses/status",
            "networkpolicies",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "replicationcontrollers/scale",
        ),
        READ,
    ),
    _rule(("policy",), ("poddisruptionbudgets", "poddisruptionbudgets/status"), READ),
    _rule(("networking.k8s.io",), ("ingresses", "ingresses/status", "networkpolicies"), READ),
)
"""Read access to namespaced workloads; deliberately no Secrets (they hold credentials)."""

AGGREGATE_TO_EDIT_RULES: Final[tuple[Rule, ...]] = (
    _rule(
        _CORE,
        (
            "pods/attach",
            "pods/exec",
            "pods/portforward",
            "pods/proxy",
            "secrets",
            "services/proxy",
        ),
        READ,
    ),
    _rule(_CORE, ("serviceaccounts",), ("impersonate",)),
    _rule(_CORE, ("pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"), WRITE),
    _rule(_CORE, ("pods/eviction",), ("create",)),
    _rule(
        _CORE,
        (
            "configmaps",
            "events",
            "persistentvolumeclaims",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "secrets",
            "serviceaccounts",
            "services",
            "services/proxy",
        ),
        WRITE,
    ),
    _rule(_CORE, ("serviceaccounts/token",), ("create",)),
    _rule(
        ("apps",),
        (
            "daemonsets",
            "deployments",
            "deployments/rollback",
            "deployments/scale",
            "replicasets",
            "replicasets/scale",
            "statefulsets",
            "statefulsets/scale",
        ),
        WRITE,
    ),
    _rule(("autoscaling",), ("horizontalpodautoscalers",), WRITE),
    _rule(("batch",), ("cronjobs", "jobs"), WRITE),
    _rule(
        ("extensions",),
        (
            "daemonsets",
            "deployments",
            "deployments/rollback",
            "deployments/scale",
            "ingresses",
            "networkpolicies",
            "replicasets",
            "replicasets/scale",
            "replicationcontrollers/scale",
        ),
        WRITE,
    ),
    _rule(("policy",), ("poddisruptionbudgets",), WRITE),
    _rule(("networking.k8s.io",), ("ingresses", "networkpolicies"), WRITE),
    _rule(("coordination.k8s.io",), ("leases",), READ_WRITE),
)
"""Writes to workloads and reads of Secrets. Endpoints are not writable since the
CVE-2021-25740 fix (upstream removed them from ``edit``)."""

AGGREGATE_TO_ADMIN_RULES: Final[tuple[Rule, ...]] = (
    _rule(("authorization.k8s.io",), ("localsubjectaccessreviews",), ("create",)),
    _rule((resources.RBAC,), ("rolebindings", "roles"), READ_WRITE),
)
"""What makes a namespace admin: managing Roles and RoleBindings in the namespace."""

VIEW_RULES: Final = AGGREGATE_TO_VIEW_RULES
EDIT_RULES: Final = AGGREGATE_TO_EDIT_RULES + VIEW_RULES
ADMIN_RULES: Final = EDIT_RULES + AGGREGATE_TO_ADMIN_RULES
CLUSTER_ADMIN_RULES: Final[tuple[Rule, ...]] = (
    _rule(("*",), ("*",), ("*",)),
    _urls(("*",), ("*",)),
)

CLUSTER_ROLE_RULES: Final[Mapping[str, tuple[Rule, ...]]] = MappingProxyType(
    {
        "cluster-admin": CLUSTER_ADMIN_RULES,
        "admin": ADMIN_RULES,
        "edit": EDIT_RULES,
        "view": VIEW_RULES,
        "system:aggregate-to-admin": AGGREGATE_TO_ADMIN_RULES,
        "system:aggregate-to-edit": AGGREGATE_TO_EDIT_RULES,
        "system:aggregate-to-view": AGGREGATE_TO_VIEW_RULES,
        "system:basic-user": (
            _rule(
                ("authorization.k8s.io",),
                ("selfsubjectaccessreviews", "selfsubjectrulesreviews"),
                ("create",),
            ),
            _rule(("authentication.k8s.io",), ("selfsubjectreviews",), ("create",)),
        ),
        "system:discovery": (
            _urls(
                (
                    "/api",
                    "/api/*",
                    "/apis",
                    "/apis/*",
                    "/healthz",
                    "/livez",
                    "/openapi",
                    "/openapi/*",
                    "/readyz",
                    "/version",
                    "/version/",
                ),
                ("get",),
            ),
        ),
        "system:public-info-viewer": (
            _urls(("/healthz", "/livez", "/readyz", "/version", "/version/"), ("get",)),
        ),
    }
)
"""Rules of each bootstrap ClusterRole, by name (the aggregated roles materialized)."""

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

CLUSTER_ROLE_BINDINGS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "cluster-admin": (MASTERS,),
        "system:basic-user": (AUTHENTICATED,),
        "system:discovery": (AUTHENTICATED,),
        "system:public-info-viewer": (AUTHENTICATED, UNAUTHENTICATED),
    }
)
"""Bootstrap ClusterRoleBindings: each binds the ClusterRole of the same name to groups."""


def _kind_key(plural: str) -> str:
    found = resources.find(resources.RBAC, "v1", plural)
    if found is None:  # pragma: no cover - resources.py always serves RBAC
        raise LookupError(f"{plural}.{resources.RBAC} is not served")
    return found.key


CLUSTER_ROLES_KEY: Final = _kind_key("clusterroles")
CLUSTER_ROLE_BINDINGS_KEY: Final = _kind_key("clusterrolebindings")
ROLES_KEY: Final = _kind_key("roles")
ROLE_BINDINGS_KEY: Final = _kind_key("rolebindings")


def rule_json(rule: Rule) -> dict[str, list[str]]:
    """A rule as stored and served (JSON lists; empty fields omitted, as ``omitempty``)."""
    return {field: list(values) for field, values in rule.items() if values}


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
