"""STS's action mapping: the IAM action, resource and flags of each STS call.

The gate asks this module which authorization an STS request needs before STS itself
(:mod:`kubetrust.sandbox.aws.services.sts.api`) answers it; the ``Action`` parameter names the
operation (query protocol, :mod:`kubetrust.sandbox.aws.operations.query_protocol`).
"""

from __future__ import annotations

from kubetrust.sandbox.aws.operations import model

__all__ = ["operation"]


def operation(req: model.Request) -> model.Operation:
    """STS (SAR "AWS Security Token Service"; botocore ``sts`` model).

    - ``AssumeRole``/``AssumeRoleWithWebIdentity``/``AssumeRoleWithSAML``: resource type
      ``role``, the ``RoleArn`` parameter; the last two are unsigned;
    - ``AssumeRoot``: ``arn:aws:iam::<TargetPrincipal>:root`` (resource ``root-user``);
    - ``GetFederationToken``: ``arn:aws:sts::<account>:federated-user/<Name>``;
    - ``GetCallerIdentity``, ``GetSessionToken``, ``DecodeAuthorizationMessage``,
      ``GetAccessKeyInfo``, ``GetWebIdentityToken``, ``GetDelegatedAccessToken``: no
      resource type, so ``*``; ``GetCallerIdentity`` needs no permission at all.
    """
    name = req.name
    action = f"sts:{name}"
    if name in ("AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"):
        role = req.param("RoleArn") or "*"
        return model.build_operation(req, action, [role], signed=name == "AssumeRole")
    if name == "AssumeRoot":
        target = req.param("TargetPrincipal") or req.account
        target = target.split(":")[4] if target.startswith("arn:") else target
        return model.build_operation(req, action, [f"arn:{req.partition}:iam::{target}:root"])
    if name == "GetFederationToken":
        user = req.param("Name") or "*"
        arn = f"arn:{req.partition}:sts::{req.account}:federated-user/{user}"
        return model.build_operation(req, action, [arn])
    if name == "GetCallerIdentity":
        return model.build_operation(req, action, ["*"], permission_required=False)
    known = name in model.service_model("sts").operation_names
    return model.build_operation(req, action, ["*"], inferred=not known)
