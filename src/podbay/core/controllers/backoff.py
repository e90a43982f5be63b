"""``k8s.io/client-go/util/flowcontrol.Backoff`` without jitter: per-key exponential delays (the
DaemonSet controller's failed-pod back-off, 1 s doubling to 15 min). State only; time comes in."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class _Entry:
    backoff: float
    last_update: float


class Backoff:
    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = initial
        self.maximum = maximum
        self._items: dict[str, _Entry] = {}

    def _expired(self, now: float, last: float) -> bool:
        return now - last > 2 * self.maximum  # stable after twice the maximum

    def get(self, key: str) -> float:
        e = self._items.get(key)
        return e.backoff if e else 0.0

    def next(self, key: str, now: float) -> None:
        e = self._items.get(key)
        if e is None or self._expired(now, e.last_update):
            self._items[key] = _Entry(self.initial, now)
        else:
            e.backoff = min(2 * e.backoff, self.maximum)
            e.last_update = now

    def in_backoff_since_update(self, key: str, now: float) -> bool:
        e = self._items.get(key)
        if e is None or self._expired(now, e.last_update):
            return False
        return now - e.last_update < e.backoff

    def gc(self, now: float) -> None:
        for k in [k for k, e in self._items.items() if self._expired(now, e.last_update)]:
            del self._items[k]

    def reset(self, key: str) -> None:
        self._items.pop(key, None)
