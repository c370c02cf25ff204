"""The amazon-eks-pod-identity-webhook's IRSA mutation of a new pod (reference C.4).

EKS runs the webhook on every cluster; it mutates pod CREATEs whose service account has
``eks.amazonaws.com/role-arn``. This is its STS web-identity path, transcribed from
``pkg/handler/handler.go`` (``addEnvToContainer``, ``getPodSpecPatch``) and
``pkg/cache/cache.go`` (how annotations are read):

* per container and initContainer not named in the pod's ``eks.amazonaws.com/skip-containers``
  (a CSV line), env vars are **appended in this order**: ``AWS_STS_REGIONAL_ENDPOINTS=regional``
  (when regional STS is on and the container does not set it), ``AWS_DEFAULT_REGION`` then
  ``AWS_REGION`` (when the webhook knows the region and the container sets neither),
  ``AWS_ROLE_ARN`` then ``AWS_WEB_IDENTITY_TOKEN_FILE`` (when the container sets neither).
  A container that already sets a web-identity var, a region var and the STS var is left
  alone entirely; otherwise it gets a read-only mount of ``aws-iam-token`` at
  ``/var/run/secrets/eks.amazonaws.com/serviceaccount`` unless it mounts that volume;
* the projected volume ``aws-iam-token`` (``serviceAccountToken{audience,
  expirationSeconds, path: token}``) is inserted **first** in ``spec.volumes`` (the patch
  op is ``add /spec/volumes/0``) unless a volume of that name exists;
* audience: SA annotation ``eks.amazonaws.com/audience`` > ``sts.amazonaws.com``;
  regional STS: SA annotation ``eks.amazonaws.com/sts-regional-endpoints`` (Go
  ``ParseBool``; an unparsable value is ignored) > the flag, on for EKS;
  expiration: pod annotation > SA annotation ``eks.amazonaws.com/token-expiration`` >
  86400, values under 600 raised to 600, unparsable values ignored;
* pods with ``kubernetes.io/os: windows`` node selectors get a ``C:\\...`` token path.

A service account with an EKS Pod Identity association takes the webhook's
container-credentials path instead, which has precedence even over ``role-arn``
(:mod:`.pod_identity_webhook`; admission chooses). Not modelled: the webhook's SA-cache
grace period (the sandbox's cache is the store itself, always current).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from typing import Any

from kubetrust.model.vocabulary import IRSA_AUDIENCE

Obj = dict[str, Any]
DOMAIN = "eks.amazonaws.com"
ROLE_ARN = f"{DOMAIN}/role-arn"
AUDIENCE = f"{DOMAIN}/audience"
REGIONAL_STS = f"{DOMAIN}/sts-regional-endpoints"
TOKEN_EXPIRATION = f"{DOMAIN}/token-expiration"
SKIP_CONTAINERS = f"{DOMAIN}/skip-containers"
DEFAULT_EXPIRATION = 86400
MIN_EXPIRATION = 600
MOUNT_PATH = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
VOLUME = "aws-iam-token"
TOKEN_FILE = "token"
WEB_IDENTITY_KEYS = ("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")
REGION_KEYS = ("AWS_REGION", "AWS_DEFAULT_REGION")
STS_KEY = "AWS_STS_REGIONAL_ENDPOINTS"
_INT = re.compile(r"[+-]?[0-9]+")
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


@dataclass(frozen=True, slots=True)
class Webhook:
    """The webhook's flags as EKS runs it: the cluster's region, regional STS on."""

    region: str
    regional_sts: bool = True
    audience: str = IRSA_AUDIENCE  # the webhook's --token-audience
    expiration: int = DEFAULT_EXPIRATION


@dataclass(frozen=True, slots=True)
class Settings:
    """What the webhook's SA cache holds for a service account with a role ARN."""

    role_arn: str
    audience: str
    regional_sts: bool
    expiration: int


def parse_bool(text: str) -> bool | None:
    """Go's ``strconv.ParseBool``; ``None`` for what it refuses."""
    return True if text in _TRUE else False if text in _FALSE else None


