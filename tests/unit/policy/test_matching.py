"""Unit and property tests of :mod:`kubetrust.policy.matching`.

The engine compiles globs into regular expressions; the property tests check it against an
independent reference matcher (a plain dynamic-programming glob) written here.
"""

from __future__ import annotations

import functools
import time

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kubetrust.policy import matching
from kubetrust.policy.matching import ACTION, ARN, LIKE, RESOURCE, Escaped, Template, Variable


def match(pattern: str, text: str, mode: str) -> bool:
    """The engine's verdict for one glob pattern (no policy variables)."""
    return matching.compile_globs((pattern,), mode).fullmatch(text) is not None


def match_template(
    pattern: str, text: str, mode: str, context: dict[str, tuple[str, ...]] | None = None
) -> bool | None:
    """The engine's verdict for a pattern with policy variables; ``None`` if unresolved."""
    pieces = matching.parse_template(pattern, True).resolve(context or {})
    if pieces is None:
        return None
    return matching.compile_pieces(pieces, mode).fullmatch(text) is not None


# ------------------------------------------------------------------ reference matcher


def reference_glob(pattern: str, text: str, *, fold_case: bool = False) -> bool:
    """Whole-string glob: ``*`` any run (newlines included), ``?`` exactly one character,
    everything else literal. Dynamic programming over (pattern index, text index)."""
    if fold_case:
        pattern, text = pattern.lower(), text.lower()

    @functools.cache
    def go(p: int, t: int) -> bool:
        if p == len(pattern):
            return t == len(text)
        char = pattern[p]
        if char == "*":
            return go(p + 1, t) or (t < len(text) and go(p, t + 1))
        if t == len(text):
            return False
        if char == "?" or char == text[t]:
            return go(p + 1, t + 1)
        return False

    return go(0, 0)


def reference_arn_glob(pattern: str, text: str, *, spill: bool) -> bool:
    """Field-aware glob, from the rules as the module doc states them: ``"*"`` alone
    matches everything; before the pattern's fifth colon ``?`` is one non-colon character
    and ``*`` a run of non-colon characters — except, when ``spill``, a ``*`` that ends its
    field (next is ``:`` or the end); after it, ``*`` and ``?`` match anything."""
    if pattern == "*":
        return True
    tokens: list[tuple[str, str]] = []  # (kind, char): kind in lit, one, one-any, run, run-any
    field = 0
    for index, char in enumerate(pattern):
        in_resource = field >= 5
        if char == "*":
            ends = index + 1 == len(pattern) or pattern[index + 1] == ":"
            tokens.append(("run-any" if in_resource or (spill and ends) else "run", ""))
        elif char == "?":
            tokens.append(("one-any" if in_resource else "one", ""))
        else:
            tokens.append(("lit", char))
            if char == ":":
                field += 1

    @functools.cache
    def go(p: int, t: int) -> bool:
        if p == len(tokens):
            return t == len(text)
        kind, char = tokens[p]
        if kind.startswith("run"):
            if go(p + 1, t):
                return True
            return t < len(text) and (kind == "run-any" or text[t] != ":") and go(p, t + 1)
        if t == len(text):
            return False
        if kind == "lit":
            return char == text[t] and go(p + 1, t + 1)
        return (kind == "one-any" or text[t] != ":") and go(p + 1, t + 1)

    return go(0, 0)


def test_reference_matcher_sanity() -> None:
    assert reference_arn_glob("arn:aws:ec2:*:1:x", "arn:aws:ec2:a:b:1:x", spill=True)
    assert not reference_arn_glob("arn:aws:ec2:*:1:x", "arn:aws:ec2:a:b:1:x", spill=False)
    assert not reference_arn_glob("arn:aws:ec2:a*b:1:x", "arn:aws:ec2:a:b:1:x", spill=True)
    assert reference_arn_glob("a:b:c:d:e:*", "a:b:c:d:e:f:g", spill=False)
    assert reference_arn_glob("a:b:c:d:e:?", "a:b:c:d:e::", spill=False)
    assert not reference_arn_glob("?", ":", spill=True)
    # the reference itself must be right before it judges the engine
    assert reference_glob("a*c", "abbbc")
    assert reference_glob("a*c", "ac")
    assert not reference_glob("a*c", "ab")
    assert reference_glob("a?c", "abc")
    assert not reference_glob("a?c", "ac")
    assert reference_glob("*", "")
    assert reference_glob("**", "x\ny")
    assert not reference_glob("", "x")
    assert reference_glob("A*", "abc", fold_case=True)
    assert not reference_glob("A*", "abc")


