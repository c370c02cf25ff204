"""Planned resources → a world (the :mod:`kubetrust.explain.worlds` format) with sources.

One handler per resource type kubetrust models (reference I.1 lists them); each puts its
part of the world in place and the resource address of every key it declares
(:mod:`kubetrust.iac.model` conventions), or — for a ``delete`` action — the key among the
deletions. Parts an input states about things it does not declare carry ``partial`` (a
role whose policies alone are planned, a cluster whose access entries alone are): the
overlay adds them to what the base holds instead of replacing it. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kubetrust import arn, errors
from kubetrust.iac import model
from kubetrust.iac.model import Location
from kubetrust.iac.symbolic import has_placeholder
from kubetrust.iac.terraform_plan import PlanResource, items
from kubetrust.iac.terraform_policy import decode_policy
from kubetrust.iac.terraform_refs import Resolver, dig
from kubetrust.model.vocabulary import CONFIG_MAP
from kubetrust.yaml_codec import CODEC

__all__ = ["DATA_HANDLED", "HANDLED", "WorldBuilder"]

_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"


class WorldBuilder:
    """The world of one plan, filled resource by resource (module doc)."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.plan = resolver.plan
        self.accounts: dict[str, dict[str, Any]] = {}
        self.roles: dict[tuple[str, str], dict[str, Any]] = {}
        self.clusters: dict[str, dict[str, Any]] = {}
        self.locations: dict[str, Location] = {}
        self.deleted: set[str] = set()
        self.warnings: list[str] = []

    # ------------------------------------------------------------------ helpers
    def locate(self, key: str, resource: PlanResource) -> None:
        if resource.deleted:
            self.deleted.add(key)
        else:
            self.locations.setdefault(key, Location(self.plan.file, resource.address))

    def warn(self, resource: PlanResource, what: str) -> None:
        self.warnings.append(f"{self.plan.file}: {resource.address}: {what}")

    def account(self, account_id: str) -> dict[str, Any]:
        return self.accounts.setdefault(account_id, {"id": account_id})

    def role(self, account_id: str, name: str) -> dict[str, Any]:
        key = (account_id, name.lower())
        if key not in self.roles:
            entry: dict[str, Any] = {"name": name, "partial": True}
            self.roles[key] = entry
            self.account(account_id).setdefault("roles", []).append(entry)
        return self.roles[key]

    def role_arn(self, account_id: str, name: str) -> str:
        entry = self.roles.get((account_id, name.lower())) or {}
        return f"arn:aws:iam::{account_id}:role{entry.get('path', '/')}{name}"

    def policy(self, resource: PlanResource, attribute: str) -> Mapping[str, Any] | None:
        """A policy attribute as a document; unknown or malformed: warned, ``None``."""
        text = self.resolver.value(resource, (attribute,))
        document = decode_policy(text)
        if document is None and (text is None or has_placeholder(text)):
            self.warn(
                resource,
                f"`{attribute}` is known only after apply and cannot be followed "
                f"(known after apply ({resource.address}.{attribute})): left out",
            )
        elif document is None:
            self.warn(resource, f"`{attribute}` is not a JSON policy document: left out")
        return document

    def cluster(self, resource: PlanResource, name: str) -> dict[str, Any]:
        """The world cluster named ``name`` in the resource's account and region (the
        plan's ``aws_eks_cluster`` of that name when there is one)."""
        for entry in self.clusters.values():
            if entry["name"] == name:
                return entry
        account = self.resolver.placement.account(resource)
        region = self.resolver.placement.require_region(resource)
        cluster_arn = f"arn:aws:eks:{region}:{account}:cluster/{name}"
        return self.cluster_by_arn(cluster_arn)

    def cluster_by_arn(self, cluster_arn: str) -> dict[str, Any]:
        if cluster_arn not in self.clusters:
            parsed = arn.parse(cluster_arn)
            self.clusters[cluster_arn] = {
                "name": parsed.resource.split("/", 1)[1],
                "account": parsed.account,
                "region": parsed.region,
                "partial": True,
            }
        return self.clusters[cluster_arn]

    def world(self) -> dict[str, Any]:
        return {"accounts": list(self.accounts.values()), "clusters": list(self.clusters.values())}


