"""Desired state, plan diffs, apply and destroy against in-memory ports (see fakes.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kubetrust import provision
from kubetrust.provision import Action, resources

from .fakes import ISSUER, FakePorts

EXAMPLES = Path(__file__).parents[3] / "examples"
HOST = ISSUER.removeprefix("https://")
SEED_AWS_CONFIG = """\
[profile ci-env]
role_arn = arn:aws:iam::111111111111:role/ci-account-iam-role
web_identity_token_file = /var/run/secrets/eks.amazonaws.com/serviceaccount/token

[profile target-env]
role_arn = arn:aws:iam::222222222222:role/target-account-iam-role
source_profile = ci-env
role_session_name = xactarget
"""
NODE_ROLE = {
    "rolearn": "arn:aws:iam::222222222222:role/eks-node-role",
    "username": "system:node:{{EC2PrivateDNSName}}",
    "groups": ["system:bootstrappers", "system:nodes"],
}
ADMIN_ROLE = {
    "rolearn": "arn:aws:iam::222222222222:role/Admin",
    "username": "admin",
    "groups": ["system:masters"],
}


def _seed() -> provision.Spec:
    return provision.load_spec(EXAMPLES / "seed.yaml")


def _three() -> provision.Spec:
    return provision.load_spec(EXAMPLES / "three-targets.yaml")


def _ports(*clusters: tuple[str, str], mode: str = "API_AND_CONFIG_MAP") -> FakePorts:
    ports = FakePorts()
    ports.aws("111111111111").add_cluster("us-east-1", "ci-cluster")
    for account, name in clusters:
        ports.aws(account).add_cluster("us-east-1", name, mode)
    return ports


def _seed_ports(**kw: str) -> FakePorts:
    return _ports(("222222222222", "target-cluster"), **kw)


def _three_ports() -> FakePorts:
    return _ports(
        ("222222222222", "dev-cluster"),
        ("333333333333", "stg-cluster"),
        ("444444444444", "prod-cluster"),
    )


def _aws_auth(ports: FakePorts, *entries: dict[str, object], users: str = "") -> None:
    kube = ports.cluster("222222222222", "us-east-1", "target-cluster")
    data = {"mapRoles": yaml.safe_dump(list(entries), sort_keys=False)}
    if users:
        data["mapUsers"] = users
    kube._put("cm", "kube-system", "aws-auth", data=data)


def _map_roles(ports: FakePorts) -> list[dict[str, object]]:
    kube = ports.cluster("222222222222", "us-east-1", "target-cluster")
    live = kube.get_config_map("kube-system", "aws-auth")
    assert live is not None
    loaded: list[dict[str, object]] = yaml.safe_load(live.data["mapRoles"])
    return loaded


# --------------------------------------------------------------------------- desired state


def test_seed_desired_resources_in_dependency_order() -> None:
    spec = _seed()
    facts = provision.gather_facts(spec, _seed_ports(), kubernetes=True)
    items = provision.desired(spec, facts)
    keys = [item.resource.key for item in items]
    assert keys == [
        f"oidc-provider 111111111111 {HOST}",
        "role 111111111111 ci-account-iam-role",
        "role 222222222222 target-account-iam-role",
        "inline-policy 222222222222 target-account-iam-role/kubetrust-permissions",
        "attached-policies 222222222222 target-account-iam-role",
        "inline-policy 111111111111 ci-account-iam-role/kubetrust-chain",
        "namespace ci-cluster ci-namespace",
        "serviceaccount ci-cluster ci-namespace/ci-serviceaccount",
        "configmap ci-cluster ci-namespace/awsconfig-configmap",
        "configmap ci-cluster ci-namespace/kubetrust-kubeconfig",
        "aws-auth target-cluster arn:aws:iam::222222222222:role/target-account-iam-role",
    ]
    assert [item.unit for item in items] == ["source", "source"] + ["target"] * 3 + [
        "source"
    ] * 5 + ["target"]


def test_seed_documents_are_the_blogs() -> None:
    spec = _seed()
    facts = provision.gather_facts(spec, _seed_ports(), kubernetes=True)
    by_key = {item.resource.key: item.resource for item in provision.desired(spec, facts)}
    ci = by_key["role 111111111111 ci-account-iam-role"]
    assert isinstance(ci, resources.Role)
    assert ci.trust == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::111111111111:oidc-provider/{HOST}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{HOST}:sub": "system:serviceaccount:ci-namespace:ci-serviceaccount",
                        f"{HOST}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }
    target = by_key["role 222222222222 target-account-iam-role"]
    assert isinstance(target, resources.Role)
    assert target.trust["Statement"][0]["Principal"] == {
        "AWS": "arn:aws:iam::111111111111:role/ci-account-iam-role"
    }
    chain = by_key["inline-policy 111111111111 ci-account-iam-role/kubetrust-chain"]
    assert isinstance(chain, resources.InlinePolicy)
    assert chain.document == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": "arn:aws:iam::222222222222:role/target-account-iam-role",
            }
        ],
    }
    config = by_key["configmap ci-cluster ci-namespace/awsconfig-configmap"]
    assert isinstance(config, resources.ConfigMap)
    assert config.data == {"config": SEED_AWS_CONFIG}
    kubeconfig = yaml.safe_load(
        by_key["configmap ci-cluster ci-namespace/kubetrust-kubeconfig"].data["config"]  # type: ignore[union-attr]
    )
    (user,) = kubeconfig["users"]
    assert user["user"]["exec"]["args"] == [
        "--region",
        "us-east-1",
        "eks",
        "get-token",
        "--cluster-name",
        "target-cluster",
        "--output",
        "json",
    ]
    assert user["user"]["exec"]["env"] == [{"name": "AWS_PROFILE", "value": "target-env"}]
    assert kubeconfig["contexts"][0]["name"] == "target-target-cluster"


def test_several_service_accounts_make_a_subject_list() -> None:
    text = (
        (EXAMPLES / "seed.yaml")
        .read_text()
        .replace(
            "        name: ci-serviceaccount    # annotated eks.amazonaws.com/role-arn: <CI "
            "role ARN>",
            "        name: ci-serviceaccount\n      - namespace: other\n        name: deployer",
        )
    )
    spec = provision.parse_spec(text)
    facts = provision.gather_facts(spec, _seed_ports(), kubernetes=False)
    role = provision.desired(spec, facts, kubernetes=False)[1].resource
    assert isinstance(role, resources.Role)
    assert role.trust["Statement"][0]["Condition"]["StringEquals"][f"{HOST}:sub"] == [
        "system:serviceaccount:ci-namespace:ci-serviceaccount",
        "system:serviceaccount:other:deployer",
    ]


def test_direct_federation() -> None:
    spec = provision.load_spec(EXAMPLES / "direct.yaml")
    ports = _ports(("222222222222", "dev-cluster"))
    items = provision.desired(spec, provision.gather_facts(spec, ports, kubernetes=True))
    kinds = [(item.resource.key.split()[0], item.unit) for item in items]
    assert ("oidc-provider", "dev") in kinds and ("oidc-provider", "stg") in kinds
    assert all(not key.startswith("role 111111111111") for key in (i.resource.key for i in items))
    role = next(i.resource for i in items if i.resource.key == "role 333333333333 ci-direct-stg")
    assert isinstance(role, resources.Role)
    assert role.trust["Statement"][0]["Principal"] == {
        "Federated": f"arn:aws:iam::333333333333:oidc-provider/{HOST}"
    }
    account = next(i.resource for i in items if isinstance(i.resource, resources.ServiceAccount))
    assert account.role_arn == "arn:aws:iam::222222222222:role/ci-direct-dev"
    assert provision.aws_config(spec) == (
        "[profile dev-env]\n"
        "role_arn = arn:aws:iam::222222222222:role/ci-direct-dev\n"
        "web_identity_token_file = /var/run/secrets/eks.amazonaws.com/serviceaccount/token\n"
        "\n"
        "[profile stg-env]\n"
        "role_arn = arn:aws:iam::333333333333:role/ci-direct-stg\n"
        "web_identity_token_file = /var/run/secrets/eks.amazonaws.com/serviceaccount/token\n"
    )


def test_missing_source_cluster_is_an_error() -> None:
    with pytest.raises(provision.ProvisionError, match="source cluster `ci-cluster` not found"):
        provision.plan(_seed(), FakePorts())


# --------------------------------------------------------------------------- plan and apply


def test_apply_then_nothing_to_do() -> None:
    spec, ports = _seed(), _seed_ports()
    first = provision.plan(spec, ports)
    # everything is created but the empty set of attached managed policies
    assert first.counts() == {"create": 10, "update": 0, "delete": 0, "noop": 1}
    report = provision.apply(spec, ports)
    assert report.ok and report.writes == len(ports.recorder.writes) == 10
    assert provision.plan(spec, ports).pending == []
    again = provision.apply(spec, ports)
    assert again.ok and again.writes == 0
    assert len(ports.recorder.writes) == 10


def test_apply_writes_the_seed() -> None:
    spec, ports = _seed(), _seed_ports()
    provision.apply(spec, ports)
    ci_account, target_account = ports.aws("111111111111"), ports.aws("222222222222")
    assert set(ci_account.providers[ISSUER]["client_ids"]) == {"sts.amazonaws.com"}
    ci = ci_account.roles["ci-account-iam-role"]
    assert ci["tags"] == {"kubetrust.dev/managed-by": "kubetrust", "kubetrust.dev/spec": "seed"}
    assert list(ci["inline"]) == ["kubetrust-chain"]
    target = target_account.roles["target-account-iam-role"]
    assert target["inline"]["kubetrust-permissions"]["Statement"][0]["Sid"] == "VisualEditor0"
    source = ports.cluster("111111111111", "us-east-1", "ci-cluster")
    sa = source.get_service_account("ci-namespace", "ci-serviceaccount")
    assert sa is not None
    assert sa.annotations["eks.amazonaws.com/role-arn"] == (
        "arn:aws:iam::111111111111:role/ci-account-iam-role"
    )
    assert _map_roles(ports) == [
        {
            "rolearn": "arn:aws:iam::222222222222:role/target-account-iam-role",
            "username": "test-user",
            "groups": ["system:masters"],
        }
    ]


def test_policy_change_is_a_readable_diff() -> None:
    spec, ports = _seed(), _seed_ports()
    provision.apply(spec, ports)
    text = (EXAMPLES / "seed.yaml").read_text().replace("              - eks:ListClusters\n", "")
    changed = provision.plan(provision.parse_spec(text), ports)
    (change,) = changed.pending
    assert change.action is Action.UPDATE
    assert change.key == "inline-policy 222222222222 target-account-iam-role/kubetrust-permissions"
    removed = [
        line for line in change.diff.splitlines() if line.startswith("-") and "---" not in line
    ]
    assert removed == ['-        "eks:ListClusters",']
    assert "@@" in change.diff


def test_trust_drift_is_repaired() -> None:
    spec, ports = _seed(), _seed_ports()
    provision.apply(spec, ports)
    role = ports.aws("222222222222").roles["target-account-iam-role"]
    role["trust"]["Statement"][0]["Principal"] = {"AWS": "arn:aws:iam::111111111111:root"}
    (change,) = provision.plan(spec, ports).pending
    assert change.action is Action.UPDATE and change.key.startswith("role 222222222222")
    assert '-        "AWS": "arn:aws:iam::111111111111:root"' in change.diff
    report = provision.apply(spec, ports)
    assert report.writes == 1
    assert provision.plan(spec, ports).pending == []


def test_equivalent_policy_forms_are_not_changes() -> None:
    spec, ports = _seed(), _seed_ports()
    provision.apply(spec, ports)
    policy = ports.aws("111111111111").roles["ci-account-iam-role"]["inline"]["kubetrust-chain"]
    policy["Statement"][0]["Action"] = ["sts:AssumeRole"]
    assert provision.plan(spec, ports).pending == []


def test_kill_half_way_then_apply_converges() -> None:
    spec, ports = _three(), _three_ports()
    ports.recorder.fail_on = {"put_role_policy ci-deployer/kubetrust-chain"}
    broken = provision.apply(spec, ports)
    assert not broken.ok
    source = next(u for u in broken.units if u.unit == "source")
    assert not source.done and "injected failure" in source.error
    ports.recorder.fail_on = set()
    fixed = provision.apply(spec, ports)
    assert fixed.ok
    assert {c.key.split()[0] for c in fixed.plan.pending} >= {"inline-policy", "configmap"}
    assert provision.apply(spec, ports).writes == 0


def test_partial_failure_names_done_and_not_done_targets() -> None:
    spec, ports = _three(), _three_ports()
    ports.recorder.fail_on = {"create_role ci-deployer-stg"}
    lines: list[str] = []
    report = provision.apply(spec, ports, provision.Options(progress=lines.append))
    state = {unit.unit: (unit.done, unit.error) for unit in report.units}
    assert state["dev"] == (True, "")
    assert state["prod"] == (True, "")
    assert state["stg"][0] is False
    assert "role 333333333333 ci-deployer-stg: injected failure" in state["stg"][1]
    assert state["source"][0] is True
    assert any(
        line.startswith("[stg] + create role 333333333333") and "failed" in line for line in lines
    )
    assert [key[1] for key in ports.aws("222222222222").entries] == ["dev-cluster"]
    assert ports.aws("333333333333").entries == {}
    ports.recorder.fail_on = set()
    assert provision.apply(spec, ports).ok
    assert provision.plan(spec, ports).pending == []


def test_access_entries_with_scoped_policies() -> None:
    spec, ports = _three(), _three_ports()
    provision.apply(spec, ports)
    entry = ports.aws("222222222222").entries[
        ("us-east-1", "dev-cluster", "arn:aws:iam::222222222222:role/ci-deployer-dev")
    ]
    assert entry["username"] == "ci-deployer"
    assert entry["policies"] == {
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy": ("apps", "apps-*")
    }
    text = (
        (EXAMPLES / "three-targets.yaml")
        .read_text()
        .replace(
            "              - policy: AmazonEKSEditPolicy\n"
            "                namespaces: [apps, apps-*]",
            "              - policy: AmazonEKSViewPolicy",
        )
    )
    changed = provision.parse_spec(text)
    (change,) = provision.plan(changed, ports).pending
    assert change.action is Action.UPDATE and change.key.startswith("access-entry dev-cluster")
    before = len(ports.recorder.writes)
    provision.apply(changed, ports)
    assert ports.recorder.writes[before:] == [
        "222222222222 associate_access_policy dev-cluster "
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
        "222222222222 disassociate_access_policy dev-cluster "
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
    ]


def test_access_entry_on_config_map_cluster_is_a_conflict() -> None:
    spec = _three()
    ports = _three_ports()
    ports.aws("444444444444").add_cluster("us-east-1", "prod-cluster", "CONFIG_MAP")
    current = provision.plan(spec, ports)
    (conflict,) = current.conflicts
    assert "authentication mode CONFIG_MAP" in conflict
    report = provision.apply(spec, ports)
    assert not report.ok and report.writes == 0 and ports.recorder.writes == []


# --------------------------------------------------------------------------- aws-auth


def test_aws_auth_keeps_foreign_entries_and_saves_a_backup(tmp_path: Path) -> None:
    spec, ports = _seed(), _seed_ports()
    odd = {"username": "no-rolearn"}
    _aws_auth(
        ports, NODE_ROLE, odd, ADMIN_ROLE, users="- userarn: arn:aws:iam::222222222222:user/bob\n"
    )
    report = provision.apply(spec, ports, provision.Options(backup_dir=tmp_path))
    assert report.ok
    ours = {
        "rolearn": "arn:aws:iam::222222222222:role/target-account-iam-role",
        "username": "test-user",
        "groups": ["system:masters"],
    }
    assert _map_roles(ports) == [NODE_ROLE, odd, ADMIN_ROLE, ours]
    kube = ports.cluster("222222222222", "us-east-1", "target-cluster")
    live = kube.get_config_map("kube-system", "aws-auth")
    assert live is not None
    assert live.data["mapUsers"] == "- userarn: arn:aws:iam::222222222222:user/bob\n"
    (backup,) = report.backups
    saved = yaml.safe_load(backup.read_text())
    assert yaml.safe_load(saved["data"]["mapRoles"]) == [NODE_ROLE, odd, ADMIN_ROLE]
    assert backup.name.startswith("aws-auth-222222222222-us-east-1-target-cluster-")

    destroyed = provision.destroy(spec, ports, provision.Options(backup_dir=tmp_path))
    assert destroyed.ok
    assert _map_roles(ports) == [NODE_ROLE, odd, ADMIN_ROLE]


def test_aws_auth_entry_is_updated_in_place() -> None:
    spec, ports = _seed(), _seed_ports()
    stale = {
        "rolearn": "arn:aws:iam::222222222222:role/target-account-iam-role",
        "username": "old",
        "groups": ["viewers"],
    }
    _aws_auth(ports, NODE_ROLE, stale, ADMIN_ROLE)
    change = next(c for c in provision.plan(spec, ports).pending if c.key.startswith("aws-auth"))
    assert change.action is Action.UPDATE
    assert "-  username: old" in change.diff and "+  username: test-user" in change.diff
    provision.apply(spec, ports)
    assert [entry["username"] for entry in _map_roles(ports)] == [
        NODE_ROLE["username"],
        "test-user",
        "admin",
    ]


def test_aws_auth_edit_that_locks_out_the_caller_is_refused() -> None:
    spec, ports = _seed(), _seed_ports()
    mine = {
        "rolearn": "arn:aws:iam::222222222222:role/target-account-iam-role",
        "username": "me",
        "groups": ["system:masters"],
    }
    _aws_auth(ports, mine)
    ports.aws(
        "222222222222"
    ).caller = "arn:aws:sts::222222222222:assumed-role/target-account-iam-role/session"
    report = provision.apply(spec, ports)
    target = next(u for u in report.units if u.unit == "target")
    assert not target.done
    assert "refusing to edit aws-auth of cluster `target-cluster`" in target.error
    assert _map_roles(ports) == [mine]


def test_broken_map_roles_is_not_rewritten() -> None:
    spec, ports = _seed(), _seed_ports()
    kube = ports.cluster("222222222222", "us-east-1", "target-cluster")
    kube._put("cm", "kube-system", "aws-auth", data={"mapRoles": "- rolearn: [unclosed\n"})
    with pytest.raises(provision.ProvisionError, match="mapRoles is not valid YAML"):
        provision.plan(spec, ports)


# --------------------------------------------------------------------------- ownership


def test_foreign_role_is_a_conflict_and_survives_destroy() -> None:
    spec, ports = _seed(), _seed_ports()
    ports.aws("222222222222").roles["target-account-iam-role"] = {
        "trust": {},
        "max": 3600,
        "tags": {},
        "inline": {},
        "attached": [],
    }
    current = provision.plan(spec, ports)
    assert current.conflicts == [
        "role 222222222222 target-account-iam-role: exists and belongs to someone else "
        "(no kubetrust tags); not changed"
    ]
    assert not provision.apply(spec, ports).ok
    assert ports.recorder.writes == []
    provision.destroy(spec, ports)
    assert "target-account-iam-role" in ports.aws("222222222222").roles


def test_foreign_config_map_is_a_conflict() -> None:
    spec, ports = _seed(), _seed_ports()
    source = ports.cluster("111111111111", "us-east-1", "ci-cluster")
    source._put("cm", "ci-namespace", "awsconfig-configmap", data={"config": "mine"})
    assert provision.plan(spec, ports).conflicts == [
        "configmap ci-cluster ci-namespace/awsconfig-configmap: exists and is not managed by "
        "this spec"
    ]


def test_destroy_removes_only_what_the_spec_owns() -> None:
    spec, ports = _seed(), _seed_ports()
    source = ports.cluster("111111111111", "us-east-1", "ci-cluster")
    source._put("ns", None, "ci-namespace")
    source._put("sa", "ci-namespace", "ci-serviceaccount", labels={"app": "ci"})
    ports.aws("111111111111").providers[ISSUER] = {
        "client_ids": ["sts.amazonaws.com"],
        "tags": {"alpha.eksctl.io/cluster-name": "ci-cluster"},
    }
    provision.apply(spec, ports)
    sa = source.get_service_account("ci-namespace", "ci-serviceaccount")
    assert sa is not None and sa.annotations["kubetrust.dev/spec"] == "seed"

    plan = provision.plan_destroy(spec, ports)
    assert [c.key.split()[0] for c in plan.pending] == [
        "aws-auth",
        "configmap",
        "configmap",
        "serviceaccount",
        "role",
        "role",
    ]
    report = provision.destroy(spec, ports)
    assert report.ok
    assert ports.aws("111111111111").roles == {} and ports.aws("222222222222").roles == {}
    assert ISSUER in ports.aws("111111111111").providers  # eksctl's, kept
    sa = source.get_service_account("ci-namespace", "ci-serviceaccount")
    assert sa is not None and sa.annotations == {} and sa.labels == {"app": "ci"}
    assert source.get_namespace("ci-namespace") is not None
    assert source.get_config_map("ci-namespace", "awsconfig-configmap") is None
    assert provision.plan_destroy(spec, ports).pending == []


def test_destroy_deletes_what_it_created() -> None:
    spec, ports = _seed(), _seed_ports()
    provision.apply(spec, ports)
    report = provision.destroy(spec, ports)
    assert report.ok
    assert ports.aws("111111111111").providers == {}
    source = ports.cluster("111111111111", "us-east-1", "ci-cluster")
    assert source.get_service_account("ci-namespace", "ci-serviceaccount") is None
    assert source.get_namespace("ci-namespace") is not None  # never deleted


def test_plan_json_shape() -> None:
    current = provision.plan(_seed(), _seed_ports())
    data = json.loads(json.dumps(current.to_json()))
    assert data["summary"]["create"] == 10
    first = data["changes"][0]
    assert set(first) >= {"action", "kind", "name", "unit", "phase", "diff"}
    assert first["kind"] == "oidc-provider" and first["phase"] == "oidc_provider"


def test_artifacts(tmp_path: Path) -> None:
    spec, ports = _seed(), _seed_ports()
    report = provision.apply(spec, ports, provision.Options(artifacts_dir=tmp_path))
    assert sorted(p.name for p in report.artifacts) == ["aws-config", "kubeconfig"]
    assert (tmp_path / "aws-config").read_text() == SEED_AWS_CONFIG


def test_aws_only_plans_no_kubernetes() -> None:
    spec = _seed()
    current = provision.plan(spec, _ports(), kubernetes=False)
    assert {c.key.split()[0] for c in current.changes} == {
        "oidc-provider",
        "role",
        "inline-policy",
        "attached-policies",
    }
