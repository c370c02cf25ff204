"""The seed's steps 5–7 in Kubernetes: ConfigMaps, the test deployment, the in-pod checks.

On the world of steps 1–4 (fixture ``seed``, built with the aws CLI), exactly as the blog
does, with real kubectl and aws CLI:

- step 5: as the CI cluster's administrator, the namespace, the annotated service account,
  ``awsconfig-configmap`` (the blog's file, ``--from-file=config=...``), ``script-configmap``
  and the blog's ``test-deployment.yaml`` verbatim; then, *inside the pod* (``kubetrust
  sandbox exec``: the pod's volumes at their absolute paths, the IRSA webhook's env), the
  blog's ``cp -r aws_config/ ~/.aws/`` and ``aws sts get-caller-identity`` for both
  profiles, ``aws eks list-clusters`` and ``describe-cluster``;
- step 6: the target cluster's aws-auth maps ``target-account-iam-role`` to ``test-user``
  in ``system:masters``;
- step 7: in the pod, ``aws eks update-kubeconfig --profile target-env``, then ``kubectl get
  namespaces`` and ``kubectl get pods -n kube-system`` against the target cluster.

The negatives: before step 6 the target cluster refuses the role (not mapped), and a pod
whose service account has no annotation gets no AWS identity at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubetrust.sandbox.eks.pod_identity_agent import NODE_ROLE, instance_id

from .kubekit import UNAUTHORIZED, Caller, Done, admin_kubectl, aws_auth, kubetrust
from .seedkit import BLOG_TOKEN_PATH, DOCUMENTS, NAMESPACE, REGION, SERVICE_ACCOUNT, Seed, render

IN_POD_SETUP = "cp -r aws_config/ ~/.aws/"
"""The line of the blog's script.sh that matters here (the rest installs tools)."""


def blog_aws_config(seed: Seed) -> str:
    """The blog's ConfigMap file: only account ids, and the token path's stray '.', fixed."""
    return render(
        "awsconfig-configmap.yaml",
        [
            ("CI_ACCOUNT_ID", seed.accounts.ci),
            ("TARGET_ACCOUNT_ID", seed.accounts.target),
            (BLOG_TOKEN_PATH, BLOG_TOKEN_PATH.rstrip(".")),
        ],
    )


class Pod:
    """A pod of the CI cluster, and ``kubetrust sandbox exec`` into it."""

    def __init__(self, seed: Seed, name: str) -> None:
        self.seed = seed
        self.name = name

    def sh(self, script: str) -> Done:
        return kubetrust(
            "sandbox",
            "exec",
            "--state-dir",
            str(self.seed.state_dir),
            "--cluster",
            self.seed.ci_cluster,
            "--namespace",
            NAMESPACE,
            "--pod",
            self.name,
            "--",
            "sh",
            "-c",
            script,
        )


def pod_of(admin: Caller, label: str) -> str:
    found = admin.kubectl(
        "get", "pod", "-l", label, "-n", NAMESPACE, "-o", "jsonpath={.items[0].metadata.name}"
    )
    assert found.ok and found.stdout, str(found)
    return found.stdout


@pytest.fixture(scope="module")
def step5(seed: Seed, tmp_path_factory: pytest.TempPathFactory) -> tuple[Caller, Pod]:
    """Step 5's Kubernetes objects in the CI cluster, as the blog creates them."""
    base = tmp_path_factory.mktemp("seed-kube")
    admin = admin_kubectl(seed.cli.sandbox, seed.ci_cluster, base / "ci-admin")
    role_arn = f"arn:aws:iam::{seed.accounts.ci}:role/{seed.ci_role}"
    files = base / "files"
    files.mkdir()
    (files / "awsconfig-configmap.yaml").write_text(blog_aws_config(seed), encoding="utf-8")
    script = (DOCUMENTS / "script-configmap.yaml").read_text(encoding="utf-8")
    (files / "script-configmap.yaml").write_text(script, encoding="utf-8")
    deployment = (DOCUMENTS / "test-deployment.yaml").read_text(encoding="utf-8")
    steps = [
        ("create", "namespace", NAMESPACE),
        ("create", "serviceaccount", SERVICE_ACCOUNT, "-n", NAMESPACE),
        (
            "annotate",
            "serviceaccount",
            SERVICE_ACCOUNT,
            "-n",
            NAMESPACE,
            f"eks.amazonaws.com/role-arn={role_arn}",
        ),
        (
            "create",
            "configmap",
            "awsconfig-configmap",
            f"--from-file=config={files / 'awsconfig-configmap.yaml'}",
            "-n",
            NAMESPACE,
        ),
        (
            "create",
            "configmap",
            "script-configmap",
            f"--from-file=script.sh={files / 'script-configmap.yaml'}",
            "-n",
            NAMESPACE,
        ),
    ]
    for step in steps:
        done = admin.kubectl(*step)
        assert done.ok, str(done)
    # the blog's manifest as published (its indentation uses no-break spaces)
    applied = admin.kubectl("apply", "-f", "-", stdin=deployment.replace("\u00a0", " "))
    assert applied.ok and "deployment.apps/test-deployment created" in applied.stdout, str(applied)
    return admin, Pod(seed, pod_of(admin, "app=test-pod"))


