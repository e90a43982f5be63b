"""Watch fan-out per kind: every stored change becomes an event, kept in a per-kind history for replay.

Each kind has its own subscribers and its own history, so a watch of one kind never sees another
kind's objects (REVIEW D1: a pod watch once streamed Secrets). The history is bounded in events AND
in bytes (a ring of the serialised objects, without their parsed form), so the agent's memory does
not grow with the size of what it stores (issue 10). A client whose resourceVersion is older than
what a kind's history still holds gets 410 Gone (``floor``).

Publishing is thread-safe (writers run in worker threads too): events are queued in publish order
and delivered on the event loop, in resourceVersion order, to subscriber queues and to in-process
listeners (controllers).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from podbay.store.repository import Change

MAX_EVENTS = 1024                 # per kind
MAX_BYTES = 4 * 1024 * 1024       # per kind, of serialised objects
MAX_QUEUE = 10000                 # a subscriber further behind than this is dropped (it re-watches)
_OVERHEAD = 200                   # bytes counted per event for the event itself


@dataclass(frozen=True)
class Event:
    type: str             # ADDED | MODIFIED | DELETED
    kind: str
    rv: int
    namespace: str
    name: str
    raw: bytes
    labels: Mapping[str, str] = field(default_factory=dict)
    fields: Mapping[str, str] = field(default_factory=dict)
    obj: dict[str, Any] | None = field(default=None, compare=False)   # parsed, read-only; not kept in history

    @property
    def size(self) -> int:
        return len(self.raw) + _OVERHEAD


def event_of(change: Change) -> Event:
    s = change.item
    return Event(change.type, s.kind, s.rv, s.namespace, s.name, s.raw, s.labels, s.fields, s.obj)


class Subscription:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.overflowed = False

    def put(self, ev: Event) -> None:
        if self.overflowed:
            return
        if self.queue.qsize() >= MAX_QUEUE:
            self.overflowed = True   # the watch ends; the client lists or watches again
            return
        self.queue.put_nowait(ev)


Listener = Callable[[Event], None]


class _History:
    def __init__(self, floor: int) -> None:
        self.events: deque[Event] = deque()
        self.bytes = 0
        self.floor = floor     # every event of this kind newer than floor is in `events`

    def add(self, ev: Event, max_events: int, max_bytes: int) -> None:
        self.events.append(ev)
        self.bytes += ev.size
        while self.events and (len(self.events) > max_events or self.bytes > max_bytes):
            old = self.events.popleft()
            self.bytes -= old.size
            self.floor = max(self.floor, old.rv)


class Hub:
    def __init__(self, start_rv: int = 0, *, max_events: int = MAX_EVENTS, max_bytes: int = MAX_BYTES) -> None:
        """start_rv: the store's resourceVersion when the hub was created (events before it are unknown)."""
        self._start = start_rv
        self._max_events = max_events
        self._max_bytes = max_bytes
        self._history: dict[str, _History] = {}
        self._subs: dict[str, list[Subscription]] = {}
        self._listeners: dict[str, list[Listener]] = {}
        self._lock = threading.Lock()
        self._pending: deque[Event] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._flushed_rv = start_rv

    # --- wiring ----------------------------------------------------------------------------------------
    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver on this loop from now on (publishers on other threads hand over to it)."""
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def subscribe(self, kind: str) -> Subscription:
        sub = Subscription(kind)
        with self._lock:
            self._subs.setdefault(kind, []).append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.kind, [])
            if sub in subs:
                subs.remove(sub)

    def add_listener(self, kind: str, fn: Listener) -> None:
        """Call ``fn`` on the loop for every change of ``kind`` (in-process controllers)."""
        self._listeners.setdefault(kind, []).append(fn)

    # --- publishing ----------------------------------------------------------------------------------
    def publish_change(self, change: Change) -> None:
        self.publish(event_of(change))

    def publish(self, ev: Event) -> None:
        slim = Event(ev.type, ev.kind, ev.rv, ev.namespace, ev.name, ev.raw, ev.labels, ev.fields)
        with self._lock:
            self._history_of(ev.kind).add(slim, self._max_events, self._max_bytes)
            self._pending.append(ev)
        if self._loop is None or threading.get_ident() == self._loop_thread:
            self._flush()
        else:
            try:
                self._loop.call_soon_threadsafe(self._flush)
            except RuntimeError:   # the loop is closed (agent stopping): nobody is listening
                pass

    def _history_of(self, kind: str) -> _History:
        h = self._history.get(kind)
        if h is None:
            h = self._history[kind] = _History(self._start)
        return h

    def _flush(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    return
                ev = self._pending.popleft()
                subs = list(self._subs.get(ev.kind, ()))
                self._flushed_rv = max(self._flushed_rv, ev.rv)
            for sub in subs:
                sub.put(ev)
            for fn in list(self._listeners.get(ev.kind, ())):
                try:
                    fn(ev)
                except Exception:   # a listener must never break delivery to the others
                    import logging

                    logging.getLogger("podbay.hub").exception("watch listener for %s failed", ev.kind)

    # --- replay ---------------------------------------------------------------------------------------
    def flushed_rv(self) -> int:
        """Every event up to this resourceVersion has been delivered to subscriber queues."""
        with self._lock:
            return self._flushed_rv if not self._pending else min(self._flushed_rv, self._pending[0].rv - 1)

    def floor(self, kind: str) -> int:
        with self._lock:
            return self._history_of(kind).floor

    def since(self, kind: str, rv: int) -> list[Event] | None:
        """Events of ``kind`` newer than rv, or None if rv is older than the history holds (410 Gone)."""
        with self._lock:
            h = self._history_of(kind)
            if rv < h.floor:
                return None
            return [e for e in h.events if e.rv > rv]

    def changed_since(self, kind: str, rv: int) -> bool | None:
        """Whether any object of ``kind`` changed after rv (None: unknown, rv is too old)."""
        with self._lock:
            h = self._history_of(kind)
            if rv < h.floor:
                return None
            return bool(h.events) and h.events[-1].rv > rv

    def history_events(self) -> int:
        with self._lock:
            return sum(len(h.events) for h in self._history.values())

    def history_bytes(self) -> int:
        with self._lock:
            return sum(h.bytes for h in self._history.values())
