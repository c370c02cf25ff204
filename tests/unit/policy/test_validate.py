"""``parse_policy``: normalization, the rules of each policy kind, and the error messages."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kubetrust import errors, policy
from kubetrust.policy import validate
from kubetrust.policy.document import Condition, PolicyDocument, PolicyKind, PrincipalBlock

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ci"
ALL_KINDS = list(PolicyKind)
NO_PRINCIPAL_KINDS = [PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.SCP]


def identity_doc(**statement: Any) -> dict[str, Any]:
    body = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    body.update(statement)
    return {"Version": "2012-10-17", "Statement": [body]}


def trust_doc(**statement: Any) -> dict[str, Any]:
    body = {"Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "sts:AssumeRole"}
    body.update(statement)
    return {"Version": "2012-10-17", "Statement": [body]}


def resource_doc(**statement: Any) -> dict[str, Any]:
    body = {
        "Effect": "Allow",
        "Principal": {"AWS": ROLE},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::bucket/*",
    }
    body.update(statement)
    return {"Version": "2012-10-17", "Statement": [body]}


def rcp_doc(**statement: Any) -> dict[str, Any]:
    body = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}
    body.update(statement)
    return {"Version": "2012-10-17", "Statement": [body]}


VALID_BY_KIND = {
    PolicyKind.IDENTITY: identity_doc(),
    PolicyKind.BOUNDARY: identity_doc(),
    PolicyKind.SESSION: identity_doc(),
    PolicyKind.SCP: identity_doc(),
    PolicyKind.TRUST: trust_doc(),
    PolicyKind.RESOURCE: resource_doc(),
    PolicyKind.RCP: rcp_doc(),
}


def rejects(document: Any, kind: PolicyKind) -> errors.PolicyParseError:
    with pytest.raises(errors.PolicyParseError) as caught:
        policy.parse_policy(document, kind)
    error = caught.value
    assert isinstance(error, errors.KubetrustError)
    assert error.code == "MalformedPolicyDocument"
    assert str(error).startswith(error.aws_message)
    return error


def plain(text: str) -> str:
    """Message text without quoting style (backticks or JSON quotes) and case."""
    return text.replace("`", "").replace('"', "").lower()


def without(document: dict[str, Any], key: str) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    del changed["Statement"][0][key]
    return changed


# ------------------------------------------------------------------ normalization


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_every_kind_accepts_its_valid_document_as_dict_and_json(kind: PolicyKind) -> None:
    document = VALID_BY_KIND[kind]
    from_dict = policy.parse_policy(document, kind)
    from_json = policy.parse_policy(json.dumps(document), kind)
    assert from_dict == from_json
    assert isinstance(from_dict, PolicyDocument)
    assert from_dict.kind is kind
    assert from_dict.version == "2012-10-17"
    assert from_dict.variables_enabled
    assert len(from_dict.statements) == 1


def test_strings_become_tuples_and_statement_dict_becomes_list() -> None:
    document = {
        "Version": "2012-10-17",
        "Id": "doc-1",
        "Statement": {"Sid": "One", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
    }
    parsed = policy.parse_policy(document, PolicyKind.IDENTITY)
    assert parsed.id == "doc-1"
    (statement,) = parsed.statements
    assert statement.index == 0
    assert statement.sid == "One"
    assert statement.label == "One"
    assert statement.effect == "Allow"
    assert statement.action == ("s3:GetObject",)
    assert statement.not_action is None
    assert statement.resource == ("*",)
    assert statement.not_resource is None
    assert statement.principal is None
    assert statement.conditions == ()


def test_lists_keep_order_and_statements_keep_index_and_sid() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:B", "s3:A"], "Resource": ["arn:aws:s3:::b", "*"]},
            {"Sid": "", "Effect": "Deny", "NotAction": "iam:*", "NotResource": "*"},
            {"Sid": "Third", "Effect": "Deny", "Action": "*", "Resource": "*"},
        ],
    }
    parsed = policy.parse_policy(document, PolicyKind.IDENTITY)
    first, second, third = parsed.statements
    assert [s.index for s in parsed.statements] == [0, 1, 2]
    assert first.action == ("s3:B", "s3:A")
    assert first.resource == ("arn:aws:s3:::b", "*")
    assert first.sid is None
    assert first.label == "Statement[0]"
    assert second.sid is None  # an empty Sid is no Sid
    assert second.label == "Statement[1]"
    assert second.action is None
    assert second.not_action == ("iam:*",)
    assert second.resource is None
    assert second.not_resource == ("*",)
    assert third.label == "Third"


def test_condition_values_become_strings() -> None:
    document = identity_doc(
        Condition={
            "Bool": {"aws:SecureTransport": True, "aws:MultiFactorAuthPresent": [False, "true"]},
            "NumericLessThan": {"s3:max-keys": 10, "s3:other": [1.5, "2"]},
            "StringEquals": {"aws:PrincipalTag/team": "ci"},
            "ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["a*", "b?"]},
        }
    )
    (statement,) = policy.parse_policy(document, PolicyKind.IDENTITY).statements
    by_key = {c.key: c for c in statement.conditions}
    assert by_key["aws:SecureTransport"].values == ("true",)
    assert by_key["aws:MultiFactorAuthPresent"].values == ("false", "true")
    assert by_key["s3:max-keys"].values == ("10",)
    assert by_key["s3:other"].values == ("1.5", "2")
    assert by_key["aws:PrincipalTag/team"].values == ("ci",)
    assert by_key["aws:TagKeys"] == Condition(
        operator="ForAnyValue:StringLikeIfExists",
        base="StringLike",
        qualifier="ForAnyValue",
        if_exists=True,
        key="aws:TagKeys",
        values=("a*", "b?"),
    )
    for condition in statement.conditions:
        assert all(isinstance(v, str) for v in condition.values)


def test_condition_operator_is_canonicalized_in_base_but_kept_as_written() -> None:
    document = identity_doc(Condition={"stringequalsifexists": {"aws:username": "bob"}})
    (condition,) = policy.parse_policy(document, PolicyKind.IDENTITY).statements[0].conditions
    assert condition.operator == "stringequalsifexists"
    assert condition.base == "StringEquals"
    assert condition.if_exists


def test_version_absent_or_2008_disables_variables() -> None:
    document = identity_doc()
    del document["Version"]
    parsed = policy.parse_policy(document, PolicyKind.IDENTITY)
    assert parsed.version is None
    assert not parsed.variables_enabled
    document["Version"] = "2008-10-17"
    parsed = policy.parse_policy(document, PolicyKind.IDENTITY)
    assert parsed.version == "2008-10-17"
    assert not parsed.variables_enabled


def test_principal_block_normalization() -> None:
    document = trust_doc(
        Principal={
            "AWS": [ACCOUNT, ROLE],
            "Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.example.com",
            "Service": ["ec2.amazonaws.com"],
        }
    )
    (statement,) = policy.parse_policy(document, PolicyKind.TRUST).statements
    assert statement.principal == PrincipalBlock(
        everyone=False,
        aws=(ACCOUNT, ROLE),
        federated=("arn:aws:iam::111122223333:oidc-provider/oidc.example.com",),
        service=("ec2.amazonaws.com",),
    )
    assert statement.resource is None
    assert statement.not_resource is None


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["*"]}])
def test_everyone_principal(principal: object) -> None:
    (statement,) = policy.parse_policy(trust_doc(Principal=principal), PolicyKind.TRUST).statements
    assert statement.principal is not None
    assert statement.principal.everyone
    assert statement.principal.aws == ()


def test_parsed_document_is_immutable() -> None:
    parsed = policy.parse_policy(identity_doc(), PolicyKind.IDENTITY)
    with pytest.raises(AttributeError):
        parsed.statements = ()  # type: ignore[misc]
    assert isinstance(parsed.statements, tuple)


def test_input_document_is_not_mutated() -> None:
    document = identity_doc(Condition={"Bool": {"aws:SecureTransport": True}})
    before = copy.deepcopy(document)
    policy.parse_policy(document, PolicyKind.IDENTITY)
    assert document == before


# ------------------------------------------------------------------- kind rules


@pytest.mark.parametrize("kind", NO_PRINCIPAL_KINDS)
@pytest.mark.parametrize("element", ["Principal", "NotPrincipal"])
def test_identity_side_kinds_refuse_principals(kind: PolicyKind, element: str) -> None:
    effect = "Deny" if element == "NotPrincipal" else "Allow"
    document = identity_doc(Effect=effect, **{element: {"AWS": ROLE}})
    error = rejects(document, kind)
    assert error.aws_message == "Policy document should not specify a principal."
    assert error.path == f"Statement[0].{element}"
    assert kind.value in error.reason


@pytest.mark.parametrize("kind", [*NO_PRINCIPAL_KINDS, PolicyKind.RESOURCE, PolicyKind.RCP])
def test_resource_required_outside_trust(kind: PolicyKind) -> None:
    document = without(VALID_BY_KIND[kind], "Resource")
    error = rejects(document, kind)
    assert error.aws_message == "Policy statement must contain resources."
    assert error.path == "Statement[0]"


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_action_required_everywhere(kind: PolicyKind) -> None:
    document = without(VALID_BY_KIND[kind], "Action")
    error = rejects(document, kind)
    assert error.aws_message == "Policy statement must contain actions."
    assert error.path == "Statement[0]"


def test_trust_requires_principal() -> None:
    error = rejects(without(trust_doc(), "Principal"), PolicyKind.TRUST)
    assert error.aws_message == "Missing required field Principal"
    assert error.path == "Statement[0]"


@pytest.mark.parametrize("element", ["Resource", "NotResource"])
def test_trust_refuses_resource(element: str) -> None:
    error = rejects(trust_doc(**{element: "*"}), PolicyKind.TRUST)
    assert error.aws_message == f"Has prohibited field {element}"
    assert error.path == f"Statement[0].{element}"


@pytest.mark.parametrize(
    "action",
    [
        "sts:AssumeRole",
        "sts:AssumeRoleWithWebIdentity",
        "sts:AssumeRoleWithSAML",
        "sts:TagSession",
        "STS:assumerole",
        "sts:*",
        "*",
        ["sts:AssumeRole", "sts:TagSession"],
    ],
)
def test_trust_accepts_sts_actions(action: object) -> None:
    parsed = policy.parse_policy(trust_doc(Action=action), PolicyKind.TRUST)
    assert parsed.statements[0].action is not None


@pytest.mark.parametrize(
    ("action", "path"),
    [
        ("s3:GetObject", "Statement[0].Action"),
        (["sts:AssumeRole", "iam:PassRole"], "Statement[0].Action"),
        ("*:AssumeRole", "Statement[0].Action"),
    ],
)
def test_trust_refuses_non_sts_actions(action: object, path: str) -> None:
    error = rejects(trust_doc(Action=action), PolicyKind.TRUST)
    assert error.aws_message == validate.TRUST_ACTIONS
    assert error.path == path


def test_trust_refuses_non_sts_not_action() -> None:
    document = without(trust_doc(), "Action")
    document["Statement"][0]["NotAction"] = "s3:GetObject"
    error = rejects(document, PolicyKind.TRUST)
    assert error.aws_message == validate.TRUST_ACTIONS
    assert error.path == "Statement[0].NotAction"


@pytest.mark.parametrize("kind", [PolicyKind.TRUST, PolicyKind.RCP])
def test_not_principal_only_in_resource_policies(kind: PolicyKind) -> None:
    document = without(VALID_BY_KIND[kind], "Principal")
    document["Statement"][0]["NotPrincipal"] = {"AWS": ROLE}
    document["Statement"][0]["Effect"] = "Deny"
    error = rejects(document, kind)
    assert error.aws_message == "Has prohibited field NotPrincipal"
    assert error.path == "Statement[0].NotPrincipal"


def test_resource_policy_needs_principal_or_not_principal() -> None:
    error = rejects(without(resource_doc(), "Principal"), PolicyKind.RESOURCE)
    assert error.aws_message == "Missing required field Principal"


def test_resource_policy_not_principal_with_deny() -> None:
    document = without(resource_doc(Effect="Deny"), "Principal")
    document["Statement"][0]["NotPrincipal"] = {"AWS": [ROLE, ACCOUNT]}
    (statement,) = policy.parse_policy(document, PolicyKind.RESOURCE).statements
    assert statement.principal is None
    assert statement.not_principal == PrincipalBlock(aws=(ROLE, ACCOUNT))


def test_resource_policy_not_principal_with_allow_is_refused() -> None:
    document = without(resource_doc(), "Principal")
    document["Statement"][0]["NotPrincipal"] = {"AWS": ROLE}
    error = rejects(document, PolicyKind.RESOURCE)
    assert error.aws_message == "Invalid principal in policy"
    assert error.path == "Statement[0].NotPrincipal"
    assert "Deny" in error.reason


@pytest.mark.parametrize("not_principal", ["*", {"AWS": "*"}])
def test_not_principal_cannot_be_everyone(not_principal: object) -> None:
    document = without(resource_doc(Effect="Deny"), "Principal")
    document["Statement"][0]["NotPrincipal"] = not_principal
    error = rejects(document, PolicyKind.RESOURCE)
    assert error.aws_message == "Invalid principal in policy"
    assert error.path.startswith("Statement[0].NotPrincipal")


def test_principal_and_not_principal_together_are_refused() -> None:
    document = resource_doc(Effect="Deny", NotPrincipal={"AWS": ROLE})
    error = rejects(document, PolicyKind.RESOURCE)
    assert error.aws_message == "Syntax errors in policy."
    assert error.path == "Statement[0]"


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}])
def test_rcp_principal_star_accepted(principal: object) -> None:
    parsed = policy.parse_policy(rcp_doc(Principal=principal), PolicyKind.RCP)
    assert parsed.statements[0].principal == PrincipalBlock(everyone=True)


@pytest.mark.parametrize(
    "principal", [{"AWS": ROLE}, {"AWS": ACCOUNT}, {"Service": "s3.amazonaws.com"}]
)
def test_rcp_principal_must_be_star(principal: object) -> None:
    error = rejects(rcp_doc(Principal=principal), PolicyKind.RCP)
    assert error.aws_message == "Invalid principal in policy"
    assert error.path == "Statement[0].Principal"


# ------------------------------------------------------------- principals in detail


@pytest.mark.parametrize(
    ("principal", "path"),
    [
        ({"AWS": "arn:aws:iam::111122223333:role/*"}, "Statement[0].Principal.AWS"),
        ({"AWS": "1111222233?3"}, "Statement[0].Principal.AWS"),
        ({"AWS": "arn:aws:iam::111122223333:policy/p"}, "Statement[0].Principal.AWS"),
        ({"AWS": "arn:aws:s3:::bucket"}, "Statement[0].Principal.AWS"),
        ({"AWS": "not-an-arn"}, "Statement[0].Principal.AWS"),
        ({"AWS": "11112222333"}, "Statement[0].Principal.AWS"),
        ({"Service": "*.amazonaws.com"}, "Statement[0].Principal.Service"),
        ({"Federated": ""}, "Statement[0].Principal.Federated"),
        ({"Role": ROLE}, "Statement[0].Principal"),
        ({}, "Statement[0].Principal"),
        ([ROLE], "Statement[0].Principal"),
        (ROLE, "Statement[0].Principal"),
    ],
)
def test_bad_principals(principal: object, path: str) -> None:
    error = rejects(trust_doc(Principal=principal), PolicyKind.TRUST)
    assert error.aws_message == "Invalid principal in policy"
    assert error.path == path
    assert error.reason


@pytest.mark.parametrize(
    "entry",
    [
        ACCOUNT,
        f"arn:aws:iam::{ACCOUNT}:root",
        f"arn:aws:iam::{ACCOUNT}:user/u",
        f"arn:aws:iam::{ACCOUNT}:role/path/r",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s",
        f"arn:aws:sts::{ACCOUNT}:federated-user/f",
    ],
)
def test_good_aws_principals(entry: str) -> None:
    (statement,) = policy.parse_policy(
        trust_doc(Principal={"AWS": entry}), PolicyKind.TRUST
    ).statements
    assert statement.principal is not None
    assert statement.principal.aws == (entry,)


# ------------------------------------------------------------- errors: where and what


@pytest.mark.parametrize(
    ("document", "aws_message", "path", "reason_part"),
    [
        (
            without(identity_doc(), "Effect"),
            "Missing required field Effect",
            "Statement[0].Effect",
            "Allow",
        ),
        (
            identity_doc(Effect="allow"),
            "The policy failed legacy parsing",
            "Statement[0].Effect",
            "allow",
        ),
        (
            identity_doc(Effect=True),
            "The policy failed legacy parsing",
            "Statement[0].Effect",
            "true",
        ),
        (identity_doc(Sid=5), "Syntax errors in policy.", "Statement[0].Sid", "string"),
        (identity_doc(Extra=1), "Syntax errors in policy.", "Statement[0]", "Extra"),
        (identity_doc(Action="GetObject"), validate.VENDOR, "Statement[0].Action", "`GetObject`"),
        (
            identity_doc(Action="s3:Get:Object"),
            "Actions/Condition can contain only one colon.",
            "Statement[0].Action",
            "",
        ),
        (identity_doc(Action="s 3:Get"), "Vendor s 3 is not valid", "Statement[0].Action", ""),
        (identity_doc(Action="s3:"), "Vendor s3 is not valid", "Statement[0].Action", ""),
        (identity_doc(Action=[]), "Syntax errors in policy.", "Statement[0].Action", "non-empty"),
        (identity_doc(Action=["s3:A", 5]), "Syntax errors in policy.", "Statement[0].Action", "5"),
        (
            identity_doc(Action="s3:A", NotAction="s3:B"),
            "Syntax errors in policy.",
            "Statement[0]",
            "not both",
        ),
        (
            identity_doc(Resource="bucket"),
            'Resource bucket must be in ARN format or "*".',
            "Statement[0].Resource",
            "",
        ),
        (
            identity_doc(Resource="arn:aws:s3:b"),
            "The policy failed legacy parsing",
            "Statement[0].Resource",
            "",
        ),
        (
            identity_doc(Resource="arn:moon:s3:::b"),
            'Partition "moon" is not valid for resource "arn:moon:s3:::b".',
            "Statement[0].Resource",
            "",
        ),
        (
            identity_doc(Resource="arn:aws:s*:::b"),
            "Resource vendor must be fully qualified and cannot contain regexes.",
            "Statement[0].Resource",
            "",
        ),
        (
            identity_doc(Resource=["*", "arn:aws::::b"]),
            "Resource vendor must be fully qualified and cannot contain regexes.",
            "Statement[0].Resource",
            "",
        ),
        (
            identity_doc(Condition={"StringEqualz": {"aws:username": "x"}}),
            "Syntax errors in policy.",
            "Statement[0].Condition.StringEqualz",
            "unknown condition operator StringEqualz",
        ),
        (
            identity_doc(Condition={"NullIfExists": {"aws:username": "true"}}),
            "Syntax errors in policy.",
            "Statement[0].Condition.NullIfExists",
            "unknown condition operator NullIfExists",
        ),
        (
            identity_doc(Condition={"StringEquals": {"username": "x"}}),
            validate.VENDOR,
            "Statement[0].Condition.StringEquals.username",
            "condition key username has no service prefix",
        ),
        (
            identity_doc(Condition={"StringEquals": {}}),
            "Syntax errors in policy.",
            "Statement[0].Condition.StringEquals",
            "",
        ),
        (
            identity_doc(Condition={"StringEquals": {"aws:username": {"a": 1}}}),
            "Syntax errors in policy.",
            "Statement[0].Condition.StringEquals.aws:username",
            "strings, numbers or booleans",
        ),
        (
            identity_doc(Condition={"NumericEquals": {"s3:max-keys": "ten"}}),
            "Syntax errors in policy.",
            "Statement[0].Condition.NumericEquals.s3:max-keys",
            "`ten` is not a valid value for NumericEquals",
        ),
        (
            identity_doc(Condition={"DateLessThan": {"aws:CurrentTime": "tomorrow"}}),
            "Syntax errors in policy.",
            "Statement[0].Condition.DateLessThan.aws:CurrentTime",
            "`tomorrow`",
        ),
        (
            identity_doc(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}),
            "Syntax errors in policy.",
            "Statement[0].Condition.IpAddress.aws:SourceIp",
            "10.0.0.0/33",
        ),
        (
            identity_doc(Condition={"BinaryEquals": {"s3:x": "not base64!"}}),
            "Syntax errors in policy.",
            "Statement[0].Condition.BinaryEquals.s3:x",
            "",
        ),
        (
            identity_doc(Condition={"Null": {"aws:username": "maybe"}}),
            "Syntax errors in policy.",
            "Statement[0].Condition.Null.aws:username",
            "",
        ),
        (identity_doc(Condition=["x"]), "Syntax errors in policy.", "Statement[0].Condition", ""),
        (
            {"Version": "2012-10-17", "Statement": []},
            "Syntax errors in policy.",
            "Statement",
            "non-empty",
        ),
        (
            {"Version": "2012-10-17", "Statement": "x"},
            "Syntax errors in policy.",
            "Statement",
            "",
        ),
        (
            {"Version": "2012-10-17", "Statement": ["x"]},
            "Syntax errors in policy.",
            "Statement[0]",
            "JSON object",
        ),
        ({"Version": "2012-10-17"}, "Syntax errors in policy.", "", "`Statement`"),
        (
            {**identity_doc(), "Version": "2012-10-18"},
            "Syntax errors in policy.",
            "Version",
            "2012-10-18",
        ),
        ({**identity_doc(), "Id": 3}, "Syntax errors in policy.", "Id", "string"),
        ({**identity_doc(), "Extra": 1}, "Syntax errors in policy.", "", "Extra"),
        ({1: 2}, "Syntax errors in policy.", "", "element names must be strings"),
        ([identity_doc()], "Syntax errors in policy.", "", "JSON object"),
        (None, "Syntax errors in policy.", "", "JSON object"),
    ],
)
def test_errors_name_aws_message_path_and_reason(
    document: Any, aws_message: str, path: str, reason_part: str
) -> None:
    error = rejects(document, PolicyKind.IDENTITY)
    assert error.aws_message == aws_message
    assert error.path == path
    assert plain(reason_part) in plain(error.reason)
    if path:
        assert f"at {path}" in str(error)


def test_duplicate_sid_points_at_the_second() -> None:
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "A", "Effect": "Allow", "Action": "s3:A", "Resource": "*"},
            {"Sid": "B", "Effect": "Allow", "Action": "s3:A", "Resource": "*"},
            {"Sid": "A", "Effect": "Deny", "Action": "s3:A", "Resource": "*"},
        ],
    }
    error = rejects(document, PolicyKind.IDENTITY)
    assert error.aws_message == "Statement IDs (SID) in a single policy must be unique."
    assert error.path == "Statement[2].Sid"


def test_error_in_a_later_statement_names_its_index() -> None:
    document = identity_doc()
    document["Statement"].append({"Effect": "Allow", "Action": "s3:A"})
    error = rejects(document, PolicyKind.IDENTITY)
    assert error.path == "Statement[1]"


@pytest.mark.parametrize(
    ("text", "reason_part"),
    [
        ("{", "not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('"text"', "JSON object"),
        ('{"Version": "2012-10-17", "Version": "2012-10-17", "Statement": []}', "twice"),
        (
            '{"Statement": {"Effect": "Allow", "Effect": "Deny", "Action": "s3:A",'
            ' "Resource": "*"}}',
            "Effect appears twice",
        ),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
        (" " * (validate.MAX_DOCUMENT_CHARS + 1), "longer than"),
    ],
)
def test_json_text_errors(text: str, reason_part: str) -> None:
    error = rejects(text, PolicyKind.IDENTITY)
    # IAM: unparseable text is "This policy contains invalid Json"; a parsed document of the
    # wrong shape is "Syntax errors in policy."
    expected = (
        "This policy contains invalid Json"
        if reason_part == "not valid JSON"
        else "Syntax errors in policy."
    )
    assert error.aws_message == expected
    assert plain(reason_part) in plain(error.reason)
    assert len(str(error)) < 500


def test_within_prefixes_the_path() -> None:
    error = rejects(without(identity_doc(), "Effect"), PolicyKind.IDENTITY)
    moved = error.within("identity[2]")
    assert moved.path == "identity[2].Statement[0].Effect"
    assert moved.aws_message == error.aws_message
    assert moved.reason == error.reason
    bare = errors.PolicyParseError("Syntax errors in policy.").within("resource")
    assert bare.path == "resource"
    assert str(bare) == "Syntax errors in policy. (at resource)"


def test_message_format() -> None:
    error = errors.PolicyParseError("Boom.", path="Statement[0]", reason="why")
    assert str(error) == "Boom. (at Statement[0]; why)"
    assert str(errors.PolicyParseError("Boom.")) == "Boom."
    assert str(errors.PolicyParseError("Boom.", reason="why")) == "Boom. (why)"


def test_policy_set_error_path_names_the_input() -> None:
    with pytest.raises(errors.PolicyParseError) as caught:
        policy.PolicySet(identity=[identity_doc(), without(identity_doc(), "Effect")])
    assert caught.value.path == "identity[1].Statement[0].Effect"
    with pytest.raises(errors.PolicyParseError) as caught:
        policy.PolicySet(scps=[[identity_doc()], [identity_doc(Effect="Maybe")]])
    assert caught.value.path == "scp[level 1][0].Statement[0].Effect"
    with pytest.raises(errors.PolicyParseError) as caught:
        policy.PolicySet(boundaries=[identity_doc(Principal="*")])
    assert caught.value.path == "boundary[0].Statement[0].Principal"


def test_number_out_of_any_decimal_range_is_a_parse_error() -> None:
    """Found by the fuzz test: ``Decimal`` raises InvalidOperation for such exponents."""
    text = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket",'
        '"Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":1e-999999999999999999999}}}]}'
    )
    with pytest.raises(errors.PolicyParseError) as caught:
        validate.parse_policy(text, PolicyKind.IDENTITY)
    assert "out of range" in str(caught.value.reason)
