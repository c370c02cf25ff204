"""From a parsed HTTP request to the IAM authorizations AWS would make for it.

The gate in front of moto must decide, for every request, *which* operation it is and
therefore which IAM action on which resource ARN(s) to ask :func:`kubetrust.policy.authorize`
about. This module answers that, purely, from the request's parts:

- **which operation**: for the query services (IAM, STS) the ``Action`` parameter; for the
  REST services (EKS, S3) the route, derived from botocore's own service models
  (``operation_model.http``: method, ``requestUri`` with its ``{param}``/``{Key+}`` labels
  and literal query keys, plus the required query and header members that tell
  ``PutObject`` from ``CopyObject`` or ``UploadPart``) — the same models that serialize the
  clients' requests, so paths cannot drift;
- **which authorization**: the action and resource type of the Service Authorization
  Reference (SAR) for that operation, with the ARN built from the request.

Sources for the mappings, per service, are in the docstrings of each service's
``actions.operation`` (:mod:`kubetrust.sandbox.aws.services.sts.actions`, ``iam.actions``,
``eks.actions``, ``s3.actions``); the query protocol's own reading (``Action``, lists, tags)
is :mod:`.query_protocol`, the REST routes :mod:`.routes`. Anything here that needs state
(a role's path, an access entry's UUID) comes from a lookup the caller passes in; nothing
is read from the world.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kubetrust import arn as arns
from kubetrust.sandbox.aws.operations import model, query_protocol, routes
from kubetrust.sandbox.aws.operations.model import (
    SERVICES,
    Authorization,
    EksArnLookup,
    EntityPathLookup,
    Members,
    Operation,
    Params,
    PathLookup,
    members,
    operation_names,
)
from kubetrust.sandbox.aws.operations.routes import rest_path, s3_operation_query_keys, s3_selectors
from kubetrust.sandbox.aws.services.eks import actions as eks_actions
from kubetrust.sandbox.aws.services.eks_auth import actions as eks_auth_actions
from kubetrust.sandbox.aws.services.iam import actions as iam_actions
from kubetrust.sandbox.aws.services.s3 import actions as s3_actions
from kubetrust.sandbox.aws.services.s3.actions import (
    LOCAL_S3_HOST_SUFFIXES,
    s3_foreign_header,
    s3_path_style,
    s3_virtual_bucket,
)
from kubetrust.sandbox.aws.services.sts import actions as sts_actions

__all__ = [
    "LOCAL_S3_HOST_SUFFIXES",
    "SERVICES",
    "Authorization",
    "EksArnLookup",
    "EntityPathLookup",
    "Members",
    "Operation",
    "Params",
    "PathLookup",
    "identify_operation",
    "members",
    "operation_names",
    "operation_protocol_name",
    "rest_path",
    "route_labels",
    "s3_foreign_header",
    "s3_operation_query_keys",
    "s3_path_style",
    "s3_selectors",
    "s3_virtual_bucket",
    "service_protocol",
]

# --------------------------------------------------------------------------- public API


def service_protocol(service: str) -> str:
    """The wire protocol of ``service`` as botocore's model states it (``query``,
    ``rest-json``, ``rest-xml``): the format its errors must take (:mod:`.wire`)."""
    return str(model.service_model(model.known_service(service)).protocol)


def operation_protocol_name(
    service: str,
    method: str,
    path: str,
    query: Params,
    form: Params,
    *,
    host: str = "",
    headers: Mapping[str, str] | None = None,
    raw_path: str | None = None,
) -> str | None:
    """The operation's name in its protocol: the ``Action`` of a query request, the
    botocore operation a REST route maps to; ``None`` when nothing matches.

    Needs no credentials and no state, so the gate can call it *before* authenticating
    (``AssumeRoleWithWebIdentity`` arrives unsigned and must be let through to STS).
    """
    service = model.known_service(service)
    if model.service_model(service).protocol == "query":
        return query_protocol.action(query, form)
    match = routes.match_route(service, method, path, query, headers or {}, host, raw_path)
    return None if match is None else match[0]


def route_labels(
    service: str,
    method: str,
    path: str,
    query: Params,
    *,
    headers: Mapping[str, str] | None = None,
    raw_path: str | None = None,
) -> dict[str, str]:
    """The decoded path labels of a REST request's route (``{name}`` of
    ``/clusters/{name}``), as :func:`identify_operation` matched them; empty when no route
    matches. The gate checks them against the operation's model
    (:mod:`kubetrust.sandbox.aws.params`)."""
    match = routes.match_route(
        model.known_service(service), method, path, query, headers or {}, "", raw_path
    )
    return {} if match is None else dict(match[1])


def identify_operation(
    service: str,
    method: str,
    path: str,
    query: Params,
    form: Params,
    json_body: Mapping[str, Any] | None,
    host: str,
    account: str,
    region: str,
    role_path: PathLookup = model.no_path,
    *,
    headers: Mapping[str, str] | None = None,
    raw_path: str | None = None,
    body: bytes | None = None,
    caller_arn: str | None = None,
    entity_path: EntityPathLookup = model.no_entity_path,
    eks_resource_arn: EksArnLookup = model.no_eks_arn,
) -> Operation | None:
    """The authorizations AWS makes for one request, or ``None`` for an unknown route.

    ``path`` is the percent-decoded request path; ``raw_path``, when given, is the path as
    sent (WSGI ``RAW_URI``/``REQUEST_URI``), which keeps an EKS principal ARN's encoded
    ``%2F`` apart from the route's ``/`` (``…/access-entries/{principalArn}/access-policies``
    is otherwise ambiguous for a role whose path ends in ``/access-policies/``; without it
    the more specific route wins). ``query``/``form`` are decoded parameters (``parse_qs``
    with ``keep_blank_values=True``), ``json_body`` the parsed EKS body, ``headers`` the
    request headers (any case; S3 reads ``x-amz-copy-source``, ``x-amz-acl``, …), ``body``
    the raw body (S3 ``DeleteObjects`` lists its keys there). ``host`` (with port) is read
    for S3 virtual-hosted buckets (``bucket.localhost:port``).

    ``account`` and ``region`` are where the request is served. Lookups supply state:
    ``role_path(name)`` and ``entity_path(kind, name)`` (kind ``user``, ``group``,
    ``instance-profile``) return an IAM path such as ``/team/`` or ``None`` (then ``/``);
    ``eks_resource_arn(kind, cluster, name)`` returns the ARN of an existing EKS
    sub-resource (kind ``access-entry`` with the principal ARN as name, ``nodegroup``,
    ``addon``, ``fargateprofile``, ``capability``, ``identityproviderconfig``), whose SAR
    ARN ends in a UUID only EKS knows; without it the UUID is ``*``. ``caller_arn`` is
    the signer, the target of IAM user calls that omit ``UserName``.
    """
    service = model.known_service(service)
    norm_headers = {k.lower(): v for k, v in (headers or {}).items()}
    if model.service_model(service).protocol == "query":
        name = query_protocol.action(query, form)
        path_params: dict[str, str] = {}
        params = query_protocol.parameters(query, form)
        if name is None:
            return None
    else:
        match = routes.match_route(service, method, path, query, norm_headers, host, raw_path)
        if match is None:
            return None
        name, path_params = match
        params = {k: list(v) for k, v in query.items()}
    req = model.Request(
        service=service,
        name=name,
        method=method.upper(),
        params=params,
        path_params=path_params,
        json_body=json_body,
        headers=norm_headers,
        body=body,
        account=account,
        region=region,
        partition=arns.partition_of_region(region),
        role_path=role_path,
        entity_path=entity_path,
        eks_arn=eks_resource_arn,
        caller_arn=caller_arn,
    )
    return _MAPPERS[service](req)


_MAPPERS: dict[str, Callable[[model.Request], Operation]] = {
    "sts": sts_actions.operation,
    "iam": iam_actions.operation,
    "eks": eks_actions.operation,
    "eks-auth": eks_auth_actions.operation,
    "s3": s3_actions.operation,
}
