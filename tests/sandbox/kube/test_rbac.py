"""RBAC evaluation and the bootstrap roles: unit tests on a Store, then real kubectl.

The unit tests seed a fresh Store with the default roles and ask :class:`RbacAuthorizer`
directly; the kubectl tests serve that authorizer over TLS and check what ``kubectl auth
can-i``, ``get`` and ``create`` say, Kubernetes' forbidden wording included.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kube_authkit import StaticTokens, admin_user

from kubetrust.chain import rbac_defaults
from kubetrust.chain.kube_identity import AccessGrant, access_policy_grant
from kubetrust.chain.rbac import rule_allows
from kubetrust.model.kube import PolicyRule
from kubetrust.sandbox.host import pki
from kubetrust.sandbox.kube import api, auth, bootstrap
from kubetrust.sandbox.kube.bootstrap import (
    CLUSTER_ROLE_BINDINGS_KEY,
    CLUSTER_ROLES_KEY,
    ROLE_BINDINGS_KEY,
    ROLES_KEY,
)
from kubetrust.sandbox.kube.rbac import RbacAuthorizer, kube_request
from kubetrust.sandbox.kube.server import KubeApiServer
from kubetrust.sandbox.kube.store import Store

RBAC = "rbac.authorization.k8s.io"
POLICY = "arn:aws:eks::aws:cluster-access-policy/"
ANONYMOUS = auth.User("system:anonymous", groups=("system:unauthenticated",))


# ---------------------------------------------------------------------- helpers
@pytest.fixture
def store() -> Store:
    seeded = Store()
    bootstrap.seed(seeded)
    return seeded


@pytest.fixture
def authorize(store: Store) -> RbacAuthorizer:
    return RbacAuthorizer(store)


def user(name: str, *groups: str, grants: tuple[AccessGrant, ...] = ()) -> auth.User:
    return auth.User(name, groups=(*groups, auth.AUTHENTICATED), grants=grants)


def check(
    authorize: RbacAuthorizer,
    who: auth.User,
    verb: str,
    resource: str,
    namespace: str | None = "default",
    *,
    group: str = "",
    name: str | None = None,
) -> tuple[bool, str]:
    """Ask about ``resource`` (``plural`` or ``plural/sub``) in ``group``."""
    plural, _, sub = resource.partition("/")
    return authorize(who, verb, auth.GroupResource(group, plural, sub), namespace, name)


def can(*args: Any, **kwargs: Any) -> bool:
    return check(*args, **kwargs)[0]


def can_url(authorize: RbacAuthorizer, who: auth.User, verb: str, path: str) -> bool:
    return authorize(who, verb, auth.GroupResource("", ""), None, path)[0]


def subject(kind: str, name: str, namespace: str | None = None) -> dict[str, str]:
    found = {"kind": kind, "name": name}
    if kind != "ServiceAccount":
        found["apiGroup"] = RBAC
    if namespace:
        found["namespace"] = namespace
    return found


def bind(
    store: Store,
    name: str,
    role: str,
    *subjects: dict[str, str],
    namespace: str = "",
    role_kind: str = "ClusterRole",
) -> None:
    """A RoleBinding in ``namespace``, or a ClusterRoleBinding when it is empty."""
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    store.create(
        ROLE_BINDINGS_KEY if namespace else CLUSTER_ROLE_BINDINGS_KEY,
        namespace,
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": kind,
            "metadata": {"name": name},
            "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role},
            "subjects": list(subjects),
        },
    )


def role(store: Store, name: str, rules: Any, namespace: str = "") -> None:
    """A Role in ``namespace``, or a ClusterRole when it is empty."""
    store.create(
        ROLES_KEY if namespace else CLUSTER_ROLES_KEY,
        namespace,
        {
            "apiVersion": f"{RBAC}/v1",
            "kind": "Role" if namespace else "ClusterRole",
            "metadata": {"name": name},
            "rules": rules,
        },
    )


def rule(resources: list[str], verbs: list[str], **more: list[str]) -> dict[str, list[str]]:
    return {"apiGroups": [""], "resources": resources, "verbs": verbs, **more}


# ---------------------------------------------------------------------- bootstrap
def test_seed_stores_the_default_roles_and_bindings(store: Store) -> None:
    roles = {obj["metadata"]["name"]: obj for obj in store.list(CLUSTER_ROLES_KEY)[0]}
    assert set(roles) >= {
        "cluster-admin",
        "admin",
        "edit",
        "view",
        "system:basic-user",
        "system:discovery",
        "system:public-info-viewer",
    }
    for name, obj in roles.items():
        assert obj["apiVersion"] == "rbac.authorization.k8s.io/v1"
        assert obj["metadata"]["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults"
        assert obj["metadata"]["annotations"] == {
            "rbac.authorization.kubernetes.io/autoupdate": "true"
        }
        expected = [bootstrap.rule_json(r) for r in rbac_defaults.CLUSTER_ROLE_RULES[name]]
        assert obj["rules"] == expected
    assert roles["cluster-admin"]["rules"] == [
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
        {"nonResourceURLs": ["*"], "verbs": ["*"]},
    ]
    assert roles["view"]["metadata"]["labels"][f"{RBAC}/aggregate-to-edit"] == "true"
    assert roles["admin"]["aggregationRule"] == {
        "clusterRoleSelectors": [{"matchLabels": {f"{RBAC}/aggregate-to-admin": "true"}}]
    }
    bindings = {b["metadata"]["name"]: b for b in store.list(CLUSTER_ROLE_BINDINGS_KEY)[0]}
    groups = {
        name: [s["name"] for s in b["subjects"] if s["kind"] == "Group"]
        for name, b in bindings.items()
    }
    assert groups == {
        "cluster-admin": ["system:masters"],
        "system:basic-user": ["system:authenticated"],
        "system:discovery": ["system:authenticated"],
        "system:public-info-viewer": ["system:authenticated", "system:unauthenticated"],
    }
    assert all(b["roleRef"]["kind"] == "ClusterRole" for b in bindings.values())


def test_seed_is_idempotent_and_keeps_user_changes(store: Store) -> None:
    view = store.get(CLUSTER_ROLES_KEY, "", "view")
    view["rules"] = [rule(["pods"], ["get"])]
    changed = store.update(CLUSTER_ROLES_KEY, "", "view", view)
    before = store.resource_version
    bootstrap.seed(store)
    assert store.resource_version == before
    assert store.get(CLUSTER_ROLES_KEY, "", "view") == changed


def test_aggregated_roles_nest_as_upstream_materializes_them() -> None:
    rules = rbac_defaults.CLUSTER_ROLE_RULES
    assert rules["edit"][: len(rbac_defaults.AGGREGATE_TO_EDIT_RULES)] == (
        rbac_defaults.AGGREGATE_TO_EDIT_RULES
    )
    assert rules["edit"][-len(rules["view"]) :] == rules["view"]
    assert rules["admin"][: len(rules["edit"])] == rules["edit"]
    assert not any("secrets" in r.resources for r in rules["view"])


# ---------------------------------------------------------------------- RBAC
def test_system_masters_bypasses_rbac_even_without_any_binding() -> None:
    authorize = RbacAuthorizer(Store())  # not seeded: no cluster-admin binding at all
    root = user("root", "system:masters")
    assert check(authorize, root, "delete", "clusterroles", None, group=RBAC) == (True, "")
    assert can_url(authorize, root, "post", "/anything")
    assert not can(authorize, user("bob"), "get", "pods")


def test_view_reads_workloads_but_not_secrets_or_writes(
    store: Store, authorize: RbacAuthorizer
) -> None:
    bind(store, "viewers", "view", subject("Group", "viewers"))
    vera = user("vera", "viewers")
    allowed, reason = check(authorize, vera, "list", "pods")
    assert allowed
    assert reason == (
        'RBAC: allowed by ClusterRoleBinding "viewers" of ClusterRole "view" to Group "viewers"'
    )
    assert can(authorize, vera, "get", "pods", name="p")
    assert can(authorize, vera, "get", "pods/log", name="p")
    assert can(authorize, vera, "list", "deployments", group="apps")
    assert can(authorize, vera, "list", "namespaces", None)
    assert not can(authorize, vera, "create", "pods")
    assert not can(authorize, vera, "get", "secrets", name="s")
    assert not can(authorize, vera, "list", "secrets")
    assert not can(authorize, vera, "create", "pods/exec", name="p")
    assert check(authorize, user("other"), "list", "pods") == (False, "")


def test_edit_writes_workloads_and_secrets_but_not_rbac(
    store: Store, authorize: RbacAuthorizer
) -> None:
    bind(store, "ed", "edit", subject("User", "ed"), namespace="team")
    ed = user("ed")
    assert can(authorize, ed, "create", "deployments", "team", group="apps")
    assert can(authorize, ed, "patch", "deployments/scale", "team", group="apps", name="d")
    assert can(authorize, ed, "create", "secrets", "team")
    assert can(authorize, ed, "get", "secrets", "team", name="s")
    assert can(authorize, ed, "create", "serviceaccounts/token", "team", name="sa")
    assert can(authorize, ed, "create", "pods/exec", "team", name="p")
    assert can(authorize, ed, "get", "namespaces", "team", name="team")
    assert not can(authorize, ed, "delete", "namespaces", "team", name="team")
    assert not can(authorize, ed, "create", "roles", "team", group=RBAC)
    assert not can(authorize, ed, "create", "rolebindings", "team", group=RBAC)
    assert not can(authorize, ed, "create", "endpoints", "team")


def test_admin_manages_roles_in_its_namespace_only(store: Store, authorize: RbacAuthorizer) -> None:
    bind(store, "rb", "admin", subject("User", "alice"), namespace="team")
    alice = user("alice")
    allowed, reason = check(authorize, alice, "create", "roles", "team", group=RBAC)
    assert allowed
    assert reason == 'RBAC: allowed by RoleBinding "rb/team" of ClusterRole "admin" to User "alice"'
    assert can(authorize, alice, "delete", "rolebindings", "team", group=RBAC, name="x")
    assert can(
        authorize,
        alice,
        "create",
        "localsubjectaccessreviews",
        "team",
        group="authorization.k8s.io",
    )
    assert not can(authorize, alice, "create", "clusterroles", None, group=RBAC)
    assert not can(authorize, alice, "create", "roles", "default", group=RBAC)
    assert not can(authorize, alice, "create", "namespaces", None)


def test_cluster_admin_binding_allows_everything(store: Store, authorize: RbacAuthorizer) -> None:
    bind(store, "root-binding", "cluster-admin", subject("User", "root"))
    root = user("root")
    assert can(authorize, root, "delete", "clusterroles", None, group=RBAC, name="x")
    assert can(authorize, root, "escalate", "widgets/status", "x", group="example.com")
    assert can_url(authorize, root, "get", "/metrics")
    _, reason = check(authorize, root, "list", "pods", None)
    assert reason.startswith('RBAC: allowed by ClusterRoleBinding "root-binding" of ClusterRole')


def test_rolebinding_to_a_cluster_role_is_scoped_to_its_namespace(
    store: Store, authorize: RbacAuthorizer
) -> None:
    bind(store, "read", "view", subject("User", "una"), namespace="team")
    una = user("una")
    assert can(authorize, una, "list", "pods", "team")
    assert not can(authorize, una, "list", "pods", "default")
    assert not can(authorize, una, "list", "pods", None)  # across all namespaces
    assert not can(authorize, una, "list", "namespaces", None)


def test_a_role_applies_only_through_bindings_in_its_own_namespace(
    store: Store, authorize: RbacAuthorizer
) -> None:
    role(store, "reader", [rule(["configmaps"], ["list"])], namespace="a")
    bind(store, "in-b", "reader", subject("User", "rob"), namespace="b", role_kind="Role")
    rob = user("rob")
    assert not can(authorize, rob, "list", "configmaps", "b")  # no Role "reader" in b
    assert not can(authorize, rob, "list", "configmaps", "a")  # no binding in a
    bind(store, "crb", "reader", subject("User", "rob"), role_kind="Role")
    assert not can(authorize, rob, "list", "configmaps", "a")  # a CRB cannot use a Role
    bind(store, "in-a", "reader", subject("User", "rob"), namespace="a", role_kind="Role")
    allowed, reason = check(authorize, rob, "list", "configmaps", "a")
    assert allowed
    assert reason == 'RBAC: allowed by RoleBinding "in-a/a" of Role "reader" to User "rob"'


def test_resource_names_need_a_named_request(store: Store, authorize: RbacAuthorizer) -> None:
    rules = [rule(["configmaps"], ["get", "list", "create", "update"], resourceNames=["cm1"])]
    role(store, "one", rules, namespace="default")
    bind(store, "one", "one", subject("User", "nia"), namespace="default", role_kind="Role")
    nia = user("nia")
    assert can(authorize, nia, "get", "configmaps", name="cm1")
    assert can(authorize, nia, "update", "configmaps", name="cm1")
    assert not can(authorize, nia, "get", "configmaps", name="cm2")
    assert not can(authorize, nia, "list", "configmaps")
    assert not can(authorize, nia, "create", "configmaps")


def test_subresources_match_only_as_plural_slash_sub(
    store: Store, authorize: RbacAuthorizer
) -> None:
    rules = [
        rule(["pods/log"], ["get"]),
        {"apiGroups": ["apps"], "resources": ["*/scale"], "verbs": ["get"]},
        rule(["services"], ["get"]),
        {"apiGroups": ["batch"], "resources": ["*"], "verbs": ["get"]},
    ]
    role(store, "subs", rules)
    bind(store, "subs", "subs", subject("User", "sam"))
    sam = user("sam")
    assert can(authorize, sam, "get", "pods/log", name="p")
    assert not can(authorize, sam, "get", "pods", name="p")
    assert can(authorize, sam, "get", "deployments/scale", group="apps", name="d")
    assert not can(authorize, sam, "get", "deployments", group="apps", name="d")
    assert not can(authorize, sam, "get", "pods/scale", name="p")  # */scale is for apps only
    assert can(authorize, sam, "get", "services", name="s")
    assert not can(authorize, sam, "get", "services/proxy", name="s")
    assert can(authorize, sam, "get", "jobs/status", group="batch", name="j")


def test_service_account_subjects(store: Store, authorize: RbacAuthorizer) -> None:
    bind(store, "sa-view", "view", subject("ServiceAccount", "builder"), namespace="team")
    builder = user("system:serviceaccount:team:builder", "system:serviceaccounts")
    allowed, reason = check(authorize, builder, "list", "pods", "team")
    assert allowed
    assert reason == (
        'RBAC: allowed by RoleBinding "sa-view/team" of ClusterRole "view" to '
        'ServiceAccount "builder/team"'
    )
    assert not can(authorize, user("system:serviceaccount:other:builder"), "list", "pods", "team")
    assert not can(authorize, user("builder"), "list", "pods", "team")
    # a ClusterRoleBinding must name the service account's namespace
    bind(store, "sa-anywhere", "edit", subject("ServiceAccount", "builder"))
    assert not can(authorize, builder, "create", "pods", "team")
    bind(store, "sa-edit", "edit", subject("ServiceAccount", "builder", "team"))
    assert can(authorize, builder, "create", "pods", "prod")


def test_non_resource_urls(store: Store, authorize: RbacAuthorizer) -> None:
    assert can_url(authorize, ANONYMOUS, "get", "/version")
    assert can_url(authorize, ANONYMOUS, "get", "/healthz")
    assert not can_url(authorize, ANONYMOUS, "get", "/apis")
    assert not can_url(authorize, ANONYMOUS, "post", "/version")
    allowed, reason = authorize(ANONYMOUS, "get", auth.GroupResource("", ""), None, "/version")
    assert allowed
    assert reason == (
        'RBAC: allowed by ClusterRoleBinding "system:public-info-viewer" of ClusterRole '
        '"system:public-info-viewer" to Group "system:unauthenticated"'
    )
    someone = user("someone")
    assert can_url(authorize, someone, "get", "/apis")
    assert can_url(authorize, someone, "get", "/apis/apps/v1")
    assert can_url(authorize, someone, "get", "/openapi/v3")
    assert not can_url(authorize, someone, "get", "/metrics")
    assert not can_url(authorize, someone, "get", "/apisx")  # "/apis/*" is a prefix, "/apis" exact
    role(store, "logs", [{"nonResourceURLs": ["/logs*"], "verbs": ["get"]}])
    bind(store, "logs", "logs", subject("User", "someone"))
    assert can_url(authorize, someone, "get", "/logs/kube-apiserver.log")
    # a namespaced binding never grants non-resource URLs
    role(store, "metrics", [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}])
    bind(store, "m", "metrics", subject("User", "someone"), namespace="default")
    assert not can_url(authorize, someone, "get", "/metrics")


def test_basic_user_may_review_itself(authorize: RbacAuthorizer) -> None:
    someone = user("someone")
    review = auth.GroupResource("authorization.k8s.io", "selfsubjectaccessreviews")
    assert authorize(someone, "create", review, None, None)[0]
    whoami = auth.GroupResource("authentication.k8s.io", "selfsubjectreviews")
    assert authorize(someone, "create", whoami, None, None)[0]
    assert not authorize(ANONYMOUS, "create", whoami, None, None)[0]


def test_bindings_are_read_fresh_on_every_call(store: Store, authorize: RbacAuthorizer) -> None:
    fay = user("fay")
    assert not can(authorize, fay, "list", "pods")
    bind(store, "fay", "view", subject("User", "fay"), namespace="default")
    assert can(authorize, fay, "list", "pods")
    store.delete(ROLE_BINDINGS_KEY, "default", "fay")
    assert not can(authorize, fay, "list", "pods")


# ---------------------------------------------------------------------- EKS access policies
def test_cluster_scope_view_policy_reads_everywhere_but_not_secrets(
    authorize: RbacAuthorizer,
) -> None:
    viewer = user("v", grants=(access_policy_grant(POLICY + "AmazonEKSViewPolicy"),))
    allowed, reason = check(authorize, viewer, "list", "namespaces", None)
    assert allowed
    assert reason == "EKS access policy AmazonEKSViewPolicy (cluster scope)"
    assert can(authorize, viewer, "list", "pods", None)
    assert can(authorize, viewer, "get", "pods", "kube-system", name="p")
    assert not can(authorize, viewer, "get", "secrets", "default", name="s")
    assert not can(authorize, viewer, "create", "configmaps")


def test_namespace_scope_policy_covers_only_matching_namespaces(
    authorize: RbacAuthorizer,
) -> None:
    grant = access_policy_grant(
        POLICY + "AmazonEKSEditPolicy", scope_type="namespace", namespaces=["dev-*"]
    )
    dev = user("d", grants=(grant,))
    allowed, reason = check(authorize, dev, "create", "configmaps", "dev-a")
    assert allowed
    assert reason == "EKS access policy AmazonEKSEditPolicy (namespace scope dev-*)"
    assert can(authorize, dev, "get", "namespaces", "dev-a", name="dev-a")
    assert not can(authorize, dev, "create", "configmaps", "prod")
    assert not can(authorize, dev, "list", "pods", None)
    assert not can(authorize, dev, "list", "namespaces", None)
    assert not can(authorize, dev, "create", "roles", "dev-a", group=RBAC)  # edit, not admin


def test_cluster_admin_policy_allows_everything(authorize: RbacAuthorizer) -> None:
    admin = user("a", grants=(access_policy_grant(POLICY + "AmazonEKSClusterAdminPolicy"),))
    assert can(authorize, admin, "delete", "clusterroles", None, group=RBAC, name="view")
    assert can(authorize, admin, "impersonate", "users", None, name="x")
    assert can_url(authorize, admin, "get", "/metrics")
    namespaced = AccessGrant(POLICY + "AmazonEKSClusterAdminPolicy", "cluster-admin", ("a",))
    limited = user("l", grants=(namespaced,))
    assert can(authorize, limited, "delete", "secrets", "a", name="s")
    assert not can(authorize, limited, "delete", "secrets", "b", name="s")
    assert not can_url(authorize, limited, "get", "/metrics")


def test_policies_without_a_role_grant_nothing(authorize: RbacAuthorizer) -> None:
    grant = access_policy_grant(POLICY + "AmazonEKSAdminViewPolicy")
    assert grant.cluster_role is None
    nobody = user("n", grants=(grant,))
    assert not can(authorize, nobody, "get", "pods", name="p")
    assert not can(authorize, nobody, "list", "secrets")
    # only the four user-facing roles can stand behind an access policy (E.4)
    odd = (
        AccessGrant(POLICY + "Made", "system:basic-user"),
        AccessGrant(POLICY + "Made", "no-such-role"),
    )
    outsider = auth.User("outsider", grants=odd)  # not even system:authenticated
    whoami = auth.GroupResource("authentication.k8s.io", "selfsubjectreviews")
    assert authorize(outsider, "create", whoami, None, None) == (False, "")


def test_policies_use_built_in_rules_not_the_stored_roles(
    store: Store, authorize: RbacAuthorizer
) -> None:
    store.delete(CLUSTER_ROLES_KEY, "", "view")
    role(store, "view", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])
    viewer = user("v", grants=(access_policy_grant(POLICY + "AmazonEKSViewPolicy"),))
    assert can(authorize, viewer, "list", "pods")
    assert not can(authorize, viewer, "delete", "pods", name="p")
    bound = user("b")
    bind(store, "b", "view", subject("User", "b"))
    assert can(authorize, bound, "delete", "pods", name="p")  # RBAC reads the stored role


def test_policies_and_rbac_combine_as_a_union(store: Store, authorize: RbacAuthorizer) -> None:
    grant = access_policy_grant(
        POLICY + "AmazonEKSViewPolicy", scope_type="namespace", namespaces=["dev"]
    )
    both = user("both", "writers", grants=(grant,))
    bind(store, "w", "edit", subject("Group", "writers"), namespace="prod")
    assert can(authorize, both, "list", "pods", "dev")
    _, reason = check(authorize, both, "create", "pods", "prod")
    assert (
        reason == 'RBAC: allowed by RoleBinding "w/prod" of ClusterRole "edit" to Group "writers"'
    )
    assert not can(authorize, both, "create", "pods", "dev")


# ---------------------------------------------------------------------- robustness
def test_malformed_stored_objects_are_skipped(store: Store, authorize: RbacAuthorizer) -> None:
    role(store, "rules-not-a-list", {"verbs": ["*"]})
    role(
        store,
        "mixed",
        [
            "not a rule",
            {"apiGroups": [""], "resources": "pods", "verbs": ["*"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": [None]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["*"], "resourceNames": 3},
            rule(["configmaps"], ["list"]),
        ],
    )
    mal = subject("User", "mal")
    bind(store, "a-bad", "rules-not-a-list", mal)
    bind(store, "b-missing", "no-such-role", mal)
    bind(store, "c-mixed", "mixed", mal)
    junk: list[dict[str, Any]] = [
        {"metadata": {"name": "d-no-subjects"}, "roleRef": {"kind": "ClusterRole", "name": "x"}},
        {"metadata": {"name": "e-subjects"}, "subjects": "mal", "roleRef": "cluster-admin"},
        {"metadata": {"name": "f-ref"}, "subjects": [mal, 7], "roleRef": {"kind": "Thing"}},
        {"metadata": {"name": "g-ref"}, "subjects": [{"kind": "User"}], "roleRef": None},
    ]
    for obj in junk:
        store.create(CLUSTER_ROLE_BINDINGS_KEY, "", obj)
    store.create(ROLE_BINDINGS_KEY, "default", {"metadata": {"name": "h"}, "subjects": None})
    mallory = user("mal")
    assert not can(authorize, mallory, "get", "pods", name="p")
    assert not can(authorize, mallory, "delete", "pods", name="p")
    allowed, reason = check(authorize, mallory, "list", "configmaps")
    assert allowed
    assert (
        reason
        == 'RBAC: allowed by ClusterRoleBinding "c-mixed" of ClusterRole "mixed" to User "mal"'
    )


def test_requests_reach_the_shared_rule_matcher() -> None:
    """The authorizer's call becomes chain.rbac's request: subresource kept apart, a
    non-resource URL as ``path`` (the matcher itself is tested in tests/unit/explain)."""
    pods = kube_request("get", auth.GroupResource("", "pods", "log"), "ns", "p")
    assert (pods.combined, pods.namespace, pods.name) == ("pods/log", "ns", "p")
    assert rule_allows(PolicyRule(("get",), ("*",), ("*",)), pods)
    assert not rule_allows(PolicyRule(("get",), ("apps",), ("*",)), pods)
    assert not rule_allows(PolicyRule(("get",), ("",), ("pods",)), pods)
    assert not rule_allows(PolicyRule(("*",), non_resource_urls=("*",)), pods)
    url = kube_request("get", auth.GroupResource("", ""), None, "/healthz/etcd")
    assert not url.is_resource_request and url.path == "/healthz/etcd"
    assert rule_allows(PolicyRule(("get",), non_resource_urls=("/healthz/*",)), url)
    assert not rule_allows(PolicyRule(("get",), non_resource_urls=("/healthz",)), url)
    assert not rule_allows(PolicyRule(("*",), ("*",), ("*",)), url)


# ---------------------------------------------------------------------- real kubectl
KUBECTL = Path(sys.prefix) / "bin" / "kubectl"
TOKENS = {
    "t-admin": admin_user(),
    "t-vera": auth.User("vera", uid="u-vera"),
    "t-adam": auth.User("adam", uid="u-adam"),
    "t-nobody": auth.User("nobody", uid="u-nobody"),
    "t-dev": auth.User(
        "dev",
        uid="u-dev",
        grants=(
            access_policy_grant(
                POLICY + "AmazonEKSViewPolicy", scope_type="namespace", namespaces=["dev-*"]
            ),
        ),
    ),
}


class Kubectl:
    """Runs the real kubectl with a private HOME and a kubeconfig per static token."""

    def __init__(self, home: Path, endpoint: str, ca_pem: bytes) -> None:
        self.home = home
        self.endpoint = endpoint
        self.ca_data = base64.b64encode(ca_pem).decode()

    def _config(self, token: str) -> Path:
        path = self.home / f"kubeconfig-{token}"
        cluster = {"server": self.endpoint, "certificate-authority-data": self.ca_data}
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "c", "cluster": cluster}],
                    "users": [{"name": "u", "user": {"token": token}}],
                    "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                    "current-context": "c",
                }
            )
        )
        return path

    def __call__(self, token: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.home),
            "KUBECONFIG": str(self._config(token)),
        }
        return subprocess.run(
            [str(KUBECTL), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def can_i(self, token: str, *args: str) -> str:
        result = self(token, "auth", "can-i", *args)
        assert result.returncode in (0, 1), result.stderr
        return result.stdout.strip()


@pytest.fixture(scope="module")
def rbac_server(ca: pki.CertificateAuthority) -> Iterator[KubeApiServer]:
    store = Store()
    bootstrap.seed(store)
    app = api.KubeApi(StaticTokens(TOKENS), RbacAuthorizer(store), store)
    with KubeApiServer(ca, 0, app) as server:
        yield server


@pytest.fixture(scope="module")
def kubectl(
    tmp_path_factory: pytest.TempPathFactory,
    rbac_server: KubeApiServer,
    ca: pki.CertificateAuthority,
) -> Kubectl:
    run = Kubectl(tmp_path_factory.mktemp("rbac-kubectl"), rbac_server.endpoint, ca.certificate_pem)
    for command in (
        ("create", "rolebinding", "vera-view", "--clusterrole=view", "--user=vera"),
        ("create", "rolebinding", "adam-admin", "--clusterrole=admin", "--user=adam"),
        ("create", "namespace", "dev-a"),
        ("create", "namespace", "prod"),
    ):
        result = run("t-admin", *command)
        assert result.returncode == 0, (command, result.stderr)
    return run


def test_kubectl_can_i_follows_rbac(kubectl: Kubectl) -> None:
    assert kubectl.can_i("t-vera", "list", "pods") == "yes"
    assert kubectl.can_i("t-vera", "get", "pods/log") == "yes"
    assert kubectl.can_i("t-vera", "create", "configmaps") == "no"
    assert kubectl.can_i("t-vera", "get", "secrets") == "no"
    assert kubectl.can_i("t-vera", "list", "pods", "-n", "kube-system") == "no"
    assert kubectl.can_i("t-adam", "create", "roles") == "yes"
    assert kubectl.can_i("t-adam", "create", "clusterroles") == "no"
    assert kubectl.can_i("t-nobody", "get", "/apis") == "yes"  # system:discovery
    assert kubectl.can_i("t-nobody", "get", "/metrics") == "no"
    assert kubectl.can_i("t-admin", "delete", "nodes") == "yes"


def test_kubectl_view_user_reads_but_cannot_write(kubectl: Kubectl) -> None:
    listed = kubectl("t-vera", "get", "pods")
    assert listed.returncode == 0, listed.stderr
    assert "No resources found in default namespace." in listed.stderr
    created = kubectl("t-vera", "create", "configmap", "nope", "--from-literal=a=b")
    assert created.returncode == 1
    # kubectl's own prefix for `create configmap`, then the apiserver's Forbidden message
    assert created.stderr.strip() == (
        'error: failed to create configmap: configmaps is forbidden: User "vera" cannot '
        'create resource "configmaps" in API group "" in the namespace "default"'
    )


def test_kubectl_admin_rolebinding_grants_access(kubectl: Kubectl) -> None:
    assert kubectl.can_i("t-nobody", "create", "configmaps") == "no"
    granted = kubectl(
        "t-adam", "create", "rolebinding", "nobody-edit", "--clusterrole=edit", "--user=nobody"
    )
    assert granted.returncode == 0, granted.stderr
    assert granted.stdout.strip() == "rolebinding.rbac.authorization.k8s.io/nobody-edit created"
    assert kubectl.can_i("t-nobody", "create", "configmaps") == "yes"
    created = kubectl("t-nobody", "create", "configmap", "from-nobody", "--from-literal=a=b")
    assert created.returncode == 0, created.stderr
    elsewhere = kubectl("t-nobody", "create", "configmap", "x", "-n", "prod", "--from-literal=a=b")
    assert elsewhere.returncode == 1
    assert 'User "nobody" cannot create resource "configmaps"' in elsewhere.stderr
    assert 'in the namespace "prod"' in elsewhere.stderr
    outside = kubectl("t-adam", "create", "rolebinding", "x", "--clusterrole=edit", "-n", "prod")
    assert outside.returncode == 1
    assert (
        'rolebindings.rbac.authorization.k8s.io is forbidden: User "adam" cannot create '
        'resource "rolebindings" in API group "rbac.authorization.k8s.io" in the namespace "prod"'
    ) in outside.stderr


def test_kubectl_access_policy_grant_is_namespace_scoped(kubectl: Kubectl) -> None:
    assert kubectl.can_i("t-dev", "list", "pods", "-n", "dev-a") == "yes"
    assert kubectl.can_i("t-dev", "list", "pods", "-n", "prod") == "no"
    inside = kubectl("t-dev", "get", "pods", "-n", "dev-a")
    assert inside.returncode == 0, inside.stderr
    outside = kubectl("t-dev", "get", "pods", "-n", "prod")
    assert outside.returncode == 1
    assert outside.stderr.strip() == (
        'Error from server (Forbidden): pods is forbidden: User "dev" cannot list resource '
        '"pods" in API group "" in the namespace "prod"'
    )
    cluster = kubectl("t-dev", "get", "namespaces")
    assert cluster.returncode == 1
    assert 'cannot list resource "namespaces" in API group "" at the cluster scope' in (
        cluster.stderr
    )
