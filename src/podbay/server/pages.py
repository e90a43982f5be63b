"""Snapshots behind paginated lists: every page of one list shows the same state (the first
page's resourceVersion), as etcd's MVCC read does upstream. Bounded in bytes and time; a snapshot
that was dropped makes its continue token 410 Expired."""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

from podbay.api import pagination
from podbay.errors import Expired
from podbay.store.repository import Stored

MAX_BYTES = 64 * 1024 * 1024
TTL_SECONDS = 300.0


@dataclass
class _Snapshot:
    rv: int
    items: list[Stored]
    size: int
    created: float


class Pages:
    def __init__(self, max_bytes: int = MAX_BYTES, ttl: float = TTL_SECONDS) -> None:
        self.max_bytes = max_bytes
        self.ttl = ttl
        self._snaps: OrderedDict[str, _Snapshot] = OrderedDict()
        self._bytes = 0

    def _expire(self) -> None:
        now = time.monotonic()
        while self._snaps:
            key, snap = next(iter(self._snaps.items()))
            if self._bytes <= self.max_bytes and now - snap.created < self.ttl:
                break
            del self._snaps[key]
            self._bytes -= snap.size

    def page(self, items: list[Stored], rv: int, limit: int, token: str = "") -> tuple[list[Stored], int, str, int]:
        """(page, rv, continue token or "", items remaining after it) of a list; ``token`` continues one."""
        self._expire()
        if token:
            t = pagination.decode(token)
            snap = self._snaps.get(t.snapshot)
            if snap is None or snap.rv != t.rv:
                raise Expired(pagination.EXPIRED_MSG)
            items, rv, start, key = snap.items, snap.rv, t.offset, t.snapshot
        else:
            start, key = 0, ""
        end = len(items) if limit <= 0 else min(len(items), start + limit)
        page = items[start:end]
        if end >= len(items):
            return page, rv, "", 0
        if not key:
            key = secrets.token_hex(8)
            size = sum(len(s.raw) for s in items)
            self._snaps[key] = _Snapshot(rv, items, size, time.monotonic())
            self._bytes += size
            self._expire()
        return page, rv, pagination.encode(pagination.Token(rv, key, end)), len(items) - end
