"""The ``kubetrust`` command group."""

from __future__ import annotations

import click

from kubetrust import __version__
from kubetrust.cli import demo, explain, iam, migrate, output, provision, report, sandbox, verify


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kubetrust")
def cli() -> None:
    """kubetrust: cross-account access for Kubernetes workloads on AWS, real and provable.

    Exit codes: 0 ok, 1 failure, 2 denied or findings, 3 invalid input.

    \b
    Examples:
      kubetrust demo
      kubetrust sandbox up --detach && kubetrust apply -f examples/seed.yaml --sandbox
    """


cli.add_command(iam.iam)
cli.add_command(sandbox.sandbox)
cli.add_command(provision.plan)
cli.add_command(provision.apply)
cli.add_command(provision.destroy)
cli.add_command(explain.explain)
cli.add_command(explain.audit)
cli.add_command(explain.graph)
cli.add_command(report.report)
cli.add_command(explain.snapshot)
cli.add_command(verify.verify)
cli.add_command(migrate.migrate)
cli.add_command(demo.demo)


def main() -> None:
    """Console-script entry point; usage errors exit 3 (invalid input), not click's 2,
    because 2 means "denied" across kubetrust."""
    try:
        cli.main(prog_name="kubetrust", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        raise SystemExit(output.ExitCode.FAILURE) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(output.ExitCode.INVALID) from None
