"""Organizations in the sandbox and in explain: org-boundary guards work on both sides.

A sandbox of its own (a subprocess: its own moto state) runs a world with an organization:
``111111111111`` is the management account (at the root), ``222222222222`` sits in the OU
``ou-ab12-11111111``, ``333333333333`` is outside the organization. The common guards —
``aws:PrincipalOrgID`` in a trust or bucket policy, a Deny on ``StringNotEquals
aws:PrincipalOrgID``, ``ForAnyValue:StringLike aws:PrincipalOrgPaths`` on an OU, a Deny on
``aws:ResourceOrgID`` — admit members and refuse the outsider, through boto3 as a user runs
them; then explain, on ``kubetrust snapshot --sandbox`` of the same sandbox, agrees.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from kubetrust.chain import graph, links
from kubetrust.explain import bundle

ORG = "o-a1b2c3d4e5"
OU = "ou-ab12-11111111"
OU_PATH = f"{ORG}/r-ab12/{OU}/"
MGMT, MEMBER, OUTSIDER = "111111111111", "222222222222", "333333333333"
REGION = "us-east-1"

ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
DENY_BUCKET_LISTING = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "s3:ListAllMyBuckets", "Resource": "*"}],
}


def _trust(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def _roots(*accounts: str) -> dict[str, Any]:
    return {"AWS": [f"arn:aws:iam::{a}:root" for a in accounts]}


TRUST_WHOLE_ORG = _trust(
    [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}},
        }
    ]
)
TRUST_DENY_OUTSIDE_ORG = _trust(
    [
        {"Effect": "Allow", "Principal": _roots(MGMT, OUTSIDER), "Action": "sts:AssumeRole"},
        {
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": ORG}},
        },
    ]
)
TRUST_OU_ONLY = _trust(
    [
        {
            "Effect": "Allow",
            "Principal": _roots(MGMT, MEMBER, OUTSIDER),
            "Action": "sts:AssumeRole",
            "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": f"{OU_PATH}*"}},
        }
    ]
)
CALLER_POLICIES = {"all": ALLOW_ALL}


def _caller(account: str) -> dict[str, Any]:
    return {
        "name": "org-caller",
        "trust": _trust(
            [{"Effect": "Allow", "Principal": _roots(account), "Action": "sts:AssumeRole"}]
        ),
        "policies": CALLER_POLICIES,
    }


WORLD = {
    "region": REGION,
    "organization": {
        "id": ORG,
        "root": "r-ab12",
        "management_account": MGMT,
        "scps": [ALLOW_ALL],
        "ous": [
            {
                "id": OU,
                "name": "workloads",
                "scps": [ALLOW_ALL, DENY_BUCKET_LISTING],
                "accounts": [MEMBER],
            }
        ],
    },
    "accounts": [
        {
            "id": MGMT,
            "name": "management",
            "roles": [_caller(MGMT), {"name": "ou-only", "trust": TRUST_OU_ONLY}],
        },
        {
            "id": MEMBER,
            "name": "member",
            "roles": [
                _caller(MEMBER),
                {"name": "whole-org", "trust": TRUST_WHOLE_ORG},
                {"name": "deny-outside", "trust": TRUST_DENY_OUTSIDE_ORG},
            ],
        },
        {"id": OUTSIDER, "name": "outsider", "roles": [_caller(OUTSIDER)]},
    ],
}


def kubetrust(*args: str) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(
        [sys.executable, "-m", "kubetrust", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, f"{args}: {run.stdout}\n{run.stderr}"
    return run


@pytest.fixture(scope="module")
def org_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    state = tmp_path_factory.mktemp("org-sandbox")
    world = state.parent / "org-world.json"
    world.write_text(json.dumps(WORLD), encoding="utf-8")
    kubetrust("sandbox", "up", "--detach", "--state-dir", str(state), "--world", str(world))
    try:
        yield state
    finally:
        subprocess.run(
            [sys.executable, "-m", "kubetrust", "sandbox", "down", "--state-dir", str(state)],
            capture_output=True,
            timeout=60,
            check=False,
        )


def _facts(state: Path) -> dict[str, Any]:
    facts: dict[str, Any] = json.loads((state / "sandbox.json").read_text(encoding="utf-8"))
    return facts


def _client(state: Path, service: str, credentials: dict[str, str]) -> Any:
    return boto3.session.Session().client(
        service,
        endpoint_url=_facts(state)["endpoint"],
        region_name=REGION,
        config=Config(retries={"max_attempts": 1}),
        **credentials,
    )


def _admin(state: Path, account: str) -> dict[str, str]:
    keys = _facts(state)["accounts"][account]
    return {
        "aws_access_key_id": keys["access_key_id"],
        "aws_secret_access_key": keys["secret_access_key"],
    }


def _assume(state: Path, credentials: dict[str, str], role_arn: str) -> dict[str, str]:
    answer = _client(state, "sts", credentials).assume_role(
        RoleArn=role_arn, RoleSessionName="org-test"
    )
    found = answer["Credentials"]
    return {
        "aws_access_key_id": found["AccessKeyId"],
        "aws_secret_access_key": found["SecretAccessKey"],
        "aws_session_token": found["SessionToken"],
    }


def _session(state: Path, account: str) -> dict[str, str]:
    """A session of ``account``'s ``org-caller`` role (allowed everything)."""
    return _assume(state, _admin(state, account), f"arn:aws:iam::{account}:role/org-caller")


