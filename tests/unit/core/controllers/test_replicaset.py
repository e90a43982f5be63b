"""ReplicaSet/ReplicationController: claims, deletion ranking, expectations, status."""

from __future__ import annotations

from typing import Any

import pytest

from podbay.api import labelselector
from podbay.core.controllers import objects as o
from podbay.core.controllers import ranking, replicaset
from podbay.core.controllers.expectations import (
    EXPECTATIONS_TIMEOUT,
    ControllerExpectations,
    UIDTrackingExpectations,
)
from podbay.core.controllers.plan import Create, Delete, Patch
from podbay.core.controllers.podtemplate import pod_from_template, pods_prefix, slow_start_batches

Obj = dict[str, Any]
NOW = 1_700_000_000.0


def rs(replicas: int = 2, uid: str = "rs1", kind: str = "ReplicaSet", **spec: Any) -> Obj:
    sel: Any = {"matchLabels": {"app": "web"}} if kind == "ReplicaSet" else {"app": "web"}
    return {"apiVersion": "apps/v1" if kind == "ReplicaSet" else "v1", "kind": kind,
            "metadata": {"name": "web", "namespace": "default", "uid": uid, "generation": 1},
            "spec": {"replicas": replicas, "selector": sel,
                     "template": {"metadata": {"labels": {"app": "web", "tier": "fe"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}, **spec}}


def pod(name: str, owner: str | None = "rs1", phase: str = "Running", ready: bool = True, node: str = "n1",
        ready_at: float = NOW - 100, created: float = NOW - 200, labels: dict[str, str] | None = None,
        restarts: int = 0, cost: int | None = None, deleting: bool = False) -> Obj:
    md: Obj = {"name": name, "namespace": "default", "uid": f"u-{name}",
               "labels": {"app": "web", "tier": "fe"} if labels is None else labels,
               "creationTimestamp": o.rfc3339(created)}
    if owner:
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": owner,
                                  "controller": True}]
    if cost is not None:
        md["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": str(cost)}
    if deleting:
        md["deletionTimestamp"] = o.rfc3339(NOW)
    return {"metadata": md, "spec": {"nodeName": node} if node else {},
            "status": {"phase": phase,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "lastTransitionTime": o.rfc3339(ready_at)}],
                       "containerStatuses": [{"name": "c", "restartCount": restarts}]}}


def test_claim_adopts_orphans_releases_mismatches_ignores_others() -> None:
    pods = [
        pod("mine"),
        pod("orphan", owner=None),
        pod("foreign", owner="other"),
        pod("relabelled", labels={"app": "db"}),
        pod("orphan-deleting", owner=None, deleting=True),
        pod("done", phase="Succeeded"),
    ]
    claimed, patches = replicaset.claim_pods(rs(), pods)
    assert sorted(o.name(p) for p in claimed) == ["mine", "orphan"]
    by_name = {p.target.name: p.patch for p in patches if isinstance(p, Patch)}
    assert by_name["orphan"] == {"metadata": {"ownerReferences": [{
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs1",
        "controller": True, "blockOwnerDeletion": True}], "uid": "u-orphan"}}
    assert by_name["relabelled"] == {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": "rs1"}],
                                                  "uid": "u-relabelled"}}
    assert set(by_name) == {"orphan", "relabelled"}


def test_deleting_owner_neither_adopts_nor_releases() -> None:
    owner = rs()
    owner["metadata"]["deletionTimestamp"] = o.rfc3339(NOW)
    claimed, patches = replicaset.claim_pods(owner, [pod("mine"), pod("orphan", owner=None), pod("x", labels={})])
    assert [o.name(p) for p in claimed] == ["mine"]
    assert patches == []


def test_replication_controller_map_selector() -> None:
    rc = rs(kind="ReplicationController")
    claimed, _ = replicaset.claim_pods(rc, [pod("a"), pod("b", labels={"app": "x"})])
    assert [o.name(p) for p in claimed] == ["a"]


