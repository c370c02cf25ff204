"""The explainer and the sandbox agree on EKS Pod Identity chains (as they do for IRSA).

Each case is built in the running sandbox with boto3 as the account administrators would
build it (roles, trusts, associations with and without ``targetRoleArn``, the
``eks-pod-identity-agent`` add-on), then:

- **for real**: the add-on is read (``ListAddons``: without it no agent serves the pod),
  a pod's token (``kubectl create token --audience pods.eks.amazonaws.com
  --bound-object-kind Pod``) is traded with EKS Auth ``AssumeRoleForPodIdentity`` signed
  by a node-like session, and the credentials it returns make the goal call
  (``eks:ListClusters``); each answer maps to its link, up to the first failure (EKS
  Auth's hop-1 refusal is the ``pod-identity`` link, an STS-worded refusal of the target
  role the ``target-role`` link);
- **explained**: ``explain_access`` over a bundle *snapshotted from the sandbox*
  (:func:`kubetrust.adapters.snapshot.take_snapshot`: ``ListPodIdentityAssociations``,
  ``DescribePodIdentityAssociation``, ``ListAddons``).

Verdicts must be equal on every link the sandbox reaches, and explain's must be the case's.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

from kubetrust.adapters.aws import AwsAccess
from kubetrust.adapters.snapshot import SnapshotOptions, take_snapshot
from kubetrust.chain import context
from kubetrust.chain.paths import AwsGoal
from kubetrust.explain import bundle, explain, render
from kubetrust.model.topology import Topology

from .kubekit import Caller, admin_kubectl, unique

SERVICE = "pods.eks.amazonaws.com"
REGION = "us-east-1"
NAMESPACE = "default"
HOP_ONE_DENIED = "EKS does not have permissions to assume the associated role"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def pod_trust(actions: Any = ("sts:AssumeRole", "sts:TagSession"), service: str = SERVICE) -> str:
    return _doc({"Effect": "Allow", "Principal": {"Service": service}, "Action": list(actions)})


@dataclass
class Case:
    """One chain: its service account, the verdicts explain must give, and whether the
    service account's cluster runs the agent add-on."""

    name: str
    expect: list[str]
    agent: bool = True
    goal_account: str = ""
    roles: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    aws: Any
    clusters: dict[bool, str]
    kubectl: dict[bool, Caller]
    node: dict[str, str]
    cases: dict[str, Case] = field(default_factory=dict)

    def iam(self, account: str) -> Any:
        return self.aws.client("iam", account=account)

    def role(self, account: str, trust: str, policy: str | None = None) -> str:
        name = unique("pi-role")
        arn = str(
            self.iam(account).create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"][
                "Arn"
            ]
        )
        if policy is not None:
            self.iam(account).put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=policy)
        return arn

    def associate(self, case: Case, role: str, **extra: Any) -> None:
        self.aws.client("eks", account=self.aws.CI).create_pod_identity_association(
            clusterName=self.clusters[case.agent],
            namespace=NAMESPACE,
            serviceAccount=case.name,
            roleArn=role,
            **extra,
        )

    def pod_token(self, case: Case) -> str:
        kube = self.kubectl[case.agent]
        _ok(kube.kubectl("create", "serviceaccount", case.name))
        pod = unique("pod")
        overrides = json.dumps({"spec": {"serviceAccountName": case.name}})
        _ok(kube.kubectl("run", pod, "--image=busybox", f"--overrides={overrides}"))
        done = kube.kubectl(
            "create",
            "token",
            case.name,
            "--audience",
            SERVICE,
            "--bound-object-kind",
            "Pod",
            "--bound-object-name",
            pod,
        )
        _ok(done)
        return done.stdout.strip()


def _ok(done: Any) -> None:
    assert done.ok, str(done)


LIST = _doc({"Effect": "Allow", "Action": "eks:ListClusters", "Resource": "*"})


def _assume_target(target: str, actions: Any = ("sts:AssumeRole", "sts:TagSession")) -> str:
    return _doc({"Effect": "Allow", "Action": list(actions), "Resource": target})


def _target_trust(ci: str, source: str, namespace: str, sa: str, cluster_arn: str) -> str:
    return _doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ci}:root"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {
                "StringEquals": {
                    "aws:RequestTag/eks-cluster-arn": cluster_arn,
                    "aws:RequestTag/kubernetes-namespace": namespace,
                    "aws:RequestTag/kubernetes-service-account": sa,
                },
                "ArnEquals": {"aws:PrincipalArn": source},
            },
        }
    )


