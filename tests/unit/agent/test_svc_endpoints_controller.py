"""The EndpointSlice/Endpoints controller against an in-memory store."""

from __future__ import annotations

import asyncio
import copy
import itertools
from typing import Any

from podbay.agent.endpointslices import EndpointsController, services_for_pod

Obj = dict[str, Any]


class Store:
    """Lister + writer over dicts, generating names like the API server."""

    def __init__(self) -> None:
        self.objs: dict[tuple[str, str, str], Obj] = {}
        self.seq = itertools.count(1)
        self.writes: list[tuple[str, str, str]] = []
        self.fail_kind = ""

    def put(self, obj: Obj) -> None:
        md = obj["metadata"]
        self.objs[(obj["kind"], md["namespace"], md["name"])] = copy.deepcopy(obj)

    def service(self, namespace: str, name: str) -> Obj | None:
        return self.objs.get(("Service", namespace, name))

    def pods(self, namespace: str) -> list[Obj]:
        return [o for (k, ns, _), o in self.objs.items() if k == "Pod" and ns == namespace]

    def slices(self, namespace: str, service: str) -> list[Obj]:
        return [o for (k, ns, _), o in self.objs.items() if k == "EndpointSlice" and ns == namespace
                and o["metadata"]["labels"].get("kubernetes.io/service-name") == service]

    def endpoints(self, namespace: str, name: str) -> Obj | None:
        return self.objs.get(("Endpoints", namespace, name))

    async def create(self, obj: Obj) -> Obj:
        if obj["kind"] == self.fail_kind:
            raise RuntimeError("boom")
        obj = copy.deepcopy(obj)
        md = obj["metadata"]
        if not md.get("name"):
            md["name"] = md.pop("generateName") + f"{next(self.seq):05d}"
        self.put(obj)
        self.writes.append(("create", obj["kind"], md["name"]))
        return obj

    async def update(self, obj: Obj) -> Obj:
        self.put(obj)
        self.writes.append(("update", obj["kind"], obj["metadata"]["name"]))
        return obj

    async def delete(self, api_version: str, kind: str, namespace: str, name: str) -> None:
        self.objs.pop((kind, namespace, name), None)
        self.writes.append(("delete", kind, name))


def pod(name: str, ip: str, ready: bool = True, labels: dict[str, str] | None = None) -> Obj:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "default", "uid": name,
                                        "labels": labels or {"app": "web"}},
            "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080,
                                                              "protocol": "TCP"}]}]},
            "status": {"phase": "Running", "podIP": ip,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                       "lastTransitionTime": "2026-01-01T00:00:00Z"}]}}


SVC = {"kind": "Service", "metadata": {"name": "web", "namespace": "default", "uid": "s1",
                                       "creationTimestamp": "2026-01-01T00:00:00Z"},
       "spec": {"selector": {"app": "web"}, "clusterIP": "10.96.0.9",
                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}}


