"""IAM pages cut out of moto's whole answers (sandbox/aws/paging.py)."""

from __future__ import annotations

import pytest

from kubetrust.sandbox.aws import paging, wire

NS = 'xmlns="https://iam.amazonaws.com/doc/2010-05-08/"'


def _users(n: int) -> bytes:
    members = "".join(
        f"<member><UserName>u{i}</UserName><Tags><member><Key>k</Key></member></Tags></member>"
        for i in range(n)
    )
    return (
        f"<ListUsersResponse {NS}><ListUsersResult><Users>{members}</Users>"
        "<IsTruncated>false</IsTruncated></ListUsersResult></ListUsersResponse>"
    ).encode()


def _names(body: bytes) -> list[str]:
    return [part.split(b"</UserName>")[0].decode() for part in body.split(b"<UserName>")[1:]]


def test_pages_of_max_items_then_the_rest() -> None:
    first = paging.page_iam_answer("ListUsers", {"MaxItems": ["2"]}, _users(5))
    assert _names(first) == ["u0", "u1"]
    assert b"<IsTruncated>true</IsTruncated><Marker>" in first
    marker = first.split(b"<Marker>")[1].split(b"</Marker>")[0].decode()
    rest = paging.page_iam_answer("ListUsers", {"Marker": [marker], "MaxItems": ["10"]}, _users(5))
    assert _names(rest) == ["u2", "u3", "u4"]
    assert b"<IsTruncated>false</IsTruncated>" in rest and b"<Marker>" not in rest
    assert rest.count(b"<Key>k</Key>") == 3  # items' own nested lists are kept whole


def test_default_page_is_100() -> None:
    page = paging.page_iam_answer("ListUsers", {}, _users(101))
    assert len(_names(page)) == 100 and b"<IsTruncated>true</IsTruncated>" in page


def test_authorization_details_page_across_its_lists() -> None:
    body = (
        f"<GetAccountAuthorizationDetailsResponse {NS}><GetAccountAuthorizationDetailsResult>"
        "<UserDetailList><member><UserName>u0</UserName></member></UserDetailList>"
        "<GroupDetailList/>"
        "<RoleDetailList><member><RoleName>r0</RoleName><RolePolicyList><member>"
        "<PolicyName>p</PolicyName></member></RolePolicyList></member>"
        "<member><RoleName>r1</RoleName></member></RoleDetailList>"
        "<Policies><member><PolicyName>m0</PolicyName></member></Policies>"
        "<IsTruncated>false</IsTruncated></GetAccountAuthorizationDetailsResult>"
        "</GetAccountAuthorizationDetailsResponse>"
    ).encode()
    first = paging.page_iam_answer("GetAccountAuthorizationDetails", {"MaxItems": ["2"]}, body)
    assert b"u0" in first and b"r0" in first and b"<PolicyName>p</PolicyName>" in first
    assert b"r1" not in first and b"m0" not in first
    marker = first.split(b"<Marker>")[1].split(b"</Marker>")[0].decode()
    rest = paging.page_iam_answer(
        "GetAccountAuthorizationDetails", {"Marker": [marker], "MaxItems": ["2"]}, body
    )
    assert b"u0" not in rest and b"r0" not in rest and b"r1" in rest and b"m0" in rest


def test_other_answers_are_unchanged() -> None:
    body = b"<ListRolesResponse><Roles/></ListRolesResponse>"
    assert paging.page_iam_answer("ListRoles", {}, body) == body


@pytest.mark.parametrize("marker", ["not-base64!", "bWFya2Vy"])
def test_a_marker_the_sandbox_did_not_issue_is_refused(marker: str) -> None:
    with pytest.raises(wire.AwsError) as refused:
        paging.page_iam_answer("ListUsers", {"Marker": [marker]}, _users(3))
    assert refused.value.code == "ValidationError"


def test_page_bounds() -> None:
    assert paging.page_bounds(5, 0, 2) == (0, 2, 2)
    assert paging.page_bounds(5, 4, 2) == (4, 5, None)
    assert paging.page_bounds(0, 0, 100) == (0, 0, None)
