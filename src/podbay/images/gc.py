"""Image garbage collection against the store: gather what the pure policy needs, delete its choice."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from podbay.core.image_gc import GcImage, GcPlan
from podbay.errors import Conflict, NotFound
from podbay.images.store import ImageStore


@dataclass(frozen=True)
class Removal:
    id: str
    refs: tuple[str, ...]
    size: int


def filesystem(store: ImageStore) -> tuple[int, int]:
    """(capacity, available) bytes of the image filesystem (statvfs of the store)."""
    store.root.mkdir(parents=True, exist_ok=True)
    st = os.statvfs(store.root)
    return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize


def candidates(store: ImageStore, in_use: Iterable[str], pinned: Iterable[str] = ()) -> list[GcImage]:
    """Every image with its use: ``in_use`` are the image refs/ids of the containers podbay keeps
    (running or exited), ``pinned`` refs with a pull in flight; images with a mounted layer count as used."""
    used_ids = store.ids_of(in_use) | store.mounted_ids()
    pinned_ids = store.ids_of(pinned)
    last = store.last_used()
    return [GcImage(img.id, img.size, img.first_detected, last.get(img.id.removeprefix("sha256:"), 0.0),
                    in_use=img.id in used_ids, pinned=img.id in pinned_ids) for img in store.list()]


def execute(store: ImageStore, plan: GcPlan) -> list[Removal]:
    """Delete the planned images (all their tags); one that became busy meanwhile is skipped."""
    by_id = {i.id: i for i in store.list()}
    out = []
    for image_id in plan.delete:
        img = by_id.get(image_id)
        if img is None:
            continue
        try:
            store.remove(image_id, force=True)
        except (Conflict, NotFound):
            continue
        out.append(Removal(image_id, tuple(img.refs), img.size))
    return out
