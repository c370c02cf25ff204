"""The administrator's side: the OIDC link, and ``kubetrust audit``/``explain`` on a bundle.

The OIDC link is checked the way the blog sets it up (step 1: ``describe-cluster`` for the
issuer; step 2: the IAM OIDC provider) plus what STS itself relies on: the issuer's discovery
document and its keys, over HTTPS with the sandbox CA.

The bundle is the one docs/explain.md describes, produced with the same commands
(``aws iam get-account-authorization-details``, ``aws eks describe-cluster``, ``kubectl get``),
so that the audit and the explanation of the denied variant are computed offline from exactly
the state the live checks ran against.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubetrust.demo import scenario
from kubetrust.demo.model import Check, Finding, Link, Verdict
from kubetrust.demo.shell import BIN, Shell
from kubetrust.demo.verdicts import last_error_line

if TYPE_CHECKING:
    from kubetrust.sandbox.client.handle import Sandbox

AWS = str(BIN / "aws")
KUBECTL = str(BIN / "kubectl")
IAM_DETAILS = ("Role", "User", "Group", "LocalManagedPolicy")
"""Everything but the AWS managed policies: their ~1,300 documents (10 MB per account) make
the dump and the audit seconds slower, and no trust or permission of the seed uses one."""


# ---------------------------------------------------------------------------- the OIDC link


@dataclass(frozen=True)
class OidcFacts:
    """What the OIDC link found; the bundle reuses the two AWS answers."""

    link: Link
    describe_cluster: Check
    provider: Check | None


def oidc_link(shell: Shell, sandbox: Sandbox) -> OidcFacts:
    """The blog's steps 1-2 as the CI administrator sees them: the cluster's issuer
    (``describe-cluster``), the account's IAM OIDC provider for it, and the issuer's keys."""
    described = shell.run(
        [AWS, "eks", "describe-cluster", "--name", scenario.CI_CLUSTER],
        env=sandbox.aws_env(scenario.CI_ACCOUNT),
    )
    if not described.ok:
        return OidcFacts(
            _oidc(Verdict.ERROR, last_error_line(described), described), described, None
        )
    issuer = str(json.loads(described.stdout)["cluster"]["identity"]["oidc"]["issuer"])
    provider_arn = (
        f"arn:aws:iam::{scenario.CI_ACCOUNT}:oidc-provider/{issuer.removeprefix('https://')}"
    )
    provider = shell.run(
        [
            AWS,
            "iam",
            "get-open-id-connect-provider",
            "--open-id-connect-provider-arn",
            provider_arn,
        ],
        env=sandbox.aws_env(scenario.CI_ACCOUNT),
    )
    keys = _issuer_keys(shell, issuer, sandbox.ca_file)
    verdict, evidence = _oidc_verdict(issuer, provider_arn, provider, keys)
    return OidcFacts(_oidc(verdict, evidence, described, provider, keys), described, provider)


def _oidc(verdict: Verdict, evidence: str, *checks: Check) -> Link:
    return Link(scenario.OIDC, verdict, evidence, checks)


def _oidc_verdict(
    issuer: str, provider_arn: str, provider: Check, keys: Check
) -> tuple[Verdict, str]:
    """DENIED when the trust is missing (no provider, or not for ``sts.amazonaws.com``): STS
    would refuse every token of the cluster; ERROR when a command or the issuer fails."""
    if not provider.ok:
        missing = "NoSuchEntity" in provider.stderr
        return (Verdict.DENIED if missing else Verdict.ERROR), last_error_line(provider)
    audiences = json.loads(provider.stdout).get("ClientIDList", [])
    if scenario.AUDIENCE not in audiences:
        return Verdict.DENIED, f"{provider_arn} does not accept audience {scenario.AUDIENCE}"
    if not keys.ok:
        return Verdict.ERROR, last_error_line(keys)
    return Verdict.ALLOWED, (
        f"issuer {issuer} publishes {keys.stdout.strip()}; account {scenario.CI_ACCOUNT} has "
        f"an IAM OIDC provider for it, accepting audience {scenario.AUDIENCE}"
    )


def _issuer_keys(shell: Shell, issuer: str, ca_file: Path) -> Check:
    """GET the discovery document, then its ``jwks_uri``, as STS does before trusting a
    token; the result names how many signing keys the issuer publishes."""
    url = f"{issuer}/.well-known/openid-configuration"
    shown = f"GET {url}, then its jwks_uri"
    started = time.monotonic()
    context = ssl.create_default_context(cafile=str(ca_file))
    try:
        discovery = _get_json(url, context)
        if discovery.get("issuer") != issuer:
            raise ValueError(f"discovery names issuer {discovery.get('issuer')!r}")
        jwks = _get_json(str(discovery["jwks_uri"]), context)
        count = len(jwks.get("keys", []))
        keys = f"{count} signing key" + ("" if count == 1 else "s")
        code, out, err = (0 if count else 1), keys, ""
    except (OSError, ValueError, KeyError, urllib.error.URLError) as error:
        code, out, err = 1, "", f"GET {url}: {error}"
    check = Check(shown, code, out, err, time.monotonic() - started)
    shell.show(check)
    return check


def _get_json(url: str, context: ssl.SSLContext) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10, context=context) as answer:
        data = json.loads(answer.read())
    if not isinstance(data, dict):
        raise ValueError(f"{url}: not a JSON object")
    return data


# ---------------------------------------------------------------------------- the bundle


Jobs = Mapping[str, tuple[list[str], Mapping[str, str]]]
"""Bundle file (relative path) → the command that writes it and its environment."""


def kube_env(kubeconfigs: Mapping[str, Path], cluster: str) -> dict[str, str]:
    """kubectl as the cluster's administrator (its creator), through the kubeconfig the demo
    wrote with ``kubetrust sandbox kubeconfig``."""
    return {"KUBECONFIG": str(kubeconfigs[cluster])}


def collect_bundle(
    shell: Shell,
    sandbox: Sandbox,
    kubeconfigs: Mapping[str, Path],
    oidc: OidcFacts,
    root: Path,
) -> list[Check]:
    """Write the bundle under ``root`` (docs/explain.md's layout); the commands run in
    parallel. Returns the checks of the commands that failed."""
    ci, target = scenario.CI_ACCOUNT, scenario.TARGET_ACCOUNT
    ci_aws, target_aws = sandbox.aws_env(ci), sandbox.aws_env(target)
    ci_kube = kube_env(kubeconfigs, scenario.CI_CLUSTER)
    target_kube = kube_env(kubeconfigs, scenario.TARGET_CLUSTER)
    details = [AWS, "iam", "get-account-authorization-details", "--filter", *IAM_DETAILS]
    jobs: Jobs = {
        f"accounts/{ci}/authorization-details.json": (details, ci_aws),
        f"accounts/{target}/authorization-details.json": (details, target_aws),
        f"clusters/{scenario.TARGET_CLUSTER}/describe-cluster.json": (
            [AWS, "eks", "describe-cluster", "--name", scenario.TARGET_CLUSTER],
            target_aws,
        ),
        f"clusters/{scenario.TARGET_CLUSTER}/aws-auth.yaml": (
            [KUBECTL, "get", "configmap", "aws-auth", "-n", "kube-system", "-o", "yaml"],
            target_kube,
        ),
        f"clusters/{scenario.CI_CLUSTER}/manifests/serviceaccounts.yaml": (
            [KUBECTL, "get", "serviceaccounts", "-n", scenario.NAMESPACE, "-o", "yaml"],
            ci_kube,
        ),
        "aws-config": (
            [
                KUBECTL,
                "get",
                "configmap",
                "awsconfig-configmap",
                "-n",
                scenario.NAMESPACE,
                "-o",
                "jsonpath={.data.config}",
            ],
            ci_kube,
        ),
    }
    done = run_jobs(shell, jobs)
    done[f"clusters/{scenario.CI_CLUSTER}/describe-cluster.json"] = oidc.describe_cluster
    if oidc.provider is not None:
        done[f"accounts/{ci}/oidc-providers.json"] = oidc.provider
    return write_bundle(root, done)


def run_jobs(shell: Shell, jobs: Jobs) -> dict[str, Check]:
    """Run the bundle's commands in parallel; bundle file → its command's check."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(
            zip(
                jobs,
                pool.map(lambda job: shell.run(job[0], env=job[1]), jobs.values()),
                strict=True,
            )
        )


