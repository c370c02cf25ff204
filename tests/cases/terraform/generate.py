"""Regenerate the example plans: ``.venv/bin/python tests/cases/terraform/generate.py``.

Each ``examples/*.yaml`` system written the way a Terraform user writes it, as the JSON of
``terraform show -json PLANFILE`` for its *first* apply (clusters, roles and OIDC providers
to create: issuers and ARNs unknown until apply), with the per-account providers such a
configuration has (aliases; ``assume_role`` or ``allowed_account_ids``), plus broken
variants. The applied systems the plans are compared with are ``*.world.yaml`` next to
them, written by hand from the example specs (tests/unit/iac/test_terraform_examples.py).

- ``three-targets``: the terraform-aws-modules layout: ``module.eks``
  (terraform-aws-modules/eks: ``aws_eks_cluster.this[0]``,
  ``aws_iam_openid_connect_provider.oidc_provider[0]``), ``module.irsa_role``
  (terraform-aws-modules/iam ``iam-role-for-service-accounts-eks``: the trust from
  ``data.aws_iam_policy_document.this[0]`` built by a dynamic block, policies attached
  with ``for_each``) and one local module per target account, given its provider;
- ``direct``: a root module, an OIDC provider per target account;
- ``pod-identity``: ``module.pod_identity`` (terraform-aws-modules/eks-pod-identity:
  ``aws_eks_pod_identity_association.this["key"]`` with ``target_role_arn``), the target
  role and access entry at the root; broken: the target trust without ``sts:TagSession``,
  the association for another service account;
- ``pod-identity-multi``: two targets, associations without target roles;
- ``pod-identity-module-policy``: ``pod-identity`` with the chain permission in the
  module's ``policy_statements`` (a ``dynamic "statement"`` block), the target role created
  by the same plan (its ARN unknown); ``-known``: the target role exists already, so the
  module's policy document is read while planning.

The seed's plans (``seed*.plan.json``) come from ``seed_plans.py``.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from planwriter import KUBERNETES, PlanWriter, const, ref

HERE = Path(__file__).resolve().parent
CI, DEV, STG, PROD = "111111111111", "222222222222", "333333333333", "444444444444"
REGION = "us-east-1"
VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
EDIT = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"
V = "2012-10-17"


def cluster_arn(account: str, name: str) -> str:
    return f"arn:aws:eks:{REGION}:{account}:cluster/{name}"


def existing_cluster(plan: PlanWriter, address: str, account: str, name: str, mode: str) -> None:
    """An EKS cluster that exists: a data source read while planning."""
    issuer = f"https://oidc.eks.{REGION}.amazonaws.com/id/{name.upper().replace('-', '')}0EXAMPLE"
    plan.data(
        address,
        {
            "name": name,
            "id": name,
            "arn": cluster_arn(account, name),
            "endpoint": f"https://{name.upper().replace('-', '')}.gr7.{REGION}.eks.amazonaws.com",
            "identity": [{"oidc": [{"issuer": issuer}]}],
            "access_config": [
                {"authentication_mode": mode, "bootstrap_cluster_creator_admin_permissions": True}
            ],
            "certificate_authority": [{"data": "LS0tLS1CRUdJTi..."}],
            "status": "ACTIVE",
            "version": "1.31",
        },
        config={"name": const(name)},
        provider="aws",
    )


ROLE_UNKNOWN = {
    "arn": True,
    "id": True,
    "unique_id": True,
    "create_date": True,
    "inline_policy": True,
    "managed_policy_arns": True,
    "tags_all": True,
}


def role(
    plan: PlanWriter,
    address: str,
    name: str,
    trust: dict[str, Any],
    *,
    provider: str = "aws",
    known_trust: str | None = None,
) -> None:
    """An ``aws_iam_role`` whose trust is ``trust`` (an expression); ``known_trust``: the
    rendered JSON when the plan knows it."""
    unknown = dict(ROLE_UNKNOWN)
    after: dict[str, Any] = {
        "name": name,
        "path": "/",
        "max_session_duration": 3600,
        "force_detach_policies": False,
        "permissions_boundary": None,
        "description": "",
        "tags": {"team": "platform"},
    }
    if known_trust is None:
        unknown["assume_role_policy"] = True
    else:
        after["assume_role_policy"] = known_trust
    plan.resource(
        address,
        after,
        unknown=unknown,
        config={"name": const(name), "assume_role_policy": trust},
        provider=provider,
    )


def policy_document(
    plan: PlanWriter,
    address: str,
    statements: list[dict[str, Any]],
    unknown_statements: list[dict[str, Any]],
    config_statements: list[dict[str, Any]] | None,
    provider: str = "aws",
) -> None:
    """A ``data.aws_iam_policy_document`` read at apply (some argument unknown)."""
    config = {} if config_statements is None else {"statement": config_statements}
    plan.resource(
        address,
        {
            "statement": statements,
            "override_policy_documents": None,
            "source_policy_documents": None,
            "version": None,
            "policy_id": None,
        },
        unknown={
            "id": True,
            "json": True,
            "minified_json": True,
            "statement": unknown_statements,
        },
        config=config,
        provider=provider,
        actions=("read",),
        mode="data",
    )


def service_account(
    plan: PlanWriter, address: str, namespace: str, name: str, role_arn: dict[str, Any] | None
) -> None:
    metadata_unknown: dict[str, Any] = {"generation": True, "resource_version": True, "uid": True}
    annotations: dict[str, Any] = {}
    config_meta: dict[str, Any] = {"name": const(name), "namespace": const(namespace)}
    if role_arn is not None:
        metadata_unknown["annotations"] = {"eks.amazonaws.com/role-arn": True}
        annotations = {}
        config_meta["annotations"] = role_arn
    plan.resource(
        address,
        {
            "automount_service_account_token": True,
            "metadata": [
                {"name": name, "namespace": namespace, "labels": None, "annotations": annotations}
            ],
        },
        unknown={"id": True, "default_secret_name": True, "metadata": [metadata_unknown]},
        config={"metadata": [config_meta]},
        provider="kubernetes.ci",
    )


def access_entry(
    plan: PlanWriter,
    prefix: str,
    cluster: dict[str, Any],
    cluster_name: str,
    principal: dict[str, Any],
    *,
    username: str | None,
    policy: str,
    namespaces: list[str] | None,
    provider: str = "aws",
) -> None:
    """An access entry and its access policy association (``prefix``: the addresses' start,
    ``module.x.`` or empty; ``principal``: the role ARN's expression, unknown)."""
    after: dict[str, Any] = {
        "cluster_name": cluster_name,
        "kubernetes_groups": None,
        "type": "STANDARD",
        "tags": None,
    }
    unknown: dict[str, Any] = {
        "principal_arn": True,
        "access_entry_arn": True,
        "id": True,
        "created_at": True,
        "modified_at": True,
        "kubernetes_groups": True,
        "tags_all": True,
    }
    if username is not None:
        after["user_name"] = username
    else:
        unknown["user_name"] = True
    plan.resource(
        f"{prefix}aws_eks_access_entry.this",
        after,
        unknown=unknown,
        config={"cluster_name": cluster, "principal_arn": principal, "type": const("STANDARD")}
        | ({"user_name": const(username)} if username else {}),
        provider=provider,
    )
    scope: dict[str, Any] = {"type": "namespace" if namespaces else "cluster"}
    scope["namespaces"] = namespaces
    plan.resource(
        f"{prefix}aws_eks_access_policy_association.this",
        {"cluster_name": cluster_name, "policy_arn": policy, "access_scope": [scope]},
        unknown={
            "principal_arn": True,
            "id": True,
            "associated_at": True,
            "modified_at": True,
            "access_scope": [{"namespaces": [False] * len(namespaces or [])}],
        },
        config={
            "cluster_name": cluster,
            "principal_arn": ref("aws_eks_access_entry.this.principal_arn"),
            "policy_arn": const(policy),
            "access_scope": [{"type": const(scope["type"]), "namespaces": const(namespaces)}],
        },
        provider=provider,
    )


# ---------------------------------------------------------------------- three-targets
TARGETS3 = [
    ("dev", DEV, "ci-deployer-dev", "dev-cluster", EDIT, ["apps", "apps-*"]),
    ("stg", STG, "ci-deployer-stg", "stg-cluster", VIEW, ["apps"]),
    ("prod", PROD, "ci-deployer-prod", "prod-cluster", VIEW, ["apps"]),
]
TARGET_PERMISSIONS = {
    "dev": [
        {
            "Sid": "DescribeOwnCluster",
            "Effect": "Allow",
            "Action": "eks:DescribeCluster",
            "Resource": cluster_arn(DEV, "dev-cluster"),
        },
        {"Sid": "ListClusters", "Effect": "Allow", "Action": "eks:ListClusters", "Resource": "*"},
    ],
    "stg": [
        {
            "Effect": "Allow",
            "Action": "eks:DescribeCluster",
            "Resource": cluster_arn(STG, "stg-cluster"),
        }
    ],
    "prod": [
        {
            "Effect": "Allow",
            "Action": "eks:DescribeCluster",
            "Resource": cluster_arn(PROD, "prod-cluster"),
        }
    ],
}


def three_targets() -> dict[str, Any]:
    plan = PlanWriter()
    plan.provider("aws", region=const(REGION), role_arn=const(f"arn:aws:iam::{CI}:role/terraform"))
    plan.provider(
        "aws.dev", region=const(REGION), role_arn=const(f"arn:aws:iam::{DEV}:role/terraform")
    )
    plan.provider("aws.stg", region=ref("var.region"), allowed=[STG])  # no assume_role
    plan.provider("aws.prod", region=const(REGION), role_arn=ref("var.prod_terraform_role"))
    plan.provider(
        "kubernetes.ci",
        full_name=KUBERNETES,
        extra={
            "host": ref("module.eks.cluster_endpoint"),
            "cluster_ca_certificate": ref("module.eks.cluster_certificate_authority_data"),
        },
    )
    plan.variable("region", REGION)
    plan.variable("prod_terraform_role", f"arn:aws:iam::{PROD}:role/terraform")

    # module.eks (terraform-aws-modules/eks/aws)
    plan.module(
        "module.eks",
        "terraform-aws-modules/eks/aws",
        version="~> 20.31",
        inputs={
            "cluster_name": const("ci-cluster"),
            "cluster_version": const("1.31"),
            "authentication_mode": const("API_AND_CONFIG_MAP"),
            "enable_irsa": const(True),
        },
        outputs={
            "cluster_name": ref("aws_eks_cluster.this[0].name"),
            "cluster_endpoint": ref("aws_eks_cluster.this[0].endpoint"),
            "cluster_certificate_authority_data": ref(
                "aws_eks_cluster.this[0].certificate_authority[0].data"
            ),
            "oidc_provider_arn": ref("aws_iam_openid_connect_provider.oidc_provider[0].arn"),
            "cluster_oidc_issuer_url": ref("aws_eks_cluster.this[0].identity[0].oidc[0].issuer"),
        },
    )
    plan.resource(
        "module.eks.aws_eks_cluster.this[0]",
        {
            "name": "ci-cluster",
            "version": "1.31",
            "access_config": [
                {
                    "authentication_mode": "API_AND_CONFIG_MAP",
                    "bootstrap_cluster_creator_admin_permissions": False,
                }
            ],
            "bootstrap_self_managed_addons": True,
            "tags": {"terraform-aws-modules": "eks"},
        },
        unknown={
            "arn": True,
            "id": True,
            "endpoint": True,
            "identity": True,
            "certificate_authority": True,
            "role_arn": True,
            "status": True,
            "platform_version": True,
            "created_at": True,
            "vpc_config": [{"cluster_security_group_id": True, "vpc_id": True}],
            "access_config": [{}],
            "tags_all": True,
        },
        config={
            "name": ref("var.cluster_name"),
            "role_arn": ref("aws_iam_role.this[0].arn"),
            "access_config": [{"authentication_mode": ref("var.authentication_mode")}],
        },
    )
    plan.resource(
        "module.eks.aws_iam_openid_connect_provider.oidc_provider[0]",
        {"client_id_list": ["sts.amazonaws.com"], "tags": {"Name": "ci-cluster-eks-irsa"}},
        unknown={
            "arn": True,
            "id": True,
            "url": True,
            "thumbprint_list": True,
            "client_id_list": [False],
            "tags_all": True,
        },
        config={
            "client_id_list": ref("local.openid_connect_audiences"),
            "thumbprint_list": ref("data.tls_certificate.this[0].certificates[0].sha1_fingerprint"),
            "url": ref("aws_eks_cluster.this[0].identity[0].oidc[0].issuer"),
        },
    )

    # module.irsa_role (terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks)
    plan.module(
        "module.irsa_role",
        "terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks",
        version="~> 5.48",
        inputs={
            "role_name": const("ci-deployer"),
            "oidc_providers": ref("module.eks.oidc_provider_arn"),
            "role_policy_arns": ref("aws_iam_policy.assume_targets.arn"),
        },
        outputs={"iam_role_arn": ref("aws_iam_role.this[0].arn")},
    )
    # the trust statement comes from a dynamic block over var.oidc_providers: the
    # configuration shows no expression for it, the planned value its known parts
    policy_document(
        plan,
        "module.irsa_role.data.aws_iam_policy_document.this[0]",
        [
            {
                "sid": None,
                "effect": "Allow",
                "actions": ["sts:AssumeRoleWithWebIdentity"],
                "principals": [{"type": "Federated"}],
                "condition": [
                    {
                        "test": "StringEquals",
                        "values": ["system:serviceaccount:ci-namespace:ci-deployer"],
                    },
                    {"test": "StringEquals", "values": ["sts.amazonaws.com"]},
                ],
            }
        ],
        [
            {
                "actions": [False],
                "principals": [{"identifiers": True}],
                "condition": [
                    {"variable": True, "values": [False]},
                    {"variable": True, "values": [False]},
                ],
            }
        ],
        None,
    )
    role(
        plan,
        "module.irsa_role.aws_iam_role.this[0]",
        "ci-deployer",
        ref("data.aws_iam_policy_document.this[0].json"),
    )
    plan.resource(
        'module.irsa_role.aws_iam_role_policy_attachment.this["assume_targets"]',
        {"role": "ci-deployer"},
        unknown={"id": True, "policy_arn": True},
        config={"role": ref("aws_iam_role.this[0].name"), "policy_arn": ref("each.value")},
        for_each=ref("var.role_policy_arns", "var.create_role"),
    )

    # the chain permission, at the root: may assume the three target roles
    policy_document(
        plan,
        "data.aws_iam_policy_document.assume_targets",
        [
            {
                "sid": "AssumeTargets",
                "effect": "Allow",
                "actions": ["sts:AssumeRole"],
                "resources": [None, None, None],
            }
        ],
        [{"actions": [False], "resources": [True, True, True]}],
        [
            {
                "sid": const("AssumeTargets"),
                "actions": const(["sts:AssumeRole"]),
                "resources": ref(*(f"module.target_{t[0]}.role_arn" for t in TARGETS3)),
            }
        ],
    )
    plan.resource(
        "aws_iam_policy.assume_targets",
        {"name": "ci-deployer-assume-targets", "path": "/", "description": "", "tags": None},
        unknown={"arn": True, "id": True, "policy": True, "policy_id": True, "tags_all": True},
        config={
            "name": const("ci-deployer-assume-targets"),
            "policy": ref("data.aws_iam_policy_document.assume_targets.json"),
        },
    )

    # one local module per target account
    for name, account, role_name, cluster, policy, namespaces in TARGETS3:
        prefix = f"module.target_{name}."
        plan.module(
            f"module.target_{name}",
            "./modules/cross-account-target",
            inputs={
                "role_name": const(role_name),
                "trusted_role_arn": ref("module.irsa_role.iam_role_arn"),
                "cluster_name": const(cluster),
                "permissions": const(TARGET_PERMISSIONS[name]),
            },
            outputs={"role_arn": ref("aws_iam_role.this.arn")},
            passed={"aws": f"aws.{name}"},
        )
        existing_cluster(plan, f"{prefix}data.aws_eks_cluster.this", account, cluster, "API")
        policy_document(
            plan,
            f"{prefix}data.aws_iam_policy_document.trust",
            [{"effect": "Allow", "actions": ["sts:AssumeRole"], "principals": [{"type": "AWS"}]}],
            [{"actions": [False], "principals": [{"identifiers": True}]}],
            [
                {
                    "actions": const(["sts:AssumeRole"]),
                    "principals": [
                        {"type": const("AWS"), "identifiers": ref("var.trusted_role_arn")}
                    ],
                }
            ],
        )
        role(
            plan,
            f"{prefix}aws_iam_role.this",
            role_name,
            ref("data.aws_iam_policy_document.trust.json"),
        )
        if name == "prod":
            plan.changes[-1]["change"]["after"]["max_session_duration"] = 3600
        plan.resource(
            f"{prefix}aws_iam_role_policy.permissions",
            {
                "name": "permissions",
                "name_prefix": None,
                "policy": json.dumps({"Version": V, "Statement": TARGET_PERMISSIONS[name]}),
            },
            unknown={"id": True, "role": True},
            config={
                "name": const("permissions"),
                "role": ref("aws_iam_role.this.id"),
                "policy": ref("var.permissions"),
            },
        )
        access_entry(
            plan,
            prefix,
            ref("data.aws_eks_cluster.this.name"),
            cluster,
            ref("aws_iam_role.this.arn"),
            username="ci-deployer",
            policy=policy,
            namespaces=namespaces,
        )

    service_account(
        plan,
        "kubernetes_service_account_v1.ci_deployer",
        "ci-namespace",
        "ci-deployer",
        ref("module.irsa_role.iam_role_arn"),
    )
    return plan.document()


# ---------------------------------------------------------------------- direct
def direct() -> dict[str, Any]:
    plan = PlanWriter()
    plan.provider("aws", region=const(REGION), role_arn=const(f"arn:aws:iam::{CI}:role/terraform"))
    plan.provider(
        "aws.dev", region=const(REGION), role_arn=const(f"arn:aws:iam::{DEV}:role/terraform")
    )
    plan.provider(
        "aws.stg", region=const(REGION), role_arn=const(f"arn:aws:iam::{STG}:role/terraform")
    )
    plan.provider(
        "kubernetes.ci",
        full_name=KUBERNETES,
        extra={"host": ref("aws_eks_cluster.ci.endpoint")},
    )
    plan.provider(
        "kubernetes.dev",
        full_name=KUBERNETES,
        extra={"host": ref("data.aws_eks_cluster.dev.endpoint")},
    )
    plan.variable("dev_account", DEV)
    plan.resource(
        "aws_eks_cluster.ci",
        {
            "name": "ci-cluster",
            "role_arn": f"arn:aws:iam::{CI}:role/ci-cluster-role",
            "version": "1.31",
            "access_config": [{"authentication_mode": "API_AND_CONFIG_MAP"}],
            "tags": None,
        },
        unknown={
            "arn": True,
            "id": True,
            "endpoint": True,
            "identity": True,
            "certificate_authority": True,
            "status": True,
            "platform_version": True,
            "created_at": True,
            "access_config": [{}],
            "tags_all": True,
        },
        config={"name": const("ci-cluster")},
    )
    existing_cluster(plan, "data.aws_eks_cluster.dev", DEV, "dev-cluster", "CONFIG_MAP")
    plan.prior[-1]["provider_name"] = "registry.terraform.io/hashicorp/aws"
    plan.modules[""]["resources"][-1]["provider_config_key"] = "aws.dev"
    for name, _account, role_name in (("dev", DEV, "ci-direct-dev"), ("stg", STG, "ci-direct-stg")):
        provider = f"aws.{name}"
        plan.resource(
            f"aws_iam_openid_connect_provider.{name}",
            {"client_id_list": ["sts.amazonaws.com"], "tags": None},
            unknown={
                "arn": True,
                "id": True,
                "url": True,
                "thumbprint_list": True,
                "tags_all": True,
            },
            config={
                "client_id_list": const(["sts.amazonaws.com"]),
                "url": ref("aws_eks_cluster.ci.identity[0].oidc[0].issuer"),
            },
            provider=provider,
        )
        host = ref(f"aws_iam_openid_connect_provider.{name}.url")
        policy_document(
            plan,
            f"data.aws_iam_policy_document.{name}_trust",
            [
                {
                    "effect": "Allow",
                    "actions": ["sts:AssumeRoleWithWebIdentity"],
                    "principals": [{"type": "Federated"}],
                    "condition": [
                        {
                            "test": "StringEquals",
                            "values": ["system:serviceaccount:ci-namespace:ci-serviceaccount"],
                        },
                        {"test": "StringEquals", "values": ["sts.amazonaws.com"]},
                    ],
                }
            ],
            [
                {
                    "actions": [False],
                    "principals": [{"identifiers": True}],
                    "condition": [{"variable": True}, {"variable": True}],
                }
            ],
            [
                {
                    "actions": const(["sts:AssumeRoleWithWebIdentity"]),
                    "principals": [
                        {
                            "type": const("Federated"),
                            "identifiers": ref(f"aws_iam_openid_connect_provider.{name}.arn"),
                        }
                    ],
                    "condition": [
                        {"test": const("StringEquals"), "variable": host},
                        {"test": const("StringEquals"), "variable": host},
                    ],
                }
            ],
            provider=provider,
        )
        role(
            plan,
            f"aws_iam_role.{name}",
            role_name,
            ref(f"data.aws_iam_policy_document.{name}_trust.json"),
            provider=provider,
        )
    plan.resource(
        "aws_iam_role_policy.dev_permissions",
        {
            "name": "permissions",
            "policy": json.dumps(
                {
                    "Version": V,
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["eks:ListClusters", "eks:DescribeCluster"],
                            "Resource": "*",
                        }
                    ],
                }
            ),
        },
        unknown={"id": True, "role": True},
        config={"name": const("permissions"), "role": ref("aws_iam_role.dev.name")},
        provider="aws.dev",
    )
    plan.resource(
        "aws_iam_role_policy_attachment.stg_read_only",
        {"role": "ci-direct-stg", "policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
        unknown={"id": True},
        config={
            "role": ref("aws_iam_role.stg.name"),
            "policy_arn": const("arn:aws:iam::aws:policy/ReadOnlyAccess"),
        },
        provider="aws.stg",
    )
    # aws-auth of the existing dev cluster; the ARN is written from the account variable, so
    # the plan knows it
    plan.resource(
        "kubernetes_config_map_v1_data.aws_auth",
        {
            "force": True,
            "field_manager": "Terraform",
            "metadata": [{"name": "aws-auth", "namespace": "kube-system"}],
            "data": {
                "mapRoles": (
                    '- "groups":\n  - "ci-readers"\n  "rolearn": '
                    f'"arn:aws:iam::{DEV}:role/ci-direct-dev"\n  "username": "ci-direct"\n'
                )
            },
        },
        unknown={"id": True, "metadata": [{}], "data": {}},
        config={
            "force": const(True),
            "metadata": [{"name": const("aws-auth"), "namespace": const("kube-system")}],
            "data": ref("var.dev_account"),
        },
        provider="kubernetes.dev",
    )
    service_account(
        plan,
        "kubernetes_service_account_v1.ci",
        "ci-namespace",
        "ci-serviceaccount",
        ref("aws_iam_role.dev.arn"),
    )
    return plan.document()


# ---------------------------------------------------------------------- pod identity
PI_TARGET_TRUST_ACTIONS = ["sts:AssumeRole", "sts:TagSession"]
CI_CLUSTER = cluster_arn(CI, "ci-cluster")


def _pod_identity_source(
    plan: PlanWriter, role_name: str, namespace: str, sa: str, associations: dict[str, Any]
) -> None:
    """``module.pod_identity`` (terraform-aws-modules/eks-pod-identity/aws): the association
    role (its trust known while planning) and the associations (``for_each``)."""
    plan.module(
        "module.pod_identity",
        "terraform-aws-modules/eks-pod-identity/aws",
        version="~> 1.12",
        inputs={
            "name": const(role_name),
            "use_name_prefix": const(False),
            "associations": associations,
        },
        outputs={
            "iam_role_arn": ref("aws_iam_role.this[0].arn"),
            "iam_role_name": ref("aws_iam_role.this[0].name"),
        },
    )
    trust = {
        "Version": V,
        "Statement": [
            {
                "Sid": "AllowEksAuthToAssumeRoleForPodIdentity",
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:TagSession", "sts:AssumeRole"],
                "Condition": {
                    "StringEquals": {
                        "aws:SourceAccount": CI,
                        "aws:RequestTag/eks-cluster-arn": CI_CLUSTER,
                        "aws:RequestTag/kubernetes-namespace": namespace,
                        "aws:RequestTag/kubernetes-service-account": sa,
                    }
                },
            }
        ],
    }
    plan.data(
        "module.pod_identity.data.aws_iam_policy_document.assume[0]",
        {"json": json.dumps(trust, indent=2), "id": "1845237193"},
        config={"statement": []},
    )
    role(
        plan,
        "module.pod_identity.aws_iam_role.this[0]",
        role_name,
        ref("data.aws_iam_policy_document.assume[0].json"),
        known_trust=json.dumps(trust, indent=2),
    )


def _chain_policy(plan: PlanWriter, role_name: str, resources: list[str]) -> None:
    """The association role may assume the target roles: a root policy on the module's
    role (the module's own ``policy_statements`` come from a dynamic block)."""
    policy_document(
        plan,
        "data.aws_iam_policy_document.chain",
        [
            {
                "sid": "AssumeTargets",
                "effect": "Allow",
                "actions": PI_TARGET_TRUST_ACTIONS,
                "resources": [None] * len(resources),
            }
        ],
        [{"actions": [False, False], "resources": [True] * len(resources)}],
        [
            {
                "sid": const("AssumeTargets"),
                "actions": const(PI_TARGET_TRUST_ACTIONS),
                "resources": ref(*resources),
            }
        ],
    )
    plan.resource(
        "aws_iam_role_policy.chain",
        {"name": "chain", "role": role_name},
        unknown={"id": True, "policy": True},
        config={
            "name": const("chain"),
            "role": ref("module.pod_identity.iam_role_name"),
            "policy": ref("data.aws_iam_policy_document.chain.json"),
        },
    )


def _module_chain_policy(
    plan: PlanWriter, resources: list[str], *, known: list[str] | None
) -> None:
    """The chain permission as the eks-pod-identity module writes it from its input
    ``policy_statements`` (``attach_custom_policy = true``): ``data.aws_iam_policy_document
    .custom[0]`` expands the statements in a ``dynamic "statement"`` block (its
    configuration shows none of them), ``aws_iam_policy.custom[0]`` holds the JSON,
    ``aws_iam_role_policy_attachment.custom[0]`` attaches it. ``known``: the target ARNs
    when they exist already (the data source is then read while planning, in
    ``prior_state``), else ``None`` (read at apply, its statements partly unknown)."""
    inputs = plan.calls["module.pod_identity"]["expressions"]
    inputs["attach_custom_policy"] = const(True)
    inputs["policy_statements"] = ref(*resources)
    statement = {
        "sid": "AssumeTargets",
        "effect": "Allow",
        "actions": PI_TARGET_TRUST_ACTIONS,
        "not_actions": [],
        "resources": known or [None] * len(resources),
        "not_resources": [],
        "principals": [],
        "not_principals": [],
        "condition": [],
    }
    address = "module.pod_identity.data.aws_iam_policy_document.custom[0]"
    config = {
        "source_policy_documents": ref("var.source_policy_documents"),
        "override_policy_documents": ref("var.override_policy_documents"),
    }
    if known is None:
        plan.resource(
            address,
            {"statement": [statement], "source_policy_documents": [], "version": None},
            unknown={
                "id": True,
                "json": True,
                "minified_json": True,
                "statement": [{"resources": [True] * len(resources)}],
            },
            config=config,
            actions=("read",),
            mode="data",
        )
        policy: dict[str, Any] = {}
        policy_unknown: dict[str, Any] = {"policy": True}
    else:
        rendered = json.dumps(
            {
                "Version": V,
                "Statement": [
                    {
                        "Sid": "AssumeTargets",
                        "Effect": "Allow",
                        "Action": PI_TARGET_TRUST_ACTIONS,
                        "Resource": known,
                    }
                ],
            },
            indent=2,
        )
        plan.data(address, {"statement": [statement], "json": rendered, "id": "41"}, config=config)
        policy = {"policy": rendered}
        policy_unknown = {}
    plan.resource(
        "module.pod_identity.aws_iam_policy.custom[0]",
        {"name": "ci-pod-identity-role-custom", "path": "/", "description": "", **policy},
        unknown={"arn": True, "id": True, "policy_id": True, **policy_unknown},
        config={
            "name": ref("var.name"),
            "path": ref("var.policy_path"),
            "policy": ref("data.aws_iam_policy_document.custom[0].json"),
        },
    )
    plan.resource(
        "module.pod_identity.aws_iam_role_policy_attachment.custom[0]",
        {"role": "ci-pod-identity-role"},
        unknown={"id": True, "policy_arn": True},
        config={
            "role": ref("aws_iam_role.this[0].name"),
            "policy_arn": ref("aws_iam_policy.custom[0].arn"),
        },
    )


def _target(
    plan: PlanWriter,
    suffix: str,
    provider: str,
    role_name: str,
    actions: list[str],
    permissions: list[dict[str, Any]],
    namespace: str = "ci",
    sa: str = "deployer",
) -> None:
    conditions = [
        ("aws:PrincipalTag/eks-cluster-arn", CI_CLUSTER),
        ("aws:PrincipalTag/kubernetes-namespace", namespace),
        ("aws:PrincipalTag/kubernetes-service-account", sa),
    ]
    policy_document(
        plan,
        f"data.aws_iam_policy_document.target{suffix}_trust",
        [
            {
                "effect": "Allow",
                "actions": actions,
                "principals": [{"type": "AWS"}],
                "condition": [
                    {"test": "StringEquals", "variable": key, "values": [value]}
                    for key, value in conditions
                ],
            }
        ],
        [{"actions": [False] * len(actions), "principals": [{"identifiers": True}]}],
        [
            {
                "actions": const(actions),
                "principals": [
                    {"type": const("AWS"), "identifiers": ref("module.pod_identity.iam_role_arn")}
                ],
            }
        ],
        provider=provider,
    )
    role(
        plan,
        f"aws_iam_role.target{suffix}",
        role_name,
        ref(f"data.aws_iam_policy_document.target{suffix}_trust.json"),
        provider=provider,
    )
    plan.resource(
        f"aws_iam_role_policy.target{suffix}",
        {
            "name": "permissions",
            "policy": json.dumps({"Version": V, "Statement": permissions}),
        },
        unknown={"id": True, "role": True},
        config={"name": const("permissions"), "role": ref(f"aws_iam_role.target{suffix}.id")},
        provider=provider,
    )


def _association(plan: PlanWriter, key: str, namespace: str, sa: str, target: bool) -> None:
    after = {
        "cluster_name": "ci-cluster",
        "namespace": namespace,
        "service_account": sa,
        "tags": None,
        "disable_session_tags": False,
    }
    unknown = {"association_arn": True, "association_id": True, "id": True, "role_arn": True}
    if target:
        unknown["target_role_arn"] = True
        unknown["external_id"] = True
    plan.resource(
        f'module.pod_identity.aws_eks_pod_identity_association.this["{key}"]',
        after,
        unknown=unknown,
        config={
            "cluster_name": ref("each.value.cluster_name", "var.association_defaults"),
            "namespace": ref("each.value.namespace"),
            "service_account": ref("each.value.service_account"),
            "role_arn": ref("aws_iam_role.this[0].arn"),
            "target_role_arn": ref("each.value.target_role_arn"),
        },
        for_each=ref("var.associations", "var.create"),
    )


def pod_identity(
    *,
    target_actions: list[str] | None = None,
    association_sa: str = "deployer",
    module_policy: str = "",
) -> dict[str, Any]:
    """``module_policy``: ``""`` (the chain permission a root policy), ``"deferred"`` or
    ``"known"`` (the module's ``policy_statements``, :func:`_module_chain_policy`)."""
    plan = PlanWriter()
    plan.provider("aws", region=const(REGION), role_arn=const(f"arn:aws:iam::{CI}:role/terraform"))
    plan.provider(
        "aws.target", region=const(REGION), role_arn=const(f"arn:aws:iam::{DEV}:role/terraform")
    )
    existing_cluster(plan, "data.aws_eks_cluster.ci", CI, "ci-cluster", "API_AND_CONFIG_MAP")
    existing_cluster(plan, "data.aws_eks_cluster.target", DEV, "target-cluster", "API")
    plan.modules[""]["resources"][-1]["provider_config_key"] = "aws.target"
    _pod_identity_source(
        plan,
        "ci-pod-identity-role",
        "ci",
        "deployer",
        ref("aws_iam_role.target.arn"),
    )
    if not module_policy:
        _chain_policy(plan, "ci-pod-identity-role", ["aws_iam_role.target.arn"])
    else:
        known = [f"arn:aws:iam::{DEV}:role/target-pod-identity-role"]
        _module_chain_policy(
            plan, ["aws_iam_role.target.arn"], known=known if module_policy == "known" else None
        )
    _target(
        plan,
        "",
        "aws.target",
        "target-pod-identity-role",
        target_actions or PI_TARGET_TRUST_ACTIONS,
        [
            {
                "Sid": "ReadClusters",
                "Effect": "Allow",
                "Action": ["eks:ListClusters", "eks:DescribeCluster", "s3:ListAllMyBuckets"],
                "Resource": "*",
            }
        ],
    )
    _association(plan, "deployer", "ci", association_sa, target=True)
    access_entry(
        plan,
        "",
        ref("data.aws_eks_cluster.target.name"),
        "target-cluster",
        ref("aws_iam_role.target.arn"),
        username="ci-deployer",
        policy=VIEW,
        namespaces=None,
        provider="aws.target",
    )
    return plan.document()


def pod_identity_multi() -> dict[str, Any]:
    plan = PlanWriter()
    plan.provider("aws", region=const(REGION), role_arn=const(f"arn:aws:iam::{CI}:role/terraform"))
    plan.provider(
        "aws.dev", region=const(REGION), role_arn=const(f"arn:aws:iam::{DEV}:role/terraform")
    )
    plan.provider("aws.prod", region=const(REGION), allowed=[STG])
    existing_cluster(plan, "data.aws_eks_cluster.ci", CI, "ci-cluster", "API_AND_CONFIG_MAP")
    existing_cluster(plan, "data.aws_eks_cluster.dev", DEV, "dev-cluster", "API")
    plan.modules[""]["resources"][-1]["provider_config_key"] = "aws.dev"
    _pod_identity_source(
        plan,
        "ci-pod-identity-multi",
        "ci",
        "deployer",
        const(
            {
                "deployer": {
                    "cluster_name": "ci-cluster",
                    "namespace": "ci",
                    "service_account": "deployer",
                }
            }
        ),
    )
    _chain_policy(
        plan,
        "ci-pod-identity-multi",
        ["aws_iam_role.target_dev.arn", "aws_iam_role.target_prod.arn"],
    )
    describe = ["eks:ListClusters", "eks:DescribeCluster"]
    _target(
        plan,
        "_dev",
        "aws.dev",
        "deployer-dev",
        PI_TARGET_TRUST_ACTIONS,
        [{"Effect": "Allow", "Action": describe, "Resource": "*"}],
    )
    _target(
        plan,
        "_prod",
        "aws.prod",
        "deployer-prod",
        PI_TARGET_TRUST_ACTIONS,
        [{"Effect": "Allow", "Action": "eks:ListClusters", "Resource": "*"}],
    )
    _association(plan, "deployer", "ci", "deployer", target=False)
    plan.changes[-1]["change"]["after"]["target_role_arn"] = None
    access_entry(
        plan,
        "",
        ref("data.aws_eks_cluster.dev.name"),
        "dev-cluster",
        ref("aws_iam_role.target_dev.arn"),
        username=None,
        policy=VIEW,
        namespaces=None,
        provider="aws.dev",
    )
    return plan.document()


PLANS: dict[str, Callable[[], dict[str, Any]]] = {
    "three-targets": three_targets,
    "direct": direct,
    "pod-identity": pod_identity,
    "pod-identity-no-tag-session": lambda: pod_identity(target_actions=["sts:AssumeRole"]),
    "pod-identity-wrong-sa": lambda: pod_identity(association_sa="deployer-old"),
    "pod-identity-multi": pod_identity_multi,
    "pod-identity-module-policy": lambda: pod_identity(module_policy="deferred"),
    "pod-identity-module-policy-known": lambda: pod_identity(module_policy="known"),
}


def main() -> None:
    for name, build in PLANS.items():
        document = copy.deepcopy(build())
        path = HERE / f"{name}.plan.json"
        path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        print(path)


if __name__ == "__main__":
    main()
