"""A tiny in-memory cluster for driving the pure controllers in tests: it applies plans the way the
API would (uids, resourceVersions, generation on spec changes, generateName, ownerReference
patches, deletion of dependents in the background) and a fake kubelet that makes pods Running and
Ready. It is deliberately small; it is not the agent's executor."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterable
from typing import Any

from podbay.core.controllers import daemonset, deployment, job, replicaset, statefulset
from podbay.core.controllers import job_util as ju
from podbay.core.controllers import objects as o
from podbay.core.controllers.plan import Create, Delete, Emit, Patch, Result, Update, resolve_created

Obj = dict[str, Any]


class Conflict(Exception):
    pass


class World:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.objs: dict[tuple[str, str, str], Obj] = {}
        self.events: list[tuple[str, str, str, str]] = []  # (involved name, type, reason, message)
        self._rv = itertools.count(1)
        self._uid = itertools.count(1)
        self._suffix = itertools.count(1)
        self.writes: list[Any] = []
        self.node: Obj = {"apiVersion": "v1", "kind": "Node",
                          "metadata": {"name": "node1", "labels": {"kubernetes.io/hostname": "node1"}},
                          "spec": {}, "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"}}}
        self.ds_backoff = daemonset.new_backoff()
        self.job_backoff: dict[str, ju.BackoffRecord] = {}

    # ---------------------------------------------------------------------------------- store

    def list(self, kind: str, ns: str = "default") -> list[Obj]:
        return [copy.deepcopy(v) for (k, n, _), v in sorted(self.objs.items()) if k == kind and n == ns]

    def get(self, kind: str, name: str, ns: str = "default") -> Obj | None:
        v = self.objs.get((kind, ns, name))
        return copy.deepcopy(v) if v is not None else None

    def create(self, body: Obj) -> Obj:
        body = copy.deepcopy(body)
        md = body.setdefault("metadata", {})
        md.setdefault("namespace", "default")
        if not md.get("name"):
            md["name"] = f"{md['generateName']}{next(self._suffix):05d}"
        key = (body["kind"], md["namespace"], md["name"])
        if key in self.objs:
            raise Conflict(f"AlreadyExists {key}")
        md["uid"] = f"uid-{next(self._uid)}"
        md["resourceVersion"] = str(next(self._rv))
        md["creationTimestamp"] = o.rfc3339(self.now)
        if body["kind"] != "Pod":
            md["generation"] = 1
        self.objs[key] = body
        return copy.deepcopy(body)

    def update(self, body: Obj, subresource: str = "") -> Obj:
        md = body["metadata"]
        key = (body["kind"], md.get("namespace", "default"), md["name"])
        cur = self.objs.get(key)
        if cur is None:
            raise Conflict(f"NotFound {key}")
        if md.get("resourceVersion") and md["resourceVersion"] != cur["metadata"]["resourceVersion"]:
            raise Conflict(f"Conflict {key}")
        new = copy.deepcopy(body)
        if subresource == "status":
            new["spec"] = copy.deepcopy(cur.get("spec"))
            new["metadata"]["labels"] = copy.deepcopy(cur["metadata"].get("labels"))
        else:
            new["status"] = copy.deepcopy(cur.get("status"))
            if new.get("spec") != cur.get("spec") and "generation" in cur["metadata"]:
                new["metadata"]["generation"] = cur["metadata"]["generation"] + 1
        new["metadata"]["resourceVersion"] = str(next(self._rv))
        for f in ("uid", "creationTimestamp"):
            new["metadata"][f] = cur["metadata"][f]
        self.objs[key] = new
        return copy.deepcopy(new)

    def set_spec(self, kind: str, name: str, fn: Callable[[Obj], None]) -> None:
        cur = self.get(kind, name)
        assert cur is not None
        fn(cur)
        self.update(cur)

    def delete(self, kind: str, name: str, ns: str = "default") -> None:
        obj = self.objs.pop((kind, ns, name), None)
        if obj is None:
            raise Conflict("NotFound")
        # background GC of dependents
        for k, dep in list(self.objs.items()):
            if any(r.get("uid") == obj["metadata"]["uid"] for r in dep["metadata"].get("ownerReferences") or []):
                if dep["kind"] == "Pod":
                    dep["metadata"]["deletionTimestamp"] = o.rfc3339(self.now)
                else:
                    self.delete(k[0], k[2], k[1])

    def patch_meta(self, kind: str, ns: str, name: str, patch: Obj) -> None:
        cur = self.objs[(kind, ns, name)]
        pm = patch["metadata"]
        if pm.get("uid") and pm["uid"] != cur["metadata"]["uid"]:
            raise Conflict("uid precondition")
        refs = list(cur["metadata"].get("ownerReferences") or [])
        for r in pm.get("ownerReferences") or []:
            if r.get("$patch") == "delete":
                refs = [x for x in refs if x.get("uid") != r["uid"]]
            else:
                refs = [x for x in refs if x.get("uid") != r["uid"]] + [r]
        if "ownerReferences" in pm:
            cur["metadata"]["ownerReferences"] = refs
        fins = list(cur["metadata"].get("finalizers") or [])
        fins += [f for f in pm.get("finalizers") or [] if f not in fins]
        drop = pm.get("$deleteFromPrimitiveList/finalizers") or []
        fins = [f for f in fins if f not in drop]
        if fins:
            cur["metadata"]["finalizers"] = fins
        else:
            cur["metadata"].pop("finalizers", None)
        cur["metadata"]["resourceVersion"] = str(next(self._rv))

    # ---------------------------------------------------------------------------------- plans

    def apply(self, result: Result) -> bool:
        """Execute the writes in order; stop at the first failure (False)."""
        last_rv: dict[tuple[str, str, str], str] = {}
        created: dict[tuple[str, str], Obj] = {}
        for a in result.actions:
            if isinstance(a, Emit):
                self.events.append((a.involved.name, a.type, a.reason, a.message))
                continue
            self.writes.append(a)
            try:
                if isinstance(a, Create):
                    made = self.create(a.body)
                    created[(made["kind"], made["metadata"]["name"])] = made
                    if a.outcome and a.outcome.success:
                        self.events.append((a.outcome.involved.name, "Normal", a.outcome.success[0],
                                            a.outcome.success[1].format(name=made["metadata"]["name"])))
                elif isinstance(a, Update):
                    body = resolve_created(copy.deepcopy(a.body), created)
                    key = (body["kind"], body["metadata"]["namespace"], body["metadata"]["name"])
                    if key in last_rv:
                        body["metadata"]["resourceVersion"] = last_rv[key]
                    made = self.update(body, a.subresource)
                    last_rv[key] = made["metadata"]["resourceVersion"]
                    if a.outcome and a.outcome.success:
                        self.events.append((a.outcome.involved.name, "Normal", *a.outcome.success))
                elif isinstance(a, Patch):
                    self.patch_meta(a.target.kind, a.target.namespace, a.target.name, a.patch)
                elif isinstance(a, Delete):
                    if a.target.kind == "Pod":
                        key = ("Pod", a.target.namespace, a.target.name)
                        pod = self.objs.get(key)
                        if pod is not None and o.is_terminal(pod) and not pod["metadata"].get("finalizers"):
                            del self.objs[key]  # terminal pods go at once (no grace period)
                        elif pod is not None:
                            pod["metadata"]["deletionTimestamp"] = o.rfc3339(self.now)
                    else:
                        self.delete(a.target.kind, a.target.name, a.target.namespace)
                    if a.outcome and a.outcome.success:
                        self.events.append((a.outcome.involved.name, "Normal", *a.outcome.success))
            except Conflict:
                return False
        return True

    # ---------------------------------------------------------------------------------- kubelet

    def kubelet(self, ready: Callable[[Obj], bool] = lambda p: True) -> None:
        """Pods without status start (Ready if ``ready(pod)``); deleted pods go away."""
        for key, pod in list(self.objs.items()):
            if key[0] != "Pod":
                continue
            if pod["metadata"].get("deletionTimestamp"):
                if pod["metadata"].get("finalizers"):
                    pod["status"]["phase"] = "Failed" if pod["status"].get("phase") != "Succeeded" else "Succeeded"
                else:
                    del self.objs[key]
                continue
            if o.is_terminal(pod):
                continue
            if not pod.get("status") or pod["status"].get("phase") == "Pending":
                ok = ready(pod)
                pod["spec"]["nodeName"] = "node1"
                pod["status"] = {
                    "phase": "Running" if ok else "Pending",
                    "conditions": [{"type": "Ready", "status": "True" if ok else "False",
                                    "lastTransitionTime": o.rfc3339(self.now)}],
                }

    # ---------------------------------------------------------------------------------- controllers

    def sync_replica_sets(self) -> int:
        n = 0
        for rs in self.list("ReplicaSet"):
            pods = self.list("Pod")
            claimed, patches = replicaset.claim_pods(rs, pods)
            res = Result(list(patches))
            if not o.deleting(rs):
                related = replicaset.related_pods(rs, self.list("ReplicaSet"), pods)
                res.add(*replicaset.manage_replicas(rs, claimed, related, self.now).actions)
            ok = self.apply(res)
            status = replicaset.calculate_status(rs, claimed, replicaset.terminating_pods(rs, pods),
                                                 None if ok else "error", self.now)
            upd = replicaset.status_update(self.get("ReplicaSet", o.name(rs)) or rs, status)
            if upd is not None:
                self.apply(Result([upd]))
            n += len(res.writes()) + (upd is not None)
        return n

    def sync_deployments(self) -> int:
        n = 0
        for d in self.list("Deployment"):
            res = deployment.sync_deployment(d, self.list("ReplicaSet"), self.list("Pod"), self.now)
            self.apply(res)
            n += len(res.writes())
        return n

    def sync_stateful_sets(self) -> int:
        n = 0
        for sts in self.list("StatefulSet"):
            res = statefulset.sync_stateful_set(sts, self.list("Pod"), self.list("ControllerRevision"),
                                                self.list("PersistentVolumeClaim"), self.now)
            self.apply(res)
            n += len(res.writes())
        return n

    def sync_daemon_sets(self) -> int:
        n = 0
        for ds in self.list("DaemonSet"):
            res, _ = daemonset.sync_daemon_set(ds, [self.node], self.list("Pod"), self.list("ControllerRevision"),
                                               self.ds_backoff, self.now)
            self.apply(res)
            n += len(res.writes())
        return n

    def sync_jobs(self) -> int:
        n = 0
        for j in self.list("Job"):
            plan = job.sync_job(j, self.list("Pod"), self.now, backoff=self.job_backoff.get(o.uid(j)))
            if self.apply(plan.result) and plan.backoff is not None:
                self.job_backoff[o.uid(j)] = plan.backoff
            n += len(plan.result.writes())
        return n

    def run_pods(self, outcome: Callable[[Obj], str]) -> None:
        """Pending pods start; running pods end with ``outcome(pod)`` ("Running" keeps them going)."""
        for key, pod in list(self.objs.items()):
            if key[0] != "Pod":
                continue
            md = pod["metadata"]
            if md.get("deletionTimestamp"):
                if not md.get("finalizers"):
                    del self.objs[key]
                elif not o.is_terminal(pod):
                    pod["status"]["phase"] = "Failed"
                continue
            if not pod.get("status"):
                pod["spec"]["nodeName"] = "node1"
                pod["status"] = {"phase": "Running", "conditions": [
                    {"type": "Ready", "status": "True", "lastTransitionTime": o.rfc3339(self.now)}]}
            elif o.phase(pod) == "Running":
                end = outcome(pod)
                if end != "Running":
                    code = 0 if end == "Succeeded" else 1
                    pod["status"] = {"phase": end, "conditions": [
                        {"type": "Ready", "status": "False", "lastTransitionTime": o.rfc3339(self.now)}],
                        "containerStatuses": [{"name": "c", "restartCount": 0, "state": {"terminated": {
                            "exitCode": code, "finishedAt": o.rfc3339(self.now)}}}]}

    def step(self, ready: Callable[[Obj], bool] = lambda p: True, dt: float = 1.0) -> int:
        self.now += dt
        n = self.sync_deployments()
        n += self.sync_replica_sets()
        n += self.sync_stateful_sets()
        n += self.sync_daemon_sets()
        self.kubelet(ready)
        return n

    def settle(self, ready: Callable[[Obj], bool] = lambda p: True, limit: int = 200,
               observe: Callable[[World], None] | None = None) -> int:
        for i in range(limit):
            n = self.step(ready)
            if observe:
                observe(self)
            if n == 0 and self.step(ready) == 0:
                return i
        raise AssertionError("did not settle")


def pods_of(world: World, pred: Callable[[Obj], bool] = lambda p: True) -> list[Obj]:
    return [p for p in world.list("Pod") if pred(p)]


def images(pods: Iterable[Obj]) -> list[str]:
    return sorted(p["spec"]["containers"][0]["image"] for p in pods)
