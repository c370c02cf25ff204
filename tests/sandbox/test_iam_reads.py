"""The sandbox's IAM and S3 reads show documents as AWS holds them (issue 10).

IAM binds a trust's (and S3 a bucket policy's) role and user principals to the entity's
unique id when the document is saved; once that entity is deleted, the read returns the
stale ``AROA…``/``AIDA…`` id in place of the ARN, and a new entity of the same name does
not match (reference A.8). The sandbox enforced this for trusts but returned the ARN in
``GetRole``/``ListRoles``/``GetAccountAuthorizationDetails``, so ``explain`` on a sandbox
export said "allowed" where the sandbox denied; S3 bucket policies were neither enforced
nor shown that way. Also here: users get IAM's id form (``AIDA…``), one id everywhere.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from kubetrust.adapters.snapshot import SnapshotOptions, take_snapshot
from kubetrust.chain import context
from kubetrust.chain.paths import AwsGoal
from kubetrust.explain import bundle, explain, render
from kubetrust.explain.audit import run_audit

from .explainkit import CI, TARGET, Builder, fill, mint
from .keykit import code, document, keys_of, new_role, new_user

ASSUME = [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]
USER_ID = re.compile(r"AIDA[A-Z2-7]{17}\Z")


def _trust(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(principal: list[str] | str, action: str = "sts:AssumeRole") -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": action}


def _assume(aws: Any, credentials: dict[str, str], role_arn: str) -> str:
    """``ok`` or the error code of an AssumeRole with ``credentials``."""
    try:
        aws.client("sts", credentials=credentials).assume_role(
            RoleArn=role_arn, RoleSessionName="reads"
        )
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return "ok"


def _session(aws: Any, account: str, role_arn: str) -> dict[str, str]:
    answer = aws.client("sts", account=account).assume_role(
        RoleArn=role_arn, RoleSessionName="reads"
    )
    return keys_of(answer["Credentials"])


def _recreate_role(aws: Any, account: str, role: dict[str, Any]) -> dict[str, Any]:
    iam = aws.client("iam", account=account)
    iam.delete_role_policy(RoleName=role["RoleName"], PolicyName="p")
    iam.delete_role(RoleName=role["RoleName"])
    root = {"AWS": f"arn:aws:iam::{account}:root"}
    return new_role(aws, account, root, ASSUME, name=role["RoleName"])


def _recreate_user(
    aws: Any, account: str, user: dict[str, Any], keys: dict[str, str], statements: list[Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Delete ``user`` (its key and policy first, as IAM requires) and make a user of the
    same name with ``statements`` and a new key."""
    iam = aws.client("iam", account=account)
    name = user["UserName"]
    iam.delete_access_key(UserName=name, AccessKeyId=keys["aws_access_key_id"])
    iam.delete_user_policy(UserName=name, PolicyName="p")
    iam.delete_user(UserName=name)
    again = iam.create_user(UserName=name)["User"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=document(statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return again, {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


def _raw_answers(client: Any) -> list[bytes]:
    """Every raw HTTP body ``client`` receives, as the sandbox sent it."""
    bodies: list[bytes] = []
    client.meta.events.register(
        "after-call", lambda http_response, **_: bodies.append(http_response.content)
    )
    return bodies


def _trust_of(listing: list[dict[str, Any]], name: str) -> Any:
    return next(r["AssumeRolePolicyDocument"] for r in listing if r["RoleName"] == name)


def _all(iam: Any, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a paged IAM listing (other tests' roles share the account)."""
    pages = iam.get_paginator(operation).paginate(**kwargs)
    return [item for page in pages for item in page[key]]


# ---------------------------------------------------------------------- trusts naming roles


def test_trust_naming_a_recreated_role_shows_its_old_id_and_admits_nobody(aws: Any) -> None:
    src = new_role(aws, aws.CI, {"AWS": f"arn:aws:iam::{aws.CI}:root"}, ASSUME)
    keep = new_role(aws, aws.CI, {"AWS": f"arn:aws:iam::{aws.CI}:root"}, ASSUME)
    condition = {"ArnEquals": {"aws:PrincipalArn": src["Arn"]}}
    trust = _trust(
        _allow([src["Arn"], keep["Arn"]]),
        {**_allow(src["Arn"], "sts:TagSession"), "Condition": condition},
    )
    iam = aws.client("iam", account=aws.TARGET)
    name = aws.unique("reads-target")
    target = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]
    assert _assume(aws, _session(aws, aws.CI, src["Arn"]), target["Arn"]) == "ok"

    again = _recreate_role(aws, aws.CI, src)
    assert again["RoleId"] != src["RoleId"]

    # (a) the new role of the same name is refused; the untouched principal still works
    assert _assume(aws, _session(aws, aws.CI, again["Arn"]), target["Arn"]) == "AccessDenied"
    assert _assume(aws, _session(aws, aws.CI, keep["Arn"]), target["Arn"]) == "ok"

    # (b) every read shows the stale id where the ARN was; conditions keep their ARN
    shown = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    assert shown["Statement"][0]["Principal"]["AWS"] == [src["RoleId"], keep["Arn"]]
    assert shown["Statement"][1]["Principal"]["AWS"] == src["RoleId"]
    assert shown["Statement"][1]["Condition"] == condition
    assert _trust_of(_all(iam, "list_roles", "Roles"), name) == shown
    details = _all(iam, "get_account_authorization_details", "RoleDetailList", Filter=["Role"])
    assert _trust_of(details, name) == shown
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert _trust_of(profile["Roles"], name) == shown


def test_iam_answers_url_encode_every_policy_document(aws: Any) -> None:
    """IAM URL-encodes the documents it returns (RFC 3986, the GetAccountAuthorizationDetails
    reference); moto left ListRoles' and GAAD's raw. Checked on the wire, as sent."""
    role = new_role(aws, aws.CI, {"AWS": f"arn:aws:iam::{aws.CI}:root"}, ASSUME)
    iam = aws.client("iam", account=aws.CI)
    raw = _raw_answers(iam)
    iam.list_roles()
    iam.get_account_authorization_details(Filter=["Role"])
    iam.get_role(RoleName=role["RoleName"])
    for body in raw:
        found = re.findall(rb"<(?:AssumeRolePolicyDocument|PolicyDocument)>([^<]*)<", body)
        assert found, body[:300]
        assert all(re.fullmatch(rb"%7B[A-Za-z0-9%._~-]*", text) for text in found), found


# ---------------------------------------------------------------------- trusts naming users


def test_trust_naming_a_recreated_user_shows_its_old_id_and_admits_nobody(aws: Any) -> None:
    user, keys = new_user(aws, aws.CI, ASSUME)
    assert USER_ID.match(user["UserId"]), user["UserId"]
    iam = aws.client("iam", account=aws.TARGET)
    name = aws.unique("reads-user-target")
    target = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(_allow(user["Arn"])))
    role_arn = target["Role"]["Arn"]
    assert _assume(aws, keys, role_arn) == "ok"

    again, new_keys = _recreate_user(aws, aws.CI, user, keys, ASSUME)
    assert again["UserId"] != user["UserId"] and USER_ID.match(again["UserId"])
    assert _assume(aws, new_keys, role_arn) == "AccessDenied"
    shown = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    assert shown["Statement"][0]["Principal"]["AWS"] == user["UserId"]


def test_renamed_user_keeps_its_keys_its_id_and_its_place_in_a_trust(aws: Any) -> None:
    """UpdateUser keeps the user's unique id: IAM shows the trust with the new ARN, the
    renamed user still matches it, and its keys still authenticate as it."""
    user, keys = new_user(aws, aws.CI, ASSUME)
    iam = aws.client("iam", account=aws.TARGET)
    name = aws.unique("reads-renamed")
    target = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(_allow(user["Arn"])))
    new_name = aws.unique("renamed")
    aws.client("iam", account=aws.CI).update_user(
        UserName=user["UserName"], NewUserName=new_name, NewPath="/moved/"
    )
    new_arn = f"arn:aws:iam::{aws.CI}:user/moved/{new_name}"
    me = aws.client("sts", credentials=keys).get_caller_identity()
    assert (me["Arn"], me["UserId"]) == (new_arn, user["UserId"])
    shown = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    assert shown["Statement"][0]["Principal"]["AWS"] == new_arn
    assert _assume(aws, keys, target["Role"]["Arn"]) == "ok"


def test_user_ids_have_iams_form_and_are_one_everywhere(aws: Any) -> None:
    user, keys = new_user(
        aws, aws.TARGET, [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]
    )
    iam = aws.client("iam", account=aws.TARGET)
    name = user["UserName"]
    assert USER_ID.match(user["UserId"]), user["UserId"]
    seen = {
        iam.get_user(UserName=name)["User"]["UserId"],
        next(u["UserId"] for u in _all(iam, "list_users", "Users") if u["UserName"] == name),
        next(
            u["UserId"]
            for u in _all(
                iam, "get_account_authorization_details", "UserDetailList", Filter=["User"]
            )
            if u["UserName"] == name
        ),
        aws.client("sts", credentials=keys).get_caller_identity()["UserId"],
        aws.client("iam", credentials=keys).get_user()["User"]["UserId"],
    }
    assert seen == {user["UserId"]}
    admin = iam.get_user(UserName="admin")["User"]["UserId"]
    assert USER_ID.match(admin), admin
    admin_keys = dict(
        zip(
            ("aws_access_key_id", "aws_secret_access_key"),
            aws.sandbox.admin_keys[aws.TARGET],
            strict=True,
        )
    )
    assert aws.client("sts", credentials=admin_keys).get_caller_identity()["UserId"] == admin


# ---------------------------------------------------------------------- bucket policies


def test_bucket_policy_naming_a_recreated_user_grants_it_nothing(aws: Any) -> None:
    """Was a fail-open: S3 binds the bucket policy's user to its id; the sandbox let a new
    user of the same name in (the re:Post article "Unable to access the S3 bucket after the
    IAM user was recreated" is this exact case)."""
    read = [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]
    user, keys = new_user(aws, aws.CI, read)
    other, other_keys = new_user(aws, aws.CI, read)
    bucket = aws.unique("reads-bucket")
    s3 = aws.client("s3", account=aws.TARGET)
    s3.create_bucket(Bucket=bucket)
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": [user["Arn"], other["Arn"]]},
        "Action": "s3:ListBucket",
        "Resource": f"arn:aws:s3:::{bucket}",
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=document([statement]))
    aws.client("s3", credentials=keys).list_objects_v2(Bucket=bucket)

    _, new_keys = _recreate_user(aws, aws.CI, user, keys, read)
    with pytest.raises(ClientError) as denied:
        aws.client("s3", credentials=new_keys).list_objects_v2(Bucket=bucket)
    assert code(denied) == "AccessDenied"
    aws.client("s3", credentials=other_keys).list_objects_v2(Bucket=bucket)
    shown = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert shown["Statement"][0]["Principal"]["AWS"] == [user["UserId"], other["Arn"]]


# ---------------------------------------------------------------------- explain on an export

BASE = yaml.safe_load(Path(__file__).with_name("explain_agreement_cases.yaml").read_text())["base"]


def test_explain_and_audit_on_a_sandbox_export_see_the_deleted_principals(
    sandbox: Any, aws: Any, tmp_path: Path
) -> None:
    """The seed chain (web identity → ci-role → target-role) after ci-role is deleted and
    created again: the sandbox refuses the second hop, and explain on a snapshot of the
    sandbox refuses it too, naming the stale id; audit names a deleted user likewise."""
    builder = Builder(sandbox)
    suffix = f"ir{uuid.uuid4().hex[:6]}"
    clusters = {"{ci_cluster}": "ci-reads-{s}", "{tgt_cluster}": "tgt-reads-{s}"}
    built = builder.build(fill(BASE, clusters), suffix)
    names = {k: v.replace("{s}", suffix) for k, v in clusters.items()}
    ci_role, target_role = f"ci-role-{suffix}", f"target-role-{suffix}"
    ci_iam = aws.client("iam", account=CI)
    old_id = ci_iam.get_role(RoleName=ci_role)["Role"]["RoleId"]
    spec = built.world["accounts"][0]["roles"][0]
    ci_iam.delete_role_policy(RoleName=ci_role, PolicyName="assume-target")
    ci_iam.delete_role(RoleName=ci_role)
    ci_iam.create_role(RoleName=ci_role, AssumeRolePolicyDocument=json.dumps(spec["trust"]))
    ci_iam.put_role_policy(
        RoleName=ci_role,
        PolicyName="assume-target",
        PolicyDocument=json.dumps(spec["policies"]["assume-target"]),
    )
    user, keys = new_user(aws, CI, ASSUME)
    trusting = f"user-trust-{suffix}"
    aws.client("iam", account=TARGET).create_role(
        RoleName=trusting, AssumeRolePolicyDocument=_trust(_allow(user["Arn"]))
    )
    _recreate_user(aws, CI, user, keys, ASSUME)

    # for real: the web identity hop still works, the AssumeRole hop is refused
    issuer = built.issuers[names["{ci_cluster}"]]
    token = mint(issuer, f"ns-{suffix}", "ci-serviceaccount", "sts.amazonaws.com")
    roles = [f"arn:aws:iam::{CI}:role/{ci_role}", f"arn:aws:iam::{TARGET}:role/{target_role}"]
    answer = aws.client("sts", unsigned=True).assume_role_with_web_identity(
        RoleArn=roles[0], RoleSessionName="kubetrust", WebIdentityToken=token
    )
    assert _assume(aws, keys_of(answer["Credentials"]), roles[1]) == "AccessDenied"

    # explained, on a bundle snapshotted from the sandbox
    out = tmp_path / "bundle"
    result = take_snapshot(
        [builder.access(CI), builder.access(TARGET)],
        out,
        SnapshotOptions(clusters=tuple(names.values())),
    )
    assert not result.warnings, result.warnings
    topology = bundle.load_bundle([out])
    workload = explain.workload_for(
        topology, names["{ci_cluster}"], f"ns-{suffix}", "ci-serviceaccount"
    )
    goal = AwsGoal("eks:ListClusters", "*", TARGET)
    facts = context.RequestFacts(
        now=dt.datetime.now(dt.UTC), secure_transport=False, source_ip="127.0.0.1"
    )
    explained = explain.explain_access(
        topology, workload, goal, via=roles, session="kubetrust", request=facts
    )
    text = render.explanation_text(explained)
    assert explained.chain is not None, text
    assert [link.allowed for link in explained.chain.links][:2] == [True, False], text
    assert not explained.allowed
    assert f"a deleted role (its unique id {old_id})" in text, text
    assert "re-save it with the role's ARN" in text, text

    findings = [f for f in run_audit(topology).findings if f.rule == "principal-deleted"]
    mine = [f for f in findings if trusting in f.location or role_name_in(f, trusting)]
    assert any(f"a deleted user (its unique id {user['UserId']})" in f.message for f in mine)
    assert any(f"a deleted role (its unique id {old_id})" in f.message for f in findings)


def role_name_in(finding: Any, name: str) -> bool:
    return name in json.dumps(finding.as_dict())
