"""tools/install_chromium.py decides without running anything: nothing to do when Chromium is
there, apt-get only as root on a machine that has it, a reason otherwise (the real no-op run
is tests/test_install_chromium.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "install_chromium.py"


@pytest.fixture
def tool(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("install_chromium", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "CHROMIUM", tmp_path / "chromium")
    calls: list[tuple[str, ...]] = []

    def apt_get(*args: str, seconds: int) -> None:
        calls.append(args)
        if args[0] == "install":
            module.CHROMIUM.write_text("#!/bin/sh\n")
            module.CHROMIUM.chmod(0o755)

    monkeypatch.setattr(module, "apt_get", apt_get)
    module.calls = calls
    return module


def test_present_is_a_silent_no_op(tool: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    tool.CHROMIUM.write_text("")
    tool.CHROMIUM.chmod(0o755)
    assert tool.main([]) == 0
    assert capsys.readouterr().out == "" and tool.calls == []


def test_installs_with_apt_get_as_root(
    tool: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tool.shutil, "which", lambda name: "/usr/bin/apt-get")
    monkeypatch.setattr(tool.os, "geteuid", lambda: 0)
    assert tool.main([]) == 0
    assert tool.calls == [("update",), ("install", "-y", "--no-install-recommends", "chromium")]
    assert "installed at" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("apt", "uid", "reason"),
    [(None, 0, "no apt-get on this machine"), ("/usr/bin/apt-get", 1000, "not root")],
)
def test_says_why_it_cannot_install(
    tool: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    apt: str | None,
    uid: int,
    reason: str,
) -> None:
    monkeypatch.setattr(tool.shutil, "which", lambda name: apt)
    monkeypatch.setattr(tool.os, "geteuid", lambda: uid)
    assert tool.main([]) == 0
    out = capsys.readouterr().out
    assert reason in out and "browser tests will skip (fail in CI)" in out
    assert tool.calls == []


def test_check_only_reports(tool: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert tool.main(["--check"]) == 1
    assert "not found" in capsys.readouterr().out and tool.calls == []


def test_a_failed_install_exits_1(
    tool: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tool.shutil, "which", lambda name: "/usr/bin/apt-get")
    monkeypatch.setattr(tool.os, "geteuid", lambda: 0)

    def failing(*args: str, seconds: int) -> None:
        raise RuntimeError("`apt-get update` failed (100):\nE: no network")

    monkeypatch.setattr(tool, "apt_get", failing)
    assert tool.main([]) == 1
    assert "no network" in capsys.readouterr().err
