"""EKS clusters, IAM OIDC providers and access entries, from the AWS CLI's outputs.

Inputs (already decoded from JSON by the caller) and what is taken from them:

- ``aws eks describe-cluster``: ``cluster.name``, ``arn``, ``identity.oidc.issuer`` (the
  issuer of the cluster's service account tokens, reference C.1),
  ``accessConfig.authenticationMode`` and ``tags`` (``aws:ResourceTag`` of EKS actions on
  the cluster). A cluster without ``accessConfig`` predates access
  entries: ``CONFIG_MAP``, the default for clusters created through the API (E.1).
- ``aws iam get-open-id-connect-provider`` (``Url``, ``ClientIDList``; it carries no ARN, so
  the account comes from where the file sits) or ``list-open-id-connect-providers``
  (ARNs only: the audiences are then unknown, and explain says so instead of guessing).
- ``aws eks describe-access-entry`` (``accessEntry``), ``list-associated-access-policies``
  (``associatedAccessPolicies``) and ``list-access-entries`` (principal ARNs only: such an
  entry is taken as a ``STANDARD`` entry with the username EKS generates and no groups).

EKS binds an access entry to the principal's unique ID (E.3), which none of these outputs
show; offline, an entry is taken to be bound to the role as it is now.

A cluster's nodes (``nodes.json``, :func:`parse_nodes`): each node group's instance role
(``describe-nodegroup``'s ``nodeRole``) and IMDS settings (its launch template's
``MetadataOptions``): whether pods reach the node role through IMDS (reference H.5).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubetrust import arn, errors
from kubetrust.model.iam import Problem
from kubetrust.model.vocabulary import CONFIG_MAP, service_account_subject

PolicyAssociation = tuple[str, str, tuple[str, ...]]
"""``(policy ARN, "cluster" | "namespace", namespaces)``, as ``AssociateAccessPolicy`` takes."""


@dataclass(frozen=True, slots=True)
class OidcProvider:
    """An IAM OIDC identity provider. ``url`` is stored as IAM stores it, without
    ``https://``; ``client_ids`` is ``None`` when the input did not list the audiences."""

    arn: str
    account: str
    url: str
    client_ids: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """An EKS access entry (E.2, E.4). ``described`` is false for an entry known only from
    ``list-access-entries`` (its username, groups and type are then EKS's defaults)."""

    principal_arn: str
    username: str | None = None
    kubernetes_groups: tuple[str, ...] = ()
    type: str = "STANDARD"
    policies: tuple[PolicyAssociation, ...] = ()
    described: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterInfo:
    """What ``describe-cluster`` says about a cluster."""

    name: str
    arn: str
    account: str
    region: str
    issuer: str | None = None
    authentication_mode: str = CONFIG_MAP
    status: str = ""
    tags: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    """The cluster's tags: ``aws:ResourceTag/<k>`` of every EKS action on the cluster."""


def parse_describe_cluster(data: Mapping[str, Any]) -> ClusterInfo:
    """``aws eks describe-cluster`` output (``{"cluster": {...}}``, or the inner object).

    Raises :class:`errors.InputError` when the name or ARN is missing or malformed.
    """
    cluster = data.get("cluster", data)
    if not isinstance(cluster, Mapping):
        raise errors.InputError("`cluster` must be an object")
    name = cluster.get("name")
    if not isinstance(name, str) or not name:
        raise errors.InputError("`cluster.name` is missing")
    try:
        parsed = arn.parse(cluster.get("arn"))
    except errors.InvalidArnError as error:
        raise errors.InputError(f"`cluster.arn`: {error}") from None
    if parsed.service != "eks" or parsed.resource != f"cluster/{name}":
        raise errors.InputError(f"`cluster.arn` `{parsed}` is not the ARN of cluster `{name}`")
    identity = cluster.get("identity")
    oidc = identity.get("oidc") if isinstance(identity, Mapping) else None
    issuer = oidc.get("issuer") if isinstance(oidc, Mapping) else None
    access = cluster.get("accessConfig")
    mode = access.get("authenticationMode") if isinstance(access, Mapping) else None
    return ClusterInfo(
        name=name,
        arn=str(parsed),
        account=parsed.account,
        region=parsed.region,
        issuer=issuer if isinstance(issuer, str) and issuer else None,
        authentication_mode=mode if isinstance(mode, str) and mode else CONFIG_MAP,
        status=str(cluster.get("status") or ""),
        tags=_cluster_tags(cluster.get("tags")),
    )


