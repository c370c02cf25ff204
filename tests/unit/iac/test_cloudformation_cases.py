"""The seed's system as CloudFormation stacks (tests/cases/cloudformation/seed/) says what the
bundle of the deployed system says: the same explain verdicts and audit findings; broken
variants are explained before deployment, pointing at the logical id and line to fix.

The templates' worlds are put together here (accounts by id, clusters by name) with the
Kubernetes side no template declares (the service account), then written as a bundle: the
reader is tested on its own, whatever the overlay does with a base.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubetrust.chain import paths, rbac
from kubetrust.explain import audit, bundle, explain, render, worlds
from kubetrust.iac.cloudformation import read_templates
from kubetrust.iac.model import IacWorld, merge_sources
from kubetrust.model.topology import Topology

SEED = Path(__file__).resolve().parents[2] / "cases" / "cloudformation" / "seed"
SPECS = [f"{SEED / 'ci.yaml'}:111111111111", f"{SEED / 'target.json'}:222222222222"]
TARGET_CLUSTER = "arn:aws:eks:us-east-1:222222222222:cluster/target-cluster"
DESCRIBE = paths.AwsGoal("eks:DescribeCluster", TARGET_CLUSTER)
LIST_PODS = paths.KubeGoal("target-cluster", rbac.KubeRequest("list", "pods", namespace="apps"))
DELETE_PODS = paths.KubeGoal(
    "target-cluster", rbac.KubeRequest("delete", "pods", namespace="apps", name="x")
)


def combined(read: list[IacWorld], kubernetes: list[dict[str, Any]]) -> dict[str, Any]:
    """One world from several templates' worlds plus Kubernetes objects per cluster."""
    accounts: dict[str, dict[str, Any]] = {}
    clusters: dict[str, dict[str, Any]] = {}
    for item in read:
        for account in item.world["accounts"]:
            into = accounts.setdefault(account["id"], {"id": account["id"]})
            for key in ("roles", "policies", "oidc_providers"):
                into.setdefault(key, []).extend(account.get(key) or [])
        for cluster in item.world["clusters"]:
            assert not cluster.get("partial"), cluster
            clusters[cluster["name"]] = dict(cluster)
    for extra in kubernetes:
        clusters[extra["cluster"]]["manifests"] = extra["manifests"]
    return {"accounts": list(accounts.values()), "clusters": list(clusters.values())}


def load(world: dict[str, Any], root: Path) -> Topology:
    worlds.write_bundle(world, root)
    return bundle.load_bundle([root])


