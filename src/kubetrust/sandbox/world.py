"""The sandbox's world: which accounts exist, the region, and the organization.

Default world: accounts ``111111111111`` (the seed's CI account) and ``222222222222`` (its
target), region ``us-east-1``, no organization. A world file (YAML or JSON) may add
accounts, an organization (its id, root, management account and OU tree, each account in
the root or an OU: :mod:`kubetrust.sandbox.world_org`) and SCP/RCP levels (reference A.1
steps 3–4)::

    region: us-east-1
    organization:
      id: o-a1b2c3d4e5
      root: r-ab12
      management_account: "111111111111"      # at the root unless an OU names it
      scps: [{Version: "2012-10-17", Statement: [...]}]   # attached to the root
      ous:
        - id: ou-ab12-11111111
          name: workloads
          scps: [...]                          # attached to this OU
          accounts: ["222222222222"]
          ous: []                              # child OUs, as deep as needed
    realism: aws          # AWS's timing (module kubetrust.sandbox.world_realism); off by default
    accounts:
      - id: "111111111111"
        name: ci
        clusters:
          - ci-cluster                 # a name: nodes with the defaults below
          - name: locked-down
            nodes:                     # the cluster's nodes (:class:`NodeSettings`)
              instance_role: ci-nodes  # a role name or ARN of this account
              imds: {hop_limit: 1, http_tokens: required}
          - name: legacy
            authentication_mode: CONFIG_MAP   # default API_AND_CONFIG_MAP (reference E.1)
      - id: "222222222222"
        name: target
        scps:                      # the account's own levels; each a list of documents
          - [{Version: "2012-10-17", Statement: [{Effect: Allow, Action: "*", Resource: "*"}]}]

In an organization an account's SCP (RCP) levels are its nodes' from the root down, then
its own; the management account has none (SCPs and RCPs do not bind it). Without an
``organization:`` block, accounts may still carry ``scps``/``rcps`` levels (as before
organizations were modelled): they bind, but no account is a member of an organization,
so ``aws:PrincipalOrgID``, ``aws:ResourceOrgID`` and their paths stay absent.

Validation is strict (pydantic models, :class:`WorldFile`, with the field types the spec
shares, :mod:`kubetrust.model.fields`): unknown keys, malformed ids and names, values of
the wrong type (an unquoted account id is a YAML number) and malformed policies are
rejected with the file and the place (``world.yaml: accounts[1].id: ...``), every field
problem at once, before the sandbox starts; then the rules that span fields (unique
account ids, the organization's tree, levels only where they can bind, an instance role of
the cluster's own account).

**Nodes.** Every cluster has nodes with an instance role and an instance metadata service
(reference H.5): by default the account's :data:`DEFAULT_NODE_ROLE` (created with the
account's first cluster), IMDSv2 required and a hop limit of :data:`DEFAULT_HOP_LIMIT`,
which lets pods reach IMDS as on the AL2023 nodes of EKS managed node groups and eksctl's.
A cluster entry that is a mapping may name another role (which the world or a spec may
create; until it exists the nodes' IMDS has no role to give) and other IMDS settings.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import AfterValidator, BeforeValidator, Field, TypeAdapter, ValidationError

from kubetrust import arn as arns
from kubetrust import errors, yaml_codec
from kubetrust.chain import context
from kubetrust.model import fields
from kubetrust.model.vocabulary import API_AND_CONFIG_MAP, DEFAULT_ROLE_MAX_SESSION
from kubetrust.sandbox.world_org import (
    Organization,
    OrganizationEntry,
    WorldModel,
    build_organization,
)
from kubetrust.sandbox.world_realism import OFF, Realism, RealismField, realism_of

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNTS = (("111111111111", "ci"), ("222222222222", "target"))
DEFAULT_NODE_ROLE = "AmazonEKSNodeRole"
"""The EKS user guide's name for the node IAM role (``create-node-role``)."""
DEFAULT_AUTHENTICATION_MODE: Final = API_AND_CONFIG_MAP
"""A world file's cluster's authentication mode unless its entry names one (E.1)."""
DEFAULT_HOP_LIMIT = 2
"""The nodes' IMDS PUT response hop limit (reference H.5): 2, as the AL2023 AMI sets it
("IMDSv2-only and ... hop limit ... 2 to allow for containerized workload support") and
eksctl's launch templates do. [unconfirmed: the launch template EKS generates for a
managed node group without one is not documented]; change it here."""
DEFAULT_HTTP_TOKENS: Final = "required"
"""IMDSv2 only, as on AL2023 nodes (reference H.5)."""
MAX_HOP_LIMIT = 64
"""EC2 accepts hop limits 1 to 64."""
HttpTokens = Literal["required", "optional"]


