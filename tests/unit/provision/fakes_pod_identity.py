"""The in-memory AWS port with EKS Pod Identity (associations, add-ons, ``role_lag``): the
one of tests/support/provision_fakes.py, which has them all."""

from __future__ import annotations

from provision_fakes import FakeAws as PodIdentityAws
from provision_fakes import FakePorts as PodIdentityPorts

__all__ = ["PodIdentityAws", "PodIdentityPorts"]