def _cluster_tags(raw: object) -> dict[str, str]:
    """``describe-cluster``'s ``tags`` (a key → value object; absent or empty when the
    cluster has none). Raises :class:`errors.InputError` on another shape: a tag guard
    judged on tags read wrong would be judged wrong."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise errors.InputError("`cluster.tags` must map tag keys to string values")
    return dict(raw)


def parse_oidc_providers(
    data: object, *, account: str | None
) -> tuple[list[OidcProvider], list[Problem]]:
    """Providers from ``get-open-id-connect-provider`` output (one object, optionally with
    ``Arn``), a list of such objects, or ``list-open-id-connect-providers`` output."""
    problems: list[Problem] = []
    if isinstance(data, Mapping) and "OpenIDConnectProviderList" in data:
        items: Sequence[object] = data["OpenIDConnectProviderList"] or []
    elif isinstance(data, list):
        items = data
    else:
        items = [data]
    providers = []
    for index, item in enumerate(items):
        where = f"[{index}]"
        if not isinstance(item, Mapping):
            problems.append(Problem(where, "a provider must be an object; ignored"))
            continue
        try:
            providers.append(_provider(item, account))
        except errors.KubetrustError as error:
            problems.append(Problem(where, f"{error}; ignored"))
    return providers, problems


def _provider(item: Mapping[str, Any], account: str | None) -> OidcProvider:
    raw_arn, raw_url = item.get("Arn"), item.get("Url")
    if isinstance(raw_arn, str) and raw_arn:
        parsed = arn.parse(raw_arn)
        if parsed.service != "iam" or parsed.resource_type != "oidc-provider":
            raise errors.InputError(f"`{raw_arn}` is not an IAM OIDC provider ARN")
        url = parsed.resource.split("/", 1)[1]
        if isinstance(raw_url, str) and raw_url.removeprefix("https://") != url:
            raise errors.InputError(f"Url `{raw_url}` does not match Arn `{raw_arn}`")
        provider_account = parsed.account
        provider_arn = raw_arn
    elif isinstance(raw_url, str) and raw_url:
        if account is None or not arn.is_account_id(account):
            raise errors.InputError(
                "a provider without Arn needs its account (put the file under "
                "accounts/<12-digit account>/)"
            )
        url = raw_url.removeprefix("https://").rstrip("/")
        provider_account = account
        provider_arn = f"arn:aws:iam::{account}:oidc-provider/{url}"
    else:
        raise errors.InputError("a provider needs `Arn` or `Url`")
    client_ids = item.get("ClientIDList")
    audiences = tuple(str(c) for c in client_ids) if isinstance(client_ids, list) else None
    return OidcProvider(provider_arn, provider_account, url, audiences)


def parse_access_entries(
    documents: Sequence[Mapping[str, Any]],
) -> tuple[list[AccessEntry], list[Problem]]:
    """Access entries from any mix of ``describe-access-entry``,
    ``list-associated-access-policies`` and ``list-access-entries`` outputs (module doc).

    Outputs about one principal merge; the policies of a principal with no entry are
    reported (EKS cannot hold them).
    """
    problems: list[Problem] = []
    entries: dict[str, AccessEntry] = {}
    policies: dict[str, list[PolicyAssociation]] = {}
    for index, data in enumerate(documents):
        where = f"[{index}]"
        if isinstance(data.get("accessEntry"), Mapping):
            entry = _entry(data["accessEntry"])
            if entry is None:
                problems.append(Problem(where, "accessEntry without principalArn; ignored"))
            else:
                entries[entry.principal_arn] = entry
        if isinstance(data.get("accessEntries"), list):
            for principal in data["accessEntries"]:
                if isinstance(principal, str) and principal not in entries:
                    entries[principal] = AccessEntry(principal, described=False)
        if "associatedAccessPolicies" in data:
            principal = data.get("principalArn")
            if not isinstance(principal, str):
                problems.append(Problem(where, "associatedAccessPolicies without principalArn"))
                continue
            policies.setdefault(principal, []).extend(
                _associations(data["associatedAccessPolicies"], where, problems)
            )
    result = []
    for principal, entry in entries.items():
        extra = tuple(policies.pop(principal, ()))
        result.append(
            AccessEntry(
                entry.principal_arn,
                entry.username,
                entry.kubernetes_groups,
                entry.type,
                entry.policies + extra,
                entry.described,
            )
        )
    for principal in policies:
        problems.append(
            Problem(principal, "access policies of a principal with no access entry; ignored")
        )
    return result, problems


def _entry(raw: Mapping[str, Any]) -> AccessEntry | None:
    principal = raw.get("principalArn")
    if not isinstance(principal, str) or not principal:
        return None
    groups = raw.get("kubernetesGroups") or []
    username = raw.get("username")
    return AccessEntry(
        principal,
        username if isinstance(username, str) and username else None,
        tuple(str(g) for g in groups if isinstance(g, str)),
        str(raw.get("type") or "STANDARD"),
    )


def _associations(raw: object, where: str, problems: list[Problem]) -> list[PolicyAssociation]:
    found: list[PolicyAssociation] = []
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(item, Mapping) or not isinstance(item.get("policyArn"), str):
            problems.append(Problem(f"{where}.associatedAccessPolicies[{index}]", "no policyArn"))
            continue
        scope = _object(item.get("accessScope"))
        kind = str(scope.get("type") or "cluster")
        namespaces = tuple(str(n) for n in scope.get("namespaces") or [])
        found.append((item["policyArn"], kind, namespaces))
    return found


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """A Kubernetes service account and its IRSA role annotation (C.4), if any."""

    namespace: str
    name: str
    role_arn: str | None = None
    source: str = ""
    annotations: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def subject(self) -> str:
        """The ``sub`` claim of its tokens: ``system:serviceaccount:<ns>:<name>`` (C.1)."""
        return service_account_subject(self.namespace, self.name)


ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"
AUDIENCE_ANNOTATION = "eks.amazonaws.com/audience"


def _object(value: object) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one (malformed parts read as absent)."""
    return value if isinstance(value, Mapping) else {}


