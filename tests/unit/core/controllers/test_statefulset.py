"""The StatefulSet controller against the simulated cluster."""

from __future__ import annotations

from typing import Any

from ctrlsim import World, images, pods_of

from podbay.core.controllers import history
from podbay.core.controllers import objects as o
from podbay.core.controllers import statefulset as ss
from podbay.core.controllers.plan import Create, Delete

Obj = dict[str, Any]


def sts(replicas: int = 3, image: str = "nginx:1", claims: bool = True, **spec: Any) -> Obj:
    body: Obj = {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": replicas, "serviceName": "nginx", "podManagementPolicy": "OrderedReady",
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}},
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {"metadata": {"labels": {"app": "nginx"}},
                         "spec": {"containers": [{"name": "nginx", "image": image,
                                                  "volumeMounts": [{"name": "www", "mountPath": "/usr/share/nginx/html"}]}]}},
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            **spec,
        },
    }
    if claims:
        body["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "www"},
                                                 "spec": {"accessModes": ["ReadWriteOnce"],
                                                          "resources": {"requests": {"storage": "1Gi"}}}}]
    return body


def names(w: World, kind: str = "Pod") -> list[str]:
    return sorted(o.name(x) for x in w.list(kind) if not o.deleting(x))


def test_ordered_ready_creates_one_pod_at_a_time_after_the_previous_is_ready() -> None:
    w = World()
    w.create(sts())
    gate = {"web-0"}
    order: list[list[str]] = []
    for _ in range(4):
        w.step(lambda p: o.name(p) in gate)
        order.append(names(w))
    assert order[0] == ["web-0"]
    assert order[-1] == ["web-0", "web-1"]  # web-1 never Ready: web-2 is not created
    gate.update({"web-1", "web-2"})
    w.settle(lambda p: o.name(p) in gate)
    assert names(w) == ["web-0", "web-1", "web-2"]
    created = [a.body["metadata"]["name"] for a in w.writes if isinstance(a, Create) and a.body["kind"] == "Pod"]
    assert created == ["web-0", "web-1", "web-2"]
    creates = [a.body["metadata"]["name"] for a in w.writes if isinstance(a, Create)]
    assert creates.index("www-web-0") < creates.index("web-0") < creates.index("www-web-1") < creates.index("web-1")


