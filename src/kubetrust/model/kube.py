"""Kubernetes RBAC objects and service accounts, from manifests (``kubectl get -o yaml``).

Accepted: ``ClusterRole``, ``Role``, ``ClusterRoleBinding``, ``RoleBinding`` and
``ServiceAccount`` objects, alone or inside a ``List`` (``kubectl get ... -o yaml`` of several
objects). Other kinds are ignored. As upstream validation would refuse malformed objects,
a malformed one is reported as a :class:`~kubetrust.model.iam.Problem` and left out, never
raised: one bad object must not hide the others.

Aggregated ClusterRoles (``aggregationRule``): the clusterrole-aggregation controller fills
their ``rules`` from every ClusterRole whose labels match a selector. ``kubectl get`` shows
the filled rules; a hand-written manifest may not, so :func:`parse_manifests` fills rules
from the given ClusterRoles when a role with an ``aggregationRule`` has none (``matchLabels``
only; ``matchExpressions`` are not evaluated and are reported).

Pure: manifests arrive decoded (the caller reads YAML).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubetrust.model.eks import ROLE_ANNOTATION, ServiceAccount
from kubetrust.model.iam import Problem

RBAC_KINDS = ("ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding")


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One RBAC rule; every field a tuple of strings (absent fields are empty)."""

    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RbacRole:
    """A Role (``namespace`` set) or ClusterRole (``namespace`` empty)."""

    name: str
    rules: tuple[PolicyRule, ...]
    namespace: str = ""
    labels: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    selectors: tuple[Mapping[str, str], ...] = ()

    @property
    def kind(self) -> str:
        return "Role" if self.namespace else "ClusterRole"


@dataclass(frozen=True, slots=True)
class Subject:
    """A binding subject: ``User``, ``Group`` or ``ServiceAccount`` (with its namespace)."""

    kind: str
    name: str
    namespace: str = ""


@dataclass(frozen=True, slots=True)
class Binding:
    """A RoleBinding (``namespace`` set) or ClusterRoleBinding."""

    name: str
    role_kind: str
    role_name: str
    subjects: tuple[Subject, ...]
    namespace: str = ""

    @property
    def kind(self) -> str:
        return "RoleBinding" if self.namespace else "ClusterRoleBinding"


