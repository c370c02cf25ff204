"""EKS bearer tokens from a boto3 session, as ``aws eks get-token`` makes them (reference D.1).

A token is a presigned STS ``GetCallerIdentity`` URL whose signature covers the header
``x-k8s-aws-id: <cluster name>``, encoded by :func:`kubetrust.eks_token.encode`. botocore
signs (``generate_presigned_url`` with the header injected before signing, as the aws CLI
does); nothing is signed by hand. With an endpoint URL (the sandbox) the URL points at it,
as the aws CLI's does when ``AWS_ENDPOINT_URL`` is set.
"""

from __future__ import annotations

from typing import Any

import boto3

from kubetrust import eks_token

TOKEN_SECONDS = 60
"""``X-Amz-Expires`` as the aws CLI sends it; STS accepts the URL for 15 minutes anyway."""


def eks_bearer_token(
    session: boto3.session.Session, cluster: str, region: str, endpoint_url: str | None = None
) -> str:
    """A ``k8s-aws-v1.`` token for ``cluster`` signed with ``session``'s credentials."""
    sts = session.client("sts", region_name=region, endpoint_url=endpoint_url)

    def inject(request: Any, **_: Any) -> None:
        request.headers[eks_token.CLUSTER_ID_HEADER] = cluster

    sts.meta.events.register("before-sign.sts.GetCallerIdentity", inject)
    url = sts.generate_presigned_url(
        "get_caller_identity", Params={}, ExpiresIn=TOKEN_SECONDS, HttpMethod="GET"
    )
    return eks_token.encode(str(url))
