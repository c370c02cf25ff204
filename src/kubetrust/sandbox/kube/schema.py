"""Type checks of stored objects: what Go's JSON decoder refuses when a body meets the
apiserver's typed structs (``json: cannot unmarshal string into Go struct field ...``).

Objects are kept as JSON here, so without these checks a body such as ``{"spec":
{"containers": "x"}}`` would be stored and break every later reader (admission, the
controllers, Tables). Only the fields this server reads are typed; other fields pass as
they are (the apiserver would drop unknown ones, which this server does not do). ``null``
is always accepted, as Go decodes it to the zero value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubetrust.sandbox.kube import status

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True, slots=True)
class T:
    """A Go type: ``go`` is its name in messages; ``kind`` one of ``string``, ``int32``,
    ``int64``, ``bool``, ``quantity`` (string or number), ``intorstr``, ``map`` (of
    ``item``), ``list`` (of ``item``), ``object`` (with ``fields``)."""

    go: str
    kind: str
    item: T | None = None
    fields: dict[str, T] = field(default_factory=dict)


STR = T("string", "string")
I32 = T("int32", "int32")
I64 = T("int64", "int64")
BOOL = T("bool", "bool")
INT_OR_STR = T("intstr.IntOrString", "intorstr")
STR_MAP = T("map[string]string", "map", STR)
STR_LIST = T("[]string", "list", STR)


def obj(go: str, **fields: T) -> T:
    return T(go, "object", fields=fields)


def listof(item: T) -> T:
    return T(f"[]{item.go}", "list", item)


OWNER_REFERENCE = obj(
    "v1.OwnerReference",
    apiVersion=STR,
    kind=STR,
    name=STR,
    uid=STR,
    controller=BOOL,
    blockOwnerDeletion=BOOL,
)
OBJECT_META = obj(
    "v1.ObjectMeta",
    name=STR,
    generateName=STR,
    namespace=STR,
    uid=STR,
    resourceVersion=STR,
    generation=I64,
    creationTimestamp=STR,
    labels=STR_MAP,
    annotations=STR_MAP,
    ownerReferences=listof(OWNER_REFERENCE),
    finalizers=STR_LIST,
)
_ENV = obj("v1.EnvVar", name=STR, value=STR, valueFrom=obj("v1.EnvVarSource"))
_MOUNT = obj("v1.VolumeMount", name=STR, mountPath=STR, readOnly=BOOL, subPath=STR)
_PORT = obj("v1.ContainerPort", name=STR, containerPort=I32, hostPort=I32, protocol=STR, hostIP=STR)
_RESOURCES = obj(
    "v1.ResourceRequirements",
    limits=T("v1.ResourceList", "map", T("resource.Quantity", "quantity")),
    requests=T("v1.ResourceList", "map", T("resource.Quantity", "quantity")),
)
CONTAINER = obj(
    "v1.Container",
    name=STR,
    image=STR,
    command=STR_LIST,
    args=STR_LIST,
    workingDir=STR,
    ports=listof(_PORT),
    env=listof(_ENV),
    volumeMounts=listof(_MOUNT),
    resources=_RESOURCES,
    imagePullPolicy=STR,
    terminationMessagePath=STR,
    terminationMessagePolicy=STR,
)
_TOKEN_PROJECTION = obj(
    "v1.ServiceAccountTokenProjection", audience=STR, expirationSeconds=I64, path=STR
)
_PROJECTION = obj(
    "v1.VolumeProjection",
    serviceAccountToken=_TOKEN_PROJECTION,
    configMap=obj("v1.ConfigMapProjection", name=STR),
    secret=obj("v1.SecretProjection", name=STR),
    downwardAPI=obj("v1.DownwardAPIProjection"),
)
VOLUME = obj(
    "v1.Volume",
    name=STR,
    projected=obj("v1.ProjectedVolumeSource", sources=listof(_PROJECTION), defaultMode=I32),
    configMap=obj("v1.ConfigMapVolumeSource", name=STR),
    secret=obj("v1.SecretVolumeSource", secretName=STR),
)
_TOLERATION = obj(
    "v1.Toleration", key=STR, operator=STR, value=STR, effect=STR, tolerationSeconds=I64
)
POD_SPEC = obj(
    "v1.PodSpec",
    volumes=listof(VOLUME),
    initContainers=listof(CONTAINER),
    containers=listof(CONTAINER),
    restartPolicy=STR,
    terminationGracePeriodSeconds=I64,
    activeDeadlineSeconds=I64,
    dnsPolicy=STR,
    nodeSelector=STR_MAP,
    serviceAccountName=STR,
    serviceAccount=STR,
    automountServiceAccountToken=BOOL,
    nodeName=STR,
    hostNetwork=BOOL,
    schedulerName=STR,
    priority=I32,
    priorityClassName=STR,
    tolerations=listof(_TOLERATION),
)
_CONDITION = obj("v1.Condition", type=STR, status=STR, reason=STR, message=STR)
_CONTAINER_STATUS = obj(
    "v1.ContainerStatus",
    name=STR,
    ready=BOOL,
    started=BOOL,
    restartCount=I32,
    image=STR,
    state=obj("v1.ContainerState"),
)
POD_STATUS = obj(
    "v1.PodStatus",
    phase=STR,
    conditions=listof(_CONDITION),
    podIP=STR,
    hostIP=STR,
    startTime=STR,
    qosClass=STR,
    containerStatuses=listof(_CONTAINER_STATUS),
    initContainerStatuses=listof(_CONTAINER_STATUS),
)
POD_TEMPLATE = obj("v1.PodTemplateSpec", metadata=OBJECT_META, spec=POD_SPEC)
_REQUIREMENT = obj("v1.LabelSelectorRequirement", key=STR, operator=STR, values=STR_LIST)
LABEL_SELECTOR = obj("v1.LabelSelector", matchLabels=STR_MAP, matchExpressions=listof(_REQUIREMENT))
_WORKLOAD_STATUS = dict(
    observedGeneration=I64,
    replicas=I32,
    readyReplicas=I32,
    availableReplicas=I32,
    conditions=listof(_CONDITION),
)
_STRATEGY = obj(
    "v1.DeploymentStrategy",
    type=STR,
    rollingUpdate=obj("v1.RollingUpdateDeployment", maxUnavailable=INT_OR_STR, maxSurge=INT_OR_STR),
)
KINDS: dict[str, T] = {
    "Pod": obj("v1.Pod", metadata=OBJECT_META, spec=POD_SPEC, status=POD_STATUS),
    "Deployment": obj(
        "v1.Deployment",
        metadata=OBJECT_META,
        spec=obj(
            "v1.DeploymentSpec",
            replicas=I32,
            selector=LABEL_SELECTOR,
            template=POD_TEMPLATE,
            strategy=_STRATEGY,
            minReadySeconds=I32,
            revisionHistoryLimit=I32,
            paused=BOOL,
            progressDeadlineSeconds=I32,
        ),
        status=obj("v1.DeploymentStatus", updatedReplicas=I32, **_WORKLOAD_STATUS),
    ),
    "ReplicaSet": obj(
        "v1.ReplicaSet",
        metadata=OBJECT_META,
        spec=obj(
            "v1.ReplicaSetSpec",
            replicas=I32,
            selector=LABEL_SELECTOR,
            template=POD_TEMPLATE,
            minReadySeconds=I32,
        ),
        status=obj("v1.ReplicaSetStatus", fullyLabeledReplicas=I32, **_WORKLOAD_STATUS),
    ),
    "ServiceAccount": obj(
        "v1.ServiceAccount",
        metadata=OBJECT_META,
        automountServiceAccountToken=BOOL,
        secrets=listof(obj("v1.ObjectReference", name=STR)),
        imagePullSecrets=listof(obj("v1.LocalObjectReference", name=STR)),
    ),
    "ConfigMap": obj(
        "v1.ConfigMap",
        metadata=OBJECT_META,
        data=STR_MAP,
        binaryData=T("map[string][]uint8", "map", STR),
        immutable=BOOL,
    ),
    "Secret": obj(
        "v1.Secret",
        metadata=OBJECT_META,
        data=T("map[string][]uint8", "map", STR),
        stringData=STR_MAP,
        type=STR,
        immutable=BOOL,
    ),
    "Namespace": obj(
        "v1.Namespace",
        metadata=OBJECT_META,
        spec=obj("v1.NamespaceSpec", finalizers=STR_LIST),
        status=obj("v1.NamespaceStatus", phase=STR),
    ),
}
"""The typed kinds; every other kind has its ``metadata`` typed only."""


class TypeMismatch(Exception):
    """A value of the wrong JSON type at ``path`` (Go's ``UnmarshalTypeError``)."""

    def __init__(self, path: str, value: Any, expected: T) -> None:
        super().__init__(
            f"json: cannot unmarshal {_json_type(value)} into Go struct field {path} of type "
            f"{expected.go}"
        )


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return f"number {value}" if not isinstance(value, int) else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _scalar_ok(value: Any, kind: str) -> bool:
    if kind in ("int32", "int64"):
        low, high = INT32 if kind == "int32" else INT64
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if kind in ("string", "bool"):
        return isinstance(value, str if kind == "string" else bool)
    return not isinstance(value, bool) and isinstance(value, str | int | float)


def check(value: Any, expected: T, path: str) -> None:
    """Raise :class:`TypeMismatch` where ``value`` does not decode into ``expected``."""
    kind = expected.kind
    if value is None:
        return
    if kind in ("map", "object"):
        if not isinstance(value, dict):
            raise TypeMismatch(path, value, expected)
        for key, item in value.items():
            inner = expected.item if kind == "map" else expected.fields.get(key)
            if inner is not None:
                check(item, inner, f"{path}.{key}")
    elif kind == "list":
        if not isinstance(value, list):
            raise TypeMismatch(path, value, expected)
        assert expected.item is not None
        for item in value:
            check(item, expected.item, path)
    elif not _scalar_ok(value, kind):
        raise TypeMismatch(path, value, expected)


def check_kind(kind: str, group_version: str, body: dict[str, Any], *, patched: bool) -> None:
    """400 BadRequest (create, update) or 422 Invalid (the result of a patch, as the
    apiserver reports a patch that does not decode) for a body of the wrong types."""
    expected = KINDS.get(kind) or obj(f"v1.{kind}", metadata=OBJECT_META)
    try:
        check(body, expected, kind)
    except TypeMismatch as exc:
        if patched:
            raise status.ApiError("Invalid", f"{kind} is invalid: patch: {exc}") from None
        raise status.bad_request(
            f'{kind} in version "{group_version.rpartition("/")[2]}" cannot be handled as a '
            f"{kind}: {exc}"
        ) from None
