"""EKS bearer tokens from a boto3 session, as ``aws eks get-token`` makes them (reference D.1).

The session gives the STS client (its credentials, its endpoint resolution; with an endpoint
URL, the sandbox's, as the aws CLI's does when ``AWS_ENDPOINT_URL`` is set); the signing
itself is :func:`kubetrust.eks_presign.presign_with_client`, the one presigner the sandbox's
exec plugin shares. The client uses botocore's standard retry mode, as every client of the
adapters does (the presigning itself makes no call).
"""

from __future__ import annotations

import boto3
from botocore.config import Config

from kubetrust import eks_presign
from kubetrust.adapters.aws import RETRY_MODE


def eks_bearer_token(
    session: boto3.session.Session, cluster: str, region: str, endpoint_url: str | None = None
) -> str:
    """A ``k8s-aws-v1.`` token for ``cluster`` signed with ``session``'s credentials."""
    sts = session.client(
        "sts", region_name=region, endpoint_url=endpoint_url, config=Config(retries=RETRY_MODE)
    )
    return eks_presign.presign_with_client(sts, cluster)
