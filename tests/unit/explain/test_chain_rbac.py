"""The pure RBAC evaluator (chain.rbac): upstream matching rules, defaults, access policies.

The default rules must stay equal to the sandbox's bootstrap (which the sandbox enforces)
until the sandbox imports chain.rbac_defaults; and the pure evaluator must agree with the
sandbox's ``rule_allows`` on a table of rules and requests.
"""

from __future__ import annotations

import pytest

from kubetrust.chain import rbac
from kubetrust.chain.kube_identity import access_policy_grant
from kubetrust.model.kube import Binding, PolicyRule, RbacObjects, RbacRole, Subject

RULE_CASES = [
    (PolicyRule(verbs=("get",), api_groups=("",), resources=("pods",)), "get", "pods", "", True),
    (PolicyRule(verbs=("get",), api_groups=("",), resources=("pods",)), "list", "pods", "", False),
    (PolicyRule(verbs=("*",), api_groups=("*",), resources=("*",)), "delete", "x", "g", True),
    (
        PolicyRule(verbs=("get",), api_groups=("apps",), resources=("pods",)),
        "get",
        "pods",
        "",
        False,
    ),
    (
        PolicyRule(verbs=("get",), api_groups=("",), resources=("pods",)),
        "get",
        "pods/log",
        "",
        False,
    ),
    (
        PolicyRule(verbs=("get",), api_groups=("",), resources=("*/log",)),
        "get",
        "pods/log",
        "",
        True,
    ),
]


@pytest.mark.parametrize(("rule", "verb", "resource", "group", "allowed"), RULE_CASES)
def test_rule_matching(
    rule: PolicyRule, verb: str, resource: str, group: str, allowed: bool
) -> None:
    plural, _, sub = resource.partition("/")
    request = rbac.KubeRequest(verb, plural, group, sub)
    assert rbac.rule_allows(rule, request) is allowed


def test_resource_names_and_urls() -> None:
    named = PolicyRule(
        verbs=("get",), api_groups=("",), resources=("configmaps",), resource_names=("app",)
    )
    assert rbac.rule_allows(named, rbac.KubeRequest("get", "configmaps", name="app"))
    assert not rbac.rule_allows(named, rbac.KubeRequest("list", "configmaps"))
    assert not rbac.rule_allows(named, rbac.KubeRequest("get", "configmaps"))
    urls = PolicyRule(verbs=("get",), non_resource_urls=("/healthz", "/api/*"))
    assert rbac.rule_allows(urls, rbac.KubeRequest("get", path="/healthz"))
    assert rbac.rule_allows(urls, rbac.KubeRequest("get", path="/api/v1"))
    assert not rbac.rule_allows(urls, rbac.KubeRequest("get", path="/metrics"))


def test_masters_bypass_rbac() -> None:
    decision = rbac.authorize(
        "u", ["system:masters"], rbac.KubeRequest("delete", "nodes"), RbacObjects()
    )
    assert decision.allowed and decision.via == "system:masters"


def test_authenticated_users_get_discovery_by_default() -> None:
    decision = rbac.authorize("u", [], rbac.KubeRequest("get", path="/version"), RbacObjects())
    assert decision.allowed
    assert "system:discovery" in decision.reason or "public-info" in decision.reason
    denied = rbac.authorize("u", [], rbac.KubeRequest("get", "namespaces"), RbacObjects())
    assert not denied.allowed and not denied.near_misses


def _objects() -> RbacObjects:
    role = RbacRole(
        "reader", (PolicyRule(verbs=("get",), api_groups=("",), resources=("pods",)),), "apps"
    )
    return RbacObjects(
        cluster_roles={},
        roles={("apps", "reader"): role},
        cluster_role_bindings=(
            Binding("view-all", "ClusterRole", "view", (Subject("Group", "viewers"),)),
        ),
        role_bindings={
            "apps": (
                Binding("r", "Role", "reader", (Subject("User", "alice"),), "apps"),
                Binding("ghost", "Role", "missing", (Subject("User", "alice"),), "apps"),
                Binding("sa", "ClusterRole", "edit", (Subject("ServiceAccount", "ci"),), "apps"),
            )
        },
    )


