"""The demo's report for a reader: each link, its verdict, its evidence, what it proves.

Written for someone who has not read the blog: every link says in one sentence what it
shows, the command that showed it, and what was expected, so that the denied variant reads
as a success of least privilege rather than as an error.
"""

from __future__ import annotations

import shlex
import textwrap

from kubetrust.demo import scenario
from kubetrust.demo import scenario_pod_identity as pi
from kubetrust.demo.model import Kept, Link, Report, Verdict

WIDTH = 100
_LABEL = 10
INTRO = (
    f"A pod in account {scenario.CI_ACCOUNT}'s cluster {scenario.CI_CLUSTER}, running as "
    f"{scenario.NAMESPACE}/{scenario.SERVICE_ACCOUNT}, reaches account "
    f"{scenario.TARGET_ACCOUNT}: its service-account token buys a session of "
    f"{scenario.CI_ROLE} (web identity), which assumes {scenario.TARGET_ROLE}, which calls "
    f"the EKS API and, through aws-auth, the Kubernetes API of {scenario.TARGET_CLUSTER}. "
    "Each link below was checked live with the real aws CLI and kubectl (the first as the "
    "CI account's administrator, the others from inside the pod); the last one, another "
    "service account of the same namespace, must be denied."
)
POD_IDENTITY_INTRO = (
    f"The same pod, {scenario.NAMESPACE}/{scenario.SERVICE_ACCOUNT} in {scenario.CI_CLUSTER}, "
    f"reaches account {scenario.TARGET_ACCOUNT} with EKS Pod Identity: its service account's "
    f"association names {pi.ASSOCIATION_ROLE} (account {scenario.CI_ACCOUNT}) and, as "
    f"targetRoleArn, {scenario.TARGET_ROLE}. EKS Auth assumes the first, then with that "
    "session the second, and the Pod Identity Agent hands the pod the target role's "
    "credentials: no OIDC provider, no role annotation, no AWS config file. The pod calls the "
    f"EKS API of {scenario.TARGET_ACCOUNT} and, through an access entry, the Kubernetes API "
    f"of {scenario.TARGET_CLUSTER}. The add-on and the association were checked as the CI "
    "account's administrator, the rest live from inside the pod with the real aws CLI and "
    "kubectl; the last link, a service account without an association, must get no "
    "credentials."
)
_TITLES = {
    scenario.FEDERATION: ("The seed's chain, link by link", INTRO),
    pi.FEDERATION: ("The seed's chain with EKS Pod Identity, link by link", POD_IDENTITY_INTRO),
}


def render_text(report: Report) -> str:
    """The full summary: the links, the audit, the verdict (and how to use a kept sandbox)."""
    title, intro = _TITLES[report.federation]
    parts = [
        _heading(title),
        _wrapped(intro, ""),
        *(_link(number, link) for number, link in enumerate(report.links, 1)),
        _graph(report),
        _audit(report),
        _wrapped(report.explained, ""),
        _report_file(report),
        result_line(report),
    ]
    if report.kept is not None:
        parts.append(kept_text(report.kept))
    return "\n\n".join(part for part in parts if part) + "\n"


def _report_file(report: Report) -> str:
    if not report.report_file:
        return ""
    return f"The access report of what was applied (open it in a browser): {report.report_file}"


def result_line(report: Report) -> str:
    """One line: PASS or FAIL, the verdict counts, the time, and every failure."""
    counts = _counts(report.links)
    where = {
        "running": "the sandbox is still running",
        "stopped": "the sandbox is stopped",
    }.get(report.sandbox, "no sandbox was started")
    if report.ok:
        return f"PASS: every link held as expected ({counts}) in {report.seconds:.1f} s; {where}."
    lines = [f"FAIL after {report.seconds:.1f} s ({counts}); {where}."]
    lines += [f"  failed: {reason}" for reason in report.failures]
    lines.append(
        "  (--verbose shows every command and its output; --keep leaves the sandbox running)"
    )
    return "\n".join(lines)


def _heading(text: str) -> str:
    return f"{text}\n{'=' * len(text)}"


