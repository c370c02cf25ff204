"""Run a command on this machine as if inside one container of a pod.

``kubetrust sandbox exec`` must run the seed's in-pod commands unmodified (``cat
/var/run/secrets/eks.amazonaws.com/serviceaccount/token``, ``cp -r aws_config/ ~/.aws/`` from
``/``, ``aws sts get-caller-identity --profile ci-env``) without a container runtime. This
package does, for one container of an already admitted (IRSA-mutated) pod, what the kubelet and
the runtime would do:

* **Volumes** (:mod:`.volumes`, :mod:`.payloads`, :mod:`.atomic_writer`). Every volume the
  container mounts is materialized in a private 0700 temp directory: configMap, secret,
  downwardAPI and projected volumes (service-account tokens included) in the kubelet's
  atomic-writer layout (a ``..<timestamp>`` directory, a ``..data`` symlink swapped by rename,
  and one ``name -> ..data/name`` symlink per top-level entry, so a reader never sees half a
  file), with Kubernetes' modes (``defaultMode`` 0644, per-item ``mode``); emptyDir as an empty
  0777 directory; hostPath as the host path itself. ``items`` (key to path), ``subPath`` and
  ``subPathExpr`` behave as in Kubernetes.
* **Environment** (:mod:`.env`, :mod:`.downward_api`, :mod:`.process`). ``envFrom`` then
  ``env`` (``value`` with ``$(VAR)`` expansion, ``valueFrom`` configMapKeyRef, secretKeyRef,
  fieldRef), ``HOSTNAME``, a private ``HOME``, and only ``PATH`` and the terminal/locale
  variables from the caller (never its AWS credentials); then the caller's ``extra_env`` (the
  sandbox endpoint, a CA bundle) on top.
* **Token refresh** (:mod:`.refresh`). A background thread rewrites the volumes holding
  projected tokens while the command runs, once 80% of the token's TTL has passed (capped at
  24 h), as the kubelet does.
* **Isolation**, i.e. how the pod's absolute paths work:

  ``namespace`` (preferred; :mod:`.isolation_namespace`, :mod:`.bootstrap`,
  :mod:`.linux_mounts`): ``unshare --mount --uts`` (as root) or ``unshare --user
  --map-root-user --mount --uts`` (otherwise) starts a small Python bootstrap in a private mount
  namespace. It bind-mounts each volume at its ``mountPath`` (read-only for API-data volumes, as
  Kubernetes does) and execs the command, so the host never sees the mounts. ``mkdir`` is not
  namespaced, so a missing mount point is never created on the host: its nearest existing
  ancestor is first *shadowed* by a tmpfs that re-binds every original entry (``/var/run`` ->
  ``/run`` gains ``secrets/`` this way), and a missing top-level directory (``/aws_config``)
  makes the bootstrap build a new root on a tmpfs (marked unbindable, holding recursive binds
  of every top-level entry of ``/``) and ``chroot`` into it. The working directory defaults to
  the container's ``workingDir`` or ``/`` (the seed's ubuntu image), and the hostname is the
  pod's. This is emulation, not a security boundary.

  ``mapping`` (fallback where namespaces are unavailable, or on request;
  :mod:`.isolation_mapping`): the same files stay in the temp directory, under
  ``<tmp>/root/<mountPath>`` (symlinks to the volumes); every pod env value naming a path at or
  under a ``mountPath`` (each ``:``-separated element) is rewritten to that location, and the
  working directory ``/`` maps to ``<tmp>/root``, so ``$AWS_WEB_IDENTITY_TOKEN_FILE``,
  ``$AWS_CONFIG_FILE``, ``$KUBECONFIG`` and relative paths from ``/`` work. Absolute paths
  written in the command line or inside files (an AWS config's ``web_identity_token_file``) are
  *not* rewritten.

  ``auto`` probes ``unshare`` once per process (:func:`namespace_support`, or the probe the
  caller passes) and falls back to ``mapping`` if it fails or if the bootstrap cannot build
  the layout (the reason is returned).

Exit status, stdin/stdout/stderr pass through; SIGINT/SIGTERM/SIGHUP/SIGQUIT reach the command
(:mod:`.signals`; a terminal's Ctrl-C reaches it directly, so it is not sent twice); the temp
directory is removed afterwards (:mod:`.plan`). Tokens and secret values are never logged.
:func:`run_in_pod` (:mod:`.runner`) ties these together; the package exports what its callers
meet (the entry point, the probe, the types of :mod:`.api` and :class:`VolumeSource`).
"""

from __future__ import annotations

from kubetrust.sandbox.pod.api import ExecResult, Isolation, NamespaceSupport, PodExecError
from kubetrust.sandbox.pod.isolation_namespace import namespace_support
from kubetrust.sandbox.pod.runner import run_in_pod
from kubetrust.sandbox.pod.volume_source import VolumeSource

__all__ = [
    "ExecResult",
    "Isolation",
    "NamespaceSupport",
    "PodExecError",
    "VolumeSource",
    "namespace_support",
    "run_in_pod",
]
