"""The seed's steps 1–5 with the real ``aws`` CLI (v1, always a subprocess) against the sandbox.

The world of steps 1–4 is built once per session by :func:`seedkit.build_seed` (fixture
``seed``); see :mod:`seedkit` for how the blog's documents are rendered.
"""

from __future__ import annotations

import re
import time

import pytest

from kubetrust.sandbox import oidc
from kubetrust.sandbox.eks import clusters

from .seedkit import (
    NAMESPACE,
    REGION,
    SA_SUB,
    WEB_IDENTITY_DENIED,
    Seed,
    ci_policy,
    ci_trust,
    create_cluster,
    create_oidc_provider,
    create_role,
    create_service_role,
    expect_failure,
    mint_with_cli,
    mint_with_issuer,
    put_role_policy,
    tamper_signature,
    target_trust,
    unique,
    write,
)

# ---------------------------------------------------------------------------- step 5


def test_seed_steps_1_to_5(seed: Seed) -> None:
    """The pod's token and the blog's profiles: both identities, then EKS and S3 in the
    target account; an action the target role lacks is denied."""
    token = mint_with_cli(seed.state_dir, seed.ci_cluster)
    config = seed.pod_config(token)
    ci, target = seed.accounts.ci, seed.accounts.target

    me = seed.cli.pod(config, "sts", "get-caller-identity", "--profile", "ci-env")
    assert me.returncode == 0, str(me)
    assert me.json()["Account"] == ci
    assert re.fullmatch(
        rf"arn:aws:sts::{ci}:assumed-role/{seed.ci_role}/botocore-session-\d+", me.json()["Arn"]
    ), str(me)
    assert re.fullmatch(r"AROA[A-Z0-9]+:botocore-session-\d+", me.json()["UserId"]), str(me)

    chained = seed.cli.pod(config, "sts", "get-caller-identity", "--profile", "target-env")
    assert chained.returncode == 0, str(chained)
    assert chained.json()["Account"] == target
    assert chained.json()["Arn"] == (
        f"arn:aws:sts::{target}:assumed-role/{seed.target_role}/xactarget"
    )

    listed = seed.cli.pod(
        config, "eks", "list-clusters", "--region", REGION, "--profile", "target-env"
    )
    assert listed.returncode == 0, str(listed)
    assert seed.target_cluster in listed.json()["clusters"]
    assert seed.ci_cluster not in listed.json()["clusters"]

    described = seed.cli.pod(
        config,
        "eks",
        "describe-cluster",
        "--region",
        REGION,
        "--profile",
        "target-env",
        "--name",
        seed.target_cluster,
    )
    assert described.returncode == 0, str(described)
    cluster = described.json()["cluster"]
    assert cluster["name"] == seed.target_cluster
    assert cluster["arn"] == f"arn:aws:eks:{REGION}:{target}:cluster/{seed.target_cluster}"

    hidden = seed.cli.pod(
        config, "eks", "describe-cluster", "--profile", "target-env", "--name", seed.ci_cluster
    )
    expect_failure(
        hidden, "ResourceNotFoundException", f"No cluster found for name: {seed.ci_cluster}"
    )

    buckets = seed.cli.pod(config, "s3", "ls", "--profile", "target-env")
    assert buckets.returncode == 0, str(buckets)

    denied = seed.cli.pod(config, "iam", "list-roles", "--profile", "target-env")
    expect_failure(
        denied,
        "AccessDenied",
        f"User: arn:aws:sts::{target}:assumed-role/{seed.target_role}/xactarget "
        "is not authorized to perform: iam:ListRoles",
    )


# ---------------------------------------------------------------------------- step 5 failing


def _other_service_account(seed: Seed) -> str:
    return mint_with_cli(seed.state_dir, seed.ci_cluster, sa="other-serviceaccount")


def _other_audience(seed: Seed) -> str:
    return mint_with_cli(seed.state_dir, seed.ci_cluster, audience="other")


def _expired(seed: Seed) -> str:
    record = clusters.find(seed.state_dir, seed.ci_cluster)
    return mint_with_issuer(record.issuer, now=int(time.time()) - 7200, expiration=600)


def _other_clusters_token(seed: Seed) -> str:
    """A genuine token of the target cluster: its issuer has no provider in the CI account."""
    return mint_with_cli(seed.state_dir, seed.target_cluster)


def _forged_key_same_issuer(seed: Seed) -> str:
    """The CI cluster's ``iss`` signed by a key that is not in its JWKS."""
    return mint_with_issuer(oidc.ClusterIssuer.create(seed.issuer), now=int(time.time()))


def _tampered(seed: Seed) -> str:
    return tamper_signature(mint_with_cli(seed.state_dir, seed.ci_cluster))


TOKEN_VARIANTS = {
    "another-service-account": (_other_service_account, "AccessDenied", WEB_IDENTITY_DENIED),
    "wrong-audience": (_other_audience, "InvalidIdentityToken", "Incorrect token audience"),
    "expired": (_expired, "ExpiredTokenException", "Token expired"),
    "token-of-another-cluster": (
        _other_clusters_token,
        "InvalidIdentityToken",
        "No OpenIDConnect provider found in your account for",
    ),
    "key-not-in-the-issuers-jwks": (_forged_key_same_issuer, "InvalidIdentityToken", None),
    "tampered-signature": (_tampered, "InvalidIdentityToken", None),
}


