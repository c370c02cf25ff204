"""Read-only probes: one harmless AWS call per action ``kubetrust verify`` can check.

An IAM permission is proven by using it. Each probe is a ``List``/``Describe``/``Get`` call
whose authorization is exactly the action (``s3:ListAllMyBuckets`` is ``ListBuckets``),
so that an ``AccessDenied`` answer means the action is denied and any other answer means it
is allowed — including "not found": AWS authorizes before it looks the resource up. Actions
without a probe here are reported as not verified, never as verified; nothing that writes
is ever called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kubetrust import arn, errors

DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedException",
        "Forbidden",
        "NotAuthorized",
    }
)
NOT_FOUND_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "NoSuchEntity",
        "NoSuchBucket",
        "NoSuchBucketPolicy",
        "NotFoundException",
    }
)


@dataclass(frozen=True, slots=True)
class Call:
    """``service.operation(**params)`` in ``region`` (``None``: the runner's)."""

    service: str
    operation: str
    params: dict[str, Any]
    region: str | None = None

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.service} {self.operation}({shown})"


class NoProbe(errors.KubetrustError):
    """The action has no read-only probe, or the probe lacks a resource to call on."""


def _resource(resource: str) -> arn.Arn | None:
    if resource in ("", "*"):
        return None
    try:
        return arn.parse(resource)
    except errors.InvalidArnError:
        return None


def _cluster(resource: str, clusters: Sequence[tuple[str, str | None]]) -> tuple[str, str | None]:
    parsed = _resource(resource)
    if parsed is not None and parsed.resource_type == "cluster":
        return parsed.resource_name, parsed.region or None
    if clusters:
        return clusters[0]
    raise NoProbe("no cluster to call it on: name one (--target-cluster, or the resource ARN)")


def _bucket(resource: str) -> str:
    parsed = _resource(resource)
    if parsed is None or parsed.service != "s3" or not parsed.resource:
        raise NoProbe("no bucket to call it on: give the bucket ARN as the resource")
    return parsed.resource.split("/", 1)[0]


def _named(resource: str, kind: str) -> str:
    parsed = _resource(resource)
    if parsed is None or parsed.resource_type != kind:
        raise NoProbe(f"no {kind} to call it on: give its ARN as the resource")
    return parsed.resource_name


Clusters = Sequence[tuple[str, str | None]]
_PROBES: dict[str, Callable[[str, Clusters], Call]] = {
    "sts:getcalleridentity": lambda r, c: Call("sts", "get_caller_identity", {}),
    "eks:listclusters": lambda r, c: Call("eks", "list_clusters", {}),
    "eks:describecluster": lambda r, c: _eks("describe_cluster", "name", r, c),
    "eks:listaccessentries": lambda r, c: _eks("list_access_entries", "clusterName", r, c),
    "eks:listnodegroups": lambda r, c: _eks("list_nodegroups", "clusterName", r, c),
    "s3:listallmybuckets": lambda r, c: Call("s3", "list_buckets", {}),
    "s3:listbucket": lambda r, c: Call("s3", "list_objects_v2", {"Bucket": _bucket(r)}),
    "s3:getbucketpolicy": lambda r, c: Call("s3", "get_bucket_policy", {"Bucket": _bucket(r)}),
    "iam:listroles": lambda r, c: Call("iam", "list_roles", {"MaxItems": 1}),
    "iam:getrole": lambda r, c: Call("iam", "get_role", {"RoleName": _named(r, "role")}),
    "iam:listopenidconnectproviders": lambda r, c: Call(
        "iam", "list_open_id_connect_providers", {}
    ),
}


def _eks(operation: str, key: str, resource: str, clusters: Clusters) -> Call:
    name, region = _cluster(resource, clusters)
    return Call("eks", operation, {key: name}, region)


def probe_for(action: str, resource: str, clusters: Clusters) -> Call:
    """The read-only call that proves ``action`` (on ``resource``); ``clusters`` are the
    plan's target clusters, for EKS actions on ``*``. Raises :class:`NoProbe`."""
    make = _PROBES.get(action.lower())
    if make is None:
        known = ", ".join(sorted(_PROBES))
        raise NoProbe(f"no read-only probe for {action} (probes exist for: {known})")
    return make(resource, clusters)


def verdict(code: str, message: str) -> bool | None:
    """Whether an error answer means allowed (``True``: authorized, the resource is
    missing), denied (``False``), or neither (``None``: another failure)."""
    if code in DENIED_CODES or "not authorized" in message.lower():
        return False
    if code in NOT_FOUND_CODES:
        return True
    return None
