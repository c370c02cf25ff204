"""``kubetrust report``: the access report, one self-contained HTML file (docs/report.md).

Parse the inputs (every input explain and audit take: :mod:`kubetrust.cli.inputs`) → run the
audit → :func:`kubetrust.report.data.build_report` → draw the graph
(:func:`kubetrust.report.svg.to_svg`) → :func:`kubetrust.report.html.render_html` → write
the file atomically (a reader never sees half a report, and a failed run leaves the
previous one). Exit codes as audit's: 0 written, 3 invalid input, 1 live inputs unreadable
or the file not writable.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import Any, NoReturn

import click

from kubetrust import errors
from kubetrust.cli import explain as explain_cli
from kubetrust.cli import inputs
from kubetrust.cli.output import ExitCode
from kubetrust.explain import audit as audit_lib
from kubetrust.report import data as report_data
from kubetrust.report import html, svg


@click.command("report")
@inputs.input_options
@click.option(
    "--out",
    "-o",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Write the report (one self-contained HTML file) here.",
)
@click.option(
    "--title",
    default="kubetrust access report",
    show_default=True,
    help="The report's title (its header and the browser tab).",
)
def report(path: Path, title: str, **kw: Any) -> None:
    """Write the access report: one HTML file that opens offline in any browser.

    \b
    The access graph (pan, zoom, search; click a node or edge for the explanation explain
    gives, its fix and the command that reproduces it), the audit's findings linked to the
    graph, what was read and the verdicts at a glance. Nothing in the page reaches the
    network. Exit 0 written, 1 live inputs unreadable, 3 invalid input.

    \b
    Example:
      kubetrust report --bundle bundle/ --out report.html
      kubetrust report --sandbox --title "staging, before the change" -o staging.html
    """
    try:
        loaded = inputs.load_inputs(kw)
        for warning in loaded.warnings:
            click.echo(f"warning: {warning}", err=True)
        facts = explain_cli.request_facts(kw)  # the explained calls' time and TLS, as explain's
        read = report_data.ReportInputs(
            inputs.describe_inputs(kw),
            facts.now or dt.datetime.now(dt.UTC),
            title or "kubetrust access report",
            secure_transport=bool(facts.secure_transport),
        )
        built = report_data.build_report(
            loaded.topology,
            read,
            sources=loaded.sources,
            audit=audit_lib.run_audit(loaded.topology),
            warnings=loaded.warnings,
        )
    except errors.KubetrustError as error:
        click.echo(f"error: {error}", err=True)
        unreadable = isinstance(error, inputs.READ_ERRORS)
        raise SystemExit(ExitCode.FAILURE if unreadable else ExitCode.INVALID) from None
    shown = svg.describe_graph(built.graph, loaded.sources.unknowns)  # "known after apply"
    page = html.render_html(built, svg.to_svg(shown, ids=built.ids, standalone=False))
    write_atomically(path, page)
    payload = built.payload
    click.echo(
        f"wrote {path} ({len(payload['nodes'])} nodes, {len(payload['edges'])} edges, "
        f"{len(payload['findings'])} findings)"
    )
    raise SystemExit(ExitCode.OK)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``;
    a file that cannot be written exits 1 saying what and where."""
    try:
        handle, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        _cannot_write(path, error)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(scratch, 0o644)
        os.replace(scratch, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(scratch)
        _cannot_write(path, error)


def _cannot_write(path: Path, error: OSError) -> NoReturn:
    click.echo(f"error: cannot write {path}: {error.strerror or error}", err=True)
    raise SystemExit(ExitCode.FAILURE) from None
