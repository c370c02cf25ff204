"""Read live accounts and clusters (AWS, or the sandbox) into a bundle directory — read-only.

``kubetrust explain|audit|graph --sandbox|--profile`` and ``kubetrust snapshot`` read the same
things the offline bundle holds (docs/explain.md), through the same APIs whose CLI outputs
the bundle documents, and write them in the bundle layout; explain then loads the directory
with :func:`kubetrust.explain.bundle.load_bundle`. One loader for live and offline inputs:
what explain decides cannot depend on where the data came from, and a snapshot can be kept,
diffed and explained again offline.

Per account (its credentials: a profile, keys, or the sandbox's administrator):

- ``iam get-account-authorization-details`` (roles, users, groups, customer managed
  policies), plus the AWS managed policies attached to something (``get-policy`` and
  ``get-policy-version``: the unfiltered call lists every AWS managed policy, about 1,500);
- ``iam list-roles`` (``MaxSessionDuration``) and every OIDC provider
  (``get-open-id-connect-provider``);
- per region: ``eks list-clusters``, ``describe-cluster``, and in the ``API`` modes every
  access entry with its associated access policies; every EKS Pod Identity association
  (``list-pod-identity-associations`` through its paginator, then
  ``describe-pod-identity-association`` for the role, target role and session tags) and the
  cluster's add-ons (``list-addons``: whether the Pod Identity Agent runs); the managed node
  groups' instance roles and IMDS settings (``list-nodegroups``, ``describe-nodegroup``,
  ``ec2 describe-launch-template-versions``: :mod:`kubetrust.adapters.snapshot_nodes`).

Per cluster, Kubernetes (:mod:`kubetrust.adapters.snapshot_kube`): the aws-auth ConfigMap,
RBAC objects and service accounts, through a kubeconfig context when one is named for the
cluster, else the cluster's endpoint and CA with an EKS token of the account's credentials
(``aws eks update-kubeconfig`` + ``get-token``). Nothing is written anywhere but ``out``.

Failures that leave an account unusable (no credentials, authorization details denied) raise
:class:`SnapshotError`; a part that cannot be read (a region's EKS API, a cluster's
Kubernetes API) becomes a warning, and the bundle says less — which explain shows as denied
links, never as allowed ones.

Accounts are read in parallel, at most ``SnapshotOptions.max_concurrency`` at a time
(threads: the work is waiting on AWS). Each account has its own session and clients
(botocore sessions are not thread-safe) with botocore's ``standard`` retry mode and
:data:`MAX_ATTEMPTS` attempts, so a throttled call backs off with jitter and is retried,
not failed (AWS throttles per account and API, reference H.3: accounts do not slow each
other). Each account is read into its own staging folder and the folders are merged in the
order the accounts were given, so the bundle, its cluster folder names and the warnings are
those of a serial read; an account that fails is named in the error, after every other
account has been read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from kubetrust import errors
from kubetrust.adapters import snapshot_kube, snapshot_nodes
from kubetrust.adapters.aws import AwsAccess, session
from kubetrust.model.vocabulary import CONFIG_MAP

DEFAULT_REGION = "us-east-1"
DEFAULT_MAX_CONCURRENCY = 8
"""Accounts read at once by default: enough to hide the latency of 10,000 accounts' calls,
few enough that one organization's snapshot does not meet AWS's throttling everywhere."""
MAX_ATTEMPTS = 5
"""botocore ``standard`` mode attempts per call (backoff with jitter, up to 20 s each)."""
STAGING = ".snapshot-staging"
ENTITY_FILTER = ["User", "Role", "Group", "LocalManagedPolicy"]


class SnapshotError(errors.KubetrustError):
    """An account or the output directory cannot be read or written at all."""


@dataclass(frozen=True, slots=True)
class SnapshotOptions:
    """What to read: ``regions`` (default: each session's region, else us-east-1), whether
    to read Kubernetes, and how to reach clusters (``contexts``: cluster name or ARN →
    kubeconfig context); ``clusters`` limits the clusters read (names; all when empty)."""

    regions: tuple[str, ...] = ()
    kubernetes: bool = True
    kubeconfig: str | None = None
    contexts: Mapping[str, str] = field(default_factory=dict)
    clusters: tuple[str, ...] = ()
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    """Accounts read at the same time (module doc)."""


@dataclass(slots=True)
class SnapshotResult:
    """Where the bundle is, what it holds, and what could not be read."""

    root: Path
    accounts: list[str] = field(default_factory=list)
    clusters: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    """The cluster folders under ``clusters/``, in the order they were written."""


class _Account:
    """One account's clients and the calls the snapshot makes with them."""

    def __init__(self, access: AwsAccess) -> None:
        self.access = access
        self.session = session(access)
        self.region = self.session.region_name or access.region or DEFAULT_REGION
        self._clients: dict[tuple[str, str], Any] = {}
        self.account = ""

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        if key not in self._clients:
            config = Config(retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS})
            self._clients[key] = self.session.client(
                service, region_name=key[1], endpoint_url=self.access.endpoint_url, config=config
            )
        return self._clients[key]

    def call(self, service: str, operation: str, region: str | None = None, **kw: Any) -> Any:
        try:
            answer = getattr(self.client(service, region), operation)(**kw)
        except ClientError as error:
            detail = error.response.get("Error", {})
            code, message = detail.get("Code", "Unknown"), detail.get("Message", str(error))
            raise SnapshotError(f"{service}:{_action(operation)}: {code}: {message}") from None
        except BotoCoreError as error:
            raise SnapshotError(f"{service}:{_action(operation)}: {error}") from None
        answer.pop("ResponseMetadata", None)
        return answer

    def pages(
        self, service: str, operation: str, key: str, region: str | None = None, **kw: Any
    ) -> Iterator[Any]:
        """Every item of a list operation (IAM ``Marker``, EKS ``nextToken``)."""
        while True:
            page = self.call(service, operation, region, **kw)
            yield from page.get(key) or []
            if page.get("IsTruncated") and page.get("Marker"):
                kw["Marker"] = page["Marker"]
            elif page.get("nextToken"):
                kw["nextToken"] = page["nextToken"]
            else:
                return


