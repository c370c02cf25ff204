"""S3 (rest-xml): actions, resources and extras of its calls, and virtual-hosted buckets."""

from __future__ import annotations

import functools
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from xml.etree import ElementTree

from kubetrust.sandbox.aws.operations import model

# --------------------------------------------------------------------------- S3

_S3_ACTIONS: dict[str, str] = {
    # operation → IAM action (SAR "Amazon S3"; botocore s3 model "Permissions" sections)
    "ListBuckets": "s3:ListAllMyBuckets",
    "CreateBucket": "s3:CreateBucket",
    "DeleteBucket": "s3:DeleteBucket",
    "HeadBucket": "s3:ListBucket",
    "GetBucketLocation": "s3:GetBucketLocation",
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "GetBucketPolicy": "s3:GetBucketPolicy",
    "PutBucketPolicy": "s3:PutBucketPolicy",
    "DeleteBucketPolicy": "s3:DeleteBucketPolicy",
    "GetBucketPolicyStatus": "s3:GetBucketPolicyStatus",
    "GetBucketAcl": "s3:GetBucketAcl",
    "PutBucketAcl": "s3:PutBucketAcl",
    "GetBucketTagging": "s3:GetBucketTagging",
    "PutBucketTagging": "s3:PutBucketTagging",
    "DeleteBucketTagging": "s3:PutBucketTagging",
    "GetBucketVersioning": "s3:GetBucketVersioning",
    "PutBucketVersioning": "s3:PutBucketVersioning",
    "GetBucketCors": "s3:GetBucketCORS",
    "PutBucketCors": "s3:PutBucketCORS",
    "DeleteBucketCors": "s3:PutBucketCORS",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
    "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "GetBucketOwnershipControls": "s3:GetBucketOwnershipControls",
    "PutBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "DeleteBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "GetBucketWebsite": "s3:GetBucketWebsite",
    "PutBucketWebsite": "s3:PutBucketWebsite",
    "DeleteBucketWebsite": "s3:DeleteBucketWebsite",
    "GetBucketLogging": "s3:GetBucketLogging",
    "PutBucketLogging": "s3:PutBucketLogging",
    "GetBucketNotificationConfiguration": "s3:GetBucketNotification",
    "PutBucketNotificationConfiguration": "s3:PutBucketNotification",
    "GetBucketReplication": "s3:GetReplicationConfiguration",
    "PutBucketReplication": "s3:PutReplicationConfiguration",
    "DeleteBucketReplication": "s3:PutReplicationConfiguration",
    "GetBucketRequestPayment": "s3:GetBucketRequestPayment",
    "PutBucketRequestPayment": "s3:PutBucketRequestPayment",
    "GetBucketAccelerateConfiguration": "s3:GetAccelerateConfiguration",
    "PutBucketAccelerateConfiguration": "s3:PutAccelerateConfiguration",
    "GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "PutObjectLockConfiguration": "s3:PutBucketObjectLockConfiguration",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CopyObject": "s3:PutObject",
    "DeleteObject": "s3:DeleteObject",
    "DeleteObjects": "s3:DeleteObject",
    "GetObjectAcl": "s3:GetObjectAcl",
    "PutObjectAcl": "s3:PutObjectAcl",
    "GetObjectTagging": "s3:GetObjectTagging",
    "PutObjectTagging": "s3:PutObjectTagging",
    "DeleteObjectTagging": "s3:DeleteObjectTagging",
    "GetObjectAttributes": "s3:GetObjectAttributes",
    "GetObjectRetention": "s3:GetObjectRetention",
    "PutObjectRetention": "s3:PutObjectRetention",
    "GetObjectLegalHold": "s3:GetObjectLegalHold",
    "PutObjectLegalHold": "s3:PutObjectLegalHold",
    "RestoreObject": "s3:RestoreObject",
    "SelectObjectContent": "s3:GetObject",
    "GetObjectTorrent": "s3:GetObjectTorrent",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "UploadPartCopy": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "ListParts": "s3:ListMultipartUploadParts",
}
_S3_VERSIONED: dict[str, str] = {
    # with a versionId, these authorize the version action instead (model docs)
    "GetObject": "s3:GetObjectVersion",
    "HeadObject": "s3:GetObjectVersion",
    "DeleteObject": "s3:DeleteObjectVersion",
    "GetObjectAcl": "s3:GetObjectVersionAcl",
    "PutObjectAcl": "s3:PutObjectVersionAcl",
    "GetObjectTagging": "s3:GetObjectVersionTagging",
    "PutObjectTagging": "s3:PutObjectVersionTagging",
    "DeleteObjectTagging": "s3:DeleteObjectVersionTagging",
    "GetObjectAttributes": "s3:GetObjectVersionAttributes",
}
_S3_LIST_KEYS = {"prefix": "s3:prefix", "delimiter": "s3:delimiter", "max-keys": "s3:max-keys"}
_S3_HEADER_KEYS = (
    "x-amz-acl",
    "x-amz-copy-source",
    "x-amz-metadata-directive",
    "x-amz-server-side-encryption",
)
_ACL_HEADERS = (
    "x-amz-acl",
    "x-amz-grant-full-control",
    "x-amz-grant-read",
    "x-amz-grant-read-acp",
    "x-amz-grant-write",
    "x-amz-grant-write-acp",
)
_AWS_S3_HOST = re.compile(
    r"(?P<bucket>.+?)\.s3(?:[.-](?:dualstack|fips|accelerate|[a-z]{2}(?:-[a-z]+)+-\d))*"
    r"\.amazonaws\.com(?:\.cn)?\Z"
)
LOCAL_S3_HOST_SUFFIXES: tuple[str, ...] = (".s3.localhost", ".localhost")
"""Virtual-hosted bucket hosts the sandbox accepts besides AWS's own
(``bucket.localhost:port``, as botocore builds them for ``addressing_style="virtual"``)."""


