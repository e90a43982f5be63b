"""The Deployment controller against a simulated cluster, with upstream's numbers and strings."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ctrlsim import World, images, pods_of

from podbay.core.controllers import deployment_util as du
from podbay.core.controllers import hashing
from podbay.core.controllers import objects as o
from podbay.core.controllers.deployment import sync_deployment
from podbay.core.controllers.plan import Create, Emit, Update

Obj = dict[str, Any]


def deploy(name: str = "web", replicas: int = 3, image: str = "nginx:1.25", strategy: Obj | None = None,
           **spec: Any) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": strategy or {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "c", "image": image}]}},
            **spec,
        },
    }


def set_image(image: str) -> Any:
    def fn(d: Obj) -> None:
        d["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return fn


def conds(obj: Obj) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in obj["status"].get("conditions", [])}


def active(world: World) -> list[Obj]:
    return pods_of(world, lambda p: not p["metadata"].get("deletionTimestamp"))


# ---------------------------------------------------------------------------------------------- pure helpers


def test_safe_encode_string_maps_digits_as_upstream() -> None:
    assert hashing.safe_encode_string("0123456789") == "456789bcdf"


@pytest.mark.parametrize(("data", "a", "plain"), [
    (b"", 0x811C9DC5, 0x811C9DC5),
    (b"a", 0xE40C292C, 0x050C5D7E),
    (b"foobar", 0xBF9CF968, 0x31F0B262),
])
def test_fnv_vectors(data: bytes, a: int, plain: int) -> None:
    assert hashing.fnv32a(data) == a
    assert hashing.fnv32(data) == plain


def test_compute_hash_is_stable_and_collision_count_changes_it() -> None:
    t = deploy()["spec"]["template"]
    h = hashing.compute_hash(t, None)
    assert h == hashing.compute_hash(copy.deepcopy(t), None)
    assert set(h) <= set("456789bcdf") and 8 <= len(h) <= 10
    assert hashing.compute_hash(t, 1) != h
    assert hashing.compute_hash(t, 0) != h  # a zero count is still written (4+4 bytes)
    t2 = copy.deepcopy(t)
    t2["spec"]["containers"][0]["image"] = "nginx:1.26"
    assert hashing.compute_hash(t2, None) != h
    # nil and empty are the same template
    t3 = copy.deepcopy(t)
    t3["spec"]["volumes"] = []
    assert hashing.compute_hash(t3, None) == h


@pytest.mark.parametrize(("replicas", "surge", "unavail", "expected"), [
    (1, "25%", "25%", (1, 0)),
    (2, "25%", "25%", (1, 0)),
    (3, "25%", "25%", (1, 0)),
    (4, "25%", "25%", (1, 1)),
    (5, "25%", "25%", (2, 1)),
    (10, "25%", "25%", (3, 2)),
    (1, 0, "25%", (0, 1)),
    (2, 0, "25%", (0, 1)),
    (3, 0, "25%", (0, 1)),
    (4, 0, "25%", (0, 1)),
    (10, 0, "25%", (0, 2)),
    (5, 1, 0, (1, 0)),
    (10, "100%", "100%", (10, 10)),
    (7, "30%", "30%", (3, 2)),
])
def test_resolve_fenceposts(replicas: int, surge: Any, unavail: Any, expected: tuple[int, int]) -> None:
    assert du.resolve_fenceposts(surge, unavail, replicas) == expected


def test_max_unavailable_is_zero_for_recreate_and_capped_at_replicas() -> None:
    assert du.max_unavailable(deploy(strategy={"type": "Recreate"})) == 0
    assert du.max_surge(deploy(strategy={"type": "Recreate"})) == 0
    d = deploy(replicas=2, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 5}})
    assert du.max_unavailable(d) == 2
    assert du.max_unavailable(deploy(replicas=0)) == 0


def test_percent_without_sign_is_an_error() -> None:
    with pytest.raises(ValueError, match='invalid value for IntOrString: invalid value "25"'):
        o.scaled_value("25", 10, True)


@pytest.mark.parametrize(("replicas", "surge", "sizes", "new_size", "expected"), [
    (10, 3, [10], 0, 3),       # room for the surge
    (10, 3, [8], 5, 5),        # 8 + 5 = 13 = max total: no scale-up
    (10, 3, [8], 3, 5),        # 11 < 13: +2
    (10, 3, [0], 9, 10),       # capped at replicas
    (1, "25%", [1], 0, 1),     # 25% of 1 rounds up to 1
])
def test_new_rs_new_replicas(replicas: int, surge: Any, sizes: list[int], new_size: int, expected: int) -> None:
    d = deploy(replicas=replicas, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": 0}})
    old = [{"spec": {"replicas": n}} for n in sizes]
    new = {"spec": {"replicas": new_size}}
    assert du.new_rs_new_replicas(d, [*old, new], new) == expected
    assert du.new_rs_new_replicas(deploy(replicas=replicas, strategy={"type": "Recreate"}), old, new) == replicas


def test_revision_annotations_are_int64_and_rollback_keeps_history() -> None:
    d = deploy()
    d["metadata"]["annotations"] = {"kubernetes.io/change-cause": "v2", du.LAST_APPLIED: "{}", du.REVISION: "9"}
    rs: Obj = {"metadata": {"annotations": {du.REVISION: "2"}}, "spec": {}}
    assert du.set_new_replica_set_annotations(d, rs, "11", True)
    ann = rs["metadata"]["annotations"]
    assert ann == {du.REVISION: "11", du.REVISION_HISTORY: "2", "kubernetes.io/change-cause": "v2"}
    assert du.set_new_replica_set_annotations(d, rs, "12", True)
    assert ann[du.REVISION_HISTORY] == "2,11"
    # numeric, not string, comparison: "9" < "10"
    rs2: Obj = {"metadata": {"annotations": {du.REVISION: "9"}}}
    du.set_new_replica_set_annotations(deploy(), rs2, "10", True)
    assert rs2["metadata"]["annotations"][du.REVISION] == "10"
    assert du.max_revision([{"metadata": {"annotations": {du.REVISION: "3546343826724305832"}}}]) == 3546343826724305832
    assert du.last_revision([{"metadata": {"annotations": {du.REVISION: str(i)}}} for i in (3, 1, 2)]) == 2


def test_new_replica_set_gets_replica_annotations_only_on_create() -> None:
    rs: Obj = {"metadata": {}}
    du.set_new_replica_set_annotations(deploy(replicas=5), rs, "1", False)
    assert rs["metadata"]["annotations"] == {du.REVISION: "1", du.DESIRED_REPLICAS: "5", du.MAX_REPLICAS: "7"}


# ---------------------------------------------------------------------------------------------- create / status


def test_new_deployment_creates_named_replica_set_and_reports_upstream_status() -> None:
    w = World()
    w.create(deploy())
    res = sync_deployment(w.get("Deployment", "web"), [], [], w.now)  # type: ignore[arg-type]
    creates = [a for a in res.actions if isinstance(a, Create)]
    assert len(creates) == 1
    rs = creates[0].body
    h = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{h}"
    assert rs["spec"]["selector"] == {"matchLabels": {"app": "web", "pod-template-hash": h}}
    assert rs["spec"]["template"]["metadata"]["labels"] == {"app": "web", "pod-template-hash": h}
    assert rs["spec"]["replicas"] == 3
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert rs["metadata"]["ownerReferences"][0]["controller"] is True
    assert rs["metadata"]["annotations"] == {du.REVISION: "1", du.DESIRED_REPLICAS: "3", du.MAX_REPLICAS: "4"}
    status_writes = [a for a in res.actions if isinstance(a, Update) and a.subresource == "status"]
    assert status_writes[0].body["metadata"]["annotations"][du.REVISION] == "1"
    assert conds(status_writes[0].body)["Progressing"] == ("True", "NewReplicaSetCreated", f'Created new replica set "web-{h}"')

    w.settle()
    d = w.get("Deployment", "web")
    assert d is not None
    st = d["status"]
    assert {k: st[k] for k in ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas")} == {
        "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3}
    assert st.get("unavailableReplicas", 0) == 0
    assert conds(d) == {
        "Available": ("True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
        "Progressing": ("True", "NewReplicaSetAvailable", f'ReplicaSet "web-{h}" has successfully progressed.'),
    }
    assert ("web", "Normal", "ScalingReplicaSet", f"Scaled up replica set web-{h} from 0 to 3") in w.events
    assert len(active(w)) == 3
    assert all(p["metadata"]["name"].startswith(f"web-{h}-") for p in active(w))


def test_rolling_update_of_five_never_drops_below_four_available() -> None:
    w = World()
    w.create(deploy(replicas=5))
    w.settle()
    seen: list[int] = []

    def observe(world: World) -> None:
        ready = [p for p in active(world) if o.is_ready(p)]
        seen.append(len(ready))
        assert len(active(world)) <= 5 + 2  # maxSurge 25% of 5 → 2

    w.set_spec("Deployment", "web", set_image("nginx:1.26"))
    w.settle(observe=observe)
    assert min(seen) >= 4
    assert images(active(w)) == ["nginx:1.26"] * 5
    rss = w.list("ReplicaSet")
    assert sorted(rs["spec"]["replicas"] for rs in rss) == [0, 5]
    d = w.get("Deployment", "web")
    assert d is not None
    assert d["metadata"]["annotations"][du.REVISION] == "2"
    assert d["status"]["updatedReplicas"] == 5
    old = next(rs for rs in rss if rs["spec"]["replicas"] == 0)
    new = next(rs for rs in rss if rs["spec"]["replicas"] == 5)
    assert old["metadata"]["annotations"][du.REVISION] == "1"
    assert new["metadata"]["annotations"][du.REVISION] == "2"
    scaled = [e[3] for e in w.events if e[2] == "ScalingReplicaSet"]
    assert f"Scaled up replica set {o.name(new)} from 0 to 2" in scaled
    assert scaled[-1].startswith(f"Scaled down replica set {o.name(old)} from ") and scaled[-1].endswith(" to 0")


def test_rollback_reuses_the_old_replica_set() -> None:
    w = World()
    w.create(deploy(replicas=2))
    w.settle()
    first = w.list("ReplicaSet")[0]
    w.set_spec("Deployment", "web", set_image("nginx:1.26"))
    w.settle()
    w.set_spec("Deployment", "web", set_image("nginx:1.25"))  # what `rollout undo` sends
    w.settle()
    rss = {o.name(rs): rs for rs in w.list("ReplicaSet")}
    assert len(rss) == 2
    back = rss[o.name(first)]
    assert back["spec"]["replicas"] == 2
    assert back["metadata"]["annotations"][du.REVISION] == "3"
    assert back["metadata"]["annotations"][du.REVISION_HISTORY] == "1"
    d = w.get("Deployment", "web")
    assert d is not None and d["metadata"]["annotations"][du.REVISION] == "3"


def test_revision_history_limit_deletes_oldest_scaled_down_sets() -> None:
    w = World()
    w.create(deploy(replicas=1, revisionHistoryLimit=1))
    w.settle()
    for tag in ("1.26", "1.27", "1.28"):
        w.set_spec("Deployment", "web", set_image(f"nginx:{tag}"))
        w.settle()
    revs = sorted(int(rs["metadata"]["annotations"][du.REVISION]) for rs in w.list("ReplicaSet"))
    assert revs == [3, 4]


def test_revision_history_limit_zero_keeps_no_old_set() -> None:
    w = World()
    w.create(deploy(replicas=1, revisionHistoryLimit=0))
    w.settle()
    w.set_spec("Deployment", "web", set_image("nginx:1.26"))
    w.settle()
    assert [rs["metadata"]["annotations"][du.REVISION] for rs in w.list("ReplicaSet")] == ["2"]


# ---------------------------------------------------------------------------------------------- Recreate


def test_recreate_never_runs_old_and_new_pods_together() -> None:
    w = World()
    w.create(deploy(name="mysql", replicas=1, image="mariadb:10", strategy={"type": "Recreate"}))
    w.settle()

    def observe(world: World) -> None:
        imgs = {p["spec"]["containers"][0]["image"] for p in pods_of(world)}  # terminating ones too
        assert imgs != {"mariadb:10", "mariadb:11"}
        d = world.get("Deployment", "mysql")
        assert d is not None
        st = d["status"]
        assert not (st.get("updatedReplicas", 0) > 0 and st.get("replicas", 0) != st.get("updatedReplicas", 0))

    w.set_spec("Deployment", "mysql", set_image("mariadb:11"))
    w.settle(observe=observe)
    assert images(active(w)) == ["mariadb:11"]
    d = w.get("Deployment", "mysql")
    assert d is not None
    assert conds(d)["Available"][0] == "True"


def test_recreate_waits_for_terminating_pods() -> None:
    d = deploy(name="db", replicas=1, strategy={"type": "Recreate"})
    d["metadata"].update(uid="d1", generation=2)
    old_tmpl = copy.deepcopy(d["spec"]["template"])
    old_tmpl["spec"]["containers"][0]["image"] = "old"
    old_rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": "db-old", "namespace": "default", "uid": "rs1", "labels": {"app": "db"},
                           "ownerReferences": [{"uid": "d1", "controller": True, "kind": "Deployment", "name": "db"}],
                           "annotations": {du.REVISION: "1"}},
              "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "db"}}, "template": old_tmpl},
              "status": {"replicas": 0}}
    pod = {"metadata": {"name": "db-old-x", "namespace": "default", "labels": {"app": "db"},
                        "deletionTimestamp": "2024-01-01T00:00:00Z",
                        "ownerReferences": [{"uid": "rs1", "controller": True}]},
           "status": {"phase": "Running"}}
    res = sync_deployment(d, [old_rs], [pod], 1_700_000_000.0)
    assert not [a for a in res.actions if isinstance(a, Create)]
    pod["status"]["phase"] = "Succeeded"
    res = sync_deployment(d, [old_rs], [pod], 1_700_000_000.0)
    assert [a.body["kind"] for a in res.actions if isinstance(a, Create)] == ["ReplicaSet"]
    assert [a.body["spec"]["replicas"] for a in res.actions if isinstance(a, Create)] == [1]


# ---------------------------------------------------------------------------------------------- pause, deadline, scaling


def test_pause_and_resume_conditions() -> None:
    w = World()
    w.create(deploy(replicas=1))
    w.settle()
    w.set_spec("Deployment", "web", lambda d: d["spec"].update(paused=True))
    w.settle()
    w.set_spec("Deployment", "web", set_image("nginx:1.26"))
    w.settle()
    d = w.get("Deployment", "web")
    assert d is not None
    assert conds(d)["Progressing"] == ("Unknown", "DeploymentPaused", "Deployment is paused")
    assert len(w.list("ReplicaSet")) == 1
    assert d["status"]["observedGeneration"] == d["metadata"]["generation"]
    w.set_spec("Deployment", "web", lambda d: d["spec"].update(paused=False))
    w.step()
    d = w.get("Deployment", "web")
    assert d is not None
    assert conds(d)["Progressing"][1] in ("DeploymentResumed", "NewReplicaSetCreated", "ReplicaSetUpdated")
    w.settle()
    assert images(active(w)) == ["nginx:1.26"]


def test_progress_deadline_exceeded() -> None:
    w = World()
    w.create(deploy(replicas=1, progressDeadlineSeconds=10))
    w.settle()
    w.set_spec("Deployment", "web", set_image("broken"))
    never_ready = lambda p: p["spec"]["containers"][0]["image"] != "broken"  # noqa: E731
    for _ in range(5):
        w.step(never_ready)
    res = sync_deployment(w.get("Deployment", "web"), w.list("ReplicaSet"), w.list("Pod"), w.now)  # type: ignore[arg-type]
    assert res.requeue_after is not None and 0 < res.requeue_after <= 11
    for _ in range(15):
        w.step(never_ready)
    d = w.get("Deployment", "web")
    assert d is not None
    new = du.find_new_replica_set(d, w.list("ReplicaSet"))
    assert conds(d)["Progressing"] == ("False", "ProgressDeadlineExceeded", f'ReplicaSet "{o.name(new)}" has timed out progressing.')
    assert conds(d)["Available"][0] == "True"  # the old pod still serves


def test_proportional_scaling_matches_the_conformance_numbers() -> None:
    w = World()
    w.create(deploy(replicas=10, image="webserver:1", strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": 2}}))
    w.settle()
    never = lambda p: p["spec"]["containers"][0]["image"] != "webserver:404"  # noqa: E731
    w.set_spec("Deployment", "web", set_image("webserver:404"))
    w.settle(never)
    by_img = {rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs["spec"]["replicas"] for rs in w.list("ReplicaSet")}
    assert by_img == {"webserver:1": 8, "webserver:404": 5}
    w.set_spec("Deployment", "web", lambda d: d["spec"].update(replicas=30))
    w.settle(never)
    by_img = {rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs["spec"]["replicas"] for rs in w.list("ReplicaSet")}
    assert by_img == {"webserver:1": 20, "webserver:404": 13}


def test_scale_only_scales_the_single_active_set() -> None:
    w = World()
    w.create(deploy(replicas=2))
    w.settle()
    w.set_spec("Deployment", "web", lambda d: d["spec"].update(replicas=4))
    w.settle()
    (rs,) = w.list("ReplicaSet")
    assert rs["spec"]["replicas"] == 4
    assert rs["metadata"]["annotations"][du.DESIRED_REPLICAS] == "4"
    assert rs["metadata"]["annotations"][du.MAX_REPLICAS] == "5"
    assert len(active(w)) == 4


def test_empty_selector_selects_all_is_refused() -> None:
    d = deploy()
    d["spec"]["selector"] = {}
    d["metadata"]["generation"] = 3
    res = sync_deployment(d, [], [], 0.0)
    assert [(a.reason, a.message) for a in res.actions if isinstance(a, Emit)] == [
        ("SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")]
    (upd,) = [a for a in res.actions if isinstance(a, Update)]
    assert upd.body["status"]["observedGeneration"] == 3


def test_adopts_existing_replica_set_and_continues_its_revision() -> None:
    """Conformance RollingUpdateDeployment: a pre-existing RS at revision 3546343826724305832."""
    w = World()
    tmpl = deploy()["spec"]["template"]
    w.create({"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": "test-rolling-update-controller", "namespace": "default", "labels": {"app": "web"},
                           "annotations": {du.REVISION: "3546343826724305832"}},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                       "template": {**tmpl, "spec": {"containers": [{"name": "c", "image": "httpd"}]}}}})
    w.settle()
    w.create(deploy(replicas=1, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}))
    w.settle()
    rss = {o.name(rs): rs for rs in w.list("ReplicaSet")}
    old = rss["test-rolling-update-controller"]
    assert old["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert old["spec"]["replicas"] == 0
    new = next(rs for n, rs in rss.items() if n != "test-rolling-update-controller")
    assert new["metadata"]["annotations"][du.REVISION] == "3546343826724305833"


def test_hash_collision_bumps_collision_count() -> None:
    d = deploy()
    d["metadata"]["uid"] = "d1"
    h = hashing.compute_hash(d["spec"]["template"], None)
    squatter = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": f"web-{h}", "namespace": "default", "uid": "other", "labels": {"x": "y"}},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"x": "y"}},
                         "template": {"metadata": {"labels": {"x": "y"}}, "spec": {"containers": [{"name": "c", "image": "other"}]}}}}
    res = sync_deployment(d, [squatter], [], 0.0)
    (upd,) = [a for a in res.actions if isinstance(a, Update)]
    assert upd.body["status"]["collisionCount"] == 1
    assert not [a for a in res.actions if isinstance(a, Create)]
    d["status"] = {"collisionCount": 1}
    res = sync_deployment(d, [squatter], [], 0.0)
    (create,) = [a for a in res.actions if isinstance(a, Create)]
    assert create.body["metadata"]["name"] == f"web-{hashing.compute_hash(d['spec']['template'], 1)}"


def test_overlapping_selectors_count_only_owned_sets() -> None:
    w = World()
    a = deploy(name="leader", replicas=1)
    b = deploy(name="follower", replicas=2)
    for d in (a, b):
        d["spec"]["selector"] = {"matchLabels": {"app": "redis"}}
        d["spec"]["template"]["metadata"]["labels"] = {"app": "redis", "role": o.name(d)}
        w.create(d)
    w.settle()
    leader = w.get("Deployment", "leader")
    follower = w.get("Deployment", "follower")
    assert leader is not None and follower is not None
    assert leader["status"]["replicas"] == 1
    assert follower["status"]["replicas"] == 2
    assert len(active(w)) == 3