@dataclass(frozen=True, slots=True)
class ImdsSettings:
    """A node's instance metadata options (EC2's ``HttpPutResponseHopLimit`` and
    ``HttpTokens``)."""

    hop_limit: int = DEFAULT_HOP_LIMIT
    http_tokens: HttpTokens = DEFAULT_HTTP_TOKENS

    @property
    def tokens_required(self) -> bool:
        return self.http_tokens == "required"


@dataclass(frozen=True, slots=True)
class NodeSettings:
    """A cluster's nodes (module doc, "Nodes"): their instance role and IMDS options."""

    instance_role: str | None = None
    """A role name or ARN of the cluster's account; ``None``: :data:`DEFAULT_NODE_ROLE`."""
    imds: ImdsSettings = ImdsSettings()

    @property
    def role_name(self) -> str:
        """The instance role's name (an ARN's last path segment)."""
        if self.instance_role is None:
            return DEFAULT_NODE_ROLE
        return self.instance_role.rsplit("/", 1)[-1]

    @property
    def default_role(self) -> bool:
        """Whether the nodes use the account's default node role (created with a cluster)."""
        return self.instance_role is None


DEFAULT_NODES = NodeSettings()


@dataclass(frozen=True, slots=True)
class RoleSpec:
    """A role to create when the sandbox starts."""

    name: str
    trust: Mapping[str, Any]
    policies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    path: str = "/"
    max_session_duration: int = DEFAULT_ROLE_MAX_SESSION


@dataclass(frozen=True, slots=True)
class Account:
    """One sandbox account, the organization policies that bind it, and what it holds
    from the start (roles, buckets, EKS clusters)."""

    id: str
    name: str
    scps: tuple[tuple[str, ...], ...] = ()
    """SCP levels as JSON text (hashable: the engine caches compiled policy sets by it)."""
    rcps: tuple[tuple[str, ...], ...] = ()
    roles: tuple[RoleSpec, ...] = ()
    buckets: tuple[str, ...] = ()
    clusters: tuple[str, ...] = ()
    nodes: Mapping[str, NodeSettings] = field(default_factory=dict)
    """Node settings of the clusters whose entry gave some; the others have the defaults."""
    authentication_modes: Mapping[str, str] = field(default_factory=dict)
    """Authentication modes of the clusters whose entry named one; the others have
    :data:`DEFAULT_AUTHENTICATION_MODE`."""


@dataclass(frozen=True, slots=True)
class World:
    region: str = DEFAULT_REGION
    accounts: tuple[Account, ...] = field(
        default_factory=lambda: tuple(Account(i, n) for i, n in DEFAULT_ACCOUNTS)
    )
    organization: Organization | None = None
    realism: Realism = OFF
    """AWS's timing: propagation delays, asynchronous EKS, throttling, page sizes
    (:mod:`kubetrust.sandbox.world_realism`); off by default."""

    def account(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts if a.id == account_id), None)

    def nodes_of(self, account_id: str, cluster: str) -> NodeSettings:
        """The nodes of ``cluster`` in ``account_id``: as its world file entry says, else
        the defaults (a cluster created through the API, or named without settings)."""
        account = self.account(account_id)
        if account is None:
            return DEFAULT_NODES
        return account.nodes.get(cluster, DEFAULT_NODES)

    def authentication_mode_of(self, account_id: str, cluster: str) -> str:
        """The authentication mode ``cluster`` of ``account_id`` starts in (reference E.1):
        as its world file entry says, else :data:`DEFAULT_AUTHENTICATION_MODE`."""
        account = self.account(account_id)
        if account is None:
            return DEFAULT_AUTHENTICATION_MODE
        return account.authentication_modes.get(cluster, DEFAULT_AUTHENTICATION_MODE)

    def org_of(self, account_id: str | None) -> context.Org | None:
        """The organization membership of ``account_id`` as the request context shows it
        (``aws:PrincipalOrgID``/``aws:ResourceOrgID`` and their paths); ``None`` for an
        account outside any organization, or an unknown one."""
        if self.organization is None or not account_id:
            return None
        return self.organization.membership(account_id)


