"""``kubetrust plan | apply | destroy`` of ``federation: podIdentity`` with the real CLI
against the session's sandbox, then a pod of the service account running the real ``aws``
CLI and kubectl with no AWS credentials of its own (``kubetrust sandbox exec``).

The examples are applied as they are, with unique cluster, role, namespace and spec names
(the session's sandbox is shared).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .kubekit import Caller, Done, admin_kubectl, kubetrust
from .test_provision_aws import EXAMPLES, _cluster

AGENT = "eks-pod-identity-agent"
PODS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    ],
}


@dataclass
class Applied:
    """An example made unique: its file, and the names it got."""

    aws: Any
    file: Path
    names: dict[str, str]

    def run(self, command: str, *extra: str) -> Done:
        state = str(self.aws.sandbox.state_dir)
        return kubetrust(command, "-f", str(self.file), "--sandbox", "--state-dir", state, *extra)

    def exec(self, pod: str, script: str) -> Done:
        return kubetrust(
            "sandbox", "exec", "--state-dir", str(self.aws.sandbox.state_dir),
            "--cluster", self.names["ci-cluster"], "--namespace", self.names["ns"],
            "--pod", pod, "--", "sh", "-c", script,
        )  # fmt: skip

    def associations(self) -> list[dict[str, Any]]:
        eks = self.aws.client("eks", account=self.aws.CI)
        return list(
            self.aws.listed(
                eks,
                "list_pod_identity_associations",
                "associations",
                clusterName=self.names["ci-cluster"],
                namespace=self.names["ns"],
            )
        )


def _example(aws: Any, base: Path, example: str, roles: list[str], **more: str) -> Applied:
    """``example`` with unique names: spec, namespace ``ci``, clusters and ``roles``."""
    names = {"spec": aws.unique("pi"), "ns": aws.unique("pi-ns")}
    names["ci-cluster"] = _cluster(aws, aws.CI, "pi-ci")
    text = (EXAMPLES / example).read_text()
    pairs = [
        ("\n  name: pod-identity", f"\n  name: {names['spec']}"),
        ("- namespace: ci ", f"- namespace: {names['ns']} "),
        ("- namespace: ci\n", f"- namespace: {names['ns']}\n"),
        ("cluster: ci-cluster", f"cluster: {names['ci-cluster']}"),
        *[(role, aws.unique(role[:20])) for role in roles],
        *more.items(),
    ]
    for old, new in pairs:
        if old in text:
            text = text.replace(old, new)
            names[old.strip()] = new
    for target_cluster in ("target-cluster", "dev-cluster"):
        if f"name: {target_cluster}" in text:
            names[target_cluster] = _cluster(aws, aws.TARGET, target_cluster[:9])
            aws.client("eks", account=aws.TARGET).update_cluster_config(
                name=names[target_cluster],
                accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"},
            )
            text = text.replace(f"name: {target_cluster}", f"name: {names[target_cluster]}")
    file = base / example
    file.write_text(text)
    return Applied(aws, file, names)


def _pod(aws: Any, applied: Applied, base: Path, name: str, *maps: tuple[str, str]) -> Caller:
    """A pod of ``deployer`` mounting ConfigMaps at ``/<dir>/config`` (name, env var)."""
    admin = admin_kubectl(aws.sandbox, applied.names["ci-cluster"], base / "admin")
    container: dict[str, Any] = {
        "name": "main",
        "image": "amazon/aws-cli",
        "env": [{"name": env, "value": f"/{cm}/config"} for cm, env in maps],
        "volumeMounts": [{"name": cm, "mountPath": f"/{cm}"} for cm, _ in maps],
    }
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": applied.names["ns"]},
        "spec": {
            "serviceAccountName": "deployer",
            "containers": [container],
            "volumes": [{"name": cm, "configMap": {"name": cm}} for cm, _ in maps],
        },
    }
    done = admin.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
    assert done.ok, str(done)
    return admin


def _role_exists(aws: Any, account: str, name: str) -> bool:
    iam = aws.client("iam", account=account)
    return any(r["RoleName"] == name for r in aws.listed(iam, "list_roles", "Roles"))


# --------------------------------------------------------------------------- one target
def test_one_target_apply_pod_destroy(aws: Any, tmp_path: Path) -> None:
    applied = _example(
        aws, tmp_path, "pod-identity.yaml", ["ci-pod-identity-role", "target-pod-identity-role"]
    )
    source_role = applied.names["ci-pod-identity-role"]
    target_role = applied.names["target-pod-identity-role"]
    ci = applied.names["ci-cluster"]

    pending = applied.run("plan")
    assert pending.returncode == 2, str(pending)
    assert f"+ create   addon {ci} {AGENT}  [source]" in pending.stdout
    assert f"+ create   pod-identity-association {ci} {applied.names['ns']}/deployer" in (
        pending.stdout
    )
    assert "oidc-provider" not in pending.stdout

    done = applied.run("apply")
    assert done.returncode == 0, str(done)
    clean = applied.run("plan", "--output", "json")
    assert clean.returncode == 0, str(clean)
    assert clean.json()["summary"]["create"] == clean.json()["summary"]["update"] == 0

    eks = aws.client("eks", account=aws.CI)
    assert eks.describe_addon(clusterName=ci, addonName=AGENT)["addon"]["status"] == "ACTIVE"
    [summary] = applied.associations()
    association = eks.describe_pod_identity_association(
        clusterName=ci, associationId=summary["associationId"]
    )["association"]
    assert association["roleArn"] == f"arn:aws:iam::{aws.CI}:role/{source_role}"
    assert association["targetRoleArn"] == f"arn:aws:iam::{aws.TARGET}:role/{target_role}"
    assert association["tags"]["kubetrust.dev/spec"] == applied.names["spec"]

    _pod(aws, applied, tmp_path, "p1", ("kubetrust-kubeconfig", "KUBECONFIG"))
    who = applied.exec("p1", "aws sts get-caller-identity --query Arn --output text")
    assert who.ok, str(who)
    assert who.stdout.startswith(
        f"arn:aws:sts::{aws.TARGET}:assumed-role/{target_role}/eks-{ci}-p1-"
    ), str(who)
    # kubectl on the target cluster through the access entry, the pod's default credentials
    kube = applied.exec("p1", "kubectl auth whoami -o jsonpath='{.status.userInfo.username}'")
    assert kube.ok and kube.stdout == "ci-deployer", str(kube)

    # drift: someone points the association at another role; apply puts it back in place
    other = aws.client("iam", account=aws.CI).create_role(
        RoleName=aws.unique("pi-other"), AssumeRolePolicyDocument=json.dumps(PODS_TRUST)
    )["Role"]["Arn"]
    eks.update_pod_identity_association(
        clusterName=ci, associationId=summary["associationId"], roleArn=other
    )
    drift = applied.run("plan")
    assert drift.returncode == 2 and f"-role {other}" in drift.stdout, str(drift)
    fixed = applied.run("apply")
    assert fixed.returncode == 0 and "apply done: 1 writes" in fixed.stdout, str(fixed)
    [again] = applied.associations()
    assert again["associationId"] == summary["associationId"]  # updated, not replaced

    gone = applied.run("destroy")
    assert gone.returncode == 0, str(gone)
    assert applied.associations() == []
    assert not _role_exists(aws, aws.CI, source_role)
    assert not _role_exists(aws, aws.TARGET, target_role)
    assert eks.describe_addon(clusterName=ci, addonName=AGENT)["addon"]["status"] == "ACTIVE"


# --------------------------------------------------------------------------- two targets
def test_two_targets_each_through_its_profile(aws: Any, tmp_path: Path) -> None:
    applied = _example(
        aws,
        tmp_path,
        "pod-identity-multi.yaml",
        ["ci-pod-identity-multi", "deployer-dev", "deployer-prod"],
        **{'"333333333333"': f'"{aws.TARGET}"', "\n  name: pod-identity-multi": "\n  name: pim"},
    )
    applied.names["spec"] = "pim"
    try:
        done = applied.run("apply")
        assert done.returncode == 0, str(done)
        assert applied.run("plan").returncode == 0
        [summary] = applied.associations()
        eks = aws.client("eks", account=aws.CI)
        association = eks.describe_pod_identity_association(
            clusterName=applied.names["ci-cluster"], associationId=summary["associationId"]
        )["association"]
        assert "targetRoleArn" not in association

        _pod(aws, applied, tmp_path, "p2", ("deployer-aws-config", "AWS_CONFIG_FILE"))
        script = "; ".join(
            f"aws sts get-caller-identity --query Arn --output text{profile}"
            for profile in ("", " --profile dev-env", " --profile prod-env")
        )
        who = applied.exec("p2", script)
        assert who.ok, str(who)
        default, dev, prod = who.stdout.split()
        assert default.startswith(
            f"arn:aws:sts::{aws.CI}:assumed-role/{applied.names['ci-pod-identity-multi']}/eks-"
        )
        assert (
            dev
            == f"arn:aws:sts::{aws.TARGET}:assumed-role/{applied.names['deployer-dev']}/deployer"
        )
        assert prod.startswith(
            f"arn:aws:sts::{aws.TARGET}:assumed-role/{applied.names['deployer-prod']}/"
        )
    finally:
        gone = applied.run("destroy")
    assert gone.returncode == 0, str(gone)
    assert applied.associations() == []


# --------------------------------------------------------------------------- refusals
def test_require_without_the_addon_stops_before_any_write(aws: Any, tmp_path: Path) -> None:
    applied = _example(
        aws,
        tmp_path,
        "pod-identity.yaml",
        ["ci-pod-identity-role", "target-pod-identity-role"],
        **{"podIdentityAgent: install": "podIdentityAgent: require"},
    )
    ci = applied.names["ci-cluster"]
    fix = f"aws eks create-addon --cluster-name {ci} --addon-name {AGENT} --region us-east-1"
    planned = applied.run("plan")
    assert planned.returncode == 1, str(planned)
    assert f"! conflict addon {ci} {AGENT}  [source]" in planned.stdout
    assert fix in planned.stdout and "`source.podIdentityAgent: install`" in planned.stdout
    refused = applied.run("apply")
    assert refused.returncode == 1 and "apply NOT done: 0 writes" in refused.stdout, str(refused)
    assert not _role_exists(aws, aws.CI, applied.names["ci-pod-identity-role"])

    aws.client("eks", account=aws.CI).create_addon(clusterName=ci, addonName=AGENT)
    assert applied.run("plan").returncode == 2  # the fix the message names is enough


def test_an_association_made_by_someone_else_is_not_taken(aws: Any, tmp_path: Path) -> None:
    applied = _example(
        aws, tmp_path, "pod-identity.yaml", ["ci-pod-identity-role", "target-pod-identity-role"]
    )
    ci = applied.names["ci-cluster"]
    role = aws.client("iam", account=aws.CI).create_role(
        RoleName=aws.unique("pi-theirs"), AssumeRolePolicyDocument=json.dumps(PODS_TRUST)
    )["Role"]["Arn"]
    eks = aws.client("eks", account=aws.CI)
    theirs = eks.create_pod_identity_association(
        clusterName=ci, namespace=applied.names["ns"], serviceAccount="deployer", roleArn=role
    )["association"]["associationId"]
    planned = applied.run("plan")
    assert planned.returncode == 1, str(planned)
    assert (
        f"association {theirs} (role `{role}`) belongs to someone else (no kubetrust tags); "
        "not changed (EKS allows one association per service account)"
    ) in planned.stdout
    assert applied.run("apply").returncode == 1
    assert applied.run("destroy").returncode == 0
    [kept] = applied.associations()
    assert kept["associationId"] == theirs
