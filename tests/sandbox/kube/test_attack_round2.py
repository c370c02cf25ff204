"""Second-round attacks on a sandbox cluster from outside: what EKS or Kubernetes refuses,
the sandbox must refuse too.

EKS tokens: aws-iam-authenticator leaves the signature's scope and signed headers to STS,
which it replays the URL against (reference D.2 step 11); STS refuses a scope for a region
it does not serve and a signature that does not cover ``host``. The cluster verifies the
replay in-process, so it must apply the checks the sandbox's own STS endpoint applies.
Each token here is sent as kubectl sends it (raw HTTPS, ``Authorization: Bearer``), to a
cluster whose creator is the token's signer (``system:masters``): the only thing between
the caller and the cluster is the token check.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from kubetrust import eks_presign, eks_token
from kubetrust.sandbox.eks import clusters as cluster_records
from kubetrust.sandbox.host import pki
from kubetrust.sandbox.kube.store import Store

from ..kubekit import unique
from . import rbackit

REGION = "us-east-1"


class Cluster:
    """A ``CONFIG_MAP`` cluster of the target account, created by the account's admin
    (so the admin's tokens map to ``system:masters``), and raw HTTPS to its API server."""

    def __init__(self, sandbox: Any, aws: Any) -> None:
        self.sandbox = sandbox
        self.account = aws.TARGET
        self.key, self.secret = sandbox.admin_keys[self.account]
        iam, eks = aws.client("iam", account=self.account), aws.client("eks", account=self.account)
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "eks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        role = iam.create_role(
            RoleName=unique("r2-eks"), AssumeRolePolicyDocument=json.dumps(trust)
        )
        self.name = unique("r2-attack")
        eks.create_cluster(
            name=self.name,
            roleArn=role["Role"]["Arn"],
            resourcesVpcConfig={"subnetIds": []},
            accessConfig={"authenticationMode": "CONFIG_MAP"},
        )
        record = cluster_records.find(sandbox.state_dir, self.name, self.account)
        self.endpoint = record.endpoint
        assert sandbox.ca is not None
        self.context = pki.client_ssl_context(sandbox.ca.certificate_pem)

    def get(self, path: str, token: str) -> int:
        request = urllib.request.Request(self.endpoint + path)
        request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            error.read()
            return int(error.code)


@pytest.fixture(scope="module")
def cluster(sandbox: Any, aws: Any) -> Cluster:
    return Cluster(sandbox, aws)


