"""The resources of a template as a world (:mod:`kubetrust.explain.worlds` format).

Property names are CloudFormation's (reference I.2). Policy documents may be objects or
JSON text (``!Sub`` over a JSON string is how templates put an issuer into a condition
key, which YAML keys cannot compute): both are read. A policy or managed policy names the
roles it attaches to; a role not in the same template cannot be completed here, so that is
a warning, not a silent drop. A resource type kubetrust does not model is a warning too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubetrust import errors
from kubetrust.iac import model
from kubetrust.iac.cloudformation_intrinsics import Resolver
from kubetrust.iac.cloudformation_names import (
    CLUSTER,
    MANAGED_POLICY,
    OIDC_PROVIDER,
    ROLE,
    cluster_arn,
)
from kubetrust.iac.model import Location
from kubetrust.model.vocabulary import CONFIG_MAP

RoleFinder = Callable[[str], "dict[str, Any] | None"]
"""A role another template of the same account declares, by name (``None``: none does)."""

POLICY = "AWS::IAM::Policy"
ROLE_POLICY = "AWS::IAM::RolePolicy"
ACCESS_ENTRY = "AWS::EKS::AccessEntry"
ASSOCIATION = "AWS::EKS::PodIdentityAssociation"
ADDON = "AWS::EKS::Addon"


@dataclass(slots=True)
class WorldBuilder:
    """Collects one template's account and clusters, and where each was declared."""

    resolver: Resolver
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Role name → world role."""
    policies: list[dict[str, Any]] = field(default_factory=list)
    providers: list[dict[str, Any]] = field(default_factory=list)
    clusters: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Cluster name → world cluster."""
    locations: dict[str, Location] = field(default_factory=dict)
    attachments: list[tuple[str, str, Callable[[dict[str, Any]], None]]] = field(
        default_factory=list
    )
    """(logical id, role name, how to attach): done once every role is known."""

    def world(self) -> dict[str, Any]:
        account: dict[str, Any] = {"id": self.resolver.account}
        if self.roles:
            account["roles"] = list(self.roles.values())
        if self.policies:
            account["policies"] = self.policies
        if self.providers:
            account["oidc_providers"] = self.providers
        return {"accounts": [account], "clusters": list(self.clusters.values())}

    def locate(self, key: str, logical_id: str) -> None:
        template = self.resolver.template
        self.locations[key] = Location(template.file, logical_id, template.lines.get(logical_id))

    def attach_all(self, elsewhere: RoleFinder) -> None:
        """Attach the policies to their roles: this template's, else one another template
        of the account declares (``elsewhere``), else a *partial* role that adds them to
        that role of the base (bundle or live) the templates are read over."""
        for logical_id, role_name, attach in self.attachments:
            role = self.roles.get(role_name) or elsewhere(role_name)
            if role is None:
                role = self.roles.setdefault(
                    role_name, {"name": role_name, "partial": True, "policies": {}, "managed": []}
                )
                self.resolver.symbols.warn(
                    f"{self.resolver.template.where(logical_id)}: role {role_name} is not "
                    f"declared in the templates given for account {self.resolver.account}: "
                    "the policy is added to that role of --bundle or the live account, if any"
                )
            attach(role)


def add_resource(builder: WorldBuilder, logical_id: str, resource: Mapping[str, Any]) -> None:
    """Put one resource into ``builder`` (or warn that its type is not modelled)."""
    kind = str(resource["Type"])
    reader = READERS.get(kind)
    if reader is None:
        builder.resolver.symbols.warn(
            f"{builder.resolver.template.where(logical_id)}: {kind} is not modelled (ignored)"
        )
        return
    properties = builder.resolver.resolve(resource.get("Properties") or {}, logical_id)
    try:
        reader(builder, logical_id, properties)
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise errors.InputError(
            f"{builder.resolver.template.where(logical_id)}: {kind} {logical_id}: "
            f"{_shape_problem(error)} (see the resource's properties in the CloudFormation "
            "reference)"
        ) from None


def _shape_problem(error: Exception) -> str:
    """What a reader tripped on in properties of the wrong shape, said as a template author
    would fix it: the readers walk the documented property shapes, and a template that does
    not follow them must get a located error, never a traceback."""
    if isinstance(error, KeyError):
        return f"a required property {error.args[0]!r} is missing"
    return f"a property does not have the shape CloudFormation documents ({error})"


