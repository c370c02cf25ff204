"""Query parameters and RequestInfo as the apiserver derives them (issue 10, items 11, 15).

- ``timeoutSeconds=nan`` (or any non-int64) is a 400 with Go's ParseInt error, never a
  watch without end; every numeric option of a list, watch or delete is checked alike;
  booleans decode as upstream (``watch=yes`` is a watch).
- A watch ends when its client goes away, even when nothing happens to stream.
- ``get namespaces/apps`` is in namespace ``apps`` (a RoleBinding to ``view`` there grants
  it), and a list or watch selecting one ``metadata.name`` is for that name (resourceNames).
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator

import pytest

from kubetrust.sandbox.host import pki

from .conftest import ADMIN_TOKEN, Kubectl
from .rbackit import binding, raw, rbac_server, role, rule, seed, user

TOKENS = {
    ADMIN_TOKEN: user("kubernetes-admin", "system:masters"),
    "t-viewer": user("viewer"),
    "t-one": user("one"),
}
CM = "/api/v1/namespaces/default/configmaps"


@pytest.fixture(scope="module")
def world(
    ca: pki.CertificateAuthority, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Kubectl, int]]:
    with rbac_server(ca, TOKENS) as (server, store):
        kubectl = Kubectl(tmp_path_factory.mktemp("params"), server.endpoint, ca.certificate_pem)
        for command in (
            ("create", "namespace", "apps"),
            ("create", "configmap", "x", "--from-literal=a=b"),
            ("create", "configmap", "y", "--from-literal=a=b"),
        ):
            done = kubectl(*command)
            assert done.returncode == 0, done.stderr
        seed(
            store,
            binding("viewer", "view", "viewer", "apps"),
            role(
                "cm-x",
                "default",
                [rule([""], ["configmaps"], ["get", "list", "watch"], resourceNames=["x"])],
            ),
            binding("one", "cm-x", "one", "default", "Role"),
        )
        yield kubectl, server.port


# ---------------------------------------------------------------------- item 11
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("watch=true&timeoutSeconds=nan", 'strconv.ParseInt: parsing "nan": invalid syntax'),
        ("watch=true&timeoutSeconds=inf", 'strconv.ParseInt: parsing "inf": invalid syntax'),
        ("watch=true&timeoutSeconds=1.5", 'strconv.ParseInt: parsing "1.5": invalid syntax'),
        ("watch=true&timeoutSeconds=", 'strconv.ParseInt: parsing "": invalid syntax'),
        (
            "watch=true&timeoutSeconds=99999999999999999999",
            'strconv.ParseInt: parsing "99999999999999999999": value out of range',
        ),
        ("timeoutSeconds=nan", 'strconv.ParseInt: parsing "nan": invalid syntax'),
        ("limit=abc", 'strconv.ParseInt: parsing "abc": invalid syntax'),
        ("limit=%E2%91%A0", 'strconv.ParseInt: parsing "\u2460": invalid syntax'),
        (
            "watch=true&resourceVersion=-1",
            'resourceVersion: Invalid value: "-1": strconv.ParseUint: parsing "-1": invalid syntax',
        ),
    ],
)
def test_numeric_options_parse_as_go_does(
    world: tuple[Kubectl, int], ca: pki.CertificateAuthority, query: str, message: str
) -> None:
    _, port = world
    started = time.monotonic()
    status, text = raw(port, ca, "GET", f"{CM}?{query}", ADMIN_TOKEN)
    assert time.monotonic() - started < 5  # answered, not streamed
    assert status == 400, text
    answer = json.loads(text)
    assert (answer["reason"], answer["code"], answer["message"]) == ("BadRequest", 400, message)


def test_delete_checks_grace_period_seconds(
    world: tuple[Kubectl, int], ca: pki.CertificateAuthority
) -> None:
    _, port = world
    status, text = raw(port, ca, "DELETE", f"{CM}/y?gracePeriodSeconds=nan", ADMIN_TOKEN)
    assert status == 400 and "strconv.ParseInt" in text
    assert raw(port, ca, "GET", f"{CM}/y", ADMIN_TOKEN)[0] == 200  # nothing deleted


@pytest.mark.parametrize("query", ["watch=yes&timeoutSeconds=-5", "watch=&timeoutSeconds=-1"])
def test_booleans_decode_as_upstream(
    world: tuple[Kubectl, int], ca: pki.CertificateAuthority, query: str
) -> None:
    """Any ``watch`` value but 0/false is a watch (a negative timeout ends it at once)."""
    _, port = world
    status, text = raw(port, ca, "GET", f"{CM}?{query}", ADMIN_TOKEN)
    assert status == 200
    events = [json.loads(line) for line in text.splitlines()]
    assert {e["type"] for e in events} == {"ADDED"}
    listed = raw(port, ca, "GET", f"{CM}?watch=false&timeoutSeconds=5", ADMIN_TOKEN)[1]
    assert json.loads(listed)["kind"] == "ConfigMapList"


def test_a_quiet_watch_ends_when_its_client_goes(
    world: tuple[Kubectl, int], ca: pki.CertificateAuthority
) -> None:
    """A watch with nothing to send (no bookmarks) used to hold its thread until its
    deadline; now it ends within a poll of the client closing."""
    _, port = world
    before = set(threading.enumerate())
    context = pki.client_ssl_context(ca.certificate_pem)
    clients: list[ssl.SSLSocket] = []
    for _ in range(3):
        raw_socket = socket.create_connection(("127.0.0.1", port), timeout=5)
        client = context.wrap_socket(raw_socket, server_hostname="127.0.0.1")
        request = (
            f"GET {CM}?watch=true&resourceVersion=999999&timeoutSeconds=300 HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\r\n"
        )
        client.sendall(request.encode())
        assert client.recv(4096).startswith(b"HTTP/1.1 200")
        clients.append(client)
    time.sleep(0.5)  # the handler threads are past their first write
    watching = [t for t in threading.enumerate() if t not in before and "process_request" in t.name]
    assert len(watching) >= 3
    for client in clients:
        client.close()
    for thread in watching:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in watching)


# ---------------------------------------------------------------------- item 15
def test_a_namespace_viewer_reads_its_namespace_object(world: tuple[Kubectl, int]) -> None:
    kubectl, _ = world
    got = kubectl("get", "namespace", "apps", "-o", "name", token="t-viewer")
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == "namespace/apps"
    assert (
        kubectl(
            "auth", "can-i", "get", "namespace/apps", "-n", "apps", token="t-viewer"
        ).stdout.strip()
        == "yes"
    )
    other = kubectl("get", "namespace", "default", token="t-viewer")
    assert other.returncode == 1
    assert other.stderr.strip() == (
        'Error from server (Forbidden): namespaces "default" is forbidden: User "viewer" '
        'cannot get resource "namespaces" in API group "" in the namespace "default"'
    )
    listed = kubectl("get", "namespaces", token="t-viewer")
    assert listed.returncode == 1
    assert 'cannot list resource "namespaces" in API group "" at the cluster scope' in (
        listed.stderr
    )
    deleted = kubectl("delete", "namespace", "apps", token="t-viewer")
    assert deleted.returncode == 1 and 'in the namespace "apps"' in deleted.stderr


def test_a_name_field_selector_is_authorized_for_that_name(
    world: tuple[Kubectl, int], ca: pki.CertificateAuthority
) -> None:
    """``kubectl get cm x --watch`` lists and watches with ``metadata.name=x``: a user with
    only resourceNames ``[x]`` may; for another name, or no name, it may not."""
    kubectl, port = world
    got = kubectl("get", "configmap", "x", "-o", "name", token="t-one")
    assert got.returncode == 0, got.stderr
    selected = f"{CM}?fieldSelector=metadata.name%3Dx"
    status, text = raw(port, ca, "GET", selected, "t-one")
    assert status == 200 and [i["metadata"]["name"] for i in json.loads(text)["items"]] == ["x"]
    status, text = raw(port, ca, "GET", f"{selected}&watch=1&timeoutSeconds=-1", "t-one")
    assert status == 200 and [
        json.loads(line)["object"]["metadata"]["name"] for line in text.splitlines()
    ] == ["x"]
    status, text = raw(port, ca, "GET", f"{CM}?fieldSelector=metadata.name%3Dy&watch=1", "t-one")
    assert status == 403
    assert json.loads(text)["message"] == (
        'configmaps "y" is forbidden: User "one" cannot watch resource "configmaps" in API '
        'group "" in the namespace "default"'
    )
    for query in ("", "?fieldSelector=metadata.name!%3Dy", "?fieldSelector=metadata.name%3D%20x"):
        assert raw(port, ca, "GET", f"{CM}{query}", "t-one")[0] == 403, query
    watched = kubectl("get", "configmap", "x", "--watch", "--request-timeout=2s", token="t-one")
    assert "Forbidden" not in watched.stderr, watched.stderr
    assert watched.stdout.split()[0:2] == ["NAME", "DATA"]


def test_explain_knows_every_cluster_scoped_kind_the_sandbox_serves() -> None:
    """RequestInfo drops the namespace of cluster-scoped kinds by one list
    (rbac_defaults.CLUSTER_SCOPED); the sandbox's resource table must agree with it."""
    from kubetrust.chain.rbac_defaults import CLUSTER_SCOPED
    from kubetrust.sandbox.kube.resources import RESOURCES

    for resource in RESOURCES:
        assert ((resource.group, resource.plural) in CLUSTER_SCOPED) is not resource.namespaced
