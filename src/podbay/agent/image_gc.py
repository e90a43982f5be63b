"""The agent's image GC: every ``image_gc_period`` the kubelet's policy over the image filesystem."""

from __future__ import annotations

import asyncio
import logging
import time

from podbay.agent.deps import Deps
from podbay.core import image_gc
from podbay.images import gc as store_gc

log = logging.getLogger("podbay.images")


def collect_once(deps: Deps, now: float | None = None) -> tuple[image_gc.GcPlan, list[store_gc.Removal]]:
    """One GarbageCollect run: never an image a container podbay keeps uses, nor one being pulled."""
    cfg = deps.cfg
    policy = image_gc.GcPolicy(cfg.image_gc_high_threshold, cfg.image_gc_low_threshold, cfg.image_minimum_gc_age)
    in_use = [r.image_id or r.image for r in deps.store.all_containers()]
    pinned = deps.image_manager.pulling() if deps.image_manager is not None else set()
    images = store_gc.candidates(deps.images, in_use, pinned)
    capacity, available = store_gc.filesystem(deps.images)
    plan = image_gc.plan(images, capacity, available, policy, time.time() if now is None else now)
    removed = store_gc.execute(deps.images, plan) if plan.delete else []
    for r in removed:
        log.info("image GC removed %s (%s, %d bytes)", r.id, ", ".join(r.refs) or "untagged", r.size)
    if plan.to_free and sum(r.size for r in removed) < plan.to_free:
        log.warning("%s", image_gc.shortfall_message(plan.to_free, sum(r.size for r in removed)))
    return plan, removed


async def image_gc_loop(deps: Deps) -> None:
    while True:
        await asyncio.sleep(deps.cfg.image_gc_period)
        try:
            await asyncio.to_thread(collect_once, deps)
        except Exception:   # a reconcile loop never dies from one bad run
            log.exception("image GC failed")
