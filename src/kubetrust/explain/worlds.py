"""Write a bundle from a compact *world* description: the inverse of the bundle loader.

A world is what a test case, a benchmark or a docs example states in a few lines; the
files written are exactly what the AWS CLI and kubectl print (authorization details with
URL-encoded or object documents, describe-cluster, access entries, the aws-auth ConfigMap,
manifests), so everything downstream runs the same code as on real exports. The account
part is a superset of the sandbox's world file (``id``, ``name``, ``scps``, ``rcps``,
``roles`` with ``name``/``trust``/``policies``/``path``/``max_session_duration``), so one
description can later seed both the sandbox and explain::

    accounts:
      - id: "111111111111"
        roles:
          - {name: ci, trust: {...}, policies: {inline-name: {...}}, managed: [ARN],
             boundary: ARN, max_session_duration: 3600, instance_profile: true, tags: {}}
        users: [{name: alice, policies: {...}, managed: [ARN], groups: [devs]}]
        groups: [{name: devs, policies: {...}, managed: [ARN]}]
        policies: [{name: boundary, document: {...}}]          # customer managed
        oidc_providers: [{url: https://..., client_ids: [sts.amazonaws.com]}]
        scps: [[doc, ...]]                                       # levels
        rcps: [[doc, ...]]
        resource_policies: [{resource: ARN, policy: {...}}]
    clusters:
      - {name: ci-cluster, account: "111111111111", region: us-east-1,
         issuer: https://..., authentication_mode: CONFIG_MAP, tags: {env: prod},
         aws_auth: {mapRoles: [...], mapUsers: [...], mapAccounts: [...]},
         access_entries: [{principalArn, kubernetesGroups, username, type,
                           policies: [{policyArn, accessScope}]}],
         manifests: [Kubernetes objects],
         pod_identity_associations: [{namespace, serviceAccount, roleArn, targetRoleArn,
                                      disableSessionTags, externalId}],
         addons: [eks-pod-identity-agent],
         nodes: [{instance_role_arn: ARN, imds: {hop_limit: 2, http_tokens: required}}]}
    aws_config: "[profile x]\\n..."                               # optional

Role IDs are derived from the ARN (stable across runs). ``encode="url"`` writes every
document URL-encoded, as the raw IAM API returns them.
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kubetrust.chain import pod_identity
from kubetrust.model.vocabulary import CONFIG_MAP
from kubetrust.yaml_codec import CODEC


def unique_id(prefix: str, text: str) -> str:
    """A stable IAM-style unique ID (``AROA`` + 17 characters) for ``text``."""
    return prefix + hashlib.sha256(text.encode()).hexdigest()[:17].upper()


def _document(document: object, encode: str) -> object:
    if encode == "url":
        return urllib.parse.quote(json.dumps(document, separators=(",", ":")))
    return document


def _inline(policies: Mapping[str, Any], encode: str) -> list[dict[str, Any]]:
    return [
        {"PolicyName": name, "PolicyDocument": _document(doc, encode)}
        for name, doc in policies.items()
    ]


def _attached(arns: list[str]) -> list[dict[str, str]]:
    return [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in arns]


def authorization_details(account: Mapping[str, Any], encode: str = "object") -> dict[str, Any]:
    """``get-account-authorization-details`` output for one world account."""
    acct = str(account["id"])
    roles = []
    for role in account.get("roles") or []:
        path = role.get("path", "/")
        role_arn = f"arn:aws:iam::{acct}:role{path}{role['name']}"
        item: dict[str, Any] = {
            "Path": path,
            "RoleName": role["name"],
            "RoleId": unique_id("AROA", role_arn),
            "Arn": role_arn,
            "AssumeRolePolicyDocument": _document(role["trust"], encode),
            "InstanceProfileList": [],
            "RolePolicyList": _inline(role.get("policies") or {}, encode),
            "AttachedManagedPolicies": _attached(role.get("managed") or []),
            "Tags": [{"Key": k, "Value": v} for k, v in (role.get("tags") or {}).items()],
        }
        if role.get("instance_profile"):
            profile_arn = f"arn:aws:iam::{acct}:instance-profile/{role['name']}"
            item["InstanceProfileList"] = [
                {"InstanceProfileName": role["name"], "Arn": profile_arn, "Path": "/"}
            ]
        if role.get("boundary"):
            item["PermissionsBoundary"] = {
                "PermissionsBoundaryType": "Policy",
                "PermissionsBoundaryArn": role["boundary"],
            }
        roles.append(item)
    users = [
        {
            "Path": "/",
            "UserName": user["name"],
            "UserId": unique_id("AIDA", f"{acct}/{user['name']}"),
            "Arn": f"arn:aws:iam::{acct}:user/{user['name']}",
            "GroupList": list(user.get("groups") or []),
            "UserPolicyList": _inline(user.get("policies") or {}, encode),
            "AttachedManagedPolicies": _attached(user.get("managed") or []),
        }
        for user in account.get("users") or []
    ]
    groups = [
        {
            "Path": "/",
            "GroupName": group["name"],
            "GroupId": unique_id("AGPA", f"{acct}/{group['name']}"),
            "Arn": f"arn:aws:iam::{acct}:group/{group['name']}",
            "GroupPolicyList": _inline(group.get("policies") or {}, encode),
            "AttachedManagedPolicies": _attached(group.get("managed") or []),
        }
        for group in account.get("groups") or []
    ]
    policies = []
    for managed in account.get("policies") or []:
        policy_arn = managed.get("arn") or f"arn:aws:iam::{acct}:policy/{managed['name']}"
        policies.append(
            {
                "PolicyName": managed.get("name") or policy_arn.rsplit("/", 1)[-1],
                "Arn": policy_arn,
                "DefaultVersionId": "v1",
                "PolicyVersionList": [
                    {
                        "Document": _document(managed["document"], encode),
                        "VersionId": "v1",
                        "IsDefaultVersion": True,
                    }
                ],
            }
        )
    return {
        "UserDetailList": users,
        "GroupDetailList": groups,
        "RoleDetailList": roles,
        "Policies": policies,
    }


def _write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")


def write_account(root: Path, account: Mapping[str, Any], encode: str = "object") -> None:
    """Write one world account under ``root/accounts/<id>/`` (generators stream accounts)."""
    folder = root / "accounts" / str(account["id"])
    _write_json(folder / "authorization-details.json", authorization_details(account, encode))
    durations = [
        {"RoleName": r["name"], "MaxSessionDuration": r["max_session_duration"]}
        for r in account.get("roles") or []
        if "max_session_duration" in r
    ]
    if durations:
        _write_json(folder / "roles.json", {"Roles": durations})
    providers = [
        {"Url": p["url"].removeprefix("https://"), "ClientIDList": list(p.get("client_ids", []))}
        for p in account.get("oidc_providers") or []
    ]
    if providers:
        _write_json(folder / "oidc-providers.json", providers)
    if account.get("scps") or account.get("rcps") or account.get("org_id"):
        organization = {"scps": account.get("scps") or [], "rcps": account.get("rcps") or []}
        if account.get("org_id"):
            organization["id"] = account["org_id"]
        if account.get("org_path"):
            organization["path"] = account["org_path"]
        _write_json(folder / "organization.json", organization)
    if account.get("resource_policies"):
        _write_json(folder / "resource-policies.json", account["resource_policies"])


def _aws_auth(raw: Mapping[str, Any]) -> dict[str, Any]:
    data = {key: CODEC.dump(value) for key, value in raw.items() if not isinstance(value, str)}
    data.update({key: value for key, value in raw.items() if isinstance(value, str)})
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "aws-auth", "namespace": "kube-system"},
        "data": data,
    }


def write_cluster(root: Path, cluster: Mapping[str, Any]) -> None:
    """Write one world cluster under ``root/clusters/<name>/``."""
    name, account = cluster["name"], str(cluster["account"])
    region = cluster.get("region", "us-east-1")
    folder = root / "clusters" / name
    describe: dict[str, Any] = {
        "name": name,
        "arn": f"arn:aws:eks:{region}:{account}:cluster/{name}",
        "status": "ACTIVE",
        "accessConfig": {"authenticationMode": cluster.get("authentication_mode", CONFIG_MAP)},
    }
    if cluster.get("issuer"):
        describe["identity"] = {"oidc": {"issuer": cluster["issuer"]}}
    if cluster.get("tags"):
        describe["tags"] = dict(cluster["tags"])
    _write_json(folder / "describe-cluster.json", {"cluster": describe})
    if "aws_auth" in cluster:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "aws-auth.yaml").write_text(
            CODEC.dump(_aws_auth(cluster["aws_auth"])), encoding="utf-8"
        )
    for index, entry in enumerate(cluster.get("access_entries") or []):
        described = {k: v for k, v in entry.items() if k != "policies"}
        described.setdefault("type", "STANDARD")
        out: dict[str, Any] = {"accessEntry": {"clusterName": name, **described}}
        _write_json(folder / "access-entries" / f"entry-{index}.json", out)
        if entry.get("policies"):
            _write_json(
                folder / "access-entries" / f"entry-{index}-policies.json",
                {
                    "clusterName": name,
                    "principalArn": entry["principalArn"],
                    "associatedAccessPolicies": entry["policies"],
                },
            )
    _write_pod_identity(folder, cluster, account, region)
    if "nodes" in cluster:
        _write_json(folder / "nodes.json", cluster["nodes"])
    if cluster.get("manifests"):
        folder.joinpath("manifests").mkdir(parents=True, exist_ok=True)
        text = "---\n".join(CODEC.dump(obj) for obj in cluster["manifests"])
        (folder / "manifests" / "objects.yaml").write_text(text, encoding="utf-8")


def _write_pod_identity(
    folder: Path, cluster: Mapping[str, Any], account: str, region: str
) -> None:
    """``describe-pod-identity-association`` outputs (ids and ARNs derived, the external id
    in EKS's form for a target role) and ``list-addons`` output, when the world has them."""
    name = cluster["name"]
    if "pod_identity_associations" in cluster:
        folder.joinpath("pod-identity-associations").mkdir(parents=True, exist_ok=True)
    for entry in cluster.get("pod_identity_associations") or []:
        ident = (
            "a-"
            + hashlib.sha256(
                f"{name}/{entry['namespace']}/{entry['serviceAccount']}".encode()
            ).hexdigest()[:17]
        )
        association: dict[str, Any] = {
            "clusterName": name,
            "associationId": ident,
            "associationArn": f"arn:aws:eks:{region}:{account}:podidentityassociation/"
            f"{name}/{ident}",
            "disableSessionTags": False,
            **entry,
        }
        if association.get("targetRoleArn") and "externalId" not in association:
            association["externalId"] = pod_identity.external_id(
                region, account, name, entry["namespace"], entry["serviceAccount"]
            )
        _write_json(
            folder / "pod-identity-associations" / f"{ident}.json", {"association": association}
        )
    if "addons" in cluster:
        _write_json(folder / "addons.json", {"addons": list(cluster["addons"] or [])})


def write_bundle(world: Mapping[str, Any], root: Path, *, encode: str = "object") -> Path:
    """Write ``world`` as a bundle under ``root`` (module doc); returns ``root``."""
    for account in world.get("accounts") or []:
        write_account(root, account, encode)
    for cluster in world.get("clusters") or []:
        write_cluster(root, cluster)
    if world.get("aws_config"):
        root.mkdir(parents=True, exist_ok=True)
        (root / "aws-config").write_text(str(world["aws_config"]), encoding="utf-8")
    return root
