"""The sandbox's state file and the one handle on it (``kubetrust.sandbox.client``), and the
CLI's errors when it is missing or damaged. No sandbox runs here: a state file naming this
test's own process stands for a running one (the readers check only that its pid lives)."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

import kubetrust
from kubetrust import eks_token
from kubetrust.cli.main import cli
from kubetrust.sandbox.client import handle, state

ACCOUNT = "111111111111"


def _state(pid: int, tmp_path: Path) -> state.SandboxState:
    return state.SandboxState(
        pid=pid,
        endpoint="http://127.0.0.1:9",
        issuer_base="https://127.0.0.1:10",
        region="eu-west-1",
        world_file=None,
        ca_file=tmp_path / "ca.crt",
        accounts={ACCOUNT: state.AdminKeys("AKIAEXAMPLE00000000", "secret")},
    )


@pytest.fixture
def running(tmp_path: Path) -> Path:
    """A state directory whose state file names a live process (this one)."""
    _state(os.getpid(), tmp_path).write(tmp_path)
    (tmp_path / "ca.crt").write_bytes(b"-----BEGIN CERTIFICATE-----\n")
    return tmp_path


def _dead_pid() -> int:
    """A pid no process has (pids are below /proc/sys/kernel/pid_max, at most 2**22)."""
    return 2**22 + 1


def test_state_round_trips_and_is_written_private(tmp_path: Path) -> None:
    written = _state(os.getpid(), tmp_path)
    written.write(tmp_path)
    path = tmp_path / state.STATE_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [state.STATE_FILE]  # no leftover
    assert state.SandboxState.from_json(path.read_text(encoding="utf-8")) == written
    assert state.require_running(tmp_path) == written
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["accounts"][ACCOUNT] == {
        "access_key_id": "AKIAEXAMPLE00000000",
        "secret_access_key": "secret",
    }


def test_the_realism_preset_and_imds_endpoint_round_trip(tmp_path: Path) -> None:
    """``sandbox reset`` restarts with the preset it finds here; ``sandbox exec`` reads IMDS."""
    written = dataclasses.replace(
        _state(os.getpid(), tmp_path), realism="aws", imds="http://127.0.0.1:11"
    )
    written.write(tmp_path)
    read = state.SandboxState.from_json((tmp_path / state.STATE_FILE).read_text("utf-8"))
    assert (read.realism, read.imds) == ("aws", "http://127.0.0.1:11")
    assert read == written


def test_missing_and_stale_state_files_mean_not_running(tmp_path: Path) -> None:
    with pytest.raises(state.SandboxNotRunning, match="no sandbox is running in"):
        state.require_running(tmp_path)
    _state(_dead_pid(), tmp_path).write(tmp_path)
    with pytest.raises(state.SandboxNotRunning, match="is gone"):
        state.require_running(tmp_path)
    assert state.read_running(tmp_path) is None


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("{not json", "not a sandbox's state file"),
        ("[]", "not a JSON object"),
        ('{"pid": 1}', "`endpoint` is missing"),
        ('{"pid": "1", "endpoint": "x"}', "`pid` is missing or not a int"),
    ],
)
def test_damaged_state_files_are_named(tmp_path: Path, text: str, said: str) -> None:
    (tmp_path / state.STATE_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(state.BadStateFile, match=said):
        state.require_running(tmp_path)
    assert state.read_running(tmp_path) is None  # the process control may start over it


def test_non_utf8_state_file_is_a_bad_state_file(tmp_path: Path) -> None:
    (tmp_path / state.STATE_FILE).write_bytes(b"\xff\xfe")
    with pytest.raises(state.BadStateFile):
        state.require_running(tmp_path)


def test_handle_gives_env_admins_and_tokens(running: Path) -> None:
    sandbox = handle.connect(running)
    assert sandbox.accounts == [ACCOUNT]
    assert sandbox.aws_env(ACCOUNT) == {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE00000000",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "KUBETRUST_SANDBOX_CA": str(running / "ca.crt"),
    }
    with pytest.raises(handle.UnknownAccount, match=f"not in this sandbox \\({ACCOUNT}\\)"):
        sandbox.admin("222222222222")


class _Cluster:
    account = ACCOUNT
    region = "eu-west-1"
    name = "ci"
    endpoint = "https://127.0.0.1:11"


def test_handle_tokens_and_kubeconfig_name_the_cluster(running: Path) -> None:
    sandbox = handle.connect(running)
    token = sandbox.eks_token_factory(_Cluster())()
    request = eks_token.check(
        token, cluster_id="ci", sts_hosts={"127.0.0.1:9"}, schemes=("http",), now=datetime.now(UTC)
    )
    assert (request.access_key_id, request.region) == ("AKIAEXAMPLE00000000", "eu-west-1")
    path = running / "kube" / "ci.yaml"
    sandbox.write_kubeconfig(_Cluster(), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert "current-context: arn:aws:eks:eu-west-1:111111111111:cluster/ci" in text
    assert "server: https://127.0.0.1:11" in text
    assert "secret" not in text  # the exec plugin presigns; no key is written


def test_cli_env_reads_the_handle(running: Path) -> None:
    result = CliRunner().invoke(
        cli, ["sandbox", "env", "--state-dir", str(running), "--account", ACCOUNT]
    )
    assert result.exit_code == 0, result.output
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:9\n" in result.output
    assert "export AWS_SECRET_ACCESS_KEY=secret\n" in result.output
    unknown = CliRunner().invoke(
        cli, ["sandbox", "env", "--state-dir", str(running), "--account", "222222222222"]
    )
    assert unknown.exit_code != 0
    assert "account `222222222222` is not in this sandbox" in unknown.output


@pytest.mark.parametrize(
    "command",
    [
        ["sandbox", "env", "--account", ACCOUNT],
        ["sandbox", "eks-token", "--cluster", "ci"],
        ["sandbox", "kubeconfig", "--cluster", "ci"],
        ["sandbox", "reset"],
        ["audit", "--sandbox"],
    ],
)
def test_cli_says_what_is_wrong_with_the_state_file(tmp_path: Path, command: list[str]) -> None:
    missing = CliRunner().invoke(cli, [*command, "--state-dir", str(tmp_path)])
    assert missing.exit_code != 0
    assert "no sandbox is running in" in missing.output
    assert "Traceback" not in missing.output
    assert isinstance(missing.exception, SystemExit)
    (tmp_path / state.STATE_FILE).write_text("{truncated", encoding="utf-8")
    damaged = CliRunner().invoke(cli, [*command, "--state-dir", str(tmp_path)])
    assert damaged.exit_code != 0
    assert "is not a sandbox's state file" in damaged.output
    assert isinstance(damaged.exception, SystemExit)


def test_version_is_the_package_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"kubetrust, version {kubetrust.__version__}\n"
