"""REST routes (EKS, S3) derived from botocore's service models.

Each operation's ``http`` trait (method, ``requestUri`` with its ``{param}``/``{Key+}`` labels
and literal query keys) and the required query and header members of its input shape make
one route; :func:`match_route` picks the best match for a request.
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubetrust.sandbox.aws import wire
from kubetrust.sandbox.aws.operations import model
from kubetrust.sandbox.aws.services.s3 import actions

# --------------------------------------------------------------------------- REST routes


@dataclass(frozen=True, slots=True)
class _Route:
    """One REST operation's route, from its botocore ``http`` trait and input shape."""

    name: str
    method: str
    decoded: re.Pattern[str]
    raw: re.Pattern[str]
    literal_segments: int
    query_literals: tuple[tuple[str, str | None], ...]
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]


_SKIPPED_ROUTES: dict[str, frozenset[str]] = {
    # S3 Express (directory buckets) and Object Lambda use their own hosts; routing them on
    # a general endpoint would shadow ListBuckets (`GET /`) and a bucket named after them.
    "s3": frozenset({"ListDirectoryBuckets", "CreateSession", "WriteGetObjectResponse"}),
}

_LABEL = re.compile(r"\{([A-Za-z0-9_]+)(\+?)\}")


@functools.cache
def _routes(service: str) -> tuple[_Route, ...]:
    service_model = model.service_model(service)
    skipped = _SKIPPED_ROUTES.get(service, frozenset())
    routes = []
    for name in service_model.operation_names:
        operation = service_model.operation_model(name)
        if name in skipped or operation.deprecated:
            continue
        uri = str(operation.http["requestUri"])
        path, _, query = uri.partition("?")
        segments = [s for s in path.split("/") if s]
        literals = tuple(_query_literal(item) for item in query.split("&") if item)
        required_query, required_headers = _required_members(operation)
        routes.append(
            _Route(
                name=name,
                method=str(operation.http["method"]).upper(),
                decoded=_path_pattern(segments, raw=False),
                raw=_path_pattern(segments, raw=True),
                literal_segments=sum(1 for s in segments if not _LABEL.fullmatch(s)),
                query_literals=literals,
                required_query=required_query,
                required_headers=required_headers,
            )
        )
    return tuple(routes)


def _query_literal(item: str) -> tuple[str, str | None]:
    key, sep, value = item.partition("=")
    return key, (value if sep else None)


