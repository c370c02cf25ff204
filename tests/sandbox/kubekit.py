"""Runners for the real kubectl and aws CLI against the sandbox's clusters (test helpers).

Every run gets a private ``HOME`` (kubectl's discovery cache and the CLI's credential cache
live there) and only the environment it names: the sandbox endpoint, the region, and the
caller's credentials, so nothing leaks between tests or from the developer's machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
KUBECTL = BIN / "kubectl"  # installed by `make setup`
AWS_CLI = BIN / "aws"
REGION = "us-east-1"
UNAUTHORIZED = "error: You must be logged in to the server"
"""kubectl's words for a 401; with an exec plugin it adds "(the server has asked for the
client to provide credentials)", with a static token "(Unauthorized)"."""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Done:
    """One finished command."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def __str__(self) -> str:
        return (
            f"{' '.join(self.args)}\n-> exit {self.returncode}\n"
            f"stdout: {self.stdout.strip()[:2000]}\nstderr: {self.stderr.strip()[:2000]}"
        )


def run(args: list[str], env: dict[str, str], stdin: str | None = None, timeout: int = 60) -> Done:
    done = subprocess.run(
        args, env=env, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )
    return Done(tuple(args), done.returncode, done.stdout, done.stderr)


class Caller:
    """An AWS identity with a private HOME and kubeconfig: runs aws and kubectl as it."""

    def __init__(self, endpoint: str, home: Path, credentials: dict[str, str]) -> None:
        self.endpoint = endpoint
        self.home = home
        self.kubeconfig = home / ".kube" / "config"
        home.mkdir(parents=True, exist_ok=True)
        self.env = {
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "LANG": "C.UTF-8",
            "HOME": str(home),
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
            "KUBECONFIG": str(self.kubeconfig),
            **credentials,
        }

    def aws(self, *args: str) -> Done:
        return run([str(AWS_CLI), *args], self.env)

    def kubectl(self, *args: str, stdin: str | None = None) -> Done:
        return run([str(KUBECTL), *args], self.env, stdin)

    def update_kubeconfig(self, cluster: str) -> None:
        done = self.aws("eks", "update-kubeconfig", "--name", cluster)
        assert done.ok, str(done)


def session_env(credentials: dict[str, Any]) -> dict[str, str]:
    """The environment of an STS ``Credentials`` answer."""
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


def admin_env(sandbox: Any, account: str) -> dict[str, str]:
    key, secret = sandbox.admin_keys[account]
    return {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}


def kubetrust(*args: str, env: dict[str, str] | None = None) -> Done:
    """The kubetrust CLI as a subprocess (what a user types)."""
    base = {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "LANG": "C.UTF-8"}
    return run([sys.executable, "-m", "kubetrust", *args], base | (env or {}), timeout=120)


def admin_kubectl(sandbox: Any, cluster: str, home: Path) -> Caller:
    """kubectl as the cluster's administrator, through ``kubetrust sandbox kubeconfig``."""
    caller = Caller(sandbox.endpoint, home, {})
    written = kubetrust(
        "sandbox",
        "kubeconfig",
        "--state-dir",
        str(sandbox.state_dir),
        "--cluster",
        cluster,
        "--out",
        str(caller.kubeconfig),
    )
    assert written.ok, str(written)
    return caller


def aws_auth(map_roles: list[dict[str, Any]], map_users: list[dict[str, Any]] | None = None) -> str:
    """An aws-auth ConfigMap manifest (JSON is YAML) with these mappings."""
    import yaml

    data = {"mapRoles": yaml.safe_dump(map_roles, sort_keys=False)}
    if map_users:
        data["mapUsers"] = yaml.safe_dump(map_users, sort_keys=False)
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "aws-auth", "namespace": "kube-system"},
            "data": data,
        }
    )