def _build_cases(w: World) -> None:
    aws, ci, tgt = w.aws, w.aws.CI, w.aws.TARGET
    cluster_arn = f"arn:aws:eks:{REGION}:{ci}:cluster/{w.clusters[True]}"

    def target_chain(
        case: Case,
        *,
        trust_ns: str = NAMESPACE,
        other_principal: bool = False,
        caller_actions: Any = ("sts:AssumeRole", "sts:TagSession"),
        disable: bool = False,
    ) -> None:
        target_name = unique("pi-target")
        target = f"arn:aws:iam::{tgt}:role/{target_name}"
        source = w.role(ci, pod_trust(), _assume_target(target, caller_actions))
        named = w.role(ci, pod_trust()) if other_principal else source
        w.iam(tgt).create_role(
            RoleName=target_name,
            AssumeRolePolicyDocument=_target_trust(ci, named, trust_ns, case.name, cluster_arn),
        )
        w.iam(tgt).put_role_policy(RoleName=target_name, PolicyName="p", PolicyDocument=LIST)
        w.associate(case, source, targetRoleArn=target, disableSessionTags=disable)
        case.goal_account = tgt

    def single(case: Case, policy: str = LIST, trust_after: str | None = None) -> None:
        source = w.role(ci, pod_trust(), policy)
        w.associate(case, source)
        if trust_after is not None:  # EKS refuses the association with such a trust
            w.iam(ci).update_assume_role_policy(
                RoleName=source.rsplit("/", 1)[1], PolicyDocument=trust_after
            )
        case.goal_account = ci

    cases = [
        (Case(unique("ok-target"), ["ok", "ok", "ok"]), target_chain),
        (Case(unique("ok-single"), ["ok", "ok"]), single),
        (Case(unique("no-assoc"), ["FAIL"]), lambda c: setattr(c, "goal_account", ci)),
        (Case(unique("no-agent"), ["FAIL", "ok"], agent=False), single),
        (
            Case(unique("no-tagsession"), ["FAIL", "ok"]),
            lambda c: single(c, trust_after=pod_trust(["sts:AssumeRole"])),
        ),
        (
            Case(unique("not-pods"), ["FAIL", "ok"]),
            lambda c: single(c, trust_after=pod_trust(service="ec2.amazonaws.com")),
        ),
        (
            Case(unique("other-source"), ["ok", "FAIL", "ok"]),
            lambda c: target_chain(c, other_principal=True),
        ),
        (
            Case(unique("caller-no-tag"), ["ok", "FAIL", "ok"]),
            lambda c: target_chain(c, caller_actions=["sts:AssumeRole"]),
        ),
        (Case(unique("abac-ns"), ["ok", "FAIL", "ok"]), lambda c: target_chain(c, trust_ns="prod")),
        (Case(unique("tags-off"), ["ok", "FAIL", "ok"]), lambda c: target_chain(c, disable=True)),
        (
            Case(unique("abac-goal"), ["ok", "FAIL"]),
            lambda c: single(
                c,
                _doc(
                    {
                        "Effect": "Allow",
                        "Action": "eks:ListClusters",
                        "Resource": "*",
                        "Condition": {
                            "StringEquals": {"aws:PrincipalTag/kubernetes-namespace": "prod"}
                        },
                    }
                ),
            ),
        ),
    ]
    for case, build in cases:
        build(case)
        w.cases[case.name] = case
    assert aws  # both accounts used


def _node(aws: Any) -> dict[str, str]:
    iam = aws.client("iam", account=aws.CI)
    name = unique("pi-node")
    trust = _doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{aws.CI}:root"}, "Action": "*"}
    )
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    iam.put_role_policy(
        RoleName=name,
        PolicyName="node",
        PolicyDocument=_doc(
            {"Effect": "Allow", "Action": "eks-auth:AssumeRoleForPodIdentity", "Resource": "*"}
        ),
    )
    answer = aws.client("sts", account=aws.CI).assume_role(
        RoleArn=f"arn:aws:iam::{aws.CI}:role/{name}", RoleSessionName="i-0node"
    )
    return dict(aws.session_credentials(answer))


