"""EKS Pod Identity's two role assumptions (:mod:`kubetrust.chain.pod_identity`): the
service principal's hop into the association role, the chained hop into the target role,
their session tags, session name, external id and durations (reference F.1, F.3, F.4)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from kubetrust.chain import context, parties
from kubetrust.chain import pod_identity as pi
from kubetrust.chain import sts as hops
from kubetrust.model.eks import OidcProvider

A = "111111111111"
B = "222222222222"
REGION = "us-east-1"
NOW = dt.datetime(2025, 7, 1, 12, 0, 0, tzinfo=dt.UTC)
FACTS = context.RequestFacts(now=NOW, secure_transport=True, region=REGION)
CLUSTER = pi.cluster_arn(A, REGION, "prod")
SUBJECT = pi.PodSubject(CLUSTER, "payments", "api", "api-7d4b9-x2z9k", "5f1c-uid")
ROLE_ARN = f"arn:aws:iam::{A}:role/pod-source"
TARGET_ARN = f"arn:aws:iam::{B}:role/pod-target"
ROLE_ID = "AROASOURCESOURCESOURC"
UNIQUE = "8e0d61a2-1b2c-4d5e-8f90-0123456789ab"
EXTERNAL = pi.external_id(REGION, A, "prod", "payments", "api")


def _doc(*statements: Mapping[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


POD_TRUST = _doc(
    {
        "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    }
)
ASSUME_TARGET = _doc(
    {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": TARGET_ARN}
)
TARGET_TRUST_TAGS = _doc(  # the user guide's variant A
    {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
        "Action": ["sts:AssumeRole", "sts:TagSession"],
        "Condition": {
            "StringEquals": {
                "aws:RequestTag/eks-cluster-arn": CLUSTER,
                "aws:RequestTag/kubernetes-namespace": "payments",
                "aws:RequestTag/kubernetes-service-account": "api",
            },
            "ArnEquals": {"aws:PrincipalARN": ROLE_ARN},
        },
    }
)
TARGET_TRUST_EXTERNAL_ID = _doc(  # the user guide's variant B (session tags off)
    {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"sts:ExternalId": EXTERNAL},
            "ArnEquals": {"aws:PrincipalARN": ROLE_ARN},
        },
    },
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "sts:TagSession"},
)


@dataclass
class Directory:
    """:class:`parties.Directory` over plain values: the association role's policies."""

    identity: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    organization: context.Org | None = None

    def holder_policies(self, holder: str) -> parties.HolderPolicies | None:
        return parties.HolderPolicies(self.identity) if holder == ROLE_ID else None

    def holder_tags(self, holder: str) -> Mapping[str, str]:
        return self.tags if holder == ROLE_ID else {}

    def scps(self, account: str) -> parties.Levels:
        return ()

    def rcps(self, account: str) -> parties.Levels:
        return ()

    def org(self, account: str | None) -> context.Org | None:
        return self.organization

    def oidc_provider(self, account: str, url: str) -> OidcProvider | None:
        return None


def _decide(
    *,
    trust: str = POD_TRUST,
    identity: Sequence[str] = (ASSUME_TARGET,),
    target_trust: str | None = None,
    disable_tags: bool = False,
    subject: pi.PodSubject = SUBJECT,
    directory: Directory | None = None,
    target_max: int = 3600,
) -> pi.PodIdentityDecision:
    association = pi.Association(
        ROLE_ARN,
        TARGET_ARN if target_trust is not None else None,
        disable_tags,
        EXTERNAL if target_trust is not None else None,
    )
    role = pi.RoleParty(side=hops.RoleSide(ROLE_ARN, trust), role_id=ROLE_ID, name="pod-source")
    target = (
        hops.RoleSide(TARGET_ARN, target_trust, max_session_duration=target_max)
        if target_trust is not None
        else None
    )
    return pi.decide(
        directory or Directory(identity),
        ROLE_ID,
        subject=subject,
        association=association,
        role=role,
        target=target,
        unique=UNIQUE,
        request=FACTS,
    )


def _denied(decision: pi.PodIdentityDecision) -> tuple[str, str]:
    """(the role of the hop that denied, the action it denied)."""
    failed = decision.failed
    assert failed is not None
    hop, check = failed
    return hop.role, check.action


def _keys(check: hops.Check) -> dict[str, Any]:
    return dict(check.request.context or {})