@dataclass(frozen=True, slots=True)
class RbacObjects:
    """The RBAC objects of one cluster as given (defaults are added by the evaluator)."""

    cluster_roles: Mapping[str, RbacRole] = field(default_factory=dict)
    roles: Mapping[tuple[str, str], RbacRole] = field(default_factory=dict)
    cluster_role_bindings: tuple[Binding, ...] = ()
    role_bindings: Mapping[str, tuple[Binding, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Manifests:
    """What :func:`parse_manifests` found."""

    rbac: RbacObjects
    service_accounts: Mapping[tuple[str, str], ServiceAccount]


def flatten(documents: Sequence[object]) -> list[object]:
    """Every object of the documents, ``List`` items expanded (one level, as kubectl)."""
    found: list[object] = []
    for document in documents:
        if isinstance(document, Mapping) and document.get("kind") == "List":
            items = document.get("items")
            found.extend(items if isinstance(items, list) else [])
        elif isinstance(document, list):
            found.extend(document)
        elif document is not None:
            found.append(document)
    return found


class _Collector:
    """The objects found so far, by kind."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.cluster_roles: dict[str, RbacRole] = {}
        self.roles: dict[tuple[str, str], RbacRole] = {}
        self.crbs: list[Binding] = []
        self.rbs: dict[str, list[Binding]] = {}
        self.accounts: dict[tuple[str, str], ServiceAccount] = {}

    def add(self, obj: Mapping[str, Any], where: str, source: str) -> None:
        kind = obj.get("kind")
        meta = _object(obj.get("metadata"))
        name, namespace = meta.get("name"), meta.get("namespace") or ""
        if kind not in (*RBAC_KINDS, "ServiceAccount"):
            return
        if not isinstance(name, str) or not name or not isinstance(namespace, str):
            self.problems.append(Problem(where, f"{kind} without metadata.name; ignored"))
            return
        where = f"{where} {kind} {namespace + '/' if namespace else ''}{name}"
        if kind in ("Role", "RoleBinding", "ServiceAccount") and not namespace:
            self.problems.append(Problem(where, "no metadata.namespace; ignored"))
        elif kind == "ServiceAccount":
            self.accounts[(namespace, name)] = _service_account(meta, namespace, name, source)
        elif kind == "Role":
            self.roles[(namespace, name)] = _role(obj, meta, name, namespace, where, self.problems)
        elif kind == "ClusterRole":
            self.cluster_roles[name] = _role(obj, meta, name, "", where, self.problems)
        else:
            self.binding(obj, name, namespace if kind == "RoleBinding" else "", where)

    def binding(self, obj: Mapping[str, Any], name: str, namespace: str, where: str) -> None:
        binding = _binding(obj, name, namespace)
        if binding is None:
            self.problems.append(Problem(where, "roleRef must name a Role or ClusterRole; ignored"))
        elif binding.namespace:
            self.rbs.setdefault(binding.namespace, []).append(binding)
        else:
            self.crbs.append(binding)


def parse_manifests(
    documents: Sequence[object], source: str = ""
) -> tuple[Manifests, list[Problem]]:
    """RBAC objects and service accounts of decoded manifests (module doc)."""
    found = _Collector()
    for index, obj in enumerate(flatten(documents)):
        where = f"{source}[{index}]"
        if isinstance(obj, Mapping):
            found.add(obj, where, source)
        else:
            found.problems.append(Problem(where, "not an object; ignored"))
    _aggregate(found.cluster_roles, found.problems)
    rbac = RbacObjects(
        found.cluster_roles,
        found.roles,
        tuple(found.crbs),
        {ns: tuple(items) for ns, items in found.rbs.items()},
    )
    return Manifests(rbac, found.accounts), found.problems


_RULE_FIELDS = ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs")


def _string_list(raw: object) -> tuple[str, ...] | None:
    """A rule field: absent is empty; anything but a list of strings is malformed (None)."""
    if raw is None:
        return ()
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return tuple(raw)
    return None


def _rules(raw: object, where: str, problems: list[Problem]) -> tuple[PolicyRule, ...]:
    """The well-formed rules of a role. A malformed rule is dropped whole, never read as
    far as it goes: ``resourceNames: 3`` must not become "any name" (fail closed; the
    apiserver's validation would have refused the object)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(Problem(f"{where}.rules", "must be a list; the role grants nothing"))
        return ()
    rules = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            problems.append(Problem(f"{where}.rules[{index}]", "not an object; ignored"))
            continue
        fields = {name: _string_list(item.get(name)) for name in _RULE_FIELDS}
        bad = [name for name, value in fields.items() if value is None]
        if bad:
            problems.append(
                Problem(
                    f"{where}.rules[{index}]",
                    f"{', '.join(bad)} must be a list of strings; the rule grants nothing",
                )
            )
            continue
        rules.append(
            PolicyRule(
                verbs=fields["verbs"] or (),
                api_groups=fields["apiGroups"] or (),
                resources=fields["resources"] or (),
                resource_names=fields["resourceNames"] or (),
                non_resource_urls=fields["nonResourceURLs"] or (),
            )
        )
    return tuple(rules)


def _role(
    obj: Mapping[str, Any],
    meta: Mapping[str, Any],
    name: str,
    namespace: str,
    where: str,
    problems: list[Problem],
) -> RbacRole:
    labels = _object(meta.get("labels"))
    selectors: list[Mapping[str, str]] = []
    aggregation = obj.get("aggregationRule")
    if isinstance(aggregation, Mapping):
        for selector in aggregation.get("clusterRoleSelectors") or []:
            if not isinstance(selector, Mapping):
                continue
            if selector.get("matchExpressions"):
                problems.append(
                    Problem(where, "aggregationRule matchExpressions are not evaluated")
                )
            match = selector.get("matchLabels")
            if isinstance(match, Mapping) and match:
                selectors.append({str(k): str(v) for k, v in match.items()})
    return RbacRole(
        name,
        _rules(obj.get("rules"), where, problems),
        namespace,
        {str(k): str(v) for k, v in labels.items()},
        tuple(selectors),
    )


def _binding(obj: Mapping[str, Any], name: str, namespace: str) -> Binding | None:
    ref = obj.get("roleRef")
    if not isinstance(ref, Mapping):
        return None
    role_kind, role_name = ref.get("kind"), ref.get("name")
    if role_kind not in ("Role", "ClusterRole") or not isinstance(role_name, str):
        return None
    if role_kind == "Role" and not namespace:
        return None  # a ClusterRoleBinding cannot reference a Role
    subjects = []
    for raw in obj.get("subjects") or []:
        if not isinstance(raw, Mapping):
            continue
        kind, subject_name = raw.get("kind"), raw.get("name")
        if isinstance(kind, str) and isinstance(subject_name, str) and subject_name:
            subject_ns = raw.get("namespace")
            subjects.append(
                Subject(kind, subject_name, subject_ns if isinstance(subject_ns, str) else "")
            )
    return Binding(name, role_kind, role_name, tuple(subjects), namespace)


def _service_account(
    meta: Mapping[str, Any], namespace: str, name: str, source: str
) -> ServiceAccount:
    raw = _object(meta.get("annotations"))
    annotations = {str(k): str(v) for k, v in raw.items()}
    return ServiceAccount(namespace, name, annotations.get(ROLE_ANNOTATION), source, annotations)


def _aggregate(cluster_roles: dict[str, RbacRole], problems: list[Problem]) -> None:
    """Fill the rules of aggregated ClusterRoles that came without any (module doc)."""
    for name, role in list(cluster_roles.items()):
        if role.rules or not role.selectors:
            continue
        rules: list[PolicyRule] = []
        for other_name in sorted(cluster_roles):
            other = cluster_roles[other_name]
            if other_name == name:
                continue
            if any(all(other.labels.get(k) == v for k, v in s.items()) for s in role.selectors):
                rules.extend(other.rules)
        cluster_roles[name] = RbacRole(name, tuple(rules), "", role.labels, role.selectors)
        if not rules:
            problems.append(Problem(f"ClusterRole {name}", "aggregates no given ClusterRole"))


def _object(value: object) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one (malformed parts read as absent)."""
    return value if isinstance(value, Mapping) else {}
