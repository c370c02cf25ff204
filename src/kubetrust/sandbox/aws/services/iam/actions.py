"""IAM's action mapping: the IAM actions, resources and condition keys of each IAM call.

The ``Action`` parameter names the operation (query protocol,
:mod:`kubetrust.sandbox.aws.operations.query_protocol`, which also decodes its lists and
tags); the resource ARNs follow the Service Authorization Reference (:func:`operation`).
"""

from __future__ import annotations

import re

from kubetrust.sandbox.aws.operations import model, query_protocol

__all__ = ["operation"]

_IAM_ROLE_OPS = frozenset(
    {
        "GetRole",
        "DeleteRole",
        "UpdateRole",
        "UpdateRoleDescription",
        "UpdateAssumeRolePolicy",
        "TagRole",
        "UntagRole",
        "ListRoleTags",
        "PutRolePolicy",
        "GetRolePolicy",
        "DeleteRolePolicy",
        "ListRolePolicies",
        "AttachRolePolicy",
        "DetachRolePolicy",
        "ListAttachedRolePolicies",
        "PutRolePermissionsBoundary",
        "DeleteRolePermissionsBoundary",
        "ListInstanceProfilesForRole",
        "DeleteServiceLinkedRole",
    }
)
_IAM_USER_OPS = frozenset(
    {
        "GetUser",
        "DeleteUser",
        "UpdateUser",
        "TagUser",
        "UntagUser",
        "ListUserTags",
        "PutUserPolicy",
        "GetUserPolicy",
        "DeleteUserPolicy",
        "ListUserPolicies",
        "AttachUserPolicy",
        "DetachUserPolicy",
        "ListAttachedUserPolicies",
        "PutUserPermissionsBoundary",
        "DeleteUserPermissionsBoundary",
        "CreateAccessKey",
        "DeleteAccessKey",
        "UpdateAccessKey",
        "ListAccessKeys",
        "ListGroupsForUser",
        "CreateLoginProfile",
        "GetLoginProfile",
        "UpdateLoginProfile",
        "DeleteLoginProfile",
        "ListMFADevices",
        "EnableMFADevice",
        "DeactivateMFADevice",
        "ListSSHPublicKeys",
        "ListSigningCertificates",
        "ListServiceSpecificCredentials",
        "ChangePassword",
    }
)
_IAM_GROUP_OPS = frozenset(
    {
        "GetGroup",
        "DeleteGroup",
        "UpdateGroup",
        "AddUserToGroup",
        "RemoveUserFromGroup",
        "PutGroupPolicy",
        "GetGroupPolicy",
        "DeleteGroupPolicy",
        "ListGroupPolicies",
        "AttachGroupPolicy",
        "DetachGroupPolicy",
        "ListAttachedGroupPolicies",
    }
)
_IAM_INSTANCE_PROFILE_OPS = frozenset(
    {
        "GetInstanceProfile",
        "DeleteInstanceProfile",
        "AddRoleToInstanceProfile",
        "RemoveRoleFromInstanceProfile",
        "TagInstanceProfile",
        "UntagInstanceProfile",
        "ListInstanceProfileTags",
    }
)
_IAM_ARN_PARAMS: dict[str, str] = {
    # operation → the parameter that is the resource ARN
    **dict.fromkeys(
        (
            "GetPolicy",
            "DeletePolicy",
            "CreatePolicyVersion",
            "GetPolicyVersion",
            "DeletePolicyVersion",
            "ListPolicyVersions",
            "SetDefaultPolicyVersion",
            "TagPolicy",
            "UntagPolicy",
            "ListPolicyTags",
            "ListEntitiesForPolicy",
        ),
        "PolicyArn",
    ),
    **dict.fromkeys(
        (
            "GetOpenIDConnectProvider",
            "DeleteOpenIDConnectProvider",
            "AddClientIDToOpenIDConnectProvider",
            "RemoveClientIDFromOpenIDConnectProvider",
            "UpdateOpenIDConnectProviderThumbprint",
            "TagOpenIDConnectProvider",
            "UntagOpenIDConnectProvider",
            "ListOpenIDConnectProviderTags",
        ),
        "OpenIDConnectProviderArn",
    ),
    **dict.fromkeys(
        (
            "GetSAMLProvider",
            "DeleteSAMLProvider",
            "UpdateSAMLProvider",
            "TagSAMLProvider",
            "UntagSAMLProvider",
            "ListSAMLProviderTags",
        ),
        "SAMLProviderArn",
    ),
    "SimulatePrincipalPolicy": "PolicySourceArn",
    "GetContextKeysForPrincipalPolicy": "PolicySourceArn",
}
_IAM_CREATES: dict[str, tuple[str, str, str | None]] = {
    # operation → (resource type, name parameter, tag action for Tags passed at creation)
    "CreateRole": ("role", "RoleName", "iam:TagRole"),
    "CreateUser": ("user", "UserName", "iam:TagUser"),
    "CreateGroup": ("group", "GroupName", None),
    "CreateInstanceProfile": ("instance-profile", "InstanceProfileName", "iam:TagInstanceProfile"),
    "CreatePolicy": ("policy", "PolicyName", "iam:TagPolicy"),
}
_IAM_LISTS: dict[str, str] = {
    # observed resources of the path-prefix listings (AWS AccessDenied texts):
    # `iam:ListRoles on resource: arn:aws:iam::123456789012:role/`
    "ListRoles": "role",
    "ListUsers": "user",
    "ListGroups": "group",
    "ListInstanceProfiles": "instance-profile",
}
_IAM_TAG_OPS = frozenset(
    {
        "TagRole",
        "TagUser",
        "TagPolicy",
        "TagOpenIDConnectProvider",
        "TagInstanceProfile",
        "TagSAMLProvider",
    }
)
_IAM_UNTAG_OPS = frozenset(
    {
        "UntagRole",
        "UntagUser",
        "UntagPolicy",
        "UntagOpenIDConnectProvider",
        "UntagInstanceProfile",
        "UntagSAMLProvider",
    }
)


