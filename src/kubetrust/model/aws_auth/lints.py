"""Lints on the entries the authenticator keeps but that cannot work as written: it keeps
them silently, we report them (a session ARN or a role path in ``rolearn``, no username,
duplicates where only the last counts, user ARNs differing only in case).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from kubetrust import arn, errors

from .mappings import Problem, RoleMapping, UserMapping

_M = TypeVar("_M")


def role_lints(mapping: RoleMapping, where: str) -> list[Problem]:
    """Kept entries that cannot work as written (the authenticator keeps them silently)."""
    problems = _username_lints(mapping.username, where)
    if mapping.sso is not None and mapping.sso.partition:
        problems.append(
            Problem(
                f"{where}.sso.partition",
                "the authenticator leaves the partition out of the SSO pattern when one is "
                "given, so this entry never matches",
            )
        )
    if not mapping.role_arn:
        return problems
    reason = _role_arn_never_matches(mapping.role_arn)
    if reason is not None:
        problems.append(Problem(f"{where}.rolearn", f"{reason}; this entry never matches"))
    return problems


def _role_arn_never_matches(text: str) -> str | None:
    """Why a ``rolearn`` can never equal a caller's canonical ARN (reference D.3), if so."""
    try:
        parsed = arn.parse(text)
    except errors.InvalidArnError as error:
        return f"`{text}` is not an ARN ({error.reason})"
    if parsed.service == "sts" and parsed.resource_type == "assumed-role":
        return "a session ARN; callers are looked up by their role ARN"
    if parsed.service == "iam" and parsed.resource_type == "role" and parsed.path != "/":
        return (
            f"the role ARN has the path `{parsed.path}`; a caller's canonical ARN never "
            "carries one (EKS: the role ARN can't include a path)"
        )
    return None


def user_lints(mapping: UserMapping, where: str) -> list[Problem]:
    problems = _username_lints(mapping.username, where)
    try:
        arn.parse(mapping.user_arn)
    except errors.InvalidArnError as error:
        problems.append(
            Problem(f"{where}.userarn", f"not an ARN ({error.reason}); this entry never matches")
        )
    return problems


def _username_lints(username: str, where: str) -> list[Problem]:
    if username:
        return []
    return [
        Problem(
            f"{where}.username",
            "no username: the authenticator accepts the entry and maps it to an empty username",
        )
    ]


def duplicates(
    entries: Sequence[tuple[str, _M]], key: Callable[[_M], str], field: str
) -> list[Problem]:
    """Entries whose key an earlier entry has: ``saveMap`` keeps the last of them."""
    first: dict[str, str] = {}
    problems: list[Problem] = []
    for where, mapping in entries:
        name = key(mapping)
        if name in first:
            problems.append(
                Problem(
                    where,
                    f"same {field} as {first[name]}; the authenticator keeps only the last",
                )
            )
        else:
            first[name] = where
    return problems


def case_variants(users: Sequence[tuple[str, UserMapping]]) -> list[Problem]:
    """User ARNs that differ only in case: both kept, and the authenticator picks either."""
    seen: dict[str, tuple[str, str]] = {}
    problems: list[Problem] = []
    for where, mapping in users:
        folded = mapping.user_arn.lower()
        if folded in seen and seen[folded][1] != mapping.user_arn:
            problems.append(
                Problem(
                    where,
                    f"userarn differs only in case from {seen[folded][0]}; both match the same "
                    "caller and the authenticator picks either (we take the last)",
                )
            )
        seen.setdefault(folded, (where, mapping.user_arn))
    return problems