def kubernetes() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((SEED / "kubernetes.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, list)
    return loaded


def from_templates(tmp_path: Path, specs: list[str]) -> tuple[Topology, list[IacWorld]]:
    read = read_templates(specs, {})
    return load(combined(read, kubernetes()), tmp_path / "iac"), read


def applied(tmp_path: Path) -> Topology:
    world = yaml.safe_load((SEED / "applied_world.yaml").read_text(encoding="utf-8"))
    world["clusters"][0]["manifests"] = kubernetes()[0]["manifests"]
    return load(world, tmp_path / "applied")


def verdicts(topology: Topology) -> list[tuple[bool, list[bool]]]:
    workload = explain.workload_for(topology, "ci-cluster", "ci-namespace", "ci-serviceaccount")
    found = []
    for goal in (DESCRIBE, LIST_PODS, DELETE_PODS):
        result = explain.explain_access(topology, workload, goal)
        links = [link.allowed for link in result.chain.links] if result.chain else []
        found.append((result.allowed, links))
    return found


_ISSUER_ID = re.compile(r"(oidc\.eks\.[a-z0-9-]+\.amazonaws\.com/id/)[A-Z0-9-]+")
_GENERATED = re.compile(r"ClusterRole-[A-Za-z0-9-]+")


def normalized(text: str) -> str:
    """Issuer ids and generated names: made up at deployment, the same otherwise."""
    return _GENERATED.sub("ClusterRole-*", _ISSUER_ID.sub(r"\1*", text))


def findings(topology: Topology) -> list[tuple[str, str, str]]:
    report = audit.run_audit(topology)
    return sorted((f.rule, f.severity.label, normalized(f.location)) for f in report.findings)


def test_the_seed_stacks_explain_as_the_deployed_system(tmp_path: Path) -> None:
    topology, _ = from_templates(tmp_path, SPECS)
    expected = verdicts(applied(tmp_path))
    assert verdicts(topology) == expected
    assert [allowed for allowed, _ in expected] == [True, True, False]


def test_the_seed_stacks_audit_as_the_deployed_system(tmp_path: Path) -> None:
    topology, _ = from_templates(tmp_path, SPECS)
    expected = findings(applied(tmp_path))
    assert expected  # the reachability report at least
    assert findings(topology) == expected


_SESSION = re.compile(r"^arn:aws:sts::(\d{12}):assumed-role/([^/]+)/.*$")


def _variant(tmp_path: Path, name: str, old: str, new: str) -> str:
    source = SEED / name
    text = source.read_text(encoding="utf-8")
    assert old in text, old
    changed = tmp_path / name
    changed.write_text(text.replace(old, new, 1), encoding="utf-8")
    return str(changed)


def _failing(tmp_path: Path, specs: list[str]) -> tuple[str, str]:
    """The first failing link's fix text and where the templates declared its subject."""
    topology, read = from_templates(tmp_path, specs)
    workload = explain.workload_for(topology, "ci-cluster", "ci-namespace", "ci-serviceaccount")
    result = explain.explain_access(topology, workload, DESCRIBE)
    assert not result.allowed
    data = render.explanation_json(result)
    failed = next(link for link in data["links"] if not link["allowed"])
    # a denied caller is fixed in its own policies, anything else in the target's
    side = "caller" if failed["failure"] in ("caller-denied", "action-denied") else "target"
    subject = _SESSION.sub(r"arn:aws:iam::\1:role/\2", failed[side])
    located = merge_sources(read).locate(subject)
    assert located is not None, failed
    return str(failed["fix"]), located.describe()


@pytest.mark.parametrize(
    ("name", "old", "new", "logical_id", "line"),
    [
        (  # broken trust: the CI role trusts a provider that is not the cluster's
            "ci.yaml",
            '"Federated": "${CiOidcProvider}"',
            '"Federated": "arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.'
            'amazonaws.com/id/0000OTHERCLUSTER0000"',
            "CiRole",
            51,
        ),
        (  # a wrong :sub: another service account
            "ci.yaml",
            "ServiceAccountNamespace}:ci-serviceaccount",
            "ServiceAccountNamespace}:deployer",
            "CiRole",
            51,
        ),
        (  # a missing chain permission: the CI role may not assume the target role
            "ci.yaml",
            "Action: sts:AssumeRole\n            Resource: !Sub",
            "Action: sts:TagSession\n            Resource: !Sub",
            "CiRole",
            51,
        ),
    ],
    ids=["broken-trust", "wrong-sub", "missing-assume-role"],
)
def test_a_broken_ci_stack_is_explained_with_its_logical_id_and_line(
    tmp_path: Path, name: str, old: str, new: str, logical_id: str, line: int
) -> None:
    changed = _variant(tmp_path, name, old, new)
    _, where = _failing(tmp_path, [f"{changed}:111111111111", SPECS[1]])
    assert where.endswith(f"{name}:{line} ({logical_id})")


def test_a_target_trust_naming_another_role_is_located_at_the_target_role(
    tmp_path: Path,
) -> None:
    changed = _variant(
        tmp_path,
        "target.json",
        "role/ci-account-iam-role",
        "role/ci-other",
    )
    _, where = _failing(tmp_path, [SPECS[0], f"{changed}:222222222222"])
    assert where.endswith("target.json:9 (TargetRole)")


def test_an_access_entry_for_another_principal_denies_kubernetes_and_is_located(
    tmp_path: Path,
) -> None:
    """The access-entry variant of "role path in aws-auth" (CloudFormation has no aws-auth,
    and an entry may name a role with its path, reference E.2): the entry names a role that
    is not the one the chain ends in."""
    changed = _variant(
        tmp_path,
        "target.json",
        '"PrincipalArn": {"Fn::GetAtt": ["TargetRole", "Arn"]}',
        '"PrincipalArn": "arn:aws:iam::222222222222:role/target-account-iam-role-old"',
    )
    topology, read = from_templates(tmp_path, [SPECS[0], f"{changed}:222222222222"])
    workload = explain.workload_for(topology, "ci-cluster", "ci-namespace", "ci-serviceaccount")
    result = explain.explain_access(topology, workload, LIST_PODS)
    assert not result.allowed
    key = (
        "access-entry:arn:aws:eks:us-east-1:222222222222:cluster/target-cluster:"
        "arn:aws:iam::222222222222:role/target-account-iam-role-old"
    )
    located = merge_sources(read).locations[key]
    assert (located.address, located.line) == ("TargetAccessEntry", 43)


def test_the_issuer_is_one_placeholder_tied_through_provider_and_trust() -> None:
    ci, _ = read_templates(SPECS, {})
    issuer = ci.world["clusters"][0]["issuer"]
    assert "KNOWN-AFTER-APPLY-" in issuer
    assert ci.world["accounts"][0]["oidc_providers"][0]["url"] == issuer
    trust = str(ci.world["accounts"][0]["roles"][1]["trust"])
    assert issuer.removeprefix("https://") + ":sub" in trust
    token = issuer.rsplit("/", 1)[-1]
    assert ci.sources.unknowns[token].endswith("CiCluster.OpenIdConnectIssuerUrl")
