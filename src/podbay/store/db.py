"""SQLite state: the source of truth for desired pods, their last status and container attempts.

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

SCHEMA_VERSION = 1

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
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, namespace TEXT NOT NULL, involved_name TEXT NOT NULL,
    involved_uid TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_obj ON events (namespace, involved_name);
"""


class Store:
    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        if str(path) != ":memory:":
            os.chmod(path, 0o600)   # secrets live here: root-only
        self._lock = threading.RLock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)
        version = self.get_meta("schema_version")
        if version is None:
            self.set_meta("schema_version", str(SCHEMA_VERSION))
        elif int(version) > SCHEMA_VERSION:
            self._db.close()
            raise RuntimeError(f"state database schema {version} is newer than this podbay ({SCHEMA_VERSION})")

    def close(self) -> None:
        self._db.close()

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

    # objects ------------------------------------------------------------------------------------
    def put_object(self, obj: dict[str, Any], *, create: bool = False) -> dict[str, Any]:
        """Insert or replace obj, stamping a new resourceVersion; returns the stored body."""
        md = obj["metadata"]
        verb = "INSERT" if create else "INSERT OR REPLACE"
        try:
            with self.tx() as db:
                rv = self.next_rv(db)
                body = json.dumps({**obj, "metadata": {**md, "resourceVersion": str(rv)}})
                db.execute(f"{verb} INTO objects (kind, namespace, name, uid, rv, body) VALUES (?,?,?,?,?,?)",
                           (obj["kind"], md.get("namespace", ""), md["name"], md["uid"], rv, body))
        except sqlite3.IntegrityError as exc:
            # Only a plain INSERT can hit the (kind, namespace, name) or uid key: the object exists.
            raise AlreadyExists(f'{str(obj["kind"]).lower()}s "{md["name"]}" already exists') from exc
        md["resourceVersion"] = str(rv)  # stamp the caller's dict only once the write committed
        return obj

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

    def delete_object(self, kind: str, namespace: str, name: str) -> int:
        with self.tx() as db:
            rv = self.next_rv(db)
            db.execute("DELETE FROM objects WHERE kind=? AND namespace=? AND name=?", (kind, namespace, name))
        return rv

    # containers ---------------------------------------------------------------------------------
    def put_container(self, rec: ContainerRecord) -> None:
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO containers (id, pod_uid, name, attempt, body) VALUES (?,?,?,?,?)",
                       (rec.id, rec.pod_uid, rec.name, rec.attempt, json.dumps(asdict(rec))))

    def containers(self, pod_uid: str) -> list[ContainerRecord]:
        with self._lock:
            rows = self._db.execute("SELECT body FROM containers WHERE pod_uid=? ORDER BY name, attempt",
                                    (pod_uid,)).fetchall()
        return [ContainerRecord(**json.loads(r[0])) for r in rows]

    def all_containers(self) -> list[ContainerRecord]:
        with self._lock:
            rows = self._db.execute("SELECT body FROM containers").fetchall()
        return [ContainerRecord(**json.loads(r[0])) for r in rows]

    def delete_container(self, cid: str) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM containers WHERE id=?", (cid,))

    def delete_pod_containers(self, pod_uid: str) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM containers WHERE pod_uid=?", (pod_uid,))

    # events -------------------------------------------------------------------------------------
    def add_event(self, namespace: str, name: str, uid: str, body: dict[str, Any]) -> None:
        key = _event_key(body, uid)
        with self.tx() as db:
            # Like the kubelet's event correlator: an identical event seen before (not only the
            # newest one: BackOff alternates with Started) bumps count and lastTimestamp.
            rows = db.execute("SELECT id, body FROM events WHERE namespace=? AND involved_name=? "
                              "AND involved_uid=? ORDER BY id DESC", (namespace, name, uid)).fetchall()
            for row_id, text in rows:
                prev = json.loads(text)
                if _event_key(prev, uid) == key:
                    prev["count"] = int(prev.get("count", 1)) + 1
                    prev["lastTimestamp"] = body.get("lastTimestamp")
                    db.execute("UPDATE events SET body=? WHERE id=?", (json.dumps(prev), row_id))
                    return
            db.execute("INSERT INTO events (namespace, involved_name, involved_uid, body) VALUES (?,?,?,?)",
                       (namespace, name, uid, json.dumps(body)))

    def events(self, namespace: str | None, name: str | None = None) -> list[dict[str, Any]]:
        q = "SELECT body FROM events"
        args: list[str] = []
        conds = []
        if namespace is not None:
            conds.append("namespace=?")
            args.append(namespace)
        if name is not None:
            conds.append("involved_name=?")
            args.append(name)
        if conds:
            q += " WHERE " + " AND ".join(conds)
        with self._lock:
            rows = self._db.execute(q + " ORDER BY id", args).fetchall()
        return [dict(json.loads(r[0])) for r in rows]

    def delete_events_for(self, uid: str) -> None:
        with self.tx() as db:
            db.execute("DELETE FROM events WHERE involved_uid=?", (uid,))


def _event_key(body: dict[str, Any], uid: str) -> tuple[object, ...]:
    inv = body.get("involvedObject") or {}
    return (inv.get("uid", uid), inv.get("fieldPath", ""), body.get("type"), body.get("reason"), body.get("message"))
