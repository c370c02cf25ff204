"""For S3, the operation moto executes is always the one the gate authorized.

The gate identifies an S3 operation from the request (:mod:`kubetrust.sandbox.aws.operations`,
routes from botocore's model) and authorizes it; moto's S3 then picks *its own* operation
from the method, the sub-resource keys of the query and a few headers, in an order of its
own. If the two ever differ, a caller allowed one action runs another (``PUT
/b?tagging&policy`` authorized as ``s3:PutBucketTagging``, run as ``PutBucketPolicy``).

This is a differential test, in process: for every S3 operation of botocore's model and
for combinations of sub-resource keys × methods × paths (× ``x-amz-copy-source``), it asks
the gate (``operations.identify_operation``, then ``forward``'s own checks and the
environ it builds for moto) and moto's S3 app (``create_backend_app("s3")``, as the
sandbox makes it) and asserts: the gate refuses, or moto runs exactly the gate's
operation. moto's choice is observed by wrapping, in this test only, the handler methods
its dispatcher calls (and the backend calls and body readers of its inline branches);
the first one reached names the operation and aborts the request, so nothing executes
and every case sees the same state.
"""

from __future__ import annotations

import io
import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, quote

import pytest

from kubetrust.sandbox.aws import forward, operations, wire
from kubetrust.sandbox.aws.request import RawRequest

ACCOUNT = "123456789012"
REGION = "us-east-1"
BUCKET = "dispatch-bucket"
KEY = "some/key.txt"
BODY = b"<Body><Status>Enabled</Status></Body>"  # moto's versioning branch reads a Status

# moto's S3Response handler methods (and backend calls, body readers of inline branches)
# → the botocore operation each one is. The first one reached is what moto executes.
RESPONSE_METHODS = {
    "all_buckets": "ListBuckets",
    "head_bucket": "HeadBucket",
    "get_object_lock_configuration": "GetObjectLockConfiguration",
    "list_multipart_uploads": "ListMultipartUploads",
    "get_bucket_location": "GetBucketLocation",
    "get_bucket_lifecycle": "GetBucketLifecycleConfiguration",
    "get_bucket_versioning": "GetBucketVersioning",
    "get_bucket_policy_status": "GetBucketPolicyStatus",
    "get_bucket_policy": "GetBucketPolicy",
    "get_bucket_website": "GetBucketWebsite",
    "get_bucket_acl": "GetBucketAcl",
    "get_bucket_tags": "GetBucketTagging",
    "get_bucket_logging": "GetBucketLogging",
    "get_bucket_cors": "GetBucketCors",
    "get_bucket_notification": "GetBucketNotificationConfiguration",
    "get_bucket_accelerate_configuration": "GetBucketAccelerateConfiguration",
    "get_public_access_block": "GetPublicAccessBlock",
    "get_bucket_inventory_configuration": "GetBucketInventoryConfiguration",
    "list_bucket_inventory_configurations": "ListBucketInventoryConfigurations",
    "list_object_versions": "ListObjectVersions",
    "get_bucket_encryption": "GetBucketEncryption",
    "list_objects_v2": "ListObjectsV2",
    "get_bucket_replication": "GetBucketReplication",
    "get_bucket_ownership_controls": "GetBucketOwnershipControls",
    "list_objects": "ListObjects",
    # PUT bucket: body readers first reached by each inline branch
    "_process_lock_config_from_body": "PutObjectLockConfiguration",
    "_acl_from_headers": "PutBucketAcl",  # CreateBucket reaches it after its own marker
    "_bucket_tagging_from_body": "PutBucketTagging",
    "_cors_from_body": "PutBucketCors",
    "_logging_from_body": "PutBucketLogging",
    "_notification_config_from_body": "PutBucketNotificationConfiguration",
    "_accelerate_config_from_body": "PutBucketAccelerateConfiguration",
    "_parse_pab_config": "PutPublicAccessBlock",
    "_encryption_config_from_body": "PutBucketEncryption",
    "_replication_config_from_xml": "PutBucketReplication",
    "_ownership_rule_from_body": "PutBucketOwnershipControls",
    "_inventory_config_from_body": "PutBucketInventoryConfiguration",
    "_get_location_constraint": "CreateBucket",
    # DELETE bucket
    "delete_bucket_policy": "DeleteBucketPolicy",
    "delete_bucket_tagging": "DeleteBucketTagging",
    "delete_bucket_website": "DeleteBucketWebsite",
    "delete_bucket_cors": "DeleteBucketCors",
    "delete_bucket_lifecycle": "DeleteBucketLifecycle",
    "delete_public_access_block": "DeletePublicAccessBlock",
    "delete_bucket_encryption": "DeleteBucketEncryption",
    "delete_bucket_replication": "DeleteBucketReplication",
    "delete_bucket_ownership_controls": "DeleteBucketOwnershipControls",
    "delete_bucket": "DeleteBucket",
    # objects
    "list_parts": "ListParts",
    "get_object_acl": "GetObjectAcl",
    "get_object_tagging": "GetObjectTagging",
    "get_object_legal_hold": "GetObjectLegalHold",
    "get_object_attributes": "GetObjectAttributes",
    "get_object": "GetObject",
    "upload_part_copy": "UploadPartCopy",
    "upload_part": "UploadPart",
    "put_object_retention": "PutObjectRetention",
    "put_object_legal_hold": "PutObjectLegalHold",
    "put_object_acl": "PutObjectAcl",
    "put_object_tagging": "PutObjectTagging",
    "copy_object": "CopyObject",
    "put_object": "PutObject",
    "head_object": "HeadObject",
    "abort_multipart_upload": "AbortMultipartUpload",
    "delete_object_tagging": "DeleteObjectTagging",
    "delete_object": "DeleteObject",
    "_bucket_response_delete_keys": "DeleteObjects",
}
BACKEND_METHODS = {
    # inline PUT-bucket branches that call the backend without a body reader of their own
    "put_bucket_versioning": "PutBucketVersioning",
    "put_bucket_policy": "PutBucketPolicy",
    "put_bucket_website": "PutBucketWebsite",
    # POST object
    "create_multipart_upload": "CreateMultipartUpload",
    "complete_multipart_upload": "CompleteMultipartUpload",
}
XML_ROOTS = {
    # inline branches that read the body with xmltodict and index its root element
    "LifecycleConfiguration": "PutBucketLifecycleConfiguration",
    "RestoreRequest": "RestoreObject",
    "SelectObjectContentRequest": "SelectObjectContent",
}
REFUSED = "(moto fails before choosing)"
POST_OBJECT = "PostObject"  # moto's browser-form upload (POST /bucket), no botocore op


