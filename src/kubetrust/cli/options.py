"""The options several commands share, each declared once with one meaning.

* ``--output``: the output *format* (``text`` or ``json``; ``graph``: mermaid, dot, svg).
* ``--out``: a *file* (or directory) to write instead of standard output.
* ``--state-dir``: the state directory of the local sandbox (``kubetrust sandbox up``).
* ``--sandbox``: work against the local sandbox of ``--state-dir``, with its administrators.
* ``--profile``: an AWS profile of the aws CLI's configuration (``~/.aws/config``).
* ``--endpoint-url``: where every AWS call goes, as the aws CLI's option of that name.

Each is a decorator factory, so that a command adds what it does with the option (what a
profile is used for, what the default state directory is) without changing its meaning.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

Decorator = Callable[[Any], Any]

PER_USER_STATE_DIR = "a per-user directory, $XDG_STATE_HOME/kubetrust/sandbox"


def state_dir_option(default: str = PER_USER_STATE_DIR) -> Decorator:
    """``--state-dir DIRECTORY``: the sandbox's state directory; ``default`` says what
    happens without it."""
    return click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help=f"The sandbox's state directory [default: {default}].",
    )


def sandbox_option(effect: str) -> Decorator:
    """``--sandbox`` (a flag, ``use_sandbox``); ``effect``: what the command does with it."""
    return click.option(
        "--sandbox",
        "use_sandbox",
        is_flag=True,
        help=f"Use the local sandbox of --state-dir: {effect}.",
    )


def profile_option(use: str, *, multiple: bool = False) -> Decorator:
    """``--profile NAME`` (``profiles`` when repeatable); ``use``: who the profile is."""
    return click.option(
        "--profile",
        "profiles" if multiple else "profile",
        multiple=multiple,
        metavar="NAME",
        help=f"AWS profile (aws CLI configuration): {use}.",
    )


def output_option(
    choices: Sequence[str] = ("text", "json"),
    help: str = "text reads at a glance; json is complete.",
) -> Decorator:
    """``--output FORMAT`` (``output_format``): the format of what the command prints."""
    return click.option(
        "--output",
        "output_format",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help=help,
    )


def endpoint_url_option() -> Decorator:
    """``--endpoint-url URL``, as the aws CLI has it."""
    return click.option(
        "--endpoint-url", metavar="URL", help="Send every AWS call to this endpoint."
    )
