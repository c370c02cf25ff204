"""Where ``kubetrust verify`` starts: a pod's projected token, a token file, or credentials.

A pod the EKS webhook mutated for Pod Identity (``AWS_CONTAINER_CREDENTIALS_FULL_URI`` and
``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE``, reference F.2) starts with its
``eks-pod-identity-token`` instead — audience ``pods.eks.amazonaws.com`` — minted the same
way, and the chain goes through EKS Auth (:class:`PodIdentityStart`). The webhook gives Pod
Identity precedence over the IRSA annotation, so the pod's own environment says which
path it takes: verify follows it.

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


@dataclass(frozen=True, slots=True)
class PodIdentityStart:
    """A pod's Pod Identity token, and who calls EKS Auth with it.

    On EKS the Pod Identity Agent calls ``AssumeRoleForPodIdentity`` as the node role;
    verify calls it as ``session`` (the current credentials), which therefore needs
    ``eks-auth:AssumeRoleForPodIdentity`` on the cluster, and reads the association with
    ``eks:ListPodIdentityAssociations``/``eks:DescribePodIdentityAssociation``."""

    description: str
    token_step: Step
    cluster: str
    namespace: str
    service_account: str
    session: boto3.session.Session = field(repr=False)
    token: str | None = None
    region: str | None = None

    @property
    def subject(self) -> str:
        return service_account_subject(self.namespace, self.service_account)


Start = WebIdentityStart | SessionStart | PodIdentityStart

IRSA_ENV = ("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")
POD_IDENTITY_ENV = ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
NOT_MUTATED = (
    "the pod has neither AWS_ROLE_ARN/AWS_WEB_IDENTITY_TOKEN_FILE (IRSA) nor "
    "AWS_CONTAINER_CREDENTIALS_FULL_URI/AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (Pod Identity) "
    "with a projected token: the EKS webhook did not mutate it (was the service account "
    "annotated with eks.amazonaws.com/role-arn, or did it have a Pod Identity association, "
    "when the pod was created? A pod created before is never mutated: recreate it)"
)


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


def _read_pod(
    core: kubernetes.client.CoreV1Api, cluster: str, namespace: str, pod: str
) -> dict[str, Any]:
    try:
        pod_object = core.read_namespaced_pod(pod, namespace)
        raw: dict[str, Any] = core.api_client.sanitize_for_serialization(pod_object)
    except ApiException as error:
        if error.status == 404:
            raise errors.InputError(f"no pod {namespace}/{pod} in cluster {cluster}") from None
        message = f"pod {namespace}/{pod} in {cluster}: {error.status} {error.reason}"
        raise VerifyError(message) from None
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise VerifyError(f"cluster {cluster} unreachable: {str(error)[:200]}") from None
    return raw


@dataclass(frozen=True, slots=True)
class _Minted:
    step: Step
    token: str | None = None
    subject: str = ""


def _mint(
    core: kubernetes.client.CoreV1Api, raw: Mapping[str, Any], source: Any, where: str, path: str
) -> _Minted:
    """The kubelet's ``TokenRequest`` for the projected ``source``, bound to the pod."""
    metadata = raw.get("metadata") or {}
    namespace, pod = str(metadata.get("namespace")), str(metadata.get("name"))
    account = str((raw.get("spec") or {}).get("serviceAccountName") or "default")
    subject = service_account_subject(namespace, account)
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
                "uid": metadata.get("uid"),
            },
        },
    }
    try:
        answer = core.create_namespaced_service_account_token(account, namespace, body)
    except ApiException as error:
        detail = f"TokenRequest for {namespace}/{account}: {error.status} {error.reason}"
        return _Minted(
            Step(StepKind.TOKEN, where, subject, Outcome.FAIL, detail, str(error.status))
        )
    if answer.status is None:
        detail = f"TokenRequest for {namespace}/{account}: answered without a status"
        return _Minted(Step(StepKind.TOKEN, where, subject, Outcome.FAIL, detail, "NoStatus"))
    token = str(answer.status.token)
    found = claims(token)
    detail = f"TokenRequest bound to the pod: sub {found.get('sub')}, aud {found.get('aud')}"
    facts = {"claims": {k: found.get(k) for k in ("iss", "sub", "aud", "exp")}, "file": path}
    step = Step(StepKind.TOKEN, where, subject, Outcome.PASS, detail, facts=facts)
    return _Minted(step, token, str(found.get("sub") or subject))


