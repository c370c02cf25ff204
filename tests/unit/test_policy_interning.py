"""Interning parsed policy documents (equal text → one object) and compiling each document
object once: the caches that let an organization of a million roles load and audit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kubetrust import errors
from kubetrust.model import account_dump
from kubetrust.policy import PolicyKind, compact, parse_policy
from kubetrust.policy.evaluator import compiled_statements
from kubetrust.policy.interning import intern_document, parse_interned

TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:role/ci"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _text(document: dict[str, Any]) -> str:
    return compact.compact_json(document)


def test_equal_documents_are_one_object() -> None:
    first = parse_interned(_text(TRUST), PolicyKind.TRUST, TRUST)
    again = parse_interned(_text(json.loads(json.dumps(TRUST))), PolicyKind.TRUST)
    assert first is again
    assert first == parse_policy(TRUST, PolicyKind.TRUST)


def test_different_documents_or_kinds_are_different_objects() -> None:
    other = json.loads(json.dumps(TRUST))
    other["Statement"][0]["Principal"]["AWS"] = "arn:aws:iam::222222222222:role/ci"
    first = parse_interned(_text(TRUST), PolicyKind.TRUST, TRUST)
    second = parse_interned(_text(other), PolicyKind.TRUST, other)
    assert first is not second
    assert second.statements[0].principal is not None
    assert second.statements[0].principal.aws == ("arn:aws:iam::222222222222:role/ci",)
    identity = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    as_identity = parse_interned(_text(identity), PolicyKind.IDENTITY, identity)
    as_boundary = parse_interned(_text(identity), PolicyKind.BOUNDARY, identity)
    assert as_identity is not as_boundary
    assert (as_identity.kind, as_boundary.kind) == (PolicyKind.IDENTITY, PolicyKind.BOUNDARY)


_NUMBER = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*",'
    '"Condition":{"NumericLessThan":{"s3:max-keys":VALUE}}}]}'
)


@pytest.mark.parametrize(
    ("written", "kept"), [("0.10000000000000000001", "0.10000000000000000001"), ("1e20", "1E+20")]
)
def test_numbers_with_a_fraction_keep_their_text(written: str, kept: str) -> None:
    """A decoded mapping holds such numbers as floats (``0.1``, ``1e+20``); the text path
    keeps them as written, and interning must not lose that (IAM keeps them as written)."""
    text = _NUMBER.replace("VALUE", written)
    interned = parse_interned(text, PolicyKind.IDENTITY, json.loads(text))
    assert interned.statements[0].conditions[0].values == (kept,)
    assert interned == parse_policy(text, PolicyKind.IDENTITY)


def test_a_bad_document_raises_each_time_and_is_not_cached() -> None:
    bad = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*"}]}
    for _ in range(2):
        with pytest.raises(errors.PolicyParseError):
            parse_interned(_text(bad), PolicyKind.IDENTITY, bad)


def test_a_dump_shares_documents_across_roles_and_keeps_each_trust_text() -> None:
    roles = [
        {
            "RoleName": name,
            "Arn": f"arn:aws:iam::333333333333:role/{name}",
            "AssumeRolePolicyDocument": TRUST,
            "RolePolicyList": [
                {
                    "PolicyName": "p",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}
                        ],
                    },
                }
            ],
        }
        for name in ("a", "b")
    ]
    account, problems = account_dump.parse_authorization_details({"RoleDetailList": roles})
    assert problems == []
    a, b = account.roles["a"], account.roles["b"]
    assert a.trust is b.trust and a.inline[0].document is b.inline[0].document
    assert a.trust_text == b.trust_text == _text(TRUST)


def test_a_trust_that_does_not_parse_keeps_its_text_and_reason() -> None:
    bad = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Principal": "*"}],
    }
    role = {
        "RoleName": "r",
        "Arn": "arn:aws:iam::333333333333:role/r",
        "AssumeRolePolicyDocument": bad,
    }
    account, problems = account_dump.parse_authorization_details({"RoleDetailList": [role]})
    parsed = account.roles["r"]
    assert parsed.trust is None and parsed.trust_text == _text(bad)
    assert "not an sts action" in parsed.trust_problem
    assert len(problems) == 1


def test_statements_are_compiled_once_per_document_kind_and_name() -> None:
    document = parse_policy(TRUST, PolicyKind.TRUST)
    first = compiled_statements(document, "trust", "trust")
    assert compiled_statements(document, "trust", "trust") is first
    assert compiled_statements(document, "trust", "other") is not first
    equal_but_other = parse_policy(TRUST, PolicyKind.TRUST)
    assert equal_but_other is not document
    again = compiled_statements(equal_but_other, "trust", "trust")
    assert again is not first and again[0].source is equal_but_other.statements[0]


def test_decoded_documents_are_shared_with_their_text() -> None:
    """:func:`intern_document` keys by the mapping's marshal bytes: equal mappings decoded
    apart give one document and one text object."""
    first = intern_document(json.loads(json.dumps(TRUST)), PolicyKind.TRUST)
    again = intern_document(json.loads(json.dumps(TRUST)), PolicyKind.TRUST)
    assert first[0] is again[0] and first[1] is again[1]
    assert first[1] == _text(TRUST)
    assert first[0] == parse_policy(TRUST, PolicyKind.TRUST)
    as_integer = json.loads(json.dumps(TRUST).replace('"sts:AssumeRole"', "1"))
    as_boolean = json.loads(json.dumps(TRUST).replace('"sts:AssumeRole"', "true"))
    for bad in (as_integer, as_boolean):  # equal under ==, different documents
        with pytest.raises(errors.PolicyParseError):
            intern_document(bad, PolicyKind.TRUST)


def test_a_mapping_marshal_cannot_write_is_keyed_by_its_text() -> None:
    class Ordered(dict[str, Any]):
        """A dict type of its own (what a YAML or JSON hook may give)."""

    document, text = intern_document(Ordered(json.loads(json.dumps(TRUST))), PolicyKind.TRUST)
    assert text == _text(TRUST)
    assert document == parse_policy(TRUST, PolicyKind.TRUST)


def test_numbers_not_vouched_for_go_through_the_text() -> None:
    decoded = json.loads(_NUMBER.replace("VALUE", "1e20"))
    document, _ = intern_document(decoded, PolicyKind.IDENTITY)
    assert document.statements[0].conditions[0].values == ("1E+20",)
    fresh = json.loads(_NUMBER.replace("VALUE", "1e21"))
    vouched, _ = intern_document(fresh, PolicyKind.IDENTITY, numbers_exact=True)
    assert vouched.statements[0].conditions[0].values != ("1E+21",)  # the caller's word is taken