def _cluster_arn(cluster: Mapping[str, Any]) -> str:
    return f"arn:aws:eks:{cluster['region']}:{cluster['account']}:cluster/{cluster['name']}"


# ---------------------------------------------------------------------- IAM
def iam_role(builder: WorldBuilder, resource: PlanResource) -> None:
    r = builder.resolver
    name = r.text(resource, ("name",))
    if name is None:
        builder.warn(resource, "no role `name` (name_prefix is not followed): left out")
        return
    account = r.placement.account(resource, r.known(resource, ("arn",)))
    role = builder.role(account, name)
    role_arn = f"arn:aws:iam::{account}:role{r.known(resource, ('path',)) or '/'}{name}"
    builder.locate(role_arn, resource)
    if resource.deleted:
        return
    role.pop("partial", None)
    role["path"] = r.known(resource, ("path",)) or "/"
    trust = builder.policy(resource, "assume_role_policy")
    role["trust"] = trust if trust is not None else {"Version": "2012-10-17", "Statement": []}
    duration = r.known(resource, ("max_session_duration",))
    if isinstance(duration, int):
        role["max_session_duration"] = duration
    boundary = r.text(resource, ("permissions_boundary",))
    if boundary:
        role["boundary"] = boundary
    tags = r.known(resource, ("tags",))
    if isinstance(tags, Mapping) and tags:
        role["tags"] = dict(tags)
    blocks = dig(resource.values, ("inline_policy",))
    for index, block in enumerate(blocks if isinstance(blocks, list) else []):
        policy_name = block.get("name") if isinstance(block, Mapping) else None
        if policy_name:
            document = decode_policy(r.value(resource, ("inline_policy", index, "policy")))
            if document is None:
                builder.warn(resource, f"inline policy `{policy_name}` is not readable: left out")
            else:
                role.setdefault("policies", {})[policy_name] = document
    managed = (
        r.strings(resource, ("managed_policy_arns",))
        if r.references(resource, ("managed_policy_arns",))
        or not r.is_unknown(resource, ("managed_policy_arns",))
        else []  # computed from the attachments: not an argument of this resource
    )
    if managed:
        role["managed"] = sorted({*role.get("managed", []), *managed})


def _role_of(builder: WorldBuilder, resource: PlanResource, field: str) -> tuple[str, str] | None:
    """(account, role name) of a ``role``/``role_name`` argument (a name, or an ARN)."""
    value = builder.resolver.text(resource, (field,))
    if value is None:
        builder.warn(resource, f"no `{field}`: left out")
        return None
    if value.startswith("arn:"):
        parsed = arn.parse(value)
        return parsed.account, parsed.resource_name
    return builder.resolver.placement.account(resource), value


def iam_role_policy(builder: WorldBuilder, resource: PlanResource) -> None:
    found = _role_of(builder, resource, "role")
    name = builder.resolver.text(resource, ("name",))
    if found is None or name is None:
        return
    account, role_name = found
    role = builder.role(account, role_name)
    builder.locate(f"{builder.role_arn(account, role_name)}#inline/{name}", resource)
    if resource.deleted:
        role.setdefault("removed_policies", []).append(name)
        return
    document = builder.policy(resource, "policy")
    if document is not None:
        role.setdefault("policies", {})[name] = document


def iam_policy(builder: WorldBuilder, resource: PlanResource) -> None:
    r = builder.resolver
    policy_arn = r.text(resource, ("arn",))
    name = r.text(resource, ("name",))
    if policy_arn is None or name is None:
        builder.warn(resource, "no policy `name`: left out")
        return
    account = r.placement.account(resource, policy_arn)
    builder.locate(policy_arn, resource)
    if resource.deleted:
        return
    document = builder.policy(resource, "policy")
    if document is not None:
        entry = {"name": name, "arn": policy_arn, "document": document}
        builder.account(account).setdefault("policies", []).append(entry)


