"""Query parameters as the apiserver decodes them (``metav1`` ``ListOptions``,
``DeleteOptions`` through the parameter codec), so that odd values fail as they do there.

- Integers (``timeoutSeconds``, ``limit``, ``gracePeriodSeconds``) are Go's
  ``strconv.ParseInt(s, 10, 64)``: an optional sign and decimal digits, within int64. Anything
  else — ``nan``, ``1.5``, ``0x10``, ``""``, a 20-digit number — is a 400 ``BadRequest`` whose
  message is Go's error: ``strconv.ParseInt: parsing "nan": invalid syntax`` (kubernetes#101350
  shows this answer for ``timeoutSeconds=0.1s``).
- Booleans (``watch``, ``allowWatchBookmarks``, ``sendInitialEvents``, ``orphanDependents``)
  are ``runtime.Convert_Slice_string_To_bool``: present and not ``0``/``false`` (any case)
  means true — ``watch=yes`` and even ``watch=`` are watches — so they never fail.
- ``resourceVersion`` of a list or watch must be an unsigned integer; upstream's etcd
  versioner answers ``resourceVersion: Invalid value: "x": strconv.ParseUint: parsing "x":
  invalid syntax`` (kubernetes#113939; its status code has varied between releases, here 400).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from kubetrust.sandbox.kube import status

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
UINT64_MAX = 2**64 - 1
_SIGNED = re.compile(r"[+-]?[0-9]+")
_UNSIGNED = re.compile(r"[0-9]+")


def parse_int(text: str) -> int:
    """Go's ``strconv.ParseInt(text, 10, 64)``; 400 with its error text otherwise."""
    if not (text.isascii() and _SIGNED.fullmatch(text)):
        raise status.bad_request(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    value = int(text)
    if not INT64_MIN <= value <= INT64_MAX:
        raise status.bad_request(f'strconv.ParseInt: parsing "{text}": value out of range')
    return value


def int_param(args: Mapping[str, str], name: str) -> int | None:
    """An int64 query parameter, ``None`` when absent (the first value counts)."""
    text = args.get(name)
    return None if text is None else parse_int(text)


def bool_param(args: Mapping[str, str], name: str) -> bool:
    """A boolean query parameter as upstream converts it (module doc)."""
    text = args.get(name)
    return text is not None and text != "0" and text.lower() != "false"


def resource_version(args: Mapping[str, str]) -> int | None:
    """The ``resourceVersion`` of a list or watch (``""``/absent: ``None``)."""
    text = args.get("resourceVersion") or ""
    if not text:
        return None
    if not (text.isascii() and _UNSIGNED.fullmatch(text)) or int(text) > UINT64_MAX:
        reason = "value out of range" if text.isdigit() else "invalid syntax"
        raise status.bad_request(
            f'resourceVersion: Invalid value: "{text}": strconv.ParseUint: parsing "{text}": '
            f"{reason}"
        )
    return int(text)


@dataclass(frozen=True, slots=True)
class ListOptions:
    """What a list or watch asks beyond its selectors (upstream ``ListOptions``)."""

    watch: bool
    timeout_seconds: int | None
    limit: int | None
    resource_version: int | None
    bookmarks: bool
    initial_events: bool


def list_options(args: Mapping[str, str]) -> ListOptions:
    """Decode (and so check) every numeric and boolean option of a list or watch."""
    return ListOptions(
        watch=bool_param(args, "watch"),
        timeout_seconds=int_param(args, "timeoutSeconds"),
        limit=int_param(args, "limit"),
        resource_version=resource_version(args),
        bookmarks=bool_param(args, "allowWatchBookmarks"),
        initial_events=bool_param(args, "sendInitialEvents"),
    )
