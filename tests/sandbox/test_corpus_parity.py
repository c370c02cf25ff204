"""Parity: corpus cases that map onto real API calls get the same decision in the sandbox.

The engine's corpus (``tests/cases``) is replayed through the sandbox where a case is a
role session calling an API with nothing but identity policies in play: the role is made
(or updated) with the case's policies, assumed, and the call is made with boto3. The
sandbox "allowed" when the call was not refused with an access-denied code (the resource
itself may well not exist: ``NoSuchBucket`` after authorization still means allowed).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

CASES_DIR = Path(__file__).resolve().parent.parent / "cases"
SANDBOX_ACCOUNTS = ("111111111111", "222222222222")
DENIED_CODES = {"AccessDenied", "AccessDeniedException"}


def _s3_parts(resource: str) -> tuple[str, str]:
    bucket, _, key = resource.removeprefix("arn:aws:s3:::").partition("/")
    return bucket, key


CALLS: dict[str, Callable[[Any, str], Any]] = {
    "s3:GetObject": lambda c, r: c("s3").get_object(Bucket=_s3_parts(r)[0], Key=_s3_parts(r)[1]),
    "s3:PutObject": lambda c, r: c("s3").put_object(
        Bucket=_s3_parts(r)[0], Key=_s3_parts(r)[1], Body=b"parity"
    ),
    "eks:DescribeCluster": lambda c, r: c("eks").describe_cluster(name=r.rsplit("/", 1)[1]),
    "eks:ListClusters": lambda c, r: c("eks").list_clusters(),
    "s3:ListAllMyBuckets": lambda c, r: c("s3").list_buckets(),
    "iam:GetRole": lambda c, r: c("iam").get_role(RoleName=r.rsplit("/", 1)[1]),
}


def _replayable(case: dict[str, Any]) -> bool:
    request = case["request"]
    if case.get("expect") == "error" or request.get("context") or request.get("resourceAccount"):
        return False
    if any(
        case.get(k)
        for k in (
            "permissionsBoundaries",
            "sessionPolicies",
            "resourcePolicy",
            "serviceControlPolicies",
            "resourceControlPolicies",
        )
    ):
        return False
    principal = request["principal"]
    if ":assumed-role/" not in principal or principal.split(":")[4] not in SANDBOX_ACCOUNTS:
        return False
    if request["action"] not in CALLS:
        return False
    resource = request.get("resource", "*")
    if request["action"] in ("s3:GetObject", "s3:PutObject") and not _s3_parts(resource)[1]:
        return False  # an empty object key cannot be sent
    account = resource.split(":")[4] if resource.count(":") >= 5 else ""
    return account in ("", principal.split(":")[4])


def _renamed(text: str, old: str, new: str) -> str:
    """``role/<old>`` and ``assumed-role/<old>/`` (whole names only) become ``<new>``."""
    return re.sub(rf"(role/){re.escape(old)}(?=[\"/]|$)", rf"\g<1>{new}", text)


def _corpus() -> list[dict[str, Any]]:
    found = []
    for path in sorted(CASES_DIR.glob("*.yaml")):
        found.extend(
            c for c in yaml.safe_load(path.read_text(encoding="utf-8")) or [] if _replayable(c)
        )
    return found


CASES = _corpus()


def test_there_is_something_to_replay() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_sandbox_decides_as_the_engine(aws: Any, case: dict[str, Any]) -> None:
    request = case["request"]
    account = request["principal"].split(":")[4]
    case_role, session = request["principal"].split("/")[1:3]
    # a name of our own: the seed's tests share this sandbox and its blog-named roles
    role_name = f"{case_role}-parity"
    iam = aws.client("iam", account=account)
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
    try:
        iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))
    except ClientError:
        iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(trust))
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=role_name, PolicyName=name)
    for index, document in enumerate(case.get("identityPolicies") or []):
        iam.put_role_policy(
            RoleName=role_name,
            PolicyName=f"p{index}",
            PolicyDocument=_renamed(json.dumps(document), case_role, role_name),
        )
    creds = aws.session_credentials(
        aws.client("sts", account=account).assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{role_name}", RoleSessionName=session
        )
    )
    try:
        resource = _renamed(request.get("resource", "*"), case_role, role_name)
        CALLS[request["action"]](lambda s: aws.client(s, credentials=creds), resource)
        allowed = True
    except ClientError as error:
        allowed = error.response["Error"]["Code"] not in DENIED_CODES
    assert allowed is (case["expect"] == "Allow"), case["id"]