def operation(req: model.Request) -> model.Operation:
    """S3 (SAR "Amazon S3"; the botocore ``s3`` model's "Permissions" sections).

    Resources: ``*`` for ``ListBuckets`` (``s3:ListAllMyBuckets``), ``arn:aws:s3:::BUCKET``
    for bucket operations, ``arn:aws:s3:::BUCKET/KEY`` for object operations. Operations
    whose action differs from their name: ``HeadBucket`` and the object listings →
    ``s3:ListBucket``; ``HeadObject`` → ``s3:GetObject``; uploads and copies →
    ``s3:PutObject``; ``Delete*`` of bucket configurations → the matching ``Put*``; with
    ``versionId`` → the ``…Version…`` actions. Extras: ``CopyObject``/``UploadPartCopy``
    read the ``x-amz-copy-source`` object (``s3:GetObject``, or ``s3:GetObjectVersion``);
    ACL headers add ``s3:PutObjectAcl``/``s3:PutBucketAcl``, ``x-amz-tagging`` adds
    ``s3:PutObjectTagging``, ``CreateBucket`` with object lock or ownership headers adds
    what its documentation lists. ``DeleteObjects`` authorizes ``s3:DeleteObject`` (or
    ``s3:DeleteObjectVersion``) on every key of its XML body (``bucket/*`` when the body is
    not given). S3 ARNs carry no account: ``resource_account`` is ``None``.
    """
    name = req.name
    bucket = req.param("Bucket")
    key = req.param("Key")
    version = req.param("versionId")
    inferred = name not in _S3_ACTIONS
    action = _S3_ACTIONS.get(name, f"s3:{name}")
    if version and name in _S3_VERSIONED:
        action = _S3_VERSIONED[name]
    context = _s3_context(req)
    if name == "ListBuckets" or bucket is None:
        return _s3_operation(req, action, ["*"], [], context, inferred)
    bucket_arn = f"arn:{req.partition}:s3:::{bucket}"
    if name == "DeleteObjects":
        return _s3_delete_objects(req, bucket_arn, context)
    resource = bucket_arn if key is None else f"{bucket_arn}/{key}"
    extra = _s3_extras(req, bucket_arn, resource)
    return _s3_operation(req, action, [resource], extra, context, inferred)