@pytest.fixture(scope="module")
def world(aws: Any, sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> World:
    iam = aws.client("iam", account=aws.CI)
    service = unique("pi-eks-service")
    iam.create_role(
        RoleName=service,
        AssumeRolePolicyDocument=_doc(
            {
                "Effect": "Allow",
                "Principal": {"Service": "eks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ),
    )
    eks = aws.client("eks", account=aws.CI)
    clusters: dict[bool, str] = {}
    kubectl: dict[bool, Caller] = {}
    for agent in (True, False):
        name = unique("piagree")
        eks.create_cluster(
            name=name,
            roleArn=f"arn:aws:iam::{aws.CI}:role/{service}",
            resourcesVpcConfig={"subnetIds": []},
            accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"},
        )
        if agent:
            eks.create_addon(clusterName=name, addonName="eks-pod-identity-agent")
        clusters[agent] = name
        kubectl[agent] = admin_kubectl(sandbox, name, tmp_path_factory.mktemp(name))
    built = World(aws, clusters, kubectl, _node(aws))
    _build_cases(built)
    return built


@pytest.fixture(scope="module")
def topology(world: World, sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Topology:
    accesses = [
        AwsAccess(
            access_key_id=sandbox.admin_keys[account][0],
            secret_access_key=sandbox.admin_keys[account][1],
            endpoint_url=sandbox.endpoint,
            region=REGION,
        )
        for account in (world.aws.CI, world.aws.TARGET)
    ]
    out = tmp_path_factory.mktemp("pi-agreement") / "bundle"
    options = SnapshotOptions(clusters=tuple(world.clusters.values()), kubernetes=False)
    result = take_snapshot(accesses, out, options)
    assert not result.warnings, result.warnings
    return bundle.load_bundle([out])


# ---------------------------------------------------------------------- for real


def run_for_real(world: World, case: Case) -> list[str]:
    aws = world.aws
    cluster = world.clusters[case.agent]
    addons = aws.client("eks", account=aws.CI).list_addons(clusterName=cluster)["addons"]
    if "eks-pod-identity-agent" not in addons:
        return ["FAIL"]  # no agent answers the pod
    token = world.pod_token(case)
    client = aws.client("eks-auth", credentials=world.node)
    try:
        answer = client.assume_role_for_pod_identity(clusterName=cluster, token=token)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        message = error.response["Error"]["Message"]
        if code == "ResourceNotFoundException":
            return ["FAIL"]
        assert code == "AccessDeniedException", error
        return ["FAIL"] if HOP_ONE_DENIED in message else ["ok", "FAIL"]
    hops = ["ok", "ok"] if answer["assumedRoleUser"]["arn"].split(":")[4] != aws.CI else ["ok"]
    creds = answer["credentials"]
    session = {
        "aws_access_key_id": creds["accessKeyId"],
        "aws_secret_access_key": creds["secretAccessKey"],
        "aws_session_token": creds["sessionToken"],
    }
    try:
        aws.client("eks", credentials=session).list_clusters()
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDeniedException", error
        return [*hops, "FAIL"]
    return [*hops, "ok"]


def test_cases_cover_every_way_it_breaks(world: World) -> None:
    expected = [case.expect for case in world.cases.values()]
    assert ["ok", "ok", "ok"] in expected and ["ok", "ok"] in expected
    assert sum(e[0] == "FAIL" for e in expected) >= 4
    assert sum(e[:2] == ["ok", "FAIL"] and len(e) == 3 for e in expected) >= 4


@pytest.mark.parametrize(
    "prefix",
    [
        "ok-target",
        "ok-single",
        "no-assoc",
        "no-agent",
        "no-tagsession",
        "not-pods",
        "other-source",
        "caller-no-tag",
        "abac-ns",
        "tags-off",
        "abac-goal",
    ],
)
def test_sandbox_and_explain_agree(prefix: str, world: World, topology: Topology) -> None:
    case = next(c for name, c in world.cases.items() if name.startswith(prefix))
    cluster = world.clusters[case.agent]
    found = explain.explain_access(
        topology,
        explain.workload_for(topology, cluster, NAMESPACE, case.name),
        AwsGoal("eks:ListClusters", "*", case.goal_account),
        request=context.RequestFacts(
            now=dt.datetime.now(dt.UTC), secure_transport=False, source_ip="127.0.0.1"
        ),
        federation="pod-identity",
    )
    text = render.explanation_text(found)
    assert found.chain is not None, text
    verdicts = ["ok" if link.allowed else "FAIL" for link in found.chain.links]
    assert verdicts[: len(case.expect)] == case.expect, text
    real = run_for_real(world, case)
    assert real == verdicts[: len(real)], f"sandbox {real} vs explain {verdicts}\n{text}"
    assert found.allowed is ("FAIL" not in real)


def test_bundle_holds_the_associations(world: World, topology: Topology) -> None:
    cluster = topology.cluster(world.clusters[True])
    names = {a.service_account for a in cluster.pod_identity_associations}
    assert {n for n, c in world.cases.items() if c.agent and not n.startswith("no-assoc")} <= names
    assert cluster.addons == ("eks-pod-identity-agent",)
    assert topology.cluster(world.clusters[False]).addons == ()
    target = next(a for a in cluster.pod_identity_associations if a.target_role_arn)
    assert target.external_id and target.role_arn