def _document(builder: WorldBuilder, value: object, logical_id: str, what: str) -> object:
    if isinstance(value, str):
        try:
            return errors.decode_json(value)
        except ValueError as error:
            reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
            raise builder.resolver.error(
                logical_id, f"{what} is not a JSON policy document ({reason})"
            ) from error
    if not isinstance(value, Mapping):
        raise builder.resolver.error(logical_id, f"{what} must be a policy document")
    return value


def _tags(tags: list[Mapping[str, Any]]) -> dict[str, Any]:
    """``[{Key, Value}]`` as a mapping; a tag whose value went away (``AWS::NoValue``) too."""
    return {tag["Key"]: tag["Value"] for tag in tags if "Key" in tag and "Value" in tag}


def _required(builder: WorldBuilder, properties: Mapping[str, Any], name: str, lid: str) -> Any:
    if name not in properties:
        raise builder.resolver.error(lid, f"{name} is required")
    return properties[name]


def _role(builder: WorldBuilder, logical_id: str, properties: Mapping[str, Any]) -> None:
    names = builder.resolver.attribute
    name = str(names(logical_id, "Ref"))
    trust = _required(builder, properties, "AssumeRolePolicyDocument", logical_id)
    role: dict[str, Any] = {
        "name": name,
        "path": properties.get("Path", "/"),
        "trust": _document(builder, trust, logical_id, "AssumeRolePolicyDocument"),
        "policies": {},
        "managed": list(properties.get("ManagedPolicyArns") or []),
    }
    for policy in properties.get("Policies") or []:
        policy_name = _required(builder, policy, "PolicyName", logical_id)
        document = _required(builder, policy, "PolicyDocument", logical_id)
        role["policies"][str(policy_name)] = _document(
            builder, document, logical_id, f"policy {policy_name}"
        )
    if properties.get("PermissionsBoundary"):
        role["boundary"] = properties["PermissionsBoundary"]
    if properties.get("MaxSessionDuration"):
        role["max_session_duration"] = int(properties["MaxSessionDuration"])
    if properties.get("Tags"):
        role["tags"] = _tags(properties["Tags"])
    builder.roles[name] = role
    builder.locate(model.arn_key(str(names(logical_id, "Arn"))), logical_id)


def _inline_policy(builder: WorldBuilder, logical_id: str, properties: Mapping[str, Any]) -> None:
    name = str(_required(builder, properties, "PolicyName", logical_id))
    document = _document(
        builder,
        _required(builder, properties, "PolicyDocument", logical_id),
        logical_id,
        "PolicyDocument",
    )
    roles = properties.get("Roles") or []
    if "RoleName" in properties:  # AWS::IAM::RolePolicy
        roles = [properties["RoleName"]]
    for user_or_group in ("Users", "Groups"):
        if properties.get(user_or_group):
            builder.resolver.symbols.warn(
                f"{builder.resolver.template.where(logical_id)}: {user_or_group} of a policy "
                "are not modelled from templates (ignored)"
            )
    for role_name in roles:
        builder.attachments.append(
            (logical_id, str(role_name), lambda role: role["policies"].__setitem__(name, document))
        )


def _managed_policy(builder: WorldBuilder, logical_id: str, properties: Mapping[str, Any]) -> None:
    policy_arn = str(builder.resolver.attribute(logical_id, "Ref"))
    document = _document(
        builder,
        _required(builder, properties, "PolicyDocument", logical_id),
        logical_id,
        "PolicyDocument",
    )
    builder.policies.append(
        {"name": policy_arn.rsplit("/", 1)[-1], "arn": policy_arn, "document": document}
    )
    builder.locate(model.arn_key(policy_arn), logical_id)
    for role_name in properties.get("Roles") or []:
        builder.attachments.append(
            (logical_id, str(role_name), lambda role: role["managed"].append(policy_arn))
        )


def _oidc_provider(builder: WorldBuilder, logical_id: str, properties: Mapping[str, Any]) -> None:
    url = str(_required(builder, properties, "Url", logical_id))
    client_ids = [str(c) for c in properties.get("ClientIdList") or []]
    builder.providers.append({"url": url, "client_ids": client_ids})
    builder.locate(model.arn_key(str(builder.resolver.attribute(logical_id, "Ref"))), logical_id)


def _cluster_named(builder: WorldBuilder, name: str) -> dict[str, Any]:
    """The world cluster ``name``: declared in this template, or a *partial* one that only
    carries this template's entries and associations (its other facts come from the base
    the template is read over)."""
    resolver = builder.resolver
    return builder.clusters.setdefault(
        name,
        {"name": name, "account": resolver.account, "region": resolver.region, "partial": True},
    )


