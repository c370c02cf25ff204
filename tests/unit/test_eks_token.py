"""Unit, property and fuzz tests of :mod:`kubetrust.eks_token`.

The table of malformed tokens mirrors aws-iam-authenticator's
``TestVerifyTokenPreSTSValidations`` (``pkg/token/token_test.go``): one row per guard,
expecting the guard and the authenticator's message. Real tokens come from the ``aws``
CLI (``aws eks get-token``), which presigns offline with dummy credentials.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import pickle
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubetrust import eks_presign, eks_token, errors
from kubetrust.adapters.token import eks_bearer_token
from kubetrust.eks_token import Guard, TokenFormatError

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
AMZ_DATE = "20260102T030405Z"
AKID = "AKIAEXAMPLE00000000"
HOSTS = ("sts.amazonaws.com", "sts.us-east-1.amazonaws.com")
SIGNATURE = "0123456789abcdef" * 4
BASE_PARAMS: dict[str, str] = {
    "Action": "GetCallerIdentity",
    "Version": "2011-06-15",
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": f"{AKID}/20260102/us-east-1/sts/aws4_request",
    "X-Amz-Date": AMZ_DATE,
    "X-Amz-Expires": "60",
    "X-Amz-SignedHeaders": "host;x-k8s-aws-id",
    "X-Amz-Signature": SIGNATURE,
}

FUZZ = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _url(
    changes: dict[str, str | None] | None = None,
    *,
    extra: tuple[tuple[str, str], ...] = (),
    base: str = "https://sts.amazonaws.com/",
) -> str:
    """A presigned-looking URL: the base parameters, with ``changes`` (``None`` removes)."""
    params: dict[str, str | None] = {**BASE_PARAMS, **(changes or {})}
    pairs = [(key, value) for key, value in params.items() if value is not None]
    return f"{base}?{urlencode([*pairs, *extra])}"


def _raw(query: str, base: str = "https://sts.amazonaws.com/") -> str:
    return eks_token.encode(base + "?" + query)


def _check(token: object, **options: object) -> eks_token.PresignedIdentityRequest:
    """``eks_token.check`` with this module's defaults; any option can be overridden."""
    merged = {"cluster_id": "my-cluster", "sts_hosts": HOSTS, "now": NOW, **options}
    return eks_token.check(token, **merged)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- codec


def test_encode_is_prefix_plus_unpadded_base64url() -> None:
    url = "https://sts.amazonaws.com/?Action=GetCallerIdentity&a=b~"
    token = eks_token.encode(url)
    body = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    assert token == "k8s-aws-v1." + body
    assert "=" not in token
    assert eks_token.decode(token) == url


@pytest.mark.parametrize("url", ["", "h", "ht", "htt", "https://sts.amazonaws.com/?é=ü"])
def test_round_trip_every_padding_length(url: str) -> None:
    assert eks_token.decode(eks_token.encode(url)) == url


def test_decode_skips_newlines_like_go() -> None:
    # Go's base64 decoders ignore \r and \n anywhere in the input
    token = eks_token.encode("https://sts.amazonaws.com/")
    folded = token[:15] + "\r\n" + token[15:20] + "\n" + token[20:]
    assert eks_token.decode(folded) == "https://sts.amazonaws.com/"


def test_decode_refuses_padding_like_raw_url_encoding() -> None:
    token = eks_token.encode("ab")  # "YWI": one pad character short
    with pytest.raises(TokenFormatError) as caught:
        eks_token.decode(token + "=")
    assert caught.value.reason == "illegal base64 data at input byte 3"
    assert caught.value.guard is Guard.BASE64


def test_error_shape() -> None:
    with pytest.raises(TokenFormatError) as caught:
        eks_token.decode("k8s-aws-v2.x")
    error = caught.value
    assert isinstance(error, errors.KubetrustError)
    assert (
        str(error)
        == 'input token was not properly formatted: token is missing expected "k8s-aws-v1." prefix'
    )
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.reason, copy.guard, str(copy)) == (error.reason, error.guard, str(error))


