"""The StatefulSet controller (pkg/controller/statefulset: stateful_set.go, stateful_set_control.go,
stateful_set_utils.go, stateful_pod_control.go) as one pure pass: claims, revisions
(``getStatefulSetRevisions``), ``updateStatefulSet`` (processReplica / processCondemned,
OrderedReady and Parallel, RollingUpdate with partition and maxUnavailable, OnDelete), PVCs from
volumeClaimTemplates with the retention policy's owner references, status and history truncation.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

from podbay.api import labelselector
from podbay.core.controllers import history as hist
from podbay.core.controllers import objects as o
from podbay.core.controllers.plan import Action, Create, Delete, Outcome, Patch, Result, Update, event, ref_of
from podbay.core.controllers.podtemplate import pod_from_template
from podbay.core.controllers.refmanager import claim_objects

Obj = dict[str, Any]
Pod = Mapping[str, Any]

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
_ORDINAL = re.compile(r"^(.*)-([0-9]+)$")


# ---------------------------------------------------------------------------------------------- identity


def parent_and_ordinal(pod: Pod) -> tuple[str, int]:
    """``getParentNameAndOrdinal``: ("", -1) for names that are not ``<set>-<n>``."""
    m = _ORDINAL.match(o.name(pod))
    if not m:
        return "", -1
    n = int(m.group(2))
    return (m.group(1), n) if n < 2**31 else (m.group(1), -1)


def ordinal(pod: Pod) -> int:
    return parent_and_ordinal(pod)[1]


def start_ordinal(sts: Mapping[str, Any]) -> int:
    return o.int_or((o.spec(sts).get("ordinals") or {}).get("start"), 0)


def replicas(sts: Mapping[str, Any]) -> int:
    return o.int_or(o.spec(sts).get("replicas"), 1)


def end_ordinal(sts: Mapping[str, Any]) -> int:
    return start_ordinal(sts) + replicas(sts) - 1


def in_range(pod: Pod, sts: Mapping[str, Any]) -> bool:
    return start_ordinal(sts) <= ordinal(pod) <= end_ordinal(sts)


def pod_name(sts: Mapping[str, Any], n: int) -> str:
    return f"{o.name(sts)}-{n}"


def claim_name(template: Mapping[str, Any], sts: Mapping[str, Any], n: int) -> str:
    """``getPersistentVolumeClaimName``: ``<template>-<set>-<ordinal>``."""
    return f"{o.name(template)}-{o.name(sts)}-{n}"


def is_member(sts: Mapping[str, Any], pod: Pod) -> bool:
    return parent_and_ordinal(pod)[0] == o.name(sts)


def allows_burst(sts: Mapping[str, Any]) -> bool:
    return o.spec(sts).get("podManagementPolicy") == "Parallel"


def update_strategy(sts: Mapping[str, Any]) -> Mapping[str, Any]:
    return o.spec(sts).get("updateStrategy") or {"type": "RollingUpdate"}


def retention_policy(sts: Mapping[str, Any]) -> tuple[str, str]:
    p = o.spec(sts).get("persistentVolumeClaimRetentionPolicy") or {}
    return str(p.get("whenDeleted") or "Retain"), str(p.get("whenScaled") or "Retain")


# ---------------------------------------------------------------------------------------------- pod state


def is_created(pod: Pod) -> bool:
    return bool(o.uid(pod)) or bool(o.phase(pod))


def is_running_and_ready(pod: Pod) -> bool:
    return o.phase(pod) == "Running" and o.is_ready(pod)


def is_healthy(pod: Pod) -> bool:
    return is_running_and_ready(pod) and not o.deleting(pod)


def pod_revision(pod: Pod) -> str:
    return o.labels(pod).get(hist.POD_REVISION_LABEL, "")


# ---------------------------------------------------------------------------------------------- new pods and claims


def claims_for(sts: Mapping[str, Any], n: int) -> list[Obj]:
    """``getPersistentVolumeClaims``: one claim per template, labelled with the selector's matchLabels."""
    match_labels = (o.spec(sts).get("selector") or {}).get("matchLabels") or {}
    out = []
    for t in o.spec(sts).get("volumeClaimTemplates") or []:
        claim = copy.deepcopy(dict(t))
        md = claim.setdefault("metadata", {})
        tname = md.get("name", "")
        md["name"] = claim_name(t, sts, n)
        md["namespace"] = o.namespace(sts)
        md["labels"] = {**(md.get("labels") or {}), **match_labels}
        for k in ("uid", "resourceVersion", "creationTimestamp", "generation"):
            md.pop(k, None)
        claim["apiVersion"] = "v1"
        claim["kind"] = "PersistentVolumeClaim"
        claim.pop("status", None)
        claim["_template"] = tname
        out.append(claim)
    return out