def _cluster_arn(builder: WorldBuilder, name: str) -> str:
    return cluster_arn(builder.resolver, name)


def _cluster(builder: WorldBuilder, logical_id: str, properties: Mapping[str, Any]) -> None:
    names = builder.resolver.attribute
    name = str(names(logical_id, "Ref"))
    cluster = _cluster_named(builder, name)
    cluster.pop("partial", None)
    access = properties.get("AccessConfig") or {}
    cluster["issuer"] = str(names(logical_id, "OpenIdConnectIssuerUrl"))
    cluster["authentication_mode"] = access.get("AuthenticationMode", CONFIG_MAP)
    if properties.get("Tags"):
        cluster["tags"] = _tags(properties["Tags"])
    # the template is read as the stack it creates: the cluster has no add-on but its own
    # (over a base holding the cluster, the overlay keeps the base's add-ons instead)
    cluster["addons_complete"] = True
    builder.locate(model.arn_key(_cluster_arn(builder, name)), logical_id)


def _access_entry(builder: WorldBuilder, logical_id: str, properties: Mapping[str, Any]) -> None:
    cluster_name = str(_required(builder, properties, "ClusterName", logical_id))
    principal = str(_required(builder, properties, "PrincipalArn", logical_id))
    entry: dict[str, Any] = {"principalArn": principal, "type": properties.get("Type", "STANDARD")}
    if properties.get("Username"):
        entry["username"] = properties["Username"]
    if properties.get("KubernetesGroups"):
        entry["kubernetesGroups"] = list(properties["KubernetesGroups"])
    policies = [
        {
            "policyArn": policy["PolicyArn"],
            "accessScope": {
                "type": policy["AccessScope"]["Type"],
                "namespaces": list(policy["AccessScope"].get("Namespaces") or []),
            },
        }
        for policy in properties.get("AccessPolicies") or []
    ]
    if policies:
        entry["policies"] = policies
    _cluster_named(builder, cluster_name).setdefault("access_entries", []).append(entry)
    cluster_arn = _cluster_arn(builder, cluster_name)
    builder.locate(model.access_entry_key(cluster_arn, principal), logical_id)
    for policy in policies:
        key = model.access_policy_key(cluster_arn, principal, policy["policyArn"])
        builder.locate(key, logical_id)


def _association(builder: WorldBuilder, logical_id: str, properties: Mapping[str, Any]) -> None:
    cluster_name = str(_required(builder, properties, "ClusterName", logical_id))
    namespace = str(_required(builder, properties, "Namespace", logical_id))
    service_account = str(_required(builder, properties, "ServiceAccount", logical_id))
    entry: dict[str, Any] = {
        "namespace": namespace,
        "serviceAccount": service_account,
        "roleArn": str(_required(builder, properties, "RoleArn", logical_id)),
    }
    if properties.get("TargetRoleArn"):
        entry["targetRoleArn"] = properties["TargetRoleArn"]
    if "DisableSessionTags" in properties:
        entry["disableSessionTags"] = properties["DisableSessionTags"] in (True, "true", "True")
    cluster = _cluster_named(builder, cluster_name)
    cluster.setdefault("pod_identity_associations", []).append(entry)
    key = model.association_key(_cluster_arn(builder, cluster_name), namespace, service_account)
    builder.locate(key, logical_id)


def _addon(builder: WorldBuilder, logical_id: str, properties: Mapping[str, Any]) -> None:
    cluster = _cluster_named(
        builder, str(_required(builder, properties, "ClusterName", logical_id))
    )
    cluster_name = str(cluster["name"])
    name = str(_required(builder, properties, "AddonName", logical_id))
    cluster.setdefault("addons", []).append(name)
    builder.locate(model.addon_key(_cluster_arn(builder, cluster_name), name), logical_id)


READERS: Mapping[str, Callable[[WorldBuilder, str, Mapping[str, Any]], None]] = {
    ROLE: _role,
    POLICY: _inline_policy,
    ROLE_POLICY: _inline_policy,
    MANAGED_POLICY: _managed_policy,
    OIDC_PROVIDER: _oidc_provider,
    CLUSTER: _cluster,
    ACCESS_ENTRY: _access_entry,
    ASSOCIATION: _association,
    ADDON: _addon,
}
