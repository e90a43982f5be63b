"""An in-memory Writer for the agent's controllers: a store that stamps objects like the
registry (uid, resourceVersion, generation, generateName), applies the patches controllers send,
honours propagationPolicy with the GC finalizers, and turns every write into a watch event for the
controller manager — plus a fake kubelet that runs bound pods."""

from __future__ import annotations

import copy
import itertools
import time
from typing import Any

from podbay.agent.controllers.base import Manager
from podbay.agent.controllers.cache import Cache
from podbay.core.controllers import gc
from podbay.core.controllers import objects as o
from podbay.core.controllers.plan import Ref
from podbay.errors import AlreadyExists, Conflict, NotFound

Obj = dict[str, Any]
NAMESPACED = {("apps", "Deployment"): True, ("apps", "ReplicaSet"): True, ("apps", "StatefulSet"): True,
              ("apps", "DaemonSet"): True, ("apps", "ControllerRevision"): True, ("batch", "Job"): True,
              ("batch", "CronJob"): True, ("", "Pod"): True, ("", "PersistentVolumeClaim"): True,
              ("", "ReplicationController"): True, ("", "Node"): False, ("", "ConfigMap"): True,
              ("", "PersistentVolume"): False, ("storage.k8s.io", "StorageClass"): False}


def namespaced(group: str, kind: str) -> bool | None:
    return NAMESPACED.get((group, kind))


