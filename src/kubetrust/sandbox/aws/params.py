"""AWS's model validation of request parameters, at the gate, once for every operation.

AWS's front ends check every request against the service's API model before the service
runs (and before it authorizes: a ``GetRole`` of an invalid name is a ``ValidationError``
whoever asks): required members, string lengths, patterns and enum values, integer
ranges, list sizes. moto checks almost none of it, so without this an empty ``RoleName``
created a role, an empty ``UserName`` read a user, and a NUL in a name came back inside an
error body no client could parse. Rather than patch each call, every IAM and EKS request
is checked here against botocore's model of its operation — the same model the clients
serialize from — and refused with every violated constraint at once:

    1 validation error detected: Value 'x' at 'roleName' failed to satisfy constraint:
    Member must satisfy regular expression pattern: [\\w+=,.@-]+

(reference B.1; the shape STS and IAM answer, quoted from public reports). Member names
are the model's in lower camel case; a list item is ``<list>.<n>.member`` (``tags.1.member.key``,
as IAM names them); a sensitive member is reported without its value. Patterns are Java
regular expressions (AWS's services are Java): ``\\w`` is ASCII, and ``\\p{L}``, ``\\p{Z}``,
``\\p{N}`` (tag keys and values) are Unicode categories, which Python's ``re`` lacks.

IAM answers ``ValidationError``; [uncertain] EKS's answer to a model violation is not
reported publicly: ``InvalidParameterException`` (EKS's code for a bad parameter) with the
same message. STS checks its own parameters (:mod:`.services.sts.params`), S3 is left alone
(its errors are per-parameter, not model validation).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import botocore.session

from kubetrust.sandbox.aws import wire

Params = Mapping[str, Sequence[str]]
_ERRORS = {
    "iam": ("ValidationError", 400),
    "eks": ("InvalidParameterException", 400),
    "eks-auth": ("InvalidParameterException", 400),  # [unconfirmed] EKS Auth models no other
}
_SCALARS = frozenset({"string", "integer", "long"})


@functools.cache
def _model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def check_query(service: str, operation: str, params: Params) -> None:
    """Refuse a query-protocol call (IAM) whose form breaks its operation's model."""
    shape = _input(service, operation)
    if shape is None:
        return
    problems: list[str] = []
    for name, member in shape.members.items():
        key = str(member.serialization.get("name", name))
        _query_member(member, key, _label(name), name in shape.required_members, params, problems)
    _raise(service, problems)


def check_rest_json(
    service: str,
    operation: str,
    labels: Mapping[str, str],
    query: Params,
    headers: Mapping[str, str],
    body: Mapping[str, Any] | None,
) -> None:
    """Refuse a rest-json call (EKS) whose path labels, query, headers or JSON body break
    its operation's model. ``headers`` are lower-cased."""
    shape = _input(service, operation)
    if shape is None:
        return
    problems: list[str] = []
    for name, member in shape.members.items():
        required = name in shape.required_members
        value = _rest_value(member, name, labels, query, headers, body or {})
        _json_member(member, value, _label(name), required, problems)
    _raise(service, problems)


def _input(service: str, operation: str) -> Any:
    service_model = _model(service)
    if operation not in service_model.operation_names:
        return None
    return service_model.operation_model(operation).input_shape


def _raise(service: str, problems: list[str]) -> None:
    if not problems:
        return
    code, status = _ERRORS.get(service, _ERRORS["iam"])
    noun = "error" if len(problems) == 1 else "errors"
    message = f"{len(problems)} validation {noun} detected: " + "; ".join(problems)
    raise wire.AwsError(code, message, status)


def _label(name: str) -> str:
    """The member's name in AWS's messages: lower camel case (``RoleName`` → ``roleName``)."""
    return name[:1].lower() + name[1:]


# --------------------------------------------------------------------------- query protocol


def _query_member(
    shape: Any, key: str, label: str, required: bool, params: Params, problems: list[str]
) -> None:
    """One member as botocore's query serializer writes it: a scalar under ``key``, a list
    under ``key.member.N``, a structure's members under ``key.<Member>``."""
    kind = shape.type_name
    if kind == "list":
        _query_list(shape, key, label, required, params, problems)
    elif kind == "structure":
        prefix = key + "."
        if not any(k.startswith(prefix) for k in params):
            if required:
                problems.append(_null(label))
            return
        for name, member in shape.members.items():
            sub = f"{prefix}{member.serialization.get('name', name)}"
            sub_label = f"{label}.{_label(name)}"
            _query_member(member, sub, sub_label, name in shape.required_members, params, problems)
    elif kind in _SCALARS:
        values = params.get(key)
        if not values:
            if required:
                problems.append(_null(label))
            return
        _scalar(shape, values[0], label, problems)


def _query_list(
    shape: Any, key: str, label: str, required: bool, params: Params, problems: list[str]
) -> None:
    flattened = bool(shape.serialization.get("flattened"))
    prefix = f"{key}." if flattened else f"{key}.member."
    indices = sorted(
        {int(found.group(1)) for k in params if (found := _index(k, prefix)) is not None}
    )
    if not indices:
        if key not in params and required:  # botocore sends `Key=` for an empty list
            problems.append(_null(label))
        elif key in params:
            _count(shape, 0, label, problems)
        return
    _count(shape, len(indices), label, problems)
    for index in indices:
        _query_member(
            shape.member, f"{prefix}{index}", f"{label}.{index}.member", True, params, problems
        )


