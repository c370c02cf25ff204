"""Semantic validation (422 ``Invalid``) with the apiserver's field-error wording.

A 422 reads ``Deployment.apps "web" is invalid: <field errors>``, one error being
``spec.selector: Required value`` or ``metadata.name: Invalid value: "X": <why>``; several
are joined as ``[e1, e2]``. Each becomes a ``details.causes`` entry too. Covered: object
names and labels, pods (containers, images, volumes and mounts, projected token
lifetimes: reference C.3), Deployments and ReplicaSets (selector against template labels,
replicas), config keys, and the update rules for pod specs and workload selectors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kubetrust.sandbox.kube import status
from kubetrust.sandbox.oidc import issuer as oidc_issuer

Obj = dict[str, Any]
MAX_REPLICAS = 100
"""The sandbox runs every replica in-process; more than this is refused (not Kubernetes)."""

_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_QUALIFIED = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
_REASONS = {
    "Invalid value": "FieldValueInvalid",
    "Required value": "FieldValueRequired",
    "Duplicate value": "FieldValueDuplicate",
    "Not found": "FieldValueNotFound",
    "Unsupported value": "FieldValueNotSupported",
    "Forbidden": "FieldValueForbidden",
}


@dataclass(frozen=True, slots=True)
class FieldError:
    """One ``field.Error``: path, type (``Invalid value`` ...), the bad value, detail."""

    field: str
    type: str
    value: Any = None
    detail: str = ""

    def __str__(self) -> str:
        text = f"{self.field}: {self.type}"
        if self.type in ("Invalid value", "Duplicate value", "Not found", "Unsupported value"):
            text += f": {go_repr(self.value)}"
        return f"{text}: {self.detail}" if self.detail else text

    def cause(self) -> dict[str, str]:
        message = str(self).removeprefix(f"{self.field}: ")
        reason = _REASONS.get(self.type, "FieldValueInvalid")
        return {"reason": reason, "message": message, "field": self.field}


class Raw(str):
    """A value quoted as it is (a struct dump such as ``v1.LabelSelector{...}``)."""

    __slots__ = ()


def go_repr(value: Any) -> str:
    """Go's ``%#v`` of the simple values these errors quote."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        inner = ", ".join(f"{go_repr(str(k))}:{go_repr(v)}" for k, v in sorted(value.items()))
        return "map[string]string{" + inner + "}"
    return str(value)


def raise_invalid(kind: str, group: str, name: str, errors: list[FieldError]) -> None:
    """422 for ``errors`` (nothing when there are none)."""
    if not errors:
        return
    listed = [str(error) for error in errors]
    text = listed[0] if len(listed) == 1 else "[" + ", ".join(listed) + "]"
    qualified = f"{kind}.{group}" if group else kind
    causes = [error.cause() for error in errors]
    details = {"name": name, "group": group, "kind": kind, "causes": causes}
    raise status.ApiError("Invalid", f'{qualified} "{name}" is invalid: {text}', details)


# ---------------------------------------------------------------------- metadata
def name_errors(
    name: Any, path: str, *, label: bool = False, segment: bool = False
) -> list[FieldError]:
    """A DNS-1123 subdomain (most kinds), label (namespaces) or path segment (RBAC)."""
    if not isinstance(name, str) or not name:
        return [FieldError(path, "Required value", detail="name or generateName is required")]
    if segment:
        if name in (".", "..") or "/" in name or "%" in name:
            return [FieldError(path, "Invalid value", name, "may not contain '/' or '%'")]
        return []
    pattern, limit, message = (
        (_LABEL, 63, LABEL_MESSAGE) if label else (_SUBDOMAIN, 253, SUBDOMAIN_MESSAGE)
    )
    if len(name) > limit:
        return [FieldError(path, "Invalid value", name, f"must be no more than {limit} chars")]
    if not pattern.fullmatch(name):
        return [FieldError(path, "Invalid value", name, message)]
    return []


