"""The ReplicaSet and ReplicationController controllers (pkg/controller/replicaset): expectations
kept from pod events, then ``core.controllers.replicaset``'s claim / manageReplicas / status."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from podbay.agent.controllers.base import Controller, SyncError, split_key
from podbay.agent.controllers.cache import Cache
from podbay.agent.controllers.ports import Writer
from podbay.api import labelselector
from podbay.core.controllers import objects as o
from podbay.core.controllers import replicaset as rsc
from podbay.core.controllers.expectations import UIDTrackingExpectations
from podbay.core.controllers.plan import Result

Obj = dict[str, Any]


class ReplicaSetController(Controller):
    name = "replicaset-controller"
    primary = "ReplicaSet"
    watches = ("Pod",)

    def __init__(self, cache: Cache, writer: Writer, clock: Callable[[], float] | None = None) -> None:
        super().__init__(cache, writer, *(() if clock is None else (clock,)))
        self.expectations = UIDTrackingExpectations()

    def _owner_key(self, pod: Obj | None) -> str | None:
        if pod is None:
            return None
        ref = o.controller_of(pod)
        if ref is None or ref.get("kind") != self.primary:
            return None
        owner = self.cache.get(self.primary, o.namespace(pod), str(ref.get("name")))
        if owner is None or o.uid(owner) != ref.get("uid"):
            return None
        return f"{o.namespace(pod)}/{ref.get('name')}"

    def on_event(self, kind: str, event_type: str, old: Obj | None, new: Obj) -> None:
        if kind == "Pod":
            key = self._owner_key(new)
            pod_key = o.key(new)
            if event_type == "ADDED":
                if o.deleting(new):
                    if key:
                        self.expectations.deletion_observed_of(key, pod_key)
                elif key:
                    self.expectations.creation_observed(key)
            elif event_type == "MODIFIED":
                if o.deleting(new) and (old is None or not o.deleting(old)) and key:
                    self.expectations.deletion_observed_of(key, pod_key)
            elif event_type == "DELETED" and key:
                self.expectations.deletion_observed_of(key, pod_key)
        super().on_event(kind, event_type, old, new)

    def keys_for(self, kind: str, event_type: str, old: Obj | None, new: Obj) -> Iterable[str]:
        keys = list(super().keys_for(kind, event_type, old, new))
        if kind == "Pod" and o.controller_of(new) is None:
            # an orphan: every set whose selector matches may adopt it (getPodReplicaSets)
            for rs in self.cache.list(self.primary, o.namespace(new)):
                if labelselector.matches(rsc.selector(rs), o.labels(new)):
                    keys.append(o.key(rs))
        return keys

    def sync(self, key: str) -> float | None:
        ns, name = split_key(key)
        rs = self.cache.get(self.primary, ns, name)
        if rs is None:
            self.expectations.forget(key)
            return None
        now = self.clock()
        pods = self.cache.list("Pod", ns)
        claimed, patches = rsc.claim_pods(rs, pods)
        result = Result(list(patches))
        manage = None
        if self.expectations.satisfied(key, now) and not o.deleting(rs):
            related = rsc.related_pods(rs, self.cache.list(self.primary, ns), pods)
            manage = rsc.manage_replicas(rs, claimed, related, now)
            if manage.expect_creations:
                self.expectations.expect_creations(key, manage.expect_creations, now)
            elif manage.expect_deletions:
                self.expectations.expect_deletions_of(key, manage.expect_deletions, now)
            result.add(*manage.actions)
        done = self.execute(result)
        if done.error is not None and manage is not None:
            # the informer will not see what was never written: expect nothing more
            self.expectations.forget(key)
        terminating = None if self.primary == "ReplicationController" else rsc.terminating_pods(rs, pods)
        status = rsc.calculate_status(rs, claimed, terminating, done.error, now)
        upd = rsc.status_update(rs, status)
        if upd is not None:
            self.run_plan(Result([upd]))
        if done.error is not None:
            raise SyncError(done.error)
        return rsc.min_ready_requeue(rs, status, done.error)


class ReplicationControllerController(ReplicaSetController):
    name = "replication-controller"
    primary = "ReplicationController"
