"""Kubernetes ``Status`` errors: what kubectl reads to print ``Error from server (NotFound)``.

Every failure of the API server is an :class:`ApiError`; ``api`` turns it into a ``Status``
object (kind Status, apiVersion v1, status Failure) with the HTTP code of the reason.
"""

from __future__ import annotations

from typing import Any

_CODES = {
    "BadRequest": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "NotAcceptable": 406,
    "AlreadyExists": 409,
    "Conflict": 409,
    "Expired": 410,
    "Gone": 410,
    "UnsupportedMediaType": 415,
    "Invalid": 422,
    "RequestEntityTooLarge": 413,
    "InternalError": 500,
}


class ApiError(Exception):
    """A request the API server refuses, with the Status ``reason`` and ``details``."""

    def __init__(self, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.details = details
        self.code = _CODES.get(reason, 500)

    def status(self) -> dict[str, Any]:
        """The ``Status`` object of this error."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(group: str, plural: str, name: str) -> dict[str, Any]:
    details: dict[str, Any] = {"name": name, "kind": plural}
    if group:
        details["group"] = group
    return details


def _qualified(group: str, plural: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(group: str, plural: str, name: str) -> ApiError:
    """``pods "x" not found`` (the apiserver's wording: plural, qualified by group)."""
    return ApiError(
        "NotFound", f'{_qualified(group, plural)} "{name}" not found', _details(group, plural, name)
    )


def already_exists(group: str, plural: str, name: str) -> ApiError:
    """``configmaps "x" already exists``."""
    return ApiError(
        "AlreadyExists",
        f'{_qualified(group, plural)} "{name}" already exists',
        _details(group, plural, name),
    )


def conflict(group: str, plural: str, name: str) -> ApiError:
    """An update whose ``resourceVersion`` is not the stored one (optimistic concurrency)."""
    return ApiError(
        "Conflict",
        f'Operation cannot be fulfilled on {_qualified(group, plural)} "{name}": the object '
        "has been modified; please apply your changes to the latest version and try again",
        _details(group, plural, name),
    )


def bad_request(message: str) -> ApiError:
    return ApiError("BadRequest", message)


def invalid(kind: str, group: str, name: str, message: str) -> ApiError:
    """A 422 ``Invalid`` (e.g. a name that is missing or is not a DNS subdomain)."""
    details = {"name": name, "kind": kind, "group": group}
    return ApiError("Invalid", f'{kind} "{name}" is invalid: {message}', details)