# ---------------------------------------------------------------------- escaping

METACHARACTERS = [".", "+", "(", ")", "[", "]", "{", "}", "\\", "^", "$", "|", "#", " ", "-"]


@pytest.mark.parametrize("mode", [ACTION, RESOURCE, LIKE, ARN])
@pytest.mark.parametrize("meta", METACHARACTERS)
def test_regex_metacharacters_are_literal(mode: str, meta: str) -> None:
    base = "arn:aws:s3:::bucket/a" if mode in (RESOURCE, ARN) else "svc:a"
    pattern = base + meta + "b"
    assert match(pattern, pattern, mode)
    # a regex reading of the metacharacter would accept these
    for other in (base + "Xb", base + "b", base + meta + meta + "b", base + "\\" + meta + "b"):
        if other != pattern:
            assert not match(pattern, other, mode), (pattern, other)


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("a.c", "abc", False),
        ("a.c", "a.c", True),
        ("a+", "aa", False),
        ("a+", "a+", True),
        ("(a|b)", "a", False),
        ("(a|b)", "(a|b)", True),
        ("[ab]", "a", False),
        ("[ab]", "[ab]", True),
        ("^a$", "a", False),
        ("^a$", "^a$", True),
        ("a\\*", "a\\", True),  # the backslash is literal, the star is still a wildcard
        ("a\\*", "a\\xyz", True),
        ("a\\*", "axyz", False),
        ("a\\?", "a\\x", True),
        ("a\\?", "a?", False),
        ("\\d", "1", False),
        ("\\d", "\\d", True),
        ("a{2}", "aa", False),
        ("a{2}", "a{2}", True),
        ("(?i)a", "A", False),
        ("(?i)a", "(?i)a", True),
    ],
)
def test_like_escaping_examples(pattern: str, text: str, expected: bool) -> None:
    assert match(pattern, text, LIKE) is expected


# --------------------------------------------------------------------- action mode


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("iam:ListAccessKeys", "iam:ListAccessKeys", True),
        ("iam:ListAccessKeys", "IAM:listaccesskeys", True),
        ("IAM:LISTACCESSKEYS", "iam:listaccesskeys", True),
        ("iam:List*", "iam:listusers", True),
        ("iam:List*", "iam:List", True),
        ("iam:List*", "iam:GetUser", False),
        ("iam:*", "iam:anything", True),
        ("iam:*", "sts:AssumeRole", False),
        ("*", "s3:GetObject", True),
        ("s3:Get?bject", "s3:GetObject", True),
        ("s3:Get?bject", "s3:Getbject", False),
        ("s3:Get?bject", "s3:GetOObject", False),
        ("sts:AssumeRole*", "sts:AssumeRoleWithWebIdentity", True),
        ("sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", False),
        ("*:Get*", "s3:GetObject", True),
        ("s3:*Object", "s3:Object", True),
        ("ec2:Describe*", "ec2:describe", True),
    ],
)
def test_action_mode(pattern: str, text: str, expected: bool) -> None:
    assert match(pattern, text, ACTION) is expected