def write_bundle(root: Path, done: Mapping[str, Check]) -> list[Check]:
    """Write each successful command's output under ``root``; return the failed checks."""
    for relative, check in done.items():
        if check.ok:
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(check.stdout, encoding="utf-8")
    return [check for check in done.values() if not check.ok]


# ---------------------------------------------------------------------------- audit, explain


@dataclass(frozen=True)
class Analysis:
    findings: list[Finding]
    why_denied: str
    problems: list[str]
    graph: str = ""
    allowed_path: str = ""
    """With ``explain_allowed``: what explain says of the service account that was allowed."""
    report: str = ""
    """With ``report``: the access report written (``kubetrust report``), its path."""


def analyse(
    shell: Shell, bundle: Path, *, explain_allowed: bool = False, report: Path | None = None
) -> Analysis:
    """``kubetrust audit`` and ``kubetrust graph`` on the bundle, and ``kubetrust explain`` of
    the denied variant (and, with ``explain_allowed``, of the allowed service account; with
    ``report``, ``kubetrust report`` into that file), in parallel: each is a process of its
    own that mostly waits on Python's start-up."""
    commands: list[Callable[[], Check]] = [
        lambda: shell.kubetrust("audit", "--bundle", str(bundle), "--output", "json"),
        lambda: explain(shell, bundle, scenario.OTHER_SERVICE_ACCOUNT),
        lambda: shell.kubetrust("graph", "--bundle", str(bundle), "--output", "mermaid"),
    ]
    if report is not None:
        out = str(report)
        commands.append(lambda: shell.kubetrust("report", "--bundle", str(bundle), "--out", out))
    if explain_allowed:
        commands.append(lambda: explain(shell, bundle, scenario.SERVICE_ACCOUNT))
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        audited, explained, drawn, *rest = pool.map(lambda run: run(), commands)
    reported, allowed = (rest[:1], rest[1:]) if report is not None else ([], rest)
    problems: list[str] = []
    findings = _parsed(audited, problems, _findings) or []
    why = _parsed(explained, problems, _why) or ""
    for check in (drawn, *reported):
        if check.returncode != 0:
            problems.append(f"`{check.command}` failed: {last_error_line(check)}")
    path = "".join(_parsed(check, problems, _path) or "" for check in allowed)
    written = str(report) if report is not None and reported[0].ok else ""
    return Analysis(findings, why, problems, drawn.stdout.strip(), path, written)


