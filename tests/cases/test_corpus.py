"""The evaluation corpus: every case in ``tests/cases/*.yaml`` through one runner.

A case is a ``kubetrust iam simulate`` case plus three fields of ours:

- ``doc``: the AWS documentation (page and section, or the semantics reference section)
  whose rule or worked example the case pins — required;
- ``expect``: ``Allow``, ``ExplicitDeny``, ``ImplicitDeny`` or ``error``;
- ``expectReasons`` (optional): reasons that must appear, each a subset of a reason dict
  (``kind``, ``policy``, ``statement``, ``effect``); ``expectError`` (optional): a substring
  of the error message.

The same corpus runs once more through the ``kubetrust iam simulate`` command (one
subprocess for all cases) to prove the CLI answers every case identically.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubetrust.policy import cases

HERE = Path(__file__).parent
OUR_FIELDS = ("doc", "expect", "expectReasons", "expectError", "note")
OUTCOMES = ("Allow", "ExplicitDeny", "ImplicitDeny", "error")
MINIMUM_CASES = 300


def _load() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = []
    for path in sorted(HERE.glob("*.yaml")):
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        assert isinstance(items, list), f"{path.name}: the file must hold a list of cases"
        for item in items:
            item["_file"] = path.name
            loaded.append(item)
    return loaded


CORPUS = _load()


def _simulation_input(case: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in case.items() if k not in OUR_FIELDS and not k.startswith("_")}


def test_corpus_is_large_and_well_formed() -> None:
    assert len(CORPUS) >= MINIMUM_CASES, f"only {len(CORPUS)} cases"
    ids = [case.get("id") for case in CORPUS]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, f"duplicate case ids: {sorted(duplicates)}"
    for case in CORPUS:
        assert case.get("doc"), f"{case.get('id')}: every case cites the doc it pins"
        assert case.get("expect") in OUTCOMES, f"{case.get('id')}: bad expect"
    for outcome in OUTCOMES:
        assert any(c["expect"] == outcome for c in CORPUS), f"no case expects {outcome}"


@pytest.mark.parametrize("case", CORPUS, ids=[str(c.get("id")) for c in CORPUS])
def test_case(case: dict[str, Any]) -> None:
    result = cases.simulate_case(_simulation_input(case))
    if case["expect"] == "error":
        assert "error" in result, f"expected an error, got {result}"
        if case.get("expectError"):
            assert case["expectError"] in result["error"]
        return
    assert "error" not in result, result.get("error")
    assert result["decision"] == case["expect"], json.dumps(result, indent=1)
    for wanted in case.get("expectReasons") or []:
        assert any(
            all(reason.get(k) == v for k, v in wanted.items()) for reason in result["reasons"]
        ), f"no reason matches {wanted}: {json.dumps(result['reasons'], indent=1)}"


@pytest.mark.e2e  # the kubetrust CLI runs as a subprocess
def test_cli_answers_every_case_like_the_library(tmp_path: Path) -> None:
    lines = [json.dumps(_simulation_input(case)) for case in CORPUS]
    cases_file = tmp_path / "cases.jsonl"
    cases_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "results.jsonl"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubetrust",
            "iam",
            "simulate",
            "--cases",
            str(cases_file),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode in (0, 3), run.stderr
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(results) == len(CORPUS)
    for case, result in zip(CORPUS, results, strict=True):
        assert result["id"] == case["id"]
        expected = cases.simulate_case(_simulation_input(case))
        if "error" in expected:
            assert "error" in result
        else:
            assert result["decision"] == expected["decision"]