# ------------------------------------------------------------------- resource mode


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        # "*" alone matches every resource, even non-ARNs
        ("*", "arn:aws:s3:::b/k", True),
        ("*", "anything at all", True),
        # case-sensitive
        ("arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/k", False),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/k", True),
        # in the resource part * spans everything, colons and slashes included
        ("arn:aws:s3:::*", "arn:aws:s3:::a:b/c:d", True),
        (
            "arn:aws:logs:us-east-1:111122223333:log-group:*",
            "arn:aws:logs:us-east-1:111122223333:log-group:g:log-stream:s",
            True,
        ),
        # ? in the resource part matches a colon too
        ("arn:aws:s3:::a?b", "arn:aws:s3:::a:b", True),
        ("arn:aws:s3:::a?b", "arn:aws:s3:::ab", False),
        # a * that does not end a field stays within it
        (
            "arn:aws:ec2:us-*-1:111122223333:instance/i",
            "arn:aws:ec2:us-east-1:111122223333:instance/i",
            True,
        ),
        (
            "arn:aws:ec2:us-*-1:111122223333:instance/i",
            "arn:aws:ec2:us-x:y-1:111122223333:instance/i",
            False,
        ),
        (
            "arn:aws:iam::1111*3333:role/r",
            "arn:aws:iam::1111:2222:3333:role/r",
            False,
        ),
        # a * that ends a field may run across colons (the IAM doc's rule)
        (
            "arn:aws:ec2:*:111122223333:instance/i",
            "arn:aws:ec2:us-east-1:111122223333:instance/i",
            True,
        ),
        (
            "arn:aws:ec2:*:111122223333:instance/i",
            "arn:aws:ec2::111122223333:instance/i",
            True,
        ),
        (
            "arn:aws:ec2:*:111122223333:instance/i",
            "arn:aws:ec2:a:b:111122223333:instance/i",
            True,
        ),
        ("arn:aws:iam::*", "arn:aws:iam::111122223333:role/x", True),
        # ? never crosses a colon in the first five fields
        (
            "arn:aws:ec2:us-east-?:111122223333:x",
            "arn:aws:ec2:us-east-1:111122223333:x",
            True,
        ),
        (
            "arn:aws:ec2:us-east?1:111122223333:x",
            "arn:aws:ec2:us-east:1:111122223333:x",
            False,
        ),
        ("arn:aws:iam::11112222333?:root", "arn:aws:iam::111122223333:root", True),
        ("arn:aws:iam::11112222333?:root", "arn:aws:iam::11112222333::root", False),
        # partitions and services are plain text
        ("arn:aws:s3:::b", "arn:aws-cn:s3:::b", False),
        ("arn:*:s3:::b", "arn:aws-cn:s3:::b", True),
    ],
)
def test_resource_mode(pattern: str, text: str, expected: bool) -> None:
    assert match(pattern, text, RESOURCE) is expected


# ------------------------------------------------------------------------ like mode


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("*", "", True),
        ("*", "a:b:c\nd", True),
        ("system:serviceaccount:ns:*", "system:serviceaccount:ns:sa", True),
        ("system:serviceaccount:ns:*", "system:serviceaccount:other:sa", False),
        ("system:serviceaccount:*:sa", "system:serviceaccount:a:b:sa", True),  # crosses ':'
        ("a?c", "a:c", True),
        ("abc", "ABC", False),  # case-sensitive
        ("abc", "abcd", False),  # whole string
        ("bc", "abc", False),
        ("", "", True),
        ("", "x", False),
        ("*.example.com", "evil.com/.example.com", True),
        ("*.example.com", "a.example.com.evil", False),
    ],
)
def test_like_mode(pattern: str, text: str, expected: bool) -> None:
    assert match(pattern, text, LIKE) is expected


# ------------------------------------------------------------------------- arn mode


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("arn:aws:iam::111122223333:role/*", "arn:aws:iam::111122223333:role/a/b", True),
        # field-wise: a * in the first five fields never crosses a colon, even at the end
        (
            "arn:aws:ec2:*:111122223333:instance/i",
            "arn:aws:ec2:a:b:111122223333:instance/i",
            False,
        ),
        (
            "arn:aws:ec2:*:111122223333:instance/i",
            "arn:aws:ec2:us-east-1:111122223333:instance/i",
            True,
        ),
        ("arn:aws:s3:*", "arn:aws:s3:::bucket", False),
        ("arn:aws:s3:::*", "arn:aws:s3:::bucket:x", True),
        ("arn:aws:iam::*:role/x", "arn:aws:iam::111122223333:role/x", True),
        ("*", "arn:aws:s3:::bucket", True),
    ],
)
def test_arn_mode(pattern: str, text: str, expected: bool) -> None:
    assert match(pattern, text, ARN) is expected


def test_like_and_arn_differ_on_the_documented_example() -> None:
    """StringLike lets ``*`` cross colons; ArnLike compares field by field."""
    pattern = "arn:aws:s3:*"
    text = "arn:aws:s3:::bucket"
    assert match(pattern, text, LIKE)
    assert not match(pattern, text, ARN)


