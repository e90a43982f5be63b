"""pods/{name}/exec over WebSocket (channel.k8s.io v5/v4): run `crun|runc exec` and pump its stdio.

`crun exec` is owned by asyncio's child watcher (the agent's podbay.sys.children watcher, so the
reaper never takes its status); what it leaves behind is re-parented to the agent and reaped there.
A handler that ends early (client gone, agent stopping) kills and waits for its `crun exec`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
from typing import Any

from aiohttp import WSMsgType, web

from podbay.agent.pods import PodService
from podbay.errors import BadRequest

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4


def _truthy(v: str | None) -> bool:
    return (v or "").lower() in ("1", "t", "true")


def _running_container(pods: PodService, pod: dict[str, Any], name: str | None) -> str:
    names = [c["name"] for c in pod["spec"]["containers"]]
    name = name or names[0]
    recs = [r for r in pods.deps.store.containers(pod["metadata"]["uid"]) if r.name == name]
    if not recs:
        raise BadRequest(f'container {name} is not valid for pod {pod["metadata"]["name"]}')
    latest = max(recs, key=lambda r: r.attempt)
    if latest.state != "running":
        raise BadRequest(f"unable to upgrade connection: container not found (\"{name}\")")
    return latest.id


def _status(code: int) -> bytes:
    if code == 0:
        body: dict[str, Any] = {"metadata": {}, "status": "Success"}
    else:
        body = {"metadata": {}, "status": "Failure",
                "message": f"command terminated with non-zero exit code: error executing command, exit status {code}",
                "reason": "NonZeroExitCode",
                "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}
    return bytes([ERROR]) + json.dumps(body).encode()


async def handle(request: web.Request, pods: PodService, namespace: str, name: str) -> web.StreamResponse:
    q = request.query
    pod = pods.get(namespace, name)
    if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
        raise BadRequest("cannot exec into a container in a completed pod; current phase is "
                         f"{pod['status']['phase']}")
    cid = _running_container(pods, pod, q.get("container"))
    argv = q.getall("command", [])
    if not argv:
        raise BadRequest("you must specify at least one command for the container")
    tty = _truthy(q.get("tty"))
    want_stdin = _truthy(q.get("stdin"))
    ws = web.WebSocketResponse(protocols=PROTOCOLS, autoping=True, heartbeat=None)
    ready = ws.can_prepare(request)
    if not ready.ok or ready.protocol not in PROTOCOLS:
        # An upgrade offering none of the served subprotocols is refused, not served as something else.
        raise BadRequest("exec needs a WebSocket upgrade with subprotocol v5.channel.k8s.io or v4.channel.k8s.io")
    await ws.prepare(request)
    v5 = ws.ws_protocol == "v5.channel.k8s.io"
    try:
        cmd, process_file = pods.deps.runtime.exec_argv(cid, list(argv), tty=tty)
    except OSError:   # the container exited (and was cleaned up) between the lookup and now
        await ws.send_bytes(bytes([ERROR]) + json.dumps({"metadata": {}, "status": "Failure",
                                                         "message": "container not found"}).encode())
        await ws.close()
        return ws
    try:
        code = await (_run_tty(ws, cmd) if tty else _run_pipes(ws, cmd, want_stdin, v5))
    finally:
        process_file.unlink(missing_ok=True)
    await ws.send_bytes(_status(code))
    await ws.close()
    return ws


async def _run_pipes(ws: web.WebSocketResponse, cmd: list[str], want_stdin: bool, v5: bool) -> int:
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdin=asyncio.subprocess.PIPE if want_stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)

    async def pump(stream: asyncio.StreamReader | None, channel: int) -> None:
        assert stream is not None
        while chunk := await stream.read(32768):
            await ws.send_bytes(bytes([channel]) + chunk)

    async def feed() -> None:
        async for msg in ws:
            if msg.type != WSMsgType.BINARY and msg.type != WSMsgType.TEXT:
                continue
            data = msg.data if isinstance(msg.data, bytes) else msg.data.encode()
            if not data:
                continue
            if data[0] == STDIN and proc.stdin is not None:
                proc.stdin.write(data[1:])
                with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                    await proc.stdin.drain()
            elif v5 and data[0] == 255 and len(data) > 1 and data[1] == STDIN and proc.stdin is not None:
                proc.stdin.close()

    feeder = asyncio.create_task(feed())
    try:
        await asyncio.gather(pump(proc.stdout, STDOUT), pump(proc.stderr, STDERR))
        return await proc.wait()
    finally:
        feeder.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeder
        await _ended(proc)


async def _run_tty(ws: web.WebSocketResponse, cmd: list[str]) -> int:
    master, slave = pty.openpty()
    proc = await asyncio.create_subprocess_exec(*cmd, stdin=slave, stdout=slave, stderr=slave,
                                                start_new_session=True)
    os.close(slave)
    loop = asyncio.get_running_loop()
    out: asyncio.Queue[bytes] = asyncio.Queue()

    def readable() -> None:
        try:
            data = os.read(master, 32768)
        except OSError:
            data = b""
        out.put_nowait(data)
        if not data:
            loop.remove_reader(master)

    loop.add_reader(master, readable)

    async def pump() -> None:
        while data := await out.get():
            await ws.send_bytes(bytes([STDOUT]) + data)

    async def feed() -> None:
        async for msg in ws:
            data = msg.data if isinstance(msg.data, bytes) else str(msg.data).encode()
            if data and data[0] == STDIN:
                os.write(master, data[1:])
            elif data and data[0] == RESIZE:
                with contextlib.suppress(ValueError, OSError):
                    size = json.loads(data[1:])
                    import fcntl
                    import struct
                    import termios
                    fcntl.ioctl(master, termios.TIOCSWINSZ,
                                struct.pack("HHHH", int(size["Height"]), int(size["Width"]), 0, 0))

    pumper = asyncio.create_task(pump())
    feeder = asyncio.create_task(feed())
    try:
        code = await proc.wait()
        await asyncio.sleep(0.05)
        out.put_nowait(b"")
        await pumper
        return code
    finally:
        for task in (feeder, pumper):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        loop.remove_reader(master)
        os.close(master)
        await _ended(proc)


async def _ended(proc: asyncio.subprocess.Process) -> None:
    """Kill and reap `crun exec` if the handler ends before it did (shielded: it runs on cancellation)."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(proc.wait())
