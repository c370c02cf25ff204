"""Where ``kubetrust verify`` starts: a pod's projected token, a token file, or credentials.

A pod's chain starts with the token the kubelet would mount for it: the webhook-injected
``AWS_WEB_IDENTITY_TOKEN_FILE`` names a file of the projected ``serviceAccountToken`` volume
(reference C.1, C.4), whose audience and lifetime the pod spec holds. The token is minted
the kubelet's way — a ``TokenRequest`` for the pod's service account, bound to the pod — so
that STS sees exactly what the pod would send. ``AWS_ROLE_ARN`` is the role the SDK in the
pod would assume.

Inside a real pod (or anywhere ``AWS_WEB_IDENTITY_TOKEN_FILE`` and ``AWS_ROLE_ARN`` are set)
the token file itself is the start; elsewhere, the current credentials are.
"""

from __future__ import annotations

import base64
import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import kubernetes.client
import urllib3.exceptions
from kubernetes.client.exceptions import ApiException

from kubetrust import errors
from kubetrust.explain.verify_model import Outcome, Step, StepKind
from kubetrust.model.vocabulary import service_account_subject


class VerifyError(errors.KubetrustError):
    """Verify cannot start (no such pod, no credentials, an unreadable token file)."""


@dataclass(frozen=True, slots=True)
class WebIdentityStart:
    """A web-identity token, and the role the workload would assume with it."""

    description: str
    token_step: Step
    token: str | None = None
    role_arn: str | None = None
    subject: str = ""


@dataclass(frozen=True, slots=True)
class SessionStart:
    """The current credentials (a profile, the environment, the default chain)."""

    description: str
    session: boto3.session.Session = field(repr=False)


Start = WebIdentityStart | SessionStart


def claims(token: str) -> dict[str, Any]:
    """The JWT's payload, unverified: only to say what the token claims (STS verifies)."""
    try:
        payload = token.split(".")[1]
        decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _env(container: Mapping[str, Any]) -> dict[str, str]:
    return {
        str(item.get("name")): str(item.get("value"))
        for item in container.get("env") or []
        if item.get("value") is not None
    }


def _token_source(spec: Mapping[str, Any], container: Mapping[str, Any], path: str) -> Any:
    """The ``serviceAccountToken`` projection mounted at ``path`` in ``container``."""
    folder, name = posixpath.split(path)
    mounts = {m.get("name"): m.get("mountPath") for m in container.get("volumeMounts") or []}
    for volume in spec.get("volumes") or []:
        if mounts.get(volume.get("name")) != folder:
            continue
        for source in (volume.get("projected") or {}).get("sources") or []:
            token = source.get("serviceAccountToken")
            if token is not None and token.get("path") == name:
                return token
    return None


def _container(pod: Mapping[str, Any], name: str | None) -> Mapping[str, Any]:
    containers = (pod.get("spec") or {}).get("containers") or []
    for container in containers:
        if name is None or container.get("name") == name:
            return dict(container)
    raise VerifyError(f"the pod has no container `{name}`" if name else "the pod has no container")


def pod_start(
    api: kubernetes.client.ApiClient,
    cluster: str,
    namespace: str,
    pod: str,
    container: str | None = None,
) -> WebIdentityStart:
    """The start of a pod's chain (module doc). Raises :class:`VerifyError` when the pod
    cannot be read; a pod the webhook did not mutate gives a failed token step."""
    core = kubernetes.client.CoreV1Api(api)
    try:
        pod_object = core.read_namespaced_pod(pod, namespace)
        raw = api.sanitize_for_serialization(pod_object)  # type: ignore[no-untyped-call]
    except ApiException as error:
        if error.status == 404:
            raise errors.InputError(f"no pod {namespace}/{pod} in cluster {cluster}") from None
        message = f"pod {namespace}/{pod} in {cluster}: {error.status} {error.reason}"
        raise VerifyError(message) from None
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise VerifyError(f"cluster {cluster} unreachable: {str(error)[:200]}") from None
    spec = raw.get("spec") or {}
    account = str(spec.get("serviceAccountName") or "default")
    subject = service_account_subject(namespace, account)
    where = f"pod {namespace}/{pod} in cluster {cluster}"
    chosen = _container(raw, container)
    env = _env(chosen)
    role_arn, path = env.get("AWS_ROLE_ARN"), env.get("AWS_WEB_IDENTITY_TOKEN_FILE")
    source = _token_source(spec, chosen, path) if path else None
    if not role_arn or not path or source is None:
        detail = (
            "the pod has no AWS_ROLE_ARN/AWS_WEB_IDENTITY_TOKEN_FILE with a projected token: "
            "the IRSA webhook did not mutate it (was the service account annotated with "
            "eks.amazonaws.com/role-arn when the pod was created?)"
        )
        step = Step(StepKind.TOKEN, where, subject, Outcome.FAIL, detail)
        return WebIdentityStart(where, step, None, role_arn, subject)
    body: Any = {  # a plain dict, serialized as it is
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {
            "audiences": [source.get("audience")] if source.get("audience") else [],
            "expirationSeconds": int(source.get("expirationSeconds") or 3600),
            "boundObjectRef": {
                "kind": "Pod",
                "apiVersion": "v1",
                "name": pod,
                "uid": (raw.get("metadata") or {}).get("uid"),
            },
        },
    }
    try:
        answer = core.create_namespaced_service_account_token(account, namespace, body)
    except ApiException as error:
        detail = f"TokenRequest for {namespace}/{account}: {error.status} {error.reason}"
        step = Step(StepKind.TOKEN, where, subject, Outcome.FAIL, detail, str(error.status))
        return WebIdentityStart(where, step, None, role_arn, subject)
    if answer.status is None:
        detail = f"TokenRequest for {namespace}/{account}: answered without a status"
        step = Step(StepKind.TOKEN, where, subject, Outcome.FAIL, detail, "NoStatus")
        return WebIdentityStart(where, step, None, role_arn, subject)
    token = str(answer.status.token)
    found = claims(token)
    detail = f"TokenRequest bound to the pod: sub {found.get('sub')}, aud {found.get('aud')}"
    facts = {"claims": {k: found.get(k) for k in ("iss", "sub", "aud", "exp")}, "file": path}
    step = Step(StepKind.TOKEN, where, subject, Outcome.PASS, detail, facts=facts)
    return WebIdentityStart(where, step, token, role_arn, str(found.get("sub") or subject))


def token_file_start(environ: Mapping[str, str]) -> WebIdentityStart | None:
    """The start inside a pod: ``AWS_WEB_IDENTITY_TOKEN_FILE`` and ``AWS_ROLE_ARN`` as the
    SDK reads them; ``None`` when they are not both set."""
    path, role_arn = environ.get("AWS_WEB_IDENTITY_TOKEN_FILE"), environ.get("AWS_ROLE_ARN")
    if not path or not role_arn:
        return None
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise VerifyError(f"AWS_WEB_IDENTITY_TOKEN_FILE {path}: {error}") from None
    found = claims(token)
    subject = str(found.get("sub") or "web identity")
    where = f"token file {path}"
    detail = f"read: sub {found.get('sub')}, aud {found.get('aud')}"
    facts = {"claims": {k: found.get(k) for k in ("iss", "sub", "aud", "exp")}, "file": path}
    step = Step(StepKind.TOKEN, where, subject, Outcome.PASS, detail, facts=facts)
    return WebIdentityStart(where, step, token, role_arn, subject)