def test_compile_globs_is_any_of_the_patterns() -> None:
    regex = matching.compile_globs(("s3:Get*", "iam:ListUsers", "ec2:?"), ACTION)
    assert regex.fullmatch("s3:getobject")
    assert regex.fullmatch("IAM:LISTUSERS")
    assert regex.fullmatch("ec2:x")
    assert not regex.fullmatch("ec2:xy")
    # alternation must not leak: "s3:Get" prefix + other pattern's suffix
    assert not regex.fullmatch("xs3:Get")
    assert not regex.fullmatch("iam:ListUsersec2:x")
    assert not regex.fullmatch("iam:ListUsers|ec2:x")


# -------------------------------------------------------------- templates, variables


def test_parse_template_parts() -> None:
    template = matching.parse_template(
        "arn:aws:s3:::b/${aws:username}/${ aws:PrincipalTag/Team , 'none' }/${*}${?}${$}", True
    )
    assert template.parts == (
        "arn:aws:s3:::b/",
        Variable("aws:username", None),
        "/",
        Variable("aws:principaltag/team", "none"),
        "/",
        Escaped("*"),
        Escaped("?"),
        Escaped("$"),
    )
    assert template.has_variables
    assert not matching.parse_template("plain*text", True).has_variables


@pytest.mark.parametrize("escape", ["${*}", "${?}", "${$}"])
@pytest.mark.parametrize("mode", [LIKE, RESOURCE, ARN])
def test_escapes_are_literal(escape: str, mode: str) -> None:
    char = escape[2]
    prefix = "arn:aws:s3:::b/" if mode != LIKE else "x/"
    pattern = prefix + "a" + escape + "c"
    assert match_template(pattern, prefix + "a" + char + "c", mode) is True
    assert match_template(pattern, prefix + "abc", mode) is False
    assert match_template(pattern, prefix + "abbc", mode) is False
    assert match_template(pattern, prefix + "ac", mode) is False
    assert match_template(pattern, prefix + "a${" + char + "}c", mode) is False


def test_substituted_values_are_literal() -> None:
    context = {"aws:username": ("a*b?",)}
    pattern = "arn:aws:s3:::bucket/${aws:username}/*"
    assert match_template(pattern, "arn:aws:s3:::bucket/a*b?/k", RESOURCE) is None
    assert match_template(pattern, "arn:aws:s3:::bucket/aXXbY/k", RESOURCE, context) is False
    assert match_template(pattern, "arn:aws:s3:::bucket/a*b?/k", RESOURCE, context) is True
    regex_value = {"aws:username": (".+",)}
    assert match_template(pattern, "arn:aws:s3:::bucket/.+/k", RESOURCE, regex_value) is True
    assert match_template(pattern, "arn:aws:s3:::bucket/xy/k", RESOURCE, regex_value) is False


def test_variable_keys_are_case_insensitive_and_defaults_apply() -> None:
    context = {"aws:principaltag/team": ("red",)}
    assert match_template("team-${aws:PrincipalTag/TEAM}", "team-red", LIKE, context) is True
    assert match_template("team-${aws:PrincipalTag/Team}", "team-blue", LIKE, context) is False
    assert match_template("t-${aws:missing, 'dflt'}", "t-dflt", LIKE, context) is True
    assert match_template("t-${aws:missing,'*'}", "t-anything", LIKE, context) is False
    assert match_template("t-${aws:missing,'*'}", "t-*", LIKE, context) is True


def test_unresolved_or_multivalued_variable_resolves_to_none() -> None:
    assert matching.parse_template("${aws:username}", True).resolve({}) is None
    multivalued = {"aws:username": ("a", "b")}
    assert matching.parse_template("${aws:username}", True).resolve(multivalued) is None
    with_default = matching.parse_template("${aws:username, 'x'}", True)
    assert with_default.resolve(multivalued) == (("x", False),)


def test_variables_disabled_means_literal_text() -> None:
    pattern = "arn:aws:s3:::b/${aws:username}"
    template = matching.parse_template(pattern, False)
    assert template == Template((pattern,))
    assert not template.has_variables
    pieces = template.resolve({"aws:username": ("alice",)})
    assert pieces is not None
    regex = matching.compile_pieces(pieces, RESOURCE)
    assert regex.fullmatch(pattern)
    assert not regex.fullmatch("arn:aws:s3:::b/alice")