def hand_signed_token(cluster: Cluster, *, signed: tuple[str, ...], region: str = REGION) -> str:
    """An EKS token presigned by hand (SigV4 query signing), so that the signed headers can
    leave out ``host``, which no AWS SDK does."""
    host = cluster.sandbox.endpoint.split("://", 1)[1].rstrip("/")
    now = dt.datetime.now(dt.UTC)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/{region}/sts/aws4_request"
    params = {
        "Action": "GetCallerIdentity",
        "Version": "2011-06-15",
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{cluster.key}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": "60",
        "X-Amz-SignedHeaders": ";".join(signed),
    }
    query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in sorted(params.items())
    )
    values = {"host": host, eks_token.CLUSTER_ID_HEADER: cluster.name}
    canonical_headers = "".join(f"{name}:{values[name]}\n" for name in signed)
    canonical = "\n".join(
        ["GET", "/", query, canonical_headers, ";".join(signed), hashlib.sha256(b"").hexdigest()]
    )
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + cluster.secret).encode()
    for part in (amz_date[:8], region, "sts", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return eks_token.encode(f"http://{host}/?{query}&X-Amz-Signature={signature}")


def test_token_scoped_to_a_region_sts_does_not_serve_is_refused(cluster: Cluster) -> None:
    """``aws eks get-token --region xx-fake-9`` presigns for a region STS has no endpoint
    in: STS answers ``SignatureDoesNotMatch`` ("scoped to a valid region"), so EKS does not
    authenticate the token (401). A real region still works."""
    good = eks_presign.presign_with_keys(
        cluster.sandbox.endpoint, REGION, cluster.name, cluster.key, cluster.secret
    )
    assert cluster.get("/api/v1/namespaces", good) == 200
    other_region = eks_presign.presign_with_keys(
        cluster.sandbox.endpoint, "eu-west-1", cluster.name, cluster.key, cluster.secret
    )
    assert cluster.get("/api/v1/namespaces", other_region) == 200  # STS is in every region
    fake = eks_presign.presign_with_keys(
        cluster.sandbox.endpoint, "xx-fake-9", cluster.name, cluster.key, cluster.secret
    )
    assert cluster.get("/api/v1/namespaces", fake) == 401


def test_token_that_does_not_sign_host_is_refused(cluster: Cluster) -> None:
    """SigV4's one mandatory signed header is ``host``: STS refuses a presigned URL that
    signs only ``x-k8s-aws-id``, so the cluster must not authenticate it. The same hand
    signer with ``host`` signed is accepted (the refusal is about ``host``, not the signer)."""
    with_host = hand_signed_token(cluster, signed=("host", eks_token.CLUSTER_ID_HEADER))
    assert cluster.get("/api/v1/namespaces", with_host) == 200
    without_host = hand_signed_token(cluster, signed=(eks_token.CLUSTER_ID_HEADER,))
    assert cluster.get("/api/v1/namespaces", without_host) == 401
    fake_region = hand_signed_token(
        cluster, signed=("host", eks_token.CLUSTER_ID_HEADER), region="xx-fake-9"
    )
    assert cluster.get("/api/v1/namespaces", fake_region) == 401


# ---------------------------------------------------------------------------- RBAC


@pytest.fixture(scope="module")
def rbac_cluster(ca: pki.CertificateAuthority) -> Iterator[tuple[int, Store]]:
    """An API server with real RBAC: ``eve`` holds ``edit`` in ``dev`` and may write
    RoleBindings there; ``bob`` is bound to ``view`` in ``dev``."""
    tokens = {"eve": rbackit.user("eve"), "bob": rbackit.user("bob")}
    with rbackit.rbac_server(ca, tokens) as (server, store):
        rbackit.seed(
            store,
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}},
            rbackit.role(
                "rb-writer",
                "dev",
                [rbackit.rule([rbackit.RBAC], ["rolebindings"], ["create", "update", "patch"])],
            ),
            rbackit.binding("eve-rbw", "rb-writer", "eve", "dev", role_kind="Role"),
            rbackit.binding("eve-edit", "edit", "eve", "dev"),
            rbackit.binding("bob-view", "view", "bob", "dev"),
        )
        yield int(server.endpoint.rpartition(":")[2]), store


def test_a_binding_cannot_be_repointed_at_another_role(
    rbac_cluster: tuple[int, Store], ca: pki.CertificateAuthority
) -> None:
    """``roleRef`` is immutable (``ValidateRoleBindingUpdate``): eve may not turn bob's
    ``view`` binding into ``edit`` by patch or update, although she holds ``edit`` and may
    update bindings — 422 ``cannot change roleRef``. Repointing at a role she does not hold
    is refused by the escalation check first (403), as upstream's storage runs it before
    validation. A new binding of ``edit`` is hers to make (the control)."""
    port, store = rbac_cluster
    path = f"{rbackit.RBAC_V1}/namespaces/dev/rolebindings/bob-view"
    edit = {"apiGroup": rbackit.RBAC, "kind": "ClusterRole", "name": "edit"}
    code, text = rbackit.raw(
        port,
        ca,
        "PATCH",
        path,
        "eve",
        body={"roleRef": edit},
        content_type="application/merge-patch+json",
    )
    assert code == 422, text
    status = json.loads(text)
    assert status["reason"] == "Invalid"
    assert status["message"] == (
        'RoleBinding.rbac.authorization.k8s.io "bob-view" is invalid: roleRef: Invalid value: '
        'rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", Name:"edit"}: '
        "cannot change roleRef"
    )
    current = store.get(f"{rbackit.RBAC}/v1/rolebindings", "dev", "bob-view")
    code, text = rbackit.raw(port, ca, "PUT", path, "eve", body={**current, "roleRef": edit})
    assert code == 422, text
    admin = {**edit, "name": "admin"}
    code, text = rbackit.raw(
        port,
        ca,
        "PATCH",
        path,
        "eve",
        body={"roleRef": admin},
        content_type="application/merge-patch+json",
    )
    assert code == 403, text
    assert store.get(f"{rbackit.RBAC}/v1/rolebindings", "dev", "bob-view")["roleRef"]["name"] == (
        "view"
    )
    new = rbackit.binding(unique("bob-edit"), "edit", "bob", "dev")
    code, text = rbackit.raw(
        port, ca, "POST", f"{rbackit.RBAC_V1}/namespaces/dev/rolebindings", "eve", body=new
    )
    assert code == 201, text
