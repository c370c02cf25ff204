"""The CI recipe of docs/iac.md stays runnable: its workflow parses, the kubetrust command it
runs has those options, its SARIF file is the one uploaded, and that command, run on a
fixture (in process: the unit tier spawns nothing), writes schema-valid SARIF and exits as
the recipe says."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from kubetrust.cli import explain as explain_cli

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "iac.md"
SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text("utf-8"))
FIXTURE = f"{REPO / 'tests/cases/cloudformation/open-trust/ci.yaml'}:111111111111"


def workflow() -> dict[str, Any]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Findings in CI: JSON, SARIF, exit codes", 1)[1]
    (block,) = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    loaded = yaml.safe_load(block)
    assert isinstance(loaded, dict)
    return loaded


def steps() -> list[dict[str, Any]]:
    return list(workflow()["jobs"]["audit"]["steps"])


def runs() -> list[str]:
    return [str(step["run"]) for step in steps() if "run" in step]


def audit_command() -> list[str]:
    (line,) = [run for run in runs() if run.startswith("kubetrust audit")]
    return shlex.split(line)


def _group() -> click.Group:
    group = click.Group()
    group.add_command(explain_cli.audit)
    return group


def test_the_workflow_plans_shows_json_and_audits_in_order() -> None:
    commands = [run.split()[:2] for run in runs()]
    order = [["terraform", "init"], ["terraform", "plan"], ["terraform", "show"]]
    assert [c for c in commands if c[0] == "terraform"] == order
    show = next(run for run in runs() if run.startswith("terraform show"))
    assert show.split()[2] == "-json" and show.endswith("> plan.json")
    assert workflow()["permissions"]["security-events"] == "write"


def test_the_audit_command_uses_only_options_audit_has() -> None:
    words = audit_command()
    help_text = CliRunner().invoke(_group(), ["audit", "--help"]).output
    options = [word for word in words if word.startswith("--")]
    assert options == ["--terraform-plan", "--output", "--fail-on"]
    for option in options:
        assert option in help_text
    assert words[words.index("--output") + 1] in ("sarif",) and "sarif" in help_text
    assert words[words.index("--fail-on") + 1] in help_text


def test_the_uploaded_file_is_the_one_the_audit_writes() -> None:
    words = audit_command()
    written = words[words.index(">") + 1]
    (upload,) = [
        s for s in steps() if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif")
    ]
    directory = workflow()["jobs"]["audit"]["defaults"]["run"]["working-directory"]
    assert upload["with"]["sarif_file"] == f"{directory}/{written}"
    assert upload["if"] == "always()"


@pytest.mark.parametrize(("fail_on", "code"), [("high", 2), ("critical", 0)])
def test_the_audit_command_on_a_fixture_writes_valid_sarif(fail_on: str, code: int) -> None:
    words = audit_command()
    args = words[1 : words.index(">")]  # without `kubetrust` and the redirection
    args[args.index("--terraform-plan") : args.index("--terraform-plan") + 2] = [
        "--cloudformation",
        FIXTURE,
    ]  # the same command on a template: plans are helper T's fixtures
    args[args.index("--fail-on") + 1] = fail_on
    result = CliRunner().invoke(_group(), args, catch_exceptions=False)
    assert result.exit_code == code
    log = json.loads(result.stdout)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    assert log["runs"][0]["results"]
