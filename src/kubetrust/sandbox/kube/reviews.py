"""``SelfSubjectReview`` (``kubectl auth whoami``), ``SelfSubjectAccessReview``
(``kubectl auth can-i``) and ``SelfSubjectRulesReview`` (``kubectl auth can-i --list``):
virtual kinds answered from the request's user, never stored.

The rules review lists the RBAC rules of every ClusterRoleBinding, and RoleBinding of
``spec.namespace``, that names the user (:func:`kubetrust.chain.rbac.rules_for` over the
stored objects), as upstream's RBAC ``RulesFor``: EKS access policies are not RBAC and are
not listed (reference E.4), and ``system:masters`` gets what its bindings give. The answer
is marked incomplete, as on EKS: its authorizer chain has a webhook (access policies), and
upstream's webhook authorizer cannot enumerate rules, so the apiserver adds
``incomplete: true`` with "webhook authorizer does not support user rule resolution"
(kubernetes/kubernetes#65744; seen on EKS in mckinsey/agents-at-scale-ark#2870), and kubectl
warns "the list may be incomplete".

kubectl posts these with ``Content-Type: application/vnd.kubernetes.protobuf`` and takes a
JSON answer. A SelfSubjectReview body carries nothing the answer needs; the access and rules
reviews' specs are read from JSON or, for protobuf, from the ``k8s\\x00`` envelope with the
small wire-format reader in :mod:`~kubetrust.sandbox.kube.protowire`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request

from kubetrust.chain import rbac
from kubetrust.model.kube import PolicyRule, RbacObjects
from kubetrust.sandbox.kube import auth, bodies, status

AUTHENTICATION = "authentication.k8s.io/v1"
AUTHORIZATION = "authorization.k8s.io/v1"


def review(
    kind: str,
    user: auth.User,
    request: Request,
    authorize: auth.Authorize,
    rbac_objects: Callable[[], RbacObjects] = RbacObjects,
) -> Any:
    """The answer to a POSTed review of ``kind``; ``rbac_objects`` reads the cluster's
    stored RBAC objects (for the rules review)."""
    if kind == "SelfSubjectReview":
        return {
            "kind": kind,
            "apiVersion": AUTHENTICATION,
            "metadata": {"creationTimestamp": None},
            "status": {"userInfo": user.user_info()},
        }
    if kind == "SelfSubjectRulesReview":
        spec = _spec(request, kind)
        namespace = spec.get("namespace") or ""
        if not isinstance(namespace, str):
            raise status.bad_request("spec.namespace must be a string")
        found = rbac.rules_for(
            user.username,
            user.groups,
            namespace,
            rbac_objects(),
            defaults=False,
            authenticated=False,
        )
        return {
            "kind": kind,
            "apiVersion": AUTHORIZATION,
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": rules_status(found),
        }
    if kind == "SelfSubjectAccessReview":
        spec = _spec(request, kind)
        return {
            "kind": kind,
            "apiVersion": AUTHORIZATION,
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": _decide(user, spec, authorize),
        }
    raise status.ApiError("MethodNotAllowed", f"{kind} is not served")


WEBHOOK_RULES_ERROR = "webhook authorizer does not support user rule resolution"


def rules_status(rules: tuple[PolicyRule, ...]) -> dict[str, Any]:
    """A ``SubjectRulesReviewStatus``: each rule with resources as a resource rule, each with
    URLs as a non-resource rule (upstream ``RBACAuthorizer.RulesFor``); incomplete because
    of EKS's webhook authorizer (module doc)."""
    resource_rules = []
    non_resource_rules = []
    for rule in rules:
        if rule.resources:
            entry: dict[str, list[str]] = {"verbs": list(rule.verbs)}
            for field, values in (
                ("apiGroups", rule.api_groups),
                ("resources", rule.resources),
                ("resourceNames", rule.resource_names),
            ):
                if values:
                    entry[field] = list(values)
            resource_rules.append(entry)
        if rule.non_resource_urls:
            non_resource_rules.append(
                {"verbs": list(rule.verbs), "nonResourceURLs": list(rule.non_resource_urls)}
            )
    return {
        "resourceRules": resource_rules,
        "nonResourceRules": non_resource_rules,
        "incomplete": True,
        "evaluationError": WEBHOOK_RULES_ERROR,
    }


def _spec(request: Request, kind: str) -> dict[str, Any]:
    data = bodies.raw(request)
    media = request.headers.get("Content-Type", "application/json").split(";")[0].strip()
    if "protobuf" in media:
        spec = bodies.decode_protobuf(data, kind).get("spec")
        return spec if isinstance(spec, dict) else {}
    body = bodies.parse_json(data) if data else {}
    spec = body.get("spec") if isinstance(body, dict) else None
    if not isinstance(spec, dict):
        raise status.bad_request("spec is required")
    return spec


def _decide(user: auth.User, spec: dict[str, Any], authorize: auth.Authorize) -> dict[str, Any]:
    attributes = spec.get("resourceAttributes")
    if isinstance(attributes, dict):
        resource = auth.GroupResource(
            str(attributes.get("group") or ""),
            str(attributes.get("resource") or ""),
            str(attributes.get("subresource") or ""),
        )
        allowed, reason = authorize(
            user,
            str(attributes.get("verb") or ""),
            resource,
            attributes.get("namespace") or None,
            attributes.get("name") or None,
        )
    else:
        other = spec.get("nonResourceAttributes") or {}
        if not isinstance(other, dict):
            raise status.bad_request("nonResourceAttributes must be an object")
        # a non-resource URL is authorized as resource "" with the path as the name
        allowed, reason = authorize(
            user,
            str(other.get("verb") or ""),
            auth.GroupResource("", ""),
            None,
            str(other.get("path") or ""),
        )
    answer: dict[str, Any] = {"allowed": allowed}
    if reason:
        answer["reason"] = reason
    return answer