def test_the_pod_gets_irsa_from_the_webhook(step5: tuple[Caller, Pod], seed: Seed) -> None:
    admin, pod = step5
    spec = admin.kubectl("get", "pod", pod.name, "-n", NAMESPACE, "-o", "json").json()
    env = {e["name"]: e.get("value") for e in spec["spec"]["containers"][0]["env"]}
    assert env["AWS_ROLE_ARN"] == f"arn:aws:iam::{seed.accounts.ci}:role/{seed.ci_role}"
    assert env["AWS_WEB_IDENTITY_TOKEN_FILE"] == BLOG_TOKEN_PATH.rstrip(".")
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == REGION
    assert spec["status"]["phase"] == "Running"
    token = pod.sh(f"cat {BLOG_TOKEN_PATH.rstrip('.')}")
    assert token.ok, str(token)
    claims = json.loads(_b64(token.stdout.split(".")[1]))
    assert claims["sub"] == f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"
    assert claims["aud"] == ["sts.amazonaws.com"] and claims["iss"] == seed.issuer
    assert claims["kubernetes.io"]["pod"]["name"] == pod.name


def test_step5_both_identities_and_the_target_clusters(
    step5: tuple[Caller, Pod], seed: Seed
) -> None:
    _, pod = step5
    ci = pod.sh(f"{IN_POD_SETUP} && aws sts get-caller-identity --profile ci-env")
    assert ci.ok, str(ci)
    assert f":assumed-role/{seed.ci_role}/" in json.loads(ci.stdout)["Arn"]
    target = pod.sh(f"{IN_POD_SETUP} && aws sts get-caller-identity --profile target-env")
    assert target.ok, str(target)
    assert json.loads(target.stdout)["Arn"] == (
        f"arn:aws:sts::{seed.accounts.target}:assumed-role/{seed.target_role}/xactarget"
    )
    listed = pod.sh(
        f"{IN_POD_SETUP} && aws eks list-clusters --region {REGION} --profile target-env"
    )
    assert listed.ok and seed.target_cluster in json.loads(listed.stdout)["clusters"], str(listed)
    described = pod.sh(
        f"{IN_POD_SETUP} && aws eks describe-cluster --region {REGION} --profile target-env "
        f"--name {seed.target_cluster}"
    )
    assert described.ok, str(described)
    assert json.loads(described.stdout)["cluster"]["status"] == "ACTIVE"


def test_steps_6_and_7_kubectl_in_the_target_cluster(
    step5: tuple[Caller, Pod], seed: Seed, tmp_path: Path
) -> None:
    _, pod = step5
    to_target = (
        f"{IN_POD_SETUP} && aws --region {REGION} eks update-kubeconfig "
        f"--name {seed.target_cluster} --profile target-env > /dev/null && "
    )
    before = pod.sh(to_target + "kubectl get namespaces")
    assert before.returncode == 1 and UNAUTHORIZED in before.stderr, str(before)

    target_admin = admin_kubectl(seed.cli.sandbox, seed.target_cluster, tmp_path / "admin")
    role_arn = f"arn:aws:iam::{seed.accounts.target}:role/{seed.target_role}"
    mapping = aws_auth(
        [{"groups": ["system:masters"], "rolearn": role_arn, "username": "test-user"}]
    )
    assert target_admin.kubectl("apply", "-f", "-", stdin=mapping).ok

    namespaces = pod.sh(to_target + "kubectl get namespaces")
    assert namespaces.ok, str(namespaces)
    assert {"default", "kube-system", "kube-public"} <= {
        line.split()[0] for line in namespaces.stdout.splitlines()[1:]
    }
    pods = pod.sh(to_target + "kubectl get pods -n kube-system")
    assert pods.ok and "coredns-" in pods.stdout and "Running" in pods.stdout, str(pods)
    who = pod.sh(to_target + "kubectl auth whoami -o json")
    assert who.ok and json.loads(who.stdout)["status"]["userInfo"]["username"] == "test-user"


def test_service_account_without_annotation_acts_as_the_node_role(
    step5: tuple[Caller, Pod], seed: Seed
) -> None:
    """No IRSA: the SDK's last provider is IMDS, and the cluster's nodes let pods reach it
    (hop limit 2, the default): the pod is the node's instance role (reference H.5)."""
    admin, _ = step5
    assert admin.kubectl("create", "serviceaccount", "plain", "-n", NAMESPACE).ok
    manifest: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "plain-pod", "namespace": NAMESPACE, "labels": {"app": "plain"}},
        "spec": {
            "serviceAccountName": "plain",
            "containers": [{"name": "c", "image": "ubuntu", "command": ["sleep", "1"]}],
        },
    }
    assert admin.kubectl("apply", "-f", "-", stdin=json.dumps(manifest)).ok
    plain = Pod(seed, "plain-pod")
    env = plain.sh("env | grep '^AWS_' | sort")
    assert env.ok, str(env)
    assert "AWS_ROLE_ARN" not in env.stdout and "AWS_WEB_IDENTITY_TOKEN_FILE" not in env.stdout
    assert plain.sh("test -e /var/run/secrets/eks.amazonaws.com").returncode == 1
    me = plain.sh(f"aws sts get-caller-identity --region {REGION} --output json")
    assert me.ok, str(me)
    node = instance_id(seed.accounts.ci, seed.ci_cluster)
    assert json.loads(me.stdout)["Arn"] == (
        f"arn:aws:sts::{seed.accounts.ci}:assumed-role/{NODE_ROLE}/{node}"
    )


def _b64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
