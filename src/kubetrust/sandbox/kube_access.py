"""Client-side access to a sandbox cluster: EKS tokens and an administrator's kubeconfig.

The administrator's kubeconfig authenticates the way EKS's cluster creator does: with an
EKS token (reference D.1) presigned by the account's sandbox administrator, through an exec
plugin (``kubetrust sandbox eks-token``) that presigns a fresh one whenever kubectl asks.
So even the administrator goes through the cluster's real authentication path: the token's
signature is checked, the caller is mapped (the creator's access entry, or in ``CONFIG_MAP``
mode the creator's invisible ``system:masters``), and nothing secret is written to the
kubeconfig.
"""

from __future__ import annotations

import base64
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from botocore.credentials import Credentials
from botocore.model import ServiceId
from botocore.signers import RequestSigner

from kubetrust import arn, eks_token

EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"
TOKEN_LIFETIME = dt.timedelta(minutes=14)
"""What ``aws eks get-token`` announces as the ExecCredential's expiry (D.1)."""


def presign_eks_token(
    endpoint: str,
    region: str,
    cluster: str,
    access_key_id: str,
    secret_access_key: str,
    session_token: str | None = None,
) -> str:
    """``k8s-aws-v1.`` + the presigned GetCallerIdentity URL, as the CLI builds it (D.1)."""
    signer = RequestSigner(
        ServiceId("STS"),
        region,
        "sts",
        "v4",
        Credentials(access_key_id, secret_access_key, session_token),
        None,  # no event emitter: nothing to customize
    )
    url = signer.generate_presigned_url(
        {
            "method": "GET",
            "url": f"{endpoint.rstrip('/')}/?Action=GetCallerIdentity&Version=2011-06-15",
            "body": {},
            "headers": {eks_token.CLUSTER_ID_HEADER: cluster},
            "context": {},
        },
        region_name=region,
        expires_in=60,
        operation_name="",
    )
    return eks_token.encode(url)


def exec_credential(token: str, api_version: str = EXEC_API_VERSION) -> dict[str, Any]:
    """The ExecCredential an exec plugin prints (D.1)."""
    expires = dt.datetime.now(dt.UTC) + TOKEN_LIFETIME
    return {
        "kind": "ExecCredential",
        "apiVersion": api_version,
        "spec": {},
        "status": {"expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ"), "token": token},
    }


def cluster_arn(account: str, region: str, name: str) -> str:
    return arn.format_arn(service="eks", region=region, account=account, resource=f"cluster/{name}")


def admin_kubeconfig(
    *,
    account: str,
    region: str,
    name: str,
    endpoint: str,
    ca_pem: bytes,
    state_dir: Path,
    python: str = sys.executable,
) -> dict[str, Any]:
    """A kubeconfig whose one context is the cluster's administrator (module doc), named
    like ``aws eks update-kubeconfig`` names things: the cluster ARN (G.6)."""
    context = cluster_arn(account, region, name)
    args: Sequence[str] = (
        "-m",
        "kubetrust",
        "sandbox",
        "eks-token",
        "--cluster",
        name,
        "--account",
        account,
        "--state-dir",
        str(state_dir),
    )
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "current-context": context,
        "clusters": [
            {
                "name": context,
                "cluster": {
                    "server": endpoint,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode("ascii"),
                },
            }
        ],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "users": [
            {
                "name": context,
                "user": {
                    "exec": {
                        "apiVersion": EXEC_API_VERSION,
                        "command": python,
                        "args": list(args),
                        "interactiveMode": "Never",
                        "provideClusterInfo": False,
                    }
                },
            }
        ],
    }
