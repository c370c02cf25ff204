"""Running a command "inside" a pod: real processes, both isolation modes, bounded time.

The VolumeSource is a fake here on purpose: this is the unit of the exec mechanics (volumes,
env, mounts, refresh, signals), not of the API server that normally answers it.
"""

from __future__ import annotations

import copy
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import kubetrust
from kubetrust.errors import InputError
from kubetrust.sandbox.pod.api import ExecResult, NamespaceSupport, PodExecError
from kubetrust.sandbox.pod.atomic_writer import VolumeFile, write_atomically
from kubetrust.sandbox.pod.env import expand
from kubetrust.sandbox.pod.isolation_mapping import map_value
from kubetrust.sandbox.pod.isolation_namespace import namespace_support
from kubetrust.sandbox.pod.refresh import refresh_period
from kubetrust.sandbox.pod.runner import run_in_pod

SEED_DOCUMENTS = Path(__file__).parent / "seed_documents"
IRSA_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
KUBE_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
POD_NAME = "test-deployment-5d4f8c7b9-x2k4q"
CA = "-----BEGIN CERTIFICATE-----\nFAKE\n-----END CERTIFICATE-----\n"
TIMEOUT = 30.0

SUPPORT = namespace_support()
needs_namespace = pytest.mark.skipif(
    not SUPPORT.available, reason=f"no private mount namespace here: {SUPPORT.reason}"
)
MODES = [pytest.param("namespace", marks=needs_namespace), "mapping"]


class FakeSource:
    """Answers like the API server for namespace ci-namespace; tokens count up."""

    def __init__(self) -> None:
        self.config_maps: dict[str, dict[str, str]] = {
            "awsconfig-configmap": {
                "config": (SEED_DOCUMENTS / "awsconfig-configmap.yaml").read_text()
            },
            "script-configmap": {"script.sh": "#!/bin/sh\necho script-ran\n"},
            "kube-root-ca.crt": {"ca.crt": CA},
            "app-settings": {"LOG_LEVEL": "debug", "MODE": "ci", "bad=key": "skipped"},
        }
        self.secrets: dict[str, dict[str, bytes]] = {
            "db": {"password": b"s3cr3t", "user": b"admin"},
        }
        self.token_calls: list[tuple[str | None, int]] = []
        self._counters: dict[str | None, Iterator[int]] = {}
        self._lock = threading.Lock()

    def service_account_token(self, audience: str | None, expiration_seconds: int) -> str:
        with self._lock:
            self.token_calls.append((audience, expiration_seconds))
            counter = self._counters.setdefault(audience, itertools.count(1))
            return f"token-{next(counter)}-{audience or 'default'}"

    def config_map(self, name: str) -> Mapping[str, str] | None:
        return self.config_maps.get(name)

    def secret(self, name: str) -> Mapping[str, bytes] | None:
        return self.secrets.get(name)


