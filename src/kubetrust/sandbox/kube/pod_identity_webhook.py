"""The EKS-hosted webhook's EKS Pod Identity mutation of a new pod (reference F.2, F.6).

EKS runs one webhook (amazon-eks-pod-identity-webhook) for both IRSA and Pod Identity. When
the pod's (namespace, service account) has a Pod Identity association *at admission*, the
webhook takes its "container credentials" branch, which **takes precedence** over the IRSA
annotation (``buildPodPatchConfig``: the web-identity branch is an ``else``): the pod gets
this mutation and never ``AWS_ROLE_ARN``/``AWS_WEB_IDENTITY_TOKEN_FILE``. Only pod CREATEs
are mutated, so a pod created before its association gets nothing until it is recreated.

Field by field, as ``getPodSpecPatch``/``addEnvToContainer`` write it:

* per container and initContainer not named in ``eks.amazonaws.com/skip-containers``, env
  **appended in this order**: ``AWS_STS_REGIONAL_ENDPOINTS=regional`` (regional STS is on
  for EKS and the container does not set it), ``AWS_DEFAULT_REGION`` then ``AWS_REGION``
  (the container sets neither), ``AWS_CONTAINER_CREDENTIALS_FULL_URI`` then
  ``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`` (the container sets neither). A container
  that sets a container-credentials var, a region var and the STS var is left alone;
  otherwise it gets a read-only mount of ``eks-pod-identity-token`` at
  ``/var/run/secrets/pods.eks.amazonaws.com/serviceaccount`` unless it mounts that volume;
* the projected volume ``eks-pod-identity-token`` (``serviceAccountToken{audience:
  pods.eks.amazonaws.com, expirationSeconds, path: eks-pod-identity-token}``) is inserted
  **first** in ``spec.volumes`` unless a volume of that name exists; the API server's
  defaulting then adds ``defaultMode: 420`` (what the user guide shows);
* ``expirationSeconds``: pod annotation > SA annotation ``eks.amazonaws.com/token-expiration``
  > 86400, under 600 raised to 600; the default 86400 itself is jittered to a value in
  [79200, 86400] (:data:`JITTER_RANGE`; the draw is the webhook object's ``draw``, so tests
  can make it deterministic);
* the label ``eks.amazonaws.com/pod-identity: enabled`` (:data:`POD_IDENTITY_LABEL`, newer
  webhooks; a choice, see there);
* a pod that already has a volume named ``eks-pod-identity-token`` which is not a projected
  service-account token is not mutated at all (:func:`conflicting_volume`; the webhook's
  ``rawPodWithConflictingVolumeMount`` fixture: no env pointing at a token that is not there).

What "has an association" means is the EKS API's business: the webhook sees it only through
:class:`ServiceAccountAssociations`, which the EKS control plane implements over the
association store (``kube`` never imports the AWS side).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubetrust.sandbox.kube import irsa

Obj = dict[str, Any]
FULL_URI_ENV = "AWS_CONTAINER_CREDENTIALS_FULL_URI"
TOKEN_FILE_ENV = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
CONTAINER_CREDENTIALS_KEYS = (FULL_URI_ENV, TOKEN_FILE_ENV)
AGENT_URI = "http://169.254.170.23/v1/credentials"
"""``--container-credentials-full-uri`` as EKS runs it: the Pod Identity Agent's address."""
AUDIENCE = "pods.eks.amazonaws.com"
MOUNT_PATH = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"
VOLUME = "eks-pod-identity-token"
TOKEN_PATH = "eks-pod-identity-token"
TOKEN_FILE = f"{MOUNT_PATH}/{TOKEN_PATH}"
JITTER_RANGE = (79200, 86400)
"""``addJitterToDefaultToken`` (webhook commit 0d3fed42): the default 86400 s becomes a
random value in this closed range; an explicit annotation is kept as written."""
POD_IDENTITY_LABEL = ("eks.amazonaws.com/pod-identity", "enabled")
"""Added by the webhook since 2026-03-31 (commit b326ac6d) to every pod it mutates for Pod
Identity. Chosen: the sandbox emulates the current webhook, so mutated pods carry it (and
``kubectl get pods -l eks.amazonaws.com/pod-identity=enabled`` finds them). Set to ``None``
to emulate an older webhook."""


class ServiceAccountAssociations(Protocol):
    """Whether a service account of one cluster has a Pod Identity association now."""

    def has_association(self, namespace: str, service_account: str) -> bool: ...


class NoAssociations:
    """A cluster outside EKS (or before the control plane wires one in): nothing is
    associated, so the IRSA path is the only one."""

    def has_association(self, namespace: str, service_account: str) -> bool:
        return False


def default_draw() -> Callable[[int, int], int]:
    return random.Random().randint


