"""SQLite store: objects with resourceVersions, container attempts, de-duplicated events, durability."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podbay.core.records import ContainerRecord
from podbay.errors import AlreadyExists
from podbay.store.db import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "state.db")
    yield s
    s.close()


def pod(name: str, ns: str = "default", uid: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": ns, "uid": uid or f"uid-{ns}-{name}"}, **extra}


def rec(name: str, attempt: int, pod_uid: str = "u1", cid: str | None = None, **kw: Any) -> ContainerRecord:
    return ContainerRecord(id=cid or f"{pod_uid}-{name}-{attempt}", pod_uid=pod_uid, name=name, kind="regular",
                           attempt=attempt, spec_hash="h", image="busybox", **kw)


def event(reason: str, message: str, uid: str = "u1", ts: str = "2026-01-01T00:00:00Z",
          field_path: str = "") -> dict[str, Any]:
    inv = {"kind": "Pod", "name": "web", "namespace": "default", "uid": uid}
    if field_path:
        inv["fieldPath"] = field_path
    return {"kind": "Event", "involvedObject": inv, "reason": reason, "message": message, "type": "Normal",
            "count": 1, "firstTimestamp": ts, "lastTimestamp": ts}


# --- objects --------------------------------------------------------------------------------------

def test_put_get_stamps_increasing_resource_versions(store: Store) -> None:
    assert store.current_rv() == 0
    a = store.put_object(pod("a"), create=True)
    b = store.put_object(pod("b"), create=True)
    rv_a, rv_b = int(a["metadata"]["resourceVersion"]), int(b["metadata"]["resourceVersion"])
    assert 0 < rv_a < rv_b == store.current_rv()
    got = store.get_object("Pod", "default", "a")
    assert got is not None and got["metadata"]["resourceVersion"] == str(rv_a)
    a2 = store.put_object(pod("a", spec={"x": 1}))
    assert int(a2["metadata"]["resourceVersion"]) > rv_b
    got = store.get_object("Pod", "default", "a")
    assert got is not None and got["spec"] == {"x": 1}
    assert store.get_object("Pod", "default", "missing") is None
    assert store.get_object("Pod", "other", "a") is None


def test_create_on_existing_name_raises_and_changes_nothing(store: Store) -> None:
    store.put_object(pod("a", spec={"v": 1}), create=True)
    rv = store.current_rv()
    dup = pod("a", uid="another-uid", spec={"v": 2})
    with pytest.raises(AlreadyExists, match='pods "a" already exists'):
        store.put_object(dup, create=True)
    assert "resourceVersion" not in dup["metadata"]
    assert store.current_rv() == rv
    got = store.get_object("Pod", "default", "a")
    assert got is not None and got["spec"] == {"v": 1}


def test_get_by_uid_and_list(store: Store) -> None:
    store.put_object(pod("b", "ns2"), create=True)
    store.put_object(pod("b"), create=True)
    store.put_object(pod("a"), create=True)
    got = store.get_by_uid("uid-ns2-b")
    assert got is not None and got["metadata"]["namespace"] == "ns2"
    assert store.get_by_uid("nope") is None
    names = [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in store.list_objects("Pod")]
    assert names == [("default", "a"), ("default", "b"), ("ns2", "b")]
    assert [p["metadata"]["name"] for p in store.list_objects("Pod", "default")] == ["a", "b"]
    assert store.list_objects("Pod", "empty") == []
    assert store.list_objects("Secret") == []


def test_delete_object_bumps_resource_version(store: Store) -> None:
    store.put_object(pod("a"), create=True)
    before = store.current_rv()
    rv = store.delete_object("Pod", "default", "a")
    assert rv == before + 1 == store.current_rv()
    assert store.get_object("Pod", "default", "a") is None
    # the name is free again
    store.put_object(pod("a"), create=True)


# --- containers -----------------------------------------------------------------------------------

def test_containers_put_list_delete(store: Store) -> None:
    r0 = rec("app", 0, state="exited", exit_code=1, finished_at=12.5, reason="Error")
    store.put_container(r0)
    store.put_container(rec("app", 1, state="running", conmon_pid=42, started_at=13.0))
    store.put_container(rec("init", 0, pod_uid="u2"))
    got = store.containers("u1")
    assert [(r.name, r.attempt) for r in got] == [("app", 0), ("app", 1)]
    assert got[0] == r0
    assert len(store.all_containers()) == 3
    # update in place by id
    store.put_container(got[1].with_(state="exited", exit_code=0))
    assert store.containers("u1")[1].exit_code == 0
    store.delete_container(r0.id)
    assert [r.attempt for r in store.containers("u1")] == [1]
    store.delete_pod_containers("u1")
    assert store.containers("u1") == []
    assert [r.pod_uid for r in store.all_containers()] == ["u2"]


def test_container_attempt_is_unique_per_pod_and_name(store: Store) -> None:
    store.put_container(rec("app", 0, cid="c1"))
    # A second id for the same attempt replaces the first row (INSERT OR REPLACE on the unique key).
    store.put_container(rec("app", 0, cid="c2"))
    assert [r.id for r in store.containers("u1")] == ["c2"]
    with store.tx() as db, pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO containers (id, pod_uid, name, attempt, body) VALUES ('c3','u1','app',0,'{}')")


# --- events ---------------------------------------------------------------------------------------

def test_events_are_deduplicated_by_count(store: Store) -> None:
    store.add_event("default", "web", "u1", event("BackOff", "Back-off restarting", ts="t1"))
    store.add_event("default", "web", "u1", event("Started", "Started container a", ts="t2",
                                                 field_path="spec.containers{a}"))
    store.add_event("default", "web", "u1", event("BackOff", "Back-off restarting", ts="t3"))
    store.add_event("default", "web", "u1", event("BackOff", "Back-off restarting", ts="t4"))
    store.add_event("default", "web", "u1", event("BackOff", "another message", ts="t5"))
    evs = store.events("default", "web")
    assert [(e["reason"], e["count"]) for e in evs] == [("BackOff", 3), ("Started", 1), ("BackOff", 1)]
    assert evs[0]["firstTimestamp"] == "t1" and evs[0]["lastTimestamp"] == "t4"


def test_events_of_a_new_pod_with_the_same_name_are_separate(store: Store) -> None:
    store.add_event("default", "web", "u1", event("Scheduled", "ok"))
    store.add_event("default", "web", "u2", event("Scheduled", "ok", uid="u2"))
    store.add_event("other", "web", "u3", event("Scheduled", "ok", uid="u3"))
    assert [e["count"] for e in store.events("default", "web")] == [1, 1]
    assert len(store.events(None)) == 3
    assert len(store.events("other")) == 1
    store.delete_events_for("u1")
    assert [e["involvedObject"]["uid"] for e in store.events("default")] == ["u2"]


# --- durability -----------------------------------------------------------------------------------

def test_second_store_on_same_file_sees_committed_data(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    s1 = Store(path)
    s1.put_object(pod("a"), create=True)
    s1.put_container(rec("app", 0, state="running"))
    s1.add_event("default", "a", "uid-default-a", event("Created", "c", uid="uid-default-a"))
    rv = s1.current_rv()
    # an agent restart: the old connection is not closed cleanly first
    s2 = Store(path)
    try:
        assert s2.get_object("Pod", "default", "a") is not None
        assert s2.containers("u1")[0].state == "running"
        assert len(s2.events("default", "a")) == 1
        assert s2.current_rv() == rv
        assert s2.get_meta("schema_version") == "1"
        b = s2.put_object(pod("b"))
        assert int(b["metadata"]["resourceVersion"]) == rv + 1
        assert s1.get_object("Pod", "default", "b") is not None
    finally:
        s2.close()
        s1.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    s = Store(path)
    s.set_meta("schema_version", "99")
    s.close()
    with pytest.raises(RuntimeError, match="newer"):
        Store(path)
