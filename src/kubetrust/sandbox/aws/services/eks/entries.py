"""EKS access entries: create, describe, list, update, delete (E.2, E.3)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping

from kubetrust import arn as arns
from kubetrust.sandbox.aws import credentials, wire
from kubetrust.sandbox.aws.services.eks import model, principals

# --------------------------------------------------------------------------- access entries


class EntryHandlers(model.AccessState):
    """The hook's handlers for access entries (E.2, E.3)."""

    def _create_entry(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        """E.2. Texts: [seen] "already in use" (409, terraform-aws-eks#2977/#3293), "invalid
        principal" (terraform-aws-eks#2969, a principal that does not exist or an ARN
        without the role's path), "kubernetes group name … cannot start with system:"
        (terraform-aws-eks#2915). A principal IAM holds but has not propagated yet is
        "invalid principal" too (reference H.1): EKS does not see it yet."""
        access = self._writable_api_cluster(call, "CreateAccessEntry")
        principal_arn = str(call.body.get("principalArn") or "")
        kind = str(call.body.get("type") or model.STANDARD)
        groups = string_list(call.body.get("kubernetesGroups"), "kubernetesGroups")
        username = call.body.get("username")
        tags = _tags(call.body.get("tags"))
        token = call.body.get("clientRequestToken")
        _check_type(kind)
        existing = access.entries.get(principal_arn)
        if existing is not None:
            if token and existing.client_request_token == token:
                return model.ok({"accessEntry": existing.to_wire()})
            raise wire.AwsError("ResourceInUseException", model.ENTRY_IN_USE, 409)
        principal = principals.lookup_principal(principal_arn)
        if not self.propagation.principal_visible(principal.arn):
            raise model.invalid(model.INVALID_PRINCIPAL)
        _check_new_entry(kind, principal, access, groups, username)
        now = self._now()
        entry = self._new_entry(call.account, call.region, call.cluster, principal, kind, now)
        entry = dataclasses.replace(
            entry,
            username=str(username) if username else entry.username,
            kubernetes_groups=tuple(groups) if groups else entry.kubernetes_groups,
            tags=tags,
            client_request_token=str(token) if token else None,
        )
        access.entries[principal.arn] = entry
        return model.ok({"accessEntry": entry.to_wire()})

    def _new_entry(
        self,
        account: str,
        region: str,
        cluster: str,
        principal: model.Principal,
        kind: str,
        now: float,
    ) -> model.AccessEntry:
        arn = (
            f"arn:{arns.partition_of_region(region)}:eks:{region}:{account}:access-entry/{cluster}/"
            f"{principal.kind}/{principal.account}/{principal.name}/{uuid.uuid4()}"
        )
        return model.AccessEntry(
            cluster=cluster,
            principal_arn=principal.arn,
            principal_id=principal.id,
            arn=arn,
            type=kind,
            username=principals.default_username(kind, principal),
            kubernetes_groups=principals.default_groups(kind),
            created_at=now,
            modified_at=now,
        )

    def _describe_entry(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        """[seen] not-found text: terraform-aws-eks#3024 (AssociateAccessPolicy), the same
        for DescribeAccessEntry in CLI transcripts."""
        entry = self._entry(self._api_cluster(call), call.label(3))
        return model.ok({"accessEntry": entry.to_wire()})

    def _list_entries(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        access = self._api_cluster(call)
        policy = call.first("associatedPolicyArn")
        arns = [a for a, e in access.entries.items() if policy is None or e.policy(policy)]
        page, token = model.page(arns, call)
        return model.ok({"accessEntries": page, **({"nextToken": token} if token else {})})

    def _update_entry(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        """Groups and username change; type and principal never do (E.2). EKS checks the
        name prefixes whatever the type ([seen] aws-ia/terraform-aws-eks-blueprints#2004,
        an EC2_LINUX entry: "The username must not begin with system:")."""
        access = self._writable_api_cluster(call, "UpdateAccessEntry")
        entry = self._entry(access, call.label(3))
        raw_groups = call.body.get("kubernetesGroups")
        groups = None if raw_groups is None else string_list(raw_groups, "kubernetesGroups")
        username = call.body.get("username")
        if username:
            _check_username(str(username))
        if groups:
            _check_groups(groups)
        if entry.type != model.STANDARD and (groups or username):
            raise model.invalid(
                f"kubernetesGroups and username can't be set on a {entry.type} entry."
            )
        entry = dataclasses.replace(
            entry,
            kubernetes_groups=entry.kubernetes_groups if groups is None else tuple(groups),
            username=str(username) if username else entry.username,
            modified_at=self._now(),
        )
        access.entries[entry.principal_arn] = entry
        return model.ok({"accessEntry": entry.to_wire()})

    def _delete_entry(self, _caller: credentials.Credential, call: model.Call) -> model.Response:
        access = self._writable_api_cluster(call, "DeleteAccessEntry")
        entry = self._entry(access, call.label(3))
        del access.entries[entry.principal_arn]
        return model.ok({})


# --------------------------------------------------------------------------- validation


def _check_type(kind: str) -> None:
    if kind not in model.ENTRY_TYPES:
        raise model.invalid(
            f"The type {kind} is not valid. Valid values: {sorted(model.ENTRY_TYPES)}"
        )


def _check_new_entry(
    kind: str,
    principal: model.Principal,
    access: model.ClusterAccess,
    groups: list[str],
    username: object,
) -> None:
    """Type rules of E.2: node types take a role of the cluster's account and set their
    own username and groups; STANDARD names are free but for the reserved prefixes."""
    if kind == model.STANDARD:
        if username:
            _check_username(str(username))
        _check_groups(groups)
        return
    cluster_account = str(getattr(access.cluster, "arn", "::::").split(":")[4])
    if principal.kind != "role" or principal.account != cluster_account:
        raise model.invalid(
            f"Access entries of type {kind} require an IAM role in the cluster's account."
        )
    if groups or username:
        raise model.invalid(f"kubernetesGroups and username can't be set on a {kind} entry.")


def _check_groups(groups: list[str]) -> None:
    """[seen] terraform-aws-eks#2915, eksctl-io/eksctl#7446."""
    for group in groups:
        if group.startswith("system:"):
            raise model.invalid(
                f"The kubernetes group name {group} is invalid, it cannot start with system:"
            )


def _check_username(username: str) -> None:
    """Reserved prefixes and ``{{SessionName}}`` after a colon (E.2). The prefix text is
    [seen] for ``system:``; the same form is assumed for the other prefixes."""
    for prefix in model.RESERVED_USERNAME_PREFIXES:
        if username.startswith(prefix):
            raise model.invalid(f"The username must not begin with {prefix}")
    for template in ("{{SessionName}}", "{{SessionNameRaw}}"):
        at = username.find(template)
        if at >= 0 and ":" not in username[:at]:
            raise model.invalid(
                f"The username {username} is invalid: a colon must come before {template}"
            )


def string_list(raw: object, what: str) -> list[str]:
    """A list-of-strings parameter (``kubernetesGroups``, ``namespaces``), or EKS's refusal."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise model.invalid(f"{what} must be a list of strings.")
    return list(raw)


def _tags(raw: object) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise model.invalid("tags must be a map of strings.")
    if len(raw) > model.MAX_TAGS:
        raise model.invalid(f"A resource can have at most {model.MAX_TAGS} tags.")
    return {str(k): str(v) for k, v in raw.items()}