def test_role_bindings_apply_in_their_namespace_only() -> None:
    objects = _objects()
    assert rbac.authorize(
        "alice", [], rbac.KubeRequest("get", "pods", namespace="apps"), objects
    ).allowed
    assert not rbac.authorize(
        "alice", [], rbac.KubeRequest("get", "pods", namespace="web"), objects
    ).allowed


def test_near_misses_name_the_bindings_that_apply() -> None:
    decision = rbac.authorize(
        "alice", [], rbac.KubeRequest("delete", "pods", namespace="apps"), _objects()
    )
    assert not decision.allowed
    assert any('RoleBinding "r/apps"' in miss for miss in decision.near_misses)
    assert any("does not exist" in miss for miss in decision.near_misses)


def test_service_account_subject_defaults_to_the_binding_namespace() -> None:
    user = "system:serviceaccount:apps:ci"
    request = rbac.KubeRequest("create", "deployments", "apps", namespace="apps")
    assert rbac.authorize(user, [], request, _objects()).allowed


def test_default_roles_can_be_replaced() -> None:
    empty_view = RbacObjects(
        cluster_roles={"view": RbacRole("view", ())},
        cluster_role_bindings=_objects().cluster_role_bindings,
    )
    request = rbac.KubeRequest("get", "pods", namespace="apps")
    assert not rbac.authorize("bob", ["viewers"], request, empty_view).allowed
    assert rbac.authorize("bob", ["viewers"], request, _objects()).allowed


def test_access_policy_scopes() -> None:
    grant = access_policy_grant(
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
        scope_type="namespace",
        namespaces=["dev-*"],
    )
    inside = rbac.KubeRequest("list", "pods", namespace="dev-1")
    assert rbac.authorize("u", [], inside, RbacObjects(), [grant]).via == "access policy"
    assert not rbac.authorize(
        "u", [], rbac.KubeRequest("list", "pods", namespace="prod"), RbacObjects(), [grant]
    ).allowed
    assert not rbac.authorize(
        "u", [], rbac.KubeRequest("list", "namespaces"), RbacObjects(), [grant]
    ).allowed
    secrets = rbac.KubeRequest("get", "secrets", namespace="dev-1")
    assert not rbac.authorize("u", [], secrets, RbacObjects(), [grant]).allowed


def test_malformed_rules_grant_nothing() -> None:
    """Fail closed: a rule is dropped whole when a field is not a list of strings, so
    ``resourceNames: 3`` never reads as "any name" (found when the sandbox moved to this
    evaluator)."""
    from kubetrust.model.kube import parse_manifests

    role = {
        "kind": "ClusterRole",
        "metadata": {"name": "odd"},
        "rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["*"], "resourceNames": 3},
            {"apiGroups": [""], "resources": "pods", "verbs": ["*"]},
            {"apiGroups": [""], "resources": ["pods"], "verbs": [None, "get"]},
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]},
        ],
    }
    binding = {
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "odd"},
        "roleRef": {"kind": "ClusterRole", "name": "odd"},
        "subjects": [{"kind": "User", "name": "mal"}],
    }
    manifests, problems = parse_manifests([role, binding])
    assert len(manifests.rbac.cluster_roles["odd"].rules) == 1
    assert len(problems) == 3
    objects = manifests.rbac
    assert not rbac.authorize("mal", [], rbac.KubeRequest("get", "pods", name="p"), objects).allowed
    assert rbac.authorize("mal", [], rbac.KubeRequest("list", "configmaps"), objects).allowed


# ---------------------------------------------------------------------- rules_for
READ_PODS = PolicyRule(verbs=("get", "list"), api_groups=("",), resources=("pods",))
EDIT_CM = PolicyRule(verbs=("create",), api_groups=("",), resources=("configmaps",))


