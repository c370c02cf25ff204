"""The Pod Identity start of ``kubetrust verify``: the association, then EKS Auth.

What the Pod Identity Agent does for a pod (reference F.3, F.4), run with the current
credentials and shown link by link:

1. **association** — ``ListPodIdentityAssociations`` (every page, botocore's
   paginator)/``DescribePodIdentityAssociation`` for
   the pod's namespace and service account: its ``roleArn`` and ``targetRoleArn``, checked
   against the plan (a read, to explain; EKS Auth below is the authority);
2. **pod identity** — ``eks-auth`` ``AssumeRoleForPodIdentity`` with the pod's token: EKS
   assumes the association role as ``pods.eks.amazonaws.com``;
3. with a ``targetRoleArn``, an **assume role** step for the second hop, which EKS Auth makes
   in the same call from the association role's session: the pod's credentials are then the
   target role's.

One call answers both hops, so a refusal is placed by its words (:func:`refused_hop`): EKS
Auth's own text for hop 1, STS's (naming the target role) for hop 2, IAM's (naming
``eks-auth:AssumeRoleForPodIdentity``) when the caller itself may not call EKS Auth. Each
failure says what to fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from kubetrust import arn, errors
from kubetrust.adapters.verify_pod import PodIdentityStart
from kubetrust.explain.verify_model import Outcome, Step, StepKind, not_reached
from kubetrust.model.vocabulary import POD_IDENTITY_SERVICE

EKS_AUTH_ACTION = "eks-auth:AssumeRoleForPodIdentity"
UNKNOWN_ROLE = "(the association's role)"
CALLER_HINT = (
    f"on EKS the node role makes this call; verify makes it with your credentials, which need "
    f"{EKS_AUTH_ACTION} on the cluster"
)
HOP_ONE_HINT = (
    f"the association role's trust must allow the service principal {POD_IDENTITY_SERVICE} "
    "sts:AssumeRole and sts:TagSession (and its conditions must hold for the session tags)"
)
HOP_TWO_HINT = (
    "the target role's trust must allow the association role sts:AssumeRole and "
    "sts:TagSession, since EKS passes session tags on; and the association role's policies "
    "must allow both actions on the target role"
)
CODE_HINTS = {
    "ResourceNotFoundException": "no such cluster, or no association for the service account",
    "InvalidTokenException": (
        "the token is not a pod-bound token of this cluster for pods.eks.amazonaws.com"
    ),
    "ExpiredTokenException": "the token has expired",
}


def answer_of(error: ClientError) -> tuple[str, str]:
    """AWS's error code and message."""
    detail = error.response.get("Error", {})
    return str(detail.get("Code", "Unknown")), str(detail.get("Message", error))


def same_role(session_arn: str, role_arn: str) -> bool:
    """Whether ``session_arn`` is a session of ``role_arn`` (account and name; B.5)."""
    try:
        session, role = arn.parse(session_arn), arn.parse(role_arn)
    except errors.InvalidArnError:
        return False
    if session.resource_type != "assumed-role" or role.resource_type != "role":
        return False
    return session.account == role.account and session.resource.split("/")[1] == (
        role.resource_name
    )


