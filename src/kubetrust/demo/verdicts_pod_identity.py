"""The Pod Identity demo's verdicts: from finished commands to each link and its evidence.

As for the seed (:mod:`kubetrust.demo.verdicts`), a failure counts as a *denial* only when it
is the refusal AWS gives for that link; anything else is an *error*. The two role
assumptions EKS Auth makes happen out of the pod's sight, in one credential fetch, so the
pod's ``aws sts get-caller-identity`` decides both: success as a session of the target role
holds both hops; EKS's hop-1 refusal denies the first (the second is then not run); STS's
refusal naming the association role's session as its caller proves the first and denies the
second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubetrust.demo import scenario_pod_identity as pi
from kubetrust.demo import verdicts
from kubetrust.demo.model import Check, Link, LinkSpec, Verdict
from kubetrust.demo.verdicts import caller_arn, json_object, last_error_line


def _missing(keys: Sequence[str], results: Mapping[str, Check]) -> bool:
    return any(key not in results for key in keys)


def _not_run(spec: LinkSpec, why: str = "the pod script did not run this check") -> Link:
    return Link(spec, Verdict.NOT_RUN, why)


# ---------------------------------------------------------------------------- the add-on


def addon_link(described: Check) -> Link:
    """ALLOWED for an ``ACTIVE`` add-on; DENIED when the cluster has none (EKS's
    ``ResourceNotFoundException``): no agent, no credentials for any pod."""
    if not described.ok:
        missing = "(ResourceNotFoundException)" in described.stderr
        verdict = Verdict.DENIED if missing else Verdict.ERROR
        return Link(pi.AGENT, verdict, last_error_line(described), (described,))
    addon = json_object(described.stdout).get("addon") or {}
    status = addon.get("status")
    evidence = f"{addon.get('addonName')} {addon.get('addonVersion')}: {status}"
    verdict = Verdict.ALLOWED if status == "ACTIVE" else Verdict.ERROR
    return Link(pi.AGENT, verdict, evidence, (described,))


# ---------------------------------------------------------------------------- the association


def association_id(listed: Check) -> str | None:
    """The id of the one association ``list-pod-identity-associations`` found."""
    found = json_object(listed.stdout).get("associations") or []
    return str(found[0]["associationId"]) if listed.ok and len(found) == 1 else None


def association_link(host: Sequence[Check], results: Mapping[str, Check]) -> Link:
    """The association as the CI administrator reads it (``host``: list, then describe) and
    what it did to the pod (its environment; no AWS config)."""
    pod_keys = ["no-aws-config", pi.INJECTED.key]
    if _missing(pod_keys, results):
        return _not_run(pi.ASSOCIATION)
    checks = (*host, *(results[key] for key in pod_keys))
    failed = next((check for check in checks if not check.ok), None)
    if failed is not None:
        return Link(pi.ASSOCIATION, verdicts.classify(failed), last_error_line(failed), checks)
    association = json_object(host[-1].stdout).get("association") or {}
    wrong = {
        key: association.get(key)
        for key, wanted in pi.EXPECTED_ASSOCIATION.items()
        if association.get(key) != wanted
    }
    if wrong:
        return Link(pi.ASSOCIATION, Verdict.ERROR, f"unexpected association: {wrong}", checks)
    injected = results[pi.INJECTED.key].stdout.split()
    return Link(
        pi.ASSOCIATION, Verdict.ALLOWED, _association_evidence(association, injected), checks
    )


def _association_evidence(association: Mapping[str, Any], injected: Sequence[str]) -> str:
    tags = "off" if association.get("disableSessionTags") else "on"
    names = ", ".join(line.partition("=")[0] for line in injected)
    return (
        f"{association.get('associationId')}: roleArn {association.get('roleArn')}, "
        f"targetRoleArn {association.get('targetRoleArn')}, externalId "
        f"{association.get('externalId')}, session tags {tags}; the pod has {names} "
        "and no ~/.aws, AWS_CONFIG_FILE, AWS_PROFILE or keys"
    )


# ---------------------------------------------------------------------------- the two hops


def hop_links(results: Mapping[str, Check]) -> list[Link]:
    """Both role assumptions, from the pod's one identity check (module doc)."""
    if _missing(["identity"], results):
        return [_not_run(pi.ASSOCIATION_HOP), _not_run(pi.TARGET_HOP)]
    check = results["identity"]
    checks = (check,)
    said = last_error_line(check)
    arn = caller_arn(check)
    if check.ok and arn.startswith(pi.TARGET_SESSION_PREFIX):
        first = (
            f"the agent returned credentials, so EKS Auth assumed {pi.ASSOCIATION_ROLE_ARN} "
            "(the association's roleArn) first; its session is not handed to the pod"
        )
        return [
            Link(pi.ASSOCIATION_HOP, Verdict.ALLOWED, first, checks),
            Link(pi.TARGET_HOP, Verdict.ALLOWED, arn, checks),
        ]
    if check.ok:
        wrong = f"expected a session `{pi.TARGET_SESSION_PREFIX}...`, got {arn}"
        return [
            Link(pi.ASSOCIATION_HOP, Verdict.ERROR, wrong, checks),
            Link(pi.TARGET_HOP, Verdict.ERROR, wrong, checks),
        ]
    if pi.HOP1_REFUSED in check.stderr:
        return [
            Link(pi.ASSOCIATION_HOP, Verdict.DENIED, said, checks),
            _not_run(pi.TARGET_HOP, "hop 1 was refused"),
        ]
    if pi.HOP2_REFUSED in check.stderr and pi.ASSOCIATION_SESSION in check.stderr:
        first = "STS's refusal of hop 2 names the association role's session as the caller"
        return [
            Link(pi.ASSOCIATION_HOP, Verdict.ALLOWED, first, checks),
            Link(pi.TARGET_HOP, Verdict.DENIED, said, checks),
        ]
    return [
        Link(pi.ASSOCIATION_HOP, Verdict.ERROR, said, checks),
        Link(pi.TARGET_HOP, Verdict.ERROR, said, checks),
    ]


