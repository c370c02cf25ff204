"""The in-memory ports: tests/support/provision_fakes.py (the contract test shares them)."""

from __future__ import annotations

from provision_fakes import ISSUER, Boom, FakeAws, FakeKube, FakePorts, Recorder

__all__ = ["ISSUER", "Boom", "FakeAws", "FakeKube", "FakePorts", "Recorder"]