def test_manage_replicas_creates_the_difference_from_the_template() -> None:
    plan = replicaset.manage_replicas(rs(replicas=3), [pod("a")], [], NOW)
    assert plan.expect_creations == 2
    creates = [a for a in plan.actions if isinstance(a, Create)]
    assert len(creates) == 2
    body = creates[0].body
    assert body["metadata"]["generateName"] == "web-"
    assert body["metadata"]["labels"] == {"app": "web", "tier": "fe"}
    assert body["metadata"]["ownerReferences"][0]["uid"] == "rs1"
    assert creates[0].outcome is not None and creates[0].outcome.success == ("SuccessfulCreate", "Created pod: {name}")
    assert creates[0].outcome.failure == ("FailedCreate", "Error creating: {error}")
    assert creates[0].batch == creates[1].batch != ""


def test_manage_replicas_burst_is_capped_at_500() -> None:
    plan = replicaset.manage_replicas(rs(replicas=2000), [], [], NOW)
    assert plan.expect_creations == 500


def test_slow_start_batches() -> None:
    assert slow_start_batches(0) == []
    assert slow_start_batches(1) == [1]
    assert slow_start_batches(10) == [1, 2, 4, 3]
    assert slow_start_batches(15) == [1, 2, 4, 8]


def test_pods_prefix() -> None:
    assert pods_prefix("web") == "web-"
    assert pods_prefix("x" * 253) == "x" * 253  # "<name>-" would be too long
    tmpl = {"metadata": {"labels": {"a": "b"}, "annotations": {"k": "v"}, "finalizers": ["f"]}, "spec": {"x": 1}}
    p = pod_from_template(tmpl, {"metadata": {"name": "job"}}, "ns")
    assert p["metadata"] == {"generateName": "job-", "namespace": "ns", "labels": {"a": "b"},
                             "annotations": {"k": "v"}, "finalizers": ["f"]}


@pytest.mark.parametrize(("first", "second"), [
    (pod("unassigned", node=""), pod("assigned")),
    (pod("pending", phase="Pending"), pod("running")),
    (pod("unknown", phase="Unknown"), pod("running")),
    (pod("notready", ready=False), pod("ready")),
    (pod("cheap", cost=-10), pod("dear", cost=10)),
    (pod("recently-ready", ready_at=NOW - 10), pod("long-ready", ready_at=NOW - 10_000)),
    (pod("restarty", restarts=5), pod("steady")),
    (pod("young", created=NOW - 10), pod("old", created=NOW - 10_000)),
])
def test_deletion_ranking(first: Obj, second: Obj) -> None:
    assert ranking.less(first, 0, second, 0, NOW)
    assert not ranking.less(second, 0, first, 0, NOW)
    assert [o.name(p) for p in ranking.pods_to_delete([second, first], [], 1, NOW)] == [o.name(first)]


def test_ready_times_in_the_same_log_bucket_tie_break_by_uid() -> None:
    a = pod("a", ready_at=NOW - 1000)
    b = pod("b", ready_at=NOW - 1001)  # log2 of the ages in ns: the same bucket
    assert ranking.less(a, 0, b, 0, NOW) == (o.uid(a) < o.uid(b))


def test_doubled_up_pods_go_first() -> None:
    a, b = pod("a", node="n1"), pod("b", node="n2")
    related = [pod("x", node="n1"), pod("y", node="n1")]
    assert [o.name(p) for p in ranking.pods_to_delete([b, a], related, 1, NOW)] == ["a"]


def test_manage_replicas_deletes_by_rank() -> None:
    pods = [pod("ready-old", created=NOW - 5000), pod("notready", ready=False), pod("pending", phase="Pending")]
    plan = replicaset.manage_replicas(rs(replicas=1), pods, pods, NOW)
    deletes = [a for a in plan.actions if isinstance(a, Delete)]
    assert [d.target.name for d in deletes] == ["pending", "notready"]
    assert plan.expect_deletions == ("default/pending", "default/notready")


