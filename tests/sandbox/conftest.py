"""A real sandbox on loopback for the tests of this folder, and boto3 clients for it.

moto's state is process-global, so the tests share one sandbox per session; each test
names its own roles and resources so that tests stay independent.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from kubetrust.sandbox import oidc
from kubetrust.sandbox.runtime.server import SandboxServer

CI = "111111111111"
TARGET = "222222222222"
REGION = "us-east-1"


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    server = SandboxServer(tmp_path_factory.mktemp("sandbox-state"))
    with server:
        yield server


class Aws:
    """Helpers bound to the session's sandbox (a fixture: test modules import nothing)."""

    CI = CI
    TARGET = TARGET
    REGION = REGION

    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox

    def client(
        self,
        service: str,
        *,
        account: str | None = None,
        credentials: dict[str, str] | None = None,
        unsigned: bool = False,
    ) -> Any:
        """A boto3 client for the sandbox: an account's admin, given credentials, or none."""
        if account is not None:
            key, secret = self.sandbox.admin_keys[account]
            credentials = {"aws_access_key_id": key, "aws_secret_access_key": secret}
        config = Config(retries={"max_attempts": 1}, region_name=REGION)
        if unsigned:
            config = config.merge(Config(signature_version=UNSIGNED))
        if credentials is None:
            credentials = {
                "aws_access_key_id": "AKIAUNUSED0000000000",
                "aws_secret_access_key": "unused",
            }
        return boto3.session.Session().client(
            service, endpoint_url=self.sandbox.endpoint, config=config, **credentials
        )

    def new_issuer(self) -> tuple[str, oidc.ClusterIssuer]:
        """A fresh cluster issuer served by the sandbox."""
        issuer_id = uuid.uuid4().hex.upper()
        issuer = oidc.ClusterIssuer.create(f"{self.sandbox.issuer_base}/id/{issuer_id}")
        self.sandbox.issuers.add(issuer_id, issuer)
        return issuer_id, issuer

    @staticmethod
    def session_credentials(response: dict[str, Any]) -> dict[str, str]:
        creds = response["Credentials"]
        return {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        }

    @staticmethod
    def listed(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
        """Every item of a paged listing: the session's sandbox is shared, so other tests'
        roles and clusters can push a test's own past the first page."""
        pages = client.get_paginator(operation).paginate(**kwargs)
        return [item for page in pages for item in page[key]]

    @staticmethod
    def unique(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def aws(sandbox: SandboxServer) -> Aws:
    return Aws(sandbox)


@pytest.fixture(scope="session")
def seed(sandbox: SandboxServer, aws: Aws, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Steps 1–4 of the seed with the aws CLI, once per session (``seedkit.build_seed``):
    the blog's role names exist once per account, so every seed test shares this world."""
    from .seedkit import build_seed

    return build_seed(sandbox, aws, tmp_path_factory)
