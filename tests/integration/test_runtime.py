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
import stat
import subprocess
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
    for applet in ("sh", "sleep", "echo", "true", "cat", "grep", "unshare", "ls", "mkdir"):
        (root / "bin" / applet).symlink_to("busybox")
    build_seccomp_probe(root / "bin" / "probe")
    return root


PROBE_SOURCE = Path(__file__).resolve().parents[1] / "data" / "seccomp_probe.c"


def build_seccomp_probe(out: Path) -> bool:
    """The libc-free syscall probe (tests/data/seccomp_probe.c); False without gcc."""
    gcc = shutil.which("gcc")
    if not gcc:
        return False
    subprocess.run([gcc, "-nostdlib", "-static", "-O1", "-fno-builtin", "-fno-stack-protector", "-fno-pie",
                    "-no-pie", "-o", str(out), str(PROBE_SOURCE)], check=True, capture_output=True)
    return True


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


# --- issue 11: hardening ------------------------------------------------------------------------


def _available_runtimes(rootfs: Path, tmp: Path) -> list[str]:
    """Every installed OCI runtime that runs containers on this host (crun needs hugetlb on v1)."""
    out = []
    for binary in (shutil.which("crun"), shutil.which("runc")):
        if not binary:
            continue
        tag = uuid.uuid4().hex[:8]
        short = Path(tempfile.mkdtemp(prefix="pbrt-"))
        env = Env(_runtime(binary, tmp / f"probe-{Path(binary).name}", short, tag), tag, rootfs, tmp / "logs")
        try:
            env.start("probe", "true")
            out.append(binary)
        except RuntimeFailure:
            pass
        finally:
            _cleanup(env)
            _wait(lambda t=tag: not cgroups.remove_tree(f"podbay-test-{t}"), 5)   # type: ignore[misc]
            shutil.rmtree(short, ignore_errors=True)
    return out


