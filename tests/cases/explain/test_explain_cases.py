"""The broken-setup table (``broken_setups.yaml``) through explain, and through the CLI.

Each case is the seed's chain with one mistake; the runner checks the verdict per link,
the failure of the first failed link and a fragment of its fix, then that the text output
shows the same fix and that ``kubetrust explain --output json`` agrees, with exit 0/2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from kubetrust.chain.paths import AwsGoal, Goal, KubeGoal
from kubetrust.cli import explain as explain_cli
from kubetrust.explain import explain, render

try:
    from . import casekit
except ImportError:  # run as a script
    import casekit  # type: ignore[no-redef]

CASES = casekit.load_cases("broken_setups.yaml")
FAILURES = {
    "no-issuer",
    "unknown-role",
    "no-provider",
    "audience",
    "no-trust",
    "trust-denied",
    "caller-denied",
    "both-denied",
    "action-denied",
    "not-mapped",
    "rbac-denied",
}


def _spec(case: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = casekit.substitute(case["explain"])
    spec.setdefault("cluster", "ci-cluster")
    spec.setdefault("namespace", "ci-namespace")
    spec.setdefault("serviceaccount", "ci-serviceaccount")
    return spec


def _goal(spec: dict[str, Any]) -> Goal:
    if "kube" in spec:
        kube = spec["kube"]
        request = explain_cli.parse_kube_resource(  # TYPE[.GROUP][/NAME], as the CLI reads it
            kube["resource"], namespace=kube.get("namespace"), subresource=None, verb=kube["verb"]
        )
        return KubeGoal(kube["cluster"], request)
    return AwsGoal(spec["action"], spec["resource"], spec.get("account"))


def test_table_is_well_formed() -> None:
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert len(CASES) >= 30
    for case in CASES:
        assert case.get("doc"), f"{case['id']}: cite the rule it pins"
        expect = case["expect"]
        if not expect["allowed"] and expect["links"]:
            assert expect.get("failure") in FAILURES, case["id"]
            assert expect.get("fix"), case["id"]
    failures = {case["expect"].get("failure") for case in CASES}
    assert FAILURES - {"no-issuer", "no-trust"} <= failures, "a failure mode has no case"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict[str, Any], tmp_path: Path) -> None:
    topology = casekit.build(case, tmp_path / "bundle")
    spec = _spec(case)
    expect = casekit.substitute(case["expect"])
    workload = explain.workload_for(
        topology, spec["cluster"], spec["namespace"], spec["serviceaccount"]
    )
    result = explain.explain_access(topology, workload, _goal(spec), via=spec.get("via", ()))
    rendered = render.explanation_text(result)
    assert result.allowed is expect["allowed"], rendered
    links = result.chain.links if result.chain else ()
    assert ["ok" if link.allowed else "FAIL" for link in links] == expect["links"], rendered
    if expect.get("roles"):
        assert result.chain is not None and list(result.chain.roles) == expect["roles"]
    if expect.get("note"):
        assert any(expect["note"] in note for note in result.notes), result.notes
    if expect["allowed"]:
        assert all(fix is None for fix in result.fixes)
        return
    if not links:
        assert result.no_chain is not None and expect["fix"] in result.no_chain.text
        return
    index = next(i for i, link in enumerate(links) if not link.allowed)
    assert links[index].failure is not None
    assert links[index].failure.value == expect["failure"], rendered
    fix = result.fixes[index]
    assert fix is not None
    whole = f"{fix.text}\n{fix.snippet}"
    assert expect["fix"] in whole, f"{expect['fix']!r} not in:\n{whole}"
    assert fix.cause in rendered
    json.dumps(render.explanation_json(result))  # complete and serializable


def _cli() -> click.Group:
    group = click.Group()
    group.add_command(explain_cli.explain)
    return group


def _arguments(spec: dict[str, Any], bundle: Path) -> list[str]:
    args = ["explain", "--bundle", str(bundle), "--output", "json"]
    args += ["--cluster", spec["cluster"], "--namespace", spec["namespace"]]
    args += ["--serviceaccount", spec["serviceaccount"]]
    if "kube" in spec:
        kube = spec["kube"]
        args += ["--kube-verb", kube["verb"], "--kube-resource", kube["resource"]]
        args += ["--target-cluster", kube["cluster"]]
        if kube.get("namespace"):
            args += ["--kube-namespace", kube["namespace"]]
    else:
        args += ["--action", spec["action"], "--resource", spec["resource"]]
        if spec.get("account"):
            args += ["--account", spec["account"]]
    for role in spec.get("via", ()):
        args += ["--via", role]
    return args


@pytest.mark.parametrize("case", CASES[::3], ids=[c["id"] for c in CASES[::3]])
def test_cli_agrees(case: dict[str, Any], tmp_path: Path) -> None:
    casekit.build(case, tmp_path / "bundle")
    spec = _spec(case)
    result = CliRunner().invoke(_cli(), _arguments(spec, tmp_path / "bundle"))
    expect = case["expect"]
    assert result.exit_code == (0 if expect["allowed"] else 2), result.output
    data = json.loads(result.output)
    assert data["allowed"] is expect["allowed"]
    assert [("ok" if link["allowed"] else "FAIL") for link in data["links"]] == expect["links"]
