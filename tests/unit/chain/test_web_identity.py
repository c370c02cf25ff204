"""STS's checks of a web identity before the trust policy (:mod:`kubetrust.chain.web_identity`):
their order, codes and messages, and explain's link 1 answering with the same words."""

from __future__ import annotations

import pytest

from kubetrust.chain import links
from kubetrust.chain import web_identity as checks
from kubetrust.model.eks import ClusterInfo, OidcProvider
from kubetrust.model.iam import AccountIam, Role
from kubetrust.model.topology import Cluster, Topology

A = "111111111111"
B = "222222222222"
ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE"
URL = ISSUER.removeprefix("https://")


def _provider(account: str, client_ids: tuple[str, ...] | None) -> OidcProvider:
    return OidcProvider(
        arn=f"arn:aws:iam::{account}:oidc-provider/{URL}",
        account=account,
        url=URL,
        client_ids=client_ids,
    )


STS = _provider(A, ("sts.amazonaws.com", "other"))


def test_no_provider_is_refused_before_the_keys_are_read() -> None:
    verified: list[OidcProvider] = []
    with pytest.raises(checks.WebIdentityRefused) as refused:
        checks.check_provider_and_audience(
            ISSUER, ["sts.amazonaws.com"], lambda iss: None, verify=verified.append
        )
    assert refused.value.refusal is checks.Refusal.NO_PROVIDER
    assert refused.value.code == "InvalidIdentityToken"
    assert refused.value.message == f"No OpenIDConnect provider found in your account for {ISSUER}"
    assert refused.value.provider is None
    assert verified == []


def test_the_audience_is_checked_after_the_keys() -> None:
    steps: list[str] = []

    def verify(provider: OidcProvider) -> None:
        steps.append(f"verify {provider.arn}")

    with pytest.raises(checks.WebIdentityRefused) as refused:
        checks.check_provider_and_audience(ISSUER, ["wrong"], lambda iss: STS, verify=verify)
    assert steps == [f"verify {STS.arn}"]
    assert refused.value.refusal is checks.Refusal.AUDIENCE
    assert (refused.value.code, refused.value.message) == (
        "InvalidIdentityToken",
        "Incorrect token audience",
    )
    assert refused.value.provider is STS


def test_a_refusal_of_verify_is_its_own() -> None:
    class Expired(Exception):
        pass

    def verify(provider: OidcProvider) -> None:
        raise Expired

    with pytest.raises(Expired):
        checks.check_provider_and_audience(ISSUER, ["wrong"], lambda iss: STS, verify=verify)


def test_the_first_matching_audience_in_the_tokens_order() -> None:
    accepted = checks.check_provider_and_audience(
        ISSUER, ["unknown", "other", "sts.amazonaws.com"], lambda iss: STS
    )
    assert (accepted.provider, accepted.audience) == (STS, "other")


def test_unknown_client_ids_refuse_no_audience() -> None:
    unknown = _provider(A, None)
    accepted = checks.check_provider_and_audience(ISSUER, ["anything"], lambda iss: unknown)
    assert accepted.audience == "anything"


def test_the_lookup_gets_the_tokens_issuer() -> None:
    asked: list[str] = []

    def find(issuer: str) -> OidcProvider | None:
        asked.append(issuer)
        return STS

    checks.check_provider_and_audience(ISSUER, ["sts.amazonaws.com"], find)
    assert asked == [ISSUER]


# ---------------------------------------------------------------------- explain's link 1
ROLE = Role(arn=f"arn:aws:iam::{A}:role/ci", name="ci", account=A)
CLUSTER = Cluster(
    info=ClusterInfo(
        name="ci",
        arn=f"arn:aws:eks:eu-west-1:{A}:cluster/ci",
        account=A,
        region="eu-west-1",
        issuer=ISSUER,
    )
)


def _link(*providers: OidcProvider, audience: str = "sts.amazonaws.com") -> links.Link:
    topology = Topology.build(
        [AccountIam(A, roles={"ci": ROLE}), AccountIam(B)],
        providers=providers,
        clusters=[CLUSTER],
    )
    workload = links.Workload("ci", "ns", "sa", audience)
    return links.web_identity(topology, CLUSTER, workload, ROLE.arn)


def test_explain_names_the_missing_provider_in_stss_words() -> None:
    elsewhere = _provider(B, ("sts.amazonaws.com",))
    link = _link(elsewhere)
    assert not link.allowed and link.failure is links.Failure.NO_PROVIDER
    assert link.decided_by == (checks.no_provider_message(ISSUER),)
    assert link.facts["elsewhere"] == [elsewhere.arn]


def test_explain_names_the_wrong_audience_in_stss_words() -> None:
    link = _link(STS, audience="wrong")
    assert not link.allowed and link.failure is links.Failure.AUDIENCE
    assert link.decided_by == (checks.MSG_AUDIENCE,)
    assert link.facts["provider"] == STS.arn
    assert link.facts["client_ids"] == ["sts.amazonaws.com", "other"]


def test_past_the_checks_the_trust_decides() -> None:
    link = _link(STS)
    assert link.failure is links.Failure.NO_TRUST  # the role's trust is unreadable
    assert link.facts["provider"] == STS.arn