@FUZZ
@given(st.text())
def test_property_round_trip_arbitrary_urls(url: str) -> None:
    token = eks_token.encode(url)
    assert token.startswith("k8s-aws-v1.")
    assert set(token[11:]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    assert eks_token.decode(token) == url


# --------------------------------------------------------------------------- check: accepted


def test_accepts_a_well_formed_token() -> None:
    request = _check(eks_token.encode(_url()))
    assert request.host == "sts.amazonaws.com"
    assert (request.scheme, request.path, request.method) == ("https", "/", "GET")
    assert request.access_key_id == AKID
    assert (request.region, request.service) == ("us-east-1", "sts")
    assert request.credential_scope == "20260102/us-east-1/sts/aws4_request"
    assert request.signed_at == NOW
    assert request.expires_at == NOW + timedelta(minutes=15)
    assert request.expires_seconds == 60
    assert request.signed_headers == ("host", "x-k8s-aws-id")
    assert request.signature == SIGNATURE
    assert request.security_token is None
    assert request.cluster_id_header_required is True
    assert request.query == tuple(BASE_PARAMS.items())
    assert request.param("x-amz-date") == AMZ_DATE
    assert request.param("nope") is None
    assert request.replay_headers() == {"host": "sts.amazonaws.com", "x-k8s-aws-id": "my-cluster"}


_LOWER = [(key.lower(), value) for key, value in BASE_PARAMS.items()]
_Y9999 = f"{AKID}/99991231/us-east-1/sts/aws4_request"

# (id, URL, options for check): tokens the authenticator accepts, quirks included
ACCEPTED: list[tuple[str, str, dict[str, object]]] = [
    # no Version parameter: the authenticator never requires it
    ("no-version", _url({"Version": None}), {}),
    # parameter names are compared lowercased, as the authenticator does
    ("lowercase-names", "https://sts.amazonaws.com/?" + urlencode(_LOWER), {}),
    ("expires-0", _url({"X-Amz-Expires": "0"}), {}),
    ("expires-900", _url({"X-Amz-Expires": "900"}), {}),
    ("expires-go-atoi-sign", _url({"X-Amz-Expires": "+60"}), {}),
    # Go lowercases the scheme when it parses a URL
    ("scheme-case", _url(base="HTTPS://sts.amazonaws.com/"), {}),
    # Go's URL.Host leaves out user info
    ("userinfo", _url(base="https://u:p@sts.amazonaws.com/"), {}),
    ("fragment", _url() + "#frag", {}),
    ("hosts-as-str", _url(), {"sts_hosts": "sts.amazonaws.com"}),
    (
        "sandbox",
        _url(base="http://127.0.0.1:9/"),
        {"sts_hosts": ["127.0.0.1:9"], "schemes": ["HTTP"]},
    ),
    ("security-token", _url({"X-Amz-Security-Token": "IQo+/="}), {}),
    # there is no check for a date in the future
    ("future-date", _url(), {"now": NOW - timedelta(days=365)}),
    ("naive-now-is-utc", _url(), {"now": NOW.replace(tzinfo=None)}),
    ("expiry-boundary", _url(), {"now": NOW + timedelta(minutes=15)}),
    ("year-9999", _url({"X-Amz-Date": "99991231T235959Z", "X-Amz-Credential": _Y9999}), {}),
]


@pytest.mark.parametrize(("url", "kwargs"), [pytest.param(*row[1:], id=row[0]) for row in ACCEPTED])
def test_accepts_variants(url: str, kwargs: dict[str, object]) -> None:
    request = _check(eks_token.encode(url), **kwargs)
    assert request.access_key_id == AKID
    assert request.url == url


def test_security_token_is_decoded() -> None:
    request = _check(eks_token.encode(_url({"X-Amz-Security-Token": "IQo+/="})))
    assert request.security_token == "IQo+/="


# --------------------------------------------------------------------------- check: refused

_EXPIRED = NOW + timedelta(minutes=15, microseconds=1)
_SCOPE = "/20260102/us-east-1/sts/aws4_request"


def _b64(data: bytes) -> str:
    return "k8s-aws-v1." + base64.urlsafe_b64encode(data).decode().rstrip("=")


# (id, token, guard, part of the reason): tokens broken before or while decoding
TOKEN_CASES: list[tuple[str, object, Guard, str]] = [
    ("not-a-string", b"k8s-aws-v1.", Guard.TYPE, "a token must be a string, not bytes"),
    ("too-large", "k8s-aws-v1." + "A" * 4086, Guard.SIZE, "token is too large (4097 bytes"),
    ("too-large-utf8", "k8s-aws-v1." + "é" * 2043, Guard.SIZE, "token is too large (4097 bytes"),
    ("prefix", "k8s-aws-v2.asdfasdfa", Guard.PREFIX, 'missing expected "k8s-aws-v1." prefix'),
    (
        "base64-length",
        "k8s-aws-v1.decodingerror",
        Guard.BASE64,
        "illegal base64 data at input byte 12",
    ),
    ("base64-alphabet", "k8s-aws-v1.ab+c", Guard.BASE64, "illegal base64 data at input byte 2"),
    ("base64-padding", "k8s-aws-v1.YWI=", Guard.BASE64, "illegal base64 data at input byte 3"),
    ("utf8", _b64(b"\xff\xfe"), Guard.TEXT, "not UTF-8"),
]

# (id, URL, guard, part of the reason): URLs broken outside the query
URL_CASES: list[tuple[str, str, Guard, str]] = [
    ("url-scheme-missing", ":ab:cd.af:/asda", Guard.URL, "missing protocol scheme"),
    ("url-control", "https://sts.amazonaws.com/\x00", Guard.URL, "invalid control character"),
    ("url-space", " https://sts.amazonaws.com/", Guard.URL, "or space in URL at offset 0"),
    ("url-ipv6", "https://[::1/", Guard.URL, "cannot parse the pre-signed URL"),
    ("url-escape", "https://sts.amazonaws.com/%zz", Guard.URL, "invalid URL escape `%zz`"),
    ("scheme", "http://", Guard.SCHEME, "unexpected scheme `http` in pre-signed URL"),
    ("scheme-none", "sts.amazonaws.com/", Guard.SCHEME, "unexpected scheme ``"),
    ("host", "https://google.com", Guard.HOST, "unexpected hostname `google.com` in pre-signed"),
    ("host-port", _url(base="https://sts.amazonaws.com:443/"), Guard.HOST, "unexpected hostname"),
    ("host-case", _url(base="https://STS.amazonaws.com/"), Guard.HOST, "unexpected hostname"),
    ("path", "https://sts.amazonaws.com/abc", Guard.PATH, "unexpected path in pre-signed URL"),
    ("path-empty", _url(base="https://sts.amazonaws.com"), Guard.PATH, "unexpected path"),
]

# (id, raw query, guard, part of the reason): the authenticator's own query cases
QUERY_CASES: list[tuple[str, str, Guard, str]] = [
    (
        "query-escape",
        "Action=GetCallerIdentity&x-amz-expires=60%gh",
        Guard.QUERY,
        "malformed query",
    ),
    ("query-semicolon", "Action=GetCallerIdentity;Version=1", Guard.QUERY, "semicolon separator"),
    ("query-utf8", "Action=%ff", Guard.QUERY, "malformed query parameter"),
    ("parameter", "NoInWhiteList=abc", Guard.PARAMETER, "non-whitelisted query parameter `NoIn"),
    ("parameter-no-name", "=abc", Guard.PARAMETER, "non-whitelisted query parameter ``"),
    ("multiple-values", "action=get&action=post", Guard.MULTIPLE_VALUES, "with multiple values"),
    ("action", "action=NotGetCallerIdenity", Guard.ACTION, "unexpected action parameter in pre-"),
    (
        "signed-headers",
        "action=GetCallerIdentity&x-amz-signedheaders=abc%3bx-k8s-aws-i%3bdef",
        Guard.SIGNED_HEADERS,
        "client did not sign the x-k8s-aws-id header in the pre-signed URL",
    ),
]

# (id, parameter changes to a good URL (None removes), guard, part of the reason)
PARAM_CASES: list[tuple[str, dict[str, str | None], Guard, str]] = [
    ("duplicate", {"x-amz-credential": "eve"}, Guard.DUPLICATE, "duplicate query parameter found"),
    ("action-missing", {"Action": None}, Guard.ACTION, "unexpected action parameter"),
    ("action-case", {"Action": "getcalleridentity"}, Guard.ACTION, "unexpected action parameter"),
    ("version", {"Version": "2012-01-01"}, Guard.VERSION, "unexpected version parameter"),
    ("signed-headers-missing", {"X-Amz-SignedHeaders": None}, Guard.SIGNED_HEADERS, "not sign"),
    ("expires-large", {"X-Amz-Expires": "9999999"}, Guard.EXPIRES, "invalid X-Amz-Expires param"),
    ("expires-negative", {"X-Amz-Expires": "-1"}, Guard.EXPIRES, "invalid X-Amz-Expires"),
    ("expires-text", {"X-Amz-Expires": "6O"}, Guard.EXPIRES, "invalid X-Amz-Expires"),
    ("expires-space", {"X-Amz-Expires": " 60"}, Guard.EXPIRES, "invalid X-Amz-Expires"),
    ("expires-unicode-digits", {"X-Amz-Expires": "٦٠"}, Guard.EXPIRES, "invalid X-Amz-Expires"),
    ("expires-missing", {"X-Amz-Expires": None}, Guard.EXPIRES, "invalid X-Amz-Expires"),
    ("date-missing", {"X-Amz-Date": None}, Guard.DATE, "X-Amz-Date parameter must be present"),
    ("date-format", {"X-Amz-Date": "xxxxxxx"}, Guard.DATE, "error parsing X-Amz-Date parameter"),
    ("date-month", {"X-Amz-Date": "20261301T000000Z"}, Guard.DATE, "error parsing X-Amz-Date"),
    ("date-iso", {"X-Amz-Date": "2026-01-02T03:04:05Z"}, Guard.DATE, "error parsing X-Amz-Date"),
    ("expired", {"X-Amz-Date": "19900422T010203Z"}, Guard.EXPIRED, "is expired (15 minute"),
    ("algorithm", {"X-Amz-Algorithm": "AWS4-HMAC-SHA1"}, Guard.ALGORITHM, "unexpected X-Amz-Alg"),
    ("algorithm-missing", {"X-Amz-Algorithm": None}, Guard.ALGORITHM, "unexpected X-Amz-Alg"),
    ("credential-missing", {"X-Amz-Credential": None}, Guard.CREDENTIAL, "malformed X-Amz-Cred"),
    (
        "credential-short",
        {"X-Amz-Credential": AKID + "/20260102/us-east-1/sts"},
        Guard.CREDENTIAL,
        "malformed X-Amz-Credential",
    ),
    ("credential-no-key", {"X-Amz-Credential": _SCOPE}, Guard.CREDENTIAL, "malformed X-Amz-Cred"),
    (
        "credential-date",
        {"X-Amz-Credential": AKID + _SCOPE.replace("02", "01", 1)},
        Guard.CREDENTIAL,
        "is not the date of X-Amz-Date `20260102`",
    ),
    (
        "credential-region",
        {"X-Amz-Credential": AKID + _SCOPE.replace("us-east-1", "-us")},
        Guard.CREDENTIAL,
        "invalid region `-us`",
    ),
    (
        "credential-service",
        {"X-Amz-Credential": AKID + _SCOPE.replace("sts", "s3")},
        Guard.CREDENTIAL,
        "scoped to service `s3`, not `sts`",
    ),
    ("signature-missing", {"X-Amz-Signature": None}, Guard.SIGNATURE, "must be present"),
    ("signature-malformed", {"X-Amz-Signature": "XYZ"}, Guard.SIGNATURE, "malformed X-Amz-Sig"),
]


def _duplicate_url(changes: dict[str, str | None]) -> str:
    # a new name that only differs in case is appended rather than replacing
    new = {k: v for k, v in changes.items() if k not in BASE_PARAMS}
    kept = {k: v for k, v in changes.items() if k in BASE_PARAMS}
    return _url(kept, extra=tuple((k, v) for k, v in new.items() if v is not None))


MALFORMED: list[tuple[str, object, Guard, str]] = [
    *TOKEN_CASES,
    *((name, eks_token.encode(url), guard, why) for name, url, guard, why in URL_CASES),
    *((name, _raw(query), guard, why) for name, query, guard, why in QUERY_CASES),
    *(
        (name, eks_token.encode(_duplicate_url(changes)), guard, why)
        for name, changes, guard, why in PARAM_CASES
    ),
]


@pytest.mark.parametrize(
    ("token", "guard", "reason"), [pytest.param(*row[1:], id=row[0]) for row in MALFORMED]
)
def test_refuses_malformed(token: str, guard: Guard, reason: str) -> None:
    with pytest.raises(TokenFormatError) as caught:
        _check(token)
    assert caught.value.guard is guard
    assert reason in caught.value.reason
    assert str(caught.value) == "input token was not properly formatted: " + caught.value.reason


def test_table_covers_every_guard() -> None:
    assert {row[2] for row in MALFORMED} == set(Guard)


@pytest.mark.parametrize(
    ("token", "guard"),
    [
        pytest.param("x" * 5000, Guard.SIZE, id="size-before-prefix"),
        pytest.param(
            eks_token.encode("http://google.com/abc"), Guard.SCHEME, id="scheme-before-host"
        ),
        pytest.param(eks_token.encode("https://google.com/abc"), Guard.HOST, id="host-before-path"),
        pytest.param(
            eks_token.encode("https://sts.amazonaws.com/abc?a%zz"),
            Guard.PATH,
            id="path-before-query",
        ),
        pytest.param(
            _raw("Foo=1&action=a&Action=b"), Guard.DUPLICATE, id="duplicate-before-allow-list"
        ),
        pytest.param(_raw("Foo=1&Action=Nope"), Guard.PARAMETER, id="allow-list-before-action"),
        pytest.param(_raw("Action=Nope&Version=x"), Guard.ACTION, id="action-before-version"),
        pytest.param(
            _raw("Action=GetCallerIdentity&Version=x&X-Amz-SignedHeaders=host"),
            Guard.VERSION,
            id="version-before-headers",
        ),
        pytest.param(
            eks_token.encode(_url({"X-Amz-SignedHeaders": "host", "X-Amz-Expires": "x"})),
            Guard.SIGNED_HEADERS,
            id="headers-before-expires",
        ),
        pytest.param(
            eks_token.encode(_url({"X-Amz-Expires": "x", "X-Amz-Date": None})),
            Guard.EXPIRES,
            id="expires-before-date",
        ),
        pytest.param(
            eks_token.encode(_url({"X-Amz-Date": "19900422T010203Z", "X-Amz-Algorithm": None})),
            Guard.EXPIRED,
            id="expiry-before-additions",
        ),
    ],
)
def test_first_failing_guard_wins(token: str, guard: Guard) -> None:
    with pytest.raises(TokenFormatError) as caught:
        _check(token)
    assert caught.value.guard is guard


def test_expiry_is_fifteen_minutes_whatever_x_amz_expires_says() -> None:
    token = eks_token.encode(_url({"X-Amz-Expires": "0"}))
    assert _check(token, now=NOW + timedelta(minutes=15)).expires_seconds == 0
    with pytest.raises(TokenFormatError) as caught:
        _check(token, now=_EXPIRED)
    assert caught.value.guard is Guard.EXPIRED


def test_default_schemes_refuse_http() -> None:
    token = eks_token.encode(_url(base="http://127.0.0.1:9/"))
    with pytest.raises(TokenFormatError) as caught:
        _check(token, sts_hosts=["127.0.0.1:9"])
    assert caught.value.guard is Guard.SCHEME


# --------------------------------------------------------------------------- real tokens


def _aws_cli() -> str | None:
    beside = Path(sys.executable).with_name("aws")
    return str(beside) if beside.exists() else shutil.which("aws")


@pytest.fixture(scope="module")
def cli_tokens(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Tokens from ``aws eks get-token``: the default endpoint and a sandbox-like one."""
    aws = _aws_cli()
    if aws is None:
        pytest.skip("the aws CLI is not installed (extra `clients`)")
    home = tmp_path_factory.mktemp("home")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": AKID,
        "AWS_SECRET_ACCESS_KEY": "x",
    }
    command = [aws, "eks", "get-token", "--cluster-name", "my-cluster", "--region", "us-east-1"]
    runs = {
        "default": subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True),
        "endpoint": subprocess.Popen(
            command,
            env={**env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
            stdout=subprocess.PIPE,
            text=True,
        ),
    }
    tokens = {}
    for name, run in runs.items():
        out, _ = run.communicate(timeout=60)
        assert run.returncode == 0, out
        tokens[name] = json.loads(out)["status"]["token"]
    return tokens


def _sigv4(request: eks_token.PresignedIdentityRequest, secret: str) -> str:
    """Recompute a presigned SigV4 signature from what ``check`` returns (stdlib only)."""

    def enc(text: str) -> str:
        return quote(text, safe="-_.~")

    def mac(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode(), hashlib.sha256).digest()

    pairs = sorted((k, v) for k, v in request.query if k != "X-Amz-Signature")
    headers = request.replay_headers()
    canonical = "\n".join(
        [
            request.method,
            request.path,
            "&".join(f"{enc(k)}={enc(v)}" for k, v in pairs),
            "".join(f"{name}:{headers[name]}\n" for name in request.signed_headers),
            ";".join(request.signed_headers),
            hashlib.sha256(b"").hexdigest(),
        ]
    )
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            request.signed_at.strftime("%Y%m%dT%H%M%SZ"),
            request.credential_scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = ("AWS4" + secret).encode()
    for part in request.credential_scope.split("/"):
        key = mac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


@pytest.mark.e2e  # the aws CLI runs as a subprocess
def test_real_token_default_endpoint(cli_tokens: dict[str, str]) -> None:
    now = datetime.now(UTC)
    request = _check(cli_tokens["default"], now=now)
    assert request.host in HOSTS
    assert request.scheme == "https"
    assert request.access_key_id == AKID
    assert (request.region, request.service) == ("us-east-1", "sts")
    assert request.signed_headers == ("host", "x-k8s-aws-id")
    assert request.expires_seconds == 60
    assert request.param("Version") == "2011-06-15"
    assert abs(request.signed_at - now) < timedelta(minutes=5)
    # what check returns is enough to recompute the signature, and it binds the cluster
    assert _sigv4(request, "x") == request.signature
    other = _check(cli_tokens["default"], now=now, cluster_id="other-cluster")
    assert _sigv4(other, "x") != request.signature


@pytest.mark.e2e  # the aws CLI runs as a subprocess
def test_real_token_custom_endpoint(cli_tokens: dict[str, str]) -> None:
    now = datetime.now(UTC)
    token = cli_tokens["endpoint"]
    request = _check(token, now=now, sts_hosts={"127.0.0.1:9"}, schemes=("https", "http"))
    assert (request.scheme, request.host) == ("http", "127.0.0.1:9")
    assert request.access_key_id == AKID
    assert request.region == "us-east-1"
    assert request.signed_headers == ("host", "x-k8s-aws-id")
    assert _sigv4(request, "x") == request.signature
    with pytest.raises(TokenFormatError) as caught:
        _check(token, now=now, sts_hosts={"127.0.0.1:9"})
    assert caught.value.guard is Guard.SCHEME
    with pytest.raises(TokenFormatError) as caught:
        _check(token, now=now, schemes=("http",))
    assert caught.value.guard is Guard.HOST


@pytest.mark.e2e  # the aws CLI runs as a subprocess
def test_real_token_expires_after_fifteen_minutes(cli_tokens: dict[str, str]) -> None:
    request = _check(cli_tokens["default"], now=datetime.now(UTC))
    assert _check(cli_tokens["default"], now=request.expires_at).signed_at == request.signed_at
    with pytest.raises(TokenFormatError) as caught:
        _check(cli_tokens["default"], now=request.signed_at + timedelta(minutes=15, seconds=1))
    assert caught.value.guard is Guard.EXPIRED
    assert "X-Amz-Date parameter is expired (15 minute expiration)" in caught.value.reason


# --------------------------------------------------------------------------- the presigner
SANDBOX_STS = "http://127.0.0.1:9"


def _sandbox_check(token: str, **options: object) -> eks_token.PresignedIdentityRequest:
    merged: dict[str, object] = {"sts_hosts": {"127.0.0.1:9"}, "schemes": ("https", "http")}
    return _check(token, now=datetime.now(UTC), **{**merged, **options})


def _presigned_query(token: str) -> dict[str, str]:
    """The token's query, less what changes from one second to the next."""
    request = _sandbox_check(token)
    return {k: v for k, v in request.query if k not in ("X-Amz-Date", "X-Amz-Signature")}


def test_presign_with_keys_signs_the_cluster_id_like_the_cli() -> None:
    token = eks_presign.presign_with_keys(SANDBOX_STS, "us-east-1", "my-cluster", AKID, "x")
    request = _sandbox_check(token)
    assert (request.scheme, request.host, request.path) == ("http", "127.0.0.1:9", "/")
    assert (request.access_key_id, request.region, request.service) == (AKID, "us-east-1", "sts")
    assert request.signed_headers == ("host", "x-k8s-aws-id")
    assert request.expires_seconds == eks_presign.TOKEN_EXPIRES_SECONDS == 60
    assert _sigv4(request, "x") == request.signature
    assert _sigv4(request, "y") != request.signature
    other = _sandbox_check(token, cluster_id="other-cluster")
    assert _sigv4(other, "x") != request.signature


def test_presign_with_keys_carries_the_session_token() -> None:
    token = eks_presign.presign_with_keys(
        SANDBOX_STS + "/", "eu-west-1", "my-cluster", AKID, "x", "session/token+1"
    )
    request = _sandbox_check(token)
    assert request.param("X-Amz-Security-Token") == "session/token+1"
    assert request.region == "eu-west-1"
    assert request.path == "/"
    assert _sigv4(request, "x") == request.signature


def test_presign_with_client_and_with_keys_make_the_same_token() -> None:
    """The adapters' path (a boto3 session's STS client, as ``aws eks get-token``) and the
    sandbox's (keys and an endpoint) differ only in the time they sign at."""
    session = boto3.session.Session(
        aws_access_key_id=AKID, aws_secret_access_key="x", region_name="us-east-1"
    )
    from_client = eks_bearer_token(session, "my-cluster", "us-east-1", SANDBOX_STS)
    from_keys = eks_presign.presign_with_keys(SANDBOX_STS, "us-east-1", "my-cluster", AKID, "x")
    assert _presigned_query(from_client) == _presigned_query(from_keys)
    request = _sandbox_check(from_client)
    assert request.signed_headers == ("host", "x-k8s-aws-id")
    assert _sigv4(request, "x") == request.signature


@pytest.mark.e2e  # the aws CLI runs as a subprocess
def test_presign_with_keys_matches_the_aws_cli(cli_tokens: dict[str, str]) -> None:
    ours = eks_presign.presign_with_keys(SANDBOX_STS, "us-east-1", "my-cluster", AKID, "x")
    assert _presigned_query(ours) == _presigned_query(cli_tokens["endpoint"])


# --------------------------------------------------------------------------- fuzz

_FRAGMENTS = [
    *"@:/?&=;#%+ []é",
    *["\x00", "\n", "https://", "http://", "HTTPS://", "sts.amazonaws.com", "127.0.0.1:9"],
    *["%2F", "%zz", "\udcff", "Action", "GetCallerIdentity", "Version", "2011-06-15"],
    *["X-Amz-Date", AMZ_DATE, "99991231T235959Z", "00000101T000000Z", "X-Amz-Expires", "-1"],
    *[
        "X-Amz-SignedHeaders",
        "host;x-k8s-aws-id",
        "x-amz-credential",
        BASE_PARAMS["X-Amz-Credential"],
    ],
    *["X-Amz-Algorithm", "AWS4-HMAC-SHA256", "X-Amz-Signature", SIGNATURE],
]
_PLAIN_FRAGMENTS = [piece for piece in _FRAGMENTS if "\udcff" not in piece]
_VALID_URL = _url()


def _outcome(token: object) -> None:
    """``check`` either accepts or raises TokenFormatError: nothing else, ever."""
    try:
        request = _check(token, sts_hosts=(*HOSTS, "127.0.0.1:9"), schemes=("https", "http"))
    except TokenFormatError as error:
        assert error.guard is not None
        assert error.reason
    else:
        assert request.cluster_id_header_required


@FUZZ
@given(st.one_of(st.text(), st.binary(), st.binary().map(lambda b: b.decode("latin-1"))))
def test_fuzz_arbitrary_tokens(token: str | bytes) -> None:
    _outcome(token)
    with contextlib.suppress(TokenFormatError):
        eks_token.decode(token)  # type: ignore[arg-type]


@FUZZ
@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/\r\n",
        max_size=300,
    )
)
def test_fuzz_base64_bodies(body: str) -> None:
    _outcome("k8s-aws-v1." + body)


