"""A synthetic AWS organization with EKS clusters, written as a kubetrust bundle.

Shape (``accounts`` × ``roles`` roles per account; the defaults are 1,000 × 100):

- ``ci`` CI accounts (the first ones), each with an EKS cluster ``ci-<n>``, its IAM OIDC
  provider, an IRSA role per team (``irsa-<k>``; one with a namespace-wide ``StringLike``,
  one without any ``:sub`` condition), annotated service accounts, and a node role (in the
  first CI account the node role may also assume a deploy role: the anti-pattern);
- a security account (right after the CI accounts) with auditor users and a scanner role;
- in every account: ``deploy-<d>`` target roles trusted by two IRSA roles of one CI account
  (cross-account, named ARNs), ``readonly`` trusting the security account's root (no
  condition), ``audit`` trusting the scanner under an ``sts:ExternalId`` condition,
  ``admin`` trusting the account's root and assumed by a local user, a same-account chain
  ``ops-1 → ops-2 → ops-3`` (``ops-3`` with a 2-hour MaxSessionDuration), and service
  roles (Lambda, ECS) with one or two inline policies, some with a permissions boundary;
  an SCP level for every account; accounts 1, 101… (``SHARED`` of them at most) have
  ``shared``, trusting ``*`` under ``aws:PrincipalOrgID``;
- every ``cluster_every``-th account has a target cluster ``prod-<n>``: every other one
  (``prod-0``, ``prod-<2·cluster_every>``…) keeps aws-auth (``deploy-0`` in a group bound to
  ``edit`` in namespace ``apps``) next to an access entry for ``admin``; the others run in
  ``API`` mode with access entries only (``deploy-0`` in the same group, ``deploy-1`` with
  the EKS edit policy on ``apps``, ``admin`` cluster admin, the node role);
- EKS Pod Identity: each CI cluster has ``POD_TEAMS`` associations (``pod-<t>`` roles,
  ``targetRoleArn`` a ``deploy-<d>`` role of one of its target accounts, which trusts the
  pod roles of its CI account for ``sts:AssumeRole`` and ``sts:TagSession``; ``pod-0``
  trusts every pod of every cluster: an audit finding), and every target cluster has
  associations of three application namespaces to a local ``app-pod`` role, with the agent
  add-on.

:meth:`Shape.organization` keeps these proportions for any size: one CI account per
hundred accounts, a target cluster in one account of twenty.

Accounts are written one at a time (the generator never holds the organization).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubetrust.explain import worlds

V = "2012-10-17"
DEPLOYS = 5
TEAMS = 10
POD_TEAMS = 4
SHARED = 10
"""Accounts with a ``shared`` role (trusting ``*`` in the organization): a few central
services, not one per team account; every admin of the organization reaches each of them,
so their number multiplies the reach graph's edges by the number of accounts."""
APPS = 3
POD_SERVICE = "pods.eks.amazonaws.com"
POD_ACTIONS = ["sts:AssumeRole", "sts:TagSession"]


