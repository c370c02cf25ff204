"""Request bodies in, JSON out: decoding, shape limits, and the checks against the URL.

The apiserver decodes by ``Content-Type``: JSON (the default when none is sent), YAML, or
protobuf for built-in kinds; anything else is 415. A body that does not parse is 400.
Python's decoders accept more than Go's (``NaN``, YAML timestamps and binary, non-string
keys, aliases that expand exponentially, nesting deep enough to exhaust the stack), so every
decoded body is normalised into plain JSON data within fixed depth and size limits here,
before any other code sees it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

import yaml
from werkzeug.datastructures import Headers
from werkzeug.exceptions import ClientDisconnected
from werkzeug.wrappers import Request, Response

from kubetrust.sandbox.host.http import BodyTooLarge
from kubetrust.sandbox.kube import patch, protowire, resources, status
from kubetrust.sandbox.kube.routing import Target

PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON = "application/json"
YAML = "application/yaml"
MAX_BODY = 3 * 1024 * 1024  # the apiserver's request size limit
MAX_DEPTH = 64
MAX_NODES = 200_000
Obj = dict[str, Any]


def json_response(body: Any, code: int = 200) -> Response:
    return Response(json.dumps(body), status=code, content_type=JSON)


def media_type(request: Request, default: str = JSON) -> str:
    return (request.headers.get("Content-Type") or default).split(";")[0].strip().lower()


def unsupported_media(*accepted: str) -> status.ApiError:
    return status.ApiError(
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        + ", ".join(accepted),
    )


def read(request: Request, kind: str = "") -> Any:
    """The body of a create or update as JSON data (see module doc). Protobuf is read for
    the kinds :mod:`~kubetrust.sandbox.kube.protowire` has tables for."""
    data = raw(request)
    media = media_type(request)
    if media == PROTOBUF and kind in protowire.KINDS:
        return normalise(decode_protobuf(data, kind))
    if media in (JSON, "*/*"):
        return parse_json(data)
    if media in (YAML, "application/x-yaml", "text/yaml"):
        return parse_yaml(data)
    raise unsupported_media(JSON, YAML, PROTOBUF)


def decode_protobuf(data: bytes, kind: str) -> dict[str, Any]:
    """A protobuf body of ``kind`` as JSON data: 400 BadRequest if it does not parse, 415
    UnsupportedMediaType (with JSON and YAML as the accepted types) if it holds a field
    :mod:`~kubetrust.sandbox.kube.protowire` does not read, rather than storing the object
    without it; the module doc of ``protowire`` says why, and what the apiserver does."""
    try:
        return protowire.decode(data, kind)
    except protowire.UnknownField as exc:
        raise status.ApiError(
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - {exc} - accepted media "
            f"types include: {JSON}, {YAML}",
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise status.bad_request(f"cannot decode the protobuf body: {exc}") from None


def read_patch(request: Request) -> Any:
    """The body of a PATCH: JSON whatever the patch type (415 for types not served is
    :func:`~kubetrust.sandbox.kube.patch.apply`'s job, after this)."""
    media = media_type(request, "")
    if media not in (patch.MERGE, patch.STRATEGIC, patch.JSON_PATCH):
        raise unsupported_media(patch.JSON_PATCH, patch.MERGE, patch.STRATEGIC)
    return parse_json(raw(request))


def _too_large() -> status.ApiError:
    """The apiserver's answer to a body past its limit (``apierrors.
    NewRequestEntityTooLargeError``: 413, reason ``RequestEntityTooLarge``)."""
    return status.ApiError(
        "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_BODY}"
    )


def raw(request: Request) -> bytes:
    if (request.content_length or 0) > MAX_BODY:
        raise _too_large()
    try:
        data = request.get_data(cache=False)
    except BodyTooLarge:  # a chunked body past the listener's limit (sandbox.http)
        raise _too_large() from None
    except (OSError, ClientDisconnected) as exc:  # broken chunked framing, a short body
        reason = str(exc) if isinstance(exc, OSError) else "it ended before its Content-Length"
        raise status.bad_request(f"the request body could not be read: {reason}") from None
    if len(data) > MAX_BODY:
        raise _too_large()
    return data


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(data: bytes) -> Any:
    """JSON as Go's decoder reads it: no ``NaN``/``Infinity``; empty means null."""
    try:
        value = json.loads(data or b"null", parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise status.bad_request(f"the request body is not valid JSON: {_short(exc)}") from None
    return normalise(value)


def parse_yaml(data: bytes) -> Any:
    try:
        value = yaml.safe_load(data or b"null")
    except Exception as exc:  # PyYAML raises more than YAMLError on hostile input
        raise status.bad_request(f"the request body is not valid YAML: {_short(exc)}") from None
    return normalise(value)


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def normalise(value: Any) -> Any:
    """Plain JSON data (see module doc): YAML timestamps become RFC 3339 strings, binary
    base64, keys strings; 400 beyond ``MAX_DEPTH`` nesting or ``MAX_NODES`` values."""
    budget = [MAX_NODES]
    return _normalise(value, 0, budget)


def _normalise(value: Any, depth: int, budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise status.bad_request("the request body is too large")
    if depth > MAX_DEPTH:
        raise status.bad_request(f"the request body is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        return {_key(k): _normalise(v, depth + 1, budget) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_normalise(item, depth + 1, budget) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise status.bad_request("the request body holds a number JSON cannot represent")
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if value is None or isinstance(value, str | int | float):
        return value
    raise status.bad_request(f"the request body holds an unsupported value {type(value)}")


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, str | int | float):
        return str(key)
    raise status.bad_request("the request body holds a key that is not a string")


def prepare(resource: resources.Resource, found: Target, body: Any) -> Obj:
    """Check a body against the URL (kind, apiVersion, namespace) and fill what is implied."""
    if not isinstance(body, dict):
        raise status.bad_request("the request body must be a JSON object")
    if (
        body.get("kind", resource.kind) != resource.kind
        or body.get("apiVersion", resource.group_version) != resource.group_version
    ):
        raise status.bad_request(
            f"the API version in the data ({body.get('apiVersion')}) does not match the "
            f"expected API version ({resource.group_version})"
        )
    body["kind"], body["apiVersion"] = resource.kind, resource.group_version
    metadata = body.setdefault("metadata", {})
    if metadata is None:
        metadata = body["metadata"] = {}
    if not isinstance(metadata, dict):
        raise status.bad_request("metadata must be an object")
    if resource.namespaced:
        given = metadata.get("namespace")
        if given and given != found.namespace:
            raise status.bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        metadata["namespace"] = found.namespace
    if not metadata.get("name") and not metadata.get("generateName"):
        raise status.invalid(
            resource.kind,
            resource.group,
            "",
            "metadata.name: Required value: name or generateName is required",
        )
    return body


def check_name(obj: Obj, name: str) -> None:
    """Upstream ``checkName`` on a patched object: a patch cannot rename its object or
    leave it without a name (a merge patch nulling ``metadata``, a top-level
    ``$retainKeys`` without it). 400 BadRequest with the apiserver's wording (the
    ``name must be provided`` text is the namer's ``errEmptyName``)."""
    metadata = obj.get("metadata")
    given = metadata.get("name") if isinstance(metadata, dict) else None
    if not given:
        raise status.bad_request(
            f"the name of the object ({name} based on URL) was undeterminable: "
            "name must be provided"
        )
    if given != name:
        raise status.bad_request(
            f"the name of the object ({given}) does not match the name on the URL ({name})"
        )


def delete_options(request: Request) -> str:
    """The ``propagationPolicy`` of a DELETE (body ``DeleteOptions`` or query);
    ``Background`` when none is given, as for every kind served here."""
    policy: Any = request.args.get("propagationPolicy")
    if request.content_length or request.headers.get("Transfer-Encoding"):
        body = parse_json(raw(request)) if media_type(request) != PROTOBUF else None
        if body is not None and not isinstance(body, dict):
            raise status.bad_request("the DeleteOptions must be a JSON object")
        policy = (body or {}).get("propagationPolicy") or policy
    if policy is None or policy in ("Background", "Foreground"):
        return "Background"
    if policy == "Orphan":
        return "Orphan"
    raise status.invalid(
        "DeleteOptions",
        "",
        "",
        f'propagationPolicy: Unsupported value: "{policy}": supported values: "Foreground", '
        '"Background", "Orphan"',
    )


class HeaderView(Mapping[str, str]):
    """Request headers as a read-only, case-insensitive ``Mapping`` (what ``authenticate``
    takes), so authenticators need not know werkzeug."""

    def __init__(self, headers: Headers) -> None:
        self._headers = headers

    def __getitem__(self, name: str) -> str:
        value = self._headers.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(key.lower() for key, _ in self._headers.items()))

    def __len__(self) -> int:
        return len(dict.fromkeys(key.lower() for key, _ in self._headers.items()))
