"""EKS Pod Identity associations over real HTTP: boto3 and the ``aws`` CLI against the
session's sandbox.

Every test makes its own cluster and roles (unique names). The expected codes, statuses and
texts are EKS's where public reports show them, else the sandbox's own (see
:mod:`kubetrust.sandbox.aws.services.eks.pod_identity`, where each is marked).
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

from kubetrust.sandbox.aws.services.eks import pod_identity

AWS_CLI = Path(sys.executable).with_name("aws")
ID = re.compile(r"a-[a-z0-9]{17}")
PODS = "pods.eks.amazonaws.com"
BOTH = ["sts:AssumeRole", "sts:TagSession"]


# --------------------------------------------------------------------------- helpers


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = info.value.response
    return (
        str(response["Error"]["Code"]),
        str(response["Error"]["Message"]),
        int(response["ResponseMetadata"]["HTTPStatusCode"]),
    )


def _trust(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(principal: dict[str, Any], actions: Any, **condition: Any) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": principal, "Action": actions}
    if condition:
        statement["Condition"] = condition
    return statement


POD_TRUST = _trust(_allow({"Service": PODS}, BOTH))


def _role(aws: Any, trust: str = POD_TRUST, *, account: str | None = None, path: str = "/") -> Any:
    iam = aws.client("iam", account=account or aws.TARGET)
    return iam.create_role(RoleName=aws.unique("pod"), Path=path, AssumeRolePolicyDocument=trust)[
        "Role"
    ]


def _cluster(aws: Any) -> str:
    service_role = _role(aws, _trust(_allow({"Service": "eks.amazonaws.com"}, "sts:AssumeRole")))[
        "Arn"
    ]
    name: str = aws.unique("pi")
    eks = aws.client("eks", account=aws.TARGET)
    eks.create_cluster(name=name, roleArn=service_role, resourcesVpcConfig={})
    return name


def _refused(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return _error(info)


def _invalid(message: str) -> tuple[str, str, int]:
    return ("InvalidParameterException", message, 400)


def _target(aws: Any) -> str:
    return f"arn:aws:iam::{aws.CI}:role/{aws.unique('target')}"


# --------------------------------------------------------------------------- the five calls


def test_create_describe_list_update_delete(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    role = _role(aws)
    created = eks.create_pod_identity_association(
        clusterName=cluster,
        namespace="apps",
        serviceAccount="reader",
        roleArn=role["Arn"],
        tags={"team": "a"},
    )["association"]
    association_id = created["associationId"]
    assert ID.fullmatch(association_id)
    assert created["associationArn"] == (
        f"arn:aws:eks:us-east-1:{aws.TARGET}:podidentityassociation/{cluster}/{association_id}"
    )
    assert {k: created[k] for k in ("clusterName", "namespace", "serviceAccount", "roleArn")} == {
        "clusterName": cluster,
        "namespace": "apps",
        "serviceAccount": "reader",
        "roleArn": role["Arn"],
    }
    assert created["tags"] == {"team": "a"}
    assert created["disableSessionTags"] is False
    assert created["createdAt"] == created["modifiedAt"]
    for absent in ("targetRoleArn", "externalId", "ownerArn", "policy"):
        assert absent not in created
    described = eks.describe_pod_identity_association(
        clusterName=cluster, associationId=association_id
    )["association"]
    assert described == created
    listed = eks.list_pod_identity_associations(clusterName=cluster)["associations"]
    assert listed == [
        {
            "clusterName": cluster,
            "namespace": "apps",
            "serviceAccount": "reader",
            "associationArn": created["associationArn"],
            "associationId": association_id,
        }
    ]
    other = _role(aws)
    updated = eks.update_pod_identity_association(
        clusterName=cluster, associationId=association_id, roleArn=other["Arn"]
    )["association"]
    assert updated["roleArn"] == other["Arn"]
    assert updated["createdAt"] == created["createdAt"]
    assert updated["modifiedAt"] >= created["modifiedAt"]
    deleted = eks.delete_pod_identity_association(
        clusterName=cluster, associationId=association_id
    )["association"]
    assert deleted == updated
    for call in (eks.describe_pod_identity_association, eks.delete_pod_identity_association):
        assert _refused(call, clusterName=cluster, associationId=association_id) == (
            "ResourceNotFoundException",
            f"No Pod Identity Association found for id: {association_id}",
            404,
        )
    assert eks.list_pod_identity_associations(clusterName=cluster)["associations"] == []


def test_unknown_cluster(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    missing = aws.unique("nocluster")
    expected = ("ResourceNotFoundException", f"No cluster found for name: {missing}.", 404)
    role = _role(aws)
    create = {"namespace": "n", "serviceAccount": "s", "roleArn": role["Arn"]}
    assert _refused(eks.create_pod_identity_association, clusterName=missing, **create) == expected
    assert _refused(eks.list_pod_identity_associations, clusterName=missing) == expected
    assert (
        _refused(
            eks.describe_pod_identity_association,
            clusterName=missing,
            associationId="a-00000000000000000",
        )
        == expected
    )


def test_target_role_and_external_id(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    target = _target(aws)  # another account's role, which EKS cannot and does not check
    created = eks.create_pod_identity_association(
        clusterName=cluster,
        namespace="ns",
        serviceAccount="sa",
        roleArn=_role(aws)["Arn"],
        targetRoleArn=target,
    )["association"]
    assert created["targetRoleArn"] == target
    assert created["externalId"] == f"us-east-1/{aws.TARGET}/{cluster}/ns/sa"
    ident = created["associationId"]
    cleared = eks.update_pod_identity_association(
        clusterName=cluster, associationId=ident, targetRoleArn=""
    )["association"]
    assert "targetRoleArn" not in cleared and "externalId" not in cleared
    again = eks.update_pod_identity_association(
        clusterName=cluster, associationId=ident, targetRoleArn=target
    )["association"]
    assert again["externalId"] == created["externalId"]
    kept = eks.update_pod_identity_association(
        clusterName=cluster, associationId=ident, disableSessionTags=True
    )["association"]
    assert kept["targetRoleArn"] == target and kept["disableSessionTags"] is True
    bad = "arn:aws:iam::123:role/x"
    assert _refused(
        eks.update_pod_identity_association,
        clusterName=cluster,
        associationId=ident,
        targetRoleArn=bad,
    ) == _invalid(f"The targetRoleArn {bad} is not a valid IAM role ARN")


def test_one_association_per_namespace_and_service_account(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster, elsewhere = _cluster(aws), _cluster(aws)
    role = _role(aws)["Arn"]
    first = eks.create_pod_identity_association(
        clusterName=cluster, namespace="ns", serviceAccount="sa", roleArn=role
    )["association"]
    assert _refused(
        eks.create_pod_identity_association,
        clusterName=cluster,
        namespace="ns",
        serviceAccount="sa",
        roleArn=_role(aws)["Arn"],
    ) == ("ResourceInUseException", f"Association already exists: {first['associationId']}", 409)
    for namespace, service_account, where in (
        ("other", "sa", cluster),
        ("ns", "other", cluster),
        ("ns", "sa", elsewhere),
    ):
        eks.create_pod_identity_association(
            clusterName=where, namespace=namespace, serviceAccount=service_account, roleArn=role
        )
    eks.delete_pod_identity_association(clusterName=cluster, associationId=first["associationId"])
    eks.create_pod_identity_association(
        clusterName=cluster, namespace="ns", serviceAccount="sa", roleArn=role
    )


def test_kubernetes_names_and_tags_are_checked(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    role = _role(aws)["Arn"]
    base = {"clusterName": cluster, "roleArn": role}
    create = eks.create_pod_identity_association
    assert _refused(create, namespace="Bad_NS", serviceAccount="sa", **base) == _invalid(
        "The namespace Bad_NS is not a valid Kubernetes name"
    )
    assert _refused(create, namespace="ns", serviceAccount="sa/x", **base) == _invalid(
        "The serviceAccount sa/x is not a valid Kubernetes name"
    )
    tags_refused = _invalid(pod_identity.INVALID_TAGS.format(limit=50))
    for tags in ({"aws:team": "a"}, {"AWS:x": "a"}, {"k" * 129: "v"}, {"k": "v" * 257}):
        assert _refused(create, namespace="ns", serviceAccount="sa", tags=tags, **base) == (
            tags_refused
        )
    made = create(namespace="ns", serviceAccount="dotted.name", tags={"k" * 128: "v" * 256}, **base)
    assert made["association"]["serviceAccount"] == "dotted.name"


# --------------------------------------------------------------------------- the role


def test_the_role_must_exist_in_the_clusters_account(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    create = eks.create_pod_identity_association
    base = {"clusterName": cluster, "namespace": "ns", "serviceAccount": "sa"}
    missing = f"arn:aws:iam::{aws.TARGET}:role/{aws.unique('missing')}"
    assert _refused(create, roleArn=missing, **base) == _invalid(
        "Role provided in the request does not exist"
    )
    # a role of another account cannot be passed at all: the gate refuses iam:PassRole
    # before EKS looks at the role (the IAM decision of a cross-account PassRole)
    foreign = _role(aws, account=aws.CI)["Arn"]
    code, message, status = _refused(create, roleArn=foreign, **base)
    assert (code, status) == ("AccessDeniedException", 403)
    assert f"is not authorized to perform: iam:PassRole on resource: {foreign}" in message
    assert _refused(create, roleArn="not-an-arn", **base) == _invalid(
        "The roleArn not-an-arn is not a valid IAM role ARN"
    )
    with_path = _role(aws, path="/team/")
    wrong_path = with_path["Arn"].replace("/team/", "/other/")
    assert _refused(create, roleArn=wrong_path, **base) == _invalid(
        "Role provided in the request does not exist"
    )
    made = create(roleArn=with_path["Arn"], **base)["association"]
    assert made["roleArn"] == with_path["Arn"]


@pytest.mark.parametrize(
    ("trust", "disable_tags", "admitted"),
    [
        # the user guide's trust
        (POD_TRUST, False, True),
        # EKS would not be allowed to tag the session
        (_trust(_allow({"Service": PODS}, "sts:AssumeRole")), False, False),
        # ... which it does not do when session tags are disabled
        (_trust(_allow({"Service": PODS}, "sts:AssumeRole")), True, True),
        # another service
        (_trust(_allow({"Service": "eks.amazonaws.com"}, BOTH)), False, False),
        # the account, not the service
        (_trust(_allow({"AWS": "arn:aws:iam::222222222222:root"}, BOTH)), False, False),
        # TagSession only
        (_trust(_allow({"Service": PODS}, "sts:TagSession")), True, False),
        # a wildcard action
        (_trust(_allow({"Service": PODS}, "sts:*")), False, True),
        # scoped by request tags (EKS UG pod-id-role): the pod's values come later
        (
            _trust(
                _allow(
                    {"Service": PODS},
                    BOTH,
                    StringEquals={
                        "aws:RequestTag/kubernetes-namespace": "elsewhere",
                        "aws:RequestTag/kubernetes-pod-name": "p",
                    },
                )
            ),
            False,
            True,
        ),
        # an explicit Deny of this namespace
        (
            _trust(
                _allow({"Service": PODS}, BOTH),
                {
                    "Effect": "Deny",
                    "Principal": {"Service": PODS},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:RequestTag/kubernetes-namespace": "ns"}},
                },
            ),
            False,
            False,
        ),
        # a Deny of another namespace does not apply
        (
            _trust(
                _allow({"Service": PODS}, BOTH),
                {
                    "Effect": "Deny",
                    "Principal": {"Service": PODS},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:RequestTag/kubernetes-namespace": "x"}},
                },
            ),
            False,
            True,
        ),
    ],
)
def test_the_roles_trust_must_admit_eks_pod_identity(
    aws: Any, trust: str, disable_tags: bool, admitted: bool
) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    role = _role(aws, trust)["Arn"]
    kwargs = {
        "clusterName": cluster,
        "namespace": "ns",
        "serviceAccount": "sa",
        "roleArn": role,
        "disableSessionTags": disable_tags,
    }
    if admitted:
        assert eks.create_pod_identity_association(**kwargs)["association"]["roleArn"] == role
    else:
        assert _refused(eks.create_pod_identity_association, **kwargs) == _invalid(
            "Trust policy of the role provided is invalid"
        )


def test_update_checks_the_new_role_and_keeps_the_old_on_refusal(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    assume_only = _role(aws, _trust(_allow({"Service": PODS}, "sts:AssumeRole")))["Arn"]
    made = eks.create_pod_identity_association(
        clusterName=cluster,
        namespace="ns",
        serviceAccount="sa",
        roleArn=assume_only,
        disableSessionTags=True,
    )["association"]
    ident = made["associationId"]
    update = eks.update_pod_identity_association
    untrusted = _role(aws, _trust(_allow({"Service": "eks.amazonaws.com"}, BOTH)))["Arn"]
    assert _refused(
        update, clusterName=cluster, associationId=ident, roleArn=untrusted
    ) == _invalid("Trust policy of the role provided is invalid")
    # turning session tags on needs sts:TagSession in the trust of the role kept
    assert _refused(
        update, clusterName=cluster, associationId=ident, disableSessionTags=False
    ) == _invalid("Trust policy of the role provided is invalid")
    described = eks.describe_pod_identity_association(clusterName=cluster, associationId=ident)
    assert described["association"] == made
    assert _refused(update, clusterName=cluster, associationId=ident) == _invalid(
        "At least one of roleArn, targetRoleArn, disableSessionTags or policy must be provided"
    )
    assert _refused(
        update, clusterName=cluster, associationId="a-00000000000000000", roleArn=assume_only
    ) == (
        "ResourceNotFoundException",
        "No Pod Identity Association found for id: a-00000000000000000",
        404,
    )


# --------------------------------------------------------------------------- policy


def test_policy_only_with_session_tags_disabled(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    role = _role(aws)["Arn"]
    session_policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    base = {"clusterName": cluster, "namespace": "ns", "serviceAccount": "sa", "roleArn": role}
    create = eks.create_pod_identity_association
    assert _refused(create, policy=session_policy, **base) == _invalid(
        "disableSessionTags must be true when a policy is provided"
    )
    code, message, status = _refused(create, policy="{not json", disableSessionTags=True, **base)
    assert (code, status) == ("InvalidParameterException", 400)
    assert message.startswith("The policy provided in the request is not a valid IAM policy: ")
    made = create(policy=session_policy, disableSessionTags=True, **base)["association"]
    assert json.loads(made["policy"]) == json.loads(session_policy)
    ident = made["associationId"]
    update = eks.update_pod_identity_association
    assert _refused(
        update, clusterName=cluster, associationId=ident, disableSessionTags=False
    ) == _invalid("disableSessionTags must be true when a policy is provided")
    without = update(clusterName=cluster, associationId=ident, policy="")["association"]
    assert "policy" not in without and without["disableSessionTags"] is True
    tagged = update(clusterName=cluster, associationId=ident, disableSessionTags=False)
    assert tagged["association"]["disableSessionTags"] is False


# --------------------------------------------------------------------------- listing


def test_list_filters_and_pages(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    role = _role(aws)["Arn"]
    pairs = [("a", "x"), ("a", "y"), ("b", "x"), ("b", "y"), ("c", "x")]
    ids = {}
    for namespace, service_account in pairs:
        made = eks.create_pod_identity_association(
            clusterName=cluster, namespace=namespace, serviceAccount=service_account, roleArn=role
        )["association"]
        ids[(namespace, service_account)] = made["associationId"]

    def listed(**kwargs: Any) -> list[tuple[str, str]]:
        found = aws.listed(
            eks, "list_pod_identity_associations", "associations", clusterName=cluster, **kwargs
        )
        return [(a["namespace"], a["serviceAccount"]) for a in found]

    assert listed() == pairs
    assert listed(namespace="a") == [("a", "x"), ("a", "y")]
    assert listed(serviceAccount="x") == [("a", "x"), ("b", "x"), ("c", "x")]
    assert listed(namespace="b", serviceAccount="y") == [("b", "y")]
    assert listed(namespace="none") == []
    first = eks.list_pod_identity_associations(clusterName=cluster, maxResults=2)
    assert [a["associationId"] for a in first["associations"]] == [
        ids[("a", "x")],
        ids[("a", "y")],
    ]
    second = eks.list_pod_identity_associations(
        clusterName=cluster, maxResults=2, nextToken=first["nextToken"]
    )
    assert len(second["associations"]) == 2 and "nextToken" in second
    third = eks.list_pod_identity_associations(
        clusterName=cluster, maxResults=2, nextToken=second["nextToken"]
    )
    assert [a["associationId"] for a in third["associations"]] == [ids[("c", "x")]]
    assert "nextToken" not in third
    assert _refused(
        eks.list_pod_identity_associations, clusterName=cluster, nextToken="garbage"
    ) == _invalid("The nextToken or maxResults parameter is not valid.")


# --------------------------------------------------------------------------- idempotency


def test_client_request_token_makes_retries_idempotent(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    role = _role(aws)["Arn"]
    request = {
        "clusterName": cluster,
        "namespace": "ns",
        "serviceAccount": "sa",
        "roleArn": role,
        "clientRequestToken": "token-1",
    }
    first = eks.create_pod_identity_association(**request)["association"]
    assert eks.create_pod_identity_association(**request)["association"] == first
    assert _refused(eks.create_pod_identity_association, **(request | {"namespace": "o"})) == (
        "InvalidRequestException",
        "The clientRequestToken token-1 was already used with different parameters",
        400,
    )
    fresh = request | {"clientRequestToken": "token-2"}
    assert _refused(eks.create_pod_identity_association, **fresh)[0] == "ResourceInUseException"
    ident = first["associationId"]
    update = {
        "clusterName": cluster,
        "associationId": ident,
        "disableSessionTags": True,
        "clientRequestToken": "u-1",
    }
    updated = eks.update_pod_identity_association(**update)["association"]
    assert eks.update_pod_identity_association(**update)["association"] == updated
    changed = update | {"disableSessionTags": False}
    assert _refused(eks.update_pod_identity_association, **changed)[0] == (
        "InvalidRequestException"
    )
    # the token of a deleted association is forgotten: its retry creates anew
    eks.delete_pod_identity_association(clusterName=cluster, associationId=ident)
    again = eks.create_pod_identity_association(**request)["association"]
    assert again["associationId"] != ident


# --------------------------------------------------------------------------- limits, lifetime


def test_the_per_cluster_limit(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    api = aws.sandbox.eks.pod_identity
    assert api.limit == 5000
    cluster = _cluster(aws)
    role = _role(aws)["Arn"]
    api.limit = 2  # 5,000 real creations would take the whole test budget
    try:
        for service_account in ("one", "two"):
            eks.create_pod_identity_association(
                clusterName=cluster, namespace="ns", serviceAccount=service_account, roleArn=role
            )
        assert _refused(
            eks.create_pod_identity_association,
            clusterName=cluster,
            namespace="ns",
            serviceAccount="three",
            roleArn=role,
        ) == (
            "ResourceLimitExceededException",
            f"Cluster {cluster} has reached the limit of 2 Pod Identity associations",
            400,
        )
    finally:
        api.limit = 5000


def test_a_deleted_cluster_takes_its_associations(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    role = _role(aws)
    eks.create_pod_identity_association(
        clusterName=cluster, namespace="ns", serviceAccount="sa", roleArn=role["Arn"]
    )
    lookup = aws.sandbox.eks
    assert lookup.association_for(aws.TARGET, aws.REGION, cluster, "ns", "sa") is not None
    eks.delete_cluster(name=cluster)
    assert lookup.association_for(aws.TARGET, aws.REGION, cluster, "ns", "sa") is None
    service_role = _role(aws, _trust(_allow({"Service": "eks.amazonaws.com"}, "sts:AssumeRole")))
    eks.create_cluster(name=cluster, roleArn=service_role["Arn"], resourcesVpcConfig={})
    assert eks.list_pod_identity_associations(clusterName=cluster)["associations"] == []
    assert lookup.association_for(aws.TARGET, aws.REGION, cluster, "ns", "sa") is None


def test_association_for_sees_what_the_api_made(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    role = _role(aws)["Arn"]
    target = _target(aws)
    made = eks.create_pod_identity_association(
        clusterName=cluster,
        namespace="ns",
        serviceAccount="sa",
        roleArn=role,
        targetRoleArn=target,
        tags={"k": "v"},
    )["association"]
    lookup = aws.sandbox.eks
    found = lookup.association_for(aws.TARGET, aws.REGION, cluster, "ns", "sa")
    assert found is not None
    assert (found.account, found.region, found.cluster) == (aws.TARGET, aws.REGION, cluster)
    assert (found.namespace, found.service_account) == ("ns", "sa")
    assert (found.association_id, found.association_arn) == (
        made["associationId"],
        made["associationArn"],
    )
    assert (found.role_arn, found.target_role_arn) == (role, target)
    assert found.external_id == made["externalId"]
    assert found.disable_session_tags is False and found.policy is None
    assert dict(found.tags) == {"k": "v"}
    assert found.created_at.timestamp() == made["createdAt"].timestamp()
    for namespace, service_account in (("ns", "other"), ("other", "sa")):
        assert (
            lookup.association_for(aws.TARGET, aws.REGION, cluster, namespace, service_account)
            is None
        )
    assert lookup.association_for(aws.CI, aws.REGION, cluster, "ns", "sa") is None
    eks.update_pod_identity_association(
        clusterName=cluster, associationId=made["associationId"], disableSessionTags=True
    )
    updated = lookup.association_for(aws.TARGET, aws.REGION, cluster, "ns", "sa")
    assert updated is not None and updated.disable_session_tags is True
    eks.delete_pod_identity_association(clusterName=cluster, associationId=made["associationId"])
    assert lookup.association_for(aws.TARGET, aws.REGION, cluster, "ns", "sa") is None


# --------------------------------------------------------------------------- IAM


def _caller(aws: Any, *statements: dict[str, Any]) -> Any:
    """An EKS client for a session of a role allowed ``statements`` only."""
    iam = aws.client("iam", account=aws.TARGET)
    role = _role(aws, _trust(_allow({"AWS": f"arn:aws:iam::{aws.TARGET}:root"}, "sts:AssumeRole")))
    iam.put_role_policy(
        RoleName=role["RoleName"],
        PolicyName="p",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
    )
    sts = aws.client("sts", account=aws.TARGET)
    assumed = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="caller")
    session = assumed["AssumedRoleUser"]["Arn"]
    return aws.client("eks", credentials=aws.session_credentials(assumed)), session


EKS_CALLS = {
    "Effect": "Allow",
    "Action": ["eks:*PodIdentityAssociation*"],
    "Resource": "*",
}


def _pass_role(service: str) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": "*",
        "Condition": {"StringEquals": {"iam:PassedToService": service}},
    }


def test_the_caller_needs_pass_role_on_the_association_role(aws: Any) -> None:
    cluster = _cluster(aws)
    role = _role(aws)["Arn"]
    target = _target(aws)
    base = {"clusterName": cluster, "namespace": "ns", "serviceAccount": "sa"}
    without, session = _caller(aws, EKS_CALLS)
    code, message, status = _refused(without.create_pod_identity_association, roleArn=role, **base)
    assert (code, status) == ("AccessDeniedException", 403)
    assert message == (
        f"User: {session} is not authorized to perform: iam:PassRole on resource: {role} "
        "because no identity-based policy allows the iam:PassRole action"
    )
    wrong_service, _ = _caller(aws, EKS_CALLS, _pass_role("eks.amazonaws.com"))
    assert (
        _refused(wrong_service.create_pod_identity_association, roleArn=role, **base)[0]
        == "AccessDeniedException"
    )
    allowed, _ = _caller(aws, EKS_CALLS, _pass_role(PODS))
    made = allowed.create_pod_identity_association(roleArn=role, targetRoleArn=target, **base)
    ident = made["association"]["associationId"]
    # a target role is not passed: changing it needs no iam:PassRole
    without.update_pod_identity_association(
        clusterName=cluster, associationId=ident, targetRoleArn=""
    )
    # a new association role is passed again
    other = _role(aws)["Arn"]
    code, message, _ = _refused(
        without.update_pod_identity_association,
        clusterName=cluster,
        associationId=ident,
        roleArn=other,
    )
    assert code == "AccessDeniedException" and f"iam:PassRole on resource: {other}" in message
    allowed.update_pod_identity_association(clusterName=cluster, associationId=ident, roleArn=other)
    assert (
        without.list_pod_identity_associations(clusterName=cluster)["associations"][0][
            "associationId"
        ]
        == ident
    )
    reader, reader_session = _caller(
        aws,
        {"Effect": "Allow", "Action": "eks:ListPodIdentityAssociations", "Resource": "*"},
    )
    arn = f"arn:aws:eks:us-east-1:{aws.TARGET}:podidentityassociation/{cluster}/{ident}"
    action = "eks:DescribePodIdentityAssociation"
    assert _refused(
        reader.describe_pod_identity_association, clusterName=cluster, associationId=ident
    ) == (
        "AccessDeniedException",
        f"User: {reader_session} is not authorized to perform: {action} on resource: {arn} "
        f"because no identity-based policy allows the {action} action",
        403,
    )


# --------------------------------------------------------------------------- aws CLI


def test_aws_cli_manages_associations(aws: Any, tmp_path: Path) -> None:
    cluster = _cluster(aws)
    role = _role(aws)["Arn"]
    target = _target(aws)
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

    def cli(*args: str, ok: bool = True) -> Any:
        done = subprocess.run(
            [str(AWS_CLI), "eks", *args, "--output", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if not ok:
            assert done.returncode != 0
            return done.stderr
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    created = cli(
        "create-pod-identity-association",
        "--cluster-name",
        cluster,
        "--namespace",
        "apps",
        "--service-account",
        "reader",
        "--role-arn",
        role,
        "--target-role-arn",
        target,
    )["association"]
    ident = created["associationId"]
    assert ID.fullmatch(ident)
    assert created["targetRoleArn"] == target and created["roleArn"] == role
    assert created["externalId"] == f"{aws.REGION}/{aws.TARGET}/{cluster}/apps/reader"
    listed = cli("list-pod-identity-associations", "--cluster-name", cluster, "--namespace", "apps")
    assert [a["associationId"] for a in listed["associations"]] == [ident]
    described = cli(
        "describe-pod-identity-association", "--cluster-name", cluster, "--association-id", ident
    )["association"]
    assert described["roleArn"] == role and described["targetRoleArn"] == target
    updated = cli(
        "update-pod-identity-association",
        "--cluster-name",
        cluster,
        "--association-id",
        ident,
        "--disable-session-tags",
    )["association"]
    assert updated["disableSessionTags"] is True
    duplicate = cli(
        "create-pod-identity-association",
        "--cluster-name",
        cluster,
        "--namespace",
        "apps",
        "--service-account",
        "reader",
        "--role-arn",
        role,
        ok=False,
    )
    assert (
        "An error occurred (ResourceInUseException) when calling the "
        f"CreatePodIdentityAssociation operation: Association already exists: {ident}"
    ) in duplicate
    deleted = cli(
        "delete-pod-identity-association", "--cluster-name", cluster, "--association-id", ident
    )["association"]
    assert deleted["associationId"] == ident
    assert cli("list-pod-identity-associations", "--cluster-name", cluster)["associations"] == []


# --------------------------------------------------------------------------- add-ons


def test_the_pod_identity_agent_addon(aws: Any) -> None:
    eks = aws.client("eks", account=aws.TARGET)
    cluster = _cluster(aws)
    agent = "eks-pod-identity-agent"
    extras = aws.sandbox.eks
    assert not extras.has_addon(aws.TARGET, aws.REGION, cluster, agent)
    created = eks.create_addon(clusterName=cluster, addonName=agent, tags={"k": "v"})["addon"]
    assert (created["addonName"], created["clusterName"], created["status"]) == (
        agent,
        cluster,
        "ACTIVE",
    )
    assert created["health"] == {"issues": []} and created["tags"] == {"k": "v"}
    assert re.fullmatch(
        rf"arn:aws:eks:us-east-1:{aws.TARGET}:addon/{cluster}/{agent}/[0-9a-f-]{{36}}",
        created["addonArn"],
    )
    assert extras.has_addon(aws.TARGET, aws.REGION, cluster, agent)
    assert not extras.has_addon(aws.TARGET, aws.REGION, cluster, "vpc-cni")
    assert eks.describe_addon(clusterName=cluster, addonName=agent)["addon"] == created
    assert eks.list_addons(clusterName=cluster)["addons"] == [agent]
    assert _refused(eks.create_addon, clusterName=cluster, addonName=agent) == (
        "ResourceInUseException",
        "Addon already exists.",
        409,
    )
    assert (
        _refused(
            eks.create_addon,
            clusterName=cluster,
            addonName="aws-ebs-csi-driver",
            podIdentityAssociations=[{"serviceAccount": "sa", "roleArn": _role(aws)["Arn"]}],
        )[0]
        == "InvalidParameterException"
    )
    deleted = eks.delete_addon(clusterName=cluster, addonName=agent)["addon"]
    assert deleted["status"] == "DELETING"
    assert not extras.has_addon(aws.TARGET, aws.REGION, cluster, agent)
    assert _refused(eks.describe_addon, clusterName=cluster, addonName=agent) == (
        "ResourceNotFoundException",
        f"No addon: {agent} found in cluster: {cluster}",
        404,
    )
    missing = aws.unique("nocluster")
    assert _refused(eks.list_addons, clusterName=missing)[2] == 404
    eks.create_addon(clusterName=cluster, addonName=agent)
    eks.delete_cluster(name=cluster)
    assert not extras.has_addon(aws.TARGET, aws.REGION, cluster, agent)
