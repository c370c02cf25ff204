"""``kubetrust sandbox`` as a user drives it: detached process, world file, env, token, down.

This runs its own sandbox in a subprocess (its own moto state), so that a world with an
organization can be tested without touching the session sandbox of the other tests.
"""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

SCP_DENY_BUCKET_LISTING = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "NoBucketListing",
            "Effect": "Deny",
            "Action": "s3:ListAllMyBuckets",
            "Resource": "*",
        }
    ],
}
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
TRUST_CI_ROOT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def kubetrust(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(
        [sys.executable, "-m", "kubetrust", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check:
        assert run.returncode == 0, f"{args}: {run.stdout}\n{run.stderr}"
    return run


def parse_env(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("export "):
            name, _, value = line[len("export ") :].partition("=")
            values[name] = shlex.split(value)[0]
    return values


@pytest.fixture(scope="module")
def detached(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    state = tmp_path_factory.mktemp("detached-sandbox")
    world = state.parent / "world.json"
    world.write_text(
        json.dumps(
            {
                "region": "us-east-1",
                "accounts": [
                    {"id": "111111111111", "name": "ci"},
                    {
                        "id": "222222222222",
                        "name": "target",
                        "scps": [[ALLOW_ALL], [ALLOW_ALL, SCP_DENY_BUCKET_LISTING]],
                        "roles": [
                            {
                                "name": "target-account-iam-role",
                                "trust": TRUST_CI_ROOT,
                                "policies": {"read": ALLOW_ALL},
                            }
                        ],
                        "buckets": ["target-artifacts"],
                        "clusters": ["target"],
                    },
                ],
            }
        ),
        encoding="utf-8",
    )
    kubetrust("sandbox", "up", "--detach", "--state-dir", str(state), "--world", str(world))
    try:
        yield state
    finally:
        kubetrust("sandbox", "down", "--state-dir", str(state), check=False)


def client(env: dict[str, str], service: str) -> Any:
    return boto3.session.Session().client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def test_status_and_env_describe_the_running_sandbox(detached: Path) -> None:
    status = json.loads(
        kubetrust("sandbox", "status", "--state-dir", str(detached), "--output", "json").stdout
    )
    assert status["endpoint"].startswith("http://127.0.0.1:")
    assert status["accounts"] == ["111111111111", "222222222222"]
    (target,) = status["clusters"]
    assert (target["account"], target["name"]) == ("222222222222", "target")
    assert target["endpoint"].startswith("https://127.0.0.1:")
    text = kubetrust("sandbox", "status", "--state-dir", str(detached)).stdout
    assert f"cluster      : target (222222222222) {target['endpoint']}" in text
    env = parse_env(
        kubetrust(
            "sandbox", "env", "--account", "111111111111", "--state-dir", str(detached)
        ).stdout
    )
    assert env["AWS_ACCESS_KEY_ID"].startswith("AKIA")
    who = client(env, "sts").get_caller_identity()
    assert who["Arn"] == "arn:aws:iam::111111111111:user/admin"


def test_world_scp_denies_in_its_account_only(detached: Path) -> None:
    target = parse_env(
        kubetrust(
            "sandbox", "env", "--account", "222222222222", "--state-dir", str(detached)
        ).stdout
    )
    with pytest.raises(ClientError) as denied:
        client(target, "s3").list_buckets()
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert "with an explicit deny in a service control policy" in str(denied.value)
    ci = parse_env(
        kubetrust(
            "sandbox", "env", "--account", "111111111111", "--state-dir", str(detached)
        ).stdout
    )
    assert "Buckets" in client(ci, "s3").list_buckets()


def test_token_is_minted_by_the_clusters_issuer(detached: Path) -> None:
    env = parse_env(
        kubetrust(
            "sandbox", "env", "--account", "111111111111", "--state-dir", str(detached)
        ).stdout
    )
    service_role = client(env, "iam").create_role(
        RoleName="eks-cluster-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "eks.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    eks = client(env, "eks")
    with pytest.raises(ClientError) as no_role:
        eks.create_cluster(
            name="ghost",
            roleArn="arn:aws:iam::111111111111:role/none",
            resourcesVpcConfig={"subnetIds": []},
        )
    assert no_role.value.response["Error"]["Code"] == "InvalidParameterException"
    cluster = eks.create_cluster(
        name="ci",
        roleArn=service_role,
        resourcesVpcConfig={"subnetIds": []},
    )["cluster"]
    token = kubetrust(
        "sandbox",
        "token",
        "--state-dir",
        str(detached),
        "--cluster",
        "ci",
        "--namespace",
        "ci-namespace",
        "--serviceaccount",
        "ci-serviceaccount",
    ).stdout.strip()
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["iss"] == cluster["identity"]["oidc"]["issuer"]
    assert claims["sub"] == "system:serviceaccount:ci-namespace:ci-serviceaccount"
    assert claims["aud"] == ["sts.amazonaws.com"]
    missing = kubetrust(
        "sandbox",
        "token",
        "--state-dir",
        str(detached),
        "--cluster",
        "nope",
        "--namespace",
        "a",
        "--serviceaccount",
        "b",
        check=False,
    )
    assert missing.returncode == 3 and "no sandbox cluster named `nope`" in missing.stderr


def test_unknown_account_and_stopped_sandbox_are_clear_errors(
    tmp_path: Path, detached: Path
) -> None:
    unknown = kubetrust(
        "sandbox", "env", "--account", "999999999999", "--state-dir", str(detached), check=False
    )
    assert unknown.returncode == 3 and "not in this sandbox" in unknown.stderr
    nothing = kubetrust("sandbox", "status", "--state-dir", str(tmp_path), check=False)
    assert nothing.returncode == 1 and "no sandbox running" in nothing.stdout
    env = kubetrust(
        "sandbox", "env", "--account", "111111111111", "--state-dir", str(tmp_path), check=False
    )
    assert env.returncode == 3 and "sandbox up --detach" in env.stderr


def test_bad_world_file_is_refused_before_start(tmp_path: Path) -> None:
    world = tmp_path / "world.yaml"
    world.write_text("accounts:\n  - id: 12345\n", encoding="utf-8")
    run = kubetrust(
        "sandbox",
        "up",
        "--detach",
        "--state-dir",
        str(tmp_path / "s"),
        "--world",
        str(world),
        check=False,
    )
    assert run.returncode == 3
    assert f"{world}: accounts[0].id: 12345 is a number: an AWS account id must be 12 digits" in (
        run.stderr
    )
    assert "Traceback" not in run.stderr


def test_world_resources_exist_from_the_start(detached: Path) -> None:
    target = parse_env(
        kubetrust(
            "sandbox", "env", "--account", "222222222222", "--state-dir", str(detached)
        ).stdout
    )
    role = client(target, "iam").get_role(RoleName="target-account-iam-role")["Role"]
    assert role["Arn"] == "arn:aws:iam::222222222222:role/target-account-iam-role"
    client(target, "s3").head_bucket(Bucket="target-artifacts")
    cluster = client(target, "eks").describe_cluster(name="target")["cluster"]
    assert cluster["identity"]["oidc"]["issuer"].startswith("https://127.0.0.1:")
    ci = parse_env(
        kubetrust(
            "sandbox", "env", "--account", "111111111111", "--state-dir", str(detached)
        ).stdout
    )
    hop = client(ci, "sts").assume_role(
        RoleArn="arn:aws:iam::222222222222:role/target-account-iam-role",
        RoleSessionName="from-world",
    )
    assert hop["AssumedRoleUser"]["Arn"].endswith("/from-world")


def test_reset_forgets_resources_and_down_stops(detached: Path) -> None:
    """Runs last in this module: it resets, then stops, the module's sandbox."""
    before = json.loads(
        kubetrust("sandbox", "status", "--state-dir", str(detached), "--output", "json").stdout
    )
    env = parse_env(
        kubetrust(
            "sandbox", "env", "--account", "111111111111", "--state-dir", str(detached)
        ).stdout
    )
    client(env, "iam").create_role(
        RoleName="temporary", AssumeRolePolicyDocument=json.dumps(TRUST_CI_ROOT)
    )
    kubetrust("sandbox", "reset", "--state-dir", str(detached))
    after = json.loads(
        kubetrust("sandbox", "status", "--state-dir", str(detached), "--output", "json").stdout
    )
    assert after["endpoint"] == before["endpoint"] and after["pid"] != before["pid"]
    iam = client(env, "iam")  # the same admin keys still work after a reset
    with pytest.raises(ClientError) as gone:
        iam.get_role(RoleName="temporary")
    assert gone.value.response["Error"]["Code"] == "NoSuchEntity"
    target = parse_env(
        kubetrust(
            "sandbox", "env", "--account", "222222222222", "--state-dir", str(detached)
        ).stdout
    )
    assert client(target, "iam").get_role(RoleName="target-account-iam-role")["Role"]
    down = kubetrust("sandbox", "down", "--state-dir", str(detached))
    assert "stopped" in down.stdout
    assert kubetrust("sandbox", "status", "--state-dir", str(detached), check=False).returncode == 1
