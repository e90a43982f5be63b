"""The Job controller: pod events keep the expectations (creations, deletions, finalizer
removals); the per-Job pod-failure back-off records live here; ``core.controllers.job`` decides.
Orphaned pods that still carry the tracking finalizer lose it (``syncOrphanPod``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from podbay.agent.controllers.base import Controller, SyncError, split_key
from podbay.agent.controllers.cache import Cache
from podbay.agent.controllers.ports import Writer
from podbay.core.controllers import job as jc
from podbay.core.controllers import job_util as ju
from podbay.core.controllers import objects as o
from podbay.core.controllers.expectations import ControllerExpectations
from podbay.core.controllers.plan import Result

Obj = dict[str, Any]


class JobController(Controller):
    name = "job-controller"
    primary = "Job"
    watches = ("Pod",)

    def __init__(self, cache: Cache, writer: Writer, clock: Callable[[], float] | None = None) -> None:
        super().__init__(cache, writer, *(() if clock is None else (clock,)))
        self.expectations = ControllerExpectations()
        self.finalizers_expected: dict[str, set[str]] = {}
        self.backoff: dict[str, ju.BackoffRecord] = {}

    def on_event(self, kind: str, event_type: str, old: Obj | None, new: Obj) -> None:
        if kind == "Pod":
            for key in super().keys_for(kind, event_type, old, new):
                if event_type == "ADDED" and not o.deleting(new):
                    self.expectations.creation_observed(key)
                elif event_type == "DELETED" or (o.deleting(new) and (old is None or not o.deleting(old))):
                    self.expectations.deletion_observed(key)
                if event_type == "DELETED" or not jc.has_tracking_finalizer(new):
                    self.finalizers_expected.get(key, set()).discard(o.uid(new))
            if o.controller_of(new) is None and jc.has_tracking_finalizer(new) and event_type != "DELETED":
                self.remove_orphan_finalizer(new)
        super().on_event(kind, event_type, old, new)

    def remove_orphan_finalizer(self, pod: Obj) -> None:
        """``syncOrphanPod``: a pod no Job controls (any more) keeps no tracking finalizer."""
        self.execute(Result([jc.remove_finalizer_patch(pod)]))

    def resync(self) -> None:
        super().resync()
        for pod in self.cache.list("Pod"):
            if not jc.has_tracking_finalizer(pod):
                continue
            ref = o.controller_of(pod)
            if ref is None:
                self.remove_orphan_finalizer(pod)
                continue
            if ref.get("kind") != "Job":
                continue
            job = self.cache.get("Job", o.namespace(pod), str(ref.get("name")))
            if job is None or o.uid(job) != ref.get("uid") or jc.is_finished(job):
                self.remove_orphan_finalizer(pod)

    def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        job = self.cache.get(self.primary, ns, name)
        if job is None:
            self.expectations.forget(key)
            self.finalizers_expected.pop(key, None)
            self.backoff.pop(key, None)
            return None
        now = self.clock()
        plan = jc.sync_job(job, self.cache.list("Pod", ns), now,
                           expectations_satisfied=self.expectations.satisfied(key, now),
                           expected_rm_finalizers=frozenset(self.finalizers_expected.get(key, set())),
                           backoff=self.backoff.get(key))
        if plan.finished:
            self.backoff.pop(key, None)
        if plan.expect_creations or plan.expect_deletions:
            self.expectations.set(key, plan.expect_creations, plan.expect_deletions, now)
        if plan.expect_finalizers_removed:
            self.finalizers_expected.setdefault(key, set()).update(plan.expect_finalizers_removed)
        done = self.execute(plan.result)
        if done.error is not None:
            self.expectations.forget(key)
            self.finalizers_expected.pop(key, None)
            raise SyncError(done.error)
        if plan.backoff is not None and not plan.finished:
            self.backoff[key] = plan.backoff
        return plan.result.requeue_after


class TTLAfterFinishedController(Controller):
    """Deletes finished Jobs ``ttlSecondsAfterFinished`` after they finished (Foreground)."""

    name = "ttl-after-finished-controller"
    primary = "Job"

    def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        job = self.cache.get(self.primary, ns, name)
        if job is None:
            return None
        expired, left = jc.ttl_expiry(job, self.clock())
        if expired:
            self.run_plan(Result([jc.ttl_delete(job)]))
            return None
        return left