def explain(shell: Shell, bundle: Path, service_account: str) -> Check:
    """``kubetrust explain`` (JSON) of ``service_account``'s pods describing the target
    cluster: the request the demo's pods made live."""
    return shell.kubetrust(
        "explain",
        "--bundle",
        str(bundle),
        "--cluster",
        scenario.CI_CLUSTER,
        "--namespace",
        scenario.NAMESPACE,
        "--serviceaccount",
        service_account,
        "--action",
        "eks:DescribeCluster",
        "--resource",
        f"arn:aws:eks:{scenario.REGION}:{scenario.TARGET_ACCOUNT}:cluster/{scenario.TARGET_CLUSTER}",
        "--output",
        "json",
    )


def _parsed(check: Check, problems: list[str], read: Callable[[Any], Any]) -> Any:
    """``read`` the JSON of a command that exits 0 or 2 (findings, denied); else note it."""
    if check.returncode not in (0, 2):
        problems.append(f"`{check.command}` failed: {last_error_line(check)}")
        return None
    try:
        return read(json.loads(check.stdout))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        problems.append(f"`{check.command}`: unexpected output ({error})")
        return None


def _findings(data: Mapping[str, Any]) -> list[Finding]:
    return [
        Finding(str(f["severity"]), str(f["rule"]), str(f["message"]), str(f["fix"]))
        for f in data["findings"]
        if f["severity"] != "info"
    ]


def _why(data: Mapping[str, Any]) -> str:
    """The first failing link of the explanation: its kind, failure code and fix (or, with
    no chain at all, why explain found none)."""
    for number, link in enumerate(data["links"], 1):
        if not link["allowed"]:
            fix = (link.get("fix") or {}).get("action", "")
            return f"{EXPLAINED}: link {number} ({link['kind']}) fails with `{link['failure']}`" + (
                f"; fix: {fix}" if fix else ""
            )
    if data.get("noChain"):
        return f"{EXPLAINED}: {_fix_text(data['noChain'])}"
    return f"{EXPLAINED} finds no failing link"


def _path(data: Mapping[str, Any]) -> str:
    """What explain says of an allowed service account: the links it followed, or why it
    found no path (offline explain may not know every federation the sandbox runs)."""
    kinds = " → ".join(str(link["kind"]) for link in data["links"])
    if data["allowed"]:
        return f"{EXPLAINED}: allowed, through {kinds} ({' → '.join(data['roles'])})"
    return f"{EXPLAINED}: not allowed ({_why(data).removeprefix(EXPLAINED + ': ')})"


def _fix_text(fix: Mapping[str, Any]) -> str:
    cause, action = str(fix.get("cause", "")), str(fix.get("action", ""))
    return f"{cause}; fix: {action}" if action else cause


EXPLAINED = "kubetrust explain (offline, same state)"
