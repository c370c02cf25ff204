"""Does a statement apply to a request? Nothing here knows about Allow beating Deny.

This is the *evaluator* half of the Cedar split (style anchors, habit 2): a
:class:`CompiledStatement` answers "does this statement match this action, resource,
principal and context", and a :class:`StatementGroup` holds the statements of one policy
kind (one SCP level, the identity policies...) with a per-action index so that a request
only looks at statements whose ``Action`` can match. How matches combine into a decision
is :mod:`kubetrust.policy.authorizer`'s job.

A statement applies when all of these hold (A.4, A.5, A.7):

- its ``Action`` matches (or ``NotAction`` does not), case-insensitively;
- its ``Resource`` matches (or ``NotResource`` does not), case-sensitively; trust policies
  have neither and apply to their role;
- in resource-side kinds, its ``Principal`` names the caller (graded, see
  :mod:`kubetrust.policy.principals`) or its ``NotPrincipal`` does not exclude the caller;
- every condition entry holds.
"""

from __future__ import annotations

from collections.abc import Sequence

from kubetrust.policy import conditions, matching, principals
from kubetrust.policy.decision import Reason, ReasonKind
from kubetrust.policy.document import PolicyDocument, Statement

_CACHE_LIMIT = 2048


_PRINCIPAL_KINDS: frozenset[ReasonKind] = frozenset({"resource", "trust", "rcp"})


class RequestFacts:
    """The facts of one request as statements need them, and what evaluation met on the way
    (unreadable values, Allow statements that failed only on a condition)."""

    __slots__ = ("caller", "context", "has_boundary", "misses", "problems", "resource")

    def __init__(
        self,
        caller: principals.Caller,
        resource: str,
        context: matching.Context,
        has_boundary: bool,
    ) -> None:
        self.caller = caller
        self.resource = resource
        self.context = context
        self.has_boundary = has_boundary
        self.problems: conditions.Problems = []
        self.misses: list[Reason] = []


NONE = principals.Grade.NONE
DIRECT = principals.Grade.DIRECT


class CompiledStatement:
    """One statement of one policy kind, with its matchers and its reasons built once."""

    __slots__ = (
        "action_re",
        "allow",
        "conditions",
        "kind",
        "label",
        "needs_principal",
        "negate_action",
        "negate_resource",
        "policy",
        "principals",
        "reason",
        "resource_re",
        "resource_templates",
        "source",
    )

    def __init__(
        self, source: Statement, kind: ReasonKind, policy: str, variables_enabled: bool
    ) -> None:
        self.source = source
        self.kind = kind
        self.policy = policy
        self.label = source.label
        self.allow = source.effect == "Allow"
        self.needs_principal = kind in _PRINCIPAL_KINDS
        self.negate_action = source.action is None
        actions = source.action if source.action is not None else source.not_action
        self.action_re = matching.compile_globs(actions or ("*",), matching.ACTION)
        self.negate_resource = source.resource is None and source.not_resource is not None
        resources = source.resource if source.resource is not None else source.not_resource
        self.resource_re: matching.Glob | None = None
        self.resource_templates: tuple[matching.Template, ...] | None = None
        if resources is not None:
            templates = tuple(
                matching.parse_resource_template(r, variables_enabled) for r in resources
            )
            if any(t.has_variables for t in templates):
                self.resource_templates = templates
            else:
                self.resource_re = matching.compile_globs(resources, matching.RESOURCE)
        self.conditions = tuple(
            conditions.compile_condition(c, variables_enabled) for c in source.conditions
        )
        block = source.principal or source.not_principal
        self.principals = principals.PrincipalMatcher(block) if block is not None else None
        verb = "allows" if self.allow else "denies"
        self.reason = Reason(kind, policy, self.label, source.effect, self._detail(verb))

    def _detail(self, verb: str) -> str:
        if not self.conditions:
            return verb
        return f"{verb}; conditions hold: " + "; ".join(c.describe() for c in self.conditions)

    def matches_action(self, action: str) -> bool:
        hit = self.action_re.fullmatch(action) is not None
        return not hit if self.negate_action else hit

    def applies(self, request: RequestFacts) -> principals.Grade:
        """How this statement names the caller if it applies to the request, else ``NONE``.

        The action is already known to match (the group's index). An Allow that fails only
        on a condition is recorded in ``request.misses``: explain shows it as the near miss.
        """
        grade = DIRECT
        if self.needs_principal:
            grade = self.principal_grade(
                request.caller, has_boundary=request.has_boundary, context=request.context
            )
            if grade is NONE:
                return NONE
        resource_re = self.resource_re
        if resource_re is not None:
            if (resource_re.fullmatch(request.resource) is None) is not self.negate_resource:
                return NONE
        elif not self.matches_resource(request.resource, request.context):
            return NONE
        for condition in self.conditions:
            if not condition.holds(request.context, request.problems):
                if self.allow:
                    request.misses.append(
                        Reason(
                            self.kind,
                            self.policy,
                            self.label,
                            "NotApplicable",
                            f"condition {condition.describe()} is not met",
                        )
                    )
                return NONE
        return grade

    def matches_resource(self, resource: str, context: matching.Context) -> bool:
        if self.resource_re is not None:
            hit = self.resource_re.fullmatch(resource) is not None
        elif self.resource_templates is not None:
            hit = self._templated_resource_hit(resource, context)
        else:
            return True  # a trust policy applies to the role it is attached to
        return not hit if self.negate_resource else hit

    def _templated_resource_hit(self, resource: str, context: matching.Context) -> bool:
        for template in self.resource_templates or ():
            pieces = template.resolve(context)
            if pieces is None:
                continue  # an unresolved variable matches no resource (A.6)
            if matching.compile_pieces(pieces, matching.RESOURCE).fullmatch(resource):
                return True
        return False

    def principal_grade(
        self,
        caller: principals.Caller,
        *,
        has_boundary: bool,
        context: matching.Context | None = None,
    ) -> principals.Grade:
        """How this statement's Principal/NotPrincipal names ``caller``. ``context`` gives
        the caller's unique id (``aws:userid``) to entries that are unique ids."""
        matcher = self.principals
        if matcher is None:
            return DIRECT  # identity-side kinds: the principal is implicit
        unique_id = (
            principals.caller_unique_id(caller, context)
            if matcher.unique_ids and context is not None
            else None
        )
        if self.source.principal is not None:
            return matcher.grade(caller, unique_id)
        if not self.allow and has_boundary and caller.is_iam:
            # A.4 / boundaries doc: NotPrincipal+Deny always denies a principal that has a
            # permissions boundary, whatever NotPrincipal lists.
            return DIRECT
        excluded = matcher.excludes(caller, all_levels=not self.allow, unique_id=unique_id)
        return NONE if excluded else DIRECT