def test_pod_identity_storage_and_labels() -> None:
    w = World()
    w.create(sts(replicas=1))
    w.settle()
    (pod,) = w.list("Pod")
    (rev,) = w.list("ControllerRevision")
    assert pod["spec"]["hostname"] == "web-0"
    assert pod["spec"]["subdomain"] == "nginx"
    assert pod["metadata"]["labels"] == {"app": "nginx", "statefulset.kubernetes.io/pod-name": "web-0",
                                         "apps.kubernetes.io/pod-index": "0",
                                         "controller-revision-hash": o.name(rev)}
    assert pod["spec"]["volumes"] == [{"name": "www", "persistentVolumeClaim": {"claimName": "www-web-0"}}]
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    (pvc,) = w.list("PersistentVolumeClaim")
    assert o.name(pvc) == "www-web-0"
    assert pvc["metadata"]["labels"] == {"app": "nginx"}
    assert "ownerReferences" not in pvc["metadata"]  # Retain: the claim outlives the set
    assert o.name(rev).startswith("web-") and rev["revision"] == 1
    assert rev["metadata"]["labels"]["controller.kubernetes.io/hash"] == o.name(rev)[4:]
    st = w.get("StatefulSet", "web")["status"]  # type: ignore[index]
    assert {k: st[k] for k in ("replicas", "readyReplicas", "availableReplicas", "currentReplicas", "updatedReplicas")} == {
        "replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "currentReplicas": 1, "updatedReplicas": 1}
    assert st["currentRevision"] == st["updateRevision"] == o.name(rev)
    assert ("web", "Normal", "SuccessfulCreate", "create Claim www-web-0 Pod web-0 in StatefulSet web success") in w.events
    assert ("web", "Normal", "SuccessfulCreate", "create Pod web-0 in StatefulSet web successful") in w.events


def test_scale_down_removes_highest_ordinal_first_and_keeps_claims() -> None:
    w = World()
    w.create(sts())
    w.settle()
    w.set_spec("StatefulSet", "web", lambda s: s["spec"].update(replicas=1))
    seen: list[list[str]] = []
    w.settle(observe=lambda world: seen.append(names(world)))
    assert ["web-0", "web-1"] in seen
    assert names(w) == ["web-0"]
    assert names(w, "PersistentVolumeClaim") == ["www-web-0", "www-web-1", "www-web-2"]
    assert ("web", "Normal", "SuccessfulDelete", "delete Pod web-2 in StatefulSet web successful") in w.events
    w.set_spec("StatefulSet", "web", lambda s: s["spec"].update(replicas=2))
    w.settle()
    assert names(w) == ["web-0", "web-1"]
    assert names(w, "PersistentVolumeClaim") == ["www-web-0", "www-web-1", "www-web-2"]


def test_parallel_creates_all_at_once() -> None:
    w = World()
    w.create(sts(podManagementPolicy="Parallel", claims=False))
    w.step(lambda p: False)
    assert names(w) == ["web-0", "web-1", "web-2"]


def test_rolling_update_goes_from_the_highest_ordinal_and_honours_the_partition() -> None:
    w = World()
    w.create(sts(claims=False))
    w.settle()
    w.set_spec("StatefulSet", "web", lambda s: s["spec"].update(
        updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}))
    w.set_spec("StatefulSet", "web", lambda s: s["spec"]["template"]["spec"]["containers"][0].update(image="nginx:2"))
    w.settle()
    by_name = {o.name(p): p["spec"]["containers"][0]["image"] for p in pods_of(w)}
    assert by_name == {"web-0": "nginx:1", "web-1": "nginx:1", "web-2": "nginx:2"}
    st = w.get("StatefulSet", "web")["status"]  # type: ignore[index]
    assert st["currentRevision"] != st["updateRevision"]
    assert (st["currentReplicas"], st["updatedReplicas"]) == (2, 1)
    w.set_spec("StatefulSet", "web", lambda s: s["spec"].update(
        updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}))
    before = len(w.writes)
    w.settle()
    deleted_order = [a.target.name for a in w.writes[before:] if isinstance(a, Delete) and a.target.kind == "Pod"]
    assert deleted_order == ["web-1", "web-0"]
    assert images(pods_of(w)) == ["nginx:2"] * 3
    st = w.get("StatefulSet", "web")["status"]  # type: ignore[index]
    assert st["currentRevision"] == st["updateRevision"]
    assert st["currentReplicas"] == st["updatedReplicas"] == 3


def test_on_delete_updates_only_deleted_pods_and_rollback_reuses_the_revision() -> None:
    w = World()
    w.create(sts(replicas=2, claims=False, updateStrategy={"type": "OnDelete"}))
    w.settle()
    w.set_spec("StatefulSet", "web", lambda s: s["spec"]["template"]["spec"]["containers"][0].update(image="nginx:2"))
    w.settle()
    assert images(pods_of(w)) == ["nginx:1", "nginx:1"]
    pod = w.get("Pod", "web-1")
    assert pod is not None
    del w.objs[("Pod", "default", "web-1")]
    w.settle()
    by_name = {o.name(p): p["spec"]["containers"][0]["image"] for p in pods_of(w)}
    assert by_name == {"web-0": "nginx:1", "web-1": "nginx:2"}
    revs = {r["spec"] if "spec" in r else o.name(r): r["revision"] for r in w.list("ControllerRevision")}
    assert sorted(revs.values()) == [1, 2]
    w.set_spec("StatefulSet", "web", lambda s: s["spec"]["template"]["spec"]["containers"][0].update(image="nginx:1"))
    w.settle()
    revs_after = sorted(r["revision"] for r in w.list("ControllerRevision"))
    assert revs_after == [2, 3]  # the first revision was re-used with the next number
    assert len(w.list("ControllerRevision")) == 2


def test_failed_pod_is_recreated_with_the_same_name() -> None:
    w = World()
    w.create(sts(replicas=1, claims=False))
    w.settle()
    w.objs[("Pod", "default", "web-0")]["status"]["phase"] = "Failed"
    old_uid = w.get("Pod", "web-0")["metadata"]["uid"]  # type: ignore[index]
    w.settle()
    assert w.get("Pod", "web-0")["metadata"]["uid"] != old_uid  # type: ignore[index]
    assert ("web", "Warning", "RecreatingFailedPod", "StatefulSet default/web is recreating failed Pod web-0") in w.events


