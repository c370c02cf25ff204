"""Fixtures for the explain tests: the seed's world, and a builder from world to topology."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubetrust.explain import bundle, worlds
from kubetrust.model.topology import Topology

SEED_WORLD = Path(__file__).resolve().parents[2] / "cases" / "explain" / "seed_world.yaml"
CI = "111111111111"
TARGET = "222222222222"
PREFIX = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
CI_ROLE = f"arn:aws:iam::{CI}:role/ci-account-iam-role"
TARGET_ROLE = f"arn:aws:iam::{TARGET}:role/target-account-iam-role"


@pytest.fixture
def seed_world() -> dict[str, Any]:
    loaded = yaml.safe_load(SEED_WORLD.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return copy.deepcopy(loaded)


Build = Callable[..., Topology]


@pytest.fixture
def build(tmp_path: Path) -> Build:
    counter = iter(range(1000))

    def _build(world: dict[str, Any], *, encode: str = "object") -> Topology:
        root = tmp_path / f"bundle-{next(counter)}"
        worlds.write_bundle(world, root, encode=encode)
        return bundle.load_bundle([root])

    return _build
