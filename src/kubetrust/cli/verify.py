"""``kubetrust verify``: run the chain for real and report each link.

Where the chain starts:

- ``--sandbox --cluster C --namespace NS --pod P``: a sandbox pod. Its token is minted as
  the kubelet mints it (TokenRequest bound to the pod, the audience of its projected
  volume), read as the cluster's account administrator;
- ``--cluster C --namespace NS --pod P`` with ``--profile``/``--kubeconfig --context``: a pod
  of a live cluster, the same way;
- ``-f`` with a ``federation: podIdentity`` spec and no pod (``--sandbox``, or outside a
  pod): a pod of each of the spec's service accounts in its source cluster
  (:func:`~kubetrust.adapters.verify_pod.service_account_start`), EKS Auth called as the
  source account's administrator (sandbox) or ``--profile``;
- otherwise the current credentials: ``AWS_WEB_IDENTITY_TOKEN_FILE`` + ``AWS_ROLE_ARN`` when
  set (inside a pod) and no ``--profile`` is given, else ``--profile`` or the default chain
  (inside a Pod Identity pod: the container provider's credentials).

A pod the EKS webhook mutated for Pod Identity starts with its ``eks-pod-identity-token``
and EKS Auth (:mod:`kubetrust.adapters.verify_pod_identity`); one mutated for IRSA with its
web-identity token.

What to check: ``-f kubetrust.yaml`` (every target of the spec,
:mod:`kubetrust.adapters.verify_spec`), or the flags ``--role-arn``, ``--via``,
``--expect-action``, ``--expect-kube`` with ``--target-cluster``. Exit 0 every check passed,
2 a check failed, 1 verify could not run, 3 invalid input.

Right after ``kubetrust apply``, AWS may refuse for seconds what it will allow (eventual
consistency): ``--propagation-wait SECONDS`` is how long the run may wait in all for it
(:mod:`kubetrust.adapters.verify_patience`; ``0``: no waiting); each wait is told on stderr
while it lasts, and the report says which check waited and how long.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kubetrust import errors
from kubetrust.adapters import snapshot_kube
from kubetrust.adapters.aws import AwsAccess, session
from kubetrust.adapters.verify import ChainRunner
from kubetrust.adapters.verify_patience import Patience
from kubetrust.adapters.verify_pod import (
    POD_IDENTITY_ENV,
    SessionStart,
    Start,
    VerifyError,
    pod_start,
    service_account_start,
    token_file_start,
)
from kubetrust.adapters.verify_spec import plans_from_spec
from kubetrust.cli import inputs
from kubetrust.cli.options import (
    endpoint_url_option,
    output_option,
    profile_option,
    sandbox_option,
    state_dir_option,
)
from kubetrust.cli.output import ExitCode
from kubetrust.cli.sandbox_state import connect
from kubetrust.explain import verify_model as vm
from kubetrust.provision.eventual import VERIFY_PROPAGATION_SECONDS

if TYPE_CHECKING:
    from kubetrust.provision.spec import Spec

DEFAULT_REGION = "us-east-1"


def _flag_plan(kw: dict[str, Any]) -> vm.ChainPlan:
    cluster, region = kw["target_cluster"], kw["target_region"]
    if kw["expect_kube"] and not cluster:
        raise click.UsageError("--expect-kube needs --target-cluster")
    aws = []
    for text in kw["expect_action"]:
        action, _, resource = text.partition("=")
        aws.append(vm.AwsExpectation(action, resource or "*"))
    kube = tuple(vm.parse_kube_expectation(t, cluster, region) for t in kw["expect_kube"])
    identities = (vm.IdentityExpectation(cluster, region=region),) if cluster else ()
    return vm.ChainPlan(
        name="given",
        first=kw["role_arn"],
        hops=tuple(kw["via"]),
        aws=tuple(aws),
        kube=kube,
        identities=identities,
        session_name=kw["session_name"],
    )


def _spec(kw: dict[str, Any]) -> Spec | None:
    """The spec of ``-f``, if any."""
    flags = (kw["role_arn"], kw["via"], kw["expect_action"], kw["expect_kube"])
    if kw["spec_file"] is None:
        return None
    if any(flags) or kw["target_cluster"]:
        raise click.UsageError("-f takes the chains from the spec: drop the --expect/--via flags")
    from kubetrust import provision

    try:
        return provision.load_spec(kw["spec_file"])
    except provision.SpecError as error:
        raise errors.InputError("\n".join(str(p) for p in error.problems)) from None


def _plans(kw: dict[str, Any], spec: Spec | None) -> list[vm.ChainPlan]:
    if spec is not None:
        return plans_from_spec(spec, kw["session_name"])
    return [_flag_plan(kw)]


def _sandbox(kw: dict[str, Any]) -> tuple[AwsAccess, str]:
    """The administrator of the pod's cluster's account, and the cluster's region."""
    from kubetrust.sandbox.eks import clusters

    sandbox = connect(kw["state_dir"])
    record = clusters.find(sandbox.state_dir, kw["cluster"])
    return inputs.sandbox_admin(sandbox, record.account, record.region), record.region


