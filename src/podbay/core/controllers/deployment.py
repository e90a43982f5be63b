"""The Deployment controller's sync (pkg/controller/deployment: ``syncDeployment`` and sync.go,
rolling.go, recreate.go, progress.go) as one pure pass over the cached Deployment, ReplicaSets and
pods: it returns the writes the upstream sync would issue, in the same order, with the same
early returns.

Each write is applied to the local copies as the API would apply it, so later steps of the same
sync see the scaled sets as upstream sees the objects its client calls return. The executor
stops at the first failed write and requeues, as ``syncDeployment`` returns its first error.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from podbay.api import labelselector
from podbay.core.controllers import deployment_util as du
from podbay.core.controllers import objects as o
from podbay.core.controllers.hashing import POD_TEMPLATE_HASH, compute_hash, equal_ignore_hash
from podbay.core.controllers.plan import WARNING, Create, Delete, Outcome, Result, Update, event, ref_of
from podbay.core.controllers.refmanager import claim_objects

Obj = dict[str, Any]

SELECTING_ALL = "This deployment is selecting all pods. A non-empty selector is required."


class _Sync:
    def __init__(self, d: Mapping[str, Any], now: float) -> None:
        self.d: Obj = copy.deepcopy(dict(d))
        self.d.setdefault("status", {})
        self.now = now
        self.result = Result()
        self.all_in_namespace: list[Mapping[str, Any]] = []

    # -------------------------------------------------------------------------------- writes

    def update_status(self) -> None:
        self.result.add(Update(copy.deepcopy(self.d), "status"))

    def scale(self, rs: Obj, new_scale: int) -> tuple[bool, Obj]:
        """``scaleReplicaSet``: spec.replicas and the replica annotations in one update; the
        ScalingReplicaSet event once it succeeds."""
        d = self.d
        size_changed = du.rs_replicas(rs) != new_scale
        n, surge = du.replicas(d), du.max_surge(d)
        if not size_changed and not du.replicas_annotations_need_update(rs, n, n + surge):
            return False, rs
        old = du.rs_replicas(rs)
        rs_copy = copy.deepcopy(rs)
        rs_copy.setdefault("spec", {})["replicas"] = new_scale
        du.set_replicas_annotations(rs_copy, n, n + surge)
        outcome = None
        if size_changed:
            op = "up" if old < new_scale else "down"
            msg = f"Scaled {op} replica set {o.name(rs)} from {old} to {new_scale}"
            outcome = Outcome(ref_of(d), ("ScalingReplicaSet", msg), None)
        self.result.add(Update(copy.deepcopy(rs_copy), outcome=outcome))
        rs.clear()
        rs.update(rs_copy)
        return size_changed, rs

    def scale_and_record(self, rs: Obj, new_scale: int) -> tuple[bool, Obj]:
        """``scaleReplicaSetAndRecordEvent``."""
        if du.rs_replicas(rs) == new_scale:
            return False, rs
        return self.scale(rs, new_scale)

    # -------------------------------------------------------------------------------- RS lookup

    def get_all_replica_sets(self, rss: list[Obj], create: bool) -> tuple[Obj | None, list[Obj]]:
        """``getAllReplicaSetsAndSyncRevision``."""
        _, all_old = du.find_old_replica_sets(self.d, rss)
        new = self.get_new_replica_set(rss, all_old, create)
        return new, all_old

    def get_new_replica_set(self, rss: list[Obj], old: list[Obj], create: bool) -> Obj | None:
        """``getNewReplicaSet``: sync the existing new set's annotations, or create it."""
        d = self.d
        existing: Obj | None = du.find_new_replica_set(d, rss)
        new_revision = str(du.max_revision(old) + 1)
        if existing is not None:
            rs_copy = copy.deepcopy(existing)
            changed = du.set_new_replica_set_annotations(d, rs_copy, new_revision, True)
            mrs = o.int_or(o.spec(d).get("minReadySeconds"), 0)
            if changed or o.int_or(o.spec(rs_copy).get("minReadySeconds"), 0) != mrs:
                rs_copy["spec"]["minReadySeconds"] = mrs
                self.result.add(Update(copy.deepcopy(rs_copy)))
                existing.clear()
                existing.update(rs_copy)
                return existing
            needs_update = du.set_deployment_revision(d, o.annotations_of(rs_copy).get(du.REVISION, ""))
            if du.has_progress_deadline(d) and du.get_condition(d["status"], du.PROGRESSING) is None:
                du.set_condition(d["status"], du.new_condition(
                    du.PROGRESSING, "True", du.FOUND_NEW_RS, f'Found new replica set "{o.name(rs_copy)}"', self.now))
                needs_update = True
            if needs_update:
                self.update_status()
            return existing
        if not create:
            return None
        return self.create_new_replica_set(rss, old, new_revision)

    def create_new_replica_set(self, rss: list[Obj], old: list[Obj], new_revision: str) -> Obj | None:
        d = self.d
        dspec = o.spec(d)
        template = copy.deepcopy(dict(dspec.get("template") or {}))
        collision = o.status(d).get("collisionCount")
        h = compute_hash(template, collision if isinstance(collision, int) else None)
        tmeta = template.setdefault("metadata", {})
        tmeta["labels"] = {**(tmeta.get("labels") or {}), POD_TEMPLATE_HASH: h}
        sel = copy.deepcopy(dict(dspec.get("selector") or {}))
        sel["matchLabels"] = {**(sel.get("matchLabels") or {}), POD_TEMPLATE_HASH: h}
        name = f"{o.name(d)}-{h}"
        clash = next((rs for rs in self.all_in_namespace if o.name(rs) == name), None)
        if clash is not None:
            return self.hash_collision(clash)
        new_rs: Obj = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": o.namespace(d), "labels": dict(tmeta["labels"]),
                         "ownerReferences": [o.controller_ref(d)]},
            "spec": {"replicas": 0, "minReadySeconds": o.int_or(dspec.get("minReadySeconds"), 0),
                     "selector": sel, "template": template},
        }
        count = du.new_rs_new_replicas(d, [*old, new_rs], new_rs)
        new_rs["spec"]["replicas"] = count
        du.set_new_replica_set_annotations(d, new_rs, new_revision, False)
        create_fail = (du.FAILED_RS_CREATE, f'Failed to create new replica set "{name}": {{error}}')
        success = ("ScalingReplicaSet", f"Scaled up replica set {name} from 0 to {count}") if count > 0 else None
        self.result.add(Create(copy.deepcopy(new_rs), Outcome(ref_of(d), success, create_fail)))
        rss.append(new_rs)
        du.set_deployment_revision(d, new_revision)
        if du.has_progress_deadline(d):
            du.set_condition(d["status"], du.new_condition(
                du.PROGRESSING, "True", du.NEW_REPLICA_SET, f'Created new replica set "{name}"', self.now))
        self.update_status()
        return new_rs

    def hash_collision(self, clash: Mapping[str, Any]) -> Obj | None:
        """The AlreadyExists branch: ours with an equal template is the new set (a stale cache);
        anything else is a collision — bump collisionCount and requeue."""
        d = self.d
        if o.is_controlled_by(clash, d) and equal_ignore_hash(
            o.spec(d).get("template") or {}, o.spec(clash).get("template") or {}
        ):
            return dict(clash)
        st = d["status"]
        st["collisionCount"] = int(st.get("collisionCount") or 0) + 1
        self.update_status()
        self.result.requeue(0)
        raise _Stop

    # -------------------------------------------------------------------------------- strategies

    def rollout_rolling(self, rss: list[Obj]) -> None:
        new, old = self.get_all_replica_sets(rss, True)
        all_rss = [*old, new]
        assert new is not None
        if self.reconcile_new_replica_set(all_rss, new):
            self.sync_rollout_status(all_rss, new)
            return
        if self.reconcile_old_replica_sets(all_rss, du.filter_active(old), new):
            self.sync_rollout_status(all_rss, new)
            return
        if du.deployment_complete(self.d, o.status(self.d)):
            self.cleanup(old)
        self.sync_rollout_status(all_rss, new)

    def reconcile_new_replica_set(self, all_rss: list[Any], new: Obj) -> bool:
        n = du.replicas(self.d)
        if du.rs_replicas(new) == n:
            return False
        if du.rs_replicas(new) > n:
            return self.scale_and_record(new, n)[0]
        return self.scale_and_record(new, du.new_rs_new_replicas(self.d, all_rss, new))[0]

    def reconcile_old_replica_sets(self, all_rss: list[Any], old: list[Obj], new: Obj) -> bool:
        if du.replica_count(old) == 0:
            return False
        all_count = du.replica_count(all_rss)
        min_avail = du.replicas(self.d) - du.max_unavailable(self.d)
        new_unavailable = du.rs_replicas(new) - int(o.status(new).get("availableReplicas") or 0)
        max_scaled_down = all_count - min_avail - new_unavailable
        if max_scaled_down <= 0:
            return False
        old, cleaned = self.cleanup_unhealthy_replicas(old, max_scaled_down)
        scaled = self.scale_down_old_for_rolling_update([*old, new], old)
        return cleaned + scaled > 0

    def cleanup_unhealthy_replicas(self, old: list[Obj], max_cleanup: int) -> tuple[list[Obj], int]:
        old = o.by_creation(old)
        total = 0
        for rs in old:
            if total >= max_cleanup:
                break
            spec_n, avail = du.rs_replicas(rs), int(o.status(rs).get("availableReplicas") or 0)
            if spec_n == 0 or spec_n == avail:
                continue
            count = min(max_cleanup - total, spec_n - avail)
            self.scale_and_record(rs, spec_n - count)
            total += count
        return old, total

    def scale_down_old_for_rolling_update(self, all_rss: list[Any], old: list[Obj]) -> int:
        min_avail = du.replicas(self.d) - du.max_unavailable(self.d)
        available = du.available_replica_count(all_rss)
        if available <= min_avail:
            return 0
        total, target = 0, available - min_avail
        for rs in o.by_creation(old):
            if total >= target:
                break
            if du.rs_replicas(rs) == 0:
                continue
            count = min(du.rs_replicas(rs), target - total)
            self.scale_and_record(rs, du.rs_replicas(rs) - count)
            total += count
        return total

    def rollout_recreate(self, rss: list[Obj], pod_map: dict[str, list[Mapping[str, Any]]]) -> None:
        new, old = self.get_all_replica_sets(rss, False)
        all_rss: list[Any] = [*old, new]
        scaled = False
        for rs in du.filter_active(old):
            if self.scale_and_record(rs, 0)[0]:
                scaled = True
        if scaled:
            self.sync_rollout_status(all_rss, new)
            return
        if old_pods_running(new, old, pod_map):
            self.sync_rollout_status(all_rss, new)
            return
        if new is None:
            new, old = self.get_all_replica_sets(rss, True)
            all_rss = [*old, new]
        assert new is not None
        self.scale_and_record(new, du.replicas(self.d))
        if du.deployment_complete(self.d, o.status(self.d)):
            self.cleanup(old)
        self.sync_rollout_status(all_rss, new)

    def sync(self, rss: list[Obj]) -> None:
        """``sync``: scaling events and paused Deployments (no rollout)."""
        new, old = self.get_all_replica_sets(rss, False)
        self.scale_proportionally(new, old)
        if o.spec(self.d).get("paused"):
            self.cleanup(old)
        self.sync_deployment_status([*old, new], new)

    def is_scaling_event(self, rss: list[Obj]) -> bool:
        new, old = self.get_all_replica_sets(rss, False)
        for rs in du.filter_active([*old, new]):
            desired = du.desired_replicas_annotation(rs)
            if desired is not None and desired != du.replicas(self.d):
                return True
        return False

    def scale_proportionally(self, new: Obj | None, old: list[Obj]) -> None:
        """``scale``: the only active set gets everything; a saturated new set drains the old ones;
        otherwise (RollingUpdate) surplus or deficit is spread in proportion to the sets' sizes."""
        d = self.d
        n = du.replicas(d)
        active_or_latest = du.find_active_or_latest(new, old)
        if active_or_latest is not None:
            if du.rs_replicas(active_or_latest) != n:
                self.scale_and_record(active_or_latest, n)
            return
        if du.is_saturated(d, new):
            for rs in du.filter_active(old):
                self.scale_and_record(rs, 0)
            return
        if not du.is_rolling_update(d):
            return
        active = du.filter_active([*old, new])
        allowed = n + du.max_surge(d) if n > 0 else 0
        to_add = allowed - du.replica_count(active)
        if to_add > 0:
            active = du.by_size_newer(active)
        elif to_add < 0:
            active = du.by_size_older(active)
        added = 0
        sizes: dict[str, int] = {}
        for rs in active:
            if to_add != 0:
                p = du.replica_set_proportion(rs, d, to_add, added)
                sizes[o.name(rs)] = du.rs_replicas(rs) + p
                added += p
            else:
                sizes[o.name(rs)] = du.rs_replicas(rs)
        for i, rs in enumerate(active):
            if i == 0 and to_add != 0:
                sizes[o.name(rs)] = max(0, sizes[o.name(rs)] + to_add - added)
            self.scale(rs, sizes[o.name(rs)])

    def cleanup(self, old: list[Obj]) -> None:
        """``cleanupDeployment``: delete the oldest scaled-down sets beyond revisionHistoryLimit."""
        d = self.d
        if not du.has_revision_history_limit(d):
            return
        alive = [rs for rs in old if not o.deleting(rs)]
        diff = len(alive) - int(o.spec(d)["revisionHistoryLimit"])
        if diff <= 0:
            return
        for rs in du.by_revision(alive)[:diff]:
            st = o.status(rs)
            if (int(st.get("replicas") or 0) != 0 or du.rs_replicas(rs) != 0
                    or o.generation(rs) > int(st.get("observedGeneration") or 0) or o.deleting(rs)):
                continue
            self.result.add(Delete(ref_of(rs)))

    # -------------------------------------------------------------------------------- status

    def calculate_status(self, all_rss: Sequence[Any], new: Mapping[str, Any] | None) -> Obj:
        """``calculateStatus``."""
        d = self.d
        available = du.available_replica_count(all_rss)
        total = du.replica_count(all_rss)
        st: Obj = {
            "observedGeneration": o.generation(d),
            "replicas": du.actual_replica_count(all_rss),
            "updatedReplicas": du.actual_replica_count([new]),
            "readyReplicas": du.ready_replica_count(all_rss),
            "availableReplicas": available,
            "unavailableReplicas": max(0, total - available),
        }
        term = du.terminating_replica_count(all_rss)
        if term is not None:
            st["terminatingReplicas"] = term
        old = o.status(d)
        if old.get("collisionCount") is not None:
            st["collisionCount"] = old["collisionCount"]
        if old.get("conditions"):
            st["conditions"] = copy.deepcopy(list(old["conditions"]))
        if available >= du.replicas(d) - du.max_unavailable(d):
            cond = du.new_condition(du.AVAILABLE, "True", du.MIN_AVAILABLE, "Deployment has minimum availability.", self.now)
        else:
            cond = du.new_condition(du.AVAILABLE, "False", du.MIN_UNAVAILABLE,
                                    "Deployment does not have minimum availability.", self.now)
        du.set_condition(st, cond)
        return st

    def sync_deployment_status(self, all_rss: Sequence[Any], new: Mapping[str, Any] | None) -> None:
        st = self.calculate_status(all_rss, new)
        if _status_equal(o.status(self.d), st):
            return
        self.d["status"] = st
        self.update_status()

    def sync_rollout_status(self, all_rss: Sequence[Any], new: Mapping[str, Any] | None) -> None:
        """``syncRolloutStatus``: status plus the Progressing condition and its deadline."""
        d = self.d
        st = self.calculate_status(all_rss, new)
        if not du.has_progress_deadline(d):
            du.remove_condition(st, du.PROGRESSING)
        cur = du.get_condition(o.status(d), du.PROGRESSING)
        complete_already = (st["replicas"] == st["updatedReplicas"] and cur is not None
                            and cur.get("reason") == du.NEW_RS_AVAILABLE)
        rs_name = o.name(new) if new is not None else ""
        if du.has_progress_deadline(d) and not complete_already:
            if du.deployment_complete(d, st):
                msg = (f'ReplicaSet "{rs_name}" has successfully progressed.' if new is not None
                       else f'Deployment "{o.name(d)}" has successfully progressed.')
                du.set_condition(st, du.new_condition(du.PROGRESSING, "True", du.NEW_RS_AVAILABLE, msg, self.now))
            elif du.deployment_progressing(d, st):
                msg = (f'ReplicaSet "{rs_name}" is progressing.' if new is not None
                       else f'Deployment "{o.name(d)}" is progressing.')
                cond = du.new_condition(du.PROGRESSING, "True", du.REPLICA_SET_UPDATED, msg, self.now)
                if cur is not None:
                    if cur.get("status") == "True":
                        cond["lastTransitionTime"] = cur.get("lastTransitionTime")
                    du.remove_condition(st, du.PROGRESSING)
                du.set_condition(st, cond)
            elif du.deployment_timed_out(d, st, self.now):
                msg = (f'ReplicaSet "{rs_name}" has timed out progressing.' if new is not None
                       else f'Deployment "{o.name(d)}" has timed out progressing.')
                du.set_condition(st, du.new_condition(du.PROGRESSING, "False", du.TIMED_OUT, msg, self.now))
        failures = replica_failures(all_rss, new)
        if failures:
            du.set_condition(st, failures[0])
        else:
            du.remove_condition(st, du.REPLICA_FAILURE)
        if _status_equal(o.status(d), st):
            self.requeue_stuck(st)
            return
        d["status"] = st
        self.update_status()

    def requeue_stuck(self, new_status: Mapping[str, Any]) -> None:
        """``requeueStuckDeployment``: look again when the progress deadline would pass."""
        d = self.d
        cur = du.get_condition(o.status(d), du.PROGRESSING)
        if not du.has_progress_deadline(d) or cur is None:
            return
        if du.deployment_complete(d, new_status) or cur.get("reason") == du.TIMED_OUT:
            return
        since = o.parse_time(cur.get("lastUpdateTime")) or 0.0
        after = since + int(o.spec(d)["progressDeadlineSeconds"]) - self.now
        self.result.requeue(0 if after < 1 else after + 1)

    def check_paused_conditions(self) -> None:
        d = self.d
        if not du.has_progress_deadline(d):
            return
        cond = du.get_condition(o.status(d), du.PROGRESSING)
        if cond is not None and cond.get("reason") == du.TIMED_OUT:
            return
        paused_cond = cond is not None and cond.get("reason") == du.PAUSED
        paused = bool(o.spec(d).get("paused"))
        if paused and not paused_cond:
            du.set_condition(d["status"], du.new_condition(du.PROGRESSING, "Unknown", du.PAUSED, "Deployment is paused", self.now))
        elif not paused and paused_cond:
            du.set_condition(d["status"], du.new_condition(du.PROGRESSING, "Unknown", du.RESUMED, "Deployment is resumed", self.now))
        else:
            return
        self.update_status()


