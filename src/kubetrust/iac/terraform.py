"""Terraform plans (``terraform show -json PLANFILE``) as input (reference I.1).

Each plan becomes one :class:`~kubetrust.iac.model.IacWorld`: the world as it will be after
``apply`` — every resource the plan keeps, creates or updates (``after``), its deletions
(``delete`` actions, as keys), the resource address that declared each key, and a warning
for each resource of an IAM, EKS or Kubernetes type that kubetrust does not model. Values
known only after apply are followed or kept symbolic (:mod:`.terraform_refs`,
:mod:`.symbolic`). Bad input — not JSON, another format, a resource without values, a
resource whose account nothing says — is an :class:`errors.InputError` naming the file and
the resource address.

Pure: the caller's paths are read here, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from kubetrust import errors
from kubetrust.iac.model import IacWorld, SourceMap
from kubetrust.iac.symbolic import Unknowns
from kubetrust.iac.terraform_accounts import Placement
from kubetrust.iac.terraform_plan import PlanDocument
from kubetrust.iac.terraform_policy import rebuild_document
from kubetrust.iac.terraform_refs import Resolver
from kubetrust.iac.terraform_resources import DATA_HANDLED, HANDLED, WorldBuilder

__all__ = ["read_plan", "read_plans"]

_WATCHED = ("aws_iam_", "aws_eks_", "kubernetes_")


def read_plans(paths: Sequence[Path], account_map: Mapping[str, str]) -> list[IacWorld]:
    """One :class:`IacWorld` per plan file."""
    return [read_plan(Path(path), account_map) for path in paths]


def read_plan(path: Path, account_map: Mapping[str, str]) -> IacWorld:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise errors.InputError(f"{path}: cannot read: {error}") from None
    try:
        data = errors.decode_json(text)
    except ValueError as error:
        raise errors.InputError(
            f"{path}: not valid JSON ({error}): give the output of `terraform show -json "
            "PLANFILE`, not the binary plan file"
        ) from None
    return world_of(PlanDocument(str(path), data), account_map)


def world_of(plan: PlanDocument, account_map: Mapping[str, str]) -> IacWorld:
    """The world of a decoded plan (module doc)."""
    unknowns = Unknowns()
    resolver = Resolver(plan, Placement(plan, account_map), unknowns)
    resolver.policy_document = lambda resource: rebuild_document(resolver, resource)
    builder = WorldBuilder(resolver)
    ordered = sorted(plan.resources.values(), key=lambda r: _ORDER.get(r.type, 9))
    for resource in ordered:
        if resource.mode != "managed":
            data_handler = DATA_HANDLED.get(resource.type)
            if data_handler is not None:
                data_handler(builder, resource)
            continue
        handler = HANDLED.get(resource.type)
        if handler is not None:
            handler(builder, resource)
        elif resource.type.startswith(_WATCHED):
            builder.warn(resource, f"resource type `{resource.type}` is not modelled: ignored")
    warnings = tuple(dict.fromkeys([*plan.warnings, *builder.warnings, *resolver.warnings]))
    return IacWorld(
        world=builder.world(),
        deleted=frozenset(builder.deleted),
        sources=SourceMap(dict(builder.locations), unknowns.as_mapping()),
        warnings=warnings,
    )


_ORDER = {"aws_iam_role": 0, "aws_eks_cluster": 0, "aws_iam_policy": 1}
"""Roles and clusters first, so that policies and entries find what they attach to."""
