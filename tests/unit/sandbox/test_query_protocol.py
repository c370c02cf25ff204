"""The query protocol's lists, as IAM and STS both read them (one decoder)."""

from __future__ import annotations

from kubetrust.sandbox.aws.operations.query_protocol import member_list, tags


def test_members_come_in_index_order_with_or_without_a_field() -> None:
    params = {
        "TransitiveTagKeys.member.2": ["b"],
        "TransitiveTagKeys.member.10": ["c"],
        "TransitiveTagKeys.member.1": ["a"],
        "PolicyArns.member.2.arn": ["arn:two"],
        "PolicyArns.member.1.arn": ["arn:one"],
        "PolicyArns.member.3.other": ["not an arn"],
    }
    assert member_list(params, "TransitiveTagKeys") == ["a", "b", "c"]
    assert member_list(params, "PolicyArns", ".arn") == ["arn:one", "arn:two"]


def test_an_index_that_is_not_ascii_digits_is_not_a_member() -> None:
    params = {
        "Tags.member.\u00b2.Key": ["superscript"],
        "Tags.member.\u0663.Key": ["arabic-indic"],
        "Tags.member.1.Key": ["k"],
        "Tags.member.1.Value": ["v"],
        "TransitiveTagKeys.member.\u00b2": ["x"],
    }
    assert member_list(params, "Tags", ".Key") == ["k"]
    assert member_list(params, "TransitiveTagKeys") == []
    assert tags(params) == {"k": "v"}
