"""How much of real AWS's timing the sandbox shows: the world file's ``realism:`` block.

Real AWS is eventually consistent and asynchronous (reference H): a role that was just
created or changed is not assumable for a few seconds, ``CreateCluster`` returns a cluster
in ``CREATING``, updates run in the background, APIs throttle and list calls page. The
sandbox is kinder by default — every change is visible at once, nothing throttles — so
that tests stay fast. Realism turns AWS's behaviour on, so that a script or an ``apply``
that works against the sandbox with realism works against AWS the first time.

Three ways to ask for it:

- ``kubetrust sandbox up --realism aws``: :data:`AWS`, the figures below;
- a ``realism:`` block in the world file, each number given or taken from :data:`AWS`::

      realism:
        iam_propagation_seconds: 2        # roles, trust, policies, OIDC providers, keys
        eks_cluster_creation_seconds: 10  # CREATING -> ACTIVE
        eks_update_seconds: 5             # an update InProgress -> Successful
        eks_propagation_seconds: 3        # access entries, pod identity associations
        addon_creation_seconds: 5         # CREATING -> ACTIVE
        aws_page_sizes: true              # list calls page as AWS pages them
        throttling:                       # per service, or per "service:Operation"
          iam: {rate: 20, burst: 40}
          "eks:DescribeCluster": {rate: 10, burst: 20}

- ``realism: aws`` or ``realism: off`` in the world file; ``--realism off`` on the command
  line turns a world file's realism off.

The default figures (:data:`AWS`) are the sandbox's choice inside what AWS documents, and
say so: AWS promises no number for IAM propagation ("changes ... must be replicated across
IAM, which can take some time"; terraform-provider-aws waits up to two minutes for it), an
EKS cluster takes minutes to create (the sandbox uses seconds: the shape, not the wait, is
what a script must survive), and the throttling rates are set low enough that a burst of
calls meets them (AWS's own per-API rates are higher and mostly undocumented).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from kubetrust.sandbox.world_org import WorldModel

__all__ = [
    "AWS",
    "OFF",
    "PRESETS",
    "Realism",
    "RealismEntry",
    "Throttle",
    "ThrottleEntry",
    "realism_of",
]


@dataclass(frozen=True, slots=True)
class Throttle:
    """A token bucket: ``rate`` requests per second sustained, ``burst`` at once."""

    rate: float
    burst: int


@dataclass(frozen=True, slots=True)
class Realism:
    """What the sandbox delays, throttles and pages (module doc). All zero: off."""

    iam_propagation_seconds: float = 0.0
    """A new or changed role, trust policy, identity policy, OIDC provider or access key is
    seen by STS, the authorizer and EKS only this long after IAM stored it."""
    eks_cluster_creation_seconds: float = 0.0
    """A created cluster stays ``CREATING`` this long, then turns ``ACTIVE``."""
    eks_update_seconds: float = 0.0
    """An ``UpdateClusterConfig``/``UpdateClusterVersion`` update stays ``InProgress`` (the
    cluster ``UPDATING``) this long."""
    eks_propagation_seconds: float = 0.0
    """An access entry or pod identity association reaches the data plane (the cluster's
    authenticator, EKS Auth, the webhook) this long after it was written."""
    addon_creation_seconds: float = 0.0
    """A created add-on stays ``CREATING`` this long, then turns ``ACTIVE``."""
    throttling: Mapping[str, Throttle] = field(default_factory=dict)
    """Keyed by service (``iam``, ``sts``, ``eks``, ``eks-auth``, ``s3``) or by
    ``service:Operation`` (which wins)."""
    aws_page_sizes: bool = False
    """List calls page as AWS pages them (the default and the largest page size of each)."""

    @property
    def on(self) -> bool:
        """Whether anything differs from the kind default."""
        return self != OFF

    def throttle_for(self, service: str, operation: str) -> Throttle | None:
        """The bucket for ``operation`` of ``service``: its own, else its service's."""
        return self.throttling.get(f"{service}:{operation}") or self.throttling.get(service)


OFF = Realism()
AWS = Realism(
    iam_propagation_seconds=5.0,
    eks_cluster_creation_seconds=10.0,
    eks_update_seconds=5.0,
    eks_propagation_seconds=3.0,
    addon_creation_seconds=5.0,
    throttling={
        "iam": Throttle(rate=20.0, burst=40),
        "sts": Throttle(rate=50.0, burst=100),
        "eks": Throttle(rate=10.0, burst=30),
        "eks-auth": Throttle(rate=50.0, burst=100),
    },
    aws_page_sizes=True,
)
PRESETS: Mapping[str, Realism] = {"aws": AWS, "off": OFF}
"""The names ``--realism`` and ``realism: <name>`` take."""

Seconds = Annotated[float, Field(ge=0, le=3600)]
_SERVICES = ("iam", "sts", "eks", "eks-auth", "s3")


def _throttle_key(key: str) -> str:
    service, _, operation = key.partition(":")
    if service not in _SERVICES or (":" in key and not operation.isalnum()):
        raise ValueError(
            f"`{key}` is not a service ({', '.join(_SERVICES)}) or `service:Operation`"
        )
    return key


ThrottleKey = Annotated[str, AfterValidator(_throttle_key)]


class ThrottleEntry(WorldModel):
    """One bucket (:class:`Throttle`)."""

    rate: Annotated[float, Field(gt=0, le=100000)]
    burst: Annotated[int, Field(ge=1, le=100000)]


class RealismEntry(WorldModel):
    """The ``realism:`` block as a mapping (module doc); an absent number is :data:`AWS`'s."""

    iam_propagation_seconds: Seconds = AWS.iam_propagation_seconds
    eks_cluster_creation_seconds: Seconds = AWS.eks_cluster_creation_seconds
    eks_update_seconds: Seconds = AWS.eks_update_seconds
    eks_propagation_seconds: Seconds = AWS.eks_propagation_seconds
    addon_creation_seconds: Seconds = AWS.addon_creation_seconds
    aws_page_sizes: bool = AWS.aws_page_sizes
    throttling: dict[ThrottleKey, ThrottleEntry] | None = None


_OFF_ENTRY = {
    "iam_propagation_seconds": 0,
    "eks_cluster_creation_seconds": 0,
    "eks_update_seconds": 0,
    "eks_propagation_seconds": 0,
    "addon_creation_seconds": 0,
    "aws_page_sizes": False,
    "throttling": {},
}


def _preset(value: object) -> object:
    """``aws`` is the block with every figure AWS's, ``off`` the block with none."""
    if isinstance(value, str):
        if value == "aws":
            return {}
        if value == "off":
            return dict(_OFF_ENTRY)
        raise ValueError(f"must be `aws`, `off` or a mapping of figures, not `{value}`")
    return value


RealismField = Annotated[RealismEntry, BeforeValidator(_preset)]


def realism_of(entry: RealismEntry | None) -> Realism:
    """The :class:`Realism` a world file's ``realism:`` value asks for (``None``: off)."""
    if entry is None:
        return OFF
    throttling = (
        AWS.throttling
        if entry.throttling is None
        else {key: Throttle(t.rate, t.burst) for key, t in entry.throttling.items()}
    )
    return replace(
        AWS,
        iam_propagation_seconds=entry.iam_propagation_seconds,
        eks_cluster_creation_seconds=entry.eks_cluster_creation_seconds,
        eks_update_seconds=entry.eks_update_seconds,
        eks_propagation_seconds=entry.eks_propagation_seconds,
        addon_creation_seconds=entry.addon_creation_seconds,
        aws_page_sizes=entry.aws_page_sizes,
        throttling=throttling,
    )
