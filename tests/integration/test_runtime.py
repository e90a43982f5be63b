"""Contract test of ContainerRuntime with real conmon + crun (runc when crun refuses hybrid cgroups).

Everything lives in tmp dirs (rootfs, bundles, runtime root, exit dir, logs); cgroups go under a
unique `podbay-test-<tag>` parent that is removed afterwards; processes are only ever killed by PID.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from podbay.core.ocispec import ContainerPlan, build_spec
from podbay.errors import RuntimeFailure
from podbay.runtime.conmon import Launched
from podbay.runtime.oci import OciRuntime
from podbay.runtime.service import ContainerRuntime
from podbay.sys import cgroups, procfs

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not (shutil.which("conmon") and shutil.which("busybox")), reason="needs conmon + busybox"),
]

PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_chosen: dict[str, str] = {}   # the runtime binary that works on this host, probed once


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only busybox rootfs: the static host busybox plus applet symlinks."""
    root = tmp_path_factory.mktemp("rootfs")
    for d in ("bin", "proc", "sys", "dev", "tmp", "etc"):
        (root / d).mkdir()
    busybox = Path(shutil.which("busybox") or "/bin/busybox")
    shutil.copy2(busybox, root / "bin" / "busybox")
    for applet in ("sh", "sleep", "echo", "true", "cat"):
        (root / "bin" / applet).symlink_to("busybox")
    return root


@dataclass
class Env:
    rt: ContainerRuntime
    tag: str
    rootfs: Path
    logs: Path
    launched: dict[str, Launched] = field(default_factory=dict)

    def spec(self, cid: str, script: str) -> dict[str, Any]:
        plan = ContainerPlan(
            container_id=cid, pod={"metadata": {"name": "rt", "namespace": "default", "uid": self.tag}},
            container={"name": cid}, argv=["/bin/sh", "-c", script], env=[PATH_ENV], rootfs=str(self.rootfs),
            cgroups_path=f"/podbay-test-{self.tag}/{cid}", readonly_rootfs=True,
        )
        return build_spec(plan)

    def start(self, cid: str, script: str) -> Launched:
        launched = self.rt.create_and_start(cid, cid, self.spec(cid, script), self.logs / f"{cid}.log")
        self.launched[cid] = launched
        return launched


def _runtime(binary: str, base: Path, short: Path, tag: str) -> ContainerRuntime:
    return ContainerRuntime(OciRuntime(binary, base / "oci-root"), shutil.which("conmon") or "conmon",
                            base / "containers", base / "exits", short / "sock",
                            conmon_cgroup=f"podbay-test-{tag}/conmon")


def _pick_binary(base: Path, short: Path, tag: str, rootfs: Path) -> str:
    """crun if it runs containers here, else runc (crun 1.8 refuses cgroup v1/v2 hybrid hosts)."""
    if "binary" in _chosen:
        return _chosen["binary"]
    candidates = [b for b in (shutil.which("crun"), shutil.which("runc")) if b]
    if not candidates:
        pytest.skip("no OCI runtime installed")
    for binary in candidates:
        env = Env(_runtime(binary, base / "probe", short, tag), tag, rootfs, base / "logs")
        try:
            env.start("probe", "true")
        except RuntimeFailure as exc:
            if "hybrid mode" not in str(exc) or binary == candidates[-1]:
                raise
            continue
        finally:
            _cleanup(env)
        _chosen["binary"] = binary
        return binary
    raise AssertionError("unreachable")