def operation(req: model.Request) -> model.Operation:
    """IAM (SAR "AWS Identity and Access Management"; every API action is ``iam:<Name>``).

    Resource types per the SAR: role/user/group/instance-profile operations act on
    ``arn:aws:iam::ACCT:<type>/<path><name>`` (the path from the request for ``Create*``,
    from the lookups otherwise); managed-policy, OIDC- and SAML-provider operations on the
    ARN parameter; ``CreateOpenIDConnectProvider`` on
    ``arn:aws:iam::ACCT:oidc-provider/<Url without https://>`` (reference B.3).
    Listings with a path prefix use what AWS's refusals name: ``…:role/``, ``…:user/``,
    ``…:group/``, ``…:instance-profile/`` (prefix appended), ``policy path /`` for
    ``ListPolicies`` and ``…:oidc-provider/*`` for ``ListOpenIDConnectProviders``.
    Anything else (account-level calls, actions this module does not know) is ``*``.

    Extra authorizations: ``Create{Role,User,Policy,InstanceProfile,OpenIDConnectProvider}``
    with ``Tags`` also need the matching ``iam:Tag*`` (AWS refuses ``CreateRole`` with tags
    without ``iam:TagRole``); ``AddRoleToInstanceProfile`` needs ``iam:PassRole`` on the
    role. Context: ``iam:PolicyARN`` (attach/detach), ``iam:PermissionsBoundary``,
    ``aws:RequestTag/<k>`` and ``aws:TagKeys``.
    """
    name = req.name
    action = f"iam:{name}"
    context = _iam_context(req)
    resources, extra = _iam_resources(req)
    if resources is None:
        known = name in model.service_model("iam").operation_names
        return model.build_operation(req, action, ["*"], context=context, inferred=not known)
    return model.build_operation(req, action, resources, extra=extra, context=context)


def _iam_arn(req: model.Request, resource: str) -> str:
    return f"arn:{req.partition}:iam::{req.account}:{resource}"


def _iam_named(req: model.Request, kind: str, name: str, path: str | None) -> str:
    return _iam_arn(req, f"{kind}{_norm_path(path)}{name}")


