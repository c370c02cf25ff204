"""The state file of a sandbox, ``<state dir>/sandbox.json``: its one format and its readers.

The server writes it once it answers (:meth:`SandboxState.write`, from
:mod:`kubetrust.sandbox.runtime.server`); the process control, the CLI and the demo read it.
It lives on the client side because a client must read it without importing the server
(moto, werkzeug): the server imports this module, never the other way round.

Two ways to read, for two kinds of reader:

* :func:`read_running`, for the process control: ``None`` when no sandbox runs there, whatever
  the reason (no file, a stale file whose process died, a file being written).
* :func:`require_running` (through :func:`kubetrust.sandbox.client.handle.connect`), for
  commands that need a running sandbox: a :class:`SandboxNotRunning` or :class:`BadStateFile`
  whose message says what to do, never a ``KeyError`` from a half-read dict.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubetrust import errors

__all__ = [
    "STATE_FILE",
    "AdminKeys",
    "BadStateFile",
    "SandboxNotRunning",
    "SandboxState",
    "default_state_dir",
    "pid_alive",
    "read_running",
    "require_running",
]

STATE_FILE = "sandbox.json"


class SandboxNotRunning(errors.InputError):
    """No sandbox runs in the state directory (no state file, or its process is gone)."""


class BadStateFile(errors.InputError):
    """The state file exists but is not a sandbox's state (edited, truncated, another
    version's)."""


@dataclass(frozen=True)
class AdminKeys:
    """An account administrator's access keys; valid only in this sandbox."""

    access_key_id: str
    secret_access_key: str


@dataclass(frozen=True)
class SandboxState:
    """What a running sandbox records about itself (mode 0600: it holds the admin keys)."""

    pid: int
    endpoint: str
    """The AWS endpoint, ``http://127.0.0.1:<port>``."""
    issuer_base: str
    """``https://127.0.0.1:<port>``; each cluster's OIDC issuer is ``<base>/id/<id>``."""
    region: str
    world_file: Path | None
    ca_file: Path
    """The sandbox CA: it certifies the issuers and the clusters' API servers."""
    accounts: Mapping[str, AdminKeys]
    """Account id → its administrator."""
    pod_identity_agent: str | None = None
    """The EKS Pod Identity Agent's base URL, ``http://127.0.0.1:<port>`` (``sandbox exec``
    points a Pod Identity pod's credentials URI under it)."""
    realism: str | None = None
    """The ``--realism`` preset the sandbox was started with (``aws``, ``off``), ``None``
    when the world file decides; ``sandbox reset`` starts it again the same way."""
    imds: str | None = None
    iam_propagation_seconds: float = 0.0
    """How late IAM changes reach STS, the authorizer and EKS in this sandbox (its realism;
    0 when off): ``kubetrust verify --sandbox`` waits for propagation only when there is
    some."""
    eks_propagation_seconds: float = 0.0
    """How late access entries and Pod Identity associations reach the data plane here:
    ``kubetrust apply --sandbox`` lets new associations settle only when there is some."""
    """The nodes' instance metadata service base URL, ``http://127.0.0.1:<port>``
    (``sandbox exec`` points a pod's ``AWS_EC2_METADATA_SERVICE_ENDPOINT`` under it)."""

    def to_json(self) -> str:
        return json.dumps(
            {
                "pid": self.pid,
                "endpoint": self.endpoint,
                "issuer_base": self.issuer_base,
                "region": self.region,
                "world_file": None if self.world_file is None else str(self.world_file),
                "ca_file": str(self.ca_file),
                "accounts": {
                    account: {
                        "access_key_id": keys.access_key_id,
                        "secret_access_key": keys.secret_access_key,
                    }
                    for account, keys in self.accounts.items()
                },
                "pod_identity_agent": self.pod_identity_agent,
                "realism": self.realism,
                "imds": self.imds,
                "iam_propagation_seconds": self.iam_propagation_seconds,
                "eks_propagation_seconds": self.eks_propagation_seconds,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> SandboxState:
        """The state in ``text``; ``ValueError`` naming what is wrong when it is not one."""
        raw = errors.decode_json(text)
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        world_file = raw.get("world_file")
        return cls(
            pid=_field(raw, "pid", int),
            endpoint=_field(raw, "endpoint", str),
            issuer_base=_field(raw, "issuer_base", str),
            region=_field(raw, "region", str),
            world_file=None if world_file is None else Path(_field(raw, "world_file", str)),
            ca_file=Path(_field(raw, "ca_file", str)),
            accounts=_accounts(raw.get("accounts")),
            pod_identity_agent=_optional_text(raw, "pod_identity_agent"),
            realism=_optional_text(raw, "realism"),
            imds=_optional_text(raw, "imds"),
            iam_propagation_seconds=_seconds(raw, "iam_propagation_seconds"),
            eks_propagation_seconds=_seconds(raw, "eks_propagation_seconds"),
        )

    def write(self, state_dir: Path) -> None:
        """Write the state file atomically (a reader never sees half of it), mode 0600."""
        path = state_dir / STATE_FILE
        partial = path.with_name(f".{STATE_FILE}.{os.getpid()}")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(self.to_json())
        os.replace(partial, path)


def _field(raw: Mapping[str, Any], name: str, kind: type[Any]) -> Any:
    value = raw.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"`{name}` is missing or not a {kind.__name__}")
    return value


def _seconds(raw: Mapping[str, Any], name: str) -> float:
    """A non-negative figure; absent (a state file of an older sandbox) is 0."""
    value = raw.get(name, 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"`{name}` is not a number of seconds")
    return float(value)


def _optional_text(raw: Mapping[str, Any], name: str) -> str | None:
    return None if raw.get(name) is None else _field(raw, name, str)


def _accounts(raw: Any) -> dict[str, AdminKeys]:
    if not isinstance(raw, dict):
        raise ValueError("`accounts` is missing or not an object")
    found: dict[str, AdminKeys] = {}
    for account, keys in raw.items():
        if not isinstance(keys, dict):
            raise ValueError(f"`accounts.{account}` is not an object")
        found[str(account)] = AdminKeys(
            access_key_id=_field(keys, "access_key_id", str),
            secret_access_key=_field(keys, "secret_access_key", str),
        )
    return found


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/kubetrust/sandbox`` (default ``~/.local/state/...``)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "kubetrust" / "sandbox"


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent to reap it does not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def read_running(state_dir: Path) -> SandboxState | None:
    """The running sandbox's state, or ``None`` if none runs there (an unreadable or stale
    state file counts as none: the process control may start a sandbox over it)."""
    try:
        return require_running(state_dir)
    except errors.InputError:
        return None


def require_running(state_dir: Path) -> SandboxState:
    """The state of the sandbox running in ``state_dir``; :class:`SandboxNotRunning` or
    :class:`BadStateFile` with a message that says what to do."""
    path = state_dir / STATE_FILE
    start = "start one with `kubetrust sandbox up --detach` (or name its --state-dir)"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SandboxNotRunning(f"no sandbox is running in {state_dir}; {start}") from None
    except OSError as error:
        raise BadStateFile(f"cannot read {path}: {error.strerror}") from None
    try:
        state = SandboxState.from_json(raw.decode("utf-8"))
    except ValueError as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BadStateFile(
            f"{path} is not a sandbox's state file ({error}); remove it, then {start}"
        ) from None
    if not pid_alive(state.pid):
        raise SandboxNotRunning(
            f"no sandbox is running in {state_dir} (its process {state.pid} is gone); {start}"
        )
    return state
