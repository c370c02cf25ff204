"""The pure rules of the sandbox's Pod Identity API: what admits EKS Pod Identity in a trust,
the unconfirmed choices (``externalId``, clearing with ``""``), the wire shape."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from kubetrust.chain import pod_identity as chain
from kubetrust.sandbox.aws.services.eks import pod_identity
from kubetrust.sandbox.aws.services.eks.associations import PodIdentityAssociation

ROLE = "arn:aws:iam::111122223333:role/pod"
PODS = "pods.eks.amazonaws.com"
TAGS = {"aws:RequestTag/kubernetes-namespace": "ns"}


def _trust(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _statement(effect: str, actions: Any, principal: Any = None, **condition: Any) -> Any:
    statement = {"Effect": effect, "Principal": principal or {"Service": PODS}, "Action": actions}
    if condition:
        statement["Condition"] = condition
    return statement


def _admits(trust: str, tag_session: bool = True) -> bool:
    return pod_identity.trust_admits(trust, ROLE, tag_session, TAGS)


def test_the_user_guide_trust_admits() -> None:
    assert _admits(_trust(_statement("Allow", ["sts:AssumeRole", "sts:TagSession"])))


def test_tag_session_is_needed_only_with_session_tags() -> None:
    assume_only = _trust(_statement("Allow", "sts:AssumeRole"))
    assert not _admits(assume_only)
    assert _admits(assume_only, tag_session=False)
    assert not _admits(_trust(_statement("Allow", "sts:TagSession")), tag_session=False)


def test_other_principals_do_not_admit() -> None:
    for principal in (
        {"Service": "eks.amazonaws.com"},
        {"AWS": "arn:aws:iam::111122223333:root"},
        {"Federated": "arn:aws:iam::111122223333:oidc-provider/x"},
    ):
        assert not _admits(_trust(_statement("Allow", "sts:*", principal)))


def test_conditions_on_values_eks_only_knows_later_still_admit() -> None:
    """A trust scoped to a pod's values (or to another namespace) is accepted at creation;
    it fails when EKS Auth assumes the role."""
    scoped = _statement(
        "Allow",
        ["sts:AssumeRole", "sts:TagSession"],
        StringEquals={"aws:RequestTag/kubernetes-pod-name": "p", "aws:SourceAccount": "1"},
    )
    assert _admits(_trust(scoped))


def test_an_applicable_deny_refuses_and_another_does_not() -> None:
    allow = _statement("Allow", ["sts:AssumeRole", "sts:TagSession"])
    here = _statement(
        "Deny", "sts:TagSession", StringEquals={"aws:RequestTag/kubernetes-namespace": "ns"}
    )
    there = _statement(
        "Deny", "sts:TagSession", StringEquals={"aws:RequestTag/kubernetes-namespace": "x"}
    )
    assert not _admits(_trust(allow, here))
    assert _admits(_trust(allow, there))
    assert _admits(_trust(allow, here), tag_session=False)  # only AssumeRole is asked then


def test_unconfirmed_choices_in_one_place() -> None:
    assert pod_identity.chain_pod_identity.external_id is chain.external_id  # one definition
    assert chain.external_id("us-east-1", "111122223333", "c", "ns", "sa") == (
        "us-east-1/111122223333/c/ns/sa"
    )
    assert pod_identity.cleared("") and not pod_identity.cleared(None)
    assert not pod_identity.cleared(ROLE)
    assert pod_identity.MAX_ASSOCIATIONS_PER_CLUSTER == 5000


def test_wire_shape_and_summary_fields() -> None:
    moment = dt.datetime(2025, 6, 11, tzinfo=dt.UTC)
    association = PodIdentityAssociation(
        account="111122223333",
        region="us-east-1",
        cluster="c",
        namespace="ns",
        service_account="sa",
        role_arn=ROLE,
        association_id="a-abcdefghij0123456",
        association_arn="arn:aws:eks:us-east-1:111122223333:podidentityassociation/c/a-x",
        created_at=moment,
        modified_at=moment,
    )
    wired = pod_identity.to_wire(association)
    assert wired["createdAt"] == moment.timestamp()
    assert wired["disableSessionTags"] is False
    assert not {"targetRoleArn", "externalId", "policy", "ownerArn"} & set(wired)
    assert set(wired) == {
        "clusterName",
        "namespace",
        "serviceAccount",
        "roleArn",
        "associationArn",
        "associationId",
        "tags",
        "createdAt",
        "modifiedAt",
        "disableSessionTags",
    }