def test_unclosed_variable_is_literal_text() -> None:
    template = matching.parse_template("a${aws:username", True)
    assert template.parts == ("a${aws:username",)
    assert match_template("a${aws:username", "a${aws:username", LIKE) is True


def test_star_before_a_variable_does_not_end_the_field() -> None:
    """A ``*`` followed by a variable is inside its field: in the first five fields it must
    not run across colons just because the literal piece happens to end there."""
    pattern = "arn:aws:ec2:us-*${aws:principaltag/suffix}:111122223333:instance/i"
    context = {"aws:principaltag/suffix": ("1",)}
    assert match_template(
        pattern, "arn:aws:ec2:us-east-1:111122223333:instance/i", RESOURCE, context
    )
    assert not match_template(
        pattern, "arn:aws:ec2:us-a:b-1:111122223333:instance/i", RESOURCE, context
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("pattern", "text", "mode"),
    [
        # caller-controlled resource names against a policy's wildcards
        ("arn:aws:s3:::*-*-*-*-*-*-*-*-z", "arn:aws:s3:::" + "-" * 50, RESOURCE),
        ("*a*a*a*a*a*a*a*a*b", "a" * 44, LIKE),
    ],
    ids=["resource-hyphens", "like-letters"],
)
def test_many_wildcards_match_in_bounded_time(pattern: str, text: str, mode: str) -> None:
    """A glob can be decided in O(len(pattern) * len(text)); a backtracking regex takes
    exponential time on near-misses, and the text is the caller's to choose."""
    regex = matching.compile_globs((pattern,), mode)
    started = time.perf_counter()
    matched = regex.fullmatch(text) is not None
    elapsed = time.perf_counter() - started
    assert matched is reference_glob(pattern, text)
    assert elapsed < 1.0, f"{elapsed:.1f}s to decide one match"


# ------------------------------------------------------------------------ properties

# small alphabets make wildcards and near-misses frequent; metacharacters keep the
# escaping honest
GLOB_ALPHABET = "ab:/.+()[]\\^$|{}*?\n"
TEXT_ALPHABET = "ab:/.+()[]\\^$|{}*?\n"
ACTION_ALPHABET = "aAbBzZ:.+()[]\\^$|*?éÉ-"

patterns = st.text(alphabet=GLOB_ALPHABET, max_size=12)
texts = st.text(alphabet=TEXT_ALPHABET, max_size=14)


@settings(max_examples=400, deadline=None)
@given(patterns, texts)
def test_property_like_agrees_with_reference(pattern: str, text: str) -> None:
    assert match(pattern, text, LIKE) is reference_glob(pattern, text)


@settings(max_examples=400, deadline=None)
@given(
    st.text(alphabet=ACTION_ALPHABET, max_size=12),
    st.text(alphabet=ACTION_ALPHABET, max_size=14),
)
def test_property_action_agrees_with_reference(pattern: str, text: str) -> None:
    assert match(pattern, text, ACTION) is reference_glob(pattern, text, fold_case=True)


ARN_ALPHABET = "ab:/.$(\\*?"
arn_patterns = st.text(alphabet=ARN_ALPHABET, max_size=16)
arn_texts = st.text(alphabet="ab:/.$(\\*?", max_size=18)


@settings(max_examples=400, deadline=None)
@given(st.one_of(arn_patterns, st.builds(lambda p: "a:b:c:d:" + p, arn_patterns)), arn_texts)
@pytest.mark.parametrize("mode", [RESOURCE, ARN])
def test_property_arn_modes_agree_with_reference(mode: str, pattern: str, text: str) -> None:
    expected = reference_arn_glob(pattern, text, spill=mode == RESOURCE)
    assert match(pattern, text, mode) is expected


@st.composite
def pattern_and_matching_text(draw: st.DrawFn, alphabet: str) -> tuple[str, str]:
    """A text, and a pattern derived from it by wildcards so that it must match."""
    text = draw(st.text(alphabet=alphabet, max_size=16))
    out: list[str] = []
    for char in text:
        if draw(st.booleans()) and draw(st.booleans()):
            out.append("*")
        if char != ":" and draw(st.integers(0, 3)) == 0:
            out.append("?")
        else:
            out.append(char)
    if draw(st.booleans()):
        out.append("*")
    return "".join(out), text


