"""Wildcards and policy variables, compiled once into regular expressions.

Four matching modes, because AWS applies different rules in different places (A.5):

- **action**: ``service:Name`` patterns, ``*`` any run and ``?`` one character, compared
  case-insensitively (``iam:ListAccessKeys`` equals ``IAM:listaccesskeys``);
- **resource**: ARN patterns in ``Resource``/``NotResource``, case-sensitive. In the first five
  fields ``*`` and ``?`` stay inside their field, except that a ``*`` that ends a field may
  run across colons (the current IAM doc says so); in the resource part (after the fifth
  colon) ``*`` matches anything, colons included. ``"*"`` alone matches every resource;
- **like**: ``StringLike``, a whole-string glob, case-sensitive, ``*`` spans everything;
- **arn**: ``ArnLike``/``ArnEquals``, compared field by field, so ``*`` never crosses a colon
  in the first five fields (the documented ``StringLike`` vs ``ArnLike`` example).

Glob text is escaped before ``*`` and ``?`` are expanded (moto's unescaped ``replace("*",
".*")`` is the counter-example in the style anchors). Compiled patterns are cached.

Policy variables (A.6) are parsed into a :class:`Template`: literal text, ``${key}``,
``${key, 'default'}``, and the escapes ``${*}``, ``${?}``, ``${$}`` which stand for those
characters *literally*. Substituted values are literal too: a ``*`` inside a tag value does
not become a wildcard. An unresolved variable (no such key, no default, or a multivalued
key) makes the whole pattern unresolvable; callers treat that as "matches nothing".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

ACTION = "action"
RESOURCE = "resource"
LIKE = "like"
ARN = "arn"

Context = Mapping[str, tuple[str, ...]]
"""Request context as the engine sees it: lower-cased key → tuple of string values."""

_LITERAL_ESCAPES = {"*": "*", "?": "?", "$": "$"}
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"\A\s*([^,\s][^,]*?)\s*,\s*'([^']*)'\s*\Z")


@dataclass(frozen=True, slots=True)
class Variable:
    """``${key}`` or ``${key, 'default'}``; ``key`` is lower-cased (keys are case-insensitive)."""

    key: str
    default: str | None


@dataclass(frozen=True, slots=True)
class Escaped:
    """``${*}``, ``${?}`` or ``${$}``: one literal character."""

    char: str


Part = str | Variable | Escaped


@dataclass(frozen=True, slots=True)
class Template:
    """A pattern or value with its policy variables located."""

    parts: tuple[Part, ...]

    @property
    def has_variables(self) -> bool:
        return any(not isinstance(part, str) for part in self.parts)

    def resolve(self, context: Context) -> tuple[tuple[str, bool], ...] | None:
        """The pieces of the pattern as ``(text, is_glob)``; ``None`` if a variable has no
        single value and no default. Literal parts are glob text; substitutions are not."""
        pieces: list[tuple[str, bool]] = []
        for part in self.parts:
            if isinstance(part, str):
                pieces.append((part, True))
            elif isinstance(part, Escaped):
                pieces.append((part.char, False))
            else:
                value = lookup_single(context, part.key)
                if value is None:
                    if part.default is None:
                        return None
                    value = part.default
                pieces.append((value, False))
        return tuple(pieces)


def lookup_single(context: Context, key: str) -> str | None:
    """The one value of ``key``; ``None`` if absent or multivalued (A.6: only single-valued
    keys may be variables)."""
    values = context.get(key)
    if values is None or len(values) != 1:
        return None
    return values[0]


@functools.lru_cache(maxsize=4096)
def parse_template(text: str, variables_enabled: bool) -> Template:
    """Locate ``${...}`` in ``text``. With ``variables_enabled`` false (policy Version
    absent or 2008-10-17) the text is one literal part, as AWS treats it."""
    if not variables_enabled or "${" not in text:
        return Template((text,))
    parts: list[Part] = []
    position = 0
    for found in _VARIABLE.finditer(text):
        if found.start() > position:
            parts.append(text[position : found.start()])
        parts.append(_variable(found.group(1)))
        position = found.end()
    if position < len(text):
        parts.append(text[position:])
    return Template(tuple(parts))


def parse_resource_template(text: str, variables_enabled: bool) -> Template:
    """Like :func:`parse_template`, but only the resource part of an ARN (after the fifth
    colon) may hold variables (A.5, A.6); ``${`` in the first five fields is literal."""
    parts = text.split(":", 5)
    if len(parts) < 6:
        return parse_template(text, variables_enabled)
    prefix = ":".join(parts[:5]) + ":"
    rest = parse_template(parts[5], variables_enabled)
    return Template((prefix, *rest.parts))


def _variable(body: str) -> Part:
    if body in _LITERAL_ESCAPES:
        return Escaped(_LITERAL_ESCAPES[body])
    with_default = _DEFAULT.match(body)
    if with_default:
        return Variable(with_default.group(1).lower(), with_default.group(2))
    return Variable(body.strip().lower(), None)


def glob_regex(pieces: tuple[tuple[str, bool], ...], mode: str) -> str:
    """Translate resolved pieces into regex source for ``mode`` (see module doc)."""
    if mode in (ACTION, LIKE):
        return "".join(_plain_glob(text) if glob else re.escape(text) for text, glob in pieces)
    return _arn_glob(pieces, spill_trailing_star=mode == RESOURCE)


def _plain_glob(text: str) -> str:
    return re.escape(text).replace(r"\*", ".*").replace(r"\?", ".")


def _arn_glob(pieces: tuple[tuple[str, bool], ...], *, spill_trailing_star: bool) -> str:
    """Field-aware translation: ``*``/``?`` in the first five fields stay within the field."""
    flat = "".join(text for text, _ in pieces)
    if flat == "*" and all(glob for _, glob in pieces):
        return ".*"
    out: list[str] = []
    field = 0
    last = len(pieces) - 1
    for number, (text, glob) in enumerate(pieces):
        if not glob:
            out.append(re.escape(text))
            field += text.count(":")
            continue
        for index, char in enumerate(text):
            out.append(_arn_char(char, text, index, field, spill_trailing_star, number == last))
            if char == ":":
                field += 1
    return "".join(out)


def _arn_char(char: str, text: str, index: int, field: int, spill: bool, last_piece: bool) -> str:
    in_resource_part = field >= 5
    if char == "*":
        if in_resource_part:
            return ".*"
        at_end = index + 1 == len(text)
        ends_field = (at_end and last_piece) or (not at_end and text[index + 1] == ":")
        return ".*" if spill and ends_field else "[^:]*"
    if char == "?":
        return "." if in_resource_part else "[^:]"
    return re.escape(char)


@functools.lru_cache(maxsize=8192)
def compile_regex(source: str, ignore_case: bool) -> re.Pattern[str]:
    """Compile (and cache) a regex; callers use ``fullmatch``."""
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(source, flags)


def compile_globs(patterns: tuple[str, ...], mode: str) -> re.Pattern[str]:
    """One regex that matches any of ``patterns`` (no variables), for ``mode``."""
    sources = [glob_regex(((pattern, True),), mode) for pattern in patterns]
    return compile_regex("|".join(f"(?:{source})" for source in sources), mode == ACTION)
