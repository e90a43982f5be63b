"""The Python ``kubernetes`` client against a live agent: CRUD, read-then-replace, patch, watch on
every kind, the DynamicClient, and the calls API.md found broken (``/version/``, ``/api/v1/``,
``list_node``, ``read_namespace``)."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from kube import Kube

pytestmark = pytest.mark.root

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client, dynamic, watch  # noqa: E402


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def api(kube: Kube) -> Any:
    return kube.python_client()


def pod_body(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [
                {"name": "c", "image": "busybox:1.35", "command": ["sh", "-c", "while true; do sleep 1; done"]}]}}


def test_version_discovery_nodes_namespaces(api: Any) -> None:
    assert client.VersionApi(api).get_code().git_version.startswith("v1.37.0-podbay.")
    core = client.CoreV1Api(api)
    names = {r.name for r in core.get_api_resources().resources}
    assert {"pods", "pods/log", "nodes", "namespaces", "events"} <= names
    assert core.list_node().items[0].status.conditions[-1].type == "Ready"
    assert core.read_namespace("default").status.phase == "Active"
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert {"coordination.k8s.io", "events.k8s.io", "metrics.k8s.io"} <= groups


def test_pod_crud_replace_after_read_and_patch(api: Any) -> None:
    core = client.CoreV1Api(api)
    name = unique("py")
    core.create_namespaced_pod("default", pod_body(name))
    pod = core.read_namespaced_pod(name, "default")
    pod.metadata.labels["extra"] = "1"
    replaced = core.replace_namespaced_pod(name, "default", pod)   # the client re-serialises times with +00:00
    assert replaced.metadata.labels["extra"] == "1"
    patched = core.patch_namespaced_pod(name, "default", {"metadata": {"labels": {"patched": "yes"}}})
    assert patched.metadata.labels["patched"] == "yes"
    stale = core.read_namespaced_pod(name, "default")
    stale.metadata.resource_version = "1"
    with pytest.raises(client.ApiException) as exc:
        core.replace_namespaced_pod(name, "default", stale)
    assert exc.value.status == 409
    core.delete_namespaced_pod(name, "default", grace_period_seconds=0)


def test_configmap_crud(api: Any) -> None:
    core = client.CoreV1Api(api)
    name = unique("cm")
    core.create_namespaced_config_map("default", {"metadata": {"name": name}, "data": {"a": "1"}})
    cm = core.read_namespaced_config_map(name, "default")
    cm.data["b"] = "2"
    assert core.replace_namespaced_config_map(name, "default", cm).data == {"a": "1", "b": "2"}
    assert core.patch_namespaced_config_map(name, "default", {"data": {"c": "3"}}).data["c"] == "3"
    core.delete_namespaced_config_map(name, "default")
    with pytest.raises(client.ApiException) as exc:
        core.read_namespaced_config_map(name, "default")
    assert exc.value.status == 404


@pytest.mark.parametrize(("kind", "lister", "creator"), [
    ("ConfigMap", "list_namespaced_config_map",
     lambda core, n: core.create_namespaced_config_map("default", {"metadata": {"name": n}})),
    ("Secret", "list_namespaced_secret",
     lambda core, n: core.create_namespaced_secret("default", {"metadata": {"name": n}, "string_data": {"k": "v"}})),
    ("ServiceAccount", "list_namespaced_service_account",
     lambda core, n: core.create_namespaced_service_account("default", {"metadata": {"name": n}})),
    ("Namespace", "list_namespace", lambda core, n: core.create_namespace({"metadata": {"name": n}})),
])
def test_watch_on_every_kind(api: Any, kind: str, lister: str, creator: Any) -> None:
    core = client.CoreV1Api(api)
    name = unique(kind.lower())
    seen: list[tuple[str, str]] = []
    w = watch.Watch()
    fn = getattr(core, lister)
    args = ("default",) if "namespaced" in lister else ()

    def follow() -> None:
        for ev in w.stream(fn, *args, timeout_seconds=10):
            obj = ev["object"]
            seen.append((ev["type"], obj.metadata.name))
            if obj.metadata.name == name:
                w.stop()

    t = threading.Thread(target=follow)
    t.start()
    time.sleep(0.5)
    creator(core, name)
    t.join(15)
    assert ("ADDED", name) in seen
    assert all(kind != "Secret" or n for _t, n in seen)


def test_watch_nodes_leases_and_events(api: Any) -> None:
    core = client.CoreV1Api(api)
    w = watch.Watch()
    nodes = [ev["object"].metadata.name for ev in w.stream(core.list_node, timeout_seconds=1)]
    assert nodes
    coordination = client.CoordinationV1Api(api)
    leases = [ev["object"].spec.holder_identity
              for ev in watch.Watch().stream(coordination.list_namespaced_lease, "kube-node-lease", timeout_seconds=1)]
    assert leases == nodes[:1]
    name = unique("evp")
    core.create_namespaced_pod("default", pod_body(name))
    deadline = time.monotonic() + 30
    reasons: set[str] = set()
    while time.monotonic() < deadline and "Started" not in reasons:
        for ev in watch.Watch().stream(core.list_namespaced_event, "default",
                                       field_selector=f"involvedObject.name={name}", timeout_seconds=2):
            reasons.add(ev["object"].reason)
    assert "Started" in reasons
    new_events = client.EventsV1Api(api).list_namespaced_event("default", field_selector=f"regarding.name={name}")
    assert {e.reason for e in new_events.items} >= {"Started"}
    core.delete_namespaced_pod(name, "default", grace_period_seconds=0)


def test_dynamic_client(api: Any) -> None:
    dyn = dynamic.DynamicClient(api)
    pods = dyn.resources.get(api_version="v1", kind="Pod")
    name = unique("dyn")
    pods.create(body=pod_body(name), namespace="default")
    got = pods.get(name=name, namespace="default")
    assert got.metadata.name == name
    leases = dyn.resources.get(api_version="coordination.k8s.io/v1", kind="Lease")
    assert leases.get(namespace="kube-node-lease").items
    pods.delete(name=name, namespace="default", body={"gracePeriodSeconds": 0})


def _running(core: Any, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = core.read_namespaced_pod(name, "default").status
        if st.container_statuses and st.container_statuses[0].state.running:
            return
        time.sleep(0.3)
    raise AssertionError(f"pod {name} never ran")


# kubernetes.stream's WSClient leaves its SSL socket to the garbage collector even after close().
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning", "ignore::ResourceWarning")
def test_logs_follow_and_exec(api: Any) -> None:
    """``read_namespaced_pod_log(follow=True)`` streams lines as they are written; ``stream()`` over
    ``connect_get_namespaced_pod_exec`` (the client's WebSocket exec) returns stdout and stderr."""
    from kubernetes.stream import stream

    core = client.CoreV1Api(api)
    name = unique("pylog")
    body = pod_body(name)
    body["spec"]["containers"][0]["command"] = ["sh", "-c", "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.2; done"]
    core.create_namespaced_pod("default", body)
    try:
        _running(core, name)
        resp = core.read_namespaced_pod_log(name, "default", follow=True, _preload_content=False)
        seen: list[str] = []
        try:
            for chunk in resp.stream(64):
                seen += [ln for ln in chunk.decode().splitlines() if ln]
                if len(seen) >= 8:
                    break
        finally:
            resp.close()   # a followed log never ends: drop the connection
        assert seen[:3] == ["line 1", "line 2", "line 3"], seen
        ws = stream(core.connect_get_namespaced_pod_exec, name, "default",
                    command=["sh", "-c", "echo out; echo err >&2"], stdout=True, stderr=True, stdin=False, tty=False,
                    _preload_content=False)   # the client leaves a preloaded exec's socket open: close it here
        try:
            ws.run_forever(timeout=10)
            assert ws.read_stdout().strip() == "out" and ws.read_stderr().strip() == "err"
        finally:
            ws.close()
        ws = stream(core.connect_get_namespaced_pod_exec, name, "default", command=["sh", "-c", "exit 3"],
                    stdout=True, stderr=True, stdin=False, tty=False, _preload_content=False)
        try:
            ws.run_forever(timeout=10)
            assert ws.returncode == 3
        finally:
            ws.close()
    finally:
        core.delete_namespaced_pod(name, "default", grace_period_seconds=0)