def _s3_operation(
    req: model.Request,
    action: str,
    resources: Sequence[str],
    extra: Sequence[model.Authorization],
    context: Mapping[str, object],
    inferred: bool,
) -> model.Operation:
    """S3 resources have no account: the gate resolves the bucket owner."""
    star = list(resources) == ["*"]
    return model.Operation(
        service=req.service,
        name=req.name,
        action=action,
        resources=tuple(resources),
        account_scoped_resource=star,
        resource_account=req.account if star else None,
        extra=tuple(extra),
        context=dict(context),
        inferred=inferred,
    )


def _s3_extras(req: model.Request, bucket_arn: str, resource: str) -> list[model.Authorization]:
    name, headers = req.name, req.headers
    extra: list[model.Authorization] = []
    if name in ("CopyObject", "UploadPartCopy") and "x-amz-copy-source" in headers:
        source, version = _copy_source(req, headers["x-amz-copy-source"])
        action = "s3:GetObjectVersion" if version else "s3:GetObject"
        extra.append(
            model.Authorization(action, source, {"s3:versionid": version} if version else {})
        )
    writes_object = name in ("PutObject", "CopyObject", "CreateMultipartUpload")
    if writes_object and any(h in headers for h in _ACL_HEADERS):
        extra.append(model.Authorization("s3:PutObjectAcl", resource))
    if writes_object and "x-amz-tagging" in headers:
        extra.append(model.Authorization("s3:PutObjectTagging", resource))
    if name == "CreateBucket":
        acl = headers.get("x-amz-acl", "private")
        if acl != "private" or any(h in headers for h in _ACL_HEADERS[1:]):
            extra.append(model.Authorization("s3:PutBucketAcl", bucket_arn))
        if headers.get("x-amz-bucket-object-lock-enabled", "").lower() == "true":
            extra.append(model.Authorization("s3:PutBucketObjectLockConfiguration", bucket_arn))
            extra.append(model.Authorization("s3:PutBucketVersioning", bucket_arn))
        if "x-amz-object-ownership" in headers:
            extra.append(model.Authorization("s3:PutBucketOwnershipControls", bucket_arn))
    return extra


def _copy_source(req: model.Request, header: str) -> tuple[str, str | None]:
    """``(source object ARN, version)`` of ``x-amz-copy-source`` (``/bucket/key?versionId=``,
    URL-encoded; or an access-point object ARN, kept as is)."""
    source, _, query = header.partition("?")
    version = urllib.parse.parse_qs(query).get("versionId", [None])[0]
    source = urllib.parse.unquote(source).lstrip("/")
    if source.startswith("arn:"):
        return source, version
    return f"arn:{req.partition}:s3:::{source}", version


def _s3_delete_objects(
    req: model.Request, bucket_arn: str, context: Mapping[str, object]
) -> model.Operation:
    pairs = _delete_keys(req.body)
    if pairs is None:
        return _s3_operation(req, "s3:DeleteObject", [f"{bucket_arn}/*"], [], context, False)
    plain = [f"{bucket_arn}/{key}" for key, version in pairs if version is None]
    versioned = [
        model.Authorization(
            "s3:DeleteObjectVersion", f"{bucket_arn}/{key}", {"s3:versionid": version}
        )
        for key, version in pairs
        if version is not None
    ]
    if plain:
        return _s3_operation(req, "s3:DeleteObject", plain, versioned, context, False)
    if versioned:
        first, rest = versioned[0], versioned[1:]
        ctx = {**context, **first.context}
        return _s3_operation(req, first.action, [first.resource], rest, ctx, False)
    return _s3_operation(req, "s3:DeleteObject", [f"{bucket_arn}/*"], [], context, False)