def _action(operation: str) -> str:
    return "".join(part.capitalize() for part in operation.split("_"))


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True, default=str) + "\n", "utf-8")


def _merge_details(pages: Iterator[Mapping[str, Any]]) -> dict[str, list[Any]]:
    merged: dict[str, list[Any]] = {
        key: [] for key in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
    }
    for page in pages:
        for key, items in merged.items():
            items.extend(page.get(key) or [])
    return merged


def _detail_pages(account: _Account) -> Iterator[Mapping[str, Any]]:
    kw: dict[str, Any] = {"Filter": ENTITY_FILTER}
    while True:
        page = account.call("iam", "get_account_authorization_details", **kw)
        yield page
        if not page.get("IsTruncated") or not page.get("Marker"):
            return
        kw["Marker"] = page["Marker"]


def _aws_managed(details: Mapping[str, list[Any]]) -> list[str]:
    """AWS managed policies attached to an entity, or used as a boundary."""
    found: set[str] = set()
    for section in ("UserDetailList", "GroupDetailList", "RoleDetailList"):
        for item in details[section]:
            for attached in item.get("AttachedManagedPolicies") or []:
                found.add(str(attached.get("PolicyArn", "")))
            boundary = (item.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
            if boundary:
                found.add(str(boundary))
    return sorted(a for a in found if a.split(":")[4:5] == ["aws"])


def _managed_policy(account: _Account, policy_arn: str) -> dict[str, Any]:
    """An AWS managed policy in authorization-details form (its default version only)."""
    policy = account.call("iam", "get_policy", PolicyArn=policy_arn)["Policy"]
    version = policy.get("DefaultVersionId", "v1")
    document = account.call("iam", "get_policy_version", PolicyArn=policy_arn, VersionId=version)
    return {
        "PolicyName": policy.get("PolicyName"),
        "Arn": policy_arn,
        "DefaultVersionId": version,
        "PolicyVersionList": [
            {
                "Document": document["PolicyVersion"]["Document"],
                "VersionId": version,
                "IsDefaultVersion": True,
            }
        ],
    }


def _iam(account: _Account, folder: Path, result: SnapshotResult) -> None:
    details = _merge_details(_detail_pages(account))
    for policy_arn in _aws_managed(details):
        try:
            details["Policies"].append(_managed_policy(account, policy_arn))
        except SnapshotError as error:
            result.warnings.append(f"account {account.account}: {policy_arn}: {error}")
    _write(folder / "authorization-details.json", details)
    try:
        roles = [
            {
                "RoleName": r["RoleName"],
                "Arn": r["Arn"],
                "MaxSessionDuration": r.get("MaxSessionDuration"),
            }
            for r in account.pages("iam", "list_roles", "Roles")
        ]
        _write(folder / "roles.json", {"Roles": roles})
    except SnapshotError as error:
        result.warnings.append(f"account {account.account}: {error} (session limits unknown)")
    try:
        providers = []
        listed = account.call("iam", "list_open_id_connect_providers")
        for item in listed.get("OpenIDConnectProviderList") or []:
            provider_arn = item["Arn"]
            found = account.call(
                "iam", "get_open_id_connect_provider", OpenIDConnectProviderArn=provider_arn
            )
            providers.append({"Arn": provider_arn, **found})
        _write(folder / "oidc-providers.json", providers)
    except SnapshotError as error:
        result.warnings.append(f"account {account.account}: {error} (no OIDC providers read)")


def _access_entries(account: _Account, region: str, name: str, folder: Path) -> None:
    """Every access entry, and the access policies of the ``STANDARD`` ones (EKS refuses
    ``ListAssociatedAccessPolicies`` for node entries, which have none)."""
    principals = account.pages(
        "eks", "list_access_entries", "accessEntries", region, clusterName=name
    )
    for index, principal in enumerate(sorted(principals)):
        entry = account.call(
            "eks", "describe_access_entry", region, clusterName=name, principalArn=principal
        )
        _write(folder / "access-entries" / f"entry-{index}.json", entry)
        if (entry.get("accessEntry") or {}).get("type", "STANDARD") != "STANDARD":
            continue
        policies = list(
            account.pages(
                "eks",
                "list_associated_access_policies",
                "associatedAccessPolicies",
                region,
                clusterName=name,
                principalArn=principal,
            )
        )
        if policies:
            associated = {
                "clusterName": name,
                "principalArn": principal,
                "associatedAccessPolicies": policies,
            }
            _write(folder / "access-entries" / f"entry-{index}-policies.json", associated)


def _pod_identity(account: _Account, region: str, name: str, folder: Path) -> None:
    """Every Pod Identity association of the cluster, described, into
    ``pod-identity-associations/`` (an empty folder: the cluster has none), and its add-on
    names into ``addons.json``."""
    paginator = account.client("eks", region).get_paginator("list_pod_identity_associations")
    try:
        summaries = [
            item
            for page in paginator.paginate(clusterName=name)
            for item in page.get("associations") or []
        ]
    except (ClientError, BotoCoreError) as error:
        raise SnapshotError(f"eks:ListPodIdentityAssociations: {error}") from None
    described = {
        str(item["associationId"]): account.call(
            "eks",
            "describe_pod_identity_association",
            region,
            clusterName=name,
            associationId=str(item["associationId"]),
        )
        for item in summaries
    }  # all read before any is written: a partial folder would read as "no association"
    target = folder / "pod-identity-associations"
    target.mkdir(parents=True, exist_ok=True)
    for ident, answer in described.items():
        _write(target / f"{ident}.json", answer)
    addons = sorted(account.pages("eks", "list_addons", "addons", region, clusterName=name))
    _write(folder / "addons.json", {"addons": addons})


def _clusters(
    account: _Account, region: str, root: Path, options: SnapshotOptions, result: SnapshotResult
) -> None:
    try:
        names = sorted(account.pages("eks", "list_clusters", "clusters", region))
    except SnapshotError as error:
        result.warnings.append(f"account {account.account} {region}: {error} (no clusters read)")
        return
    for name in names:
        if options.clusters and name not in options.clusters:
            continue
        described = account.call("eks", "describe_cluster", region, name=name)
        cluster = described["cluster"]
        folder = root / "clusters" / _cluster_folder(root, account.account, region, name)
        _write(folder / "describe-cluster.json", described)
        result.clusters.append(str(cluster.get("arn") or name))
        result.folders.append(folder.name)
        mode = (cluster.get("accessConfig") or {}).get("authenticationMode", CONFIG_MAP)
        entries_read = True
        if mode != CONFIG_MAP:
            try:
                _access_entries(account, region, name, folder)
            except SnapshotError as error:
                entries_read = False
                result.warnings.append(
                    f"cluster {name}: {error} (access entries unknown; its aws-auth is left "
                    "out too, or a role an entry overrides would look mapped by aws-auth)"
                )
        try:
            _pod_identity(account, region, name, folder)
        except SnapshotError as error:
            result.warnings.append(
                f"cluster {name}: {error} (pod identity associations or add-ons unknown)"
            )
        _nodes(account, region, name, folder, result)
        if options.kubernetes:
            _kubernetes(account, region, cluster, folder, options, result, entries_read)


def _nodes(account: _Account, region: str, name: str, folder: Path, result: SnapshotResult) -> None:
    """The cluster's ``nodes.json`` (:mod:`kubetrust.adapters.snapshot_nodes`); none when
    the node groups cannot be read or there are none (unknown, not "no nodes")."""
    try:
        entries, warnings = snapshot_nodes.read_nodes(
            account.client("eks", region), account.client("ec2", region), name
        )
    except snapshot_nodes.NodesUnread as error:
        result.warnings.append(f"cluster {name}: {error} (its node roles are unknown)")
        return
    result.warnings += [f"cluster {name}: {warning}" for warning in warnings]
    if entries:
        _write(folder / "nodes.json", entries)


def _cluster_folder(root: Path, account: str, region: str, name: str) -> str:
    """The cluster's folder: its name, qualified when another cluster took it."""
    return name if not (root / "clusters" / name).exists() else f"{account}-{region}-{name}"


def _kubernetes(
    account: _Account,
    region: str,
    cluster: Mapping[str, Any],
    folder: Path,
    options: SnapshotOptions,
    result: SnapshotResult,
    aws_auth: bool = True,
) -> None:
    """The cluster's Kubernetes objects; without ``aws_auth``, its aws-auth is not kept:
    with the access entries unknown, aws-auth alone could map a caller an entry overrides
    (a denial explain would show as allowed)."""
    name = str(cluster.get("name"))
    context = options.contexts.get(name) or options.contexts.get(str(cluster.get("arn")))
    try:
        if context:
            api = snapshot_kube.from_kubeconfig(options.kubeconfig, context)
        else:
            api = snapshot_kube.from_cluster(
                account.session, cluster, region, account.access.endpoint_url
            )
        snapshot_kube.write_cluster_objects(api, folder, aws_auth=aws_auth)
    except errors.KubetrustError as error:
        result.warnings.append(
            f"cluster {name}: Kubernetes API not read ({error}): its aws-auth, RBAC and "
            "service accounts are unknown, so explain finds no mapping there"
        )


def take_snapshot(
    accesses: Sequence[AwsAccess], out: Path, options: SnapshotOptions | None = None
) -> SnapshotResult:
    """Read every account of ``accesses`` (and its clusters) into the bundle ``out``, which
    must not exist or be empty (module doc)."""
    options = options or SnapshotOptions()
    if options.max_concurrency < 1:
        raise SnapshotError(f"max concurrency {options.max_concurrency}: must be at least 1")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SnapshotError(f"{out}: exists and is not an empty directory")
    workers = max(1, min(options.max_concurrency, len(accesses)))
    staging = out / STAGING
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="snapshot") as pool:
            identified = list(pool.map(_identified, accesses))
            reads = _distinct(identified)
            staged = list(
                pool.map(
                    lambda item: read_account(item[1], staging / str(item[0]), options),
                    enumerate(reads),
                )
            )
        result = _merged(out, staged, [error for _, error in identified if error])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not result.accounts:
        raise SnapshotError("no account to read: give credentials (--profile, --sandbox)")
    _write(
        out / "snapshot.json",
        {
            "taken": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "accounts": result.accounts,
            "clusters": result.clusters,
            "warnings": result.warnings,
        },
    )
    return result


