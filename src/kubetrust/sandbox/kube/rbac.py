"""Kubernetes RBAC authorization over the stored Roles and bindings, plus EKS access policies.

:class:`RbacAuthorizer` is an ``auth.Authorize``. It decides in the order an EKS cluster's
authorizer chain gives the same answers for:

1. ``system:masters`` may do anything. Upstream this is the privileged-group authorizer in
   front of RBAC, not a binding, so it cannot be revoked by editing RBAC (reference D.3).
2. EKS access policies of the caller's access entry (``User.grants``, reference E.4). They
   are evaluated from the built-in rules of :data:`bootstrap.CLUSTER_ROLE_RULES`, never from
   the stored ClusterRoles: users cannot view or change access policies.
3. RBAC: every ClusterRoleBinding, then the RoleBindings of the request's namespace, read
   fresh from the store on each call (no cache can go stale). Matching follows upstream
   ``rbac.RuleAllows`` and ``appliesToUser`` (``plugin/pkg/auth/authorizer/rbac``).

Stored objects are user input, so anything malformed (rules not a list, a subject without a
name, a roleRef of an unknown kind) is skipped, never raised: upstream validation would have
refused such objects, and one bad object must not take authorization down.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from kubetrust.chain.kube_identity import AccessGrant
from kubetrust.sandbox.kube import auth, status
from kubetrust.sandbox.kube.bootstrap import (
    CLUSTER_ROLE_BINDINGS_KEY,
    CLUSTER_ROLE_RULES,
    CLUSTER_ROLES_KEY,
    ROLE_BINDINGS_KEY,
    ROLES_KEY,
)
from kubetrust.sandbox.kube.store import Store

ALL: Final = "*"
SERVICE_ACCOUNT_PREFIX: Final = "system:serviceaccount:"
ACCESS_POLICY_ROLES: Final = frozenset({"cluster-admin", "admin", "edit", "view"})
"""The default roles an access policy can be "like" (E.4); any other ``cluster_role`` of a
grant grants nothing."""


@dataclass(frozen=True, slots=True)
class Attributes:
    """A request as RBAC sees it (upstream ``authorizer.Attributes``).

    ``resource`` is the combined ``plural/subresource``; ``path`` is set only for
    non-resource requests, which reach the authorizer as ``GroupResource("", "")`` with the
    URL path as the name (see ``reviews._decide``).
    """

    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    @property
    def is_resource_request(self) -> bool:
        return bool(self.resource)

    @classmethod
    def of(
        cls,
        verb: str,
        resource: auth.GroupResource,
        namespace: str | None,
        name: str | None,
    ) -> Attributes:
        """The attributes of an ``auth.Authorize`` call."""
        if not resource.resource:
            return cls(verb, path=name or "")
        combined = resource.resource
        if resource.subresource:
            combined += "/" + resource.subresource
        return cls(
            verb,
            resource.group,
            combined,
            resource.subresource,
            namespace or "",
            name or "",
        )


# ---------------------------------------------------------------------- rule matching
def _strings(rule: Mapping[str, Any], field: str) -> Sequence[str] | None:
    """The field as a list of strings; absent is empty; ``None`` if malformed."""
    value = rule.get(field)
    if value is None:
        return ()
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return value
    return None


def _exact_or_all(values: Sequence[str], wanted: str) -> bool:
    """Upstream ``VerbMatches`` / ``APIGroupMatches``: ``*`` or an exact entry."""
    return ALL in values or wanted in values


def _resource_matches(values: Sequence[str], attrs: Attributes) -> bool:
    """Upstream ``ResourceMatches``: ``*``, the exact ``plural[/sub]``, or ``*/sub`` for a
    subresource request. A bare ``pods`` does not cover ``pods/log``."""
    if ALL in values or attrs.resource in values:
        return True
    return bool(attrs.subresource) and f"*/{attrs.subresource}" in values


def _name_matches(values: Sequence[str], attrs: Attributes) -> bool:
    """Upstream ``ResourceNameMatches``: no names means any; else the request must name one
    of them, so a list or a create (no name) never matches a rule with resourceNames."""
    return not values or attrs.name in values


def _url_matches(values: Sequence[str], path: str) -> bool:
    """Upstream ``NonResourceURLMatches``: ``*``, exact, or a prefix ending in ``*``."""
    for url in values:
        if url in (ALL, path):
            return True
        if url.endswith(ALL) and path.startswith(url.rstrip(ALL)):
            return True
    return False


def rule_allows(rule: object, attrs: Attributes) -> bool:
    """Upstream ``RuleAllows`` for one PolicyRule (a JSON object); malformed is no match."""
    if not isinstance(rule, Mapping):
        return False
    verbs = _strings(rule, "verbs")
    if verbs is None or not _exact_or_all(verbs, attrs.verb):
        return False
    if not attrs.is_resource_request:
        urls = _strings(rule, "nonResourceURLs")
        return urls is not None and _url_matches(urls, attrs.path)
    groups = _strings(rule, "apiGroups")
    plurals = _strings(rule, "resources")
    names = _strings(rule, "resourceNames")
    if groups is None or plurals is None or names is None:
        return False
    return (
        _exact_or_all(groups, attrs.group)
        and _resource_matches(plurals, attrs)
        and _name_matches(names, attrs)
    )


def rules_allow(rules: object, attrs: Attributes) -> bool:
    """Whether any rule of a role's ``rules`` allows; a non-list is malformed: no."""
    if not isinstance(rules, list | tuple):
        return False
    return any(rule_allows(rule, attrs) for rule in rules)


