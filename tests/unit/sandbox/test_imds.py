"""The nodes' instance metadata service, its pure parts (kubetrust.sandbox.eks.imds): the
paths botocore builds, IMDSv2 token TTLs and tokens, the hop limit's effect on a token
request from a pod, and the answers given before the instance role is looked at. The
role's credentials are served in tests/sandbox/test_imds.py."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pytest

from kubetrust.sandbox.eks import imds
from kubetrust.sandbox.eks.pod_identity_agent import NodeRoles, instance_id
from kubetrust.sandbox.world import World, parse_world

A = "111111111111"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TTL = imds.TTL_HEADER.lower()
TOKEN = imds.TOKEN_HEADER.lower()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


def world(hop_limit: int = 2, http_tokens: str = "required") -> World:
    nodes = {"imds": {"hop_limit": hop_limit, "http_tokens": http_tokens}}
    return parse_world({"accounts": [{"id": A, "clusters": [{"name": "c", "nodes": nodes}]}]})


def service(settings: World, clock: Clock | None = None) -> imds.InstanceMetadataService:
    """The app with no STS behind it: these tests never reach the instance role."""
    no_roles = cast(NodeRoles, object())
    return imds.InstanceMetadataService(
        no_roles,
        settings,
        clock or Clock(),
        running=lambda account, cluster: (account, cluster) == (A, "c"),
        hold=0.0,
        node_key=KEY,
    )


KEY = "node-key"


def path(origin: imds.Origin, rest: str) -> str:
    return imds.base_path(A, "c", origin, KEY) + "/" + rest


# ---------------------------------------------------------------------- paths
def test_botocore_urls_under_a_node_path_route_to_that_node() -> None:
    assert imds.base_path(A, "c", "pod") == f"/clusters/{A}/c/pod"
    found = imds.route(f"/clusters/{A}/c/pod/latest/meta-data/iam/security-credentials/")
    assert found == imds.Route(A, "c", "pod", "latest/meta-data/iam/security-credentials/")
    assert imds.route(f"/clusters/{A}/c/node-k/latest/api/token") == imds.Route(
        A, "c", "node", imds.TOKEN_PATH, "k"
    )


@pytest.mark.parametrize("key", ["", "other", KEY + "x"])
def test_a_pod_naming_the_node_path_without_its_key_finds_no_node(key: str) -> None:
    """The hop limit is the network's on EC2: no address lets a pod skip it. Here the node's
    own path carries a key no pod is given, and a wrong one is no path at all."""
    app = service(world(hop_limit=1))
    forged = imds.base_path(A, "c", "node", key) + "/" + imds.TOKEN_PATH
    assert app.answer("PUT", forged, {TTL: "60"}).status == 404
    assert app.answer("PUT", f"/clusters/{A}/c/node/{imds.TOKEN_PATH}", {TTL: "60"}).status == 404
    assert app.answer("PUT", path("node", imds.TOKEN_PATH), {TTL: "60"}).status == 200


@pytest.mark.parametrize(
    "bad",
    [
        "/latest/api/token",
        f"/clusters/{A}/c/host/latest/api/token",
        f"/clusters/{A}//pod/latest/api/token",
        "/clusters//c/pod/latest/api/token",
        "/other/x/y/pod/latest",
    ],
)
def test_other_paths_are_no_node(bad: str) -> None:
    assert imds.route(bad) is None


# ---------------------------------------------------------------------- tokens
@pytest.mark.parametrize(("header", "ttl"), [("1", 1), ("21600", 21600), (" 300 ", 300)])
def test_a_token_lives_one_second_to_six_hours(header: str, ttl: int) -> None:
    assert imds.token_ttl(header) == ttl


@pytest.mark.parametrize("header", [None, "", "0", "21601", "-5", "1.5", "abc"])
def test_a_missing_or_out_of_range_ttl_is_refused(header: str | None) -> None:
    assert imds.token_ttl(header) is None


def test_a_token_is_valid_on_its_node_until_it_expires() -> None:
    clock = Clock()
    tokens = imds.Tokens(clock)
    token = tokens.issue((A, "c"), 10)
    assert tokens.valid(token, (A, "c")) and tokens.remaining(token) == 10
    assert not tokens.valid(token, (A, "other")) and not tokens.valid("forged", (A, "c"))
    clock.now = NOW + dt.timedelta(seconds=10)
    assert not tokens.valid(token, (A, "c")) and tokens.remaining(token) == 0


def test_tokens_kept_are_bounded_oldest_first() -> None:
    tokens = imds.Tokens(Clock(), limit=2)
    first, second, third = (tokens.issue((A, "c"), 60) for _ in range(3))
    assert not tokens.valid(first, (A, "c"))
    assert tokens.valid(second, (A, "c")) and tokens.valid(third, (A, "c"))


# ---------------------------------------------------------------------- the hop limit
@pytest.mark.parametrize(
    ("origin", "hop_limit", "dropped"),
    [
        ("node", 1, False),
        ("pod", 1, True),
        ("pod", 2, False),
        ("node", 2, False),
        ("pod", 3, False),
    ],
)
def test_a_token_response_needs_one_hop_more_for_a_pod(
    origin: imds.Origin, hop_limit: int, dropped: bool
) -> None:
    assert imds.put_response_dropped(origin, hop_limit) is dropped


def test_a_pods_token_request_with_hop_limit_one_gets_no_answer() -> None:
    app = service(world(hop_limit=1))
    with pytest.raises(imds.ResponseDropped):
        app.answer("PUT", path("pod", imds.TOKEN_PATH), {TTL: "21600"})
    node = app.answer("PUT", path("node", imds.TOKEN_PATH), {TTL: "21600"})
    assert node.status == 200 and node.body


def test_a_token_answer_echoes_its_ttl() -> None:
    answer = service(world()).answer("PUT", path("pod", imds.TOKEN_PATH), {TTL: "300"})
    assert answer.status == 200 and (imds.TTL_HEADER, "300") in answer.headers
    assert answer.content_type == "text/plain"


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("PUT", {}, 400),
        ("PUT", {TTL: "0"}, 400),
        ("PUT", {TTL: "60", "x-forwarded-for": "10.0.0.1"}, 403),
        ("GET", {TTL: "60"}, 405),
        ("POST", {TTL: "60"}, 405),
    ],
)
def test_token_requests_ec2_refuses(method: str, headers: dict[str, str], status: int) -> None:
    answer = service(world()).answer(method, path("pod", imds.TOKEN_PATH), headers)
    assert answer.status == status and answer.content_type == "text/html"
    assert f"<title>{status} - ".encode() in answer.body


# ---------------------------------------------------------------------- metadata GETs
def test_without_a_token_a_node_requiring_tokens_answers_401() -> None:
    answer = service(world()).answer("GET", path("node", imds.CREDENTIALS_PATH), {})
    assert answer.status == 401 and b"401 - Unauthorized" in answer.body


def test_a_forged_expired_or_foreign_token_is_401_even_where_tokens_are_optional() -> None:
    clock = Clock()
    app = service(world(http_tokens="optional"), clock)
    token = app.answer("PUT", path("node", imds.TOKEN_PATH), {TTL: "5"}).body.decode()
    instance = path("node", "latest/meta-data/instance-id")
    assert app.answer("GET", instance, {TOKEN: token}).status == 200
    assert app.answer("GET", instance, {TOKEN: "forged"}).status == 401
    other = parse_world({"accounts": [{"id": A, "clusters": ["c", "d"]}]})
    foreign = service(other).answer("GET", instance, {TOKEN: token})
    assert foreign.status == 401  # another IMDS never issued it
    clock.now = NOW + dt.timedelta(seconds=5)
    assert app.answer("GET", instance, {TOKEN: token}).status == 401


def test_imdsv1_works_only_where_tokens_are_optional() -> None:
    instance = path("pod", "latest/meta-data/instance-id")
    optional = service(world(hop_limit=1, http_tokens="optional")).answer("GET", instance, {})
    assert optional.status == 200 and optional.body == instance_id(A, "c").encode()
    assert service(world(hop_limit=1)).answer("GET", instance, {}).status == 401


def test_answers_to_a_token_carry_its_remaining_ttl() -> None:
    app = service(world())
    token = app.answer("PUT", path("pod", imds.TOKEN_PATH), {TTL: "120"}).body.decode()
    answer = app.answer("GET", path("pod", "latest/meta-data/instance-id"), {TOKEN: token})
    assert (imds.TTL_HEADER, "120") in answer.headers


@pytest.mark.parametrize(
    "where",
    [
        imds.base_path(A, "gone", "pod") + "/latest/api/token",  # no such cluster
        "/latest/api/token",
    ],
)
def test_no_node_no_metadata(where: str) -> None:
    assert service(world()).answer("PUT", where, {TTL: "60"}).status == 404


def test_unknown_metadata_is_404_and_writes_are_405() -> None:
    app = service(world(http_tokens="optional"))
    assert app.answer("GET", path("node", "latest/meta-data/nothing"), {}).status == 404
    assert app.answer("DELETE", path("node", "latest/meta-data/instance-id"), {}).status == 405


def test_instance_ids_look_like_ec2s_and_are_stable_per_node() -> None:
    first = instance_id(A, "c")
    assert first == instance_id(A, "c") != instance_id(A, "d")
    assert first.startswith("i-") and len(first) == 19 and int(first[2:], 16) >= 0


def test_the_app_speaks_wsgi() -> None:
    started: list[Any] = []
    body = service(world()).__call__(
        {
            "REQUEST_METHOD": "PUT",
            "PATH_INFO": path("pod", imds.TOKEN_PATH),
            "HTTP_X_AWS_EC2_METADATA_TOKEN_TTL_SECONDS": "60",
        },
        lambda status, headers: started.append((status, headers)),
    )
    status, headers = started[0]
    assert status == "200 OK" and ("X-aws-ec2-metadata-token-ttl-seconds", "60") in headers
    assert len(b"".join(body)) > 20
