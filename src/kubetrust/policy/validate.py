"""Parse and validate policy documents, per kind, with the messages IAM gives.

IAM rejects a malformed document at write time with ``MalformedPolicyDocument`` and one of a
small set of messages (``Missing required field Effect``, ``Policy document should not
specify a principal.``, ``Syntax errors in policy.``...). We raise
:class:`kubetrust.errors.PolicyParseError` carrying that message, the path of the offending
element and our own precise reason, so that a user sees both what AWS would say and exactly
where the problem is. Nothing else escapes :func:`parse_policy`: not ``KeyError``, not
``RecursionError``, not ``json.JSONDecodeError``.

Rules by kind (reference A.4, A.8; IAM's grammar page):

==========  =========  ============  ========  ===========================================
kind        Principal  NotPrincipal  Resource  notes
==========  =========  ============  ========  ===========================================
identity    no         no            required
boundary    no         no            required
session     no         no            required
scp         no         no            required
resource    one of the two           required  NotPrincipal only with Deny
trust       required   no            no        actions must be ``sts:*`` actions
rcp         required   no            required  Principal must be ``"*"``
==========  =========  ============  ========  ===========================================

What we do not check, because IAM checks it against live state rather than the text:
whether a named principal exists, and the size quotas of each policy kind.
"""

from __future__ import annotations

import decimal
import json
import re
import sys
from collections.abc import Mapping
from typing import Any, NoReturn

from kubetrust import arn, errors
from kubetrust.policy import operators, principals, slotted
from kubetrust.policy.document import (
    VALID_VERSIONS,
    Condition,
    PolicyDocument,
    PolicyKind,
    PrincipalBlock,
    Statement,
    StatementEffect,
)

_new_statement = slotted.constructor(Statement)
_new_document = slotted.constructor(PolicyDocument)
_new_principal_block = slotted.constructor(PrincipalBlock)
"""A parse builds one statement, document and principal block per element it reads (a
million of each for a large organization): built without the dataclasses' ``__init__``
(:mod:`kubetrust.policy.slotted`), every field given in field order."""

SYNTAX = "Syntax errors in policy."
INVALID_JSON = "This policy contains invalid Json"
LEGACY = "The policy failed legacy parsing"
NO_ACTIONS = "Policy statement must contain actions."
NO_RESOURCES = "Policy statement must contain resources."
NO_PRINCIPAL_ALLOWED = "Policy document should not specify a principal."
MISSING_PRINCIPAL = "Missing required field Principal"
MISSING_EFFECT = "Missing required field Effect"
BAD_PRINCIPAL = "Invalid principal in policy"
VENDOR = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
DUPLICATE_SID = "Statement IDs (SID) in a single policy must be unique."
TRUST_ACTIONS = (
    "Trust Policy statement actions can only be sts:AssumeRole, "
    "sts:AssumeRoleWithSAML, and sts:AssumeRoleWithWebIdentity"
)

_TOP_ELEMENTS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_ELEMENTS = frozenset(
    {
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
    }
)
_PRINCIPAL_TYPES = {
    "AWS": "aws",
    "Federated": "federated",
    "Service": "service",
    "CanonicalUser": "canonical_user",
}
_VENDOR = re.compile(r"[A-Za-z0-9\-.*?]+\Z")
_NO_PRINCIPAL_KINDS = frozenset(
    {PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.SCP}
)
_PRINCIPAL_ARN_TYPES = {
    "iam": frozenset({"root", "user", "role"}),
    "sts": frozenset({"assumed-role", "federated-user"}),
}
MAX_DOCUMENT_CHARS = 1_000_000
"""Far above every IAM quota; only here so that absurd input fails fast and clearly."""


def parse_policy(document: str | Mapping[str, Any], kind: PolicyKind) -> PolicyDocument:
    """Parse ``document`` (JSON text or a mapping) as a policy of ``kind``.

    Raises :class:`errors.PolicyParseError` for anything IAM would reject; returns an
    immutable :class:`PolicyDocument` otherwise.
    """
    raw = load_document(document)
    for element in raw:
        if element not in _TOP_ELEMENTS:
            _fail(SYNTAX, "", f"unknown top-level element {errors.shown(element)}")
    version = _version(raw)
    policy_id = raw.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        _fail(SYNTAX, "Id", "must be a string")
    statements = _statements(raw, kind)
    return _new_document(kind, version, policy_id, statements)


