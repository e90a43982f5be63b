"""The pod worker's view of one pod's life, as data (kubelet pod_workers.go ``podSyncStatus``).

A pod is *syncing* until it reaches a terminal phase or something decides it must stop (a delete,
an eviction, its activeDeadlineSeconds); it is then *terminating* until every container has
stopped, and finally *terminated* (volumes and network released). The phase is derived from the
timestamps, as ``podSyncStatus.WorkType()`` does.

Rules kept from the kubelet:

* the grace period can only be shortened once termination has begun (``calculateEffectiveGracePeriod``
  plus the "kill options accumulate" rule of ``UpdatePod``);
* the first reason wins (an evicted pod that is then deleted stays Evicted);
* a deletion of a pod that is already terminating only marks it deleted.

Pure: every transition takes ``now`` and returns a new value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

Phase = Literal["syncing", "terminating", "terminated"]

DEADLINE_REASON = "DeadlineExceeded"
DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"
EVICTION_GRACE = 1.0            # eviction_manager.go immediateEvictionGracePeriodSeconds
DEFAULT_GRACE = 30.0            # API default of terminationGracePeriodSeconds


@dataclass(frozen=True)
class PodLifecycle:
    synced_at: float | None = None
    terminating_at: float | None = None
    terminated_at: float | None = None
    grace: float | None = None          # effective grace once terminating; only ever shortened
    reason: str = ""                    # Evicted, DeadlineExceeded: the pod ends Failed with this reason
    message: str = ""
    deleted: bool = False               # the API object carries a deletionTimestamp

    @property
    def phase(self) -> Phase:
        if self.terminated_at is not None:
            return "terminated"
        if self.terminating_at is not None:
            return "terminating"
        return "syncing"

    def synced(self, now: float) -> PodLifecycle:
        return replace(self, synced_at=now)

    def terminate(self, now: float, grace: float, *, reason: str = "", message: str = "",
                  deleted: bool = False) -> PodLifecycle:
        """Ask the pod to stop (idempotent): the grace only shortens, the first reason stays."""
        grace = max(0.0, float(grace))
        return replace(
            self,
            terminating_at=self.terminating_at if self.terminating_at is not None else now,
            grace=grace if self.grace is None else min(self.grace, grace),
            reason=self.reason or reason,
            message=self.message if self.reason else (message if reason else self.message),
            deleted=self.deleted or deleted,
        )

    def finished_terminating(self, now: float) -> PodLifecycle:
        return replace(self, terminated_at=now if self.terminated_at is None else self.terminated_at)


def spec_grace(pod: Mapping[str, Any]) -> float:
    """terminationGracePeriodSeconds of the spec (a negative value counts as 0)."""
    value = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
    return max(0.0, float(value)) if isinstance(value, int | float) else DEFAULT_GRACE


def deletion_grace(pod: Mapping[str, Any]) -> float | None:
    """The grace the API server stamped on a deleted pod (``deletionGracePeriodSeconds``)."""
    md = pod.get("metadata") or {}
    if not md.get("deletionTimestamp"):
        return None
    value = md.get("deletionGracePeriodSeconds")
    return max(0.0, float(value)) if isinstance(value, int | float) else spec_grace(pod)


def observe_pod(lc: PodLifecycle, pod: Mapping[str, Any], now: float) -> PodLifecycle:
    """Fold what the API object says into the lifecycle: a deletion starts (or shortens) termination."""
    grace = deletion_grace(pod)
    if grace is None:
        return lc
    return lc.terminate(now, grace, deleted=True)


def deadline_at(pod: Mapping[str, Any], started_at: float | None) -> float | None:
    """When activeDeadlineSeconds runs out (kubelet activeDeadlineHandler: from status.startTime)."""
    ads = (pod.get("spec") or {}).get("activeDeadlineSeconds")
    if not isinstance(ads, int) or isinstance(ads, bool) or started_at is None:
        return None
    return started_at + ads


def deadline_exceeded(pod: Mapping[str, Any], started_at: float | None, now: float) -> bool:
    due = deadline_at(pod, started_at)
    return due is not None and now >= due
