"""``federation: podIdentity``: the spec, desired state, plan/apply/destroy of associations
and the agent add-on, against the in-memory ports (fakes_pod_identity.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubetrust import provision
from kubetrust.provision import Action, documents, eventual, resources

from .fakes_pod_identity import PodIdentityPorts

EXAMPLES = Path(__file__).parents[3] / "examples"
CI, TARGET, PROD = "111111111111", "222222222222", "333333333333"
CLUSTER_ARN = f"arn:aws:eks:us-east-1:{CI}:cluster/ci-cluster"
SOURCE_ROLE = f"arn:aws:iam::{CI}:role/ci-pod-identity-role"
TARGET_ROLE = f"arn:aws:iam::{TARGET}:role/target-pod-identity-role"
ASSOCIATION = ("us-east-1", "ci-cluster", "ci", "deployer")


def _one(**replace: str) -> provision.Spec:
    text = (EXAMPLES / "pod-identity.yaml").read_text()
    for old, new in replace.items():
        text = text.replace(old, new)
    return provision.parse_spec(text)


def _multi() -> provision.Spec:
    return provision.load_spec(EXAMPLES / "pod-identity-multi.yaml")


def _ports(*clusters: tuple[str, str], addon: bool = False) -> PodIdentityPorts:
    ports = PodIdentityPorts()
    ports.aws(CI).add_cluster("us-east-1", "ci-cluster")
    if addon:
        ports.aws(CI).addons[("us-east-1", "ci-cluster")] = ["eks-pod-identity-agent"]
    for account, name in clusters:
        ports.aws(account).add_cluster("us-east-1", name)
    return ports


def _one_ports(**kw: bool) -> PodIdentityPorts:
    return _ports((TARGET, "target-cluster"), **kw)


def _multi_ports() -> PodIdentityPorts:
    return _ports((TARGET, "dev-cluster"))


def _by_key(spec: provision.Spec, ports: PodIdentityPorts) -> dict[str, Any]:
    facts = provision.gather_facts(spec, ports, kubernetes=True)
    return {item.resource.key: item.resource for item in provision.desired(spec, facts)}


def _association(ports: PodIdentityPorts) -> dict[str, Any]:
    return ports.aws(CI).associations[ASSOCIATION]


SETTLED = provision.Options(association_settle_seconds=0.0)
"""Apply without letting associations settle: the fake has no data plane to wait for (the
settle itself: test_new_associations_are_given_time_to_settle_and_apply_says_so)."""


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


# --------------------------------------------------------------------------- desired state
def test_one_target_desired_resources() -> None:
    found = _by_key(_one(), _one_ports())
    assert not any(key.startswith("oidc-provider") for key in found)
    assert not any(key.startswith("configmap ci-cluster ci/awsconfig") for key in found)
    source = found[f"role {CI} ci-pod-identity-role"]
    assert source.trust == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {
                    "StringEquals": {
                        "aws:SourceAccount": CI,
                        "aws:RequestTag/eks-cluster-arn": CLUSTER_ARN,
                        "aws:RequestTag/kubernetes-namespace": "ci",
                        "aws:RequestTag/kubernetes-service-account": "deployer",
                    }
                },
            }
        ],
    }
    chain = found[f"inline-policy {CI} ci-pod-identity-role/kubetrust-chain"].document
    assert chain["Statement"] == [
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": TARGET_ROLE}
    ]
    target = found[f"role {TARGET} target-pod-identity-role"]
    assert target.trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"AWS": SOURCE_ROLE},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {
                "StringEquals": {
                    "aws:PrincipalTag/eks-cluster-arn": CLUSTER_ARN,
                    "aws:PrincipalTag/kubernetes-namespace": "ci",
                    "aws:PrincipalTag/kubernetes-service-account": "deployer",
                }
            },
        }
    ]
    association = found["pod-identity-association ci-cluster ci/deployer"]
    assert (association.role_arn, association.target_role_arn) == (SOURCE_ROLE, TARGET_ROLE)
    assert association.tags == resources.ownership_tags("pod-identity")
    assert found["addon ci-cluster eks-pod-identity-agent"].install is True
    assert found["serviceaccount ci-cluster ci/deployer"].role_arn is None
    kubeconfig = yaml.safe_load(
        found["configmap ci-cluster ci/kubetrust-kubeconfig"].data["config"]
    )
    exec_config = kubeconfig["users"][0]["user"]["exec"]
    assert "env" not in exec_config  # the pod's default credentials are the target role's


def test_several_targets_map_to_associations_without_target_and_profiles() -> None:
    spec = _multi()
    found = _by_key(spec, _multi_ports())
    association = found["pod-identity-association ci-cluster ci/deployer"]
    assert association.target_role_arn is None
    assert association.role_arn == f"arn:aws:iam::{CI}:role/ci-pod-identity-multi"
    assert found["configmap ci-cluster ci/deployer-aws-config"].data["config"] == (
        "[profile dev-env]\n"
        f"role_arn = arn:aws:iam::{TARGET}:role/deployer-dev\n"
        "credential_source = EcsContainer\n"
        "role_session_name = deployer\n"
        "\n"
        "[profile prod-env]\n"
        f"role_arn = arn:aws:iam::{PROD}:role/deployer-prod\n"
        "credential_source = EcsContainer\n"
    )
    chain = found[f"inline-policy {CI} ci-pod-identity-multi/kubetrust-chain"].document
    assert chain["Statement"][0]["Resource"] == [
        f"arn:aws:iam::{TARGET}:role/deployer-dev",
        f"arn:aws:iam::{PROD}:role/deployer-prod",
    ]
    kubeconfig = yaml.safe_load(
        found["configmap ci-cluster ci/kubetrust-kubeconfig"].data["config"]
    )
    assert kubeconfig["users"][0]["user"]["exec"]["env"] == [
        {"name": "AWS_PROFILE", "value": "dev-env"}
    ]
    assert provision.needs_aws_config(spec) and not provision.needs_aws_config(_one())


def test_one_statement_per_service_account() -> None:
    spec = _one(
        **{"        name: deployer ": "        name: deployer\n      - {namespace: ci, name: b}"}
    )
    trust = _by_key(spec, _one_ports())[f"role {CI} ci-pod-identity-role"].trust
    pairs = [
        (
            s["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-namespace"],
            s["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-service-account"],
        )
        for s in trust["Statement"]
    ]
    assert pairs == [("ci", "deployer"), ("ci", "b")]


def test_aws_only_has_no_associations() -> None:
    spec, ports = _one(), _one_ports()
    facts = provision.gather_facts(spec, ports, kubernetes=False)
    kinds = {
        type(item.resource).__name__ for item in provision.desired(spec, facts, kubernetes=False)
    }
    assert kinds == {"Role", "InlinePolicy", "ManagedPolicies"}


# --------------------------------------------------------------------------- spec rules
def _problems(text: str) -> list[str]:
    with pytest.raises(provision.SpecError) as info:
        provision.parse_spec(text, "k.yaml")
    return [str(problem) for problem in info.value.problems]


def _text(*pairs: tuple[str, str]) -> str:
    text = (EXAMPLES / "pod-identity.yaml").read_text()
    for old, new in pairs:
        assert old in text
        text = text.replace(old, new)
    return text


def test_pod_identity_needs_a_role_name() -> None:
    text = _text(("    roleName: ci-pod-identity-role ", "    # "))
    assert _problems(text) == [
        "k.yaml:12:3: missing required key `roleName` (the association role, needed by "
        "federation `podIdentity`)"
    ]


def test_oidc_issuer_is_refused_with_pod_identity() -> None:
    text = _text(
        ("    region: us-east-1\n", "    region: us-east-1\n    oidcIssuer: https://x.example\n")
    )
    assert _problems(text) == [
        "k.yaml:15:5: `oidcIssuer` is not used with federation `podIdentity`: EKS Pod "
        "Identity needs no OIDC provider; remove it"
    ]


def test_agent_setting_only_with_pod_identity() -> None:
    text = _text(("  federation: podIdentity\n", "  federation: chained\n"))
    assert _problems(text) == [
        "k.yaml:22:5: `podIdentityAgent` is used only with federation `podIdentity`, not "
        "`chained`; remove it"
    ]
    bad = _text(("podIdentityAgent: install", "podIdentityAgent: always"))
    assert _problems(bad) == ["k.yaml:22:23: must be `require` or `install`, not `always`"]


def test_session_name_is_refused_with_one_target() -> None:
    text = _text(
        (
            "      roleName: target-pod-identity-role",
            "      sessionName: mine\n      roleName: target-pod-identity-role",
        )
    )
    assert _problems(text) == [
        "k.yaml:27:7: `sessionName` is not used with federation `podIdentity` and one target: "
        "EKS names the target role's session (`eks-<cluster>-<pod>-<id>`); remove it"
    ]


def test_agent_defaults_to_require() -> None:
    spec = _one(**{"    podIdentityAgent: install": "    # podIdentityAgent"})
    assert spec.pod_identity and not spec.installs_agent


# --------------------------------------------------------------------------- apply / destroy
def test_apply_creates_the_addon_and_association_then_nothing_to_do() -> None:
    spec, ports = _one(), _one_ports()
    first = provision.plan(spec, ports)
    pending = {change.key: change.action for change in first.pending}
    assert pending["addon ci-cluster eks-pod-identity-agent"] is Action.CREATE
    assert pending["pod-identity-association ci-cluster ci/deployer"] is Action.CREATE
    report = provision.apply(spec, ports, SETTLED)
    assert report.ok, report.to_json()
    assert _association(ports)["target"] == TARGET_ROLE
    assert ports.aws(CI).addons[("us-east-1", "ci-cluster")] == ["eks-pod-identity-agent"]
    assert provision.plan(spec, ports).pending == []
    assert provision.apply(spec, ports, SETTLED).writes == 0


def test_missing_agent_with_require_is_a_conflict_naming_the_fix() -> None:
    spec = _one(**{"    podIdentityAgent: install": "    podIdentityAgent: require"})
    ports = _one_ports()
    current = provision.plan(spec, ports)
    assert current.conflicts == [
        "addon ci-cluster eks-pod-identity-agent: cluster `ci-cluster` (account 111111111111, "
        "region us-east-1) does not run the `eks-pod-identity-agent` add-on, without which no "
        "pod gets Pod Identity credentials: install it with `aws eks create-addon "
        "--cluster-name ci-cluster --addon-name eks-pod-identity-agent --region us-east-1`, "
        "or set `source.podIdentityAgent: install` to let apply create it"
    ]
    report = provision.apply(spec, ports, SETTLED)
    assert not report.ok and report.writes == 0 and ports.recorder.writes == []
    with_agent = _one_ports(addon=True)
    assert provision.plan(spec, with_agent).conflicts == []


def test_destroy_removes_the_association_and_keeps_the_addon() -> None:
    spec, ports = _one(), _one_ports()
    provision.apply(spec, ports, SETTLED)
    report = provision.destroy(spec, ports)
    assert report.ok, report.to_json()
    assert ports.aws(CI).associations == {}
    assert ports.aws(CI).roles == {} and ports.aws(TARGET).roles == {}
    assert ports.aws(CI).addons[("us-east-1", "ci-cluster")] == ["eks-pod-identity-agent"]


@pytest.mark.parametrize(
    ("tags", "owner"),
    [
        ({}, "someone else (no kubetrust tags)"),
        (resources.ownership_tags("another"), "another kubetrust spec"),
    ],
)
def test_association_of_someone_else_is_a_conflict(tags: dict[str, str], owner: str) -> None:
    spec, ports = _one(), _one_ports()
    ports.aws(CI).associations[ASSOCIATION] = {
        "id": "a-0000000000000other",
        "role": "arn:aws:iam::111111111111:role/x",
        "target": None,
        "tags": tags,
    }
    current = provision.plan(spec, ports)
    assert current.conflicts == [
        "pod-identity-association ci-cluster ci/deployer: association a-0000000000000other "
        f"(role `arn:aws:iam::111111111111:role/x`) belongs to {owner}; not changed (EKS "
        "allows one association per service account)"
    ]
    assert not provision.apply(spec, ports, SETTLED).ok
    destroyed = provision.destroy(spec, ports)
    assert destroyed.ok and ASSOCIATION in ports.aws(CI).associations


def test_association_drift_is_updated_in_place() -> None:
    spec, ports = _one(), _one_ports()
    provision.apply(spec, ports, SETTLED)
    _association(ports)["role"] = "arn:aws:iam::111111111111:role/drifted"
    ident = _association(ports)["id"]
    change = {c.key: c for c in provision.plan(spec, ports).pending}[
        "pod-identity-association ci-cluster ci/deployer"
    ]
    assert change.action is Action.UPDATE
    assert "-role arn:aws:iam::111111111111:role/drifted" in change.diff
    before = len(ports.recorder.writes)
    assert provision.apply(spec, ports, SETTLED).ok
    assert ports.recorder.writes[before:] == [f"{CI} update_pod_identity_association {ident}"]
    assert _association(ports)["role"] == SOURCE_ROLE


def test_removing_the_target_role_replaces_the_association() -> None:
    spec, ports = _one(), _one_ports()
    provision.apply(spec, ports, SETTLED)
    _association(ports)["target"] = f"arn:aws:iam::{TARGET}:role/old"
    text = (EXAMPLES / "pod-identity.yaml").read_text()
    several = text + (
        '    - name: second\n      account: "333333333333"\n      roleName: second-role\n'
    )
    ports.aws(PROD)
    respec = provision.parse_spec(several)
    change = {c.key: c for c in provision.plan(respec, ports).pending}[
        "pod-identity-association ci-cluster ci/deployer"
    ]
    assert change.note == "replaced: the target role is removed"
    assert provision.apply(respec, ports, SETTLED).ok
    assert _association(ports)["target"] is None
    writes = [w for w in ports.recorder.writes if "pod_identity_association" in w]
    assert [w.split()[1] for w in writes[-2:]] == [
        "delete_pod_identity_association",
        "create_pod_identity_association",
    ]


# --------------------------------------------------------------------------- the role's lag
def _lagging_options(sleeps: Sleeps, lines: list[str]) -> provision.Options:
    return provision.Options(
        sleep=sleeps,
        jitter=lambda delay: delay,
        progress=lines.append,
        association_settle_seconds=0.0,
    )


def test_new_associations_are_given_time_to_settle_and_apply_says_so() -> None:
    """EKS gives no signal when an association reaches its webhook: apply waits out the
    settle time from its last association write, once, and tells it; an apply that wrote
    no association does not wait."""
    spec, ports, sleeps, lines = _one(), _one_ports(), Sleeps(), []
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    options = provision.Options(
        sleep=sleeps, progress=lines.append, clock=lambda: moment, association_settle_seconds=12.0
    )
    assert provision.apply(spec, ports, options).ok
    assert sleeps.delays == [12.0]
    told = [line for line in lines if "Pod Identity associations" in line]
    assert len(told) == 1 and told[0].startswith("waiting 12 s for EKS to propagate")
    again, lines_again = Sleeps(), []
    rerun = dataclasses.replace(options, sleep=again, progress=lines_again.append)
    assert provision.apply(spec, ports, rerun).ok
    assert again.delays == [] and not any("Pod Identity associations" in x for x in lines_again)


def test_a_role_not_yet_visible_is_retried_and_the_wait_is_told() -> None:
    spec, ports, sleeps, lines = _one(), _one_ports(), Sleeps(), []
    ports.aws(CI).role_lag = 2
    report = provision.apply(spec, ports, _lagging_options(sleeps, lines))
    assert report.ok, report.to_json()
    assert sleeps.delays == [1.0, 2.0]  # backoff doubles (jitter off here)
    assert _association(ports)["role"] == SOURCE_ROLE
    waits = [line for line in lines if "waiting for IAM" in line]
    assert waits == [
        f"[source] waiting for IAM to propagate role {SOURCE_ROLE} to EKS (AWS is eventually "
        f"consistent) ... {seconds} s"
        for seconds in (0, 1)
    ]


def test_a_role_never_visible_fails_once_the_budget_is_spent() -> None:
    spec, ports, sleeps = _one(), _one_ports(), Sleeps()
    ports.aws(CI).role_lag = 999
    report = provision.apply(spec, ports, _lagging_options(sleeps, []))
    assert not report.ok
    assert sum(sleeps.delays) == pytest.approx(eventual.IAM_PROPAGATION_SECONDS)
    assert max(sleeps.delays) == 8.0  # the pauses stop doubling at the cap
    source = {unit.unit: unit for unit in report.units}["source"]
    assert source.error == (
        "pod-identity-association ci-cluster ci/deployer: create_pod_identity_association in "
        "account 111111111111 failed: InvalidParameterException: Role provided in the request "
        f"does not exist (still refused after waiting 120 s: EKS does not see role {SOURCE_ROLE} "
        "yet; IAM changes take seconds to propagate; if it persists, it is not eventual "
        "consistency)"
    )


def test_other_errors_are_not_retried() -> None:
    spec, ports, sleeps = _one(), _one_ports(), Sleeps()
    ports.aws(CI).role_lag = 1
    ports.recorder.fail_on.add("create_pod_identity_association")
    report = provision.apply(spec, ports, _lagging_options(sleeps, []))
    assert not report.ok
    assert sleeps.delays == [1.0]  # the lag once, then the other error at once
    source = {unit.unit: unit for unit in report.units}["source"]
    assert "injected failure" in source.error


def test_documents_sizes_count_for_service_accounts() -> None:
    many = "".join(f"      - {{namespace: ci, name: sa{i}}}\n" for i in range(8))
    text = _text(("        name: deployer ", f"        name: deployer\n{many.rstrip()} "))
    problems = _problems(text)
    assert len(problems) == 1
    assert "the association role's trust would be" in problems[0]
    assert problems[0].startswith("k.yaml:16:5: ")
    assert documents.TRUST_POLICY_LIMIT == 2048
