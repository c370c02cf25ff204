"""Load an offline *bundle* (a directory of AWS CLI and kubectl outputs) into a Topology.

The layout (docs/explain.md has the full description and the commands that produce each
file)::

    BUNDLE/
      accounts/<any>/authorization-details.json   aws iam get-account-authorization-details
      accounts/<any>/roles.json                   aws iam list-roles            (optional)
      accounts/<any>/oidc-providers.json          providers, or oidc-providers/*.json
      accounts/<any>/organization.json            {"scps": [[doc...]...], "rcps": [...],
                                                   "id": "o-…", "path": "o-…/r-…/ou-…/"}
      accounts/<any>/resource-policies.json       [{"resource": ARN, "policy": doc}]
      accounts/<any>.json                         an authorization-details file alone
      clusters/<any>/describe-cluster.json        aws eks describe-cluster
      clusters/<any>/aws-auth.yaml                kubectl get cm aws-auth -n kube-system -o yaml
      clusters/<any>/access-entries.json          list-access-entries, or access-entries/*.json
                                                  (describe-access-entry and
                                                  list-associated-access-policies outputs)
      clusters/<any>/manifests/*.yaml             RBAC objects and ServiceAccounts
                                                  (also read from rbac/ and serviceaccounts/)
      clusters/<any>/pod-identity-associations.json
                                                  describe-pod-identity-association outputs
                                                  (or pod-identity-associations/*.json;
                                                  list-pod-identity-associations summaries)
      clusters/<any>/addons.json                  list-addons or describe-addon outputs
                                                  (or addons/*.json)
      clusters/<any>/nodes.json                   the node groups: {"instance_role_arn": ARN,
                                                  "imds": {"hop_limit": 2, "http_tokens":
                                                  "required"}}, or a list of them
      aws-config, aws-config/*                    AWS CLI config files            (optional)

An account directory named with the 12-digit account ID gives the account of files that do
not carry it (``get-open-id-connect-provider`` output). Files that cannot be read at all
(bad JSON or YAML, a required file missing, a file of the wrong kind) raise
:class:`BundleError` naming the file and what is wrong; bad entries inside a good file are
kept as problems on the topology (shown as warnings), as the model parsers report them.

Why here: YAML and file reading may not happen in the pure layers (import-linter), so
decoding lives in ``explain`` and the decoded objects go to :mod:`kubetrust.model`.
"""

from __future__ import annotations

import configparser
import dataclasses
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kubetrust import arn, errors
from kubetrust.explain import bundle_parallel
from kubetrust.explain.gcpause import paused_gc
from kubetrust.model import account_dump, aws_auth, eks, kube
from kubetrust.model.iam import AccountIam, Problem
from kubetrust.model.topology import AwsProfile, Cluster, OrgPolicies, ResourcePolicy, Topology
from kubetrust.policy import PolicyKind, parse_policy
from kubetrust.yaml_codec import CODEC, load_all

_MANIFEST_DIRS = ("manifests", "rbac", "serviceaccounts")
_DATA = (".json", ".yaml", ".yml")


class BundleError(errors.InputError):
    """A bundle file that cannot be used at all: ``file: what``."""

    def __init__(self, path: Path | str, what: str) -> None:
        self.path = str(path)
        self.what = what
        super().__init__(f"{path}: {what}")


def read_json(path: Path) -> Any:
    return read_json_numbers(path)[0]


class _Numbers:
    """Decoding hooks that notice a number with a fraction, an exponent or a non-finite
    value (decoded as a float, as ``json`` does): called for those only, so free otherwise."""

    def __init__(self) -> None:
        self.inexact = False

    def fraction(self, text: str) -> float:
        self.inexact = True
        return float(text)

    def constant(self, name: str) -> float:
        self.inexact = True
        return float(name)  # NaN, Infinity, -Infinity


def read_json_numbers(path: Path) -> tuple[Any, bool]:
    """The file's JSON value, and whether every number in it is an integer (its policy
    documents then parse exactly from the decoded mappings, :mod:`kubetrust.policy.interning`).
    A file too deeply nested to decode is refused like bad JSON."""
    numbers = _Numbers()
    try:
        text = path.read_text(encoding="utf-8")
        value = json.loads(text, parse_float=numbers.fraction, parse_constant=numbers.constant)
    except FileNotFoundError:
        raise BundleError(path, "no such file") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise BundleError(path, f"not valid JSON: {error}") from None
    except RecursionError:
        raise BundleError(path, f"not valid JSON: {errors.NESTED_TOO_DEEPLY}") from None
    return value, not numbers.inexact


def read_documents(path: Path) -> list[Any]:
    """Every document of a JSON or (multi-document) YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BundleError(path, f"cannot read: {error}") from None
    if path.suffix == ".json":
        try:
            return [json.loads(text)]
        except ValueError as error:
            raise BundleError(path, f"not valid JSON: {error}") from None
        except RecursionError:
            raise BundleError(path, f"not valid JSON: {errors.NESTED_TOO_DEEPLY}") from None
    try:
        return load_all(text)
    except ValueError as error:
        raise BundleError(path, f"not valid YAML: {error}") from None


def _files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in _DATA)


def _located(path: Path, problems: Iterable[object]) -> list[Problem]:
    found = []
    for problem in problems:
        where = getattr(problem, "where", None) or getattr(problem, "path", "")
        found.append(Problem(f"{path}: {where}", str(getattr(problem, "message", problem))))
    return found


@dataclasses.dataclass(frozen=True, slots=True)
class _Item:
    """One thing a load reads, in the order one process reads them: ``kind`` is
    ``account`` (a directory), ``account-file``, ``cluster``, ``aws-config``, or
    ``refused`` (a path that is no bundle: ``refusal`` says why, raised when reached)."""

    kind: str
    path: Path
    refusal: str = ""


class _Loader:
    """What a run of :class:`_Item` yields, in reading order (parts join in order)."""

    def __init__(self) -> None:
        self.accounts: list[AccountIam] = []
        self.providers: list[eks.OidcProvider] = []
        self.clusters: list[Cluster] = []
        self.org: dict[str, OrgPolicies] = {}
        self.resource_policies: list[ResourcePolicy] = []
        self.profiles: list[AwsProfile] = []
        self.problems: list[Problem] = []

    def read(self, item: _Item) -> None:
        if item.kind == "account":
            self.account_dir(item.path)
        elif item.kind == "account-file":
            named = item.path.stem if arn.is_account_id(item.path.stem) else None
            self.accounts.append(self.account_file(item.path, named))
        elif item.kind == "cluster":
            self.cluster_dir(item.path)
        elif item.kind == "aws-config":
            self.aws_config(item.path)
        else:
            raise BundleError(item.path, item.refusal)

    @staticmethod
    def joined(parts: Sequence[_Loader]) -> _Loader:
        """The parts' findings one after the other: what one loader reading every part's
        items in order holds."""
        whole = _Loader()
        for part in parts:
            whole.accounts += part.accounts
            whole.providers += part.providers
            whole.clusters += part.clusters
            whole.org.update(part.org)
            whole.resource_policies += part.resource_policies
            whole.profiles += part.profiles
            whole.problems += part.problems
        return whole

    # ------------------------------------------------------------------ accounts
    def account_file(self, path: Path, account: str | None) -> AccountIam:
        data, integers_only = read_json_numbers(path)
        if not account_dump.looks_like_dump(data):
            raise BundleError(
                path,
                "not get-account-authorization-details output (no UserDetailList, "
                "GroupDetailList, RoleDetailList or Policies)",
            )
        try:
            parsed, problems = account_dump.parse_authorization_details(
                data, account=account, numbers_exact=integers_only
            )
        except errors.InputError as error:
            raise BundleError(path, str(error)) from None
        self.problems += _located(path, problems)
        return parsed

    def account_dir(self, directory: Path) -> None:
        named = directory.name if arn.is_account_id(directory.name) else None
        details = directory / "authorization-details.json"
        if not details.is_file():
            raise BundleError(details, "missing (every account directory needs one)")
        account = self.account_file(details, named)
        roles = directory / "roles.json"
        if roles.is_file():
            account, problems = account_dump.merge_role_facts(
                account, account_dump.role_facts(_mapping(roles, read_json(roles)))
            )
            self.problems += _located(roles, problems)
        self.accounts.append(account)
        sources = [directory / "oidc-providers.json", *_files(directory / "oidc-providers")]
        for source in sources:
            if source.is_file():
                found, problems = eks.parse_oidc_providers(
                    read_json(source), account=account.account
                )
                self.providers += found
                self.problems += _located(source, problems)
        organization = directory / "organization.json"
        if organization.is_file():
            self.org[account.account] = _org(organization)
        resources = directory / "resource-policies.json"
        if resources.is_file():
            self.resource_policies += _resource_policies(resources, account.account)

    # ------------------------------------------------------------------ clusters
    def cluster_dir(self, directory: Path) -> None:
        describe = directory / "describe-cluster.json"
        try:
            info = eks.parse_describe_cluster(_mapping(describe, read_json(describe)))
        except errors.InputError as error:
            if isinstance(error, BundleError):
                raise
            raise BundleError(describe, str(error)) from None
        aws_auth_map, auth_problems, auth_source = self._aws_auth(directory)
        entries = self._access_entries(directory)
        documents: list[object] = []
        origins: dict[tuple[str, str], str] = {}
        for folder in _MANIFEST_DIRS:
            for path in _files(directory / folder):
                found = read_documents(path)
                documents += found
                origins.update(dict.fromkeys(_service_accounts(found), str(path)))
        manifests, problems = kube.parse_manifests(documents, source=str(directory))
        self.problems += [Problem(p.where, p.message) for p in problems]
        accounts = {
            key: dataclasses.replace(account, source=origins.get(key, account.source))
            for key, account in manifests.service_accounts.items()
        }
        self.clusters.append(
            Cluster(
                info=info,
                aws_auth=aws_auth_map,
                aws_auth_problems=tuple(auth_problems),
                aws_auth_source=auth_source,
                access_entries=tuple(entries),
                rbac=manifests.rbac,
                service_accounts=accounts,
                **self._pod_identity(directory),
                node_groups=_nodes(directory / "nodes.json"),
            )
        )

    def _pod_identity(self, directory: Path) -> dict[str, Any]:
        """The cluster's Pod Identity associations and add-ons, when the bundle holds
        them (absent files: unknown, which explain says instead of guessing)."""
        found: dict[str, Any] = {}
        documents = self._documents(directory, "pod-identity-associations")
        if documents is not None:
            associations, problems = eks.parse_pod_identity_associations(documents)
            self.problems += _located(directory / "pod-identity-associations", problems)
            found["pod_identity_associations"] = tuple(associations)
            found["associations_known"] = True
        addons = self._documents(directory, "addons")
        if addons is not None:
            names, problems = eks.parse_addons(addons)
            self.problems += _located(directory / "addons", problems)
            found["addons"] = tuple(names)
        return found

    @staticmethod
    def _documents(directory: Path, name: str) -> list[object] | None:
        """Every document of ``<name>.json`` and ``<name>/*``; ``None`` when neither
        exists."""
        paths = [directory / f"{name}.json", *_files(directory / name)]
        present = [path for path in paths if path.is_file()]
        if not present and not (directory / name).is_dir():
            return None
        documents: list[object] = []
        for path in present:
            for document in read_documents(path):
                documents += document if isinstance(document, list) else [document]
        return documents

    def _aws_auth(
        self, directory: Path
    ) -> tuple[aws_auth.AwsAuthMap | None, list[aws_auth.Problem], str]:
        for name in ("aws-auth.yaml", "aws-auth.yml", "aws-auth.json"):
            path = directory / name
            if not path.is_file():
                continue
            documents = read_documents(path)
            if len(documents) != 1 or not isinstance(documents[0], Mapping):
                raise BundleError(path, "must hold one ConfigMap (or its `data` mapping)")
            raw = documents[0]
            data = raw.get("data", {} if raw.get("kind") == "ConfigMap" else raw)
            if not isinstance(data, Mapping):
                raise BundleError(path, "`data` must be a mapping of strings")
            parsed, problems = aws_auth.parse_aws_auth(data, CODEC)
            self.problems += _located(path, problems)
            return parsed, problems, str(path)
        return None, [], ""

    def _access_entries(self, directory: Path) -> list[eks.AccessEntry]:
        paths = [directory / "access-entries.json", *_files(directory / "access-entries")]
        documents: list[Mapping[str, Any]] = []
        for path in paths:
            if path.is_file():
                for document in read_documents(path):
                    documents += _entry_documents(path, document)
        entries, problems = eks.parse_access_entries(documents)
        self.problems += _located(directory / "access-entries", problems)
        return entries

    # ------------------------------------------------------------------ AWS config
    def aws_config(self, path: Path) -> None:
        parser = configparser.RawConfigParser()
        try:
            parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
        except (OSError, UnicodeDecodeError, configparser.Error) as error:
            raise BundleError(path, f"not an AWS config file: {error}") from None
        for section in parser.sections():
            name = section.removeprefix("profile ").strip()
            get = parser[section].get
            duration = get("duration_seconds")
            try:
                seconds = int(duration) if duration is not None else None
            except ValueError:
                raise BundleError(path, f"[{section}] duration_seconds is not a number") from None
            self.profiles.append(
                AwsProfile(
                    name=name,
                    source=str(path),
                    role_arn=get("role_arn"),
                    source_profile=get("source_profile"),
                    credential_source=get("credential_source"),
                    web_identity_token_file=get("web_identity_token_file"),
                    duration_seconds=seconds,
                )
            )


def _service_accounts(documents: list[Any]) -> list[tuple[str, str]]:
    """``(namespace, name)`` of the ServiceAccount objects of one file's documents."""
    found = []
    for obj in kube.flatten(documents):
        if isinstance(obj, Mapping) and obj.get("kind") == "ServiceAccount":
            meta = obj.get("metadata")
            if isinstance(meta, Mapping):
                found.append((str(meta.get("namespace") or ""), str(meta.get("name") or "")))
    return found


def _nodes(path: Path) -> tuple[eks.NodeGroup, ...] | None:
    """The cluster's node groups from ``nodes.json``; ``None`` without the file (unknown).
    A malformed entry fails the file: dropping it would hide its role's exposure."""
    if not path.is_file():
        return None
    try:
        return tuple(eks.parse_nodes(read_json(path)))
    except errors.InputError as error:
        if isinstance(error, BundleError):
            raise
        raise BundleError(path, str(error)) from None


def _mapping(path: Path, data: object) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise BundleError(path, "must hold a JSON object")
    return data


def _entry_documents(path: Path, document: object) -> list[Mapping[str, Any]]:
    items = document if isinstance(document, list) else [document]
    for item in items:
        keys = ("accessEntry", "accessEntries", "associatedAccessPolicies")
        if not isinstance(item, Mapping) or not any(k in item for k in keys):
            raise BundleError(
                path,
                "not describe-access-entry, list-access-entries or "
                "list-associated-access-policies output",
            )
    return list(items)


def _levels(path: Path, raw: object, name: str) -> tuple[tuple[Any, ...], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(level, list) for level in raw):
        raise BundleError(path, f"`{name}` must be a list of levels, each a list of documents")
    kind = PolicyKind.SCP if name == "scps" else PolicyKind.RCP
    levels = []
    for number, level in enumerate(raw):
        documents = []
        for index, document in enumerate(level):
            try:
                documents.append(parse_policy(document, kind))
            except errors.PolicyParseError as error:
                raise BundleError(path, f"{name}[{number}][{index}]: {error}") from None
        levels.append(tuple(documents))
    return tuple(levels)


_ORG_ID = re.compile(r"o-[a-z0-9]{10,32}\Z")
_ORG_PATH = re.compile(
    r"(o-[a-z0-9]{10,32})/r-[0-9a-z]{4,32}/(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}/)*\Z"
)


def _org(path: Path) -> OrgPolicies:
    """The account's SCP/RCP levels and, when given, its organization id and path (the
    values of ``aws:PrincipalOrgID``/``aws:ResourceOrgID`` and their ``…OrgPaths``).
    Both are optional so bundles written before they were read still load; a path
    without an id, or one that is not under the id, is refused."""
    data = _mapping(path, read_json(path))
    org_id, org_path = data.get("id"), data.get("path")
    if org_id is not None and (not isinstance(org_id, str) or not _ORG_ID.match(org_id)):
        raise BundleError(
            path,
            f"`id` {errors.shown(org_id)} is not an organization id (`o-` and 10 to 32 "
            "lowercase letters or digits)",
        )
    paths: tuple[str, ...] = ()
    if org_path is not None:
        found = _ORG_PATH.match(org_path) if isinstance(org_path, str) else None
        if found is None or found.group(1) != org_id:
            raise BundleError(
                path,
                f"`path` {errors.shown(org_path)} must be the account's path in the "
                "organization `id` names, as `o-…/r-…/ou-…/` (one `ou-…/` per OU level)",
            )
        paths = (str(org_path),)
    return OrgPolicies(
        _levels(path, data.get("scps"), "scps"),
        _levels(path, data.get("rcps"), "rcps"),
        org_id if isinstance(org_id, str) else None,
        paths,
    )


def _resource_policies(path: Path, account: str) -> list[ResourcePolicy]:
    data = read_json(path)
    if not isinstance(data, list):
        raise BundleError(path, "must be a list of {resource, policy}")
    found = []
    for index, item in enumerate(data):
        if not isinstance(item, Mapping) or not isinstance(item.get("resource"), str):
            raise BundleError(path, f"[{index}] needs `resource` (an ARN) and `policy`")
        try:
            document = parse_policy(
                account_dump.decode_document(item.get("policy")), PolicyKind.RESOURCE
            )
        except errors.KubetrustError as error:
            raise BundleError(path, f"[{index}].policy: {error}") from None
        found.append(ResourcePolicy(item["resource"], account, document))
    return found


def load_bundle(paths: Sequence[Path | str]) -> Topology:
    """Load one or more bundle directories into one topology (module doc)."""
    with paused_gc():
        return _load(paths)


def _load(paths: Sequence[Path | str]) -> Topology:
    items = _plan(paths)

    def run(start: int, stop: int) -> _Loader:
        loader = _Loader()
        for item in items[start:stop]:
            loader.read(item)
        return loader

    child = bundle_parallel.child_run(items, _account_bytes)
    if child is None:
        loader = run(0, len(items))
    else:
        loader = bundle_parallel.split_run(len(items), child, run, _Loader.joined)
    _no_duplicates(loader)
    return Topology.build(
        loader.accounts,
        providers=loader.providers,
        clusters=loader.clusters,
        org=loader.org,
        resource_policies=loader.resource_policies,
        profiles=loader.profiles,
        problems=loader.problems,
    )


def _plan(paths: Sequence[Path | str]) -> list[_Item]:
    """Every item of the bundles, in reading order; a path that is no bundle ends the list
    (reading stops there with its error, after the bundles before it)."""
    items: list[_Item] = []
    for raw in paths:
        root = Path(raw)
        if not root.is_dir():
            return [*items, _Item("refused", root, "not a directory")]
        accounts = root / "accounts"
        clusters = root / "clusters"
        if not accounts.is_dir() and not clusters.is_dir():
            refusal = "no accounts/ or clusters/ directory: not a bundle"
            return [*items, _Item("refused", root, refusal)]
        for entry in sorted(accounts.iterdir()) if accounts.is_dir() else []:
            if entry.is_dir():
                items.append(_Item("account", entry))
            elif entry.suffix == ".json":
                items.append(_Item("account-file", entry))
        for entry in sorted(clusters.iterdir()) if clusters.is_dir() else []:
            if entry.is_dir():
                items.append(_Item("cluster", entry))
        config = root / "aws-config"
        for path in sorted(config.iterdir()) if config.is_dir() else [config]:
            if path.is_file():
                items.append(_Item("aws-config", path))
    return items


def _account_bytes(item: _Item) -> int:
    """The size of an account item's authorization details; ``0`` for other items (which
    the load's child does not take, :mod:`kubetrust.explain.bundle_parallel`)."""
    path = item.path / "authorization-details.json" if item.kind == "account" else item.path
    if item.kind not in ("account", "account-file"):
        return 0
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _no_duplicates(loader: _Loader) -> None:
    seen: set[str] = set()
    for account in loader.accounts:
        if account.account in seen:
            raise BundleError("accounts/", f"account {account.account} is given twice")
        seen.add(account.account)
    arns: set[str] = set()
    for cluster in loader.clusters:
        if cluster.info.arn in arns:
            raise BundleError("clusters/", f"cluster {cluster.info.arn} is given twice")
        arns.add(cluster.info.arn)
