"""The seed's world built with the real aws CLI (steps 1–4), shared by the seed's tests.

The blog's documents are kept as files under ``seed_documents/``, cut byte for byte from the
seed text; only their placeholders are replaced here (account ids, the OIDC provider, the
token path, and role ARNs where a test needs its own roles). Two artifacts of the scraped
web page are undone when a document is rendered, not in the files:

- the JSON is indented with U+00A0 (no-break space), which is not JSON whitespace;
- the ConfigMap's ``web_identity_token_file`` ends in ``token.`` (a typo for the projected
  token path ``.../serviceaccount/token``); the whole value is the token-path placeholder.

Administrators act through environment keys; the pod side has **no** credentials in its
environment, only ``AWS_ENDPOINT_URL``, the region, a private ``HOME`` and ``AWS_CONFIG_FILE``
with the blog's ``ci-env``/``target-env`` profiles. Every pod-side run gets a fresh ``HOME``:
the CLI caches assumed-role credentials in ``~/.aws/cli/cache`` under a key that holds
neither the token nor the source credentials, so a shared cache would let a bad token ride
on an earlier good session.

The aws CLI v1 exits 255 on every error (254 is v2's code for service errors).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kubetrust.sandbox import oidc

DOCUMENTS = Path(__file__).with_name("seed_documents")
AWS_CLI = Path(sys.executable).with_name("aws")
REGION = "us-east-1"
NAMESPACE = "ci-namespace"
SERVICE_ACCOUNT = "ci-serviceaccount"
SA_SUB = f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"
BLOG_CI_ROLE = "ci-account-iam-role"
BLOG_TARGET_ROLE = "target-account-iam-role"
BLOG_TOKEN_PATH = "/var/run/secrets/eks.amazonaws.com/serviceaccount/token."
THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
CLI_ERROR = 255
WEB_IDENTITY_DENIED = "Not authorized to perform sts:AssumeRoleWithWebIdentity"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ---------------------------------------------------------------------------- the CLI


@dataclass(frozen=True)
class Run:
    """One finished ``aws`` invocation."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def error_code(self) -> str | None:
        found = re.search(r"An error occurred \(([^)]+)\)", self.stderr)
        return found.group(1) if found else None

    def __str__(self) -> str:
        return (
            f"aws {' '.join(self.args)}\n-> exit {self.returncode}\n"
            f"stdout: {self.stdout.strip()}\nstderr: {self.stderr.strip()}"
        )


