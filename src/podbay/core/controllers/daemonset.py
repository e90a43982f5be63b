"""The DaemonSet controller (pkg/controller/daemon: daemon_controller.go, update.go, util) for the
nodes it is given (podbay has one): ``NodeShouldRunDaemonPod``, ``constructHistory``, ``manage``
(``podsShouldBeOnNode``) with the failed-pod back-off, ``rollingUpdate`` with maxUnavailable and
maxSurge, ``cleanupHistory`` and ``updateDaemonSetStatus``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from podbay.api import labelselector
from podbay.core.controllers import history as hist
from podbay.core.controllers import nodefit
from podbay.core.controllers import objects as o
from podbay.core.controllers.backoff import Backoff
from podbay.core.controllers.hashing import compute_hash
from podbay.core.controllers.plan import WARNING, Create, Delete, Patch, Result, Update, event, ref_of
from podbay.core.controllers.podtemplate import BURST_REPLICAS, create_pod, delete_pod, pod_from_template
from podbay.core.controllers.refmanager import claim_objects

Obj = dict[str, Any]
Pod = Mapping[str, Any]

UNIQUE_LABEL = "controller-revision-hash"  # DefaultDaemonSetUniqueLabelKey
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
SELECTING_ALL = "This daemon set is selecting all pods. A non-empty selector is required."
FAILED_POD_BACKOFF = (1.0, 15 * 60.0)

_DAEMON_TOLERATIONS = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)


def new_backoff() -> Backoff:
    return Backoff(*FAILED_POD_BACKOFF)


def add_daemon_tolerations(spec: Obj) -> None:
    """``AddOrUpdateDaemonPodTolerations``."""
    wanted = list(_DAEMON_TOLERATIONS)
    if spec.get("hostNetwork"):
        wanted.append(("node.kubernetes.io/network-unavailable", "NoSchedule"))
    tols = list(spec.get("tolerations") or [])
    for key, effect in wanted:
        t = {"key": key, "operator": "Exists", "effect": effect}
        if not any(x.get("key") == key and x.get("effect") == effect and (x.get("operator") or "Equal") == "Exists"
                   and not x.get("value") for x in tols):
            tols.append(t)
    spec["tolerations"] = tols


def node_name_affinity(affinity: Mapping[str, Any] | None, node_name: str) -> Obj:
    """``ReplaceDaemonSetPodNodeNameNodeAffinity``: required affinity to exactly this node."""
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}
    aff = copy.deepcopy(dict(affinity or {}))
    na = aff.setdefault("nodeAffinity", {})
    req = na.get("requiredDuringSchedulingIgnoredDuringExecution")
    if req is None:
        na["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [term]}
    else:
        req["nodeSelectorTerms"] = [term]
    return aff


def template_generation(ds: Mapping[str, Any]) -> int | None:
    v = o.annotations_of(ds).get(TEMPLATE_GENERATION_ANNOTATION)
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def new_pod(ds: Mapping[str, Any], node_name: str) -> Obj:
    """``NewPod``: the template's pod for the node, with the daemon tolerations."""
    spec = copy.deepcopy(dict(o.spec(ds).get("template", {}).get("spec") or {}))
    spec["nodeName"] = node_name
    add_daemon_tolerations(spec)
    tmeta = copy.deepcopy(dict(o.spec(ds).get("template", {}).get("metadata") or {}))
    tmeta["namespace"] = o.namespace(ds)
    return {"metadata": tmeta, "spec": spec}


def should_run(node: Mapping[str, Any], ds: Mapping[str, Any]) -> tuple[bool, bool]:
    """``NodeShouldRunDaemonPod``: (should run, should continue running)."""
    pod = new_pod(ds, o.name(node))
    tname = (o.spec(ds).get("template", {}).get("spec") or {}).get("nodeName")
    if tname and tname != o.name(node):
        return False, False
    if not nodefit.matches_node_selector_and_affinity(pod, node):
        return False, False
    taints = o.spec(node).get("taints") or []
    tols = pod["spec"].get("tolerations") or []
    if nodefit.untolerated_taint(taints, tols) is not None:
        return False, nodefit.untolerated_taint(taints, tols, ("NoExecute",)) is None
    return True, True


