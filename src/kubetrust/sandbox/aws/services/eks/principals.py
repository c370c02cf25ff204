"""The IAM principals behind access entries and callers, and their default Kubernetes names."""

from __future__ import annotations

from kubetrust.sandbox.aws import credentials, state
from kubetrust.sandbox.aws.services.eks import model

# --------------------------------------------------------------------------- principals


def lookup_principal(principal_arn: str) -> model.Principal:
    """The IAM role or user the ARN names exactly (path kept), or EKS's refusal. STS
    session ARNs and service-linked roles are not principals for access entries (E.2)."""
    kind = _principal_kind(principal_arn)
    if kind == "role" and "/aws-service-role/" not in principal_arn:
        role = state.role_by_arn(principal_arn)
        if role is not None and role.arn == principal_arn:
            return model.Principal(role.arn, role.id, "role", role.account, role.name)
    elif kind == "user":
        user = state.user_by_arn(principal_arn)
        if user is not None:
            return model.Principal(user.arn, user.id, "user", user.account, user.name)
    raise model.invalid(model.INVALID_PRINCIPAL)


def _principal_kind(principal_arn: str) -> str | None:
    parts = principal_arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or parts[3]:
        return None
    kind = parts[5].split("/", 1)[0]
    return kind if kind in ("role", "user") and "/" in parts[5] else None


def caller_principal(caller: credentials.Credential) -> model.Principal | None:
    """The IAM principal behind a caller: the role of a session, or the user. A session's
    role is found by its unique id: a role of the same name made later is another role."""
    if caller.role_arn is not None:
        role = state.role_by_id(caller.account, caller.bound_id)
        if role is None:
            return None
        return model.Principal(role.arn, role.id, "role", role.account, role.name)
    user = state.user_by_arn(caller.principal_arn)
    if user is None:
        return None
    return model.Principal(user.arn, user.id, "user", user.account, user.name)


def default_username(kind: str, principal: model.Principal) -> str:
    """E.2: a user's ARN; a role's session ARN (path removed) with ``{{SessionName}}``;
    ``system:node:…`` for node types."""
    if kind in ("EC2_LINUX", "EC2_WINDOWS"):
        return "system:node:{{EC2PrivateDNSName}}"
    if kind in model.NODE_TYPES:
        return "system:node:{{SessionName}}"
    if principal.kind == "user":
        return principal.arn
    partition = principal.arn.split(":", 2)[1]
    session = f"arn:{partition}:sts::{principal.account}:assumed-role/{principal.name}"
    return session + "/{{SessionName}}"


def default_groups(kind: str) -> tuple[str, ...]:
    """Node entries join ``system:nodes`` (the CLI's EC2_LINUX example); STANDARD none."""
    return ("system:nodes",) if kind in model.NODE_TYPES else ()


def strip_path(principal_arn: str) -> str:
    head, _, resource = principal_arn.partition(":role/")
    if not resource:
        head, _, resource = principal_arn.partition(":user/")
        return f"{head}:user/{resource.rsplit('/', 1)[-1]}" if resource else principal_arn
    return f"{head}:role/{resource.rsplit('/', 1)[-1]}"