class Cli:
    """Runs the real aws CLI against the sandbox, as an account admin or as the pod."""

    def __init__(self, sandbox: Any, base: Path) -> None:
        self.sandbox = sandbox
        self.base = base

    def _home(self, name: str) -> Path:
        home = self.base / name
        home.mkdir(parents=True, exist_ok=True)
        return home

    def _run(self, args: tuple[str, ...], env: dict[str, str]) -> Run:
        base = {
            "PATH": os.environ.get("PATH", ""),
            "LANG": "C.UTF-8",
            "AWS_ENDPOINT_URL": self.sandbox.endpoint,
            "AWS_DEFAULT_REGION": REGION,
        }
        done = subprocess.run(
            [str(AWS_CLI), *args],
            env=base | env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Run(args, done.returncode, done.stdout, done.stderr)

    def admin(self, account: str, *args: str) -> Run:
        """As the account's administrator (keys in the environment); must succeed."""
        key, secret = self.sandbox.admin_keys[account]
        home = self._home(f"admin-{account}")
        run = self._run(
            args,
            {
                "HOME": str(home),
                "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
                "AWS_ACCESS_KEY_ID": key,
                "AWS_SECRET_ACCESS_KEY": secret,
            },
        )
        assert run.returncode == 0, str(run)
        return run

    def pod(self, config: Path, *args: str) -> Run:
        """As the pod: no credentials in the environment, only the profiles in ``config``;
        a fresh HOME, so that no cached session from an earlier run is reused."""
        home = self._home(unique("pod-home"))
        return self._run(args, {"HOME": str(home), "AWS_CONFIG_FILE": str(config)})


def expect_failure(run: Run, code: str, message: str | None = None) -> None:
    assert run.returncode == CLI_ERROR, str(run)
    assert run.error_code == code, str(run)
    if message is not None:
        assert message in run.stderr, str(run)


# ---------------------------------------------------------------------------- documents


def render(name: str, replacements: list[tuple[str, str]]) -> str:
    """A seed document with its placeholders replaced (see the module doc)."""
    text = (DOCUMENTS / name).read_text(encoding="utf-8").replace("\u00a0", " ")
    for placeholder, value in replacements:
        assert placeholder in text, f"{placeholder!r} is not in {name}"
        text = text.replace(placeholder, value)
    return text


@dataclass(frozen=True)
class Accounts:
    ci: str
    target: str


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def ci_trust(accounts: Accounts, provider: str) -> str:
    return render(
        "ci-account-iam-role-trust.json",
        [
            ("<OIDC_PROVIDER>", provider),
            ("OIDC_PROVIDER", provider),
            ("CI_ACCOUNT_ID", accounts.ci),
        ],
    )


def ci_policy(accounts: Accounts, target_role: str) -> str:
    return render(
        "ci-account-iam-role-policy.json",
        [
            ("TARGET_ACCOUNT_ID", accounts.target),
            (f"role/{BLOG_TARGET_ROLE}", f"role/{target_role}"),
        ],
    )


def target_trust(accounts: Accounts, trusted_role: str) -> str:
    return render(
        "target-account-iam-role-trust.json",
        [("CI_ACCOUNT_ID", accounts.ci), (f"role/{BLOG_CI_ROLE}", f"role/{trusted_role}")],
    )


def aws_config(accounts: Accounts, token: Path, ci_role: str, target_role: str) -> str:
    return render(
        "awsconfig-configmap.yaml",
        [
            ("CI_ACCOUNT_ID", accounts.ci),
            ("TARGET_ACCOUNT_ID", accounts.target),
            (f"role/{BLOG_CI_ROLE}", f"role/{ci_role}"),
            (f"role/{BLOG_TARGET_ROLE}", f"role/{target_role}"),
            (BLOG_TOKEN_PATH, str(token)),
        ],
    )


# ---------------------------------------------------------------------------- the pod's token


def mint_with_cli(state_dir: Path, cluster: str, *, sa: str = SERVICE_ACCOUNT, **opts: str) -> str:
    """``kubetrust sandbox token`` (a subprocess), as the cluster's API server mints."""
    command = [
        sys.executable,
        "-m",
        "kubetrust",
        "sandbox",
        "token",
        "--state-dir",
        str(state_dir),
        "--cluster",
        cluster,
        "--namespace",
        NAMESPACE,
        "--serviceaccount",
        sa,
    ]
    for option, value in opts.items():
        command += [f"--{option}", value]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout.strip()


def mint_with_issuer(issuer: oidc.ClusterIssuer, *, now: int, expiration: int = 3600) -> str:
    return issuer.mint_service_account_token(
        namespace=NAMESPACE,
        service_account=SERVICE_ACCOUNT,
        service_account_uid="uid-ci-serviceaccount",
        audiences=["sts.amazonaws.com"],
        expiration_seconds=expiration,
        now=now,
    )


def tamper_signature(token: str) -> str:
    """Flip one character in the middle of the signature (not the last one, whose low
    bits are padding that a base64url decoder may ignore)."""
    head, payload, signature = token.split(".")
    middle = len(signature) // 2
    flipped = "B" if signature[middle] != "B" else "C"
    tampered = signature[:middle] + flipped + signature[middle + 1 :]
    assert base64.urlsafe_b64decode(tampered + "==") != base64.urlsafe_b64decode(signature + "==")
    return f"{head}.{payload}.{tampered}"


# ---------------------------------------------------------------------------- step 1 (+ 4)


@dataclass(frozen=True)
class Seed:
    """The seed's world after steps 1–4, built with the CLI, and what step 5 needs."""

    cli: Cli
    accounts: Accounts
    state_dir: Path
    workdir: Path
    ci_cluster: str
    target_cluster: str
    issuer: str
    provider: str
    provider_arn: str
    ci_role: str
    target_role: str

    def pod_config(
        self,
        token: str,
        *,
        ci_role: str | None = None,
        target_role: str | None = None,
        extra_target_lines: str = "",
    ) -> Path:
        """A token file and the blog's AWS config naming it (a directory of its own)."""
        directory = self.workdir / unique("pod")
        directory.mkdir()
        token_file = write(directory, "token", token)
        text = aws_config(
            self.accounts, token_file, ci_role or self.ci_role, target_role or self.target_role
        )
        return write(directory, "config", text + extra_target_lines)


def create_cluster(cli: Cli, account: str, name: str, service_role: str) -> str:
    """``create-cluster`` then the blog's ``describe-cluster --query ...issuer``."""
    created = cli.admin(
        account,
        "eks",
        "create-cluster",
        "--name",
        name,
        "--role-arn",
        f"arn:aws:iam::{account}:role/{service_role}",
        "--resources-vpc-config",
        "subnetIds=subnet-0a1b2c3d4e5f60001,subnet-0a1b2c3d4e5f60002",
    ).json()
    assert created["cluster"]["name"] == name
    issuer = cli.admin(
        account,
        "eks",
        "describe-cluster",
        "--name",
        name,
        "--query",
        "cluster.identity.oidc.issuer",
        "--output",
        "text",
    ).stdout.strip()
    return issuer


def create_service_role(cli: Cli, account: str, directory: Path) -> str:
    """The EKS cluster service role that ``create-cluster --role-arn`` passes."""
    name = unique("eks-cluster-role")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "eks.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    path = write(directory, f"{name}.json", json.dumps(trust))
    cli.admin(
        account,
        "iam",
        "create-role",
        "--role-name",
        name,
        "--assume-role-policy-document",
        f"file://{path}",
    )
    return name


def create_oidc_provider(cli: Cli, account: str, issuer: str) -> str:
    arn = cli.admin(
        account,
        "iam",
        "create-open-id-connect-provider",
        "--url",
        issuer,
        "--client-id-list",
        "sts.amazonaws.com",
        "--thumbprint-list",
        THUMBPRINT,
    ).json()["OpenIDConnectProviderArn"]
    assert arn == f"arn:aws:iam::{account}:oidc-provider/{issuer.removeprefix('https://')}"
    return str(arn)


def create_role(cli: Cli, account: str, name: str, trust: Path) -> dict[str, Any]:
    return cli.admin(  # type: ignore[no-any-return]
        account,
        "iam",
        "create-role",
        "--role-name",
        name,
        "--assume-role-policy-document",
        f"file://{trust}",
    ).json()["Role"]


def put_role_policy(cli: Cli, account: str, role: str, name: str, document: Path) -> None:
    cli.admin(
        account,
        "iam",
        "put-role-policy",
        "--role-name",
        role,
        "--policy-name",
        name,
        "--policy-document",
        f"file://{document}",
    )


def build_seed(sandbox: Any, aws: Any, tmp_path_factory: pytest.TempPathFactory) -> Seed:
    """Steps 1–4 of the seed, with the aws CLI: the CI account (cluster, OIDC provider,
    ``ci-account-iam-role``) and the target account (cluster, ``target-account-iam-role``)."""
    workdir = tmp_path_factory.mktemp("cli-seed")
    cli = Cli(sandbox, workdir)
    accounts = Accounts(aws.CI, aws.TARGET)
    docs = workdir / "documents"
    docs.mkdir()

    # Step 1: the CI cluster's issuer URL.
    ci_service_role = create_service_role(cli, accounts.ci, docs)
    ci_cluster = unique("ci-cluster")
    issuer = create_cluster(cli, accounts.ci, ci_cluster, ci_service_role)
    assert issuer.startswith(f"{sandbox.issuer_base}/id/"), issuer
    # Step 2: the CI account's OIDC provider for it, audience sts.amazonaws.com.
    provider = issuer.removeprefix("https://")
    provider_arn = create_oidc_provider(cli, accounts.ci, issuer)
    # Step 3: ci-account-iam-role (trust: the provider, for ci-namespace:ci-serviceaccount).
    trust = write(docs, "ci-trust.json", ci_trust(accounts, provider))
    role = create_role(cli, accounts.ci, BLOG_CI_ROLE, trust)
    assert role["Arn"] == f"arn:aws:iam::{accounts.ci}:role/{BLOG_CI_ROLE}"
    assert role["RoleId"].startswith("AROA")
    # Step 4: the target account: its cluster and target-account-iam-role.
    target_service_role = create_service_role(cli, accounts.target, docs)
    target_cluster = unique("target-cluster")
    create_cluster(cli, accounts.target, target_cluster, target_service_role)
    trust = write(docs, "target-trust.json", target_trust(accounts, BLOG_CI_ROLE))
    create_role(cli, accounts.target, BLOG_TARGET_ROLE, trust)
    permissions = write(
        docs, "target-policy.json", render("target-account-iam-role-policy.json", [])
    )
    put_role_policy(cli, accounts.target, BLOG_TARGET_ROLE, "target-permissions", permissions)
    # Step 3's policy, attached once the target role exists (as the blog says).
    policy = write(docs, "ci-policy.json", ci_policy(accounts, BLOG_TARGET_ROLE))
    put_role_policy(cli, accounts.ci, BLOG_CI_ROLE, "assume-target-role", policy)

    return Seed(
        cli,
        accounts,
        sandbox.state_dir,
        workdir,
        ci_cluster,
        target_cluster,
        issuer,
        provider,
        provider_arn,
        BLOG_CI_ROLE,
        BLOG_TARGET_ROLE,
    )
