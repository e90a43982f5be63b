"""Server-side Tables with kubectl's columns, for every served kind."""

from __future__ import annotations

from typing import Any

import pytest

from podbay.api import tables
from podbay.api.meta import parse_time
from podbay.api.resources import default_table

NOW = parse_time("2026-01-01T12:00:00Z") or 0.0


def md(name: str, age: int = 65, **extra: Any) -> dict[str, Any]:
    from podbay.api.meta import rfc3339

    return {"name": name, "namespace": "default", "uid": f"u-{name}", "creationTimestamp": rfc3339(NOW - age),
            **extra}


def columns(group: str, kind: str) -> list[tuple[str, int]]:
    return [(c.name, c.priority) for c in tables.printer(group, kind).columns()]


def cells(group: str, kind: str, obj: dict[str, Any]) -> list[Any]:
    return tables.printer(group, kind).row(obj, NOW)


def test_every_served_kind_has_columns_and_a_name_column() -> None:
    for rt in default_table():
        cols = tables.printer(rt.group, rt.kind).columns()
        assert cols[0].name in ("Name", "Last Seen")
        assert all(c.type in ("string", "integer", "date", "boolean") for c in cols)


def test_pod_columns_and_wide_columns() -> None:
    assert columns("", "Pod") == [("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0), ("IP", 1),
                                  ("Node", 1), ("Nominated Node", 1), ("Readiness Gates", 1)]
    pod = {"metadata": md("web"), "spec": {"containers": [{"name": "c"}], "nodeName": "n1",
                                           "readinessGates": [{"conditionType": "x"}]},
           "status": {"phase": "Running", "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}],
                      "conditions": [{"type": "x", "status": "True"}],
                      "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0,
                                             "state": {"running": {}}}]}}
    assert cells("", "Pod", pod) == ["web", "1/1", "Running", "0", "65s", "10.0.0.5", "n1", "<none>", "1/1"]


def test_node_row() -> None:
    node = {"metadata": md("n1", labels={"node-role.kubernetes.io/control-plane": ""}),
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "addresses": [{"type": "InternalIP", "address": "192.0.2.1"}],
                       "nodeInfo": {"kubeletVersion": "v1.37.0", "osImage": "Debian", "kernelVersion": "6.1",
                                    "containerRuntimeVersion": "crun://1.8"}}}
    assert cells("", "Node", node) == ["n1", "Ready,SchedulingDisabled", "control-plane", "65s", "v1.37.0",
                                       "192.0.2.1", "<none>", "Debian", "6.1", "crun://1.8"]
    assert [c for c, _ in columns("", "Node")][:5] == ["Name", "Status", "Roles", "Age", "Version"]


def test_event_row_and_columns() -> None:
    assert columns("", "Event") == [("Last Seen", 0), ("Type", 0), ("Reason", 0), ("Object", 0), ("Subobject", 1),
                                    ("Source", 1), ("Message", 0), ("First Seen", 1), ("Count", 1), ("Name", 1)]
    from podbay.api.meta import rfc3339

    ev = {"metadata": md("web.1"), "type": "Warning", "reason": "BackOff", "message": " Back-off \n",
          "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{c}"},
          "source": {"component": "podbay", "host": "n1"}, "firstTimestamp": rfc3339(NOW - 300),
          "lastTimestamp": rfc3339(NOW - 10), "count": 4}
    assert cells("", "Event", ev) == ["10s", "Warning", "BackOff", "pod/web", "spec.containers{c}", "podbay, n1",
                                      "Back-off", "5m", 4, "web.1"]
    single = {"metadata": md("e"), "involvedObject": {"kind": "Node"}, "reportingComponent": "x",
              "eventTime": "2026-01-01T11:59:00.000000Z"}
    row = cells("", "Event", single)
    assert row[0] == "60s" and row[3] == "node" and row[5] == "x" and row[8] == 1


@pytest.mark.parametrize(("kind", "obj", "expected"), [
    ("ConfigMap", {"data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}, [3]),
    ("Secret", {"type": "Opaque", "data": {"a": "MQ=="}}, ["Opaque", 1]),
    ("ServiceAccount", {"secrets": [{"name": "t"}]}, [1]),
    ("Namespace", {"status": {"phase": "Terminating"}}, ["Terminating"]),
])
def test_simple_kinds(kind: str, obj: dict[str, Any], expected: list[Any]) -> None:
    assert cells("", kind, {"metadata": md("x"), **obj}) == ["x", *expected, "65s"]


def test_pvc_and_lease_rows() -> None:
    pvc = {"metadata": md("data"), "spec": {"volumeName": "pvc-1", "storageClassName": "podbay-local",
                                            "volumeMode": "Filesystem"},
           "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}}
    assert cells("", "PersistentVolumeClaim", pvc) == ["data", "Bound", "pvc-1", "1Gi", "RWO", "podbay-local",
                                                       "<unset>", "65s", "Filesystem"]
    lease = {"metadata": md("n1"), "spec": {"holderIdentity": "n1"}}
    assert cells("coordination.k8s.io", "Lease", lease) == ["n1", "n1", "65s"]


def test_default_printer_for_kinds_without_one() -> None:
    p = tables.printer("metrics.k8s.io", "PodMetrics")
    assert [c.name for c in p.columns()] == ["Name", "Created At"]
    assert p.row({"metadata": {"name": "x", "creationTimestamp": "2026-01-01T00:00:00Z"}}, NOW) == \
        ["x", "2026-01-01T00:00:00Z"]


def test_table_include_object_and_metadata() -> None:
    p = tables.printer("", "ConfigMap")
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md("c"), "data": {"k": "v"}}
    t = tables.table(p, [cm], NOW, resource_version="7", continue_token="tok")
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1"
    assert t["metadata"] == {"resourceVersion": "7", "continue": "tok"}
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert t["rows"][0]["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                      "metadata": cm["metadata"]}
    assert tables.table(p, [cm], NOW, include="Object")["rows"][0]["object"] == cm
    assert "object" not in tables.table(p, [cm], NOW, include="None")["rows"][0]
    assert tables.table(p, [cm], NOW, columns=False)["columnDefinitions"] is None
    assert tables.table(p, [cm], NOW, version="v1beta1")["apiVersion"] == "meta.k8s.io/v1beta1"


def test_ages_of_missing_times() -> None:
    assert tables.since(None, NOW) == "<unknown>"
    assert tables.since("2026-01-01T11:00:00+00:00", NOW) == "60m"
