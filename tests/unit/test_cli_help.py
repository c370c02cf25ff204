"""The CLI speaks one language: every command's ``--help`` shows an example, ``--output`` is
always a format and ``--out`` always a file, and the options several commands share
(``--state-dir``, ``--sandbox``, ``--profile``) mean the same thing wherever they appear."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest

from kubetrust.cli.main import cli


def _commands(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[str, click.Command]]:
    yield " ".join(path), command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _commands(sub, (*path, name))


COMMANDS = dict(_commands(cli, ("kubetrust",)))


def _option(command: click.Command, flag: str) -> click.Option | None:
    for param in command.params:
        if isinstance(param, click.Option) and flag in param.opts:
            return param
    return None


def _with(flag: str) -> list[tuple[str, click.Option]]:
    found = [(name, _option(command, flag)) for name, command in COMMANDS.items()]
    return [(name, option) for name, option in found if option is not None]


def test_the_tree_is_walked() -> None:
    assert {"kubetrust sandbox up", "kubetrust graph", "kubetrust iam simulate"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_help_shows_an_example(name: str) -> None:
    command = COMMANDS[name]
    text = command.get_help(click.Context(command, info_name=name))
    assert "Example" in text, name
    example = text.split("Example", 1)[1]
    assert "kubetrust " in example, name


def test_output_is_always_a_format() -> None:
    outputs = _with("--output")
    assert len(outputs) >= 8
    for name, option in outputs:
        assert isinstance(option.type, click.Choice), name


def test_out_is_always_a_file() -> None:
    outs = _with("--out")
    assert {name for name, _ in outs} >= {
        "kubetrust graph",
        "kubetrust snapshot",
        "kubetrust sandbox kubeconfig",
        "kubetrust iam simulate",
    }
    for name, option in outs:
        assert isinstance(option.type, (click.Path, click.File)), name


@pytest.mark.parametrize(
    ("flag", "meaning"),
    [
        ("--state-dir", "The sandbox's state directory [default: "),
        ("--sandbox", "Use the local sandbox of --state-dir: "),
        ("--profile", "AWS profile (aws CLI configuration): "),
    ],
)
def test_shared_options_have_one_meaning(flag: str, meaning: str) -> None:
    found = _with(flag)
    assert len(found) >= 3, flag
    for name, option in found:
        assert (option.help or "").startswith(meaning), (name, option.help)


def test_sandbox_goes_with_a_state_dir() -> None:
    for name, _ in _with("--sandbox"):
        assert _option(COMMANDS[name], "--state-dir") is not None, name