def _update_identity(sts: Mapping[str, Any], pod: Obj) -> None:
    n = ordinal(pod)
    md = pod.setdefault("metadata", {})
    md["name"] = pod_name(sts, n)
    md["namespace"] = o.namespace(sts)
    lbl = md.setdefault("labels", {})
    lbl[POD_NAME_LABEL] = md["name"]
    lbl[POD_INDEX_LABEL] = str(n)


def _update_storage(sts: Mapping[str, Any], pod: Obj) -> None:
    claims = claims_for(sts, ordinal(pod))
    by_template = {c["_template"]: c["metadata"]["name"] for c in claims}
    vols = [{"name": t, "persistentVolumeClaim": {"claimName": cn}} for t, cn in by_template.items()]
    vols += [v for v in pod.get("spec", {}).get("volumes") or [] if v.get("name") not in by_template]
    pod.setdefault("spec", {})["volumes"] = vols


def new_pod(sts: Mapping[str, Any], n: int) -> Obj:
    """``newStatefulSetPod``: the template's pod named ``<set>-<n>`` with hostname/subdomain and claims."""
    pod = pod_from_template(o.spec(sts).get("template") or {}, sts, o.namespace(sts), o.controller_ref(sts))
    pod["metadata"].pop("generateName", None)
    pod["metadata"]["name"] = pod_name(sts, n)
    _update_identity(sts, pod)
    pod["spec"]["hostname"] = pod["metadata"]["name"]
    if o.spec(sts).get("serviceName"):
        pod["spec"]["subdomain"] = o.spec(sts)["serviceName"]
    _update_storage(sts, pod)
    return pod


def new_versioned_pod(current_set: Mapping[str, Any], update_set: Mapping[str, Any], current_rev: str,
                      update_rev: str, n: int) -> Obj:
    """``newVersionedStatefulSetPod``: below the partition, the current revision; else the update one.
    (Upstream's condition mixes ``&&`` and ``||``; its effect is kept: OnDelete recreates at the
    update revision.)"""
    strat = update_strategy(current_set)
    ru = strat.get("rollingUpdate")
    st = o.status(current_set)
    if ((strat.get("type", "RollingUpdate") == "RollingUpdate" and ru is None
         and n < int(st.get("currentReplicas") or 0))
            or (ru is not None and n < start_ordinal(current_set) + o.int_or(ru.get("partition"), 0))):
        pod = new_pod(current_set, n)
        pod["metadata"]["labels"][hist.POD_REVISION_LABEL] = current_rev
        return pod
    pod = new_pod(update_set, n)
    pod["metadata"]["labels"][hist.POD_REVISION_LABEL] = update_rev
    return pod


def identity_matches(sts: Mapping[str, Any], pod: Pod) -> bool:
    parent, n = parent_and_ordinal(pod)
    lbl = o.labels(pod)
    return (n >= 0 and parent == o.name(sts) and o.name(pod) == pod_name(sts, n)
            and o.namespace(pod) == o.namespace(sts) and lbl.get(POD_NAME_LABEL) == o.name(pod)
            and lbl.get(POD_INDEX_LABEL) == str(n))


def storage_matches(sts: Mapping[str, Any], pod: Pod) -> bool:
    n = ordinal(pod)
    if n < 0:
        return False
    vols = {v.get("name"): v for v in o.spec(pod).get("volumes") or []}
    for t in o.spec(sts).get("volumeClaimTemplates") or []:
        v = vols.get(o.name(t))
        if v is None or (v.get("persistentVolumeClaim") or {}).get("claimName") != claim_name(t, sts, n):
            return False
    return True


