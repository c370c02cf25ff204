"""The sandbox's AWS Signature Version 4 verifier: authenticate a request as AWS would.

The sandbox gate calls :func:`verify` on every signed request before moto sees it (moto
authenticates nothing: probe findings, reference P.1). This module is pure logic: it
gets the raw request pieces, a credential lookup and the current time, and either returns a
:class:`VerifiedRequest` or raises :class:`SignatureError` carrying AWS's error code, HTTP
status and wording. It never raises anything else for any input. Whether a request is signed
at all is the caller's question (:func:`is_signed`).

The signature is recomputed by botocore's own signer (``SigV4Auth``, ``S3SigV4Auth``,
``SigV4QueryAuth``, ``S3SigV4QueryAuth``) through small hooks (:class:`_Recompute`) that make
it read the received request instead of signing a new one: the request's own timestamp, only
the headers it names in ``SignedHeaders`` with their values as received, its query string
decoded and re-encoded by botocore's encoder, and its declared payload hash. The canonical
request, string to sign and signature are botocore's step methods, logged at debug level
with the session token redacted (secrets and signatures are never logged).

What is checked, in order: the shape of the ``Authorization`` header or of the presigned
query parameters; when the caller names the ``endpoint`` the request reached, that the
scope's service and region fit it and that ``host`` is signed (:mod:`.scope`); the date
(``X-Amz-Date``, else ``Date``); that the credential scope date is the request's date; the
clock (15 minutes either way; for S3 presigned URLs ``X-Amz-Date + X-Amz-Expires`` instead,
at most 604800 s, and not dated ahead); the access key, its session token and its expiry;
for S3 the ``x-amz-content-sha256`` rules and that every ``x-amz-*`` header is signed; the
signature; then the payload: a hex ``x-amz-content-sha256`` must be the body's SHA-256
(services other than S3 always hash the body: ``UNSIGNED-PAYLOAD`` is S3's alone), and S3
``aws-chunked`` bodies must be well framed, carry ``x-amz-decoded-content-length`` bytes
and, for ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` (with or without ``-TRAILER``), a valid
chained signature on every chunk.

Observed on the wire (boto3 1.44.8 and aws CLI 1.46.3, whose vendored botocore is 1.43.x):
S3 ``PutObject`` and ``aws s3 cp`` to a plain-HTTP endpoint send ``X-Amz-Content-SHA256``
= the hex SHA-256 of the body, with the default CRC32 checksum in a signed
``x-amz-checksum-crc32`` header; over HTTPS boto3 sends an ``aws-chunked`` body with
``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` (checksum in an unsigned trailer). boto3's default
presigned S3 URL is SigV2 (``AWSAccessKeyId=``); SigV4 needs ``signature_version="s3v4"``.
Presigned requests to services other than S3 (STS's GetCallerIdentity among them) ignore
``X-Amz-Expires`` and live 15 minutes either side of ``X-Amz-Date`` (aws-sdk-go #2167 and
PR #2224); the EKS token's own ``X-Amz-Expires=60`` is the token verifier's business.

Error dialects (:class:`Dialect`, chosen from the credential scope's service, or from the
``service`` argument when the caller knows it): IAM/STS and other query services answer
``InvalidClientTokenId``, ``SignatureDoesNotMatch``, ``ExpiredToken`` (403),
``IncompleteSignature`` (400); EKS (rest-json) answers ``UnrecognizedClientException``,
``InvalidSignatureException``, ``ExpiredTokenException``, ``IncompleteSignatureException``;
S3 answers ``InvalidAccessKeyId``, ``InvalidToken``, ``ExpiredToken`` (400),
``SignatureDoesNotMatch`` (its shorter wording), ``RequestTimeTooSkewed``,
``AuthorizationHeaderMalformed``, ``AuthorizationQueryParametersError``,
``AccessDenied "Request has expired"``, ``XAmzContentSHA256Mismatch``, ``InvalidRequest``.
Texts come from AWS
responses quoted in public issues, AWS's "Common Errors" pages, and moto/localstack, which
copy AWS; the few marked "ours" below had no public AWS wording to follow.

Not verified (fidelity gaps):

- the signature of the trailer of ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`` (the chunks
  are verified, the trailing checksum line is not), and the trailer checksums themselves;
- SigV4a (``AWS4-ECDSA-P256-SHA256``) and SigV2 (``AWS AKID:sig``, ``AWSAccessKeyId=``):
  refused with S3's answer of SigV4-only regions; S3 browser POST uploads: not handled;
- the 8 KiB minimum chunk size of aws-chunked uploads;
- S3 canonical paths are used as sent (botocore sends them encoded once); a client that
  percent-encodes a path differently from botocore would fail here and pass on AWS.
"""

from __future__ import annotations

from kubetrust.sandbox.aws.sigv4.chunked import (
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER,
)
from kubetrust.sandbox.aws.sigv4.errors import Dialect, SignatureError, dialect_for
from kubetrust.sandbox.aws.sigv4.parse import (
    ALGORITHM,
    MAX_PRESIGNED_EXPIRES,
    claimed_scope,
    is_signed,
)
from kubetrust.sandbox.aws.sigv4.scope import Endpoint, endpoint_for
from kubetrust.sandbox.aws.sigv4.verifier import MAX_SKEW, SigningKey, VerifiedRequest, verify

__all__ = [
    "ALGORITHM",
    "MAX_PRESIGNED_EXPIRES",
    "MAX_SKEW",
    "STREAMING_SIGNED",
    "STREAMING_SIGNED_TRAILER",
    "STREAMING_UNSIGNED_TRAILER",
    "Dialect",
    "Endpoint",
    "SignatureError",
    "SigningKey",
    "VerifiedRequest",
    "claimed_scope",
    "dialect_for",
    "endpoint_for",
    "is_signed",
    "verify",
]
