"""SQLite state: the source of truth for API objects (pods, their last status, events, ...) and
container attempts. Object rows are written only by ``store.repository.Repository``, which stamps
resourceVersions and publishes every change; readers may use the plain getters here.

WAL with synchronous=NORMAL: a commit survives an agent crash (SIGKILL); only a power cut may lose
the last transactions, which the runtime state (conmon exit files) then repairs on recovery.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from podbay.core.records import ContainerRecord
from podbay.errors import AlreadyExists

SCHEMA_VERSION = 2   # 2: events are ordinary objects (kind Event); the events table is gone

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    uid TEXT NOT NULL UNIQUE, rv INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (kind, namespace, name)
);
CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY, pod_uid TEXT NOT NULL, name TEXT NOT NULL, attempt INTEGER NOT NULL,
    body TEXT NOT NULL, UNIQUE (pod_uid, name, attempt)
);
CREATE INDEX IF NOT EXISTS containers_pod ON containers (pod_uid);
"""


class Store:
    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        if str(path) != ":memory:":
            os.chmod(path, 0o600)   # secrets live here: root-only
        self._lock = threading.RLock()
        # Container records by pod uid, then id: write-through (this process is their only writer), so
        # the pod worker's several reads per sync decode nothing. Loaded on first use.
        self._recs: dict[str, dict[str, ContainerRecord]] | None = None
        self._rec_pod: dict[str, str] = {}     # container id -> pod uid
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)
        version = self.get_meta("schema_version")
        if version is not None and int(version) > SCHEMA_VERSION:
            self._db.close()
            raise RuntimeError(f"state database schema {version} is newer than this podbay ({SCHEMA_VERSION})")
        if version is not None and int(version) < 2:
            # Events of schema 1 had no metadata of their own; they are recorded afresh from now on.
            self._db.execute("DROP TABLE IF EXISTS events")
        if version is None or int(version) < SCHEMA_VERSION:
            self.set_meta("schema_version", str(SCHEMA_VERSION))

    def close(self) -> None:
        self._db.close()

    @property
    def lock(self) -> threading.RLock:
        """The one lock of the database (writers hold it across a transaction and what follows it)."""
        return self._lock

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # meta ---------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def next_rv(self, db: sqlite3.Connection) -> int:
        row = db.execute("SELECT value FROM meta WHERE key='rv'").fetchone()
        rv = (int(row[0]) if row else 0) + 1
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('rv', ?)", (str(rv),))
        return rv

    def current_rv(self) -> int:
        return int(self.get_meta("rv") or 0)

    # objects (rows; Repository is their only writer) ---------------------------------------------
    def write_object_row(self, db: sqlite3.Connection, obj: dict[str, Any], rv: int, body: str, *,
                         create: bool) -> None:
        """Inside ``tx``: insert (create) or replace the row. A create on a taken name or uid raises
        AlreadyExists."""
        md = obj["metadata"]
        verb = "INSERT" if create else "INSERT OR REPLACE"
        try:
            db.execute(f"{verb} INTO objects (kind, namespace, name, uid, rv, body) VALUES (?,?,?,?,?,?)",
                       (obj["kind"], md.get("namespace", ""), md["name"], md["uid"], rv, body))
        except sqlite3.IntegrityError as exc:
            raise AlreadyExists(f'{str(obj["kind"]).lower()}s "{md["name"]}" already exists') from exc

    def delete_object_row(self, db: sqlite3.Connection, kind: str, namespace: str, name: str) -> None:
        db.execute("DELETE FROM objects WHERE kind=? AND namespace=? AND name=?", (kind, namespace, name))

    def all_object_rows(self) -> list[tuple[str, str, str, int, str]]:
        """(kind, namespace, name, rv, body) of every object: what the repository caches at start."""
        with self._lock:
            rows = self._db.execute("SELECT kind, namespace, name, rv, body FROM objects").fetchall()
        return [(str(k), str(ns), str(n), int(rv), str(b)) for k, ns, n, rv, b in rows]

    def get_object(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM objects WHERE kind=? AND namespace=? AND name=?",
                                   (kind, namespace, name)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def get_by_uid(self, uid: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM objects WHERE uid=?", (uid,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def list_objects(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            if namespace is None:
                rows = self._db.execute("SELECT body FROM objects WHERE kind=? ORDER BY namespace, name",
                                        (kind,)).fetchall()
            else:
                rows = self._db.execute("SELECT body FROM objects WHERE kind=? AND namespace=? ORDER BY name",
                                        (kind, namespace)).fetchall()
        return [dict(json.loads(r[0])) for r in rows]

    # containers ---------------------------------------------------------------------------------
    def _records(self) -> dict[str, dict[str, ContainerRecord]]:
        if self._recs is None:
            with self._lock:
                rows = self._db.execute("SELECT body FROM containers").fetchall()
            recs: dict[str, dict[str, ContainerRecord]] = {}
            for r in rows:
                rec = ContainerRecord(**json.loads(r[0]))
                recs.setdefault(rec.pod_uid, {})[rec.id] = rec
                self._rec_pod[rec.id] = rec.pod_uid
            self._recs = recs
        return self._recs

    def put_container(self, rec: ContainerRecord) -> None:
        with self._lock:
            cache = self._records()
            with self.tx() as db:
                db.execute("INSERT OR REPLACE INTO containers (id, pod_uid, name, attempt, body) VALUES (?,?,?,?,?)",
                           (rec.id, rec.pod_uid, rec.name, rec.attempt, json.dumps(asdict(rec))))
            # INSERT OR REPLACE drops the rows it conflicts with: the same id, or the same attempt.
            self._uncache(rec.id)
            for old in [r.id for r in cache.get(rec.pod_uid, {}).values() if (r.name, r.attempt) == (rec.name, rec.attempt)]:
                self._uncache(old)
            cache.setdefault(rec.pod_uid, {})[rec.id] = rec
            self._rec_pod[rec.id] = rec.pod_uid

    def _uncache(self, cid: str) -> None:
        uid = self._rec_pod.pop(cid, None)
        by_id = (self._recs or {}).get(uid or "")
        if by_id is not None:
            by_id.pop(cid, None)
            if not by_id:
                del self._records()[uid or ""]

    def containers(self, pod_uid: str) -> list[ContainerRecord]:
        """The pod's records ordered by name and attempt (records are frozen: shared, never copied)."""
        with self._lock:
            by_id = self._records().get(pod_uid)
            recs = list(by_id.values()) if by_id else []
        recs.sort(key=lambda r: (r.name, r.attempt))
        return recs

    def all_containers(self) -> list[ContainerRecord]:
        with self._lock:
            return [r for by_id in self._records().values() for r in by_id.values()]

    def delete_container(self, cid: str) -> None:
        with self._lock:
            self._records()
            with self.tx() as db:
                db.execute("DELETE FROM containers WHERE id=?", (cid,))
            self._uncache(cid)

    def delete_pod_containers(self, pod_uid: str) -> None:
        with self._lock:
            cache = self._records()
            with self.tx() as db:
                db.execute("DELETE FROM containers WHERE pod_uid=?", (pod_uid,))
            for cid in cache.pop(pod_uid, {}):
                self._rec_pod.pop(cid, None)
