"""From finished commands to a link's verdict and its one line of evidence.

A failed command is a *denial* only when it fails the way AWS or Kubernetes refuse a caller
(the error codes and messages below); anything else (a tool missing, a timeout, a refused
connection) is an *error*, so that a broken sandbox can never pass for the expected denial.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kubetrust.demo import scenario
from kubetrust.demo.model import Check, Link, LinkSpec, Verdict

_DENIALS = re.compile(
    r"\((AccessDenied|AccessDeniedException|UnauthorizedOperation|InvalidIdentityToken"
    r"|ExpiredToken)\)"
    r"|is forbidden: User "
    r"|You must be logged in to the server"
)


def classify(check: Check, denial: re.Pattern[str] = _DENIALS) -> Verdict:
    """ALLOWED for exit 0, DENIED for an authorization refusal matching ``denial``, else
    ERROR."""
    if check.ok:
        return Verdict.ALLOWED
    if denial.search(check.stderr) or denial.search(check.stdout):
        return Verdict.DENIED
    return Verdict.ERROR


def combine(verdicts: Sequence[Verdict]) -> Verdict:
    """A link of several commands: an error anywhere wins, then a denial, then allowed."""
    if not verdicts:
        return Verdict.NOT_RUN
    for worst in (Verdict.ERROR, Verdict.NOT_RUN, Verdict.DENIED):
        if worst in verdicts:
            return worst
    return Verdict.ALLOWED


def link(spec: LinkSpec, checks: Sequence[Check], evidence: str) -> Link:
    """A link decided by ``checks``: allowed only if every one of them succeeded."""
    verdict = combine([classify(check) for check in checks])
    return Link(spec, verdict, evidence, tuple(checks))


def last_error_line(check: Check) -> str:
    """The line a user would read first when a command fails."""
    lines = [line.strip() for line in (check.stderr or check.stdout).splitlines() if line.strip()]
    return lines[-1] if lines else f"exit {check.returncode}"


def json_object(text: str) -> Mapping[str, Any]:
    """A command's JSON answer as a mapping (``{}`` when it is not one)."""
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, Mapping) else {}


def caller_arn(check: Check) -> str:
    """``Arn`` of a ``get-caller-identity`` answer, else the error line."""
    data = json_object(check.stdout)
    if check.ok and "Arn" in data:
        return str(data["Arn"])
    return last_error_line(check)


def _missing(keys: Sequence[str], results: Mapping[str, Check]) -> list[str]:
    return [key for key in keys if key not in results]


def from_pod(spec: LinkSpec, keys: Sequence[str], results: Mapping[str, Check]) -> Link:
    """The link decided by the pod commands ``keys`` (NOT_RUN if the script never got
    there: the exec itself failed)."""
    if _missing(keys, results):
        return Link(spec, Verdict.NOT_RUN, "the pod script did not run this check")
    checks = [results[key] for key in keys]
    found = link(spec, checks, _EVIDENCE[spec.key](checks))
    wrong = _WRONG[spec.key](checks) if found.verdict is Verdict.ALLOWED else None
    return found if wrong is None else Link(spec, Verdict.ERROR, wrong, tuple(checks))


def _web_identity(checks: Sequence[Check]) -> str:
    return caller_arn(checks[0])


def _aws_api(checks: Sequence[Check]) -> str:
    listed, described = checks
    if not listed.ok:
        return last_error_line(listed)
    if not described.ok:
        return last_error_line(described)
    names = json_object(listed.stdout).get("clusters", [])
    cluster = json_object(described.stdout).get("cluster", {})
    return (
        f"list-clusters: {', '.join(names) or 'none'}; describe-cluster: "
        f"{cluster.get('arn', '?')} ({cluster.get('status', '?')}, "
        f"authentication {cluster.get('accessConfig', {}).get('authenticationMode', '?')})"
    )


def _kube_identity(checks: Sequence[Check]) -> str:
    kubeconfig, whoami = checks
    if not kubeconfig.ok:
        return last_error_line(kubeconfig)
    info = (json_object(whoami.stdout).get("status") or {}).get("userInfo")
    if not whoami.ok or not isinstance(info, Mapping):
        return last_error_line(whoami)
    groups = ", ".join(info.get("groups", []))
    return f"user `{info.get('username')}`, groups [{groups}]"


