"""The query protocol's own reading of a request (IAM, STS): which ``Action``, which parameters.

A query-protocol call names its operation in the ``Action`` parameter and carries every
input as a flat ``name=value`` form (botocore ``serialize.py``, ``QuerySerializer``): lists
as ``Name.member.N``, maps such as tags as ``Tags.member.N.Key``/``.Value``. The services'
own mappings (:mod:`kubetrust.sandbox.aws.services.sts.actions`,
:mod:`kubetrust.sandbox.aws.services.iam.actions`) read their parameters through these
helpers, so the protocol is decoded in one place.
"""

from __future__ import annotations

import re

from kubetrust.sandbox.aws.operations.model import Params

_ACTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*\Z")


def action(query: Params, form: Params) -> str | None:
    """The ``Action`` of a query-protocol request (body first, as botocore sends it)."""
    for params in (form, query):
        values = params.get("Action")
        if values:
            return values[0] if _ACTION_NAME.match(values[0]) else None
    return None


def parameters(query: Params, form: Params) -> dict[str, list[str]]:
    """A query call's parameters: the query string merged with the form, the form winning
    (the ``Action`` is read the same way, :func:`action`)."""
    merged: dict[str, list[str]] = {k: list(v) for k, v in query.items()}
    merged.update({k: list(v) for k, v in form.items()})
    return merged


def member_list(params: Params, prefix: str, suffix: str = "") -> list[str]:
    """Query-protocol list ``Prefix.member.N[suffix]`` in ``N`` order (``suffix`` names a
    field of structure members, e.g. ``PolicyArns.member.1.arn``). ``N`` is ASCII digits:
    a key such as ``Tags.member.².Key`` is not a member (``str.isdigit`` would take it and
    ``int`` then fail)."""
    found: dict[int, str] = {}
    pattern = re.compile(re.escape(prefix) + r"\.member\.([0-9]+)" + re.escape(suffix) + r"\Z")
    for key, values in params.items():
        m = pattern.match(key)
        if m and values:
            found[int(m.group(1))] = values[0]
    return [found[i] for i in sorted(found)]


def tags(params: Params) -> dict[str, str]:
    """Query-protocol ``Tags.member.N.Key``/``.Value`` pairs."""
    keys: dict[int, str] = {}
    values: dict[int, str] = {}
    pattern = re.compile(r"Tags\.member\.([0-9]+)\.(Key|Value)\Z")
    for name, items in params.items():
        m = pattern.match(name)
        if m and items:
            (keys if m.group(2) == "Key" else values)[int(m.group(1))] = items[0]
    return {keys[i]: values.get(i, "") for i in sorted(keys)}
