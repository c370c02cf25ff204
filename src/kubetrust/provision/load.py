"""Read a ``kubetrust.yaml``, validate it whole, and report every problem with its position.

Three passes, all problems of a pass reported together (a user fixes a file in one go, not
one error per run): YAML (syntax, duplicate keys), fields (:mod:`.spec`'s models: types,
patterns, unknown keys with a "did you mean"), and rules that span fields (:mod:`.rules`).
Any problem raises :class:`~kubetrust.provision.source.SpecError`, whose lines read
``kubetrust.yaml:14:9: `ci role` is not a valid IAM role name (...)``.
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path as FilePath
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from kubetrust import errors
from kubetrust.provision import rules
from kubetrust.provision.source import Path, Problem, Source, SpecError, compose
from kubetrust.provision.spec import Spec


def load_spec(path: str | FilePath) -> Spec:
    """Read and validate the spec file at ``path``."""
    file = str(path)
    try:
        text = FilePath(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError([Problem(file, 1, 1, f"cannot read the spec: {error}")]) from None
    return parse_spec(text, file)


def parse_spec(text: str, file: str = "kubetrust.yaml") -> Spec:
    """Validate spec ``text``; ``file`` only names it in messages."""
    source = compose(text, file)
    if not isinstance(source.data, dict):
        raise SpecError([source.problem((), "a spec must be a mapping (apiVersion, kind, ...)")])
    try:
        spec = Spec.model_validate(source.data)
    except ValidationError as error:
        raise SpecError([_problem(detail, source) for detail in error.errors()]) from None
    problems = [source.problem(p.path, p.message, at_key=p.at_key) for p in rules.check(spec)]
    if problems:
        raise SpecError(problems)
    spec._origin = source
    return spec


def _problem(detail: ErrorDetails, source: Source) -> Problem:
    loc: Path = tuple(detail["loc"])
    kind = detail["type"]
    value = detail.get("input")
    ctx = detail.get("ctx") or {}
    if kind == "missing":
        return source.problem(loc[:-1], f"missing required key `{loc[-1]}`", at_key=True)
    if kind == "extra_forbidden":
        return source.problem(loc, _unknown_key(loc), at_key=True)
    if kind == "value_error":
        return source.problem(loc, str(ctx.get("error", detail["msg"])))
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "`")
        return source.problem(loc, f"must be {expected}, not {_shown(value)}")
    expectations = {
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
    if kind in expectations:
        return source.problem(loc, f"must be {expectations[kind]}, not {_shown(value)}")
    message = str(detail["msg"])
    return source.problem(loc, message[:1].lower() + message[1:])


def _shown(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return errors.shown(value)


def _unknown_key(loc: Path) -> str:
    key = str(loc[-1])
    allowed = _allowed_keys(loc[:-1])
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


def _allowed_keys(loc: Path) -> list[str]:
    """The keys the model at ``loc`` accepts, found by walking the models' annotations."""
    annotation: Any = Spec
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