def _spec_starts(kw: dict[str, Any], spec: Spec) -> tuple[list[Start], str, str | None]:
    """A ``podIdentity`` spec's starts: a pod of each service account in the source cluster,
    EKS Auth called as the source account's administrator (sandbox) or ``--profile``."""
    source = spec.source
    if kw["use_sandbox"]:
        access = inputs.sandbox_admin(connect(kw["state_dir"]), source.account, source.region)
    else:
        access = AwsAccess(
            profile=kw["profile"], endpoint_url=kw["endpoint_url"], region=source.region
        )
    context = inputs.pairs(kw["contexts"], "--context").get(source.cluster)
    if context:
        api = snapshot_kube.from_kubeconfig(kw["kubeconfig"], context)
    else:
        api = snapshot_kube.from_access(access, source.cluster, source.region)
    caller = session(access)
    starts: list[Start] = [
        service_account_start(
            api, source.cluster, ref.namespace, ref.name, aws=caller, region=source.region
        )
        for ref in source.service_accounts
    ]
    return starts, source.region, access.endpoint_url


def _propagation_wait(kw: dict[str, Any]) -> float:
    """AWS's default budget; against a sandbox, three times its own delays plus a margin
    (nothing to wait for when its realism is off: a refusal is reported at once)."""
    if not kw["use_sandbox"]:
        return VERIFY_PROPAGATION_SECONDS
    state = connect(kw["state_dir"]).state
    delay = state.iam_propagation_seconds + state.eks_propagation_seconds
    return min(VERIFY_PROPAGATION_SECONDS, 3 * delay + 5.0) if delay > 0 else 0.0


def _starts(kw: dict[str, Any], spec: Spec | None) -> tuple[list[Start], str, str | None]:
    """The starts, the region and the endpoint of the run."""
    pod_options = (kw["cluster"], kw["namespace"], kw["pod"])
    in_pod_identity_pod = all(os.environ.get(name) for name in POD_IDENTITY_ENV)
    if (
        spec is not None
        and spec.pod_identity
        and not any(pod_options)
        and (kw["use_sandbox"] or not in_pod_identity_pod)
    ):
        return _spec_starts(kw, spec)
    start, region, endpoint = _start(kw)
    return [start], region, endpoint


def _start(kw: dict[str, Any]) -> tuple[Start, str, str | None]:
    """The start, the region and the endpoint of the run."""
    pod_options = (kw["cluster"], kw["namespace"], kw["pod"])
    if any(pod_options) and not all(pod_options):
        raise click.UsageError("--cluster, --namespace and --pod go together")
    region = kw["region"]
    if kw["use_sandbox"]:
        if not all(pod_options):
            raise click.UsageError(
                "--sandbox verifies from a pod: give --cluster, --namespace, --pod "
                "(or -f a podIdentity spec: a pod of each of its service accounts)"
            )
        access, region = _sandbox(kw)
    else:
        access = AwsAccess(profile=kw["profile"], endpoint_url=kw["endpoint_url"], region=region)
    region = region or session(access).region_name or DEFAULT_REGION
    if all(pod_options):
        contexts = inputs.pairs(kw["contexts"], "--context")
        context = contexts.get(kw["cluster"])
        if context:
            api = snapshot_kube.from_kubeconfig(kw["kubeconfig"], context)
        else:
            api = snapshot_kube.from_access(access, kw["cluster"], region)
        start: Start = pod_start(
            api,
            kw["cluster"],
            kw["namespace"],
            kw["pod"],
            kw["container"],
            aws=session(access),
            region=region,
        )
        return start, region, access.endpoint_url
    found = None if kw["profile"] else token_file_start(os.environ)
    if found is not None:
        return found, region, access.endpoint_url
    who = f"profile {access.profile}" if access.profile else "the current credentials"
    return SessionStart(who, session(access)), region, access.endpoint_url