def seed_pod() -> dict[str, Any]:
    """The seed's test-deployment pod as the API server returns it after the IRSA webhook."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": POD_NAME,
            "namespace": "ci-namespace",
            "uid": "0b4a3f1e-7d1c-4c8e-9a47-3f7f0d2c9e11",
            "labels": {"app": "test-pod", "pod-template-hash": "5d4f8c7b9"},
        },
        "spec": {
            "serviceAccountName": "ci-serviceaccount",
            "nodeName": "sandbox-node-1",
            "containers": [
                {
                    "name": "ubuntu",
                    "image": "ubuntu",
                    "command": ["sleep", "10000"],
                    "env": [
                        {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
                        {"name": "AWS_DEFAULT_REGION", "value": "us-east-1"},
                        {"name": "AWS_REGION", "value": "us-east-1"},
                        {
                            "name": "AWS_ROLE_ARN",
                            "value": "arn:aws:iam::111111111111:role/ci-account-iam-role",
                        },
                        {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": f"{IRSA_DIR}/token"},
                    ],
                    "volumeMounts": [
                        {"name": "test-volume", "mountPath": "/aws_config"},
                        {"name": "script-volume", "mountPath": "/scripts"},
                        {"name": "kube-api-access-7xk2p", "mountPath": KUBE_DIR, "readOnly": True},
                        {"name": "aws-iam-token", "mountPath": IRSA_DIR, "readOnly": True},
                    ],
                }
            ],
            "volumes": [
                {
                    "name": "aws-iam-token",
                    "projected": {
                        "defaultMode": 420,
                        "sources": [
                            {
                                "serviceAccountToken": {
                                    "audience": "sts.amazonaws.com",
                                    "expirationSeconds": 86400,
                                    "path": "token",
                                }
                            }
                        ],
                    },
                },
                {
                    "name": "test-volume",
                    "configMap": {"name": "awsconfig-configmap", "defaultMode": 420},
                },
                {
                    "name": "script-volume",
                    "configMap": {"name": "script-configmap", "defaultMode": 420},
                },
                {
                    "name": "kube-api-access-7xk2p",
                    "projected": {
                        "defaultMode": 420,
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {
                                "configMap": {
                                    "name": "kube-root-ca.crt",
                                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                }
                            },
                            {
                                "downwardAPI": {
                                    "items": [
                                        {
                                            "path": "namespace",
                                            "fieldRef": {
                                                "apiVersion": "v1",
                                                "fieldPath": "metadata.namespace",
                                            },
                                        }
                                    ]
                                }
                            },
                        ],
                    },
                },
            ],
        },
        "status": {"phase": "Running", "podIP": "10.0.0.12", "hostIP": "127.0.0.1"},
    }


def container(pod: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = pod["spec"]["containers"][0]
    return result


@pytest.fixture(autouse=True)
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Workspaces go to a directory of this test, which must be empty again afterwards."""
    workspaces = tmp_path / "workspaces"
    workspaces.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(workspaces))
    yield workspaces
    assert list(workspaces.iterdir()) == [], "a pod workspace was left behind"


class Run:
    """One run's result and its captured output."""

    def __init__(self, result: ExecResult, out: str, err: str) -> None:
        self.result = result
        self.out = out
        self.err = err


def run(
    pod: dict[str, Any],
    script: str,
    mode: str,
    tmp_path: Path,
    source: FakeSource | None = None,
    **options: Any,
) -> Run:
    out_path, err_path = tmp_path / "out", tmp_path / "err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        result = run_in_pod(
            pod,
            ["sh", "-c", script],
            source or FakeSource(),
            isolation=mode,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            timeout=options.pop("timeout", TIMEOUT),
            **options,
        )
    return Run(result, out_path.read_text(), err_path.read_text())


# --- the IRSA token and the AWS config, in both modes ----------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_irsa_token_is_read_through_its_env_variable(mode: str, tmp_path: Path) -> None:
    source = FakeSource()
    done = run(seed_pod(), 'cat "$AWS_WEB_IDENTITY_TOKEN_FILE"', mode, tmp_path, source)
    assert done.result == ExecResult(0, mode)
    assert done.out == "token-1-sts.amazonaws.com"
    assert ("sts.amazonaws.com", 86400) in source.token_calls
    assert (None, 3607) in source.token_calls  # kube-api-access: the API server's audience


@pytest.mark.parametrize("mode", MODES)
def test_aws_config_file_is_readable_where_the_env_says(mode: str, tmp_path: Path) -> None:
    pod = seed_pod()
    container(pod)["env"].append({"name": "AWS_CONFIG_FILE", "value": "/aws_config/config"})
    done = run(pod, 'echo "$AWS_CONFIG_FILE"; cat "$AWS_CONFIG_FILE"', mode, tmp_path)
    shown_path, content = done.out.split("\n", 1)
    assert content == (SEED_DOCUMENTS / "awsconfig-configmap.yaml").read_text()
    if mode == "namespace":
        assert shown_path == "/aws_config/config"
    else:
        assert shown_path.endswith("/root/aws_config/config")
        assert shown_path.startswith(tempfile.gettempdir())


@pytest.mark.parametrize("mode", MODES)
def test_seed_script_steps_work_from_the_pod_root(mode: str, tmp_path: Path) -> None:
    """The seed's script runs ``cp -r aws_config/ ~/.aws/`` from ``/`` (ubuntu's workdir)."""
    script = "cp -r aws_config/ ~/.aws/ && cat ~/.aws/config && sh scripts/script.sh"
    done = run(seed_pod(), script, mode, tmp_path)
    assert done.result.returncode == 0, done.err
    assert "[profile target-env]" in done.out
    assert done.out.endswith("script-ran\n")


