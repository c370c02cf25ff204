"""EKS writes that name a role IAM has just created or changed (reference H.1, F.5, E.2).

EKS checks the role against IAM, which is eventually consistent: for seconds after apply
made the role, EKS answers as if it did not exist. Exactly those answers are retried, by
code *and* text, as terraform-provider-aws retries them (its ``aws_eks_access_entry`` and
``aws_eks_pod_identity_association`` resources, for two minutes):

- ``CreatePodIdentityAssociation``/``UpdatePodIdentityAssociation``:
  ``InvalidParameterException`` "Role provided in the request does not exist";
- ``CreateAccessEntry``: ``InvalidParameterException`` "The specified principalArn is
  invalid: invalid principal".

While it waits, apply says so ("waiting for IAM to propagate role … to EKS"); a role that
is still refused after :attr:`~kubetrust.provision.context.Context.propagation_seconds` is
reported with the wait (:class:`~kubetrust.provision.eventual.StillRefused`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kubetrust import errors
from kubetrust.provision import eventual
from kubetrust.provision.changes import Change
from kubetrust.provision.context import Context


@dataclass(frozen=True, slots=True)
class AwsAnswer:
    """An AWS error as its code and a text its message contains."""

    code: str
    text: str

    def matches(self, error: errors.KubetrustError) -> bool:
        return getattr(error, "code", None) == self.code and self.text in str(error)


ROLE_NOT_VISIBLE = AwsAnswer(
    "InvalidParameterException", "Role provided in the request does not exist"
)
PRINCIPAL_NOT_VISIBLE = AwsAnswer(
    "InvalidParameterException", "The specified principalArn is invalid: invalid principal"
)


def propagated_write(
    change: Change,
    context: Context,
    role_arn: str,
    answer: AwsAnswer,
    write: Callable[[], None],
) -> None:
    """Run ``write``; while EKS gives ``answer`` for ``role_arn``, wait (module doc)."""

    def told(waited: float) -> None:
        context.progress(
            f"[{change.unit}] waiting for IAM to propagate role {role_arn} to EKS (AWS is "
            f"eventually consistent) ... {waited:.0f} s"
        )

    eventual.retry_write(
        write,
        answer.matches,
        context.budget(),
        told,
        why=f"EKS does not see role {role_arn} yet; IAM changes take seconds to propagate",
    )
