"""What an IaC reader yields: a world, what it deletes, where each thing was declared.

Keys name the things of a world the way findings and explanations name them, so that a
finding can be traced back to the line that declared it (SARIF locations, "fix it here"):

- an IAM role, user, policy or OIDC provider: its ARN (:func:`arn_key`);
- a cluster: its ARN; its aws-auth: ``aws-auth:<cluster ARN>``; an access entry:
  ``access-entry:<cluster ARN>:<principal ARN>``; an access policy association:
  ``access-policy:<cluster ARN>:<principal ARN>:<policy ARN>``; a Pod Identity association:
  ``association:<cluster ARN>:<namespace>/<service account>``; a service account:
  ``service-account:<cluster ARN>:<namespace>/<service account>``; an EKS add-on:
  ``addon:<cluster ARN>:<add-on name>``.

Helpers below build them; readers and renderers use only these.

A world may state things about what it does not declare: a role entry with
``"partial": true`` (no ``trust``) carries only the policies an input plans for a role
managed elsewhere (``removed_policies``/``removed_managed``: names and ARNs it detaches;
``inline_exclusive``/``managed_exclusive``: the only ones to keep); a cluster or access
entry with ``"partial": true`` carries only its parts (entries, access policies,
associations, aws-auth, service accounts). The overlay adds those to the base's thing
instead of replacing it (:mod:`kubetrust.explain.overlay`).

A cluster's ``addons`` are the add-ons the input declares on it and ``removed_addons`` the
ones it deletes; ``"addons_complete": true`` says the input *creates* the cluster, so no
add-on outside the input can be on it yet and ``addons`` is the whole list. Without that
mark an add-on the input does not declare may well be installed already (by hand, by
another workspace): the overlay then says nothing of it (:func:`kubetrust.explain.overlay`
keeps the base's add-ons, or "not checked").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "IacWorld",
    "Location",
    "SourceMap",
    "access_entry_key",
    "access_policy_key",
    "addon_key",
    "arn_key",
    "association_key",
    "aws_auth_key",
    "merge_sources",
    "service_account_key",
]


@dataclass(frozen=True, slots=True)
class Location:
    """Where a thing was declared: a file, and a Terraform resource address or a line."""

    file: str
    address: str | None = None
    """``module.eks.aws_iam_role.ci`` (Terraform) or the template's logical id (CloudFormation)."""
    line: int | None = None
    """1-based line in ``file`` (CloudFormation templates; Terraform plans have none)."""

    def describe(self) -> str:
        """``plan.json: module.eks.aws_iam_role.ci`` or ``stack.yaml:12 (CiRole)``."""
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        if self.address is None:
            return where
        return f"{where} ({self.address})" if self.line is not None else f"{where}: {self.address}"


@dataclass(frozen=True, slots=True)
class SourceMap:
    """Keys (module doc) → where they were declared; several inputs merge (later wins)."""

    locations: Mapping[str, Location] = field(default_factory=dict)
    unknowns: Mapping[str, str] = field(default_factory=dict)
    """Symbolic placeholder → what it stands for
    (``aws_eks_cluster.ci.identity[0].oidc[0].issuer``)."""

    def merged(self, other: SourceMap) -> SourceMap:
        return SourceMap({**self.locations, **other.locations}, {**self.unknowns, **other.unknowns})

    def locate(self, *texts: str) -> Location | None:
        """The declaration of the first key found in ``texts`` (a finding's location, its
        details): exact keys first, then the longest key contained in a text."""
        for text in texts:
            found = self.locations.get(text)
            if found is not None:
                return found
        for key in sorted(self.locations, key=len, reverse=True):
            if any(key in text for text in texts):
                return self.locations[key]
        return None


@dataclass(frozen=True, slots=True)
class IacWorld:
    """One IaC input read: the world it declares (the :mod:`kubetrust.explain.worlds`
    format), the keys it deletes (a plan's ``delete`` actions), and its source map."""

    world: Mapping[str, Any]
    deleted: frozenset[str] = frozenset()
    sources: SourceMap = field(default_factory=SourceMap)
    warnings: tuple[str, ...] = ()
    """What was read but not understood (a resource type kubetrust does not model, an
    expression it cannot follow), each with its location: shown, never silently dropped."""


def arn_key(arn: str) -> str:
    return arn


def aws_auth_key(cluster_arn: str) -> str:
    return f"aws-auth:{cluster_arn}"


def access_entry_key(cluster_arn: str, principal_arn: str) -> str:
    return f"access-entry:{cluster_arn}:{principal_arn}"


def access_policy_key(cluster_arn: str, principal_arn: str, policy_arn: str) -> str:
    return f"access-policy:{cluster_arn}:{principal_arn}:{policy_arn}"


def association_key(cluster_arn: str, namespace: str, service_account: str) -> str:
    return f"association:{cluster_arn}:{namespace}/{service_account}"


def addon_key(cluster_arn: str, name: str) -> str:
    return f"addon:{cluster_arn}:{name}"


def service_account_key(cluster_arn: str, namespace: str, service_account: str) -> str:
    return f"service-account:{cluster_arn}:{namespace}/{service_account}"


def merge_sources(worlds: Iterable[IacWorld]) -> SourceMap:
    """The source maps of several inputs as one (later inputs win)."""
    merged = SourceMap()
    for world in worlds:
        merged = merged.merged(world.sources)
    return merged