def pod_start(
    api: kubernetes.client.ApiClient,
    cluster: str,
    namespace: str,
    pod: str,
    container: str | None = None,
    *,
    aws: boto3.session.Session | None = None,
    region: str | None = None,
) -> WebIdentityStart | PodIdentityStart:
    """The start of a pod's chain (module doc): Pod Identity when the webhook mutated the
    pod for it (EKS Auth is then called as ``aws``, in ``region``), else IRSA. Raises
    :class:`VerifyError` when the pod cannot be read; a pod the webhook did not mutate
    gives a failed token step."""
    core = kubernetes.client.CoreV1Api(api)
    raw = _read_pod(core, cluster, namespace, pod)
    spec = raw.get("spec") or {}
    account = str(spec.get("serviceAccountName") or "default")
    subject = service_account_subject(namespace, account)
    where = f"pod {namespace}/{pod} in cluster {cluster}"
    chosen = _container(raw, container)
    env = _env(chosen)
    pod_identity_path = env.get(POD_IDENTITY_ENV[1]) if env.get(POD_IDENTITY_ENV[0]) else None
    if pod_identity_path and aws is not None:
        source = _token_source(spec, chosen, pod_identity_path)
        if source is not None:
            minted = _mint(core, raw, source, where, pod_identity_path)
            return PodIdentityStart(
                where, minted.step, cluster, namespace, account, aws, minted.token, region
            )
    role_arn, path = env.get("AWS_ROLE_ARN"), env.get("AWS_WEB_IDENTITY_TOKEN_FILE")
    source = _token_source(spec, chosen, path) if path else None
    if not role_arn or not path or source is None:
        step = Step(StepKind.TOKEN, where, subject, Outcome.FAIL, NOT_MUTATED)
        return WebIdentityStart(where, step, None, role_arn, subject)
    minted = _mint(core, raw, source, where, path)
    return WebIdentityStart(where, minted.step, minted.token, role_arn, minted.subject or subject)


def pods_of(api: kubernetes.client.ApiClient, namespace: str, service_account: str) -> list[str]:
    """The pods of ``service_account``, those the webhook mutated for Pod Identity first
    (a pod created before its association is not mutated: it comes last, and verify from it
    says so). Raises :class:`VerifyError` when the pods cannot be listed."""
    core = kubernetes.client.CoreV1Api(api)
    try:
        listed = core.list_namespaced_pod(namespace)
    except ApiException as error:
        raise VerifyError(f"list pods in {namespace}: {error.status} {error.reason}") from None
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise VerifyError(f"cluster unreachable: {str(error)[:200]}") from None
    mutated: list[str] = []
    others: list[str] = []
    for item in api.sanitize_for_serialization(listed).get("items") or []:  # type: ignore[no-untyped-call]
        metadata, spec = item.get("metadata") or {}, item.get("spec") or {}
        if (spec.get("serviceAccountName") or "default") != service_account:
            continue
        if metadata.get("deletionTimestamp"):
            continue
        names = {e.get("name") for c in spec.get("containers") or [] for e in c.get("env") or []}
        (mutated if set(POD_IDENTITY_ENV) <= names else others).append(str(metadata.get("name")))
    return mutated + others


def service_account_start(
    api: kubernetes.client.ApiClient,
    cluster: str,
    namespace: str,
    service_account: str,
    *,
    aws: boto3.session.Session,
    region: str | None = None,
) -> WebIdentityStart | PodIdentityStart:
    """The start from one pod of ``service_account`` (:func:`pods_of`); with no pod, a
    failed token step: EKS Auth takes only a token bound to a pod, and verify creates
    nothing."""
    found = pods_of(api, namespace, service_account)
    if found:
        return pod_start(api, cluster, namespace, found[0], aws=aws, region=region)
    where = f"service account {namespace}/{service_account} in cluster {cluster}"
    detail = (
        f"no pod of service account {namespace}/{service_account}: a Pod Identity token must "
        "be bound to a pod (EKS Auth refuses any other) and verify creates nothing; start a "
        "pod of it, or name one with --pod"
    )
    step = Step(
        StepKind.TOKEN, where, service_account_subject(namespace, service_account),
        Outcome.FAIL, detail, "NoPod",
    )  # fmt: skip
    return PodIdentityStart(where, step, cluster, namespace, service_account, aws, None, region)


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
