"""The vocabulary: each AWS/EKS name defined once, and consistent with the code that reads it."""

from __future__ import annotations

import typing

import pytest

from kubetrust import arn
from kubetrust.chain import kube_identity, links, rbac
from kubetrust.chain import sts as hops
from kubetrust.model import vocabulary
from kubetrust.model.eks import ServiceAccount
from kubetrust.policy import PolicyKind
from kubetrust.policy.decision import Effect, ReasonKind


def test_access_policy_arns_are_made_of_their_names() -> None:
    names = [policy.name for policy in vocabulary.ACCESS_POLICIES]
    assert len(names) == len(set(names)) == len(vocabulary.ACCESS_POLICY_BY_NAME)
    for policy in vocabulary.ACCESS_POLICIES:
        parsed = arn.parse(policy.arn)
        assert (parsed.partition, parsed.service, parsed.region, parsed.account) == (
            "aws",
            "eks",
            "",
            "aws",
        )
        assert parsed.resource == f"cluster-access-policy/{policy.name}"
        assert policy.arn == vocabulary.ACCESS_POLICY_ARN_PREFIX + policy.name


def test_the_four_role_like_policies_and_their_cluster_roles() -> None:
    assert dict(vocabulary.ACCESS_POLICY_CLUSTER_ROLES) == {
        "AmazonEKSClusterAdminPolicy": "cluster-admin",
        "AmazonEKSAdminPolicy": "admin",
        "AmazonEKSEditPolicy": "edit",
        "AmazonEKSViewPolicy": "view",
    }
    for role, policy in vocabulary.POLICY_FOR_CLUSTER_ROLE.items():
        assert policy.cluster_role == role
        assert vocabulary.ACCESS_POLICY_BY_NAME[policy.name] is policy
    assert set(vocabulary.POLICY_FOR_CLUSTER_ROLE) == rbac.ACCESS_POLICY_ROLES


@pytest.mark.parametrize("policy", vocabulary.ACCESS_POLICIES, ids=lambda p: p.name)
def test_the_grant_of_each_policy_is_its_catalogued_cluster_role(
    policy: vocabulary.AccessPolicy,
) -> None:
    assert kube_identity.access_policy_grant(policy.arn).cluster_role == policy.cluster_role


def test_each_mode_reads_what_its_mapper_chain_consults() -> None:
    assert typing.get_args(vocabulary.AuthenticationMode) == vocabulary.AUTHENTICATION_MODES
    assert dict(vocabulary.MODE_READS) == {
        "CONFIG_MAP": ("aws-auth",),
        "API_AND_CONFIG_MAP": ("access entries", "aws-auth"),
        "API": ("access entries",),
    }
    for mode in vocabulary.AUTHENTICATION_MODES:
        chain = kube_identity.mapper_chain(mode)
        assert tuple(mapper.name for mapper in chain) == vocabulary.MODE_READS[mode]
        assert vocabulary.reads_aws_auth(mode) == ("aws-auth" in vocabulary.MODE_READS[mode])
        assert vocabulary.reads_access_entries(mode) == (
            "access entries" in vocabulary.MODE_READS[mode]
        )


@pytest.mark.parametrize("mode", ["", "api", "CONFIG_MAP ", "STANDARD"])
def test_an_unknown_mode_reads_nothing(mode: str) -> None:
    assert not vocabulary.is_authentication_mode(mode)
    assert not vocabulary.reads_aws_auth(mode) and not vocabulary.reads_access_entries(mode)


@pytest.mark.parametrize(("namespace", "name"), [("ci", "builder"), ("kube-system", "a.b-c")])
def test_the_subject_round_trips_and_is_what_every_reader_builds(namespace: str, name: str) -> None:
    subject = vocabulary.service_account_subject(namespace, name)
    assert subject == f"system:serviceaccount:{namespace}:{name}"
    assert vocabulary.parse_service_account_subject(subject) == (namespace, name)
    assert ServiceAccount(namespace, name).subject == subject
    assert links.Workload("c", namespace, name).subject == subject


@pytest.mark.parametrize(
    "text",
    [
        "system:serviceaccount:ns",
        "system:serviceaccount::name",
        "system:serviceaccount:ns:",
        "system:serviceaccount:ns:a:b",
        "system:serviceaccounts:ns:name",
        "system:node:ns:name",
    ],
)
def test_what_is_not_a_service_account_subject(text: str) -> None:
    assert vocabulary.parse_service_account_subject(text) is None


def test_audiences() -> None:
    assert vocabulary.IRSA_AUDIENCE == "sts.amazonaws.com"
    assert vocabulary.POD_IDENTITY_AUDIENCE == vocabulary.POD_IDENTITY_SERVICE
    assert vocabulary.POD_IDENTITY_SERVICE == "pods.eks.amazonaws.com"
    assert links.Workload("c", "ns", "sa").audience == vocabulary.IRSA_AUDIENCE


def test_session_duration_bounds_are_what_sts_enforces() -> None:
    bounds = vocabulary.ASSUME_ROLE_DURATION
    assert (bounds.minimum, bounds.maximum) == (900, 43200)
    assert 900 in bounds and 43200 in bounds and 899 not in bounds and 43201 not in bounds
    for seconds, refused in ((899, True), (900, False), (43200, False), (43201, True)):
        _, message = hops.check_duration(seconds, max_session_duration=43200, chained=False)
        assert (message is not None) is refused, seconds
    assert hops.check_duration(None, max_session_duration=43200, chained=False) == (3600, None)
    _, chained = hops.check_duration(3601, max_session_duration=43200, chained=True)
    assert chained is not None and "1 hour session limit" in chained
    assert vocabulary.CHAINED_SESSION_CAP == 3600
    role = vocabulary.ROLE_MAX_SESSION
    assert (role.minimum, role.maximum) == (3600, 43200)
    assert vocabulary.DEFAULT_ROLE_MAX_SESSION in role
    user = vocabulary.USER_SESSION_DURATION
    assert (user.minimum, user.maximum) == (900, 129600)
    assert vocabulary.DEFAULT_USER_SESSION in user
    assert vocabulary.ROOT_USER_SESSION_CAP == 3600


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("012345678901", True),
        ("123456789012", True),
        ("12345678901", False),
        ("1234567890123", False),
        ("123456789012\n", False),
        ("١٢٣٤٥٦٧٨٩٠١٢", False),  # Arabic-Indic digits are not an account id
        ("aws", False),
    ],
)
def test_the_account_id_pattern(text: str, expected: bool) -> None:
    assert arn.is_account_id(text) is expected


def test_reason_kinds_are_the_policy_kinds_and_root() -> None:
    assert set(typing.get_args(ReasonKind)) == {kind.value for kind in PolicyKind} | {"root"}
    assert set(typing.get_args(Effect)) == {"Allow", "Deny", "ImplicitDeny", "NotApplicable"}
