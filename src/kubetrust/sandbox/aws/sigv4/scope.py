"""Whether a credential scope fits the endpoint that received the request.

A signature binds a request to a region and a service (``AKID/date/REGION/SERVICE/aws4_request``).
AWS checks both against the endpoint before it looks at the signature: IAM's global endpoint
takes only its partition's signing region (``us-east-1`` for ``aws``), STS has a regional
endpoint in every region, EKS and S3 serve the region of their host; and a signature scoped
to one service does not authenticate a call to another. Without these checks a signature for
``xx-fake-9`` would pass, and moto would create resources in whatever region the scope names
while the gate authorized ARNs of the sandbox's region.

Answers (the endpoint's dialect): query services ``SignatureDoesNotMatch`` and EKS
``InvalidSignatureException`` (403) with ``Credential should be scoped to a valid region, not
'R'. `` and ``Credential should be scoped to correct service: 'S'. `` (AWS's texts, trailing
space included, as quoted in public SDK issues); S3 ``AuthorizationHeaderMalformed`` (header)
or ``AuthorizationQueryParametersError`` (presigned) naming the expected region, with S3's
``<Region>`` element that botocore's region redirector reads.

A request must also sign ``host`` (SigV4's one mandatory header): ``'Host' or ':authority'
must be a 'SignedHeader' in the AWS Authorization.`` for the JSON and query services (the
text AWS front ends answer; its code and status here are ours: the dialect's "incomplete
signature"), S3's ``AccessDenied`` "There were headers present in the request which were not
signed" with ``<HeadersNotSigned>host</HeadersNotSigned>``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import botocore.session

from kubetrust.sandbox.aws.sigv4 import errors, parse

GLOBAL_SIGNING_REGIONS: Mapping[str, str] = {
    # the region IAM's global endpoint is signed for, per partition (botocore endpoints.json,
    # ``iam`` → ``aws-global``/``aws-cn-global``/``aws-us-gov-global`` credentialScope)
    "aws": "us-east-1",
    "aws-cn": "cn-north-1",
    "aws-us-gov": "us-gov-west-1",
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """The endpoint a request reached: the service it serves and the regions it accepts in
    a credential scope; ``home`` is the one S3 names in its "expecting" answer."""

    service: str
    regions: frozenset[str]
    home: str


@functools.cache
def partition_regions(partition: str) -> frozenset[str]:
    """Every region botocore knows in ``partition`` (endpoints.json): STS has a regional
    endpoint in each of them."""
    session = botocore.session.get_session()
    return frozenset(session.get_available_regions("sts", partition))


def endpoint_for(service: str, region: str, partition: str) -> Endpoint:
    """The endpoint of ``service`` in a sandbox serving ``region`` of ``partition``."""
    if service == "iam":
        home = GLOBAL_SIGNING_REGIONS.get(partition, region)
        return Endpoint(service, frozenset({home}), home)
    if service == "sts":
        return Endpoint(service, partition_regions(partition) | {region}, region)
    return Endpoint(service, frozenset({region}), region)


def check(claim: parse.Claim, endpoint: Endpoint, dialect: errors.Dialect) -> None:
    """Refuse a scope for another service or region, and a request that does not sign
    ``host``, as the endpoint would."""
    if claim.service != endpoint.service:
        raise errors.fail(
            "mismatch",
            dialect,
            f"Credential should be scoped to correct service: '{endpoint.service}'. ",
        )
    if claim.region not in endpoint.regions:
        raise _wrong_region(claim, endpoint, dialect)
    if "host" not in {name.lower() for name in claim.signed_headers}:
        raise _host_unsigned(dialect)


def _wrong_region(
    claim: parse.Claim, endpoint: Endpoint, dialect: errors.Dialect
) -> errors.SignatureError:
    if dialect is not errors.Dialect.S3:
        return errors.fail(
            "mismatch",
            dialect,
            f"Credential should be scoped to a valid region, not '{claim.region}'. ",
        )
    said = f"the region '{claim.region}' is wrong; expecting '{endpoint.home}'"
    details = (("Region", endpoint.home),)
    if claim.presigned:
        return errors.s3_error(
            "AuthorizationQueryParametersError",
            f"Error parsing the X-Amz-Credential parameter; {said}",
            details=details,
        )
    return errors.s3_error(
        "AuthorizationHeaderMalformed", errors.S3_HEADER_MALFORMED + said, details=details
    )


def _host_unsigned(dialect: errors.Dialect) -> errors.SignatureError:
    if dialect is errors.Dialect.S3:
        return errors.s3_error(
            "AccessDenied",
            "There were headers present in the request which were not signed",
            403,
            details=(("HeadersNotSigned", "host"),),
        )
    return errors.fail(
        "incomplete",
        dialect,
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    )
