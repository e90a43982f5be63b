"""kubectl's columns for the workload kinds."""

from __future__ import annotations

from typing import Any

from podbay.api import storage
from podbay.api.workload_tables import printers

NOW = 1_700_000_100.0
T0 = "2023-11-14T22:13:20Z"  # NOW - 100 s


def since(ts: Any, now: float) -> str:
    import datetime as dt

    if not ts:
        return "<unknown>"
    return f"{int(now - dt.datetime.fromisoformat(ts.replace('Z', '+00:00')).timestamp())}s"


P = printers(since)


def cells(group: str, kind: str, obj: dict[str, Any]) -> list[Any]:
    return P[(group, kind)].row(obj, NOW)


def names(group: str, kind: str) -> list[str]:
    return [c.name for c in P[(group, kind)].columns()]


TEMPLATE = {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}, {"name": "side", "image": "busybox"}]}}


def test_deployment_columns_and_row() -> None:
    assert names("apps", "Deployment") == ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]
    d = {"metadata": {"name": "web", "creationTimestamp": T0},
         "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": TEMPLATE},
         "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert cells("apps", "Deployment", d) == ["web", "2/3", 3, 2, "100s", "nginx,side", "nginx:1.25,busybox", "app=web"]
    assert [c.priority for c in P[("apps", "Deployment")].columns()] == [0, 0, 0, 0, 0, 1, 1, 1]


def test_replica_set_and_rc_rows() -> None:
    rs = {"kind": "ReplicaSet", "metadata": {"name": "web-1", "creationTimestamp": T0},
          "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "abc"}}, "template": TEMPLATE},
          "status": {"replicas": 3, "readyReplicas": 1}}
    assert cells("apps", "ReplicaSet", rs) == ["web-1", 3, 3, 1, "100s", "nginx,side", "nginx:1.25,busybox",
                                              "app=web,pod-template-hash=abc"]
    rc = {"kind": "ReplicationController", "metadata": {"name": "r", "creationTimestamp": T0},
          "spec": {"replicas": 1, "selector": {"app": "r"}, "template": TEMPLATE}, "status": {}}
    assert cells("", "ReplicationController", rc)[-1] == "app=r"


def test_stateful_set_daemon_set_rows() -> None:
    assert names("apps", "StatefulSet") == ["Name", "Ready", "Age", "Containers", "Images"]
    s = {"metadata": {"name": "web", "creationTimestamp": T0}, "spec": {"replicas": 3, "template": TEMPLATE},
         "status": {"readyReplicas": 3}}
    assert cells("apps", "StatefulSet", s)[:3] == ["web", "3/3", "100s"]
    assert names("apps", "DaemonSet") == ["Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector",
                                          "Age", "Containers", "Images", "Selector"]
    ds = {"metadata": {"name": "logs", "creationTimestamp": T0},
          "spec": {"selector": {"matchLabels": {"app": "logs"}}, "template": {"spec": {**TEMPLATE["spec"], "nodeSelector": {"disk": "ssd"}}}},
          "status": {"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberReady": 1,
                     "updatedNumberScheduled": 1, "numberAvailable": 1}}
    assert cells("apps", "DaemonSet", ds)[:8] == ["logs", 1, 1, 1, 1, 1, "disk=ssd", "100s"]


def test_job_rows() -> None:
    assert names("batch", "Job") == ["Name", "Status", "Completions", "Duration", "Age", "Containers", "Images", "Selector"]
    j = {"metadata": {"name": "pi", "creationTimestamp": T0},
         "spec": {"completions": 5, "template": TEMPLATE, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}}},
         "status": {"succeeded": 5, "startTime": T0, "completionTime": "2023-11-14T22:13:50Z",
                    "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}}
    assert cells("batch", "Job", j)[:5] == ["pi", "Complete", "5/5", "30s", "100s"]
    running = {"metadata": {"name": "q"}, "spec": {"parallelism": 3}, "status": {"succeeded": 1, "startTime": T0}}
    assert cells("batch", "Job", running)[1:4] == ["Running", "1/1 of 3", "100s"]
    failing = {"metadata": {"name": "f"}, "spec": {"completions": 1}, "status": {"conditions": [{"type": "FailureTarget", "status": "True"}]}}
    assert cells("batch", "Job", failing)[1:4] == ["FailureTarget", "0/1", ""]


def test_cron_job_row() -> None:
    assert names("batch", "CronJob") == ["Name", "Schedule", "Timezone", "Suspend", "Active", "Last Schedule", "Age",
                                         "Containers", "Images", "Selector"]
    cj = {"metadata": {"name": "hello", "creationTimestamp": T0},
          "spec": {"schedule": "*/1 * * * *", "suspend": False, "jobTemplate": {"spec": {"template": TEMPLATE}}},
          "status": {"active": [{"name": "hello-1"}], "lastScheduleTime": "2023-11-14T22:14:00Z"}}
    assert cells("batch", "CronJob", cj)[:7] == ["hello", "*/1 * * * *", "<none>", "false", 1, "60s", "100s"]


def test_revision_storage_class_and_pv_rows() -> None:
    cr = {"metadata": {"name": "web-6c5d", "creationTimestamp": T0,
                       "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": True}]},
          "revision": 2}
    assert cells("apps", "ControllerRevision", cr) == ["web-6c5d", "statefulset.apps/web", 2, "100s"]
    sc = {**storage.builtin_storage_class(), "metadata": {**storage.builtin_storage_class()["metadata"], "creationTimestamp": T0}}
    assert cells("storage.k8s.io", "StorageClass", sc) == ["podbay-local (default)", "podbay.io/local-path", "Delete",
                                                           "WaitForFirstConsumer", False, "100s"]
    claim = {"metadata": {"name": "data", "namespace": "default", "uid": "c1"},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    pv = storage.persistent_volume_for(claim, "/x", "node1", T0)
    pv["metadata"]["creationTimestamp"] = T0
    assert cells("", "PersistentVolume", pv) == ["pvc-c1", "1Gi", "RWO", "Delete", "Bound", "default/data", "podbay-local",
                                                 "<unset>", "", "100s", "Filesystem"]
