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
from collections.abc import Callable, Mapping
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


Token = tuple[str, str, bool]
"""``(kind, text, free)``: kind ``lit`` (a literal run), ``one`` (``?``) or ``star`` (``*``);
``free`` is false where the wildcard must not cross a colon (ARN fields)."""


def tokenize(pieces: tuple[tuple[str, bool], ...], mode: str) -> list[Token]:
    """Resolved pieces → tokens for ``mode`` (see module doc for the field rules)."""
    if mode in (ACTION, LIKE):
        return _merge(
            [_plain_token(c) if glob else ("lit", c, True) for text, glob in pieces for c in text]
        )
    flat = "".join(text for text, _ in pieces)
    if flat == "*" and all(glob for _, glob in pieces):
        return [("star", "*", True)]
    tokens: list[Token] = []
    field = 0
    last = len(pieces) - 1
    for number, (text, glob) in enumerate(pieces):
        for index, char in enumerate(text):
            if glob:
                tokens.append(_arn_token(char, text, index, field, mode, number == last))
            else:
                tokens.append(("lit", char, True))
            if char == ":":
                field += 1
    return _merge(tokens)


def _plain_token(char: str) -> Token:
    if char == "*":
        return ("star", char, True)
    if char == "?":
        return ("one", char, True)
    return ("lit", char, True)


def _arn_token(char: str, text: str, index: int, field: int, mode: str, last_piece: bool) -> Token:
    in_resource_part = field >= 5
    if char == "*":
        if in_resource_part:
            return ("star", char, True)
        at_end = index + 1 == len(text)
        ends_field = (at_end and last_piece) or (not at_end and text[index + 1] == ":")
        return ("star", char, mode == RESOURCE and ends_field)
    if char == "?":
        return ("one", char, in_resource_part)
    return ("lit", char, True)


def _merge(tokens: list[Token]) -> list[Token]:
    merged: list[Token] = []
    for token in tokens:
        if token[0] == "lit" and merged and merged[-1][0] == "lit":
            merged[-1] = ("lit", merged[-1][1] + token[1], True)
        else:
            merged.append(token)
    return merged


def _token_regex(token: Token) -> str:
    kind, text, free = token
    if kind == "lit":
        return re.escape(text)
    if kind == "one":
        return "." if free else "[^:]"
    return ".*" if free else "[^:]*"


def glob_regex(pieces: tuple[tuple[str, bool], ...], mode: str) -> str | None:
    """Regex source for the pieces that a backtracking engine decides in linear-ish time,
    or ``None`` when only the automaton of :func:`compile_pieces` is safe.

    Several free ``*`` can make a naive regex exponential (``*a*a*a*b``); when every ``*``
    is free the classic greedy glob is exact, and atomic groups make the regex engine do
    just that: each middle segment takes its leftmost occurrence, never revisited.
    """
    return _source(tokenize(pieces, mode))


def _source(tokens: list[Token]) -> str | None:
    stars = [i for i, t in enumerate(tokens) if t[0] == "star"]
    inner_free = [i for i in stars if tokens[i][2] and i != len(tokens) - 1]
    if len(inner_free) <= 1:
        return "".join(_token_regex(t) for t in tokens)
    if not all(tokens[i][2] for i in stars):
        return None
    segments: list[list[Token]] = [[]]
    for token in tokens:
        if token[0] == "star":
            segments.append([])
        else:
            segments[-1].append(token)
    head = "".join(_token_regex(t) for t in segments[0])
    middle = "".join(
        "(?>.*?" + "".join(_token_regex(t) for t in segment) + ")" for segment in segments[1:-1]
    )
    return head + middle + ".*" + "".join(_token_regex(t) for t in segments[-1])


@functools.lru_cache(maxsize=8192)
def compile_regex(source: str, ignore_case: bool) -> re.Pattern[str]:
    """Compile (and cache) a regex; callers use ``fullmatch``."""
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(source, flags)


class Glob:
    """Matches a text against one or more glob patterns: ``fullmatch(text)`` is truthy
    (a match object or ``True``) on a match and ``None`` otherwise, like ``re``'s."""

    __slots__ = ("fullmatch",)
    fullmatch: Callable[[str], object]

    def __init__(
        self,
        regex: re.Pattern[str] | None,
        automata: list[list[Token]],
        ignore_case: bool,
        literals: tuple[str, ...] = (),
    ) -> None:
        rest = _rest_matcher(regex, automata, ignore_case)
        self.fullmatch = _with_literals(literals, ignore_case, rest) if literals else rest


