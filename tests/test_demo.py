"""``kubetrust demo``: the whole run as a user starts it, and the pieces that judge and tell.

The end-to-end test is a real subprocess with a private state directory and an empty
``HOME``: it must pass, give every link its expected verdict, leave no sandbox process behind
and write nothing into ``HOME``. The other tests pin the verdict rules (a denial must be the
one STS gives, a failure of the tooling is never a denial), the pod script's output
splitting, and the summary a newcomer reads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from demokit import make_demo, processes_naming
from reportkit import chromium, chromium_missing, edge_midpoint, offline_page, report_payload

from kubetrust.demo import pod_script, render, scenario, verdicts
from kubetrust.demo.model import Check, Finding, Kept, Link, Report, Step, Verdict

REPO = Path(__file__).resolve().parents[1]
EXPECTED = {
    "oidc": "allowed",
    "web-identity": "allowed",
    "assume-role": "allowed",
    "aws-api": "allowed",
    "kube-identity": "allowed",
    "rbac": "allowed",
    "other-serviceaccount-denied": "denied",
}
SEED_NODES = (
    "ci-namespace/ci-serviceaccount",
    "ci-namespace/other-serviceaccount",
    "ci-account-iam-role",
    "target-account-iam-role",
)
DENIED_STDERR = (
    "\nAn error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: "
    "Not authorized to perform sts:AssumeRoleWithWebIdentity\n"
)


# ---------------------------------------------------------------------------- end to end


def test_demo_end_to_end(tmp_path: Path) -> None:
    # `make demo` itself, as the README tells a newcomer (setup is a no-op by now)
    written = tmp_path / "report.html"
    done, state = make_demo(tmp_path, f"--report {written}")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["failures"] == []
    assert {link["key"]: link["verdict"] for link in report["links"]} == EXPECTED
    assert all(link["ok"] for link in report["links"])
    denied = report["links"][-1]
    assert all(scenario.WEB_IDENTITY_DENIED in c["stderr"] for c in denied["checks"])
    assert "trust-denied" in denied["why"]
    assert [f["rule"] for f in report["audit"]["findings"]] == ["aws-auth-system-masters"]
    assert report["sandbox"] == "stopped"
    assert report["steps"][-1] == {**report["steps"][-1], "name": "stop the sandbox", "ok": True}
    graph = report["graph"]
    assert graph.startswith("flowchart LR"), graph
    for edge in ('-- "web identity" -->', '-- "AssumeRole" -->', '-- "aws-auth" -->'):
        assert edge in graph, graph
    # the access report of what was applied: the chain, the denied account's fix, the finding
    assert report["reportFile"] == str(written)
    data = report_payload(written)
    titles = {node["title"]: node["id"] for node in data["nodes"]}
    for title in SEED_NODES:
        assert title in titles, sorted(titles)
    other = titles["ci-namespace/other-serviceaccount"]
    denied = [edge for edge in data["edges"] if edge["source"] == other]
    assert [edge["status"] for edge in denied] == ["denied"] and denied[0]["fix"]
    assert "aws-auth-system-masters" in [finding["rule"] for finding in data["findings"]]
    _the_report_opens_offline_with_the_denied_fix(written, denied[0])
    assert processes_naming(str(state)) == []
    assert not (state / "sandbox.json").exists()
    assert not (state / "demo").exists()
    assert list((tmp_path / "home").iterdir()) == [], "the demo wrote into HOME"


def test_refuses_a_state_dir_with_a_running_sandbox(tmp_path: Path) -> None:
    """The demo never adopts (and then stops) a sandbox it did not start."""
    from kubetrust.demo import Options, run_demo

    state = tmp_path / "state"
    up = subprocess.run(
        [sys.executable, "-m", "kubetrust", "sandbox", "up", "--detach", "--state-dir", str(state)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert up.returncode == 0, up.stderr
    try:
        report = run_demo(Options(state_dir=state))
        assert not report.ok
        assert report.failed_step is not None and "already runs" in report.failed_step
        assert report.sandbox == "not started"
        assert (state / "sandbox.json").exists()
        assert all(link.verdict is Verdict.NOT_RUN for link in report.links)
    finally:
        subprocess.run(
            [sys.executable, "-m", "kubetrust", "sandbox", "down", "--state-dir", str(state)],
            capture_output=True,
            timeout=60,
            check=False,
        )


def test_packaged_spec_is_the_example() -> None:
    """An installed kubetrust (no examples/) runs exactly the documented seed spec."""
    assert scenario.PACKAGED_SPEC.read_bytes() == (REPO / "examples" / "seed.yaml").read_bytes()


# ---------------------------------------------------------------------------- pod script


def test_pod_script_splits_each_command() -> None:
    plan = pod_script.script(scenario.NEGATIVE_CHECKS)
    marker = plan.marker
    stdout = (
        f"\n{marker} begin ci-identity\n"
        f"\n{marker} end ci-identity 255\n"
        f"\n{marker} begin target-identity\nno newline at the end"
        f"\n{marker} end target-identity 0\n"
    )
    stderr = (
        f"\n{marker} begin ci-identity\n{DENIED_STDERR}\n{marker} end ci-identity 255\n"
        f"\n{marker} begin target-identity\n\n{marker} end target-identity 0\n"
    )
    results = plan.split(Check("exec", 0, stdout, stderr, where="pod ns/p"))
    assert results["ci-identity"].returncode == 255
    assert results["ci-identity"].stderr == DENIED_STDERR.strip("\n")
    assert results["ci-identity"].where == "pod ns/p"
    assert results["target-identity"] == Check(
        "aws sts get-caller-identity --profile target-env",
        0,
        "no newline at the end",
        "",
        where="pod ns/p",
    )


def test_pod_script_ignores_lookalike_markers_and_missing_ends() -> None:
    plan = pod_script.script(scenario.NEGATIVE_CHECKS)
    forged = "@@kubetrust-demo:000000000000 end ci-identity 0"
    stdout = f"{plan.marker} begin ci-identity\n{forged}\n"
    results = plan.split(Check("exec", 137, stdout, ""))
    assert results == {}
    text = plan.text()
    assert "cd /" not in text
    assert text.count(plan.marker) == 2  # once in mark() for each stream
    assert "mark 'begin ci-identity'" in text and 'mark "end target-identity $?"' in text


# ---------------------------------------------------------------------------- verdicts


def _check(code: int, stderr: str = "", stdout: str = "") -> Check:
    return Check("aws sts get-caller-identity --profile ci-env", code, stdout, stderr)


@pytest.mark.parametrize(
    ("check", "verdict"),
    [
        (_check(0, stdout='{"Arn": "x"}'), Verdict.ALLOWED),
        (_check(255, DENIED_STDERR), Verdict.DENIED),
        (
            _check(1, 'Error from server (Forbidden): pods is forbidden: User "u" cannot'),
            Verdict.DENIED,
        ),
        (_check(1, "error: You must be logged in to the server (Unauthorized)"), Verdict.DENIED),
        (_check(255, "Could not connect to the endpoint URL"), Verdict.ERROR),
        (_check(127, "sh: 1: aws: not found"), Verdict.ERROR),
    ],
)
def test_classify(check: Check, verdict: Verdict) -> None:
    assert verdicts.classify(check) is verdict


def _negative(ci: Check, target: Check) -> Link:
    return verdicts.denied_link({"ci-identity": ci, "target-identity": target})


def test_denied_link_needs_sts_exact_refusal() -> None:
    assert _negative(_check(255, DENIED_STDERR), _check(255, DENIED_STDERR)).ok
    expired = "An error occurred (ExpiredToken) when calling the AssumeRoleWithWebIdentity"
    assert _negative(_check(255, expired), _check(255, DENIED_STDERR)).verdict is Verdict.ERROR
    leak = _negative(_check(255, DENIED_STDERR), _check(0, stdout='{"Arn": "leak"}'))
    assert leak.verdict is Verdict.ALLOWED and not leak.ok
    assert verdicts.denied_link({}).verdict is Verdict.NOT_RUN


def test_allowed_as_the_wrong_identity_is_an_error() -> None:
    """Succeeding with credentials from elsewhere is not the seed's chain."""
    other = '{"Arn": "arn:aws:iam::111111111111:user/admin"}'
    link = verdicts.from_pod(
        scenario.WEB_IDENTITY, ["ci-identity"], {"ci-identity": _check(0, stdout=other)}
    )
    assert link.verdict is Verdict.ERROR
    assert (
        "expected a session `arn:aws:sts::111111111111:assumed-role/ci-account-iam-role/"
        in link.evidence
    )
    good = (
        '{"Arn": "arn:aws:sts::111111111111:assumed-role/ci-account-iam-role/botocore-session-1"}'
    )
    ok = verdicts.from_pod(
        scenario.WEB_IDENTITY, ["ci-identity"], {"ci-identity": _check(0, stdout=good)}
    )
    assert ok.ok and ok.evidence.endswith("/botocore-session-1")


