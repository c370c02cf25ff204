"""The kinds this API server serves, and what discovery says about them.

One :class:`Resource` per kind: its group/version, plural, kind, scope, verbs, short
names and subresources. Discovery (``/api/v1``, ``/apis/<g>/<v>``), routing and Tables all
read this table, so adding a kind is one line here. kubectl finds subresources through
discovery too: ``kubectl create token`` needs ``serviceaccounts/token`` listed, ``kubectl
scale`` needs ``deployments/scale`` (with the ``autoscaling/v1`` Scale kind).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

CRUD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CREATE_ONLY = ("create",)
READ_WRITE = ("get", "patch", "update")


@dataclass(frozen=True, slots=True)
class Subresource:
    """A subresource of a kind (``pods/status``, ``serviceaccounts/token``); ``group`` and
    ``version`` are set when its kind lives elsewhere (``autoscaling/v1`` Scale)."""

    name: str
    kind: str
    verbs: tuple[str, ...]
    group: str | None = None
    version: str | None = None

    def discovery(self, parent: Resource) -> dict[str, object]:
        """The APIResource entry, as the apiserver lists it (no singular name)."""
        entry: dict[str, object] = {
            "name": f"{parent.plural}/{self.name}",
            "singularName": "",
            "namespaced": parent.namespaced,
            "kind": self.kind or parent.kind,
            "verbs": list(self.verbs),
        }
        if self.group is not None:
            entry["group"] = self.group
            entry["version"] = self.version
        return entry


STATUS = Subresource("status", "", READ_WRITE)  # kind filled per parent in `subresource`
SCALE = Subresource("scale", "Scale", READ_WRITE, "autoscaling", "v1")
TOKEN = Subresource("token", "TokenRequest", CREATE_ONLY, "authentication.k8s.io", "v1")


@dataclass(frozen=True, slots=True)
class Resource:
    """A served kind. ``group`` is ``""`` for the core group."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = CRUD_VERBS
    categories: tuple[str, ...] = ()
    subresources: tuple[Subresource, ...] = ()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def key(self) -> str:
        """The store key of the kind: ``<group>/<version>/<plural>``."""
        return f"{self.group}/{self.version}/{self.plural}"

    def discovery(self) -> dict[str, object]:
        """The APIResource entry of ``/api/v1`` or ``/apis/<g>/<v>``."""
        entry: dict[str, object] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        return entry

    def subresource(self, name: str) -> Subresource | None:
        """The served subresource ``name``; a status subresource has the parent's kind."""
        for sub in self.subresources:
            if sub.name == name:
                return dataclasses.replace(sub, kind=sub.kind or self.kind)
        return None


RBAC = "rbac.authorization.k8s.io"
RESOURCES: tuple[Resource, ...] = (
    Resource("", "v1", "namespaces", "Namespace", False, ("ns",)),
    Resource("", "v1", "nodes", "Node", False, ("no",), subresources=(STATUS,)),
    Resource("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    Resource("", "v1", "secrets", "Secret", True),
    Resource("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",), subresources=(TOKEN,)),
    Resource("", "v1", "pods", "Pod", True, ("po",), categories=("all",), subresources=(STATUS,)),
    Resource(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        True,
        ("deploy",),
        categories=("all",),
        subresources=(SCALE, STATUS),
    ),
    Resource(
        "apps",
        "v1",
        "replicasets",
        "ReplicaSet",
        True,
        ("rs",),
        categories=("all",),
        subresources=(SCALE, STATUS),
    ),
    Resource(RBAC, "v1", "roles", "Role", True),
    Resource(RBAC, "v1", "rolebindings", "RoleBinding", True),
    Resource(RBAC, "v1", "clusterroles", "ClusterRole", False),
    Resource(RBAC, "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    Resource("", "v1", "events", "Event", True, ("ev",)),
    Resource(
        "authentication.k8s.io",
        "v1",
        "selfsubjectreviews",
        "SelfSubjectReview",
        False,
        verbs=CREATE_ONLY,
    ),
    Resource(
        "authentication.k8s.io", "v1", "tokenreviews", "TokenReview", False, verbs=CREATE_ONLY
    ),
    Resource(
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        False,
        verbs=CREATE_ONLY,
    ),
    Resource(
        "authorization.k8s.io",
        "v1",
        "selfsubjectrulesreviews",
        "SelfSubjectRulesReview",
        False,
        verbs=CREATE_ONLY,
    ),
)
"""Everything served; the review kinds are virtual (``create`` only, never stored)."""

GROUP_VERSIONS: tuple[tuple[str, str], ...] = tuple(
    dict.fromkeys((r.group, r.version) for r in RESOURCES if r.group)
)


def in_group_version(group: str, version: str) -> list[Resource]:
    return [r for r in RESOURCES if r.group == group and r.version == version]


def by_kind(kind: str) -> Resource:
    """The served resource of ``kind`` (a programming error if there is none)."""
    for resource in RESOURCES:
        if resource.kind == kind:
            return resource
    raise KeyError(kind)


def find(group: str, version: str, plural: str) -> Resource | None:
    for resource in RESOURCES:
        if (resource.group, resource.version, resource.plural) == (group, version, plural):
            return resource
    return None
