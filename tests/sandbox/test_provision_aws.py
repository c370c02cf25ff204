"""plan/apply/destroy of the AWS side against the sandbox, through the boto3 adapters.

Each test makes its own clusters and unique role names (the sandbox is shared by the
session), applies a spec from examples/ with those names, checks the resources IAM holds,
then walks the chain with real STS calls: a service-account token minted by the cluster's
own issuer → AssumeRoleWithWebIdentity into the CI role → AssumeRole into each target role
→ an allowed EKS call and a denied call. The Kubernetes side (service accounts, ConfigMaps,
aws-auth) is tested against standalone API servers in test_provision_kube.py until the
sandbox serves its clusters' API servers.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from kubetrust import provision
from kubetrust.adapters import AwsAccess, PortFactory
from kubetrust.sandbox.eks import clusters

EXAMPLES = Path(__file__).parents[2] / "examples"
NO_KUBE = provision.Options(kubernetes=False)


def _ports(aws: Any) -> PortFactory:
    accounts = {
        account: AwsAccess(
            access_key_id=key,
            secret_access_key=secret,
            endpoint_url=aws.sandbox.endpoint,
            region=aws.REGION,
        )
        for account, (key, secret) in aws.sandbox.admin_keys.items()
    }
    return PortFactory(AwsAccess(endpoint_url=aws.sandbox.endpoint), accounts)


def _cluster(aws: Any, account: str, name: str) -> str:
    """A fresh EKS cluster (and the service role EKS requires) in ``account``."""
    iam = aws.client("iam", account=account)
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
        RoleName=aws.unique("eks-service"), AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    cluster = aws.unique(name)
    aws.client("eks", account=account).create_cluster(
        name=cluster, roleArn=role, resourcesVpcConfig={}
    )
    return str(cluster)


def _spec(aws: Any, example: str, renames: dict[str, str]) -> provision.Spec:
    text = (EXAMPLES / example).read_text(encoding="utf-8")
    for old, new in renames.items():
        text = text.replace(old, new)
    return provision.parse_spec(text, example)


def _token(aws: Any, account: str, cluster: str, namespace: str, service_account: str) -> str:
    record = clusters.find(aws.sandbox.state_dir, cluster, account)
    return str(
        record.issuer.mint_service_account_token(
            namespace=namespace,
            service_account=service_account,
            service_account_uid="uid-1",
            audiences=["sts.amazonaws.com"],
            expiration_seconds=3600,
            now=int(time.time()),
        )
    )


def _web_identity(aws: Any, role_arn: str, token: str) -> dict[str, str]:
    sts = aws.client("sts", unsigned=True)
    answer = sts.assume_role_with_web_identity(
        RoleArn=role_arn, RoleSessionName="ci-pod", WebIdentityToken=token
    )
    credentials: dict[str, str] = aws.session_credentials(answer)
    return credentials


def _assume(aws: Any, credentials: dict[str, str], role_arn: str) -> dict[str, str]:
    sts = aws.client("sts", credentials=credentials)
    answer = sts.assume_role(RoleArn=role_arn, RoleSessionName="xactarget")
    assumed: dict[str, str] = aws.session_credentials(answer)
    return assumed


def _code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def _exists(aws: Any, account: str, role: str) -> bool:
    try:
        aws.client("iam", account=account).get_role(RoleName=role)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchEntity"
        return False
    return True


def test_seed_aws_side(aws: Any) -> None:
    ci_cluster = _cluster(aws, aws.CI, "ci-cluster")
    ci_role, target_role = aws.unique("ci-account-iam-role"), aws.unique("target-role")
    spec = _spec(
        aws,
        "seed.yaml",
        {
            "cluster: ci-cluster": f"cluster: {ci_cluster}",
            "ci-account-iam-role": ci_role,
            "target-account-iam-role": target_role,
            "name: seed": f"name: {aws.unique('seed')}",
        },
    )
    ports = _ports(aws)
    first = provision.plan(spec, ports, kubernetes=False)
    assert [c.key.split()[0] for c in first.pending] == [
        "oidc-provider",
        "role",
        "role",
        "inline-policy",
        "inline-policy",
    ]
    report = provision.apply(spec, ports, NO_KUBE)
    assert report.ok, report.to_json()

    # what IAM holds
    iam_ci = aws.client("iam", account=aws.CI)
    issuer = aws.client("eks", account=aws.CI).describe_cluster(name=ci_cluster)["cluster"][
        "identity"
    ]["oidc"]["issuer"]
    host = issuer.removeprefix("https://")
    provider_arn = f"arn:aws:iam::{aws.CI}:oidc-provider/{host}"
    provider = iam_ci.get_open_id_connect_provider(OpenIDConnectProviderArn=provider_arn)
    assert provider["ClientIDList"] == ["sts.amazonaws.com"]
    assert {"Key": "kubetrust.dev/managed-by", "Value": "kubetrust"} in provider["Tags"]
    trust = iam_ci.get_role(RoleName=ci_role)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Federated": provider_arn}
    assert trust["Statement"][0]["Condition"] == {
        "StringEquals": {
            f"{host}:sub": "system:serviceaccount:ci-namespace:ci-serviceaccount",
            f"{host}:aud": "sts.amazonaws.com",
        }
    }
    target_arn = f"arn:aws:iam::{aws.TARGET}:role/{target_role}"
    chain = iam_ci.get_role_policy(RoleName=ci_role, PolicyName="kubetrust-chain")
    assert chain["PolicyDocument"]["Statement"][0]["Resource"] == target_arn
    iam_target = aws.client("iam", account=aws.TARGET)
    target_trust = iam_target.get_role(RoleName=target_role)["Role"]["AssumeRolePolicyDocument"]
    assert target_trust["Statement"][0]["Principal"] == {
        "AWS": f"arn:aws:iam::{aws.CI}:role/{ci_role}"
    }

    # the chain, with real STS calls
    token = _token(aws, aws.CI, ci_cluster, "ci-namespace", "ci-serviceaccount")
    ci_credentials = _web_identity(aws, f"arn:aws:iam::{aws.CI}:role/{ci_role}", token)
    target_credentials = _assume(aws, ci_credentials, target_arn)
    identity = aws.client("sts", credentials=target_credentials).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{aws.TARGET}:assumed-role/{target_role}/xactarget"
    aws.client("eks", credentials=target_credentials).list_clusters()
    aws.client("s3", credentials=target_credentials).list_buckets()
    with pytest.raises(ClientError) as denied:
        aws.client("iam", credentials=target_credentials).list_roles()
    assert _code(denied) == "AccessDenied"
    other = _token(aws, aws.CI, ci_cluster, "ci-namespace", "other-serviceaccount")
    with pytest.raises(ClientError) as refused:
        _web_identity(aws, f"arn:aws:iam::{aws.CI}:role/{ci_role}", other)
    assert _code(refused) == "AccessDenied"

    # idempotent
    assert provision.plan(spec, ports, kubernetes=False).pending == []
    again = provision.apply(spec, ports, NO_KUBE)
    assert again.ok and again.writes == 0

    # destroy: only what the spec owns
    foreign = aws.unique("foreign-role")
    iam_target.create_role(RoleName=foreign, AssumeRolePolicyDocument=json.dumps(target_trust))
    gone = provision.destroy(spec, ports, NO_KUBE)
    assert gone.ok, gone.to_json()
    assert not _exists(aws, aws.CI, ci_role) and not _exists(aws, aws.TARGET, target_role)
    assert _exists(aws, aws.TARGET, foreign)
    with pytest.raises(ClientError):
        iam_ci.get_open_id_connect_provider(OpenIDConnectProviderArn=provider_arn)
    assert provision.plan_destroy(spec, ports, kubernetes=False).pending == []


def test_three_targets_in_parallel(aws: Any) -> None:
    ci_cluster = _cluster(aws, aws.CI, "ci-cluster")
    suffix = aws.unique("x")[-8:]
    renames = {
        "cluster: ci-cluster": f"cluster: {ci_cluster}",
        "roleName: ci-deployer": f"roleName: ci-deployer-{suffix}",
        '"333333333333"': f'"{aws.TARGET}"',
        '"444444444444"': f'"{aws.TARGET}"',
        "name: ci-deployer\n": f"name: ci-deployer-{suffix}\n",
    }
    spec = _spec(aws, "three-targets.yaml", renames)
    ports = _ports(aws)
    lines: list[str] = []
    report = provision.apply(
        spec, ports, provision.Options(kubernetes=False, progress=lines.append)
    )
    assert report.ok, report.to_json()
    assert {unit.unit for unit in report.units if unit.done} == {"source", "dev", "stg", "prod"}
    assert any(line.startswith("[prod] + create role") for line in lines)

    token = _token(aws, aws.CI, ci_cluster, "ci-namespace", "ci-deployer")
    ci = _web_identity(aws, f"arn:aws:iam::{aws.CI}:role/ci-deployer-{suffix}", token)
    for target in ("dev", "stg", "prod"):
        role = f"ci-deployer-{suffix}-{target}"
        session = _assume(aws, ci, f"arn:aws:iam::{aws.TARGET}:role/{role}")
        eks = aws.client("eks", credentials=session)
        with pytest.raises(ClientError) as info:  # least privilege: only its own cluster
            eks.describe_cluster(name=f"{target}-cluster-elsewhere")
        assert _code(info) == "AccessDeniedException"
    with pytest.raises(ClientError) as denied:
        aws.client(
            "eks",
            credentials=_assume(
                aws, ci, f"arn:aws:iam::{aws.TARGET}:role/ci-deployer-{suffix}-stg"
            ),
        ).list_clusters()
    assert _code(denied) == "AccessDeniedException"

    assert provision.plan(spec, ports, kubernetes=False).pending == []
    assert provision.apply(spec, ports, NO_KUBE).writes == 0
    assert provision.destroy(spec, ports, NO_KUBE).ok


def test_direct_federation(aws: Any) -> None:
    ci_cluster = _cluster(aws, aws.CI, "ci-cluster")
    dev, stg = aws.unique("ci-direct-dev"), aws.unique("ci-direct-stg")
    spec = _spec(
        aws,
        "direct.yaml",
        {
            "cluster: ci-cluster": f"cluster: {ci_cluster}",
            "ci-direct-dev": dev,
            "ci-direct-stg": stg,
            '"333333333333"': f'"{aws.CI}"',
        },
    )
    ports = _ports(aws)
    report = provision.apply(spec, ports, NO_KUBE)
    assert report.ok, report.to_json()
    token = _token(aws, aws.CI, ci_cluster, "ci-namespace", "ci-serviceaccount")
    # straight into each target role with the pod's token: no CI role, no chaining
    dev_session = _web_identity(aws, f"arn:aws:iam::{aws.TARGET}:role/{dev}", token)
    aws.client("eks", credentials=dev_session).list_clusters()
    stg_session = _web_identity(aws, f"arn:aws:iam::{aws.CI}:role/{stg}", token)
    aws.client("iam", credentials=stg_session).list_roles()  # ReadOnlyAccess, attached
    with pytest.raises(ClientError) as denied:
        aws.client("iam", credentials=stg_session).create_role(
            RoleName=aws.unique("nope"), AssumeRolePolicyDocument="{}"
        )
    assert _code(denied) == "AccessDenied"
    assert provision.apply(spec, ports, NO_KUBE).writes == 0
    assert provision.destroy(spec, ports, NO_KUBE).ok
    assert not _exists(aws, aws.TARGET, dev) and not _exists(aws, aws.CI, stg)


def test_wrong_account_credentials_are_refused_before_any_write(aws: Any) -> None:
    key, secret = aws.sandbox.admin_keys[aws.TARGET]
    wrong = AwsAccess(
        access_key_id=key, secret_access_key=secret, endpoint_url=aws.sandbox.endpoint
    )
    ports = PortFactory(wrong, {})
    spec = _spec(aws, "seed.yaml", {})
    with pytest.raises(provision.ProvisionError, match="belong to account 222222222222"):
        provision.plan(spec, ports, kubernetes=False)
