"""IAM's conflicts: an entity that still holds something cannot be deleted, and a name
that differs from a taken one only in case cannot be taken.

IAM refuses ``DeleteUser``, ``DeleteGroup``, ``DeleteRole`` and ``DeletePolicy`` with
``DeleteConflict`` (HTTP 409) while the entity still has what its API reference lists
(``DeleteUser``: password, access keys, signing certificates, SSH public keys, MFA devices,
inline and attached policies, group memberships). moto checks only some of these
(``DeleteUser``: policies only; ``DeleteGroup`` and ``DeletePolicy``: nothing), so a user
deleted with its access keys left its keys behind and a deleted policy vanished from the
roles it was attached to. The gate asks here before moto sees the call, for every
dependency, so that the order and the status are IAM's whatever moto checks.

Messages are IAM's as quoted in public reports; where no report was found the text is our
best reading of IAM's pattern, marked ``[uncertain]``. The order of the checks when an
entity holds several things is not documented: ours follows ``DeleteUser``'s list.
Not emulated: service-specific (Git) credentials (moto keeps none). A policy used as a
permissions boundary is refused by ``user_boundaries`` (it holds the users' boundaries).

Names: "names are not distinguished by case" (IAM UG, "IAM object names"; ``CreateRole``:
"you cannot create resources named both MyResource and myresource") — for users, groups,
roles, policies and instance profiles, whatever their path. moto compares names exactly
(and managed policies by ARN, so the same name under another path was a second policy):
``MyRole`` next to ``myrole`` was a second role, which a policy naming one ARN does not
name. The gate refuses it as IAM does, with ``EntityAlreadyExists`` (409) and the text IAM
uses for an exact duplicate (moto's texts, which are IAM's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from kubetrust.sandbox.aws import state, wire

_ENTITY = "Cannot delete entity, must "
_USER = (
    ("login_profile", _ENTITY + "delete login profile first."),  # terraform/aws-nuke reports
    ("access_keys", _ENTITY + "delete access keys first."),  # ACK community#2229
    # signing certificates, SSH keys: IAM's generic text (aws-nuke#470 for SSH keys);
    # [uncertain] for signing certificates
    ("signing_certificates", _ENTITY + "remove referenced objects first."),
    ("ssh_public_keys", _ENTITY + "remove referenced objects first."),
    ("mfa_devices", _ENTITY + "delete MFA device first."),  # aws-nuke#281
    ("inline_policies", _ENTITY + "delete policies first."),
    ("attached_policies", _ENTITY + "detach all policies first."),
    # [uncertain] DeleteUser's text for a group membership (DeleteGroup's is this one)
    ("groups", _ENTITY + "remove users from group first."),
)
_GROUP = (
    ("members", _ENTITY + "remove users from group first."),
    ("inline_policies", _ENTITY + "delete policies first."),
    ("attached_policies", _ENTITY + "detach all policies first."),
)
_ROLE = (  # moto's texts, which are IAM's
    ("instance_profiles", _ENTITY + "remove roles from instance profile first."),
    ("attached_policies", _ENTITY + "detach all policies first."),
    ("inline_policies", _ENTITY + "delete policies first."),
)
_POLICY = (
    ("attachments", "Cannot delete a policy attached to entities."),
    (
        "other_versions",
        "This policy has more than one version. Before you delete a policy, you must "
        "delete the policy's versions. The default version is deleted with the policy.",
    ),
)

_Lookup = Callable[[str, str], "state.Holdings | None"]
_CHECKS: dict[str, tuple[str, _Lookup, tuple[tuple[str, str], ...]]] = {
    "DeleteUser": ("UserName", state.user_holdings, _USER),
    "DeleteGroup": ("GroupName", state.group_holdings, _GROUP),
    "DeleteRole": ("RoleName", state.role_holdings, _ROLE),
    "DeletePolicy": ("PolicyArn", state.policy_holdings, _POLICY),
}


_CREATES: dict[str, tuple[str, str, str]] = {
    # operation → (name parameter, entity kind, IAM's message for a taken name)
    "CreateRole": ("RoleName", "role", "Role with name {} already exists."),
    "CreateUser": ("UserName", "user", "User {} already exists"),
    "UpdateUser": ("NewUserName", "user", "User {} already exists"),
    "CreateGroup": ("GroupName", "group", "Group {} already exists"),
    "UpdateGroup": ("NewGroupName", "group", "Group {} already exists"),
    "CreateInstanceProfile": (
        "InstanceProfileName",
        "instance-profile",
        "Instance Profile {} already exists.",
    ),
    "CreatePolicy": (
        "PolicyName",
        "policy",
        "A policy called {} already exists. Duplicate names are not allowed.",
    ),
}


def check_name_taken(name: str, form: Mapping[str, list[str]], account: str) -> None:
    """Refuse a name that an entity of the same kind in ``account`` already has, in any
    case (module doc). An exact duplicate is refused the same way (moto would too)."""
    spec = _CREATES.get(name)
    if spec is None or not account.isdigit():
        return
    field, kind, message = spec
    wanted = (form.get(field) or [""])[0]
    if not wanted:
        return
    folded = wanted.casefold()
    old = (form.get(field.removeprefix("New")) or [""])[0] if field.startswith("New") else ""
    for taken in state.iam_names(account, kind):
        if taken.casefold() == folded and taken != old:  # renaming to a case variant of itself
            raise wire.AwsError("EntityAlreadyExists", message.format(wanted), 409)


def check_delete(name: str, form: Mapping[str, list[str]], account: str) -> None:
    """Refuse a ``Delete*`` call of an entity that still holds something, as IAM does.

    An entity that does not exist is left to moto (its ``NoSuchEntity``)."""
    spec = _CHECKS.get(name)
    if spec is None or not account.isdigit():  # AWS managed policies: left to moto
        return
    field, lookup, rules = spec
    key = (form.get(field) or [""])[0]
    holdings = lookup(account, key) if key else None
    if holdings is None:
        return
    for attribute, message in rules:
        if getattr(holdings, attribute):
            raise wire.AwsError("DeleteConflict", message, 409)