@pytest.mark.parametrize("variant", list(TOKEN_VARIANTS))
def test_bad_token_is_refused(seed: Seed, variant: str) -> None:
    make, code, message = TOKEN_VARIANTS[variant]
    config = seed.pod_config(make(seed))
    run = seed.cli.pod(config, "sts", "get-caller-identity", "--profile", "ci-env")
    expect_failure(run, code, message)
    assert "AssumeRoleWithWebIdentity operation" in run.stderr, str(run)


def test_wildcard_sub_needs_string_like(seed: Seed) -> None:
    """The blog's trust with ``ci-namespace:*``: a literal under StringEquals (denied),
    a pattern under StringLike (allowed)."""
    outcomes = {}
    token = mint_with_cli(seed.state_dir, seed.ci_cluster)
    for operator in ("StringEquals", "StringLike"):
        name = unique("ci-account-iam-role")
        text = ci_trust(seed.accounts, seed.provider).replace(
            f'"{SA_SUB}"', f'"system:serviceaccount:{NAMESPACE}:*"'
        )
        text = text.replace('"StringEquals"', f'"{operator}"')
        trust = write(seed.workdir, f"{name}.json", text)
        create_role(seed.cli, seed.accounts.ci, name, trust)
        config = seed.pod_config(token, ci_role=name)
        outcomes[operator] = seed.cli.pod(
            config, "sts", "get-caller-identity", "--profile", "ci-env"
        )
    expect_failure(outcomes["StringEquals"], "AccessDenied", WEB_IDENTITY_DENIED)
    assert outcomes["StringLike"].returncode == 0, str(outcomes["StringLike"])


def test_deleted_oidc_provider(seed: Seed) -> None:
    """A CI cluster whose provider was deleted after the role was made to trust it."""
    ci = seed.accounts.ci
    service_role = create_service_role(seed.cli, ci, seed.workdir)
    cluster = unique("ci-cluster")
    issuer = create_cluster(seed.cli, ci, cluster, service_role)
    provider_arn = create_oidc_provider(seed.cli, ci, issuer)
    name = unique("ci-account-iam-role")
    trust = write(
        seed.workdir, f"{name}.json", ci_trust(seed.accounts, issuer.removeprefix("https://"))
    )
    create_role(seed.cli, ci, name, trust)
    seed.cli.admin(
        ci,
        "iam",
        "delete-open-id-connect-provider",
        "--open-id-connect-provider-arn",
        provider_arn,
    )
    config = seed.pod_config(mint_with_cli(seed.state_dir, cluster), ci_role=name)
    run = seed.cli.pod(config, "sts", "get-caller-identity", "--profile", "ci-env")
    expect_failure(
        run, "InvalidIdentityToken", f"No OpenIDConnect provider found in your account for {issuer}"
    )


def test_target_trust_and_caller_permission(seed: Seed) -> None:
    """Hop 2 needs both sides. A target role whose trust names another CI role refuses
    ``ci-account-iam-role`` (allowed by its own policy); that other CI role, trusted but
    without ``sts:AssumeRole`` in its policy, is refused too."""
    ci, target = seed.accounts.ci, seed.accounts.target
    token = mint_with_cli(seed.state_dir, seed.ci_cluster)
    other_ci = unique("ci-account-iam-role")
    trust = write(seed.workdir, f"{other_ci}.json", ci_trust(seed.accounts, seed.provider))
    create_role(seed.cli, ci, other_ci, trust)
    other_target = unique("target-account-iam-role")
    trust = write(seed.workdir, f"{other_target}.json", target_trust(seed.accounts, other_ci))
    create_role(seed.cli, target, other_target, trust)
    allow = write(seed.workdir, f"{other_target}-ci.json", ci_policy(seed.accounts, other_target))
    put_role_policy(seed.cli, ci, seed.ci_role, f"assume-{other_target}", allow)
    resource = f"on resource: arn:aws:iam::{target}:role/{other_target}"

    untrusted = seed.cli.pod(
        seed.pod_config(token, target_role=other_target),
        "sts",
        "get-caller-identity",
        "--profile",
        "target-env",
    )
    expect_failure(untrusted, "AccessDenied", resource)
    assert re.search(
        rf"User: arn:aws:sts::{ci}:assumed-role/{seed.ci_role}/botocore-session-\d+ "
        "is not authorized to perform: sts:AssumeRole",
        untrusted.stderr,
    ), str(untrusted)
    assert "AssumeRole operation" in untrusted.stderr, str(untrusted)

    unpermitted = seed.cli.pod(
        seed.pod_config(token, ci_role=other_ci, target_role=other_target),
        "sts",
        "get-caller-identity",
        "--profile",
        "target-env",
    )
    expect_failure(unpermitted, "AccessDenied", resource)
    assert f"assumed-role/{other_ci}/" in unpermitted.stderr, str(unpermitted)


def test_chained_session_over_one_hour(seed: Seed) -> None:
    """``duration_seconds = 7200`` in target-env: role chaining caps sessions at 1 hour."""
    config = seed.pod_config(
        mint_with_cli(seed.state_dir, seed.ci_cluster),
        extra_target_lines="duration_seconds = 7200\n",
    )
    run = seed.cli.pod(config, "sts", "get-caller-identity", "--profile", "target-env")
    expect_failure(
        run,
        "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
        "role chaining.",
    )
