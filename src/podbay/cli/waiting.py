"""Waiting on one object of any kind: GET, then a watch of that name from the returned
resourceVersion, until a predicate holds (kubectl's ``wait`` / ``delete --wait`` use
``watchtools.UntilWithSync`` the same way). A watch that ends early or answers 410 starts over.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from podbay.client.http import ApiClient, ApiError

Obj = dict[str, Any]
Done = Callable[[Obj | None], bool]   # the object, or None once it is gone


def wait_for(client: ApiClient, res: Any, namespace: str | None, name: str, deadline: float, done: Done) -> bool:
    """True once ``done`` holds, False at the deadline (``time.monotonic``)."""
    while time.monotonic() < deadline:
        try:
            obj: Obj | None = client.get(res.path(namespace, name))
        except ApiError as e:
            if e.code != 404:
                raise
            obj = None
        if done(obj):
            return True
        query: dict[str, Any] = {"fieldSelector": f"metadata.name={name}"}
        rv = ((obj or {}).get("metadata") or {}).get("resourceVersion")
        if rv:
            query["resourceVersion"] = rv
        try:
            for event in client.watch(res.path(namespace), query, deadline=deadline):
                o = event.get("object") or {}
                etype = event.get("type")
                if etype == "ERROR":
                    break   # 410 Gone or the like: GET again
                if etype == "BOOKMARK" or (o.get("metadata") or {}).get("name") != name:
                    continue
                if done(None if etype == "DELETED" else o):
                    return True
        except TimeoutError:
            return False
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
    return False


def gone(uid: str) -> Done:
    """The object is deleted (or replaced by another with a new uid)."""
    return lambda obj: obj is None or (bool(uid) and (obj.get("metadata") or {}).get("uid") != uid)
