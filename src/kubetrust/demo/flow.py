"""The demo's run, step by step, with the sandbox always stopped at the end.

Order: check the tools → start the sandbox (detached, the demo's world) → ``kubetrust apply``
the seed's spec → admin kubeconfigs → deploy the seed's test pod and the other service
account's pod → the OIDC link, as the CI administrator → the seed's checks inside the test pod
→ the same identity checks inside the other pod (must be denied) → audit and explain what was
applied, offline → stop the sandbox (unless ``--keep``).

A failed setup step stops the run (later links stay "not run") and names itself; a link
whose verdict differs from the expected one does not stop the run, so that one run shows
every broken link. Ctrl-C (and SIGTERM, turned into Ctrl-C by the CLI) still stops the
sandbox: the ``finally`` of :meth:`Demo.run` ignores further Ctrl-C while it does so.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubetrust import errors
from kubetrust.demo import analysis, pod_script, scenario, verdicts
from kubetrust.demo.model import Check, Kept, Link, LinkSpec, Report, Step
from kubetrust.demo.shell import BIN, Echo, Shell, private_env

if TYPE_CHECKING:
    from kubetrust.sandbox.client.handle import Sandbox

WAIT_SECONDS = 60
_STARTING_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class Options:
    state_dir: Path | None = None
    """The sandbox's state directory (default: a fresh temporary directory)."""
    keep: bool = False
    """Leave the sandbox running, and the kubeconfigs written, for the user to explore
    (not after Ctrl-C: an interrupted demo always cleans up)."""
    isolation: str = "auto"
    """``sandbox exec``'s isolation: auto, namespace or mapping."""
    progress: Echo | None = None
    """Receives one line per step as it ends."""
    verbose: Echo | None = None
    """Receives each command and its output."""
    federation: str = scenario.FEDERATION
    """``irsa`` (the seed, web identity then AssumeRole) or ``pod-identity`` (EKS Pod
    Identity with a target role: :mod:`kubetrust.demo.flow_pod_identity`)."""
    report: Path | None = None
    """Where ``kubetrust report`` writes the access report of what was applied (none:
    no report)."""


class StepFailed(Exception):
    """A setup step could not do its job; the message says what went wrong."""


def run_demo(options: Options) -> Report:
    """Run the whole demo (module doc) for ``options.federation``; the report's ``ok`` is
    the verdict."""
    if options.federation == scenario.FEDERATION:
        return Demo(options).run()
    from kubetrust.demo import flow_pod_identity

    if options.federation == flow_pod_identity.FEDERATION:
        return flow_pod_identity.PodIdentityDemo(options).run()
    raise ValueError(f"unknown federation {options.federation!r}")


Action = Callable[[], "str | Sequence[Link]"]


