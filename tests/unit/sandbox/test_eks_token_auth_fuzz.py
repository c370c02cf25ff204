"""The EKS token authenticator never raises, whatever the bearer token: it answers a user
or ``None`` (a 401), as aws-iam-authenticator answers a TokenReview."""

from __future__ import annotations

import base64
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from kubetrust.sandbox.aws import credentials
from kubetrust.sandbox.aws.services.eks.api import EksExtras
from kubetrust.sandbox.eks import token_auth
from kubetrust.sandbox.kube.store import Store

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
KEYS = credentials.CredentialStore()
KEYS.add(
    credentials.Credential(
        access_key_id="AKIAFUZZFUZZFUZZFUZZ",
        secret_access_key="s" * 40,
        account="222222222222",
        principal_arn="arn:aws:iam::222222222222:user/admin",
        user_id="AIDAFUZZFUZZFUZZFUZZ",
    )
)
AUTHENTICATE = token_auth.EksTokenAuthenticator(
    token_auth.ClusterIdentity("222222222222", "us-east-1", "target", ("127.0.0.1:4566",)),
    EksExtras("us-east-1", lambda: NOW),
    Store(),
    KEYS,
    lambda: NOW,
)
QUERY = (
    "Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAFUZZFUZZFUZZFUZZ%2F20261128%2Fus-east-1%2Fsts%2Faws4_request"
    "&X-Amz-Date=20261128T115500Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id"
    "&X-Amz-Signature="
)


def _token(url: str) -> str:
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_bearer_text_is_a_user_or_none(text: str) -> None:
    for token in (text, "k8s-aws-v1." + text):
        assert AUTHENTICATE({"Authorization": f"Bearer {token}"}) is None


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["http://127.0.0.1:4566/?", "http://localhost:4566/?", "https://x/?"]),
    st.text(alphabet="0123456789abcdef", max_size=64),
    st.text(max_size=60),
)
def test_near_valid_presigned_urls_are_refused_not_raised(
    base: str, signature: str, tail: str
) -> None:
    """A well-formed URL with a wrong signature, plus arbitrary trailing bytes."""
    url = base + QUERY + signature + tail
    assert AUTHENTICATE({"Authorization": f"Bearer {_token(url)}"}) is None


def test_the_near_valid_urls_reach_the_signature_check() -> None:
    """So the fuzz above exercises the replay, not only the guard clauses."""
    import pytest

    from kubetrust.sandbox.aws import sigv4

    with pytest.raises(sigv4.SignatureError):
        AUTHENTICATE.verify(_token("http://127.0.0.1:4566/?" + QUERY + "0" * 64))
