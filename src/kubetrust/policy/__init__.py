"""The IAM policy engine: parse, validate and evaluate policies as AWS does.

Pure: no I/O, no clock reads, no environment reads. Everything in kubetrust that decides
access — the sandbox's enforcement, explain, audit — calls :func:`authorize`::

    from kubetrust import policy
    ps = policy.PolicySet(identity=[doc], resource=trust_doc)
    d = policy.authorize(policy.Request(principal=..., action="sts:AssumeRole",
                                        resource=role_arn), ps)
    d.outcome   # policy.Outcome.ALLOW / EXPLICIT_DENY / IMPLICIT_DENY
    d.reasons   # which kind, which policy, which statement, which condition

A malformed document raises :class:`PolicyParseError` (IAM's ``MalformedPolicyDocument``);
a malformed request raises :class:`InputError`; a denial is a value, never an exception.
"""

from kubetrust.errors import InputError, PolicyParseError
from kubetrust.policy import sts
from kubetrust.policy.authorizer import PolicySet, Request, authorize, policy_set
from kubetrust.policy.decision import Decision, Outcome, Reason, access_denied_message
from kubetrust.policy.document import PolicyDocument, PolicyKind, Statement
from kubetrust.policy.validate import parse_policy

__all__ = [
    "Decision",
    "InputError",
    "Outcome",
    "PolicyDocument",
    "PolicyKind",
    "PolicyParseError",
    "PolicySet",
    "Reason",
    "Request",
    "Statement",
    "access_denied_message",
    "authorize",
    "parse_policy",
    "policy_set",
    "sts",
]
