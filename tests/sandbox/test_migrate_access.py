"""``kubetrust migrate access-entries`` end to end, on a private sandbox (issue 15, done-when 1).

A ``CONFIG_MAP`` cluster of the world file with a realistic aws-auth — a masters role, a role
in a group bound to ``view`` (and one bound to ``edit`` in a namespace, with a templated
username), an IAM user with access keys, a node role, a ``mapAccounts`` entry, a role in a
``system:`` group access entries cannot grant — is migrated by the CLI as a subprocess. Before
and after, **as each principal** (the real aws CLI with a private HOME and a profile per
principal, kubectl whose exec plugin is ``aws eks get-token``), ``kubectl auth can-i`` answers
exactly the same. A ``--mode API`` run that would lock principals out is refused first, naming
them, and changes nothing.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from .kubekit import BIN, Caller, Done, admin_kubectl, run
from .realismkit import private_sandbox

T = "222222222222"
ROOT_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{T}:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}
DESCRIBE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "*"}],
}
ROLES = {"admins": "/", "viewers": "/team/", "ops": "/", "nodes": "/", "monitor": "/"}


def role_arn(name: str, with_path: bool = False) -> str:
    path = ROLES[name] if with_path else "/"
    return f"arn:aws:iam::{T}:role{path}{name}"


WORLD = {
    "accounts": [
        {
            "id": T,
            "name": "target",
            "roles": [
                {"name": n, "path": p, "trust": ROOT_TRUST, "policies": {"describe": DESCRIBE}}
                for n, p in ROLES.items()
            ],
            "clusters": [{"name": "legacy", "authentication_mode": "CONFIG_MAP"}],
        }
    ]
}
# fmt: off
MAP_ROLES = [
    {"rolearn": role_arn("admins"), "username": "admin", "groups": ["system:masters"]},
    {"rolearn": role_arn("viewers"), "username": "viewer", "groups": ["viewers"]},
    {"rolearn": role_arn("ops"), "username": "ops:{{SessionName}}", "groups": ["ops-team"]},
    {"rolearn": role_arn("nodes"), "username": "system:node:{{EC2PrivateDNSName}}",
     "groups": ["system:bootstrappers", "system:nodes"]},
    {"rolearn": role_arn("monitor"), "username": "monitor", "groups": ["system:monitoring"]},
]
# fmt: on
PRINCIPALS = ("admins", "viewers", "ops", "nodes", "monitor", "alice", "admin")
CHECKS = [
    ("get", "pods", "default"),
    ("list", "secrets", "default"),
    ("create", "deployments", "ops"),
    ("delete", "pods", "ops"),
    ("get", "configmaps", "kube-system"),
    ("create", "clusterrolebindings", ""),
    ("list", "nodes", ""),
]
LISTED = ("viewers", "ops", "alice")
"""``--list`` does not show what access policies grant (E.4): asked of RBAC-only principals."""


class Legacy:
    """The private sandbox, its aws-auth and RBAC, and a kubectl per principal."""

    def __init__(self, sandbox: Any, base: Path) -> None:
        self.sandbox = sandbox
        self.base = base
        key, secret = sandbox.admin_keys[T]
        self.admin_keys = {"aws_access_key_id": key, "aws_secret_access_key": secret}
        self.eks = self.client("eks")
        iam = self.client("iam")
        iam.create_user(UserName="alice")
        iam.put_user_policy(UserName="alice", PolicyName="d", PolicyDocument=json.dumps(DESCRIBE))
        made = iam.create_access_key(UserName="alice")["AccessKey"]
        self.alice_keys = {
            "aws_access_key_id": made["AccessKeyId"],
            "aws_secret_access_key": made["SecretAccessKey"],
        }
        self.admin = admin_kubectl(sandbox, "legacy", base / "admin-kubectl")
        self._configure()
        self.callers = {name: self._caller(name) for name in PRINCIPALS}

    def client(self, service: str) -> Any:
        return boto3.session.Session().client(
            service, endpoint_url=self.sandbox.endpoint, region_name="us-east-1", **self.admin_keys
        )

    def _configure(self) -> None:
        users = [
            {"userarn": f"arn:aws:iam::{T}:user/alice", "username": "alice", "groups": ["viewers"]}
        ]
        manifests = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ops"}},
            _config_map(
                {"mapRoles": MAP_ROLES, "mapUsers": users, "mapAccounts": ["333333333333"]}
            ),
            _binding("ClusterRoleBinding", "viewers", "view", "viewers"),
            _binding("RoleBinding", "ops-edit", "edit", "ops-team", "ops"),
        ]
        for manifest in manifests:
            done = self.admin.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
            assert done.ok, str(done)

    def _caller(self, name: str) -> Caller:
        home = self.base / f"home-{name}"
        (home / ".aws").mkdir(parents=True)
        keys = self.alice_keys if name == "alice" else self.admin_keys
        profile = "alice" if name == "alice" else "base"
        credentials = f"[{profile}]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items())
        (home / ".aws" / "credentials").write_text(credentials)
        config = "[profile base]\nregion = us-east-1\n[profile alice]\nregion = us-east-1\n"
        if name in ROLES:
            session = "i-0123456789abcdef0" if name == "nodes" else f"{name}-session"
            config += (
                f"[profile {name}]\nrole_arn = {role_arn(name, with_path=True)}\n"
                f"source_profile = base\nrole_session_name = {session}\nregion = us-east-1\n"
            )
        (home / ".aws" / "config").write_text(config)
        caller = Caller(
            self.sandbox.endpoint, home, {"AWS_PROFILE": profile if name not in ROLES else name}
        )
        caller.update_kubeconfig("legacy")
        return caller

    def answers(self) -> dict[str, list[tuple[int, str, bool]]]:
        """Per principal: ``kubectl auth can-i`` for each check (exit code, answer, whether
        the cluster refused the caller), then ``--list -n ops`` for the RBAC-only ones."""
        found: dict[str, list[tuple[int, str, bool]]] = {}
        for name, caller in self.callers.items():
            rows = [_can_i(caller, *check) for check in CHECKS]
            if name in LISTED:
                listed = caller.kubectl("auth", "can-i", "--list", "-n", "ops")
                rows.append((listed.returncode, listed.stdout.strip(), False))
            found[name] = rows
        return found

    def mode(self) -> str:
        return str(
            self.eks.describe_cluster(name="legacy")["cluster"]["accessConfig"][
                "authenticationMode"
            ]
        )

    def migrate(self, *args: str) -> Done:
        env = {
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "LANG": "C.UTF-8",
            "HOME": str(self.base / "home-kubetrust"),
        }
        command = [
            sys.executable,
            "-m",
            "kubetrust",
            "migrate",
            "access-entries",
            "--cluster",
            "legacy",
        ]
        command += ["--sandbox", "--state-dir", str(self.sandbox.state_dir)]
        command += ["--backup-dir", str(self.base / "backups"), *args]
        return run(command, env, timeout=300)


def _can_i(caller: Caller, verb: str, resource: str, namespace: str) -> tuple[int, str, bool]:
    args = ["auth", "can-i", verb, resource, *(["-n", namespace] if namespace else [])]
    done = caller.kubectl(*args)
    return done.returncode, done.stdout.strip(), "logged in to the server" in done.stderr


def _config_map(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "aws-auth", "namespace": "kube-system"},
        "data": {k: yaml.safe_dump(v, sort_keys=False) for k, v in data.items()},
    }


def _binding(kind: str, name: str, role: str, group: str, namespace: str = "") -> dict[str, Any]:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": metadata,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}],
    }


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Legacy]:
    base = tmp_path_factory.mktemp("migrate-access")
    with private_sandbox(base, WORLD) as sandbox:
        yield Legacy(sandbox, base)


def test_the_migration_keeps_every_principals_answers_and_a_rerun_plans_nothing(
    legacy: Legacy,
) -> None:
    before = legacy.answers()
    assert before["admins"][5][:2] == (0, "yes") and before["viewers"][0][:2] == (0, "yes")
    assert before["viewers"][1][:2] == (1, "no") and before["ops"][2][:2] == (0, "yes")
    assert before["monitor"][0][2] is False  # mapped (its group grants nothing by itself)

    refused = legacy.migrate("--mode", "API", "--apply")
    assert refused.returncode == 2, str(refused)
    assert f"{role_arn('monitor')} would lose access" in refused.stdout
    assert "system:monitoring" in refused.stdout
    assert "333333333333 (mapAccounts[0]) would be locked out" in refused.stdout
    assert "Refused: nothing was changed" in refused.stdout
    assert legacy.mode() == "CONFIG_MAP" and not (legacy.base / "backups").exists()

    plan = legacy.migrate()
    (legacy.base / "plan.txt").write_text(plan.stdout + plan.stderr)
    assert plan.returncode == 0, str(plan)
    assert "CONFIG_MAP → API_AND_CONFIG_MAP" in plan.stdout and "one way only" in plan.stdout
    assert legacy.mode() == "CONFIG_MAP"

    applied = legacy.migrate("--apply", "--output", "json")
    assert applied.returncode == 0, str(applied)
    report = json.loads(applied.stdout)
    assert {i["source"] for i in report["not_carried"]} == {"mapRoles[4]", "mapAccounts[0]"}
    assert role_arn("viewers", with_path=True) in {
        e["principal"] for e in report["plan"]["entries"]
    }
    assert {d["verdict"] for d in report["recheck"]} == {"same"}, report["recheck"]
    assert report["recheck_differs"] == []
    assert legacy.mode() == "API_AND_CONFIG_MAP"
    entries = legacy.eks.list_access_entries(clusterName="legacy")["accessEntries"]
    assert role_arn("viewers", with_path=True) in entries

    after = legacy.answers()
    assert after == before

    again = legacy.migrate()
    assert again.returncode == 0, str(again)
    assert "nothing to migrate" in again.stdout
    assert "mapAccounts[0]" in again.stdout  # still reported


def test_a_bad_cluster_name_is_an_input_error(legacy: Legacy) -> None:
    done = legacy.migrate("--account", "111111111111")
    assert done.returncode == 3 and "no cluster `legacy` in account 111111111111" in done.stderr
