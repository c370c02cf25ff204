"""``kubetrust explain``, ``audit``, ``graph`` and ``snapshot``.

Each command parses its options, loads its inputs — bundles, the sandbox or live accounts
(:mod:`kubetrust.cli.inputs`) — makes one library call
(:func:`kubetrust.explain.explain.explain_access`, :func:`kubetrust.explain.audit.run_audit`,
:func:`kubetrust.explain.access_graph.build_access_graph`) and renders the result (style
B6). Exit codes: explain 0 allowed, 2 denied; audit 0 no findings, 2 findings at or above
``--fail-on`` (default ``low``: ``info`` does not count); all 3 for invalid input, 1 when
live inputs cannot be read.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from kubetrust import errors
from kubetrust.chain import context, rbac
from kubetrust.chain.paths import AwsGoal, Goal, KubeGoal
from kubetrust.cli import inputs
from kubetrust.cli.options import output_option
from kubetrust.cli.output import ExitCode
from kubetrust.explain import audit as audit_lib
from kubetrust.explain import explain as explain_lib
from kubetrust.explain import graph_render, render
from kubetrust.explain.access_graph import build_access_graph
from kubetrust.explain.audit import sarif
from kubetrust.explain.audit.findings import Severity
from kubetrust.iac import symbolic
from kubetrust.model.topology import Topology
from kubetrust.model.vocabulary import IRSA_AUDIENCE
from kubetrust.report import svg

_OUTPUT = output_option()


def _fail(error: errors.KubetrustError) -> None:
    """Live inputs that cannot be read (an AWS or Kubernetes API failure) exit 1; anything
    else is invalid input (a bundle, an option): exit 3."""
    click.echo(f"error: {error}", err=True)
    unreadable = isinstance(error, inputs.READ_ERRORS)
    raise SystemExit(ExitCode.FAILURE if unreadable else ExitCode.INVALID)


def _topology(kw: dict[str, Any]) -> Topology:
    return _loaded(kw).topology


def _loaded(kw: dict[str, Any]) -> inputs.Loaded:
    """The inputs, with the IaC inputs' warnings (read but not understood) on stderr."""
    try:
        loaded = inputs.load_inputs(kw)
    except errors.KubetrustError as error:
        _fail(error)
        raise  # unreachable: _fail exits
    for warning in loaded.warnings:
        click.echo(f"warning: {warning}", err=True)
    return loaded


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
    return rbac.request_info(  # the apiserver's RequestInfo, as the sandbox derives it
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
@inputs.input_options
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
    f"annotation, else {IRSA_AUDIENCE}].",
)
@click.option("--session-name", default="kubetrust", show_default=True)
@click.option(
    "--federation",
    type=click.Choice(["irsa", "pod-identity"]),
    default=None,
    help="How the pod gets its first role [default: its EKS Pod Identity association when "
    "the inputs hold one (it wins over the IRSA annotation, as the EKS webhook decides), "
    "else IRSA].",
)
@_OUTPUT
def explain(
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
    federation: str | None,
    output_format: str,
    **kw: Any,
) -> None:
    """Follow a service account through IRSA or EKS Pod Identity and role chains to a goal.

    \b
    Every link gets its verdict, the statement, condition or mapping that decided it, and
    for a failure the smallest fix. Exit 0 allowed, 2 denied, 3 invalid input.

    \b
    Example:
      kubetrust explain --sandbox --cluster ci-cluster --namespace ci-namespace \\
          --serviceaccount ci-serviceaccount --action eks:DescribeCluster \\
          --resource arn:aws:eks:us-east-1:222222222222:cluster/target-cluster
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
    loaded = _loaded(kw)
    topology = loaded.topology
    try:
        workload = explain_lib.workload_for(
            topology, cluster, namespace, serviceaccount, audience=audience
        )
        result = explain_lib.explain_access(
            topology,
            workload,
            goal,
            via=via,
            session=session_name,
            request=request_facts(kw),
            federation=federation,
        )
    except errors.KubetrustError as error:
        _fail(error)
        return
    if output_format == "json":
        shown = render.explanation_json(result, loaded.sources if kw_iac(kw) else None)
        click.echo(json.dumps(shown, indent=2, default=str))
    else:
        click.echo(render.explanation_text(result, loaded.sources if kw_iac(kw) else None))
    raise SystemExit(ExitCode.OK if result.allowed else ExitCode.DENIED)


def kw_iac(kw: dict[str, Any]) -> bool:
    """Whether IaC inputs were given (their sources then name fixes and unknowns)."""
    return bool(kw.get("terraform_plans") or kw.get("templates"))


def request_facts(kw: dict[str, Any]) -> context.RequestFacts:
    """What the chain's calls would carry if made now: this moment (``aws:CurrentTime``),
    and TLS unless ``--endpoint-url`` is plain HTTP (every AWS endpoint is HTTPS). The
    region is the workload's cluster's; the source address is unknown (its key stays out)."""
    endpoint = str(kw.get("endpoint_url") or "")
    return context.RequestFacts(
        now=dt.datetime.now(dt.UTC).replace(microsecond=0),
        secure_transport=not endpoint.lower().startswith("http://"),
    )


@click.command("audit")
@inputs.input_options
@output_option(
    ("text", "json", "sarif"),
    "text reads at a glance; json is complete and stable (docs/explain.md); sarif is "
    "SARIF 2.1.0 for code scanning (docs/iac.md).",
)
@click.option(
    "--fail-on",
    type=click.Choice([s.label for s in reversed(Severity)]),
    default=Severity.LOW.label,
    show_default=True,
    help="Exit 2 when a finding is at or above this severity (info: any finding).",
)
def audit(output_format: str, fail_on: str, **kw: Any) -> None:
    """Least-privilege findings, and who can reach every target role.

    \b
    Findings carry a severity, a location and a fix. Exit 0 without findings at or above
    --fail-on (low: info does not count), 2 with such findings, 3 invalid input.

    \b
    Example:
      kubetrust audit --bundle bundle/ --output json
      kubetrust audit --terraform-plan plan.json --output sarif --fail-on high
    """
    threshold = Severity[fail_on.upper()]
    loaded = _loaded(kw)
    report = audit_lib.run_audit(loaded.topology)
    if output_format == "sarif":
        log = sarif.sarif_log(report.findings, loaded.sources, bundles=kw.get("bundles") or ())
        click.echo(json.dumps(log, indent=2))
    elif output_format == "json":
        document = sarif.audit_json(
            render.audit_json(report),
            report.findings,
            loaded.sources,
            fail_on=threshold,
            warnings=loaded.warnings,
        )
        click.echo(json.dumps(document, indent=2, default=str))
    else:
        click.echo(symbolic.describe(render.audit_text(report), loaded.sources.unknowns))
    failed = sarif.fails(report.findings, threshold)
    raise SystemExit(ExitCode.DENIED if failed else ExitCode.OK)


@click.command("graph")
@inputs.input_options
@click.option(
    "--output",
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot", "svg"]),
    default="mermaid",
    show_default=True,
    help="The graph's format; svg is laid out by kubetrust itself (no Graphviz needed) "
    "(--format: the same option's earlier name).",
)
@click.option(
    "--out",
    "-o",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the graph to this file instead of standard output.",
)
def graph(fmt: str, path: Path | None, **kw: Any) -> None:
    """Draw the access graph: service accounts → roles → roles → permissions and cluster
    identities.

    \b
    Edges carry the hop (web identity, pod-identity, targetRoleArn, AssumeRole, aws-auth,
    access entry); denied edges are red with a cross, conditional ones dashed orange, Pod
    Identity's thick and blue. Output is sorted: the same inputs give the same bytes. SVG
    is laid out left to right by kubetrust (igraph; nothing to install), with a legend; edge
    notes are in each edge's tooltip. Exit 0, 3 invalid input.

    \b
    Example:
      kubetrust graph --sandbox --output svg --out access.svg
    """
    loaded = _loaded(kw)
    access = build_access_graph(loaded.topology)
    if fmt == "svg":
        text = svg.to_svg(svg.describe_graph(access, loaded.sources.unknowns))
    else:
        text = symbolic.describe(graph_render.FORMATS[fmt](access), loaded.sources.unknowns)
    if path is None:
        click.echo(text, nl=False)
    else:
        path.write_bytes(text.encode("utf-8"))
        click.echo(f"wrote {path}", err=True)
    raise SystemExit(ExitCode.OK)


@click.command("snapshot")
@inputs.live_options
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The bundle directory to write (must not exist, or be empty).",
)
def snapshot(out: Path, **kw: Any) -> None:
    """Read live accounts and clusters (or the sandbox) into a bundle directory.

    \b
    Read-only. The bundle has the documented layout (docs/explain.md), so that explain,
    audit and graph run on it offline. Exit 0 written, 1 a read failed, 3 invalid input.

    \b
    Example:
      kubetrust snapshot --profile ci --profile target --region us-east-1 --out bundle/
    """
    try:
        result = inputs.snapshot(kw, out)
    except errors.KubetrustError as error:
        _fail(error)
        return
    click.echo(
        f"wrote {out}: {len(result.accounts)} account(s), {len(result.clusters)} cluster(s), "
        f"{len(result.warnings)} warning(s)"
    )
    raise SystemExit(ExitCode.OK)
