"""``kubetrust verify``'s pure parts: expectations, the report's verdict and renderings, the
probe table, and the plans a spec gives. (The runs themselves: tests/sandbox/test_verify.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubetrust import errors, provision
from kubetrust.adapters.verify_probes import NoProbe, probe_for, verdict
from kubetrust.adapters.verify_spec import plans_from_spec
from kubetrust.chain.rbac import KubeRequest
from kubetrust.explain import verify_model as vm

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


# ---------------------------------------------------------------------- --expect-kube


@pytest.mark.parametrize(
    ("text", "request_"),
    [
        ("list namespaces", KubeRequest("list", "namespaces")),
        ("get pods -n kube-system", KubeRequest("get", "pods", namespace="kube-system")),
        (
            "create deployments.apps --namespace apps",
            KubeRequest("create", "deployments", "apps", namespace="apps"),
        ),
        ("get pods/web -n a --subresource log", KubeRequest("get", "pods", "", "log", "a", "web")),
        ("get /healthz", KubeRequest("get", path="/healthz")),
        ("list pods -A", KubeRequest("list", "pods")),
    ],
)
def test_kube_expectations_read_like_kubectl(text: str, request_: KubeRequest) -> None:
    expectation = vm.parse_kube_expectation(text, "c1", "eu-west-1")
    assert expectation == vm.KubeExpectation("c1", request_, "eu-west-1")


@pytest.mark.parametrize("text", ["list", "get pods -n", "get pods --watch", "get 'pods"])
def test_bad_kube_expectations_are_input_errors(text: str) -> None:
    with pytest.raises(errors.InputError):
        vm.parse_kube_expectation(text, "c1")


# ---------------------------------------------------------------------- the report


def _step(outcome: vm.Outcome, kind: vm.StepKind = vm.StepKind.AWS_ACTION) -> vm.Step:
    return vm.Step(kind, "arn:aws:sts::222222222222:assumed-role/r/s", "eks:ListClusters", outcome)


def _report(*outcomes: vm.Outcome) -> vm.VerifyReport:
    run = vm.ChainRun(vm.ChainPlan("t"), tuple(_step(o) for o in outcomes))
    return vm.VerifyReport("pod p", (run,))


def test_any_failure_fails_and_skips_do_not_pass_silently() -> None:
    assert _report(vm.Outcome.PASS, vm.Outcome.PASS).ok
    assert not _report(vm.Outcome.PASS, vm.Outcome.FAIL).ok
    skipped = _report(vm.Outcome.PASS, vm.Outcome.SKIP)
    assert skipped.ok
    assert "1 not run or not verified" in vm.report_text(skipped)
    assert not vm.VerifyReport("pod p", ()).ok  # nothing run is not verified
    assert not _report().ok


def test_text_and_json() -> None:
    report = _report(vm.Outcome.PASS, vm.Outcome.FAIL)
    text = vm.report_text(report)
    assert "chain t: FAILED (1 of 2 checks)" in text
    assert "FAIL 2. AWS action: r/s (222222222222) → eks:ListClusters" in text
    assert text.endswith("verdict: FAILED")
    data = json.loads(json.dumps(vm.report_json(report)))
    assert data["ok"] is False
    assert [s["outcome"] for s in data["chains"][0]["steps"]] == ["ok", "FAIL"]
    assert data["chains"][0]["plan"]["session_name"] == vm.DEFAULT_SESSION


def test_plan_clusters_keep_order_and_regions() -> None:
    plan = vm.ChainPlan(
        "t",
        identities=(vm.IdentityExpectation("b", region="r2"),),
        kube=(
            vm.KubeExpectation("a", KubeRequest("list", "pods"), "r1"),
            vm.KubeExpectation("b", KubeRequest("list", "pods"), "r2"),
        ),
    )
    assert plan.clusters() == [("b", "r2"), ("a", "r1")]


# ---------------------------------------------------------------------- probes


def test_probes_call_what_proves_the_action() -> None:
    listed = probe_for("s3:ListAllMyBuckets", "*", [])
    assert (listed.service, listed.operation, listed.params) == ("s3", "list_buckets", {})
    arn = "arn:aws:eks:eu-west-1:222222222222:cluster/prod"
    described = probe_for("eks:describecluster", arn, [("other", None)])
    assert (described.params, described.region) == ({"name": "prod"}, "eu-west-1")
    fallback = probe_for("eks:DescribeCluster", "*", [("dev", "us-east-2")])
    assert (fallback.params, fallback.region) == ({"name": "dev"}, "us-east-2")
    bucket = probe_for("s3:ListBucket", "arn:aws:s3:::logs/*", [])
    assert bucket.params == {"Bucket": "logs"}


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("ec2:RunInstances", "*"),  # no probe: never a write
        ("eks:DescribeCluster", "*"),  # no cluster known
        ("s3:ListBucket", "*"),
        ("iam:GetRole", "arn:aws:iam::1:user/u"),
    ],
)
def test_no_probe_is_said(action: str, resource: str) -> None:
    with pytest.raises(NoProbe):
        probe_for(action, resource, [])


def test_answers_map_to_verdicts() -> None:
    assert verdict("AccessDenied", "") is False
    assert verdict("AccessDeniedException", "") is False
    assert verdict("Whatever", "User x is not authorized to perform: y") is False
    assert verdict("ResourceNotFoundException", "") is True  # authorized first
    assert verdict("ThrottlingException", "") is None


# ---------------------------------------------------------------------- plans from a spec


def test_seed_spec_plan() -> None:
    (plan,) = plans_from_spec(provision.load_spec(EXAMPLES / "seed.yaml"), "s")
    assert plan.first == "arn:aws:iam::111111111111:role/ci-account-iam-role"
    assert plan.hops == ("arn:aws:iam::222222222222:role/target-account-iam-role",)
    assert [e.action for e in plan.aws] == [
        "s3:ListAllMyBuckets",
        "eks:DescribeCluster",
        "eks:ListClusters",
    ]
    assert plan.identities == (
        vm.IdentityExpectation("target-cluster", "test-user", ("system:masters",), "us-east-1"),
    )
    assert plan.kube == (
        vm.KubeExpectation("target-cluster", KubeRequest("list", "namespaces"), "us-east-1"),
    )
    assert plan.session_name == "xactarget"  # the target's sessionName wins


def test_three_targets_plans() -> None:
    plans = plans_from_spec(provision.load_spec(EXAMPLES / "three-targets.yaml"), "s")
    assert [p.name for p in plans] == [
        "dev (222222222222)",
        "stg (333333333333)",
        "prod (444444444444)",
    ]
    dev = plans[0]
    assert dev.aws[0] == vm.AwsExpectation(
        "eks:DescribeCluster", "arn:aws:eks:us-east-1:222222222222:cluster/dev-cluster"
    )
    assert dev.identities[0].username == "ci-deployer"
    (edit,) = dev.kube  # Edit in [apps, apps-*]: the literal namespace
    assert edit.request == KubeRequest("create", "configmaps", namespace="apps")
    assert plans[1].kube[0].request == KubeRequest("list", "pods", namespace="apps")


def test_direct_federation_plan() -> None:
    plans = plans_from_spec(provision.load_spec(EXAMPLES / "direct.yaml"), "s")
    assert all(p.hops == () for p in plans)
    assert [p.first for p in plans] == [
        "arn:aws:iam::222222222222:role/ci-direct-dev",
        "arn:aws:iam::333333333333:role/ci-direct-stg",
    ]
