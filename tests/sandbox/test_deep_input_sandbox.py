"""Deeply nested request bodies get the service's 400, and the sandbox keeps serving: each
test sends a good request right after the bad one.

Two depths: past ``json.loads``'s limit (it raises ``RecursionError``) and 950 deep, which
decodes but is past ``errors.MAX_NESTING`` (the gate refuses it before any service or moto
reads it recursively).
"""

from __future__ import annotations

import http.client
import urllib.parse
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

FAR = "[" * 100_000
UNDER_THE_DECODER = '{"a":' * 949 + "{}" + "}" * 949
DEPTHS = pytest.mark.parametrize("deep", [FAR, UNDER_THE_DECODER], ids=["far", "950"])


def _trust(condition_value: str) -> str:
    return (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": '
        '"sts:AssumeRole", "Principal": {"AWS": "*"}, "Condition": {"StringEquals": '
        '{"aws:PrincipalTag/team": ' + condition_value + "}}}]}"
    )


@DEPTHS
def test_iam_refuses_a_deep_policy_document_and_keeps_serving(aws: Any, deep: str) -> None:
    """boto3 sends any string as a policy document, so a real client is the test's."""
    iam = aws.client("iam", account=aws.CI)
    for document in (deep, _trust(deep)):
        with pytest.raises(ClientError) as refused:
            iam.create_role(RoleName=aws.unique("deep"), AssumeRolePolicyDocument=document)
        error = refused.value.response
        assert error["Error"]["Code"] == "MalformedPolicyDocument"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert iam.get_user()["User"]["UserName"]


def _signed_post(aws: Any, service: str, path: str, body: bytes) -> tuple[int, bytes]:
    """A SigV4-signed POST over a raw connection: botocore validates EKS members against
    its model (tags must be strings) and would refuse to send these bodies."""
    key, secret = aws.sandbox.admin_keys[aws.CI]
    endpoint = aws.sandbox.endpoint
    request = AWSRequest(
        method="POST",
        url=endpoint + path,
        data=body,
        headers={"Content-Type": "application/json"},
    )
    SigV4Auth(Credentials(key, secret), service, aws.REGION).add_auth(request)
    where = urllib.parse.urlsplit(endpoint)
    connection = http.client.HTTPConnection(where.hostname or "", where.port, timeout=60)
    try:
        connection.request("POST", path, body=body, headers=dict(request.headers))
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


@DEPTHS
@pytest.mark.parametrize(
    ("service", "path", "template"),
    [
        ("eks", "/clusters", '{"name": "deep", "roleArn": "r", "tags": {"a": %s}}'),
        ("eks-auth", "/clusters/c/assume-role-for-pod-identity", '{"token": %s}'),
    ],
    ids=["eks", "eks-auth"],
)
def test_a_deep_json_body_is_a_bad_request(
    aws: Any, deep: str, service: str, path: str, template: str
) -> None:
    status, body = _signed_post(aws, service, path, (template % deep).encode())
    assert status == 400, body[:300]
    assert b"Malformed JSON body" in body
    assert isinstance(aws.client("eks", account=aws.CI).list_clusters()["clusters"], list)
