"""An in-memory, thread-safe object store with Kubernetes' bookkeeping.

Objects are JSON dicts keyed by ``(<group>/<version>/<plural>, namespace, name)``;
cluster-scoped kinds use namespace ``""``. The store stamps what the apiserver stamps:
``resourceVersion`` (one global counter, as etcd's revision), ``uid``,
``creationTimestamp`` and ``generation`` (bumped when anything but metadata and status
changes). Updates carrying a stale ``resourceVersion`` are refused with 409 Conflict, as
the apiserver's optimistic concurrency does. Every read returns a deep copy, so callers
can never change stored state by accident. The last ``EVENT_LOG`` changes are kept, as
etcd keeps its history, so that watches can resume from a ``resourceVersion`` (410 Gone
when it is older than that).
"""

from __future__ import annotations

import builtins
import copy
import datetime as dt
import secrets
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kubetrust.sandbox.kube import selectors, status

Obj = dict[str, Any]
Key = tuple[str, str, str]
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
NAMESPACES = "/v1/namespaces"
GENERATE_ATTEMPTS = 8
EVENT_LOG = 2_000
Event = tuple[int, str, Key, "Obj"]
"""``(revision, ADDED | MODIFIED | DELETED, key, object)`` of one change."""
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"
"""``k8s.io/apimachinery/pkg/util/rand``'s alphabet (no vowels, no 0/1/3): what generated
names and ``pod-template-hash`` values are made of."""


def random_suffix(length: int = 5) -> str:
    """``utilrand.String(length)``: the suffix of a ``generateName`` name."""
    return "".join(secrets.choice(ALPHANUMS) for _ in range(length))


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
        self._events: deque[Event] = deque(maxlen=EVENT_LOG)
        self._changed = threading.Condition(self._lock)
        for name in INITIAL_NAMESPACES:
            self.create(
                NAMESPACES,
                "",
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
            )

    @property
    def clock(self) -> Callable[[], dt.datetime]:
        """The clock that stamps ``creationTimestamp`` (controllers use it too)."""
        return self._clock

    @property
    def resource_version(self) -> str:
        """The current global revision (a list's ``metadata.resourceVersion``)."""
        with self._lock:
            return str(self._revision)

    def _bump(self) -> str:
        self._revision += 1
        return str(self._revision)

    def _record(self, kind: str, key: Key, obj: Obj) -> None:
        """Log a change (objects are never changed in place once stored, so the log may
        share them) and wake the watchers."""
        self._events.append((self._revision, kind, key, obj))
        self._changed.notify_all()

    def changes(
        self, kind: str, namespace: str | None, since: int, wait: float
    ) -> tuple[builtins.list[tuple[str, Obj]], int]:
        """``([(type, object)], revision)``: the changes of ``kind`` (in ``namespace``)
        after revision ``since``, waiting up to ``wait`` seconds for one; 410 Gone when
        ``since`` is older than the log."""
        with self._lock:
            if self._events and since < self._events[0][0] - 1 and len(self._events) == EVENT_LOG:
                raise status.ApiError(
                    "Expired", f"too old resource version: {since} ({self._events[0][0] - 1})"
                )
            if since >= self._revision and wait > 0:
                self._changed.wait(wait)
            found = [
                (event, copy.deepcopy(obj))
                for revision, event, (k, ns, _), obj in self._events
                if revision > since and k == kind and (namespace is None or ns == namespace)
            ]
            return found, self._revision

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

    def owned_by(self, uid: str) -> builtins.list[Key]:
        """Keys of the objects with an ``ownerReferences`` entry for ``uid`` (what the
        garbage collector deletes with their owner)."""
        with self._lock:
            return [key for key, obj in sorted(self._objects.items()) if _owned(obj, uid)]

    # ------------------------------------------------------------------ writes
    def create(self, kind: str, namespace: str, obj: Mapping[str, Any]) -> Obj:
        """Store a new object; 409 AlreadyExists if the name is taken. ``generateName`` is
        honoured (a generated name that is taken is drawn again, as the apiserver's
        ``RetryGenerateName`` does); client-set uid and resourceVersion are ignored."""
        new = copy.deepcopy(dict(obj))
        metadata = new.setdefault("metadata", {})
        with self._lock:
            name = metadata.get("name") or ""
            if not name and metadata.get("generateName"):
                for _ in range(GENERATE_ATTEMPTS):
                    name = metadata["generateName"] + random_suffix()
                    if (kind, namespace, name) not in self._objects:
                        break
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
            self._record("ADDED", key, new)
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
            self._record("MODIFIED", (kind, namespace, name), new)
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
                    self._gone(key, self._objects.pop(key))
            self._gone((kind, namespace, name), old)
            return copy.deepcopy(old)

    def _gone(self, key: Key, obj: Obj) -> None:
        """Log a deletion at a revision of its own, the object's last state with it."""
        version = self._bump()
        last = {**obj, "metadata": {**obj["metadata"], "resourceVersion": version}}
        self._record("DELETED", key, last)


def _owned(obj: Mapping[str, Any], uid: str) -> bool:
    references = obj.get("metadata", {}).get("ownerReferences")
    if not isinstance(references, list):
        return False
    return any(isinstance(ref, dict) and ref.get("uid") == uid for ref in references)


def _spec(obj: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in obj.items() if key not in ("metadata", "status")}