class _Dispatched(Exception):
    """Raised at moto's first operation-specific step, so nothing executes."""


class _Tracer:
    def __init__(self) -> None:
        self.ran: str | None = None

    def hit(self, operation: str) -> None:
        if self.ran is None:
            self.ran = operation
        raise _Dispatched(operation)


class _RootRecorder(dict[str, Any]):
    """What moto's patched ``xmltodict.parse`` returns: indexing the root names the op."""

    def __init__(self, tracer: _Tracer) -> None:
        super().__init__()
        self._tracer = tracer

    def __getitem__(self, key: str) -> Any:
        self._tracer.hit(XML_ROOTS.get(key, f"xml:{key}"))


def _wrap(tracer: _Tracer, operation: str) -> Callable[..., Any]:
    def marker(*args: Any, **kwargs: Any) -> Any:
        tracer.hit(operation)

    return marker


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[tuple[Any, _Tracer]]:
    """moto's S3 app with one versioned bucket holding one object, made before the
    instrumentation; then every dispatch target is a marker."""
    from moto.moto_server.werkzeug_app import create_backend_app
    from moto.s3 import responses
    from moto.s3.models import S3Backend, s3_backends

    backend = s3_backends[ACCOUNT]["aws"]
    backend.create_bucket(BUCKET, REGION)
    backend.put_bucket_versioning(BUCKET, "Enabled")
    backend.put_object(BUCKET, KEY, b"data")
    app = create_backend_app("s3")
    tracer = _Tracer()
    mp = pytest.MonkeyPatch()
    for name, operation in RESPONSE_METHODS.items():
        assert hasattr(responses.S3Response, name), name  # moto renamed its dispatch
        mp.setattr(responses.S3Response, name, _wrap(tracer, operation))
    for name, operation in BACKEND_METHODS.items():
        assert hasattr(S3Backend, name), name
        mp.setattr(S3Backend, name, _wrap(tracer, operation))
    original_is_delete_keys = responses.S3Response.is_delete_keys

    def is_delete_keys(self: Any) -> bool:
        tracer.hit("DeleteObjects" if original_is_delete_keys(self) else POST_OBJECT)
        return False

    mp.setattr(responses.S3Response, "is_delete_keys", is_delete_keys)
    mp.setattr(responses.xmltodict, "parse", lambda *a, **k: _RootRecorder(tracer))
    yield app, tracer
    mp.undo()


