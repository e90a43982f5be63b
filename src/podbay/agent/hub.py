"""Watch fan-out: every object change becomes an event with its resourceVersion, kept in a ring for replay."""

from __future__ import annotations

import asyncio
import copy
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    type: str             # ADDED | MODIFIED | DELETED
    kind: str
    rv: int
    obj: dict[str, Any]


class Hub:
    def __init__(self, ring: int = 2048, start_rv: int = 0) -> None:
        """start_rv: the store's resourceVersion when the hub was created (events before it are unknown)."""
        self._ring: deque[Event] = deque(maxlen=ring)
        self._subs: list[asyncio.Queue[Event]] = []
        # A client whose rv is below this may have missed events the ring cannot replay (410 Gone).
        self._floor = start_rv

    def publish(self, type_: str, obj: dict[str, Any]) -> None:
        ev = Event(type_, obj.get("kind", ""), int(obj["metadata"].get("resourceVersion", 0)), copy.deepcopy(obj))
        if len(self._ring) == self._ring.maxlen:
            self._floor = max(self._floor, self._ring[0].rv)
        self._ring.append(ev)
        for q in list(self._subs):
            q.put_nowait(ev)

    def subscribe(self) -> asyncio.Queue[Event]:
        q: asyncio.Queue[Event] = asyncio.Queue()
        self._subs.append(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[Event]) -> None:
        if q in self._subs:
            self._subs.remove(q)

    def since(self, rv: int, match: Callable[[Event], bool]) -> list[Event] | None:
        """Events newer than rv, or None if rv is older than what the ring still holds (410 Gone)."""
        if rv < self._floor:
            return None
        return [e for e in self._ring if e.rv > rv and match(e)]