# ---------------------------------------------------------------------- EKS access policies
def _scope(grant: AccessGrant) -> str:
    if grant.namespaces is None:
        return "cluster scope"
    return "namespace scope " + ", ".join(grant.namespaces)


def grant_reason(grants: Iterable[AccessGrant], attrs: Attributes) -> str:
    """Why an access policy allows the request, or ``""``. A namespace-scoped grant covers
    only requests in its namespaces (``applies_to``), never cluster-scoped ones (E.4)."""
    for grant in grants:
        if grant.cluster_role not in ACCESS_POLICY_ROLES:
            continue
        namespace = attrs.namespace or None
        if not grant.applies_to(namespace):
            continue
        if rules_allow(CLUSTER_ROLE_RULES[grant.cluster_role], attrs):
            policy = grant.policy_arn.rpartition("/")[2]
            return f"EKS access policy {policy} ({_scope(grant)})"
    return ""


# ---------------------------------------------------------------------- subjects and bindings
def _service_account_username(namespace: str, name: str) -> str:
    return f"{SERVICE_ACCOUNT_PREFIX}{namespace}:{name}"


def _subject_applies(subject: Mapping[str, Any], user: auth.User, binding_ns: str) -> bool:
    """Upstream ``appliesToUser``. A ServiceAccount subject without a namespace means the
    binding's own namespace (so it never matches in a ClusterRoleBinding)."""
    kind, name = subject.get("kind"), subject.get("name")
    if not isinstance(name, str) or not name:
        return False
    if kind == "User":
        return user.username == name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_ns
        if not isinstance(namespace, str) or not namespace:
            return False
        return user.username == _service_account_username(namespace, name)
    return False


def _describe_subject(subject: Mapping[str, Any], binding_ns: str) -> str:
    """Upstream ``describeSubject``: ``Group "g"``, ``ServiceAccount "name/ns"``."""
    kind, name = subject["kind"], subject["name"]
    if kind == "ServiceAccount":
        return f'{kind} "{name}/{subject.get("namespace") or binding_ns}"'
    return f'{kind} "{name}"'


def _applying_subject(
    binding: Mapping[str, Any], user: auth.User, binding_ns: str
) -> Mapping[str, Any] | None:
    """The first subject of the binding that is the user (upstream ``appliesTo``)."""
    subjects = binding.get("subjects")
    if not isinstance(subjects, list):
        return None
    for subject in subjects:
        if isinstance(subject, Mapping) and _subject_applies(subject, user, binding_ns):
            return subject
    return None


