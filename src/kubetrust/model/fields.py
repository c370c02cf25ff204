"""Field types the input files share, and how a field that fails validation reads.

A user writes two files kubetrust reads: the spec (``kubetrust.yaml``,
:mod:`kubetrust.provision.spec`) and the sandbox's world file
(:mod:`kubetrust.sandbox.world`). Where both name the same AWS things — account ids,
regions, role and cluster names, session durations, policy documents — the rule and its
message are defined once, here, as pydantic types; each file's models use them.

Names follow the AWS APIs' own rules (botocore's IAM/STS/EKS models, reference A.9, B.1,
E.2): an account id is 12 digits, a role name 1-64 ASCII characters of ``[\\w+=,.@-]`` (as
the policy validator reads a role ARN), a cluster name ``[0-9A-Za-z][A-Za-z0-9-_]*`` up to
100, a role's maximum session 3600 to 43200 seconds. A policy document is valid when
:func:`kubetrust.policy.parse_policy` accepts it as its kind (IAM's
``MalformedPolicyDocument`` otherwise).

:func:`describe` turns one pydantic error into a place (its path in the document) and a
message a user can act on; the file's reader adds the file name (and, for the spec, the
line and column).
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, NamedTuple

from pydantic import AfterValidator, BaseModel, BeforeValidator
from pydantic_core import ErrorDetails

from kubetrust import arn, errors
from kubetrust.model.vocabulary import ROLE_MAX_SESSION
from kubetrust.policy import PolicyKind, parse_policy

Loc = tuple[str | int, ...]


def matching(pattern: str, message: str, flags: int = 0) -> Callable[[str], str]:
    """A validator: ``value`` unchanged when ``pattern`` matches all of it, else a
    ``ValueError`` whose message is ``message`` with ``{value}`` shown."""
    compiled = re.compile(pattern, flags)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(message.format(value=errors.shown(value)))
        return value

    return check


def _number_is_no_account(value: object) -> object:
    """YAML reads ``id: 111111111111`` as a number, and one with a leading zero loses it:
    say so, rather than "must be a string"."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(
            f"{errors.shown(value)} is a number: an AWS account id must be 12 digits, "
            "quoted in YAML"
        )
    return value


AccountId = Annotated[
    str,
    BeforeValidator(_number_is_no_account),
    AfterValidator(
        matching(arn.ACCOUNT_ID.pattern, "{value} is not an AWS account id (12 digits)")
    ),
]
Region = Annotated[
    str,
    AfterValidator(
        matching(r"[a-z]{2}(-[a-z]+)+-[0-9]+", "{value} is not an AWS region (like `us-east-1`)")
    ),
]
RoleName = Annotated[
    str,
    AfterValidator(
        matching(
            r"[\w+=,.@-]{1,64}",
            "{value} is not a valid IAM role name (1-64 characters: letters, digits and +=,.@_-)",
            re.ASCII,
        )
    ),
]
ClusterName = Annotated[
    str,
    AfterValidator(
        matching(
            r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}",
            "{value} is not a valid EKS cluster name (1-100 characters: letters, digits, "
            "- and _, starting with a letter or digit)",
        )
    ),
]


def _duration(value: int) -> int:
    if value not in ROLE_MAX_SESSION:
        raise ValueError(
            f"{value} is not a valid max session duration "
            f"({ROLE_MAX_SESSION.minimum} to {ROLE_MAX_SESSION.maximum} seconds)"
        )
    return value


SessionDuration = Annotated[int, AfterValidator(_duration)]


def _policy_of(kind: PolicyKind) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def check(document: dict[str, Any]) -> dict[str, Any]:
        try:
            parse_policy(document, kind)
        except errors.PolicyParseError as exc:
            raise ValueError(str(exc)) from None
        return document

    return check


