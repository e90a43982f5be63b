"""Garbage-collector decisions over a dependency graph."""

from __future__ import annotations

from typing import Any

from podbay.core.controllers import gc
from podbay.core.controllers.plan import Delete, Patch, Update

Obj = dict[str, Any]

KINDS = {("apps", "Deployment"): True, ("apps", "ReplicaSet"): True, ("", "Pod"): True, ("", "Node"): False,
         ("", "ConfigMap"): True}


def namespaced(group: str, kind: str) -> bool | None:
    return KINDS.get((group, kind))


def obj(kind: str, name: str, uid: str, owners: list[tuple[str, str, str]] = (), *, api: str | None = None,  # type: ignore[assignment]
        deleting: bool = False, finalizers: list[str] | None = None, block: bool = True, ns: str = "default") -> Obj:
    api = api or {"Deployment": "apps/v1", "ReplicaSet": "apps/v1"}.get(kind, "v1")
    md: Obj = {"name": name, "namespace": ns, "uid": uid, "resourceVersion": "5"}
    if owners:
        md["ownerReferences"] = [{"apiVersion": {"Deployment": "apps/v1", "ReplicaSet": "apps/v1"}.get(k, "v1"), "kind": k,
                                  "name": n, "uid": u, "controller": True, "blockOwnerDeletion": block}
                                 for k, n, u in owners]
    if deleting:
        md["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    if finalizers:
        md["finalizers"] = finalizers
    return {"apiVersion": api, "kind": kind, "metadata": md}


def plan(*objs: Obj) -> list[list[Any]]:
    return gc.plan(gc.Graph(objs, namespaced))


def test_background_deletes_dependents_of_a_vanished_owner() -> None:
    rs = obj("ReplicaSet", "web-1", "rs1", [("Deployment", "web", "d1")])
    pod = obj("Pod", "web-1-a", "p1", [("ReplicaSet", "web-1", "rs1")])
    (item,) = plan(rs, pod)
    (d,) = item
    assert isinstance(d, Delete)
    assert (d.target.kind, d.target.name, d.propagation, d.precondition_uid, d.precondition_resource_version) == (
        "ReplicaSet", "web-1", "Background", "rs1", "5")
    (item,) = plan(pod)  # the RS is gone: its pod goes next
    assert isinstance(item[0], Delete) and item[0].target.name == "web-1-a"


def test_a_recreated_owner_with_another_uid_does_not_keep_dependents() -> None:
    owner = obj("Deployment", "web", "d2")
    rs = obj("ReplicaSet", "web-1", "rs1", [("Deployment", "web", "d1")])
    (item,) = plan(owner, rs)
    assert isinstance(item[0], Delete)


def test_foreground_deletion_walks_down_and_back_up() -> None:
    d = obj("Deployment", "web", "d1", deleting=True, finalizers=["foregroundDeletion"])
    rs = obj("ReplicaSet", "web-1", "rs1", [("Deployment", "web", "d1")])
    pod = obj("Pod", "web-1-a", "p1", [("ReplicaSet", "web-1", "rs1")])
    items = plan(d, rs, pod)
    deletes = [a for item in items for a in item if isinstance(a, Delete)]
    assert [(x.target.name, x.propagation) for x in deletes] == [("web-1", "Foreground")]
    rs_deleting = obj("ReplicaSet", "web-1", "rs1", [("Deployment", "web", "d1")], deleting=True,
                      finalizers=["foregroundDeletion"])
    items = plan(d, rs_deleting, pod)
    deletes = [a for item in items for a in item if isinstance(a, Delete)]
    assert [(x.target.name, x.propagation) for x in deletes] == [("web-1-a", "Background")]
    items = plan(d, rs_deleting)  # the pod is gone: the RS may go, and the Deployment waits for it
    updates = [a for item in items for a in item if isinstance(a, Update)]
    assert [(u.body["metadata"]["name"], u.body["metadata"].get("finalizers")) for u in updates] == [("web-1", None)]
    (item,) = plan(d)
    assert isinstance(item[0], Update) and "finalizers" not in item[0].body["metadata"]


def test_non_blocking_dependents_do_not_hold_a_foreground_owner() -> None:
    d = obj("Deployment", "web", "d1", deleting=True, finalizers=["foregroundDeletion"])
    cm = obj("ConfigMap", "c", "c1", [("Deployment", "web", "d1")], block=False)
    items = plan(d, cm)
    assert any(isinstance(a, Update) and a.body["metadata"]["name"] == "web" for i in items for a in i)


def test_orphan_removes_the_owner_from_dependents_then_the_finalizer() -> None:
    rs = obj("ReplicaSet", "web-1", "rs1", deleting=True, finalizers=["orphan"])
    pods = [obj("Pod", f"p{i}", f"p{i}", [("ReplicaSet", "web-1", "rs1")]) for i in range(2)]
    (item,) = plan(rs, *pods)
    assert [type(a) for a in item] == [Patch, Patch, Update]
    assert item[0].patch == {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": "rs1"}], "uid": "p0"}}
    assert "finalizers" not in item[2].body["metadata"]


def test_solid_owner_keeps_the_object_and_dangling_refs_are_removed() -> None:
    cm_owner = obj("ConfigMap", "keeper", "k1")
    both = obj("Pod", "p", "p1", [("ConfigMap", "keeper", "k1"), ("ReplicaSet", "gone", "g1")])
    (item,) = plan(cm_owner, both)
    (p,) = item
    assert isinstance(p, Patch)
    assert p.patch["metadata"]["ownerReferences"] == [{"$patch": "delete", "uid": "g1"}]


def test_valid_owner_and_owner_waiting_for_dependents() -> None:
    """Conformance: not delete dependents that have both a valid owner and one waiting for deletion."""
    valid = obj("ConfigMap", "valid", "v1")
    waiting = obj("ReplicaSet", "w", "w1", deleting=True, finalizers=["foregroundDeletion"])
    pod = obj("Pod", "p", "p1", [("ConfigMap", "valid", "v1"), ("ReplicaSet", "w", "w1")])
    items = plan(valid, waiting, pod)
    patches = [a for i in items for a in i if isinstance(a, Patch)]
    assert [p.patch["metadata"]["ownerReferences"] for p in patches] == [[{"$patch": "delete", "uid": "w1"}]]
    assert not [a for i in items for a in i if isinstance(a, Delete)]


def test_dependency_circle_is_collected() -> None:
    """Conformance: not be blocked by dependency circle (a owns b owns c owns a, a foreground-deleted)."""
    a = obj("ConfigMap", "a", "a", [("ConfigMap", "c", "c")], deleting=True, finalizers=["foregroundDeletion"])
    b = obj("ConfigMap", "b", "b", [("ConfigMap", "a", "a")])
    c = obj("ConfigMap", "c", "c", [("ConfigMap", "b", "b")])
    items = plan(a, b, c)
    acts = [x for i in items for x in i]
    assert any(isinstance(x, Delete) and x.target.name == "b" and x.propagation == "Foreground" for x in acts)


def test_unknown_owner_kinds_are_not_dangling_and_cluster_scoped_owners_work() -> None:
    weird = obj("Pod", "p", "p1", [("Widget", "w", "w1")])
    assert plan(weird) == []
    node = obj("Node", "n1", "n1", ns="")
    lease = obj("Pod", "lease", "l1", [("Node", "n1", "n1")])
    assert plan(node, lease) == []


def test_default_propagation_and_deletion_finalizers() -> None:
    assert gc.default_propagation("batch/v1", "Job") == "Orphan"
    assert gc.default_propagation("apps/v1", "Deployment") == "Background"
    assert gc.deletion_finalizers(None, "batch/v1", "Job", []) == (["orphan"], True)
    assert gc.deletion_finalizers("Foreground", "apps/v1", "Deployment", ["orphan"]) == (["foregroundDeletion"], True)
    assert gc.deletion_finalizers("Background", "apps/v1", "Deployment", ["x"]) == (["x"], True)
    assert gc.deletion_finalizers(None, "v1", "Pod", []) == ([], False)
