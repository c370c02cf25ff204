"""``kubetrust demo``: the seed's cross-account chain, end to end, on a local sandbox.

``--federation irsa`` (the default) runs the seed as the blog has it; ``--federation
pod-identity`` runs the same proof with EKS Pod Identity and a target role.

Parse options → one library call (:func:`kubetrust.demo.run_demo`) → render. Exit 0 when
every link held as expected (the seed's checks allowed, the other service account denied)
and the audit flagged the seed's system:masters mapping; 1 otherwise, naming the failing
step or link. SIGTERM and SIGHUP are turned into Ctrl-C for the run, so that the sandbox is
stopped on every way out.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import click

from kubetrust.cli.options import output_option, state_dir_option
from kubetrust.cli.output import ExitCode

DEFAULT_REPORT = Path("kubetrust-demo-report.html")
"""The demo's access report, in the current directory (``make demo``: the repository's)."""


@click.command()
@state_dir_option(default="a fresh temporary directory, removed at the end")
@click.option(
    "--keep",
    is_flag=True,
    help="Leave the sandbox running afterwards and print how to use it (not after Ctrl-C).",
)
@output_option(help="text: progress and a summary for a reader; json: the whole report on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the result (text) or the JSON.")
@click.option("--verbose", "-v", is_flag=True, help="Show each command and its output.")
@click.option(
    "--isolation",
    type=click.Choice(["auto", "namespace", "mapping"]),
    default="auto",
    show_default=True,
    help="How `kubetrust sandbox exec` provides the pod's paths (see the README).",
)
@click.option(
    "--federation",
    type=click.Choice(["irsa", "pod-identity"]),
    default="irsa",
    show_default=True,
    help="irsa: the seed (web identity, then AssumeRole, the pod's AWS config); pod-identity: "
    "EKS Pod Identity with a target role (targetRoleArn), no AWS config in the pod.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_REPORT,
    show_default=True,
    help="Write the access report of what was applied here (kubetrust report: one HTML "
    "file to open in a browser).",
)
@click.option("--no-report", is_flag=True, help="Write no access report.")
def demo(
    state_dir: Path | None,
    keep: bool,
    output_format: str,
    quiet: bool,
    verbose: bool,
    isolation: str,
    federation: str,
    report_path: Path,
    no_report: bool,
) -> None:
    """Run the seed's cross-account chain on a local sandbox and prove every link.

    \b
    Starts a sandbox (accounts 111111111111 and 222222222222, clusters ci-cluster and
    target-cluster), applies examples/seed.yaml, deploys the blog's test pod, runs the
    blog's checks inside it with the real aws CLI and kubectl, shows that a second
    service account in the same namespace is denied, audits what was applied, writes the
    access report of it (--report), and stops the sandbox. Exit 0 when every link held as
    expected, 1 otherwise.

    \b
    With --federation pod-identity: installs the eks-pod-identity-agent add-on, applies
    the Pod Identity spec (an association with a target role, an access entry), and runs
    the same checks in a pod that has no AWS config at all; a service account without an
    association gets no credentials.

    \b
    Example:
      kubetrust demo                                  # about a minute; the sandbox is stopped
      kubetrust demo --keep --state-dir /tmp/kt       # then explore it with `kubetrust sandbox`
      kubetrust demo --federation pod-identity        # EKS Pod Identity, targetRoleArn
    """
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose exclude each other")
    from kubetrust.demo import Options, render, run_demo

    def err(line: str) -> None:
        click.echo(line, err=True)

    if not quiet:
        how = " with EKS Pod Identity" if federation == "pod-identity" else ""
        err(f"kubetrust demo: the seed's cross-account chain{how}, end to end, on a local sandbox")
    options = Options(
        state_dir=state_dir,
        keep=keep,
        isolation=isolation,
        federation=federation,
        progress=None if quiet else err,
        verbose=err if verbose else None,
        report=None if no_report else report_path.absolute(),
    )
    with _terminate_as_interrupt():
        report = run_demo(options)
    if output_format == "json":
        click.echo(json.dumps(report.to_json(), indent=2))
    elif quiet:
        click.echo(render.result_line(report))
        if report.report_file:
            click.echo(f"report: {report.report_file}")
        if report.kept is not None:
            click.echo(render.kept_text(report.kept))
    else:
        sys.stdout.write("\n" + render.render_text(report))
    raise SystemExit(ExitCode.OK if report.ok else ExitCode.FAILURE)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM/SIGHUP raise KeyboardInterrupt while the demo runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
