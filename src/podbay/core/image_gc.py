"""Which images a GC run deletes (pure): the kubelet's ``realImageGCManager`` policy.

``GarbageCollect``: usage = 100 - available*100/capacity of the image filesystem; at or above the
high threshold, free ``capacity*(100-low)/100 - available`` bytes. ``freeSpace`` deletes images no
container uses (running or exited), not pinned, first detected at least ``min_age`` ago, least
recently used first (ties: detected first), until enough is freed. Threshold 100 disables GC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class GcPolicy:
    high_threshold: int = 85
    low_threshold: int = 80
    min_age: float = 120.0


@dataclass(frozen=True)
class GcImage:
    id: str
    size: int
    first_detected: float
    last_used: float        # 0 = never used by a container
    in_use: bool = False
    pinned: bool = False    # e.g. a pull in flight


@dataclass(frozen=True)
class GcPlan:
    usage_percent: int
    to_free: int            # bytes wanted (0: below the threshold)
    delete: tuple[str, ...]
    freed: int

    @property
    def shortfall(self) -> bool:
        return self.freed < self.to_free


def usage_percent(capacity: int, available: int) -> int:
    return 100 - int(available * 100 / capacity) if capacity > 0 else 0


def eligible(images: Sequence[GcImage], now: float, min_age: float) -> list[GcImage]:
    """Deletable images, in deletion order (least recently used, then first detected)."""
    ok = [i for i in images if not i.in_use and not i.pinned and now - i.first_detected >= min_age]
    return sorted(ok, key=lambda i: (i.last_used, i.first_detected))


def plan(images: Sequence[GcImage], capacity: int, available: int, policy: GcPolicy, now: float) -> GcPlan:
    usage = usage_percent(capacity, available)
    if policy.high_threshold >= 100 or usage < policy.high_threshold:
        return GcPlan(usage, 0, (), 0)
    to_free = capacity * (100 - policy.low_threshold) // 100 - available
    return _free(images, to_free, usage, now, policy.min_age)


def prune(images: Sequence[GcImage], now: float, min_age: float = 0.0) -> GcPlan:
    """Every unused image (``podbay image prune``, ``crictl rmi --prune``)."""
    chosen = eligible(images, now, min_age)
    return GcPlan(0, 0, tuple(i.id for i in chosen), sum(i.size for i in chosen))


def _free(images: Sequence[GcImage], to_free: int, usage: int, now: float, min_age: float) -> GcPlan:
    delete: list[str] = []
    freed = 0
    for img in eligible(images, now, min_age):
        if freed >= to_free:
            break
        delete.append(img.id)
        freed += img.size
    return GcPlan(usage, to_free, tuple(delete), freed)


def shortfall_message(to_free: int, freed: int) -> str:
    """The node's ``FreeDiskSpaceFailed`` Warning."""
    return (f"Failed to garbage collect required amount of images. Attempted to free {to_free} bytes, "
            f"but only found {freed} bytes eligible to free.")
