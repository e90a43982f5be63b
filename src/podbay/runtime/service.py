"""Container lifecycle on top of conmon + an OCI runtime. Synchronous; the agent calls it in threads.

Identity and idempotence: one container id per attempt; the bundle lives at
`<containers_dir>/<cid>/` (config.json, persist dir `userdata/` with conmon's `exit` file).
The bundle is root-only (dirs 0700, config.json 0600): the spec carries the container's environment,
secrets referenced from env included.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podbay.errors import MountFailure, RuntimeFailure
from podbay.runtime.conmon import ConmonPaths, Launched, conmon_argv, launch
from podbay.runtime.oci import OciRuntime
from podbay.sys import cgroups, procfs
from podbay.sys.fileio import atomic_write, remove_tree
from podbay.sys.mount import mounts_under

log = logging.getLogger("podbay.runtime")

BUNDLE_DIR_MODE = 0o700
BUNDLE_FILE_MODE = 0o600
STOPPED = "stopped"
# CRI-O's annotations for a container's stdin settings (the OCI spec has no field for them).
STDIN_ANNOTATION = "io.kubernetes.cri-o.Stdin"
STDIN_ONCE_ANNOTATION = "io.kubernetes.cri-o.StdinOnce"


@dataclass(frozen=True)
class ExitInfo:
    code: int | None
    finished_at: float


class ContainerRuntime:
    def __init__(self, oci: OciRuntime, conmon: str, containers_dir: Path, exit_dir: Path, socket_dir: Path,
                 conmon_cgroup: str = "podbay/conmon") -> None:
        self.oci = oci
        self.conmon = conmon
        self.containers_dir = containers_dir
        self.exit_dir = exit_dir
        self.socket_dir = socket_dir
        self.conmon_cgroup = conmon_cgroup
        # cid -> (config.json's (inode, mtime), its process spec): an exec probe every few seconds
        # per container need not re-read and re-parse the bundle's config each time.
        self._process: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}
        # cid -> argv key -> the config.json stamp its kept process file was written from
        self._exec_files: dict[str, dict[str, tuple[int, int]]] = {}
        for d in (containers_dir, exit_dir, socket_dir):
            d.mkdir(parents=True, exist_ok=True, mode=BUNDLE_DIR_MODE)
        os.chmod(containers_dir, BUNDLE_DIR_MODE)   # an older agent made it 0755

    def container_dir(self, cid: str) -> Path:
        return self.containers_dir / cid

    def _paths(self, cid: str, log_path: Path) -> ConmonPaths:
        cdir = self.container_dir(cid)
        return ConmonPaths(bundle=cdir, persist_dir=cdir / "userdata", exit_dir=self.exit_dir, log_path=log_path,
                           socket_dir=self.socket_dir)

    def create(self, cid: str, name: str, spec: dict, log_path: Path) -> Launched:
        """Write the bundle and run conmon (-> runtime create): the process exists but waits for start."""
        paths = self._paths(cid, log_path)
        paths.bundle.mkdir(parents=True, exist_ok=True, mode=BUNDLE_DIR_MODE)
        os.chmod(paths.bundle, BUNDLE_DIR_MODE)   # the caller may have made it already (rootfs mount)
        paths.persist_dir.mkdir(exist_ok=True, mode=BUNDLE_DIR_MODE)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            (self.exit_dir / cid).unlink()
        atomic_write(paths.bundle / "config.json", json.dumps(spec).encode(), BUNDLE_FILE_MODE)
        anns = spec.get("annotations") or {}
        argv = conmon_argv(self.conmon, self.oci.binary, self.oci.root, cid, name, paths,
                           stdin=anns.get(STDIN_ANNOTATION) == "true",
                           stdin_once=anns.get(STDIN_ONCE_ANNOTATION) == "true",
                           tty=bool((spec.get("process") or {}).get("terminal")))
        return launch(argv, before_start=lambda pid: cgroups.move_to(pid, self.conmon_cgroup))

    def start(self, cid: str) -> None:
        """runtime start; on failure the created container is killed and deleted — unless the runtime
        says it runs: a start still in flight from an agent killed mid-start won the race (it consumed
        the exec fifo), and that container is healthy (issue 11 item 13)."""
        try:
            self.oci.start(cid)
        except RuntimeFailure:
            state = self.oci.state(cid)
            if state is not None and state.get("status") == "running":
                return
            self.oci.kill(cid, signal.SIGKILL, all_processes=True)
            self.oci.delete(cid)
            raise

    def create_and_start(self, cid: str, name: str, spec: dict, log_path: Path) -> Launched:
        launched = self.create(cid, name, spec, log_path)
        self.start(cid)
        return launched

    def exit_info(self, cid: str) -> ExitInfo | None:
        """The exit code conmon recorded (persist dir first: it survives reboots), or None if still running."""
        for f in (self.container_dir(cid) / "userdata" / "exit", self.exit_dir / cid):
            try:
                text = f.read_text().strip()
                mtime = f.stat().st_mtime
            except OSError:
                continue
            if text:
                try:
                    return ExitInfo(int(text), mtime)
                except ValueError:
                    return ExitInfo(None, mtime)
        return None

    def oom_killed(self, cid: str) -> bool:
        """conmon watches the container's memory cgroup and drops an `oom` file in its persist dir."""
        return (self.container_dir(cid) / "userdata" / "oom").exists()

    def is_running(self, conmon_pid: int | None, conmon_start: int | None) -> bool:
        return procfs.is_alive(conmon_pid, conmon_start)

    def signal(self, cid: str, sig: int) -> bool:
        return self.oci.kill(cid, sig, all_processes=True)

    def stop(self, cid: str, grace: float, conmon_pid: int | None = None) -> ExitInfo | None:
        """SIGTERM, wait up to grace, then SIGKILL; returns the exit info once conmon has written it.

        Never waits for what cannot come: with conmon gone (or, when its pid is unknown, with the
        runtime reporting no live process) no exit file will ever appear, so the wait ends at once.
        """
        if self.exit_info(cid) is None:
            if grace > 0 and self.oci.kill(cid, signal.SIGTERM):
                self._wait_exit(cid, grace, conmon_pid)
            if self.exit_info(cid) is None:
                self.oci.kill(cid, signal.SIGKILL, all_processes=True)
                self._wait_exit(cid, 10.0, conmon_pid)
        if conmon_pid:
            self._wait_conmon(conmon_pid, 2.0)
        return self.exit_info(cid)

    def has_process(self, cid: str) -> bool:
        """Whether the runtime still knows a live (created, running or paused) process for cid."""
        state = self.oci.state(cid)
        return state is not None and state.get("status") != STOPPED

    def _wait_exit(self, cid: str, timeout: float, conmon_pid: int | None = None) -> None:
        deadline = time.monotonic() + timeout
        delay = 0.002
        probe_at = time.monotonic() + 0.05
        while time.monotonic() < deadline:
            if self.exit_info(cid) is not None:
                return
            if conmon_pid:
                if not procfs.is_alive(conmon_pid, None):
                    return   # conmon writes the exit file before it exits: nothing more will come
            elif time.monotonic() >= probe_at:
                if not self.has_process(cid):
                    return
                probe_at = time.monotonic() + 0.05
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _wait_conmon(self, pid: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            procfs.reap_if_child(pid)
            if procfs.state(pid) in (None, "Z", "X"):
                procfs.reap_if_child(pid)
                return
            time.sleep(0.005)

    def attach_dir(self, cid: str) -> Path:
        """Where conmon put the container's `attach` socket and `ctl` fifo (the bundle)."""
        return self.container_dir(cid)

    def exec_argv(self, cid: str, argv: list[str], *, tty: bool) -> tuple[list[str], Path]:
        """`runtime exec --process F`: the container's own process spec (user, groups, env, cwd,
        capabilities, no_new_privs, rlimits) with argv swapped in, as CRI-O runs exec. The caller
        deletes the returned process file when the exec ends."""
        process = self._exec_process(cid, argv, tty)
        fd, path = tempfile.mkstemp(prefix="exec-", suffix=".json", dir=self.container_dir(cid))
        with os.fdopen(fd, "w") as f:
            json.dump(process, f)
        cmd = [*self.oci.base(), "exec", "--process", path]
        if tty:
            cmd.append("--tty")
        return [*cmd, cid], Path(path)

    def exec_argv_kept(self, cid: str, argv: list[str]) -> list[str]:
        """exec_argv for a command run again and again (probes, hooks): one process file per container
        and argv, written once (again if config.json changes) and kept with the bundle, instead of a
        new file per run. No terminal."""
        key = hashlib.sha256(json.dumps(argv).encode()).hexdigest()[:20]
        path = self.container_dir(cid) / f"exec-kept-{key}.json"
        stamp = self._config_stamp(cid)
        kept = self._exec_files.setdefault(cid, {})
        if kept.get(key) != stamp:
            atomic_write(path, json.dumps(self._exec_process(cid, argv, False)).encode(), 0o600)
            kept[key] = stamp
        return [*self.oci.base(), "exec", "--process", str(path), cid]

    def _exec_process(self, cid: str, argv: list[str], tty: bool) -> dict[str, Any]:
        process = dict(self._process_spec(cid))
        process["args"] = list(argv)
        process["terminal"] = tty
        process.pop("consoleSize", None)
        return process

    def _config_stamp(self, cid: str) -> tuple[int, int]:
        st = (self.container_dir(cid) / "config.json").stat()
        return (st.st_ino, st.st_mtime_ns)

    def _process_spec(self, cid: str) -> dict[str, Any]:
        """The bundle's ``process`` (cached while config.json is the same file, unchanged)."""
        path = self.container_dir(cid) / "config.json"
        stamp = self._config_stamp(cid)
        hit = self._process.get(cid)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        process = dict(json.loads(path.read_text())["process"])
        self._process[cid] = (stamp, process)
        return process

    def remove(self, cid: str) -> None:
        """runtime delete + drop the bundle and conmon's attach link. The rootfs must be unmounted by
        the caller first. Idempotent."""
        self._process.pop(cid, None)
        self._exec_files.pop(cid, None)
        self.oci.delete(cid)
        if mounts_under(str(self.container_dir(cid))):
            raise RuntimeFailure(f"container {cid}: its rootfs is still mounted; refusing to remove the bundle")
        with contextlib.suppress(FileNotFoundError):
            (self.exit_dir / cid).unlink()
        # conmon links <socket dir>/<cid> -> the bundle (a short path for the attach socket): unlink the
        # link itself; shutil.rmtree refuses symlinks, and ignore_errors used to hide that, one per container.
        for path in (self.socket_dir / cid, self.container_dir(cid)):
            try:
                remove_tree(path)
            except (OSError, MountFailure) as exc:
                log.warning("container %s: cannot remove %s: %s", cid[:12], path, exc)
