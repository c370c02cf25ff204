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
       └─ NestingError            input nested too deeply to read (also a ``ValueError``)

Authorization outcomes are *not* errors: ``policy.authorize`` returns a ``Decision`` for a
denial and never raises for it (the Cedar habit, see the style anchors, B4).

Messages follow one style: lowercase start where they are ours, one line, user values in
backticks; where AWS has a message for the same failure (``MalformedPolicyDocument``), the
AWS text leads and our detail follows, so that users can search for either.

Nesting: Python's ``json`` and PyYAML raise ``RecursionError`` — not ``ValueError`` — on
input nested past the interpreter's recursion limit, and input nested just under it decodes
fine and then overflows the first recursive walker that reads it. :func:`decode_json` and
:func:`check_nesting` are the one guard every reader of untrusted input shares: nesting
past :data:`MAX_NESTING` (or a YAML alias inside its own anchor) is a :class:`NestingError`,
which is a ``ValueError``, so each reader's existing "not valid JSON" branch reports it.
"""

from __future__ import annotations

import json
from typing import Any


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


MAX_NESTING = 128
"""The deepest nesting of arrays and objects kubetrust reads from untrusted input. Real
documents stay far below it (Terraform plans with nested modules, CloudFormation
intrinsics, Kubernetes objects: a few dozen levels at most); it leaves the recursive code
that walks decoded values (policy conditions, intrinsics, manifests) a stack several times
deeper than it needs, under Python's default recursion limit of 1000."""

NESTED_TOO_DEEPLY = (
    "nested too deeply (arrays and objects within each other past the decoder's limit)"
)


class NestingError(InputError, ValueError):
    """Input nested deeper than kubetrust reads (:data:`MAX_NESTING`), or a YAML alias that
    contains itself. A ``ValueError`` too: readers that report ``not valid JSON: ...`` for a
    ``ValueError`` report this the same way, with no branch of their own."""


def decode_json(text: str | bytes, **hooks: Any) -> Any:
    """``json.loads(text, **hooks)`` for untrusted input: malformed JSON raises
    ``ValueError`` as ever, and so does nesting, past the decoder's limit or past
    :data:`MAX_NESTING` (:class:`NestingError`) — never ``RecursionError``."""
    try:
        value = json.loads(text, **hooks)
    except RecursionError:
        raise NestingError(NESTED_TOO_DEEPLY) from None
    check_nesting(value)
    return value


def check_nesting(value: object, limit: int = MAX_NESTING) -> None:
    """Raise :class:`NestingError` if ``value`` nests lists and dicts deeper than ``limit``
    or contains itself (YAML's ``&a [*a]``). Iterative, so it cannot overflow itself; a
    container shared by YAML aliases is walked again only when reached deeper than before
    (at most ``limit`` times), never once per path to it, which could be exponential."""
    depths: dict[int, int] = {}  # the deepest level each container was walked at, by id
    stack: list[tuple[object, int, tuple[int, ...]]] = [(value, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        if not isinstance(node, dict | list):
            continue
        key = id(node)
        if key in path:
            raise NestingError("a value contains itself (a YAML alias inside its own anchor)")
        if depth > limit:
            raise NestingError(
                f"nested too deeply (arrays and objects more than {limit} levels within each other)"
            )
        if depths.get(key, 0) >= depth:
            continue
        depths[key] = depth
        children = node.values() if isinstance(node, dict) else node
        inner = (*path, key)
        stack.extend(
            (child, depth + 1, inner) for child in children if isinstance(child, dict | list)
        )
