"""Realism in the AWS endpoint (reference H.1, H.3, H.4): IAM propagation, throttling and
AWS's page sizes, through the real aws CLI and boto3 against a sandbox of its own whose
world file has a ``realism:`` block with small figures.

Every wait polls with a deadline: a change must be refused at once and accepted within
the propagation delay (plus a margin for a loaded machine), never after a fixed sleep.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from kubetrust.sandbox import oidc
from kubetrust.sandbox.runtime.server import SandboxServer

from .keykit import code, document, message
from .realismkit import private_sandbox, realism
from .seedkit import AWS_CLI, REGION

HOME = "310000000011"
OTHER = "310000000012"
DELAY = 2.5
"""Long enough that the aws CLI's start-up (about a second here) falls inside it."""
DEADLINE = DELAY + 10.0
RATE = {"rate": 1, "burst": 1}
THROTTLED = {
    "iam:GetUser": RATE,
    "sts:GetSessionToken": RATE,
    "eks:ListClusters": RATE,
    "eks-auth:AssumeRoleForPodIdentity": RATE,
    "s3:ListBuckets": RATE,
}
ALLOW_ALL = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    world = {
        "region": REGION,
        "realism": realism(
            iam_propagation_seconds=DELAY, aws_page_sizes=True, throttling=THROTTLED
        ),
        "accounts": [{"id": HOME, "name": "home"}, {"id": OTHER, "name": "other"}],
    }
    with private_sandbox(tmp_path_factory.mktemp("realism-iam"), world) as server:
        yield server


def _client(sandbox: SandboxServer, service: str, keys: dict[str, str], **config: Any) -> Any:
    retries = config.pop("retries", {"max_attempts": 1})
    return boto3.session.Session().client(
        service,
        endpoint_url=sandbox.endpoint,
        config=Config(retries=retries, region_name=REGION, **config),
        **keys,
    )


def _admin_keys(sandbox: SandboxServer, account: str = HOME) -> dict[str, str]:
    key, secret = sandbox.admin_keys[account]
    return {"aws_access_key_id": key, "aws_secret_access_key": secret}


def _admin(sandbox: SandboxServer, service: str, account: str = HOME, **config: Any) -> Any:
    return _client(sandbox, service, _admin_keys(sandbox, account), **config)


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _until(attempt: Callable[[], Any], what: str) -> Any:
    """``attempt()`` once it stops raising ``ClientError``, polled until :data:`DEADLINE`."""
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            return attempt()
        except ClientError:
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: still refused after {DEADLINE} s") from None
            time.sleep(0.2)


