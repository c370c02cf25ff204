"""``kubetrust verify`` of ``federation: podIdentity`` with the real CLI against the sandbox.

The examples are applied as they are (unique names, :mod:`.test_apply_pod_identity`), a pod
of the service account is created (the webhook mutates it for Pod Identity), then verify
runs the chain for real: the pod's ``eks-pod-identity-token`` minted by TokenRequest, the
association read from EKS, ``AssumeRoleForPodIdentity`` at EKS Auth, the hops, the probes
and the target cluster's reviews. Then the chain is broken the ways users break it: every
failure fails the run (exit 2) at the link that broke, in EKS Auth's or STS's words, and
nothing after it passes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .kubekit import Done, kubetrust
from .test_apply_pod_identity import Applied, _example, _pod

ONE_TARGET = ["ci-pod-identity-role", "target-pod-identity-role"]


def verify(applied: Applied, *extra: str) -> Done:
    return applied.run("verify", "--output", "json", *extra)


def steps(done: Done) -> list[dict[str, Any]]:
    return [step for chain in done.json()["chains"] for step in chain["steps"]]


def outcomes(done: Done) -> list[tuple[str, str]]:
    return [(step["kind"], step["outcome"]) for step in steps(done)]


ALL_OK_ONE_TARGET = [
    ("token", "ok"),
    ("association", "ok"),
    ("pod identity", "ok"),
    ("assume role", "ok"),
    ("AWS action", "ok"),
    ("AWS action", "ok"),
    ("AWS action", "ok"),
    ("cluster identity", "ok"),
    ("Kubernetes access", "ok"),
]


def _without_tag_session(aws: Any, account: str, role: str) -> dict[str, Any]:
    """Remove ``sts:TagSession`` from ``role``'s trust; the trust as it was."""
    iam = aws.client("iam", account=account)
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    changed = json.loads(json.dumps(trust))
    for statement in changed["Statement"]:
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        statement["Action"] = [a for a in actions if a != "sts:TagSession"]
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(changed))
    return dict(trust)


def test_one_target_verified_then_broken(aws: Any, tmp_path: Path) -> None:
    applied = _example(aws, tmp_path, "pod-identity.yaml", ONE_TARGET)
    names = applied.names
    ci, namespace = names["ci-cluster"], names["ns"]
    source_role = f"arn:aws:iam::{aws.CI}:role/{names['ci-pod-identity-role']}"
    target_role = f"arn:aws:iam::{aws.TARGET}:role/{names['target-pod-identity-role']}"
    try:
        assert applied.run("apply").ok

        # no pod yet: EKS Auth takes only a pod-bound token, and verify creates nothing
        nopod = verify(applied)
        assert nopod.returncode == 2, str(nopod)
        assert outcomes(nopod)[:4] == [
            ("token", "FAIL"),
            ("association", "ok"),
            ("pod identity", "skip"),
            ("assume role", "skip"),
        ]
        assert steps(nopod)[0]["code"] == "NoPod"
        assert f"no pod of service account {namespace}/deployer" in steps(nopod)[0]["detail"]

        _pod(aws, applied, tmp_path, "p1")
        done = verify(applied)
        assert done.returncode == 0, str(done)
        assert outcomes(done) == ALL_OK_ONE_TARGET, str(done)
        token, association, pod_identity, hop = steps(done)[:4]
        assert token["facts"]["claims"]["aud"] == ["pods.eks.amazonaws.com"]
        assert token["target"] == f"system:serviceaccount:{namespace}:deployer"
        assert association["facts"]["role_arn"] == source_role
        assert association["facts"]["target_role_arn"] == target_role
        assert association["facts"]["association_id"].startswith("a-")
        assert pod_identity["target"] == source_role
        assert hop["caller"] == source_role and hop["target"] == target_role
        session = f"arn:aws:sts::{aws.TARGET}:assumed-role/{names['target-pod-identity-role']}/"
        assert hop["facts"]["session_arn"].startswith(f"{session}eks-{ci}-p1-"), str(done)
        assert steps(done)[7]["facts"]["username"] == "ci-deployer"
        plan = done.json()["chains"][0]["plan"]
        assert plan["pod_identity"] == [source_role, target_role] and plan["hops"] == []

        # from the pod itself, and without a spec (the pod's mutation says Pod Identity)
        where = ["--cluster", ci, "--namespace", namespace, "--pod", "p1"]
        from_pod = verify(applied, *where)
        assert from_pod.returncode == 0 and outcomes(from_pod) == ALL_OK_ONE_TARGET
        state = str(aws.sandbox.state_dir)
        flags = kubetrust(
            "verify", "--sandbox", "--state-dir", state, *where,
            "--expect-action", "eks:ListClusters", "--output", "json",
        )  # fmt: skip
        assert flags.returncode == 0, str(flags)
        assert outcomes(flags) == [
            ("token", "ok"),
            ("association", "ok"),
            ("pod identity", "ok"),
            ("assume role", "ok"),
            ("AWS action", "ok"),
        ]
        text = applied.run("verify")
        assert text.returncode == 0 and "ok   2. association:" in text.stdout, str(text)
        assert "verdict: VERIFIED" in text.stdout

        # the target trust without sts:TagSession: EKS Auth's second hop is refused
        trust = _without_tag_session(aws, aws.TARGET, names["target-pod-identity-role"])
        denied = verify(applied)
        assert denied.returncode == 2, str(denied)
        assert outcomes(denied) == [
            ("token", "ok"),
            ("association", "ok"),
            ("pod identity", "ok"),
            ("assume role", "FAIL"),
            ("AWS action", "skip"),
            ("AWS action", "skip"),
            ("AWS action", "skip"),
            ("cluster identity", "skip"),
            ("Kubernetes access", "skip"),
        ]
        refused = steps(denied)[3]
        assert refused["code"] == "AccessDeniedException"
        assert "is not authorized to perform: sts:TagSession" in refused["detail"]
        assert f"on resource: {target_role}" in refused["detail"]
        assert "the target role's trust must allow the association role" in refused["detail"]
        iam = aws.client("iam", account=aws.TARGET)
        iam.update_assume_role_policy(
            RoleName=names["target-pod-identity-role"], PolicyDocument=json.dumps(trust)
        )
        assert verify(applied).returncode == 0

        # the association deleted: the association step fails, EKS Auth says why
        eks = aws.client("eks", account=aws.CI)
        [summary] = applied.associations()
        eks.delete_pod_identity_association(clusterName=ci, associationId=summary["associationId"])
        gone = verify(applied)
        assert gone.returncode == 2, str(gone)
        assert outcomes(gone)[:5] == [
            ("token", "ok"),
            ("association", "FAIL"),
            ("pod identity", "FAIL"),
            ("assume role", "skip"),
            ("AWS action", "skip"),
        ]
        missing, eks_auth = steps(gone)[1:3]
        assert missing["detail"].startswith(
            f"no Pod Identity association for service account {namespace}/deployer in "
            f"cluster {ci} (ListPodIdentityAssociations)"
        )
        assert (
            f"aws eks create-pod-identity-association --cluster-name {ci} "
            f"--namespace {namespace} --service-account deployer --role-arn {source_role} "
            f"--target-role-arn {target_role}"
        ) in missing["detail"]
        assert eks_auth["code"] == "ResourceNotFoundException"
        assert "No Pod Identity association found" in eks_auth["detail"]
        assert all(s["outcome"] == "skip" for s in steps(gone)[3:])
    finally:
        assert applied.run("destroy").ok