# ---------------------------------------------------------------------- EKS Pod Identity


@dataclass(frozen=True, slots=True, kw_only=True)
class PodIdentityAssociation:
    """An EKS Pod Identity association (reference F.4), as ``describe-pod-identity-association``
    shows it. ``role_arn`` is ``None`` for an association known only from
    ``list-pod-identity-associations`` (its summaries carry no role): explain then says the
    role is unknown instead of guessing."""

    cluster_name: str
    namespace: str
    service_account: str
    role_arn: str | None = None
    target_role_arn: str | None = None
    disable_session_tags: bool = False
    external_id: str | None = None
    association_id: str = ""
    association_arn: str = ""
    policy: str | None = None
    owner_arn: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """``(namespace, service account)``: EKS allows one association per pair."""
        return self.namespace, self.service_account

    @property
    def described(self) -> bool:
        return self.role_arn is not None


POD_IDENTITY_AGENT_ADDON = "eks-pod-identity-agent"
"""The add-on that runs the EKS Pod Identity Agent on the nodes (reference F.2)."""


def parse_pod_identity_associations(
    documents: Sequence[object],
) -> tuple[list[PodIdentityAssociation], list[Problem]]:
    """Associations from any mix of ``describe-pod-identity-association`` outputs
    (``{"association": {...}}``, or a list of them) and ``list-pod-identity-associations``
    outputs (``{"associations": [summaries]}``); a described association wins over its
    summary. Entries without a namespace or service account are reported and left out."""
    problems: list[Problem] = []
    found: dict[tuple[str, str, str], PodIdentityAssociation] = {}
    for index, data in enumerate(documents):
        items: list[tuple[str, object]] = []
        if isinstance(data, Mapping) and "association" in data:
            items.append((f"[{index}].association", data["association"]))
        elif isinstance(data, Mapping) and isinstance(data.get("associations"), list):
            items += [
                (f"[{index}].associations[{n}]", item)
                for n, item in enumerate(data["associations"])
            ]
        elif isinstance(data, Mapping) and "namespace" in data:
            items.append((f"[{index}]", data))
        else:
            problems.append(Problem(f"[{index}]", "not a pod identity association; ignored"))
            continue
        for where, raw in items:
            association = _association(raw)
            if association is None:
                problems.append(Problem(where, "association without namespace or serviceAccount"))
                continue
            key = (association.cluster_name, *association.key)
            if association.described or key not in found:
                found[key] = association
    return list(found.values()), problems


