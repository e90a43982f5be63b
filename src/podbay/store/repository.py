"""The one place that stamps, persists and publishes API objects (REVIEW R5).

Every create, update and delete of an object goes through a ``Repository``: it takes the next
resourceVersion, writes the SQLite row, updates an in-memory cache of every object (the body as
stored, serialised once, so GETs and LISTs never re-encode) and hands a ``Change`` to the publisher
(the watch hub) — all under the store's lock, so changes are published in resourceVersion order.
Writers that compute a new version from the current one use ``mutate`` (read-modify-write under the
same lock, no lost update). Optimistic concurrency: ``update(expected_rv=...)`` answers 409 Conflict
with kube-apiserver's message when the object moved on.

Callers get fresh dicts (``get``) they may change; ``Stored.obj`` is shared and read-only.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from podbay.api.selectors import selectable_fields
from podbay.errors import AlreadyExists, Conflict, NotFound
from podbay.store.db import Store

Obj = dict[str, Any]

MODIFIED_MSG = "the object has been modified; please apply your changes to the latest version and try again"


@dataclass(frozen=True)
class Stored:
    kind: str
    namespace: str
    name: str
    uid: str
    rv: int
    raw: bytes                      # the stored JSON body
    obj: Obj = field(compare=False)  # shared, read-only
    labels: dict[str, str] = field(compare=False, default_factory=dict)
    fields: dict[str, str] = field(compare=False, default_factory=dict)

    def copy(self) -> Obj:
        return dict(json.loads(self.raw))


@dataclass(frozen=True)
class Change:
    type: str            # ADDED | MODIFIED | DELETED
    item: Stored


Publisher = Callable[[Change], None]


def stored_item(kind: str, namespace: str, name: str, rv: int, raw: bytes, obj: Obj) -> Stored:
    md = obj.get("metadata") or {}
    labels = md.get("labels") or {}
    return Stored(kind, namespace, name, str(md.get("uid") or ""), rv, raw, obj,
                  dict(labels) if isinstance(labels, dict) else {}, selectable_fields(kind, obj))


def _encode(obj: Obj) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class Repository:
    def __init__(self, store: Store, publish: Publisher | None = None,
                 plurals: Callable[[str], str] | None = None) -> None:
        self.store = store
        self._publish = publish or (lambda _c: None)
        self._plural = plurals or (lambda kind: kind.lower() + "s")
        self._lock = store.lock
        self._items: dict[str, dict[tuple[str, str], Stored]] = {}
        self._by_uid: dict[str, Stored] = {}
        for kind, ns, name, rv, body in store.all_object_rows():
            obj = json.loads(body)
            self._remember(stored_item(kind, ns, name, rv, body.encode(), obj))

    def set_publisher(self, publish: Publisher) -> None:
        self._publish = publish

    # --- reads ----------------------------------------------------------------------------------------
    def current_rv(self) -> int:
        return self.store.current_rv()

    def peek(self, kind: str, namespace: str, name: str) -> Stored | None:
        return self._items.get(kind, {}).get((namespace, name))

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        found = self.peek(kind, namespace, name)
        return None if found is None else found.copy()

    def by_uid(self, uid: str) -> Stored | None:
        return self._by_uid.get(uid)

    def list(self, kind: str, namespace: str | None = None) -> builtins.list[Stored]:
        """Objects of a kind (one namespace, or all), sorted by namespace and name."""
        with self._lock:
            items = list(self._items.get(kind, {}).values())
        if namespace is not None:
            items = [s for s in items if s.namespace == namespace]
        return sorted(items, key=lambda s: (s.namespace, s.name))

    def snapshot(self, kind: str, namespace: str | None = None) -> tuple[int, builtins.list[Stored]]:
        """(resourceVersion, objects) read together: the list is the state at that version."""
        with self._lock:
            return self.current_rv(), self.list(kind, namespace)

    def kinds(self) -> builtins.list[str]:
        return sorted(k for k, v in self._items.items() if v)

    def namespaces_in_use(self) -> set[str]:
        with self._lock:
            return {ns for items in self._items.values() for (ns, _n) in items if ns}

    # --- writes ---------------------------------------------------------------------------------------
    def _remember(self, item: Stored) -> None:
        self._items.setdefault(item.kind, {})[(item.namespace, item.name)] = item
        if item.uid:
            self._by_uid[item.uid] = item

    def _forget(self, item: Stored) -> None:
        self._items.get(item.kind, {}).pop((item.namespace, item.name), None)
        if self._by_uid.get(item.uid) is item:
            del self._by_uid[item.uid]

    def _write(self, obj: Obj, *, create: bool) -> Stored:
        md = obj["metadata"]
        kind, ns, name = str(obj["kind"]), str(md.get("namespace") or ""), str(md["name"])
        with self.store.tx() as db:
            rv = self.store.next_rv(db)
            md["resourceVersion"] = str(rv)
            raw = _encode(obj)
            try:
                self.store.write_object_row(db, obj, rv, raw.decode(), create=create)
            except AlreadyExists:
                md.pop("resourceVersion", None)
                raise AlreadyExists(f'{self._plural(kind)} "{name}" already exists',
                                    {"name": name, "kind": self._plural(kind)}) from None
        item = stored_item(kind, ns, name, rv, raw, json.loads(raw))
        old = self.peek(kind, ns, name)
        if old is not None:
            self._forget(old)
        self._remember(item)
        return item

    def create(self, obj: Obj) -> Obj:
        """Store a new object (metadata.uid set by the caller); AlreadyExists if the name is taken."""
        with self._lock:
            md = obj["metadata"]
            if self.peek(str(obj["kind"]), str(md.get("namespace") or ""), str(md["name"])) is not None:
                raise AlreadyExists(f'{self._plural(str(obj["kind"]))} "{md["name"]}" already exists',
                                    {"name": md["name"], "kind": self._plural(str(obj["kind"]))})
            item = self._write(obj, create=True)
            self._publish(Change("ADDED", item))
        return obj

    def _current(self, kind: str, namespace: str, name: str) -> Stored:
        found = self.peek(kind, namespace, name)
        if found is None:
            raise NotFound(f'{self._plural(kind)} "{name}" not found', {"name": name, "kind": self._plural(kind)})
        return found

    def conflict(self, kind: str, name: str, why: str = MODIFIED_MSG) -> Conflict:
        plural = self._plural(kind)
        return Conflict(f'Operation cannot be fulfilled on {plural} "{name}": {why}', {"name": name, "kind": plural})

    def update(self, obj: Obj, expected_rv: int | None = None) -> Obj:
        """Replace a stored object; with ``expected_rv`` only if it is still at that version."""
        with self._lock:
            md = obj["metadata"]
            kind, ns, name = str(obj["kind"]), str(md.get("namespace") or ""), str(md["name"])
            cur = self._current(kind, ns, name)
            if expected_rv is not None and expected_rv != cur.rv:
                raise self.conflict(kind, name)
            if md.get("uid") and cur.uid and md["uid"] != cur.uid:
                raise self.conflict(kind, name, f"Precondition failed: UID in precondition: {md['uid']}, "
                                                f"UID in object meta: {cur.uid}")
            item = self._write(obj, create=False)
            self._publish(Change("MODIFIED", item))
        return obj

    def mutate(self, kind: str, namespace: str, name: str, fn: Callable[[Obj], Obj | None]) -> Obj | None:
        """Read-modify-write under the lock: ``fn`` gets a fresh copy and returns the new object, or
        None to leave it as it is. Returns what is stored afterwards (None if the object is gone)."""
        with self._lock:
            cur = self.peek(kind, namespace, name)
            if cur is None:
                return None
            new = fn(cur.copy())
            if new is None:
                return cur.copy()
            self._write(new, create=False)
            item = self._current(kind, namespace, name)
            self._publish(Change("MODIFIED", item))
            return item.copy()

    def delete(self, kind: str, namespace: str, name: str, *, expected_rv: int | None = None,
               expected_uid: str | None = None) -> Obj:
        """Remove an object; returns its last body with the deletion's resourceVersion."""
        with self._lock:
            cur = self._current(kind, namespace, name)
            if expected_uid is not None and expected_uid != cur.uid:
                raise self.conflict(kind, name, f"Precondition failed: UID in precondition: {expected_uid}, "
                                                f"UID in object meta: {cur.uid}")
            if expected_rv is not None and expected_rv != cur.rv:
                raise self.conflict(kind, name, f"Precondition failed: ResourceVersion in precondition: "
                                                f"{expected_rv}, ResourceVersion in object meta: {cur.rv}")
            with self.store.tx() as db:
                rv = self.store.next_rv(db)
                self.store.delete_object_row(db, kind, namespace, name)
            self._forget(cur)
            gone = cur.copy()
            gone.setdefault("metadata", {})["resourceVersion"] = str(rv)
            raw = _encode(gone)
            self._publish(Change("DELETED", stored_item(kind, namespace, name, rv, raw, gone)))
        return gone

    def __iter__(self) -> Iterator[Stored]:
        with self._lock:
            items = [s for v in self._items.values() for s in v.values()]
        return iter(items)