BucketName = Annotated[
    str,
    AfterValidator(
        fields.matching(
            r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]",
            "{value} is not a valid S3 bucket name (3-63 lowercase letters, digits, . and -, "
            "starting and ending with a letter or digit)",
        )
    ),
]
RolePath = Annotated[
    str,
    AfterValidator(
        fields.matching(
            r"/(.*/)?", "{value} is not a role path (it starts and ends with `/`)", re.DOTALL
        )
    ),
]


def _a_level(value: object) -> object:
    """``scps: [document]`` for ``scps: [[document]]`` is the likely slip: name it."""
    if isinstance(value, Mapping):
        raise ValueError(
            "must be a level: a list of policy documents (an account's `scps`/`rcps` "
            "is a list of levels)"
        )
    return value


ScpLevel = Annotated[list[fields.ServiceControlPolicy], BeforeValidator(_a_level)]
RcpLevel = Annotated[list[fields.ResourceControlPolicy], BeforeValidator(_a_level)]


_CLUSTER_NAME: TypeAdapter[str] = TypeAdapter(fields.ClusterName)


def _cluster_entry(value: object) -> object:
    """A cluster is a name or a mapping with its nodes: a name is checked here, so that
    its message stays at the list item (``clusters[0]: ...``)."""
    if isinstance(value, Mapping):
        return value
    if not isinstance(value, str):
        raise ValueError(
            f"must be a cluster name or a mapping (`name`, `nodes`), not {errors.shown(value)}"
        )
    _checked(_CLUSTER_NAME, value)
    return {"name": value}


def _checked(adapter: TypeAdapter[str], value: str) -> None:
    """``value`` checked by ``adapter``; its first problem as a :class:`ValueError` (what a
    validator may raise)."""
    try:
        adapter.validate_python(value)
    except ValidationError as error:
        detail = error.errors()[0]
        raise ValueError(str((detail.get("ctx") or {}).get("error", detail["msg"]))) from None


