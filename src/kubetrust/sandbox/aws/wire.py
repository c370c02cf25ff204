"""AWS error responses on the wire, in each service's own protocol.

The sandbox gate answers a refused request itself, so the bytes it sends must be the ones
botocore (and the ``aws`` CLI) parse into the same ``ClientError`` a real AWS answer gives:
the same ``Error.Code``, ``Error.Message`` and HTTP status. Each protocol carries the error
differently (botocore ``parsers.py``):

- ``query`` (IAM, STS): an XML ``<ErrorResponse>`` in the service's namespace with
  ``<Error><Type>Sender|Receiver</Type><Code/><Message/></Error><RequestId/>``;
- ``rest-json`` (EKS): the code in the ``x-amzn-ErrorType`` header (botocore reads the
  header first, then ``code``/``__type`` in the body) and the text in the body's
  ``message``;
- ``rest-xml`` (S3): an XML ``<Error><Code/><Message/><RequestId/><HostId/></Error>``,
  request IDs in ``x-amz-request-id`` and ``x-amz-id-2``; a HEAD answer has no body, so
  botocore reports the bare status (``403``/``Forbidden``), exactly as with real S3.

Everything here is pure: values in, ``(status, headers, body)`` out.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import overload
from xml.sax.saxutils import escape

from kubetrust.policy import Decision, access_denied_message

Response = tuple[int, list[tuple[str, str]], bytes]

PROTOCOLS: frozenset[str] = frozenset({"query", "rest-json", "rest-xml"})

QUERY_NAMESPACES: dict[str, str] = {
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
}
"""``xmlns`` of a query-protocol ``ErrorResponse`` (botocore ``metadata.xmlNamespace``)."""

WEB_IDENTITY_DENIED = "Not authorized to perform sts:AssumeRoleWithWebIdentity"
"""STS's text when a web identity token is valid but the role's trust policy refuses it
(reference B.2: wrong ``:sub``/``:aud`` conditions give this ``AccessDenied``)."""

_CODE = re.compile(r"[A-Za-z][A-Za-z0-9.]*\Z")
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+\Z")
XML_INVALID = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class AwsError(Exception):
    """One AWS error: ``code`` (``AccessDenied``), ``message``, HTTP ``status``, and whether
    the caller is at fault (``Sender``) or the service (``Receiver``, query protocol only).

    A value (frozen, compared by its fields) that can also be raised, so code deep in the
    gate can ``raise`` the answer and the top level render it with :func:`render_error`.
    ``details`` are S3's extra ``<Error>`` elements (``Region``, ``HeadersNotSigned``); the
    other protocols have no place for them.
    """

    code: str
    message: str
    status: int
    sender_fault: bool = True
    details: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not _CODE.match(self.code):
            raise ValueError(f"error code `{self.code}` is not an AWS error code")
        if any(not _CODE.match(name) for name, _ in self.details):
            raise ValueError("error detail names must be XML element names")
        if not 300 <= self.status <= 599:
            raise ValueError(f"error status {self.status} is not an HTTP error status")

    def __str__(self) -> str:
        return f"{self.code} ({self.status}): {self.message}"


def render_error(
    protocol: str,
    error: AwsError,
    request_id: str,
    *,
    service: str | None = None,
    head: bool = False,
    host_id: str | None = None,
) -> Response:
    """``(status, headers, body)`` of ``error`` in ``protocol``.

    ``service`` picks the XML namespace of a ``query`` answer (``"sts"`` or ``"iam"``,
    default IAM's, whose shape STS shares); ``head=True`` drops the body, as AWS does for
    HEAD; ``host_id`` is S3's ``x-amz-id-2`` (derived from ``request_id`` when omitted).
    """
    if not _HEADER_SAFE.match(request_id):
        raise ValueError("request id must be printable ASCII without spaces")
    if protocol == "query":
        status, headers, body = _query(error, request_id, service)
    elif protocol == "rest-json":
        status, headers, body = _rest_json(error, request_id)
    elif protocol == "rest-xml":
        status, headers, body = _rest_xml(error, request_id, host_id)
    else:
        raise ValueError(f"unknown protocol `{protocol}`; expected one of {sorted(PROTOCOLS)}")
    if head:
        body = b""
    headers.append(("Content-Length", str(len(body))))
    return status, headers, body


def _query(error: AwsError, request_id: str, service: str | None) -> Response:
    namespace = QUERY_NAMESPACES.get(service or "iam")
    if namespace is None:
        raise ValueError(f"no query-protocol namespace known for service `{service}`")
    kind = "Sender" if error.sender_fault else "Receiver"
    text = (
        f'<ErrorResponse xmlns="{namespace}">\n'
        "  <Error>\n"
        f"    <Type>{kind}</Type>\n"
        f"    <Code>{_xml(error.code)}</Code>\n"
        f"    <Message>{_xml(error.message)}</Message>\n"
        "  </Error>\n"
        f"  <RequestId>{_xml(request_id)}</RequestId>\n"
        "</ErrorResponse>\n"
    )
    headers = [("x-amzn-RequestId", request_id), ("Content-Type", "text/xml")]
    return error.status, headers, text.encode("utf-8")


def _rest_json(error: AwsError, request_id: str) -> Response:
    body = json.dumps({"message": error.message}).encode("utf-8")
    headers = [
        ("x-amzn-RequestId", request_id),
        ("x-amzn-ErrorType", error.code),
        ("Content-Type", "application/json"),
    ]
    return error.status, headers, body


def _rest_xml(error: AwsError, request_id: str, host_id: str | None) -> Response:
    host = host_id if host_id is not None else _host_id(request_id)
    if not _HEADER_SAFE.match(host):
        raise ValueError("host id must be printable ASCII without spaces")
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{_xml(error.code)}</Code><Message>{_xml(error.message)}</Message>"
        + "".join(f"<{name}>{_xml(value)}</{name}>" for name, value in error.details)
        + f"<RequestId>{_xml(request_id)}</RequestId><HostId>{_xml(host)}</HostId></Error>"
    )
    headers = [
        ("x-amz-request-id", request_id),
        ("x-amz-id-2", host),
        ("Content-Type", "application/xml"),
    ]
    return error.status, headers, text.encode("utf-8")


def _host_id(request_id: str) -> str:
    """A stable stand-in for S3's opaque extended request ID (base64, like the real one)."""
    return base64.b64encode(hashlib.sha256(request_id.encode()).digest()).decode()


_CHARACTER_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")


def xml_unsafe(text: str) -> bool:
    """Whether ``text`` (an XML document) holds a character XML 1.0 cannot carry, raw
    or as a character reference (``&#0;``, ``&#x1;``): no parser reads such a document."""
    if XML_INVALID.search(text):
        return True
    return any(not _xml_char(_reference_point(m)) for m in _CHARACTER_REFERENCE.finditer(text))


def xml_sanitized(text: str) -> str:
    """``text`` with every character XML 1.0 cannot carry, raw or referenced, as U+FFFD
    (what :func:`_xml` does to the values the sandbox renders itself)."""
    text = XML_INVALID.sub("\ufffd", text)
    return _CHARACTER_REFERENCE.sub(
        lambda m: m.group(0) if _xml_char(_reference_point(m)) else "&#xFFFD;", text
    )


def _reference_point(found: re.Match[str]) -> int:
    return int(found.group(1), 16) if found.group(1) else int(found.group(2))


def _xml_char(point: int) -> bool:
    """XML 1.0's ``Char`` production."""
    return (
        point in (0x9, 0xA, 0xD)
        or 0x20 <= point <= 0xD7FF
        or 0xE000 <= point <= 0xFFFD
        or (0x10000 <= point <= 0x10FFFF)
    )


def _xml(text: str) -> str:
    """Text escaped for an XML element; characters XML 1.0 cannot carry become U+FFFD."""
    return escape(XML_INVALID.sub("\ufffd", text))


# --------------------------------------------------------------------------- errors


@overload
def access_denied(
    principal: str,
    action: str,
    resource: str,
    decision: Decision,
    /,
    *,
    service: str | None = None,
    resource_account: str | None = None,
) -> AwsError: ...


@overload
def access_denied(
    service: str,
    principal: str,
    action: str,
    resource: str,
    decision: Decision,
    /,
    *,
    resource_account: str | None = None,
) -> AwsError: ...


def access_denied(
    *args: str | Decision,
    service: str | None = None,
    resource_account: str | None = None,
) -> AwsError:
    """AWS's refusal of ``action`` on ``resource`` by ``principal``, in the service's words.

    Called as ``access_denied(principal, action, resource, decision)`` or, naming the
    service that answers, ``access_denied(service, principal, action, resource,
    decision)``. The answering service is the one whose API was called, which is not
    always the action's prefix: EKS refuses a ``CreateCluster`` whose ``iam:PassRole`` is
    denied with an EKS ``AccessDeniedException``. Without ``service`` the action's prefix
    is used.

    - IAM, STS and other query services: ``AccessDenied`` (403) with the IAM message
      ``User: P is not authorized to perform: A on resource: R because no identity-based
      policy allows the A action`` (or ``with an explicit deny in a … policy``), reference
      A.3, from :func:`kubetrust.policy.access_denied_message`.
    - EKS: ``AccessDeniedException`` (403) with the same text (EKS answers show the
      ``because …`` suffix, e.g. for ``eks:DescribeCluster``).
    - S3: ``AccessDenied`` (403). S3's current form (S3 User Guide, "Troubleshoot access
      denied (403 Forbidden) errors": *additional context* for requests to resources in the
      caller's own account or organization) quotes the resource:
      ``User: P is not authorized to perform: s3:GetObject on resource:
      "arn:aws:s3:::b/k" because no identity-based policy allows the s3:GetObject action``.
      Other callers still get the classic ``Access Denied``. Organizations are not
      modelled: the long form is used when ``resource_account`` (the bucket owner) is the
      principal's account, the classic one otherwise (including when it is unknown).
    """
    if len(args) == 5:
        service, args = _text(args[0], "service"), args[1:]
    if len(args) != 4 or not isinstance(args[3], Decision):
        raise TypeError("access_denied([service,] principal, action, resource, decision)")
    principal = _text(args[0], "principal")
    action = _text(args[1], "action")
    resource = _text(args[2], "resource")
    decision = args[3]
    answering = (service or action.split(":", 1)[0]).lower()
    if answering == "s3":
        if resource_account is not None and resource_account == _account_of(principal):
            text = access_denied_message(decision, principal, action, f'"{resource}"')
            return AwsError("AccessDenied", text, 403)
        return AwsError("AccessDenied", "Access Denied", 403)
    text = access_denied_message(decision, principal, action, resource)
    if answering == "eks":
        return AwsError("AccessDeniedException", text, 403)
    if answering == "eks-auth":  # its model gives AccessDeniedException status 400
        return AwsError("AccessDeniedException", text, 400)
    return AwsError("AccessDenied", text, 403)


def _text(value: str | Decision, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"access_denied: {what} must be a string")
    return value


def _account_of(principal: str) -> str | None:
    """The account field of an ARN, or ``None`` for anything else."""
    parts = principal.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn":
        return parts[4]
    return None