def _wait(pred: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return False


def _gone(pid: int, timeout: float) -> bool:
    return _wait(lambda: not procfs.is_alive(pid, None), timeout)


def _exited(rt: ContainerRuntime, cid: str, timeout: float) -> bool:
    return _wait(lambda: rt.exit_info(cid) is not None, timeout)


def _cleanup(env: Env) -> None:
    """Kill (by PID) and remove every container this env started, then its cgroups."""
    for cid, launched in env.launched.items():
        if env.rt.exit_info(cid) is None:
            env.rt.oci.kill(cid, signal.SIGKILL, all_processes=True)
            _exited(env.rt, cid, 5)
        if not _gone(launched.conmon_pid, 5):
            with contextlib.suppress(ProcessLookupError):
                os.kill(launched.conmon_pid, signal.SIGKILL)
        with contextlib.suppress(RuntimeFailure):
            env.rt.remove(cid)
    env.launched.clear()


@pytest.fixture
def env(tmp_path: Path, rootfs: Path) -> Iterator[Env]:
    tag = uuid.uuid4().hex[:8]
    short = Path(tempfile.mkdtemp(prefix="pbrt-"))  # conmon's attach socket path must stay < 108 bytes
    try:
        binary = _pick_binary(tmp_path, short, tag, rootfs)
        e = Env(_runtime(binary, tmp_path, short, tag), tag, rootfs, tmp_path / "logs")
        try:
            yield e
        finally:
            _cleanup(e)
    finally:
        # conmon may linger a moment after its container; its cgroup empties when it is gone.
        _wait(lambda: not cgroups.remove_tree(f"podbay-test-{tag}"), 5)
        leftover = cgroups.remove_tree(f"podbay-test-{tag}")
        shutil.rmtree(short, ignore_errors=True)
        assert leftover == [], f"cgroups left behind: {leftover}"


def test_exit_code_logs_and_remove(env: Env) -> None:
    cid = f"c-{env.tag}"
    launched = env.start(cid, "echo out; echo err >&2; exit 3")
    assert launched.pid > 0 and launched.conmon_pid > 0

    assert _exited(env.rt, cid, 5), "no exit code within 5 s"
    info = env.rt.exit_info(cid)
    assert info is not None and info.code == 3
    assert abs(info.finished_at - time.time()) < 30
    assert (env.rt.exit_dir / cid).read_text().strip() == "3"

    assert _gone(launched.conmon_pid, 5), "conmon did not exit"
    log = (env.logs / f"{cid}.log").read_text()
    ts = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d)"
    assert re.search(rf"^{ts} stdout F out$", log, re.M), log
    assert re.search(rf"^{ts} stderr F err$", log, re.M), log

    assert env.rt.oci.state(cid) is not None
    env.rt.remove(cid)
    env.launched.pop(cid)
    assert not env.rt.container_dir(cid).exists()
    assert not (env.rt.exit_dir / cid).exists()
    assert env.rt.oci.state(cid) is None
    assert not (env.rt.oci.root / cid).exists()
    env.rt.remove(cid)  # idempotent


def test_stop_with_sigterm_handler_exits_143(env: Env) -> None:
    cid = f"t-{env.tag}"
    # PID 1 of a PID namespace ignores default-action signals: the script handles TERM itself.
    launched = env.start(cid, "trap 'exit 143' TERM; sleep 100 & wait")
    assert env.rt.is_running(launched.conmon_pid, None)
    time.sleep(0.2)  # let the shell install its trap
    t0 = time.monotonic()
    info = env.rt.stop(cid, grace=1, conmon_pid=launched.conmon_pid)
    elapsed = time.monotonic() - t0
    assert info is not None and info.code == 143
    assert elapsed < 1.0, f"took {elapsed:.2f}s: SIGTERM was not delivered before the grace period"


def test_stop_escalates_to_sigkill_when_term_is_ignored(env: Env) -> None:
    cid = f"k-{env.tag}"
    launched = env.start(cid, "trap '' TERM; sleep 100")
    time.sleep(0.2)
    t0 = time.monotonic()
    info = env.rt.stop(cid, grace=1, conmon_pid=launched.conmon_pid)
    elapsed = time.monotonic() - t0
    assert info is not None and info.code == 137
    assert 1.0 <= elapsed < 4.0, f"stop took {elapsed:.2f}s"
    assert not procfs.is_alive(launched.conmon_pid, None)


def test_conmon_lives_in_its_own_cgroup(env: Env) -> None:
    cid = f"g-{env.tag}"
    launched = env.start(cid, "sleep 100")

    def memory_cgroup(pid: int | str) -> str:
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if "memory" in controllers.split(","):
                return path
        raise AssertionError(f"no memory cgroup for {pid}")

    assert memory_cgroup(launched.conmon_pid) == f"/podbay-test-{env.tag}/conmon"
    assert memory_cgroup(launched.conmon_pid) != memory_cgroup("self")
    assert memory_cgroup(launched.pid) == f"/podbay-test-{env.tag}/{cid}"
    info = env.rt.stop(cid, grace=0, conmon_pid=launched.conmon_pid)
    assert info is not None and info.code == 137