def _rules_objects() -> RbacObjects:
    return RbacObjects(
        cluster_roles={"pod-reader": RbacRole("pod-reader", (READ_PODS,))},
        roles={("dev", "cm"): RbacRole("cm", (EDIT_CM,), "dev")},
        cluster_role_bindings=(
            Binding("readers", "ClusterRole", "pod-reader", (Subject("Group", "readers"),)),
        ),
        role_bindings={
            "dev": (
                Binding("cm", "Role", "cm", (Subject("User", "ann"),), "dev"),
                Binding("gone", "ClusterRole", "missing", (Subject("User", "ann"),), "dev"),
                Binding(
                    "sa",
                    "ClusterRole",
                    "pod-reader",
                    (Subject("ServiceAccount", "app"),),
                    "dev",
                ),
            )
        },
    )


def test_rules_for_lists_cluster_then_namespace_bindings() -> None:
    objects = _rules_objects()
    found = rbac.rules_for("ann", ["readers"], "dev", objects, defaults=False)
    assert found == (READ_PODS, EDIT_CM)  # the binding to a missing role adds nothing
    assert rbac.rules_for("ann", ["readers"], "prod", objects, defaults=False) == (READ_PODS,)
    assert rbac.rules_for("ann", [], "", objects, defaults=False) == ()
    sa = "system:serviceaccount:dev:app"
    assert rbac.rules_for(sa, [], "dev", objects, defaults=False) == (READ_PODS,)
    assert rbac.rules_for(sa, [], "prod", objects, defaults=False) == ()


def test_rules_for_adds_the_defaults_everyone_has() -> None:
    from kubetrust.chain import rbac_defaults

    found = rbac.rules_for("bob", [], "dev", RbacObjects())
    expected = (
        rbac_defaults.CLUSTER_ROLE_RULES["system:basic-user"]
        + rbac_defaults.CLUSTER_ROLE_RULES["system:discovery"]
        + rbac_defaults.CLUSTER_ROLE_RULES["system:public-info-viewer"]
    )
    assert sorted(found, key=repr) == sorted(expected, key=repr)
    # without system:authenticated (the sandbox passes the exact groups) nothing applies
    assert rbac.rules_for("bob", [], "dev", RbacObjects(), authenticated=False) == ()


def test_rules_for_masters_is_what_bindings_give_and_ignores_access_policies() -> None:
    """Unlike :func:`rbac.authorize`, no privileged-group shortcut: system:masters gets
    cluster-admin through its default binding; access policies (E.4) are never rules."""
    masters = rbac.rules_for("root", ["system:masters"], "", RbacObjects())
    assert PolicyRule(verbs=("*",), api_groups=("*",), resources=("*",)) in masters
    assert PolicyRule(verbs=("*",), non_resource_urls=("*",)) in masters
    none = rbac.rules_for("root", ["system:masters"], "", RbacObjects(), defaults=False)
    assert none == ()
    grant = access_policy_grant(
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    )
    request = rbac.KubeRequest("list", "nodes")
    assert rbac.authorize("pat", [], request, RbacObjects(), [grant]).allowed
    assert not any(
        rbac.rule_allows(r, request) for r in rbac.rules_for("pat", [], "", RbacObjects())
    )


def test_rules_for_agrees_with_authorize() -> None:
    """Whatever a listed rule allows, authorize allows (same bindings, same matching)."""
    objects = _rules_objects()
    for user, groups, namespace in (("ann", ["readers"], "dev"), ("ann", [], "prod")):
        for rule in rbac.rules_for(user, groups, namespace, objects):
            for verb in rule.verbs:
                for resource in rule.resources:
                    request = rbac.KubeRequest(
                        verb, resource, rule.api_groups[0], namespace=namespace
                    )
                    assert rbac.authorize(user, groups, request, objects).allowed