_INDEX = re.compile(r"([0-9]{1,9})(?:\.|\Z)")


def _index(key: str, prefix: str) -> re.Match[str] | None:
    """The list index of a ``<prefix><N>[.…]`` parameter key."""
    return _INDEX.match(key, len(prefix)) if key.startswith(prefix) else None


# --------------------------------------------------------------------------- rest-json


def _rest_value(
    member: Any,
    name: str,
    labels: Mapping[str, str],
    query: Params,
    headers: Mapping[str, str],
    body: Mapping[str, Any],
) -> Any:
    """Where a rest-json member travels: a path label, a query parameter, a header or a
    member of the JSON body."""
    location = member.serialization.get("location", "")
    wire_name = str(member.serialization.get("name", name))
    if location == "uri":
        return labels.get(wire_name)
    if location == "querystring":
        values = query.get(wire_name)
        if not values:
            return None
        return list(values) if member.type_name == "list" else values[0]
    if location == "header":
        return headers.get(wire_name.lower())
    return body.get(wire_name)


def _json_member(shape: Any, value: Any, label: str, required: bool, problems: list[str]) -> None:
    if value is None:
        if required:
            problems.append(_null(label))
        return
    kind = shape.type_name
    if kind == "list" and isinstance(value, list):
        _count(shape, len(value), label, problems)
        for index, item in enumerate(value, start=1):
            _json_member(shape.member, item, f"{label}.{index}.member", False, problems)
    elif kind == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            sub = value.get(str(member.serialization.get("name", name)))
            sub_label = f"{label}.{_label(name)}"
            _json_member(member, sub, sub_label, name in shape.required_members, problems)
    elif kind == "map" and isinstance(value, dict):
        _count(shape, len(value), label, problems)
    elif kind == "string" and isinstance(value, str):
        _scalar(shape, value, label, problems)
    elif (
        kind in ("integer", "long") and isinstance(value, int | str) and not isinstance(value, bool)
    ):
        _scalar(shape, str(value), label, problems)


# --------------------------------------------------------------------------- constraints


def _null(label: str) -> str:
    return f"Value null at '{label}' failed to satisfy constraint: Member must not be null"


def _count(shape: Any, found: int, label: str, problems: list[str]) -> None:
    """A list's or map's size ([uncertain] AWS renders the list value; it is left out)."""
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    head = f"Value at '{label}' failed to satisfy constraint: Member must have length "
    if low is not None and found < low:
        problems.append(head + f"greater than or equal to {low}")
    elif high is not None and found > high:
        problems.append(head + f"less than or equal to {high}")


def _scalar(shape: Any, value: str, label: str, problems: list[str]) -> None:
    if shape.type_name in ("integer", "long"):
        _number(shape, value, label, problems)
        return
    sensitive = bool(shape.metadata.get("sensitive"))
    shown = f"Value at '{label}'" if sensitive else f"Value '{value}' at '{label}'"
    head = f"{shown} failed to satisfy constraint: Member must "
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and len(value) < low:
        problems.append(head + f"have length greater than or equal to {low}")
    elif high is not None and len(value) > high:
        problems.append(head + f"have length less than or equal to {high}")
    pattern = shape.metadata.get("pattern")
    if pattern and not _matcher(str(pattern))(value):
        problems.append(head + f"satisfy regular expression pattern: {pattern}")
    enum = shape.enum
    if enum and value not in enum:
        problems.append(head + f"satisfy enum value set: [{', '.join(enum)}]")


def _number(shape: Any, value: str, label: str, problems: list[str]) -> None:
    text = value.strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,19}", text):
        # [uncertain] AWS's wording for a number that does not parse is not reported
        problems.append(
            f"Value '{value}' at '{label}' failed to satisfy constraint: Member must be a number"
        )
        return
    number = int(text)
    head = f"Value '{number}' at '{label}' failed to satisfy constraint: Member must have value "
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and number < low:
        problems.append(head + f"greater than or equal to {low}")
    elif high is not None and number > high:
        problems.append(head + f"less than or equal to {high}")


_CATEGORY = re.compile(r"\\p\{([A-Z])\}")
_CLASS_ONLY = re.compile(r"\A\[(?P<body>.*)\](?P<repeat>[*+])\Z", re.DOTALL)


@functools.cache
def _matcher(pattern: str) -> Callable[[str], bool]:
    """A full-match test for a model pattern, read as Java reads it (module doc).

    A pattern with ``\\p{X}`` classes is one character class repeated (all of them in
    the IAM and STS models: ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*``): each character is tested
    by its Unicode category or against the rest of the class. A pattern Python cannot
    compile is not checked (fail-safe: the service behind decides)."""
    categories = frozenset(_CATEGORY.findall(pattern))
    if categories:
        whole = _CLASS_ONLY.match(pattern)
        if whole is None:
            return lambda value: True
        rest = _compile(f"[{_CATEGORY.sub('', whole.group('body'))}]")
        if rest is None:
            return lambda value: True
        at_least = 1 if whole.group("repeat") == "+" else 0

        def in_class(value: str) -> bool:
            return len(value) >= at_least and all(
                unicodedata.category(c)[0] in categories or rest.fullmatch(c) for c in value
            )

        return in_class
    compiled = _compile(pattern)
    if compiled is None:
        return lambda value: True
    return lambda value: compiled.fullmatch(value) is not None


def _compile(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern, re.ASCII)
    except re.error:
        return None
