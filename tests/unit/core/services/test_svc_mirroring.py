"""EndpointSlice mirroring of a user's Endpoints (pure)."""

from __future__ import annotations

from typing import Any

from podbay.core.services import mirroring as m

SVC: dict[str, Any] = {"metadata": {"name": "db", "namespace": "ns"}, "spec": {"ports": [{"port": 5432}]}}


def ep(**md: Any) -> dict[str, Any]:
    return {"metadata": {"name": "db", "namespace": "ns", "uid": "u", **md},
            "subsets": [{"addresses": [{"ip": "192.0.2.1", "hostname": "a", "nodeName": "n"}, {"ip": "2001:db8::1"}],
                         "ports": [{"name": "pg", "port": 5432}]},
                        {"addresses": [{"ip": "192.0.2.2"}], "ports": [{"name": "pg", "port": 5432}]},
                        {"addresses": [{"ip": "192.0.2.3"}], "ports": [{"port": 9187, "appProtocol": "http"}]}]}


def test_should_mirror() -> None:
    assert m.should_mirror(SVC, ep())
    assert not m.should_mirror(None, ep())
    assert not m.should_mirror({**SVC, "spec": {"selector": {"a": "b"}}}, ep())
    assert not m.should_mirror({**SVC, "spec": {"type": "ExternalName"}}, ep())
    assert not m.should_mirror(SVC, ep(labels={m.LABEL_SKIP_MIRROR: "true"}))


def test_one_slice_per_port_set_ipv4_only_with_metadata_copied() -> None:
    slices = m.desired_slices(ep(labels={"x": "1"}, annotations={"note": "n", m.ANNOTATION_TRIGGER: "t"}))
    assert [s["ports"] for s in slices] == [[{"name": "pg", "port": 5432, "protocol": "TCP"}],
                                            [{"name": "", "port": 9187, "protocol": "TCP", "appProtocol": "http"}]]
    assert [e["addresses"] for e in slices[0]["endpoints"]] == [["192.0.2.1"], ["192.0.2.2"]]
    assert slices[0]["endpoints"][0] == {"addresses": ["192.0.2.1"], "conditions": {"ready": True},
                                         "nodeName": "n", "hostname": "a"}
    md = slices[0]["metadata"]
    assert md["generateName"] == "db-" and md["annotations"] == {"note": "n"}
    assert md["labels"] == {"x": "1", "kubernetes.io/service-name": "db",
                            "endpointslice.kubernetes.io/managed-by": m.MIRROR_CONTROLLER}


def test_reconcile_updates_in_place_and_deletes_what_is_not_wanted() -> None:
    plan = m.reconcile(SVC, ep(), [])
    assert len(plan.create) == 2 and not plan.update and not plan.delete
    existing = [{**s, "metadata": {**s["metadata"], "name": f"db-{i}"}} for i, s in enumerate(plan.create)]
    assert m.reconcile(SVC, ep(), existing).empty()
    changed = ep()
    changed["subsets"] = changed["subsets"][:1]
    plan = m.reconcile(SVC, changed, existing)
    assert [s["metadata"]["name"] for s in plan.update] == ["db-0"] and plan.delete == ["db-1"]
    assert m.reconcile(None, ep(), existing).delete == ["db-0", "db-1"]
    assert m.reconcile(SVC, None, existing).delete == ["db-0", "db-1"]
    # slices of the EndpointSlice controller are not this controller's
    other = {**existing[0], "metadata": {**existing[0]["metadata"], "labels": {
        "kubernetes.io/service-name": "db", "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}}}
    assert m.reconcile(None, ep(), [other]).empty()