def _fail(message: str, path: str, reason: str) -> NoReturn:
    raise errors.PolicyParseError(message, path=path, reason=reason)


def _decimal(text: str) -> decimal.Decimal:
    """A JSON number as written; one whose exponent no decimal can hold (``1e-99999…``,
    found by the fuzz test) is refused as a parse error, never an ``InvalidOperation``."""
    try:
        return decimal.Decimal(text)
    except ArithmeticError:
        _fail(INVALID_JSON, "", f"number {errors.shown(text[:40])} is out of range")


def load_document(document: object) -> Mapping[str, Any]:
    """JSON text or a mapping → a mapping with string keys (``PolicyParseError`` if not)."""
    if isinstance(document, str):
        if len(document) > MAX_DOCUMENT_CHARS:
            _fail(SYNTAX, "", f"document longer than {MAX_DOCUMENT_CHARS} characters")
        try:
            # Decimals, not floats: IAM keeps a numeric value as written (0.10000000000000000001
            # is not 0.1).
            loaded = json.loads(
                document, object_pairs_hook=_no_duplicate_keys, parse_float=_decimal
            )
        except errors.PolicyParseError:
            raise
        except (ValueError, RecursionError) as exc:
            _fail(INVALID_JSON, "", f"not valid JSON: {_short(exc)}")
        document = loaded
    if type(document) is not dict and not isinstance(document, Mapping):
        _fail(SYNTAX, "", "a policy document must be a JSON object")
    for key in document:
        if not isinstance(key, str):
            _fail(SYNTAX, "", f"element names must be strings, got {errors.shown(key)}")
    return document


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Reject duplicate names: JSON parsers keep the last one silently, which can drop a
    condition block and widen an Allow; we refuse rather than guess."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            _fail(SYNTAX, "", f"element {errors.shown(key)} appears twice in one object")
        result[key] = value
    return result


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 160 else text[:160] + "..."


def _version(raw: Mapping[str, Any]) -> str | None:
    if "Version" not in raw:
        return None
    version = raw["Version"]
    if version not in VALID_VERSIONS:
        _fail(
            SYNTAX,
            "Version",
            f"{errors.shown(version)} is not a policy language version; use `2012-10-17`",
        )
    return VALID_VERSIONS[VALID_VERSIONS.index(version)]  # one string object for all


def _statements(raw: Mapping[str, Any], kind: PolicyKind) -> tuple[Statement, ...]:
    if "Statement" not in raw:
        _fail(SYNTAX, "", "missing required element `Statement`")
    value = raw["Statement"]
    items = [value] if (type(value) is dict or isinstance(value, Mapping)) else value
    if not isinstance(items, list) or not items:
        _fail(SYNTAX, "Statement", "must be an object or a non-empty list of objects")
    statements = tuple(_statement(item, index, kind) for index, item in enumerate(items))
    seen: set[str] = set()
    for statement in statements:
        if statement.sid:
            if statement.sid in seen:
                _fail(DUPLICATE_SID, f"Statement[{statement.index}].Sid", f"`{statement.sid}`")
            seen.add(statement.sid)
    return statements