@dataclass(slots=True)
class AccountRead:
    """One account read into its staging folder, or the error that stopped it."""

    account: str
    staged: SnapshotResult
    error: str = ""


def _identified(access: AwsAccess) -> tuple[_Account | None, str]:
    """The account's clients and id (``sts:GetCallerIdentity``), or why they failed."""
    try:
        account = _Account(access)
        account.account = str(account.call("sts", "get_caller_identity")["Account"])
        return account, ""
    except (errors.KubetrustError, BotoCoreError) as error:
        return None, f"{_describe(access)}: {error}"


def _describe(access: AwsAccess) -> str:
    return f"profile {access.profile}" if access.profile else "credentials"


def _distinct(identified: Sequence[tuple[_Account | None, str]]) -> list[_Account]:
    """Each account once, in the order given (a second way into one account is skipped)."""
    seen: set[str] = set()
    found = []
    for account, _ in identified:
        if account is not None and account.account not in seen:
            seen.add(account.account)
            found.append(account)
    return found


def read_account(account: _Account, staging: Path, options: SnapshotOptions) -> AccountRead:
    """Read one account (IAM, then each region's clusters) into ``staging``, a bundle of
    its own; an error that leaves the account unusable is kept, not raised, so that the
    other accounts' reads finish."""
    staged = SnapshotResult(staging, accounts=[account.account])
    try:
        _iam(account, staging / "accounts" / account.account, staged)
        for region in options.regions or (account.region,):
            _clusters(account, region, staging, options, staged)
    except SnapshotError as error:
        return AccountRead(account.account, staged, f"account {account.account}: {error}")
    return AccountRead(account.account, staged)


def _merged(out: Path, reads: Sequence[AccountRead], failures: list[str]) -> SnapshotResult:
    """The staged accounts moved into ``out`` in order; cluster folders named as a serial
    read names them (a name another account took first is qualified)."""
    failures = failures + [read.error for read in reads if read.error]
    if failures:
        raise SnapshotError("; ".join(failures))
    result = SnapshotResult(out)
    for read in reads:
        result.accounts.append(read.account)
        result.clusters += read.staged.clusters
        result.warnings += read.staged.warnings
        staged = read.staged.root
        _move(staged / "accounts" / read.account, out / "accounts" / read.account)
        for name in read.staged.folders:
            folder = staged / "clusters" / name
            target = name
            if (out / "clusters" / name).exists():
                target = f"{read.account}-{_region_of(folder)}-{name}"
            _move(folder, out / "clusters" / target)
            result.folders.append(target)
    return result


def _region_of(folder: Path) -> str:
    described = json.loads((folder / "describe-cluster.json").read_text("utf-8"))
    return str(described["cluster"]["arn"]).split(":")[3]


def _move(source: Path, target: Path) -> None:
    if source.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