@dataclass(frozen=True, slots=True)
class Shape:
    accounts: int = 1000
    roles: int = 100
    ci: int = 10
    cluster_every: int = 20

    @classmethod
    def organization(cls, accounts: int, roles: int = 100) -> Shape:
        """An organization of ``accounts`` in the default proportions (module doc)."""
        return cls(accounts=accounts, roles=roles, ci=max(2, accounts // 100), cluster_every=20)

    def account_id(self, index: int) -> str:
        return str(100000000000 + index)

    @property
    def security(self) -> int:
        return self.ci


def issuer(ci_index: int) -> str:
    return f"https://oidc.eks.us-east-1.amazonaws.com/id/{ci_index:032X}"


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": V, "Statement": list(statements)}


def _allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def _trust(principal: Any, action: Any = "sts:AssumeRole", **extra: Any) -> dict[str, Any]:
    return _doc({"Effect": "Allow", "Principal": principal, "Action": action, **extra})


def _irsa_roles(shape: Shape, index: int) -> list[dict[str, Any]]:
    acct = shape.account_id(index)
    url = issuer(index).removeprefix("https://")
    provider = f"arn:aws:iam::{acct}:oidc-provider/{url}"
    roles = []
    for team in range(TEAMS):
        sub = f"system:serviceaccount:team-{team}:deployer"
        condition: dict[str, Any] = {
            "StringEquals": {f"{url}:sub": sub, f"{url}:aud": "sts.amazonaws.com"}
        }
        if team == TEAMS - 2:
            condition = {
                "StringEquals": {f"{url}:aud": "sts.amazonaws.com"},
                "StringLike": {f"{url}:sub": f"system:serviceaccount:team-{team}:*"},
            }
        elif team == TEAMS - 1:
            condition = {"StringEquals": {f"{url}:aud": "sts.amazonaws.com"}}
        roles.append(
            {
                "name": f"irsa-{team}",
                "trust": _trust(
                    {"Federated": provider}, "sts:AssumeRoleWithWebIdentity", Condition=condition
                ),
                "policies": {
                    "assume-deploy": _doc(
                        _allow("sts:AssumeRole", f"arn:aws:iam::*:role/deploy-{team % DEPLOYS}")
                    )
                },
            }
        )
    node_policy = _doc(_allow(["ec2:Describe*", "ecr:GetAuthorizationToken"], "*"))
    node: dict[str, Any] = {
        "name": "eks-node",
        "instance_profile": True,
        "trust": _trust({"Service": "ec2.amazonaws.com"}),
        "policies": {"node": node_policy},
    }
    if index == 0:
        node["policies"]["shortcut"] = _doc(
            _allow("sts:AssumeRole", f"arn:aws:iam::{shape.account_id(shape.accounts - 1)}:role/*")
        )
    roles.append(node)
    roles += _pod_roles(shape, index)
    return roles


def _pod_roles(shape: Shape, index: int) -> list[dict[str, Any]]:
    """The CI account's Pod Identity association roles (``pod-0`` without conditions)."""
    cluster = f"arn:aws:eks:us-east-1:{shape.account_id(index)}:cluster/ci-{index}"
    roles = []
    for team in range(POD_TEAMS):
        condition: dict[str, Any] = {
            "StringEquals": {
                "aws:RequestTag/eks-cluster-arn": cluster,
                "aws:RequestTag/kubernetes-namespace": f"pod-team-{team}",
            }
        }
        statement = {"Condition": condition} if team else {}
        roles.append(
            {
                "name": f"pod-{team}",
                "trust": _trust({"Service": POD_SERVICE}, POD_ACTIONS, **statement),
                "policies": {
                    "assume-deploy": _doc(
                        _allow(POD_ACTIONS, f"arn:aws:iam::*:role/deploy-{team % DEPLOYS}")
                    )
                },
            }
        )
    return roles


def pod_target(shape: Shape, ci_index: int, team: int) -> int:
    """The account whose ``deploy-<team % DEPLOYS>`` is the target role of CI cluster
    ``ci_index``'s association ``pod-team-<team>`` (an account that CI account deploys to)."""
    candidate = ci_index + shape.ci * (team + 1)
    return candidate if candidate < shape.accounts else ci_index


def _common_roles(shape: Shape, index: int) -> list[dict[str, Any]]:
    acct = shape.account_id(index)
    ci = shape.account_id(index % shape.ci)
    security = shape.account_id(shape.security)
    roles: list[dict[str, Any]] = []
    for d in range(DEPLOYS):
        callers = [f"arn:aws:iam::{ci}:role/irsa-{k}" for k in range(TEAMS) if k % DEPLOYS == d]
        if index == shape.accounts - 1 and d == 0:
            callers.append(f"arn:aws:iam::{shape.account_id(0)}:role/eks-node")
        pods = [f"arn:aws:iam::{ci}:role/pod-{k}" for k in range(POD_TEAMS) if k % DEPLOYS == d]
        trust = _trust({"AWS": callers})
        if pods:
            trust["Statement"].append(
                {"Effect": "Allow", "Principal": {"AWS": pods}, "Action": POD_ACTIONS}
            )
        roles.append(
            {
                "name": f"deploy-{d}",
                "trust": trust,
                "policies": {
                    "deploy": _doc(
                        _allow(["eks:DescribeCluster", "eks:ListClusters"], "*"),
                        _allow("s3:*", [f"arn:aws:s3:::a{acct}-*", f"arn:aws:s3:::a{acct}-*/*"]),
                    )
                },
            }
        )
    roles += [
        {
            "name": "readonly",
            "trust": _trust({"AWS": f"arn:aws:iam::{security}:root"}),
            "managed": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        },
        {
            "name": "audit",
            "trust": _trust(
                {"AWS": f"arn:aws:iam::{security}:role/security-scanner"},
                Condition={"StringEquals": {"sts:ExternalId": f"audit-{acct}"}},
            ),
            "managed": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        },
        {
            "name": "admin",
            "trust": _trust({"AWS": f"arn:aws:iam::{acct}:root"}),
            "policies": {
                "admin": _doc(_allow("*", "*")),
                "ops": _doc(_allow("sts:AssumeRole", f"arn:aws:iam::{acct}:role/ops-1")),
            },
        },
    ]
    if index % shape.cluster_every == 0:
        roles.append(
            {
                "name": "app-pod",
                "trust": _trust({"Service": POD_SERVICE}, POD_ACTIONS),
                "policies": {"app": _doc(_allow("sqs:*", f"arn:aws:sqs:us-east-1:{acct}:app-*"))},
            }
        )
    if index % 100 == 1 and index < SHARED * 100:
        roles.append(
            {
                "name": "shared",
                "trust": _trust(
                    "*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-synthetic"}}
                ),
                "policies": {"read": _doc(_allow("s3:GetObject", "arn:aws:s3:::shared/*"))},
            }
        )
    previous = f"arn:aws:iam::{acct}:role/admin"
    for step in (1, 2, 3):
        role: dict[str, Any] = {
            "name": f"ops-{step}",
            "trust": _trust({"AWS": previous}),
            "policies": {"ops": _doc(_allow(["ssm:*", "logs:*"], "*"))},
        }
        if step < 3:
            role["policies"]["next"] = _doc(
                _allow("sts:AssumeRole", f"arn:aws:iam::{acct}:role/ops-{step + 1}")
            )
        else:
            role["max_session_duration"] = 7200
        roles.append(role)
        previous = f"arn:aws:iam::{acct}:role/ops-{step}"
    return roles