@pytest.mark.parametrize("mode", MODES)
def test_real_aws_cli_reads_the_mounted_config(mode: str, tmp_path: Path) -> None:
    venv_bin = Path(sys.executable).parent
    if not (venv_bin / "aws").exists():
        pytest.skip("the aws CLI is not installed in this venv (make setup)")
    pod = seed_pod()
    container(pod)["env"].append({"name": "AWS_CONFIG_FILE", "value": "/aws_config/config"})
    path = f"{venv_bin}{os.pathsep}{os.environ.get('PATH', os.defpath)}"
    done = run(
        pod,
        "aws configure get role_arn --profile target-env",
        mode,
        tmp_path,
        extra_env={"PATH": path},
    )
    assert done.result.returncode == 0, done.err
    assert done.out.strip() == "arn:aws:iam::TARGET_ACCOUNT_ID:role/target-account-iam-role"


# --- namespace mode: the pod's absolute paths, the host untouched -----------------------------


@needs_namespace
def test_namespace_mode_serves_the_pods_absolute_paths(tmp_path: Path) -> None:
    script = f"""
        cat {IRSA_DIR}/token; echo
        ls {KUBE_DIR}
        cat {KUBE_DIR}/namespace; echo
        cat {KUBE_DIR}/ca.crt
        hostname; pwd
        stat -L -c %a /aws_config/config {IRSA_DIR}/token
        touch /aws_config/new 2>/dev/null && echo writable || echo read-only
    """
    done = run(seed_pod(), script, "namespace", tmp_path)
    assert done.result == ExecResult(0, "namespace"), done.err
    lines = done.out.splitlines()
    assert lines[0] == "token-1-sts.amazonaws.com"
    assert lines[1:4] == ["ca.crt", "namespace", "token"]
    assert lines[4] == "ci-namespace"
    assert "\n".join(lines[5:8]) + "\n" == CA
    assert lines[8:] == [POD_NAME, "/", "644", "644", "read-only"]
    assert not os.path.lexists("/aws_config")
    assert not os.path.lexists("/scripts")
    assert not os.path.lexists(Path(os.path.realpath("/var/run")) / "secrets" / "eks.amazonaws.com")


@needs_namespace
def test_namespace_mode_keeps_the_host_visible(tmp_path: Path) -> None:
    """Shadowing /var/run and re-rooting keep every host entry reachable (PATH, /etc, /tmp)."""
    marker = tmp_path / "marker"
    marker.write_text("host file")
    run_dir = sorted(os.listdir(os.path.realpath("/var/run")))
    done = run(seed_pod(), f"cat {marker}; echo; ls -A /var/run", "namespace", tmp_path)
    lines = done.out.splitlines()
    assert lines[0] == "host file"
    assert sorted(lines[1:]) == sorted({*run_dir, "secrets"})


@needs_namespace
def test_namespace_mode_works_for_a_non_root_caller(tmp_path: Path) -> None:
    """The user-namespace path (``unshare --user --map-root-user``), as an unprivileged uid."""
    setpriv = shutil.which("setpriv")
    python = "/usr/bin/python3"
    if os.geteuid() != 0 or setpriv is None or not os.access(python, os.X_OK):
        pytest.skip("needs root (to switch to nobody), setpriv and /usr/bin/python3")
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version_info >= (3, 11))"],
        capture_output=True,
        text=True,
        check=True,
    )
    if version.stdout.strip() != "True":
        pytest.skip("/usr/bin/python3 is older than 3.11")
    src = Path(kubetrust.__file__).resolve().parents[1]  # the directory holding kubetrust/
    shared = Path(tempfile.mkdtemp(dir="/tmp", prefix="kubetrust-nobody-"))
    try:
        os.chmod(shared, 0o755)
        script = shared / "child.py"
        script.write_text(_NOBODY_SCRIPT)
        os.chmod(script, 0o644)
        done = subprocess.run(
            [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", python, str(script)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env={"PATH": os.environ.get("PATH", os.defpath), "PYTHONPATH": str(src)},
            cwd="/",
            check=False,
        )
    finally:
        shutil.rmtree(shared)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "token-1-sts.amazonaws.com",
        "[profile ci-env]",
        "namespace 0",
    ]