def _may_assume(state: Path, account: str, role_arn: str) -> bool:
    try:
        _assume(state, _session(state, account), role_arn)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "AccessDenied", error.response
        return False
    return True


CASES = [  # (caller account, role, allowed on AWS)
    (MGMT, f"arn:aws:iam::{MEMBER}:role/whole-org", True),
    (OUTSIDER, f"arn:aws:iam::{MEMBER}:role/whole-org", False),
    (MGMT, f"arn:aws:iam::{MEMBER}:role/deny-outside", True),
    (OUTSIDER, f"arn:aws:iam::{MEMBER}:role/deny-outside", False),
    (MEMBER, f"arn:aws:iam::{MGMT}:role/ou-only", True),
    (OUTSIDER, f"arn:aws:iam::{MGMT}:role/ou-only", False),
]


@pytest.mark.parametrize(("caller", "role", "allowed"), CASES)
def test_org_guards_in_trust_policies(
    org_sandbox: Path, caller: str, role: str, allowed: bool
) -> None:
    """``aws:PrincipalOrgID`` admits members and refuses the outsider (StringEquals in an
    Allow, StringNotEquals in a Deny); ``aws:PrincipalOrgPaths`` admits the OU's accounts
    and refuses the management account at the root as well as the outsider."""
    assert _may_assume(org_sandbox, caller, role) is allowed


