"""The plan with its proof: each migrated service account before and after (pure).

``--target-role-arn auto`` keeps a target role only where the proof agrees: when the proof
of a plan with a ``targetRoleArn`` shows that a service account loses something, that
service account is planned again without one (the pod then chains itself, as under IRSA)
and the plan says why. A loss the user did not ask for is never planned by default.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from kubetrust.migrate import equivalence
from kubetrust.migrate.pod_identity_after import after_world
from kubetrust.migrate.pod_identity_plan import Plan, Request, plan
from kubetrust.model.topology import Topology


@dataclass(frozen=True, slots=True)
class Proven:
    plan: Plan
    after: Topology
    principals: tuple[equivalence.Principal, ...]
    differences: tuple[equivalence.Difference, ...]

    def lost(self, accepted: frozenset[str] = frozenset()) -> list[equivalence.Difference]:
        """The differences that lose access, except the principals ``accepted``."""
        return [d for d in self.differences if d.lost and d.principal.key not in accepted]


def principals(current: Plan) -> tuple[equivalence.Principal, ...]:
    return tuple(
        equivalence.Principal(m.key, equivalence.SERVICE_ACCOUNT, current.cluster)
        for m in current.migrations
    )


def prove(before: Topology, request: Request) -> Proven:
    """The plan of ``request`` and its proof (module doc)."""
    first = _proven(before, request)
    losing = {
        (m.namespace, m.name)
        for m, d in zip(first.plan.migrations, first.differences, strict=True)
        if m.target_role_arn and not m.association_exists and d.lost
    }
    if not losing:
        return first
    retry = dataclasses.replace(request, no_target=request.no_target | frozenset(losing))
    return _proven(before, retry)


def _proven(before: Topology, request: Request) -> Proven:
    current = plan(before, request)
    after = after_world(current)
    found = principals(current)
    differences = equivalence.compare(before, after, found)
    return Proven(current, after, found, tuple(differences))