@dataclass(slots=True)
class PodIdentityWebhook:
    """The webhook's container-credentials flags as EKS runs it, and where it learns the
    associations. ``draw(low, high)`` picks the jittered expiration (inclusive bounds)."""

    associations: ServiceAccountAssociations = field(default_factory=NoAssociations)
    region: str = ""
    regional_sts: bool = True
    full_uri: str = AGENT_URI
    audience: str = AUDIENCE
    label: tuple[str, str] | None = POD_IDENTITY_LABEL
    draw: Callable[[int, int], int] = field(default_factory=default_draw)

    def applies(self, namespace: str, service_account: str) -> bool:
        """Whether the container-credentials branch (and not IRSA) handles this pod."""
        return self.associations.has_association(namespace, service_account)

    def expiration(self, pod: Obj, service_account: Obj | None) -> int:
        """Pod annotation > SA annotation > the jittered default (module doc)."""
        annotations = ((service_account or {}).get("metadata") or {}).get("annotations") or {}
        from_account = irsa.parse_int(annotations.get(irsa.TOKEN_EXPIRATION, ""))
        default = irsa.DEFAULT_EXPIRATION
        chosen = default if from_account is None else max(from_account, irsa.MIN_EXPIRATION)
        chosen = irsa.token_expiration(pod, chosen)
        if chosen == default:
            return self.draw(*JITTER_RANGE)
        return chosen

    def uses_regional_sts(self, service_account: Obj | None) -> bool:
        annotations = ((service_account or {}).get("metadata") or {}).get("annotations") or {}
        parsed = irsa.parse_bool(annotations.get(irsa.REGIONAL_STS, ""))
        return self.regional_sts if parsed is None else parsed


def conflicting_volume(pod: Obj) -> bool:
    """A volume named :data:`VOLUME` that is not a projected service-account token: the
    webhook leaves such a pod alone rather than point its env at a token that is not there."""
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        if volume.get("name") != VOLUME:
            continue
        sources = (volume.get("projected") or {}).get("sources") or []
        return not any("serviceAccountToken" in source for source in sources)
    return False


def mutate(pod: Obj, service_account: Obj | None, webhook: PodIdentityWebhook) -> Obj:
    """``pod`` (changed in place and returned) as the webhook patches it for Pod Identity,
    once :meth:`PodIdentityWebhook.applies` chose this branch; unchanged when it conflicts."""
    if conflicting_volume(pod):
        return pod
    spec = pod.setdefault("spec", {})
    token_path = TOKEN_FILE
    selectors = spec.get("nodeSelector") or {}
    if "windows" in (selectors.get("kubernetes.io/os"), selectors.get("beta.kubernetes.io/os")):
        token_path = "C:" + token_path.replace("/", "\\")
    regional = webhook.uses_regional_sts(service_account)
    skipped = irsa.skipped_containers(pod)
    for section in ("initContainers", "containers"):
        for container in spec.get(section) or []:
            if container.get("name") not in skipped:
                _container(container, token_path, webhook, regional=regional)
    if not any(volume.get("name") == VOLUME for volume in spec.get("volumes") or []):
        volume = _token_volume(webhook.audience, webhook.expiration(pod, service_account))
        spec["volumes"] = [volume, *(spec.get("volumes") or [])]
    if webhook.label is not None:
        metadata = pod.setdefault("metadata", {})
        key, value = webhook.label
        metadata["labels"] = {**(metadata.get("labels") or {}), key: value}
    return pod


def _token_volume(audience: str, expiration: int) -> Obj:
    token = {"audience": audience, "expirationSeconds": expiration, "path": TOKEN_PATH}
    return {"name": VOLUME, "projected": {"sources": [{"serviceAccountToken": token}]}}


def _container(
    container: Obj, token_path: str, webhook: PodIdentityWebhook, *, regional: bool
) -> None:
    names = {env.get("name") for env in container.get("env") or []}
    has_credentials = bool(names & set(CONTAINER_CREDENTIALS_KEYS))
    has_region = bool(names & set(irsa.REGION_KEYS))
    has_sts = irsa.STS_KEY in names
    if has_credentials and has_region and has_sts:
        return
    env = list(container.get("env") or [])
    if not has_sts and regional:
        env.append({"name": irsa.STS_KEY, "value": "regional"})
    if not has_region and webhook.region:
        env += [
            {"name": "AWS_DEFAULT_REGION", "value": webhook.region},
            {"name": "AWS_REGION", "value": webhook.region},
        ]
    if not has_credentials:
        env.append({"name": FULL_URI_ENV, "value": webhook.full_uri})
        env.append({"name": TOKEN_FILE_ENV, "value": token_path})
    container["env"] = env
    mounts = list(container.get("volumeMounts") or [])
    if not any(mount.get("name") == VOLUME for mount in mounts):
        mounts.append({"name": VOLUME, "readOnly": True, "mountPath": MOUNT_PATH})
    container["volumeMounts"] = mounts
