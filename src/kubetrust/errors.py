"""The one exception tree of kubetrust.

Every error kubetrust raises on purpose derives from :class:`KubetrustError`, so a caller
can catch "anything kubetrust refused" in one place and never sees a bare ``ValueError``
or ``KeyError`` escape from bad input::

    KubetrustError
    ├─ PolicyError
    │  └─ PolicyParseError        a malformed policy document (IAM's MalformedPolicyDocument)
    ├─ ModelError
    │  └─ InvalidArnError         a string that is not an ARN of the expected shape
    └─ InputError                 a malformed request or batch case (bad types, missing fields)

Authorization outcomes are *not* errors: ``policy.authorize`` returns a ``Decision`` for a
denial and never raises for it (the Cedar habit, see the style anchors, B4).

Messages follow one style: lowercase start where they are ours, one line, user values in
backticks; where AWS has a message for the same failure (``MalformedPolicyDocument``), the
AWS text leads and our detail follows, so that users can search for either.
"""

from __future__ import annotations

import json


class KubetrustError(Exception):
    """Root of every error kubetrust raises deliberately."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class PolicyError(KubetrustError):
    """A problem with a policy document."""


class PolicyParseError(PolicyError):
    """A policy document that IAM would reject as ``MalformedPolicyDocument``.

    ``aws_message`` is the message IAM gives for this class of mistake (for example
    ``Missing required field Effect``); ``path`` says where in the document the problem is
    (for example ``Statement[1].Condition.StringEquals``); ``reason`` is our precise detail.
    """

    code = "MalformedPolicyDocument"

    def __init__(self, aws_message: str, *, path: str = "", reason: str = "") -> None:
        self.aws_message = aws_message
        self.path = path
        self.reason = reason
        detail = "; ".join(part for part in (f"at {path}" if path else "", reason) if part)
        super().__init__(f"{aws_message} ({detail})" if detail else aws_message)

    def within(self, prefix: str) -> PolicyParseError:
        """The same error, located inside a larger input (``identity[2]`` + its path)."""
        path = f"{prefix}.{self.path}" if self.path else prefix
        return PolicyParseError(self.aws_message, path=path, reason=self.reason)


class ModelError(KubetrustError):
    """A problem with an entity of the modelled world (accounts, roles, clusters)."""


class InvalidArnError(ModelError):
    """A string that is not a well-formed ARN, or not one of the expected kind."""

    def __init__(self, arn: str, reason: str) -> None:
        self.arn = arn
        self.reason = reason
        shown = arn if len(arn) <= 200 else arn[:200] + "..."
        super().__init__(f"invalid ARN `{shown}`: {reason}")


class InputError(KubetrustError):
    """Malformed input that is not a policy document: a request, a batch case, a file."""


def shown(value: object) -> str:
    """A short, safe rendering of any input value for an error message: strings in
    backticks, other values as JSON, and values that cannot even be printed (integers past
    Python's 4300-digit guard, absurd nesting) by their type name. Never raises."""
    if isinstance(value, str):
        return f"`{value}`" if len(value) <= 80 else f"`{value[:80]}...`"
    try:
        text = json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= 60 else text[:60] + "..."
