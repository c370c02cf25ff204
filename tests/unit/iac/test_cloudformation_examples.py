"""Every example spec (examples/*.yaml) written as CloudFormation stacks, one template per
account (a target template deployed to several accounts, as a stack set does), gives the
explain verdicts and audit findings of the bundle of the deployed system; broken variants
are explained before deployment and located at the logical id and line to fix.

Each case directory under tests/cases/cloudformation/ holds the templates, ``case.yaml``
(the ``--cloudformation`` specs, ``--parameter`` values, the workload, goals and verdicts,
and what exists before, e.g. a CI cluster another team deployed), ``kubernetes.yaml`` (the
Kubernetes side no template declares) and ``applied_world.yaml`` (the deployed system).
"""

from __future__ import annotations

import copy
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

CASES = Path(__file__).resolve().parents[2] / "cases" / "cloudformation"
EXAMPLES = ["three-targets", "direct", "pod-identity", "pod-identity-multi"]


def case(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((CASES / name / "case.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def specs(name: str, changed: dict[str, Path] | None = None) -> list[str]:
    found = []
    for spec in case(name)["specs"]:
        file, _, rest = spec.partition(":")
        path = (changed or {}).get(file, CASES / name / file)
        found.append(f"{path}:{rest}")
    return found


def _merge_into(into: dict[str, Any], world: dict[str, Any]) -> None:
    for account in world.get("accounts") or []:
        found = into["accounts"].setdefault(account["id"], {"id": account["id"]})
        for key in ("roles", "policies", "oidc_providers"):
            found.setdefault(key, []).extend(copy.deepcopy(account.get(key) or []))
    for cluster in world.get("clusters") or []:
        assert not cluster.get("partial"), cluster  # every cluster is declared somewhere
        into["clusters"][cluster["name"]] = copy.deepcopy(cluster)


def combined(name: str, read: list[IacWorld]) -> dict[str, Any]:
    """The templates' worlds with what existed before and the Kubernetes side."""
    into: dict[str, Any] = {"accounts": {}, "clusters": {}}
    _merge_into(into, case(name).get("existing") or {})
    for item in read:
        _merge_into(into, dict(item.world))
    kubernetes = CASES / name / "kubernetes.yaml"
    for extra in yaml.safe_load(kubernetes.read_text(encoding="utf-8")):
        into["clusters"][extra["cluster"]].update(
            {k: v for k, v in extra.items() if k != "cluster"}
        )
    return {
        "accounts": list(into["accounts"].values()),
        "clusters": list(into["clusters"].values()),
    }


def load(world: dict[str, Any], root: Path) -> Topology:
    worlds.write_bundle(world, root)
    return bundle.load_bundle([root])


def from_templates(
    name: str, tmp_path: Path, changed: dict[str, Path] | None = None
) -> tuple[Topology, list[IacWorld]]:
    read = read_templates(specs(name, changed), {}, case(name).get("parameters") or [])
    return load(combined(name, read), tmp_path / "iac"), read


def applied(name: str, tmp_path: Path) -> Topology:
    world = yaml.safe_load((CASES / name / "applied_world.yaml").read_text(encoding="utf-8"))
    kubernetes = yaml.safe_load((CASES / name / "kubernetes.yaml").read_text(encoding="utf-8"))
    clusters = {cluster["name"]: cluster for cluster in world["clusters"]}
    for extra in kubernetes:
        clusters[extra["cluster"]].update({k: v for k, v in extra.items() if k != "cluster"})
    return load(world, tmp_path / "applied")


def goal(spec: dict[str, Any]) -> paths.Goal:
    if "action" in spec:
        return paths.AwsGoal(spec["action"], spec["resource"], spec.get("account"))
    request = rbac.KubeRequest(
        spec["verb"],
        spec["resource"],
        spec.get("group", ""),
        namespace=spec.get("namespace", ""),
        name=spec.get("name", ""),
    )
    return paths.KubeGoal(spec["cluster"], request)


def explained(name: str, topology: Topology) -> list[Any]:
    workload = explain.workload_for(topology, *case(name)["workload"])
    return [explain.explain_access(topology, workload, goal(g)) for g in case(name)["goals"]]


def verdicts(name: str, topology: Topology) -> list[tuple[bool, list[bool]]]:
    found = []
    for result in explained(name, topology):
        links = [link.allowed for link in result.chain.links] if result.chain else []
        found.append((result.allowed, links))
    return found


_ISSUER_ID = re.compile(r"(oidc\.eks\.[a-z0-9-]+\.amazonaws\.com/id/)[A-Z0-9-]+")


def findings(topology: Topology) -> list[tuple[str, str, str]]:
    """Issuer ids are made up at deployment: the same otherwise."""
    report = audit.run_audit(topology)
    return sorted(
        (f.rule, f.severity.label, _ISSUER_ID.sub(r"\1*", f.location)) for f in report.findings
    )


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_example_stacks_explain_as_the_deployed_system(name: str, tmp_path: Path) -> None:
    topology, _ = from_templates(name, tmp_path)
    expected = verdicts(name, applied(name, tmp_path))
    assert [allowed for allowed, _ in expected] == case(name)["allowed"]
    assert verdicts(name, topology) == expected


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_example_stacks_audit_as_the_deployed_system(name: str, tmp_path: Path) -> None:
    topology, read = from_templates(name, tmp_path)
    expected = findings(applied(name, tmp_path))
    assert findings(topology) == expected
    said = [w for item in read for w in item.warnings]
    assert not [w for w in said if not any(ok in w for ok in EXPECTED_WARNINGS)], said


EXPECTED_WARNINGS = ("is not modelled", "the export name rests on a value known after apply")
"""What the example stacks may warn about: resources kubetrust does not model, and exports
named after the stack (``${AWS::StackName}``), which no stack of the run imports."""


def variant(tmp_path: Path, name: str, file: str, old: str, new: str) -> dict[str, Path]:
    text = (CASES / name / file).read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    changed = tmp_path / file
    changed.write_text(text.replace(old, new), encoding="utf-8")
    return {file: changed}


_SESSION = re.compile(r"^arn:aws:sts::(\d{12}):assumed-role/([^/]+)/.*$")


def failing_link(name: str, tmp_path: Path, changed: dict[str, Path], index: int) -> Any:
    """The explanation (JSON) of goal ``index`` on the changed stacks: it must be denied."""
    topology, read = from_templates(name, tmp_path, changed)
    result = explained(name, topology)[index]
    assert not result.allowed
    return render.explanation_json(result), read


def located(read: list[IacWorld], *texts: str) -> str:
    found = merge_sources(read).locate(*texts)
    assert found is not None, texts
    return found.describe()


POD_IDENTITY_TRUST = (
    "Action: [sts:AssumeRole, sts:TagSession]\n"
    "            Condition:\n"
    "              StringEquals:\n"
    "                aws:PrincipalTag"
)


@pytest.mark.parametrize("name", ["pod-identity", "pod-identity-multi"])
def test_a_target_trust_without_tag_session_is_located_at_the_target_role(
    name: str, tmp_path: Path
) -> None:
    file = case(name)["target_template"]
    changed = variant(
        tmp_path,
        name,
        file,
        POD_IDENTITY_TRUST,
        POD_IDENTITY_TRUST.replace("[sts:AssumeRole, sts:TagSession]", "sts:AssumeRole"),
    )
    data, read = failing_link(name, tmp_path, changed, 0)
    failed = next(link for link in data["links"] if not link["allowed"])
    assert "TagSession" in str(failed)
    where = located(read, _SESSION.sub(r"arn:aws:iam::\1:role/\2", failed["target"]))
    assert where.endswith(case(name)["target_role_at"])


@pytest.mark.parametrize("name", ["pod-identity", "pod-identity-multi"])
def test_an_association_for_another_service_account_is_explained_and_located(
    name: str, tmp_path: Path
) -> None:
    changed = variant(
        tmp_path,
        name,
        "ci.yaml",
        "ServiceAccount: !Ref ServiceAccount\n      RoleArn",
        "ServiceAccount: deploy-bot\n      RoleArn",
    )
    data, read = failing_link(name, tmp_path, changed, 0)
    failed = next(link for link in data["links"] if not link["allowed"])
    assert "no pod identity association" in str(failed).lower()
    assert "ci/deployer" in str(failed)
    cluster = "arn:aws:eks:us-east-1:111111111111:cluster/ci-cluster"
    where = merge_sources(read).locations[f"association:{cluster}:ci/deploy-bot"]
    assert (where.address, where.line) == ("DeployerAssociation", case(name)["association_line"])
