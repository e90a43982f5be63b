"""pods/{name}/log: read the CRI log file of a container attempt; follow it while the container runs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

from aiohttp import web

from podbay.agent.pods import PodService
from podbay.api import query
from podbay.api.meta import parse_time
from podbay.core import crilog
from podbay.core.records import ContainerRecord
from podbay.errors import BadRequest, NotFound

FOLLOW_POLL = 0.1


def pick_container(pod: dict[str, Any], name: str | None) -> str:
    names = [str(c["name"]) for c in pod["spec"]["containers"]]
    init_names = [c["name"] for c in pod["spec"].get("initContainers") or []]
    if name:
        if name not in names and name not in init_names:
            raise BadRequest(f"container {name} is not valid for pod {pod['metadata']['name']}")
        return name
    if len(names) == 1:
        return names[0]
    raise BadRequest(f"a container name must be specified for pod {pod['metadata']['name']}, "
                     f"choose one of: [{' '.join(names)}]"
                     + (f" or one of the init containers: [{' '.join(init_names)}]" if init_names else ""))


def _attempt(records: list[ContainerRecord], name: str, previous: bool) -> ContainerRecord | None:
    mine = sorted((r for r in records if r.name == name), key=lambda r: r.attempt)
    if previous:
        return mine[-2] if len(mine) >= 2 else None
    return mine[-1] if mine else None


class _Filter:
    """sinceSeconds/sinceTime, stream and limitBytes of PodLogOptions, applied line by line."""

    def __init__(self, opts: query.LogOptions, now: float) -> None:
        self.since = opts.since_time if opts.since_time is not None else (
            now - opts.since_seconds if opts.since_seconds is not None else None)
        self.stream = {"Stdout": "stdout", "Stderr": "stderr"}.get(opts.stream)
        self.left = opts.limit_bytes
        self.timestamps = opts.timestamps

    def keep(self, line: crilog.LogLine) -> bool:
        if self.stream is not None and line.stream != self.stream:
            return False
        if self.since is not None:
            t = parse_time(crilog.normalize_ts(line.timestamp))
            if t is not None and t < self.since:
                return False
        return True

    def render(self, line: crilog.LogLine) -> bytes | None:
        """The bytes to send, or None once limitBytes is used up."""
        data = crilog.render(line, self.timestamps).encode()
        if self.left is None:
            return data
        if self.left <= 0:
            return None
        data = data[:self.left]
        self.left -= len(data)
        return data


async def handle(request: web.Request, pods: PodService, namespace: str, pod_name: str) -> web.StreamResponse:
    q: dict[str, list[str]] = {}
    for k, v in request.query.items():
        q.setdefault(k, []).append(v)
    pod = pods.get(namespace, pod_name)
    opts = query.log_options(q, pod["metadata"]["name"])
    name = pick_container(pod, opts.container or None)
    previous = opts.previous
    records = pods.records(pod["metadata"]["uid"])
    rec = _attempt(records, name, previous)
    if rec is None:
        if previous:
            raise NotFound(f'previous terminated container "{name}" in pod "{pod["metadata"]["name"]}" not found')
        raise BadRequest(f'container "{name}" in pod "{pod["metadata"]["name"]}" is waiting to start: '
                         "ContainerCreating")
    filt = _Filter(opts, time.time())
    tail_n = opts.tail_lines
    follow = opts.follow and not previous
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
    for line in crilog.tail([x for x in lines if filt.keep(x)], tail_n):
        data = filt.render(line)
        if data is None:
            follow = False
            break
        await resp.write(data)
    if follow:
        await _follow(resp, pods, rec, path, pos, filt, parser)
    with contextlib.suppress(ConnectionResetError):
        await resp.write_eof()
    return resp


async def _follow(resp: web.StreamResponse, pods: PodService, rec: ContainerRecord, path: Path, pos: int,
                  filt: _Filter, parser: crilog.CriParser) -> None:
    """Stream what is appended; across a rotation, finish the renamed file (still open) first."""
    buf = b""
    f = _open_at(path, pos)

    async def emit(lines: Iterable[crilog.LogLine]) -> bool:
        for line in lines:
            if not filt.keep(line):
                continue
            data = filt.render(line)
            if data is None:
                return False
            await resp.write(data)
        return True

    try:
        while True:
            chunk = f.read() if f is not None else b""
            if chunk:
                buf += chunk
                complete, sep, buf = buf.rpartition(b"\n")
                if sep and not await emit(parser.feed(complete.decode(errors="replace").splitlines())):
                    return
                continue
            if f is None or _inode(path) not in (None, os.fstat(f.fileno()).st_ino):
                if f is not None:   # rotated: the old file is drained, go on with the new one
                    f.close()
                f = _open_at(path, 0)
                if f is not None:
                    continue
            if not _still_running(pods, rec):
                await emit(parser.flush())
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
    for r in pods.records(rec.pod_uid):
        if r.id == rec.id:
            return r.state in ("running", "created")
    return False
