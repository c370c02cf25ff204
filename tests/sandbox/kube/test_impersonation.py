"""Impersonation headers (``kubectl --as/--as-group``), attacked with real kubectl and raw
HTTPS (issue 10, item 4): each part needs the ``impersonate`` verb, a refusal is
Kubernetes' 403, and an allowed request acts as the impersonated user only."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from kubetrust.chain.kube_identity import access_policy_grant
from kubetrust.sandbox.host import pki

from .conftest import ADMIN_TOKEN, Kubectl
from .rbackit import binding, cluster_role, raw, rbac_server, rule, seed, user

VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
KUBE_ADMIN = ("Impersonate-User", "kubernetes-admin")
TOKENS = {
    ADMIN_TOKEN: user("kubernetes-admin", "system:masters"),
    "t-eve": user("eve"),
    "t-ivy": user("ivy", grants=(access_policy_grant(VIEW_POLICY),)),
}


@pytest.fixture(scope="module")
def world(
    ca: pki.CertificateAuthority, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Kubectl, int]]:
    with rbac_server(ca, TOKENS) as (server, store):
        seed(
            store,
            cluster_role(
                "impersonate-bob",
                [
                    rule([""], ["users"], ["impersonate"], resourceNames=["bob"]),
                    rule([""], ["groups"], ["impersonate"], resourceNames=["viewers"]),
                    rule([""], ["serviceaccounts"], ["impersonate"], resourceNames=["robot"]),
                ],
            ),
            binding("ivy-impersonates", "impersonate-bob", "ivy"),
            binding("bob-views", "view", "bob", "default"),
        )
        home = tmp_path_factory.mktemp("impersonation")
        yield Kubectl(home, server.endpoint, ca.certificate_pem), server.port


def test_impersonating_without_the_verb_is_forbidden(
    world: tuple[Kubectl, int], ca: pki.CertificateAuthority
) -> None:
    """kubectl's discovery meets the 403 first and prints "Error from server (Forbidden):
    unknown", as against a real cluster (seen in TremoloSecurity/kube-oidc-proxy#71,
    OpenUnison/openunison-k8s#139); the Status itself names what was refused."""
    kubectl, port = world
    done = kubectl("get", "pods", "--as=kubernetes-admin", token="t-eve")
    assert done.returncode == 1
    assert done.stderr.strip().endswith("Error from server (Forbidden): unknown")
    status, text = raw(port, ca, "GET", "/api/v1/pods", "t-eve", [KUBE_ADMIN])
    assert status == 403
    answer = json.loads(text)
    assert answer["message"] == (
        'users "kubernetes-admin" is forbidden: User "eve" cannot impersonate resource '
        '"users" in API group "" at the cluster scope'
    )
    assert answer["details"] == {"name": "kubernetes-admin", "group": "", "kind": "users"}
    group = kubectl("get", "nodes", "--as=eve", "--as-group=system:masters", token="t-eve")
    assert group.returncode == 1 and "(Forbidden)" in group.stderr
    assert kubectl("auth", "can-i", "get", "nodes", token="t-eve").stdout.strip() == "no"


def test_allowed_impersonation_acts_as_that_user_only(world: tuple[Kubectl, int]) -> None:
    kubectl, _ = world
    whoami = kubectl("auth", "whoami", "--as=bob", "-o", "json", token="t-ivy")
    assert whoami.returncode == 0, whoami.stderr
    info = json.loads(whoami.stdout)["status"]["userInfo"]
    assert info == {"username": "bob", "groups": ["system:authenticated"]}
    grouped = kubectl(
        "auth",
        "whoami",
        "--as=bob",
        "--as-group=viewers",
        "--as-group=viewers",
        "-o",
        "json",
        token="t-ivy",
    )
    assert grouped.returncode == 0, grouped.stderr
    groups = json.loads(grouped.stdout)["status"]["userInfo"]["groups"]
    assert groups == ["viewers", "viewers", "system:authenticated"]
    assert kubectl("get", "pods", "--as=bob", token="t-ivy").returncode == 0  # bob's view
    write = kubectl("create", "configmap", "x", "--as=bob", token="t-ivy")
    assert write.returncode == 1
    assert 'User "bob" cannot create resource "configmaps"' in write.stderr
    other = kubectl("get", "pods", "--as=alice", token="t-ivy")
    assert other.returncode == 1 and "(Forbidden)" in other.stderr


