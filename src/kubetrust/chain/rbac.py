"""Kubernetes authorization of an EKS identity, as pure functions over given RBAC objects.

The order is the one an EKS cluster's authorizer chain gives the same answers for (the
sandbox's ``RbacAuthorizer`` implements the same order over its store):

1. ``system:masters`` may do anything: upstream's privileged-group authorizer sits in front
   of RBAC, so no binding is needed and none can revoke it (reference D.3).
2. EKS access policies of the caller's access entry (E.4), evaluated from the built-in rules
   of :data:`rbac_defaults.CLUSTER_ROLE_RULES` (users cannot view or change them); a
   namespace-scoped grant covers requests in its namespaces only.
3. RBAC: every ClusterRoleBinding, then the RoleBindings of the request's namespace.
   Matching follows upstream ``rbac.RuleAllows`` and ``appliesToUser``
   (``plugin/pkg/auth/authorizer/rbac``). The default ClusterRoles and ClusterRoleBindings
   every cluster has are added unless the given objects replace them by name.

Every authenticated user also has the group ``system:authenticated``. The answer is an
:class:`RbacDecision` with the reason (upstream's wording) and, for a denial, the bindings
that do name the user but grant something else — the near misses explain shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kubetrust.chain import rbac_defaults
from kubetrust.chain.kube_identity import AccessGrant
from kubetrust.model.kube import Binding, PolicyRule, RbacObjects, RbacRole, Subject
from kubetrust.model.vocabulary import POLICY_FOR_CLUSTER_ROLE, service_account_subject

ALL = "*"
ACCESS_POLICY_ROLES = frozenset(POLICY_FOR_CLUSTER_ROLE)
"""The default ClusterRoles an access policy can be like (E.4)."""


@dataclass(frozen=True, slots=True)
class KubeRequest:
    """A request as RBAC sees it (upstream ``authorizer.Attributes``).

    ``resource`` is the plural (``pods``); ``subresource`` e.g. ``log``; ``path`` is set
    only for a non-resource request (``/healthz``), and then ``resource`` is empty.
    """

    verb: str
    resource: str = ""
    group: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    @property
    def is_resource_request(self) -> bool:
        return not self.path

    @property
    def combined(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource

    def describe(self) -> str:
        """``get pods in namespace kube-system``, ``get /healthz``."""
        if not self.is_resource_request:
            return f"{self.verb} {self.path}"
        what = self.combined + (f".{self.group}" if self.group else "")
        if self.name:
            what += f" `{self.name}`"
        where = f" in namespace {self.namespace}" if self.namespace else " (cluster scope)"
        return f"{self.verb} {what}{where}"


NAME_FIELD = "metadata.name"
NAMESPACES = ("", "namespaces")
_FIELD_OPERATORS = ("!=", "==", "=")


def request_info(
    verb: str,
    resource: str = "",
    group: str = "",
    subresource: str = "",
    namespace: str = "",
    name: str = "",
    *,
    field_selector: str = "",
) -> KubeRequest:
    """The attributes the apiserver authorizes for a resource request, as upstream
    ``RequestInfoFactory.NewRequestInfo`` derives them from the URL kubectl sends. The
    sandbox and explain both build their requests here, so they cannot disagree:

    - the namespace object itself (``namespaces/<name>`` and its subresources) is *in* its
      namespace: ``get namespaces/apps`` has namespace ``apps``, so a RoleBinding in
      ``apps`` can grant it (the bootstrap ``view`` role reads "this namespace");
    - the other built-in cluster-scoped resources (:data:`rbac_defaults.CLUSTER_SCOPED`)
      have no namespace whatever ``-n`` says: kubectl's URL carries none;
    - a ``list``/``watch`` whose field selector requires ``metadata.name=X`` is for the name
      ``X`` (``kubectl get pod X --watch``), when ``X`` is a valid path segment.

    A selector that does not parse gives no name (upstream: the request stays a nameless
    list, which then fails with 400)."""
    if (group, resource) == NAMESPACES and name:
        namespace = name
    elif (group, resource) in rbac_defaults.CLUSTER_SCOPED:
        namespace = ""
    if not name and verb in ("list", "watch") and field_selector:
        name = exact_name(field_selector)
    return KubeRequest(verb, resource, group, subresource, namespace, name)


def normalized(request: KubeRequest) -> KubeRequest:
    """``request`` as :func:`request_info` derives it (unchanged for a non-resource URL)."""
    if not request.is_resource_request:
        return request
    return request_info(
        request.verb,
        request.resource,
        request.group,
        request.subresource,
        request.namespace,
        request.name,
    )


def parse_field_selector(text: str) -> tuple[tuple[str, str, str], ...]:
    """``(field, operator, value)`` terms of a field selector, as upstream
    ``fields.ParseSelector``: terms split on unescaped commas, the first ``!=``, ``==`` or
    ``=`` splits a term, values unescape a backslash before ``\\``, ``,`` or ``=``, and
    nothing is trimmed. Raises ``ValueError`` for what upstream refuses."""
    terms = []
    for term in _split_terms(text):
        for index in range(len(term)):
            operator = next((op for op in _FIELD_OPERATORS if term.startswith(op, index)), None)
            if operator is not None:
                value = _unescape(term[index + len(operator) :])
                terms.append((term[:index], operator, value))
                break
        else:
            raise ValueError(f"invalid selector: '{text}'; can't understand '{term}'")
    return tuple(terms)


def exact_name(field_selector: str) -> str:
    """The name a field selector requires (upstream ``RequiresExactMatch("metadata.name")``
    plus ``IsValidPathSegmentName``), or ``""``."""
    try:
        terms = parse_field_selector(field_selector)
    except ValueError:
        return ""
    for field, operator, value in terms:
        if field == NAME_FIELD and operator != "!=":
            if value in (".", "..") or "/" in value or "%" in value:
                return ""
            return value
    return ""


def _split_terms(text: str) -> list[str]:
    if not text:
        return []
    terms, current, escaped = [], "", False
    for char in text:
        if escaped:
            current, escaped = current + char, False
        elif char == "\\":
            current, escaped = current + char, True
        elif char == ",":
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return terms


def _unescape(value: str) -> str:
    out, escaped = "", False
    for char in value:
        if escaped:
            if char not in "\\,=":
                raise ValueError(f"invalid field selector value: invalid escape sequence: {value}")
            out, escaped = out + char, False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            raise ValueError(f"invalid field selector value: unescaped {char!r}: {value}")
        else:
            out += char
    if escaped:
        raise ValueError(f"invalid field selector value: unterminated escape: {value}")
    return out


@dataclass(frozen=True, slots=True)
class RbacDecision:
    """The answer: ``allowed``, the ``reason`` (which group, policy or binding decided),
    ``via`` (``system:masters``, ``access policy``, ``rbac`` or ``""``) and, for a denial,
    ``near_misses``: bindings that apply to the user but whose role does not allow."""

    allowed: bool
    reason: str
    via: str = ""
    near_misses: tuple[str, ...] = ()


def rule_allows(rule: PolicyRule, request: KubeRequest) -> bool:
    """Upstream ``RuleAllows`` for one rule."""
    if ALL not in rule.verbs and request.verb not in rule.verbs:
        return False
    if not request.is_resource_request:
        return _url_matches(rule.non_resource_urls, request.path)
    if ALL not in rule.api_groups and request.group not in rule.api_groups:
        return False
    if not _resource_matches(rule.resources, request):
        return False
    return not rule.resource_names or request.name in rule.resource_names


def _resource_matches(values: Sequence[str], request: KubeRequest) -> bool:
    """``*``, the exact ``plural[/sub]``, or ``*/sub`` for a subresource request; a bare
    ``pods`` does not cover ``pods/log``."""
    if ALL in values or request.combined in values:
        return True
    return bool(request.subresource) and f"*/{request.subresource}" in values


def _url_matches(values: Sequence[str], path: str) -> bool:
    for url in values:
        if url in (ALL, path):
            return True
        if url.endswith(ALL) and path.startswith(url.rstrip(ALL)):
            return True
    return False


def rules_allow(rules: Iterable[PolicyRule], request: KubeRequest) -> bool:
    return any(rule_allows(rule, request) for rule in rules)


def _default_cluster_roles() -> dict[str, RbacRole]:
    return {name: RbacRole(name, rules) for name, rules in rbac_defaults.CLUSTER_ROLE_RULES.items()}


def _default_bindings() -> list[Binding]:
    return [
        Binding(
            name,
            "ClusterRole",
            name,
            tuple(Subject("Group", group) for group in groups),
        )
        for name, groups in rbac_defaults.CLUSTER_ROLE_BINDINGS.items()
    ]


def with_defaults(rbac: RbacObjects) -> RbacObjects:
    """The given objects plus the default ones they do not replace by name."""
    cluster_roles = {**_default_cluster_roles(), **rbac.cluster_roles}
    given = {b.name for b in rbac.cluster_role_bindings}
    bindings = (
        *(b for b in _default_bindings() if b.name not in given),
        *rbac.cluster_role_bindings,
    )
    return RbacObjects(cluster_roles, rbac.roles, tuple(bindings), rbac.role_bindings)


def _subject_applies(subject: Subject, user: str, groups: frozenset[str], binding_ns: str) -> bool:
    """Upstream ``appliesToUser``; a ServiceAccount subject without a namespace means the
    binding's own namespace."""
    if subject.kind == "User":
        return subject.name == user
    if subject.kind == "Group":
        return subject.name in groups
    if subject.kind == "ServiceAccount":
        namespace = subject.namespace or binding_ns
        return bool(namespace) and user == service_account_subject(namespace, subject.name)
    return False


