"""Writing a raw unique id (``AROA…``/``AIDA…``) as a principal through the sandbox.

The policy grammar reads unique ids, because IAM shows them in a trust once the role or
user they stood for is deleted (reference A.8). IAM refuses to *save* a trust holding such
a stale id ("Invalid principal in policy"), and so must the sandbox: accepting the grammar
change must not widen what the sandbox lets a client write.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _trust(principal: dict[str, Any]) -> str:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.mark.parametrize("unique_id", ["AROAOLDROLE0000000001", "AIDAOLDUSER0000000001"])
def test_create_role_with_a_stale_unique_id_is_refused(aws: Any, unique_id: str) -> None:
    iam = aws.client("iam", account=aws.TARGET)
    name = aws.unique("stale-id")
    with pytest.raises(ClientError) as refused:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust({"AWS": unique_id}))
    assert refused.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    assert f'Invalid principal in policy: "AWS":"{unique_id}"' in str(refused.value)
    with pytest.raises(ClientError) as missing:
        iam.get_role(RoleName=name)
    assert missing.value.response["Error"]["Code"] == "NoSuchEntity"


def test_update_trust_with_a_stale_unique_id_is_refused(aws: Any) -> None:
    iam = aws.client("iam", account=aws.TARGET)
    name = aws.unique("stale-id")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust({"AWS": aws.CI}))
    with pytest.raises(ClientError) as refused:
        iam.update_assume_role_policy(
            RoleName=name, PolicyDocument=_trust({"AWS": [aws.CI, "AROAOLDROLE0000000001"]})
        )
    assert refused.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    stored = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    assert "AROA" not in json.dumps(stored)


def test_group_unique_id_is_refused_by_the_grammar(aws: Any) -> None:
    iam = aws.client("iam", account=aws.TARGET)
    with pytest.raises(ClientError) as refused:
        iam.create_role(
            RoleName=aws.unique("group-id"),
            AssumeRolePolicyDocument=_trust({"AWS": "AGPAOLDGROUP00000001"}),
        )
    assert refused.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    assert "Invalid principal in policy" in str(refused.value)