def _iam_resources(req: model.Request) -> tuple[list[str] | None, list[model.Authorization]]:
    """The resources of an IAM call and its extra authorizations (``None``: use ``*``)."""
    name = req.name
    extra: list[model.Authorization] = []
    if name in _IAM_CREATES:
        kind, label, tag_action = _IAM_CREATES[name]
        resource = _iam_named(req, kind, req.param(label) or "*", req.param("Path"))
        tags = query_protocol.tags(req.params)
        if tag_action and tags:
            extra.append(model.Authorization(tag_action, resource, model.tag_context(tags)))
        return [resource], extra
    if name == "CreateOpenIDConnectProvider":
        resource = _iam_arn(req, f"oidc-provider/{_oidc_name(req.param('Url') or '*')}")
        tags = query_protocol.tags(req.params)
        if tags:
            tag = model.Authorization(
                "iam:TagOpenIDConnectProvider", resource, model.tag_context(tags)
            )
            extra.append(tag)
        return [resource], extra
    if name in _IAM_ROLE_OPS:
        role = req.param("RoleName") or "*"
        return [_iam_named(req, "role", role, req.role_path(role))], extra
    if name in _IAM_USER_OPS:
        return [_iam_user(req)], extra
    if name in _IAM_GROUP_OPS:
        group = req.param("GroupName") or "*"
        return [_iam_named(req, "group", group, req.entity_path("group", group))], extra
    if name in _IAM_INSTANCE_PROFILE_OPS:
        profile = req.param("InstanceProfileName") or "*"
        path = req.entity_path("instance-profile", profile)
        if name == "AddRoleToInstanceProfile":
            role = req.param("RoleName") or "*"
            role_arn = _iam_named(req, "role", role, req.role_path(role))
            extra.append(model.Authorization("iam:PassRole", role_arn))
        return [_iam_named(req, "instance-profile", profile, path)], extra
    return _iam_other(req), extra


def _iam_other(req: model.Request) -> list[str] | None:
    name = req.name
    if name in _IAM_ARN_PARAMS:
        return [req.param(_IAM_ARN_PARAMS[name]) or "*"]
    if name in _IAM_LISTS:
        prefix = _norm_path(req.param("PathPrefix")).lstrip("/")
        return [_iam_arn(req, f"{_IAM_LISTS[name]}/{prefix}")]
    if name == "ListPolicies":
        return [f"policy path {req.param('PathPrefix') or '/'}"]
    if name == "ListOpenIDConnectProviders":
        return [_iam_arn(req, "oidc-provider/*")]
    if name == "CreateServiceLinkedRole":
        service = req.param("AWSServiceName") or "*"
        return [_iam_arn(req, f"role/aws-service-role/{service}/*")]
    return None


def _iam_user(req: model.Request) -> str:
    """The user an IAM user call acts on: ``UserName``, else the caller (a user or root)."""
    user = req.param("UserName")
    if user:
        return _iam_named(req, "user", user, req.entity_path("user", user))
    caller = req.caller_arn or ""
    if re.match(r"arn:[^:]+:iam::\d{12}:(user/|root\Z)", caller):
        return caller
    return "*"


def _oidc_name(url: str) -> str:
    """An OIDC provider's ARN name: its URL without the scheme (IAM stores it so)."""
    return re.sub(r"\A[A-Za-z][A-Za-z0-9+.-]*://", "", url).rstrip("/") or "*"


def _iam_context(req: model.Request) -> dict[str, object]:
    name = req.name
    context: dict[str, object] = {}
    policy_arn = req.param("PolicyArn")
    if policy_arn and name.startswith(("Attach", "Detach")):
        context["iam:PolicyARN"] = policy_arn
    boundary = req.param("PermissionsBoundary")
    if boundary:
        context["iam:PermissionsBoundary"] = boundary
    if name in _IAM_TAG_OPS or name in _IAM_CREATES or name == "CreateOpenIDConnectProvider":
        context.update(model.tag_context(query_protocol.tags(req.params)))
    if name in _IAM_UNTAG_OPS:
        keys = query_protocol.member_list(req.params, "TagKeys")
        if keys:
            context["aws:TagKeys"] = keys
    return context


def _norm_path(path: str | None) -> str:
    """An IAM path as stored: ``/`` or ``/a/b/``."""
    if not path or path == "/":
        return "/"
    return "/" + path.strip("/") + "/"