def test_two_targets_each_a_hop_from_the_source_session(aws: Any, tmp_path: Path) -> None:
    applied = _example(
        aws,
        tmp_path,
        "pod-identity-multi.yaml",
        ["ci-pod-identity-multi", "deployer-dev", "deployer-prod"],
        **{'"333333333333"': f'"{aws.TARGET}"', "\n  name: pod-identity-multi": "\n  name: pim"},
    )
    names = applied.names
    source_role = f"arn:aws:iam::{aws.CI}:role/{names['ci-pod-identity-multi']}"
    try:
        assert applied.run("apply").ok
        _pod(aws, applied, tmp_path, "p2")
        done = verify(applied)
        assert done.returncode == 0, str(done)
        dev, prod = done.json()["chains"]
        assert [(s["kind"], s["outcome"]) for s in dev["steps"]] == [
            ("token", "ok"),
            ("association", "ok"),
            ("pod identity", "ok"),
            ("assume role", "ok"),
            ("AWS action", "ok"),
            ("AWS action", "ok"),
            ("cluster identity", "ok"),
            ("Kubernetes access", "ok"),
        ]
        assert [(s["kind"], s["outcome"]) for s in prod["steps"]] == [
            ("token", "ok"),
            ("association", "ok"),
            ("pod identity", "ok"),
            ("assume role", "ok"),
            ("AWS action", "ok"),
        ]
        pod_identity, hop = dev["steps"][2:4]
        assert pod_identity["facts"]["session_arn"].startswith(
            f"arn:aws:sts::{aws.CI}:assumed-role/{names['ci-pod-identity-multi']}/eks-"
        )
        assert dev["steps"][1]["facts"]["target_role_arn"] is None
        assert hop["caller"].startswith(f"arn:aws:sts::{aws.CI}:assumed-role/")
        dev_role = names["deployer-dev"]
        assert hop["facts"]["session_arn"] == (
            f"arn:aws:sts::{aws.TARGET}:assumed-role/{dev_role}/deployer"
        )
        assert dev["plan"]["pod_identity"] == [source_role]
        assert dev["plan"]["hops"] == [f"arn:aws:iam::{aws.TARGET}:role/{dev_role}"]

        # the dev trust without sts:TagSession: the pod's own AssumeRole carries the
        # transitive session tags, so STS refuses it (prod is untouched)
        _without_tag_session(aws, aws.TARGET, dev_role)
        denied = verify(applied)
        assert denied.returncode == 2, str(denied)
        dev, prod = denied.json()["chains"]
        assert [(s["kind"], s["outcome"]) for s in dev["steps"]][2:5] == [
            ("pod identity", "ok"),
            ("assume role", "FAIL"),
            ("AWS action", "skip"),
        ]
        assert dev["steps"][3]["code"] == "AccessDenied"
        assert "sts:TagSession" in dev["steps"][3]["detail"]
        assert prod["ok"]
    finally:
        assert applied.run("destroy").ok