TrustPolicy = Annotated[dict[str, Any], AfterValidator(_policy_of(PolicyKind.TRUST))]
IdentityPolicy = Annotated[dict[str, Any], AfterValidator(_policy_of(PolicyKind.IDENTITY))]
ServiceControlPolicy = Annotated[dict[str, Any], AfterValidator(_policy_of(PolicyKind.SCP))]
ResourceControlPolicy = Annotated[dict[str, Any], AfterValidator(_policy_of(PolicyKind.RCP))]


class Failure(NamedTuple):
    """One field that failed: where (``loc``, and whether a file position should point at
    its key rather than its value) and why."""

    loc: Loc
    message: str
    at_key: bool = False
    named_at: Loc | None = None
    """Where a one-line message names it when not at ``loc``: an unknown key is named by
    its message, at the mapping that holds it."""

    def line(self, where: str) -> str:
        """``world.yaml: accounts[1].id: message``."""
        return located(where, self.loc if self.named_at is None else self.named_at, self.message)


def place(loc: Loc) -> str:
    """``("accounts", 1, "id")`` → ``accounts[1].id``."""
    text = ""
    for element in loc:
        text += f"[{element}]" if isinstance(element, int) else f".{element}"
    return text.lstrip(".")


def located(where: str, loc: Loc, message: str) -> str:
    """``message`` about ``loc`` in the file ``where``, on one line."""
    return f"{where}: {place(loc)}: {message}" if loc else f"{where}: {message}"


_EXPECTED = {
    "string_type": "a string",
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def describe(detail: ErrorDetails, model: type[BaseModel]) -> Failure:
    """What one of ``model``'s validation errors says to a user: a missing or unknown key
    at the mapping that lacks or holds it (an unknown one with a "did you mean"), a value's
    own message, or the type that was expected and what was found."""
    loc: Loc = tuple(detail["loc"])
    if loc and loc[-1] == "[key]":  # a mapping's key, not its value, failed
        failure = describe({**detail, "loc": loc[:-1]}, model)
        return failure._replace(message=f"a key {failure.message}", at_key=True, named_at=loc[:-2])
    kind = detail["type"]
    value = detail.get("input")
    ctx = detail.get("ctx") or {}
    if kind == "missing":
        return Failure(loc[:-1], f"missing required key `{loc[-1]}`", at_key=True)
    if kind == "extra_forbidden":
        return Failure(loc, _unknown_key(loc, model), at_key=True, named_at=loc[:-1])
    if kind == "value_error":
        return Failure(loc, str(ctx.get("error", detail["msg"])))
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "`")
        return Failure(loc, f"must be {expected}, not {_shown(value)}")
    if kind in _EXPECTED:
        message = f"must be {_EXPECTED[kind]}, not {_shown(value)}"
        if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
            message += " (quote it in YAML)"
        return Failure(loc, message)
    message = str(detail["msg"])
    return Failure(loc, message[:1].lower() + message[1:])


def _shown(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return errors.shown(value)


def _unknown_key(loc: Loc, model: type[BaseModel]) -> str:
    key = str(loc[-1])
    allowed = allowed_keys(model, loc[:-1])
    message = f"unknown key `{key}`"
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if not close:
        lowered = {name.lower(): name for name in allowed}
        close = [lowered[key.lower()]] if key.lower() in lowered else []
    if close:
        return message + f" (did you mean `{close[0]}`?)"
    if allowed:
        return message + " (expected one of " + ", ".join(f"`{k}`" for k in allowed) + ")"
    return message


def allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the model at ``loc`` under ``model`` accepts, found by walking the models'
    annotations (by alias where a model has them)."""
    annotation: Any = model
    for element in loc:
        annotation = _unwrap(annotation)
        if isinstance(element, int):
            args = typing.get_args(annotation)
            annotation = args[0] if args else Any
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found = [
                info.annotation
                for name, info in annotation.model_fields.items()
                if (info.alias or name) == element
            ]
            annotation = found[0] if found else Any
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [info.alias or name for name, info in annotation.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """``Optional[X]`` → ``X``; ``Annotated[X, ...]`` → ``X``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            annotation = members[0] if len(members) == 1 else Any
        else:
            return annotation
