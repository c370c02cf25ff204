"""An in-memory, thread-safe object store with Kubernetes' bookkeeping.

Objects are JSON dicts keyed by ``(<group>/<version>/<plural>, namespace, name)``;
cluster-scoped kinds use namespace ``""``. The store stamps what the apiserver stamps:
``resourceVersion`` (one global counter, as etcd's revision), ``uid``,
``creationTimestamp`` and ``generation`` (bumped when anything but metadata and status
changes). Updates carrying a stale ``resourceVersion`` are refused with 409 Conflict, as
the apiserver's optimistic concurrency does. Every read returns a deep copy, so callers
can never change stored state by accident.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kubetrust.sandbox.kube import selectors, status

Obj = dict[str, Any]
Key = tuple[str, str, str]
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
NAMESPACES = "/v1/namespaces"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def timestamp(moment: dt.datetime) -> str:
    """RFC 3339 in UTC, seconds precision, as ``metav1.Time`` serializes."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _split_kind(kind: str) -> tuple[str, str]:
    """``(group, plural)`` of a store key kind ``<group>/<version>/<plural>``."""
    group, _, rest = kind.partition("/")
    return group, rest.rpartition("/")[2]


class Store:
    """The objects of one cluster (see module doc)."""

    def __init__(self, clock: Callable[[], dt.datetime] = _now) -> None:
        self._lock = threading.RLock()
        self._objects: dict[Key, Obj] = {}
        self._revision = 0
        self._clock = clock
        for name in INITIAL_NAMESPACES:
            self.create(
                NAMESPACES,
                "",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
            )

    @property
    def resource_version(self) -> str:
        """The current global revision (a list's ``metadata.resourceVersion``)."""
        with self._lock:
            return str(self._revision)

    def _bump(self) -> str:
        self._revision += 1
        return str(self._revision)

    # ------------------------------------------------------------------ reads
    def get(self, kind: str, namespace: str, name: str) -> Obj:
        """The object, or 404 NotFound."""
        with self._lock:
            found = self._objects.get((kind, namespace, name))
            if found is None:
                raise status.not_found(*_split_kind(kind), name)
            return copy.deepcopy(found)

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[Obj], str]:
        """Objects of ``kind`` (in ``namespace``; ``None``: all), sorted by namespace and
        name, with the revision they were read at. A selector that does not parse is a 400."""
        try:
            labels = selectors.parse(label_selector)
            fields = selectors.parse_fields(field_selector)
        except ValueError as exc:
            raise status.bad_request(str(exc)) from None
        with self._lock:
            found = [
                copy.deepcopy(obj)
                for (k, ns, _), obj in sorted(self._objects.items())
                if k == kind
                and (namespace is None or ns == namespace)
                and labels(obj["metadata"].get("labels") or {})
                and fields(obj)
            ]
            return found, str(self._revision)

    def kinds(self) -> Iterable[str]:
        with self._lock:
            return sorted({key[0] for key in self._objects})

    # ------------------------------------------------------------------ writes
    def create(self, kind: str, namespace: str, obj: Mapping[str, Any]) -> Obj:
        """Store a new object; 409 AlreadyExists if the name is taken. ``generateName`` is
        honoured; client-set uid and resourceVersion are ignored, as the apiserver does."""
        new = copy.deepcopy(dict(obj))
        metadata = new.setdefault("metadata", {})
        with self._lock:
            name = metadata.get("name") or ""
            if not name and metadata.get("generateName"):
                name = metadata["generateName"] + uuid.uuid4().hex[:5]
            key = (kind, namespace, name)
            if key in self._objects:
                raise status.already_exists(*_split_kind(kind), name)
            metadata["name"] = name
            if namespace:
                metadata["namespace"] = namespace
            else:
                metadata.pop("namespace", None)
            metadata["uid"] = str(uuid.uuid4())
            metadata["creationTimestamp"] = timestamp(self._clock())
            metadata["generation"] = 1
            metadata["resourceVersion"] = self._bump()
            for field in ("deletionTimestamp", "selfLink"):
                metadata.pop(field, None)
            self._objects[key] = new
            return copy.deepcopy(new)

    def update(self, kind: str, namespace: str, name: str, obj: Mapping[str, Any]) -> Obj:
        """Replace the object. A ``metadata.resourceVersion`` that is set and not the stored
        one is a 409 Conflict; uid and creationTimestamp stay; generation grows when the
        spec (anything outside metadata and status) changed."""
        new = copy.deepcopy(dict(obj))
        metadata = new.setdefault("metadata", {})
        with self._lock:
            old = self._objects.get((kind, namespace, name))
            if old is None:
                raise status.not_found(*_split_kind(kind), name)
            given = metadata.get("resourceVersion")
            if given and given != old["metadata"]["resourceVersion"]:
                raise status.conflict(*_split_kind(kind), name)
            for field in ("uid", "creationTimestamp", "generation"):
                metadata[field] = old["metadata"][field]
            metadata["name"] = name
            if namespace:
                metadata["namespace"] = namespace
            if _spec(old) != _spec(new):
                metadata["generation"] = old["metadata"]["generation"] + 1
            metadata["resourceVersion"] = old["metadata"]["resourceVersion"]
            if new == old:
                return copy.deepcopy(old)  # no change, no new revision (as the apiserver)
            metadata["resourceVersion"] = self._bump()
            self._objects[(kind, namespace, name)] = new
            return copy.deepcopy(new)

    def delete(self, kind: str, namespace: str, name: str) -> Obj:
        """Remove the object and return it; 404 if absent. Deleting a namespace removes
        the objects in it (no finalizers here: deletion is immediate)."""
        with self._lock:
            old = self._objects.pop((kind, namespace, name), None)
            if old is None:
                raise status.not_found(*_split_kind(kind), name)
            if kind == NAMESPACES:
                for key in [key for key in self._objects if key[1] == name]:
                    del self._objects[key]
            self._bump()
            return old


def _spec(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key not in ("metadata", "status")}