def _describe(subject: Subject, binding_ns: str) -> str:
    if subject.kind == "ServiceAccount":
        return f'{subject.kind} "{subject.name}/{subject.namespace or binding_ns}"'
    return f'{subject.kind} "{subject.name}"'


def _source(binding: Binding) -> str:
    if binding.namespace:
        return f'RoleBinding "{binding.name}/{binding.namespace}"'
    return f'ClusterRoleBinding "{binding.name}"'


def _role_of(binding: Binding, rbac: RbacObjects) -> RbacRole | None:
    if binding.role_kind == "ClusterRole":
        return rbac.cluster_roles.get(binding.role_name)
    return rbac.roles.get((binding.namespace, binding.role_name))


def grant_reason(grants: Iterable[AccessGrant], request: KubeRequest) -> str:
    """Why an access policy allows the request, or ``""`` (E.4)."""
    for grant in grants:
        if grant.cluster_role not in ACCESS_POLICY_ROLES:
            continue
        if not grant.applies_to(request.namespace or None):
            continue
        if rules_allow(rbac_defaults.CLUSTER_ROLE_RULES[grant.cluster_role], request):
            scope = (
                "cluster scope"
                if grant.namespaces is None
                else "namespace scope " + ", ".join(grant.namespaces)
            )
            return f"EKS access policy {grant.policy_arn.rpartition('/')[2]} ({scope})"
    return ""


