"""Kubernetes checks of ``kubetrust verify``: who the cluster says the session is, and what
it may do — ``SelfSubjectReview`` (``kubectl auth whoami``) and ``SelfSubjectAccessReview``
(``kubectl auth can-i``), both answered by the cluster's own authenticator and authorizer
for the bearer token sent, without touching any object.

A 401 means the cluster did not accept or did not map the session (aws-auth, access
entries); the reviews then cannot run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import kubernetes.client
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

from kubetrust import arn, errors
from kubetrust.explain.verify_model import (
    IdentityExpectation,
    KubeExpectation,
    Outcome,
    Step,
    StepKind,
)


def _failure(error: Exception) -> tuple[str, str]:
    if isinstance(error, ApiException):
        if error.status == 401:
            return "401", (
                "Unauthorized: the cluster does not map this session (no aws-auth mapping or "
                "access entry for its role, or one the authentication mode ignores)"
            )
        return str(error.status), f"{error.status} {error.reason}"
    return "", f"unreachable: {str(error)[:200]}"


def _rendered(template: str, session_arn: str, session_name: str) -> str | None:
    """A username template as the authenticator renders it for this session, or ``None``
    for a placeholder verify cannot know (``{{EC2PrivateDNSName}}``...)."""
    try:
        account = arn.parse(session_arn).account
    except errors.InvalidArnError:
        account = ""
    text = template.replace("{{SessionName}}", session_name).replace("{{AccountID}}", account)
    text = text.replace("{{SessionNameRaw}}", session_name)
    return None if "{{" in text else text


def whoami(
    api: kubernetes.client.ApiClient,
    caller: str,
    cluster: str,
    expected: Sequence[IdentityExpectation],
    session_name: str,
) -> Step:
    """The cluster's identity for the session, checked against ``expected``."""
    # The client serializes a plain dict as it is; its models would add nothing here.
    body: Any = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    try:
        answer = kubernetes.client.AuthenticationV1Api(api).create_self_subject_review(body)
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
        code, detail = _failure(error)
        return Step(StepKind.KUBE_IDENTITY, caller, cluster, Outcome.FAIL, detail, code)
    info = answer.status.user_info if answer.status else None
    if info is None:
        detail = "SelfSubjectReview answered without a status.userInfo"
        return Step(StepKind.KUBE_IDENTITY, caller, cluster, Outcome.FAIL, detail, "NoStatus")
    username, groups = str(info.username), [str(g) for g in info.groups or []]
    facts: dict[str, Any] = {"username": username, "groups": groups}
    detail = f"user `{username}`, groups {groups}"
    problems = []
    for expectation in expected:
        wanted = (
            _rendered(expectation.username, caller, session_name) if expectation.username else None
        )
        if wanted is not None and wanted != username:
            problems.append(f"expected user `{wanted}`")
        missing = [g for g in expectation.groups if g not in groups]
        if missing:
            problems.append(f"expected groups {missing} missing")
    if problems:
        detail += ": " + "; ".join(problems)
        return Step(StepKind.KUBE_IDENTITY, caller, cluster, Outcome.FAIL, detail, facts=facts)
    return Step(StepKind.KUBE_IDENTITY, caller, cluster, Outcome.PASS, detail, facts=facts)


def can_i(api: kubernetes.client.ApiClient, caller: str, expectation: KubeExpectation) -> Step:
    """One ``SelfSubjectAccessReview`` for ``expectation``."""
    request = expectation.request
    target = f"{request.describe()} in cluster {expectation.cluster}"
    if request.is_resource_request:
        attributes: dict[str, Any] = {
            "resourceAttributes": {
                "verb": request.verb,
                "resource": request.resource,
                "group": request.group,
                "subresource": request.subresource,
                "namespace": request.namespace,
                "name": request.name,
            }
        }
    else:
        attributes = {"nonResourceAttributes": {"verb": request.verb, "path": request.path}}
    body: Any = {  # a plain dict, serialized as it is
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": attributes,
    }
    try:
        review = kubernetes.client.AuthorizationV1Api(api).create_self_subject_access_review(body)
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as error:
        code, detail = _failure(error)
        return Step(StepKind.KUBE_ACCESS, caller, target, Outcome.FAIL, detail, code)
    status = review.status
    if status is None:
        detail = "SelfSubjectAccessReview answered without a status"
        return Step(StepKind.KUBE_ACCESS, caller, target, Outcome.FAIL, detail, "NoStatus")
    reason = f": {status.reason}" if status.reason else ""
    if status.allowed:
        detail = f"SelfSubjectAccessReview: allowed{reason}"
        return Step(StepKind.KUBE_ACCESS, caller, target, Outcome.PASS, detail)
    detail = f"SelfSubjectAccessReview: denied{reason}"
    return Step(StepKind.KUBE_ACCESS, caller, target, Outcome.FAIL, detail)
