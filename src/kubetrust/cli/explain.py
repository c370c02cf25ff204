"""``kubetrust explain`` and ``kubetrust audit`` over offline inputs (a bundle directory).

Each command parses its options, loads the bundle, makes one library call
(:func:`kubetrust.explain.explain.explain_access`, :func:`kubetrust.explain.audit.run_audit`)
and renders the result (style B6). Exit codes: explain 0 allowed, 2 denied; audit 0 no
findings, 2 findings (``info`` does not count); both 3 for invalid input.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from kubetrust import errors
from kubetrust.chain import rbac
from kubetrust.chain.paths import AwsGoal, Goal, KubeGoal
from kubetrust.cli.output import ExitCode
from kubetrust.explain import audit as audit_lib
from kubetrust.explain import bundle, render
from kubetrust.explain import explain as explain_lib
from kubetrust.model.eks import DEFAULT_AUDIENCE

_OUTPUT = click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text reads at a glance; json is complete.",
)
_BUNDLE = click.option(
    "--bundle",
    "bundles",
    multiple=True,
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Bundle directory (repeatable: bundles merge). Layout: docs/explain.md.",
)


def _fail(error: errors.KubetrustError) -> None:
    click.echo(f"error: {error}", err=True)
    raise SystemExit(ExitCode.INVALID)


def parse_kube_resource(
    text: str, *, namespace: str | None, subresource: str | None, verb: str
) -> rbac.KubeRequest:
    """kubectl's ``TYPE[.GROUP][/NAME]``, or a non-resource URL starting with ``/``."""
    if text.startswith("/"):
        return rbac.KubeRequest(verb, path=text)
    kind, _, name = text.partition("/")
    plural, _, group = kind.partition(".")
    if not plural:
        raise click.UsageError(f"--kube-resource `{text}`: expected TYPE[.GROUP][/NAME]")
    return rbac.KubeRequest(
        verb,
        plural,
        group,
        subresource or "",
        namespace or "",
        name,
    )


def _goal(
    action: str | None,
    resource: str | None,
    account: str | None,
    kube_verb: str | None,
    kube_resource: str | None,
    kube_namespace: str | None,
    kube_subresource: str | None,
    target_cluster: str | None,
) -> Goal:
    aws = action is not None or resource is not None
    kube = any(v is not None for v in (kube_verb, kube_resource, target_cluster))
    if aws == kube:
        raise click.UsageError(
            "give one goal: --action and --resource, or --kube-verb, --kube-resource and "
            "--target-cluster"
        )
    if aws:
        if action is None or resource is None:
            raise click.UsageError("--action and --resource go together")
        return AwsGoal(action, resource, account)
    if kube_verb is None or kube_resource is None or target_cluster is None:
        raise click.UsageError("--kube-verb, --kube-resource and --target-cluster go together")
    request = parse_kube_resource(
        kube_resource, namespace=kube_namespace, subresource=kube_subresource, verb=kube_verb
    )
    return KubeGoal(target_cluster, request)


@click.command("explain")
@_BUNDLE
@click.option("--cluster", required=True, help="The service account's cluster (name or ARN).")
@click.option("--namespace", required=True, help="The service account's namespace.")
@click.option("--serviceaccount", required=True, help="The service account's name.")
@click.option("--action", help="Goal: an AWS action, e.g. eks:DescribeCluster.")
@click.option("--resource", help="Goal: the AWS resource ARN (or `*`).")
@click.option("--account", help="For --resource `*`: the account whose principal must act.")
@click.option("--kube-verb", help="Goal: a Kubernetes verb (get, list, create...).")
@click.option("--kube-resource", help="Goal: TYPE[.GROUP][/NAME], or a URL path (/healthz).")
@click.option("--kube-subresource", help="Goal: a subresource (log, exec...).")
@click.option("--kube-namespace", help="Goal: the namespace (omit for cluster scope).")
@click.option("--target-cluster", help="Goal: the target cluster (name or ARN).")
@click.option(
    "--via",
    multiple=True,
    metavar="ROLE_ARN",
    help="The chain of roles, first the one the service account assumes (repeatable). "
    "Without it the shortest chain is searched.",
)
@click.option(
    "--audience",
    default=None,
    help=f"The token audience [default: the service account's eks.amazonaws.com/audience "
    f"annotation, else {DEFAULT_AUDIENCE}].",
)
@click.option("--session-name", default="kubetrust", show_default=True)
@_OUTPUT
def explain(
    bundles: tuple[Path, ...],
    cluster: str,
    namespace: str,
    serviceaccount: str,
    action: str | None,
    resource: str | None,
    account: str | None,
    kube_verb: str | None,
    kube_resource: str | None,
    kube_subresource: str | None,
    kube_namespace: str | None,
    target_cluster: str | None,
    via: tuple[str, ...],
    audience: str | None,
    session_name: str,
    output: str,
) -> None:
    """Follow a service account through web identity and role chains to a goal.

    \b
    Every link gets its verdict, the statement, condition or mapping that decided it, and
    for a failure the smallest fix. Exit 0 allowed, 2 denied, 3 invalid input.
    """
    goal = _goal(
        action,
        resource,
        account,
        kube_verb,
        kube_resource,
        kube_namespace,
        kube_subresource,
        target_cluster,
    )
    try:
        topology = bundle.load_bundle(bundles)
        workload = explain_lib.workload_for(
            topology, cluster, namespace, serviceaccount, audience=audience
        )
        result = explain_lib.explain_access(topology, workload, goal, via=via, session=session_name)
    except errors.KubetrustError as error:
        _fail(error)
        return
    if output == "json":
        click.echo(json.dumps(render.explanation_json(result), indent=2, default=str))
    else:
        click.echo(render.explanation_text(result))
    raise SystemExit(ExitCode.OK if result.allowed else ExitCode.DENIED)


@click.command("audit")
@_BUNDLE
@_OUTPUT
def audit(bundles: tuple[Path, ...], output: str) -> None:
    """Least-privilege findings, and who can reach every target role.

    \b
    Findings carry a severity, a location and a fix. Exit 0 without findings (info does
    not count), 2 with findings, 3 invalid input.
    """
    try:
        report = audit_lib.run_audit(bundle.load_bundle(bundles))
    except errors.KubetrustError as error:
        _fail(error)
        return
    if output == "json":
        click.echo(json.dumps(render.audit_json(report), indent=2, default=str))
    else:
        click.echo(render.audit_text(report))
    raise SystemExit(ExitCode.DENIED if report.has_findings else ExitCode.OK)