@click.command("verify")
@sandbox_option("start from one of its pods, read as the cluster account's administrator")
@state_dir_option()
@profile_option("the start (no pod), or who reads the pod")
@click.option("--region", help="AWS region of STS and the probes [default: the profile's].")
@endpoint_url_option()
@click.option(
    "--kubeconfig",
    envvar="KUBECONFIG",
    type=click.Path(dir_okay=False),
    help="Kubeconfig for reading the pod through --context.",
)
@click.option(
    "--context",
    "contexts",
    multiple=True,
    metavar="CLUSTER=CONTEXT",
    help="Read the pod's cluster through this kubeconfig context.",
)
@click.option("--cluster", help="The pod's cluster (verify from a pod).")
@click.option("--namespace", "-n", help="The pod's namespace.")
@click.option("--pod", help="The pod whose chain to run.")
@click.option("--container", "-c", help="The pod's container (default: the first).")
@click.option(
    "-f",
    "--filename",
    "spec_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Verify every target of this spec (kubetrust.yaml).",
)
@click.option("--role-arn", help="The role the start assumes first [default: the pod's].")
@click.option("--via", multiple=True, metavar="ROLE_ARN", help="Roles assumed after it.")
@click.option(
    "--expect-action",
    multiple=True,
    metavar="ACTION[=RESOURCE]",
    help="An AWS action the last session must be allowed (repeatable).",
)
@click.option(
    "--expect-kube",
    multiple=True,
    metavar='"VERB RESOURCE [-n NS]"',
    help="A Kubernetes permission in --target-cluster (repeatable).",
)
@click.option("--target-cluster", help="The cluster of --expect-kube.")
@click.option("--target-region", help="Its region [default: --region].")
@click.option("--session-name", default=vm.DEFAULT_SESSION, show_default=True)
@click.option(
    "--propagation-wait",
    type=click.FloatRange(0, 3600),
    default=None,
    metavar="SECONDS",
    help="How long in all to wait for IAM and EKS to propagate a change apply just made "
    "(a refusal that lasts is reported as it is); 0: no waiting. Default: "
    f"{VERIFY_PROPAGATION_SECONDS:.0f} on AWS; with --sandbox, a few times the sandbox's own "
    "delays (none unless its realism is on).",
)
@output_option()
def verify(output_format: str, propagation_wait: float | None, **kw: Any) -> None:
    """Run the chain for real: STS per hop, the granted actions, Kubernetes access reviews.

    \b
    Read-only: GetCallerIdentity, read probes (ListClusters, ListBuckets...) and
    SelfSubjectAccessReview; nothing is created. A report per link; exit 0 verified,
    2 a check failed, 1 verify could not run, 3 invalid input.

    \b
    Examples:
      kubetrust verify --sandbox --cluster ci-cluster -n ci-namespace --pod POD -f kubetrust.yaml
      kubetrust verify --sandbox -f examples/pod-identity.yaml
    """
    try:
        spec = _spec(kw)
        plans = _plans(kw, spec)
        starts, region, endpoint = _starts(kw, spec)
        wait = _propagation_wait(kw) if propagation_wait is None else propagation_wait
        patience = Patience(wait, lambda line: click.echo(line, err=True))
        runner = ChainRunner(region=region, endpoint_url=endpoint, patience=patience)
        report = runner.verify_each(plans, starts)
    except errors.KubetrustError as error:
        click.echo(f"error: {error}", err=True)
        unreadable = isinstance(error, (*inputs.READ_ERRORS, VerifyError))
        raise SystemExit(ExitCode.FAILURE if unreadable else ExitCode.INVALID) from None
    if output_format == "json":
        click.echo(json.dumps(vm.report_json(report), indent=2, default=str))
    else:
        click.echo(vm.report_text(report))
    raise SystemExit(ExitCode.OK if report.ok else ExitCode.DENIED)
