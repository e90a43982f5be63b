"""The generic registry against an in-memory store: the write semantics of kube-apiserver (no root)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from podbay.agent.hub import Event, Hub
from podbay.agent.namespaces import NamespaceController
from podbay.agent.registry import Registry
from podbay.agent.wiring import build_registry
from podbay.api.query import DeleteOptions, WriteOptions
from podbay.api.resources import ResourceType
from podbay.errors import AlreadyExists, BadRequest, Conflict, Forbidden, NotFound, ValidationError
from podbay.store.db import Store
from podbay.store.repository import Repository

T0 = 1_767_225_600.0   # 2026-01-01T00:00:00Z


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def env(tmp_path: Path) -> tuple[Registry, Hub, list[Event], Clock]:
    store = Store(":memory:")
    hub = Hub()
    events: list[Event] = []
    for kind in ("Pod", "ConfigMap", "Secret", "Namespace", "PersistentVolumeClaim", "Event", "ServiceAccount"):
        hub.add_listener(kind, events.append)
    clock = Clock()
    registry = build_registry(Repository(store, hub.publish_change), "node1", tmp_path, clock=clock)
    NamespaceController(registry, hub).ensure()
    events.clear()
    return registry, hub, events, clock


def rt(registry: Registry, kind: str, group: str = "", version: str = "v1") -> ResourceType:
    return registry.kind(kind, group, version)


def pod(name: str = "web", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def cm(name: str = "cfg", **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": dict(data)}


def test_create_stamps_server_fields_defaults_and_generation(env: Any) -> None:
    registry, _hub, events, _clock = env
    out = registry.create(rt(registry, "Pod"), "default", pod())
    md = out["metadata"]
    assert md["uid"] and md["creationTimestamp"] == "2026-01-01T00:00:00Z" and md["generation"] == 1
    assert md["resourceVersion"] and md["namespace"] == "default"
    assert out["spec"]["nodeName"] == "node1" and out["spec"]["restartPolicy"] == "Always"
    assert out["status"]["phase"] == "Pending"
    assert [(e.type, e.kind) for e in events] == [("ADDED", "Pod")]
    assert md["managedFields"][0]["manager"] == "podbay"
    with pytest.raises(AlreadyExists, match='pods "web" already exists'):
        registry.create(rt(registry, "Pod"), "default", pod())


def test_create_checks_and_messages(env: Any) -> None:
    registry, *_ = env
    pods = rt(registry, "Pod")
    with pytest.raises(BadRequest, match="the namespace of the provided object does not match"):
        registry.create(pods, "default", {**pod(), "metadata": {"name": "x", "namespace": "other"}})
    with pytest.raises(BadRequest, match='cannot be handled as a Pod: the object has kind "ConfigMap"'):
        registry.create(pods, "default", cm())
    with pytest.raises(BadRequest, match="resourceVersion should not be set on objects to be created"):
        registry.create(pods, "default", {**pod(), "metadata": {"name": "x", "resourceVersion": "3"}})
    with pytest.raises(ValidationError) as exc:
        registry.create(pods, "default", {**pod(), "metadata": {"name": "Bad_Name"}})
    assert str(exc.value).startswith('Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"')
    with pytest.raises(NotFound, match='namespaces "nope" not found'):
        registry.create(pods, "nope", pod())


def test_generate_name(env: Any) -> None:
    registry, *_ = env
    out = registry.create(rt(registry, "ConfigMap"), "default", {"metadata": {"generateName": "cfg-"}})
    name = out["metadata"]["name"]
    assert name.startswith("cfg-") and len(name) == 9


def test_dry_run_create_has_no_side_effect_at_all(env: Any, tmp_path: Path) -> None:
    registry, _hub, events, _clock = env
    rv = registry.repo.current_rv()
    opts = WriteOptions(dry_run=True)
    out = registry.create(rt(registry, "Pod"), "default", pod(), opts)
    assert out["metadata"]["uid"] and "resourceVersion" not in out["metadata"]
    pvc = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                  "resources": {"requests": {"storage": "1Gi"}}}}
    registry.create(rt(registry, "PersistentVolumeClaim"), "default", pvc, opts)
    assert registry.repo.current_rv() == rv and events == []
    assert registry.repo.get("Pod", "default", "web") is None
    assert not (tmp_path / "pv").exists()   # no claim directory was provisioned


def test_put_takes_uid_and_creation_time_from_the_stored_object(env: Any) -> None:
    """API.md: the Python client re-serialises creationTimestamp with +00:00; kubectl replace omits uid."""
    registry, *_ = env
    cms = rt(registry, "ConfigMap")
    created = registry.create(cms, "default", cm(a="1"))
    read_back = json.loads(json.dumps(created))
    read_back["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00+00:00"
    read_back["data"] = {"a": "2"}
    out, was_created = registry.update(cms, "default", "cfg", read_back)
    assert not was_created and out["data"] == {"a": "2"}
    assert out["metadata"]["creationTimestamp"] == "2026-01-01T00:00:00Z"
    bare = cm(a="3")   # no uid, no creationTimestamp, no resourceVersion: an unconditional update
    out, _ = registry.update(cms, "default", "cfg", bare)
    assert out["metadata"]["uid"] == created["metadata"]["uid"] and out["data"] == {"a": "3"}
    wrong = cm(a="4")
    wrong["metadata"]["uid"] = "someone-else"
    with pytest.raises(ValidationError, match="metadata.uid: Invalid value"):
        registry.update(cms, "default", "cfg", wrong)


def test_put_with_a_stale_resource_version_is_409(env: Any) -> None:
    registry, *_ = env
    cms = rt(registry, "ConfigMap")
    created = registry.create(cms, "default", cm(a="1"))
    registry.update(cms, "default", "cfg", {**created, "data": {"a": "2"}})
    with pytest.raises(Conflict) as exc:
        registry.update(cms, "default", "cfg", {**created, "data": {"a": "3"}})
    assert str(exc.value) == ('Operation cannot be fulfilled on configmaps "cfg": the object has been modified; '
                              "please apply your changes to the latest version and try again")


def test_put_checks(env: Any) -> None:
    registry, *_ = env
    cms = rt(registry, "ConfigMap")
    registry.create(cms, "default", cm())
    with pytest.raises(BadRequest, match=r"the name of the object \(other\) does not match the name on the URL"):
        registry.update(cms, "default", "cfg", cm("other"))
    with pytest.raises(NotFound, match='configmaps "missing" not found'):
        registry.update(cms, "default", "missing", cm("missing"))
    # Leases and events may be created by a PUT (AllowCreateOnUpdate).
    lease = {"metadata": {"name": "l"}, "spec": {"holderIdentity": "me"}}
    _obj, created = registry.update(rt(registry, "Lease", "coordination.k8s.io"), "default", "l", lease)
    assert created


def test_a_noop_update_writes_nothing(env: Any) -> None:
    registry, _hub, events, _clock = env
    cms = rt(registry, "ConfigMap")
    created = registry.create(cms, "default", cm(a="1"))
    events.clear()
    rv = registry.repo.current_rv()
    out, _ = registry.update(cms, "default", "cfg", created)
    assert out["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert registry.repo.current_rv() == rv and events == []


def test_generation_moves_with_the_spec_only(env: Any) -> None:
    registry, *_ = env
    pods = rt(registry, "Pod")
    registry.create(pods, "default", pod())
    cur = registry.get(pods, "default", "web")
    cur["metadata"]["labels"]["x"] = "y"
    out, _ = registry.update(pods, "default", "web", cur)
    assert out["metadata"]["generation"] == 1
    cur = registry.get(pods, "default", "web")
    cur["spec"]["containers"][0]["image"] = "busybox:1.36"
    out, _ = registry.update(pods, "default", "web", cur)
    assert out["metadata"]["generation"] == 2
    status = registry.get(pods, "default", "web")
    status["status"] = {"phase": "Running"}
    out, _ = registry.update(pods, "default", "web", status, subresource="status")
    assert out["metadata"]["generation"] == 2 and out["status"] == {"phase": "Running"}


def test_main_resource_update_keeps_status_and_status_update_keeps_the_rest(env: Any) -> None:
    registry, *_ = env
    pods = rt(registry, "Pod")
    registry.create(pods, "default", pod())
    cur = registry.get(pods, "default", "web")
    cur["status"] = {"phase": "Failed"}
    out, _ = registry.update(pods, "default", "web", cur)
    assert out["status"]["phase"] == "Pending"
    cur = registry.get(pods, "default", "web")
    cur["metadata"]["labels"] = {"changed": "no"}
    cur["status"] = {"phase": "Running"}
    out, _ = registry.update(pods, "default", "web", cur, subresource="status")
    assert out["metadata"]["labels"] == {"app": "web"} and out["status"] == {"phase": "Running"}


def test_patch_types(env: Any) -> None:
    registry, *_ = env
    cms = rt(registry, "ConfigMap")
    registry.create(cms, "default", cm(a="1"))
    opts = WriteOptions(field_manager="me")
    out, _ = registry.patch(cms, "default", "cfg", "application/merge-patch+json", b'{"data":{"b":"2","a":null}}',
                            opts)
    assert out["data"] == {"b": "2"}
    out, _ = registry.patch(cms, "default", "cfg", "application/json-patch+json",
                            b'[{"op":"add","path":"/data/c","value":"3"}]', opts)
    assert out["data"] == {"b": "2", "c": "3"}
    pods = rt(registry, "Pod")
    registry.create(pods, "default", pod())
    out, _ = registry.patch(pods, "default", "web", "application/strategic-merge-patch+json",
                            b'{"spec":{"containers":[{"name":"c","image":"busybox:1.36"}]}}', opts)
    assert [c["image"] for c in out["spec"]["containers"]] == ["busybox:1.36"]
    with pytest.raises(NotFound):
        registry.patch(cms, "default", "missing", "application/merge-patch+json", b"{}", opts)


def test_patch_output_is_type_checked(env: Any) -> None:
    registry, *_ = env
    cms = rt(registry, "ConfigMap")
    registry.create(cms, "default", cm(a="1"))
    with pytest.raises(BadRequest, match="cannot unmarshal number into Go struct field ConfigMap.data"):
        registry.patch(cms, "default", "cfg", "application/merge-patch+json", b'{"data": 5}', WriteOptions())
    with pytest.raises(BadRequest, match="strict decoding error"):
        registry.patch(cms, "default", "cfg", "application/merge-patch+json", b'{"bogus": 1}',
                       WriteOptions(field_validation="Strict"))


def test_server_side_apply_creates_then_conflicts(env: Any) -> None:
    registry, *_ = env
    cms = rt(registry, "ConfigMap")
    body = json.dumps(cm(a="1")).encode()
    out, created = registry.patch(cms, "default", "cfg", "application/apply-patch+yaml", body,
                                  WriteOptions(field_manager="alice"))
    assert created and out["data"] == {"a": "1"}
    assert [m["manager"] for m in out["metadata"]["managedFields"]] == ["alice"]
    from podbay.api.patch import ApplyConflict

    with pytest.raises(ApplyConflict) as exc:
        registry.patch(cms, "default", "cfg", "application/apply-patch+yaml", json.dumps(cm(a="2")).encode(),
                       WriteOptions(field_manager="bob"))
    assert exc.value.code == 409
    out, _ = registry.patch(cms, "default", "cfg", "application/apply-patch+yaml", json.dumps(cm(a="2")).encode(),
                            WriteOptions(field_manager="bob", force=True))
    assert out["data"] == {"a": "2"}


def test_delete_now_marked_and_preconditions(env: Any) -> None:
    registry, *_ = env
    cms = rt(registry, "ConfigMap")
    created = registry.create(cms, "default", cm())
    with pytest.raises(Conflict, match="Precondition failed: UID in precondition: nope"):
        registry.delete(cms, "default", "cfg", DeleteOptions(uid="nope"))
    with pytest.raises(Conflict, match="Precondition failed: ResourceVersion in precondition: 1,"):
        registry.delete(cms, "default", "cfg", DeleteOptions(resource_version="1"))
    status, code = registry.delete(cms, "default", "cfg", DeleteOptions(uid=created["metadata"]["uid"]))
    assert code == 200 and status["kind"] == "Status" and status["details"]["name"] == "cfg"
    assert registry.repo.get("ConfigMap", "default", "cfg") is None
    pods = rt(registry, "Pod")
    registry.create(pods, "default", pod(terminationGracePeriodSeconds=7))
    marked, code = registry.delete(pods, "default", "web")
    assert code == 200 and marked["metadata"]["deletionGracePeriodSeconds"] == 7
    assert marked["metadata"]["deletionTimestamp"] == "2026-01-01T00:00:07Z"
    assert registry.repo.get("Pod", "default", "web") is not None   # the worker finishes it


def test_dry_run_delete_deletes_nothing(env: Any) -> None:
    """Issue 11 item 9: DELETE ?dryRun=All once really deleted."""
    registry, _hub, events, _clock = env
    cms = rt(registry, "ConfigMap")
    registry.create(cms, "default", cm())
    registry.create(rt(registry, "Pod"), "default", pod())
    events.clear()
    rv = registry.repo.current_rv()
    registry.delete(cms, "default", "cfg", DeleteOptions(dry_run=True))
    registry.delete(rt(registry, "Pod"), "default", "web", DeleteOptions(dry_run=True, grace_period_seconds=0))
    assert registry.repo.current_rv() == rv and events == []
    assert registry.repo.get("ConfigMap", "default", "cfg") is not None
    assert not registry.repo.get("Pod", "default", "web")["metadata"].get("deletionTimestamp")


def test_finalizers_hold_an_object_until_the_last_one_goes(env: Any) -> None:
    registry, *_ = env
    cms = rt(registry, "ConfigMap")
    registry.create(cms, "default", {**cm(), "metadata": {"name": "cfg", "finalizers": ["example.com/x"]}})
    marked, code = registry.delete(cms, "default", "cfg")
    assert code == 200 and marked["metadata"]["deletionTimestamp"] and marked["kind"] == "ConfigMap"
    cur = registry.get(cms, "default", "cfg")
    cur["data"] = {"changed": "yes"}
    registry.update(cms, "default", "cfg", cur)   # still there: a finalizer remains
    assert registry.repo.get("ConfigMap", "default", "cfg") is not None
    registry.patch(cms, "default", "cfg", "application/merge-patch+json", b'{"metadata":{"finalizers":null}}',
                   WriteOptions())
    assert registry.repo.get("ConfigMap", "default", "cfg") is None


def test_namespace_lifecycle_admission(env: Any) -> None:
    registry, *_ = env
    nss = rt(registry, "Namespace")
    registry.create(nss, "", {"metadata": {"name": "team"}})
    ns = registry.get(nss, "", "team")
    assert ns["spec"] == {"finalizers": ["kubernetes"]} and ns["status"] == {"phase": "Active"}
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team"}
    marked, _ = registry.delete(nss, "", "team")
    assert marked["status"]["phase"] == "Terminating"
    with pytest.raises(Forbidden) as exc:
        registry.create(rt(registry, "ConfigMap"), "team", cm())
    assert str(exc.value) == ('configmaps "cfg" is forbidden: unable to create new content in namespace team because '
                              "it is being terminated")
    assert exc.value.details and exc.value.details["causes"][0]["reason"] == "NamespaceTerminating"
    with pytest.raises(Forbidden, match='namespaces "default" is forbidden: this namespace may not be deleted'):
        registry.delete(nss, "", "default")
    with pytest.raises(ValidationError, match="metadata.name: Invalid value"):
        registry.create(nss, "", {"metadata": {"name": "a.b"}})


def test_events_k8s_io_is_a_view_of_the_stored_core_events(env: Any) -> None:
    registry, *_ = env
    v1 = rt(registry, "Event", "events.k8s.io")
    body = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e1"},
            "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "me", "reportingInstance": "i",
            "action": "Test", "reason": "Testing", "type": "Normal", "note": "hello",
            "regarding": {"kind": "Pod", "name": "web", "namespace": "default"}}
    out = registry.create(v1, "default", body)
    assert out["apiVersion"] == "events.k8s.io/v1" and out["note"] == "hello"
    core = registry.get(rt(registry, "Event"), "default", "e1")
    assert core["apiVersion"] == "v1" and core["message"] == "hello" and core["involvedObject"]["name"] == "web"
    _rv, items = registry.list(v1, "default", field_selector="regarding.name=web")
    assert [s.name for s in items] == ["e1"]


def test_secrets_fold_string_data(env: Any) -> None:
    registry, *_ = env
    out = registry.create(rt(registry, "Secret"), "default", {"metadata": {"name": "s"}, "stringData": {"pw": "x"}})
    assert out["data"] == {"pw": "eA=="} and out["type"] == "Opaque" and "stringData" not in out


def test_list_with_selectors(env: Any) -> None:
    registry, *_ = env
    pods = rt(registry, "Pod")
    registry.create(pods, "default", pod("a"))
    registry.create(pods, "default", pod("b"))
    _rv, items = registry.list(pods, "default", label_selector="app=a")
    assert [s.name for s in items] == ["a"]
    _rv, items = registry.list(pods, None, field_selector="metadata.name=b,spec.nodeName=node1")
    assert [s.name for s in items] == ["b"]
    with pytest.raises(BadRequest, match="field label not supported: spec.bogus"):
        registry.list(pods, None, field_selector="spec.bogus=1")


def test_eviction_deletes_gracefully(env: Any) -> None:
    registry, *_ = env
    pods = rt(registry, "Pod")
    registry.create(pods, "default", pod())
    ev = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "web"},
          "deleteOptions": {"gracePeriodSeconds": 3}}
    assert registry.evict(pods, "default", "web", ev, WriteOptions())["status"] == "Success"
    assert registry.repo.get("Pod", "default", "web")["metadata"]["deletionGracePeriodSeconds"] == 3
    with pytest.raises(BadRequest, match="name in URL does not match name in Eviction object"):
        registry.evict(pods, "default", "web", {**ev, "metadata": {"name": "other"}}, WriteOptions())


def test_delete_collection(env: Any) -> None:
    registry, *_ = env
    cms = rt(registry, "ConfigMap")
    for name in ("a", "b", "c"):
        registry.create(cms, "default", {**cm(name), "metadata": {"name": name, "labels": {"x": "1" if name != "c"
                                                                                                 else "2"}}})
    out = registry.delete_collection(cms, "default", "x=1", "", DeleteOptions())
    assert out["kind"] == "ConfigMapList" and [o["metadata"]["name"] for o in out["items"]] == ["a", "b"]
    assert [s.name for s in registry.repo.list("ConfigMap", "default")] == ["c"]