def _statement(raw: object, index: int, kind: PolicyKind) -> Statement:
    where = f"Statement[{index}]"
    if type(raw) is not dict and not isinstance(raw, Mapping):  # type(): ABCs are slow
        _fail(SYNTAX, where, "a statement must be a JSON object")
    if not _STATEMENT_ELEMENTS.issuperset(raw):
        for element in raw:
            if element not in _STATEMENT_ELEMENTS:
                _fail(SYNTAX, where, f"unknown element {errors.shown(element)}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        _fail(SYNTAX, f"{where}.Sid", "must be a string")
    effect = _effect(raw, where)
    action, not_action = _actions(raw, where, kind)
    resource, not_resource = _resources(raw, where, kind)
    principal, not_principal = _principals(raw, where, kind, effect)
    conditions = _conditions(raw.get("Condition"), f"{where}.Condition")
    return _new_statement(
        index,
        sid or None,
        effect,
        action,
        not_action,
        resource,
        not_resource,
        principal,
        not_principal,
        conditions,
    )


def _effect(raw: Mapping[str, Any], where: str) -> StatementEffect:
    if "Effect" not in raw:
        _fail(MISSING_EFFECT, f"{where}.Effect", "every statement needs `Allow` or `Deny`")
    effect = raw["Effect"]
    if effect not in ("Allow", "Deny"):
        _fail(
            LEGACY,
            f"{where}.Effect",
            f"{errors.shown(effect)} is not `Allow` or `Deny` (case matters)",
        )
    return "Allow" if effect == "Allow" else "Deny"


def _string_list(value: object, path: str) -> tuple[str, ...]:
    if type(value) is str:
        return (value,)  # the common case, without the checks below
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        _fail(SYNTAX, path, "must be a string or a non-empty list of strings")
    for item in items:
        if not isinstance(item, str):
            _fail(SYNTAX, path, f"must hold strings only, got {errors.shown(item)}")
    return tuple(items)


def _pair(raw: Mapping[str, Any], name: str, where: str) -> tuple[Any, Any]:
    negated = "Not" + name
    if name in raw and negated in raw:
        _fail(SYNTAX, where, f"a statement may hold `{name}` or `{negated}`, not both")
    plain = _string_list(raw[name], f"{where}.{name}") if name in raw else None
    inverse = _string_list(raw[negated], f"{where}.{negated}") if negated in raw else None
    return plain, inverse


def _actions(
    raw: Mapping[str, Any], where: str, kind: PolicyKind
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    action, not_action = _pair(raw, "Action", where)
    if action is None and not_action is None:
        _fail(NO_ACTIONS, where, "add `Action` or `NotAction`")
    action, not_action = shared_strings(action), shared_strings(not_action)
    element = "Action" if action is not None else "NotAction"
    for value in action or not_action or ():
        if value not in _ACCEPTED_ACTIONS:
            _check_action(value, f"{where}.{element}")
            _accepted(_ACCEPTED_ACTIONS, value)
        if kind is PolicyKind.TRUST and value != "*" and value.split(":")[0].lower() != "sts":
            _fail(TRUST_ACTIONS, f"{where}.{element}", f"`{value}` is not an sts action")
    return action, not_action


def shared_strings(values: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """``values`` as the one shared tuple of its value, each string the one shared object of
    its value (:func:`sys.intern`). Actions repeat across an organization's documents: a
    million roles hold a few hundred distinct lists of them, and one object each saves memory
    and the copies a forked bundle load sends back (:mod:`kubetrust.explain.bundle_parallel`).
    A ``str`` subclass (a YAML reader's scalar) cannot be interned and is kept as it is."""
    if values is None:
        return None
    found = _SHARED.get(values)
    if found is not None:
        return found
    try:
        values = tuple(map(sys.intern, values))
    except TypeError:
        return values
    _accepted_as(_SHARED, values)
    return values


_SHARED: dict[tuple[str, ...], tuple[str, ...]] = {}


def _accepted_as(seen: dict[tuple[str, ...], tuple[str, ...]], value: tuple[str, ...]) -> None:
    if len(seen) >= _ACCEPTED_LIMIT:
        seen.clear()
    seen[value] = value


_ACCEPTED_LIMIT = 65536
_ACCEPTED_ACTIONS: set[str] = set()
_ACCEPTED_AWS_PRINCIPALS: set[str] = set()
"""Values already found valid, checked again only when unseen: an organization repeats
the same actions and principals in most of its documents (validity depends on the value
alone; errors are not remembered, so each one is reported with its own path)."""


def _accepted(seen: set[str], value: str) -> None:
    if len(seen) >= _ACCEPTED_LIMIT:
        seen.clear()
    seen.add(value)


def _check_action(value: str, path: str) -> None:
    if value == "*":
        return
    parts = value.split(":")
    if len(parts) == 1:
        _fail(VENDOR, path, f"`{value}` has no service prefix")
    if len(parts) > 2:
        _fail("Actions/Condition can contain only one colon.", path, f"`{value}`")
    vendor, name = parts
    if not _VENDOR.match(vendor) or not name:
        _fail(f"Vendor {vendor} is not valid", path, f"`{value}`")


def _resources(
    raw: Mapping[str, Any], where: str, kind: PolicyKind
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    resource, not_resource = _pair(raw, "Resource", where)
    present = resource is not None or not_resource is not None
    if kind is PolicyKind.TRUST:
        if present:
            element = "Resource" if resource is not None else "NotResource"
            _fail(
                f"Has prohibited field {element}",
                f"{where}.{element}",
                "a trust policy applies to its role; remove the element",
            )
        return None, None
    if not present:
        _fail(NO_RESOURCES, where, "add `Resource` or `NotResource`")
    element = "Resource" if resource is not None else "NotResource"
    for value in resource or not_resource:
        _check_resource(value, f"{where}.{element}")  # ARNs repeat too rarely to remember
    return (_ANY if resource == _ANY else resource), not_resource


_ANY = ("*",)
"""``"Resource": "*"``, the one resource list most documents share: one tuple for all."""


def _check_resource(value: str, path: str) -> None:
    if value == "*":
        return
    if ":" not in value:
        _fail(f'Resource {value} must be in ARN format or "*".', path, "not an ARN")
    parts = value.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        _fail(LEGACY, path, f"`{value}` is not `arn:partition:service:region:account:resource`")
    partition, service = parts[1], parts[2]
    if partition != "*" and partition not in arn.PARTITIONS:
        _fail(f'Partition "{partition}" is not valid for resource "{value}".', path, "")
    if not service or "*" in service or "?" in service:
        _fail(
            "Resource vendor must be fully qualified and cannot contain regexes.",
            path,
            f"`{value}`",
        )


def _principals(
    raw: Mapping[str, Any], where: str, kind: PolicyKind, effect: str
) -> tuple[PrincipalBlock | None, PrincipalBlock | None]:
    has_principal = "Principal" in raw
    has_not = "NotPrincipal" in raw
    if kind in _NO_PRINCIPAL_KINDS:
        if has_principal or has_not:
            element = "Principal" if has_principal else "NotPrincipal"
            _fail(
                NO_PRINCIPAL_ALLOWED,
                f"{where}.{element}",
                f"a {kind.value} policy's principal is implicit: the identity it is attached to",
            )
        return None, None
    if has_principal and has_not:
        _fail(SYNTAX, where, "a statement may hold `Principal` or `NotPrincipal`, not both")
    if has_not and kind is not PolicyKind.RESOURCE:
        _fail(
            "Has prohibited field NotPrincipal",
            f"{where}.NotPrincipal",
            f"NotPrincipal is not supported in a {kind.value} policy",
        )
    if not has_principal and not has_not:
        _fail(MISSING_PRINCIPAL, where, f"a {kind.value} policy must name who it applies to")
    if has_not:
        if effect == "Allow":
            _fail(
                BAD_PRINCIPAL,
                f"{where}.NotPrincipal",
                "NotPrincipal may only be used "
                "with Deny; use Principal `*` with an `ArnNotEquals aws:PrincipalArn` "
                "condition instead",
            )
        return None, _principal_block(raw["NotPrincipal"], f"{where}.NotPrincipal", negated=True)
    block = _principal_block(raw["Principal"], f"{where}.Principal", negated=False)
    if kind is PolicyKind.RCP and not block.everyone:
        _fail(BAD_PRINCIPAL, f"{where}.Principal", 'a resource control policy must use `"*"`')
    return block, None


def _principal_block(value: object, path: str, *, negated: bool) -> PrincipalBlock:
    if value == "*":
        if negated:
            _fail(BAD_PRINCIPAL, path, '`"*"` cannot be excluded: NotPrincipal `*` matches no one')
        return PrincipalBlock(everyone=True)
    if (type(value) is not dict and not isinstance(value, Mapping)) or not value:
        _fail(BAD_PRINCIPAL, path, 'must be `"*"` or an object such as {"AWS": ...}')
    fields: dict[str, tuple[str, ...]] = {}
    everyone = False
    for key, entries in value.items():
        if key not in _PRINCIPAL_TYPES:
            _fail(
                BAD_PRINCIPAL,
                path,
                f"unknown principal type {errors.shown(key)}; use one of "
                + ", ".join(_PRINCIPAL_TYPES),
            )
        items = _string_list(entries, f"{path}.{key}")
        if key == "AWS":
            everyone = everyone or "*" in items
            items = tuple(_known_aws_principal(item, path) for item in items if item != "*")
            if everyone and negated:
                _fail(BAD_PRINCIPAL, path, "NotPrincipal cannot hold `*`")
        else:
            for item in items:
                _check_named_principal(item, f"{path}.{key}")
        fields[_PRINCIPAL_TYPES[key]] = items
    return _new_principal_block(
        everyone,
        fields.get("aws", ()),
        fields.get("federated", ()),
        fields.get("service", ()),
        fields.get("canonical_user", ()),
    )


def _known_aws_principal(value: str, path: str) -> str:
    if value not in _ACCEPTED_AWS_PRINCIPALS:
        _aws_principal(value, f"{path}.AWS")
        _accepted(_ACCEPTED_AWS_PRINCIPALS, value)
    return value


def _aws_principal(value: str, path: str) -> str:
    """Accept an account id, a role's or user's unique id, or an IAM/STS principal ARN; no
    partial wildcards (A.5, A.8).

    Unique ids (``AROA…``, ``AIDA…``) are how IAM stores a named role or user, and what it
    shows once that role or user is deleted (A.8, A.9): a trust read back from IAM may hold
    them, so they are valid input. Ids of things that are never principals (a group's
    ``AGPA…``, an access key's ``AKIA…``) are refused, saying what they are.
    """
    if "*" in value or "?" in value:
        _fail(BAD_PRINCIPAL, path, f"`{value}`: a wildcard may only stand alone as `*`")
    if arn.is_account_id(value):
        return value
    if principals.unique_id_kind(value) is not None:
        return value
    if not value.startswith("arn:"):
        _fail(BAD_PRINCIPAL, path, _not_an_arn(value))
    try:
        parsed = arn.parse(value)
    except errors.InvalidArnError as exc:
        _fail(BAD_PRINCIPAL, path, exc.reason + f": `{value}`")
    allowed = _PRINCIPAL_ARN_TYPES.get(parsed.service, frozenset())
    if parsed.resource_type not in allowed:
        _fail(BAD_PRINCIPAL, path, f"`{value}` is not an account, user, role or session ARN")
    problem = _principal_arn_problem(parsed)
    if problem:
        _fail(BAD_PRINCIPAL, path, f"`{value}`: {problem}")
    return value


def _not_an_arn(value: str) -> str:
    """Why a non-ARN ``Principal.AWS`` entry is refused, as precisely as its shape allows."""
    for prefix, what in principals.OTHER_ID_PREFIXES.items():
        if value.startswith(prefix) and re.fullmatch(r"[A-Z0-9]{16,128}", value):
            return f"`{value}` is the unique id of {what}, which cannot be a principal"
    if re.fullmatch(r"[0-9]{1,11}|[0-9]{13,}", value):
        return f"`{value}`: an account id has exactly 12 digits"
    return (
        f"`{value}` is not an account id, a role or user unique id (AROA…/AIDA…) or an "
        "IAM/STS principal ARN"
    )


_NAME = re.compile(r"[\w+=,.@-]{1,64}\Z", re.ASCII)
_SESSION = _NAME  # STS needs 2–64 characters; whether IAM refuses 1 in a policy is not known
_PATH_PART = re.compile(r"[\x21-\x7e]+\Z")


def _principal_arn_problem(parsed: arn.Arn) -> str | None:
    """What IAM's principal grammar refuses in an IAM/STS principal ARN (A.9): a region
    (IAM and STS ARNs have none), an account that is not 12 digits, anything after
    ``root``, a missing or malformed name, a session ARN without its session."""
    if parsed.region:
        return f"IAM and STS ARNs have no region (`{parsed.region}`)"
    if not arn.is_account_id(parsed.account):
        return "the account must be 12 digits"
    kind, resource = parsed.resource_type, parsed.resource
    if kind == "root":
        return None if resource == "root" else "the account principal is exactly `:root`"
    pieces = resource.split("/")
    if kind == "assumed-role":
        if len(pieces) != 3 or not _NAME.match(pieces[1]) or not _SESSION.match(pieces[2]):
            return "a session ARN is `assumed-role/ROLE-NAME/SESSION-NAME`"
        return None
    if len(pieces) < 2 or pieces[0] != kind:
        return f"`{kind}/` must be followed by a name"
    if not _NAME.match(pieces[-1]):
        return f"`{pieces[-1]}` is not a valid {kind} name (letters, digits and +=,.@_-)"
    if any(not _PATH_PART.match(part) for part in pieces[1:-1]):
        return "the path must be printable characters without spaces between slashes"
    return None


_FEDERATED_ARN_TYPES = frozenset({"oidc-provider", "saml-provider"})


def _check_named_principal(value: str, path: str) -> None:
    if not value or "*" in value or "?" in value:
        _fail(BAD_PRINCIPAL, path, f"`{value}`: a named principal cannot hold wildcards")
    if path.endswith(".Federated") and value.startswith("arn:"):
        try:
            parsed = arn.parse(value)
        except errors.InvalidArnError as exc:
            _fail(BAD_PRINCIPAL, path, exc.reason + f": `{value}`")
        if parsed.service != "iam" or parsed.resource_type not in _FEDERATED_ARN_TYPES:
            _fail(
                BAD_PRINCIPAL,
                path,
                f"`{value}` is not an IAM OIDC or SAML provider ARN; a federated principal "
                "is a provider (or a web identity provider name such as "
                "`accounts.google.com`)",
            )


def _conditions(raw: object, path: str) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if type(raw) is not dict and not isinstance(raw, Mapping):
        _fail(SYNTAX, path, "a Condition block must be a JSON object")
    result: list[Condition] = []
    for operator, block in raw.items():
        spec = operators.parse_operator(operator)
        if spec is None:
            where = f"{path}.{operator}" if isinstance(operator, str) else path
            _fail(SYNTAX, where, f"unknown condition operator {errors.shown(operator)}")
        if (type(block) is not dict and not isinstance(block, Mapping)) or not block:
            _fail(SYNTAX, f"{path}.{operator}", "must map condition keys to values")
        for key, values in block.items():
            if not isinstance(key, str) or ":" not in key or key.startswith(":"):
                where = f"{path}.{operator}" + (f".{key}" if isinstance(key, str) else "")
                _fail(VENDOR, where, f"condition key {errors.shown(key)} has no service prefix")
            where = f"{path}.{operator}.{key}"
            normalized = _condition_values(values, where)
            problem = operators.check_values(spec.base, normalized)
            if problem:
                _fail(SYNTAX, where, problem)
            result.append(
                Condition(
                    operator=operator,
                    base=spec.base,
                    qualifier=spec.qualifier,
                    if_exists=spec.if_exists,
                    key=key,
                    values=normalized,
                )
            )
    return tuple(result)


def _condition_values(values: object, where: str) -> tuple[str, ...]:
    items = values if isinstance(values, list) else [values]
    result: list[str] = []
    for item in items:
        if isinstance(item, bool):
            result.append("true" if item else "false")
        elif isinstance(item, decimal.Decimal):
            result.append(str(item))
        elif isinstance(item, int | float):
            try:
                result.append(json.dumps(item))
            except ValueError:  # an integer too long to print (Python's 4300-digit guard)
                _fail(SYNTAX, where, "a numeric condition value is too long")
        elif isinstance(item, str):
            result.append(item)
        else:
            _fail(SYNTAX, where, "condition values must be strings, numbers or booleans")
    return tuple(result)