_NOBODY_SCRIPT = """
from kubetrust.sandbox.pod.isolation_namespace import namespace_support
from kubetrust.sandbox.pod.runner import run_in_pod

class Source:
    def service_account_token(self, audience, seconds):
        return "token-1-" + audience
    def config_map(self, name):
        return {"config": "[profile ci-env]"}
    def secret(self, name):
        return None

token = {"serviceAccountToken": {"audience": "sts.amazonaws.com", "path": "token"}}
pod = {
    "metadata": {"name": "p", "namespace": "ci-namespace"},
    "spec": {
        "containers": [{"name": "c", "volumeMounts": [
            {"name": "t", "mountPath": IRSA_DIR}, {"name": "c", "mountPath": "/aws_config"}]}],
        "volumes": [{"name": "t", "projected": {"sources": [token]}},
                    {"name": "c", "configMap": {"name": "awsconfig-configmap"}}],
    },
}
assert "--user" in namespace_support().argv, namespace_support()
script = "cat " + IRSA_DIR + "/token; echo; cat /aws_config/config; echo"
result = run_in_pod(pod, ["sh", "-c", script], Source())
print(result.isolation_used, result.returncode)
""".replace("IRSA_DIR", repr(IRSA_DIR))


# --- mapping mode: the documented rewrite ------------------------------------------------------


def test_mapping_mode_rewrites_only_env_values_under_mount_paths(tmp_path: Path) -> None:
    pod = seed_pod()
    container(pod)["env"] += [
        {"name": "KUBECONFIG", "value": "/aws_config/kubeconfig:/etc/other"},
        {"name": "ELSEWHERE", "value": "/etc/hosts"},
        {"name": "NOT_A_PATH", "value": "https://example.com/aws_config"},
        {"name": "LOOKALIKE", "value": "/aws_config_other"},
    ]
    script = 'echo "$KUBECONFIG"; echo "$ELSEWHERE"; echo "$NOT_A_PATH"; echo "$LOOKALIKE"; pwd'
    done = run(pod, script, "mapping", tmp_path)
    kubeconfig, elsewhere, url, lookalike, cwd = done.out.splitlines()
    root = cwd
    assert root.endswith("/root")
    assert kubeconfig == f"{root}/aws_config/kubeconfig:/etc/other"
    assert (elsewhere, url, lookalike) == (
        "/etc/hosts",
        "https://example.com/aws_config",
        "/aws_config_other",
    )


def test_map_value_handles_lists_and_path_boundaries() -> None:
    targets = ["/aws_config", "/var/run/secrets/eks.amazonaws.com/serviceaccount"]
    assert map_value("/aws_config", targets, "/R") == "/R/aws_config"
    assert map_value("/aws_configs/x", targets, "/R") == "/aws_configs/x"
    assert map_value(f"{IRSA_DIR}/token", targets, "/R") == f"/R{IRSA_DIR}/token"
    assert map_value("a:/aws_config/c", targets, "/R") == "a:/R/aws_config/c"


