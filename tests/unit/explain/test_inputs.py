"""Offline inputs: authorization details, EKS and IAM CLI outputs, manifests, the bundle."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from kubetrust import errors
from kubetrust.explain import bundle
from kubetrust.model import account_dump, eks, kube

from .conftest import CI, Build

V = "2012-10-17"
TRUST = {
    "Version": V,
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
READ = {"Version": V, "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}


def _dump(trust: Any = TRUST, **role: Any) -> dict[str, Any]:
    return {
        "RoleDetailList": [
            {
                "RoleName": "r",
                "Arn": f"arn:aws:iam::{CI}:role/team/r",
                "RoleId": "AROAR",
                "AssumeRolePolicyDocument": trust,
                "RolePolicyList": [{"PolicyName": "read", "PolicyDocument": READ}],
                "AttachedManagedPolicies": [
                    {"PolicyName": "m", "PolicyArn": f"arn:aws:iam::{CI}:policy/m"},
                    {"PolicyName": "gone", "PolicyArn": f"arn:aws:iam::{CI}:policy/gone"},
                ],
                **role,
            }
        ],
        "UserDetailList": [
            {"UserName": "u", "Arn": f"arn:aws:iam::{CI}:user/u", "GroupList": ["g"]}
        ],
        "GroupDetailList": [
            {
                "GroupName": "g",
                "Arn": f"arn:aws:iam::{CI}:group/g",
                "GroupPolicyList": [{"PolicyName": "gp", "PolicyDocument": READ}],
            }
        ],
        "Policies": [
            {
                "PolicyName": "m",
                "Arn": f"arn:aws:iam::{CI}:policy/m",
                "PolicyVersionList": [
                    {"Document": {"Version": V, "Statement": []}, "IsDefaultVersion": False},
                    {"Document": json.dumps(READ), "IsDefaultVersion": True},
                ],
            }
        ],
    }


@pytest.mark.parametrize(
    "trust",
    [TRUST, json.dumps(TRUST), urllib.parse.quote(json.dumps(TRUST))],
    ids=["object", "json-text", "url-encoded"],
)
def test_documents_in_every_encoding(trust: Any) -> None:
    account, problems = account_dump.parse_authorization_details(_dump(trust))
    role = account.role("R")  # names ignore case
    assert role is not None and role.trust is not None
    assert account.account == CI and role.path == "/team/" and role.role_id == "AROAR"
    assert role.trust_text == json.dumps(TRUST, separators=(",", ":"))
    assert problems == []


def test_permissions_use_default_versions_and_report_missing_policies() -> None:
    account, _ = account_dump.parse_authorization_details(_dump())
    role = account.role("r")
    assert role is not None
    permissions = account.permissions(role)
    assert [d.name for d in permissions.identity] == ["inline read", f"arn:aws:iam::{CI}:policy/m"]
    assert permissions.missing == (f"arn:aws:iam::{CI}:policy/gone",)
    user = account.user("u")
    assert user is not None
    assert [d.name for d in account.permissions(user).identity] == ["group g inline gp"]


def test_bad_documents_are_problems_not_errors() -> None:
    data = _dump("%7Bnot json")
    data["RoleDetailList"].append({"RoleName": "x", "Arn": "arn:aws:iam::999999999999:role/x"})
    data["RoleDetailList"].append("nonsense")
    account, problems = account_dump.parse_authorization_details(data)
    role = account.role("r")
    assert role is not None and role.trust is None
    text = "\n".join(str(p) for p in problems)
    assert "RoleDetailList[0].AssumeRolePolicyDocument: unusable trust policy" in text
    assert "differs from the dump's 111111111111" in text
    assert "RoleDetailList[2]: must be an object" in text


def test_an_empty_dump_needs_an_account() -> None:
    with pytest.raises(errors.InputError, match="names no account"):
        account_dump.parse_authorization_details({"Policies": []})
    account, _ = account_dump.parse_authorization_details({"Policies": []}, account=CI)
    assert account.account == CI


def test_role_facts_bring_max_session_duration() -> None:
    account, _ = account_dump.parse_authorization_details(_dump())
    facts = account_dump.role_facts(
        {
            "Roles": [
                {"RoleName": "r", "MaxSessionDuration": 7200},
                {"RoleName": "nope", "MaxSessionDuration": 3600},
            ]
        }
    )
    merged, problems = account_dump.merge_role_facts(account, facts)
    role = merged.role("r")
    assert role is not None and role.max_session_duration == 7200 and role.max_session_known
    assert "nope" in problems[0].message


def test_describe_cluster_defaults_to_config_map() -> None:
    info = eks.parse_describe_cluster(
        {"cluster": {"name": "c", "arn": f"arn:aws:eks:eu-west-1:{CI}:cluster/c"}}
    )
    assert info.authentication_mode == "CONFIG_MAP" and info.issuer is None
    assert info.region == "eu-west-1" and info.account == CI
    with pytest.raises(errors.InputError, match="not the ARN of cluster"):
        eks.parse_describe_cluster(
            {"cluster": {"name": "c", "arn": f"arn:aws:eks:r:{CI}:cluster/d"}}
        )


def test_describe_cluster_tags() -> None:
    """Tags decide aws:ResourceTag guards on EKS actions: read them, refuse odd shapes."""
    cluster = {"name": "c", "arn": f"arn:aws:eks:eu-west-1:{CI}:cluster/c"}
    assert eks.parse_describe_cluster({"cluster": cluster}).tags == {}
    tagged = eks.parse_describe_cluster({"cluster": {**cluster, "tags": {"env": "prod"}}})
    assert tagged.tags == {"env": "prod"}
    with pytest.raises(errors.InputError, match=r"cluster\.tags"):
        eks.parse_describe_cluster({"cluster": {**cluster, "tags": [{"Key": "env"}]}})


def test_oidc_providers_in_every_shape() -> None:
    url = "oidc.eks.us-east-1.amazonaws.com/id/ABC"
    got, _ = eks.parse_oidc_providers({"Url": f"https://{url}", "ClientIDList": ["a"]}, account=CI)
    assert got[0].arn == f"arn:aws:iam::{CI}:oidc-provider/{url}" and got[0].client_ids == ("a",)
    listed, _ = eks.parse_oidc_providers(
        {"OpenIDConnectProviderList": [{"Arn": f"arn:aws:iam::{CI}:oidc-provider/{url}"}]},
        account=None,
    )
    assert listed[0].url == url and listed[0].client_ids is None
    _, problems = eks.parse_oidc_providers({"Url": url}, account=None)
    assert "needs its account" in problems[0].message


def test_access_entries_merge_across_outputs() -> None:
    role = f"arn:aws:iam::{CI}:role/r"
    entries, problems = eks.parse_access_entries(
        [
            {"accessEntries": [role, f"arn:aws:iam::{CI}:role/other"]},
            {"accessEntry": {"principalArn": role, "kubernetesGroups": ["g"], "type": "STANDARD"}},
            {
                "principalArn": role,
                "associatedAccessPolicies": [
                    {
                        "policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
                        "accessScope": {"type": "namespace", "namespaces": ["a"]},
                    }
                ],
            },
            {"principalArn": "arn:aws:iam::1:role/x", "associatedAccessPolicies": []},
        ]
    )
    by_arn = {e.principal_arn: e for e in entries}
    assert by_arn[role].kubernetes_groups == ("g",) and by_arn[role].described
    assert by_arn[role].policies[0][1:] == ("namespace", ("a",))
    assert not by_arn[f"arn:aws:iam::{CI}:role/other"].described
    assert "no access entry" in problems[0].message


def test_manifests_lists_aggregation_and_bad_objects() -> None:
    label = {"rbac.example.com/aggregate-to-ops": "true"}
    manifests, problems = kube.parse_manifests(
        [
            {
                "kind": "List",
                "items": [
                    {
                        "kind": "ClusterRole",
                        "metadata": {"name": "ops"},
                        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": label}]},
                    },
                    {
                        "kind": "ClusterRole",
                        "metadata": {"name": "piece", "labels": label},
                        "rules": [{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}],
                    },
                ],
            },
            {
                "kind": "RoleBinding",
                "metadata": {"name": "rb"},
                "roleRef": {"kind": "Role", "name": "x"},
            },
            {
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "crb"},
                "roleRef": {"kind": "Role", "name": "x"},
            },
            {
                "kind": "ServiceAccount",
                "metadata": {
                    "name": "sa",
                    "namespace": "n",
                    "annotations": {"eks.amazonaws.com/role-arn": f"arn:aws:iam::{CI}:role/r"},
                },
            },
            {"kind": "Deployment", "metadata": {"name": "ignored"}},
        ],
        source="m.yaml",
    )
    assert manifests.rbac.cluster_roles["ops"].rules[0].resources == ("pods",)
    assert manifests.service_accounts[("n", "sa")].role_arn == f"arn:aws:iam::{CI}:role/r"
    messages = [p.message for p in problems]
    assert "no metadata.namespace; ignored" in messages
    assert any("roleRef" in m for m in messages)


def _write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "no accounts/ or clusters/ directory"),
        ({"accounts/x/roles.json": {}}, "authorization-details.json: missing"),
        ({"accounts/a.json": {"cluster": {}}}, "not get-account-authorization-details output"),
        ({"accounts/a.json": "{"}, "a.json: not valid JSON"),
        ({"clusters/c/describe-cluster.json": {"cluster": {"name": "c"}}}, "describe-cluster.json"),
        (
            {
                "clusters/c/describe-cluster.json": {
                    "cluster": {"name": "c", "arn": f"arn:aws:eks:us-east-1:{CI}:cluster/c"}
                },
                "clusters/c/aws-auth.yaml": "a: [b",
            },
            "aws-auth.yaml: not valid YAML",
        ),
        (
            {
                "clusters/c/describe-cluster.json": {
                    "cluster": {"name": "c", "arn": f"arn:aws:eks:us-east-1:{CI}:cluster/c"}
                },
                "clusters/c/access-entries.json": {"foo": 1},
            },
            "not describe-access-entry",
        ),
        (
            {
                f"accounts/{CI}/authorization-details.json": {"Policies": []},
                f"accounts/{CI}/organization.json": {"scps": [{"Version": V}]},
            },
            "list of levels",
        ),
    ],
)
def test_bundle_errors_name_the_file(tmp_path: Path, files: dict[str, Any], message: str) -> None:
    for name, data in files.items():
        _write(tmp_path / name, data)
    with pytest.raises(bundle.BundleError, match=message.replace("/", ".")) as caught:
        bundle.load_bundle([tmp_path])
    assert str(caught.value).startswith(str(tmp_path))


def test_bundle_loads_the_seed(seed_world: dict[str, Any], build: Build) -> None:
    topology = build(seed_world, encode="url")
    assert sorted(topology.accounts) == ["111111111111", "222222222222"]
    assert [c.name for c in topology.clusters] == ["ci-cluster", "target-cluster"]
    target = topology.cluster("target-cluster")
    assert target.aws_auth is not None and target.aws_auth.roles[0].username == "test-user"
    ci = topology.cluster("ci-cluster")
    assert ("ci-namespace", "ci-serviceaccount") in ci.service_accounts
    assert topology.problems == ()
    with pytest.raises(errors.InputError, match="no cluster `nope`"):
        topology.cluster("nope")


def test_aws_config_profiles(seed_world: dict[str, Any], build: Build) -> None:
    seed_world["aws_config"] = (
        "[profile ci-env]\nrole_arn = arn:aws:iam::1:role/a\nweb_identity_token_file = /t\n"
        "[profile target-env]\nrole_arn = arn:aws:iam::2:role/b\nsource_profile = ci-env\n"
        "duration_seconds = 3600\n"
    )
    topology = build(seed_world)
    by_name = {p.name: p for p in topology.profiles}
    assert by_name["target-env"].source_profile == "ci-env"
    assert by_name["target-env"].duration_seconds == 3600
    assert by_name["ci-env"].web_identity_token_file == "/t"