def iam_role_policy_attachment(builder: WorldBuilder, resource: PlanResource) -> None:
    found = _role_of(builder, resource, "role")
    policy_arn = builder.resolver.text(resource, ("policy_arn",))
    if found is None or policy_arn is None:
        return
    role = builder.role(*found)
    builder.locate(f"{builder.role_arn(*found)}#managed/{policy_arn}", resource)
    if resource.deleted:
        role.setdefault("removed_managed", []).append(policy_arn)
    else:
        role["managed"] = sorted({*role.get("managed", []), policy_arn})


def iam_role_policy_attachments_exclusive(builder: WorldBuilder, resource: PlanResource) -> None:
    found = _role_of(builder, resource, "role_name")
    if found is None or resource.deleted:
        return
    role = builder.role(*found)
    role["managed"] = sorted(builder.resolver.strings(resource, ("policy_arns",)))
    role["managed_exclusive"] = True
    builder.locate(f"{builder.role_arn(*found)}#managed", resource)


def iam_role_policies_exclusive(builder: WorldBuilder, resource: PlanResource) -> None:
    found = _role_of(builder, resource, "role_name")
    if found is None or resource.deleted:
        return
    role = builder.role(*found)
    role["inline_exclusive"] = sorted(builder.resolver.strings(resource, ("policy_names",)))
    builder.locate(f"{builder.role_arn(*found)}#inline", resource)


def oidc_provider(builder: WorldBuilder, resource: PlanResource) -> None:
    r = builder.resolver
    url = r.text(resource, ("url",))
    provider_arn = r.text(resource, ("arn",))
    if url is None or provider_arn is None:
        builder.warn(resource, "no `url`: left out")
        return
    account = r.placement.account(resource, provider_arn)
    builder.locate(provider_arn, resource)
    if resource.deleted:
        return
    entry = {
        "url": url if url.startswith("https://") else f"https://{url}",
        "client_ids": r.strings(resource, ("client_id_list",)),
    }
    builder.account(account).setdefault("oidc_providers", []).append(entry)


# ---------------------------------------------------------------------- EKS
def eks_cluster(builder: WorldBuilder, resource: PlanResource) -> None:
    r = builder.resolver
    cluster_arn = r.text(resource, ("arn",))
    if cluster_arn is None or not cluster_arn.startswith("arn:"):
        builder.warn(resource, "no `name` or region: left out")
        return
    builder.locate(cluster_arn, resource)
    if resource.deleted:
        return
    cluster = builder.cluster_by_arn(cluster_arn)
    cluster.pop("partial", None)
    issuer = r.text(resource, ("identity", 0, "oidc", 0, "issuer"))
    if issuer:
        cluster["issuer"] = issuer
    mode = r.known(resource, ("access_config", 0, "authentication_mode"))
    cluster["authentication_mode"] = mode if isinstance(mode, str) else CONFIG_MAP
    tags = r.known(resource, ("tags",))
    if isinstance(tags, Mapping) and tags:
        cluster["tags"] = dict(tags)
    if "create" in resource.actions:
        # a cluster that does not exist yet has no add-on the plan does not make
        cluster["addons_complete"] = True


def eks_cluster_data(builder: WorldBuilder, resource: PlanResource) -> None:
    """A ``data.aws_eks_cluster`` read while planning: a cluster that exists, as it is.
    Its issuer and authentication mode (what entries and associations planned for it
    depend on) go to the world as a ``partial`` cluster: over a base, the base's cluster
    stays as it was."""
    r = builder.resolver
    cluster_arn = r.known(resource, ("arn",))
    if not isinstance(cluster_arn, str) or not cluster_arn.startswith("arn:"):
        return
    cluster = builder.cluster_by_arn(cluster_arn)
    issuer = r.known(resource, ("identity", 0, "oidc", 0, "issuer"))
    if isinstance(issuer, str) and issuer:
        cluster.setdefault("issuer", issuer)
    mode = r.known(resource, ("access_config", 0, "authentication_mode"))
    if isinstance(mode, str) and mode:
        cluster.setdefault("authentication_mode", mode)