@FUZZ
@given(st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=5)), max_size=40))
def test_fuzz_url_fragments(pieces: list[str]) -> None:
    url = "".join(pieces)
    try:
        token = eks_token.encode(url)
    except TokenFormatError:  # a lone surrogate cannot be UTF-8
        return
    _outcome(token)


@FUZZ
@given(st.data())
def test_fuzz_mutated_valid_urls(data: st.DataObject) -> None:
    url = _VALID_URL
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(url)))
        insert = data.draw(
            st.one_of(st.sampled_from(_PLAIN_FRAGMENTS), st.characters(exclude_categories=["Cs"]))
        )
        cut = data.draw(st.integers(0, 3))
        url = url[:index] + insert + url[index + cut :]
    _outcome(eks_token.encode(url))


@settings(max_examples=100, deadline=None)
@given(
    akid=st.from_regex(r"\A(AKIA|ASIA)[A-Z0-9]{16}\Z"),
    region=st.from_regex(r"\A[a-z]{2}-[a-z]{4,9}-[1-9]\Z"),
    signed_at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
    ).map(lambda moment: moment.replace(microsecond=0)),
    age=st.integers(0, 900),
)
def test_property_fields_survive_check(
    akid: str, region: str, signed_at: datetime, age: int
) -> None:
    day = signed_at.strftime("%Y%m%d")
    url = _url(
        {
            "X-Amz-Credential": f"{akid}/{day}/{region}/sts/aws4_request",
            "X-Amz-Date": signed_at.strftime("%Y%m%dT%H%M%SZ"),
        },
        base=f"https://sts.{region}.amazonaws.com/",
    )
    request = _check(
        eks_token.encode(url),
        now=signed_at + timedelta(seconds=age),
        sts_hosts=[f"sts.{region}.amazonaws.com"],
    )
    assert (request.access_key_id, request.region, request.signed_at) == (akid, region, signed_at)
    assert request.url == url