def test_impersonation_drops_access_policies(world: tuple[Kubectl, int]) -> None:
    """ivy reads the cluster through an access policy; as ``bob`` with the group
    ``viewers`` (no binding) she gets pure RBAC — nothing (reference E.4)."""
    kubectl, _ = world
    assert kubectl("get", "secrets", token="t-ivy").returncode == 1  # view: no secrets
    assert kubectl("get", "pods", "-n", "kube-system", token="t-ivy").returncode == 0
    assert kubectl("get", "pods", "--as=bob", token="t-ivy").returncode == 0  # bob: default
    as_bob = kubectl("get", "pods", "-n", "kube-system", "--as=bob", token="t-ivy")
    assert as_bob.returncode == 1
    assert 'User "bob" cannot list resource "pods"' in as_bob.stderr
    as_group = kubectl(
        "get", "pods", "-n", "kube-system", "--as=bob", "--as-group=viewers", token="t-ivy"
    )
    assert as_group.returncode == 1  # viewers has no binding either
    masters = kubectl("get", "nodes", "--as=bob", "--as-group=system:masters", token="t-ivy")
    assert masters.returncode == 1 and "(Forbidden)" in masters.stderr


def test_service_account_impersonation_is_namespaced(world: tuple[Kubectl, int]) -> None:
    kubectl, _ = world
    sa = "system:serviceaccount:default:robot"
    whoami = kubectl("auth", "whoami", f"--as={sa}", "-o", "json", token="t-ivy")
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["status"]["userInfo"]["groups"] == [
        "system:serviceaccounts",
        "system:serviceaccounts:default",
        "system:authenticated",
    ]
    other = kubectl("auth", "whoami", "--as=system:serviceaccount:default:other", token="t-ivy")
    assert other.returncode == 1


def test_service_account_refusal_names_its_namespace(
    world: tuple[Kubectl, int], ca: pki.CertificateAuthority
) -> None:
    _, port = world
    header = ("Impersonate-User", "system:serviceaccount:default:other")
    status, text = raw(port, ca, "GET", "/api", "t-ivy", [header])
    assert status == 403
    assert json.loads(text)["message"] == (
        'serviceaccounts "other" is forbidden: User "ivy" cannot impersonate resource '
        '"serviceaccounts" in API group "" in the namespace "default"'
    )


def test_raw_impersonation_headers(
    world: tuple[Kubectl, int], ca: pki.CertificateAuthority
) -> None:
    """What kubectl will not send: extras, a UID, groups without a user, repeated groups."""
    _, port = world
    whoami = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    status, text = raw(
        port,
        ca,
        "POST",
        whoami,
        "t-ivy",
        [("Impersonate-User", "bob"), ("Impersonate-Extra-Scopes", "x")],
        body,
    )
    assert status == 403
    assert json.loads(text)["message"] == (
        'userextras.authentication.k8s.io "x" is forbidden: User "ivy" cannot impersonate '
        'resource "userextras/scopes" in API group "authentication.k8s.io" at the cluster scope'
    )
    status, text = raw(
        port,
        ca,
        "POST",
        whoami,
        "t-ivy",
        [("Impersonate-User", "bob"), ("Impersonate-Uid", "1")],
        body,
    )
    assert status == 403 and json.loads(text)["message"].startswith(
        'uids.authentication.k8s.io "1" is forbidden'
    )
    status, text = raw(
        port,
        ca,
        "POST",
        whoami,
        "t-ivy",
        [
            ("Impersonate-User", "bob"),
            ("Impersonate-Group", "viewers"),
            ("Impersonate-Group", "system:masters"),
        ],
        body,
    )
    assert status == 403 and json.loads(text)["message"].startswith(
        'groups "system:masters" is forbidden'
    )
    # groups without a user: upstream's filter answers an internal error, never acts
    status, text = raw(
        port, ca, "GET", "/api/v1/nodes", "t-eve", [("Impersonate-Group", "system:masters")]
    )
    assert status == 500
    assert "without impersonating a user" in text
    # an administrator may impersonate anyone, and the result is exactly that user
    status, text = raw(
        port,
        ca,
        "POST",
        whoami,
        ADMIN_TOKEN,
        [
            ("Impersonate-User", "x"),
            ("Impersonate-Group", "g1"),
            ("Impersonate-Group", "g2"),
            ("Impersonate-Extra-Foo%2Fbar", "v"),
            ("Impersonate-Uid", "u-1"),
        ],
        body,
    )
    assert status == 201, text
    assert json.loads(text)["status"]["userInfo"] == {
        "username": "x",
        "uid": "u-1",
        "groups": ["g1", "g2", "system:authenticated"],
        "extra": {"foo/bar": ["v"]},
    }
    status, _ = raw(port, ca, "GET", "/api/v1/nodes", ADMIN_TOKEN, [("Impersonate-User", "x")])
    assert status == 403  # x has no binding: the admin's own rights are gone