# --------------------------------------------------------------------------- the two sides


def _gate(method: str, path: str, query: str, headers: dict[str, str]) -> Any:
    """The gate's decision: an operation name and the environ moto would get, or ``None``
    when the gate refuses the request (never reaching moto)."""
    request = RawRequest(method, path, query, headers, BODY if method != "GET" else b"")
    try:
        op = operations.identify_operation(
            "s3",
            method,
            path,
            parse_qs(query, keep_blank_values=True),
            {},
            None,
            "",
            ACCOUNT,
            REGION,
            headers=headers,
            raw_path=path,
            body=request.body,
        )
    except wire.AwsError:
        return None
    if op is None or op.name not in forward.MOTO_S3_OPERATIONS:
        return None
    target = forward.Target("s3", op.name, ACCOUNT, REGION, "AKIAEXAMPLE", None, path)
    client = {"wsgi.errors": io.StringIO(), "wsgi.version": (1, 0), "REMOTE_ADDR": "127.0.0.1"}
    environ = forward.moto_environ(client, request, target)
    return op.name, environ


def _moto(app: Any, tracer: _Tracer, environ: dict[str, Any]) -> str | None:
    """What moto's S3 runs for ``environ``: an operation, :data:`REFUSED` when it raises
    before choosing one (``POST`` of an object with a body and no key it knows: the gate
    answers 400, nothing runs), ``None`` when it has no route or reached no marker."""
    if not forward.has_route(app, environ):
        return None
    tracer.ran = None
    try:
        b"".join(app(environ, lambda *a: lambda data: None))
    except _Dispatched:
        pass
    except Exception:  # moto fails before any operation: forward() answers a 400
        return REFUSED
    return tracer.ran


def _disagreements(
    app: Any, tracer: _Tracer, cases: list[tuple[str, str, str, dict[str, str]]]
) -> tuple[list[str], int]:
    wrong = []
    forwarded = 0
    for method, path, query, headers in cases:
        decided = _gate(method, path, query, headers)
        if decided is None:
            continue
        forwarded += 1
        authorized, environ = decided
        ran = _moto(app, tracer, environ)
        if ran not in (authorized, REFUSED):
            wrong.append(
                f"{method} {path}?{query} {sorted(headers)}: gate {authorized}, moto {ran}"
            )
    return wrong, forwarded


# --------------------------------------------------------------------------- cases

OBJECT = f"/{BUCKET}/{quote(KEY)}"
PATHS = ["/", f"/{BUCKET}", f"/{BUCKET}/", OBJECT]
METHODS = ["GET", "HEAD", "PUT", "DELETE", "POST"]
COPY = {"x-amz-copy-source": f"/{BUCKET}/{quote(KEY)}"}

# the keys moto's dispatcher tests, every other selector of the model, members that
# change moto's choice, value/case variants and SDK annotations
DISPATCH_KEYS = [
    *sorted(operations.s3_selectors() - {"uploadId"}),
    "uploadId=1",
    "uploadId=",
    "partNumber=1",
    "versionId=v1",
    "list-type=2",
    "select-type=2",
    "id=x",
    "policy=x",
    "Policy",
    "ACL",
    "TAGGING",
    "x-id=PutBucketTagging",
    "x-id=DeleteObject",
    "x-id=GetObject",
]


