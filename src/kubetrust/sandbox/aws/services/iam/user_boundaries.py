"""IAM users' permissions boundaries: held by the sandbox, because moto keeps none.

moto's ``CreateUser`` ignores ``PermissionsBoundary`` and moto has no
``PutUserPermissionsBoundary`` or ``DeleteUserPermissionsBoundary``: a user created with a
boundary acted without one, allowed where AWS denies. So the sandbox holds each user's
boundary itself (:class:`UserBoundaries`, one per running sandbox, made by its server),
keyed by the user's unique id (``AIDA…``): a user renamed keeps its boundary, a user
deleted and created again under the same name has none (reference A.9).

What IAM does, and the gate does here before moto sees the call (:meth:`UserBoundaries.check`):

- ``CreateUser`` with ``PermissionsBoundary``, ``PutUserPermissionsBoundary`` (and, for roles,
  ``CreateRole`` and ``PutRolePermissionsBoundary``, which moto checks by pattern only):
  the boundary must be a managed policy — AWS managed, or customer managed in the
  account ("You can use an AWS managed policy or a customer managed policy to set the
  boundary", API reference). A value that is no managed-policy ARN is ``InvalidInput``
  ([uncertain] IAM's text for a boundary; ours is the gate's ``ARN … is not valid.``); a
  policy that does not exist is ``NoSuchEntity`` (404) "Scope ARN: <arn> does not exist or
  is not attachable." (IAM's text as reported, openshift/rosa and terraform users);
- ``PutUserPermissionsBoundary``/``DeleteUserPermissionsBoundary`` of a user that does not
  exist: ``NoSuchEntity`` with IAM's "cannot be found" text ([uncertain] whether IAM checks
  the user or the policy first: ours, the user); both are answered here (:meth:`answer`),
  ``DeleteUserPermissionsBoundary`` of a user without one succeeds ([uncertain]);
- ``DeletePolicy`` of a policy that is a user's or a role's boundary: ``DeleteConflict``
  (409) "Cannot delete a policy attached to entities." (gruntwork-io/cloud-nuke#972: IAM
  refuses it until the boundary is removed; moto counts attachments only, so a boundary
  policy could be deleted and its users and roles went unbounded).

What IAM shows (:meth:`shown`): ``GetUser``, ``CreateUser`` and the ``UserDetailList`` of
``GetAccountAuthorizationDetails`` carry ``PermissionsBoundary``
(``PermissionsBoundaryType`` ``PermissionsBoundaryPolicy`` and the ARN); ``ListUsers``
does not ("This operation does not return the following attributes …: PermissionsBoundary,
Tags", ListUsers API reference).

Enforcement reads :meth:`UserBoundaries.arn_of` (``kubetrust.sandbox.aws.identity``): the
boundary binds the user's own calls and the sessions it makes with
``GetSessionToken``/``GetFederationToken`` (a session's permissions are those of the user
that made it, intersected with its session policies: IAM UG, "Permissions boundaries for
IAM entities", session policies).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from kubetrust.sandbox.aws import state, wire
from kubetrust.sandbox.aws.request import RawRequest

__all__ = ["UserBoundaries", "call_parameters", "check_boundary_arn"]

_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
_MANAGED_POLICY = re.compile(r"arn:[a-z-]+:iam::(aws|\d{12}):policy/\S+\Z")
_BOUNDED_WRITES = frozenset(
    {"CreateUser", "PutUserPermissionsBoundary", "CreateRole", "PutRolePermissionsBoundary"}
)
_ANSWERED = frozenset({"PutUserPermissionsBoundary", "DeleteUserPermissionsBoundary"})
_USER_FIELDS = re.compile(
    # a user's id, then its ARN and creation date (and the last use of its password), after
    # which IAM's User shape places PermissionsBoundary
    rb"<UserId>(?P<id>[^<]*)</UserId>(?:(?!<UserId>).)*?</CreateDate>"
    rb"(?:\s*<PasswordLastUsed>[^<]*</PasswordLastUsed>)?",
    re.DOTALL,
)
_SHOWN_IN = frozenset({"GetUser", "CreateUser", "GetAccountAuthorizationDetails"})


def call_parameters(request: RawRequest) -> dict[str, list[str]]:
    """A query call's parameters as the gate identified it and moto gets them: the query
    string merged with the form, the form winning."""
    merged = parse_qs(request.raw_query, keep_blank_values=True)
    merged.update(request.form())
    return merged


def check_boundary_arn(account: str, boundary_arn: str) -> None:
    """Refuse a permissions boundary IAM refuses (module doc): it must name a managed
    policy that exists, AWS managed or of ``account``."""
    if _MANAGED_POLICY.match(boundary_arn) is None:
        shown = boundary_arn if len(boundary_arn) <= 200 else boundary_arn[:200] + "..."
        raise wire.AwsError("InvalidInput", f"ARN {shown} is not valid.", 400)
    owner = boundary_arn.split(":", 5)[4]
    found = owner in ("aws", account) and state.managed_policy_document(account, boundary_arn)
    if not found:
        raise wire.AwsError(
            "NoSuchEntity",
            f"Scope ARN: {boundary_arn} does not exist or is not attachable.",
            404,
        )


class UserBoundaries:
    """The permissions boundary of each IAM user of a sandbox's accounts (module doc)."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, str], str] = {}  # (account, user id) → policy ARN
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ the store
    def arn_of(self, account: str, user_id: str) -> str | None:
        """The boundary's policy ARN of the user whose unique id is ``user_id``, if any."""
        with self._lock:
            return self._held.get((account, user_id))

    def put(self, account: str, user_id: str, boundary_arn: str) -> None:
        with self._lock:
            self._held[(account, user_id)] = boundary_arn

    def delete(self, account: str, user_id: str) -> None:
        with self._lock:
            self._held.pop((account, user_id), None)

    def users_bounded_by(self, account: str, policy_arn: str) -> int:
        """How many users of ``account`` that still exist have ``policy_arn`` as boundary."""
        with self._lock:
            held = list(self._held.items())
        ids = [uid for (acct, uid), arn in held if (acct, arn) == (account, policy_arn)]
        return sum(1 for uid in ids if state.user_by_id(account, uid) is not None)

    def forget_deleted(self, account: str) -> None:
        """Drop the boundaries of ``account``'s users that no longer exist (``DeleteUser``)."""
        with self._lock:
            held = [uid for (acct, uid) in self._held if acct == account]
        gone = [uid for uid in held if state.user_by_id(account, uid) is None]
        with self._lock:
            for uid in gone:
                self._held.pop((account, uid), None)

    # ------------------------------------------------------------------ IAM's calls
    def check(self, operation: str, form: Mapping[str, list[str]], account: str) -> None:
        """IAM's refusals of an authorized call, before moto or :meth:`answer` runs it."""
        if not account.isdigit():
            return
        boundary = _first(form, "PermissionsBoundary")
        if operation in _ANSWERED:
            _existing_user(account, _first(form, "UserName"))
        if boundary and operation in _BOUNDED_WRITES:
            check_boundary_arn(account, boundary)
        if operation == "DeletePolicy":
            self._check_not_a_boundary(account, _first(form, "PolicyArn"))

    def _check_not_a_boundary(self, account: str, policy_arn: str) -> None:
        if not policy_arn:
            return
        uses = self.users_bounded_by(account, policy_arn) + state.roles_bounded_by(
            account, policy_arn
        )
        if uses:
            raise wire.AwsError(
                "DeleteConflict", "Cannot delete a policy attached to entities.", 409
            )

    def answer(
        self, operation: str, form: Mapping[str, list[str]], account: str, request_id: str
    ) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """The user-boundary calls moto lacks, answered here once :meth:`check` passed;
        ``None`` for every other call (moto runs it)."""
        if operation not in _ANSWERED:
            return None
        user_id = _existing_user(account, _first(form, "UserName"))
        if operation == "PutUserPermissionsBoundary":
            self.put(account, user_id, _first(form, "PermissionsBoundary"))
        else:
            self.delete(account, user_id)
        body = (
            f'<{operation}Response xmlns="{_NAMESPACE}"><ResponseMetadata><RequestId>'
            f"{request_id}</RequestId></ResponseMetadata></{operation}Response>"
        ).encode()
        return 200, [("Content-Type", "text/xml")], body

    def stored(self, operation: str, form: Mapping[str, list[str]], account: str) -> None:
        """What moto's successful answer changed: ``CreateUser``'s boundary is the new user's
        (its IAM id adopted already), ``DeleteUser`` drops the deleted user's."""
        if operation == "CreateUser":
            boundary = _first(form, "PermissionsBoundary")
            user = state.user_facts(account, _first(form, "UserName"))
            if boundary and user is not None:
                self.put(account, user.id, boundary)
        elif operation == "DeleteUser":
            self.forget_deleted(account)

    def shown(self, operation: str, account: str, body: bytes) -> bytes:
        """moto's answer with each user's ``PermissionsBoundary`` where IAM shows it."""
        if operation not in _SHOWN_IN:
            return body

        def add(match: re.Match[bytes]) -> bytes:
            boundary = self.arn_of(account, match.group("id").decode())
            if boundary is None:
                return match.group(0)
            return (
                match.group(0)
                + (
                    "<PermissionsBoundary><PermissionsBoundaryType>PermissionsBoundaryPolicy"
                    f"</PermissionsBoundaryType><PermissionsBoundaryArn>{escape(boundary)}"
                    "</PermissionsBoundaryArn></PermissionsBoundary>"
                ).encode()
            )

        return _USER_FIELDS.sub(add, body)


def _first(form: Mapping[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0]


def _existing_user(account: str, name: str) -> str:
    """The unique id of the user ``name``, or IAM's ``NoSuchEntity`` (moto's text, IAM's)."""
    user = state.user_facts(account, name) if name else None
    if user is None:
        raise wire.AwsError("NoSuchEntity", f"The user with name {name} cannot be found.", 404)
    return user.id
