"""The seed's plans: ``.venv/bin/python tests/cases/terraform/seed_plans.py`` rewrites
``seed.plan.json`` (the seed's system as a first apply: the CI cluster, its OIDC provider,
both roles and the target's aws-auth) and its broken variants ``seed-*.plan.json``
(tests/unit/iac/test_terraform_examples.py). The other examples: ``generate.py``.
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

CI, TGT = "111111111111", "222222222222"
TARGET_CLUSTER_ARN = f"arn:aws:eks:us-east-1:{TGT}:cluster/target-cluster"


def rc(
    address,
    type_,
    name,
    after,
    unknown=None,
    actions=("create",),
    mode="managed",
    provider="registry.terraform.io/hashicorp/aws",
    before=None,
    module=None,
):
    item = {
        "address": address,
        "mode": mode,
        "type": type_,
        "name": name,
        "provider_name": provider,
        "change": {
            "actions": list(actions),
            "before": before,
            "after": after,
            "after_unknown": unknown or {},
            "before_sensitive": False if before is None else {},
            "after_sensitive": {},
        },
    }
    if module:
        item["module_address"] = module
    return item


def ref(*refs):
    return {"references": list(refs)}


def plan(variant=None):
    trust_cond_sub = "system:serviceaccount:ci-namespace:ci-serviceaccount"
    ci_trust_provider_ref = [
        "aws_iam_openid_connect_provider.ci.arn",
        "aws_iam_openid_connect_provider.ci",
    ]
    changes = [
        rc(
            "aws_eks_cluster.ci",
            "aws_eks_cluster",
            "ci",
            {
                "name": "ci-cluster",
                "role_arn": f"arn:aws:iam::{CI}:role/ci-cluster-role",
                "version": "1.31",
                "access_config": [
                    {
                        "authentication_mode": "API_AND_CONFIG_MAP",
                        "bootstrap_cluster_creator_admin_permissions": True,
                    }
                ],
                "vpc_config": [
                    {
                        "subnet_ids": ["subnet-0a1b2c3d", "subnet-4e5f6a7b"],
                        "endpoint_public_access": True,
                    }
                ],
                "tags": {"team": "ci"},
            },
            {
                "arn": True,
                "endpoint": True,
                "id": True,
                "identity": True,
                "certificate_authority": True,
                "status": True,
                "platform_version": True,
                "created_at": True,
                "vpc_config": [
                    {
                        "cluster_security_group_id": True,
                        "vpc_id": True,
                        "subnet_ids": [False, False],
                    }
                ],
                "access_config": [{}],
            },
        ),
        rc(
            "aws_iam_openid_connect_provider.ci",
            "aws_iam_openid_connect_provider",
            "ci",
            {"client_id_list": ["sts.amazonaws.com"], "tags": None},
            {
                "arn": True,
                "id": True,
                "url": True,
                "thumbprint_list": True,
                "client_id_list": [False],
                "tags_all": True,
            },
        ),
        rc(
            "data.aws_iam_policy_document.ci_trust",
            "aws_iam_policy_document",
            "ci_trust",
            {
                "override_policy_documents": None,
                "source_policy_documents": None,
                "version": None,
                "policy_id": None,
                "statement": [
                    {
                        "sid": "",
                        "effect": "Allow",
                        "actions": ["sts:AssumeRoleWithWebIdentity"],
                        "principals": [{"type": "Federated"}],
                        "condition": [
                            {"test": "StringEquals", "values": [trust_cond_sub]},
                            {"test": "StringEquals", "values": ["sts.amazonaws.com"]},
                        ],
                    }
                ],
            },
            {
                "id": True,
                "json": True,
                "minified_json": True,
                "statement": [
                    {
                        "actions": [False],
                        "principals": [{"identifiers": True}],
                        "condition": [
                            {"variable": True, "values": [False]},
                            {"variable": True, "values": [False]},
                        ],
                    }
                ],
            },
            actions=("read",),
            mode="data",
        ),
        rc(
            "aws_iam_role.ci",
            "aws_iam_role",
            "ci",
            {
                "name": "ci-account-iam-role",
                "path": "/",
                "max_session_duration": 3600,
                "description": "IRSA role of ci-serviceaccount",
                "force_detach_policies": False,
                "permissions_boundary": None,
                "tags": {"team": "ci"},
            },
            {
                "arn": True,
                "assume_role_policy": True,
                "id": True,
                "unique_id": True,
                "create_date": True,
                "inline_policy": True,
                "managed_policy_arns": True,
                "name_prefix": True,
                "tags_all": True,
            },
        ),
        rc(
            "data.aws_iam_policy_document.assume_target",
            "aws_iam_policy_document",
            "assume_target",
            {
                "statement": [
                    {"sid": "AssumeTarget", "effect": "Allow", "actions": ["sts:AssumeRole"]}
                ],
                "override_policy_documents": None,
                "source_policy_documents": None,
            },
            {
                "id": True,
                "json": True,
                "minified_json": True,
                "statement": [{"actions": [False], "resources": True}],
            },
            actions=("read",),
            mode="data",
        ),
        rc(
            "aws_iam_role_policy.assume_target",
            "aws_iam_role_policy",
            "assume_target",
            {"name": "assume-target", "name_prefix": None},
            {"id": True, "policy": True, "role": True},
        ),
        rc(
            "data.aws_iam_policy_document.target_trust",
            "aws_iam_policy_document",
            "target_trust",
            {
                "statement": [
                    {
                        "effect": "Allow",
                        "actions": ["sts:AssumeRole"],
                        "principals": [{"type": "AWS"}],
                    }
                ]
            },
            {
                "id": True,
                "json": True,
                "minified_json": True,
                "statement": [{"actions": [False], "principals": [{"identifiers": True}]}],
            },
            actions=("read",),
            mode="data",
            provider="registry.terraform.io/hashicorp/aws",
        ),
        rc(
            "aws_iam_role.target",
            "aws_iam_role",
            "target",
            {
                "name": "target-account-iam-role",
                "path": "/",
                "max_session_duration": 3600,
                "tags": {"team": "ci"},
            },
            {
                "arn": True,
                "assume_role_policy": True,
                "id": True,
                "unique_id": True,
                "create_date": True,
                "inline_policy": True,
                "managed_policy_arns": True,
                "tags_all": True,
            },
        ),
        rc(
            "aws_iam_role_policy.target_permissions",
            "aws_iam_role_policy",
            "target_permissions",
            {
                "name": "target-permissions",
                "policy": json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "VisualEditor0",
                                "Effect": "Allow",
                                "Action": [
                                    "s3:ListAllMyBuckets",
                                    "eks:DescribeCluster",
                                    "eks:ListClusters",
                                ],
                                "Resource": "*",
                            }
                        ],
                    }
                ),
            },
            {"id": True, "role": True},
        ),
        rc(
            "kubernetes_config_map_v1_data.aws_auth",
            "kubernetes_config_map_v1_data",
            "aws_auth",
            {
                "force": True,
                "field_manager": "Terraform",
                "metadata": [{"name": "aws-auth", "namespace": "kube-system"}],
                "data": {
                    "mapRoles": (
                        '- "groups":\n  - "system:masters"\n  "rolearn": '
                        '"arn:aws:iam::222222222222:role/target-account-iam-role"\n'
                        '  "username": "test-user"\n'
                    )
                },
            },
            {"id": True, "metadata": [{}], "data": {}},
            provider="registry.terraform.io/hashicorp/kubernetes",
        ),
        rc(
            "kubernetes_service_account_v1.ci",
            "kubernetes_service_account_v1",
            "ci",
            {
                "automount_service_account_token": True,
                "metadata": [
                    {
                        "name": "ci-serviceaccount",
                        "namespace": "ci-namespace",
                        "labels": None,
                        "annotations": {},
                    }
                ],
            },
            {
                "id": True,
                "default_secret_name": True,
                "metadata": [
                    {
                        "annotations": {"eks.amazonaws.com/role-arn": True},
                        "generation": True,
                        "resource_version": True,
                        "uid": True,
                    }
                ],
            },
            provider="registry.terraform.io/hashicorp/kubernetes",
        ),
    ]
    target_cluster_data = {
        "address": "data.aws_eks_cluster.target",
        "mode": "data",
        "type": "aws_eks_cluster",
        "name": "target",
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "schema_version": 0,
        "values": {
            "name": "target-cluster",
            "arn": TARGET_CLUSTER_ARN,
            "id": "target-cluster",
            "endpoint": "https://0A1B2C3D4E5F60718293A4B5C6D7E8F9.gr7.us-east-1.eks.amazonaws.com",
            "identity": [
                {
                    "oidc": [
                        {
                            "issuer": "https://oidc.eks.us-east-1.amazonaws.com/id/TARGETD539D4633E53DE1B71EXAMPLE"
                        }
                    ]
                }
            ],
            "access_config": [{"authentication_mode": "CONFIG_MAP"}],
            "certificate_authority": [{"data": "LS0tLS1CRUdJTi..."}],
        },
        "sensitive_values": {},
    }
    caller = {
        "address": "data.aws_caller_identity.current",
        "mode": "data",
        "type": "aws_caller_identity",
        "name": "current",
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "schema_version": 0,
        "values": {
            "account_id": CI,
            "arn": f"arn:aws:sts::{CI}:assumed-role/terraform/aws-go-sdk",
            "id": CI,
            "user_id": "AROAEXAMPLE:aws-go-sdk",
        },
        "sensitive_values": {},
    }

    def cres(address, type_, provider_key, expressions, mode="managed"):
        name = address.split(".")[-1]
        return {
            "address": address,
            "mode": mode,
            "type": type_,
            "name": name,
            "provider_config_key": provider_key,
            "expressions": expressions,
            "schema_version": 0,
        }

    configuration = {
        "provider_config": {
            "aws": {
                "name": "aws",
                "full_name": "registry.terraform.io/hashicorp/aws",
                "version_constraint": "~> 5.70",
                "expressions": {
                    "region": {"constant_value": "us-east-1"},
                    "assume_role": [
                        {"role_arn": {"constant_value": f"arn:aws:iam::{CI}:role/terraform"}}
                    ],
                },
            },
            "aws.target": {
                "name": "aws",
                "full_name": "registry.terraform.io/hashicorp/aws",
                "alias": "target",
                "expressions": {
                    "region": {"constant_value": "us-east-1"},
                    "assume_role": [
                        {"role_arn": {"references": ["var.target_terraform_role_arn"]}}
                    ],
                },
            },
            "kubernetes.ci": {
                "name": "kubernetes",
                "full_name": "registry.terraform.io/hashicorp/kubernetes",
                "alias": "ci",
                "expressions": {
                    "host": {"references": ["aws_eks_cluster.ci.endpoint", "aws_eks_cluster.ci"]},
                    "cluster_ca_certificate": {
                        "references": [
                            "aws_eks_cluster.ci.certificate_authority[0].data",
                            "aws_eks_cluster.ci.certificate_authority[0]",
                            "aws_eks_cluster.ci.certificate_authority",
                            "aws_eks_cluster.ci",
                        ]
                    },
                    "exec": [
                        {
                            "api_version": {
                                "constant_value": "client.authentication.k8s.io/v1beta1"
                            },
                            "command": {"constant_value": "aws"},
                            "args": {
                                "references": ["aws_eks_cluster.ci.name", "aws_eks_cluster.ci"]
                            },
                        }
                    ],
                },
            },
            "kubernetes.target": {
                "name": "kubernetes",
                "full_name": "registry.terraform.io/hashicorp/kubernetes",
                "alias": "target",
                "expressions": {
                    "host": {
                        "references": [
                            "data.aws_eks_cluster.target.endpoint",
                            "data.aws_eks_cluster.target",
                        ]
                    },
                    "cluster_ca_certificate": {
                        "references": [
                            "data.aws_eks_cluster.target.certificate_authority[0].data",
                            "data.aws_eks_cluster.target",
                        ]
                    },
                },
            },
        },
        "root_module": {
            "resources": [
                cres(
                    "aws_eks_cluster.ci",
                    "aws_eks_cluster",
                    "aws",
                    {
                        "name": {"constant_value": "ci-cluster"},
                        "role_arn": {"constant_value": f"arn:aws:iam::{CI}:role/ci-cluster-role"},
                    },
                ),
                cres(
                    "aws_iam_openid_connect_provider.ci",
                    "aws_iam_openid_connect_provider",
                    "aws",
                    {
                        "client_id_list": {"constant_value": ["sts.amazonaws.com"]},
                        "url": {
                            "references": [
                                "aws_eks_cluster.ci.identity[0].oidc[0].issuer",
                                "aws_eks_cluster.ci.identity[0].oidc[0]",
                                "aws_eks_cluster.ci.identity[0]",
                                "aws_eks_cluster.ci.identity",
                                "aws_eks_cluster.ci",
                            ]
                        },
                    },
                ),
                cres(
                    "data.aws_iam_policy_document.ci_trust",
                    "aws_iam_policy_document",
                    "aws",
                    {
                        "statement": [
                            {
                                "actions": {"constant_value": ["sts:AssumeRoleWithWebIdentity"]},
                                "principals": [
                                    {
                                        "type": {"constant_value": "Federated"},
                                        "identifiers": {"references": ci_trust_provider_ref},
                                    }
                                ],
                                "condition": [
                                    {
                                        "test": {"constant_value": "StringEquals"},
                                        "variable": {
                                            "references": [
                                                "aws_iam_openid_connect_provider.ci.url",
                                                "aws_iam_openid_connect_provider.ci",
                                            ]
                                        },
                                        "values": {"constant_value": [trust_cond_sub]},
                                    },
                                    {
                                        "test": {"constant_value": "StringEquals"},
                                        "variable": {
                                            "references": [
                                                "aws_iam_openid_connect_provider.ci.url",
                                                "aws_iam_openid_connect_provider.ci",
                                            ]
                                        },
                                        "values": {"constant_value": ["sts.amazonaws.com"]},
                                    },
                                ],
                            }
                        ]
                    },
                    mode="data",
                ),
                cres(
                    "aws_iam_role.ci",
                    "aws_iam_role",
                    "aws",
                    {
                        "name": {"constant_value": "ci-account-iam-role"},
                        "assume_role_policy": {
                            "references": [
                                "data.aws_iam_policy_document.ci_trust.json",
                                "data.aws_iam_policy_document.ci_trust",
                            ]
                        },
                    },
                ),
                cres(
                    "data.aws_iam_policy_document.assume_target",
                    "aws_iam_policy_document",
                    "aws",
                    {
                        "statement": [
                            {
                                "sid": {"constant_value": "AssumeTarget"},
                                "actions": {"constant_value": ["sts:AssumeRole"]},
                                "resources": {
                                    "references": ["aws_iam_role.target.arn", "aws_iam_role.target"]
                                },
                            }
                        ]
                    },
                    mode="data",
                ),
                cres(
                    "aws_iam_role_policy.assume_target",
                    "aws_iam_role_policy",
                    "aws",
                    {
                        "name": {"constant_value": "assume-target"},
                        "role": {"references": ["aws_iam_role.ci.id", "aws_iam_role.ci"]},
                        "policy": {
                            "references": [
                                "data.aws_iam_policy_document.assume_target.json",
                                "data.aws_iam_policy_document.assume_target",
                            ]
                        },
                    },
                ),
                cres(
                    "data.aws_iam_policy_document.target_trust",
                    "aws_iam_policy_document",
                    "aws.target",
                    {
                        "statement": [
                            {
                                "actions": {"constant_value": ["sts:AssumeRole"]},
                                "principals": [
                                    {
                                        "type": {"constant_value": "AWS"},
                                        "identifiers": {
                                            "references": ["aws_iam_role.ci.arn", "aws_iam_role.ci"]
                                        },
                                    }
                                ],
                            }
                        ]
                    },
                    mode="data",
                ),
                cres(
                    "aws_iam_role.target",
                    "aws_iam_role",
                    "aws.target",
                    {
                        "name": {"constant_value": "target-account-iam-role"},
                        "assume_role_policy": {
                            "references": [
                                "data.aws_iam_policy_document.target_trust.json",
                                "data.aws_iam_policy_document.target_trust",
                            ]
                        },
                    },
                ),
                cres(
                    "aws_iam_role_policy.target_permissions",
                    "aws_iam_role_policy",
                    "aws.target",
                    {
                        "name": {"constant_value": "target-permissions"},
                        "role": {"references": ["aws_iam_role.target.id", "aws_iam_role.target"]},
                        "policy": {},
                    },
                ),
                cres(
                    "data.aws_eks_cluster.target",
                    "aws_eks_cluster",
                    "aws.target",
                    {"name": {"constant_value": "target-cluster"}},
                    mode="data",
                ),
                cres(
                    "data.aws_caller_identity.current",
                    "aws_caller_identity",
                    "aws",
                    {},
                    mode="data",
                ),
                cres(
                    "kubernetes_config_map_v1_data.aws_auth",
                    "kubernetes_config_map_v1_data",
                    "kubernetes.target",
                    {
                        "force": {"constant_value": True},
                        "metadata": [
                            {
                                "name": {"constant_value": "aws-auth"},
                                "namespace": {"constant_value": "kube-system"},
                            }
                        ],
                        "data": {"references": ["var.target_account"]},
                    },
                ),
                cres(
                    "kubernetes_service_account_v1.ci",
                    "kubernetes_service_account_v1",
                    "kubernetes.ci",
                    {
                        "metadata": [
                            {
                                "name": {"constant_value": "ci-serviceaccount"},
                                "namespace": {"constant_value": "ci-namespace"},
                                "annotations": {
                                    "references": ["aws_iam_role.ci.arn", "aws_iam_role.ci"]
                                },
                            }
                        ]
                    },
                ),
            ],
            "variables": {"target_account": {"default": TGT}, "target_terraform_role_arn": {}},
        },
    }
    # the annotation's own expression (a map with one unknown value): Terraform records the
    # references of the map expression as a whole
    configuration["root_module"]["resources"][-1]["expressions"]["metadata"][0]["annotations"] = {
        "references": ["aws_iam_role.ci.arn", "aws_iam_role.ci"]
    }
    planned = {
        "root_module": {
            "resources": [
                {
                    "address": c["address"],
                    "mode": c["mode"],
                    "type": c["type"],
                    "name": c["name"],
                    "provider_name": c["provider_name"],
                    "schema_version": 0,
                    "values": c["change"]["after"],
                    "sensitive_values": {},
                }
                for c in changes
                if c["mode"] == "managed"
            ]
        }
    }
    doc = {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "variables": {
            "target_account": {"value": TGT},
            "target_terraform_role_arn": {"value": f"arn:aws:iam::{TGT}:role/terraform"},
        },
        "planned_values": planned,
        "resource_changes": changes,
        "prior_state": {
            "format_version": "1.0",
            "terraform_version": "1.9.8",
            "values": {"root_module": {"resources": [target_cluster_data, caller]}},
        },
        "configuration": configuration,
        "relevant_attributes": [
            {"resource": "aws_eks_cluster.ci", "attribute": ["identity", 0, "oidc", 0, "issuer"]},
            {"resource": "aws_iam_role.ci", "attribute": ["arn"]},
            {"resource": "aws_iam_role.target", "attribute": ["arn"]},
        ],
        "timestamp": "2026-05-04T09:12:44Z",
        "applyable": True,
        "complete": True,
        "errored": False,
    }
    return doc


def _rc(doc, address):
    return next(c for c in doc["resource_changes"] if c["address"] == address)


def variants():
    out = {}
    d = plan()  # broken trust: the Federated principal names another cluster's provider
    st = _rc(d, "data.aws_iam_policy_document.ci_trust")["change"]
    st["after"]["statement"][0]["principals"][0]["identifiers"] = [
        "arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
    ]
    st["after_unknown"]["statement"][0]["principals"][0]["identifiers"] = [False]
    out["seed-broken-trust"] = d
    d = plan()  # wrong :sub (namespace typo)
    _rc(d, "data.aws_iam_policy_document.ci_trust")["change"]["after"]["statement"][0]["condition"][
        0
    ]["values"] = ["system:serviceaccount:ci-namspace:ci-serviceaccount"]
    out["seed-wrong-sub"] = d
    d = plan()  # missing chain permission: the CI role's policy allows sts:TagSession only
    _rc(d, "data.aws_iam_policy_document.assume_target")["change"]["after"]["statement"][0][
        "actions"
    ] = ["sts:TagSession"]
    out["seed-no-assume"] = d
    d = plan()  # role path in aws-auth: the target role lives under /ci/, aws-auth names the path
    _rc(d, "aws_iam_role.target")["change"]["after"]["path"] = "/ci/"
    cm = _rc(d, "kubernetes_config_map_v1_data.aws_auth")["change"]["after"]["data"]
    cm["mapRoles"] = cm["mapRoles"].replace(
        "role/target-account-iam-role", "role/ci/target-account-iam-role"
    )
    out["seed-aws-auth-path"] = d
    return out


def main() -> None:
    documents = {"seed": plan(), **variants()}
    for name, document in documents.items():
        path = HERE / f"{name}.plan.json"
        with path.open("w", encoding="utf-8") as out:
            json.dump(document, out, indent=1)
        print(path)


if __name__ == "__main__":
    main()