# ---------------------------------------------------------------------------- the target


def kube_identity_link(results: Mapping[str, Check]) -> Link:
    """``kubectl auth whoami`` through the kubeconfig ConfigMap: the access entry's user."""
    if _missing(["whoami"], results):
        return _not_run(pi.KUBE_IDENTITY)
    whoami = results["whoami"]
    found = verdicts.link(pi.KUBE_IDENTITY, [whoami], last_error_line(whoami))
    if found.verdict is not Verdict.ALLOWED:
        return found
    info = (json_object(whoami.stdout).get("status") or {}).get("userInfo") or {}
    arn = (info.get("extra") or {}).get("arn") or ["?"]
    if info.get("username") != pi.KUBE_USER:
        wrong = f"expected user `{pi.KUBE_USER}` (the access entry's), got {info}"
        return Link(pi.KUBE_IDENTITY, Verdict.ERROR, wrong, (whoami,))
    groups = ", ".join(info.get("groups", []))
    evidence = f"user `{info['username']}`, groups [{groups}], from {arn[0]}"
    return Link(pi.KUBE_IDENTITY, Verdict.ALLOWED, evidence, (whoami,))


# ---------------------------------------------------------------------------- the denial


def denied_link(results: Mapping[str, Check]) -> Link:
    """The other service account: DENIED only when its pod got no injection and every
    credential check failed for want of credentials; a success anywhere is a leak."""
    keys = [command.key for command in pi.NEGATIVE_CHECKS]
    if _missing(keys, results):
        return _not_run(pi.DENIED)
    checks = tuple(results[key] for key in keys)
    injected = results[pi.INJECTED.key]
    credential_checks = [results[key] for key in pi.CREDENTIAL_CHECKS]
    if any(check.ok for check in credential_checks):
        leaked = next(check for check in credential_checks if check.ok)
        return Link(pi.DENIED, Verdict.ALLOWED, f"`{leaked.command}` succeeded", checks)
    if injected.stdout.strip():
        found = ", ".join(injected.stdout.split())
        return Link(pi.DENIED, Verdict.ERROR, f"the pod was mutated: {found}", checks)
    refused = [check for check in credential_checks if pi.NO_CREDENTIALS in check.stderr]
    if len(refused) < len(credential_checks):
        odd = next(check for check in credential_checks if check not in refused)
        return Link(pi.DENIED, Verdict.ERROR, last_error_line(odd), checks)
    evidence = (
        "no AWS_CONTAINER_* variables in the pod; the aws CLI and kubectl (its exec plugin, "
        f"aws eks get-token): {pi.NO_CREDENTIALS}"
    )
    return Link(pi.DENIED, Verdict.DENIED, evidence, checks)