def _service_roles(count: int, acct: str) -> Iterator[dict[str, Any]]:
    services = ("lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "states.amazonaws.com")
    for j in range(count):
        policies = {
            "data": _doc(
                _allow(
                    ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
                    f"arn:aws:dynamodb:us-east-1:{acct}:table/t{j}",
                ),
                _allow(["s3:GetObject", "s3:PutObject"], f"arn:aws:s3:::a{acct}-svc-{j}/*"),
            )
        }
        if j % 3 == 0:
            policies["logs"] = _doc(
                _allow(
                    ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "*",
                    Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}},
                )
            )
        role: dict[str, Any] = {
            "name": f"svc-{j}",
            "trust": _trust({"Service": services[j % len(services)]}),
            "policies": policies,
        }
        if j % 10 == 0:
            role["boundary"] = f"arn:aws:iam::{acct}:policy/boundary"
        yield role


def account(shape: Shape, index: int) -> dict[str, Any]:
    """The world description of account ``index`` (see :mod:`kubetrust.explain.worlds`)."""
    acct = shape.account_id(index)
    roles: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    if index < shape.ci:
        roles += _irsa_roles(shape, index)
        extra["oidc_providers"] = [{"url": issuer(index), "client_ids": ["sts.amazonaws.com"]}]
    users: list[dict[str, Any]] = [
        {
            "name": "admin-user",
            "policies": {
                "assume": _doc(_allow("sts:AssumeRole", f"arn:aws:iam::{acct}:role/admin"))
            },
        }
    ]
    if index == shape.security:
        users += [
            {
                "name": f"auditor-{u}",
                "policies": {
                    "assume": _doc(_allow("sts:AssumeRole", "arn:aws:iam::*:role/readonly"))
                },
            }
            for u in range(3)
        ]
        roles.append(
            {
                "name": "security-scanner",
                "trust": _trust({"AWS": f"arn:aws:iam::{acct}:root"}),
                "policies": {"scan": _doc(_allow("sts:AssumeRole", "arn:aws:iam::*:role/audit"))},
            }
        )
    roles += _common_roles(shape, index)
    roles += list(_service_roles(max(0, shape.roles - len(roles)), acct))
    return {
        "id": acct,
        "roles": roles,
        "users": users,
        "policies": [
            {"name": "boundary", "document": _doc(_allow(["s3:*", "dynamodb:*", "logs:*"], "*"))},
            {
                "arn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
                "document": _doc(
                    _allow(["s3:Get*", "s3:List*", "ec2:Describe*", "iam:Get*", "iam:List*"], "*")
                ),
            },
        ],
        "scps": [
            [
                _doc(_allow("*", "*")),
                _doc(
                    {
                        "Sid": "StayInOrg",
                        "Effect": "Deny",
                        "Action": "organizations:LeaveOrganization",
                        "Resource": "*",
                    }
                ),
            ]
        ],
        **extra,
    }