def _role_ref(binding: Mapping[str, Any], binding_ns: str) -> tuple[str, str, str] | None:
    """``(store kind, namespace, name)`` of the referenced role (upstream
    ``GetRoleReferenceRules``): a Role lives in the binding's namespace, so a
    ClusterRoleBinding cannot reference one."""
    ref = binding.get("roleRef")
    if not isinstance(ref, Mapping):
        return None
    kind, name = ref.get("kind"), ref.get("name")
    if not isinstance(name, str) or not name:
        return None
    if kind == "ClusterRole":
        return CLUSTER_ROLES_KEY, "", name
    if kind == "Role" and binding_ns:
        return ROLES_KEY, binding_ns, name
    return None


class _Visit:
    """One authorization's walk over the bindings. Roles are read once per call and their
    verdict memoized, so many bindings of one role cost one evaluation (no quadratic work),
    while nothing outlives the call (no stale cache)."""

    def __init__(self, store: Store, user: auth.User, attrs: Attributes) -> None:
        self.store = store
        self.user = user
        self.attrs = attrs
        self._verdicts: dict[tuple[str, str, str], bool] = {}

    def _role_allows(self, ref: tuple[str, str, str]) -> bool:
        verdict = self._verdicts.get(ref)
        if verdict is None:
            try:
                role = self.store.get(*ref)
            except status.ApiError:  # a missing role grants nothing (upstream logs it)
                role = {}
            verdict = rules_allow(role.get("rules"), self.attrs)
            self._verdicts[ref] = verdict
        return verdict

    def reason(self, binding: object, binding_ns: str) -> str:
        """Upstream ``authorizingVisitor`` wording if ``binding`` allows, else ``""``."""
        if not isinstance(binding, Mapping):
            return ""
        subject = _applying_subject(binding, self.user, binding_ns)
        ref = _role_ref(binding, binding_ns)
        if subject is None or ref is None or not self._role_allows(ref):
            return ""
        metadata = binding.get("metadata")
        name = metadata.get("name", "") if isinstance(metadata, Mapping) else ""
        role_kind = "Role" if ref[0] == ROLES_KEY else "ClusterRole"
        who = _describe_subject(subject, binding_ns)
        if binding_ns:
            source = f'RoleBinding "{name}/{binding_ns}"'
        else:
            source = f'ClusterRoleBinding "{name}"'
        return f'RBAC: allowed by {source} of {role_kind} "{ref[2]}" to {who}'


class RbacAuthorizer:
    """``auth.Authorize`` by masters, EKS access policies, then RBAC (see module doc)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(
        self,
        user: auth.User,
        verb: str,
        resource: auth.GroupResource,
        namespace: str | None,
        name: str | None,
    ) -> tuple[bool, str]:
        if auth.MASTERS in user.groups:
            # upstream's privileged-group authorizer allows with no reason
            return True, ""
        attrs = Attributes.of(verb, resource, namespace, name)
        reason = grant_reason(user.grants, attrs) or self.rbac_reason(user, attrs)
        return (True, reason) if reason else (False, "")

    def rbac_reason(self, user: auth.User, attrs: Attributes) -> str:
        """Why stored RBAC allows the request, or ``""`` (upstream ``VisitRulesFor`` order:
        ClusterRoleBindings first, then the RoleBindings of the request's namespace)."""
        visit = _Visit(self.store, user, attrs)
        bindings, _ = self.store.list(CLUSTER_ROLE_BINDINGS_KEY)
        for binding in bindings:
            reason = visit.reason(binding, "")
            if reason:
                return reason
        if not attrs.namespace:
            return ""
        bindings, _ = self.store.list(ROLE_BINDINGS_KEY, attrs.namespace)
        for binding in bindings:
            reason = visit.reason(binding, attrs.namespace)
            if reason:
                return reason
        return ""
