"""``kubetrust verify`` for EKS Pod Identity, the pure parts: the plans a ``podIdentity`` spec
gives, the association checked against them, and where an EKS Auth answer places the chain
(the runs themselves: tests/sandbox/test_verify_pod_identity.py).

EKS and EKS Auth are stand-ins here that answer what the sandbox answers (the codes and
messages of ``sandbox/aws/services/eks_auth/errors.py``); nothing is sent anywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from kubetrust import provision
from kubetrust.adapters import verify_pod_identity as vpi
from kubetrust.adapters.verify_pod import PodIdentityStart
from kubetrust.adapters.verify_spec import plans_from_spec
from kubetrust.explain import verify_model as vm

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SOURCE = "arn:aws:iam::111111111111:role/ci-pod-identity-role"
TARGET = "arn:aws:iam::222222222222:role/target-pod-identity-role"
TARGET_SESSION = "arn:aws:sts::222222222222:assumed-role/target-pod-identity-role/eks-ci-p-1"
SOURCE_SESSION = "arn:aws:sts::111111111111:assumed-role/ci-pod-identity-role/eks-ci-p-1"
HOP_ONE = "Unauthorized Exception! EKS does not have permissions to assume the associated role."


def _start(token: str | None = "a.b.c") -> PodIdentityStart:
    step = vm.Step(vm.StepKind.TOKEN, "pod ci/p", "sub", vm.Outcome.PASS)
    session = boto3.session.Session(region_name="us-east-1")
    return PodIdentityStart("pod ci/p", step, "ci-cluster", "ci", "deployer", session, token)


def _error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "AssumeRoleForPodIdentity")


class Eks:
    """``ListPodIdentityAssociations``/``Describe…`` over at most one association."""

    def __init__(self, association: dict[str, Any] | None) -> None:
        self.association = association

    def list_pod_identity_associations(self, **_: Any) -> dict[str, Any]:
        found = [self.association] if self.association else []
        return {"associations": [{"associationId": a["associationId"]} for a in found]}

    def describe_pod_identity_association(self, **_: Any) -> dict[str, Any]:
        return {"association": self.association}

    def get_paginator(self, operation: str) -> Pages:
        """One page, as botocore's paginator yields it for a listing this short."""
        assert operation == "list_pod_identity_associations"
        return Pages(self.list_pod_identity_associations)


class Pages:
    """The paginator's ``paginate``: the pages of one list call."""

    def __init__(self, call: Any) -> None:
        self.call = call

    def paginate(self, **kw: Any) -> list[dict[str, Any]]:
        return [self.call(**kw)]


class EksAuth:
    """``AssumeRoleForPodIdentity`` answering a session of ``arn``, or raising ``error``."""

    def __init__(self, arn: str = "", error: ClientError | None = None) -> None:
        self.arn, self.error = arn, error

    def assume_role_for_pod_identity(self, **_: Any) -> dict[str, Any]:
        if self.error is not None:
            raise self.error
        return {
            "assumedRoleUser": {"arn": self.arn, "assumeRoleId": "AROA:x"},
            "podIdentityAssociation": {"associationId": "a-0123456789abcdefg"},
            "credentials": {"accessKeyId": "ASIA", "secretAccessKey": "s", "sessionToken": "t"},
        }


def _kinds(steps: list[vm.Step]) -> list[tuple[str, str]]:
    return [(s.kind.value, s.outcome.value) for s in steps]


# ---------------------------------------------------------------------- plans


def test_one_target_is_both_roles_by_eks_auth() -> None:
    [plan] = plans_from_spec(provision.load_spec(EXAMPLES / "pod-identity.yaml"), "v")
    assert plan.pod_identity == (SOURCE, TARGET)
    assert plan.first is None and plan.hops == ()
    assert [e.action for e in plan.aws] == [
        "eks:ListClusters",
        "eks:DescribeCluster",
        "s3:ListAllMyBuckets",
    ]


def test_several_targets_are_hops_from_the_source_session() -> None:
    dev, prod = plans_from_spec(provision.load_spec(EXAMPLES / "pod-identity-multi.yaml"), "v")
    source = "arn:aws:iam::111111111111:role/ci-pod-identity-multi"
    assert dev.pod_identity == prod.pod_identity == (source,)
    assert dev.hops == ("arn:aws:iam::222222222222:role/deployer-dev",)
    assert prod.hops == ("arn:aws:iam::333333333333:role/deployer-prod",)
    assert dev.session_name == "deployer" and prod.session_name == "v"


def test_chained_spec_keeps_web_identity() -> None:
    [plan] = plans_from_spec(provision.load_spec(EXAMPLES / "seed.yaml"), "v")
    assert plan.pod_identity == () and plan.first is not None and len(plan.hops) == 1


# ---------------------------------------------------------------------- the association


def _association(target: str | None = TARGET, role: str = SOURCE) -> dict[str, Any]:
    found = {"associationId": "a-0123456789abcdefg", "roleArn": role}
    return found | ({"targetRoleArn": target} if target else {})


def test_association_as_expected_passes() -> None:
    step, found = vpi.association_step(Eks(_association()), _start(), (SOURCE, TARGET))
    assert step.outcome is vm.Outcome.PASS and found is not None
    assert found.roles == (SOURCE, TARGET)
    assert step.detail == f"association a-0123456789abcdefg: {SOURCE} → {TARGET}"