def eks_addon(builder: WorldBuilder, resource: PlanResource) -> None:
    """An ``aws_eks_addon`` (also terraform-aws-modules/eks' ``cluster_addons``, which are
    ``aws_eks_addon.this["NAME"]`` in the module): the add-on is on its cluster after
    apply, or gone when the plan deletes it. Only the Pod Identity Agent matters to the
    chain (reference F.2); every add-on is recorded all the same."""
    cluster = _cluster_of(builder, resource)
    name = builder.resolver.text(resource, ("addon_name",))
    if cluster is None:
        return
    if name is None:
        builder.warn(resource, "no `addon_name`: left out")
        return
    builder.locate(model.addon_key(_cluster_arn(cluster), name), resource)
    field = "removed_addons" if resource.deleted else "addons"
    names = cluster.setdefault(field, [])
    if name not in names:
        names.append(name)


def _cluster_of(builder: WorldBuilder, resource: PlanResource) -> dict[str, Any] | None:
    name = builder.resolver.text(resource, ("cluster_name",))
    if name is None:
        builder.warn(resource, "no `cluster_name`: left out")
        return None
    return builder.cluster(resource, name)


def access_entry(builder: WorldBuilder, resource: PlanResource) -> None:
    r = builder.resolver
    cluster = _cluster_of(builder, resource)
    principal = r.text(resource, ("principal_arn",))
    if cluster is None or principal is None:
        return
    builder.locate(model.access_entry_key(_cluster_arn(cluster), principal), resource)
    if resource.deleted:
        return
    entry = _entry(cluster, principal)
    entry.pop("partial", None)
    entry["kubernetesGroups"] = _configured_strings(r, resource, "kubernetes_groups")
    entry["type"] = r.known(resource, ("type",)) or "STANDARD"
    username = _configured_text(r, resource, "user_name")
    if username:
        entry["username"] = username


def _configured_strings(r: Resolver, resource: PlanResource, field: str) -> list[str]:
    """A list attribute; one unknown that the configuration does not set is AWS's
    default (an access entry's ``kubernetes_groups``: none), not a value to follow."""
    if r.is_unknown(resource, (field,)) and not r.configured(resource, (field,)):
        return []
    return r.strings(resource, (field,))


def _configured_text(r: Resolver, resource: PlanResource, field: str) -> str | None:
    """A string attribute; ``None`` for one unknown the configuration does not set (an
    access entry's ``user_name``: EKS's default for the principal)."""
    if r.is_unknown(resource, (field,)) and not r.configured(resource, (field,)):
        return None
    return r.text(resource, (field,))


def _entry(cluster: dict[str, Any], principal: str) -> dict[str, Any]:
    entries = cluster.setdefault("access_entries", [])
    for entry in entries:
        if entry["principalArn"] == principal:
            found: dict[str, Any] = entry
            return found
    entry = {"principalArn": principal, "partial": True}
    entries.append(entry)
    return entry


def access_policy_association(builder: WorldBuilder, resource: PlanResource) -> None:
    r = builder.resolver
    cluster = _cluster_of(builder, resource)
    principal = r.text(resource, ("principal_arn",))
    policy_arn = r.text(resource, ("policy_arn",))
    if cluster is None or principal is None or policy_arn is None:
        return
    key = model.access_policy_key(_cluster_arn(cluster), principal, policy_arn)
    builder.locate(key, resource)
    if resource.deleted:
        return
    scope: dict[str, Any] = {"type": r.known(resource, ("access_scope", 0, "type")) or "cluster"}
    namespaces = r.strings(resource, ("access_scope", 0, "namespaces"))
    if namespaces:
        scope["namespaces"] = namespaces
    policies = _entry(cluster, principal).setdefault("policies", [])
    policies.append({"policyArn": policy_arn, "accessScope": scope})