def _rbac(checks: Sequence[Check]) -> str:
    namespaces, pods = checks
    for check in checks:
        if not check.ok:
            return last_error_line(check)
    return f"{_rows(namespaces)} namespaces listed; {_rows(pods)} pods listed in kube-system"


def _rows(check: Check) -> int:
    """Rows of a kubectl table (its header excluded)."""
    return max(0, len([line for line in check.stdout.splitlines() if line.strip()]) - 1)


def _denied(checks: Sequence[Check]) -> str:
    """``ci-env and target-env: <the refusal>``: profiles that ended alike share a line."""
    outcomes: dict[str, list[str]] = {}
    for check in checks:
        profile = check.command.rpartition("--profile ")[2]
        said = last_error_line(check) if not check.ok else f"allowed as {caller_arn(check)}"
        outcomes.setdefault(said, []).append(profile)
    return "; ".join(f"{' and '.join(names)}: {said}" for said, names in outcomes.items())


_EVIDENCE = {
    scenario.WEB_IDENTITY.key: _web_identity,
    scenario.ASSUME_ROLE.key: _web_identity,
    scenario.AWS_API.key: _aws_api,
    scenario.KUBE_IDENTITY.key: _kube_identity,
    scenario.RBAC.key: _rbac,
}


def _session_of(role_arn: str, session: str = "") -> Callable[[Sequence[Check]], str | None]:
    """The answer must be a session of ``role_arn`` (the pod has no other credentials; any
    other identity means something leaked in)."""
    account, _, name = role_arn.removeprefix("arn:aws:iam::").partition(":role/")
    prefix = f"arn:aws:sts::{account}:assumed-role/{name}/{session}"

    def wrong(checks: Sequence[Check]) -> str | None:
        arn = caller_arn(checks[0])
        return None if arn.startswith(prefix) else f"expected a session `{prefix}...`, got {arn}"

    return wrong


def _wrong_cluster(checks: Sequence[Check]) -> str | None:
    names = json_object(checks[0].stdout).get("clusters", [])
    return None if scenario.TARGET_CLUSTER in names else f"list-clusters answered {names}"


def _wrong_user(checks: Sequence[Check]) -> str | None:
    info = (json_object(checks[1].stdout).get("status") or {}).get("userInfo") or {}
    if info.get("username") == scenario.KUBE_USER and scenario.KUBE_GROUP in info.get("groups", []):
        return None
    return (
        f"expected user `{scenario.KUBE_USER}` in {scenario.KUBE_GROUP} (the seed's aws-auth), "
        f"got {info}"
    )


def _wrong_namespaces(checks: Sequence[Check]) -> str | None:
    listed = checks[0].stdout.split()
    return None if "kube-system" in listed else "`kube-system` is not among the namespaces"


_WRONG: dict[str, Callable[[Sequence[Check]], str | None]] = {
    scenario.WEB_IDENTITY.key: _session_of(scenario.CI_ROLE_ARN),
    scenario.ASSUME_ROLE.key: _session_of(scenario.TARGET_ROLE_ARN, scenario.SESSION_NAME),
    scenario.AWS_API.key: _wrong_cluster,
    scenario.KUBE_IDENTITY.key: _wrong_user,
    scenario.RBAC.key: _wrong_namespaces,
}
"""What each allowed link must also show, else the verdict is an error: succeeding as the
wrong identity is not the seed's chain."""

WEB_IDENTITY_REFUSAL = re.compile(
    r"\(AccessDenied\) when calling the AssumeRoleWithWebIdentity operation: "
    + re.escape(scenario.WEB_IDENTITY_DENIED)
)
"""The only failure that counts as the expected denial of the other service account."""


def denied_link(results: Mapping[str, Check]) -> Link:
    """The other service account's link: DENIED only with STS's exact refusal of every
    command; a single success is a leak (ALLOWED), whatever the others did."""
    keys = [command.key for command in scenario.NEGATIVE_CHECKS]
    if _missing(keys, results):
        return Link(scenario.DENIED, Verdict.NOT_RUN, "the pod script did not run this check")
    checks = [results[key] for key in keys]
    verdicts = [classify(check, WEB_IDENTITY_REFUSAL) for check in checks]
    verdict = Verdict.ALLOWED if Verdict.ALLOWED in verdicts else combine(verdicts)
    return Link(scenario.DENIED, verdict, _denied(checks), tuple(checks))
