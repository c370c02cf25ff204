"""Issue 10, item 16 (STS): GetSessionToken and GetFederationToken as AWS implements them
(users chain from them), AssumeRoleWithSAML never answered by the web-identity code, a
RoleArn of another partition, a web-identity token whose ``iss`` lacks its scheme, and
STS's parameter validation answered in STS's own ``ValidationError`` shape."""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import time
import urllib.parse
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from kubetrust.sandbox.aws import state
from kubetrust.sandbox.aws.services.sts import params

from .keykit import cli, code, keys_of, message, new_role, new_user
from .seedkit import CLI_ERROR

READ_BUCKETS = [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]
FEDERATE = [
    {"Effect": "Allow", "Action": "sts:GetFederationToken", "Resource": "*"},
    *READ_BUCKETS,
]
BUCKETS_POLICY = json.dumps({"Version": "2012-10-17", "Statement": READ_BUCKETS})


def _raw_sts(sandbox: Any, body: dict[str, str]) -> tuple[int, str]:
    """An unsigned query-protocol POST, as a client that skips botocore's checks sends."""
    host, port = sandbox.endpoint.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(
            "POST",
            "/",
            urllib.parse.urlencode({"Version": "2011-06-15", **body}),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


# --------------------------------------------------------------------------- GetSessionToken
def test_get_session_token_then_chain_with_the_cli(aws: Any, sandbox: Any, tmp_path: Path) -> None:
    """The user's own identity on temporary keys, which then assume a role (not role
    chaining: more than one hour may be asked)."""
    user, keys = new_user(
        aws, aws.CI, [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]
    )
    role = new_role(aws, aws.CI, {"AWS": user["Arn"]}, READ_BUCKETS, max_session_duration=7200)
    got = cli(sandbox, tmp_path, keys, "sts", "get-session-token")
    assert got.returncode == 0, str(got)
    credentials = got.json()["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    expires = dt.datetime.fromisoformat(credentials["Expiration"].replace("Z", "+00:00"))
    left = (expires - dt.datetime.now(dt.UTC)).total_seconds()
    assert 43200 - 120 < left <= 43200  # twelve hours by default
    session = keys_of(credentials)

    who = cli(sandbox, tmp_path, session, "sts", "get-caller-identity")
    assert who.returncode == 0 and who.json()["Arn"] == user["Arn"], str(who)
    assert who.json()["UserId"] == user["UserId"]
    assumed = cli(
        sandbox, tmp_path, session, "sts", "assume-role", "--role-arn", role["Arn"],
        "--role-session-name", "from-session-token", "--duration-seconds", "7200",
    )  # fmt: skip
    assert assumed.returncode == 0, str(assumed)
    assert assumed.json()["AssumedRoleUser"]["Arn"].endswith(
        f"{role['RoleName']}/from-session-token"
    )


def test_session_token_keys_are_refused_by_iam_and_most_of_sts(aws: Any) -> None:
    _, keys = new_user(aws, aws.CI, [{"Effect": "Allow", "Action": "*", "Resource": "*"}])
    session = keys_of(aws.client("sts", credentials=keys).get_session_token()["Credentials"])
    aws.client("s3", credentials=session).list_buckets()
    with pytest.raises(ClientError) as iam:
        aws.client("iam", credentials=session).list_users()
    assert code(iam) == "InvalidClientTokenId"
    sts = aws.client("sts", credentials=session)
    with pytest.raises(ClientError) as again:
        sts.get_session_token()
    assert code(again) == "AccessDenied"
    assert message(again) == "Cannot call GetSessionToken with session credentials"
    with pytest.raises(ClientError) as federate:
        sts.get_federation_token(Name="bob", Policy=BUCKETS_POLICY)
    assert message(federate) == "Cannot call GetFederationToken with session credentials"


def test_role_sessions_cannot_get_session_or_federation_tokens(aws: Any) -> None:
    role = new_role(
        aws,
        aws.CI,
        {"AWS": f"arn:aws:iam::{aws.CI}:root"},
        [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    )
    sts_admin = aws.client("sts", account=aws.CI)
    session = keys_of(
        sts_admin.assume_role(RoleArn=role["Arn"], RoleSessionName="s1")["Credentials"]
    )
    sts = aws.client("sts", credentials=session)
    with pytest.raises(ClientError) as refused:
        sts.get_session_token()
    assert code(refused) == "AccessDenied" and "session credentials" in message(refused)
    with pytest.raises(ClientError) as refused_federation:
        sts.get_federation_token(Name="bob")
    assert code(refused_federation) == "AccessDenied"


@pytest.mark.parametrize(
    ("duration", "constraint"),
    [("899", "greater than or equal to 900"), ("129601", "less than or equal to 129600")],
)
def test_session_token_duration_bounds(
    aws: Any, sandbox: Any, duration: str, constraint: str
) -> None:
    _, keys = new_user(aws, aws.CI)
    unchecked = boto3.session.Session().client(
        "sts",
        endpoint_url=sandbox.endpoint,
        config=Config(region_name=aws.REGION, parameter_validation=False),
        **keys,
    )  # botocore itself refuses values under the model's minimum
    with pytest.raises(ClientError) as invalid:
        unchecked.get_session_token(DurationSeconds=int(duration))
    assert code(invalid) == "ValidationError"
    assert message(invalid) == (
        f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to "
        f"satisfy constraint: Member must have value {constraint}"
    )
    ok = aws.client("sts", credentials=keys).get_session_token(DurationSeconds=129600)
    assert ok["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_mfa_code_of_an_enabled_virtual_device(aws: Any, sandbox: Any) -> None:
    """A valid TOTP code gives MFA-authenticated keys, which may call IAM; a wrong code
    and an unknown device are STS's two MFA refusals."""
    user, keys = new_user(aws, aws.CI, [{"Effect": "Allow", "Action": "*", "Resource": "*"}])
    iam = aws.client("iam", account=aws.CI)
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName=aws.unique("mfa"))
    serial = device["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName=user["UserName"], SerialNumber=serial, AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )  # fmt: skip
    seed = state.mfa_seed(aws.CI, user["UserName"], serial)  # what the user's phone holds
    assert seed is not None
    key = base64.b32decode(seed + "=" * (-len(seed) % 8))
    good = params.totp(key, int(time.time()) // 30)
    sts = aws.client("sts", credentials=keys)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    with pytest.raises(ClientError) as bad_code:
        sts.get_session_token(SerialNumber=serial, TokenCode=wrong)
    assert code(bad_code) == "AccessDenied" and message(bad_code) == params.MFA_WRONG_CODE
    with pytest.raises(ClientError) as no_device:
        sts.get_session_token(SerialNumber=f"arn:aws:iam::{aws.CI}:mfa/none", TokenCode=good)
    assert message(no_device) == params.MFA_UNKNOWN_DEVICE
    session = keys_of(sts.get_session_token(SerialNumber=serial, TokenCode=good)["Credentials"])
    aws.client("iam", credentials=session).list_users()  # IAM with MFA context


# --------------------------------------------------------------------------- GetFederationToken
def test_get_federation_token_with_the_cli(aws: Any, sandbox: Any, tmp_path: Path) -> None:
    _, keys = new_user(aws, aws.CI, FEDERATE)
    got = cli(
        sandbox, tmp_path, keys, "sts", "get-federation-token", "--name", "bob",
        "--policy", BUCKETS_POLICY,
    )  # fmt: skip
    assert got.returncode == 0, str(got)
    federated = got.json()["FederatedUser"]
    assert federated == {
        "FederatedUserId": f"{aws.CI}:bob",
        "Arn": f"arn:aws:sts::{aws.CI}:federated-user/bob",
    }
    session = keys_of(got.json()["Credentials"])
    who = cli(sandbox, tmp_path, session, "sts", "get-caller-identity")
    assert who.json() == {"UserId": f"{aws.CI}:bob", "Account": aws.CI, "Arn": federated["Arn"]}
    listed = cli(sandbox, tmp_path, session, "s3api", "list-buckets")
    assert listed.returncode == 0, str(listed)
    iam = cli(sandbox, tmp_path, session, "iam", "list-users")
    assert iam.returncode == CLI_ERROR and iam.error_code == "InvalidClientTokenId", str(iam)


def test_federated_user_without_session_policy_has_no_permissions(aws: Any) -> None:
    _, keys = new_user(aws, aws.CI, FEDERATE)
    response = aws.client("sts", credentials=keys).get_federation_token(Name="nopolicy")
    session = keys_of(response["Credentials"])
    with pytest.raises(ClientError) as denied:
        aws.client("s3", credentials=session).list_buckets()
    assert code(denied) == "AccessDenied"
    role = new_role(aws, aws.CI, {"AWS": f"arn:aws:iam::{aws.CI}:root"}, READ_BUCKETS)
    with pytest.raises(ClientError) as no_assume:
        aws.client("sts", credentials=session).assume_role(
            RoleArn=role["Arn"], RoleSessionName="x1"
        )
    assert code(no_assume) == "AccessDenied"


def test_session_policy_cannot_add_to_the_users_permissions(aws: Any) -> None:
    _, keys = new_user(
        aws, aws.CI, [{"Effect": "Allow", "Action": "sts:GetFederationToken", "Resource": "*"}]
    )
    response = aws.client("sts", credentials=keys).get_federation_token(
        Name="wider", Policy=BUCKETS_POLICY
    )
    with pytest.raises(ClientError) as denied:
        aws.client("s3", credentials=keys_of(response["Credentials"])).list_buckets()
    assert code(denied) == "AccessDenied"


def test_get_federation_token_needs_permission_and_a_valid_name(aws: Any) -> None:
    user, keys = new_user(aws, aws.CI, READ_BUCKETS)
    sts = aws.client("sts", credentials=keys)
    with pytest.raises(ClientError) as denied:
        sts.get_federation_token(Name="bob", Policy=BUCKETS_POLICY)
    assert code(denied) == "AccessDenied"
    assert message(denied).startswith(
        f"User: {user['Arn']} is not authorized to perform: sts:GetFederationToken on "
        f"resource: arn:aws:sts::{aws.CI}:federated-user/bob"
    )
    _, allowed = new_user(aws, aws.CI, FEDERATE)
    with pytest.raises(ClientError) as pattern:
        aws.client("sts", credentials=allowed).get_federation_token(Name="no spaces")
    assert code(pattern) == "ValidationError"
    assert "at 'name' failed to satisfy constraint: Member must satisfy regular expression" in (
        message(pattern)
    )
    with pytest.raises(ClientError) as long:
        aws.client("sts", credentials=allowed).get_federation_token(Name="x" * 33)
    assert "Member must have length less than or equal to 32" in message(long)


# --------------------------------------------------------------------------- SAML
def test_saml_is_never_answered_as_web_identity(aws: Any, sandbox: Any) -> None:
    role = new_role(aws, aws.CI, {"AWS": f"arn:aws:iam::{aws.CI}:root"}, READ_BUCKETS)
    sts = aws.client("sts", unsigned=True)
    assertion = base64.b64encode(b"<samlp:Response>not signed</samlp:Response>").decode()
    missing = f"arn:aws:iam::{aws.CI}:saml-provider/NoSuchProvider"
    with pytest.raises(ClientError) as no_provider:
        sts.assume_role_with_saml(
            RoleArn=role["Arn"], PrincipalArn=missing, SAMLAssertion=assertion
        )
    assert code(no_provider) == "InvalidIdentityToken"
    assert message(no_provider) == "Specified provider doesn't exist"

    metadata = (
        "<EntityDescriptor xmlns='urn:oasis:names:tc:SAML:2.0:metadata'>"
        + ("<!-- padding -->" * 70)
        + "</EntityDescriptor>"
    )
    provider = aws.client("iam", account=aws.CI).create_saml_provider(
        Name=aws.unique("idp"), SAMLMetadataDocument=metadata
    )["SAMLProviderArn"]
    with pytest.raises(ClientError) as unverifiable:
        sts.assume_role_with_saml(
            RoleArn=role["Arn"], PrincipalArn=provider, SAMLAssertion=assertion
        )
    assert code(unverifiable) == "InvalidIdentityToken"
    assert message(unverifiable) == "Response signature invalid"
    with pytest.raises(ClientError) as swapped:
        sts.assume_role_with_saml(
            RoleArn=provider, PrincipalArn=role["Arn"], SAMLAssertion=assertion
        )
    assert code(swapped) == "ValidationError" and message(swapped) == "Request ARN is invalid"

    status, body = _raw_sts(sandbox, {"Action": "AssumeRoleWithSAML", "RoleArn": role["Arn"]})
    assert status == 400 and "<Code>ValidationError</Code>" in body
    assert "2 validation errors detected: Value null at 'principalArn'" in body
    assert "Value null at 'sAMLAssertion'" in body and "ebIdentity" not in body


# --------------------------------------------------------------------------- RoleArn
@pytest.mark.parametrize(
    "role_arn",
    [
        "arn:aws-cn:iam::111111111111:role/some-role",
        "arn:aws-us-gov:iam::111111111111:role/some-role",
        "not-an-arn-at-all-but-long",
    ],
)
def test_role_arn_of_another_partition_or_malformed(aws: Any, role_arn: str) -> None:
    with pytest.raises(ClientError) as invalid:
        aws.client("sts", account=aws.CI).assume_role(RoleArn=role_arn, RoleSessionName="x1")
    assert code(invalid) == "ValidationError"
    assert message(invalid) == f"{role_arn} is invalid"
    with pytest.raises(ClientError) as web:
        aws.client("sts", unsigned=True).assume_role_with_web_identity(
            RoleArn=role_arn, RoleSessionName="x1", WebIdentityToken="a.b.c"
        )
    assert code(web) == "ValidationError" and message(web) == f"{role_arn} is invalid"


def test_every_violated_constraint_is_listed(sandbox: Any) -> None:
    status, body = _raw_sts(
        sandbox,
        {
            "Action": "AssumeRoleWithWebIdentity",
            "RoleArn": "short",
            "RoleSessionName": "a",
            "WebIdentityToken": "abc",
            "DurationSeconds": "100",
        },
    )
    assert status == 400 and "<Code>ValidationError</Code>" in body
    assert "4 validation errors detected: " in body
    assert (
        "Value 'short' at 'roleArn' failed to satisfy constraint: Member must have length" in body
    )
    assert "Value at 'webIdentityToken' failed" in body and ">abc<" not in body


# --------------------------------------------------------------------------- iss
def test_token_whose_iss_lacks_the_scheme_names_no_provider(aws: Any) -> None:
    """Signed by the issuer's real key, for a provider that exists: only the scheme is
    missing from ``iss``. The provider's URL is an https URL, so none matches."""
    _, issuer = aws.new_issuer()
    provider = aws.client("iam", account=aws.CI).create_open_id_connect_provider(
        Url=issuer.issuer_url, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40]
    )["OpenIDConnectProviderArn"]
    trust = {"Federated": provider}
    iam = aws.client("iam", account=aws.CI)
    name = aws.unique("web")
    iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": trust,
                        "Action": "sts:AssumeRoleWithWebIdentity",
                    }
                ],
            }
        ),
    )
    now = int(time.time())
    schemeless = issuer.issuer_url.removeprefix("https://")
    claims = {
        "iss": schemeless,
        "sub": "system:serviceaccount:a:b",
        "aud": ["sts.amazonaws.com"],
        "exp": now + 600,
        "iat": now,
    }
    key = issuer.to_dict()["signingKeyPem"]
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": issuer.key_id})
    with pytest.raises(ClientError) as refused:
        aws.client("sts", unsigned=True).assume_role_with_web_identity(
            RoleArn=f"arn:aws:iam::{aws.CI}:role/{name}",
            RoleSessionName="s1",
            WebIdentityToken=token,
        )
    assert code(refused) == "InvalidIdentityToken"
    assert message(refused) == f"No OpenIDConnect provider found in your account for {schemeless}"