# ---------------------------------------------------------------------- values
def test_six_transitive_session_tags() -> None:
    tags = pi.session_tags(SUBJECT, disabled=False)
    assert tags is not None
    assert dict(tags.tags) == {
        "eks-cluster-arn": f"arn:aws:eks:{REGION}:{A}:cluster/prod",
        "eks-cluster-name": "prod",
        "kubernetes-namespace": "payments",
        "kubernetes-service-account": "api",
        "kubernetes-pod-name": "api-7d4b9-x2z9k",
        "kubernetes-pod-uid": "5f1c-uid",
    }
    assert set(tags.transitive) == set(tags.tags)
    assert pi.session_tags(SUBJECT, disabled=True) is None


def test_session_name_form_and_limit() -> None:
    assert pi.session_name("prod", "web", UNIQUE) == f"eks-prod-web-{UNIQUE}"
    long = pi.session_name("c" * 60, "pod", UNIQUE)
    assert len(long) == pi.MAX_SESSION_NAME and long.startswith("eks-" + "c" * 60)
    assert hops.check_session_name(long) is None


def test_external_id_form() -> None:
    assert f"{REGION}/{A}/prod/payments/api" == EXTERNAL


# ---------------------------------------------------------------------- hop 1
def test_hop_one_is_the_service_principal_with_tags() -> None:
    decision = _decide()
    assert decision.allowed and decision.target is None
    hop = decision.association
    assert hop.caller == "pods.eks.amazonaws.com"
    assert [c.action for c in hop.checks] == ["sts:AssumeRole", "sts:TagSession"]
    assert all(c.caller_side is None for c in hop.checks)  # no identity side
    assert _keys(hop.checks[0])["aws:RequestTag/kubernetes-namespace"] == "payments"
    assert _keys(hop.checks[0])["aws:SourceAccount"] == A
    assert decision.session_name == f"eks-prod-api-7d4b9-x2z9k-{UNIQUE}"[:64]
    assert decision.association_duration == pi.ASSOCIATION_SESSION_SECONDS


def test_hop_one_needs_tag_session_in_the_trust() -> None:
    trust = _doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    )
    assert _denied(_decide(trust=trust)) == (ROLE_ARN, "sts:TagSession")
    # with session tags disabled, no TagSession is asked for
    assert _decide(trust=trust, disable_tags=True).allowed


def test_hop_one_refused_when_the_trust_names_another_service() -> None:
    trust = POD_TRUST.replace("pods.eks.amazonaws.com", "ec2.amazonaws.com")
    assert _denied(_decide(trust=trust)) == (ROLE_ARN, "sts:AssumeRole")


def test_hop_one_request_tag_conditions() -> None:
    scoped = _doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"aws:RequestTag/kubernetes-namespace": "payments"}},
        }
    )
    assert _decide(trust=scoped).allowed
    other = pi.PodSubject(CLUSTER, "batch", "api", "p", "u")
    assert _denied(_decide(trust=scoped, subject=other)) == (ROLE_ARN, "sts:AssumeRole")
    # tags disabled: the condition's key is absent, the trust does not admit EKS
    assert _denied(_decide(trust=scoped, disable_tags=True)) == (ROLE_ARN, "sts:AssumeRole")


def test_hop_one_source_org_condition() -> None:
    org = context.Org("o-abc1234567")
    trust = _doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"aws:SourceOrgID": "o-abc1234567"}},
        }
    )
    assert _decide(trust=trust, directory=Directory(organization=org)).allowed
    assert not _decide(trust=trust).allowed


# ---------------------------------------------------------------------- hop 2
def test_target_hop_allowed_with_the_guides_trust() -> None:
    decision = _decide(target_trust=TARGET_TRUST_TAGS)
    assert decision.allowed
    assert decision.target is not None
    hop = decision.target
    assert hop.caller == f"arn:aws:sts::{A}:assumed-role/pod-source/{decision.session_name}"
    assert [c.action for c in hop.checks] == ["sts:AssumeRole", "sts:TagSession"]
    keys = _keys(hop.checks[1])
    assert keys["aws:PrincipalArn"] == ROLE_ARN
    assert keys["aws:PrincipalTag/kubernetes-service-account"] == "api"
    assert keys["sts:ExternalId"] == EXTERNAL
    assert set(keys["sts:TransitiveTagKeys"]) == set(pi.SESSION_TAG_KEYS)
    assert decision.target_duration == 3600


def test_target_hop_one_hour_cap_whatever_the_roles_maximum() -> None:
    assert _decide(target_trust=TARGET_TRUST_TAGS, target_max=43200).target_duration == 3600


def test_target_hop_needs_tag_session_in_the_target_trust() -> None:
    trust = TARGET_TRUST_TAGS.replace('["sts:AssumeRole", "sts:TagSession"]', '"sts:AssumeRole"')
    assert _denied(_decide(target_trust=trust)) == (TARGET_ARN, "sts:TagSession")


