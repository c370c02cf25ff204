"""Finding the sandbox a ``kubetrust sandbox ...`` subcommand acts on: its state directory and,
when it must be running, the facts it recorded there (endpoint, accounts, CA file).

Shared by :mod:`kubetrust.cli.sandbox` (the AWS side) and :mod:`kubetrust.cli.sandbox_kube`
(the Kubernetes side). The sandbox package (moto, werkzeug, cryptography, PyJWT) is imported
lazily, so that the rest of the CLI works without the ``sandbox`` extra installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

_STATE_DIR_HELP = "Directory holding this sandbox's state (default: a per-user directory)."


def state_dir_option(function: Any) -> Any:
    """The ``--state-dir`` option every sandbox subcommand takes."""
    return click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help=_STATE_DIR_HELP,
    )(function)


def sandbox_process() -> Any:
    """:mod:`kubetrust.sandbox.runtime.process`, or a usage error naming the missing extra."""
    try:
        from kubetrust.sandbox.runtime import process
    except ImportError as exc:  # the sandbox extra is missing
        raise click.ClickException(
            f"the sandbox needs the `sandbox` extra ({exc.name} is missing): "
            "pip install 'kubetrust[sandbox]'"
        ) from None
    return process


def resolve_state_dir(state_dir: Path | None) -> Path:
    """``--state-dir``, else the per-user default."""
    return state_dir or sandbox_process().default_state_dir()


def running_facts(state_dir: Path) -> dict[str, Any]:
    """The facts of the sandbox running in ``state_dir``; a usage error if none runs."""
    facts = sandbox_process().read_state(state_dir)
    if facts is None:
        raise click.ClickException(
            f"no sandbox is running in {state_dir}; start one with `kubetrust sandbox up --detach`"
        )
    return dict(facts)
