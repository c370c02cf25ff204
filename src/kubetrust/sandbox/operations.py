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

Sources for the mappings, per service, are in the docstrings of the ``_sts``, ``_iam``,
``_eks`` and ``_s3`` functions. Anything here that needs state (a role's path, an access
entry's UUID) comes from a lookup the caller passes in; nothing is read from the world.
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

import botocore.session

from kubetrust import arn as arns

Params = Mapping[str, Sequence[str]]
"""Decoded query-string or form parameters: name → values (``urllib.parse.parse_qs``)."""

PathLookup = Callable[[str], "str | None"]
EntityPathLookup = Callable[[str, str], "str | None"]
EksArnLookup = Callable[[str, str, str], "str | None"]

SERVICES: frozenset[str] = frozenset({"iam", "sts", "eks", "s3"})


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


def _no_path(_name: str) -> str | None:
    return None


def _no_entity_path(_kind: str, _name: str) -> str | None:
    return None


def _no_eks_arn(_kind: str, _cluster: str, _name: str) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class _Request:
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


# --------------------------------------------------------------------------- public API


def service_protocol(service: str) -> str:
    """The wire protocol of ``service`` as botocore's model states it (``query``,
    ``rest-json``, ``rest-xml``): the format its errors must take (:mod:`.wire`)."""
    return str(_model(_known(service)).protocol)


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
    service = _known(service)
    if _model(service).protocol == "query":
        return _query_action(query, form)
    match = _route(service, method, path, query, headers or {}, host, raw_path)
    return None if match is None else match[0]


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
    role_path: PathLookup = _no_path,
    *,
    headers: Mapping[str, str] | None = None,
    raw_path: str | None = None,
    body: bytes | None = None,
    caller_arn: str | None = None,
    entity_path: EntityPathLookup = _no_entity_path,
    eks_resource_arn: EksArnLookup = _no_eks_arn,
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
    service = _known(service)
    norm_headers = {k.lower(): v for k, v in (headers or {}).items()}
    if _model(service).protocol == "query":
        name = _query_action(query, form)
        path_params: dict[str, str] = {}
        params: dict[str, list[str]] = {k: list(v) for k, v in query.items()}
        params.update({k: list(v) for k, v in form.items()})
        if name is None:
            return None
    else:
        match = _route(service, method, path, query, norm_headers, host, raw_path)
        if match is None:
            return None
        name, path_params = match
        params = {k: list(v) for k, v in query.items()}
    req = _Request(
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


# --------------------------------------------------------------------------- models


@functools.cache
def _session() -> Any:
    return botocore.session.get_session()


@functools.cache
def _model(service: str) -> Any:
    return _session().get_service_model(service)


def _known(service: str) -> str:
    name = service.lower()
    if name not in SERVICES:
        raise ValueError(f"service `{service}` is not one the sandbox serves: {sorted(SERVICES)}")
    return name


_ACTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*\Z")


def _query_action(query: Params, form: Params) -> str | None:
    """The ``Action`` of a query-protocol request (body first, as botocore sends it)."""
    for params in (form, query):
        values = params.get("Action")
        if values:
            return values[0] if _ACTION_NAME.match(values[0]) else None
    return None


# --------------------------------------------------------------------------- REST routes


@dataclass(frozen=True, slots=True)
class _Route:
    """One REST operation's route, from its botocore ``http`` trait and input shape."""

    name: str
    method: str
    decoded: re.Pattern[str]
    raw: re.Pattern[str]
    literal_segments: int
    query_literals: tuple[tuple[str, str | None], ...]
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]


_SKIPPED_ROUTES: dict[str, frozenset[str]] = {
    # S3 Express (directory buckets) and Object Lambda use their own hosts; routing them on
    # a general endpoint would shadow ListBuckets (`GET /`) and a bucket named after them.
    "s3": frozenset({"ListDirectoryBuckets", "CreateSession", "WriteGetObjectResponse"}),
}

_LABEL = re.compile(r"\{([A-Za-z0-9_]+)(\+?)\}")


@functools.cache
def _routes(service: str) -> tuple[_Route, ...]:
    model = _model(service)
    skipped = _SKIPPED_ROUTES.get(service, frozenset())
    routes = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        if name in skipped or operation.deprecated:
            continue
        uri = str(operation.http["requestUri"])
        path, _, query = uri.partition("?")
        segments = [s for s in path.split("/") if s]
        literals = tuple(_query_literal(item) for item in query.split("&") if item)
        required_query, required_headers = _required_members(operation)
        routes.append(
            _Route(
                name=name,
                method=str(operation.http["method"]).upper(),
                decoded=_path_pattern(segments, raw=False),
                raw=_path_pattern(segments, raw=True),
                literal_segments=sum(1 for s in segments if not _LABEL.fullmatch(s)),
                query_literals=literals,
                required_query=required_query,
                required_headers=required_headers,
            )
        )
    return tuple(routes)


def _query_literal(item: str) -> tuple[str, str | None]:
    key, sep, value = item.partition("=")
    return key, (value if sep else None)


def _required_members(operation: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Wire names of the required query-string and header members of the input."""
    shape = operation.input_shape
    if shape is None:
        return (), ()
    query: list[str] = []
    headers: list[str] = []
    for member in shape.required_members:
        serialization = shape.members[member].serialization
        location = serialization.get("location")
        wire = str(serialization.get("name", member))
        if location == "querystring":
            query.append(wire)
        elif location == "header":
            headers.append(wire.lower())
    return tuple(query), tuple(headers)


def _path_pattern(segments: list[str], *, raw: bool) -> re.Pattern[str]:
    """A regex for a ``requestUri`` path; labels become named groups.

    On a decoded path a non-greedy label that holds an ARN (``principalArn``,
    ``resourceArn``) may span ``/``: it matches ``arn:…`` lazily, so the longest literal
    tail wins. On a raw path every label is one segment (its ``/`` arrive as ``%2F``).
    """
    parts = []
    for segment in segments:
        label = _LABEL.fullmatch(segment)
        if label is None:
            parts.append(re.escape(segment))
        elif label.group(2):
            parts.append(f"(?P<{label.group(1)}>.+)")
        elif not raw and label.group(1).lower().endswith("arn"):
            parts.append(f"(?P<{label.group(1)}>arn:.+?)")
        else:
            parts.append(f"(?P<{label.group(1)}>[^/]+)")
    return re.compile("/" + "/".join(parts) + ("/?" if parts else "") + r"\Z")


def _route(
    service: str,
    method: str,
    path: str,
    query: Params,
    headers: Mapping[str, str],
    host: str,
    raw_path: str | None,
) -> tuple[str, dict[str, str]] | None:
    """The best route for a request: ``(operation name, decoded labels)``.

    A candidate must match method, path and the route's literal query keys. Among those,
    one whose required query/header members are all present beats one missing some (so a
    ``PUT`` with ``x-amz-copy-source`` is ``CopyObject``, without it ``PutObject``); then
    more literal path segments, literal query keys and satisfied requirements win. S3's
    ``x-id`` query parameter, when present, names the operation outright.
    """
    lower_headers = {k.lower(): v for k, v in headers.items()}
    if service == "s3":
        path, raw_path = _s3_path_style(host, path, raw_path)
    best: tuple[tuple[int, int, int, int], str, dict[str, str]] | None = None
    for route in _routes(service):
        if route.method != method.upper():
            continue
        labels = _match_path(route, path, raw_path)
        if labels is None or not _has_literals(route, query):
            continue
        wanted = [q for q in route.required_query] + [h for h in route.required_headers]
        present = [q for q in route.required_query if query.get(q)]
        present += [h for h in route.required_headers if h in lower_headers]
        score = (
            int(len(present) == len(wanted)),
            route.literal_segments,
            len(route.query_literals),
            len(present),
        )
        if best is None or score > best[0]:
            best = (score, route.name, labels)
    if best is None:
        return None
    explicit = query.get("x-id")
    if service == "s3" and explicit and explicit[0] != best[1]:
        named = _named_route(service, explicit[0], method, path, raw_path)
        if named is not None:
            return named
    return best[1], best[2]


def _named_route(
    service: str, name: str, method: str, path: str, raw_path: str | None
) -> tuple[str, dict[str, str]] | None:
    for route in _routes(service):
        if route.name == name and route.method == method.upper():
            labels = _match_path(route, path, raw_path)
            if labels is not None:
                return name, labels
    return None


def _match_path(route: _Route, path: str, raw_path: str | None) -> dict[str, str] | None:
    if raw_path is not None:
        found = route.raw.match(raw_path)
        if found is None:
            return None
        return {k: urllib.parse.unquote(v) for k, v in found.groupdict().items()}
    found = route.decoded.match(path)
    return None if found is None else dict(found.groupdict())


def _has_literals(route: _Route, query: Params) -> bool:
    for key, value in route.query_literals:
        values = query.get(key)
        if values is None or (value is not None and value not in values):
            return False
    return True


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


def _operation(
    req: _Request,
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


def _tag_context(tags: Mapping[str, str]) -> dict[str, object]:
    """``aws:RequestTag/<k>`` and ``aws:TagKeys`` for tags passed in a request."""
    context: dict[str, object] = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    if tags:
        context["aws:TagKeys"] = list(tags)
    return context


def _member_list(params: Params, prefix: str) -> list[str]:
    """Query-protocol list ``Prefix.member.N`` in ``N`` order."""
    found: dict[int, str] = {}
    pattern = re.compile(re.escape(prefix) + r"\.member\.(\d+)\Z")
    for key, values in params.items():
        m = pattern.match(key)
        if m and values:
            found[int(m.group(1))] = values[0]
    return [found[i] for i in sorted(found)]


def _query_tags(params: Params) -> dict[str, str]:
    """Query-protocol ``Tags.member.N.Key``/``.Value`` pairs."""
    keys: dict[int, str] = {}
    values: dict[int, str] = {}
    pattern = re.compile(r"Tags\.member\.(\d+)\.(Key|Value)\Z")
    for name, items in params.items():
        m = pattern.match(name)
        if m and items:
            (keys if m.group(2) == "Key" else values)[int(m.group(1))] = items[0]
    return {keys[i]: values.get(i, "") for i in sorted(keys)}


def _norm_path(path: str | None) -> str:
    """An IAM path as stored: ``/`` or ``/a/b/``."""
    if not path or path == "/":
        return "/"
    return "/" + path.strip("/") + "/"


# --------------------------------------------------------------------------- STS


def _sts(req: _Request) -> Operation:
    """STS (SAR "AWS Security Token Service"; botocore ``sts`` model).

    - ``AssumeRole``/``AssumeRoleWithWebIdentity``/``AssumeRoleWithSAML``: resource type
      ``role``, the ``RoleArn`` parameter; the last two are unsigned;
    - ``AssumeRoot``: ``arn:aws:iam::<TargetPrincipal>:root`` (resource ``root-user``);
    - ``GetFederationToken``: ``arn:aws:sts::<account>:federated-user/<Name>``;
    - ``GetCallerIdentity``, ``GetSessionToken``, ``DecodeAuthorizationMessage``,
      ``GetAccessKeyInfo``, ``GetWebIdentityToken``, ``GetDelegatedAccessToken``: no
      resource type, so ``*``; ``GetCallerIdentity`` needs no permission at all.
    """
    name = req.name
    action = f"sts:{name}"
    if name in ("AssumeRole", "AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"):
        role = req.param("RoleArn") or "*"
        return _operation(req, action, [role], signed=name == "AssumeRole")
    if name == "AssumeRoot":
        target = req.param("TargetPrincipal") or req.account
        target = target.split(":")[4] if target.startswith("arn:") else target
        return _operation(req, action, [f"arn:{req.partition}:iam::{target}:root"])
    if name == "GetFederationToken":
        user = req.param("Name") or "*"
        arn = f"arn:{req.partition}:sts::{req.account}:federated-user/{user}"
        return _operation(req, action, [arn])
    if name == "GetCallerIdentity":
        return _operation(req, action, ["*"], permission_required=False)
    known = name in _model("sts").operation_names
    return _operation(req, action, ["*"], inferred=not known)


# --------------------------------------------------------------------------- IAM

_IAM_ROLE_OPS = frozenset(
    {
        "GetRole",
        "DeleteRole",
        "UpdateRole",
        "UpdateRoleDescription",
        "UpdateAssumeRolePolicy",
        "TagRole",
        "UntagRole",
        "ListRoleTags",
        "PutRolePolicy",
        "GetRolePolicy",
        "DeleteRolePolicy",
        "ListRolePolicies",
        "AttachRolePolicy",
        "DetachRolePolicy",
        "ListAttachedRolePolicies",
        "PutRolePermissionsBoundary",
        "DeleteRolePermissionsBoundary",
        "ListInstanceProfilesForRole",
        "DeleteServiceLinkedRole",
    }
)
_IAM_USER_OPS = frozenset(
    {
        "GetUser",
        "DeleteUser",
        "UpdateUser",
        "TagUser",
        "UntagUser",
        "ListUserTags",
        "PutUserPolicy",
        "GetUserPolicy",
        "DeleteUserPolicy",
        "ListUserPolicies",
        "AttachUserPolicy",
        "DetachUserPolicy",
        "ListAttachedUserPolicies",
        "PutUserPermissionsBoundary",
        "DeleteUserPermissionsBoundary",
        "CreateAccessKey",
        "DeleteAccessKey",
        "UpdateAccessKey",
        "ListAccessKeys",
        "ListGroupsForUser",
        "CreateLoginProfile",
        "GetLoginProfile",
        "UpdateLoginProfile",
        "DeleteLoginProfile",
        "ListMFADevices",
        "EnableMFADevice",
        "DeactivateMFADevice",
        "ListSSHPublicKeys",
        "ListSigningCertificates",
        "ListServiceSpecificCredentials",
        "ChangePassword",
    }
)
_IAM_GROUP_OPS = frozenset(
    {
        "GetGroup",
        "DeleteGroup",
        "UpdateGroup",
        "AddUserToGroup",
        "RemoveUserFromGroup",
        "PutGroupPolicy",
        "GetGroupPolicy",
        "DeleteGroupPolicy",
        "ListGroupPolicies",
        "AttachGroupPolicy",
        "DetachGroupPolicy",
        "ListAttachedGroupPolicies",
    }
)
_IAM_INSTANCE_PROFILE_OPS = frozenset(
    {
        "GetInstanceProfile",
        "DeleteInstanceProfile",
        "AddRoleToInstanceProfile",
        "RemoveRoleFromInstanceProfile",
        "TagInstanceProfile",
        "UntagInstanceProfile",
        "ListInstanceProfileTags",
    }
)
_IAM_ARN_PARAMS: dict[str, str] = {
    # operation → the parameter that is the resource ARN
    **dict.fromkeys(
        (
            "GetPolicy",
            "DeletePolicy",
            "CreatePolicyVersion",
            "GetPolicyVersion",
            "DeletePolicyVersion",
            "ListPolicyVersions",
            "SetDefaultPolicyVersion",
            "TagPolicy",
            "UntagPolicy",
            "ListPolicyTags",
            "ListEntitiesForPolicy",
        ),
        "PolicyArn",
    ),
    **dict.fromkeys(
        (
            "GetOpenIDConnectProvider",
            "DeleteOpenIDConnectProvider",
            "AddClientIDToOpenIDConnectProvider",
            "RemoveClientIDFromOpenIDConnectProvider",
            "UpdateOpenIDConnectProviderThumbprint",
            "TagOpenIDConnectProvider",
            "UntagOpenIDConnectProvider",
            "ListOpenIDConnectProviderTags",
        ),
        "OpenIDConnectProviderArn",
    ),
    **dict.fromkeys(
        (
            "GetSAMLProvider",
            "DeleteSAMLProvider",
            "UpdateSAMLProvider",
            "TagSAMLProvider",
            "UntagSAMLProvider",
            "ListSAMLProviderTags",
        ),
        "SAMLProviderArn",
    ),
    "SimulatePrincipalPolicy": "PolicySourceArn",
    "GetContextKeysForPrincipalPolicy": "PolicySourceArn",
}
_IAM_CREATES: dict[str, tuple[str, str, str | None]] = {
    # operation → (resource type, name parameter, tag action for Tags passed at creation)
    "CreateRole": ("role", "RoleName", "iam:TagRole"),
    "CreateUser": ("user", "UserName", "iam:TagUser"),
    "CreateGroup": ("group", "GroupName", None),
    "CreateInstanceProfile": ("instance-profile", "InstanceProfileName", "iam:TagInstanceProfile"),
    "CreatePolicy": ("policy", "PolicyName", "iam:TagPolicy"),
}
_IAM_LISTS: dict[str, str] = {
    # observed resources of the path-prefix listings (AWS AccessDenied texts):
    # `iam:ListRoles on resource: arn:aws:iam::123456789012:role/`
    "ListRoles": "role",
    "ListUsers": "user",
    "ListGroups": "group",
    "ListInstanceProfiles": "instance-profile",
}
_IAM_TAG_OPS = frozenset(
    {
        "TagRole",
        "TagUser",
        "TagPolicy",
        "TagOpenIDConnectProvider",
        "TagInstanceProfile",
        "TagSAMLProvider",
    }
)
_IAM_UNTAG_OPS = frozenset(
    {
        "UntagRole",
        "UntagUser",
        "UntagPolicy",
        "UntagOpenIDConnectProvider",
        "UntagInstanceProfile",
        "UntagSAMLProvider",
    }
)


def _iam(req: _Request) -> Operation:
    """IAM (SAR "AWS Identity and Access Management"; every API action is ``iam:<Name>``).

    Resource types per the SAR: role/user/group/instance-profile operations act on
    ``arn:aws:iam::ACCT:<type>/<path><name>`` (the path from the request for ``Create*``,
    from the lookups otherwise); managed-policy, OIDC- and SAML-provider operations on the
    ARN parameter; ``CreateOpenIDConnectProvider`` on
    ``arn:aws:iam::ACCT:oidc-provider/<Url without https://>`` (reference B.3).
    Listings with a path prefix use what AWS's refusals name: ``…:role/``, ``…:user/``,
    ``…:group/``, ``…:instance-profile/`` (prefix appended), ``policy path /`` for
    ``ListPolicies`` and ``…:oidc-provider/*`` for ``ListOpenIDConnectProviders``.
    Anything else (account-level calls, actions this module does not know) is ``*``.

    Extra authorizations: ``Create{Role,User,Policy,InstanceProfile,OpenIDConnectProvider}``
    with ``Tags`` also need the matching ``iam:Tag*`` (AWS refuses ``CreateRole`` with tags
    without ``iam:TagRole``); ``AddRoleToInstanceProfile`` needs ``iam:PassRole`` on the
    role. Context: ``iam:PolicyARN`` (attach/detach), ``iam:PermissionsBoundary``,
    ``aws:RequestTag/<k>`` and ``aws:TagKeys``.
    """
    name = req.name
    action = f"iam:{name}"
    context = _iam_context(req)
    resources, extra = _iam_resources(req)
    if resources is None:
        known = name in _model("iam").operation_names
        return _operation(req, action, ["*"], context=context, inferred=not known)
    return _operation(req, action, resources, extra=extra, context=context)


def _iam_arn(req: _Request, resource: str) -> str:
    return f"arn:{req.partition}:iam::{req.account}:{resource}"


def _iam_named(req: _Request, kind: str, name: str, path: str | None) -> str:
    return _iam_arn(req, f"{kind}{_norm_path(path)}{name}")


def _iam_resources(req: _Request) -> tuple[list[str] | None, list[Authorization]]:
    """The resources of an IAM call and its extra authorizations (``None``: use ``*``)."""
    name = req.name
    extra: list[Authorization] = []
    if name in _IAM_CREATES:
        kind, label, tag_action = _IAM_CREATES[name]
        resource = _iam_named(req, kind, req.param(label) or "*", req.param("Path"))
        tags = _query_tags(req.params)
        if tag_action and tags:
            extra.append(Authorization(tag_action, resource, _tag_context(tags)))
        return [resource], extra
    if name == "CreateOpenIDConnectProvider":
        resource = _iam_arn(req, f"oidc-provider/{_oidc_name(req.param('Url') or '*')}")
        tags = _query_tags(req.params)
        if tags:
            tag = Authorization("iam:TagOpenIDConnectProvider", resource, _tag_context(tags))
            extra.append(tag)
        return [resource], extra
    if name in _IAM_ROLE_OPS:
        role = req.param("RoleName") or "*"
        return [_iam_named(req, "role", role, req.role_path(role))], extra
    if name in _IAM_USER_OPS:
        return [_iam_user(req)], extra
    if name in _IAM_GROUP_OPS:
        group = req.param("GroupName") or "*"
        return [_iam_named(req, "group", group, req.entity_path("group", group))], extra
    if name in _IAM_INSTANCE_PROFILE_OPS:
        profile = req.param("InstanceProfileName") or "*"
        path = req.entity_path("instance-profile", profile)
        if name == "AddRoleToInstanceProfile":
            role = req.param("RoleName") or "*"
            role_arn = _iam_named(req, "role", role, req.role_path(role))
            extra.append(Authorization("iam:PassRole", role_arn))
        return [_iam_named(req, "instance-profile", profile, path)], extra
    return _iam_other(req), extra


def _iam_other(req: _Request) -> list[str] | None:
    name = req.name
    if name in _IAM_ARN_PARAMS:
        return [req.param(_IAM_ARN_PARAMS[name]) or "*"]
    if name in _IAM_LISTS:
        prefix = _norm_path(req.param("PathPrefix")).lstrip("/")
        return [_iam_arn(req, f"{_IAM_LISTS[name]}/{prefix}")]
    if name == "ListPolicies":
        return [f"policy path {req.param('PathPrefix') or '/'}"]
    if name == "ListOpenIDConnectProviders":
        return [_iam_arn(req, "oidc-provider/*")]
    if name == "CreateServiceLinkedRole":
        service = req.param("AWSServiceName") or "*"
        return [_iam_arn(req, f"role/aws-service-role/{service}/*")]
    return None


def _iam_user(req: _Request) -> str:
    """The user an IAM user call acts on: ``UserName``, else the caller (a user or root)."""
    user = req.param("UserName")
    if user:
        return _iam_named(req, "user", user, req.entity_path("user", user))
    caller = req.caller_arn or ""
    if re.match(r"arn:[^:]+:iam::\d{12}:(user/|root\Z)", caller):
        return caller
    return "*"


def _oidc_name(url: str) -> str:
    """An OIDC provider's ARN name: its URL without the scheme (IAM stores it so)."""
    return re.sub(r"\A[A-Za-z][A-Za-z0-9+.-]*://", "", url).rstrip("/") or "*"


def _iam_context(req: _Request) -> dict[str, object]:
    name = req.name
    context: dict[str, object] = {}
    policy_arn = req.param("PolicyArn")
    if policy_arn and name.startswith(("Attach", "Detach")):
        context["iam:PolicyARN"] = policy_arn
    boundary = req.param("PermissionsBoundary")
    if boundary:
        context["iam:PermissionsBoundary"] = boundary
    if name in _IAM_TAG_OPS or name in _IAM_CREATES or name == "CreateOpenIDConnectProvider":
        context.update(_tag_context(_query_tags(req.params)))
    if name in _IAM_UNTAG_OPS:
        keys = _member_list(req.params, "TagKeys")
        if keys:
            context["aws:TagKeys"] = keys
    return context


# --------------------------------------------------------------------------- EKS

_EKS_STAR = frozenset(
    {
        "CreateCluster",
        "ListClusters",
        "ListAccessPolicies",
        "DescribeAddonVersions",
        "DescribeAddonConfiguration",
        "DescribeClusterVersions",
        "ListEksAnywhereSubscriptions",
        "CreateEksAnywhereSubscription",
        "RegisterCluster",
    }
)
_EKS_ACCESS_ENTRY_OPS = frozenset(
    {
        "DescribeAccessEntry",
        "UpdateAccessEntry",
        "DeleteAccessEntry",
        "AssociateAccessPolicy",
        "DisassociateAccessPolicy",
        "ListAssociatedAccessPolicies",
    }
)
_EKS_SUBRESOURCES: dict[str, tuple[str, str]] = {
    # operation → (SAR resource type, route label naming it)
    **dict.fromkeys(
        ("DescribeNodegroup", "DeleteNodegroup", "UpdateNodegroupConfig", "UpdateNodegroupVersion"),
        ("nodegroup", "nodegroupName"),
    ),
    **dict.fromkeys(("DescribeAddon", "DeleteAddon", "UpdateAddon"), ("addon", "addonName")),
    **dict.fromkeys(
        ("DescribeFargateProfile", "DeleteFargateProfile"),
        ("fargateprofile", "fargateProfileName"),
    ),
    **dict.fromkeys(
        ("DescribeCapability", "DeleteCapability", "UpdateCapability"),
        ("capability", "capabilityName"),
    ),
}
_EKS_POD_IDENTITY_OPS = frozenset(
    {
        "DescribePodIdentityAssociation",
        "UpdatePodIdentityAssociation",
        "DeletePodIdentityAssociation",
    }
)
_EKS_PASSED_ROLES: dict[str, tuple[str, str]] = {
    # operation → (body member holding a role ARN, iam:PassedToService), SAR operations table
    "CreateCluster": ("roleArn", "eks.amazonaws.com"),
    "CreateNodegroup": ("nodeRole", "eks.amazonaws.com"),
    "CreateFargateProfile": ("podExecutionRoleArn", "eks.amazonaws.com"),
    "CreateAddon": ("serviceAccountRoleArn", "eks.amazonaws.com"),
    "CreatePodIdentityAssociation": ("roleArn", "pods.eks.amazonaws.com"),
}


def _eks(req: _Request) -> Operation:
    """EKS (SAR "Amazon Elastic Kubernetes Service"; every API action is ``eks:<Name>``).

    Resource types per the SAR: ``cluster`` ``arn:aws:eks:R:A:cluster/NAME`` for the
    cluster and its listings (``ListAccessEntries``, ``CreateAccessEntry``, …);
    ``access-entry`` ``…:access-entry/CLUSTER/<role|user>/<principal account>/<name>/UUID``
    for the operations on one entry and its access policies; ``nodegroup``, ``addon``,
    ``fargateprofile``, ``capability``, ``identityproviderconfig`` likewise end in a UUID;
    ``podidentityassociation`` ``…/CLUSTER/<association id>``; ``TagResource`` and friends
    act on the ARN in the path; ``ListClusters``, ``CreateCluster``,
    ``ListAccessPolicies`` and the version/catalogue listings have no resource type
    (``*``). Context: ``eks:clusterName``, ``eks:principalArn``, ``eks:policyArn``,
    ``eks:accessScope``, ``eks:namespaces``, ``eks:kubernetesGroups``, ``eks:username``,
    ``eks:accessEntryType`` from the request, and the request tags. Creating with a role
    also needs ``iam:PassRole`` (``iam:PassedToService`` as the SAR lists); creating a
    cluster or access entry with ``tags`` needs ``eks:TagResource``.
    """
    name = req.name
    action = f"eks:{name}"
    context = _eks_context(req)
    extra = _eks_passed_role(req)
    if name in _EKS_STAR:
        extra += _eks_create_tags(req, name, context)
        return _operation(req, action, ["*"], extra=extra, context=context)
    if name in ("TagResource", "UntagResource", "ListTagsForResource"):
        return _operation(req, action, [req.param("resourceArn") or "*"], context=context)
    resource = _eks_resource(req)
    if resource is None:
        return _operation(req, action, ["*"], context=context, inferred=True)
    if name == "CreateAccessEntry":
        principal = str(req.member("principalArn") or "*")
        entry = _access_entry_arn(req, req.param("name") or "*", principal)
        extra += _eks_create_tags(req, entry, context)
    return _operation(req, action, [resource], extra=extra, context=context)


def _eks_arn(req: _Request, resource: str) -> str:
    return f"arn:{req.partition}:eks:{req.region}:{req.account}:{resource}"


def _eks_resource(req: _Request) -> str | None:
    """The SAR resource of an EKS call on a cluster or one of its sub-resources."""
    name = req.name
    cluster = req.param("name")
    if cluster is None:
        subscription = req.param("id")
        if subscription is None:
            return None
        return _eks_arn(req, f"eks-anywhere-subscription/{subscription}")
    if name in _EKS_ACCESS_ENTRY_OPS:
        return _access_entry_arn(req, cluster, req.param("principalArn") or "*")
    if name in _EKS_SUBRESOURCES:
        kind, label = _EKS_SUBRESOURCES[name]
        item = req.param(label) or "*"
        found = req.eks_arn(kind, cluster, item)
        if found:
            return found
        middle = f"*/{item}" if kind == "capability" else item
        return _eks_arn(req, f"{kind}/{cluster}/{middle}/*")
    if name in _EKS_POD_IDENTITY_OPS:
        association = req.param("associationId") or "*"
        return _eks_arn(req, f"podidentityassociation/{cluster}/{association}")
    if name in ("DescribeIdentityProviderConfig", "DisassociateIdentityProviderConfig"):
        config = req.member("identityProviderConfig")
        config = config if isinstance(config, Mapping) else {}
        ident = f"{config.get('type', '*')}/{config.get('name', '*')}"
        found = req.eks_arn("identityproviderconfig", cluster, ident)
        return found or _eks_arn(req, f"identityproviderconfig/{cluster}/{ident}/*")
    return _eks_arn(req, f"cluster/{cluster}")


def _access_entry_arn(req: _Request, cluster: str, principal: str) -> str:
    """``…:access-entry/CLUSTER/<role|user>/<account>/<name>/<UUID>`` (SAR resource type
    ``access-entry``); the UUID comes from the lookup, else ``*``."""
    found = req.eks_arn("access-entry", cluster, principal)
    if found:
        return found
    m = re.match(r"arn:[^:]+:iam::(\d{12}):(role|user)/(?:.*/)?([^/]+)\Z", principal)
    if m is None:
        return _eks_arn(req, f"access-entry/{cluster}/*")
    account, kind, entity = m.groups()
    return _eks_arn(req, f"access-entry/{cluster}/{kind}/{account}/{entity}/*")


def _eks_context(req: _Request) -> dict[str, object]:
    name = req.name
    context: dict[str, object] = {}
    if name in _EKS_ACCESS_ENTRY_OPS or name == "CreateAccessEntry":
        cluster = req.param("name")
        if cluster:
            context["eks:clusterName"] = cluster
        principal = req.param("principalArn") or req.member("principalArn")
        if isinstance(principal, str):
            context["eks:principalArn"] = principal
        context.update(_eks_entry_fields(req))
    if name in ("AssociateAccessPolicy", "DisassociateAccessPolicy"):
        policy = req.param("policyArn") or req.member("policyArn")
        if isinstance(policy, str):
            context["eks:policyArn"] = policy
        scope = req.member("accessScope")
        if isinstance(scope, Mapping):
            if isinstance(scope.get("type"), str):
                context["eks:accessScope"] = scope["type"]
            if isinstance(scope.get("namespaces"), list):
                context["eks:namespaces"] = [str(n) for n in scope["namespaces"]]
    tags = req.member("tags")
    if isinstance(tags, Mapping):
        context.update(_tag_context({str(k): str(v) for k, v in tags.items()}))
    if name == "UntagResource":
        keys = req.params.get("tagKeys")
        if keys:
            context["aws:TagKeys"] = list(keys)
    return context


def _eks_entry_fields(req: _Request) -> dict[str, object]:
    fields: dict[str, object] = {}
    groups = req.member("kubernetesGroups")
    if isinstance(groups, list):
        fields["eks:kubernetesGroups"] = [str(g) for g in groups]
    username = req.member("username")
    if isinstance(username, str):
        fields["eks:username"] = username
    kind = req.member("type")
    if isinstance(kind, str):
        fields["eks:accessEntryType"] = kind
    elif req.name == "CreateAccessEntry":
        fields["eks:accessEntryType"] = "STANDARD"
    return fields


def _eks_passed_role(req: _Request) -> list[Authorization]:
    if req.name not in _EKS_PASSED_ROLES:
        return []
    member, service = _EKS_PASSED_ROLES[req.name]
    role = req.member(member)
    if not isinstance(role, str) or not role:
        return []
    return [Authorization("iam:PassRole", role, {"iam:PassedToService": service})]


def _eks_create_tags(
    req: _Request, resource: str, context: Mapping[str, object]
) -> list[Authorization]:
    """``eks:TagResource`` on the new resource when a create call passes tags."""
    tags = req.member("tags")
    if not isinstance(tags, Mapping) or not tags:
        return []
    if req.name == "CreateCluster":
        resource = _eks_arn(req, f"cluster/{req.member('name') or '*'}")
    elif req.name != "CreateAccessEntry":
        return []
    tag_context = {k: v for k, v in context.items() if k.startswith("aws:")}
    return [Authorization("eks:TagResource", resource, tag_context)]


# --------------------------------------------------------------------------- S3

_S3_ACTIONS: dict[str, str] = {
    # operation → IAM action (SAR "Amazon S3"; botocore s3 model "Permissions" sections)
    "ListBuckets": "s3:ListAllMyBuckets",
    "CreateBucket": "s3:CreateBucket",
    "DeleteBucket": "s3:DeleteBucket",
    "HeadBucket": "s3:ListBucket",
    "GetBucketLocation": "s3:GetBucketLocation",
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads",
    "GetBucketPolicy": "s3:GetBucketPolicy",
    "PutBucketPolicy": "s3:PutBucketPolicy",
    "DeleteBucketPolicy": "s3:DeleteBucketPolicy",
    "GetBucketPolicyStatus": "s3:GetBucketPolicyStatus",
    "GetBucketAcl": "s3:GetBucketAcl",
    "PutBucketAcl": "s3:PutBucketAcl",
    "GetBucketTagging": "s3:GetBucketTagging",
    "PutBucketTagging": "s3:PutBucketTagging",
    "DeleteBucketTagging": "s3:PutBucketTagging",
    "GetBucketVersioning": "s3:GetBucketVersioning",
    "PutBucketVersioning": "s3:PutBucketVersioning",
    "GetBucketCors": "s3:GetBucketCORS",
    "PutBucketCors": "s3:PutBucketCORS",
    "DeleteBucketCors": "s3:PutBucketCORS",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
    "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "GetBucketOwnershipControls": "s3:GetBucketOwnershipControls",
    "PutBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "DeleteBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "GetBucketWebsite": "s3:GetBucketWebsite",
    "PutBucketWebsite": "s3:PutBucketWebsite",
    "DeleteBucketWebsite": "s3:DeleteBucketWebsite",
    "GetBucketLogging": "s3:GetBucketLogging",
    "PutBucketLogging": "s3:PutBucketLogging",
    "GetBucketNotificationConfiguration": "s3:GetBucketNotification",
    "PutBucketNotificationConfiguration": "s3:PutBucketNotification",
    "GetBucketReplication": "s3:GetReplicationConfiguration",
    "PutBucketReplication": "s3:PutReplicationConfiguration",
    "DeleteBucketReplication": "s3:PutReplicationConfiguration",
    "GetBucketRequestPayment": "s3:GetBucketRequestPayment",
    "PutBucketRequestPayment": "s3:PutBucketRequestPayment",
    "GetBucketAccelerateConfiguration": "s3:GetAccelerateConfiguration",
    "PutBucketAccelerateConfiguration": "s3:PutAccelerateConfiguration",
    "GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "PutObjectLockConfiguration": "s3:PutBucketObjectLockConfiguration",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "CopyObject": "s3:PutObject",
    "DeleteObject": "s3:DeleteObject",
    "DeleteObjects": "s3:DeleteObject",
    "GetObjectAcl": "s3:GetObjectAcl",
    "PutObjectAcl": "s3:PutObjectAcl",
    "GetObjectTagging": "s3:GetObjectTagging",
    "PutObjectTagging": "s3:PutObjectTagging",
    "DeleteObjectTagging": "s3:DeleteObjectTagging",
    "GetObjectAttributes": "s3:GetObjectAttributes",
    "GetObjectRetention": "s3:GetObjectRetention",
    "PutObjectRetention": "s3:PutObjectRetention",
    "GetObjectLegalHold": "s3:GetObjectLegalHold",
    "PutObjectLegalHold": "s3:PutObjectLegalHold",
    "RestoreObject": "s3:RestoreObject",
    "SelectObjectContent": "s3:GetObject",
    "GetObjectTorrent": "s3:GetObjectTorrent",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "UploadPartCopy": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "ListParts": "s3:ListMultipartUploadParts",
}
_S3_VERSIONED: dict[str, str] = {
    # with a versionId, these authorize the version action instead (model docs)
    "GetObject": "s3:GetObjectVersion",
    "HeadObject": "s3:GetObjectVersion",
    "DeleteObject": "s3:DeleteObjectVersion",
    "GetObjectAcl": "s3:GetObjectVersionAcl",
    "PutObjectAcl": "s3:PutObjectVersionAcl",
    "GetObjectTagging": "s3:GetObjectVersionTagging",
    "PutObjectTagging": "s3:PutObjectVersionTagging",
    "DeleteObjectTagging": "s3:DeleteObjectVersionTagging",
    "GetObjectAttributes": "s3:GetObjectVersionAttributes",
}
_S3_LIST_KEYS = {"prefix": "s3:prefix", "delimiter": "s3:delimiter", "max-keys": "s3:max-keys"}
_S3_HEADER_KEYS = (
    "x-amz-acl",
    "x-amz-copy-source",
    "x-amz-metadata-directive",
    "x-amz-server-side-encryption",
)
_ACL_HEADERS = (
    "x-amz-acl",
    "x-amz-grant-full-control",
    "x-amz-grant-read",
    "x-amz-grant-read-acp",
    "x-amz-grant-write",
    "x-amz-grant-write-acp",
)
_AWS_S3_HOST = re.compile(
    r"(?P<bucket>.+?)\.s3(?:[.-](?:dualstack|fips|accelerate|[a-z]{2}(?:-[a-z]+)+-\d))*"
    r"\.amazonaws\.com(?:\.cn)?\Z"
)
LOCAL_S3_HOST_SUFFIXES: tuple[str, ...] = (".s3.localhost", ".localhost")
"""Virtual-hosted bucket hosts the sandbox accepts besides AWS's own
(``bucket.localhost:port``, as botocore builds them for ``addressing_style="virtual"``)."""


def _s3(req: _Request) -> Operation:
    """S3 (SAR "Amazon S3"; the botocore ``s3`` model's "Permissions" sections).

    Resources: ``*`` for ``ListBuckets`` (``s3:ListAllMyBuckets``), ``arn:aws:s3:::BUCKET``
    for bucket operations, ``arn:aws:s3:::BUCKET/KEY`` for object operations. Operations
    whose action differs from their name: ``HeadBucket`` and the object listings →
    ``s3:ListBucket``; ``HeadObject`` → ``s3:GetObject``; uploads and copies →
    ``s3:PutObject``; ``Delete*`` of bucket configurations → the matching ``Put*``; with
    ``versionId`` → the ``…Version…`` actions. Extras: ``CopyObject``/``UploadPartCopy``
    read the ``x-amz-copy-source`` object (``s3:GetObject``, or ``s3:GetObjectVersion``);
    ACL headers add ``s3:PutObjectAcl``/``s3:PutBucketAcl``, ``x-amz-tagging`` adds
    ``s3:PutObjectTagging``, ``CreateBucket`` with object lock or ownership headers adds
    what its documentation lists. ``DeleteObjects`` authorizes ``s3:DeleteObject`` (or
    ``s3:DeleteObjectVersion``) on every key of its XML body (``bucket/*`` when the body is
    not given). S3 ARNs carry no account: ``resource_account`` is ``None``.
    """
    name = req.name
    bucket = req.param("Bucket")
    key = req.param("Key")
    version = req.param("versionId")
    inferred = name not in _S3_ACTIONS
    action = _S3_ACTIONS.get(name, f"s3:{name}")
    if version and name in _S3_VERSIONED:
        action = _S3_VERSIONED[name]
    context = _s3_context(req)
    if name == "ListBuckets" or bucket is None:
        return _s3_operation(req, action, ["*"], [], context, inferred)
    bucket_arn = f"arn:{req.partition}:s3:::{bucket}"
    if name == "DeleteObjects":
        return _s3_delete_objects(req, bucket_arn, context)
    resource = bucket_arn if key is None else f"{bucket_arn}/{key}"
    extra = _s3_extras(req, bucket_arn, resource)
    return _s3_operation(req, action, [resource], extra, context, inferred)


def _s3_operation(
    req: _Request,
    action: str,
    resources: Sequence[str],
    extra: Sequence[Authorization],
    context: Mapping[str, object],
    inferred: bool,
) -> Operation:
    """S3 resources have no account: the gate resolves the bucket owner."""
    star = list(resources) == ["*"]
    return Operation(
        service=req.service,
        name=req.name,
        action=action,
        resources=tuple(resources),
        account_scoped_resource=star,
        resource_account=req.account if star else None,
        extra=tuple(extra),
        context=dict(context),
        inferred=inferred,
    )


def _s3_extras(req: _Request, bucket_arn: str, resource: str) -> list[Authorization]:
    name, headers = req.name, req.headers
    extra: list[Authorization] = []
    if name in ("CopyObject", "UploadPartCopy") and "x-amz-copy-source" in headers:
        source, version = _copy_source(req, headers["x-amz-copy-source"])
        action = "s3:GetObjectVersion" if version else "s3:GetObject"
        extra.append(Authorization(action, source, {"s3:versionid": version} if version else {}))
    writes_object = name in ("PutObject", "CopyObject", "CreateMultipartUpload")
    if writes_object and any(h in headers for h in _ACL_HEADERS):
        extra.append(Authorization("s3:PutObjectAcl", resource))
    if writes_object and "x-amz-tagging" in headers:
        extra.append(Authorization("s3:PutObjectTagging", resource))
    if name == "CreateBucket":
        acl = headers.get("x-amz-acl", "private")
        if acl != "private" or any(h in headers for h in _ACL_HEADERS[1:]):
            extra.append(Authorization("s3:PutBucketAcl", bucket_arn))
        if headers.get("x-amz-bucket-object-lock-enabled", "").lower() == "true":
            extra.append(Authorization("s3:PutBucketObjectLockConfiguration", bucket_arn))
            extra.append(Authorization("s3:PutBucketVersioning", bucket_arn))
        if "x-amz-object-ownership" in headers:
            extra.append(Authorization("s3:PutBucketOwnershipControls", bucket_arn))
    return extra


def _copy_source(req: _Request, header: str) -> tuple[str, str | None]:
    """``(source object ARN, version)`` of ``x-amz-copy-source`` (``/bucket/key?versionId=``,
    URL-encoded; or an access-point object ARN, kept as is)."""
    source, _, query = header.partition("?")
    version = urllib.parse.parse_qs(query).get("versionId", [None])[0]
    source = urllib.parse.unquote(source).lstrip("/")
    if source.startswith("arn:"):
        return source, version
    return f"arn:{req.partition}:s3:::{source}", version


def _s3_delete_objects(req: _Request, bucket_arn: str, context: Mapping[str, object]) -> Operation:
    pairs = _delete_keys(req.body)
    if pairs is None:
        return _s3_operation(req, "s3:DeleteObject", [f"{bucket_arn}/*"], [], context, False)
    plain = [f"{bucket_arn}/{key}" for key, version in pairs if version is None]
    versioned = [
        Authorization("s3:DeleteObjectVersion", f"{bucket_arn}/{key}", {"s3:versionid": version})
        for key, version in pairs
        if version is not None
    ]
    if plain:
        return _s3_operation(req, "s3:DeleteObject", plain, versioned, context, False)
    if versioned:
        first, rest = versioned[0], versioned[1:]
        ctx = {**context, **first.context}
        return _s3_operation(req, first.action, [first.resource], rest, ctx, False)
    return _s3_operation(req, "s3:DeleteObject", [f"{bucket_arn}/*"], [], context, False)


def _delete_keys(body: bytes | None) -> list[tuple[str, str | None]] | None:
    """``(key, versionId)`` of each ``<Object>`` in a ``DeleteObjects`` body."""
    if not body:
        return None
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None
    pairs: list[tuple[str, str | None]] = []
    for element in root.iter():
        if _local(element.tag) != "Object":
            continue
        key = version = None
        for child in element:
            if _local(child.tag) == "Key":
                key = child.text or ""
            elif _local(child.tag) == "VersionId":
                version = child.text
        if key is not None:
            pairs.append((key, version))
    return pairs


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _s3_context(req: _Request) -> dict[str, object]:
    context: dict[str, object] = {}
    if req.name in ("ListObjects", "ListObjectsV2", "ListObjectVersions"):
        for param, key in _S3_LIST_KEYS.items():
            value = req.param(param)
            if value is not None:
                context[key] = value
    version = req.param("versionId")
    if version and req.param("Key") is not None:
        context["s3:versionid"] = version
    for header in _S3_HEADER_KEYS:
        if header in req.headers:
            context[f"s3:{header}"] = req.headers[header]
    return context


def _s3_path_style(host: str, path: str, raw_path: str | None) -> tuple[str, str | None]:
    """Rewrite a virtual-hosted request (``bucket.localhost``) to its path-style form."""
    bucket = s3_virtual_bucket(host)
    if bucket is None:
        return path, raw_path
    raw = None if raw_path is None else "/" + urllib.parse.quote(bucket, safe="") + raw_path
    return "/" + bucket + path, raw


def s3_virtual_bucket(host: str) -> str | None:
    """The bucket named by a virtual-hosted S3 ``Host`` header, or ``None``.

    ``bkt.localhost:4566`` and ``bkt.s3.localhost`` (the sandbox), and AWS's own
    ``bkt.s3.amazonaws.com`` / ``bkt.s3.us-east-1.amazonaws.com`` forms; an IP address,
    ``localhost`` or ``s3.localhost`` names none (path style).
    """
    name = host.strip().lower()
    if name.startswith("["):
        return None
    name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
    if name in ("s3.localhost", "localhost"):
        return None
    for suffix in LOCAL_S3_HOST_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    found = _AWS_S3_HOST.match(name)
    return None if found is None else found.group("bucket")


_MAPPERS: dict[str, Callable[[_Request], Operation]] = {
    "sts": _sts,
    "iam": _iam,
    "eks": _eks,
    "s3": _s3,
}