def test_target_hop_needs_tag_session_in_the_identity_policy() -> None:
    assume_only = _doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": TARGET_ARN})
    decision = _decide(target_trust=TARGET_TRUST_TAGS, identity=[assume_only])
    assert _denied(decision) == (TARGET_ARN, "sts:TagSession")
    failed = decision.failed
    assert failed is not None
    check = failed[1]
    assert check.caller_side is not None and not check.caller_side.allowed
    assert check.trust_side.allowed  # the caller side refused, not the target's trust


def test_target_hop_needs_assume_role_in_the_identity_policy() -> None:
    assert _denied(_decide(target_trust=TARGET_TRUST_TAGS, identity=[])) == (
        TARGET_ARN,
        "sts:AssumeRole",
    )


def test_target_trust_not_naming_the_association_role() -> None:
    other = TARGET_TRUST_TAGS.replace(ROLE_ARN, f"arn:aws:iam::{A}:role/someone-else")
    assert _denied(_decide(target_trust=other)) == (TARGET_ARN, "sts:AssumeRole")


def test_target_trust_tag_conditions_that_do_not_hold() -> None:
    other = pi.PodSubject(CLUSTER, "batch", "api", "p", "u")
    assert _denied(_decide(target_trust=TARGET_TRUST_TAGS, subject=other)) == (
        TARGET_ARN,
        "sts:AssumeRole",
    )


def test_target_trust_principal_tag_conditions() -> None:
    trust = _doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": ROLE_ARN},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"aws:PrincipalTag/kubernetes-namespace": "payments"}},
        }
    )
    assert _decide(target_trust=trust).allowed
    other = pi.PodSubject(CLUSTER, "batch", "api", "p", "u")
    assert _denied(_decide(target_trust=trust, subject=other)) == (TARGET_ARN, "sts:AssumeRole")


def test_disabled_session_tags_with_tag_conditions_in_the_target_trust() -> None:
    decision = _decide(target_trust=TARGET_TRUST_TAGS, disable_tags=True)
    assert _denied(decision) == (TARGET_ARN, "sts:AssumeRole")
    assert decision.target is not None
    assert [c.action for c in decision.target.checks] == ["sts:AssumeRole"]


def test_disabled_session_tags_with_the_external_id_trust() -> None:
    decision = _decide(
        trust=_doc(
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ),
        target_trust=TARGET_TRUST_EXTERNAL_ID,
        disable_tags=True,
    )
    assert decision.allowed
    wrong = TARGET_TRUST_EXTERNAL_ID.replace(EXTERNAL, "us-east-1/x/y/z/w")
    assert _denied(_decide(target_trust=wrong, disable_tags=True)) == (
        TARGET_ARN,
        "sts:AssumeRole",
    )


def test_no_second_hop_after_a_first_hop_denial() -> None:
    decision = _decide(trust=POD_TRUST.replace("pods.eks", "other"), target_trust=TARGET_TRUST_TAGS)
    assert decision.target is None and not decision.allowed


def test_missing_target_role_is_denied() -> None:
    association = pi.Association(ROLE_ARN, TARGET_ARN, False, EXTERNAL)
    decision = pi.decide(
        Directory([ASSUME_TARGET]),
        ROLE_ID,
        subject=SUBJECT,
        association=association,
        role=pi.RoleParty(side=hops.RoleSide(ROLE_ARN, POD_TRUST), role_id=ROLE_ID, name="s"),
        target=None,
        unique=UNIQUE,
        request=FACTS,
    )
    assert _denied(decision) == (TARGET_ARN, "sts:AssumeRole")


def test_deleted_association_role_grants_nothing_on_hop_two() -> None:
    decision = pi.decide(
        Directory([ASSUME_TARGET]),
        "AROAGONE",
        subject=SUBJECT,
        association=pi.Association(ROLE_ARN, TARGET_ARN, False, EXTERNAL),
        role=pi.RoleParty(side=hops.RoleSide(ROLE_ARN, POD_TRUST), role_id=ROLE_ID, name="s"),
        target=hops.RoleSide(TARGET_ARN, TARGET_TRUST_TAGS),
        unique=UNIQUE,
        request=FACTS,
    )
    assert _denied(decision) == (TARGET_ARN, "sts:AssumeRole")


@pytest.mark.parametrize("disabled", [False, True])
def test_role_tags_under_session_tags(disabled: bool) -> None:
    directory = Directory([ASSUME_TARGET], tags={"kubernetes-namespace": "role-tag", "team": "x"})
    trust = _doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": ROLE_ARN},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"aws:PrincipalTag/kubernetes-namespace": "payments"}},
        }
    )
    decision = _decide(target_trust=trust, directory=directory, disable_tags=disabled)
    # the session tag wins over the role's tag of the same key; without tags the role's shows
    assert decision.allowed is (not disabled)