def _required_members(operation: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Wire names of the required query-string and header members of the input."""
    shape = operation.input_shape
    if shape is None:
        return (), ()
    query: list[str] = []
    headers: list[str] = []
    for member in shape.required_members:
        serialization = shape.members[member].serialization
        location = serialization.get("location")
        wire = str(serialization.get("name", member))
        if location == "querystring":
            query.append(wire)
        elif location == "header":
            headers.append(wire.lower())
    return tuple(query), tuple(headers)


def _path_pattern(segments: list[str], *, raw: bool) -> re.Pattern[str]:
    """A regex for a ``requestUri`` path; labels become named groups.

    On a decoded path a non-greedy label that holds an ARN (``principalArn``,
    ``resourceArn``) may span ``/``: it matches ``arn:…`` lazily, so the longest literal
    tail wins. On a raw path every label is one segment (its ``/`` arrive as ``%2F``).
    """
    parts = []
    for segment in segments:
        label = _LABEL.fullmatch(segment)
        if label is None:
            parts.append(re.escape(segment))
        elif label.group(2):
            parts.append(f"(?P<{label.group(1)}>.+)")
        elif not raw and label.group(1).lower().endswith("arn"):
            parts.append(f"(?P<{label.group(1)}>arn:.+?)")
        else:
            parts.append(f"(?P<{label.group(1)}>[^/]+)")
    return re.compile("/" + "/".join(parts) + ("/?" if parts else "") + r"\Z")


def match_route(
    service: str,
    method: str,
    path: str,
    query: model.Params,
    headers: Mapping[str, str],
    host: str,
    raw_path: str | None,
) -> tuple[str, dict[str, str]] | None:
    """The best route for a request: ``(operation name, decoded labels)``.

    A candidate must match method, path and the route's literal query keys. Among those,
    one whose required query/header members are all present beats one missing some (so a
    ``PUT`` with ``x-amz-copy-source`` is ``CopyObject``, without it ``PutObject``); then
    more literal path segments, literal query keys and satisfied requirements win.

    S3 routes by its sub-resource keys only: a request naming two of them is refused as S3
    refuses it (:func:`_refuse_conflicting_selectors`), and the ``x-id`` parameter newer
    SDKs add (``?delete&x-id=DeleteObjects``) is an annotation, never a route: it once
    named the operation here, so ``PUT /b?policy&x-id=PutBucketTagging`` was authorized as
    ``PutBucketTagging`` while the sub-resource key made it ``PutBucketPolicy``.
    [uncertain] S3's answer to an ``x-id`` naming another operation is not documented;
    routing by the sub-resource keys as if it were absent is what SDK-compatible servers do.
    """
    lower_headers = {k.lower(): v for k, v in headers.items()}
    if service == "s3":
        _refuse_conflicting_selectors(query)
        path, raw_path = actions.s3_routed_paths(host, path, raw_path)
    best: tuple[tuple[int, int, int, int], str, dict[str, str]] | None = None
    for route in _routes(service):
        if route.method != method.upper():
            continue
        labels = _match_path(route, path, raw_path)
        if labels is None or not _has_literals(route, query):
            continue
        wanted = [q for q in route.required_query] + [h for h in route.required_headers]
        present = [q for q in route.required_query if query.get(q)]
        present += [h for h in route.required_headers if h in lower_headers]
        score = (
            int(len(present) == len(wanted)),
            route.literal_segments,
            len(route.query_literals),
            len(present),
        )
        if best is None or score > best[0]:
            best = (score, route.name, labels)
    if best is None:
        return None
    return best[1], best[2]


def rest_path(service: str, name: str, labels: Mapping[str, str]) -> str:
    """The raw path of REST operation ``name`` with its decoded ``labels``, encoded as the
    SDKs encode them (every reserved character of a label, ``/`` included, as ``%XX``;
    ``/`` kept in a greedy ``{Key+}``): the one spelling of the resource the gate
    authorized. A second router reading the client's own spelling (moto reads a trailing
    ``/`` into a tag ARN, and drops a ``;…`` suffix as URL parameters) could name another
    resource than the one authorized; this spelling it reads as the gate did.
    ``KeyError`` when a label of the route is missing (never for a routed request)."""
    operation = model.service_model(model.known_service(service)).operation_model(name)
    template = str(operation.http["requestUri"]).partition("?")[0]

    def label(found: re.Match[str]) -> str:
        safe = "/" if found.group(2) else ""
        return urllib.parse.quote(labels[found.group(1)], safe=safe)

    return _LABEL.sub(label, template)


@functools.cache
def s3_selectors() -> frozenset[str]:
    """S3's sub-resource keys: each literal query key of a route (``acl``, ``tagging``,
    ``uploads``, …) that selects an operation by its presence, and ``uploadId`` (the
    multipart sub-resource). ``list-type=2`` and ``select-type=2`` qualify a selector by
    their value and are not selectors themselves; ``versionId`` and ``partNumber`` name a
    version or part of whatever the selector addresses."""
    keys = {key for route in _routes("s3") for key, value in route.query_literals if value is None}
    return frozenset(keys | {"uploadId"})


def s3_operation_query_keys(name: str) -> frozenset[str]:
    """The query keys S3 operation ``name`` has: its route's literal keys and its
    ``querystring`` members (wire names). Nothing else of a client's query reaches moto,
    whose S3 picks its own operation from whichever sub-resource key it sees first."""
    literals = {
        key for route in _routes("s3") if route.name == name for key, _ in route.query_literals
    }
    return frozenset(literals) | model.members("s3", name).query


def _refuse_conflicting_selectors(query: model.Params) -> None:
    """S3 refuses a request naming two sub-resources (``PUT /b?tagging&policy``) before
    anything else, with ``InvalidArgument``, the keys in sorted order, and the first one
    as ``ArgumentValue`` of ``ArgumentName`` ``ResourceType``. [uncertain] The shape is
    what S3-compatible servers report having measured against S3 (``Conflicting query
    string parameters: acl, versioning``, both orders; ``uploads&uploadId`` conflicts); AWS
    documents no list of sub-resource keys. Any order of precedence among them would let
    an authorizer and an executor that read them differently disagree."""
    present = sorted(key for key in query if key in s3_selectors())
    if len(present) > 1:
        raise wire.AwsError(
            "InvalidArgument",
            f"Conflicting query string parameters: {', '.join(present)}",
            400,
            details=(("ArgumentName", "ResourceType"), ("ArgumentValue", present[0])),
        )


def _match_path(route: _Route, path: str, raw_path: str | None) -> dict[str, str] | None:
    if raw_path is not None:
        found = route.raw.match(raw_path)
        if found is None:
            return None
        return {k: urllib.parse.unquote(v) for k, v in found.groupdict().items()}
    found = route.decoded.match(path)
    return None if found is None else dict(found.groupdict())


def _has_literals(route: _Route, query: model.Params) -> bool:
    for key, value in route.query_literals:
        values = query.get(key)
        if values is None or (value is not None and value not in values):
            return False
    return True