def _until_refused(attempt: Callable[[], Any], what: str) -> ClientError:
    """The refusal ``attempt()`` ends in, polled until :data:`DEADLINE`."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            attempt()
        except ClientError as refused:
            return refused
        time.sleep(0.2)
    raise AssertionError(f"{what}: still allowed after {DEADLINE} s")


def _trust(principal: dict[str, Any], action: str = "sts:AssumeRole") -> str:
    return document([{"Effect": "Allow", "Principal": principal, "Action": action}])


def _aws(
    sandbox: SandboxServer, base: Path, script: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """A shell script of aws CLI commands (``$AWS``), as a user would write one: a private
    HOME, the admin's keys in the environment."""
    home = base / _unique("home")
    home.mkdir(parents=True)
    key, secret = sandbox.admin_keys[HOME]
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_ENDPOINT_URL": sandbox.endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS": str(AWS_CLI),
        **env,
    }
    return subprocess.run(
        ["bash", "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --------------------------------------------------------------------------- propagation


def test_cli_script_create_role_then_assume_is_refused_then_works(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The issue's "done when": create-role then assume-role at once is refused, as on AWS,
    and the same assume-role succeeds a few seconds later."""
    name = _unique("fresh")
    arn = f"arn:aws:iam::{HOME}:role/{name}"
    trust = _trust({"AWS": f"arn:aws:iam::{HOME}:root"})
    script = f"""
set -u
"$AWS" iam create-role --role-name {name} --assume-role-policy-document '{trust}' >/dev/null
"$AWS" sts assume-role --role-arn {arn} --role-session-name at-once
"""
    at_once = _aws(sandbox, tmp_path, script)
    assert at_once.returncode != 0
    assert "An error occurred (AccessDenied) when calling the AssumeRole operation: " in (
        at_once.stderr
    )
    admin_arn = f"arn:aws:iam::{HOME}:user/admin"
    assert f"User: {admin_arn} is not authorized to perform: sts:AssumeRole on resource: {arn}" in (
        at_once.stderr
    )
    deadline = time.monotonic() + DEADLINE
    while True:
        later = _aws(
            sandbox, tmp_path, f'"$AWS" sts assume-role --role-arn {arn} --role-session-name later'
        )
        if later.returncode == 0 or time.monotonic() > deadline:
            break
        assert "(AccessDenied)" in later.stderr
    assert later.returncode == 0, later.stderr
    assert json.loads(later.stdout)["AssumedRoleUser"]["Arn"].endswith(f"/{name}/later")


def test_changed_trust_decides_with_the_old_document_until_it_settles(
    sandbox: SandboxServer,
) -> None:
    iam, sts = _admin(sandbox, "iam"), _admin(sandbox, "sts")
    name = _unique("trust")
    arn = f"arn:aws:iam::{HOME}:role/{name}"
    iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=_trust({"AWS": f"arn:aws:iam::{HOME}:root"})
    )
    _until(lambda: sts.assume_role(RoleArn=arn, RoleSessionName="s1"), "the new role")
    iam.update_assume_role_policy(
        RoleName=name, PolicyDocument=_trust({"AWS": f"arn:aws:iam::{OTHER}:root"})
    )
    sts.assume_role(RoleArn=arn, RoleSessionName="old-trust")  # still the old trust
    refused = _until_refused(
        lambda: sts.assume_role(RoleArn=arn, RoleSessionName="s1"), "the new trust"
    )
    assert code_of(refused) == "AccessDenied"
    iam.update_assume_role_policy(
        RoleName=name, PolicyDocument=_trust({"AWS": f"arn:aws:iam::{HOME}:root"})
    )
    with pytest.raises(ClientError) as still:  # the other way round: still refused
        sts.assume_role(RoleArn=arn, RoleSessionName="s1")
    assert code(still) == "AccessDenied"
    _until(lambda: sts.assume_role(RoleArn=arn, RoleSessionName="s1"), "the trust restored")


def code_of(refused: ClientError) -> str:
    return str(refused.response["Error"]["Code"])


def test_new_access_key_is_unknown_then_works(sandbox: SandboxServer) -> None:
    iam = _admin(sandbox, "iam")
    name = _unique("keyed")
    iam.create_user(UserName=name)
    made = iam.create_access_key(UserName=name)["AccessKey"]
    keys = {
        "aws_access_key_id": made["AccessKeyId"],
        "aws_secret_access_key": made["SecretAccessKey"],
    }
    sts = _client(sandbox, "sts", keys)
    with pytest.raises(ClientError) as unknown:
        sts.get_caller_identity()
    assert code(unknown) == "InvalidClientTokenId"
    assert unknown.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert message(unknown) == "The security token included in the request is invalid."
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"]  # IAM sees it at once
    found = _until(sts.get_caller_identity, "the new key")
    assert found["Arn"] == f"arn:aws:iam::{HOME}:user/{name}"


def test_identity_policy_changes_reach_the_authorizer_late(sandbox: SandboxServer) -> None:
    iam = _admin(sandbox, "iam")
    name = _unique("limited")
    iam.create_user(UserName=name)
    made = iam.create_access_key(UserName=name)["AccessKey"]
    user_iam = _client(
        sandbox,
        "iam",
        {
            "aws_access_key_id": made["AccessKeyId"],
            "aws_secret_access_key": made["SecretAccessKey"],
        },
    )
    with pytest.raises(ClientError):  # the key is too new
        user_iam.get_user(UserName=name)
    _until_refused_with(lambda: user_iam.list_roles(MaxItems=1), "AccessDenied")  # key settled
    allow = document([{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}])
    iam.put_user_policy(UserName=name, PolicyName="list", PolicyDocument=allow)
    with pytest.raises(ClientError) as not_yet:
        user_iam.list_roles(MaxItems=1)
    assert code(not_yet) == "AccessDenied"
    _until(lambda: user_iam.list_roles(MaxItems=1), "the granted permission")
    iam.delete_user_policy(UserName=name, PolicyName="list")
    user_iam.list_roles(MaxItems=1)  # the removed permission still holds for a moment
    gone = _until_refused(lambda: user_iam.list_roles(MaxItems=1), "the removed permission")
    assert code_of(gone) == "AccessDenied"


def test_attached_role_policy_reaches_the_role_session_late(sandbox: SandboxServer) -> None:
    iam, sts = _admin(sandbox, "iam"), _admin(sandbox, "sts")
    name = _unique("attach")
    arn = f"arn:aws:iam::{HOME}:role/{name}"
    iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=_trust({"AWS": f"arn:aws:iam::{HOME}:root"})
    )
    assumed = _until(lambda: sts.assume_role(RoleArn=arn, RoleSessionName="s1"), "the role")
    creds = assumed["Credentials"]
    session_iam = _client(
        sandbox,
        "iam",
        {
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        },
    )
    iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    with pytest.raises(ClientError) as not_yet:
        session_iam.list_roles(MaxItems=1)
    assert code(not_yet) == "AccessDenied"
    _until(lambda: session_iam.list_roles(MaxItems=1), "the attached policy")


def _web_identity(sandbox: SandboxServer) -> tuple[str, str]:
    """A fresh issuer served by the sandbox: its URL without scheme and a token of it."""
    issuer_id = uuid.uuid4().hex.upper()
    issuer = oidc.ClusterIssuer.create(f"{sandbox.issuer_base}/id/{issuer_id}")
    sandbox.issuers.add(issuer_id, issuer)
    host_path = issuer.issuer_url.removeprefix("https://")
    now = int(time.time())
    claims = {
        "iss": issuer.issuer_url,
        "sub": "system:serviceaccount:a:b",
        "aud": ["sts.amazonaws.com"],
        "exp": now + 600,
        "iat": now,
    }
    key = issuer.to_dict()["signingKeyPem"]
    return host_path, jwt.encode(claims, key, algorithm="RS256", headers={"kid": issuer.key_id})


def test_web_identity_fresh_role_then_fresh_provider(sandbox: SandboxServer) -> None:
    iam = _admin(sandbox, "iam")
    anonymous = boto3.session.Session().client(
        "sts",
        endpoint_url=sandbox.endpoint,
        aws_access_key_id="AKIAUNUSED0000000000",
        aws_secret_access_key="unused",
        config=Config(retries={"max_attempts": 1}, region_name=REGION),
    )
    host_path, token = _web_identity(sandbox)
    provider = f"arn:aws:iam::{HOME}:oidc-provider/{host_path}"
    name = _unique("web")
    arn = f"arn:aws:iam::{HOME}:role/{name}"
    iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=_trust({"Federated": provider}, "sts:AssumeRoleWithWebIdentity"),
    )

    def assume() -> Any:
        return anonymous.assume_role_with_web_identity(
            RoleArn=arn, RoleSessionName="w1", WebIdentityToken=token
        )

    with pytest.raises(ClientError) as fresh_role:
        assume()
    assert code(fresh_role) == "AccessDenied"
    assert message(fresh_role) == "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    no_provider = _until_refused_with(assume, "InvalidIdentityToken")
    assert no_provider == f"No OpenIDConnect provider found in your account for https://{host_path}"
    iam.create_open_id_connect_provider(
        Url=f"https://{host_path}", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40]
    )
    with pytest.raises(ClientError) as fresh_provider:
        assume()
    assert code(fresh_provider) == "InvalidIdentityToken"
    assert message(fresh_provider) == no_provider
    assert _until(assume, "the new provider")["AssumedRoleUser"]["Arn"].endswith(f"/{name}/w1")


def _until_refused_with(attempt: Callable[[], Any], wanted: str) -> str:
    """The message of the first refusal with code ``wanted`` (the role settled, say)."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        try:
            attempt()
        except ClientError as refused:
            if code_of(refused) == wanted:
                return str(refused.response["Error"]["Message"])
        time.sleep(0.2)
    raise AssertionError(f"no {wanted} within {DEADLINE} s")


def test_iam_reads_its_own_writes_at_once(sandbox: SandboxServer) -> None:
    iam = _admin(sandbox, "iam")
    name = _unique("readback")
    iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=_trust({"AWS": f"arn:aws:iam::{HOME}:root"})
    )
    assert iam.get_role(RoleName=name)["Role"]["RoleName"] == name


# --------------------------------------------------------------------------- throttling

_THROTTLING_CALLS: dict[str, tuple[str, Callable[[Any], Any], str, int]] = {
    "iam": ("iam", lambda c: c.get_user(), "Throttling", 400),
    "sts": ("sts", lambda c: c.get_session_token(), "Throttling", 400),
    "eks": ("eks", lambda c: c.list_clusters(), "ThrottlingException", 429),
    "s3": ("s3", lambda c: c.list_buckets(), "SlowDown", 503),
}


@pytest.mark.parametrize("service", sorted(_THROTTLING_CALLS))
def test_throttled_with_the_exact_answer_then_standard_retry_gets_through(
    sandbox: SandboxServer, service: str
) -> None:
    name, call, wanted, status = _THROTTLING_CALLS[service]
    bare = _admin(sandbox, name, OTHER)
    refused = _until_refused(lambda: [call(bare) for _ in range(3)], f"{service} throttling")
    assert code_of(refused) == wanted
    assert refused.response["ResponseMetadata"]["HTTPStatusCode"] == status
    if service != "s3":
        assert refused.response["Error"]["Message"] == "Rate exceeded"
    patient = _admin(sandbox, name, OTHER, retries={"mode": "standard", "max_attempts": 10})
    for _ in range(3):  # each call over the rate is retried until a token is back
        call(patient)


def test_eks_auth_throttles_before_it_reads_the_call(sandbox: SandboxServer) -> None:
    """Throttling comes before validation and authorization: a call that would be refused
    for its parameters is throttled first once the bucket is empty."""
    client = _admin(sandbox, "eks-auth", OTHER)

    def call() -> Any:
        return client.assume_role_for_pod_identity(clusterName="none", token="x" * 40)

    refused = _until_refused_with(call, "ThrottlingException")
    assert refused == "Rate exceeded"
    patient = _admin(sandbox, "eks-auth", OTHER, retries={"mode": "standard", "max_attempts": 10})
    with pytest.raises(ClientError) as past:  # retried past throttling to the real answer
        patient.assume_role_for_pod_identity(clusterName="none", token="x" * 40)
    assert code(past) != "ThrottlingException"


def test_cli_sees_throttling_and_retries_it(sandbox: SandboxServer, tmp_path: Path) -> None:
    burst = '"$AWS" eks list-clusters >/dev/null; "$AWS" eks list-clusters >/dev/null'
    none = _aws(sandbox, tmp_path, burst + "; " + burst, AWS_MAX_ATTEMPTS="1")
    assert "An error occurred (ThrottlingException) when calling the ListClusters operation" in (
        none.stderr
    )
    patient = _aws(
        sandbox, tmp_path, burst + "; " + burst, AWS_RETRY_MODE="standard", AWS_MAX_ATTEMPTS="10"
    )
    assert patient.returncode == 0, patient.stderr


# --------------------------------------------------------------------------- paging


def test_iam_lists_page_through_paginators_and_the_cli(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    iam = _admin(sandbox, "iam")
    prefix = f"/{_unique('paged')}/"
    names = sorted(_unique("u") for _ in range(5))
    for name in names:
        iam.create_user(UserName=name, Path=prefix)
    first = iam.list_users(PathPrefix=prefix, MaxItems=2)
    assert len(first["Users"]) == 2 and first["IsTruncated"] is True and first["Marker"]
    pages = list(
        iam.get_paginator("list_users").paginate(
            PathPrefix=prefix, PaginationConfig={"PageSize": 2}
        )
    )
    assert len(pages) == 3
    assert sorted(u["UserName"] for p in pages for u in p["Users"]) == names
    cli = _aws(
        sandbox,
        tmp_path,
        f'"$AWS" iam list-users --path-prefix {prefix} --page-size 2 --output json',
    )
    assert cli.returncode == 0, cli.stderr
    assert sorted(u["UserName"] for u in json.loads(cli.stdout)["Users"]) == names

    role = _unique("policies")
    iam.create_role(
        RoleName=role, AssumeRolePolicyDocument=_trust({"AWS": f"arn:aws:iam::{HOME}:root"})
    )
    for index in range(3):
        iam.put_role_policy(
            RoleName=role, PolicyName=f"p{index}", PolicyDocument=document(ALLOW_ALL)
        )
    listed = iam.get_paginator("list_role_policies").paginate(
        RoleName=role, PaginationConfig={"PageSize": 2}
    )
    assert [p["PolicyNames"] for p in listed] == [["p0", "p1"], ["p2"]]


def test_authorization_details_page(sandbox: SandboxServer) -> None:
    """Users only (``Filter``): AWS managed policies would make a thousand pages."""
    iam = _admin(sandbox, "iam", OTHER)
    made = [_unique("detail") for _ in range(2)]
    for name in made:
        iam.create_user(UserName=name)
    pages = list(
        iam.get_paginator("get_account_authorization_details").paginate(
            Filter=["User"], PaginationConfig={"PageSize": 1}
        )
    )
    users = [u["UserName"] for p in pages for u in p["UserDetailList"]]
    assert len(pages) == len(users) >= 3
    assert users.count("admin") == 1 and set(made) <= set(users)


@pytest.mark.parametrize(
    ("service", "call", "wanted"),
    [
        ("iam", lambda c: c.list_users(MaxItems=0), "ValidationError"),
        ("iam", lambda c: c.list_roles(MaxItems=1001), "ValidationError"),
        ("eks", lambda c: c.list_clusters(maxResults=101), "InvalidParameterException"),
    ],
)
def test_page_size_out_of_range_is_refused(
    sandbox: SandboxServer, service: str, call: Callable[[Any], Any], wanted: str
) -> None:
    client = _admin(sandbox, service, HOME, parameter_validation=False)
    with pytest.raises(ClientError) as refused:
        call(client)
    assert code(refused) == wanted
