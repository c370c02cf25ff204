"""What the ``kubetrust migrate`` sandbox tests share (test_migrate_access.py,
test_migrate_pod_identity.py, test_migrate_rollback.py).

Each of those modules starts private sandboxes (they change modes, aws-auth and trusts). A
process holds an account in one sandbox at a time, and a stopped sandbox leaves its moto
state behind (:mod:`kubetrust.sandbox.runtime.server`), so every module gives its worlds
account ids of its own — never the session sandbox's ``111111111111``/``222222222222``, or a
worker that already started the session sandbox fails with ``AccountsInUse``:

- the aws-auth world (:func:`access_world`, :class:`Legacy`) takes its account as a
  parameter;
- the seed's world and spec are renamed (:func:`seed_files`), their account ids replaced.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import boto3
import yaml

from kubetrust.sandbox.runtime.server import SandboxServer

from .kubekit import BIN, Caller, Done, admin_kubectl, kubetrust, run

ROOT = Path(__file__).resolve().parents[2]

# ------------------------------------------------------------------ the seed, renamed

SEED = ROOT / "examples" / "seed.yaml"
SEED_WORLD: dict[str, Any] = yaml.safe_load(
    (ROOT / "src/kubetrust/demo/scenario/world.yaml").read_text(encoding="utf-8")
)
SEED_CI, SEED_TARGET = "111111111111", "222222222222"
"""The seed's accounts as examples/seed.yaml and the demo world name them."""


def renamed(text: str, renames: dict[str, str]) -> str:
    for old, new in renames.items():
        text = text.replace(old, new)
    return text


def seed_files(base: Path, ci: str, target: str) -> tuple[Path, dict[str, Any]]:
    """The seed spec (written under ``base``) and the demo world with the seed's accounts
    renamed to ``ci`` and ``target``."""
    renames = {SEED_CI: ci, SEED_TARGET: target}
    seed = base / "seed.yaml"
    seed.write_text(renamed(SEED.read_text(encoding="utf-8"), renames), encoding="utf-8")
    world = yaml.safe_load(renamed(yaml.safe_dump(SEED_WORLD), renames))
    return seed, world


POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "test-pod", "namespace": "ci-namespace"},
    "spec": {
        "serviceAccountName": "ci-serviceaccount",
        "containers": [
            {
                "name": "main",
                "image": "ubuntu",
                "volumeMounts": [{"name": "cfg", "mountPath": "/aws_config"}],
            }
        ],
        "volumes": [{"name": "cfg", "configMap": {"name": "awsconfig-configmap"}}],
    },
}
POD_CHECKS = """
mkdir -p ~/.aws && cp /aws_config/config ~/.aws/config
echo "@default $(aws sts get-caller-identity --query Arn --output text)"
echo "@ci-env $(aws sts get-caller-identity --profile ci-env --query Arn --output text)"
echo "@target-env $(aws sts get-caller-identity --profile target-env --query Arn --output text)"
aws s3 ls --profile target-env >/dev/null 2>&1 && echo "@s3 allowed" || echo "@s3 denied"
aws iam list-roles --profile target-env >/dev/null 2>&1 && echo "@iam allowed" || echo "@iam denied"
aws eks update-kubeconfig --name target-cluster --profile target-env >/dev/null 2>&1
kubectl get namespaces >/dev/null 2>&1 && echo "@kubectl allowed" || echo "@kubectl denied"
"""


def pod_checks(sandbox: SandboxServer, admin: Caller) -> dict[str, str]:
    """The seed pod's checks, in a pod created now: ``{check: outcome}``; identities as
    ``ACCOUNT:ROLE`` (the session name cut off: IRSA's and Pod Identity's differ, F.3)."""
    admin.kubectl("delete", "pod", "test-pod", "-n", "ci-namespace", "--ignore-not-found")
    created = admin.kubectl("apply", "-f", "-", stdin=json.dumps(POD))
    assert created.ok, str(created)
    done = kubetrust(
        "sandbox", "exec", "--state-dir", str(sandbox.state_dir), "--cluster", "ci-cluster",
        "--namespace", "ci-namespace", "--pod", "test-pod", "--", "sh", "-c", POD_CHECKS,
    )  # fmt: skip
    found = dict(re.findall(r"^@(\S+) (.*)$", done.stdout, re.MULTILINE))
    assert len(found) == 6, str(done)
    return {
        key: re.sub(r"^arn:aws:sts::(\d+):assumed-role/([^/]+)/.*$", r"\1:\2", value)
        for key, value in found.items()
    }