def test_positive_link_evidence() -> None:
    whoami = {"status": {"userInfo": {"username": "test-user", "groups": ["system:masters"]}}}
    results = {
        "update-kubeconfig": _check(0, stdout="Added new context"),
        "whoami": _check(0, stdout=json.dumps(whoami)),
    }
    link = verdicts.from_pod(scenario.KUBE_IDENTITY, ["update-kubeconfig", "whoami"], results)
    assert link.verdict is Verdict.ALLOWED
    assert link.evidence == "user `test-user`, groups [system:masters]"
    missing = verdicts.from_pod(scenario.RBAC, ["namespaces", "kube-system-pods"], results)
    assert missing.verdict is Verdict.NOT_RUN


# ---------------------------------------------------------------------------- the summary


def _report(*, denied: Verdict = Verdict.DENIED, kept: Kept | None = None) -> Report:
    arn = "arn:aws:sts::111111111111:assumed-role/ci-account-iam-role/s"
    links = [
        Link(spec, Verdict.ALLOWED, f"evidence of {spec.key}", (_check(0, stdout=arn),))
        for spec in scenario.LINKS[:-1]
    ]
    pod_check = Check(
        "aws sts get-caller-identity --profile ci-env",
        255,
        "",
        DENIED_STDERR,
        0,
        "pod ci-namespace/other-1",
    )
    links.append(Link(scenario.DENIED, denied, "ci-env: AccessDenied", (pod_check,), "why: trust"))
    return Report(
        state_dir="/tmp/state",
        steps=[Step("start the sandbox", True, 1.2, "accounts")],
        links=links,
        findings=[
            Finding("medium", "aws-auth-system-masters", "mapped to system:masters", "scope")
        ],
        expected_finding="aws-auth-system-masters",
        seconds=15.25,
        sandbox="running" if kept else "stopped",
        kept=kept,
    )


