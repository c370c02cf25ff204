"""moto's answer to an authorized call, as IAM and S3 answer it.

The gate hands moto the request it authorized (:mod:`kubetrust.sandbox.aws.forward`) and,
for a successful call, passes moto's answer through :func:`answer` before the client sees it:

- every trust policy IAM returns (``AssumeRolePolicyDocument`` in ``GetRole``,
  ``ListRoles``, ``GetAccountAuthorizationDetails``, the instance-profile reads) and the
  bucket policy of ``GetBucketPolicy`` is the document as IAM/S3 holds it
  (:meth:`policy_writes.PrincipalBindings.effective_document`, what enforcement uses): a
  role or user deleted since the document was saved shows as its stale unique id
  (reference A.8), so ``kubetrust snapshot --sandbox`` exports what the sandbox enforces;
- every policy document in an IAM answer is URL-encoded (RFC 3986), as IAM encodes them
  ("Policies returned by this operation are URL-encoded compliant with RFC 3986", the
  ``GetAccountAuthorizationDetails`` reference); moto encodes only some of them
  (``GetRole``: yes, ``ListRoles``: no). SDKs decode either, so only raw readers see it;
- ``CreateUser`` gives the user a unique id of IAM's form (``AIDA…``, :func:`state.adopt_user_id`)
  before the answer names it, and ``PutBucketPolicy`` binds the stored policy's
  principals (:meth:`policy_writes.PrincipalBindings.bind_bucket_policy`);
- with realism's ``aws_page_sizes``, the IAM lists moto answers whole are paged as IAM
  pages them (:func:`kubetrust.sandbox.aws.paging.page_iam_answer`);
- a user's permissions boundary, which moto does not keep: ``CreateUser`` records it,
  ``DeleteUser`` drops it, and ``GetUser``, ``CreateUser`` and
  ``GetAccountAuthorizationDetails`` show it (:class:`user_boundaries.UserBoundaries`).

Fidelity gap: between moto creating a user and this hook, a concurrent call could read
moto's own id for it (the window is one function call; no key can exist yet).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from kubetrust import arn as arns
from kubetrust.sandbox.aws import paging, policy_writes, state
from kubetrust.sandbox.aws.services.iam.user_boundaries import UserBoundaries, call_parameters

if TYPE_CHECKING:
    from kubetrust.sandbox.aws.forward import Target
    from kubetrust.sandbox.aws.request import RawRequest

_DOCUMENTS = ("AssumeRolePolicyDocument", "PolicyDocument", "Document")
_ELEMENT = re.compile(
    rb"<(?P<tag>" + "|".join(_DOCUMENTS).encode() + rb")(?:\s*/>|>(?P<text>.*?)</(?P=tag)>)",
    re.DOTALL,
)
_USER_ID = re.compile(rb"<UserId>[^<]*</UserId>")


def answer(
    target: Target,
    request: RawRequest,
    body: bytes,
    bindings: policy_writes.PrincipalBindings,
    user_boundaries: UserBoundaries,
) -> bytes:
    """moto's successful answer ``body`` to the authorized call, as AWS answers it."""
    if target.service == "s3":
        return _s3(target, request, body, bindings)
    if target.service == "iam":
        if target.operation == "CreateUser":
            body = _adopt_user_id(target.account, body)
        form = call_parameters(request)
        user_boundaries.stored(target.operation, form, target.account)
        body = user_boundaries.shown(target.operation, target.account, body)
        if target.aws_page_sizes:  # moto answers some lists whole (reference H.4)
            body = paging.page_iam_answer(target.operation, form, body)
        return _iam_documents(body, bindings)
    return body


# --------------------------------------------------------------------------- S3


def _s3(
    target: Target, request: RawRequest, body: bytes, bindings: policy_writes.PrincipalBindings
) -> bytes:
    bucket = unquote(target.raw_path.lstrip("/").split("/", 1)[0])
    if not bucket:
        return body
    if target.operation == "PutBucketPolicy":
        bindings.bind_bucket_policy(target.account, bucket, request.body.decode("utf-8"))
    if target.operation == "GetBucketPolicy":
        shown = bindings.effective_bucket_policy(target.account, bucket, body.decode("utf-8"))
        return shown.encode("utf-8")
    return body


# --------------------------------------------------------------------------- IAM


def _adopt_user_id(account: str, body: bytes) -> bytes:
    name = _first_text(body, "UserName")
    new_id = state.adopt_user_id(account, name) if name else None
    if new_id is None:
        return body
    return _USER_ID.sub(f"<UserId>{new_id}</UserId>".encode(), body, count=1)


def _first_text(body: bytes, local_name: str) -> str | None:
    root = _parse(body)
    if root is None:
        return None
    for element in root.iter():
        if _local(element.tag) == local_name:
            return element.text
    return None


def _iam_documents(body: bytes, bindings: policy_writes.PrincipalBindings) -> bytes:
    """Every policy document of an IAM answer as IAM returns it (module doc)."""
    if _ELEMENT.search(body) is None:
        return body
    root = _parse(body)
    if root is None:
        return body
    shown = iter(_shown_documents(root, bindings))

    def swap(match: re.Match[bytes]) -> bytes:
        text = next(shown, None)
        if text is None:
            return match.group(0)
        tag = match.group("tag")
        return b"<" + tag + b">" + text.encode("ascii") + b"</" + tag + b">"

    return _ELEMENT.sub(swap, body)


def _shown_documents(
    root: ET.Element, bindings: policy_writes.PrincipalBindings
) -> list[str | None]:
    """The encoded document of each document element, in document order (the order in
    which :data:`_ELEMENT` meets them); ``None`` keeps an element as moto wrote it."""
    parents = {child: parent for parent in root.iter() for child in parent}
    shown: list[str | None] = []
    for element in root.iter():
        tag = _local(element.tag)
        if tag not in _DOCUMENTS:
            continue
        if not element.text:
            shown.append(None)
            continue
        document = _decoded(element.text)
        if tag == "AssumeRolePolicyDocument":
            document = _effective_trust(parents.get(element), document, bindings)
        shown.append(quote(document, safe=""))
    return shown


def _decoded(text: str) -> str:
    """The JSON text of a document moto wrote raw or URL-encoded (a JSON document starts
    with ``{``, which URL encoding never leaves as it is)."""
    stripped = text.lstrip()
    return text if stripped.startswith("{") else unquote(text)


def _effective_trust(
    role: ET.Element | None, document: str, bindings: policy_writes.PrincipalBindings
) -> str:
    """The trust of the role element ``role`` (its ``Arn`` names account and name)."""
    role_arn = None
    for child in role if role is not None else ():
        if _local(child.tag) == "Arn":
            role_arn = child.text
    if not role_arn:
        return document
    try:
        parsed = arns.parse(role_arn)
    except Exception:  # moto wrote an ARN we cannot read: show its document as it is
        return document
    return bindings.effective(parsed.account, parsed.resource_name, document)


def _parse(body: bytes) -> ET.Element | None:
    try:
        return ET.fromstring(body)
    except ET.ParseError:
        return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