class Demo:
    """The seed's demo (IRSA); :class:`kubetrust.demo.flow_pod_identity.PodIdentityDemo`
    changes the scenario's steps, files and links."""

    FEDERATION = scenario.FEDERATION
    LINKS: tuple[LinkSpec, ...] = scenario.LINKS
    EXPECTED_FINDING = scenario.EXPECTED_FINDING
    MANIFESTS = (scenario.TEST_DEPLOYMENT, scenario.OTHER_DEPLOYMENT)

    def __init__(self, options: Options) -> None:
        self.options = options
        self.work, self.state_dir = _directories(options.state_dir)
        self.shell = Shell(private_env(self.work / "home"), options.verbose)
        self.report = Report(
            state_dir=str(self.state_dir),
            federation=self.FEDERATION,
            links=[Link(spec) for spec in self.LINKS],
            expected_finding=self.EXPECTED_FINDING,
        )
        self.sandbox: Sandbox | None = None
        self.kubeconfigs: dict[str, Path] = {}
        """Cluster name → its administrator's kubeconfig (``kubetrust sandbox kubeconfig``)."""
        self.pods: dict[str, str] = {}
        self.oidc: analysis.OidcFacts | None = None
        self._start_attempted = False
        self._interrupted = False
        self._current = "setup"

    # ------------------------------------------------------------------ the run
    def run(self) -> Report:
        began = time.monotonic()
        try:
            for name, action in self._steps():
                self._step(name, action)
        except StepFailed:
            pass
        except KeyboardInterrupt:
            self._interrupted = True
            self.report.failed_step = f"interrupted during `{self._current}`"
            self._emit("  stop  interrupted; cleaning up")
        except Exception as error:  # a bug must still stop the sandbox and name the step
            self.report.failed_step = (
                f"{self._current}: internal error {type(error).__name__}: {error}"
            )
            if self.options.verbose is not None:
                self.options.verbose(traceback.format_exc())
        finally:
            with _ignoring_interrupts():
                self._finish()
            self.report.seconds = time.monotonic() - began
        return self.report

    def _steps(self) -> list[tuple[str, Action]]:
        """The run's steps in order: a name for the reader and what it does."""
        return [
            ("check the prerequisites", self._tools),
            ("start the sandbox", self._start),
            ("apply the seed's spec (kubetrust apply)", self._apply),
            ("write the clusters' admin kubeconfigs", self._kubeconfigs),
            ("deploy the test pods (kubectl apply)", self._deploy),
            ("check the OIDC link as the CI administrator", self._oidc_link),
            ("run the seed's checks in the test pod", self._positive),
            ("run the same checks as other-serviceaccount", self._negative),
            ("audit and explain what was applied (offline)", self._analyse),
        ]

    def _step(self, name: str, action: Action) -> None:
        """Run one step; a setup step returns its detail, a checking step the links it
        decided (the step is ok when each link got its expected verdict)."""
        self._current = name
        started = time.monotonic()
        try:
            outcome = action()
        except StepFailed as failure:
            self._record(Step(name, False, time.monotonic() - started, str(failure)))
            self.report.failed_step = f"{name}: {failure}"
            raise
        seconds = time.monotonic() - started
        if isinstance(outcome, str):
            self._record(Step(name, True, seconds, outcome))
            return
        for link in outcome:
            self._set_link(link)
        self._record(Step(name, all(link.ok for link in outcome), seconds, _held(outcome)))

    def _record(self, step: Step) -> None:
        self.report.steps.append(step)
        status = "ok" if step.ok else "FAIL"
        detail = f": {step.detail}" if step.detail else ""
        self._emit(f"  {status:<5} {step.name} ({step.seconds:.1f} s){detail}")

    def _emit(self, line: str) -> None:
        if self.options.progress is not None:
            self.options.progress(line)

    # ------------------------------------------------------------------ setup
    def _tools(self) -> str:
        missing = [tool for tool in ("aws", "kubectl") if not (BIN / tool).is_file()]
        if missing:
            raise StepFailed(f"{' and '.join(missing)} not in {BIN}: run `make setup`")
        process = _sandbox_process()
        if process.read_state(self.state_dir) is not None:
            raise StepFailed(
                f"a sandbox already runs in {self.state_dir}; stop it with `kubetrust sandbox "
                f"down --state-dir {shlex.quote(str(self.state_dir))}` or choose another "
                "--state-dir"
            )
        self.report.isolation = self._isolation()
        return f"aws and kubectl from {BIN}; pod isolation: {self.report.isolation}"

    def _isolation(self) -> str:
        """The mode ``sandbox exec`` will use, decided here so that the pod script fits it
        (mapping mode needs the token path adapted, see scenario.MAPPING_ADAPTATION)."""
        if self.options.isolation != "auto":
            return self.options.isolation
        from kubetrust.sandbox import pod as pod_exec

        return "namespace" if pod_exec.namespace_support().available else "mapping"

    def _start(self) -> str:
        self._start_attempted = True
        _fresh(self.work)
        started = self.shell.kubetrust(
            "sandbox",
            "up",
            "--detach",
            "--state-dir",
            str(self.state_dir),
            "--world",
            str(scenario.WORLD_FILE),
        )
        require(started)
        self.sandbox = _connect(self.state_dir, started.command)
        accounts = ", ".join(self.sandbox.accounts)
        return f"accounts {accounts}; AWS endpoint {self.sandbox.endpoint}"

    def _spec_file(self) -> Path:
        return scenario.spec_file()

    def _apply(self) -> str:
        spec = self._spec_file()
        applied = self.shell.kubetrust(
            "apply",
            "-f",
            str(spec),
            "--sandbox",
            "--state-dir",
            str(self.state_dir),
            "--backup-dir",
            str(self.work / "backups"),
            "--output",
            "json",
        )
        require(applied)
        report = json.loads(applied.stdout)
        kinds = sorted({change["kind"] for change in report.get("changes", [])})
        return f"{_relative(spec)}: {report.get('writes', 0)} writes ({', '.join(kinds)})"

    def _kubeconfigs(self) -> str:
        """Both clusters' admin kubeconfigs, written in parallel (two CLI processes)."""
        self._sandbox()
        clusters = (scenario.CI_CLUSTER, scenario.TARGET_CLUSTER)
        paths = {cluster: self.work / "kube" / f"{cluster}.yaml" for cluster in clusters}

        def write(cluster: str) -> Check:
            return self.shell.kubetrust(
                "sandbox",
                "kubeconfig",
                "--state-dir",
                str(self.state_dir),
                "--cluster",
                cluster,
                "--out",
                str(paths[cluster]),
            )

        with ThreadPoolExecutor(max_workers=len(clusters)) as pool:
            for written in pool.map(write, clusters):
                require(written)
        self.kubeconfigs.update(paths)
        return ", ".join(str(path) for path in self.kubeconfigs.values())

    def _deploy(self) -> str:
        kube = analysis.kube_env(self.kubeconfigs, scenario.CI_CLUSTER)
        kubectl = str(BIN / "kubectl")
        manifests = self.MANIFESTS
        require(
            self.shell.run(
                [kubectl, "apply", *(arg for m in manifests for arg in ("-f", str(m)))], env=kube
            )
        )
        deployments = [f"deployment/{name}" for name in scenario.DEPLOYMENTS]
        wait = ["--for=condition=Available", f"--timeout={WAIT_SECONDS}s"]
        require(
            self.shell.run(
                [kubectl, "wait", *wait, *deployments, "-n", scenario.NAMESPACE], env=kube
            )
        )
        listed = self.shell.run(
            [kubectl, "get", "pods", "-n", scenario.NAMESPACE, "-o", "json"], env=kube
        )
        require(listed)
        self.pods = _running_pods(json.loads(listed.stdout))
        return ", ".join(f"{pod} ({sa})" for pod, sa in self._pod_accounts())

    def _pod_accounts(self) -> Iterator[tuple[str, str]]:
        accounts = (scenario.SERVICE_ACCOUNT, scenario.OTHER_SERVICE_ACCOUNT)
        for deployment, account in zip(scenario.DEPLOYMENTS, accounts, strict=True):
            yield self.pods[deployment], account

    # ------------------------------------------------------------------ the links
    def _oidc_link(self) -> list[Link]:
        self.oidc = analysis.oidc_link(self.shell, self._sandbox())
        return [self.oidc.link]

    def _positive(self) -> list[Link]:
        commands = [scenario.COPY_CONFIG]
        if self.report.isolation == "mapping":
            commands.append(scenario.MAPPING_ADAPTATION)
        results = self._in_pod("test-deployment", [*commands, *scenario.POSITIVE_CHECKS])
        keys = {
            scenario.WEB_IDENTITY: ["ci-identity"],
            scenario.ASSUME_ROLE: ["target-identity"],
            scenario.AWS_API: ["list-clusters", "describe-cluster"],
            scenario.KUBE_IDENTITY: ["update-kubeconfig", "whoami"],
            scenario.RBAC: ["namespaces", "kube-system-pods"],
        }
        return [verdicts.from_pod(spec, needed, results) for spec, needed in keys.items()]

    def _negative(self) -> list[Link]:
        commands = [scenario.COPY_CONFIG]
        if self.report.isolation == "mapping":
            commands.append(scenario.MAPPING_ADAPTATION)
        results = self._in_pod("other-deployment", [*commands, *scenario.NEGATIVE_CHECKS])
        return [verdicts.denied_link(results)]

    def _in_pod(self, deployment: str, commands: Sequence[scenario.PodCommand]) -> dict[str, Check]:
        """Run ``commands`` as one script in the deployment's pod; one check per command."""
        pod = self.pods[deployment]
        plan = pod_script.script(commands)
        args = ["sandbox", "exec", "--state-dir", str(self.state_dir)]
        args += ["--cluster", scenario.CI_CLUSTER, "-n", scenario.NAMESPACE, "--pod", pod]
        args += ["--isolation", self.report.isolation, "--", "sh", "-c"]
        where = f"pod {scenario.NAMESPACE}/{pod}"
        finished = self.shell.run(
            [sys.executable, "-m", "kubetrust", *args, plan.text()], where=where, show=False
        )
        self.shell.show(
            Check(
                f"kubetrust {shlex.join(args)} '<the {len(commands)} lines below>'",
                finished.returncode,
                "",
                "" if finished.ok else verdicts.last_error_line(finished),
                finished.seconds,
                where,
            )
        )
        results = plan.split(finished)
        for check in results.values():
            self.shell.show(check, prompt="  (pod) $ ")
        if commands[0].key not in results:
            raise StepFailed(
                f"`kubetrust sandbox exec` failed: {verdicts.last_error_line(finished)}"
            )
        return results

    def _analyse(self) -> str:
        if self.oidc is None:
            raise StepFailed("the OIDC link was not checked")
        bundle = self.work / "bundle"
        failed = analysis.collect_bundle(
            self.shell, self._sandbox(), self.kubeconfigs, self.oidc, bundle
        )
        if failed:
            raise StepFailed(f"`{failed[0].command}`: {verdicts.last_error_line(failed[0])}")
        found = analysis.analyse(self.shell, bundle, report=self.options.report)
        if found.problems:
            raise StepFailed(found.problems[0])
        self.report.findings = found.findings
        self.report.graph = found.graph
        self.report.report_file = found.report
        denied = self.report.links[-1]
        self._set_link(
            Link(denied.spec, denied.verdict, denied.evidence, denied.checks, found.why_denied)
        )
        rules = [finding.rule for finding in found.findings]
        if scenario.EXPECTED_FINDING not in rules:
            raise StepFailed(f"the audit did not flag `{scenario.EXPECTED_FINDING}` ({rules})")
        return f"{len(rules)} finding(s): {', '.join(rules)}"

    def _set_link(self, link: Link) -> None:
        for index, current in enumerate(self.report.links):
            if current.spec.key == link.spec.key:
                self.report.links[index] = link

    def _sandbox(self) -> Sandbox:
        if self.sandbox is None:
            raise StepFailed("the sandbox is not running")
        return self.sandbox

    # ------------------------------------------------------------------ the end
    def _finish(self) -> None:
        """Stop the sandbox (or keep it: ``--keep``, unless interrupted), then remove the
        demo's own temporary files."""
        if self.options.keep and self.sandbox is not None and not self._interrupted:
            self.report.sandbox = "running"
            self.report.kept = Kept(
                state_dir=str(self.state_dir),
                kubeconfigs={name: str(path) for name, path in self.kubeconfigs.items()},
                accounts=tuple(self.sandbox.accounts),
                pod=self.pods.get("test-deployment", ""),
                federation=self.FEDERATION,
            )
            return
        if not self._start_attempted:
            if self.options.state_dir is None:
                shutil.rmtree(self.work, ignore_errors=True)
            return
        started = time.monotonic()
        patient = self._interrupted and self.sandbox is None
        stopped = _stop(self.state_dir, patient=patient)
        detail = "stopped" if stopped else "was not running"
        self._record(Step("stop the sandbox", True, time.monotonic() - started, detail))
        self.report.sandbox = "stopped"
        shutil.rmtree(self.work, ignore_errors=True)


