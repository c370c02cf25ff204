"""The pure parts of RBAC escalation prevention and of RequestInfo (chain.rbac_escalation,
chain.rbac.request_info): upstream ``Covers``/``CompactString`` and the attributes the
apiserver derives, shared by the sandbox and explain."""

from __future__ import annotations

import pytest

from kubetrust.chain import rbac
from kubetrust.chain.rbac_escalation import (
    FULL_AUTHORITY,
    breakdown,
    compact_string,
    covers,
    escalation_error,
)
from kubetrust.model.kube import PolicyRule


def rule(
    verbs: tuple[str, ...],
    groups: tuple[str, ...] = ("",),
    resources: tuple[str, ...] = (),
    names: tuple[str, ...] = (),
    urls: tuple[str, ...] = (),
) -> PolicyRule:
    return PolicyRule(verbs, groups if resources else (), resources, names, urls)


PODS_GET = rule(("get",), resources=("pods",))


@pytest.mark.parametrize(
    ("owned", "wanted", "held"),
    [
        (
            (rule(("*",), ("*",), ("*",)),),
            rule(("get", "delete"), ("apps",), ("deployments",)),
            True,
        ),
        ((PODS_GET,), PODS_GET, True),
        ((PODS_GET,), rule(("get", "list"), resources=("pods",)), False),
        ((PODS_GET,), rule(("get",), resources=("pods/log",)), False),  # pods ≠ pods/log
        ((rule(("get",), resources=("*/log",)),), rule(("get",), resources=("pods/log",)), True),
        ((rule(("get",), resources=("*/log",)),), rule(("get",), resources=("pods",)), False),
        ((rule(("get",), ("*",), ("pods",)),), rule(("get",), ("apps",), ("pods",)), True),
        ((PODS_GET,), rule(("get",), ("apps",), ("pods",)), False),
        # resourceNames: an owner with names holds only those names
        ((rule(("get",), resources=("pods",), names=("a",)),), PODS_GET, False),
        (
            (rule(("get",), resources=("pods",), names=("a", "b")),),
            rule(("get",), resources=("pods",), names=("b",)),
            True,
        ),
        ((PODS_GET,), rule(("get",), resources=("pods",), names=("any",)), True),
        # non-resource URLs: prefixes with a trailing *, never from resource rules
        ((rule(("get",), urls=("/logs*",)),), rule(("get",), urls=("/logs/x",)), True),
        ((rule(("get",), urls=("/logs",)),), rule(("get",), urls=("/logs/x",)), False),
        ((rule(("*",), ("*",), ("*",)),), rule(("get",), urls=("/metrics",)), False),
        ((rule(("get",), urls=("*",)),), rule(("get",), ("",), ("pods",)), False),
        (FULL_AUTHORITY, rule(("get",), urls=("/metrics",)), True),
        # a rule that names no resource grants nothing, so needs nothing
        ((), PolicyRule(("*",), ("*",)), True),
    ],
)
def test_covers_follows_upstream(
    owned: tuple[PolicyRule, ...], wanted: PolicyRule, held: bool
) -> None:
    assert covers(owned, [wanted])[0] is held


def test_covers_lists_the_atoms_not_held() -> None:
    held, missing = covers([PODS_GET], [rule(("get", "list"), resources=("pods", "secrets"))])
    assert not held
    assert missing == (
        rule(("list",), resources=("pods",)),
        rule(("get",), resources=("secrets",)),
        rule(("list",), resources=("secrets",)),
    )
    assert len(breakdown(rule(("a", "b"), ("x", "y"), ("r",), names=("n1", "n2")))) == 8


def test_messages_are_upstream_compact_strings() -> None:
    assert compact_string(PODS_GET) == '{APIGroups:[""], Resources:["pods"], Verbs:["get"]}'
    assert compact_string(rule(("get",), urls=("/x",))) == '{NonResourceURLs:["/x"], Verbs:["get"]}'
    _, missing = covers([], [rule(("*",), ("*",), ("*",)), rule(("get", "list"), urls=("/a",))])
    assert escalation_error("bob", ["devs", "system:authenticated"], missing) == (
        'user "bob" (groups=["devs" "system:authenticated"]) is attempting to grant RBAC '
        "permissions not currently held:\n"
        '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n'
        '{NonResourceURLs:["/a"], Verbs:["get"]}\n'
        '{NonResourceURLs:["/a"], Verbs:["list"]}'
    )
    _, missing = covers([], [rule(("get", "list"), resources=("pods",), names=("p",))])
    assert escalation_error('a"b', [], missing).endswith(
        '{APIGroups:[""], Resources:["pods"], ResourceNames:["p"], Verbs:["get" "list"]}'
    )
    assert escalation_error('a"b', [], missing).startswith('user "a\\"b" (groups=[])')


# ---------------------------------------------------------------------- RequestInfo
def test_the_namespace_object_is_in_its_own_namespace() -> None:
    got = rbac.request_info("get", "namespaces", name="apps")
    assert (got.namespace, got.name) == ("apps", "apps")
    assert rbac.request_info("get", "namespaces", namespace="other", name="apps").namespace == (
        "apps"
    )
    assert rbac.request_info("list", "namespaces", namespace="apps").namespace == ""
    assert rbac.request_info("create", "namespaces").namespace == ""
    assert rbac.request_info("get", "namespaces", "example.com", name="x").namespace == ""
    assert rbac.normalized(rbac.KubeRequest("get", "namespaces", name="apps")).namespace == "apps"


def test_cluster_scoped_resources_drop_the_namespace() -> None:
    assert rbac.request_info("list", "nodes", namespace="apps").namespace == ""
    assert (
        rbac.request_info("get", "clusterroles", "rbac.authorization.k8s.io", "", "a").namespace
        == ""
    )
    assert rbac.request_info("list", "widgets", "example.com", namespace="a").namespace == "a"
    url = rbac.KubeRequest("get", path="/healthz")
    assert rbac.normalized(url) is url


@pytest.mark.parametrize(
    ("verb", "selector", "name"),
    [
        ("watch", "metadata.name=x", "x"),
        ("list", "metadata.name==x", "x"),
        ("watch", "metadata.namespace=n,metadata.name=x", "x"),
        ("watch", "metadata.name!=x", ""),
        ("watch", "metadata.name=a\\,b", "a,b"),
        ("watch", "metadata.name=..", ""),
        ("watch", "metadata.name=a/b", ""),
        ("watch", "metadata.name=a%2F", ""),
        ("watch", "metadata.name=a=b", ""),  # unescaped = : the selector does not parse
        ("watch", "metadata.name", ""),
        ("watch", " metadata.name=x", ""),  # nothing is trimmed
        ("get", "metadata.name=x", ""),
    ],
)
def test_a_single_name_field_selector_names_the_request(
    verb: str, selector: str, name: str
) -> None:
    assert rbac.request_info(verb, "pods", namespace="n", field_selector=selector).name == name


def test_field_selectors_parse_as_upstream() -> None:
    assert rbac.parse_field_selector("a=b,c!=d,e==") == (
        ("a", "=", "b"),
        ("c", "!=", "d"),
        ("e", "==", ""),
    )
    assert rbac.parse_field_selector("") == ()
    for bad in ("a", "a=b\\", "a=b\\x", "a=b=c"):
        with pytest.raises(ValueError):
            rbac.parse_field_selector(bad)
