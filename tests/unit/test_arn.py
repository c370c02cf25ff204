"""Unit and property tests of :mod:`kubetrust.arn`."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubetrust import arn, errors

ACCOUNT = "111122223333"

# --------------------------------------------------------------------------- parse


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        (
            "arn:aws:iam::111122223333:role/ci",
            ("aws", "iam", "", "111122223333", "role/ci"),
        ),
        (
            "arn:aws:sts::111122223333:assumed-role/ci/s1",
            ("aws", "sts", "", "111122223333", "assumed-role/ci/s1"),
        ),
        ("arn:aws:s3:::my-bucket/key", ("aws", "s3", "", "", "my-bucket/key")),
        (
            "arn:aws:iam::aws:policy/AdministratorAccess",
            ("aws", "iam", "", "aws", "policy/AdministratorAccess"),
        ),
        (
            "arn:aws-cn:ec2:cn-north-1:111122223333:instance/i-1",
            ("aws-cn", "ec2", "cn-north-1", "111122223333", "instance/i-1"),
        ),
        (
            "arn:aws-us-gov:iam::111122223333:root",
            ("aws-us-gov", "iam", "", "111122223333", "root"),
        ),
        (
            # the resource part keeps its colons: only the first five split
            "arn:aws:logs:us-east-1:111122223333:log-group:g:log-stream:s",
            ("aws", "logs", "us-east-1", "111122223333", "log-group:g:log-stream:s"),
        ),
        (
            "arn:aws:execute-api:eu-west-1:111122223333:api/stage/GET/a:b",
            ("aws", "execute-api", "eu-west-1", "111122223333", "api/stage/GET/a:b"),
        ),
        (
            "arn:aws:elasticloadbalancing.v2:us-east-1:111122223333:x",
            ("aws", "elasticloadbalancing.v2", "us-east-1", "111122223333", "x"),
        ),
    ],
)
def test_parse_fields_and_round_trip(text: str, fields: tuple[str, ...]) -> None:
    parsed = arn.parse(text)
    assert (parsed.partition, parsed.service, parsed.region, parsed.account, parsed.resource) == (
        fields
    )
    assert str(parsed) == text
    assert arn.Arn.parse(text) == parsed


@pytest.mark.parametrize(
    ("text", "resource_type", "resource_name", "path"),
    [
        ("arn:aws:iam::111122223333:role/ci", "role", "ci", "/"),
        ("arn:aws:iam::111122223333:role/team/a/ci", "role", "ci", "/team/a/"),
        ("arn:aws:iam::111122223333:user/u1", "user", "u1", "/"),
        ("arn:aws:iam::111122223333:user/dev/u1", "user", "u1", "/dev/"),
        ("arn:aws:iam::111122223333:root", "root", "root", "/"),
        ("arn:aws:sts::111122223333:federated-user/bob", "federated-user", "bob", "/"),
        (
            "arn:aws:logs:us-east-1:111122223333:log-group:g:log-stream:s",
            "log-group",
            "log-group:g:log-stream:s",
            "/",
        ),
        ("arn:aws:s3:::bucket", "bucket", "bucket", "/"),
    ],
)
def test_resource_type_name_path(
    text: str, resource_type: str, resource_name: str, path: str
) -> None:
    parsed = arn.parse(text)
    assert parsed.resource_type == resource_type
    assert parsed.resource_name == resource_name
    assert parsed.path == path


def test_session_resource_type_and_name() -> None:
    parsed = arn.parse("arn:aws:sts::111122223333:assumed-role/ci/sess")
    assert parsed.resource_type == "assumed-role"
    assert parsed.resource_name == "sess"


# ------------------------------------------------------------------------ malformed


@pytest.mark.parametrize(
    ("text", "reason_part"),
    [
        ("", "six fields"),
        ("arn", "six fields"),
        ("arn:aws:iam::111122223333", "six fields"),
        ("arn:aws:iam:111122223333:role/x", "six fields"),
        ("nra:aws:iam::111122223333:role/x", "must start with `arn:`"),
        ("ARN:aws:iam::111122223333:role/x", "must start with `arn:`"),
        ("arn:aws-moon:iam::111122223333:role/x", "unknown partition `aws-moon`"),
        ("arn:AWS:iam::111122223333:role/x", "unknown partition `AWS`"),
        ("arn::iam::111122223333:role/x", "unknown partition ``"),
        ("arn:aws:IAM::111122223333:role/x", "invalid service `IAM`"),
        ("arn:aws:::111122223333:role/x", "invalid service ``"),
        ("arn:aws:-iam::111122223333:role/x", "invalid service `-iam`"),
        ("arn:aws:iam:US-EAST-1:111122223333:role/x", "invalid region `US-EAST-1`"),
        ("arn:aws:iam:us east:111122223333:role/x", "invalid region `us east`"),
        ("arn:aws:iam::11112222333:role/x", "account `11112222333` is not 12 digits"),
        ("arn:aws:iam::1111222233334:role/x", "account `1111222233334` is not 12 digits"),
        ("arn:aws:iam::11112222333a:role/x", "is not 12 digits"),
        ("arn:aws:iam::AWS:role/x", "account `AWS` is not 12 digits"),
        ("arn:aws:iam:: 111122223333:role/x", "is not 12 digits"),
        ("arn:aws:iam::111122223333:", "the resource part is empty"),
        ("arn:aws:s3:::", "the resource part is empty"),
        ("arn:aws:iam::111122223333:" + "r" * 2048, "longer than 2048 characters"),
    ],
)
def test_parse_rejects_malformed_with_reason(text: str, reason_part: str) -> None:
    with pytest.raises(errors.InvalidArnError) as caught:
        arn.parse(text)
    assert reason_part in caught.value.reason
    assert caught.value.arn == text
    assert str(caught.value).startswith("invalid ARN `")
    assert isinstance(caught.value, errors.KubetrustError)


@pytest.mark.parametrize("value", [None, 42, b"arn:aws:iam::111122223333:root", ["arn"], {}])
def test_parse_rejects_non_strings(value: object) -> None:
    with pytest.raises(errors.InvalidArnError) as caught:
        arn.parse(value)
    assert caught.value.reason == "an ARN must be a string"
    assert caught.value.arn == repr(value)


def test_long_arn_is_shortened_in_the_message() -> None:
    text = "arn:aws:iam::111122223333:role/" + "x" * 3000
    with pytest.raises(errors.InvalidArnError) as caught:
        arn.parse(text)
    message = str(caught.value)
    assert len(message) < 400
    assert "..." in message
    assert caught.value.arn == text  # the full text stays available


def test_longest_accepted_arn_is_2048_characters() -> None:
    prefix = "arn:aws:s3:::"
    text = prefix + "b" * (arn.MAX_ARN_LENGTH - len(prefix))
    assert len(text) == arn.MAX_ARN_LENGTH
    assert str(arn.parse(text)) == text
    with pytest.raises(errors.InvalidArnError):
        arn.parse(text + "b")


def test_account_must_be_ascii_digits() -> None:
    """Twelve *ASCII* digits: ``\\d`` in Python also matches Arabic-Indic and other digits,
    which are never part of an AWS account id."""
    arabic_indic = "\u0661" * 12  # '١١١١١١١١١١١١'
    with pytest.raises(errors.InvalidArnError):
        arn.parse(f"arn:aws:iam::{arabic_indic}:root")


# --------------------------------------------------------------------- canonicalize


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        (
            "arn:aws:sts::111122223333:assumed-role/ci/s1",
            "arn:aws:iam::111122223333:role/ci",
        ),
        (
            "arn:aws:sts::111122223333:assumed-role/ci/botocore-session-1",
            "arn:aws:iam::111122223333:role/ci",
        ),
        (
            # a regional STS endpoint's ARN: the canonical role ARN has no region
            "arn:aws:sts:us-east-1:111122223333:assumed-role/ci/s1",
            "arn:aws:iam::111122223333:role/ci",
        ),
        (
            "arn:aws-cn:sts::111122223333:assumed-role/ci/s1",
            "arn:aws-cn:iam::111122223333:role/ci",
        ),
        (
            # the session name may itself contain a slash-free e-mail or an @
            "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_1/bob@example.com",
            "arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_1",
        ),
        # unchanged
        (
            "arn:aws:sts::111122223333:federated-user/bob",
            "arn:aws:sts::111122223333:federated-user/bob",
        ),
        ("arn:aws:iam::111122223333:role/ci", "arn:aws:iam::111122223333:role/ci"),
        ("arn:aws:iam::111122223333:role/path/ci", "arn:aws:iam::111122223333:role/path/ci"),
        ("arn:aws:iam::111122223333:user/u", "arn:aws:iam::111122223333:user/u"),
        ("arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:root"),
    ],
)
def test_canonicalize(text: str, canonical: str) -> None:
    assert arn.canonicalize(text) == canonical
    assert str(arn.parse(text).canonical()) == canonical


@pytest.mark.parametrize(
    ("text", "reason_part"),
    [
        ("arn:aws:sts::111122223333:assumed-role/ci", "assumed-role/ROLE/SESSION"),
        ("arn:aws:sts::111122223333:assumed-role/ci/", "assumed-role/ROLE/SESSION"),
        ("arn:aws:sts::111122223333:assumed-role//s", "assumed-role/ROLE/SESSION"),
        ("arn:aws:sts::111122223333:assumed-role", "assumed-role/ROLE/SESSION"),
        ("arn:aws:sts::111122223333:session/x", "unrecognized resource `session` for service sts"),
        ("arn:aws:iam::111122223333:policy/p", "not an IAM user, role, root or STS session"),
        ("arn:aws:iam::111122223333:group/g", "not an IAM user, role, root or STS session"),
        ("arn:aws:iam::111122223333:oidc-provider/x", "not an IAM user, role, root or STS"),
        ("arn:aws:s3:::bucket", "not an IAM user, role, root or STS session"),
        ("arn:aws:ec2:us-east-1:111122223333:role/x", "not an IAM user, role, root or STS"),
        ("arn:aws:iam::111122223333:", "the resource part is empty"),
        ("not-an-arn", "six fields"),
    ],
)
def test_canonicalize_rejects(text: str, reason_part: str) -> None:
    with pytest.raises(errors.InvalidArnError) as caught:
        arn.canonicalize(text)
    assert reason_part in caught.value.reason


def test_canonicalize_rejects_non_string() -> None:
    with pytest.raises(errors.InvalidArnError):
        arn.canonicalize(12345)  # type: ignore[arg-type]


# ------------------------------------------------------------------------- builders


def test_builders() -> None:
    assert arn.role_arn(ACCOUNT, "ci") == "arn:aws:iam::111122223333:role/ci"
    assert arn.role_arn(ACCOUNT, "ci", path="/a/b/") == "arn:aws:iam::111122223333:role/a/b/ci"
    assert (
        arn.assumed_role_arn(ACCOUNT, "ci", "s", partition="aws-cn")
        == "arn:aws-cn:sts::111122223333:assumed-role/ci/s"
    )
    assert arn.format_arn(service="s3", account="", resource="b") == "arn:aws:s3:::b"
    with pytest.raises(errors.InvalidArnError):
        arn.role_arn("123", "ci")
    with pytest.raises(errors.InvalidArnError):
        arn.format_arn(partition="nope", service="s3", account="", resource="b")


# ------------------------------------------------------------------------ properties

_services = st.from_regex(r"[a-z0-9][a-z0-9.\-]{0,15}", fullmatch=True)
_regions = st.from_regex(r"[a-z0-9\-]{0,15}", fullmatch=True)
_accounts = st.one_of(
    st.just(""),
    st.just("aws"),
    st.text(alphabet=string.digits, min_size=12, max_size=12),
)
_resources = st.text(min_size=1, max_size=200)


@st.composite
def valid_arns(draw: st.DrawFn) -> str:
    return (
        f"arn:{draw(st.sampled_from(sorted(arn.PARTITIONS)))}:{draw(_services)}:"
        f"{draw(_regions)}:{draw(_accounts)}:{draw(_resources)}"
    )


_names = st.text(alphabet=string.ascii_letters + string.digits + "+=,.@_-", min_size=1, max_size=30)


@st.composite
def principal_arns(draw: st.DrawFn) -> str:
    partition = draw(st.sampled_from(sorted(arn.PARTITIONS)))
    account = draw(st.text(alphabet=string.digits, min_size=12, max_size=12))
    kind = draw(st.sampled_from(["role", "user", "root", "assumed-role", "federated-user"]))
    if kind == "root":
        return f"arn:{partition}:iam::{account}:root"
    if kind in ("role", "user"):
        path = draw(st.lists(_names, max_size=3))
        middle = "/".join(path) + "/" if path else ""
        return f"arn:{partition}:iam::{account}:{kind}/{middle}{draw(_names)}"
    if kind == "federated-user":
        return f"arn:{partition}:sts::{account}:federated-user/{draw(_names)}"
    return f"arn:{partition}:sts::{account}:assumed-role/{draw(_names)}/{draw(_names)}"


@settings(max_examples=300, deadline=None)
@given(valid_arns())
def test_property_valid_arn_round_trips(text: str) -> None:
    parsed = arn.parse(text)
    assert str(parsed) == text
    assert arn.parse(str(parsed)) == parsed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=300),
        st.builds(lambda rest: "arn:" + rest, st.text(max_size=100)),
        st.builds(
            ":".join,
            st.lists(st.text(alphabet="arnws3iam0123456789-/ :*", max_size=14), max_size=8),
        ),
    )
)
def test_property_parse_returns_or_raises_invalid_arn(text: str) -> None:
    try:
        parsed = arn.parse(text)
    except errors.InvalidArnError as exc:
        assert exc.reason
        assert exc.arn == text
    else:
        assert str(parsed) == text


@settings(max_examples=200, deadline=None)
@given(principal_arns())
def test_property_canonicalize_principals_is_idempotent(text: str) -> None:
    once = arn.canonicalize(text)
    assert arn.canonicalize(once) == once
    parsed = arn.parse(once)
    if arn.parse(text).resource_type == "assumed-role":
        assert parsed.service == "iam"
        assert parsed.resource_type == "role"
        assert parsed.path == "/"
    else:
        assert once == text


@settings(max_examples=300, deadline=None)
@given(st.one_of(valid_arns(), st.text(max_size=80)))
def test_property_canonicalize_any_text_is_idempotent_or_refuses(text: str) -> None:
    try:
        once = arn.canonicalize(text)
    except errors.InvalidArnError as exc:
        assert exc.reason
        return
    assert arn.canonicalize(once) == once
