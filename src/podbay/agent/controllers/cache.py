"""An informer's store for the controllers: the latest version of every object of the kinds they
watch, fed by the repository's watch events (after an initial list), indexed by kind and namespace.
Objects handed out are the cache's own: callers must not mutate them (the pure controllers copy)."""

from __future__ import annotations

import builtins
import copy
from collections.abc import Iterable
from typing import Any

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name)


def _key(obj: Obj) -> Key:
    md = obj.get("metadata") or {}
    return str(md.get("namespace") or ""), str(md.get("name") or "")


class Cache:
    def __init__(self) -> None:
        self._objs: dict[str, dict[Key, Obj]] = {}

    def kinds(self) -> list[str]:
        return list(self._objs)

    def replace(self, kind: str, objs: Iterable[Obj]) -> None:
        """The initial list of a kind (a relist replaces everything known of it)."""
        self._objs[kind] = {_key(o): o for o in objs}

    def apply(self, event_type: str, kind: str, obj: Obj) -> Obj | None:
        """One watch event; returns the previous version (None for a new object)."""
        store = self._objs.setdefault(kind, {})
        k = _key(obj)
        old = store.get(k)
        if event_type == "DELETED":
            store.pop(k, None)
        else:
            store[k] = copy.deepcopy(obj)  # the hub's objects are shared with every listener
        return old

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        return self._objs.get(kind, {}).get((namespace, name))

    def list(self, kind: str, namespace: str | None = None) -> list[Obj]:
        objs = self._objs.get(kind, {})
        if namespace is None:
            return list(objs.values())
        return [o for (ns, _), o in objs.items() if ns == namespace]

    def all(self) -> builtins.list[Obj]:
        return [o for objs in self._objs.values() for o in objs.values()]