@settings(max_examples=300, deadline=None)
@given(pattern_and_matching_text(GLOB_ALPHABET))
def test_property_derived_pattern_matches_like(case: tuple[str, str]) -> None:
    pattern, text = case
    assert match(pattern, text, LIKE)
    assert reference_glob(pattern, text)  # the generator itself is sound


@settings(max_examples=300, deadline=None)
@given(pattern_and_matching_text("aAbB:/.+()$*?"), st.data())
def test_property_derived_pattern_matches_action(
    case: tuple[str, str], data: st.DataObject
) -> None:
    pattern, text = case
    variant = "".join(c.upper() if data.draw(st.booleans()) else c.lower() for c in text)
    assert match(pattern, text, ACTION)
    assert match(pattern, variant, ACTION)


@st.composite
def arnish_text(draw: st.DrawFn) -> str:
    fields = draw(st.lists(st.text(alphabet="ab-/.$(", max_size=4), min_size=5, max_size=5))
    tail = draw(st.text(alphabet="ab:/.$(*?", max_size=8))
    return "arn:" + ":".join(fields) + ":" + tail


@settings(max_examples=300, deadline=None)
@given(arnish_text(), st.data())
@pytest.mark.parametrize("mode", [RESOURCE, ARN])
def test_property_derived_pattern_matches_arn_modes(
    mode: str, text: str, data: st.DataObject
) -> None:
    out: list[str] = []
    for char in text:
        if data.draw(st.integers(0, 4)) == 0:
            out.append("*")
        out.append("?" if char != ":" and data.draw(st.integers(0, 3)) == 0 else char)
    pattern = "".join(out)
    assert match(pattern, text, mode), pattern


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_property_literal_pattern_matches_only_itself(literal: str, other: str) -> None:
    assume("*" not in literal and "?" not in literal)
    for mode in (LIKE, RESOURCE, ARN):
        assert match(literal, literal, mode)
        assert match(literal, other, mode) is (other == literal)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.characters(codec="ascii", exclude_characters="*?"), max_size=30),
    st.data(),
)
def test_property_literal_action_matches_case_variants(literal: str, data: st.DataObject) -> None:
    variant = "".join(c.upper() if data.draw(st.booleans()) else c.lower() for c in literal)
    assert match(literal, literal, ACTION)
    assert match(literal, variant, ACTION)
    other = data.draw(st.text(alphabet=st.characters(codec="ascii"), max_size=30))
    assert match(literal, other, ACTION) is (other.lower() == literal.lower())


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_property_star_matches_everything_in_like_resource_and_action(text: str) -> None:
    assert match("*", text, LIKE)
    assert match("*", text, RESOURCE)
    assert match("*", text, ACTION)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab*?$:", max_size=10), st.text(alphabet="ab*?$:{}", max_size=10))
def test_property_escapes_and_substitutions_are_literal(literal: str, value: str) -> None:
    """``${*}``, ``${?}``, ``${$}`` and substituted values match only their own text."""
    escaped = "".join("${" + c + "}" if c in "*?$" else c for c in literal)
    context = {"k:v": (value,)}
    pattern = escaped + "${k:v}"
    assert match_template(pattern, literal + value, LIKE, context) is True
    candidate = literal + value + "x"
    assert match_template(pattern, candidate, LIKE, context) is False
    if "*" in literal + value or "?" in literal + value:
        replaced = (literal + value).replace("*", "Z").replace("?", "Z")
        assert match_template(pattern, replaced, LIKE, context) is False


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab*?${}:", max_size=20), st.text(alphabet="ab*?${}:", max_size=20))
def test_property_variables_disabled_is_plain_glob(pattern: str, text: str) -> None:
    """With variables disabled, ``${...}`` is ordinary glob text."""
    pieces = matching.parse_template(pattern, False).resolve({})
    assert pieces == ((pattern, True),)
    glob = matching.compile_pieces(pieces, LIKE)
    assert (glob.fullmatch(text) is not None) is reference_glob(pattern, text)
