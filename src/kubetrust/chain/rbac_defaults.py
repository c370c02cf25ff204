"""The default RBAC roles and bindings of every Kubernetes cluster, as pure data.

Upstream ``plugin/pkg/auth/authorizer/rbac/bootstrappolicy`` (the materialized
``testdata/cluster-roles.yaml``): the aggregated user-facing roles are given with their
rules filled in, as the clusterrole-aggregation controller fills them —

- ``view``  = ``system:aggregate-to-view``
- ``edit``  = ``system:aggregate-to-edit`` + ``view``
- ``admin`` = ``edit`` + ``system:aggregate-to-admin``

EKS access policies (reference E.4) are "like" ``cluster-admin``, ``admin``, ``edit`` and
``view`` and cannot be viewed or changed, so :mod:`kubetrust.chain.rbac` evaluates them from
these constants, never from a cluster's (editable) copies. The sandbox's bootstrap holds the
same rules (``kubetrust.sandbox.kube.bootstrap``); a test keeps the two equal until the
sandbox imports these.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

from kubetrust.model.kube import PolicyRule

RBAC_GROUP: Final = "rbac.authorization.k8s.io"
MASTERS: Final = "system:masters"
AUTHENTICATED: Final = "system:authenticated"
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


def _rule(groups: Iterable[str], names: Iterable[str], verbs: Iterable[str]) -> PolicyRule:
    """A resource rule (upstream ``NewRule(verbs...).Groups(...).Resources(...)``)."""
    return PolicyRule(verbs=tuple(verbs), api_groups=tuple(groups), resources=tuple(names))


def _urls(urls: Iterable[str], verbs: Iterable[str]) -> PolicyRule:
    """A non-resource rule (``NewRule(verbs...).URLs(urls...)``)."""
    return PolicyRule(verbs=tuple(verbs), non_resource_urls=tuple(urls))


_CORE = ("",)

AGGREGATE_TO_VIEW_RULES: Final[tuple[PolicyRule, ...]] = (
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

AGGREGATE_TO_EDIT_RULES: Final[tuple[PolicyRule, ...]] = (
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

AGGREGATE_TO_ADMIN_RULES: Final[tuple[PolicyRule, ...]] = (
    _rule(("authorization.k8s.io",), ("localsubjectaccessreviews",), ("create",)),
    _rule((RBAC_GROUP,), ("rolebindings", "roles"), READ_WRITE),
)
"""What makes a namespace admin: managing Roles and RoleBindings in the namespace."""

VIEW_RULES: Final = AGGREGATE_TO_VIEW_RULES
EDIT_RULES: Final = AGGREGATE_TO_EDIT_RULES + VIEW_RULES
ADMIN_RULES: Final = EDIT_RULES + AGGREGATE_TO_ADMIN_RULES
CLUSTER_ADMIN_RULES: Final[tuple[PolicyRule, ...]] = (
    _rule(("*",), ("*",), ("*",)),
    _urls(("*",), ("*",)),
)

CLUSTER_ROLE_RULES: Final[Mapping[str, tuple[PolicyRule, ...]]] = MappingProxyType(
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

CLUSTER_ROLE_BINDINGS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "cluster-admin": (MASTERS,),
        "system:basic-user": (AUTHENTICATED,),
        "system:discovery": (AUTHENTICATED,),
        "system:public-info-viewer": (AUTHENTICATED, UNAUTHENTICATED),
    }
)
"""Bootstrap ClusterRoleBindings: each binds the ClusterRole of the same name to groups."""

CLUSTER_SCOPED: Final[frozenset[tuple[str, str]]] = frozenset(
    {
        ("", "namespaces"),
        ("", "nodes"),
        ("", "persistentvolumes"),
        ("", "componentstatuses"),
        (RBAC_GROUP, "clusterroles"),
        (RBAC_GROUP, "clusterrolebindings"),
        ("apiextensions.k8s.io", "customresourcedefinitions"),
        ("apiregistration.k8s.io", "apiservices"),
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
        ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
        ("admissionregistration.k8s.io", "validatingadmissionpolicies"),
        ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"),
        ("authentication.k8s.io", "tokenreviews"),
        ("authentication.k8s.io", "selfsubjectreviews"),
        ("authorization.k8s.io", "subjectaccessreviews"),
        ("authorization.k8s.io", "selfsubjectaccessreviews"),
        ("authorization.k8s.io", "selfsubjectrulesreviews"),
        ("certificates.k8s.io", "certificatesigningrequests"),
        ("flowcontrol.apiserver.k8s.io", "flowschemas"),
        ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations"),
        ("networking.k8s.io", "ingressclasses"),
        ("node.k8s.io", "runtimeclasses"),
        ("scheduling.k8s.io", "priorityclasses"),
        ("storage.k8s.io", "csidrivers"),
        ("storage.k8s.io", "csinodes"),
        ("storage.k8s.io", "storageclasses"),
        ("storage.k8s.io", "volumeattachments"),
    }
)
"""The built-in cluster-scoped resources, by (group, plural) (``kubectl api-resources
--namespaced=false`` of a 1.3x cluster). kubectl never puts a namespace in their URLs, so a
request for them has no namespace whatever ``-n`` says: RoleBindings cannot grant them.
Resources not listed (custom ones) keep the namespace they are given."""
