"""``kubetrust iam simulate`` as a user runs it: a real subprocess, files and stdin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ALLOW_CASE = {
    "id": "ok",
    "request": {
        "principal": "arn:aws:iam::111111111111:user/alice",
        "action": "s3:GetObject",
        "resource": "arn:aws:s3:::bucket/key",
    },
    "identityPolicies": [
        {
            "Version": "2012-10-17",
            "Statement": [{"Sid": "Read", "Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}],
        }
    ],
}
MALFORMED_CASE = {
    "id": "bad",
    "request": ALLOW_CASE["request"],
    "identityPolicies": [{"Statement": [{"Action": "s3:*", "Resource": "*"}]}],
}


def _simulate(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubetrust", "iam", "simulate", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_results_keep_order_and_the_batch_survives_bad_lines(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        "\n".join([json.dumps(ALLOW_CASE), "{not json", json.dumps(MALFORMED_CASE), ""]),
        encoding="utf-8",
    )
    run = _simulate("--cases", str(cases))
    assert run.returncode == 3, run.stderr
    results = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["id"] for r in results] == ["ok", None, "bad"]
    assert results[0]["decision"] == "Allow"
    assert results[0]["reasons"][0]["statement"] == "Read"
    assert results[1]["error"].startswith("line 2: not valid JSON")
    assert "Missing required field Effect" in results[2]["error"]
    assert "line 3" in results[2]["error"]


def test_stdin_output_file_and_explain(tmp_path: Path) -> None:
    out = tmp_path / "results.jsonl"
    run = _simulate(
        "--cases", "-", "--out", str(out), "--explain", stdin=json.dumps(ALLOW_CASE) + "\n"
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["decision"] == "Allow"
    assert "[ok] Allow" in run.stdout
    assert "identity[0] Read" in run.stdout


def test_missing_cases_option_is_invalid_input() -> None:
    run = _simulate()
    assert run.returncode == 3
    assert "--cases" in run.stderr