def parse_int(text: str) -> int | None:
    """Go's ``strconv.ParseInt(text, 10, 64)``; ``None`` for what it refuses."""
    if not _INT.fullmatch(text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


def settings(service_account: Obj | None, webhook: Webhook) -> Settings | None:
    """The cache entry of ``service_account``; ``None`` when it has no role ARN."""
    annotations = ((service_account or {}).get("metadata") or {}).get("annotations") or {}
    role_arn = annotations.get(ROLE_ARN)
    if not role_arn:
        return None
    regional = parse_bool(annotations.get(REGIONAL_STS, ""))
    expiration = parse_int(annotations.get(TOKEN_EXPIRATION, ""))
    return Settings(
        role_arn=role_arn,
        audience=annotations.get(AUDIENCE, webhook.audience),
        regional_sts=webhook.regional_sts if regional is None else regional,
        expiration=webhook.expiration if expiration is None else max(expiration, MIN_EXPIRATION),
    )


def skipped_containers(pod: Obj) -> set[str]:
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(SKIP_CONTAINERS)
    if not value:
        return set()
    try:
        return set(next(csv.reader([value.splitlines()[0]]), []))
    except (csv.Error, IndexError):
        return set()  # as the webhook: a line that does not parse skips nothing


def token_expiration(pod: Obj, default: int) -> int:
    text = ((pod.get("metadata") or {}).get("annotations") or {}).get(TOKEN_EXPIRATION)
    value = parse_int(text) if text is not None else None
    return default if value is None else max(value, MIN_EXPIRATION)


def mutate(pod: Obj, service_account: Obj | None, webhook: Webhook) -> Obj:
    """``pod`` (changed in place and returned) as the webhook patches it (module doc)."""
    found = settings(service_account, webhook)
    if found is None:
        return pod
    spec = pod.setdefault("spec", {})
    token_path = f"{MOUNT_PATH}/{TOKEN_FILE}"
    selectors = spec.get("nodeSelector") or {}
    if "windows" in (selectors.get("kubernetes.io/os"), selectors.get("beta.kubernetes.io/os")):
        token_path = "C:" + token_path.replace("/", "\\")
    skipped = skipped_containers(pod)
    for section in ("initContainers", "containers"):
        for container in spec.get(section) or []:
            if container.get("name") not in skipped:
                _container(container, token_path, found, webhook.region)
    if not any(volume.get("name") == VOLUME for volume in spec.get("volumes") or []):
        token = {
            "audience": found.audience,
            "expirationSeconds": token_expiration(pod, found.expiration),
            "path": TOKEN_FILE,
        }
        volume = {"name": VOLUME, "projected": {"sources": [{"serviceAccountToken": token}]}}
        spec["volumes"] = [volume, *(spec.get("volumes") or [])]
    return pod


def _container(container: Obj, token_path: str, found: Settings, region: str) -> None:
    names = {env.get("name") for env in container.get("env") or []}
    web_identity = bool(names & set(WEB_IDENTITY_KEYS))
    has_region = bool(names & set(REGION_KEYS))
    has_sts = STS_KEY in names
    if web_identity and has_region and has_sts:
        return
    env = list(container.get("env") or [])
    if not has_sts and found.regional_sts:
        env.append({"name": STS_KEY, "value": "regional"})
    if not has_region and region:
        env += [
            {"name": "AWS_DEFAULT_REGION", "value": region},
            {"name": "AWS_REGION", "value": region},
        ]
    if not web_identity:
        env.append({"name": "AWS_ROLE_ARN", "value": found.role_arn})
        env.append({"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": token_path})
    container["env"] = env
    mounts = list(container.get("volumeMounts") or [])
    if not any(mount.get("name") == VOLUME for mount in mounts):
        mounts.append({"name": VOLUME, "readOnly": True, "mountPath": MOUNT_PATH})
    container["volumeMounts"] = mounts
