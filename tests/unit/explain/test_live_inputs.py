"""Where explain, audit and graph read from (``kubetrust.cli.inputs``): the failures.

The live paths themselves run against the sandbox (tests/sandbox/test_explain_agreement.py);
here, what must not happen without one: a usage mistake or an unreachable endpoint must
stop the command with the right exit code, never fall back to an empty topology (which
would audit clean and explain every goal as unreachable).
"""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from kubetrust.cli import explain as explain_cli


def _cli() -> click.Group:
    group = click.Group()
    for command in (explain_cli.audit, explain_cli.graph, explain_cli.snapshot):
        group.add_command(command)
    return group


def test_unreachable_endpoint_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    result = CliRunner().invoke(_cli(), ["audit", "--live", "--endpoint-url", "http://127.0.0.1:9"])
    assert result.exit_code == 1, result.output
    assert "sts:GetCallerIdentity" in result.output


def test_no_running_sandbox_is_invalid_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(_cli(), ["audit", "--sandbox", "--state-dir", str(tmp_path)])
    assert result.exit_code == 3
    assert "no sandbox is running" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["snapshot", "--out", "x"],  # no input at all
        ["snapshot", "--sandbox", "--live", "--out", "x"],
        ["snapshot", "--sandbox", "--profile", "p", "--out", "x"],
        ["audit", "--live", "--context", "no-equals-sign"],
    ],
)
def test_usage_mistakes(args: list[str]) -> None:
    result = CliRunner().invoke(_cli(), args, standalone_mode=False)
    assert isinstance(result.exception, click.UsageError), result.output


def test_snapshot_refuses_a_directory_with_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(
        _cli(),
        ["snapshot", "--live", "--endpoint-url", "http://127.0.0.1:9", "--out", str(tmp_path)],
    )
    assert result.exit_code == 1
    assert "exists and is not an empty directory" in result.output
    assert (tmp_path / "keep.txt").read_text() == "mine"