def test_retention_policy_owner_references() -> None:
    w = World()
    w.create(sts(replicas=2, persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete", "whenScaled": "Delete"}))
    w.settle()
    set_uid = w.get("StatefulSet", "web")["metadata"]["uid"]  # type: ignore[index]
    for c in w.list("PersistentVolumeClaim"):
        assert [r["uid"] for r in c["metadata"]["ownerReferences"]] == [set_uid]
    w.set_spec("StatefulSet", "web", lambda s: s["spec"].update(replicas=1))
    w.step()
    pvc1 = w.get("PersistentVolumeClaim", "www-web-1")
    assert pvc1 is not None
    pod1_uid = next((p["metadata"]["uid"] for p in w.list("Pod") if o.name(p) == "web-1"), None)
    if pod1_uid is not None:
        assert [r["kind"] for r in pvc1["metadata"]["ownerReferences"]] == ["Pod"]


def test_claim_owner_refs_table() -> None:
    s = sts()
    s["metadata"]["uid"] = "s1"
    pod = {"metadata": {"name": "web-5", "uid": "p5"}}  # ordinal 5 ≥ 3 replicas: condemned
    live = {"metadata": {"name": "web-0", "uid": "p0"}}
    claim: Obj = {"metadata": {"name": "www-web-5"}}
    for when_deleted, when_scaled, who, want in [
        ("Retain", "Retain", pod, []),
        ("Delete", "Retain", pod, ["s1"]),
        ("Retain", "Delete", pod, ["p5"]),
        ("Retain", "Delete", live, []),
        ("Delete", "Delete", pod, ["p5"]),
        ("Delete", "Delete", live, ["s1"]),
    ]:
        s["spec"]["persistentVolumeClaimRetentionPolicy"] = {"whenDeleted": when_deleted, "whenScaled": when_scaled}
        assert [r["uid"] for r in ss.claim_owner_refs(claim, s, who)] == want


def test_ordinal_parsing_and_names() -> None:
    assert ss.parent_and_ordinal({"metadata": {"name": "web-12"}}) == ("web", 12)
    assert ss.parent_and_ordinal({"metadata": {"name": "a-b-3"}}) == ("a-b", 3)
    assert ss.parent_and_ordinal({"metadata": {"name": "web"}}) == ("", -1)
    assert ss.claim_name({"metadata": {"name": "data"}}, {"metadata": {"name": "db"}}, 2) == "data-db-2"
    s = sts(ordinals={"start": 5}, replicas=2)
    assert (ss.start_ordinal(s), ss.end_ordinal(s)) == (5, 6)


def test_revision_hash_is_stable_and_names_follow_it() -> None:
    s = sts()
    r1 = history.new_revision(s, 1, 0)
    r2 = history.new_revision(s, 2, 0)
    assert o.name(r1) == o.name(r2)
    assert history.equal_revision(r1, r2)
    assert o.name(history.new_revision(s, 1, 1)) != o.name(r1)
    assert history.revision_template(r1) == s["spec"]["template"]


def test_parallel_scale_down_and_max_unavailable_rolling_update() -> None:
    w = World()
    w.create(sts(replicas=4, claims=False, podManagementPolicy="Parallel",
                 updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 0, "maxUnavailable": 2}}))
    w.settle()
    w.set_spec("StatefulSet", "web", lambda s: s["spec"]["template"]["spec"]["containers"][0].update(image="nginx:2"))
    before = len(w.writes)
    w.step()
    first = [a.target.name for a in w.writes[before:] if isinstance(a, Delete) and a.target.kind == "Pod"]
    assert first == ["web-3", "web-2"]  # two at a time, from the top
    w.settle()
    assert images(pods_of(w)) == ["nginx:2"] * 4
    w.set_spec("StatefulSet", "web", lambda s: s["spec"].update(replicas=1))
    before = len(w.writes)
    w.step()
    gone = sorted(a.target.name for a in w.writes[before:] if isinstance(a, Delete) and a.target.kind == "Pod")
    assert gone == ["web-1", "web-2", "web-3"]  # Parallel: all at once
