"""List calls page as AWS pages them (reference H.4).

IAM pages with ``Marker``/``IsTruncated``/``MaxItems`` (default 100 items, 1–1000), EKS
with ``nextToken``/``maxResults`` (default 100, 1–100). The range of ``MaxItems`` and
``maxResults`` is checked with the rest of a call's parameters (:mod:`.params`, from the
models: AWS's ``ValidationError``/``InvalidParameterException``).

Who pages what (probe of moto 5.2.5):

- moto pages IAM ``ListRoles``, ``ListPolicies``, ``ListAttachedRolePolicies``,
  ``ListRoleTags`` and EKS ``ListClusters`` itself, with AWS's default of 100;
- moto returns every item of :data:`IAM_UNPAGED` at once (``IsTruncated`` false, ``Marker``
  ignored): with ``aws_page_sizes`` on, :func:`page_iam_answer` pages moto's answer;
- ``ListOpenIDConnectProviders`` has no paging in AWS either (its model has no ``Marker``);
  ``ListAccessKeys`` pages, but a user holds at most two keys;
- the sandbox's own EKS lists (access entries, associated access policies, Pod Identity
  associations, add-ons) page through ``services.eks.model``'s helper with AWS's default;
  :func:`page_bounds` is the same arithmetic, for any list still to page.

The marker is opaque to clients, as AWS's is; [uncertain] an IAM ``Marker`` the sandbox
did not issue is refused with :data:`INVALID_MARKER` (AWS's wording is not documented).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence

from kubetrust.sandbox.aws import wire

__all__ = [
    "IAM_DEFAULT_MAX_ITEMS",
    "IAM_UNPAGED",
    "INVALID_MARKER",
    "decode_marker",
    "encode_marker",
    "page_bounds",
    "page_iam_answer",
]

IAM_DEFAULT_MAX_ITEMS = 100
"""IAM's page size when ``MaxItems`` is not given (every IAM list API's reference)."""
IAM_UNPAGED: Mapping[str, tuple[str, ...]] = {
    "ListUsers": ("Users",),
    "ListRolePolicies": ("PolicyNames",),
    "ListUserPolicies": ("PolicyNames",),
    "GetAccountAuthorizationDetails": (
        "UserDetailList",
        "GroupDetailList",
        "RoleDetailList",
        "Policies",
    ),
}
"""IAM list calls moto answers in one piece, and the result's lists they page (one
sequence across several lists for ``GetAccountAuthorizationDetails``, in this order)."""
INVALID_MARKER = wire.AwsError("ValidationError", "Invalid Marker", 400)
_MARKER_PREFIX = "kubetrust-sandbox:"
_TAG = re.compile(rb"<(/?)([A-Za-z][\w.-]*)(?:\s[^>]*?)?(/?)>")


def encode_marker(index: int) -> str:
    """The opaque marker of the item at ``index``."""
    return base64.urlsafe_b64encode(f"{_MARKER_PREFIX}{index}".encode()).decode("ascii")


def decode_marker(marker: str | None) -> int:
    """The index a marker of :func:`encode_marker` names (0 without one)."""
    if not marker:
        return 0
    try:
        text = base64.urlsafe_b64decode(marker.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise INVALID_MARKER from None
    index = text.removeprefix(_MARKER_PREFIX)
    if not text.startswith(_MARKER_PREFIX) or not index.isdigit():
        raise INVALID_MARKER
    return int(index)


def page_bounds(total: int, start: int, size: int) -> tuple[int, int, int | None]:
    """``(first, end, next)`` of the page of ``size`` items from ``start`` in a list of
    ``total``; ``next`` is ``None`` on the last page."""
    first = min(max(start, 0), total)
    end = min(first + size, total)
    return first, end, end if end < total else None


def page_iam_answer(operation: str, form: Mapping[str, Sequence[str]], body: bytes) -> bytes:
    """moto's whole answer to one of :data:`IAM_UNPAGED`, cut to the page the call's
    ``Marker`` and ``MaxItems`` ask for, with ``IsTruncated`` and ``Marker`` as IAM sets
    them. Other answers are returned unchanged."""
    lists = IAM_UNPAGED.get(operation)
    if lists is None:
        return body
    size = int(_first(form, "MaxItems") or IAM_DEFAULT_MAX_ITEMS)  # range: params.py
    start = decode_marker(_first(form, "Marker"))
    spans = _member_spans(body, frozenset(lists))
    first, end, following = page_bounds(len(spans), start, size)
    dropped = spans[:first] + spans[end:]
    for low, high in reversed(dropped):
        body = body[:low] + body[high:]
    return _truncation(operation, body, following)


def _first(form: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


def _member_spans(body: bytes, lists: frozenset[str]) -> list[tuple[int, int]]:
    """The byte spans of the ``<member>`` elements directly inside the elements named in
    ``lists`` (at any depth, nested lists of the same name excluded), in document order."""
    spans: list[tuple[int, int]] = []
    stack: list[bytes] = []
    opened_at = 0
    for tag in _TAG.finditer(body):
        closing, name, self_closing = tag.group(1), tag.group(2), tag.group(3)
        if self_closing:
            if name == b"member" and _in_list(stack, lists):
                spans.append((tag.start(), tag.end()))
            continue
        if not closing:
            if name == b"member" and _in_list(stack, lists):
                opened_at = tag.start()
            stack.append(name)
            continue
        if stack and stack[-1] == name:
            stack.pop()
            if name == b"member" and _in_list(stack, lists):
                spans.append((opened_at, tag.end()))
    return spans


def _in_list(stack: list[bytes], lists: frozenset[str]) -> bool:
    """Whether the element on top of ``stack`` is one of ``lists`` and no outer element is
    a member (a top-level list of the result, not one inside an item)."""
    return (
        bool(stack)
        and stack[-1].decode("ascii", "replace") in lists
        and b"member" not in stack[:-1]
    )


def _truncation(operation: str, body: bytes, following: int | None) -> bytes:
    """``IsTruncated`` (and ``Marker``) of the page: moto wrote ``IsTruncated`` false."""
    truncated = b"true" if following is not None else b"false"
    marker = b"" if following is None else f"<Marker>{encode_marker(following)}</Marker>".encode()
    body = re.sub(rb"<Marker>[^<]*</Marker>|<Marker\s*/>", b"", body)
    shown = b"<IsTruncated>" + truncated + b"</IsTruncated>" + marker
    replaced, count = re.subn(rb"<IsTruncated>[^<]*</IsTruncated>", shown, body, count=1)
    if count:
        return replaced
    closing = f"</{operation}Result>".encode()
    return body.replace(closing, shown + closing, 1)
