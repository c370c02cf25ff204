"""The entry point: prepare the pod's view, keep its tokens fresh, and run the command in the
isolation asked for, falling back from ``namespace`` to ``mapping`` under ``auto``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kubetrust.errors import InputError, shown
from kubetrust.sandbox.pod.api import ExecResult, Isolation, NamespaceSupport, PodExecError, Stream
from kubetrust.sandbox.pod.isolation_mapping import run_mapping
from kubetrust.sandbox.pod.isolation_namespace import namespace_support, run_namespace
from kubetrust.sandbox.pod.plan import Plan, command_argv, prepare, workspace
from kubetrust.sandbox.pod.refresh import TokenRefresher
from kubetrust.sandbox.pod.volume_source import VolumeSource

_log = logging.getLogger(__name__)


def run_in_pod(
    pod: Mapping[str, Any],
    command: Sequence[str],
    source: VolumeSource,
    *,
    container: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    isolation: Isolation = "auto",
    cwd: str | None = None,
    stdin: Stream = None,
    stdout: Stream = None,
    stderr: Stream = None,
    refresh_interval: float | None = None,
    timeout: float | None = None,
    namespace_probe: Callable[[], NamespaceSupport] = namespace_support,
) -> ExecResult:
    """Run ``command`` as if ``kubectl exec``-ed into ``container`` (default: the first) of
    ``pod`` (the Pod object as the API server returns it).

    ``cwd`` is a path in the pod (default: the container's ``workingDir``, else ``/``).
    ``refresh_interval`` overrides the token refresh period in seconds (tests); ``timeout`` kills
    the command after that many seconds. Streams are file descriptors or file objects (``None``
    inherits; ``subprocess.PIPE`` is not supported). ``namespace_probe`` says whether private
    mount namespaces work here (default: :func:`.isolation_namespace.namespace_support`, which
    asks ``unshare`` once per process; tests pass another to act as a host without them).
    Raises :class:`InputError` for a pod that cannot be materialized (a missing ConfigMap,
    Secret or key) and :class:`PodExecError` when ``isolation="namespace"`` cannot be honoured.
    """
    argv = command_argv(command)
    if isolation not in ("auto", "namespace", "mapping"):
        raise InputError(
            f"isolation must be `auto`, `namespace` or `mapping`, not {shown(isolation)}"
        )
    streams = (stdin, stdout, stderr)
    with workspace() as base:
        plan = prepare(pod, container, source, base, cwd)
        with TokenRefresher(plan.volumes, source, refresh_interval):
            return _execute(
                plan, argv, isolation, dict(extra_env or {}), streams, timeout, namespace_probe
            )


def _execute(
    plan: Plan,
    argv: list[str],
    isolation: Isolation,
    extra_env: dict[str, str],
    streams: tuple[Stream, Stream, Stream],
    timeout: float | None,
    namespace_probe: Callable[[], NamespaceSupport],
) -> ExecResult:
    reason: str | None = None
    if isolation != "mapping":
        support = namespace_probe()
        if support.available:
            outcome = run_namespace(plan, support.argv, argv, extra_env, streams, timeout)
            if isinstance(outcome, tuple):
                _log.debug("ran in a private mount namespace")
                return ExecResult(outcome[0], "namespace", None, outcome[1])
            reason = outcome
        else:
            reason = support.reason
        if isolation == "namespace":
            raise PodExecError(f"cannot run in a private mount namespace: {reason}")
        _log.info("no private mount namespace (%s); using the path mapping", reason)
    code, timed_out = run_mapping(plan, argv, extra_env, streams, timeout)
    return ExecResult(code, "mapping", reason, timed_out)
