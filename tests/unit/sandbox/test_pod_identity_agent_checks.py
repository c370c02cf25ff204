"""The Pod Identity Agent's request checks and answers as pure functions (reference F.6):
no server, no socket; over HTTP they are tests/sandbox/test_pod_identity_agent.py."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest

from kubetrust.sandbox.eks import pod_identity_agent as agent

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def jwt(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.sig"


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("169.254.170.23", "169.254.170.23"),
        ("169.254.170.23:80", "169.254.170.23"),
        ("[fd00:ec2::23]", "fd00:ec2::23"),
        ("[fd00:ec2::23]:80", "fd00:ec2::23"),
        ("127.0.0.1:8080", "127.0.0.1"),
        ("localhost", "localhost"),
    ],
)
def test_request_host_strips_port_and_brackets(header: str, host: str) -> None:
    assert agent.request_host(header) == host


def test_host_refusal_names_the_accepted_hosts() -> None:
    assert agent.host_refusal("169.254.170.23:80", agent.REAL_AGENT_HOSTS) is None
    refused = agent.host_refusal("127.0.0.1:1234", agent.REAL_AGENT_HOSTS)
    assert refused == agent.Answer(
        403,
        b"Access Denied. Called agent through invalid address, please use either "
        b"[169.254.170.23 fd00:ec2::23] address not 127.0.0.1\n",
    )


def test_token_refusals() -> None:
    future = int(NOW.timestamp()) + 60
    assert agent.token_refusal(jwt({"exp": future}), NOW) is None
    assert agent.token_refusal(jwt({}), NOW) is None  # no exp: golang-jwt does not insist
    cases = {
        "": "Service account token cannot be empty",
        "a.b": "Service account token cannot be parsed: token is malformed: "
        "token contains an invalid number of segments",
        "!!.e30.x": "Service account token cannot be parsed: token is malformed: "
        "could not base64 decode header",
        jwt({"exp": future - 60}): "Service account token failed basic claim validations: "
        "token is expired",
        jwt({"exp": "soon"}): "Service account token failed basic claim validations: "
        "token has invalid claims: exp is invalid",
        jwt({"exp": future, "nbf": future}): "Service account token failed basic claim "
        "validations: token is not valid yet",
    }
    for token, message in cases.items():
        assert agent.token_refusal(token, NOW) == agent.Answer(400, (message + "\n").encode())


def test_route_names_the_cluster() -> None:
    assert agent.route(agent.credentials_path("111111111111", "ci")) == ("111111111111", "ci")
    for path in ("/v1/credentials", "/clusters/1/v1/credentials", "/clusters//c/v1/credentials"):
        assert agent.route(path) is None


def test_eks_auth_failures_as_the_agent_writes_them() -> None:
    response = {
        "ResponseMetadata": {"HTTPStatusCode": 404, "RequestId": "r-1"},
        "Error": {"Code": "ResourceNotFoundException", "Message": "no association"},
    }
    failure = agent.failure_of(response)
    assert failure.answer() == agent.Answer(
        404, b"[r-1]: (ResourceNotFoundException): no association, fault: client\n"
    )
    server = agent.failure_of(
        {
            "ResponseMetadata": {"HTTPStatusCode": 503},
            "Error": {"Code": "ServiceUnavailableException"},
        }
    )
    assert server.answer().body.endswith(b", fault: server\n")
    assert agent.EksAuthFailure(None, "no answer").answer().status == 500


def test_expiration_is_rfc3339_and_the_body_has_the_five_fields() -> None:
    assert agent.rfc3339(NOW) == "2026-03-01T12:00:00Z"
    assert agent.rfc3339(NOW.replace(microsecond=120000)) == "2026-03-01T12:00:00.12Z"
    held = agent.PodCredentials("ASIA1", "secret", "token", "111111111111", NOW)
    assert json.loads(held.body()) == {
        "AccessKeyId": "ASIA1",
        "SecretAccessKey": "secret",
        "Token": "token",
        "AccountId": "111111111111",
        "Expiration": "2026-03-01T12:00:00Z",
    }


def test_cache_serves_until_expiry_margin_or_retention() -> None:
    now = [NOW]
    cache = agent.CredentialCache(lambda: now[0])
    key = ("1", "c", "t")
    cache.put(key, agent.PodCredentials("A", "S", "T", "1", NOW + dt.timedelta(hours=6)))
    assert cache.get(key) is not None
    now[0] = NOW + agent.MAX_RETENTION
    assert cache.get(key) is None  # renewed after at most three hours
    cache.put(key, agent.PodCredentials("A", "S", "T", "1", now[0] + dt.timedelta(seconds=15)))
    assert cache.get(key) is None  # too little left
    cache.put(key, agent.PodCredentials("A", "S", "T", "1", now[0] + dt.timedelta(hours=1)))
    cache.evict(key)
    assert cache.get(key) is None


class Addons:
    """Which (account, region, cluster) run which add-ons."""

    def __init__(self, *running: tuple[str, str, str, str]) -> None:
        self.running = set(running)

    def has_addon(self, account: str, region: str, cluster: str, name: str) -> bool:
        return (account, region, cluster, name) in self.running


def _agent(addons: Addons) -> agent.PodIdentityAgent:
    unused: Any = None  # neither the node roles nor EKS Auth is reached here
    return agent.PodIdentityAgent(unused, unused, lambda: NOW, addons=addons, region="us-east-1")


def _get(app: agent.PodIdentityAgent, path: str) -> list[str]:
    started: list[str] = []
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "HTTP_HOST": "169.254.170.23"}
    app(environ, lambda status, _headers: started.append(status))
    return started


def test_a_cluster_without_the_agent_addon_has_nothing_listening() -> None:
    path = agent.credentials_path("111111111111", "ci")
    bare = _agent(Addons(("111111111111", "us-east-1", "ci", "vpc-cni")))
    with pytest.raises(agent.NothingListens):  # the listener closes the connection unanswered
        _get(bare, path)
    assert issubclass(agent.NothingListens, ConnectionError)
    running = _agent(Addons(("111111111111", "us-east-1", "ci", agent.AGENT_ADDON)))
    assert _get(running, path) == ["400 Bad Request"]  # answered: the empty token
    elsewhere = _agent(Addons(("111111111111", "eu-west-1", "ci", agent.AGENT_ADDON)))
    with pytest.raises(agent.NothingListens):  # the add-on of the sandbox's region only
        _get(elsewhere, path)
    assert _get(bare, "/v1/credentials") == ["404 Not Found"]  # no cluster named: Go's 404
