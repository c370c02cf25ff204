"""Encoding an :class:`AwsAuthMap` back into ConfigMap ``data`` (the authenticator's
``EncodeMap``), so that a parse of the result gives the same map."""

from __future__ import annotations

from .mappings import (
    MAP_ACCOUNTS,
    MAP_ROLES,
    MAP_USERS,
    AwsAuthMap,
    RoleMapping,
    UserMapping,
    YamlCodec,
)


def encode_aws_auth(aws_auth: AwsAuthMap, codec: YamlCodec) -> dict[str, str]:
    """The ConfigMap ``data`` for ``aws_auth``; :func:`parse_aws_auth` gives it back.

    Like ``EncodeMap``: an empty section is left out, and fields are written in the Go
    structs' order (``rolearn``, ``sso``, ``username``, ``groups``, ``userid``), omitting the
    empty optional ones.
    """
    data: dict[str, str] = {}
    if aws_auth.roles:
        data[MAP_ROLES] = codec.dump([_plain_role(role) for role in aws_auth.roles])
    if aws_auth.users:
        data[MAP_USERS] = codec.dump([_plain_user(user) for user in aws_auth.users])
    if aws_auth.accounts:
        data[MAP_ACCOUNTS] = codec.dump(list(aws_auth.accounts))
    return data


def _plain_role(role: RoleMapping) -> dict[str, object]:
    plain: dict[str, object] = {}
    if role.role_arn:
        plain["rolearn"] = role.role_arn
    if role.sso is not None:
        sso: dict[str, object] = {
            "permissionSetName": role.sso.permission_set_name,
            "accountID": role.sso.account_id,
        }
        if role.sso.partition:
            sso["partition"] = role.sso.partition
        plain["sso"] = sso
    plain["username"] = role.username
    plain["groups"] = list(role.groups)
    if role.user_id:
        plain["userid"] = role.user_id
    return plain


def _plain_user(user: UserMapping) -> dict[str, object]:
    plain: dict[str, object] = {
        "userarn": user.user_arn,
        "username": user.username,
        "groups": list(user.groups),
    }
    if user.user_id:
        plain["userid"] = user.user_id
    return plain