def _association(raw: object) -> PodIdentityAssociation | None:
    item = _object(raw)
    namespace, service_account = item.get("namespace"), item.get("serviceAccount")
    if not isinstance(namespace, str) or not isinstance(service_account, str):
        return None
    if not namespace or not service_account:
        return None

    def text(key: str) -> str | None:
        value = item.get(key)
        return value if isinstance(value, str) and value else None

    return PodIdentityAssociation(
        cluster_name=text("clusterName") or "",
        namespace=namespace,
        service_account=service_account,
        role_arn=text("roleArn"),
        target_role_arn=text("targetRoleArn"),
        disable_session_tags=item.get("disableSessionTags") is True,
        external_id=text("externalId"),
        association_id=text("associationId") or "",
        association_arn=text("associationArn") or "",
        policy=text("policy"),
        owner_arn=text("ownerArn"),
    )


def parse_addons(documents: Sequence[object]) -> tuple[list[str], list[Problem]]:
    """Add-on names from ``list-addons`` (``{"addons": [names]}``) and ``describe-addon``
    (``{"addon": {"addonName": ...}}``) outputs."""
    names: list[str] = []
    problems: list[Problem] = []
    for index, data in enumerate(documents):
        item = _object(data)
        if isinstance(item.get("addons"), list):
            names += [str(n) for n in item["addons"] if isinstance(n, str)]
        elif isinstance(item.get("addon"), Mapping) and isinstance(
            item["addon"].get("addonName"), str
        ):
            names.append(item["addon"]["addonName"])
        else:
            problems.append(Problem(f"[{index}]", "not list-addons or describe-addon output"))
    return sorted(set(names)), problems


# ---------------------------------------------------------------------- nodes and IMDS

IMDS_HOP_LIMIT_RANGE = range(1, 65)
"""``HttpPutResponseHopLimit``'s valid values (EC2 API: 1 to 64)."""
HTTP_TOKENS = ("optional", "required")
HTTP_ENDPOINT = ("enabled", "disabled")


@dataclass(frozen=True, slots=True, kw_only=True)
class ImdsSettings:
    """A node group's instance metadata options, as its launch template sets them
    (``MetadataOptions``); ``None`` where the inputs do not say."""

    hop_limit: int | None = None
    http_tokens: str | None = None
    http_endpoint: str | None = None

    def describe(self) -> str:
        """``hop limit 2, IMDSv2 required`` — unknown values named as unknown."""
        if self.http_endpoint == "disabled":
            return "IMDS endpoint disabled"
        limit = "unknown" if self.hop_limit is None else str(self.hop_limit)
        tokens = {
            "required": "IMDSv2 required",
            "optional": "IMDSv1 allowed (HttpTokens optional)",
        }.get(self.http_tokens or "", "HttpTokens unknown")
        return f"hop limit {limit}, {tokens}"


