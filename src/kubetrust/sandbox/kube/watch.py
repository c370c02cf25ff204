"""Watches: ``GET ...?watch=true`` streams ``{"type": ..., "object": ...}`` lines.

What ``kubectl rollout status``, ``kubectl wait``, ``kubectl delete`` (waiting for the
object to go) and ``kubectl get -w`` open after their first list. From ``resourceVersion``
N the stream carries the store's changes after N (``ADDED``, ``MODIFIED``, ``DELETED``);
without one (or ``0``, or with ``sendInitialEvents=true``) it starts with an ``ADDED`` per
current object. Label and field selectors filter by the object's current state. With
``allowWatchBookmarks`` a ``BOOKMARK`` goes out every few idle seconds (it also lets the
server notice a client that went away). A resourceVersion older than the store's history
is an ``ERROR`` event with a 410 ``Expired`` Status, as the apiserver sends it. Streams end
after ``timeoutSeconds``, at most ``MAX_SECONDS``, or within a poll of the client going
away: clients then watch again. No stream outlives its bound.
"""

from __future__ import annotations

import json
import logging
import select
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from kubetrust.sandbox.kube import params, selectors, status, tables
from kubetrust.sandbox.kube.routing import Target
from kubetrust.sandbox.kube.store import Obj, Store

LOG = logging.getLogger(__name__)
MAX_SECONDS = 300.0
POLL_SECONDS = 1.0
BOOKMARK_SECONDS = 5.0
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def response(store: Store, found: Target, request: Request, *, table: bool) -> Response:
    """The streaming response of a watch request (see module doc). Every option is decoded
    first (:mod:`~kubetrust.sandbox.kube.params`): a ``timeoutSeconds`` that is not an
    int64 — ``nan`` included — is a 400, never a stream without end."""
    args = request.args
    field_selector = args.get("fieldSelector") or ""
    try:
        labels = selectors.parse(args.get("labelSelector"))
        fields = selectors.parse_fields(field_selector)
    except ValueError as exc:
        raise status.bad_request(str(exc)) from None
    options = params.list_options(args)
    settings = _Options(
        store=store,
        kind=found.resource.key,
        namespace=found.namespace if found.resource.namespaced else None,
        matches=lambda obj: bool(labels(obj["metadata"].get("labels") or {}) and fields(obj)),
        table=found.resource.kind if table else "",
        include=args.get("includeObject", "Metadata"),
        bookmarks=options.bookmarks,
        gone=_peer_gone(request.environ.get("werkzeug.socket")),
    )
    since = options.resource_version
    initial = not since or options.initial_events
    deadline = time.monotonic() + _seconds(options.timeout_seconds)
    stream = _guarded(_stream(settings, since or 0, initial, deadline))
    return Response(stream, content_type="application/json")


def _seconds(timeout: int | None) -> float:
    """How long the stream lasts, as upstream ``ListResource``: absent or ``0`` is the
    server's default (upstream: ``MinRequestTimeout`` x [1, 2), 30-60 minutes; here
    ``MAX_SECONDS``, and a stream also ends within a poll of its client going away); a
    negative value ends the stream at once (upstream's timer fires at once); anything else
    is capped at ``MAX_SECONDS``."""
    if not timeout:
        return MAX_SECONDS
    return float(min(max(timeout, 0), MAX_SECONDS))


def _peer_gone(sock: socket.socket | None) -> Callable[[], bool]:
    """Whether the client went away: while a watch streams, an HTTP/1.1 client sends
    nothing, so a readable socket means it closed (FIN or TLS close_notify). Checked on
    every poll, so a quiet watch ends within ``POLL_SECONDS`` of its client, not at its
    deadline. Without a socket (in-process tests) the client never goes."""
    if sock is None:
        return lambda: False
    peer = sock

    def gone() -> bool:
        try:
            readable, _, _ = select.select([peer], [], [], 0)
        except (OSError, ValueError):  # closed under us
            return True
        return bool(readable)

    return gone


def _guarded(events: Iterator[bytes]) -> Iterator[bytes]:
    """End the stream quietly on an unexpected error (the app's last-resort guard cannot
    see errors raised after the response started)."""
    try:
        yield from events
    except Exception:
        LOG.exception("kube api: watch stream failed")


@dataclass(frozen=True, slots=True)
class _Options:
    """What one watch streams: the kind's changes that ``matches`` selects, as Table rows
    of ``table`` when set."""

    store: Store
    kind: str
    namespace: str | None
    matches: Callable[[Obj], bool]
    table: str
    include: str
    bookmarks: bool
    gone: Callable[[], bool]


def _line(event: str, obj: Obj, options: _Options | None = None) -> bytes:
    body = obj
    if options is not None and options.table:
        version = obj["metadata"].get("resourceVersion", "")
        body = tables.table(options.table, [obj], version, options.include)
    return json.dumps({"type": event, "object": body}).encode() + b"\n"


def _bookmark(revision: int, *, initial_end: bool = False) -> Obj:
    metadata: Obj = {"resourceVersion": str(revision)}
    if initial_end:
        metadata["annotations"] = {INITIAL_EVENTS_END: "true"}
    return {"kind": "", "apiVersion": "", "metadata": metadata}


def _stream(options: _Options, since: int, initial: bool, deadline: float) -> Iterator[bytes]:
    store = options.store
    yield b""  # sends the status line and headers now: clients wait for them
    if initial:
        items, version = store.list(options.kind, options.namespace)
        for obj in items:
            if options.matches(obj):
                yield _line("ADDED", obj, options)
        since = int(version)
        if options.bookmarks:
            yield _line("BOOKMARK", _bookmark(since, initial_end=True))
    quiet_since = time.monotonic()
    while True:  # at least once: a watch from an old version sends what happened since
        left = deadline - time.monotonic()
        try:
            wait = max(min(POLL_SECONDS, left), 0.0)
            changes, revision = store.changes(options.kind, options.namespace, since, wait)
        except status.ApiError as error:
            yield _line("ERROR", error.status())
            return
        for event, obj in changes:
            if options.matches(obj):
                yield _line(event, obj, options)
                quiet_since = time.monotonic()
        since = revision
        if left <= 0 or options.gone():
            return
        if options.bookmarks and time.monotonic() - quiet_since > BOOKMARK_SECONDS:
            yield _line("BOOKMARK", _bookmark(since))
            quiet_since = time.monotonic()
