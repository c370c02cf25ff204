"""RBAC privilege-escalation prevention, as pure functions (upstream ``rbac/validation``).

Kubernetes lets a user write a Role or ClusterRole, or a binding, only when that grants
nothing the user does not already hold ("Privilege escalation prevention and bootstrapping"
in the RBAC docs; upstream ``pkg/registry/rbac/validation/rule.go`` ``ConfirmNoEscalation``
and ``policy_comparator.go`` ``Covers``), unless the user may ``escalate`` the role or
``bind`` the referenced role — those verbs are asked of the whole authorizer chain, so the
caller does that (the sandbox's ``escalation`` module); this module answers the rest:

- :func:`covers`: every permission of some rules is held by other rules, upstream's
  ``Covers``: each rule is broken down into (group, resource, verb[, name]) and
  (URL, verb) atoms, and each atom must be held by one owner rule — ``*`` in verbs, groups
  and resources, ``*/sub`` for subresources, URL prefixes ``/x*``, and resourceNames (an
  owner rule with names holds only those names) as upstream ``ruleCovers``.
- :func:`escalation_error`: upstream's message when they are not: ``user "u"
  (groups=["a" "b"]) is attempting to grant RBAC permissions not currently held:`` then one
  ``CompactString`` per missing atom, sorted.

The rules a user holds are :func:`kubetrust.chain.rbac.rules_for` (RBAC only: EKS access
policies are a webhook authorizer, and upstream's rule resolver cannot list them).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from kubetrust.model.kube import PolicyRule

ALL = "*"
FULL_AUTHORITY: tuple[PolicyRule, ...] = (
    PolicyRule(verbs=(ALL,), api_groups=(ALL,), resources=(ALL,)),
    PolicyRule(verbs=(ALL,), non_resource_urls=(ALL,)),
)
"""What an ``aggregationRule`` needs (upstream ``fullAuthority``): it can gather anything."""


def breakdown(rule: PolicyRule) -> tuple[PolicyRule, ...]:
    """Upstream ``BreakdownRule``: one rule per (group, resource, verb[, name]) and per
    (URL, verb). A resource rule without groups or resources grants nothing, so yields
    nothing."""
    atoms: list[PolicyRule] = []
    for group in rule.api_groups:
        for resource in rule.resources:
            for verb in rule.verbs:
                names = rule.resource_names or ("",)
                for name in names:
                    atoms.append(
                        PolicyRule(
                            verbs=(verb,),
                            api_groups=(group,),
                            resources=(resource,),
                            resource_names=(name,) if name else (),
                        )
                    )
    for url in rule.non_resource_urls:
        for verb in rule.verbs:
            atoms.append(PolicyRule(verbs=(verb,), non_resource_urls=(url,)))
    return tuple(atoms)


def _has_all(values: Sequence[str], wanted: Sequence[str]) -> bool:
    return all(value in values for value in wanted)


def _resources_cover(owned: Sequence[str], wanted: Sequence[str]) -> bool:
    """Upstream ``resourceCoversAll``: ``*``, the exact name, or ``*/sub`` for ``x/sub``."""
    if ALL in owned or _has_all(owned, wanted):
        return True
    for resource in wanted:
        if resource in owned:
            continue
        if "/" not in resource or f"*/{resource.split('/', 1)[1]}" not in owned:
            return False
    return True


def _url_covers(owned: str, wanted: str) -> bool:
    """Upstream ``nonResourceURLCovers``: equal, or ``/x*`` as a prefix."""
    return owned == wanted or (owned.endswith(ALL) and wanted.startswith(owned.rstrip(ALL)))


def rule_covers(owner: PolicyRule, atom: PolicyRule) -> bool:
    """Upstream ``ruleCovers``: does ``owner`` hold the whole of ``atom`` (a broken-down
    rule)? An owner rule with resourceNames holds only named atoms of those names."""
    verbs = ALL in owner.verbs or _has_all(owner.verbs, atom.verbs)
    groups = ALL in owner.api_groups or _has_all(owner.api_groups, atom.api_groups)
    resources = _resources_cover(owner.resources, atom.resources)
    urls = all(
        any(_url_covers(o, u) for o in owner.non_resource_urls) for u in atom.non_resource_urls
    )
    if atom.resource_names:
        names = not owner.resource_names or _has_all(owner.resource_names, atom.resource_names)
    else:
        names = not owner.resource_names
    return verbs and groups and resources and urls and names


def covers(
    owned: Iterable[PolicyRule], wanted: Iterable[PolicyRule]
) -> tuple[bool, tuple[PolicyRule, ...]]:
    """Upstream ``Covers``: ``(True, ())`` when ``owned`` holds every permission of
    ``wanted``, else ``(False, the atoms not held)``."""
    owners = tuple(owned)
    missing = tuple(
        atom
        for rule in wanted
        for atom in breakdown(rule)
        if not any(rule_covers(owner, atom) for owner in owners)
    )
    return not missing, missing


def go_quote(value: str) -> str:
    """Go's ``%q`` of a string, for the characters names hold (``"`` and ``\\`` escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _go_list(values: Sequence[str]) -> str:
    """Go's ``%q`` of a ``[]string``: ``["a" "b"]``."""
    return "[" + " ".join(go_quote(value) for value in values) + "]"


def compact_string(rule: PolicyRule) -> str:
    """Upstream ``rbacv1helpers.CompactString``: ``{APIGroups:[""], Resources:["pods"],
    Verbs:["get"]}`` — only the fields that are set, in this order."""
    parts = [
        f"{label}:{_go_list(values)}"
        for label, values in (
            ("APIGroups", rule.api_groups),
            ("Resources", rule.resources),
            ("NonResourceURLs", rule.non_resource_urls),
            ("ResourceNames", rule.resource_names),
            ("Verbs", rule.verbs),
        )
        if values
    ]
    return "{" + ", ".join(parts) + "}"


def compact(atoms: Iterable[PolicyRule]) -> tuple[PolicyRule, ...]:
    """Upstream ``CompactRules``: resource atoms that differ only in verb become one rule
    with their verbs in order (repeats kept, as upstream appends); URL atoms stay apart."""
    merged: dict[tuple[tuple[str, ...], ...], list[str]] = {}
    others: list[PolicyRule] = []
    for atom in atoms:
        if atom.non_resource_urls:
            others.append(atom)
            continue
        key = (atom.api_groups, atom.resources, atom.resource_names)
        merged.setdefault(key, []).extend(atom.verbs)
    simple = (PolicyRule(tuple(verbs), key[0], key[1], key[2]) for key, verbs in merged.items())
    return (*others, *simple)


def escalation_error(user: str, groups: Sequence[str], missing: Iterable[PolicyRule]) -> str:
    """Upstream ``ConfirmNoEscalation``'s message: the missing atoms compacted, one
    ``CompactString`` per line, sorted and de-duplicated (upstream's ``sets.String``)."""
    lines = sorted({compact_string(rule) for rule in compact(missing)})
    return (
        f"user {go_quote(user)} (groups={_go_list(groups)}) is attempting to grant RBAC "
        "permissions not currently held:\n" + "\n".join(lines)
    )