# --- environment ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_env_resolution_matches_kubernetes(
    mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIACALLERSHOULDNOTLEAK")
    pod = seed_pod()
    spec = container(pod)
    spec["envFrom"] = [
        {"configMapRef": {"name": "app-settings"}, "prefix": "APP_"},
        {"secretRef": {"name": "db"}},
        {"configMapRef": {"name": "absent", "optional": True}},
    ]
    spec["env"] += [
        {"name": "GREETING", "value": "role=$(AWS_ROLE_ARN) mode=$(APP_MODE) $(UNSET) $$(ESC)"},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
        {"name": "APPL", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {
            "name": "CA",
            "valueFrom": {"configMapKeyRef": {"name": "kube-root-ca.crt", "key": "ca.crt"}},
        },
        {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
        {
            "name": "MAYBE",
            "valueFrom": {"secretKeyRef": {"name": "db", "key": "nope", "optional": True}},
        },
        {"name": "MODE", "value": "overridden"},
    ]
    done = run(pod, "env -0", mode, tmp_path, extra_env={"AWS_ENDPOINT_URL": "https://x:1"})
    env = dict(item.split("=", 1) for item in done.out.split("\0") if item)
    assert env["GREETING"] == (
        "role=arn:aws:iam::111111111111:role/ci-account-iam-role mode=ci $(UNSET) $(ESC)"
    )
    assert (env["POD_NAME"], env["POD_NS"], env["SA"], env["APPL"], env["POD_IP"]) == (
        POD_NAME,
        "ci-namespace",
        "ci-serviceaccount",
        "test-pod",
        "10.0.0.12",
    )
    assert env["CA"] == CA
    assert (env["PASS"], env["password"], env["user"]) == ("s3cr3t", "s3cr3t", "admin")
    assert (env["APP_LOG_LEVEL"], env["APP_MODE"], env["MODE"]) == ("debug", "ci", "overridden")
    assert "MAYBE" not in env
    assert "APP_bad=key" not in env and not any(k.startswith("APP_bad") for k in env)
    assert "AWS_ACCESS_KEY_ID" not in env
    assert env["AWS_ENDPOINT_URL"] == "https://x:1"
    assert env["PATH"] == os.environ["PATH"]
    assert env["HOSTNAME"] == POD_NAME
    assert env["AWS_ROLE_ARN"] == "arn:aws:iam::111111111111:role/ci-account-iam-role"
    assert (env["AWS_REGION"], env["AWS_STS_REGIONAL_ENDPOINTS"]) == ("us-east-1", "regional")


def test_expand_follows_the_kubernetes_rules() -> None:
    defined = {"A": "1", "B": "2"}
    assert expand("$(A)-$(B)", defined) == "1-2"
    assert expand("$(C)", defined) == "$(C)"
    assert expand("$$(A)", defined) == "$(A)"
    assert expand("$$", defined) == "$"
    assert expand("$(A", defined) == "$(A"
    assert expand("cost: $5", defined) == "cost: $5"


@pytest.mark.parametrize("mode", MODES)
def test_home_is_private_and_the_workspace_is_removed(
    mode: str, tmp_path: Path, private_tmp: Path
) -> None:
    done = run(seed_pod(), 'echo "$HOME"; touch "$HOME/.written" && ls -A "$HOME"', mode, tmp_path)
    home, listing = done.out.splitlines()
    assert home != os.environ.get("HOME")
    assert home.startswith(str(private_tmp))
    assert listing == ".written"
    assert not Path(home).exists()


# --- volumes: modes, items, secrets, emptyDir, subPath, nested mounts --------------------------


@pytest.mark.parametrize("mode", MODES)
def test_volume_types_items_modes_and_subpaths(mode: str, tmp_path: Path) -> None:
    pod = seed_pod()
    pod["spec"]["volumes"] += [
        {
            "name": "db-secret",
            "secret": {
                "secretName": "db",
                "defaultMode": 0o600,
                "items": [{"key": "password", "path": "creds/pw", "mode": 0o400}],
            },
        },
        {"name": "scratch", "emptyDir": {}},
        {
            "name": "info",
            "downwardAPI": {
                "items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]
            },
        },
    ]
    container(pod)["volumeMounts"] += [
        {"name": "db-secret", "mountPath": "/etc/db"},
        {"name": "scratch", "mountPath": "/scratch"},
        {"name": "test-volume", "mountPath": "/scratch/aws/config", "subPath": "config"},
        {"name": "info", "mountPath": "/etc/podinfo"},
    ]
    # In mapping mode the pod's / is the working directory: address files relative to it.
    root = '"$PWD"' if mode == "mapping" else '""'
    script = f"""
        R={root}
        cat "$R/etc/db/creds/pw"; echo
        stat -L -c %a "$R/etc/db/creds/pw"
        echo data > "$R/scratch/file" && cat "$R/scratch/file"
        head -1 "$R/scratch/aws/config"
        cat "$R/etc/podinfo/labels"; echo
    """
    done = run(pod, script, mode, tmp_path)
    assert done.result.returncode == 0, done.err
    assert done.out.splitlines() == [
        "s3cr3t",
        "400",
        "data",
        "[profile ci-env]",
        'app="test-pod"',
        'pod-template-hash="5d4f8c7b9"',
    ]


# --- exit status, errors, signals, timeouts ---------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_exit_status_propagates(mode: str, tmp_path: Path) -> None:
    assert run(seed_pod(), "exit 7", mode, tmp_path).result.returncode == 7
    assert run(seed_pod(), "kill -TERM $$", mode, tmp_path).result.returncode == 128 + 15


@pytest.mark.parametrize("mode", MODES)
def test_a_missing_command_is_127_with_a_message(mode: str, tmp_path: Path) -> None:
    err_path = tmp_path / "err"
    with err_path.open("wb") as err:
        result = run_in_pod(
            seed_pod(), ["no-such-command-xyz"], FakeSource(), isolation=mode, stderr=err
        )
    assert result.returncode == 127
    assert "no-such-command-xyz" in err_path.read_text()


@pytest.mark.parametrize("mode", MODES)
def test_timeout_kills_the_command(mode: str, tmp_path: Path) -> None:
    started = time.monotonic()
    done = run(seed_pod(), "sleep 30", mode, tmp_path, timeout=0.5)
    assert done.result.timed_out
    assert done.result.returncode == 128 + 9
    assert time.monotonic() - started < 10


_SIGNAL_PARENT = """
import sys
sys.path.insert(0, {tests!r})
import test_pod_exec as tests
from kubetrust.sandbox.pod.runner import run_in_pod
script = 'trap "echo trapped; exit 42" INT; echo ready; while :; do sleep 0.05; done'
with open({out!r}, "wb") as out:
    result = run_in_pod(tests.seed_pod(), ["sh", "-c", script], tests.FakeSource(),
                        isolation={mode!r}, stdout=out, timeout=20)
sys.exit(result.returncode)
"""


@pytest.mark.parametrize("mode", MODES)
def test_sigint_to_the_caller_reaches_the_command(mode: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = _SIGNAL_PARENT.format(tests=str(Path(__file__).parent), out=str(out), mode=mode)
    parent = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        while "ready" not in (out.read_text() if out.exists() else ""):
            assert time.monotonic() < deadline, "the command never started"
            assert parent.poll() is None, "the caller died early"
            time.sleep(0.02)
        parent.send_signal(signal.SIGINT)
        assert parent.wait(timeout=TIMEOUT) == 42
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    assert out.read_text() == "ready\ntrapped\n"


def test_missing_configmap_is_a_clear_input_error(tmp_path: Path) -> None:
    source = FakeSource()
    del source.config_maps["awsconfig-configmap"]
    with pytest.raises(InputError) as caught:
        run(seed_pod(), "true", "mapping", tmp_path, source)
    message = str(caught.value)
    assert "configmap `awsconfig-configmap` not found" in message
    assert "volume `test-volume`" in message
    assert f"ci-namespace/{POD_NAME}" in message


def test_missing_key_and_optional_sources(tmp_path: Path) -> None:
    source = FakeSource()
    source.config_maps["kube-root-ca.crt"] = {"other": "x"}
    with pytest.raises(InputError, match=r"configmap `kube-root-ca.crt` has no key `ca.crt`"):
        run(seed_pod(), "true", "mapping", tmp_path, source)
    pod = seed_pod()
    container(pod)["env"].append(
        {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k"}}}
    )
    with pytest.raises(InputError, match=r"env `X`: configmap `nope` not found"):
        run(pod, "true", "mapping", tmp_path)
    pod = seed_pod()
    pod["spec"]["volumes"][1]["configMap"]["optional"] = True
    source = FakeSource()
    del source.config_maps["awsconfig-configmap"]
    done = run(pod, "ls -A /aws_config 2>&1 || true", "mapping", tmp_path, source)
    assert done.result.returncode == 0


def test_bad_requests_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="container `nope` is not valid"):
        run(seed_pod(), "true", "mapping", tmp_path, container="nope")
    with pytest.raises(InputError, match="non-empty list"):
        run_in_pod(seed_pod(), [], FakeSource())
    pod = seed_pod()
    pod["spec"]["volumes"].append({"name": "data", "persistentVolumeClaim": {"claimName": "c"}})
    container(pod)["volumeMounts"].append({"name": "data", "mountPath": "/data"})
    with pytest.raises(InputError, match="`persistentVolumeClaim` is not supported"):
        run(pod, "true", "mapping", tmp_path)


# --- choosing the isolation -------------------------------------------------------------------


@needs_namespace
def test_auto_uses_the_namespace_where_it_works(tmp_path: Path) -> None:
    assert run(seed_pod(), "true", "auto", tmp_path).result == ExecResult(0, "namespace")


def test_auto_falls_back_when_namespaces_are_unavailable(tmp_path: Path) -> None:
    unavailable = NamespaceSupport(False, (), "`unshare`: Operation not permitted")
    script = 'cat "$AWS_WEB_IDENTITY_TOKEN_FILE"'
    done = run(seed_pod(), script, "auto", tmp_path, namespace_probe=lambda: unavailable)
    assert done.result == ExecResult(0, "mapping", "`unshare`: Operation not permitted")
    assert done.out == "token-1-sts.amazonaws.com"
    with pytest.raises(PodExecError, match="Operation not permitted"):
        run(seed_pod(), "true", "namespace", tmp_path, namespace_probe=lambda: unavailable)


@needs_namespace
def test_a_layout_the_bootstrap_cannot_build_falls_back_before_running(tmp_path: Path) -> None:
    """A mount point under a regular host file fails in the namespace; the command must not
    have run there before ``auto`` retries it with the mapping."""
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    pod = seed_pod()
    pod["spec"]["volumes"].append({"name": "scratch", "emptyDir": {}})
    container(pod)["volumeMounts"] += [
        {"name": "test-volume", "mountPath": f"{a_file}/x"},
        # A nested file mount: the namespace attempt leaves a placeholder file for it.
        {"name": "scratch", "mountPath": "/scratch"},
        {"name": "test-volume", "mountPath": "/scratch/aws/config", "subPath": "config"},
    ]
    counter = tmp_path / "runs"
    done = run(pod, f"echo run >> {counter}; head -1 scratch/aws/config", "auto", tmp_path)
    assert done.result.isolation_used == "mapping", done.err
    assert "not a directory" in (done.result.fallback_reason or "").lower()
    assert done.out == "[profile ci-env]\n"
    assert counter.read_text() == "run\n"
    with pytest.raises(PodExecError, match="a-file"):
        run(pod, "true", "namespace", tmp_path)


# --- token refresh ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_tokens_are_refreshed_while_the_command_runs(mode: str, tmp_path: Path) -> None:
    source = FakeSource()
    script = (
        'cat "$AWS_WEB_IDENTITY_TOKEN_FILE"; echo; sleep 1.5; cat "$AWS_WEB_IDENTITY_TOKEN_FILE"'
    )
    done = run(seed_pod(), script, mode, tmp_path, source, refresh_interval=0.3)
    first, later = done.out.splitlines()
    assert first.endswith("-sts.amazonaws.com") and later.endswith("-sts.amazonaws.com")
    assert first != later
    assert source.token_calls.count(("sts.amazonaws.com", 86400)) >= 3


def test_refresh_period_is_eighty_percent_of_the_ttl_capped_daily() -> None:
    assert refresh_period([3607]) == pytest.approx(2885.6)
    assert refresh_period([86400 * 2]) == 86400


def test_atomic_rewrite_never_shows_a_partial_file(tmp_path: Path) -> None:
    volume = tmp_path / "vol"
    volume.mkdir()
    values = [bytes([65 + i]) * 200_000 for i in range(4)]
    write_atomically(volume, {"token": VolumeFile(values[0], 0o644)})
    stop = threading.Event()

    def rewrite() -> None:
        for value in itertools.islice(itertools.cycle(values), 60):
            write_atomically(volume, {"token": VolumeFile(value, 0o644)})
        stop.set()

    writer = threading.Thread(target=rewrite)
    writer.start()
    reads = 0
    while not stop.is_set():
        try:
            content = (volume / "token").read_bytes()
        except FileNotFoundError:  # the old directory went away between open and read
            continue
        assert content in values
        reads += 1
    writer.join()
    assert reads > 0
    entries = sorted(os.listdir(volume))
    assert entries[1:] == ["..data", "token"] and entries[0].startswith("..20")
    assert os.readlink(volume / "token") == "..data/token"


def test_workspace_copy_of_the_pod_is_not_mutated(tmp_path: Path) -> None:
    pod = seed_pod()
    before = copy.deepcopy(pod)
    run(pod, "true", "mapping", tmp_path)
    assert pod == before
