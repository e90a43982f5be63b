"""Launch one container under conmon with CRI-O's protocol (sync pipe, start pipe, exit and persist dirs).

conmon double-forks: the process we spawn exits at once and the monitor lives on, re-parented to
the nearest subreaper. The only way to learn that the container exists is the sync pipe, which
receives `{"data": <pid>}` (or a negative value and a message) once `RUNTIME create` has run.
Before conmon proceeds we move it into its own cgroup (start pipe), so stopping the agent never
takes the containers down with it. conmon runs in the bundle dir, as CRI-O starts it (`cmd.Dir`):
it drops relative files there, e.g. the `oom` file its cgroup v1 OOM handler creates.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from podbay.errors import RuntimeFailure
from podbay.sys import children


@dataclass(frozen=True)
class ConmonPaths:
    bundle: Path
    persist_dir: Path       # conmon writes <persist>/exit (survives reboots: it lives under the state root)
    exit_dir: Path          # conmon writes <exit_dir>/<cid>; the agent watches it with inotify
    log_path: Path
    socket_dir: Path


@dataclass(frozen=True)
class Launched:
    conmon_pid: int
    pid: int


def conmon_argv(conmon: str, runtime: str, runtime_root: Path, cid: str, name: str, p: ConmonPaths, *,
                stdin: bool = False, stdin_once: bool = False, tty: bool = False) -> list[str]:
    """CRI-O's conmon flags; a container with `stdin` gets a stdin pipe (-i) kept open across attach
    sessions unless `stdinOnce`, one with `tty` a terminal (-t, the spec's process.terminal)."""
    argv = [
        conmon, "--api-version", "1",
        "-c", cid, "-u", cid, "-n", name,
        "-r", runtime, "-b", str(p.bundle),
        "-p", str(p.persist_dir / "pidfile"), "-P", str(p.persist_dir / "conmon.pid"),
        "-l", f"k8s-file:{p.log_path}",
        "--exit-dir", str(p.exit_dir), "--persist-dir", str(p.persist_dir),
        "--socket-dir-path", str(p.socket_dir),
        "--runtime-arg", "--root", "--runtime-arg", str(runtime_root),
        "--log-level", "error",
    ]
    if stdin:
        argv.append("--stdin")
        if not stdin_once:
            argv.append("--leave-stdin-open")
    if tty:
        argv.append("--terminal")
    return argv


def launch(argv: list[str], *, before_start: Callable[[int], None] | None = None,
           timeout: float = 30.0) -> Launched:
    """Spawn conmon, let before_start(conmon_pid) place it, then wait for the container pid."""
    sync_r, sync_w = os.pipe()
    start_r, start_w = os.pipe()
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TZ": "UTC",
           "_OCI_SYNCPIPE": str(sync_w), "_OCI_STARTPIPE": str(start_r)}
    try:
        proc = children.popen(argv, env=env, pass_fds=(sync_w, start_r), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                              cwd=argv[argv.index("-b") + 1])
    except OSError as exc:
        for fd in (sync_r, sync_w, start_r, start_w):
            os.close(fd)
        raise RuntimeFailure(f"cannot start conmon: {exc}", argv=argv) from exc
    os.close(sync_w)
    os.close(start_r)
    try:
        # conmon reads the start pipe before it daemonizes: the monitor it forks inherits the cgroup.
        if before_start is not None:
            before_start(proc.pid)
        os.write(start_w, b"0")
        os.close(start_w)
        start_w = -1
        pid = _read_sync(sync_r, argv, timeout)
        return Launched(conmon_pid=_wait_conmon_pid(proc, argv), pid=pid)
    finally:
        if start_w >= 0:
            os.close(start_w)
        os.close(sync_r)
        # Reap the short-lived first conmon process; never leak a zombie.
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        finally:
            children.release(proc)
        if proc.stderr:
            proc.stderr.close()


def _wait_conmon_pid(proc: subprocess.Popen[bytes], argv: list[str]) -> int:
    """conmon writes its monitor pid to -P before reading the start pipe; poll for the file."""
    pidfile = Path(argv[argv.index("-P") + 1])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            text = pidfile.read_text().strip()
            if text:
                return int(text)
        except (OSError, ValueError):
            pass
        if proc.poll() is not None and proc.returncode != 0:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeFailure(f"conmon exited with {proc.returncode}: {err.strip()[-400:]}", argv=argv,
                                 rc=proc.returncode, stderr=err)
        time.sleep(0.002)
    raise RuntimeFailure("conmon did not write its pid file", argv=argv)


def _read_sync(fd: int, argv: list[str], timeout: float) -> int:
    buf = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeFailure("timed out waiting for the container to be created", argv=argv)
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            raise RuntimeFailure(f"conmon closed the sync pipe without a pid: {buf.decode(errors='replace')}",
                                 argv=argv)
        buf += chunk
        while b"\n" in buf:
            line, _, buf = buf.partition(b"\n")
            if not line.strip():
                continue
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            pid = msg.get("data", msg.get("pid"))
            if isinstance(pid, int) and pid > 0:
                return pid
            raise RuntimeFailure(str(msg.get("message") or f"container create failed: {msg}"), argv=argv)