class _Stop(Exception):
    """An early return after a write the rest of the sync must not run past (hash collision)."""


_POINTER_FIELDS = ("terminatingReplicas", "collisionCount")


def _status_equal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """``reflect.DeepEqual`` of the typed statuses: absent and zero are the same int32."""
    def norm(s: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in s.items()
                if v is not None and v != [] and v != {} and (v != 0 or k in _POINTER_FIELDS)}
    return norm(a) == norm(b)


def replica_failures(all_rss: Sequence[Any], new: Mapping[str, Any] | None) -> list[Obj]:
    """``getReplicaFailures``: the new set's ReplicaFailure first, else the old sets'."""
    def of(rs: Mapping[str, Any]) -> list[Obj]:
        return [du.rs_to_deployment_condition(c) for c in o.status(rs).get("conditions") or []
                if c.get("type") == du.REPLICA_FAILURE]
    if new is not None and (conds := of(new)):
        return conds
    out: list[Obj] = []
    for rs in all_rss:
        if rs is not None:
            out += of(rs)
    return out


def old_pods_running(new: Mapping[str, Any] | None, old: Sequence[Mapping[str, Any]],
                     pod_map: Mapping[str, Sequence[Mapping[str, Any]]]) -> bool:
    """``oldPodsRunning``: an old set still reports pods, or an old pod is not terminal — a pod
    being deleted counts until it is gone, which keeps Recreate safe for ReadWriteOnce volumes."""
    if du.actual_replica_count(list(old)) > 0:
        return True
    new_uid = o.uid(new) if new is not None else None
    for rs_uid, pods in pod_map.items():
        if rs_uid == new_uid:
            continue
        if any(not o.is_terminal(p) for p in pods):
            return True
    return False


