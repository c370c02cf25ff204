"""The explainer and the sandbox agree on every chain case.

Each case of ``explain_agreement_cases.yaml`` is built in the running sandbox (its own
clusters, roles and providers: moto's state is shared by the session), then:

- **for real**: a token minted by the CI cluster's issuer, ``AssumeRoleWithWebIdentity``,
  each ``AssumeRole`` hop, then the goal — the AWS call (``DescribeCluster``,
  ``ListClusters``, ``ListBuckets``) or a request to the target cluster's API server with an
  EKS token signed by the last session (a ``GET`` for get/list, a
  ``SelfSubjectAccessReview`` for other verbs) — each answer mapped to its link: ok or
  FAIL, stopping at the first failure (a failed hop leaves no credentials to go on with);
- **explained**: ``kubetrust explain`` on a bundle *snapshotted from the sandbox* through
  :func:`kubetrust.adapters.snapshot.take_snapshot` (so the live loader is tested too).

The verdicts must be equal on every link the sandbox reaches, and explain's must be the
case's expectation on every link.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from botocore.exceptions import ClientError
from click.testing import CliRunner

from kubetrust import eks_presign, policy
from kubetrust.adapters.aws import AwsAccess
from kubetrust.adapters.snapshot import SnapshotOptions, take_snapshot
from kubetrust.chain import context, kube_links, parties
from kubetrust.chain import sts as hops
from kubetrust.chain.paths import AwsGoal, Goal, KubeGoal
from kubetrust.chain.rbac import KubeRequest
from kubetrust.chain.topology_parties import TopologyDirectory, caller_of
from kubetrust.cli import explain as explain_cli
from kubetrust.explain import bundle, explain, render
from kubetrust.model.topology import Topology
from kubetrust.policy import sts as sts_requests
from kubetrust.sandbox.aws import identity, state
from kubetrust.sandbox.eks import clusters as cluster_records
from kubetrust.sandbox.host import pki

from .explainkit import CI, REGION, TARGET, Builder, Built, add_aws_auth, fill, mint, patched

DATA = yaml.safe_load(Path(__file__).with_name("explain_agreement_cases.yaml").read_text())
CASES: list[dict[str, Any]] = DATA["cases"]
ROLES = ["arn:aws:iam::{ci}:role/ci-role-{s}", "arn:aws:iam::{target}:role/target-role-{s}"]
SESSION = "kubetrust"  # explain's session name: aws-auth templates render the same


def sandbox_facts() -> context.RequestFacts:
    """What every sandbox call carries (kubetrust.chain.context): now, plain HTTP, the
    loopback peer; the region is the cluster's (us-east-1), as the clients sign."""
    return context.RequestFacts(
        now=dt.datetime.now(dt.UTC), secure_transport=False, source_ip="127.0.0.1"
    )


def _roles(case: dict[str, Any], built: Built) -> list[str]:
    roles = case.get("roles")
    if roles is None:
        target = next(r for r in built.world["accounts"][1]["roles"] if "target-role" in r["name"])
        roles = [
            ROLES[0],
            f"arn:aws:iam::{{target}}:role{target.get('path', '/')}target-role-{{s}}",
        ]
        annotated = built.world["clusters"][0]["manifests"][0]["metadata"]["annotations"]
        if annotated["eks.amazonaws.com/role-arn"] == fill(ROLES[1], built.names):
            roles = [roles[1]]  # direct federation: the annotation names the target role
    return [str(r) for r in fill(roles, built.names)]