@pytest.mark.parametrize(
    ("association", "expected", "problem"),
    [
        (_association(None), (SOURCE, TARGET), f"its targetRoleArn is not set, expected {TARGET}"),
        (_association(), (SOURCE,), f"its targetRoleArn is {TARGET}, expected none"),
        (_association(role=TARGET), (SOURCE, TARGET), f"its role is {TARGET}, expected {SOURCE}"),
    ],
)
def test_association_unlike_the_plan_fails(
    association: dict[str, Any], expected: tuple[str, ...], problem: str
) -> None:
    step, _ = vpi.association_step(Eks(association), _start(), expected)
    assert step.outcome is vm.Outcome.FAIL
    assert problem in step.detail


def test_no_association_fails_with_the_command_to_create_it() -> None:
    step, found = vpi.association_step(Eks(None), _start(), (SOURCE, TARGET))
    assert step.outcome is vm.Outcome.FAIL and found is None
    assert (
        "aws eks create-pod-identity-association --cluster-name ci-cluster --namespace ci "
        f"--service-account deployer --role-arn {SOURCE} --target-role-arn {TARGET}"
    ) in step.detail


def test_association_not_readable_is_not_a_verdict() -> None:
    class Denied(Eks):
        def list_pod_identity_associations(self, **_: Any) -> dict[str, Any]:
            raise _error("AccessDeniedException", "User: x is not authorized")

    step, _ = vpi.association_step(Denied(None), _start(), ())
    assert step.outcome is vm.Outcome.SKIP and step.code == "AccessDeniedException"


# ---------------------------------------------------------------------- EKS Auth


def test_target_credentials_pass_both_hops() -> None:
    steps, answer = vpi.eks_auth_steps(EksAuth(TARGET_SESSION), _start(), (SOURCE, TARGET))
    assert _kinds(steps) == [("pod identity", "ok"), ("assume role", "ok")]
    assert answer is not None and steps[1].facts["session_arn"] == TARGET_SESSION


def test_a_session_of_another_role_fails_and_gives_no_credentials() -> None:
    steps, answer = vpi.eks_auth_steps(EksAuth(SOURCE_SESSION), _start(), (SOURCE, TARGET))
    assert _kinds(steps) == [("pod identity", "ok"), ("assume role", "FAIL")]
    assert answer is None and f"expected a session of {TARGET}" in steps[1].detail


def test_source_session_without_target() -> None:
    steps, answer = vpi.eks_auth_steps(EksAuth(SOURCE_SESSION), _start(), (SOURCE,))
    assert _kinds(steps) == [("pod identity", "ok")] and answer is not None


def test_target_refused_is_the_second_hop() -> None:
    message = (
        f"User: {SOURCE_SESSION} is not authorized to perform: sts:TagSession on resource: {TARGET}"
    )
    error = _error("AccessDeniedException", message)
    steps, answer = vpi.eks_auth_steps(EksAuth(error=error), _start(), (SOURCE, TARGET))
    assert answer is None
    assert _kinds(steps) == [("pod identity", "ok"), ("assume role", "FAIL")]
    assert steps[1].code == "AccessDeniedException" and message in steps[1].detail
    assert vpi.HOP_TWO_HINT in steps[1].detail


def test_association_role_refused_is_the_first_hop() -> None:
    error = _error("AccessDeniedException", HOP_ONE)
    steps, _ = vpi.eks_auth_steps(EksAuth(error=error), _start(), (SOURCE, TARGET))
    assert _kinds(steps) == [("pod identity", "FAIL"), ("assume role", "skip")]
    assert HOP_ONE in steps[0].detail and vpi.HOP_ONE_HINT in steps[0].detail


def test_caller_without_eks_auth_permission_is_said_so() -> None:
    message = (
        "User: arn:aws:iam::111111111111:user/me is not authorized to perform: "
        "eks-auth:AssumeRoleForPodIdentity on resource: "
        "arn:aws:eks:us-east-1:111111111111:cluster/ci-cluster"
    )
    steps, _ = vpi.eks_auth_steps(
        EksAuth(error=_error("AccessDeniedException", message)), _start(), (SOURCE,)
    )
    assert _kinds(steps) == [("pod identity", "FAIL")]
    assert "the node role makes this call" in steps[0].detail


@pytest.mark.parametrize(
    "code", ["ResourceNotFoundException", "InvalidTokenException", "ExpiredTokenException"]
)
def test_eks_auth_codes_fail_the_first_hop(code: str) -> None:
    error = _error(code, "refused")
    steps, _ = vpi.eks_auth_steps(EksAuth(error=error), _start(), (SOURCE, TARGET))
    assert _kinds(steps) == [("pod identity", "FAIL"), ("assume role", "skip")]
    assert steps[0].code == code and vpi.CODE_HINTS[code] in steps[0].detail


def test_no_token_reaches_nothing() -> None:
    steps, answer = vpi.eks_auth_steps(EksAuth(TARGET_SESSION), _start(None), (SOURCE, TARGET))
    assert _kinds(steps) == [("pod identity", "skip"), ("assume role", "skip")]
    assert answer is None