EDIT_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
POD_AGENT = "eks-pod-identity-agent"


def _service_account(namespace: str, name: str, role: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if role:
        metadata["annotations"] = {"eks.amazonaws.com/role-arn": role}
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata}


def _ci_cluster(shape: Shape, index: int) -> dict[str, Any]:
    acct = shape.account_id(index)
    manifests = [
        _service_account(f"team-{team}", "deployer", f"arn:aws:iam::{acct}:role/irsa-{team}")
        for team in range(TEAMS)
    ]
    manifests += [_service_account(f"pod-team-{team}", "deployer") for team in range(POD_TEAMS)]
    associations = [
        {
            "namespace": f"pod-team-{team}",
            "serviceAccount": "deployer",
            "roleArn": f"arn:aws:iam::{acct}:role/pod-{team}",
            "targetRoleArn": f"arn:aws:iam::{shape.account_id(pod_target(shape, index, team))}"
            f":role/deploy-{team % DEPLOYS}",
        }
        for team in range(POD_TEAMS)
    ]
    return {
        "name": f"ci-{index}",
        "account": acct,
        "issuer": issuer(index),
        "manifests": manifests,
        "pod_identity_associations": associations,
        "addons": [POD_AGENT],
    }


_DEPLOYERS_EDIT = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "RoleBinding",
    "metadata": {"name": "deployers-edit", "namespace": "apps"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
    "subjects": [{"kind": "Group", "name": "deployers"}],
}


def _target_cluster(shape: Shape, index: int) -> dict[str, Any]:
    """``prod-<index>``: aws-auth (even ones) or access entries only (odd ones)."""
    acct = shape.account_id(index)
    role = f"arn:aws:iam::{acct}:role/"
    admin = {
        "principalArn": role + "admin",
        "policies": [{"policyArn": ADMIN_POLICY, "accessScope": {"type": "cluster"}}],
    }
    cluster: dict[str, Any] = {
        "name": f"prod-{index}",
        "account": acct,
        "issuer": f"https://oidc.eks.us-east-1.amazonaws.com/id/P{index:031X}",
        "manifests": [
            _DEPLOYERS_EDIT,
            *(_service_account(f"app-{app}", "app") for app in range(APPS)),
        ],
        "pod_identity_associations": [
            {"namespace": f"app-{app}", "serviceAccount": "app", "roleArn": role + "app-pod"}
            for app in range(APPS)
        ],
        "addons": [POD_AGENT],
    }
    if (index // shape.cluster_every) % 2 == 0:
        cluster["authentication_mode"] = "API_AND_CONFIG_MAP"
        cluster["aws_auth"] = {
            "mapRoles": [
                {"rolearn": role + "deploy-0", "username": "deployer", "groups": ["deployers"]},
                {
                    "rolearn": role + "eks-node",
                    "username": "system:node:{{EC2PrivateDNSName}}",
                    "groups": ["system:bootstrappers", "system:nodes"],
                },
            ]
        }
        cluster["access_entries"] = [admin]
        return cluster
    cluster["authentication_mode"] = "API"
    cluster["access_entries"] = [
        {"principalArn": role + "deploy-0", "kubernetesGroups": ["deployers"]},
        {
            "principalArn": role + "deploy-1",
            "policies": [
                {
                    "policyArn": EDIT_POLICY,
                    "accessScope": {"type": "namespace", "namespaces": ["apps"]},
                }
            ],
        },
        admin,
        {"principalArn": role + "eks-node", "type": "EC2_LINUX"},
    ]
    return cluster


def clusters(shape: Shape) -> Iterator[dict[str, Any]]:
    """CI clusters (annotated service accounts, Pod Identity associations with target
    roles) and target clusters (aws-auth or access entries, RBAC, local associations)."""
    for index in range(shape.ci):
        yield _ci_cluster(shape, index)
    for index in range(0, shape.accounts, shape.cluster_every):
        yield _target_cluster(shape, index)


def write(shape: Shape, root: Path) -> Path:
    """Write the organization as a bundle under ``root``."""
    for index in range(shape.accounts):
        worlds.write_account(root, account(shape, index))
    for cluster in clusters(shape):
        worlds.write_cluster(root, cluster)
    return root