# ---------------------------------------------------------------------------- helpers


def _sandbox_process() -> Any:
    """The sandbox's process control (the ``sandbox`` extra)."""
    try:
        from kubetrust.sandbox.runtime import process
    except ImportError as error:
        raise StepFailed(
            f"the demo needs the `sandbox` extra ({error.name} is missing): run `make setup`"
        ) from None
    return process


def _connect(state_dir: Path, command: str) -> Sandbox:
    """The sandbox ``command`` started, read from its state file."""
    from kubetrust.sandbox.client import handle

    try:
        return handle.connect(state_dir)
    except errors.KubetrustError as error:
        raise StepFailed(f"the sandbox is not running after `{command}`: {error}") from None


def _directories(state_dir: Path | None) -> tuple[Path, Path]:
    """The work directory (private HOME, kubeconfigs, bundle) and the state directory: a
    fresh temporary directory holding both, or a ``demo`` folder inside the given state
    directory (created only once the demo knows it may use it: see :func:`_fresh`)."""
    if state_dir is None:
        work = Path(tempfile.mkdtemp(prefix="kubetrust-demo-"))
        return work, work / "sandbox"
    state_dir = state_dir.resolve()
    return state_dir / "demo", state_dir


def _fresh(work: Path) -> None:
    """An empty work directory (0700: it holds kubeconfigs), in a 0700 state directory;
    files a kept earlier run left there are removed."""
    shutil.rmtree(work, ignore_errors=True)
    work.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    work.mkdir(mode=0o700)