def case_patches(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The case's patches: the named sets it ``uses`` (the file's ``patch_sets``), then
    its own."""
    shared = [p for name in case.get("uses") or [] for p in DATA["patch_sets"][name]]
    return copy.deepcopy([*shared, *(case.get("patch") or [])])  # worlds share no objects


def hop_params(case: dict[str, Any]) -> list[hops.HopParams | None]:
    """What each hop of the case passes (``hops[i]`` for the call into ``roles[i]``): a
    source identity, session tags and their transitive keys."""
    found: list[hops.HopParams | None] = []
    for hop in case.get("hops") or []:
        given = hop or {}
        tags = given.get("tags")
        session_tags = (
            sts_requests.SessionTags(dict(tags), tuple(given.get("transitive") or ()))
            if tags
            else None
        )
        found.append(hops.HopParams(given.get("source_identity"), session_tags))
    return found


def _assume_kwargs(params: hops.HopParams | None) -> dict[str, Any]:
    """The AssumeRole parameters of a hop, as boto3 sends them."""
    kwargs: dict[str, Any] = {}
    if params is None:
        return kwargs
    if params.source_identity is not None:
        kwargs["SourceIdentity"] = params.source_identity
    if params.tags is not None:
        kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in params.tags.tags.items()]
        if params.tags.transitive:
            kwargs["TransitiveTagKeys"] = list(params.tags.transitive)
    return kwargs


@pytest.fixture(scope="module")
def builder(sandbox: Any) -> Builder:
    return Builder(sandbox)


def _clusters(world: dict[str, Any], run: str) -> dict[str, str]:
    """The clusters a case gets: the shared CI cluster unless the case changes the OIDC
    providers (they are per issuer), and the shared target cluster of its mode unless the
    case tags it (tags are the cluster's own: ``aws:ResourceTag``)."""
    base = [a.get("oidc_providers") for a in DATA["base"]["accounts"]]
    own = [a.get("oidc_providers") for a in world["accounts"]] != base
    mode = world["clusters"][1].get("authentication_mode", "CONFIG_MAP")
    shared = f"tgt-{run}-{mode.lower().replace('_', '-')}"
    return {
        "{ci_cluster}": "ci-{s}" if own else f"ci-{run}",
        "{tgt_cluster}": "tgt-{s}" if world["clusters"][1].get("tags") else shared,
    }


@pytest.fixture(scope="module")
def worlds(builder: Builder) -> dict[str, Built]:
    run = uuid.uuid4().hex[:4]
    built = {}
    for number, case in enumerate(CASES):
        world = patched(DATA["base"], case_patches(case))
        suffix = f"{run}{number:02d}"
        clusters = {k: v.replace("{s}", suffix) for k, v in _clusters(world, run).items()}
        built[case["id"]] = builder.build(fill(world, clusters), suffix)
        built[case["id"]].names.update(clusters)
    return built


@pytest.fixture(scope="module")
def topology(
    worlds: dict[str, Built], builder: Builder, tmp_path_factory: pytest.TempPathFactory
) -> Topology:
    names = tuple({c["name"] for built in worlds.values() for c in built.world["clusters"]})
    out = tmp_path_factory.mktemp("agreement") / "bundle"
    result = take_snapshot(
        [builder.access(CI), builder.access(TARGET)], out, SnapshotOptions(clusters=names)
    )
    assert not result.warnings, result.warnings
    assert sorted(c.rsplit("/", 1)[1] for c in result.clusters) == sorted(names)
    return bundle.load_bundle([out])


def _goal(case: dict[str, Any], built: Built) -> Goal:
    goal = fill(case["goal"], built.names)
    if "kube" in goal:
        kube = goal["kube"]
        plural, _, group = kube["resource"].partition(".")
        request = KubeRequest(kube["verb"], plural, group, namespace=kube.get("namespace", ""))
        return KubeGoal(built.world["clusters"][1]["name"], request)
    return AwsGoal(goal["action"], goal["resource"], goal.get("account"))


# ---------------------------------------------------------------------- for real


def _code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def _aws_goal(aws: Any, credentials: dict[str, str], goal: AwsGoal) -> str:
    calls = {
        "eks:DescribeCluster": (
            "eks",
            "describe_cluster",
            {"name": goal.resource.rsplit("/", 1)[-1]},
        ),
        "eks:ListClusters": ("eks", "list_clusters", {}),
        "s3:ListAllMyBuckets": ("s3", "list_buckets", {}),
    }
    service, operation, params = calls[goal.action]
    try:
        getattr(aws.client(service, credentials=credentials), operation)(**params)
    except ClientError as error:
        assert _code(error) in ("AccessDenied", "AccessDeniedException"), error
        return "FAIL"
    return "ok"


def _kube_goal(sandbox: Any, credentials: dict[str, str], goal: KubeGoal) -> list[str]:
    """The request to the target cluster: 401 fails the mapping, 403 (or a denied review)
    fails RBAC."""
    record = cluster_records.find(sandbox.state_dir, goal.cluster, TARGET)
    token = eks_presign.presign_with_keys(
        sandbox.endpoint,
        REGION,
        goal.cluster,
        credentials["aws_access_key_id"],
        credentials["aws_secret_access_key"],
        credentials["aws_session_token"],
    )
    request = goal.request
    if request.verb in ("get", "list"):
        base = "/api/v1" if not request.group else f"/apis/{request.group}/v1"
        where = f"/namespaces/{request.namespace}" if request.namespace else ""
        call = urllib.request.Request(f"{record.endpoint}{base}{where}/{request.resource}")
    else:
        attributes = {
            "verb": request.verb,
            "group": request.group,
            "resource": request.resource,
            "namespace": request.namespace,
        }
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }
        call = urllib.request.Request(
            f"{record.endpoint}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
    call.add_header("Authorization", f"Bearer {token}")
    context = pki.client_ssl_context(sandbox.ca.certificate_pem)
    try:
        with urllib.request.urlopen(call, context=context, timeout=30) as answer:
            status, data = answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        status, data = error.code, None
    if status == 401:
        return ["FAIL"]
    if status == 403:
        return ["ok", "FAIL"]
    assert status in (200, 201), (status, data)
    if data.get("kind") == "SelfSubjectAccessReview":
        return ["ok", "ok" if data["status"]["allowed"] else "FAIL"]
    return ["ok", "ok"]


def run_for_real(
    sandbox: Any, aws: Any, built: Built, case: dict[str, Any], roles: list[str], goal: Goal
) -> list[str]:
    """Each link's verdict as the sandbox gives it, up to the first failure (module doc)."""
    workload = {"namespace": f"ns-{built.names['{s}']}", "serviceaccount": "ci-serviceaccount"}
    workload.update(case.get("workload") or {})
    issuer = built.issuers[built.world["clusters"][0]["name"]]
    token = mint(issuer, workload["namespace"], workload["serviceaccount"], "sts.amazonaws.com")
    try:
        answer = aws.client("sts", unsigned=True).assume_role_with_web_identity(
            RoleArn=roles[0], RoleSessionName=SESSION, WebIdentityToken=token
        )
    except ClientError as error:
        assert _code(error) in ("AccessDenied", "InvalidIdentityToken"), error
        return ["FAIL"]
    verdicts = ["ok"]
    credentials = aws.session_credentials(answer)
    params = hop_params(case)
    for number, role in enumerate(roles[1:], start=1):
        extra = _assume_kwargs(params[number] if number < len(params) else None)
        try:
            answer = aws.client("sts", credentials=credentials).assume_role(
                RoleArn=role, RoleSessionName=SESSION, **extra
            )
        except ClientError as error:
            assert _code(error) == case.get("sandbox_error", "AccessDenied"), error
            return [*verdicts, "FAIL"]
        verdicts.append("ok")
        credentials = aws.session_credentials(answer)
    if isinstance(goal, AwsGoal):
        return [*verdicts, _aws_goal(aws, credentials, goal)]
    return [*verdicts, *_kube_goal(sandbox, credentials, goal)]


# ---------------------------------------------------------------------- the cases


def test_table_is_broad() -> None:
    """At least a dozen cases, every link kind failing somewhere, goals of both kinds."""
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 12
    firsts = {
        tuple(case["expect"]["links"]).index("FAIL")
        for case in CASES
        if "FAIL" in case["expect"]["links"]
    }
    assert {0, 1, 2, 3} <= firsts  # web identity, AssumeRole, goal/mapping, RBAC
    assert any("kube" in case["goal"] for case in CASES)
    assert any("action" in case["goal"] for case in CASES)
    assert any(set(case["expect"]["links"]) == {"ok"} for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_sandbox_and_explain_agree(
    case: dict[str, Any],
    worlds: dict[str, Built],
    topology: Topology,
    sandbox: Any,
    builder: Builder,
) -> None:
    built = worlds[case["id"]]
    roles = _roles(case, built)
    goal = _goal(case, built)
    workload = {"namespace": f"ns-{built.names['{s}']}", "serviceaccount": "ci-serviceaccount"}
    workload.update(case.get("workload") or {})
    explained = explain.explain_access(
        topology,
        explain.workload_for(
            topology,
            built.world["clusters"][0]["name"],
            workload["namespace"],
            workload["serviceaccount"],
        ),
        goal,
        via=roles,
        session=SESSION,
        request=sandbox_facts(),
        hop_params=hop_params(case),
    )
    text = render.explanation_text(explained)
    assert explained.chain is not None, text
    verdicts = ["ok" if link.allowed else "FAIL" for link in explained.chain.links]
    assert verdicts == case["expect"]["links"], text
    for words in fill(case["expect"].get("text") or [], built.names):
        assert words in text, text  # the cause and the fix name what the request carried
    real = run_for_real(sandbox, builder.aws, built, case, roles, goal)
    assert real == verdicts[: len(real)], f"sandbox {real} vs explain {verdicts}\n{text}"
    assert explained.allowed is (real == verdicts and "FAIL" not in real)


def _statements(documents: Any, kind: policy.PolicyKind) -> list[str]:
    """The statements of ``documents`` (JSON text as the sandbox holds it, or parsed as the
    bundle holds it), in an order that does not depend on the store's."""
    parsed = [
        d if isinstance(d, policy.PolicyDocument) else policy.parse_policy(d, kind)
        for d in documents
    ]
    return sorted(repr(d.statements) for d in parsed)


def _levels(levels: Any, kind: policy.PolicyKind) -> list[list[str]]:
    return [_statements(level, kind) for level in levels]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_both_directories_gather_the_same_parties(
    case: dict[str, Any], worlds: dict[str, Built], topology: Topology, sandbox: Any
) -> None:
    """The two implementations of kubetrust.chain.parties.Directory — the sandbox's IAM
    state and the bundle snapshotted from it — hold the same facts for every role of the
    case, so the one set of rules gives the same caller side, role side and context."""
    built = worlds[case["id"]]
    live = identity.SandboxDirectory(sandbox.world)
    explained = TopologyDirectory(topology)
    issuer = built.issuers[built.world["clusters"][0]["name"]].issuer_url
    for role_arn in _roles(case, built):
        stored = state.role_by_arn(role_arn)
        role = topology.role(role_arn)
        assert stored is not None and role is not None, role_arn
        holder = identity.Holder(identity.ROLE, stored.account, stored.id)
        live_policies = live.holder_policies(holder)
        assert live_policies is not None
        held = explained.holder_policies(role)
        identity_kind = policy.PolicyKind.IDENTITY
        assert _statements(live_policies.identity, identity_kind) == _statements(
            held.identity, identity_kind
        ), role_arn
        assert _statements(live_policies.boundaries, identity_kind) == _statements(
            held.boundaries, identity_kind
        ), role_arn
        account = stored.account
        assert _levels(live.scps(account), policy.PolicyKind.SCP) == _levels(
            explained.scps(account), policy.PolicyKind.SCP
        )
        assert _levels(live.rcps(account), policy.PolicyKind.RCP) == _levels(
            explained.rcps(account), policy.PolicyKind.RCP
        )
        assert live.org(account) == explained.org(account)
        live_provider = live.oidc_provider(account, issuer)
        explained_provider = explained.oidc_provider(account, issuer)
        assert (live_provider is None) == (explained_provider is None), role_arn
        if live_provider is not None and explained_provider is not None:
            assert live_provider.arn == explained_provider.arn
            assert live_provider.client_ids == explained_provider.client_ids
        session = caller_of(role, SESSION, request=sandbox_facts())
        as_live = parties.principal(live, dataclasses.replace(session, holder=holder))
        assert as_live == parties.principal(explained, session), role_arn


# ---------------------------------------------------------------------- the commands


def _cli() -> click.Group:
    group = click.Group()
    for command in (
        explain_cli.explain,
        explain_cli.audit,
        explain_cli.graph,
        explain_cli.snapshot,
    ):
        group.add_command(command)
    return group


def _explain_args(case_id: str, worlds: dict[str, Built]) -> list[str]:
    case = next(c for c in CASES if c["id"] == case_id)
    built = worlds[case_id]
    goal = _goal(case, built)
    assert isinstance(goal, AwsGoal)
    args = ["explain", "--cluster", built.world["clusters"][0]["name"]]
    args += ["--namespace", f"ns-{built.names['{s}']}", "--serviceaccount", "ci-serviceaccount"]
    args += ["--action", goal.action, "--resource", goal.resource, "--output", "json"]
    if goal.account:
        args += ["--account", goal.account]
    for role in _roles(case, built):
        args += ["--via", role]
    return args


def test_explain_reads_the_sandbox(sandbox: Any, worlds: dict[str, Built]) -> None:
    live = ["--sandbox", "--state-dir", str(sandbox.state_dir)]
    allowed = CliRunner().invoke(_cli(), [*_explain_args("seed-aws-goal", worlds), *live])
    assert allowed.exit_code == 0, allowed.output
    denied = CliRunner().invoke(
        _cli(), [*_explain_args("missing-sts-assumerole-permission", worlds), *live]
    )
    assert denied.exit_code == 2, denied.output
    links = json.loads(denied.stdout)["links"]
    assert [link["allowed"] for link in links] == [True, False, True]
    assert links[1]["failure"] == "caller-denied"


def test_snapshot_then_offline(sandbox: Any, worlds: dict[str, Built], tmp_path: Path) -> None:
    out = tmp_path / "snap"
    live = ["--sandbox", "--state-dir", str(sandbox.state_dir)]
    made = CliRunner().invoke(_cli(), ["snapshot", *live, "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert made.stdout.startswith(f"wrote {out}: 2 account(s), ")
    again = CliRunner().invoke(_cli(), ["snapshot", *live, "--out", str(out)])
    assert again.exit_code == 1 and "not an empty directory" in again.output
    offline = CliRunner().invoke(
        _cli(), [*_explain_args("target-trust-external-id", worlds), "--bundle", str(out)]
    )
    assert offline.exit_code == 2, offline.output
    graph = CliRunner().invoke(_cli(), ["graph", "--bundle", str(out), "--output", "dot"])
    assert graph.exit_code == 0, graph.output
    suffix = worlds["target-trust-external-id"].names["{s}"]
    role_lines = [line for line in graph.stdout.splitlines() if f"role-{suffix}" in line]
    assert len(role_lines) == 2  # its CI role and target role
    audit = CliRunner().invoke(_cli(), ["audit", "--bundle", str(out), "--output", "json"])
    assert audit.exit_code == 2, audit.output
    rules = {finding["rule"] for finding in json.loads(audit.stdout)["findings"]}
    assert {"aws-auth-system-masters", "irsa-sub-wildcard-stringequals"} <= rules


def test_unread_access_entries_leave_aws_auth_out(
    builder: Builder, worlds: dict[str, Built], tmp_path: Path
) -> None:
    """A reader denied eks:ListAccessEntries: the snapshot warns, and keeps no aws-auth for
    that cluster — with aws-auth alone, the role whose access entry overrides its
    system:masters mapping would look like a cluster admin (a fail-open)."""
    built = worlds["access-entry-overrides-aws-auth"]
    cluster = built.world["clusters"][1]
    name = f"reader-{built.names['{s}']}"
    iam = builder.aws.client("iam", account=TARGET)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{TARGET}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    reads = ["iam:Get*", "iam:List*", "eks:ListClusters", "eks:DescribeCluster"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": reads, "Resource": "*"},
            {"Effect": "Deny", "Action": "eks:ListAccessEntries", "Resource": "*"},
        ],
    }
    iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps(policy))
    mapping = {"rolearn": role["Arn"], "username": "reader", "groups": ["system:masters"]}
    add_aws_auth(builder.admin_api(cluster), {"mapRoles": [mapping]})
    session = builder.aws.client("sts", account=TARGET).assume_role(
        RoleArn=role["Arn"], RoleSessionName="reader"
    )["Credentials"]
    reader = AwsAccess(
        access_key_id=session["AccessKeyId"],
        secret_access_key=session["SecretAccessKey"],
        session_token=session["SessionToken"],
        endpoint_url=builder.sandbox.endpoint,
        region=REGION,
    )
    out = tmp_path / "bundle"
    result = take_snapshot([reader], out, SnapshotOptions(clusters=(cluster["name"],)))
    entries, pod_identity, nodes = result.warnings  # the reader may list none of them
    assert "access entries unknown" in entries
    assert "pod identity associations or add-ons unknown" in pod_identity
    assert "eks:ListNodegroups" in nodes and "node roles are unknown" in nodes
    assert not (out / "clusters" / cluster["name"] / "nodes.json").exists()
    folder = out / "clusters" / cluster["name"]
    assert (folder / "manifests" / "rbac.json").is_file()  # Kubernetes was read...
    assert not (folder / "aws-auth.json").exists()  # ...but its aws-auth is left out
    topology = bundle.load_bundle([out])
    target = topology.role(_roles(CASES[0], built)[1])
    assert target is not None
    link, identity = kube_links.kube_identity(topology, topology.cluster(cluster["name"]), target)
    assert identity is None and not link.allowed


def test_applied_condition_fix_works(
    sandbox: Any, builder: Builder, worlds: dict[str, Built], topology: Topology, tmp_path: Path
) -> None:
    """explain's fix for a trust condition that misses (an aws:PrincipalArn pattern
    without the CI role's path) names the value the request carries; written into the
    trust as the fix says, the sandbox then lets the hop through, and explain agrees."""
    case = next(c for c in CASES if c["id"] == "trust-everyone-principal-arn-without-path")
    built = worlds[case["id"]]
    roles, goal = _roles(case, built), _goal(case, built)
    workload = explain.workload_for(
        topology,
        built.world["clusters"][0]["name"],
        f"ns-{built.names['{s}']}",
        "ci-serviceaccount",
    )
    before = explain.explain_access(
        topology, workload, goal, via=roles, session=SESSION, request=sandbox_facts()
    )
    fix = before.fixes[1]
    assert fix is not None and fix.action.startswith("correct that condition to admit `")
    value = fix.action.split("`")[1]
    trust = copy.deepcopy(built.world["accounts"][1]["roles"][0]["trust"])
    trust["Statement"][0]["Condition"] = {"ArnEquals": {"aws:PrincipalArn": value}}
    name = roles[1].rsplit("/", 1)[1]
    builder.aws.client("iam", account=TARGET).update_assume_role_policy(
        RoleName=name, PolicyDocument=json.dumps(trust)
    )
    assert run_for_real(sandbox, builder.aws, built, case, roles, goal) == ["ok", "ok", "ok"]
    out = tmp_path / "fixed"
    take_snapshot(
        [builder.access(CI), builder.access(TARGET)],
        out,
        SnapshotOptions(clusters=(built.world["clusters"][0]["name"],)),
    )
    after = explain.explain_access(
        bundle.load_bundle([out]),
        workload,
        goal,
        via=roles,
        session=SESSION,
        request=sandbox_facts(),
    )
    assert after.allowed, render.explanation_text(after)
