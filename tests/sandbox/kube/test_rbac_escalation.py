"""RBAC privilege-escalation prevention, attacked with real kubectl (issue 10, item 4).

Kubernetes refuses a Role/ClusterRole, or a binding, that grants more than its writer
holds, unless the writer may ``escalate`` the role or ``bind`` the referenced role (RBAC
docs, "Privilege escalation prevention and bootstrapping"). Each attack here is what a user
with only the right to write RBAC objects would try: bind ``cluster-admin`` to itself,
write ``*/*/*`` into a role, patch its own role or binding, use an ``aggregationRule``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from kubetrust.chain.kube_identity import access_policy_grant
from kubetrust.sandbox.host import pki
from kubetrust.sandbox.kube.store import Store

from .conftest import ADMIN_TOKEN, Kubectl
from .rbackit import (
    RBAC,
    RBAC_V1,
    binding,
    cluster_role,
    raw,
    rbac_server,
    role,
    rule,
    seed,
    user,
)

POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
TOKENS = {
    ADMIN_TOKEN: user("kubernetes-admin", "system:masters"),
    "t-binder": user("binder"),
    "t-roler": user("roler", "devs"),
    "t-nsadmin": user("nsadmin"),
    "t-eks-admin": user("eks-admin", grants=(access_policy_grant(POLICY),)),
}
WRITE = ["create", "update", "patch", "get", "list"]
CLUSTER_ADMIN_MISSING = (
    '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}'
)


@pytest.fixture(scope="module")
def world(
    ca: pki.CertificateAuthority, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Kubectl, Store]]:
    with rbac_server(ca, TOKENS) as (server, store):
        seed(
            store,
            cluster_role(
                "bindings-writer", [rule([RBAC], ["clusterrolebindings", "rolebindings"], WRITE)]
            ),
            binding("binder", "bindings-writer", "binder"),
            cluster_role("roles-writer", [rule([RBAC], ["roles", "clusterroles"], WRITE)]),
            binding("roler", "roles-writer", "roler"),
            role("pod-reader", "default", [rule([""], ["pods"], ["get", "list"])]),
            binding("roler-pods", "pod-reader", "roler", "default", "Role"),
        )
        kubectl = Kubectl(
            tmp_path_factory.mktemp("escalation"), server.endpoint, ca.certificate_pem
        )
        created = kubectl("create", "namespace", "team")
        assert created.returncode == 0, created.stderr
        seed(store, binding("nsadmin", "admin", "nsadmin", "team"))
        yield kubectl, store


def forbidden(kind: str, name: str, who: str, groups: str, missing: str) -> str:
    return (
        f'{kind}.{RBAC} "{name}" is forbidden: user "{who}" (groups={groups}) is attempting '
        f"to grant RBAC permissions not currently held:\n{missing}"
    )


def apply(kubectl: Kubectl, token: str, obj: dict[str, object]) -> subprocess.CompletedProcess[str]:
    return kubectl("apply", "-f", "-", token=token, stdin=json.dumps(obj))


# ---------------------------------------------------------------------- bindings
def test_a_binding_writer_cannot_bind_cluster_admin_to_itself(world: tuple[Kubectl, Store]) -> None:
    kubectl, _ = world
    done = kubectl(
        "create",
        "clusterrolebinding",
        "mine",
        "--clusterrole=cluster-admin",
        "--user=binder",
        token="t-binder",
    )
    assert done.returncode == 1
    expected = forbidden(
        "clusterrolebindings", "mine", "binder", '["system:authenticated"]', CLUSTER_ADMIN_MISSING
    )
    assert done.stderr.strip() == f"error: failed to create clusterrolebinding: {expected}"
    assert kubectl("auth", "can-i", "delete", "nodes", token="t-binder").stdout.strip() == "no"
    namespaced = kubectl(
        "create",
        "rolebinding",
        "mine",
        "--clusterrole=edit",
        "--user=binder",
        "-n",
        "team",
        token="t-binder",
    )
    assert namespaced.returncode == 1
    assert 'rolebindings.rbac.authorization.k8s.io "mine" is forbidden: user "binder"' in (
        namespaced.stderr
    )


def test_bind_on_a_named_role_allows_that_role_only(world: tuple[Kubectl, Store]) -> None:
    kubectl, store = world
    seed(
        store,
        cluster_role(
            "bind-view", [rule([RBAC], ["clusterroles"], ["bind"], resourceNames=["view"])]
        ),
        binding("binder-bind-view", "bind-view", "binder"),
    )
    view = kubectl(
        "create",
        "rolebinding",
        "v",
        "--clusterrole=view",
        "--user=x",
        "-n",
        "team",
        token="t-binder",
    )
    assert view.returncode == 0, view.stderr
    edit = kubectl(
        "create",
        "rolebinding",
        "e",
        "--clusterrole=edit",
        "--user=x",
        "-n",
        "team",
        token="t-binder",
    )
    assert edit.returncode == 1 and "is attempting to grant RBAC permissions" in edit.stderr


def test_a_binding_to_a_missing_role_is_not_found(world: tuple[Kubectl, Store]) -> None:
    kubectl, _ = world
    done = kubectl(
        "create",
        "clusterrolebinding",
        "ghost",
        "--clusterrole=nope",
        "--user=binder",
        token="t-binder",
    )
    assert done.returncode == 1
    assert f'clusterroles.{RBAC} "nope" not found' in done.stderr
    admin = kubectl("create", "clusterrolebinding", "ghost", "--clusterrole=nope", "--user=b")
    assert admin.returncode == 0, admin.stderr  # system:masters may bind anything


def test_a_namespace_admin_binds_what_it_holds_there_only(world: tuple[Kubectl, Store]) -> None:
    kubectl, _ = world
    held = kubectl(
        "create",
        "rolebinding",
        "self-edit",
        "--clusterrole=edit",
        "--user=nsadmin",
        "-n",
        "team",
        token="t-nsadmin",
    )
    assert held.returncode == 0, held.stderr
    wider = kubectl(
        "create",
        "rolebinding",
        "self-root",
        "--clusterrole=cluster-admin",
        "--user=nsadmin",
        "-n",
        "team",
        token="t-nsadmin",
    )
    assert wider.returncode == 1
    assert 'rolebindings.rbac.authorization.k8s.io "self-root" is forbidden' in wider.stderr
    assert CLUSTER_ADMIN_MISSING in wider.stderr


def test_editing_an_existing_binding_is_checked_too(world: tuple[Kubectl, Store]) -> None:
    """A namespace admin may edit RoleBindings, but adding itself to a binding of a role it
    does not hold is the same escalation (update and every patch type)."""
    kubectl, store = world
    seed(store, binding("root-in-team", "cluster-admin", "someone", "team"))
    subject = {"apiGroup": RBAC, "kind": "User", "name": "nsadmin"}
    json_patch = json.dumps([{"op": "add", "path": "/subjects/-", "value": subject}])
    for kind, patch in (
        ("json", json_patch),
        ("merge", json.dumps({"subjects": [subject]})),
        ("strategic", json.dumps({"subjects": [subject]})),
    ):
        done = kubectl(
            "patch",
            "rolebinding",
            "root-in-team",
            "-n",
            "team",
            f"--type={kind}",
            "-p",
            patch,
            token="t-nsadmin",
        )
        assert done.returncode == 1, (kind, done.stdout)
        assert "is attempting to grant RBAC permissions not currently held" in done.stderr
    current = json.loads(
        kubectl("get", "rolebinding", "root-in-team", "-n", "team", "-o", "json").stdout
    )
    current["subjects"].append(subject)
    replaced = kubectl("replace", "-f", "-", token="t-nsadmin", stdin=json.dumps(current))
    assert replaced.returncode == 1 and 'is forbidden: user "nsadmin"' in replaced.stderr
    assert (
        kubectl(
            "auth", "can-i", "delete", "secrets", "-n", "team", token="t-nsadmin"
        ).stdout.strip()
        == "yes"
    )
    assert kubectl("auth", "can-i", "get", "nodes", token="t-nsadmin").stdout.strip() == "no"
    # what the garbage collector needs stays possible: a finalizer-only change
    finalizer = json.dumps({"metadata": {"finalizers": ["example.com/hold"]}})
    gc = kubectl(
        "patch",
        "rolebinding",
        "root-in-team",
        "-n",
        "team",
        "--type=merge",
        "-p",
        finalizer,
        token="t-nsadmin",
    )
    assert gc.returncode == 0, gc.stderr


def test_an_eks_cluster_admin_policy_may_bind_anything(world: tuple[Kubectl, Store]) -> None:
    """Access policies authorize ``bind`` through the authorizer (they hold no RBAC rules)."""
    kubectl, _ = world
    done = kubectl(
        "create",
        "clusterrolebinding",
        "eks-root",
        "--clusterrole=cluster-admin",
        "--user=z",
        token="t-eks-admin",
    )
    assert done.returncode == 0, done.stderr


# ---------------------------------------------------------------------- roles
def test_a_role_writer_cannot_write_star_star_star(world: tuple[Kubectl, Store]) -> None:
    kubectl, _ = world
    wide = cluster_role("wide", [rule(["*"], ["*"], ["*"])])
    done = apply(kubectl, "t-roler", wide)
    assert done.returncode == 1
    expected = forbidden(
        "clusterroles",
        "wide",
        "roler",
        '["devs" "system:authenticated"]',
        '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}',
    )
    assert expected in done.stderr
    local = apply(kubectl, "t-roler", role("wide", "default", [rule(["*"], ["*"], ["*"])]))
    assert local.returncode == 1 and 'roles.rbac.authorization.k8s.io "wide" is forbidden' in (
        local.stderr
    )


def test_a_role_may_hold_what_its_writer_holds_in_that_namespace(
    world: tuple[Kubectl, Store],
) -> None:
    kubectl, _ = world
    readers = [rule([""], ["pods"], ["get"])]
    assert apply(kubectl, "t-roler", role("readers", "default", readers)).returncode == 0
    elsewhere = apply(kubectl, "t-roler", role("readers", "team", readers))
    assert elsewhere.returncode == 1 and "is attempting to grant" in elsewhere.stderr
    cluster = apply(kubectl, "t-roler", cluster_role("readers", readers))
    assert cluster.returncode == 1  # held in `default` only, not cluster-wide
    more = json.dumps(
        [{"op": "add", "path": "/rules/-", "value": rule([""], ["secrets"], ["get"])}]
    )
    patched = kubectl(
        "patch", "role", "readers", "-n", "default", "--type=json", "-p", more, token="t-roler"
    )
    assert patched.returncode == 1
    assert '{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}' in patched.stderr
    names = [rule([""], ["pods"], ["get"], resourceNames=["p1"])]
    assert apply(kubectl, "t-roler", role("one-pod", "default", names)).returncode == 0
    logs = apply(kubectl, "t-roler", role("logs", "default", [rule([""], ["pods/log"], ["get"])]))
    assert logs.returncode == 1  # pods does not hold pods/log


def test_an_aggregation_rule_needs_full_authority(world: tuple[Kubectl, Store]) -> None:
    kubectl, _ = world
    selector = {"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]}
    done = apply(kubectl, "t-roler", cluster_role("gather", [], aggregationRule=selector))
    assert done.returncode == 1
    assert (
        f'clusterroles.{RBAC} "gather" is forbidden: must have cluster-admin privileges to use '
        "the aggregationRule"
    ) in done.stderr


def test_escalate_lets_a_writer_grant_more(world: tuple[Kubectl, Store]) -> None:
    kubectl, store = world
    seed(
        store,
        cluster_role("escalator", [rule([RBAC], ["clusterroles"], ["escalate"])]),
        binding("roler-escalate", "escalator", "roler"),
    )
    done = apply(kubectl, "t-roler", cluster_role("wide-ok", [rule(["*"], ["*"], ["*"])]))
    assert done.returncode == 0, done.stderr
    # escalate on clusterroles is not escalate on roles
    local = apply(kubectl, "t-roler", role("wide-ok", "default", [rule(["*"], ["*"], ["*"])]))
    assert local.returncode == 1


def test_raw_writes_are_refused_before_anything_is_stored(
    world: tuple[Kubectl, Store], ca: pki.CertificateAuthority
) -> None:
    """The same refusal over raw HTTPS (the 403 Status as the apiserver sends it)."""
    kubectl, store = world
    port = int(kubectl.endpoint.rpartition(":")[2])
    body = binding("raw-root", "cluster-admin", "binder")
    path = f"{RBAC_V1}/clusterrolebindings"
    status, text = raw(port, ca, "POST", path, "t-binder", body=body)
    assert status == 403
    answer = json.loads(text)
    assert answer["reason"] == "Forbidden" and answer["code"] == 403
    assert answer["details"] == {"name": "raw-root", "group": RBAC, "kind": "clusterrolebindings"}
    names = [b["metadata"]["name"] for b in store.list(f"{RBAC}/v1/clusterrolebindings")[0]]
    assert "raw-root" not in names