def pod_identity_association(builder: WorldBuilder, resource: PlanResource) -> None:
    r = builder.resolver
    cluster = _cluster_of(builder, resource)
    namespace = r.text(resource, ("namespace",))
    account_name = r.text(resource, ("service_account",))
    if cluster is None or namespace is None or account_name is None:
        return
    builder.locate(model.association_key(_cluster_arn(cluster), namespace, account_name), resource)
    associations = cluster.setdefault("pod_identity_associations", [])
    if resource.deleted:
        return
    entry: dict[str, Any] = {"namespace": namespace, "serviceAccount": account_name}
    role_arn = r.text(resource, ("role_arn",))
    if role_arn:
        entry["roleArn"] = role_arn
    target = r.text(resource, ("target_role_arn",))
    if target:
        entry["targetRoleArn"] = target
    if r.known(resource, ("disable_session_tags",)) is True:
        entry["disableSessionTags"] = True
    associations.append(entry)


# ---------------------------------------------------------------------- Kubernetes
def _kubernetes_cluster(builder: WorldBuilder, resource: PlanResource) -> dict[str, Any] | None:
    """The cluster a Kubernetes resource goes to: the cluster its provider's ``host`` (or
    token, CA) references, else ``--account-map PROVIDER=CLUSTER_ARN``."""
    placement = builder.resolver.placement
    key = placement.provider_key(resource)
    provider = placement.provider(resource)
    module = str(provider.get("module_address") or "")
    for ref in _all_references(provider.get("expressions")):
        target = _cluster_target(builder, module, ref, depth=0)
        if target is not None:
            return builder.cluster_by_arn(target)
    mapped = placement.mapped_cluster(key)
    if mapped is not None:
        return builder.cluster_by_arn(mapped)
    raise errors.InputError(
        f"{builder.plan.file}: {resource.address}: cannot tell which EKS cluster provider "
        f"`{key}` talks to (its configuration references no aws_eks_cluster); give "
        f"--account-map {key}=CLUSTER_ARN"
    )


def _cluster_target(builder: WorldBuilder, module: str, ref: str, depth: int) -> str | None:
    resolver = builder.resolver
    if depth > 8 or ref.startswith(("var.", "local.")):
        return None
    if ref.startswith("module."):
        parts = ref.split(".")
        child = f"{module}.module.{parts[1]}".lstrip(".")
        config = builder.plan.module_config(child) or {}
        output = dig(config.get("outputs") or {}, (parts[2] if len(parts) > 2 else "",))
        refs = _all_references(output)
        for inner in refs:
            found = _cluster_target(builder, child, inner, depth + 1)
            if found is not None:
                return found
        return None
    target, _path = resolver.target(module, ref)
    if target is None or target.type != "aws_eks_cluster":
        return None
    found = resolver.text(target, ("arn",))
    return found if found is not None and found.startswith("arn:") else None


def _all_references(node: object) -> list[str]:
    found: list[str] = []
    if isinstance(node, Mapping):
        found += [r for r in items(node.get("references")) if isinstance(r, str)]
        for value in node.values():
            if isinstance(value, (Mapping, list)):
                found += _all_references(value)
    elif isinstance(node, list):
        for value in node:
            found += _all_references(value)
    return found


def _metadata(builder: WorldBuilder, resource: PlanResource) -> tuple[str, str] | None:
    name = builder.resolver.text(resource, ("metadata", 0, "name"))
    namespace = builder.resolver.text(resource, ("metadata", 0, "namespace")) or "default"
    return (namespace, name) if name else None


def config_map(builder: WorldBuilder, resource: PlanResource) -> None:
    if _metadata(builder, resource) != ("kube-system", "aws-auth"):
        return
    cluster = _kubernetes_cluster(builder, resource)
    if cluster is None:
        return
    builder.locate(model.aws_auth_key(_cluster_arn(cluster)), resource)
    if resource.deleted:
        return
    data: dict[str, Any] = {}
    for key in ("mapRoles", "mapUsers", "mapAccounts"):
        if builder.resolver.is_unknown(resource, ("data", key)) or (
            builder.resolver.is_unknown(resource, ("data",))
        ):
            builder.warn(resource, _unknown_mapping(builder.resolver, resource, key))
            continue
        raw = dig(resource.values, ("data", key))
        if isinstance(raw, str):
            try:
                data[key] = CODEC.load(raw) if raw.strip() else []
            except ValueError:
                data[key] = raw
    cluster["aws_auth"] = data