def test_slices_and_endpoints_follow_pods() -> None:
    st = Store()
    st.put(SVC)
    st.put(pod("a", "10.88.0.2"))
    ctl = EndpointsController(st, st)
    asyncio.run(ctl.sync("default", "web"))
    [sl] = st.slices("default", "web")
    assert sl["metadata"]["name"] == "web-00001"
    assert [(e["addresses"], e["conditions"]["ready"]) for e in sl["endpoints"]] == [(["10.88.0.2"], True)]
    assert sl["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    ep = st.endpoints("default", "web")
    assert ep is not None and ep["subsets"][0]["addresses"][0]["ip"] == "10.88.0.2"
    # Nothing changed: nothing written.
    st.writes.clear()
    asyncio.run(ctl.sync("default", "web"))
    assert st.writes == []
    # The pod turns unready: the slice is updated in place, the address moves to notReadyAddresses.
    st.put(pod("a", "10.88.0.2", ready=False))
    asyncio.run(ctl.sync("default", "web"))
    assert [w[0] for w in st.writes] == ["update", "update"]
    assert st.slices("default", "web")[0]["endpoints"][0]["conditions"]["ready"] is False
    assert "notReadyAddresses" in st.endpoints("default", "web")["subsets"][0]  # type: ignore[index]


def test_deleted_service_drops_its_slices_and_failures_do_not_raise() -> None:
    st = Store()
    st.put(SVC)
    ctl = EndpointsController(st, st)
    asyncio.run(ctl.sync("default", "web"))
    assert len(st.slices("default", "web")) == 1  # the placeholder
    del st.objs[("Service", "default", "web")]
    asyncio.run(ctl.sync("default", "web"))
    assert st.slices("default", "web") == [] and st.endpoints("default", "web") is None
    st.put(SVC)
    st.fail_kind = "EndpointSlice"
    assert asyncio.run(ctl.sync_safely("default", "web")) is False


def test_services_for_pod() -> None:
    other = copy.deepcopy(SVC)
    other["metadata"]["name"] = "db"
    other["spec"]["selector"] = {"app": "db"}
    assert services_for_pod(pod("a", "1.2.3.4"), [SVC, other]) == [("default", "web")]


def test_endpoints_of_a_selectorless_service_are_mirrored_into_slices() -> None:
    """EndpointSliceMirroring: create, update in place, skip-mirror, delete with the Endpoints."""
    st = Store()
    svc = copy.deepcopy(SVC)
    del svc["spec"]["selector"]
    st.put(svc)
    ep = {"kind": "Endpoints", "metadata": {"name": "web", "namespace": "default", "uid": "e1",
                                            "labels": {"team": "db"}},
          "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "notReadyAddresses": [{"ip": "192.0.2.11"}],
                       "ports": [{"name": "http", "port": 5432, "protocol": "TCP"}]}]}
    st.put(ep)
    ctl = EndpointsController(st, st)
    asyncio.run(ctl.sync("default", "web"))
    [sl] = st.slices("default", "web")
    assert sl["metadata"]["labels"] == {"team": "db", "kubernetes.io/service-name": "web",
                                        "endpointslice.kubernetes.io/managed-by":
                                            "endpointslicemirroring-controller.k8s.io"}
    assert sl["metadata"]["ownerReferences"][0]["kind"] == "Endpoints"
    assert [(e["addresses"], e["conditions"]["ready"]) for e in sl["endpoints"]] == [
        (["192.0.2.10"], True), (["192.0.2.11"], False)]
    assert sl["ports"] == [{"name": "http", "port": 5432, "protocol": "TCP"}]
    assert st.endpoints("default", "web") == ep   # the user's Endpoints are left alone
    st.writes.clear()
    asyncio.run(ctl.sync("default", "web"))
    assert st.writes == []
    ep["subsets"][0]["addresses"] = [{"ip": "192.0.2.12"}]
    st.put(ep)
    asyncio.run(ctl.sync("default", "web"))
    assert st.writes == [("update", "EndpointSlice", sl["metadata"]["name"])]
    assert st.slices("default", "web")[0]["endpoints"][0]["addresses"] == ["192.0.2.12"]
    ep["metadata"]["labels"]["endpointslice.kubernetes.io/skip-mirror"] = "true"
    st.put(ep)
    asyncio.run(ctl.sync("default", "web"))
    assert st.slices("default", "web") == []
    del ep["metadata"]["labels"]["endpointslice.kubernetes.io/skip-mirror"]
    st.put(ep)
    asyncio.run(ctl.sync("default", "web"))
    assert len(st.slices("default", "web")) == 1
    del st.objs[("Endpoints", "default", "web")]
    asyncio.run(ctl.sync("default", "web"))
    assert st.slices("default", "web") == []


def test_endpoints_of_a_service_with_a_selector_are_not_mirrored() -> None:
    st = Store()
    st.put(SVC)
    st.put(pod("a", "10.88.0.2"))
    ctl = EndpointsController(st, st)
    asyncio.run(ctl.sync("default", "web"))
    managers = {s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] for s in st.slices("default", "web")}
    assert managers == {"endpointslice-controller.k8s.io"}


def test_mirroring_alone_never_deletes_an_endpoints_without_a_service() -> None:
    """What an Endpoints event runs: a user's Endpoints with no Service stays (the Conformance
    Endpoint lifecycle test creates one); only the Service's own sync deletes its Endpoints."""
    st = Store()
    ep = {"kind": "Endpoints", "metadata": {"name": "lone", "namespace": "default", "uid": "e2"},
          "subsets": [{"addresses": [{"ip": "192.0.2.1"}], "ports": [{"port": 80}]}]}
    st.put(ep)
    ctl = EndpointsController(st, st)
    assert asyncio.run(ctl.sync_safely("default", "lone", mirror_only=True))
    assert st.endpoints("default", "lone") == ep and st.writes == []