def _delete_keys(body: bytes | None) -> list[tuple[str, str | None]] | None:
    """``(key, versionId)`` of each ``<Object>`` in a ``DeleteObjects`` body."""
    if not body:
        return None
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None
    pairs: list[tuple[str, str | None]] = []
    for element in root.iter():
        if _local(element.tag) != "Object":
            continue
        key = version = None
        for child in element:
            if _local(child.tag) == "Key":
                key = child.text or ""
            elif _local(child.tag) == "VersionId":
                version = child.text
        if key is not None:
            pairs.append((key, version))
    return pairs


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _s3_context(req: model.Request) -> dict[str, object]:
    context: dict[str, object] = {}
    if req.name in ("ListObjects", "ListObjectsV2", "ListObjectVersions"):
        for param, key in _S3_LIST_KEYS.items():
            value = req.param(param)
            if value is not None:
                context[key] = value
    version = req.param("versionId")
    if version and req.param("Key") is not None:
        context["s3:versionid"] = version
    for header in _S3_HEADER_KEYS:
        if header in req.headers:
            context[f"s3:{header}"] = req.headers[header]
    return context


@functools.cache
def _declared_amz_headers() -> frozenset[str]:
    """Every ``x-amz-*`` header some S3 operation declares as an input member."""
    return frozenset(
        header
        for name in model.operation_names("s3")
        for header in model.members("s3", name).headers
        if header.startswith("x-amz-")
    )


def s3_foreign_header(operation: str, header: str) -> bool:
    """Whether ``header`` is an input of some other S3 operation but not of ``operation``:
    ``x-amz-copy-source`` on anything but ``CopyObject``/``UploadPartCopy``. moto's S3
    picks its operation from such headers too (a ``PUT`` with ``x-amz-copy-source`` is a
    copy), so moto only ever sees the ones the authorized operation has. Headers no
    operation declares (``x-amz-content-sha256``, ``x-amz-meta-*``, ``Content-*``) are
    framing and metadata, kept."""
    lower = header.lower()
    if lower not in _declared_amz_headers():
        return False
    return lower not in model.members("s3", operation).headers


def s3_routed_paths(host: str, path: str, raw_path: str | None) -> tuple[str, str | None]:
    """A request's decoded ``path`` and ``raw_path`` in path-style form (``bucket.localhost``
    → ``/bucket/…``), as the routes are matched (:func:`s3_path_style` for the raw one)."""
    bucket = s3_virtual_bucket(host)
    if bucket is None:
        return path, raw_path
    raw = None if raw_path is None else s3_path_style(host, raw_path)
    return "/" + bucket + path, raw


def s3_path_style(host: str, raw_path: str) -> str:
    """The path-style raw path (``/bucket/key``) of an S3 request: *the* decision of which
    bucket and key it names. The gate authorizes on it and hands moto exactly this path
    with a host moto reads as path style, so the two can never address different buckets.
    """
    bucket = s3_virtual_bucket(host)
    if bucket is None:
        return raw_path
    return "/" + urllib.parse.quote(bucket, safe="") + raw_path


_HOST_SYNTAX = re.compile(r"[a-z0-9.-]+(?::[0-9]{1,5})?\Z")


def s3_virtual_bucket(host: str) -> str | None:
    """The bucket named by a virtual-hosted S3 ``Host`` header, or ``None``.

    ``bkt.localhost:4566`` and ``bkt.s3.localhost`` (the sandbox), and AWS's own
    ``bkt.s3.amazonaws.com`` / ``bkt.s3.us-east-1.amazonaws.com`` forms, in any case and
    with or without the trailing dot of a fully qualified name; an IP address (v4 or a
    bracketed v6 literal), ``localhost``, ``s3.localhost``, any other name and anything
    that is not one host name (empty, two ``Host`` headers joined by a comma) name none
    (path style).
    """
    name = host.strip().lower()
    if not _HOST_SYNTAX.match(name):
        return None
    name = name.partition(":")[0].removesuffix(".")
    if name in ("s3.localhost", "localhost"):
        return None
    for suffix in LOCAL_S3_HOST_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return _bucket(name[: -len(suffix)])
    found = _AWS_S3_HOST.match(name)
    return None if found is None else _bucket(found.group("bucket"))


def _bucket(label: str) -> str | None:
    """A host's bucket part, if it can be a bucket name (no empty labels: ``a..b``)."""
    if not label or label.startswith(".") or label.endswith(".") or ".." in label:
        return None
    return label
