"""Finding the sandbox a command acts on: its state directory and, when it must be running,
one typed handle on it (:class:`kubetrust.sandbox.client.handle.Sandbox`).

Shared by every command that reaches a sandbox: :mod:`kubetrust.cli.sandbox` (the AWS side),
:mod:`kubetrust.cli.sandbox_kube` (the Kubernetes side), and the ``--sandbox`` inputs of
``explain``, ``verify`` and the provisioner. The sandbox package (moto, werkzeug,
cryptography, PyJWT) is imported lazily, so that the rest of the CLI works without the
``sandbox`` extra installed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kubetrust import errors

if TYPE_CHECKING:
    from kubetrust.sandbox.client.handle import Sandbox


def missing_extra(error: ImportError) -> str:
    """What to say when the ``sandbox`` extra is not installed."""
    return (
        f"the sandbox needs the `sandbox` extra ({error.name} is missing): "
        "pip install 'kubetrust[sandbox]'"
    )


def sandbox_process() -> Any:
    """:mod:`kubetrust.sandbox.runtime.process`, or a usage error naming the missing extra."""
    try:
        from kubetrust.sandbox.runtime import process
    except ImportError as exc:  # the sandbox extra is missing
        raise click.ClickException(missing_extra(exc)) from None
    return process


def resolve_state_dir(state_dir: Path | None) -> Path:
    """``--state-dir``, else the per-user default."""
    from kubetrust.sandbox.client.state import default_state_dir

    return state_dir or default_state_dir()


def connect(state_dir: Path | None) -> Sandbox:
    """The sandbox running in ``state_dir`` (default: the per-user one);
    :class:`kubetrust.errors.InputError` saying what to do when none runs there or its state
    file is damaged."""
    from kubetrust.sandbox.client import handle

    return handle.connect(resolve_state_dir(state_dir))


def running_sandbox(state_dir: Path | None) -> Sandbox:
    """:func:`connect` for ``kubetrust sandbox`` subcommands: its errors as usage errors."""
    try:
        return connect(state_dir)
    except errors.KubetrustError as exc:
        raise click.ClickException(str(exc)) from None