def _stop(state_dir: Path, *, patient: bool) -> bool:
    """Stop the sandbox of ``state_dir``. ``patient``: Ctrl-C hit ``sandbox up --detach``,
    whose server runs in its own session and may still be starting; wait a little for its
    state file to appear, so that it is stopped rather than orphaned."""
    process = _sandbox_process()
    deadline = time.monotonic() + (_STARTING_GRACE_SECONDS if patient else 0.0)
    while True:
        if process.stop(state_dir):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


@contextlib.contextmanager
def _ignoring_interrupts() -> Iterator[None]:
    """Let the clean-up finish even if the user presses Ctrl-C again."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def require(check: Check) -> None:
    if not check.ok:
        raise StepFailed(f"`{check.command}` failed: {verdicts.last_error_line(check)}")


def _running_pods(pod_list: dict[str, Any]) -> dict[str, str]:
    """Deployment name → the name of one Running pod of it (no pod: a StepFailed)."""
    found: dict[str, str] = {}
    for deployment, app in scenario.DEPLOYMENTS.items():
        for pod in pod_list.get("items", []):
            meta, status = pod.get("metadata", {}), pod.get("status", {})
            if meta.get("labels", {}).get("app") != app or meta.get("deletionTimestamp"):
                continue
            if status.get("phase") == "Running":
                found[deployment] = str(meta["name"])
                break
        else:
            raise StepFailed(f"no Running pod of deployment `{deployment}`")
    return found


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _held(links: Sequence[Link]) -> str:
    """``2 of 2 links as expected``, naming each link that was not."""
    wrong = [f"`{link.spec.key}` {link.verdict}" for link in links if not link.ok]
    held = f"{len(links) - len(wrong)} of {len(links)} links as expected"
    return f"{held} ({', '.join(wrong)})" if wrong else held
