"""The DaemonSet controller on one node, and the scheduler predicates it shares with node fit."""

from __future__ import annotations

from typing import Any

import pytest
from ctrlsim import World, images, pods_of

from podbay.core.controllers import daemonset as dsc
from podbay.core.controllers import nodefit as nf
from podbay.core.controllers import objects as o
from podbay.core.controllers.backoff import Backoff

Obj = dict[str, Any]


def ds(image: str = "fluentd:1", **spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "logs", "namespace": "default",
                         "annotations": {dsc.TEMPLATE_GENERATION_ANNOTATION: "1"}},
            "spec": {"selector": {"matchLabels": {"app": "logs"}}, "revisionHistoryLimit": 10,
                     "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                     "template": {"metadata": {"labels": {"app": "logs"}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}, **spec}}


def new_template(w: World, image: str, **strategy: Any) -> None:
    def fn(d: Obj) -> None:
        d["spec"]["template"]["spec"]["containers"][0]["image"] = image
        ann = d["metadata"]["annotations"]
        ann[dsc.TEMPLATE_GENERATION_ANNOTATION] = str(int(ann[dsc.TEMPLATE_GENERATION_ANNOTATION]) + 1)
        if strategy:
            d["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": strategy}
    w.set_spec("DaemonSet", "logs", fn)


def live(w: World) -> list[Obj]:
    return pods_of(w, lambda p: not o.deleting(p))


def status(w: World) -> dict[str, int]:
    st = w.get("DaemonSet", "logs")["status"]  # type: ignore[index]
    return {k: st.get(k, 0) for k in ("desiredNumberScheduled", "currentNumberScheduled", "numberMisscheduled",
                                      "numberReady", "updatedNumberScheduled", "numberAvailable", "numberUnavailable")}


def test_one_pod_on_the_node_with_daemon_tolerations_and_node_affinity() -> None:
    w = World()
    w.create(ds())
    w.settle()
    (pod,) = live(w)
    (rev,) = w.list("ControllerRevision")
    h = rev["metadata"]["labels"]["controller-revision-hash"]
    assert o.name(rev) == f"logs-{h}"
    assert pod["metadata"]["generateName"] == "logs-"
    assert pod["metadata"]["labels"] == {"app": "logs", "pod-template-generation": "1", "controller-revision-hash": h}
    assert pod["spec"]["affinity"] == {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node1"]}]}]}}}
    assert [(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]] == [
        ("node.kubernetes.io/not-ready", "NoExecute"), ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"), ("node.kubernetes.io/unschedulable", "NoSchedule")]
    assert status(w) == {"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberMisscheduled": 0,
                         "numberReady": 1, "updatedNumberScheduled": 1, "numberAvailable": 1, "numberUnavailable": 0}


def test_node_selector_follows_node_labels() -> None:
    w = World()
    w.create(ds(template={"metadata": {"labels": {"app": "logs"}},
                          "spec": {"nodeSelector": {"disk": "ssd"}, "containers": [{"name": "c", "image": "x"}]}}))
    w.settle()
    assert live(w) == []
    assert status(w)["desiredNumberScheduled"] == 0
    w.node["metadata"]["labels"]["disk"] = "ssd"
    w.settle()
    assert len(live(w)) == 1
    del w.node["metadata"]["labels"]["disk"]
    w.step()
    assert status(w)["numberMisscheduled"] == 1 or live(w) == []
    w.settle()
    assert live(w) == []


def test_taints() -> None:
    w = World()
    w.node["spec"]["taints"] = [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]
    w.create(ds())
    w.settle()
    assert live(w) == []
    w.node["spec"]["taints"] = []
    w.settle()
    assert len(live(w)) == 1
    w.node["spec"]["taints"] = [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]
    w.settle()
    assert len(live(w)) == 1  # NoSchedule does not evict a running daemon pod
    w.node["spec"]["taints"] = [{"key": "dedicated", "value": "db", "effect": "NoExecute"}]
    w.settle()
    assert live(w) == []


def test_rolling_update_replaces_the_pod() -> None:
    w = World()
    w.create(ds())
    w.settle()
    new_template(w, "fluentd:2")
    w.settle()
    assert images(live(w)) == ["fluentd:2"]
    assert status(w)["updatedNumberScheduled"] == 1
    assert sorted(r["revision"] for r in w.list("ControllerRevision")) == [1, 2]


def test_surge_keeps_the_old_pod_until_the_new_one_is_available() -> None:
    w = World()
    w.create(ds())
    w.settle()
    new_template(w, "fluentd:2", maxSurge=1, maxUnavailable=0)
    seen: list[list[str]] = []
    w.settle(observe=lambda world: seen.append(images(live(world))))
    assert ["fluentd:1", "fluentd:2"] in seen
    assert all(s for s in seen)  # never without a pod
    assert images(live(w)) == ["fluentd:2"]


def test_failed_daemon_pod_is_deleted_with_an_event() -> None:
    w = World()
    w.create(ds())
    w.settle()
    (pod,) = live(w)
    w.objs[("Pod", "default", o.name(pod))]["status"]["phase"] = "Failed"
    w.settle()
    assert [p for p in live(w) if o.phase(p) == "Failed"] == []
    assert any(e[2] == "FailedDaemonPod" and e[3] == f"Found failed daemon pod default/{o.name(pod)} on node node1, will try to kill it"
               for e in w.events)


def test_backoff_doubles_and_caps() -> None:
    b = Backoff(1.0, 4.0)
    b.next("k", 0.0)
    assert b.in_backoff_since_update("k", 0.5) and not b.in_backoff_since_update("k", 1.0)
    b.next("k", 1.0)
    assert b.get("k") == 2.0
    b.next("k", 3.0)
    b.next("k", 7.0)
    assert b.get("k") == 4.0
    b.next("k", 100.0)  # stable for twice the maximum: starts over
    assert b.get("k") == 1.0


def test_history_limit_keeps_revisions_of_live_pods() -> None:
    w = World()
    w.create(ds(revisionHistoryLimit=1))
    w.settle()
    for tag in ("2", "3", "4"):
        new_template(w, f"fluentd:{tag}")
        w.settle()
    assert sorted(r["revision"] for r in w.list("ControllerRevision")) == [3, 4]


def test_selecting_all() -> None:
    d = ds()
    d["spec"]["selector"] = {}
    res, _ = dsc.sync_daemon_set(d, [], [], [], dsc.new_backoff(), 0.0)
    assert [(e.reason, e.message) for e in res.events()] == [
        ("SelectingAll", "This daemon set is selecting all pods. A non-empty selector is required.")]


# ---------------------------------------------------------------------------------------------- node fit

NODE: Obj = {"metadata": {"name": "node1", "labels": {"kubernetes.io/hostname": "node1", "zone": "a", "cores": "8"}},
             "spec": {}, "status": {"allocatable": {"cpu": "2", "memory": "1Gi", "pods": "3"}}}


def pod(**spec: Any) -> Obj:
    return {"metadata": {"name": "p", "uid": "p"},
            "spec": {"containers": [{"name": "c", "image": "x", **spec.pop("container", {})}], **spec},
            "status": {"phase": "Pending"}}


def test_unsatisfiable_node_selector_message() -> None:
    fit = nf.filter_pod(pod(nodeSelector={"disk": "ssd"}), NODE, [])
    assert not fit.fits
    assert nf.fit_error_message([fit]) == (
        "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. no new claims to deallocate, "
        "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.")


def test_insufficient_resources_message() -> None:
    big = pod(container={"resources": {"requests": {"cpu": "3", "memory": "2Gi"}}})
    fit = nf.filter_pod(big, NODE, [])
    assert fit.reasons == ("Insufficient cpu", "Insufficient memory")
    assert nf.fit_error_message([fit]) == (
        "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. no new claims to deallocate, "
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.")


def test_requests_of_running_pods_count_and_pod_limit() -> None:
    running = [pod(container={"resources": {"requests": {"cpu": "1500m"}}}) for _ in range(1)]
    half = pod(container={"resources": {"requests": {"cpu": "600m"}}})
    assert nf.filter_pod(half, NODE, running).reasons == ("Insufficient cpu",)
    assert nf.filter_pod(half, NODE, []).fits
    assert nf.filter_pod(pod(), NODE, [pod(), pod(), pod()]).reasons == ("Too many pods",)


def test_init_containers_and_overhead_in_requests() -> None:
    p = pod(container={"resources": {"requests": {"cpu": "100m"}}},
            initContainers=[{"name": "i", "resources": {"requests": {"cpu": "500m"}}},
                            {"name": "s", "restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}}],
            overhead={"cpu": "10m"})
    assert nf.pod_requests(p)["cpu"] == pytest.approx(0.51)


def test_taint_and_unschedulable_and_node_name() -> None:
    tainted = {**NODE, "spec": {"taints": [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]}}
    assert nf.filter_pod(pod(), tainted, []).reasons == ("node(s) had untolerated taint(s)",)
    assert nf.filter_pod(pod(tolerations=[{"key": "gpu", "operator": "Exists"}]), tainted, []).fits
    prefer = {**NODE, "spec": {"taints": [{"key": "gpu", "effect": "PreferNoSchedule"}]}}
    assert nf.filter_pod(pod(), prefer, []).fits
    cordoned = {**NODE, "spec": {"unschedulable": True}}
    assert nf.filter_pod(pod(), cordoned, []).reasons == ("node(s) were unschedulable",)
    assert nf.filter_pod(pod(nodeName="other"), NODE, []).reasons == ("node(s) didn't match the requested node name",)


def test_host_port_conflicts() -> None:
    web = pod(container={"ports": [{"containerPort": 80, "hostPort": 8080, "protocol": "TCP"}]})
    same_ip = pod(container={"ports": [{"containerPort": 80, "hostPort": 8080, "hostIP": "127.0.0.1"}]})
    udp = pod(container={"ports": [{"containerPort": 80, "hostPort": 8080, "protocol": "UDP"}]})
    assert nf.filter_pod(same_ip, NODE, [web]).reasons == ("node(s) didn't have free ports for the requested pod ports",)
    assert nf.filter_pod(udp, NODE, [web]).fits
    other_ip = pod(container={"ports": [{"containerPort": 80, "hostPort": 8080, "hostIP": "127.0.0.2"}]})
    assert nf.filter_pod(other_ip, NODE, [same_ip]).fits


@pytest.mark.parametrize(("toleration", "taint", "want"), [
    ({"key": "a", "operator": "Equal", "value": "b", "effect": "NoSchedule"}, {"key": "a", "value": "b", "effect": "NoSchedule"}, True),
    ({"key": "a", "value": "b"}, {"key": "a", "value": "b", "effect": "NoExecute"}, True),
    ({"key": "a", "value": "c"}, {"key": "a", "value": "b", "effect": "NoSchedule"}, False),
    ({"key": "a", "operator": "Exists"}, {"key": "a", "value": "b", "effect": "NoSchedule"}, True),
    ({"operator": "Exists"}, {"key": "anything", "effect": "NoExecute"}, True),
    ({"key": "a", "operator": "Exists", "effect": "NoExecute"}, {"key": "a", "effect": "NoSchedule"}, False),
])
def test_tolerates(toleration: Obj, taint: Obj, want: bool) -> None:
    assert nf.tolerates(toleration, taint) is want


@pytest.mark.parametrize(("terms", "want"), [
    ([{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}], True),
    ([{"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}], False),
    ([{"matchExpressions": [{"key": "gpu", "operator": "DoesNotExist"}]}], True),
    ([{"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["4"]}]}], True),
    ([{"matchExpressions": [{"key": "cores", "operator": "Lt", "values": ["4"]}]}], False),
    ([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node1"]}]}], True),
    ([{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z"]}]},
      {"matchExpressions": [{"key": "zone", "operator": "Exists"}]}], True),
    ([{}], False),
])
def test_required_node_affinity(terms: list[Obj], want: bool) -> None:
    p = pod(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}})
    assert nf.matches_node_selector_and_affinity(p, NODE) is want


# ------------------------------------------------------------------------------------------------ VolumeBinding

LOCAL = "podbay.io/local-path"
CLASSES = {
    "podbay-local": {"provisioner": LOCAL, "volumeBindingMode": "WaitForFirstConsumer"},
    "fast": {"provisioner": LOCAL, "volumeBindingMode": "Immediate"},
    "ebs": {"provisioner": "ebs.csi.aws.com", "volumeBindingMode": "WaitForFirstConsumer"},
}


def pvc(name: str, cls: str = "podbay-local", bound: bool = False, deleting: bool = False) -> Obj:
    md: Obj = {"name": name, "namespace": "default"}
    if deleting:
        md["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": md, "spec": {"storageClassName": cls, **({"volumeName": f"pvc-{name}"} if bound else {})},
            "status": {"phase": "Bound" if bound else "Pending"}}


def pvc_pod(*claims: str) -> Obj:
    return {"metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "c"}], "volumes": [
                {"name": "cfg", "configMap": {"name": "x"}},
                *({"name": f"v{i}", "persistentVolumeClaim": {"claimName": c}} for i, c in enumerate(claims))]}}


@pytest.mark.parametrize("claims,present,expect", [
    ((), [], nf.VolumeBinding()),
    (("a",), [pvc("a", bound=True)], nf.VolumeBinding()),
    (("a",), [], nf.VolumeBinding('persistentvolumeclaim "a" not found', nf.Fit(nf.UNRESOLVABLE))),
    (("a",), [pvc("a", bound=True, deleting=True)],
     nf.VolumeBinding('persistentvolumeclaim "a" is being deleted', nf.Fit(nf.UNRESOLVABLE))),
    (("a", "b"), [pvc("a")], nf.VolumeBinding('persistentvolumeclaim "b" not found', nf.Fit(nf.UNRESOLVABLE))),
    (("a",), [pvc("a")], nf.VolumeBinding(provision=("a",))),
    (("a", "a", "b"), [pvc("a"), pvc("b")], nf.VolumeBinding(provision=("a", "b"))),
    (("a",), [pvc("a", "fast")], nf.VolumeBinding(nf.ERR_UNBOUND_IMMEDIATE, nf.Fit(nf.UNRESOLVABLE))),
    (("a",), [pvc("a", "")], nf.VolumeBinding(nf.ERR_UNBOUND_IMMEDIATE, nf.Fit(nf.UNRESOLVABLE))),
    (("a",), [pvc("a", "nope")], nf.VolumeBinding(nf.ERR_UNBOUND_IMMEDIATE, nf.Fit(nf.UNRESOLVABLE))),
    (("a", "b"), [pvc("a"), pvc("b", "fast")], nf.VolumeBinding(nf.ERR_UNBOUND_IMMEDIATE, nf.Fit(nf.UNRESOLVABLE))),
    (("a",), [pvc("a", "ebs")], nf.VolumeBinding(fit=nf.Fit(nf.UNRESOLVABLE, (nf.ERR_BIND_CONFLICT,)))),
])
def test_volume_binding(claims: tuple[str, ...], present: list[Obj], expect: nf.VolumeBinding) -> None:
    got = nf.volume_binding(pvc_pod(*claims), {o.name(c): c for c in present}, CLASSES, LOCAL)
    assert got == expect


def test_fit_error_message_with_a_prefilter_failure() -> None:
    assert nf.fit_error_message([nf.Fit(nf.UNRESOLVABLE)], 'persistentvolumeclaim "data" not found') == (
        '0/1 nodes are available: persistentvolumeclaim "data" not found. no new claims to deallocate, '
        "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.")