@pytest.fixture(scope="module")
def runtimes(rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    found = _available_runtimes(rootfs, tmp_path_factory.mktemp("probe"))
    if not found:
        pytest.skip("no OCI runtime runs containers here")
    return found


@contextlib.contextmanager
def _env_with(binary: str, base: Path, rootfs: Path) -> Iterator[Env]:
    tag = uuid.uuid4().hex[:8]
    short = Path(tempfile.mkdtemp(prefix="pbrt-"))
    e = Env(_runtime(binary, base, short, tag), tag, rootfs, base / "logs")
    try:
        yield e
    finally:
        _cleanup(e)
        _wait(lambda: not cgroups.remove_tree(f"podbay-test-{tag}"), 5)
        shutil.rmtree(short, ignore_errors=True)
        assert cgroups.remove_tree(f"podbay-test-{tag}") == []


def _run_to_exit(env: Env, cid: str, spec: dict[str, Any]) -> tuple[int | None, str]:
    """Run one container to its exit; (exit code, its stdout+stderr lines without the CRI prefix)."""
    launched = env.rt.create_and_start(cid, cid, spec, env.logs / f"{cid}.log")
    env.launched[cid] = launched
    assert _exited(env.rt, cid, 10), "container did not exit"
    info = env.rt.exit_info(cid)
    text = ""
    for line in (env.logs / f"{cid}.log").read_text().splitlines():   # CRI format: P(artial) / F(ull) lines
        _ts, _stream, tag, *msg = line.split(" ", 3)
        text += (msg[0] if msg else "") + ("\n" if tag == "F" else "")
    return (info.code if info else None), text


SECCOMP_PROBE = ("grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; "
                 "unshare -m true 2>&1; echo unshare=$?; ls / >/dev/null && echo ls-ok")


def _spec_with(env: Env, cid: str, script: str, security: dict[str, Any],
               localhost: dict[str, Any] | None = None) -> dict[str, Any]:
    plan = ContainerPlan(
        container_id=cid, pod={"metadata": {"name": "rt", "namespace": "default", "uid": env.tag}},
        container={"name": cid, "securityContext": security}, argv=["/bin/sh", "-c", script],
        env=[PATH_ENV], rootfs=str(env.rootfs), cgroups_path=f"/podbay-test-{env.tag}/{cid}",
        readonly_rootfs=True, seccomp_localhost=localhost)
    return build_spec(plan)


def test_runtime_default_seccomp_loads_in_every_runtime(runtimes: list[str], tmp_path: Path, rootfs: Path) -> None:
    """Item 2: crun and runc both load podbay's RuntimeDefault profile: Seccomp 2 (filter), namespace
    creation refused with EPERM, ordinary work unaffected; allowPrivilegeEscalation false sets no_new_privs."""
    for binary in runtimes:
        with _env_with(binary, tmp_path / Path(binary).name, rootfs) as env:
            code, out = _run_to_exit(env, f"sc-{env.tag}", _spec_with(
                env, f"sc-{env.tag}", SECCOMP_PROBE,
                {"seccompProfile": {"type": "RuntimeDefault"}, "allowPrivilegeEscalation": False}))
            assert code == 0, out
            assert "Seccomp:\t2" in out and "NoNewPrivs:\t1" in out, (binary, out)
            assert "Operation not permitted" in out and "unshare=1" in out, (binary, out)
            assert "ls-ok" in out, (binary, out)
            if (env.rootfs / "bin" / "probe").exists():
                # The allow-list: unknown -> ENOSYS (-38), keyrings -> EPERM (-1), clone3 -> ENOSYS (glibc
                # falls back to clone), personality only for the usual personas; ordinary calls work.
                code, out = _run_to_exit(env, f"pr-{env.tag}", _spec_with(
                    env, f"pr-{env.tag}", "/bin/probe", {"seccompProfile": {"type": "RuntimeDefault"}}))
                assert out.split() == ["io_uring_setup=-38", "add_key=-1", "clone3=-38", "personality=-38",
                                       "getppid_ok=1"], (binary, out)
            # Unconfined (the Kubernetes default): no filter, and no no_new_privs unless asked for.
            code, out = _run_to_exit(env, f"un-{env.tag}", _spec_with(env, f"un-{env.tag}", SECCOMP_PROBE, {}))
            assert "Seccomp:\t0" in out and "NoNewPrivs:\t0" in out, (binary, out)
            if (env.rootfs / "bin" / "probe").exists():
                code, out = _run_to_exit(env, f"pu-{env.tag}", _spec_with(env, f"pu-{env.tag}", "/bin/probe", {}))
                assert "io_uring_setup=-38" not in out and "personality=0" in out, (binary, out)


def test_localhost_seccomp_profile_applies(runtimes: list[str], tmp_path: Path, rootfs: Path) -> None:
    """A Localhost profile (Docker format: archMap, `name`) that denies mkdir with EACCES."""
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]}],
               "syscalls": [{"name": "mkdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                            {"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
    with _env_with(runtimes[0], tmp_path, rootfs) as env:
        code, out = _run_to_exit(env, f"lh-{env.tag}", _spec_with(
            env, f"lh-{env.tag}", "grep '^Seccomp:' /proc/self/status; mkdir /tmp/x 2>&1; echo rc=$?",
            {"seccompProfile": {"type": "Localhost", "localhostProfile": "deny-mkdir.json"}}, profile))
        assert "Seccomp:\t2" in out and "Permission denied" in out and "rc=1" in out, out


def test_bundle_is_root_only(env: Env) -> None:
    """Item 3: the spec holds the environment (secrets from env too): config.json 0600, dirs 0700."""
    cid = f"m-{env.tag}"
    spec = env.spec(cid, "true")
    spec["process"]["env"].append("API_TOKEN=s3cr3t")
    env.launched[cid] = env.rt.create_and_start(cid, cid, spec, env.logs / f"{cid}.log")
    cdir = env.rt.container_dir(cid)
    assert "s3cr3t" in (cdir / "config.json").read_text()
    assert stat.S_IMODE(os.stat(cdir / "config.json").st_mode) == 0o600
    for d in (env.rt.containers_dir, cdir, cdir / "userdata"):
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700, d


def test_remove_drops_the_attach_symlink(env: Env) -> None:
    """Item 12: conmon links <socket dir>/<cid> to the bundle; remove() unlinks it (rmtree skipped it)."""
    cid = f"a-{env.tag}"
    env.start(cid, "true")
    assert _exited(env.rt, cid, 5)
    link = env.rt.socket_dir / cid
    assert link.is_symlink()
    env.rt.remove(cid)
    env.launched.pop(cid)
    assert not os.path.lexists(link)
    assert not any(p.is_symlink() for p in env.rt.socket_dir.iterdir())


def test_conmon_runs_in_the_bundle_so_oom_files_land_there(env: Env, tmp_path: Path) -> None:
    """conmon's cgroup v1 OOM handler creates a relative `oom` file: its cwd must be the bundle, not
    the agent's (a stray `oom` appeared at the repository root)."""
    cid = f"o-{env.tag}"
    spec = env.spec(cid, "sleep 100")
    launched = env.rt.create_and_start(cid, cid, spec, env.logs / f"{cid}.log")
    env.launched[cid] = launched
    assert os.readlink(f"/proc/{launched.conmon_pid}/cwd") == str(env.rt.container_dir(cid))


def test_stop_of_a_container_without_process_does_not_wait(env: Env) -> None:
    """Item 14: an orphaned bundle whose container the runtime does not know is stopped at once (no
    10 s wait for an exit file no conmon will ever write)."""
    cid = f"x-{env.tag}"
    env.rt.container_dir(cid).mkdir(parents=True)
    t0 = time.monotonic()
    assert env.rt.stop(cid, 0) is None
    assert time.monotonic() - t0 < 1.0
    # A created container whose conmon is gone: the runtime still knows it, killing it ends the wait.
    cid2 = f"y-{env.tag}"
    launched = env.rt.create(cid2, cid2, env.spec(cid2, "sleep 100"), env.logs / f"{cid2}.log")
    env.launched[cid2] = launched
    t0 = time.monotonic()
    env.rt.stop(cid2, 0)
    assert time.monotonic() - t0 < 5.0
    assert not env.rt.has_process(cid2)
