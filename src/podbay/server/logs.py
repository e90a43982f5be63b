"""pods/{name}/log: read the CRI log file of a container attempt; follow it while the container runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any, BinaryIO

from aiohttp import web

from podbay.agent.pods import PodService
from podbay.core import crilog
from podbay.core.records import ContainerRecord
from podbay.errors import NotFound

FOLLOW_POLL = 0.1


def pick_container(pod: dict[str, Any], name: str | None) -> str:
    names = [str(c["name"]) for c in pod["spec"]["containers"]]
    init_names = [c["name"] for c in pod["spec"].get("initContainers") or []]
    if name:
        if name not in names and name not in init_names:
            raise web.HTTPBadRequest(text=f"container {name} is not valid for pod {pod['metadata']['name']}")
        return name
    if len(names) == 1:
        return names[0]
    raise web.HTTPBadRequest(text=f"a container name must be specified for pod {pod['metadata']['name']}, "
                                  f"choose one of: [{' '.join(names)}]"
                                  + (f" or one of the init containers: [{' '.join(init_names)}]" if init_names else ""))


def _attempt(records: list[ContainerRecord], name: str, previous: bool) -> ContainerRecord | None:
    mine = sorted((r for r in records if r.name == name), key=lambda r: r.attempt)
    if previous:
        return mine[-2] if len(mine) >= 2 else None
    return mine[-1] if mine else None


async def handle(request: web.Request, pods: PodService) -> web.StreamResponse:
    q = request.query
    pod = pods.get(request.match_info["ns"], request.match_info["name"])
    name = pick_container(pod, q.get("container"))
    previous = q.get("previous", "").lower() in ("1", "true", "t")
    records = pods.deps.store.containers(pod["metadata"]["uid"])
    rec = _attempt(records, name, previous)
    if rec is None:
        if previous:
            raise NotFound(f'previous terminated container "{name}" in pod "{pod["metadata"]["name"]}" not found')
        raise web.HTTPBadRequest(text=f'container "{name}" in pod "{pod["metadata"]["name"]}" is waiting to start: '
                                      "ContainerCreating")
    timestamps = q.get("timestamps", "").lower() in ("1", "true", "t")
    tail_n = int(q["tailLines"]) if "tailLines" in q else None
    follow = q.get("follow", "").lower() in ("1", "true", "t") and not previous
    resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    path = Path(rec.log_path)
    pos = 0
    try:
        text = path.read_text(errors="replace")
        pos = len(text.encode(errors="replace"))
    except OSError:
        text = ""
    complete, _, _partial = text.rpartition("\n")
    parser = crilog.CriParser()
    lines = list(parser.feed(complete.splitlines() if complete else []))
    pos -= len(_partial.encode(errors="replace"))
    if not follow or not _still_running(pods, rec):
        lines += list(parser.flush())
        follow = False
    for line in crilog.tail(lines, tail_n):
        await resp.write(crilog.render(line, timestamps).encode())
    if follow:
        await _follow(resp, pods, rec, path, pos, timestamps, parser)
    with contextlib.suppress(ConnectionResetError):
        await resp.write_eof()
    return resp


async def _follow(resp: web.StreamResponse, pods: PodService, rec: ContainerRecord, path: Path, pos: int,
                  timestamps: bool, parser: crilog.CriParser) -> None:
    """Stream what is appended; across a rotation, finish the renamed file (still open) first."""
    buf = b""
    f = _open_at(path, pos)
    try:
        while True:
            chunk = f.read() if f is not None else b""
            if chunk:
                buf += chunk
                complete, sep, buf = buf.rpartition(b"\n")
                if sep:
                    for line in parser.feed(complete.decode(errors="replace").splitlines()):
                        await resp.write(crilog.render(line, timestamps).encode())
                continue
            if f is None or _inode(path) not in (None, os.fstat(f.fileno()).st_ino):
                if f is not None:   # rotated: the old file is drained, go on with the new one
                    f.close()
                f = _open_at(path, 0)
                if f is not None:
                    continue
            if not _still_running(pods, rec):
                for line in parser.flush():
                    await resp.write(crilog.render(line, timestamps).encode())
                return
            await asyncio.sleep(FOLLOW_POLL)
    finally:
        if f is not None:
            f.close()


def _open_at(path: Path, pos: int) -> BinaryIO | None:
    try:
        f = path.open("rb")
    except OSError:
        return None
    f.seek(pos)
    return f


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None


def _still_running(pods: PodService, rec: ContainerRecord) -> bool:
    for r in pods.deps.store.containers(rec.pod_uid):
        if r.id == rec.id:
            return r.state in ("running", "created")
    return False