def label_errors(labels: Any, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for key, value in (labels or {}).items():
        prefix, _, short = key.rpartition("/")
        if (
            not _QUALIFIED.fullmatch(short)
            or len(short) > 63
            or (prefix and name_errors(prefix, ""))
        ):
            errors.append(FieldError(path, "Invalid value", key, "name part must be valid"))
        if len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
            errors.append(FieldError(path, "Invalid value", value, LABEL_VALUE_MESSAGE))
    return errors


def metadata_errors(kind: str, obj: Obj) -> list[FieldError]:
    metadata = obj.get("metadata") or {}
    label, segment = kind == "Namespace", kind.startswith(("Role", "ClusterRole"))
    errors: list[FieldError] = []
    if metadata.get("name"):
        errors += name_errors(metadata["name"], "metadata.name", label=label, segment=segment)
    elif metadata.get("generateName"):
        prefix = metadata["generateName"].rstrip("-") or "x"
        errors += name_errors(prefix, "metadata.generateName", label=label, segment=segment)
    errors += label_errors(metadata.get("labels"), "metadata.labels")
    return errors


def config_key_errors(data: Any, path: str) -> list[FieldError]:
    message = "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
    return [
        FieldError(f"{path}[{key}]", "Invalid value", key, message)
        for key in (data or {})
        if not _CONFIG_KEY.fullmatch(key) or len(key) > 253
    ]


# ---------------------------------------------------------------------- pods
def pod_spec_errors(spec: Any, path: str, *, workload: bool = False) -> list[FieldError]:
    """``ValidatePodSpec``'s checks this sandbox relies on (see module doc)."""
    spec = spec or {}
    errors: list[FieldError] = []
    volumes = _named(spec.get("volumes"), f"{path}.volumes", errors, "name")
    for index, volume in enumerate(spec.get("volumes") or []):
        errors += _volume_errors(volume or {}, f"{path}.volumes[{index}]")
    if not spec.get("containers"):
        errors.append(FieldError(f"{path}.containers", "Required value"))
    names: set[str] = set()
    for section in ("initContainers", "containers"):
        for index, container in enumerate(spec.get(section) or []):
            where = f"{path}.{section}[{index}]"
            errors += _container_errors(container or {}, where, names, volumes)
    policy = spec.get("restartPolicy")
    allowed = ("Always",) if workload else ("Always", "OnFailure", "Never")
    if policy is not None and policy not in allowed:
        supported = ", ".join(f'"{value}"' for value in allowed)
        detail = f"supported values: {supported}"
        errors.append(FieldError(f"{path}.restartPolicy", "Unsupported value", policy, detail))
    return errors


def _named(items: Any, path: str, errors: list[FieldError], key: str) -> set[str]:
    seen: set[str] = set()
    for index, item in enumerate(items or []):
        name = (item or {}).get(key)
        if not name:
            errors.append(FieldError(f"{path}[{index}].{key}", "Required value"))
        elif name in seen:
            errors.append(FieldError(f"{path}[{index}].{key}", "Duplicate value", name))
        else:
            seen.add(name)
    return seen


def _container_errors(
    container: Obj, path: str, names: set[str], volumes: set[str]
) -> list[FieldError]:
    errors: list[FieldError] = []
    name = container.get("name")
    if not name:
        errors.append(FieldError(f"{path}.name", "Required value"))
    elif name in names:
        errors.append(FieldError(f"{path}.name", "Duplicate value", name))
    else:
        errors += name_errors(name, f"{path}.name", label=True)
        names.add(name)
    if not container.get("image"):
        errors.append(FieldError(f"{path}.image", "Required value"))
    for index, env in enumerate(container.get("env") or []):
        if not (env or {}).get("name"):
            errors.append(FieldError(f"{path}.env[{index}].name", "Required value"))
    paths: set[str] = set()
    for index, given in enumerate(container.get("volumeMounts") or []):
        mount = given or {}
        where = f"{path}.volumeMounts[{index}]"
        if mount.get("name") not in volumes:
            errors.append(FieldError(f"{where}.name", "Not found", mount.get("name") or ""))
        target = mount.get("mountPath")
        if not target:
            errors.append(FieldError(f"{where}.mountPath", "Required value"))
        elif target in paths:
            errors.append(
                FieldError(f"{where}.mountPath", "Invalid value", target, "must be unique")
            )
        paths.add(target or "")
    return errors


def _volume_errors(volume: Obj, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    sources = ((volume.get("projected") or {}).get("sources")) or []
    for index, source in enumerate(sources):
        token = (source or {}).get("serviceAccountToken")
        if token is None:
            continue
        where = f"{path}.projected.sources[{index}].serviceAccountToken"
        if not token.get("path"):
            errors.append(FieldError(f"{where}.path", "Required value"))
        seconds = token.get("expirationSeconds")
        if seconds is not None and seconds < oidc_issuer.MIN_EXPIRATION_SECONDS:
            detail = "may not specify a duration less than 10 minutes"
            errors.append(
                FieldError(f"{where}.expirationSeconds", "Invalid value", seconds, detail)
            )
        elif seconds is not None and seconds > oidc_issuer.MAX_EXPIRATION_SECONDS:
            detail = "may not specify a duration larger than 2^32 seconds"
            errors.append(
                FieldError(f"{where}.expirationSeconds", "Invalid value", seconds, detail)
            )
    return errors


def pod_update_errors(old: Obj, new: Obj) -> list[FieldError]:
    """``ValidatePodUpdate``: a pod's spec is immutable but for images, the active
    deadline and added tolerations."""

    def mutable_cleared(spec: Obj) -> Obj:
        cleared = {
            k: v for k, v in spec.items() if k not in ("activeDeadlineSeconds", "tolerations")
        }
        for section in ("containers", "initContainers"):
            cleared[section] = [
                {k: v for k, v in (c or {}).items() if k != "image"}
                for c in spec.get(section) or []
            ]
        return cleared

    if mutable_cleared(old.get("spec") or {}) == mutable_cleared(new.get("spec") or {}):
        return []
    detail = (
        "pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
        "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
        "(allow it to be set to 1 if it was previously negative)"
    )
    return [FieldError("spec", "Forbidden", detail=detail)]


def binding_update_errors(old: Obj, new: Obj) -> list[FieldError]:
    """``ValidateRoleBindingUpdate``/``ValidateClusterRoleBindingUpdate``: a binding's
    ``roleRef`` never changes (delete and recreate it instead; the new binding then goes
    through the ``bind`` check as a whole). Without this an update could repoint a binding
    that others rely on at another role, which the apiserver refuses with 422."""
    ref = new.get("roleRef")
    if ref == old.get("roleRef"):
        return []
    ref = ref if isinstance(ref, dict) else {}
    fields = (("APIGroup", "apiGroup"), ("Kind", "kind"), ("Name", "name"))
    shown = ", ".join(f"{go}:{go_repr(str(ref.get(key) or ''))}" for go, key in fields)
    value = Raw(f"rbac.RoleRef{{{shown}}}")
    return [FieldError("roleRef", "Invalid value", value, "cannot change roleRef")]


# ---------------------------------------------------------------------- workloads
def workload_errors(kind: str, obj: Obj, old: Obj | None = None) -> list[FieldError]:
    """Deployments and ReplicaSets: selector, template labels, replicas, pod template."""
    spec = obj.get("spec") or {}
    selector = spec.get("selector")
    errors: list[FieldError] = []
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        detail = "must be greater than or equal to 0"
        errors.append(FieldError("spec.replicas", "Invalid value", replicas, detail))
    elif isinstance(replicas, int) and replicas > MAX_REPLICAS:
        detail = f"this sandbox runs at most {MAX_REPLICAS} replicas"
        errors.append(FieldError("spec.replicas", "Invalid value", replicas, detail))
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    if selector is None:
        errors.append(FieldError("spec.selector", "Required value"))
    elif not selector.get("matchLabels") and not selector.get("matchExpressions"):
        detail = f"empty selector is invalid for {kind.lower()}"
        empty = Raw("v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:nil}")
        errors.append(FieldError("spec.selector", "Invalid value", empty, detail))
    else:
        errors += selector_errors(selector, "spec.selector")
        if not errors and not selector_matches(selector, labels):
            detail = "`selector` does not match template `labels`"
            errors.append(
                FieldError("spec.template.metadata.labels", "Invalid value", labels, detail)
            )
    errors += label_errors(labels, "spec.template.metadata.labels")
    errors += pod_spec_errors(template.get("spec"), "spec.template.spec", workload=True)
    if old is not None and (old.get("spec") or {}).get("selector") != selector:
        immutable = Raw("v1.LabelSelector{...}")
        errors.append(FieldError("spec.selector", "Invalid value", immutable, "field is immutable"))
    return errors


def selector_errors(selector: Obj, path: str) -> list[FieldError]:
    errors = label_errors(selector.get("matchLabels"), f"{path}.matchLabels")
    for index, given in enumerate(selector.get("matchExpressions") or []):
        requirement = given or {}
        operator = requirement.get("operator")
        where = f"{path}.matchExpressions[{index}]"
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            supported = 'supported values: "In", "NotIn", "Exists", "DoesNotExist"'
            errors.append(FieldError(f"{where}.operator", "Unsupported value", operator, supported))
        elif operator in ("In", "NotIn") and not requirement.get("values"):
            detail = "must be specified when `operator` is 'In' or 'NotIn'"
            errors.append(FieldError(f"{where}.values", "Required value", detail=detail))
        if not requirement.get("key"):
            errors.append(FieldError(f"{where}.key", "Required value"))
    return errors


def selector_matches(selector: Obj, labels: dict[str, str]) -> bool:
    """Whether a ``LabelSelector`` (matchLabels and matchExpressions) selects ``labels``."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(_requirement(r or {}, labels) for r in selector.get("matchExpressions") or [])


def _requirement(requirement: Obj, labels: dict[str, str]) -> bool:
    key, operator = requirement.get("key"), requirement.get("operator")
    values: Iterable[str] = requirement.get("values") or []
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    return key not in labels