def _link(number: int, link: Link) -> str:
    expected = "as expected" if link.ok else f"EXPECTED {link.spec.expected.upper()}"
    head = f"{number}. {link.spec.title}"
    verdict = f"{link.verdict.upper()} ({expected})"
    lines = [f"{head}\n   {verdict}   [{link.spec.source}: {link.spec.seed_step}]"]
    if link.evidence:
        lines.append(_field("evidence", link.evidence))
    if link.why:
        lines.append(_field("why", link.why))
    lines.append(_field("proves", link.spec.proves))
    lines += _commands(link)
    return "\n".join(lines)


def _commands(link: Link) -> list[str]:
    """The commands behind the verdict, with where they ran (the pod, or the host)."""
    lines: list[str] = []
    where = ""
    for check in link.checks:
        if check.where != where:
            where = check.where
            shown = "as the account administrator" if where == "host" else f"in {where}"
            lines.append(f"   {shown}:")
        status = "" if check.ok else f"   -> exit {check.returncode}"
        lines.append(f"     $ {check.command}{status}")
    return lines


def _field(label: str, text: str) -> str:
    indent = " " * (3 + _LABEL)
    return textwrap.fill(
        text,
        width=WIDTH,
        initial_indent=f"   {label + ':':<{_LABEL}}",
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _graph(report: Report) -> str:
    if not report.graph:
        return ""
    heading = _heading("The access graph of what was applied (kubetrust graph, Mermaid)")
    return f"{heading}\n{report.graph}"


def _audit(report: Report) -> str:
    if not report.findings:
        return (
            _heading("kubetrust audit of what was applied: no findings") if report.audited else ""
        )
    lines = [_heading(f"kubetrust audit of what was applied: {len(report.findings)} finding(s)")]
    for finding in report.findings:
        lines.append(f"{finding.severity.upper():<8} {finding.rule}")
        lines.append(_wrapped(finding.message, " " * 9))
        lines.append(_wrapped(f"fix: {finding.fix}", " " * 9))
    if any(finding.rule == report.expected_finding for finding in report.findings):
        lines.append(
            f"(expected: the seed maps the target role to system:masters; "
            f"`{report.expected_finding}` says so)"
        )
    return "\n".join(lines)


def _wrapped(text: str, indent: str) -> str:
    return textwrap.fill(
        text,
        width=WIDTH,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _counts(links: list[Link]) -> str:
    counts: dict[Verdict, int] = {}
    for link in links:
        counts[link.verdict] = counts.get(link.verdict, 0) + 1
    return ", ".join(f"{n} {verdict}" for verdict, n in counts.items())


def kept_text(kept: Kept) -> str:
    """How to use the sandbox that ``--keep`` left running."""
    state = shlex.quote(kept.state_dir)
    lines = [
        _heading("The sandbox is still running"),
        "As an account's administrator (the aws CLI, boto3):",
        *(
            f'  eval "$(kubetrust sandbox env --account {account} --state-dir {state})"'
            for account in kept.accounts
        ),
        "kubectl as a cluster's administrator:",
        *(
            f"  export KUBECONFIG={shlex.quote(path)}    # {cluster}"
            for cluster, path in kept.kubeconfigs.items()
        ),
    ]
    if kept.pod:
        in_pod = _KEPT_POD_COMMANDS.get(kept.federation, "")
        lines += [
            "Inside the test pod:",
            f"  kubetrust sandbox exec --state-dir {state} --cluster ci-cluster -n ci-namespace "
            f"--pod {kept.pod} -- sh -c '{in_pod}'",
        ]
    lines.append(f"Stop it with: kubetrust sandbox down --state-dir {state}")
    return "\n".join(lines)


_KEPT_POD_COMMANDS = {
    scenario.FEDERATION: (
        "cp -r aws_config/ ~/.aws/ && aws sts get-caller-identity --profile target-env"
    ),
    pi.FEDERATION: "aws sts get-caller-identity && kubectl auth whoami",
}
"""What to try first in the kept test pod: the seed copies its AWS config; with Pod Identity
the default credentials are the target role's."""