def _unknown_mapping(r: Resolver, resource: PlanResource, key: str) -> str:
    """Why an aws-auth mapping known only after apply is left out, naming what it
    references. Not rebuilt: the plan JSON keeps of ``yamlencode([{rolearn = ..., username
    = "...", groups = [...]}])`` only the references, never the constants beside them,
    and a mapping without its username and groups cannot be judged (reference I.1)."""
    refs = r.references(resource, ("data", key)) or r.references(resource, ("data",))
    named = ", ".join(f"`{ref}`" for ref in refs if not ref.startswith(("var.", "local.")))
    references = f"; it references {named}" if named else ""
    return (
        f"`data.{key}` is known only after apply (a yamlencode of unknown values: the plan "
        f"shows its references, not the usernames and groups beside them){references}: its "
        "mappings are left out (write the role ARNs from known parts, e.g. "
        '"arn:aws:iam::${account}:role/NAME", so the plan shows the text)'
    )


def service_account(builder: WorldBuilder, resource: PlanResource) -> None:
    found = _metadata(builder, resource)
    if found is None:
        return
    cluster = _kubernetes_cluster(builder, resource)
    if cluster is None:
        return
    namespace, name = found
    builder.locate(model.service_account_key(_cluster_arn(cluster), namespace, name), resource)
    if resource.deleted:
        return
    annotations = dig(resource.values, ("metadata", 0, "annotations"))
    shown: dict[str, str] = {}
    if isinstance(annotations, Mapping) or builder.resolver.is_unknown(
        resource, ("metadata", 0, "annotations")
    ):
        for key in annotations if isinstance(annotations, Mapping) else {}:
            value = builder.resolver.text(resource, ("metadata", 0, "annotations", key))
            if value is not None:
                shown[key] = value
        if builder.resolver.is_unknown(resource, ("metadata", 0, "annotations", _ROLE_ANNOTATION)):
            value = builder.resolver.text(
                resource, ("metadata", 0, "annotations", _ROLE_ANNOTATION)
            )
            if value is not None:
                shown[_ROLE_ANNOTATION] = value
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if shown:
        metadata["annotations"] = shown
    manifest = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata}
    cluster.setdefault("manifests", []).append(manifest)


HANDLED: dict[str, Callable[[WorldBuilder, PlanResource], None]] = {
    "aws_iam_role": iam_role,
    "aws_iam_role_policy": iam_role_policy,
    "aws_iam_policy": iam_policy,
    "aws_iam_role_policy_attachment": iam_role_policy_attachment,
    "aws_iam_role_policy_attachments_exclusive": iam_role_policy_attachments_exclusive,
    "aws_iam_role_policies_exclusive": iam_role_policies_exclusive,
    "aws_iam_openid_connect_provider": oidc_provider,
    "aws_eks_cluster": eks_cluster,
    "aws_eks_access_entry": access_entry,
    "aws_eks_addon": eks_addon,
    "aws_eks_access_policy_association": access_policy_association,
    "aws_eks_pod_identity_association": pod_identity_association,
    "kubernetes_config_map": config_map,
    "kubernetes_config_map_v1": config_map,
    "kubernetes_config_map_v1_data": config_map,
    "kubernetes_service_account": service_account,
    "kubernetes_service_account_v1": service_account,
}
"""Managed resource types read (reference I.1); other ``aws_iam_``/``aws_eks_``/
``kubernetes_`` types are warned about, the rest ignored."""

DATA_HANDLED: dict[str, Callable[[WorldBuilder, PlanResource], None]] = {
    "aws_eks_cluster": eks_cluster_data,
}
"""Data sources read: what an existing thing the plan builds on is like."""