@dataclass(frozen=True, slots=True)
class FoundAssociation:
    """The service account's association, as ``DescribePodIdentityAssociation`` has it."""

    association_id: str
    role_arn: str
    target_role_arn: str | None = None

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles EKS Auth assumes for it, in order."""
        return (self.role_arn, self.target_role_arn) if self.target_role_arn else (self.role_arn,)


def _create_command(start: PodIdentityStart, expected: Sequence[str]) -> str:
    role = expected[0] if expected else "ROLE_ARN"
    target = f" --target-role-arn {expected[1]}" if len(expected) > 1 else ""
    return (
        f"aws eks create-pod-identity-association --cluster-name {start.cluster} "
        f"--namespace {start.namespace} --service-account {start.service_account} "
        f"--role-arn {role}{target}"
    )


def _mismatch(found: FoundAssociation, expected: Sequence[str]) -> list[str]:
    if not expected:
        return []
    problems = []
    if found.role_arn != expected[0]:
        problems.append(f"its role is {found.role_arn}, expected {expected[0]}")
    wanted = expected[1] if len(expected) > 1 else None
    if found.target_role_arn != wanted:
        problems.append(
            f"its targetRoleArn is {found.target_role_arn or 'not set'}, "
            f"expected {wanted or 'none'}"
        )
    return problems


def association_step(
    eks: Any, start: PodIdentityStart, expected: Sequence[str]
) -> tuple[Step, FoundAssociation | None]:
    """Step 1 (module doc): the association of the start's service account, against the
    roles the plan ``expected`` (none: whatever it is)."""
    where = f"{start.namespace}/{start.service_account} in cluster {start.cluster}"
    target = expected[0] if expected else UNKNOWN_ROLE
    try:
        pages = eks.get_paginator("list_pod_identity_associations").paginate(
            clusterName=start.cluster,
            namespace=start.namespace,
            serviceAccount=start.service_account,
        )
        listed = [item for page in pages for item in page.get("associations", [])]
        if not listed:
            detail = (
                f"no Pod Identity association for service account {where} "
                f"(ListPodIdentityAssociations): EKS Auth refuses its pods; create one: "
                f"{_create_command(start, expected)}"
            )
            return Step(StepKind.ASSOCIATION, where, target, Outcome.FAIL, detail), None
        association = eks.describe_pod_identity_association(
            clusterName=start.cluster, associationId=listed[0]["associationId"]
        )["association"]
    except ClientError as error:
        code, message = answer_of(error)
        if code == "ResourceNotFoundException":
            return Step(StepKind.ASSOCIATION, where, target, Outcome.FAIL, message, code), None
        detail = (
            f"not read ({message}; needs eks:ListPodIdentityAssociations and "
            "eks:DescribePodIdentityAssociation): EKS Auth below decides"
        )
        return Step(StepKind.ASSOCIATION, where, target, Outcome.SKIP, detail, code), None
    except BotoCoreError as error:
        detail = f"EKS unreachable: {error}"
        return Step(StepKind.ASSOCIATION, where, target, Outcome.FAIL, detail), None
    found = FoundAssociation(
        str(association["associationId"]),
        str(association["roleArn"]),
        association.get("targetRoleArn") or None,
    )
    facts = {
        "association_id": found.association_id,
        "association_arn": association.get("associationArn"),
        "role_arn": found.role_arn,
        "target_role_arn": found.target_role_arn,
        "disable_session_tags": association.get("disableSessionTags", False),
    }
    shown = " → ".join(found.roles)
    detail = f"association {found.association_id}: {shown}"
    problems = _mismatch(found, expected)
    if problems:
        detail += ": " + "; ".join(problems)
        step = Step(StepKind.ASSOCIATION, where, found.role_arn, Outcome.FAIL, detail, facts=facts)
        return step, found
    return Step(
        StepKind.ASSOCIATION, where, found.role_arn, Outcome.PASS, detail, facts=facts
    ), found


def refused_hop(code: str, message: str, target: str | None) -> str:
    """Which link an EKS Auth refusal is about: ``caller`` (verify's own credentials),
    ``target`` (hop 2) or ``association`` (hop 1, and every other error)."""
    if code == "AccessDeniedException" and EKS_AUTH_ACTION in message:
        return "caller"
    if code == "AccessDeniedException" and target and f"resource: {target}" in message:
        return "target"
    return "association"


def _refusal(
    start: PodIdentityStart, role: str, target: str | None, code: str, message: str
) -> list[Step]:
    subject = start.subject
    where = refused_hop(code, message, target)
    if where == "target" and target is not None:
        hop_one = Step(
            StepKind.POD_IDENTITY, subject, role, Outcome.PASS,
            "EKS Auth assumed the association role (the refusal of the target names its session)",
        )  # fmt: skip
        detail = f"EKS Auth, second hop: {message} ({HOP_TWO_HINT})"
        return [hop_one, Step(StepKind.ASSUME_ROLE, role, target, Outcome.FAIL, detail, code)]
    hint = {"caller": CALLER_HINT}.get(where) or (
        HOP_ONE_HINT if code == "AccessDeniedException" else CODE_HINTS.get(code, "")
    )
    detail = f"EKS Auth AssumeRoleForPodIdentity: {message}" + (f" ({hint})" if hint else "")
    steps = [Step(StepKind.POD_IDENTITY, subject, role, Outcome.FAIL, detail, code)]
    if target is not None:
        steps.append(not_reached(StepKind.ASSUME_ROLE, role, target))
    return steps


def eks_auth_steps(
    eks_auth: Any, start: PodIdentityStart, roles: Sequence[str]
) -> tuple[list[Step], dict[str, Any] | None]:
    """Steps 2 and 3 (module doc), and EKS Auth's answer when the pod gets credentials of
    the role ``roles`` ends with (``roles`` empty: any)."""
    role = roles[0] if roles else UNKNOWN_ROLE
    target = roles[1] if len(roles) > 1 else None
    if start.token is None:
        steps = [not_reached(StepKind.POD_IDENTITY, start.subject, role)]
        if target is not None:
            steps.append(not_reached(StepKind.ASSUME_ROLE, role, target))
        return steps, None
    try:
        answer: dict[str, Any] = eks_auth.assume_role_for_pod_identity(
            clusterName=start.cluster, token=start.token
        )
    except ClientError as error:
        return _refusal(start, role, target, *answer_of(error)), None
    except BotoCoreError as error:
        return _refusal(start, role, target, "", f"EKS Auth unreachable: {error}"), None
    session = str(answer["assumedRoleUser"]["arn"])
    association = answer.get("podIdentityAssociation") or {}
    facts = {"session_arn": session, "association_id": association.get("associationId")}
    final = target or (role if roles else None)
    wrong = final is not None and not same_role(session, final)
    outcome = Outcome.FAIL if wrong else Outcome.PASS
    detail = f"session {session}" + (f": expected a session of {final}" if wrong else "")
    if target is None:
        step = Step(StepKind.POD_IDENTITY, start.subject, role, outcome, detail, facts=facts)
        return [step], None if wrong else answer
    hop_one = Step(
        StepKind.POD_IDENTITY, start.subject, role, Outcome.PASS,
        "EKS Auth assumed the association role, then its targetRoleArn",
        facts={"association_id": association.get("associationId")},
    )  # fmt: skip
    hop_two = Step(
        StepKind.ASSUME_ROLE, role, target, outcome, f"by EKS Auth: {detail}", facts=facts
    )
    return [hop_one, hop_two], None if wrong else answer