def target_node(pod: Pod) -> str | None:
    """``GetTargetNodeName``: spec.nodeName, else the single metadata.name in the required affinity."""
    if o.spec(pod).get("nodeName"):
        return str(o.spec(pod)["nodeName"])
    req = (((o.spec(pod).get("affinity") or {}).get("nodeAffinity") or {})
           .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in req.get("nodeSelectorTerms") or []:
        for f in term.get("matchFields") or []:
            if f.get("key") == "metadata.name" and f.get("operator") == "In" and len(f.get("values") or []) == 1:
                return str(f["values"][0])
    return None


def _by_creation_and_phase(pods: Sequence[Pod]) -> list[Pod]:
    """``podByCreationTimestampAndPhase``: scheduled first, then oldest, then by name."""
    return sorted(pods, key=lambda p: (not o.spec(p).get("nodeName"), o.created(p), o.name(p)))


def is_pod_updated(pod: Pod, h: str, generation: int | None) -> bool:
    lbl = o.labels(pod)
    return (bool(h) and lbl.get(UNIQUE_LABEL) == h) or (
        generation is not None and lbl.get(TEMPLATE_GENERATION_LABEL) == str(generation))


def _rolling(ds: Mapping[str, Any]) -> Mapping[str, Any] | None:
    us = o.spec(ds).get("updateStrategy") or {}
    if (us.get("type") or "RollingUpdate") != "RollingUpdate":
        return None
    return us.get("rollingUpdate") or None


def unavailable_count(ds: Mapping[str, Any], n: int) -> int:
    r = _rolling(ds)
    return 0 if r is None else o.scaled_value(r.get("maxUnavailable", 0), n, True)


def surge_count(ds: Mapping[str, Any], n: int) -> int:
    r = _rolling(ds)
    return 0 if r is None else o.scaled_value(r.get("maxSurge", 0), n, True)


class _Sync:
    def __init__(self, ds: Mapping[str, Any], nodes: Sequence[Mapping[str, Any]], backoff: Backoff, now: float) -> None:
        self.ds: Obj = copy.deepcopy(dict(ds))
        self.nodes = list(nodes)
        self.backoff = backoff
        self.now = now
        self.result = Result()
        self.expect_creations = 0
        self.expect_deletions = 0

    def nodes_to_pods(self, pods: Sequence[Pod], include_deleted_terminal: bool = False) -> dict[str, list[Pod]]:
        out: dict[str, list[Pod]] = {}
        for p in pods:
            if not include_deleted_terminal and o.is_terminal(p) and o.deleting(p):
                continue
            n = target_node(p)
            if n is not None:
                out.setdefault(n, []).append(p)
        return out

    def pods_should_be_on_node(self, node: Mapping[str, Any], n2p: Mapping[str, list[Pod]], h: str) -> tuple[list[str], list[Pod]]:
        ds = self.ds
        run, keep = should_run(node, ds)
        daemon_pods = n2p.get(o.name(node))
        creates: list[str] = []
        deletes: list[Pod] = []
        if run and daemon_pods is None:
            creates.append(o.name(node))
        elif keep:
            running: list[Pod] = []
            for p in daemon_pods or []:
                if o.deleting(p):
                    continue
                if o.phase(p) in ("Failed", "Succeeded"):
                    bkey = f"{o.uid(ds)}/{o.name(node)}"
                    if self.backoff.in_backoff_since_update(bkey, self.now):
                        self.result.requeue(self.backoff.get(bkey))
                        continue
                    self.backoff.next(bkey, self.now)
                    if o.phase(p) == "Failed":
                        msg = f"Found failed daemon pod {o.namespace(p)}/{o.name(p)} on node {o.name(node)}, will try to kill it"
                        self.result.add(event(ds, WARNING, "FailedDaemonPod", msg))
                    deletes.append(p)
                else:
                    running.append(p)
            if surge_count(ds, 1) == 0:
                if len(running) > 1:
                    deletes += _by_creation_and_phase(running)[1:]
            elif len(running) <= 1:
                if not running and run:
                    creates.append(o.name(node))
            else:
                oldest_new = oldest_old = None
                gen = template_generation(ds)
                for p in _by_creation_and_phase(running):
                    if is_pod_updated(p, h, gen):
                        if oldest_new is None:
                            oldest_new = p
                            continue
                    elif oldest_old is None:
                        oldest_old = p
                        continue
                    deletes.append(p)
                if oldest_new is not None and oldest_old is not None:
                    mrs = o.int_or(o.spec(ds).get("minReadySeconds"), 0)
                    if not o.is_ready(oldest_old) or o.is_available(oldest_new, mrs, self.now):
                        deletes.append(oldest_old)
        elif not keep and daemon_pods:
            deletes += [p for p in daemon_pods if not o.deleting(p)]
        return creates, deletes

    def sync_nodes(self, deletes: Sequence[Pod], creates: Sequence[str], h: str) -> None:
        ds = self.ds
        creates = list(creates)[:BURST_REPLICAS]
        deletes = list(deletes)[:BURST_REPLICAS]
        self.expect_creations += len(creates)
        self.expect_deletions += len(deletes)
        template = copy.deepcopy(dict(o.spec(ds).get("template") or {}))
        add_daemon_tolerations(template.setdefault("spec", {}))
        lbl = template.setdefault("metadata", {}).setdefault("labels", {})
        gen = template_generation(ds)
        if gen is not None:
            lbl[TEMPLATE_GENERATION_LABEL] = str(gen)
        if h:
            lbl[UNIQUE_LABEL] = h
        for node_name in creates:
            t = copy.deepcopy(template)
            t["spec"]["affinity"] = node_name_affinity(t["spec"].get("affinity"), node_name)
            pod = pod_from_template(t, ds, o.namespace(ds), o.controller_ref(ds))
            self.result.add(create_pod(pod, ds, batch=o.key(ds)))
        for p in deletes:
            self.result.add(delete_pod(p, ds))

    def rolling_update(self, n2p: dict[str, list[Pod]], h: str) -> None:
        ds = self.ds
        desired = 0
        for node in self.nodes:
            if should_run(node, ds)[0]:
                desired += 1
                n2p.setdefault(o.name(node), [])
        max_unavail = unavailable_count(ds, desired)
        max_surge = surge_count(ds, desired)
        if desired > 0 and max_unavail == 0 and max_surge == 0:
            max_unavail = 1
        mrs = o.int_or(o.spec(ds).get("minReadySeconds"), 0)
        gen = template_generation(ds)

        def find(pods: Sequence[Pod]) -> tuple[Pod | None, Pod | None, bool]:
            new = old = None
            for p in pods:
                if o.deleting(p):
                    continue
                if is_pod_updated(p, h, gen):
                    if new is not None:
                        return None, None, False
                    new = p
                else:
                    if old is not None:
                        return None, None, False
                    old = p
            return new, old, True

        if max_surge == 0:
            unavailable = 0
            allowed: list[Pod] = []
            candidates: list[Pod] = []
            for _node, pods in sorted(n2p.items()):
                new, old, ok = find(pods)
                if not ok or (old is None and new is None) or (old is not None and new is not None):
                    unavailable += 1
                elif new is not None:
                    if not o.is_available(new, mrs, self.now):
                        unavailable += 1
                elif old is not None:
                    if not o.is_available(old, mrs, self.now):
                        allowed.append(old)
                    elif unavailable < max_unavail:
                        candidates.append(old)
            remaining = min(max(0, max_unavail - unavailable), len(candidates))
            self.sync_nodes([*allowed, *candidates[:remaining]], [], h)
            return

        to_delete: list[Pod] = []
        should_not_run: list[Pod] = []
        candidate_nodes: list[str] = []
        allowed_nodes: list[str] = []
        surge = available = 0
        nodes_by_name = {o.name(n): n for n in self.nodes}
        for node_name, pods in sorted(n2p.items()):
            new, old, ok = find(pods)
            if not ok:
                surge += 1
                continue
            if old is not None:
                available += o.is_available(old, mrs, self.now)
            elif new is not None:
                available += o.is_available(new, mrs, self.now)
            target = nodes_by_name.get(node_name)
            if old is None:
                continue
            if new is None:
                run = target is not None and should_run(target, ds)[0]
                if not o.is_available(old, mrs, self.now):
                    if not run:
                        to_delete.append(old)
                        continue
                    allowed_nodes.append(node_name)
                else:
                    if not run:
                        should_not_run.append(old)
                        continue
                    if surge >= max_surge:
                        continue
                    candidate_nodes.append(node_name)
            else:
                if not o.is_available(new, mrs, self.now):
                    surge += 1
                    continue
                to_delete.append(old)
        deletable = available - desired
        if deletable > 0:
            to_delete += [p for p in should_not_run[:deletable] if not o.deleting(p)]
        remaining = min(max(0, max_surge - surge), len(candidate_nodes))
        self.sync_nodes(to_delete, [*allowed_nodes, *candidate_nodes[:remaining]], h)

    def status(self, n2p: Mapping[str, list[Pod]], h: str, update_observed: bool) -> None:
        ds = self.ds
        desired = current = mis = ready = updated = avail = 0
        mrs = o.int_or(o.spec(ds).get("minReadySeconds"), 0)
        gen = template_generation(ds)
        for node in self.nodes:
            run, _ = should_run(node, ds)
            pods = n2p.get(o.name(node)) or []
            if run:
                desired += 1
                if not pods:
                    continue
                current += 1
                pod = _by_creation_and_phase(pods)[0]
                if o.is_ready(pod):
                    ready += 1
                    if o.is_available(pod, mrs, self.now):
                        avail += 1
                if is_pod_updated(pod, h, gen):
                    updated += 1
            elif pods:
                mis += 1
        counts = {"desiredNumberScheduled": desired, "currentNumberScheduled": current, "numberMisscheduled": mis,
                  "numberReady": ready, "updatedNumberScheduled": updated, "numberAvailable": avail,
                  "numberUnavailable": desired - avail}
        old = o.status(ds)
        if all(int(old.get(k) or 0) == v for k, v in counts.items()) and int(old.get("observedGeneration") or 0) >= o.generation(ds):
            pass
        else:
            body = copy.deepcopy(ds)
            st = {**copy.deepcopy(dict(old)), **counts}
            if update_observed:
                st["observedGeneration"] = o.generation(ds)
            body["status"] = st
            self.result.add(Update(body, "status"))
        if mrs > 0 and ready != avail:
            self.result.requeue(mrs)


def claim_pods(ds: Mapping[str, Any], pods: Sequence[Pod]) -> tuple[list[Obj], list[Patch]]:
    sel = o.spec(ds).get("selector")
    return claim_objects(ds, pods, lambda p: labelselector.matches(sel, o.labels(p)))


def construct_history(ds: Obj, revisions: Sequence[Mapping[str, Any]], result: Result) -> tuple[Obj | None, list[Obj]]:
    """``constructHistory``: the current revision (created or renumbered) and the old ones."""
    sel = o.spec(ds).get("selector")
    owned, patches = claim_objects(ds, revisions, lambda r: labelselector.matches(sel, o.labels(r)))
    result.add(*patches)
    snapshot_data = hist.template_patch(ds)
    current: list[Obj] = []
    old: list[Obj] = []
    for r in owned:
        if UNIQUE_LABEL not in o.labels(r):
            r = copy.deepcopy(r)
            r["metadata"].setdefault("labels", {})[UNIQUE_LABEL] = o.name(r)
            result.add(Update(copy.deepcopy(r)))
        (current if hist.equal_revision(r, {"data": snapshot_data}) else old).append(r)
    rev = max((hist.rev_number(r) for r in old), default=0) + 1
    if not current:
        collision = o.status(ds).get("collisionCount")
        h = compute_hash(o.spec(ds).get("template") or {}, collision if isinstance(collision, int) else None)
        name = f"{o.name(ds)}-{h}"
        clash = next((r for r in revisions if o.name(r) == name), None)
        if clash is not None:  # the same name for another template: bump the collision count
            body = copy.deepcopy(ds)
            body.setdefault("status", {})["collisionCount"] = int(collision or 0) + 1
            result.add(Update(body, "status"))
            return None, old
        lbl = {**(((o.spec(ds).get("template") or {}).get("metadata") or {}).get("labels") or {}), UNIQUE_LABEL: h}
        md: Obj = {"name": name, "namespace": o.namespace(ds), "labels": lbl, "ownerReferences": [o.controller_ref(ds)]}
        if o.annotations_of(ds):
            md["annotations"] = o.annotations_of(ds)
        cur: Obj = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": md, "data": snapshot_data,
                    "revision": rev}
        result.add(Create(copy.deepcopy(cur)))
        return cur, old
    current.sort(key=hist.rev_number)
    cur = current[-1]
    for dup in current[:-1]:  # dedupCurHistories
        result.add(Delete(ref_of(dup)))
    if hist.rev_number(cur) < rev:
        cur = copy.deepcopy(cur)
        cur["revision"] = rev
        result.add(Update(copy.deepcopy(cur)))
    return cur, old


