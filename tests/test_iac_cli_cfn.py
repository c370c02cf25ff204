"""``kubetrust audit --cloudformation`` as CI runs it: a real subprocess, SARIF on stdout,
exit codes by ``--fail-on``, invalid input as exit 3 with a located message."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "tests" / "cases" / "cloudformation"
OPEN_TRUST = "tests/cases/cloudformation/open-trust/ci.yaml:111111111111"
SEED = [
    "--cloudformation",
    "tests/cases/cloudformation/seed/ci.yaml:111111111111",
    "--cloudformation",
    "tests/cases/cloudformation/seed/target.json:222222222222",
]
SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text("utf-8"))


def audit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubetrust", "audit", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("fail_on", "code"), [("critical", 0), ("high", 2), ("low", 2), ("info", 2)]
)
def test_an_open_trust_fails_at_or_below_high(fail_on: str, code: int) -> None:
    done = audit("--cloudformation", OPEN_TRUST, "--output", "sarif", "--fail-on", fail_on)
    assert done.returncode == code, done.stderr
    log = json.loads(done.stdout)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    high = next(r for r in log["runs"][0]["results"] if r["level"] == "error")
    assert high["ruleId"] == "irsa-trust-no-sub"
    physical = high["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "tests/cases/cloudformation/open-trust/ci.yaml"}
    assert physical["region"]["startLine"] == 16
    assert high["partialFingerprints"]["primaryLocationLineHash"]
    assert "AWS::Logs::LogGroup is not modelled" in done.stderr  # warned, not dropped


def test_the_seed_stacks_have_only_info_findings() -> None:
    assert audit(*SEED).returncode == 0
    done = audit(*SEED, "--output", "json", "--fail-on", "info")
    assert done.returncode == 2
    document = json.loads(done.stdout)
    assert document["schemaVersion"] == 1 and document["failOn"] == "info"
    sources = {
        (f["location"], f["source"]["address"], f["source"]["line"]) for f in document["findings"]
    }
    assert sources == {
        ("arn:aws:iam::111111111111:role/ci-account-iam-role", "CiRole", 51),
        ("arn:aws:iam::222222222222:role/target-account-iam-role", "TargetRole", 9),
    }


def test_a_template_without_its_account_is_invalid_input() -> None:
    done = audit("--cloudformation", "tests/cases/cloudformation/open-trust/ci.yaml")
    assert done.returncode == 3
    assert "--account-map tests/cases/cloudformation/open-trust/ci.yaml=ACCOUNT" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_malformed_template_is_invalid_input_with_its_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources:\n  A:\n    Type: x\n    Properties: !Nope y\n", "utf-8")
    done = audit("--cloudformation", f"{broken}:111111111111", "--output", "sarif")
    assert done.returncode == 3
    assert "unknown tag !Nope" in done.stderr and "line 4" in done.stderr
    assert done.stdout == ""


def test_parameters_change_what_is_audited_and_unknown_ones_are_invalid_input() -> None:
    seed = [*SEED, "--output", "json", "--fail-on", "info"]
    renamed = audit(*seed, "--parameter", "ci.yaml:ServiceAccountNamespace=other-namespace")
    assert renamed.returncode == 2, renamed.stderr
    assert "other-namespace" in renamed.stdout
    done = audit(*SEED, "--parameter", "NoSuchParameter=1")
    assert done.returncode == 3
    assert "no template given declares parameter NoSuchParameter" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bundle_finding_in_sarif_points_at_the_bundle_file(tmp_path: Path) -> None:
    from kubetrust.explain import worlds

    world = {
        "accounts": [
            {
                "id": "333333333333",
                "roles": [
                    {
                        "name": "everyone",
                        "trust": {
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Principal": {"AWS": "*"},
                                    "Action": "sts:AssumeRole",
                                }
                            ]
                        },
                    }
                ],
            }
        ],
        "clusters": [],
    }
    bundle = worlds.write_bundle(world, tmp_path / "bundle")
    done = audit("--bundle", str(bundle), "--output", "sarif")
    assert done.returncode == 2, done.stderr
    log = json.loads(done.stdout)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    result = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "trust-everyone")
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.endswith("bundle/accounts/333333333333/authorization-details.json")