def pods_reach_imds(imds: ImdsSettings) -> tuple[bool, str]:
    """Whether a pod on the pod network reaches the node's IMDS credentials, and why
    (reference H.5). The hop limit caps only the IMDSv2 token's ``PUT`` response: the pod
    network adds a hop, so a limit of 1 stops a pod's token and 2 lets it through; IMDSv1's
    ``GET`` needs no token and is not hop-limited, so ``HttpTokens=optional`` exposes the
    role whatever the limit. Unknown settings count as reachable (an audit that assumed
    them blocked would hide the exposure) — the choice for an unknown ``HttpTokens`` with a
    hop limit of 1 is made here, in one place."""
    if imds.http_endpoint == "disabled":
        return False, "the IMDS endpoint is disabled on the nodes"
    if imds.http_tokens == "optional":
        return True, "IMDSv1 is allowed (HttpTokens optional): its GET is not hop-limited"
    if imds.hop_limit is None:
        return True, "the hop limit is unknown"
    if imds.hop_limit >= 2:
        return True, f"hop limit {imds.hop_limit}: the IMDSv2 token reaches the pod network"
    if imds.http_tokens is None:
        return True, "hop limit 1, but HttpTokens unknown: IMDSv1, if allowed, is not hop-limited"
    return False, "hop limit 1 with IMDSv2 required: the token stops one hop short of pods"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeGroup:
    """A group of a cluster's nodes: the instance role their instance profile carries and
    their IMDS settings. ``name`` is the managed node group's, when known."""

    instance_role_arn: str
    imds: ImdsSettings = field(default_factory=ImdsSettings)
    name: str = ""

    @property
    def exposed(self) -> bool:
        """Whether pods on these nodes act as the instance role (:func:`pods_reach_imds`)."""
        return pods_reach_imds(self.imds)[0]

    @property
    def why(self) -> str:
        return pods_reach_imds(self.imds)[1]


def parse_nodes(data: object) -> list[NodeGroup]:
    """``nodes.json``: ``{"instance_role_arn": ARN, "imds": {"hop_limit": 2, "http_tokens":
    "required"}}`` (``nodegroup`` and ``imds.http_endpoint`` optional), or a list of such
    objects, one per node group.

    Raises :class:`errors.InputError` naming the entry and field (``[1].imds.hop_limit``):
    an entry dropped for a bad value would hide its role's exposure, so nothing is guessed.
    """
    items = data if isinstance(data, list) else [data]
    return [_node_group(item, f"[{index}]") for index, item in enumerate(items)]


def _node_group(item: object, where: str) -> NodeGroup:
    if not isinstance(item, Mapping):
        raise errors.InputError(f"{where}: a node group must be an object")
    role_arn = item.get("instance_role_arn")
    try:
        parsed = arn.parse(role_arn)
    except errors.InvalidArnError as error:
        raise errors.InputError(f"{where}.instance_role_arn: {error}") from None
    if parsed.service != "iam" or parsed.resource_type != "role":
        raise errors.InputError(f"{where}.instance_role_arn: `{parsed}` is not an IAM role ARN")
    name = item.get("nodegroup", "")
    if not isinstance(name, str):
        raise errors.InputError(f"{where}.nodegroup: must be a string")
    raw = item.get("imds", {})
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise errors.InputError(f"{where}.imds: must be an object")
    limit = raw.get("hop_limit")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or limit not in IMDS_HOP_LIMIT_RANGE
    ):
        raise errors.InputError(
            f"{where}.imds.hop_limit: {errors.shown(limit)} is not an integer from 1 to 64"
        )
    return NodeGroup(
        instance_role_arn=str(parsed),
        imds=ImdsSettings(
            hop_limit=limit,
            http_tokens=_choice(raw, "http_tokens", HTTP_TOKENS, where),
            http_endpoint=_choice(raw, "http_endpoint", HTTP_ENDPOINT, where),
        ),
        name=name,
    )


def _choice(raw: Mapping[str, Any], key: str, allowed: tuple[str, ...], where: str) -> str | None:
    value = raw.get(key)
    if value is None or value in allowed:
        return value if isinstance(value, str) else None
    raise errors.InputError(
        f"{where}.imds.{key}: {errors.shown(value)} is not one of {', '.join(allowed)}"
    )
