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
    def __init__(self, ring: int = 2048) -> None:
        self._ring: deque[Event] = deque(maxlen=ring)
        self._subs: list[asyncio.Queue[Event]] = []

    def publish(self, type_: str, obj: dict[str, Any]) -> None:
        ev = Event(type_, obj.get("kind", ""), int(obj["metadata"].get("resourceVersion", 0)), copy.deepcopy(obj))
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
        if self._ring and rv < self._ring[0].rv - 1 and len(self._ring) == self._ring.maxlen:
            return None
        return [e for e in self._ring if e.rv > rv and match(e)]