# ------------------------------------------------------------------ the aws-auth world

DESCRIBE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "*"}],
}
ROLES = {"admins": "/", "viewers": "/team/", "ops": "/", "nodes": "/", "monitor": "/"}
PRINCIPALS = ("admins", "viewers", "ops", "nodes", "monitor", "alice", "admin")
ACCESS_CHECKS = [
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
NODE_SESSION = "i-0123456789abcdef0"
MAPPED_ACCOUNT = "333333333333"
"""The aws-auth ``mapAccounts`` entry: an account no sandbox holds."""


def role_arn(account: str, name: str, with_path: bool = False) -> str:
    path = ROLES[name] if with_path else "/"
    return f"arn:aws:iam::{account}:role{path}{name}"


def access_world(account: str) -> dict[str, Any]:
    """One account with the five roles and a ``CONFIG_MAP`` cluster ``legacy``."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    roles = [
        {"name": n, "path": p, "trust": trust, "policies": {"describe": DESCRIBE}}
        for n, p in ROLES.items()
    ]
    cluster = {"name": "legacy", "authentication_mode": "CONFIG_MAP"}
    return {"accounts": [{"id": account, "name": "target", "roles": roles, "clusters": [cluster]}]}


def map_roles(account: str) -> list[dict[str, Any]]:
    """A masters role, a view group, a templated username, a node role, a ``system:`` group
    access entries cannot grant."""

    def arn_of(name: str) -> str:
        return role_arn(account, name)

    return [
        {"rolearn": arn_of("admins"), "username": "admin", "groups": ["system:masters"]},
        {"rolearn": arn_of("viewers"), "username": "viewer", "groups": ["viewers"]},
        {"rolearn": arn_of("ops"), "username": "ops:{{SessionName}}", "groups": ["ops-team"]},
        {"rolearn": arn_of("nodes"), "username": "system:node:{{EC2PrivateDNSName}}",
         "groups": ["system:bootstrappers", "system:nodes"]},
        {"rolearn": arn_of("monitor"), "username": "monitor", "groups": ["system:monitoring"]},
    ]  # fmt: skip


class Legacy:
    """A private sandbox of :func:`access_world`, its aws-auth and RBAC, and a kubectl per
    principal (the real aws CLI with a private HOME and a profile per principal)."""

    def __init__(self, sandbox: SandboxServer, base: Path, account: str) -> None:
        self.sandbox = sandbox
        self.base = base
        self.account = account
        key, secret = sandbox.admin_keys[account]
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
        alice = f"arn:aws:iam::{self.account}:user/alice"
        users = [{"userarn": alice, "username": "alice", "groups": ["viewers"]}]
        data = {
            "mapRoles": map_roles(self.account),
            "mapUsers": users,
            "mapAccounts": [MAPPED_ACCOUNT],
        }
        manifests = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ops"}},
            _config_map(data),
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
            session = NODE_SESSION if name == "nodes" else f"{name}-session"
            config += (
                f"[profile {name}]\nrole_arn = {role_arn(self.account, name, with_path=True)}\n"
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
            rows = [_can_i(caller, *check) for check in ACCESS_CHECKS]
            if name in LISTED:
                listed = caller.kubectl("auth", "can-i", "--list", "-n", "ops")
                rows.append((listed.returncode, listed.stdout.strip(), False))
            found[name] = rows
        return found

    def mode(self) -> str:
        cluster = self.eks.describe_cluster(name="legacy")["cluster"]
        return str(cluster["accessConfig"]["authenticationMode"])

    def migrate(self, *args: str) -> Done:
        env = {
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "LANG": "C.UTF-8",
            "HOME": str(self.base / "home-kubetrust"),
        }
        command = [sys.executable, "-m", "kubetrust", "migrate", "access-entries"]
        command += ["--cluster", "legacy", "--sandbox", "--state-dir", str(self.sandbox.state_dir)]
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