def sync_daemon_set(ds: Mapping[str, Any], nodes: Sequence[Mapping[str, Any]], pods: Sequence[Pod],
                    revisions: Sequence[Mapping[str, Any]], backoff: Backoff, now: float,
                    expectations_satisfied: bool = True) -> tuple[Result, tuple[int, int]]:
    """``syncDaemonSet``: the plan and the (creations, deletions) to expect."""
    s = _Sync(ds, nodes, backoff, now)
    d = s.ds
    if labelselector.is_empty(o.spec(d).get("selector")):
        s.result.add(event(d, WARNING, "SelectingAll", SELECTING_ALL))
        return s.result, (0, 0)
    if o.deleting(d):
        return s.result, (0, 0)
    cur, old = construct_history(d, revisions, s.result)
    if cur is None:
        return s.result, (0, 0)
    h = o.labels(cur).get(UNIQUE_LABEL, "")
    claimed, patches = claim_pods(d, pods)
    s.result.add(*patches)
    if not expectations_satisfied:
        s.status(s.nodes_to_pods(claimed), h, False)
        return s.result, (0, 0)
    n2p = s.nodes_to_pods(claimed)
    creates: list[str] = []
    deletes: list[Pod] = []
    for node in s.nodes:
        c, dl = s.pods_should_be_on_node(node, n2p, h)
        creates += c
        deletes += dl
    node_names = {o.name(n) for n in s.nodes}
    deletes += [p for name, ps in n2p.items() if name not in node_names for p in ps
                if not o.spec(p).get("nodeName") and not o.deleting(p)]
    s.sync_nodes(deletes, creates, h)
    if not s.expect_creations and not s.expect_deletions and _rolling(d) is not None:
        s.rolling_update(s.nodes_to_pods(claimed), h)
    _cleanup_history(d, old, s.nodes_to_pods(claimed, True), s.result)
    s.status(n2p, h, True)
    return s.result, (s.expect_creations, s.expect_deletions)


def _cleanup_history(ds: Mapping[str, Any], old: Sequence[Mapping[str, Any]], n2p: Mapping[str, list[Pod]],
                     result: Result) -> None:
    """``cleanupHistory``: delete the oldest revisions no pod runs beyond revisionHistoryLimit."""
    to_kill = len(old) - o.int_or(o.spec(ds).get("revisionHistoryLimit"), 10)
    if to_kill <= 0:
        return
    live = {o.labels(p).get(UNIQUE_LABEL) for ps in n2p.values() for p in ps}
    for r in sorted(old, key=hist.rev_number):
        if to_kill <= 0:
            break
        if o.labels(r).get(UNIQUE_LABEL) in live:
            continue
        result.add(Delete(ref_of(r)))
        to_kill -= 1

