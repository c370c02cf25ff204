"""EKS Auth's errors: which cause gets which code, status and message — one table.

The codes and statuses are botocore's model of ``eks-auth`` (reference F.3); which cause
gets which code is not documented ([unconfirmed] throughout), so the choices are here, in
one place, easy to change:

==================================  ===============================  ======  ==========
cause                               code                             status  message
==================================  ===============================  ======  ==========
caller not allowed                  ``AccessDeniedException``        400     IAM's text
``eks-auth:AssumeRoleForPod…``      (the gate, ``wire.access_denied``)
parameters break the model          ``InvalidParameterException``    400     validation
no cluster of that name             ``ResourceNotFoundException``    404     EKS's
token unreadable / other cluster /  ``InvalidTokenException``        400     ours
wrong audience / not pod-bound
token expired                       ``ExpiredTokenException``        400     ours
no association for the SA           ``ResourceNotFoundException``    404     ours
hop 1 denied (role's trust)         ``AccessDeniedException``        400     seen [#139]
hop 2 denied (target)               ``AccessDeniedException``        400     STS's text
==================================  ===============================  ======  ==========

``AccessDeniedException`` is 400 as the model has it (not 403). The hop-1 text is the
one a user saw through the agent ("Unauthorized Exception! EKS does not have permissions
to assume the associated role.", aws/eks-pod-identity-agent#139); the others are ours.
"""

from __future__ import annotations

from kubetrust.sandbox.aws import wire

ACCESS_DENIED = "AccessDeniedException"
INVALID_TOKEN = "InvalidTokenException"
EXPIRED_TOKEN = "ExpiredTokenException"
NOT_FOUND = "ResourceNotFoundException"
INVALID_PARAMETER = "InvalidParameterException"

ACCESS_DENIED_STATUS = 400
"""As botocore's model has it (``AccessDeniedException``: ``httpStatusCode`` 400)."""

MSG_HOP_ONE_DENIED = (
    "Unauthorized Exception! EKS does not have permissions to assume the associated role."
)


def access_denied(message: str) -> wire.AwsError:
    return wire.AwsError(ACCESS_DENIED, message, ACCESS_DENIED_STATUS)


def invalid_token(message: str) -> wire.AwsError:
    return wire.AwsError(INVALID_TOKEN, message, 400)


def expired_token(message: str) -> wire.AwsError:
    return wire.AwsError(EXPIRED_TOKEN, message, 400)


def no_cluster(cluster: str) -> wire.AwsError:
    """EKS's answer for an unknown cluster (its ``DescribeCluster`` wording)."""
    return wire.AwsError(NOT_FOUND, f"No cluster found for name: {cluster}.", 404)


def no_association(cluster: str, namespace: str, service_account: str) -> wire.AwsError:
    return wire.AwsError(
        NOT_FOUND,
        f"No Pod Identity association found for service account {service_account} "
        f"in namespace {namespace} of cluster {cluster}",
        404,
    )
