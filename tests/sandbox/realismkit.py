"""A private sandbox of its own world file (with a ``realism:`` block), for the tests of AWS's
timing: the figures a test does not name are off, so each test waits only for what it tests."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kubetrust.sandbox.runtime.server import SandboxServer
from kubetrust.sandbox.world import load_world

NO_DELAYS: Mapping[str, Any] = {
    "iam_propagation_seconds": 0,
    "eks_cluster_creation_seconds": 0,
    "eks_update_seconds": 0,
    "eks_propagation_seconds": 0,
    "addon_creation_seconds": 0,
    "aws_page_sizes": False,
    "throttling": {},
}


def realism(**figures: Any) -> dict[str, Any]:
    """A ``realism:`` block with ``figures`` on and everything else off."""
    return {**NO_DELAYS, **figures}


@contextmanager
def private_sandbox(base: Path, world: Mapping[str, Any]) -> Iterator[SandboxServer]:
    """A running sandbox of ``world``, written to ``base/world.json`` as a user would, with its
    state under ``base/state``; stopped on exit."""
    world_file = base / "world.json"
    world_file.write_text(json.dumps(world), encoding="utf-8")
    with SandboxServer(base / "state", load_world(world_file), world_file=world_file) as server:
        yield server
