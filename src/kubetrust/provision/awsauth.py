"""Edit a cluster's aws-auth ConfigMap by touching only kubetrust's own entries.

The ConfigMap is shared: node roles, administrators, other tools all live in ``mapRoles``,
and one bad edit locks everybody out. So:

- kubetrust's entries are the ``mapRoles`` items whose ``rolearn`` (field name and value
  compared ignoring case, as the authenticator does, reference D.3) is a role kubetrust
  manages; every other item is kept as it was read (as data: YAML comments and formatting
  inside ``mapRoles`` do not survive a rewrite, meanings do), in its place;
- items kubetrust does not understand (not a mapping, no ``rolearn``) are kept too, and
  ``mapUsers``/``mapAccounts`` are never rewritten;
- ``mapRoles`` that is not YAML, or not a list, is refused rather than replaced;
- :func:`locks_out` tells whether an edit changes the mapping the caller itself goes
  through, which apply refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubetrust.model import aws_auth
from kubetrust.model.aws_auth import RoleMapping
from kubetrust.provision.ports import ProvisionError
from kubetrust.yaml_codec import CODEC

NAMESPACE = "kube-system"
NAME = "aws-auth"
_SKIPPABLE = frozenset({"", "``", '""', "''"})


def entries(data: Mapping[str, str], cluster: str) -> list[Any]:
    """The ``mapRoles`` items as read (``[]`` when the key is absent or blank)."""
    text = data.get(aws_auth.MAP_ROLES, "")
    if text.strip() in _SKIPPABLE:
        return []
    try:
        loaded = CODEC.load(text)
    except ValueError as error:
        raise ProvisionError(
            f"aws-auth of cluster `{cluster}`: mapRoles is not valid YAML, refusing to rewrite "
            f"it ({' '.join(str(error).split())[:160]})"
        ) from None
    if loaded is None:
        return []
    if not isinstance(loaded, list):
        raise ProvisionError(
            f"aws-auth of cluster `{cluster}`: mapRoles is not a list, refusing to rewrite it"
        )
    return loaded


def role_arn_of(entry: object) -> str:
    if not isinstance(entry, dict):
        return ""
    for key, value in entry.items():
        if str(key).lower() == "rolearn" and isinstance(value, str):
            return value
    return ""


def _field(entry: dict[Any, Any], name: str) -> object:
    for key, value in entry.items():
        if str(key).lower() == name:
            return value
    return None


def ours(data: Mapping[str, str], role_arn: str, cluster: str) -> list[dict[Any, Any]]:
    """The entries for ``role_arn`` (several if someone duplicated it)."""
    return [
        entry
        for entry in entries(data, cluster)
        if isinstance(entry, dict) and role_arn_of(entry).lower() == role_arn.lower()
    ]


def matches(found: list[dict[Any, Any]], mapping: RoleMapping) -> bool:
    """Whether the live entries are exactly the one desired entry."""
    if len(found) != 1:
        return False
    entry = found[0]
    groups = _field(entry, "groups")
    return (
        role_arn_of(entry) == mapping.role_arn
        and _field(entry, "username") == mapping.username
        and isinstance(groups, list)
        and sorted(map(str, groups)) == sorted(mapping.groups)
    )


def plain(mapping: RoleMapping) -> dict[str, object]:
    return {
        "rolearn": mapping.role_arn,
        "username": mapping.username,
        "groups": list(mapping.groups),
    }


def edit(
    data: Mapping[str, str], role_arn: str, mapping: RoleMapping | None, cluster: str
) -> dict[str, str]:
    """``data`` with the entries of ``role_arn`` replaced by ``mapping`` (removed if
    ``None``), at the place of the first of them; everything else unchanged."""
    kept: list[Any] = []
    position: int | None = None
    for entry in entries(data, cluster):
        if role_arn_of(entry).lower() == role_arn.lower():
            position = len(kept) if position is None else position
            continue
        kept.append(entry)
    if mapping is not None:
        kept.insert(len(kept) if position is None else position, plain(mapping))
    result = dict(data)
    if kept:
        result[aws_auth.MAP_ROLES] = CODEC.dump(kept)
    else:
        result.pop(aws_auth.MAP_ROLES, None)
    return result


def locks_out(before: Mapping[str, str], after: Mapping[str, str], caller: str) -> bool:
    """Whether ``caller`` (a canonical ARN) is mapped by ``before`` and mapped differently,
    or not at all, by ``after``."""
    old, _ = aws_auth.parse_aws_auth(before, CODEC)
    new, _ = aws_auth.parse_aws_auth(after, CODEC)
    was = old.find_role(caller)
    if was is None:
        return False
    now = new.find_role(caller)
    return now is None or (now.username, now.groups) != (was.username, was.groups)