def test_calculate_status_counts_and_failure_condition() -> None:
    r = rs(replicas=3, minReadySeconds=30)
    pods = [pod("a"), pod("b", ready_at=NOW - 5), pod("c", ready=False), pod("d", labels={"app": "web"})]
    st = replicaset.calculate_status(r, pods, [pod("t", deleting=True)], None, NOW)
    assert st == {"replicas": 4, "fullyLabeledReplicas": 3, "readyReplicas": 3, "availableReplicas": 2,
                  "terminatingReplicas": 1}
    failed = replicaset.calculate_status(rs(replicas=5), pods, [], 'pods "x" is forbidden: quota', NOW)
    assert failed["conditions"] == [{"type": "ReplicaFailure", "status": "True", "lastTransitionTime": o.rfc3339(NOW),
                                     "reason": "FailedCreate", "message": 'pods "x" is forbidden: quota'}]
    r2 = rs(replicas=5)
    r2["status"] = failed
    assert "conditions" not in replicaset.calculate_status(r2, pods, [], None, NOW)
    rc = replicaset.calculate_status(rs(kind="ReplicationController"), pods, None, None, NOW)
    assert "terminatingReplicas" not in rc


def test_status_update_steady_state_and_observed_generation() -> None:
    r = rs(replicas=1)
    st = replicaset.calculate_status(r, [pod("a")], [], None, NOW)
    upd = replicaset.status_update(r, st)
    assert upd is not None and upd.subresource == "status" and upd.body["status"]["observedGeneration"] == 1
    r["status"] = upd.body["status"]
    assert replicaset.status_update(r, replicaset.calculate_status(r, [pod("a")], [], None, NOW)) is None


def test_min_ready_requeue() -> None:
    r = rs(replicas=1, minReadySeconds=10)
    st = replicaset.calculate_status(r, [pod("a", ready_at=NOW - 1)], [], None, NOW)
    assert replicaset.min_ready_requeue(r, st, None) == 10.0
    assert replicaset.min_ready_requeue(rs(replicas=1), st, None) is None


def test_expectations_block_a_second_burst_until_observed_or_expired() -> None:
    exp = ControllerExpectations()
    assert exp.satisfied("ns/rs", NOW)
    exp.expect_creations("ns/rs", 2, NOW)
    assert not exp.satisfied("ns/rs", NOW + 1)
    exp.creation_observed("ns/rs")
    assert not exp.satisfied("ns/rs", NOW + 1)
    exp.creation_observed("ns/rs")
    assert exp.satisfied("ns/rs", NOW + 1)
    exp.expect_creations("ns/rs", 1, NOW)
    assert exp.satisfied("ns/rs", NOW + EXPECTATIONS_TIMEOUT + 1)


def test_uid_tracking_counts_each_deletion_once() -> None:
    exp = UIDTrackingExpectations()
    exp.expect_deletions_of("ns/rs", ["ns/a", "ns/b"], NOW)
    exp.deletion_observed_of("ns/rs", "ns/a")
    exp.deletion_observed_of("ns/rs", "ns/a")
    assert not exp.satisfied("ns/rs", NOW)
    exp.deletion_observed_of("ns/rs", "ns/b")
    assert exp.satisfied("ns/rs", NOW)


@pytest.mark.parametrize(("sel", "labels", "want"), [
    (None, {"a": "b"}, False),
    ({}, {"a": "b"}, True),
    ({"matchLabels": {"a": "b"}}, {"a": "b", "c": "d"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x"]}]}, {}, True),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["x", "b"]}]}, {"a": "b"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {}, False),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {}, True),
    ({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}, {"a": "b"}, False),
])
def test_label_selector_matches(sel: Any, labels: dict[str, str], want: bool) -> None:
    assert labelselector.matches(sel, labels) is want


def test_selector_string_sorted_by_key() -> None:
    sel = {"matchLabels": {"tier": "frontend", "app": "guestbook"},
           "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]},
                                {"key": "zz", "operator": "DoesNotExist"}, {"key": "b", "operator": "Exists"}]}
    assert labelselector.selector_string(sel) == "app=guestbook,b,env in (dev,prod),tier=frontend,!zz"


def test_validate_label_selector_messages() -> None:
    errs = labelselector.validate_label_selector(
        {"matchExpressions": [{"key": "a", "operator": "In"}, {"key": "b", "operator": "Exists", "values": ["x"]},
                              {"key": "c", "operator": "Near"}]}, "spec.selector")
    assert [str(e) for e in errs] == [
        "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
        "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        'spec.selector.matchExpressions[2].operator: Invalid value: "Near": not a valid selector operator',
    ]