def _instance_role(value: str) -> str:
    """A role name, or a role ARN (its account is checked against the cluster's later)."""
    if value.startswith("arn:"):
        try:
            parsed = arns.parse(value)
        except errors.InvalidArnError as error:
            raise ValueError(str(error)) from None
        if parsed.service != "iam" or not parsed.resource.startswith("role/"):
            raise ValueError(f"{value} is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
        _checked(_ROLE_NAME, parsed.resource.rsplit("/", 1)[-1])
        return value
    _checked(_ROLE_NAME, value)
    return value


_ROLE_NAME: TypeAdapter[str] = TypeAdapter(fields.RoleName)


class ImdsEntry(WorldModel):
    """A cluster's nodes' IMDS options (:class:`ImdsSettings`)."""

    hop_limit: Annotated[int, Field(ge=1, le=MAX_HOP_LIMIT)] = DEFAULT_HOP_LIMIT
    http_tokens: HttpTokens = DEFAULT_HTTP_TOKENS


class NodesEntry(WorldModel):
    """A cluster's nodes (:class:`NodeSettings`)."""

    instance_role: Annotated[str, AfterValidator(_instance_role)] | None = None
    imds: ImdsEntry = Field(default_factory=ImdsEntry)


class ClusterEntry(WorldModel):
    """A cluster of an account: its name, its nodes if not the defaults, and the
    authentication mode it starts in (a ``CONFIG_MAP`` cluster is one made through the API
    before access entries: reference E.1, D.3's invisible creator)."""

    name: fields.ClusterName
    nodes: NodesEntry | None = None
    authentication_mode: Literal["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"] | None = None


ClusterItem = Annotated[ClusterEntry, BeforeValidator(_cluster_entry)]


def _accounts_listed(accounts: list[AccountEntry]) -> list[AccountEntry]:
    if not accounts:
        raise ValueError("must be a non-empty list (omit it for the default accounts)")
    return accounts


class RoleEntry(WorldModel):
    """A role of an account (:class:`RoleSpec`): trust and inline policies are checked as
    IAM checks them."""

    name: fields.RoleName
    trust: fields.TrustPolicy
    policies: dict[str, fields.IdentityPolicy] = Field(default_factory=dict)
    path: RolePath = "/"
    max_session_duration: fields.SessionDuration = DEFAULT_ROLE_MAX_SESSION


class AccountEntry(WorldModel):
    """An account (:class:`Account`); ``scps``/``rcps`` are its own levels, each a list of
    documents."""

    id: fields.AccountId
    name: str | None = None
    scps: list[ScpLevel] | None = None
    rcps: list[RcpLevel] | None = None
    roles: list[RoleEntry] = Field(default_factory=list)
    buckets: list[BucketName] = Field(default_factory=list)
    clusters: list[ClusterItem] = Field(default_factory=list)


class WorldFile(WorldModel):
    """A whole world file (module doc)."""

    region: fields.Region = DEFAULT_REGION
    accounts: Annotated[list[AccountEntry], AfterValidator(_accounts_listed)] | None = None
    organization: OrganizationEntry | None = None
    realism: RealismField | None = None


def load_world(path: Path | None) -> World:
    """The default world, or the one described in ``path`` (see module doc)."""
    if path is None:
        return World()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise errors.InputError(f"cannot read world file `{path}`: {exc.strerror}") from None
    try:
        raw = (
            errors.decode_json(text)
            if path.suffix == ".json"
            else yaml_codec.bounded(lambda: yaml.safe_load(text))
        )
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.InputError(f"world file `{path}`: not valid YAML/JSON: {exc}") from None
    return parse_world(raw, str(path))


def parse_world(raw: object, where: str = "world") -> World:
    """The world ``raw`` describes; ``where`` names it in messages. Every field problem is
    reported, one line each; then the first problem of the rules that span fields."""
    if not isinstance(raw, Mapping):
        raise errors.InputError(
            f"{where}: a world must be a mapping (`region`, `accounts`, `organization`)"
        )
    try:
        entry = WorldFile.model_validate(dict(raw))
    except ValidationError as error:
        failures = (fields.describe(detail, WorldFile) for detail in error.errors())
        raise errors.InputError("\n".join(f.line(where) for f in failures)) from None
    return _world(entry, where)


def _world(entry: WorldFile, where: str) -> World:
    if entry.accounts is None:
        accounts = World().accounts
    else:
        accounts = tuple(_account(account) for account in entry.accounts)
        for index, account_entry in enumerate(entry.accounts):
            _check_instance_roles(account_entry, index, where)
    seen: set[str] = set()
    for index, account in enumerate(accounts):
        if account.id in seen:
            raise errors.InputError(
                fields.located(
                    where,
                    ("accounts", index, "id"),
                    f"account {account.id} appears twice (account ids must be unique)",
                )
            )
        seen.add(account.id)
    realism = realism_of(entry.realism)
    if entry.organization is None:
        return World(region=entry.region, accounts=accounts, realism=realism)
    organization = build_organization(entry.organization, seen, where)
    accounts = tuple(
        _in_organization(account, organization, where, index)
        for index, account in enumerate(accounts)
    )
    return World(region=entry.region, accounts=accounts, organization=organization, realism=realism)


def _account(entry: AccountEntry) -> Account:
    return Account(
        id=entry.id,
        name=entry.id if entry.name is None else entry.name,
        scps=_levels(entry.scps),
        rcps=_levels(entry.rcps),
        roles=tuple(
            RoleSpec(
                role.name, role.trust, dict(role.policies), role.path, role.max_session_duration
            )
            for role in entry.roles
        ),
        buckets=tuple(entry.buckets),
        clusters=tuple(cluster.name for cluster in entry.clusters),
        nodes={
            cluster.name: _node_settings(cluster.nodes)
            for cluster in entry.clusters
            if cluster.nodes is not None
        },
        authentication_modes={
            cluster.name: cluster.authentication_mode
            for cluster in entry.clusters
            if cluster.authentication_mode is not None
        },
    )


def _node_settings(entry: NodesEntry) -> NodeSettings:
    return NodeSettings(
        instance_role=entry.instance_role,
        imds=ImdsSettings(entry.imds.hop_limit, entry.imds.http_tokens),
    )


def _check_instance_roles(entry: AccountEntry, index: int, where: str) -> None:
    """An instance profile holds a role of its own account: a role ARN of another account
    is refused (EC2 cannot pass it to the instance)."""
    for at, cluster in enumerate(entry.clusters):
        role = cluster.nodes.instance_role if cluster.nodes is not None else None
        if role is None or not role.startswith("arn:"):
            continue
        owner = arns.parse(role).account
        if owner != entry.id:
            raise errors.InputError(
                fields.located(
                    where,
                    ("accounts", index, "clusters", at, "nodes", "instance_role"),
                    f"{role} is a role of account {owner}: a node's instance role must be "
                    f"a role of the cluster's account {entry.id}",
                )
            )


def _levels(levels: list[list[dict[str, Any]]] | None) -> tuple[tuple[str, ...], ...]:
    """Levels as JSON text (:attr:`Account.scps`)."""
    return tuple(
        tuple(json.dumps(document, sort_keys=True) for document in level) for level in levels or ()
    )


def _in_organization(
    account: Account, organization: Organization, where: str, index: int
) -> Account:
    """``account`` with its organization levels before its own (module doc); the
    management account's own levels are refused: nothing would ever apply them."""
    at: fields.Loc = ("accounts", index)
    if account.id == organization.management_account:
        if account.scps or account.rcps:
            raise errors.InputError(
                fields.located(
                    where,
                    at,
                    f"account {account.id} is the management account: SCPs and RCPs do not "
                    "apply to it (remove its `scps`/`rcps`)",
                )
            )
        return account
    if account.id not in organization.paths:
        if account.scps or account.rcps:
            raise errors.InputError(
                fields.located(
                    where,
                    at,
                    f"account {account.id} is not in the organization: SCPs and RCPs bind "
                    "only its members (place it in the root or an OU)",
                )
            )
        return account
    return dataclasses.replace(
        account,
        scps=tuple(organization.scps.get(account.id, ())) + account.scps,
        rcps=tuple(organization.rcps.get(account.id, ())) + account.rcps,
    )


def levels_of(account: Account | None, which: str) -> Sequence[Sequence[str]]:
    """The SCP or RCP levels of ``account`` (``()`` when there is no organization)."""
    if account is None:
        return ()
    return account.scps if which == "scps" else account.rcps


def organization_json(world: World, account_id: str) -> dict[str, Any] | None:
    """What explain's bundle holds for ``account_id`` in ``organization.json``
    (:mod:`kubetrust.explain.bundle`): the SCP and RCP levels the sandbox enforces and, for
    a member, the organization id and the account's path. ``None`` when there is nothing to
    say (no levels, no organization). The sandbox serves no Organizations API, so
    ``kubetrust snapshot --sandbox`` reads these from the world the sandbox runs."""
    account = world.account(account_id)
    membership = world.org_of(account_id)
    if account is None or (membership is None and not account.scps and not account.rcps):
        return None
    found: dict[str, Any] = {
        "scps": [[json.loads(d) for d in level] for level in account.scps],
        "rcps": [[json.loads(d) for d in level] for level in account.rcps],
    }
    if membership is not None:
        found["id"] = membership.id
        found["path"] = membership.paths[0]
    return found


def instance_role_arn(world: World, account_id: str, cluster: str) -> str:
    """The ARN of ``cluster``'s nodes' instance role: as named, or with the path of the
    world's role of that name (``/`` for one the world does not create)."""
    settings = world.nodes_of(account_id, cluster)
    if settings.instance_role is not None and settings.instance_role.startswith("arn:"):
        return settings.instance_role
    name = settings.role_name
    account = world.account(account_id)
    spec = next((r for r in account.roles if r.name == name), None) if account else None
    return arns.role_arn(account_id, name, path=spec.path if spec else "/")


def nodes_json(world: World, account_id: str, cluster: str) -> dict[str, Any] | None:
    """What ``kubetrust snapshot --sandbox`` and explain's bundle record about a cluster's
    nodes: ``{"instance_role_arn": ARN, "imds": {"hop_limit": n, "http_tokens": ...}}``
    (a cluster created through the API has the defaults); ``None`` for an account the
    world does not hold."""
    if world.account(account_id) is None:
        return None
    settings = world.nodes_of(account_id, cluster)
    return {
        "instance_role_arn": instance_role_arn(world, account_id, cluster),
        "imds": {
            "hop_limit": settings.imds.hop_limit,
            "http_tokens": settings.imds.http_tokens,
        },
    }
