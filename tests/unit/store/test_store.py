"""SQLite store and repository: objects with resourceVersions and optimistic concurrency, container attempts,
durability and schema migration."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podbay.core.records import ContainerRecord
from podbay.errors import AlreadyExists, Conflict, NotFound
from podbay.store.db import Store
from podbay.store.repository import Change, Repository


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


# --- objects (through the repository, their only writer) ------------------------------------------

@pytest.fixture
def repo(store: Store) -> Repository:
    return Repository(store)


def test_create_get_stamps_increasing_resource_versions(store: Store, repo: Repository) -> None:
    assert repo.current_rv() == 0
    a = repo.create(pod("a"))
    b = repo.create(pod("b"))
    rv_a, rv_b = int(a["metadata"]["resourceVersion"]), int(b["metadata"]["resourceVersion"])
    assert 0 < rv_a < rv_b == repo.current_rv() == store.current_rv()
    got = repo.get("Pod", "default", "a")
    assert got is not None and got["metadata"]["resourceVersion"] == str(rv_a)
    assert store.get_object("Pod", "default", "a") == got   # the row and the cache agree
    a2 = repo.update(pod("a", spec={"x": 1}))
    assert int(a2["metadata"]["resourceVersion"]) > rv_b
    got = repo.get("Pod", "default", "a")
    assert got is not None and got["spec"] == {"x": 1}
    assert repo.get("Pod", "default", "missing") is None
    assert repo.get("Pod", "other", "a") is None


def test_get_returns_a_copy_the_caller_may_change(repo: Repository) -> None:
    repo.create(pod("a", spec={"x": 1}))
    got = repo.get("Pod", "default", "a")
    assert got is not None
    got["spec"]["x"] = 2
    again = repo.get("Pod", "default", "a")
    assert again is not None and again["spec"] == {"x": 1}


def test_create_on_existing_name_raises_and_changes_nothing(repo: Repository) -> None:
    repo.create(pod("a", spec={"v": 1}))
    rv = repo.current_rv()
    dup = pod("a", uid="another-uid", spec={"v": 2})
    with pytest.raises(AlreadyExists, match='pods "a" already exists'):
        repo.create(dup)
    assert "resourceVersion" not in dup["metadata"]
    assert repo.current_rv() == rv
    got = repo.get("Pod", "default", "a")
    assert got is not None and got["spec"] == {"v": 1}


def test_by_uid_and_list(repo: Repository) -> None:
    repo.create(pod("b", "ns2"))
    repo.create(pod("b"))
    repo.create(pod("a"))
    got = repo.by_uid("uid-ns2-b")
    assert got is not None and got.namespace == "ns2"
    assert repo.by_uid("nope") is None
    assert [(s.namespace, s.name) for s in repo.list("Pod")] == [("default", "a"), ("default", "b"), ("ns2", "b")]
    assert [s.name for s in repo.list("Pod", "ns2")] == ["b"]
    assert repo.list("ConfigMap") == []


def test_delete_bumps_resource_version_and_returns_the_last_body(repo: Repository) -> None:
    repo.create(pod("a", spec={"v": 1}))
    before = repo.current_rv()
    gone = repo.delete("Pod", "default", "a")
    assert int(gone["metadata"]["resourceVersion"]) == before + 1 == repo.current_rv()
    assert gone["spec"] == {"v": 1}
    assert repo.get("Pod", "default", "a") is None and repo.by_uid("uid-default-a") is None
    with pytest.raises(NotFound, match='pods "a" not found'):
        repo.delete("Pod", "default", "a")


def test_update_with_a_stale_resource_version_is_a_conflict(repo: Repository) -> None:
    first = repo.create(pod("a"))
    rv = int(first["metadata"]["resourceVersion"])
    repo.update(pod("a", spec={"v": 2}), expected_rv=rv)
    with pytest.raises(Conflict) as exc:
        repo.update(pod("a", spec={"v": 3}), expected_rv=rv)
    assert str(exc.value) == ('Operation cannot be fulfilled on pods "a": the object has been modified; please '
                              "apply your changes to the latest version and try again")
    got = repo.get("Pod", "default", "a")
    assert got is not None and got["spec"] == {"v": 2}


def test_delete_preconditions(repo: Repository) -> None:
    repo.create(pod("a"))
    with pytest.raises(Conflict, match="Precondition failed: UID in precondition: other"):
        repo.delete("Pod", "default", "a", expected_uid="other")
    with pytest.raises(Conflict, match="Precondition failed: ResourceVersion in precondition: 999"):
        repo.delete("Pod", "default", "a", expected_rv=999)
    assert repo.get("Pod", "default", "a") is not None


def test_mutate_is_read_modify_write_and_none_writes_nothing(repo: Repository) -> None:
    repo.create(pod("a", spec={"n": 1}))
    rv = repo.current_rv()
    assert repo.mutate("Pod", "default", "a", lambda o: None) is not None
    assert repo.current_rv() == rv

    def bump(o: dict[str, Any]) -> dict[str, Any]:
        o["spec"]["n"] += 1
        return o

    out = repo.mutate("Pod", "default", "a", bump)
    assert out is not None and out["spec"] == {"n": 2} and int(out["metadata"]["resourceVersion"]) == rv + 1
    assert repo.mutate("Pod", "default", "gone", bump) is None


def test_every_change_is_published_in_order(store: Store) -> None:
    seen: list[Change] = []
    repo = Repository(store, seen.append)
    repo.create(pod("a"))
    repo.update(pod("a", spec={"v": 1}))
    repo.delete("Pod", "default", "a")
    assert [(c.type, c.item.rv) for c in seen] == [("ADDED", 1), ("MODIFIED", 2), ("DELETED", 3)]
    assert json.loads(seen[1].item.raw)["spec"] == {"v": 1}
    assert seen[0].item.fields["metadata.name"] == "a"


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


def test_record_cache_matches_the_table_after_every_kind_of_write(tmp_path: Path) -> None:
    """The in-memory records (write-through) and what a fresh connection reads stay the same."""
    path = tmp_path / "state.db"
    s1 = Store(path)
    s1.put_container(rec("old", 0, pod_uid="u0", cid="pre"))   # on disk before the cache loads
    s1.close()
    s = Store(path)

    def same() -> None:
        fresh = Store(path)
        try:
            for uid in ("u0", "u1", "u2"):
                assert s.containers(uid) == fresh.containers(uid)
            assert sorted(r.id for r in s.all_containers()) == sorted(r.id for r in fresh.all_containers())
        finally:
            fresh.close()

    try:
        same()
        s.put_container(rec("b", 1))
        s.put_container(rec("a", 0))
        s.put_container(rec("b", 0))
        assert [(r.name, r.attempt) for r in s.containers("u1")] == [("a", 0), ("b", 0), ("b", 1)]
        same()
        s.put_container(rec("a", 0, state="exited"))          # same id: replaced
        s.put_container(rec("a", 0, cid="other"))             # same attempt, new id: the old row goes
        s.put_container(rec("x", 0, pod_uid="u2", cid="pre"))  # same id, another pod: it moves
        same()
        assert "pre" not in [r.id for r in s.containers("u0")]
        s.delete_container("other")
        s.delete_container("missing")
        same()
        s.delete_pod_containers("u1")
        assert s.containers("u1") == []
        same()
    finally:
        s.close()


# --- durability -----------------------------------------------------------------------------------

def test_second_store_on_same_file_sees_committed_data(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    s1 = Store(path)
    Repository(s1).create(pod("a"))
    s1.put_container(rec("app", 0, state="running"))
    rv = s1.current_rv()
    # an agent restart: the old connection is not closed cleanly first
    s2 = Store(path)
    try:
        r2 = Repository(s2)
        assert r2.get("Pod", "default", "a") is not None
        assert s2.containers("u1")[0].state == "running"
        assert s2.current_rv() == rv
        assert s2.get_meta("schema_version") == "2"
        b = r2.create(pod("b"))
        assert int(b["metadata"]["resourceVersion"]) == rv + 1
        assert s1.get_object("Pod", "default", "b") is not None
    finally:
        s2.close()
        s1.close()


def test_schema_1_is_migrated_and_its_events_table_dropped(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = sqlite3.connect(str(path))
    db.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                     "INSERT INTO meta VALUES ('schema_version', '1');"
                     "CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT);")
    db.commit()
    db.close()
    s = Store(path)
    try:
        assert s.get_meta("schema_version") == "2"
        with s.tx() as conn:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "events" not in names and "objects" in names
    finally:
        s.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    s = Store(path)
    s.set_meta("schema_version", "99")
    s.close()
    with pytest.raises(RuntimeError, match="newer"):
        Store(path)