def authorize(
    user: str,
    groups: Sequence[str],
    request: KubeRequest,
    rbac: RbacObjects,
    grants: Sequence[AccessGrant] = (),
    *,
    defaults: bool = True,
    authenticated: bool = True,
) -> RbacDecision:
    """Decide ``request`` for ``user`` in ``groups`` (see module doc).

    ``authenticated``: add ``system:authenticated`` to the groups, as the apiserver does
    for every authenticated user; a caller that already resolved the exact groups (the
    sandbox) passes ``False``, so that no request gains a group it does not have."""
    extra = (rbac_defaults.AUTHENTICATED,) if authenticated else ()
    all_groups = frozenset((*groups, *extra))
    if rbac_defaults.MASTERS in all_groups:
        return RbacDecision(
            True, "group system:masters bypasses RBAC (privileged group)", "system:masters"
        )
    reason = grant_reason(grants, request)
    if reason:
        return RbacDecision(True, reason, "access policy")
    objects = with_defaults(rbac) if defaults else rbac
    bindings: list[Binding] = list(objects.cluster_role_bindings)
    if request.namespace:
        bindings.extend(objects.role_bindings.get(request.namespace, ()))
    misses: list[str] = []
    for binding in bindings:
        subject = next(
            (
                s
                for s in binding.subjects
                if _subject_applies(s, user, all_groups, binding.namespace)
            ),
            None,
        )
        if subject is None:
            continue
        role = _role_of(binding, objects)
        source = f'{_source(binding)} of {binding.role_kind} "{binding.role_name}"'
        who = _describe(subject, binding.namespace)
        if role is not None and rules_allow(role.rules, request):
            return RbacDecision(True, f"RBAC: allowed by {source} to {who}", "rbac")
        if subject.kind == "Group" and subject.name == rbac_defaults.AUTHENTICATED:
            continue  # every user has these; listing them as near misses is noise
        missing = " (the role does not exist)" if role is None else ""
        misses.append(f"{source} binds {who}{missing}")
    return RbacDecision(False, f"RBAC: no rule allows {request.describe()}", "", tuple(misses))


def rules_for(
    user: str,
    groups: Sequence[str],
    namespace: str,
    rbac: RbacObjects,
    *,
    defaults: bool = True,
    authenticated: bool = True,
) -> tuple[PolicyRule, ...]:
    """Every RBAC rule that applies to ``user`` in ``groups`` in ``namespace`` (``""``: the
    cluster scope), as upstream ``RulesFor`` visits them: the roles of the
    ClusterRoleBindings that name the user, then of the RoleBindings of ``namespace``, in
    binding order, duplicates kept (what a SelfSubjectRulesReview lists).

    RBAC only: ``system:masters`` gets what its bindings give (``cluster-admin`` through the
    default binding), and EKS access policies are not RBAC, so they are not listed
    (reference E.4: ``kubectl auth can-i --list`` does not show them). A binding whose role
    does not exist contributes nothing. ``defaults`` and ``authenticated`` as in
    :func:`authorize`."""
    extra = (rbac_defaults.AUTHENTICATED,) if authenticated else ()
    all_groups = frozenset((*groups, *extra))
    objects = with_defaults(rbac) if defaults else rbac
    bindings: list[Binding] = list(objects.cluster_role_bindings)
    if namespace:
        bindings.extend(objects.role_bindings.get(namespace, ()))
    found: list[PolicyRule] = []
    for binding in bindings:
        if not any(
            _subject_applies(s, user, all_groups, binding.namespace) for s in binding.subjects
        ):
            continue
        role = _role_of(binding, objects)
        if role is not None:
            found.extend(role.rules)
    return tuple(found)
