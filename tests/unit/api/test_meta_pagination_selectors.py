"""Server-owned metadata, continue tokens, per-kind field selectors, the events.k8s.io view, the Node."""

from __future__ import annotations

from typing import Any

import pytest

from podbay.api import meta, pagination
from podbay.api.events import from_events_v1, to_events_v1
from podbay.api.node import NodeFacts, capacity, lease_object, node_object, node_status
from podbay.api.selectors import (
    POD_LABELS,
    allowed_labels,
    field_test,
    parse_field_selector,
    selectable_fields,
)
from podbay.errors import BadRequest

# --- meta ---------------------------------------------------------------------------------------------


def test_prepare_create_sets_server_fields_and_clears_deletion_state() -> None:
    obj: dict[str, Any] = {"metadata": {"name": "x", "deletionTimestamp": "t", "resourceVersion": "4",
                                        "generation": 9}}
    meta.prepare_create(obj, uid="u1", now=0.0, generation=True)
    assert obj["metadata"] == {"name": "x", "uid": "u1", "creationTimestamp": "1970-01-01T00:00:00Z",
                               "generation": 1}
    meta.prepare_create(obj, uid="u2", now=0.0, generation=False)
    assert "generation" not in obj["metadata"]


def test_prepare_update_keeps_the_stored_server_fields() -> None:
    old = {"metadata": {"name": "x", "uid": "u1", "creationTimestamp": "2026-01-01T00:00:00Z", "generation": 3},
           "spec": {"a": 1}}
    new: dict[str, Any] = {"metadata": {"name": "x", "creationTimestamp": "1999-01-01T00:00:00Z"}, "spec": {"a": 1}}
    meta.prepare_update(new, old)
    meta.set_generation(new, old, generation=True)
    assert new["metadata"] == {"name": "x", "uid": "u1", "creationTimestamp": "2026-01-01T00:00:00Z",
                               "generation": 3}
    new["spec"] = {"a": 2}
    meta.set_generation(new, old, generation=True)
    assert new["metadata"]["generation"] == 4


def test_deletion_marks_once_and_only_shortens() -> None:
    obj: dict[str, Any] = {"metadata": {"name": "x", "generation": 1}}
    meta.mark_deleted(obj, now=100.0, grace=30)
    assert obj["metadata"]["deletionTimestamp"] == meta.rfc3339(130.0)
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 30 and obj["metadata"]["generation"] == 2
    meta.mark_deleted(obj, now=110.0, grace=60)
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 30
    meta.mark_deleted(obj, now=110.0, grace=0)
    assert obj["metadata"]["deletionGracePeriodSeconds"] == 0 and obj["metadata"]["generation"] == 2
    assert meta.should_delete_during_update(obj)
    obj["metadata"]["finalizers"] = ["x"]
    assert not meta.should_delete_during_update(obj)


def test_times_compare_as_times() -> None:
    """The Python client re-serialises ``Z`` as ``+00:00`` (API.md §2): still the same time."""
    assert meta.same_time("2026-12-01T17:10:02Z", "2026-12-01T17:10:02+00:00")
    assert not meta.same_time("2026-12-01T17:10:02Z", "2026-12-01T17:10:03Z")
    assert meta.micro_time(1.5) == "1970-01-01T00:00:01.500000Z"
    assert meta.parse_time("garbage") is None


# --- continue tokens ----------------------------------------------------------------------------------


def test_continue_tokens_round_trip_and_reject_garbage() -> None:
    token = pagination.Token(12, "abcd", 500)
    assert pagination.decode(pagination.encode(token)) == token
    for bad in ("", "!!!", "eyJ2IjoieCJ9", pagination.encode(pagination.Token(1, "x", 0))[:-3]):
        with pytest.raises(BadRequest, match="continue key is not valid"):
            pagination.decode(bad)


def test_pages_serve_one_snapshot_and_expire() -> None:
    from podbay.errors import Expired
    from podbay.server.pages import Pages
    from podbay.store.repository import Stored

    items = [Stored("ConfigMap", "default", f"c{i}", f"u{i}", i, b"{}", {}) for i in range(5)]
    pages = Pages(ttl=60)
    first, rv, cont, left = pages.page(items, 9, 2)
    assert [s.name for s in first] == ["c0", "c1"] and rv == 9 and cont and left == 3
    second, rv2, cont2, _ = pages.page([], 99, 2, cont)   # later state is ignored: same snapshot
    assert [s.name for s in second] == ["c2", "c3"] and rv2 == 9
    last, _, cont3, left3 = pages.page([], 99, 2, cont2)
    assert [s.name for s in last] == ["c4"] and cont3 == "" and left3 == 0
    all_items, _, none, _ = pages.page(items, 9, 0)
    assert len(all_items) == 5 and none == ""
    expired = Pages(ttl=0)
    _, _, tok, _ = expired.page(items, 9, 2)
    with pytest.raises(Expired, match="too old to display a consistent list result"):
        expired.page([], 9, 2, tok)


# --- selectors ------------------------------------------------------------------------------------------


def pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "default"}, "spec": spec,
            "status": {"phase": "Running", "podIP": "10.0.0.2"}}


@pytest.mark.parametrize(("sel", "want"), [
    ("spec.nodeName=n1", True), ("spec.nodeName!=n1", False), ("status.phase==Running", True),
    ("spec.restartPolicy=Never", False), ("spec.hostNetwork=false", True), ("status.podIP=10.0.0.2", True),
    ("metadata.name=web,metadata.namespace=default", True), ("metadata.name=other", False), ("", True),
])
def test_pod_field_selectors(sel: str, want: bool) -> None:
    test = field_test(parse_field_selector(sel, POD_LABELS))
    assert test(selectable_fields("Pod", pod(nodeName="n1", restartPolicy="Always"))) is want


def test_field_selector_errors_and_escapes() -> None:
    with pytest.raises(ValueError, match="field label not supported: spec.bogus"):
        parse_field_selector("spec.bogus=1", POD_LABELS)
    with pytest.raises(ValueError, match="invalid selector: 'metadata.name'; can't understand 'metadata.name'"):
        parse_field_selector("metadata.name", POD_LABELS)
    assert parse_field_selector(r"metadata.name=a\,b", POD_LABELS) == [("metadata.name", "a,b", True)]


def test_event_field_selectors_in_both_group_versions() -> None:
    ev = {"metadata": {"name": "web.1", "namespace": "default"}, "reason": "BackOff", "type": "Warning",
          "involvedObject": {"kind": "Pod", "name": "web", "uid": "u1"}, "source": {"component": "podbay"},
          "reportingComponent": "podbay"}
    fields = selectable_fields("Event", ev)
    core = allowed_labels(("involvedObject.name", "reason", "source", "type"))
    assert field_test(parse_field_selector("involvedObject.name=web,reason=BackOff,source=podbay", core))(fields)
    v1 = allowed_labels(("regarding.name", "reportingController", "type"), "events.k8s.io")
    assert field_test(parse_field_selector("regarding.name=web,reportingController=podbay", v1))(fields)
    with pytest.raises(ValueError):
        parse_field_selector("involvedObject.name=web", v1)
    assert selectable_fields("Secret", {"metadata": {"name": "s"}, "type": "Opaque"})["type"] == "Opaque"


def test_events_k8s_io_view_round_trips() -> None:
    core = {"kind": "Event", "apiVersion": "v1", "metadata": {"name": "e"}, "involvedObject": {"name": "web"},
            "message": "hi", "reason": "Started", "source": {"component": "podbay"}, "count": 2,
            "firstTimestamp": "t1", "lastTimestamp": "t2", "reportingComponent": "podbay", "type": "Normal"}
    v1 = to_events_v1(core)
    assert v1["apiVersion"] == "events.k8s.io/v1" and v1["regarding"] == {"name": "web"} and v1["note"] == "hi"
    assert v1["deprecatedCount"] == 2 and v1["reportingController"] == "podbay"
    assert from_events_v1(v1) == core


# --- node -------------------------------------------------------------------------------------------------


def facts() -> NodeFacts:
    return NodeFacts(name="n1", cpus=2, memory_bytes=24 << 30, ephemeral_bytes=100 << 30, internal_ip="192.0.2.1",
                     kernel="6.1", os_image="Debian GNU/Linux 12", runtime_version="crun://1.8.1",
                     kubelet_version="v1.37.0-podbay.0.1.0", arch="amd64",
                     hugepages={"hugepages-2Mi": 0, "hugepages-1Gi": 2 << 30})


def test_node_object() -> None:
    node = node_object(facts(), 0.0)
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "n1"
    caps = capacity(facts())
    assert caps == {"cpu": "2", "memory": "25165824Ki", "pods": "110", "ephemeral-storage": "104857600Ki",
                    "hugepages-1Gi": "2048Mi", "hugepages-2Mi": "0"}
    status = node["status"]
    assert [c["type"] for c in status["conditions"]] == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
    ready = status["conditions"][3]
    assert (ready["status"], ready["reason"]) == ("True", "KubeletReady")
    assert status["addresses"] == [{"type": "InternalIP", "address": "192.0.2.1"},
                                   {"type": "Hostname", "address": "n1"}]
    assert status["nodeInfo"]["containerRuntimeVersion"] == "crun://1.8.1"
    later = node_status(facts(), 100.0, node)
    assert later["conditions"][3]["lastTransitionTime"] == ready["lastTransitionTime"]
    assert later["conditions"][3]["lastHeartbeatTime"] != ready["lastHeartbeatTime"]


def test_lease_object() -> None:
    lease = lease_object("n1", "uid-n1", 1.0)
    assert lease["metadata"]["namespace"] == "kube-node-lease"
    assert lease["metadata"]["ownerReferences"][0]["uid"] == "uid-n1"
    assert lease["spec"] == {"holderIdentity": "n1", "leaseDurationSeconds": 40,
                             "renewTime": "1970-01-01T00:00:01.000000Z"}
