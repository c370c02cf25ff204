"""Bundle files: numbers read exactly however the file is decoded, documents shared across
accounts, and files nested past the decoder's limit refused with their name (never a
traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kubetrust.explain import bundle
from kubetrust.policy import PolicyKind, parse_policy
from kubetrust.policy.compact import compact_json

V = "2012-10-17"


def _dump(account: str, condition_value: str) -> str:
    """Authorization details of one role whose inline policy compares with a number written
    as ``condition_value`` (JSON text, so that it stays as written)."""
    policy = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket",'
        '"Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":VALUE}}}]}'
    ).replace("VALUE", condition_value)
    trust = {
        "Version": V,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = (
        '{"RoleName":"r","Arn":"arn:aws:iam::ACCOUNT:role/r","AssumeRolePolicyDocument":TRUST,'
        '"RolePolicyList":[{"PolicyName":"p","PolicyDocument":POLICY}]}'
    )
    role = role.replace("ACCOUNT", account).replace("TRUST", json.dumps(trust))
    return '{"RoleDetailList":[' + role.replace("POLICY", policy) + "]}"


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(("written", "kept"), [("1e20", "1E+20"), ("2.50", "2.5"), ("10", "10")])
def test_numbers_in_documents_read_as_their_text_reads(
    tmp_path: Path, written: str, kept: str
) -> None:
    """A file holding a fraction or an exponent is decoded with floats; its documents must
    parse as their compact text does (decimals, as IAM keeps numbers), not from the floats
    (``1e+20``). A file of integers only parses its documents from the decoded mappings:
    the same result, without looking for such numbers."""
    root = _write(tmp_path, {"accounts/111111111111.json": _dump("111111111111", written)})
    role = bundle.load_bundle([root]).accounts["111111111111"].roles["r"]
    document = role.inline[0].document
    assert document.statements[0].conditions[0].values == (kept,)
    decoded = json.loads(_dump("111111111111", written))
    policy = decoded["RoleDetailList"][0]["RolePolicyList"][0]["PolicyDocument"]
    assert document == parse_policy(compact_json(policy), PolicyKind.IDENTITY)


def test_equal_documents_of_different_accounts_are_one_object(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "accounts/111111111111.json": _dump("111111111111", "5"),
            "accounts/222222222222.json": _dump("222222222222", "5"),
        },
    )
    topology = bundle.load_bundle([root])
    first = topology.accounts["111111111111"].roles["r"]
    second = topology.accounts["222222222222"].roles["r"]
    assert first.inline[0].document is second.inline[0].document
    assert first.trust is second.trust and first.trust is not None
    assert first.trust_text is second.trust_text
    assert json.loads(first.trust_text)["Statement"][0]["Action"] == "sts:AssumeRole"


_CLUSTER = json.dumps(
    {"cluster": {"name": "c", "arn": "arn:aws:eks:us-east-1:111111111111:cluster/c"}}
)


@pytest.mark.parametrize(
    ("files", "culprit", "kind"),
    [
        ({"accounts/111111111111.json": "[" * 100_000}, "111111111111.json", "JSON"),
        (
            {"clusters/c/describe-cluster.json": '{"a":' * 5000 + "1" + "}" * 5000},
            "describe",
            "JSON",
        ),
        (
            {
                "clusters/c/describe-cluster.json": _CLUSTER,
                "clusters/c/aws-auth.yaml": "a: " + "[" * 100_000,
            },
            "aws-auth.yaml",
            "YAML",
        ),
        (
            {
                "clusters/c/describe-cluster.json": _CLUSTER,
                "clusters/c/access-entries.json": "[" * 100_000,
            },
            "access-entries.json",
            "JSON",
        ),
    ],
)
def test_files_nested_past_the_decoders_limit_are_refused_by_name(
    tmp_path: Path, files: dict[str, str], culprit: str, kind: str
) -> None:
    root = _write(tmp_path, files)
    with pytest.raises(bundle.BundleError, match=f"not valid {kind}: nested too deeply") as caught:
        bundle.load_bundle([root])
    assert culprit in caught.value.path
