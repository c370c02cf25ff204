"""Helpers for the tests of access keys and STS tokens: IAM users with real IAM keys, the
real aws CLI run with given keys (a private HOME, nothing cached), and error codes."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .seedkit import AWS_CLI, REGION, Run

ALLOW_ALL = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]


def document(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def message(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Message"])


def new_user(
    aws: Any, account: str, statements: list[dict[str, Any]] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """An IAM user (made by the account's admin through the sandbox) with an inline
    policy of ``statements`` and one access key made with ``iam CreateAccessKey``."""
    iam = aws.client("iam", account=account)
    name = aws.unique("user")
    user = iam.create_user(UserName=name)["User"]
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=document(statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return user, {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


def new_role(
    aws: Any,
    account: str,
    trusted: dict[str, Any],
    statements: list[dict[str, Any]],
    *,
    name: str | None = None,
    max_session_duration: int = 3600,
) -> dict[str, Any]:
    """A role trusting ``trusted`` (a Principal element) with an inline policy."""
    iam = aws.client("iam", account=account)
    name = name or aws.unique("role")
    trust = [{"Effect": "Allow", "Principal": trusted, "Action": "sts:AssumeRole"}]
    role = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=document(trust),
        MaxSessionDuration=max_session_duration,
    )["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=document(statements))
    return dict(role)


def cli(sandbox: Any, base: Path, keys: dict[str, str], *args: str) -> Run:
    """``aws <args>`` with ``keys`` in the environment and a fresh private HOME."""
    home = base / f"home-{uuid.uuid4().hex[:8]}"
    home.mkdir(parents=True)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_ENDPOINT_URL": sandbox.endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": keys["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
    }
    if "aws_session_token" in keys:
        env["AWS_SESSION_TOKEN"] = keys["aws_session_token"]
    done = subprocess.run(
        [str(AWS_CLI), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    return Run(args, done.returncode, done.stdout, done.stderr)


def keys_of(credentials: dict[str, Any]) -> dict[str, str]:
    """boto3-style keyword credentials from an STS ``Credentials`` object."""
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }
