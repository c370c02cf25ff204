"""What a request asks AWS to authorize, and what the per-service mappers share.

:class:`Operation` and :class:`Authorization` are the answer; ``Request`` bundles a request's
parts for the mappers (each service's ``actions`` module under
:mod:`kubetrust.sandbox.aws.services`); botocore's service models are loaded here once, and
the helpers below build :class:`Operation` values. The query protocol's own parameter
reading is in :mod:`.query_protocol`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import botocore.session

Params = Mapping[str, Sequence[str]]
"""Decoded query-string or form parameters: name → values (``urllib.parse.parse_qs``)."""

PathLookup = Callable[[str], "str | None"]
EntityPathLookup = Callable[[str, str], "str | None"]
EksArnLookup = Callable[[str, str, str], "str | None"]

SERVICES: frozenset[str] = frozenset({"iam", "sts", "eks", "eks-auth", "s3"})


@dataclass(frozen=True, slots=True)
class Authorization:
    """One ``(action, resource)`` pair AWS authorizes, with its request-derived keys."""

    action: str
    resource: str
    context: Mapping[str, object] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Operation:
    """What one request asks AWS to authorize.

    - ``service``/``name``: the botocore service and operation (``s3``/``HeadObject``);
    - ``action`` on every ARN in ``resources``: the main authorization (``s3:GetObject``);
    - ``extra``: further authorizations the same call needs (``CopyObject`` reads its
      source, ``CreateRole`` with tags needs ``iam:TagRole``, ``CreateCluster`` passes a
      role) — every one must be allowed;
    - ``context``: condition keys taken from the request (``eks:principalArn``,
      ``aws:RequestTag/…``, ``s3:prefix``, ``iam:PolicyARN``); the caller adds the global
      keys (``aws:PrincipalArn``, ``aws:SourceIp``, …);
    - ``account_scoped_resource``: the resources live in the account the request is made
      in (``account``), so the same-account rules apply; ``False`` when a resource names
      another account (``sts:AssumeRole`` on a role ARN elsewhere, AWS-managed policies)
      or carries no account at all (S3: the gate must look the bucket owner up);
    - ``resource_account``: the account that owns the resources when the request alone
      tells (from the ARNs, or ``account`` for ``*``), else ``None``;
    - ``permission_required``: ``False`` only for ``sts:GetCallerIdentity``, which AWS
      answers even under an explicit deny (reference B.5);
    - ``signed``: ``False`` for the STS calls AWS accepts unsigned
      (``AssumeRoleWithWebIdentity``, ``AssumeRoleWithSAML``, reference B.2);
    - ``inferred``: the mapping is the generic ``<service>:<Operation>`` guess for an
      operation this module has no SAR entry for.

    For STS assume calls, the ``sts:TagSession``/``sts:SetSourceIdentity`` checks and the
    ``sts:*`` condition keys are built by :mod:`kubetrust.policy.sts`, which also knows the
    trust side; they are not repeated here.
    """

    service: str
    name: str
    action: str
    resources: tuple[str, ...]
    account_scoped_resource: bool
    resource_account: str | None = None
    extra: tuple[Authorization, ...] = ()
    context: Mapping[str, object] = field(default_factory=dict, hash=False)
    permission_required: bool = True
    signed: bool = True
    inferred: bool = False

    @property
    def authorizations(self) -> tuple[Authorization, ...]:
        """Every ``(action, resource)`` pair to authorize: the main ones, then ``extra``."""
        main = tuple(Authorization(self.action, r, self.context) for r in self.resources)
        return main + self.extra

    def checks(self) -> tuple[tuple[str, str], ...]:
        """:attr:`authorizations` as bare ``(action, resource)`` pairs."""
        return tuple((a.action, a.resource) for a in self.authorizations)


def no_path(_name: str) -> str | None:
    """A :data:`PathLookup` that knows no role (every path is then ``/``)."""
    return None


def no_entity_path(_kind: str, _name: str) -> str | None:
    """An :data:`EntityPathLookup` that knows no user, group or instance profile."""
    return None


def no_eks_arn(_kind: str, _cluster: str, _name: str) -> str | None:
    """An :data:`EksArnLookup` that knows no EKS sub-resource (its UUID is then ``*``)."""
    return None


@dataclass(frozen=True, slots=True)
class Request:
    """A request's parts, bundled so the per-service mappers take one argument."""

    service: str
    name: str
    method: str
    params: Params
    path_params: Mapping[str, str]
    json_body: Mapping[str, Any] | None
    headers: Mapping[str, str]
    body: bytes | None
    account: str
    region: str
    partition: str
    role_path: PathLookup
    entity_path: EntityPathLookup
    eks_arn: EksArnLookup
    caller_arn: str | None

    def param(self, name: str) -> str | None:
        """First value of a query/form parameter, or of a route label."""
        if name in self.path_params:
            return self.path_params[name]
        values = self.params.get(name)
        return values[0] if values else None

    def member(self, name: str) -> Any:
        """A top-level member of the JSON body (``None`` when absent)."""
        return None if self.json_body is None else self.json_body.get(name)


# --------------------------------------------------------------------------- models


@functools.cache
def _session() -> Any:
    return botocore.session.get_session()


@functools.cache
def service_model(service: str) -> Any:
    return _session().get_service_model(service)


@dataclass(frozen=True, slots=True)
class Members:
    """The wire names of an operation's input members, by where the protocol carries them
    (botocore ``serialization.location``): what moto may be handed, and nothing else."""

    query: frozenset[str]
    headers: frozenset[str]  # lower case
    body: frozenset[str]
    optional: frozenset[str]  # members (any location) the caller may omit


@functools.cache
def members(service: str, operation: str) -> Members:
    """The input members of ``operation`` of ``service`` (empty for an unknown one)."""
    model = service_model(known_service(service))
    if operation not in model.operation_names:
        return Members(frozenset(), frozenset(), frozenset(), frozenset())
    shape = model.operation_model(operation).input_shape
    if shape is None:
        return Members(frozenset(), frozenset(), frozenset(), frozenset())
    where: dict[str, set[str]] = {"querystring": set(), "header": set(), "": set()}
    for name, member in shape.members.items():
        location = member.serialization.get("location", "")
        wire = str(member.serialization.get("name", name))
        if location in where:
            where[location].add(wire.lower() if location == "header" else wire)
    optional = frozenset(shape.members) - frozenset(shape.required_members)
    return Members(
        frozenset(where["querystring"]),
        frozenset(where["header"]),
        frozenset(where[""]),
        optional,
    )


@functools.cache
def operation_names(service: str) -> frozenset[str]:
    """Every operation of ``service`` in botocore's model."""
    return frozenset(service_model(known_service(service)).operation_names)


def known_service(service: str) -> str:
    name = service.lower()
    if name not in SERVICES:
        raise ValueError(f"service `{service}` is not one the sandbox serves: {sorted(SERVICES)}")
    return name


# --------------------------------------------------------------------------- helpers


def _resource_account(resources: Sequence[str], account: str) -> str | None:
    """The one account owning ``resources`` (``account`` for ``*``), else ``None``."""
    owners = set()
    for resource in resources:
        if resource == "*":
            owners.add(account)
            continue
        parts = resource.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or not parts[4]:
            return None
        owners.add(parts[4])
    return owners.pop() if len(owners) == 1 else None


def build_operation(
    req: Request,
    action: str,
    resources: Sequence[str],
    *,
    extra: Sequence[Authorization] = (),
    context: Mapping[str, object] | None = None,
    inferred: bool = False,
    permission_required: bool = True,
    signed: bool = True,
) -> Operation:
    """An :class:`Operation` whose account fields are derived from its ARNs."""
    owner = _resource_account(resources, req.account)
    return Operation(
        service=req.service,
        name=req.name,
        action=action,
        resources=tuple(resources),
        account_scoped_resource=owner == req.account,
        resource_account=owner,
        extra=tuple(extra),
        context=dict(context or {}),
        inferred=inferred,
        permission_required=permission_required,
        signed=signed,
    )


def tag_context(tags: Mapping[str, str]) -> dict[str, object]:
    """``aws:RequestTag/<k>`` and ``aws:TagKeys`` for tags passed in a request."""
    context: dict[str, object] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    if tags:
        context["aws:TagKeys"] = list(tags)
    return context