def test_bucket_policy_for_the_whole_organization(org_sandbox: Path) -> None:
    """A bucket policy allowing ``Principal: *`` with ``aws:PrincipalOrgID``: members of
    other accounts read it, the outsider does not."""
    bucket = f"org-shared-{uuid.uuid4().hex[:8]}"
    owner = _client(org_sandbox, "s3", _admin(org_sandbox, MEMBER))
    owner.create_bucket(Bucket=bucket)
    owner.put_object(Bucket=bucket, Key="k", Body=b"v")
    owner.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/*",
                        "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}},
                    }
                ],
            }
        ),
    )
    member = _client(org_sandbox, "s3", _session(org_sandbox, MGMT))
    assert member.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    outsider = _client(org_sandbox, "s3", _session(org_sandbox, OUTSIDER))
    with pytest.raises(ClientError) as denied:
        outsider.get_object(Bucket=bucket, Key="k")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_resource_org_guard_keeps_data_in_the_organization(org_sandbox: Path) -> None:
    """The data-perimeter Deny ``StringNotEquals aws:ResourceOrgID`` on a member's role:
    its own organization's bucket is readable, the outsider's bucket (whose policy lets
    the member in) is not — the key is the resource account's organization."""
    inside, outside = (f"org-{n}-{uuid.uuid4().hex[:8]}" for n in ("in", "out"))
    _client(org_sandbox, "s3", _admin(org_sandbox, MGMT)).create_bucket(Bucket=inside)
    foreign = _client(org_sandbox, "s3", _admin(org_sandbox, OUTSIDER))
    foreign.create_bucket(Bucket=outside)
    for bucket, admin in ((inside, MGMT), (outside, OUTSIDER)):
        _client(org_sandbox, "s3", _admin(org_sandbox, admin)).put_bucket_policy(
            Bucket=bucket,
            Policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{MEMBER}:root"},
                            "Action": "s3:ListBucket",
                            "Resource": f"arn:aws:s3:::{bucket}",
                        }
                    ],
                }
            ),
        )
    iam = _client(org_sandbox, "iam", _admin(org_sandbox, MEMBER))
    name = f"perimeter-{uuid.uuid4().hex[:8]}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(_caller(MEMBER)["trust"]))
    iam.put_role_policy(RoleName=name, PolicyName="all", PolicyDocument=json.dumps(ALLOW_ALL))
    iam.put_role_policy(
        RoleName=name,
        PolicyName="perimeter",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Action": "s3:*",
                        "Resource": "*",
                        "Condition": {"StringNotEquals": {"aws:ResourceOrgID": ORG}},
                    }
                ],
            }
        ),
    )
    session = _assume(
        org_sandbox, _admin(org_sandbox, MEMBER), f"arn:aws:iam::{MEMBER}:role/{name}"
    )
    s3 = _client(org_sandbox, "s3", session)
    assert s3.list_objects_v2(Bucket=inside)["KeyCount"] == 0
    with pytest.raises(ClientError) as denied:
        s3.list_objects_v2(Bucket=outside)
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_scps_follow_the_ou_tree(org_sandbox: Path) -> None:
    """The OU's SCP binds the OU's account only: not the management account (SCPs never
    bind it), not the outsider."""
    with pytest.raises(ClientError) as denied:
        _client(org_sandbox, "s3", _admin(org_sandbox, MEMBER)).list_buckets()
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    for account in (MGMT, OUTSIDER):
        _client(org_sandbox, "s3", _admin(org_sandbox, account)).list_buckets()


@pytest.fixture(scope="module")
def snapshot(org_sandbox: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("org-snapshot") / "bundle"
    kubetrust(
        "snapshot", "--sandbox", "--state-dir", str(org_sandbox), "--aws-only", "--out", str(out)
    )
    return out


def test_snapshot_writes_the_organization(snapshot: Path) -> None:
    member = json.loads((snapshot / "accounts" / MEMBER / "organization.json").read_text())
    assert (member["id"], member["path"]) == (ORG, OU_PATH)
    assert len(member["scps"]) == 2  # root, OU
    management = json.loads((snapshot / "accounts" / MGMT / "organization.json").read_text())
    assert (management["id"], management["path"], management["scps"]) == (
        ORG,
        f"{ORG}/r-ab12/",
        [],
    )
    assert not (snapshot / "accounts" / OUTSIDER / "organization.json").exists()


@pytest.mark.parametrize(("caller", "role", "allowed"), CASES)
def test_explain_agrees_on_org_guards(
    org_sandbox: Path, snapshot: Path, caller: str, role: str, allowed: bool
) -> None:
    """explain, on the snapshot, decides each edge as the sandbox did (and as AWS would)."""
    topology = bundle.load_bundle([snapshot])
    source = topology.role(f"arn:aws:iam::{caller}:role/org-caller")
    target = topology.role(role)
    assert source is not None and target is not None
    assert graph.EdgeJudge(topology).judge(source, target).allowed is allowed
    hop = links.assume_role(topology, source, role)
    assert hop.allowed is allowed
    assert _may_assume(org_sandbox, caller, role) is allowed


def test_explain_agrees_on_ou_scps(snapshot: Path) -> None:
    topology = bundle.load_bundle([snapshot])
    for account, allowed in ((MEMBER, False), (MGMT, True), (OUTSIDER, True)):
        role = topology.role(f"arn:aws:iam::{account}:role/org-caller")
        assert role is not None
        link = links.aws_action(topology, role, "s3:ListAllMyBuckets", "*")
        assert link.allowed is allowed, account
