"""The agent's controllers together, on an in-memory API: watch events drive the queues, plans
are executed, the garbage collector and the scheduler close the loops."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from fakeapi import FakeApi, namespaced

from podbay.agent.controllers import wiring
from podbay.agent.controllers.base import Manager
from podbay.agent.controllers.executor import execute
from podbay.agent.controllers.queue import WorkQueue
from podbay.api import apps, batch
from podbay.core.controllers import objects as o
from podbay.core.controllers.plan import Create, Delete, Ref, Result, Update, created_field

Obj = dict[str, Any]


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def setup() -> tuple[FakeApi, Manager, Clock]:
    clock = Clock()
    api = FakeApi(clock)
    mgr = wiring.manager(api.cache, api, namespaced, clock)
    api.manager = mgr
    api.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node1", "labels": {"kubernetes.io/hostname": "node1"}},
                "spec": {}, "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"}}})
    return api, mgr, clock


async def settle(api: FakeApi, mgr: Manager, clock: Clock, outcome: Callable[[Obj], str] | None = None,
                 rounds: int = 80) -> None:
    for _ in range(rounds):
        busy = False
        for c in mgr.controllers:
            while len(c.queue):
                key = await c.queue.get()
                assert key is not None
                try:
                    c.process(key)
                finally:
                    c.queue.done(key)
                busy = True
        clock.t += 1
        before = len(api.objs), sum(int(v["metadata"]["resourceVersion"]) for v in api.objs.values())
        api.kubelet(outcome)
        after = len(api.objs), sum(int(v["metadata"]["resourceVersion"]) for v in api.objs.values())
        if not busy and before == after:
            return
    raise AssertionError("did not settle")


def deployment(replicas: int = 3, image: str = "nginx:1", **spec: Any) -> Obj:
    return apps.default_deployment({"apiVersion": "apps/v1", "kind": "Deployment",
                                    "metadata": {"name": "web", "namespace": "default"},
                                    "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                                             "template": {"metadata": {"labels": {"app": "web"}},
                                                          "spec": {"containers": [{"name": "c", "image": image}]}},
                                             **spec}})


def live_pods(api: FakeApi) -> list[Obj]:
    return [p for p in api.list("Pod") if not o.deleting(p)]


async def test_deployment_to_ready_pods_and_background_deletion() -> None:
    api, mgr, clock = setup()
    api.create(deployment())
    await settle(api, mgr, clock)
    d = api.get("Deployment", "web")
    assert d is not None
    assert d["status"]["readyReplicas"] == 3 and d["status"]["availableReplicas"] == 3
    assert {c["type"]: c["reason"] for c in d["status"]["conditions"]} == {
        "Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"}
    (rs,) = api.list("ReplicaSet")
    assert rs["status"]["replicas"] == 3 and rs["status"]["observedGeneration"] == 1
    assert len(live_pods(api)) == 3
    assert any(e[2] == "SuccessfulCreate" and e[4] == "replicaset-controller" for e in api.events)
    assert any(e[2] == "ScalingReplicaSet" and e[4] == "deployment-controller" for e in api.events)
    api.delete(Ref("apps/v1", "Deployment", "default", "web"), "Background")
    await settle(api, mgr, clock)
    assert api.list("ReplicaSet") == [] and api.list("Pod") == []


async def test_foreground_deletion_keeps_the_owner_until_dependents_are_gone() -> None:
    api, mgr, clock = setup()
    api.create(deployment(replicas=2))
    await settle(api, mgr, clock)
    api.delete(Ref("apps/v1", "Deployment", "default", "web"), "Foreground")
    d = api.get("Deployment", "web")
    assert d is not None and d["metadata"]["finalizers"] == ["foregroundDeletion"]
    await settle(api, mgr, clock)
    assert api.get("Deployment", "web") is None
    assert api.list("ReplicaSet") == [] and api.list("Pod") == []


async def test_orphan_deletion_leaves_replica_sets_without_owner() -> None:
    api, mgr, clock = setup()
    api.create(deployment(replicas=1))
    await settle(api, mgr, clock)
    api.delete(Ref("apps/v1", "Deployment", "default", "web"), "Orphan")
    await settle(api, mgr, clock)
    assert api.get("Deployment", "web") is None
    (rs,) = api.list("ReplicaSet")
    assert not rs["metadata"].get("ownerReferences")
    assert len(live_pods(api)) == 1


async def test_rolling_update_through_the_agent() -> None:
    api, mgr, clock = setup()
    api.create(deployment(replicas=4))
    await settle(api, mgr, clock)
    d = api.get("Deployment", "web")
    assert d is not None
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    api.update(d)
    await settle(api, mgr, clock)
    assert sorted(p["spec"]["containers"][0]["image"] for p in live_pods(api)) == ["nginx:2"] * 4
    assert sorted(rs["spec"]["replicas"] for rs in api.list("ReplicaSet")) == [0, 4]


async def test_scheduler_binds_fitting_pods_and_reports_unschedulable_ones() -> None:
    api, mgr, clock = setup()
    api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ok", "namespace": "default"},
                "spec": {"containers": [{"name": "c", "image": "x"}]}})
    api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nope", "namespace": "default"},
                "spec": {"nodeSelector": {"disk": "ssd"}, "containers": [{"name": "c", "image": "x"}]}})
    await settle(api, mgr, clock)
    ok, nope = api.get("Pod", "ok"), api.get("Pod", "nope")
    assert ok is not None and nope is not None
    assert ok["spec"]["nodeName"] == "node1" and ok["status"]["phase"] == "Running"
    assert "nodeName" not in nope["spec"] and nope["status"]["phase"] == "Pending"
    msg = ("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. no new claims to deallocate, "
           "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.")
    (cond,) = [c for c in nope["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable", msg)
    assert ("nope", "Warning", "FailedScheduling", msg, "default-scheduler") in api.events
    node = api.get("Node", "node1", "")
    assert node is not None
    node["metadata"]["labels"]["disk"] = "ssd"
    api.update(node)
    await settle(api, mgr, clock)
    nope = api.get("Pod", "nope")
    assert nope is not None and nope["spec"]["nodeName"] == "node1"


async def test_job_runs_to_completion() -> None:
    api, mgr, clock = setup()
    api.create(batch.default_job({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi", "namespace": "default"},
                                  "spec": {"completions": 3, "parallelism": 2, "template": {"spec": {
                                      "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}))
    await settle(api, mgr, clock, outcome=lambda p: "Succeeded")
    job = api.get("Job", "pi")
    assert job is not None
    assert job["status"]["succeeded"] == 3
    assert [c["type"] for c in job["status"]["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert all("batch.kubernetes.io/job-tracking" not in (p["metadata"].get("finalizers") or []) for p in api.list("Pod"))


async def test_daemon_set_and_stateful_set_through_the_agent() -> None:
    api, mgr, clock = setup()
    ds = apps.default_daemon_set({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "logs", "namespace": "default"},
                                  "spec": {"selector": {"matchLabels": {"app": "logs"}},
                                           "template": {"metadata": {"labels": {"app": "logs"}},
                                                        "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
    apps.daemon_set_template_generation(ds, None)
    api.create(ds)
    sts = apps.default_stateful_set({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default"},
                                     "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                                              "template": {"metadata": {"labels": {"app": "db"}},
                                                           "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
    api.create(sts)
    await settle(api, mgr, clock)
    names = sorted(o.name(p) for p in live_pods(api))
    assert [n for n in names if n.startswith("db-")] == ["db-0", "db-1"]
    assert len([n for n in names if n.startswith("logs-")]) == 1
    assert api.get("DaemonSet", "logs")["status"]["numberReady"] == 1  # type: ignore[index]


async def test_cron_job_creates_a_job_when_due() -> None:
    api, mgr, clock = setup()
    clock.t = 1_700_000_000.0 - (1_700_000_000.0 % 60) + 30  # half a minute past
    cj = batch.default_cron_job({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick", "namespace": "default"},
                                 "spec": {"schedule": "*/1 * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                                     "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}})
    api.create(cj)
    await settle(api, mgr, clock)
    assert api.list("Job") == []
    clock.t += 40
    mgr.resync()
    await settle(api, mgr, clock, outcome=lambda p: "Succeeded")
    (job,) = api.list("Job")
    assert job["metadata"]["name"] == f"tick-{int(clock.t - (clock.t % 60)) // 60}" or job["metadata"]["name"].startswith("tick-")
    cj_now = api.get("CronJob", "tick")
    assert cj_now is not None and cj_now["status"].get("lastScheduleTime")


def test_executor_slow_start_stops_at_the_first_failure() -> None:
    calls: list[str] = []
    n = [0]

    class Flaky:
        def create(self, body: Obj) -> Obj:
            n[0] += 1
            calls.append(body["metadata"]["generateName"])
            if n[0] == 2:
                raise RuntimeError("quota exceeded")
            return {**body, "metadata": {**body["metadata"], "name": f"p{n[0]}", "uid": "u"}}

        def record_event(self, involved: Ref, type_: str, reason: str, message: str, component: str) -> None:
            calls.append(f"{reason}:{message}")

    from podbay.core.controllers.plan import Outcome
    out = Outcome(Ref("apps/v1", "ReplicaSet", "default", "rs"), ("SuccessfulCreate", "Created pod: {name}"),
                  ("FailedCreate", "Error creating: {error}"))
    res = Result([Create({"kind": "Pod", "metadata": {"generateName": "x-"}}, out, "b") for _ in range(10)])
    done = execute(res, Flaky(), "replicaset-controller")  # type: ignore[arg-type]
    assert calls == ["x-", "SuccessfulCreate:Created pod: p1", "x-", "FailedCreate:Error creating: quota exceeded",
                     "x-", "SuccessfulCreate:Created pod: p3"]
    assert (done.error, done.failed_creates, done.skipped_creates) == ("quota exceeded", 1, 7)


def test_executor_carries_resource_versions_and_created_uids() -> None:
    seen: list[Obj] = []

    class Api:
        def create(self, body: Obj) -> Obj:
            return {**body, "metadata": {**body["metadata"], "uid": "job-uid", "resourceVersion": "8"}}

        def update(self, body: Obj, subresource: str = "") -> Obj:
            seen.append(copy.deepcopy(body))
            return {**body, "metadata": {**body["metadata"], "resourceVersion": str(10 + len(seen))}}

    body = {"kind": "CronJob", "metadata": {"name": "c", "namespace": "default", "resourceVersion": "5"},
            "status": {"active": [{"uid": created_field("Job", "j", "uid")}]}}
    res = Result([Create({"kind": "Job", "metadata": {"name": "j"}}), Update(body, "status"), Update(body)])
    assert execute(res, Api(), "cronjob-controller").error is None  # type: ignore[arg-type]
    assert seen[0]["status"]["active"] == [{"uid": "job-uid"}]
    assert seen[0]["metadata"]["resourceVersion"] == "5" and seen[1]["metadata"]["resourceVersion"] == "11"


def test_executor_ignores_not_found_deletes() -> None:
    from podbay.errors import NotFound

    class Api:
        def delete(self, *a: Any) -> None:
            raise NotFound("gone")

        def record_event(self, *a: Any) -> None:
            pass

    assert execute(Result([Delete(Ref("v1", "Pod", "default", "p"))]), Api(), "x").error is None  # type: ignore[arg-type]


async def test_work_queue_dedupes_and_requeues_keys_added_while_processing() -> None:
    q = WorkQueue()
    q.add("a")
    q.add("a")
    q.add("b")
    assert len(q) == 2
    k = await q.get()
    assert k == "a"
    q.add("a")  # while processing
    assert len(q) == 1
    q.done("a")
    assert len(q) == 2
    q.add_rate_limited("c")
    assert q.retries("c") == 1
    q.forget("c")
    assert q.retries("c") == 0
    q.shutdown()


@pytest.mark.parametrize("kind", ["ReplicaSet", "ReplicationController"])
async def test_replica_set_adopts_orphans(kind: str) -> None:
    api, mgr, clock = setup()
    api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "orphan", "namespace": "default", "labels": {"app": "r"}},
                "spec": {"nodeName": "node1", "containers": [{"name": "c", "image": "x"}]}})
    if kind == "ReplicaSet":
        body = apps.default_replica_set({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r", "namespace": "default"},
                                         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "r"}},
                                                  "template": {"metadata": {"labels": {"app": "r"}},
                                                               "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
    else:
        body = apps.default_replication_controller({"apiVersion": "v1", "kind": "ReplicationController",
                                                    "metadata": {"name": "r", "namespace": "default"},
                                                    "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "r"}},
                                                             "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
    api.create(body)
    await settle(api, mgr, clock)
    pods = live_pods(api)
    assert len(pods) == 2
    orphan = api.get("Pod", "orphan")
    assert orphan is not None and orphan["metadata"]["ownerReferences"][0]["kind"] == kind
    assert api.get(kind, "r")["status"]["replicas"] == 2  # type: ignore[index]


async def test_expectations_stop_a_second_burst_while_the_cache_lags() -> None:
    """A sync that runs before the informer has seen its own creates must not create them again."""
    api, mgr, clock = setup()
    held: list[tuple[str, Obj]] = []
    real_publish = api._publish

    def lagging(event: str, obj: Obj) -> None:
        if obj["kind"] == "Pod":
            held.append((event, obj))
        else:
            real_publish(event, obj)

    api._publish = lagging  # type: ignore[method-assign]
    api.create(apps.default_replica_set({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                         "metadata": {"name": "r", "namespace": "default"},
                                         "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "r"}},
                                                  "template": {"metadata": {"labels": {"app": "r"}},
                                                               "spec": {"containers": [{"name": "c", "image": "x"}]}}}}))
    rsc = next(c for c in mgr.controllers if c.name == "replicaset-controller")
    rsc.process("default/r")
    rsc.process("default/r")  # the cache still has no pods
    assert len(api.list("Pod")) == 3
    api._publish = real_publish  # type: ignore[method-assign]
    for event, obj in held:
        real_publish(event, obj)
    await settle(api, mgr, clock)
    assert len(live_pods(api)) == 3


# ------------------------------------------------------------------------------------------------ volumes


class FakeProvisioner:
    name = "podbay.io/local-path"

    def __init__(self, api: FakeApi) -> None:
        self.api = api
        self.calls: list[tuple[str, str]] = []

    def volume_path(self, claim: Obj) -> str:
        return f"/var/lib/podbay/pv/pvc-{claim['metadata']['uid']}"

    def provision(self, claim: Ref, node_name: str) -> None:
        self.calls.append((claim.name, node_name))
        cur = self.api.get("PersistentVolumeClaim", claim.name, claim.namespace)
        assert cur is not None and not cur["spec"].get("volumeName")
        cur["spec"]["volumeName"] = f"pvc-{cur['metadata']['uid']}"
        ann = cur["metadata"].setdefault("annotations", {})
        ann["volume.kubernetes.io/storage-provisioner"] = self.name
        if node_name:
            ann["volume.kubernetes.io/selected-node"] = node_name
        cur["status"] = {"phase": "Bound"}
        self.api._store(self.api._k("PersistentVolumeClaim", claim.namespace, claim.name), cur)


def setup_volumes() -> tuple[FakeApi, Manager, Clock, FakeProvisioner]:
    from podbay.api import storage

    clock = Clock()
    api = FakeApi(clock)
    prov = FakeProvisioner(api)
    mgr = wiring.manager(api.cache, api, namespaced, clock, provisioner=prov)
    api.manager = mgr
    api.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node1"}, "spec": {},
                "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"}}})
    api.create(storage.builtin_storage_class())
    return api, mgr, clock, prov


def claim(name: str, cls: str = "podbay-local") -> Obj:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                     "storageClassName": cls}, "status": {"phase": "Pending"}}


def claim_pod(name: str, claim_name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "x"}],
                     "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim_name}}]}}


UNHELPFUL = "no new claims to deallocate, preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."


async def test_wait_for_first_consumer_claims_are_provisioned_when_the_pod_is_scheduled() -> None:
    api, mgr, clock, prov = setup_volumes()
    api.create(claim("data"))
    await settle(api, mgr, clock)
    assert prov.calls == [] and api.get("PersistentVolumeClaim", "data")["status"]["phase"] == "Pending"  # type: ignore[index]
    assert ("data", "Normal", "WaitForFirstConsumer", "waiting for first consumer to be created before binding",
            "persistentvolume-controller") in api.events
    api.create(claim_pod("web", "data"))
    await settle(api, mgr, clock)
    assert prov.calls == [("data", "node1")]
    pvc = api.get("PersistentVolumeClaim", "data")
    assert pvc is not None and pvc["status"]["phase"] == "Bound"
    pv = api.get("PersistentVolume", pvc["spec"]["volumeName"], "")
    assert pv is not None and pv["spec"]["claimRef"]["name"] == "data"
    assert pv["spec"]["hostPath"]["path"] == f"/var/lib/podbay/pv/{pvc['spec']['volumeName']}"
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete" and pv["status"]["phase"] == "Bound"
    assert api.get("Pod", "web")["spec"]["nodeName"] == "node1"  # type: ignore[index]
    assert ("data", "Normal", "ProvisioningSucceeded",
            f"Successfully provisioned volume {pv['metadata']['name']} using podbay.io/local-path",
            "persistentvolume-controller") in api.events
    # The claim goes: its volume object goes too (reclaim Delete), pv-protection lifted first.
    api.delete(Ref("v1", "Pod", "default", "web"), None)
    api.delete(Ref("v1", "PersistentVolumeClaim", "default", "data"), None)
    await settle(api, mgr, clock)
    assert api.list("PersistentVolume", None) == []


async def test_claims_that_cannot_bind_keep_their_pods_pending() -> None:
    api, mgr, clock, prov = setup_volumes()
    api.create(claim_pod("orphan", "missing"))
    api.create(claim("gold", "gold"))
    api.create(claim_pod("golden", "gold"))
    await settle(api, mgr, clock)
    assert prov.calls == []
    assert ("orphan", "Warning", "FailedScheduling",
            f'0/1 nodes are available: persistentvolumeclaim "missing" not found. {UNHELPFUL}',
            "default-scheduler") in api.events
    assert ("golden", "Warning", "FailedScheduling",
            f"0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. {UNHELPFUL}",
            "default-scheduler") in api.events
    assert ("gold", "Warning", "ProvisioningFailed", 'storageclass.storage.k8s.io "gold" not found',
            "persistentvolume-controller") in api.events
    # A class of podbay's provisioner with Immediate binding appears: the claim binds, the pod follows.
    api.create({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "gold"},
                "provisioner": "podbay.io/local-path", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"})
    api.create(claim("missing"))
    await settle(api, mgr, clock)
    assert sorted(prov.calls) == [("gold", ""), ("missing", "node1")]
    assert api.get("Pod", "golden")["spec"]["nodeName"] == "node1"  # type: ignore[index]
    assert api.get("Pod", "orphan")["spec"]["nodeName"] == "node1"  # type: ignore[index]


async def test_external_wait_for_first_consumer_class_never_fits() -> None:
    api, mgr, clock, prov = setup_volumes()
    api.create({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "ebs"},
                "provisioner": "ebs.csi.aws.com", "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"})
    api.create(claim("vol", "ebs"))
    api.create(claim_pod("p", "vol"))
    await settle(api, mgr, clock)
    assert prov.calls == []
    assert ("p", "Warning", "FailedScheduling",
            f"0/1 nodes are available: 1 node(s) didn't find available persistent volumes to bind. {UNHELPFUL}",
            "default-scheduler") in api.events


async def test_stateful_set_claims_bind_in_order_and_outlive_scale_down() -> None:
    api, mgr, clock, prov = setup_volumes()
    sts = apps.default_stateful_set({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default"},
                                     "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                                              "template": {"metadata": {"labels": {"app": "db"}},
                                                           "spec": {"containers": [{"name": "c", "image": "x"}]}},
                                              "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                                                  "accessModes": ["ReadWriteOnce"], "storageClassName": "podbay-local",
                                                  "resources": {"requests": {"storage": "1Gi"}}}}]}})
    api.create(sts)
    await settle(api, mgr, clock)
    assert [c for c, _ in prov.calls] == ["data-db-0", "data-db-1"]
    assert sorted(o.name(p) for p in api.list("PersistentVolume", None)) == sorted(
        f"pvc-{o.uid(c)}" for c in api.list("PersistentVolumeClaim"))
    cur = api.get("StatefulSet", "db")
    assert cur is not None
    cur["spec"]["replicas"] = 0
    api.update(cur)
    await settle(api, mgr, clock)
    assert [o.name(p) for p in live_pods(api)] == []
    assert len(api.list("PersistentVolumeClaim")) == 2 and len(api.list("PersistentVolume", None)) == 2


def test_garbage_collector_rebuilds_only_for_changes_that_can_matter() -> None:
    """A Lease renewal or a status write keeps the owner references: no graph rebuild for it."""
    from podbay.agent.controllers.gc import GarbageCollector

    _api, mgr, _clock = setup()
    gc_ctl = next(c for c in mgr.controllers if isinstance(c, GarbageCollector))
    owner = {"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "node-uid"}
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "n", "namespace": "kube-node-lease", "uid": "l", "ownerReferences": [owner]},
             "spec": {"renewTime": "2026-12-02T00:00:00.000000Z"}}
    renewed = copy.deepcopy(lease)
    renewed["spec"]["renewTime"] = "2026-12-02T00:00:10.000000Z"
    orphaned = copy.deepcopy(lease)
    orphaned["metadata"]["ownerReferences"] = []
    deleting = copy.deepcopy(renewed)
    deleting["metadata"]["deletionTimestamp"] = "2026-12-02T00:00:11Z"
    plain = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d", "uid": "c"}}
    assert list(gc_ctl.keys_for("Lease", "ADDED", None, lease)) == ["graph"]
    assert list(gc_ctl.keys_for("Lease", "MODIFIED", lease, renewed)) == []
    assert list(gc_ctl.keys_for("Lease", "MODIFIED", renewed, orphaned)) == ["graph"]
    assert list(gc_ctl.keys_for("Lease", "MODIFIED", orphaned, lease)) == ["graph"]
    assert list(gc_ctl.keys_for("Lease", "MODIFIED", None, renewed)) == ["graph"]
    assert list(gc_ctl.keys_for("Lease", "MODIFIED", renewed, deleting)) == ["graph"]
    assert list(gc_ctl.keys_for("ConfigMap", "ADDED", None, plain)) == []
    assert list(gc_ctl.keys_for("ConfigMap", "DELETED", plain, plain)) == ["graph"]
