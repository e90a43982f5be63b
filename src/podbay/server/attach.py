"""pods/{name}/attach over WebSocket (v5/v4.channel.k8s.io, as exec): the container's own stdio.

The container's stdio belongs to its conmon, which serves it on the ``attach`` socket in the bundle
(SOCK_SEQPACKET; conmon src/conn_sock.c): every packet conmon sends is one byte naming the pipe
(2 stdout, 3 stderr; a tty is all stdout) and the data; what the client writes is the container's
stdin (conmon started with -i). Resizes go to the bundle's ``ctl`` fifo as ``1 <rows> <cols>``.
Closing our write side ends the container's stdin unless conmon keeps it (--leave-stdin-open, i.e.
not stdinOnce), as CRI-O's AttachContainer does when the client's stdin ends. The attach ends when
conmon closes the socket (the container exited) or the client goes; then a Success status is sent
on channel 3, as the kubelet's ServeAttach does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from podbay.errors import BadRequest

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
PIPE_STDOUT, PIPE_STDERR = 2, 3          # conmon's stdpipe_t
PACKET = 32 * 1024                       # conmon reads at most CONN_SOCK_BUF_SIZE - 1 per packet
STDIN_CHUNK = 8 * 1024


@dataclass(frozen=True)
class AttachTarget:
    container_id: str
    bundle: Path            # holds conmon's `attach` socket and `ctl` fifo
    stdin: bool             # the container was started with a stdin pipe
    tty: bool


def _truthy(v: str | None) -> bool:
    return (v or "").lower() in ("1", "t", "true")


def _status(message: str | None = None) -> bytes:
    body: dict[str, Any] = {"metadata": {}, "status": "Success"}
    if message is not None:
        body = {"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError", "code": 500}
    return bytes([ERROR]) + json.dumps(body).encode()


def connect_attach_socket(bundle: Path) -> socket.socket:
    """Connect to <bundle>/attach through /proc/self/fd (bundle paths can exceed sun_path's 108 bytes)."""
    dfd = os.open(bundle, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        try:
            s.connect(f"/proc/self/fd/{dfd}/attach")
        except OSError:
            s.close()
            raise
    finally:
        os.close(dfd)
    s.setblocking(False)
    return s


def resize_line(payload: bytes) -> bytes | None:
    """A channel-4 resize ({"Width":c,"Height":r}) as conmon's ctl message, None if unusable."""
    try:
        size = json.loads(payload)
        width, height = int(size["Width"]), int(size["Height"])
    except (ValueError, KeyError, TypeError):
        return None
    if not (0 <= width <= 1000 and 0 <= height <= 1000):   # conmon refuses others
        return None
    return f"1 {height} {width}\n".encode()


def write_ctl(bundle: Path, line: bytes) -> None:
    try:
        fd = os.open(bundle / "ctl", os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.write(fd, line)
    except OSError:
        pass
    finally:
        os.close(fd)


class Resizer:
    """Feeds resizes to conmon's ctl fifo one at a time.

    conmon relays each ctl line to its winsz fifo; when two lines sit in that fifo together,
    conmon 2.1.x applies the first one twice (read_from_ctrl_buffer hands every line the start
    of its buffer), so kubectl's "size + 1, then size" redraw trick would leave the terminal one
    row and column too big. Lines are spaced out, and the latest size is sent once more when
    resizing has settled, so the final size always wins.
    """

    GAP = 0.05
    SETTLE = 0.25

    def __init__(self, bundle: Path) -> None:
        self.bundle = bundle
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    def push(self, line: bytes) -> None:
        self.queue.put_nowait(line)
        if self.task is None:
            self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        last = b""
        while True:
            try:
                line = await asyncio.wait_for(self.queue.get(), self.SETTLE if last else None)
            except TimeoutError:
                write_ctl(self.bundle, last)   # settled: make sure the last size is the one applied
                last = b""
                continue
            write_ctl(self.bundle, line)
            last = line
            await asyncio.sleep(self.GAP)

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


async def run_attach(ws: web.WebSocketResponse, target: AttachTarget, *, want_stdin: bool, want_stdout: bool,
                     want_stderr: bool, connect: Callable[[Path], socket.socket] = connect_attach_socket) -> None:
    loop = asyncio.get_running_loop()
    v5 = ws.ws_protocol == "v5.channel.k8s.io"
    try:
        sock = connect(target.bundle)
    except OSError as exc:
        await ws.send_bytes(_status(f"unable to attach to container {target.container_id}: {exc.strerror or exc}"))
        return
    stdin_open = want_stdin and target.stdin
    resizer = Resizer(target.bundle)

    async def pump_out() -> None:
        while True:
            try:
                packet = await loop.sock_recv(sock, PACKET + 1)
            except OSError:
                return
            if not packet:
                return
            pipe, data = packet[0], packet[1:]
            if not data:
                continue
            if pipe == PIPE_STDOUT and want_stdout:
                await ws.send_bytes(bytes([STDOUT]) + data)
            elif pipe == PIPE_STDERR and want_stderr:
                await ws.send_bytes(bytes([STDERR]) + data)

    async def end_stdin() -> None:
        nonlocal stdin_open
        if stdin_open:
            stdin_open = False
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)

    async def feed() -> None:
        async for msg in ws:
            if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
                continue
            data = msg.data if isinstance(msg.data, bytes) else str(msg.data).encode()
            if len(data) < 1:
                continue
            channel, payload = data[0], data[1:]
            if channel == STDIN and stdin_open and payload:
                for i in range(0, len(payload), STDIN_CHUNK):
                    try:
                        await loop.sock_sendall(sock, payload[i:i + STDIN_CHUNK])
                    except OSError:
                        return
            elif channel == RESIZE and target.tty:
                line = resize_line(payload)
                if line is not None:
                    resizer.push(line)
            elif v5 and channel == CLOSE and payload[:1] == bytes([STDIN]):
                await end_stdin()

    out = asyncio.create_task(pump_out())
    feeder = asyncio.create_task(feed())
    try:
        done, _ = await asyncio.wait({out, feeder}, return_when=asyncio.FIRST_COMPLETED)
        if out not in done:
            # The client went away (its stream closed): end stdin as CRI-O does, then stop.
            await end_stdin()
            out.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await out
        if not ws.closed:
            await ws.send_bytes(_status())
    finally:
        feeder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeder
        out.cancel()
        await resizer.close()
        sock.close()


def _attach_options(request: web.Request) -> tuple[bool, bool, bool, bool]:
    q = request.query
    stdin, stdout, stderr, tty = (_truthy(q.get(k)) for k in ("stdin", "stdout", "stderr", "tty"))
    if not (stdin or stdout or stderr):
        raise BadRequest("you must specify at least 1 of stdin, stdout, stderr")
    return stdin, stdout, stderr and not tty, tty


async def handle(request: web.Request, namespace: str, name: str, lookup_pod: Callable[[str, str], dict[str, Any]],
                 target_of: Callable[[dict[str, Any], str], AttachTarget]) -> web.StreamResponse:
    """GET (WebSocket) …/namespaces/{namespace}/pods/{name}/attach?container=&stdin=&stdout=&stderr=&tty="""
    pod = lookup_pod(namespace, name)
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise BadRequest(f"cannot attach to a container in a completed pod; current phase is {phase}")
    names = [c["name"] for c in pod["spec"]["containers"]]
    container = request.query.get("container") or ""
    if not container:
        if len(names) != 1:
            raise BadRequest(f"a container name must be specified for pod {pod['metadata']['name']}, "
                             f"choose one of: [{' '.join(names)}]")
        container = names[0]
    if container not in names:
        raise BadRequest(f"container {container} is not valid for pod {pod['metadata']['name']}")
    stdin, stdout, stderr, tty = _attach_options(request)
    target = target_of(pod, container)       # BadRequest when the container is not running
    ws = web.WebSocketResponse(protocols=PROTOCOLS, autoping=True, heartbeat=None, max_msg_size=0)
    if not ws.can_prepare(request).ok:
        raise BadRequest("attach needs a WebSocket upgrade with subprotocol v5.channel.k8s.io or v4.channel.k8s.io")
    await ws.prepare(request)
    try:
        # stdinOnce needs nothing here: conmon runs without --leave-stdin-open and closes stdin itself.
        await run_attach(ws, target, want_stdin=stdin, want_stdout=stdout, want_stderr=stderr)
    finally:
        await ws.close()
    return ws