class FakeApi:
    def __init__(self, clock: Any = time.time) -> None:
        self.clock = clock
        self.objs: dict[tuple[str, str, str], Obj] = {}
        self.events: list[tuple[str, str, str, str, str]] = []  # (involved, type, reason, message, component)
        self.manager: Manager | None = None
        self.cache = Cache()
        self._rv = itertools.count(1)
        self._uid = itertools.count(1)
        self._gen = itertools.count(1)

    # ---------------------------------------------------------------------------------------- store
    def _publish(self, event: str, obj: Obj) -> None:
        if self.manager is not None:
            self.manager.handle(event, str(obj["kind"]), copy.deepcopy(obj))
        else:
            self.cache.apply(event, str(obj["kind"]), copy.deepcopy(obj))

    def _k(self, kind: str, ns: str, name: str) -> tuple[str, str, str]:
        return (kind, ns if namespaced(*self._gk(kind)) else "", name)

    def _gk(self, kind: str) -> tuple[str, str]:
        for (g, k) in NAMESPACED:
            if k == kind:
                return g, k
        return "", kind

    def get(self, kind: str, name: str, ns: str = "default") -> Obj | None:
        v = self.objs.get(self._k(kind, ns, name))
        return copy.deepcopy(v) if v is not None else None

    def list(self, kind: str, ns: str | None = "default") -> list[Obj]:
        return [copy.deepcopy(v) for (k, n, _), v in sorted(self.objs.items()) if k == kind and (ns is None or n == ns)]

    def create(self, body: Obj) -> Obj:
        body = copy.deepcopy(body)
        md = body.setdefault("metadata", {})
        if namespaced(*self._gk(body["kind"])):
            md.setdefault("namespace", "default")
        if not md.get("name"):
            md["name"] = f"{md['generateName']}{next(self._gen):05d}"
        key = self._k(body["kind"], md.get("namespace", ""), md["name"])
        if key in self.objs:
            raise AlreadyExists(f'{body["kind"]} "{md["name"]}" already exists')
        md["uid"] = f"uid-{next(self._uid)}"
        md["resourceVersion"] = str(next(self._rv))
        md["creationTimestamp"] = o.rfc3339(self.clock())
        md.setdefault("generation", 1)
        if body["kind"] == "Pod":
            body.setdefault("status", {"phase": "Pending"})
        if body["kind"] == "Job":
            from podbay.api.batch import prepare_job_create

            prepare_job_create(body)
        self.objs[key] = body
        self._publish("ADDED", body)
        return copy.deepcopy(body)

    def _store(self, key: tuple[str, str, str], new: Obj) -> Obj:
        new["metadata"]["resourceVersion"] = str(next(self._rv))
        md = new["metadata"]
        if md.get("deletionTimestamp") and not md.get("finalizers") and new["kind"] != "Pod":
            del self.objs[key]
            self._publish("DELETED", new)
            return copy.deepcopy(new)
        self.objs[key] = new
        self._publish("MODIFIED", new)
        return copy.deepcopy(new)

    def update(self, body: Obj, subresource: str = "") -> Obj:
        md = body["metadata"]
        key = self._k(body["kind"], md.get("namespace", ""), md["name"])
        cur = self.objs.get(key)
        if cur is None:
            raise NotFound(f'{body["kind"]} "{md["name"]}" not found')
        if md.get("resourceVersion") and md["resourceVersion"] != cur["metadata"]["resourceVersion"]:
            raise Conflict("the object has been modified; please apply your changes to the latest version and try again")
        new = copy.deepcopy(body)
        if subresource == "status":
            new["spec"] = copy.deepcopy(cur.get("spec"))
            if cur["kind"] != "Deployment":
                new["metadata"] = copy.deepcopy(cur["metadata"])
        else:
            new["status"] = copy.deepcopy(cur.get("status"))
            if new.get("spec") != cur.get("spec"):
                new["metadata"]["generation"] = int(cur["metadata"].get("generation") or 1) + 1
        for f in ("uid", "creationTimestamp"):
            new["metadata"][f] = cur["metadata"][f]
        return self._store(key, new)

    def patch(self, target: Ref, patch: Any, patch_type: str, subresource: str = "") -> Obj:
        key = self._k(target.kind, target.namespace, target.name)
        cur = self.objs.get(key)
        if cur is None:
            raise NotFound(f'{target.kind} "{target.name}" not found')
        new = copy.deepcopy(cur)
        pm = patch.get("metadata") or {}
        if pm.get("uid") and pm["uid"] != cur["metadata"]["uid"]:
            raise Conflict("uid mismatch")
        refs = list(new["metadata"].get("ownerReferences") or [])
        for r in pm.get("ownerReferences") or []:
            if r.get("$patch") == "delete":
                refs = [x for x in refs if x.get("uid") != r["uid"]]
            else:
                refs = [x for x in refs if x.get("uid") != r["uid"]] + [{**next((x for x in refs if x.get("uid") == r["uid"]), {}), **r}]
        if "ownerReferences" in pm:
            new["metadata"]["ownerReferences"] = refs
        fins = list(new["metadata"].get("finalizers") or [])
        fins += [f for f in pm.get("finalizers") or [] if f not in fins]
        drop = pm.get("$deleteFromPrimitiveList/finalizers") or []
        fins = [f for f in fins if f not in drop]
        if fins:
            new["metadata"]["finalizers"] = fins
        else:
            new["metadata"].pop("finalizers", None)
        return self._store(key, new)

    def delete(self, target: Ref, propagation: str | None, uid: str = "", resource_version: str = "") -> None:
        key = self._k(target.kind, target.namespace, target.name)
        cur = self.objs.get(key)
        if cur is None:
            raise NotFound(f'{target.kind} "{target.name}" not found')
        if uid and cur["metadata"]["uid"] != uid:
            raise Conflict("Precondition failed: UID")
        new = copy.deepcopy(cur)
        md = new["metadata"]
        fins, keep = gc.deletion_finalizers(propagation, str(cur.get("apiVersion") or ""), cur["kind"],
                                            list(md.get("finalizers") or []))
        if cur["kind"] == "Pod":
            if not md.get("deletionTimestamp"):
                md["deletionTimestamp"] = o.rfc3339(self.clock())
                if fins:
                    md["finalizers"] = fins
                self._store(key, new)
            return
        if not keep:
            del self.objs[key]
            self._publish("DELETED", cur)
            return
        md["finalizers"] = fins
        md.setdefault("deletionTimestamp", o.rfc3339(self.clock()))
        self._store(key, new)

    def bind(self, pod: Ref, node_name: str) -> None:
        key = self._k("Pod", pod.namespace, pod.name)
        cur = copy.deepcopy(self.objs[key])
        cur["spec"]["nodeName"] = node_name
        self._store(key, cur)

    def record_event(self, involved: Ref, type_: str, reason: str, message: str, component: str) -> None:
        self.events.append((involved.name, type_, reason, message, component))

    # ---------------------------------------------------------------------------------------- kubelet
    def kubelet(self, outcome: Any = None) -> None:
        """Bound pods start (Running/Ready); deleted pods without finalizers go; ``outcome(pod)`` may end them."""
        for key, pod in list(self.objs.items()):
            if key[0] != "Pod":
                continue
            md = pod["metadata"]
            if md.get("deletionTimestamp"):
                if md.get("finalizers"):
                    if not o.is_terminal(pod):
                        new = copy.deepcopy(pod)
                        new["status"]["phase"] = "Failed"
                        self._store(key, new)
                else:
                    del self.objs[key]
                    self._publish("DELETED", pod)
                continue
            if not pod["spec"].get("nodeName") or o.is_terminal(pod):
                continue
            if o.phase(pod) == "Pending":
                new = copy.deepcopy(pod)
                new["status"] = {"phase": "Running", "conditions": [
                    {"type": "Ready", "status": "True", "lastTransitionTime": o.rfc3339(self.clock())}]}
                self._store(key, new)
            elif outcome is not None and (end := outcome(pod)) != "Running":
                new = copy.deepcopy(pod)
                new["status"] = {"phase": end, "conditions": [
                    {"type": "Ready", "status": "False", "lastTransitionTime": o.rfc3339(self.clock())}],
                    "containerStatuses": [{"name": "c", "restartCount": 0, "state": {"terminated": {
                        "exitCode": 0 if end == "Succeeded" else 1, "finishedAt": o.rfc3339(self.clock())}}}]}
                self._store(key, new)
