"""The one EKS-token presigner: an STS ``GetCallerIdentity`` URL presigned by botocore with
the header ``x-k8s-aws-id: <cluster>`` under the signature, as ``aws eks get-token`` makes it
(reference D.1), wrapped by :func:`kubetrust.eks_token.encode`.

A leaf module of its own because both ``kubetrust.adapters`` (tokens for real clusters, from a
boto3 session) and ``kubetrust.sandbox`` (the administrator's exec plugin, from the keys in the
sandbox's state file) presign, neither may import the other, and the pure
``kubetrust.eks_token`` may not import botocore. Nothing is signed by hand: botocore computes
the signature, this module only decides what it covers.

Two entry points, one per way a caller holds its credentials:

* :func:`presign_with_client`: an STS client whose endpoint, signing region and credentials
  botocore resolved (profiles, ``AWS_ENDPOINT_URL``, regional endpoints), exactly the aws
  CLI's path.
* :func:`presign_with_keys`: keys and an endpoint known in advance (a sandbox); no botocore
  session, so neither ``~/.aws`` nor ``AWS_PROFILE`` can change or break the token.
"""

from __future__ import annotations

from typing import Any

from botocore.credentials import Credentials
from botocore.hooks import HierarchicalEmitter
from botocore.model import ServiceId
from botocore.signers import RequestSigner

from kubetrust import eks_token

__all__ = ["TOKEN_EXPIRES_SECONDS", "presign_with_client", "presign_with_keys"]

TOKEN_EXPIRES_SECONDS = 60
"""``X-Amz-Expires`` as the aws CLI sends it; STS accepts the URL for 15 minutes anyway."""

_GET_CALLER_IDENTITY_QUERY = "/?Action=GetCallerIdentity&Version=2011-06-15"


def presign_with_client(sts: Any, cluster: str) -> str:
    """A ``k8s-aws-v1.`` token for ``cluster`` from a botocore STS client, as the aws CLI's
    ``eks get-token`` does it: the header is injected before signing so that the signature
    covers it. ``sts`` is a ``botocore.client.BaseClient`` (typed ``Any``: boto3's clients
    are generated at run time)."""

    def inject(request: Any, **_: Any) -> None:
        request.headers[eks_token.CLUSTER_ID_HEADER] = cluster

    sts.meta.events.register("before-sign.sts.GetCallerIdentity", inject)
    url = sts.generate_presigned_url(
        "get_caller_identity",
        Params={},
        ExpiresIn=TOKEN_EXPIRES_SECONDS,
        HttpMethod="GET",
    )
    return eks_token.encode(str(url))


def presign_with_keys(
    endpoint: str,
    region: str,
    cluster: str,
    access_key_id: str,
    secret_access_key: str,
    session_token: str | None = None,
) -> str:
    """A ``k8s-aws-v1.`` token for ``cluster`` signed with the given keys for the STS
    ``endpoint`` of ``region``; no network call and no configuration read (module doc)."""
    emitter = HierarchicalEmitter()  # no handlers; the signer holds it weakly, so keep it
    signer = RequestSigner(
        ServiceId("STS"),
        region,
        "sts",
        "v4",
        Credentials(access_key_id, secret_access_key, session_token),
        emitter,
    )
    url = signer.generate_presigned_url(
        {
            "method": "GET",
            "url": endpoint.rstrip("/") + _GET_CALLER_IDENTITY_QUERY,
            "body": {},
            "headers": {eks_token.CLUSTER_ID_HEADER: cluster},
            "context": {},
        },
        region_name=region,
        expires_in=TOKEN_EXPIRES_SECONDS,
        operation_name="",
    )
    return eks_token.encode(str(url))