def claim_replica_sets(d: Mapping[str, Any], rss: Sequence[Mapping[str, Any]]) -> tuple[list[Obj], list[Any]]:
    """``getReplicaSetsForDeployment``: adopt orphans matching the selector, release mismatches."""
    sel = o.spec(d).get("selector")
    return claim_objects(d, rss, lambda rs: labelselector.matches(sel, o.labels(rs)))


def pod_map(d: Mapping[str, Any], rss: Sequence[Mapping[str, Any]], pods: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """``getPodMapForDeployment``: the Deployment's pods (terminal ones too) grouped by owning set."""
    sel = o.spec(d).get("selector")
    out: dict[str, list[Mapping[str, Any]]] = {o.uid(rs): [] for rs in rss}
    for p in pods:
        if not labelselector.matches(sel, o.labels(p)):
            continue
        ref = o.controller_of(p)
        if ref is not None and ref.get("uid") in out:
            out[str(ref["uid"])].append(p)
    return out


def sync_deployment(d: Mapping[str, Any], replica_sets: Sequence[Mapping[str, Any]],
                    pods: Sequence[Mapping[str, Any]], now: float) -> Result:
    """``syncDeployment`` for one Deployment, given every ReplicaSet and pod of its namespace."""
    s = _Sync(d, now)
    s.all_in_namespace = [dict(rs) for rs in replica_sets]
    dd = s.d
    if labelselector.is_empty(o.spec(dd).get("selector")):
        s.result.add(event(dd, WARNING, "SelectingAll", SELECTING_ALL))
        if int(o.status(dd).get("observedGeneration") or 0) < o.generation(dd):
            dd["status"]["observedGeneration"] = o.generation(dd)
            s.update_status()
        return s.result
    claimed, patches = claim_replica_sets(dd, replica_sets)
    s.result.add(*patches)
    rss = [copy.deepcopy(rs) for rs in claimed]
    pmap = pod_map(dd, rss, pods)
    try:
        if o.deleting(dd):
            new, old = s.get_all_replica_sets(rss, False)
            s.sync_deployment_status([*old, new], new)
            return s.result
        s.check_paused_conditions()
        if o.spec(dd).get("paused"):
            s.sync(rss)
            return s.result
        if s.is_scaling_event(rss):
            s.sync(rss)
            return s.result
        if du.is_rolling_update(dd):
            s.rollout_rolling(rss)
        else:
            s.rollout_recreate(rss, pmap)
    except _Stop:
        pass
    return s.result