def test_summary_passes_and_explains_each_link() -> None:
    text = render.render_text(_report())
    assert text.endswith(
        "PASS: every link held as expected (6 allowed, 1 denied) in 15.2 s; the sandbox is "
        "stopped.\n"
    )
    for number, spec in enumerate(scenario.LINKS, 1):
        assert f"\n{number}. {spec.title}\n" in text
    assert "   DENIED (as expected)   [blog: least privilege, the point of IRSA]" in text
    assert (
        "   in pod ci-namespace/other-1:\n     $ aws sts get-caller-identity --profile ci-env"
        in text
    )
    assert "MEDIUM   aws-auth-system-masters" in text
    assert all(len(line) <= render.WIDTH for line in text.splitlines() if "$ " not in line)


def test_summary_names_the_failure() -> None:
    report = _report(denied=Verdict.ALLOWED)
    assert not report.ok
    line = render.result_line(report)
    assert line.startswith("FAIL after 15.2 s (7 allowed); the sandbox is stopped.")
    assert "failed: link 7 (ci-namespace/other-serviceaccount → ci-account-iam-role" in line
    assert "expected denied, got allowed" in line
    assert "ALLOWED (EXPECTED DENIED)" in render.render_text(report)
    failed_setup = _report()
    failed_setup.failed_step = "apply the seed's spec: `kubetrust apply` failed"
    assert not failed_setup.ok
    assert "failed: apply the seed's spec" in render.result_line(failed_setup)


def test_json_report_and_kept_instructions() -> None:
    kept = Kept(
        "/tmp/state",
        {"ci-cluster": "/tmp/state/demo/kube/ci-cluster.yaml"},
        ("111111111111",),
        "test-1",
    )
    report = _report(kept=kept)
    data = report.to_json()
    assert data["ok"] is True and data["sandbox"] == "running"
    assert [link["verdict"] for link in data["links"]] == ["allowed"] * 6 + ["denied"]
    assert data["links"][-1]["checks"][0]["where"] == "pod ci-namespace/other-1"
    assert data["kept"]["kubeconfigs"]["ci-cluster"].endswith("ci-cluster.yaml")
    text = render.render_text(report)
    assert 'eval "$(kubetrust sandbox env --account 111111111111 --state-dir /tmp/state)"' in text
    assert "export KUBECONFIG=/tmp/state/demo/kube/ci-cluster.yaml" in text
    assert "--pod test-1 -- sh -c 'cp -r aws_config/ ~/.aws/ &&" in text
    assert "kubetrust sandbox down --state-dir /tmp/state" in text


def _the_report_opens_offline_with_the_denied_fix(path: Path, denied: dict[str, Any]) -> None:
    """The issue's "done when": the report ``make demo`` leaves opens offline in a browser and
    shows the chain, the denied service account's fix and the audit finding."""
    if (reason := chromium_missing()) is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the browser: {reason}", pytrace=False)
        return  # the payload checks above still ran; tests/test_report_browser.py says why
    with chromium() as browser, offline_page(browser, path) as opened:
        page = opened.page
        page.mouse.click(*edge_midpoint(page, denied["id"]))
        assert page.locator("#kt-panel .kt-fix").inner_text() == denied["fix"]
        rules = page.locator("#kt-findings tbody").inner_text()
        assert "aws-auth-system-masters" in rules, rules
        assert opened.errors == []
    assert opened.requests == [path.resolve().as_uri()]