# ---------------------------------------------------------------------------------------------- retention


def _is_condemned(sts: Mapping[str, Any], pod: Pod) -> bool:
    n = ordinal(pod)
    return n < start_ordinal(sts) or n > end_ordinal(sts)


def _matches_ref(ref: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    return ref.get("uid") == o.uid(owner) and ref.get("name") == o.name(owner)


def _unexpected_controller(claim: Mapping[str, Any], sts: Mapping[str, Any], pod: Pod) -> bool:
    ref = o.controller_of(claim)
    if ref is None:
        return False
    return not (_matches_ref(ref, sts) or _matches_ref(ref, pod))


def claim_owner_refs(claim: Mapping[str, Any], sts: Mapping[str, Any], pod: Pod) -> list[Obj]:
    """``updateClaimOwnerRefForSetAndPod``: the claim's owner references under the retention policy."""
    refs = [dict(r) for r in o.owner_refs(claim) if not (_matches_ref(r, sts) or _matches_ref(r, pod))]
    if _unexpected_controller(claim, sts, pod):
        return refs
    when_deleted, when_scaled = retention_policy(sts)

    def add(owner: Mapping[str, Any]) -> None:
        if not any(r.get("uid") == o.uid(owner) for r in refs):
            refs.append(o.controller_ref(owner))

    if when_scaled == "Retain" and when_deleted == "Delete":
        add(sts)
    elif when_scaled == "Delete" and when_deleted == "Retain":
        if _is_condemned(sts, pod):
            add(pod)
    elif when_scaled == "Delete" and when_deleted == "Delete":
        add(pod if _is_condemned(sts, pod) else sts)
    return refs


def _refs_key(refs: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    return sorted((str(r.get("uid")), str(r.get("kind"))) for r in refs)


# ---------------------------------------------------------------------------------------------- the sync


class _Sync:
    def __init__(self, sts: Mapping[str, Any], claims: Sequence[Mapping[str, Any]], now: float) -> None:
        self.sts: Obj = copy.deepcopy(dict(sts))
        self.claims = {o.name(c): c for c in claims}
        self.now = now
        self.result = Result()
        self.created_claims: set[str] = set()

    def pod_event(self, verb: str, pod: Pod) -> Outcome:
        set_name, pname = o.name(self.sts), o.name(pod)
        return Outcome(ref_of(self.sts), (f"Successful{verb.title()}", f"{verb} Pod {pname} in StatefulSet {set_name} successful"),
                       (f"Failed{verb.title()}", f"{verb} Pod {pname} in StatefulSet {set_name} failed error: {{error}}"))

    def create_claims(self, pod: Pod) -> bool:
        """``createPersistentVolumeClaims``: create the missing claims; False if one is being deleted."""
        ok = True
        for claim in claims_for(self.sts, ordinal(pod)):
            cname = claim["metadata"]["name"]
            del claim["_template"]
            existing = self.claims.get(cname)
            if existing is None and cname not in self.created_claims:
                set_name = o.name(self.sts)
                out = Outcome(ref_of(self.sts),
                              ("SuccessfulCreate", f"create Claim {cname} Pod {o.name(pod)} in StatefulSet {set_name} success"),
                              ("FailedCreate", f"create Claim {cname} for Pod {o.name(pod)} in StatefulSet {set_name} failed error: {{error}}"))
                self.result.add(Create(claim, out))
                self.created_claims.add(cname)
            elif existing is not None and o.deleting(existing):
                ok = False
        return ok

    def delete_pod(self, pod: Pod) -> None:
        self.result.add(Delete(ref_of(pod), outcome=self.pod_event("delete", pod)))

    def claim_is_stale(self, pod: Pod) -> bool:
        """``PodClaimIsStale``: with whenScaled Delete, a claim still owned by a previous pod of that name."""
        if retention_policy(self.sts)[1] == "Retain":
            return False
        for claim in claims_for(self.sts, ordinal(pod)):
            existing = self.claims.get(claim["metadata"]["name"])
            if existing is None:
                continue
            for r in o.owner_refs(existing):
                if r.get("kind") == "Pod" and r.get("name") == o.name(pod) and r.get("uid") != o.uid(pod):
                    return True
        return False

    def fix_claim_owners(self, pod: Pod) -> None:
        """``UpdatePodClaimForRetentionPolicy`` (only for pods that exist: the refs need the pod's UID)."""
        if not o.uid(pod):
            return
        for claim in claims_for(self.sts, ordinal(pod)):
            existing = self.claims.get(claim["metadata"]["name"])
            if existing is None:
                continue
            if _unexpected_controller(existing, self.sts, pod):
                self.result.add(event(self.sts, "Warning", "ConflictingController",
                                      f"PersistentVolumeClaim {o.name(existing)} has a conflicting OwnerReference that "
                                      "acts as a manging controller, the retention policy is ignored for this claim"))
                continue
            refs = claim_owner_refs(existing, self.sts, pod)
            if _refs_key(refs) != _refs_key(o.owner_refs(existing)):
                body = copy.deepcopy(dict(existing))
                body["metadata"]["ownerReferences"] = refs
                if not refs:
                    del body["metadata"]["ownerReferences"]
                self.result.add(Update(body))

    def process_replica(self, update_set: Obj, current_set: Obj, cur_rev: str, upd_rev: str, monotonic: bool,
                        replicas_: list[Obj], i: int) -> bool:
        pod = replicas_[i]
        sts = self.sts
        if o.phase(pod) in ("Failed", "Succeeded"):
            if o.phase(pod) == "Failed":
                msg = f"StatefulSet {o.namespace(sts)}/{o.name(sts)} is recreating failed Pod {o.name(pod)}"
                self.result.add(event(sts, "Warning", "RecreatingFailedPod", msg))
            else:
                msg = f"StatefulSet {o.namespace(sts)}/{o.name(sts)} is recreating terminated Pod {o.name(pod)}"
                self.result.add(event(sts, "Normal", "RecreatingTerminatedPod", msg))
            # a terminal pod is deleted at once (no grace period), so its name is free again
            self.delete_pod(pod)
            replicas_[i] = pod = new_versioned_pod(current_set, update_set, cur_rev, upd_rev, i + start_ordinal(sts))
        if not is_created(pod):
            if self.claim_is_stale(pod):
                return True
            if not self.create_claims(pod):
                return True
            self.result.add(Create(copy.deepcopy(pod), self.pod_event("create", pod)))
            return bool(monotonic)
        if o.deleting(pod) and monotonic:
            return True
        if o.phase(pod) == "Pending":
            self.create_claims(pod)
        if not is_running_and_ready(pod) and monotonic:
            return True
        mrs = o.int_or(o.spec(sts).get("minReadySeconds"), 0)
        if not o.is_available(pod, mrs, self.now) and monotonic:
            return True
        self.fix_claim_owners(pod)
        if identity_matches(sts, pod) and storage_matches(sts, pod):
            return False
        body = copy.deepcopy(dict(pod))
        _update_identity(update_set, body)
        if not storage_matches(update_set, body):
            self.create_claims(body)
            _update_storage(update_set, body)
        self.result.add(Update(body, outcome=self.pod_event("update", body)))
        return False

    def process_condemned(self, first_unhealthy: Pod | None, monotonic: bool, pod: Pod) -> bool:
        if o.deleting(pod):
            return monotonic
        mrs = o.int_or(o.spec(self.sts).get("minReadySeconds"), 0)
        if monotonic and pod is not first_unhealthy and (
            not is_running_and_ready(pod) or not o.is_available(pod, mrs, self.now)
        ):
            return True
        self.delete_pod(pod)
        return True

    def run_for_all(self, n: int, fn: Any, monotonic: bool) -> bool:
        """``runForAll``: stop at the first blocking pod in order, or run them all (Parallel)."""
        return any(fn(i) and monotonic for i in range(n))


def _status_counts(pods: Sequence[Pod], mrs: int, cur_rev: str, upd_rev: str, now: float) -> dict[str, int]:
    """``computeReplicaStatus``."""
    out = {"replicas": 0, "readyReplicas": 0, "availableReplicas": 0, "currentReplicas": 0, "updatedReplicas": 0}
    for p in pods:
        if is_created(p):
            out["replicas"] += 1
        if is_running_and_ready(p):
            out["readyReplicas"] += 1
            if o.is_available(p, mrs, now):
                out["availableReplicas"] += 1
        if is_created(p) and not o.deleting(p):
            rev = pod_revision(p)
            if rev == cur_rev:
                out["currentReplicas"] += 1
            if rev == upd_rev:
                out["updatedReplicas"] += 1
    return out


def _max_unavailable(sts: Mapping[str, Any]) -> int:
    ru = update_strategy(sts).get("rollingUpdate") or {}
    v = ru.get("maxUnavailable")
    if v is None:
        return 1
    n = o.scaled_value(v, replicas(sts), False)
    return max(1, n)


def claim_pods(sts: Mapping[str, Any], pods: Sequence[Pod]) -> tuple[list[Obj], list[Patch]]:
    """``getPodsForStatefulSet``: selector match and a ``<set>-<ordinal>`` name."""
    sel = o.spec(sts).get("selector")
    return claim_objects(sts, pods, lambda p: labelselector.matches(sel, o.labels(p)) and is_member(sts, p))


def claim_revisions(sts: Mapping[str, Any], revisions: Sequence[Mapping[str, Any]]) -> tuple[list[Obj], list[Patch]]:
    """``adoptOrphanRevisions`` + ``ListRevisions``: revisions matching the selector that we own."""
    sel = o.spec(sts).get("selector")
    return claim_objects(sts, revisions, lambda r: labelselector.matches(sel, o.labels(r)))


def get_revisions(sts: Obj, revisions: list[Obj], result: Result) -> tuple[Obj, Obj, int]:
    """``getStatefulSetRevisions``: (current, update, collisionCount), creating or bumping the update one."""
    revisions = hist.sort_revisions(revisions)
    collision = int(o.status(sts).get("collisionCount") or 0)
    update = hist.new_revision(sts, hist.next_revision(revisions), collision)
    if o.annotations_of(sts):
        update["metadata"]["annotations"] = o.annotations_of(sts)
    equal = hist.find_equal_revisions(revisions, update)
    if equal and hist.equal_revision(revisions[-1], equal[-1]):
        update = revisions[-1]
    elif equal:
        bumped = copy.deepcopy(equal[-1])
        bumped["revision"] = update["revision"]
        result.add(Update(copy.deepcopy(bumped)))
        update = bumped
    else:
        names = {o.name(r) for r in revisions}
        while o.name(update) in names:  # CreateControllerRevision: a different revision holds the name
            collision += 1
            update = hist.new_revision(sts, update["revision"], collision)
            if o.annotations_of(sts):
                update["metadata"]["annotations"] = o.annotations_of(sts)
        result.add(Create(copy.deepcopy(update)))
    current = next((r for r in revisions if o.name(r) == o.status(sts).get("currentRevision")), None)
    return (current if current is not None else update), update, collision


def sync_stateful_set(sts: Mapping[str, Any], pods: Sequence[Pod], revisions: Sequence[Mapping[str, Any]],
                      claims: Sequence[Mapping[str, Any]], now: float) -> Result:
    """``StatefulSetController.sync`` for one set, given the pods, ControllerRevisions and PVCs of its
    namespace."""
    s = _Sync(sts, claims, now)
    res = s.result
    st = s.sts
    owned_revs, rev_patches = claim_revisions(st, revisions)
    res.add(*rev_patches)
    owned_pods, pod_patches = claim_pods(st, pods)
    res.add(*pod_patches)
    current, update, collision = get_revisions(st, owned_revs, res)
    cur_name, upd_name = o.name(current), o.name(update)
    current_set = hist.apply_revision(st, current)
    update_set = hist.apply_revision(st, update)
    mrs = o.int_or(o.spec(st).get("minReadySeconds"), 0)

    replicas_: list[Obj | None] = [None] * replicas(st)
    condemned: list[Obj] = []
    for p in owned_pods:
        if in_range(p, st):
            replicas_[ordinal(p) - start_ordinal(st)] = p
        elif ordinal(p) >= 0:
            condemned.append(p)
    full: list[Obj] = [
        p if p is not None else new_versioned_pod(current_set, update_set, cur_name, upd_name, i + start_ordinal(st))
        for i, p in enumerate(replicas_)
    ]
    condemned.sort(key=ordinal, reverse=True)
    first_unhealthy: Obj | None = next((p for p in full if not is_healthy(p)), None)
    if first_unhealthy is None:
        first_unhealthy = next((p for p in reversed(condemned) if not is_healthy(p)), None)

    def finish(pods_now: Sequence[Pod], current_delta: int = 0) -> Result:
        counts = _status_counts(pods_now, mrs, cur_name, upd_name, now)
        counts["currentReplicas"] += current_delta
        status: Obj = {"observedGeneration": o.generation(st), **counts, "currentRevision": cur_name,
                       "updateRevision": upd_name, "collisionCount": collision}
        if (update_strategy(st).get("type", "RollingUpdate") == "RollingUpdate"
                and status["updatedReplicas"] == status["replicas"] and status["readyReplicas"] == status["replicas"]):
            status["currentReplicas"] = status["updatedReplicas"]
            status["currentRevision"] = status["updateRevision"]
        _status_write(st, status, res)
        _truncate_history(st, owned_revs, list(pods_now), status["currentRevision"], upd_name, res)
        if mrs > 0 and status["availableReplicas"] != replicas(st):
            res.requeue(mrs)
        return res

    if o.deleting(st):
        return finish(owned_pods)
    monotonic = not allows_burst(st)

    if s.run_for_all(len(full), lambda i: s.process_replica(update_set, current_set, cur_name, upd_name, monotonic, full, i),
                     monotonic):
        return finish([*full, *condemned])
    for p in condemned:
        s.fix_claim_owners(p)
    if s.run_for_all(len(condemned), lambda i: s.process_condemned(first_unhealthy, monotonic, condemned[i]), monotonic):
        return finish([*full, *condemned])
    if update_strategy(st).get("type") == "OnDelete":
        return finish([*full, *condemned])

    # RollingUpdate (updateStatefulSetAfterInvariantEstablished): from the highest ordinal down to
    # the partition, delete up to maxUnavailable pods not at the update revision.
    ru = update_strategy(st).get("rollingUpdate") or {}
    update_min = o.int_or(ru.get("partition"), 0)
    unavailable = sum(1 for p in full if not is_healthy(p))
    max_unavail = _max_unavailable(st)
    deleted = 0
    if unavailable < max_unavail:
        for target in range(len(full) - 1, update_min - 1, -1):
            if deleted >= max_unavail - unavailable:
                break
            p = full[target]
            if pod_revision(p) != upd_name and not o.deleting(p):
                s.delete_pod(p)
                deleted += 1
    return finish([*full, *condemned], -deleted)


_STATUS_KEYS = ("observedGeneration", "replicas", "currentReplicas", "readyReplicas", "updatedReplicas",
                "currentRevision", "availableReplicas", "updateRevision")


def _status_write(sts: Mapping[str, Any], status: Obj, res: Result) -> None:
    """``updateStatefulSetStatus``: write only an inconsistent status."""
    old = o.status(sts)

    def g(k: str) -> Any:
        v = old.get(k)
        return v if v is not None else ("" if k.endswith("Revision") else 0)

    if not (int(status["observedGeneration"]) > int(g("observedGeneration"))
            or any(status[k] != g(k) for k in _STATUS_KEYS[1:])):
        return
    body = copy.deepcopy(dict(sts))
    body["status"] = {**copy.deepcopy(dict(old)), **status}
    res.add(Update(body, "status"))


def _truncate_history(sts: Mapping[str, Any], revisions: Sequence[Mapping[str, Any]], pods: Sequence[Pod],
                      current: str, update: str, res: Result) -> None:
    """``truncateHistory``: delete the oldest revisions no pod uses beyond revisionHistoryLimit."""
    live = {current, update} | {pod_revision(p) for p in pods}
    old = [r for r in hist.sort_revisions(revisions) if o.name(r) not in live]
    limit = o.int_or(o.spec(sts).get("revisionHistoryLimit"), 10)
    for r in old[: max(0, len(old) - limit)]:
        res.add(Delete(ref_of(r)))


def pvc_actions(res: Result) -> list[Action]:
    return [a for a in res.actions if isinstance(a, Create) and a.body.get("kind") == "PersistentVolumeClaim"]