def _model_cases() -> list[tuple[str, str, str, dict[str, str]]]:
    """Each operation of botocore's model, as a client sends it: its route's method and
    literal keys, its required query members and headers, on a bucket or object path."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("s3")
    cases = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        uri = str(operation.http["requestUri"])
        path, _, literal = uri.partition("?")
        path = path.replace("{Bucket}", BUCKET).replace("{Key+}", quote(KEY))
        query = [item for item in literal.split("&") if item]
        headers: dict[str, str] = {}
        shape = operation.input_shape
        for member in shape.required_members if shape is not None else []:
            serialization = shape.members[member].serialization
            wire_name = str(serialization.get("name", member))
            if serialization.get("location") == "querystring":
                query.append(f"{wire_name}=1")
            elif serialization.get("location") == "header":
                headers[wire_name] = COPY["x-amz-copy-source"]
        cases.append((str(operation.http["method"]), path, "&".join(query), headers))
    return cases


def _combination_cases() -> list[tuple[str, str, str, dict[str, str]]]:
    cases = []
    for method, path in itertools.product(METHODS, PATHS):
        for size in (1, 2):
            for keys in itertools.combinations(DISPATCH_KEYS, size):
                cases.append((method, path, "&".join(keys), {}))
                if method == "PUT" and path == OBJECT:
                    cases.append((method, path, "&".join(keys), dict(COPY)))
    return cases


def _triple_cases() -> list[tuple[str, str, str, dict[str, str]]]:
    """Three keys for the object calls where moto tests members before sub-resources."""
    keys = ["uploadId=1", "partNumber=1", "versionId=v1", "acl", "tagging", "uploads"]
    return [
        (method, OBJECT, "&".join(triple), headers)
        for method in METHODS
        for triple in itertools.combinations(keys, 3)
        for headers in ({}, dict(COPY))
    ]


# --------------------------------------------------------------------------- tests


def test_every_model_operation_runs_as_itself_or_is_refused(moto_s3: Any) -> None:
    app, tracer = moto_s3
    cases = _model_cases()
    wrong, _ = _disagreements(app, tracer, cases)
    assert not wrong, "\n".join(wrong)
    # every operation the gate forwards is reached by its model request (the list of
    # forwarded operations is not wider than what moto runs as such)
    reached = {decided[0] for case in cases if (decided := _gate(*case)) is not None}
    assert reached == set(forward.MOTO_S3_OPERATIONS), set(forward.MOTO_S3_OPERATIONS) ^ reached


def test_sub_resource_combinations_run_as_authorized(moto_s3: Any) -> None:
    app, tracer = moto_s3
    cases = _combination_cases() + _triple_cases()
    started = time.monotonic()
    wrong, forwarded = _disagreements(app, tracer, cases)
    assert not wrong, f"{len(wrong)} of {len(cases)}:\n" + "\n".join(wrong[:40])
    assert forwarded > 500  # the gate did forward a large share: the test compared something
    assert time.monotonic() - started < 60


@pytest.mark.parametrize(
    ("method", "path", "query", "headers"),
    [
        ("PUT", f"/{BUCKET}", "policy&x-id=PutBucketTagging", {}),
        ("DELETE", OBJECT, "uploadId=1&x-id=DeleteObjectTagging", {}),
        ("DELETE", f"/{BUCKET}", "analytics", {}),
        ("GET", OBJECT, "torrent", {}),
        ("GET", OBJECT, "retention", {}),
        ("PUT", f"/{BUCKET}", "requestPayment", {}),
        ("PUT", OBJECT, "renameObject", {}),
        ("PUT", OBJECT, "acl", dict(COPY)),
    ],
)
def test_the_known_disagreements_are_closed(
    moto_s3: Any, method: str, path: str, query: str, headers: dict[str, str]
) -> None:
    """Requests on which the gate and moto disagreed before this fix: each is refused, or
    runs as the operation authorized."""
    app, tracer = moto_s3
    decided = _gate(method, path, query, headers)
    if decided is not None:
        authorized, environ = decided
        assert _moto(app, tracer, environ) == authorized


def test_the_tracer_sees_a_disagreement_when_the_raw_query_reaches_moto(moto_s3: Any) -> None:
    """The test can fail: with the client's own query (what moto got before), moto runs
    ``PutBucketPolicy`` for a request the gate authorizes as ``PutBucketTagging``."""
    app, tracer = moto_s3
    decided = _gate("PUT", f"/{BUCKET}", "tagging", {})
    assert decided is not None and decided[0] == "PutBucketTagging"
    environ = dict(decided[1])
    environ["QUERY_STRING"] = "tagging&policy"
    assert _moto(app, tracer, environ) == "PutBucketPolicy"
