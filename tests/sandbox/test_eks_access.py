"""EKS access entries, access policies and authentication modes, over real HTTP.

boto3 (and once the ``aws`` CLI) against the session's sandbox; every test makes its own
cluster and principals (unique names), so tests stay independent. The expected codes and
texts are EKS's (see :mod:`kubetrust.sandbox.aws.services.eks` for where each was seen).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from kubetrust.model.vocabulary import ACCESS_POLICIES

POLICY = "arn:aws:eks::aws:cluster-access-policy/"
ADMIN_POLICY = POLICY + "AmazonEKSClusterAdminPolicy"
VIEW_POLICY = POLICY + "AmazonEKSViewPolicy"
AWS_CLI = Path(sys.executable).with_name("aws")
ENTRY_NOT_FOUND = "The specified principalArn could not be found."
INVALID_PRINCIPAL = "The specified principalArn is invalid: invalid principal."
MODE_REQUIRED = (
    "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] "
    "to perform this operation."
)


# --------------------------------------------------------------------------- helpers


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = info.value.response
    return (
        str(response["Error"]["Code"]),
        str(response["Error"]["Message"]),
        int(response["ResponseMetadata"]["HTTPStatusCode"]),
    )


def _trust(account: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    # the account (tests assume these roles) and EKS (CreateCluster
                    # refuses a service role EKS cannot assume)
                    "Principal": {
                        "AWS": f"arn:aws:iam::{account}:root",
                        "Service": "eks.amazonaws.com",
                    },
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def _role(aws: Any, prefix: str = "role", *, path: str = "/", account: str | None = None) -> Any:
    account = account or aws.TARGET
    role = aws.client("iam", account=account).create_role(
        RoleName=aws.unique(prefix), Path=path, AssumeRolePolicyDocument=_trust(account)
    )
    return role["Role"]


def _cluster(
    aws: Any,
    mode: str | None = "API_AND_CONFIG_MAP",
    *,
    bootstrap: bool | None = None,
    eks: Any = None,
) -> str:
    """A fresh cluster in the target account (created by its admin unless ``eks`` given)."""
    service_role = _role(aws, "eks-service")["Arn"]
    config: dict[str, Any] = {}
    if mode is not None:
        config["authenticationMode"] = mode
    if bootstrap is not None:
        config["bootstrapClusterCreatorAdminPermissions"] = bootstrap
    name: str = aws.unique("cluster")
    extra = {"accessConfig": config} if config else {}
    client = eks or aws.client("eks", account=aws.TARGET)
    client.create_cluster(name=name, roleArn=service_role, resourcesVpcConfig={}, **extra)
    return name


def _admin_arn(aws: Any) -> str:
    return f"arn:aws:iam::{aws.TARGET}:user/admin"


def _session(aws: Any, role_arn: str) -> dict[str, str]:
    sts = aws.client("sts", account=aws.TARGET)
    assumed = sts.assume_role(RoleArn=role_arn, RoleSessionName="tester")
    credentials: dict[str, str] = aws.session_credentials(assumed)
    return credentials


# --------------------------------------------------------------------------- entries


def test_create_describe_list_delete(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    role = _role(aws, "dev", path="/team/a/")
    created = eks.create_access_entry(
        clusterName=cluster,
        principalArn=role["Arn"],
        kubernetesGroups=["developers"],
        tags={"team": "a"},
    )["accessEntry"]
    assert (
        created["principalArn"]
        == role["Arn"]
        == (f"arn:aws:iam::{aws.TARGET}:role/team/a/{role['RoleName']}")
    )
    assert re.fullmatch(
        rf"arn:aws:eks:us-east-1:{aws.TARGET}:access-entry/{cluster}/role/{aws.TARGET}/"
        rf"{role['RoleName']}/[0-9a-f-]{{36}}",
        created["accessEntryArn"],
    )
    assert created["username"] == (
        f"arn:aws:sts::{aws.TARGET}:assumed-role/{role['RoleName']}/{{{{SessionName}}}}"
    )
    assert created["type"] == "STANDARD"
    assert created["kubernetesGroups"] == ["developers"]
    assert created["tags"] == {"team": "a"}
    assert created["createdAt"] == created["modifiedAt"]
    described = eks.describe_access_entry(clusterName=cluster, principalArn=role["Arn"])
    assert described["accessEntry"] == created
    listed = eks.list_access_entries(clusterName=cluster)["accessEntries"]
    assert sorted(listed) == sorted([_admin_arn(aws), role["Arn"]])
    assert eks.delete_access_entry(clusterName=cluster, principalArn=role["Arn"])
    for call in (eks.describe_access_entry, eks.delete_access_entry):
        with pytest.raises(ClientError) as gone:
            call(clusterName=cluster, principalArn=role["Arn"])
        code, message, status = _error(gone)
        assert (code, status) == ("ResourceNotFoundException", 404)
        assert message.startswith(ENTRY_NOT_FOUND)
    assert eks.list_access_entries(clusterName=cluster)["accessEntries"] == [_admin_arn(aws)]


def test_user_entry_duplicates_and_idempotent_retry(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    iam = aws.client("iam", account=aws.TARGET)
    user = iam.create_user(UserName=aws.unique("eks-user"), Path="/people/")["User"]
    first = eks.create_access_entry(
        clusterName=cluster, principalArn=user["Arn"], clientRequestToken="token-1"
    )["accessEntry"]
    assert first["username"] == user["Arn"]
    assert first["kubernetesGroups"] == []
    assert (
        f":access-entry/{cluster}/user/{aws.TARGET}/{user['UserName']}/"
        in (first["accessEntryArn"])
    )
    again = eks.create_access_entry(
        clusterName=cluster, principalArn=user["Arn"], clientRequestToken="token-1"
    )["accessEntry"]
    assert again == first
    with pytest.raises(ClientError) as duplicate:
        eks.create_access_entry(clusterName=cluster, principalArn=user["Arn"])
    assert _error(duplicate) == (
        "ResourceInUseException",
        "The specified access entry resource is already in use on this cluster.",
        409,
    )


def test_principals_that_are_not_iam_roles_or_users_that_exist(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    with_path = _role(aws, "pathed", path="/deep/path/")
    invalid = [
        f"arn:aws:iam::{aws.TARGET}:role/{aws.unique('missing')}",
        f"arn:aws:iam::{aws.TARGET}:role/{with_path['RoleName']}",  # the path is required
        f"arn:aws:sts::{aws.TARGET}:assumed-role/{with_path['RoleName']}/session",
        f"arn:aws:iam::{aws.TARGET}:user/{aws.unique('ghost')}",
        "not-an-arn",
    ]
    for principal in invalid:
        with pytest.raises(ClientError) as refused:
            eks.create_access_entry(clusterName=cluster, principalArn=principal)
        assert _error(refused) == ("InvalidParameterException", INVALID_PRINCIPAL, 400), principal
    missing = aws.unique("no-such-cluster")
    with pytest.raises(ClientError) as no_cluster:
        eks.create_access_entry(clusterName=missing, principalArn=with_path["Arn"])
    assert _error(no_cluster) == (
        "ResourceNotFoundException",
        f"No cluster found for name: {missing}.",
        404,
    )


def test_cross_account_role_is_a_valid_standard_principal(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    ci_role = _role(aws, "ci", account=aws.CI)
    entry = eks.create_access_entry(clusterName=cluster, principalArn=ci_role["Arn"])
    assert f"/role/{aws.CI}/{ci_role['RoleName']}/" in entry["accessEntry"]["accessEntryArn"]
    with pytest.raises(ClientError) as node:
        eks.create_access_entry(clusterName=cluster, principalArn=ci_role["Arn"], type="EC2_LINUX")
    assert _error(node)[0] == "ResourceInUseException"
    other = _role(aws, "ci-node", account=aws.CI)
    with pytest.raises(ClientError) as foreign_node:
        eks.create_access_entry(clusterName=cluster, principalArn=other["Arn"], type="EC2_LINUX")
    assert _error(foreign_node)[0] == "InvalidParameterException"


def test_system_groups_and_reserved_usernames_are_refused(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    role = _role(aws)
    with pytest.raises(ClientError) as masters:
        eks.create_access_entry(
            clusterName=cluster, principalArn=role["Arn"], kubernetesGroups=["system:masters"]
        )
    assert _error(masters) == (
        "InvalidParameterException",
        "The kubernetes group name system:masters is invalid, it cannot start with system:",
        400,
    )
    for username, text in [
        ("system:admin", "The username must not begin with system:"),
        ("eks:me", "The username must not begin with eks:"),
        ("amazon:me", "The username must not begin with amazon:"),
    ]:
        with pytest.raises(ClientError) as reserved:
            eks.create_access_entry(
                clusterName=cluster, principalArn=role["Arn"], username=username
            )
        assert _error(reserved) == ("InvalidParameterException", text, 400)
    with pytest.raises(ClientError) as no_colon:
        eks.create_access_entry(
            clusterName=cluster, principalArn=role["Arn"], username="dev-{{SessionName}}"
        )
    assert _error(no_colon)[0] == "InvalidParameterException"
    ok = eks.create_access_entry(
        clusterName=cluster, principalArn=role["Arn"], username="dev:{{SessionName}}"
    )
    assert ok["accessEntry"]["username"] == "dev:{{SessionName}}"


def test_node_entry_types(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    expected = {
        "EC2_LINUX": "system:node:{{EC2PrivateDNSName}}",
        "EC2_WINDOWS": "system:node:{{EC2PrivateDNSName}}",
        "FARGATE_LINUX": "system:node:{{SessionName}}",
        "HYBRID_LINUX": "system:node:{{SessionName}}",
    }
    roles = {}
    for kind, username in expected.items():
        roles[kind] = _role(aws, kind.lower().replace("_", "-"))["Arn"]
        entry = eks.create_access_entry(clusterName=cluster, principalArn=roles[kind], type=kind)
        assert entry["accessEntry"]["type"] == kind
        assert entry["accessEntry"]["username"] == username
        assert entry["accessEntry"]["kubernetesGroups"] == ["system:nodes"]
    user = aws.client("iam", account=aws.TARGET).create_user(UserName=aws.unique("node-user"))
    refusals = [
        {"principalArn": user["User"]["Arn"], "type": "EC2_LINUX"},
        {"principalArn": _role(aws)["Arn"], "type": "EC2_LINUX", "kubernetesGroups": ["nodes"]},
        {"principalArn": _role(aws)["Arn"], "type": "FARGATE_LINUX", "username": "node:x"},
        {"principalArn": _role(aws)["Arn"], "type": "BOGUS"},
    ]
    for params in refusals:
        with pytest.raises(ClientError) as refused:
            eks.create_access_entry(clusterName=cluster, **params)
        assert _error(refused)[0] == "InvalidParameterException", params
    for call, extra in [
        (
            eks.associate_access_policy,
            {"policyArn": VIEW_POLICY, "accessScope": {"type": "cluster"}},
        ),
        (eks.list_associated_access_policies, {}),
    ]:
        with pytest.raises(ClientError) as standard_only:
            call(clusterName=cluster, principalArn=roles["EC2_LINUX"], **extra)
        assert _error(standard_only) == (
            "InvalidParameterException",
            'This operation can only be performed on Access Entries with a type of "STANDARD".',
            400,
        )


def test_update_access_entry(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    role = _role(aws)
    created = eks.create_access_entry(
        clusterName=cluster, principalArn=role["Arn"], kubernetesGroups=["a"]
    )["accessEntry"]
    updated = eks.update_access_entry(
        clusterName=cluster,
        principalArn=role["Arn"],
        kubernetesGroups=["b", "c"],
        username="team:{{SessionName}}",
    )["accessEntry"]
    assert updated["kubernetesGroups"] == ["b", "c"]
    assert updated["username"] == "team:{{SessionName}}"
    assert updated["createdAt"] == created["createdAt"]
    assert updated["modifiedAt"] >= created["modifiedAt"]
    assert updated["accessEntryArn"] == created["accessEntryArn"]
    kept = eks.update_access_entry(clusterName=cluster, principalArn=role["Arn"], username="x:y")
    assert kept["accessEntry"]["kubernetesGroups"] == ["b", "c"]
    cleared = eks.update_access_entry(
        clusterName=cluster, principalArn=role["Arn"], kubernetesGroups=[]
    )
    assert cleared["accessEntry"]["kubernetesGroups"] == []
    with pytest.raises(ClientError) as system_group:
        eks.update_access_entry(
            clusterName=cluster, principalArn=role["Arn"], kubernetesGroups=["system:nodes"]
        )
    assert "cannot start with system:" in _error(system_group)[1]
    with pytest.raises(ClientError) as system_user:
        eks.update_access_entry(clusterName=cluster, principalArn=role["Arn"], username="iam:x")
    assert _error(system_user) == (
        "InvalidParameterException",
        "The username must not begin with iam:",
        400,
    )
    with pytest.raises(ClientError) as unknown:
        eks.update_access_entry(
            clusterName=cluster, principalArn=_role(aws)["Arn"], kubernetesGroups=["a"]
        )
    assert _error(unknown)[0] == "ResourceNotFoundException"


# --------------------------------------------------------------------------- policies


def test_list_access_policies_and_pagination(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    everything = eks.list_access_policies()["accessPolicies"]
    names = [p["name"] for p in everything]
    assert len(names) == len(ACCESS_POLICIES) and "nextToken" not in everything
    for name in ("AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy", "AmazonEKSEditPolicy"):
        assert name in names
    assert {"name": "AmazonEKSViewPolicy", "arn": VIEW_POLICY} in everything
    paged = [
        p["name"]
        for page in eks.get_paginator("list_access_policies").paginate(
            PaginationConfig={"PageSize": 7}
        )
        for p in page["accessPolicies"]
    ]
    assert paged == names
    with pytest.raises(ClientError) as too_many:
        eks.list_access_policies(maxResults=101)
    assert _error(too_many)[0] == "InvalidParameterException"


def test_associate_list_disassociate(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    role = _role(aws)["Arn"]
    eks.create_access_entry(clusterName=cluster, principalArn=role)
    first = eks.associate_access_policy(
        clusterName=cluster,
        principalArn=role,
        policyArn=VIEW_POLICY,
        accessScope={"type": "cluster"},
    )
    assert first["clusterName"] == cluster and first["principalArn"] == role
    assert first["associatedAccessPolicy"]["accessScope"] == {"type": "cluster", "namespaces": []}
    replaced = eks.associate_access_policy(
        clusterName=cluster,
        principalArn=role,
        policyArn=VIEW_POLICY,
        accessScope={"type": "namespace", "namespaces": ["dev-*", "qa"]},
    )["associatedAccessPolicy"]
    assert replaced["associatedAt"] == first["associatedAccessPolicy"]["associatedAt"]
    eks.associate_access_policy(
        clusterName=cluster,
        principalArn=role,
        policyArn=POLICY + "AmazonEKSEditPolicy",
        accessScope={"type": "namespace", "namespaces": ["dev"]},
    )
    listed = eks.list_associated_access_policies(clusterName=cluster, principalArn=role)
    assert listed["clusterName"] == cluster and listed["principalArn"] == role
    scopes = {p["policyArn"]: p["accessScope"] for p in listed["associatedAccessPolicies"]}
    assert scopes == {
        VIEW_POLICY: {"type": "namespace", "namespaces": ["dev-*", "qa"]},
        POLICY + "AmazonEKSEditPolicy": {"type": "namespace", "namespaces": ["dev"]},
    }
    with_view = eks.list_access_entries(clusterName=cluster, associatedPolicyArn=VIEW_POLICY)
    assert with_view["accessEntries"] == [role]
    with_admin = eks.list_access_entries(clusterName=cluster, associatedPolicyArn=ADMIN_POLICY)
    assert with_admin["accessEntries"] == [_admin_arn(aws)]
    eks.disassociate_access_policy(clusterName=cluster, principalArn=role, policyArn=VIEW_POLICY)
    left = eks.list_associated_access_policies(clusterName=cluster, principalArn=role)
    assert [p["policyArn"] for p in left["associatedAccessPolicies"]] == [
        POLICY + "AmazonEKSEditPolicy"
    ]
    with pytest.raises(ClientError) as not_associated:
        eks.disassociate_access_policy(
            clusterName=cluster, principalArn=role, policyArn=VIEW_POLICY
        )
    assert _error(not_associated)[0] == "ResourceNotFoundException"


def test_policy_association_refusals(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    role = _role(aws)["Arn"]
    eks.create_access_entry(clusterName=cluster, principalArn=role)
    bad_requests = [
        {"policyArn": POLICY + "AmazonEKSNoSuchPolicy", "accessScope": {"type": "cluster"}},
        {
            "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
            "accessScope": {"type": "cluster"},
        },
        {"policyArn": VIEW_POLICY, "accessScope": {"type": "namespace"}},
        {"policyArn": VIEW_POLICY, "accessScope": {"type": "namespace", "namespaces": []}},
        {"policyArn": VIEW_POLICY, "accessScope": {"type": "cluster", "namespaces": ["a"]}},
    ]
    for params in bad_requests:
        with pytest.raises(ClientError) as refused:
            eks.associate_access_policy(clusterName=cluster, principalArn=role, **params)
        assert _error(refused)[0] == "InvalidParameterException", params
    with pytest.raises(ClientError) as no_entry:
        eks.associate_access_policy(
            clusterName=cluster,
            principalArn=_role(aws)["Arn"],
            policyArn=VIEW_POLICY,
            accessScope={"type": "cluster"},
        )
    code, message, status = _error(no_entry)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == (
        f"{ENTRY_NOT_FOUND} You can view your available access entries with 'list-access-entries'."
    )


# --------------------------------------------------------------------------- clusters


def test_cluster_creator_gets_an_admin_entry(aws: Any) -> None:
    iam = aws.client("iam", account=aws.TARGET)
    creator = _role(aws, "creator", path="/platform/")
    iam.put_role_policy(
        RoleName=creator["RoleName"],
        PolicyName="all",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    as_creator = aws.client("eks", credentials=_session(aws, creator["Arn"]))
    cluster = _cluster(aws, "API", eks=as_creator)
    eks = aws.client("eks", account=aws.TARGET)
    assert eks.list_access_entries(clusterName=cluster)["accessEntries"] == [creator["Arn"]]
    entry = eks.describe_access_entry(clusterName=cluster, principalArn=creator["Arn"])
    assert entry["accessEntry"]["username"] == (
        f"arn:aws:sts::{aws.TARGET}:assumed-role/{creator['RoleName']}/{{{{SessionName}}}}"
    )
    policies = eks.list_associated_access_policies(clusterName=cluster, principalArn=creator["Arn"])
    assert [(p["policyArn"], p["accessScope"]) for p in policies["associatedAccessPolicies"]] == [
        (ADMIN_POLICY, {"type": "cluster", "namespaces": []})
    ]
    without = _cluster(aws, "API", bootstrap=False)
    assert eks.list_access_entries(clusterName=without)["accessEntries"] == []
    assert eks.describe_cluster(name=without)["cluster"]["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": False,
    }
    name = aws.unique("never")
    with pytest.raises(ClientError) as refused:
        eks.create_cluster(
            name=name,
            roleArn=creator["Arn"],
            resourcesVpcConfig={},
            accessConfig={
                "authenticationMode": "CONFIG_MAP",
                "bootstrapClusterCreatorAdminPermissions": False,
            },
        )
    assert _error(refused) == (
        "InvalidParameterException",
        "bootstrapClusterCreatorAdminPermissions must be true if cluster authentication mode "
        "is set to CONFIG_MAP",
        400,
    )
    assert name not in aws.listed(eks, "list_clusters", "clusters")


def test_config_map_mode_refuses_access_entry_calls(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws, None)  # no accessConfig: the API's default, CONFIG_MAP
    assert eks.describe_cluster(name=cluster)["cluster"]["accessConfig"] == {
        "authenticationMode": "CONFIG_MAP",
        "bootstrapClusterCreatorAdminPermissions": True,
    }
    role = _role(aws)["Arn"]
    for call, params in [
        (eks.create_access_entry, {"principalArn": role}),
        (eks.list_access_entries, {}),
        (eks.describe_access_entry, {"principalArn": role}),
    ]:
        with pytest.raises(ClientError) as refused:
            call(clusterName=cluster, **params)
        assert _error(refused) == ("InvalidRequestException", MODE_REQUIRED, 400)
    assert aws.sandbox.eks.resolve(aws.TARGET, aws.REGION, cluster, _admin_arn(aws), "any") is None


def test_authentication_mode_transitions(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws, "CONFIG_MAP")

    def change(mode: str) -> dict[str, Any]:
        answer = eks.update_cluster_config(name=cluster, accessConfig={"authenticationMode": mode})
        update: dict[str, Any] = answer["update"]
        return update

    def refused(mode: str, current: str) -> None:
        with pytest.raises(ClientError) as error:
            change(mode)
        assert _error(error) == (
            "InvalidParameterException",
            f"Unsupported authentication mode update from {current} to {mode}",
            400,
        )

    refused("API", "CONFIG_MAP")
    refused("CONFIG_MAP", "CONFIG_MAP")
    update = change("API_AND_CONFIG_MAP")
    assert update["type"] == "AccessConfigUpdate" and update["status"] == "InProgress"
    assert update["params"] == [{"type": "AuthenticationMode", "value": "API_AND_CONFIG_MAP"}]
    done = eks.describe_update(name=cluster, updateId=update["id"])["update"]
    assert done["status"] == "Successful" and done["id"] == update["id"]
    mode = eks.describe_cluster(name=cluster)["cluster"]["accessConfig"]["authenticationMode"]
    assert mode == "API_AND_CONFIG_MAP"
    # The access-entry API is now on, and the creator (the admin) has its entry.
    assert eks.list_access_entries(clusterName=cluster)["accessEntries"] == [_admin_arn(aws)]
    refused("API_AND_CONFIG_MAP", "API_AND_CONFIG_MAP")
    refused("CONFIG_MAP", "API_AND_CONFIG_MAP")
    with pytest.raises(ClientError) as two_kinds:
        eks.update_cluster_config(
            name=cluster,
            accessConfig={"authenticationMode": "API"},
            logging={"clusterLogging": [{"types": ["api"], "enabled": True}]},
        )
    assert _error(two_kinds) == (
        "InvalidParameterException",
        "Only one type of update can be allowed.",
        400,
    )
    change("API")
    assert aws.sandbox.eks.authentication_mode(aws.TARGET, aws.REGION, cluster) == "API"
    refused("API_AND_CONFIG_MAP", "API")
    refused("CONFIG_MAP", "API")
    missing = aws.unique("gone")
    with pytest.raises(ClientError) as no_cluster:
        eks.update_cluster_config(name=missing, accessConfig={"authenticationMode": "API"})
    assert _error(no_cluster)[:2] == (
        "ResourceNotFoundException",
        f"No cluster found for name: {missing}.",
    )


def test_recreated_cluster_starts_without_entries(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    role = _role(aws)
    eks.create_access_entry(clusterName=cluster, principalArn=role["Arn"])
    eks.delete_cluster(name=cluster)
    eks.create_cluster(
        name=cluster,
        roleArn=role["Arn"],
        resourcesVpcConfig={},
        accessConfig={"authenticationMode": "API"},
    )
    assert eks.list_access_entries(clusterName=cluster)["accessEntries"] == [_admin_arn(aws)]


# --------------------------------------------------------------------------- identity


def test_entry_is_bound_to_the_principals_unique_id(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    iam = aws.client("iam", account=aws.TARGET)
    cluster = _cluster(aws)
    role = _role(aws, "bound", path="/apps/")
    eks.create_access_entry(clusterName=cluster, principalArn=role["Arn"])
    canonical = f"arn:aws:iam::{aws.TARGET}:role/{role['RoleName']}"
    access = aws.sandbox.eks  # what the cluster's token authenticator maps callers with
    found = access.resolve(aws.TARGET, aws.REGION, cluster, role["Arn"], role["RoleId"])
    assert found is not None and found.principal_id == role["RoleId"]
    session_id = f"{role['RoleId']}:some-session"
    assert access.resolve(aws.TARGET, aws.REGION, cluster, canonical, session_id) == found
    assert access.resolve(aws.TARGET, aws.REGION, cluster, canonical, "AROAOTHER") is None
    iam.delete_role(RoleName=role["RoleName"])
    again = iam.create_role(
        RoleName=role["RoleName"], Path="/apps/", AssumeRolePolicyDocument=_trust(aws.TARGET)
    )["Role"]
    assert again["Arn"] == role["Arn"] and again["RoleId"] != role["RoleId"]
    assert access.resolve(aws.TARGET, aws.REGION, cluster, again["Arn"], again["RoleId"]) is None
    assert access.resolve(aws.TARGET, aws.REGION, cluster, canonical, again["RoleId"]) is None
    # EKS keeps the stale entry: it must be deleted and created again to work.
    assert eks.describe_access_entry(clusterName=cluster, principalArn=role["Arn"])
    with pytest.raises(ClientError) as in_use:
        eks.create_access_entry(clusterName=cluster, principalArn=role["Arn"])
    assert _error(in_use)[0] == "ResourceInUseException"
    eks.delete_access_entry(clusterName=cluster, principalArn=role["Arn"])
    eks.create_access_entry(clusterName=cluster, principalArn=role["Arn"])
    renewed = access.resolve(aws.TARGET, aws.REGION, cluster, canonical, again["RoleId"])
    assert renewed is not None and renewed.principal_arn == role["Arn"]
    assert access.resolve(aws.TARGET, aws.REGION, aws.unique("none"), canonical, "x") is None


def test_iam_authorization_is_still_enforced(aws: Any) -> None:
    iam = aws.client("iam", account=aws.TARGET)
    cluster = _cluster(aws)
    reader = _role(aws, "reader")
    iam.put_role_policy(
        RoleName=reader["RoleName"],
        PolicyName="read",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["eks:ListAccessEntries", "eks:DescribeCluster"],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    eks = aws.client("eks", credentials=_session(aws, reader["Arn"]))
    assert eks.list_access_entries(clusterName=cluster)["accessEntries"] == [_admin_arn(aws)]
    with pytest.raises(ClientError) as denied:
        eks.create_access_entry(clusterName=cluster, principalArn=reader["Arn"])
    code, message, status = _error(denied)
    assert (code, status) == ("AccessDeniedException", 403)
    assert "is not authorized to perform: eks:CreateAccessEntry" in message
    with pytest.raises(ClientError) as denied_policy:
        eks.list_access_policies()
    assert _error(denied_policy)[0] == "AccessDeniedException"


# --------------------------------------------------------------------------- aws CLI


def test_aws_cli_creates_and_lists_an_access_entry(aws: Any, tmp_path: Path) -> None:
    cluster = _cluster(aws)
    role = _role(aws, "cli", path="/cli/")
    key, secret = aws.sandbox.admin_keys[aws.TARGET]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_ENDPOINT_URL": aws.sandbox.endpoint,
        "AWS_DEFAULT_REGION": aws.REGION,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
    }

    def cli(*args: str) -> Any:
        done = subprocess.run(
            [str(AWS_CLI), "eks", *args, "--output", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    created = cli(
        "create-access-entry",
        "--cluster-name",
        cluster,
        "--principal-arn",
        role["Arn"],
        "--kubernetes-groups",
        "viewers",
    )["accessEntry"]
    assert created["principalArn"] == role["Arn"]
    assert created["kubernetesGroups"] == ["viewers"]
    listed = cli("list-access-entries", "--cluster-name", cluster)["accessEntries"]
    assert role["Arn"] in listed and _admin_arn(aws) in listed