_COMPILED_LIMIT = 262144
_compiled: dict[tuple[int, ReasonKind, str], tuple[PolicyDocument, tuple[CompiledStatement, ...]]]
_compiled = {}


def compiled_statements(
    document: PolicyDocument, kind: ReasonKind, policy: str
) -> tuple[CompiledStatement, ...]:
    """The document's statements compiled for ``kind`` under the name ``policy``, once per
    document object: an audit builds a policy set for every role and caller, and the same
    parsed documents (immutable, interned by the loaders) come back in thousands of them.
    Keyed by identity (hashing a document walks all of it); the entry holds the document,
    so its id cannot be reused while cached. Bounded: cleared when full."""
    key = (id(document), kind, policy)
    found = _compiled.get(key)
    if found is not None and found[0] is document:
        return found[1]
    statements = tuple(
        CompiledStatement(statement, kind, policy, document.variables_enabled)
        for statement in document.statements
    )
    if len(_compiled) >= _COMPILED_LIMIT:
        _compiled.clear()
    _compiled[key] = (document, statements)
    return statements


class StatementGroup:
    """The statements of one policy kind at one level, indexed by action on demand."""

    __slots__ = ("_by_action", "kind", "name", "statements")

    def __init__(
        self, kind: ReasonKind, name: str, documents: Sequence[tuple[str, PolicyDocument]]
    ) -> None:
        self.kind = kind
        self.name = name
        compiled: list[CompiledStatement] = []
        for policy, document in documents:
            compiled += compiled_statements(document, kind, policy)
        self.statements = tuple(compiled)
        self._by_action: dict[str, tuple[tuple[CompiledStatement, ...], ...]] = {}

    def for_action(
        self, action: str
    ) -> tuple[tuple[CompiledStatement, ...], tuple[CompiledStatement, ...]]:
        """``(denies, allows)`` whose Action/NotAction match ``action`` (lower-cased)."""
        found = self._by_action.get(action)
        if found is None:
            if len(self._by_action) >= _CACHE_LIMIT:
                self._by_action.clear()
            hits = [s for s in self.statements if s.matches_action(action)]
            found = (
                tuple(s for s in hits if not s.allow),
                tuple(s for s in hits if s.allow),
            )
            self._by_action[action] = found
        return found  # type: ignore[return-value]
