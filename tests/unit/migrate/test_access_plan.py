"""aws-auth → access entries, the pure plan (kubetrust.migrate.access_plan)."""

from __future__ import annotations

from kubetrust.migrate import access_plan as ma
from kubetrust.model.aws_auth.mappings import AwsAuthMap, RoleMapping, SsoMatcher, UserMapping
from kubetrust.model.vocabulary import CLUSTER_ADMIN_POLICY

A = "111111111111"
IAM = {
    f"arn:aws:iam::{A}:role/admins": f"arn:aws:iam::{A}:role/team/admins",
    f"arn:aws:iam::{A}:role/viewers": f"arn:aws:iam::{A}:role/viewers",
    f"arn:aws:iam::{A}:role/nodes": f"arn:aws:iam::{A}:role/nodes",
    f"arn:aws:iam::{A}:role/win-nodes": f"arn:aws:iam::{A}:role/win-nodes",
    f"arn:aws:iam::{A}:user/alice": f"arn:aws:iam::{A}:user/alice",
}


def plan(aws_auth: AwsAuthMap, existing: tuple[str, ...] = ()) -> ma.AccessMigration:
    return ma.plan_access_entries(aws_auth, existing, IAM.get)


def test_masters_get_cluster_admin_and_keep_their_username_and_other_groups() -> None:
    role = RoleMapping(
        role_arn=f"arn:aws:iam::{A}:role/admins", username="admin:{{SessionName}}",
        groups=("system:masters", "platform"),
    )  # fmt: skip
    (entry,) = plan(AwsAuthMap(roles=(role,))).entries
    assert entry == ma.PlannedEntry(
        f"arn:aws:iam::{A}:role/team/admins", ma.STANDARD, "admin:{{SessionName}}",
        ("platform",), (CLUSTER_ADMIN_POLICY.arn,), "mapRoles[0]",
    )  # fmt: skip


def test_other_groups_become_kubernetes_groups_and_the_path_comes_from_iam() -> None:
    role = RoleMapping(role_arn=f"arn:aws:iam::{A}:role/viewers", groups=("viewers",))
    user = UserMapping(user_arn=f"arn:aws:iam::{A}:user/alice", username="alice")
    found = plan(AwsAuthMap(roles=(role,), users=(user,)))
    assert [(e.principal_arn, e.type, e.username, e.kubernetes_groups) for e in found.entries] == [
        (f"arn:aws:iam::{A}:role/viewers", ma.STANDARD, None, ("viewers",)),
        (f"arn:aws:iam::{A}:user/alice", ma.STANDARD, "alice", ()),
    ]
    assert found.api_mode_possible


def test_node_roles_become_node_entries() -> None:
    linux = RoleMapping(
        role_arn=f"arn:aws:iam::{A}:role/nodes", username=ma.NODE_USERNAME,
        groups=("system:bootstrappers", "system:nodes"),
    )  # fmt: skip
    windows = RoleMapping(
        role_arn=f"arn:aws:iam::{A}:role/win-nodes", username=ma.NODE_USERNAME,
        groups=("system:bootstrappers", "system:nodes", ma.WINDOWS_GROUP),
    )  # fmt: skip
    found = plan(AwsAuthMap(roles=(linux, windows)))
    assert [(e.type, e.username, e.kubernetes_groups) for e in found.entries] == [
        (ma.EC2_LINUX, None, ()),
        (ma.EC2_WINDOWS, None, ()),
    ]


def test_what_cannot_be_carried_is_listed_with_reason_and_manual_step() -> None:
    aws_auth = AwsAuthMap(
        roles=(
            RoleMapping(role_arn=f"arn:aws:iam::{A}:role/gone", groups=("x",)),
            RoleMapping(role_arn=f"arn:aws:iam::{A}:role/aws-service-role/x.amazonaws.com/AWSRole"),
            RoleMapping(sso=SsoMatcher("Admins", A)),
            RoleMapping(role_arn=f"arn:aws:iam::{A}:role/viewers", groups=("system:monitoring",)),
            RoleMapping(
                role_arn=f"arn:aws:iam::{A}:role/admins", username="{{AccountID}}:{{SessionName}}"
            ),
        ),
        users=(UserMapping(user_arn=f"arn:aws:iam::{A}:user/alice", username="system:alice"),),
        accounts=("222222222222",),
    )
    found = plan(aws_auth)
    assert found.entries == ()
    reasons = {item.source: item.reason for item in found.not_carried}
    assert "no longer exists" in reasons["mapRoles[0]"]
    assert "service-linked" in reasons["mapRoles[1]"]
    assert "SSO" in reasons["mapRoles[2]"]
    assert "system:monitoring" in reasons["mapRoles[3]"]
    assert "template" in reasons["mapRoles[4]"]
    assert "may not start with system:" in reasons["mapUsers[0]"]
    assert "account-wide" in reasons["mapAccounts[0]"]
    assert all(item.manual for item in found.not_carried)
    assert not found.api_mode_possible


def test_principals_with_an_entry_are_left_alone_and_the_last_mapping_wins() -> None:
    first = RoleMapping(role_arn=f"arn:aws:iam::{A}:role/viewers", groups=("old",))
    last = RoleMapping(role_arn=f"arn:aws:iam::{A}:role/viewers", groups=("new",))
    (entry,) = plan(AwsAuthMap(roles=(first, last))).entries
    assert entry.kubernetes_groups == ("new",) and entry.source == "mapRoles[1]"
    kept = plan(AwsAuthMap(roles=(last,)), existing=(f"arn:aws:iam::{A}:role/viewers",))
    assert kept.entries == () and kept.already == (f"arn:aws:iam::{A}:role/viewers",)