def _rest_matcher(
    regex: re.Pattern[str] | None, automata: list[list[Token]], ignore_case: bool
) -> Callable[[str], object]:
    if not automata:
        return regex.fullmatch if regex is not None else _never_matches

    def fullmatch(text: str) -> object:
        if regex is not None and regex.fullmatch(text):
            return True
        subject = text.lower() if ignore_case else text
        return True if any(_automaton_match(a, subject) for a in automata) else None

    return fullmatch


def _with_literals(
    literals: tuple[str, ...], ignore_case: bool, rest: Callable[[str], object]
) -> Callable[[str], object]:
    """``rest`` preceded by a set lookup of the wildcard-free patterns: most patterns of an
    organization are plain ARNs and action names, and compiling each into a regex was a
    large share of an audit. Exactly what their regex decides: equal text, or for actions
    equal ignoring case — by ``lower()`` when the text is ASCII (``_build`` keeps only
    ASCII patterns here), else by the regex itself (``re``'s case folding matches a few
    non-ASCII letters to ASCII ones, the Kelvin sign to ``k``)."""
    if not ignore_case:
        exact = frozenset(literals)

        def sensitive(text: str) -> object:
            return True if text in exact else rest(text)

        return sensitive
    lowered = frozenset(literal.lower() for literal in literals)
    source = "|".join(f"(?:{re.escape(literal)})" for literal in literals)

    def insensitive(text: str) -> object:
        if text.isascii():
            if text.lower() in lowered:
                return True
        elif compile_regex(source, True).fullmatch(text):
            return True
        return rest(text)

    return insensitive


def _never_matches(text: str) -> None:
    return None


def _automaton_match(tokens: list[Token], text: str) -> bool:
    """Decide a glob in O(len(tokens) × len(text)) by tracking every live position."""
    steps: list[Token] = []
    for kind, chars, free in tokens:
        steps.extend([("lit", c, True) for c in chars] if kind == "lit" else [(kind, chars, free)])
    states = _closure(steps, {0})
    for char in text:
        states = _closure(steps, _advance(steps, states, char))
        if not states:
            return False
    return len(steps) in states


def _advance(steps: list[Token], states: set[int], char: str) -> set[int]:
    following: set[int] = set()
    for i in states:
        if i == len(steps):
            continue
        kind, value, free = steps[i]
        if kind == "lit":
            if value == char:
                following.add(i + 1)
        elif free or char != ":":
            following.add(i if kind == "star" else i + 1)
    return following


def _closure(steps: list[Token], states: set[int]) -> set[int]:
    """Add the positions reachable by letting ``*`` match nothing."""
    pending = list(states)
    while pending:
        i = pending.pop()
        if i < len(steps) and steps[i][0] == "star" and i + 1 not in states:
            states.add(i + 1)
            pending.append(i + 1)
    return states


def _build(token_lists: list[list[Token]], ignore_case: bool) -> Glob:
    sources: list[str] = []
    automata: list[list[Token]] = []
    literals: list[str] = []
    for tokens in token_lists:
        if len(tokens) == 1 and tokens[0][0] == "lit" and tokens[0][1].isascii():
            literals.append(tokens[0][1])  # no wildcard: a set lookup (Glob)
            continue
        source = _source(tokens)
        if source is None:
            automata.append([(k, v.lower(), f) for k, v, f in tokens] if ignore_case else tokens)
        else:
            sources.append(source)
    regex = compile_regex("|".join(f"(?:{s})" for s in sources), ignore_case) if sources else None
    return Glob(regex, automata, ignore_case, tuple(literals))


@functools.lru_cache(maxsize=8192)
def compile_pieces(pieces: tuple[tuple[str, bool], ...], mode: str) -> Glob:
    """A matcher for one resolved pattern (variables substituted), cached."""
    return _build([tokenize(pieces, mode)], mode == ACTION)


@functools.lru_cache(maxsize=65536)
def compile_globs(patterns: tuple[str, ...], mode: str) -> Glob:
    """One matcher for any of ``patterns`` (no variables), for ``mode``; cached, since an
    organization repeats the same action and resource lists in thousands of statements
    (a :class:`Glob` is immutable)."""
    return _build([tokenize(((p, True),), mode) for p in patterns], mode == ACTION)
