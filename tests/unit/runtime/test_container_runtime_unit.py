"""ContainerRuntime against a fake OCI runtime (no root): stop never waits for what cannot come
(issue 11 item 14), remove drops conmon's attach link and never follows it (item 12), bundle modes (item 3)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from podbay.runtime.service import ContainerRuntime


class FakeOci:
    """The crun/runc command line, in memory: cid -> status."""

    binary = "/usr/bin/crun"
    name = "crun"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.status: dict[str, str] = {}
        self.signals: list[tuple[str, int]] = []
        self.on_kill: dict[str, str] = {}   # cid -> status after SIGKILL

    def state(self, cid: str) -> dict[str, Any] | None:
        return {"id": cid, "status": self.status[cid]} if cid in self.status else None

    def kill(self, cid: str, sig: int = signal.SIGTERM, *, all_processes: bool = False) -> bool:
        self.signals.append((cid, int(sig)))
        if self.status.get(cid) not in ("running", "created"):
            return False
        if sig == signal.SIGKILL and cid in self.on_kill:
            self.status[cid] = self.on_kill[cid]
        return True

    def delete(self, cid: str) -> None:
        self.status.pop(cid, None)

    def base(self) -> list[str]:
        return [self.binary, "--root", str(self.root)]


@pytest.fixture
def rt(tmp_path: Path) -> ContainerRuntime:
    return ContainerRuntime(FakeOci(tmp_path / "oci"), "/usr/bin/conmon", tmp_path / "containers",  # type: ignore[arg-type]
                            tmp_path / "exits", tmp_path / "attach")


def timed(fn: Any, *args: Any) -> float:
    t0 = time.monotonic()
    fn(*args)
    return time.monotonic() - t0


def test_stop_of_a_container_the_runtime_does_not_know_returns_at_once(rt: ContainerRuntime) -> None:
    rt.container_dir("orphan").mkdir(parents=True)
    assert timed(rt.stop, "orphan", 0) < 0.5            # was 10 s: the exit file never comes


def test_stop_of_a_stopped_container_without_conmon_returns_at_once(rt: ContainerRuntime) -> None:
    oci: FakeOci = rt.oci  # type: ignore[assignment]
    oci.status["s"] = "stopped"
    assert timed(rt.stop, "s", 30) < 0.5


def test_stop_ends_when_the_killed_container_is_gone(rt: ContainerRuntime) -> None:
    oci: FakeOci = rt.oci  # type: ignore[assignment]
    oci.status["r"] = "running"
    oci.on_kill["r"] = "stopped"
    assert timed(rt.stop, "r", 0) < 0.5
    assert ("r", signal.SIGKILL) in oci.signals


def test_stop_with_a_dead_conmon_does_not_wait_out_the_grace(rt: ContainerRuntime) -> None:
    oci: FakeOci = rt.oci  # type: ignore[assignment]
    oci.status["c"] = "running"
    dead = subprocess.Popen(["true"])
    dead.wait()
    assert timed(rt.stop, "c", 30, dead.pid) < 1.0       # grace 30 s, but nobody can write an exit file


def test_stop_with_exit_file_reports_it(rt: ContainerRuntime) -> None:
    rt.container_dir("e").mkdir(parents=True)
    (rt.exit_dir / "e").write_text("3")
    info = rt.stop("e", 30)
    assert info is not None and info.code == 3


def test_remove_unlinks_the_attach_link_and_never_follows_it(rt: ContainerRuntime, tmp_path: Path) -> None:
    cdir = rt.container_dir("c1")
    (cdir / "userdata").mkdir(parents=True)
    (cdir / "config.json").write_text("{}")
    (rt.socket_dir / "c1").symlink_to(cdir)            # what conmon leaves: <attach>/<cid> -> bundle
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "data").write_text("keep")
    (rt.socket_dir / "c2").symlink_to(outside)         # a link to elsewhere: unlinked, never followed
    rt.remove("c1")
    rt.remove("c2")
    assert not os.path.lexists(rt.socket_dir / "c1") and not os.path.lexists(rt.socket_dir / "c2")
    assert not cdir.exists()
    assert (outside / "data").read_text() == "keep"
    rt.remove("c1")   # idempotent


def test_runtime_dirs_are_root_only(rt: ContainerRuntime) -> None:
    assert stat.S_IMODE(os.stat(rt.containers_dir).st_mode) == 0o700


def test_a_start_that_loses_the_race_to_an_earlier_start_keeps_the_container(rt: ContainerRuntime) -> None:
    """Issue 11 item 13: an agent SIGKILLed inside `crun start` leaves that start running; the next
    agent's start then fails (the exec fifo is gone) although the container runs: keep it."""
    from podbay.errors import RuntimeFailure

    oci: FakeOci = rt.oci  # type: ignore[assignment]
    oci.status["c1"] = "running"

    def lost(cid: str) -> None:
        raise RuntimeFailure("cannot open `exec.fifo`: No such file or directory")

    oci.start = lost  # type: ignore[attr-defined]
    rt.start("c1")
    assert oci.status["c1"] == "running" and oci.signals == []
    oci.status["c2"] = "created"        # a real start failure: killed and deleted, the error raised
    with pytest.raises(RuntimeFailure):
        rt.start("c2")
    assert "c2" not in oci.status and ("c2", signal.SIGKILL) in oci.signals


def test_exec_process_is_the_containers_own_spec_read_once_per_bundle(rt: ContainerRuntime,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """An exec probe every few seconds: config.json is parsed once, each exec still gets its own file
    with its argv; a rewritten config.json is read again; remove forgets the container."""
    import json

    cdir = rt.container_dir("c1")
    cdir.mkdir(parents=True)
    spec = {"process": {"args": ["sleep", "9"], "env": ["A=1"], "cwd": "/w", "terminal": True,
                        "consoleSize": {"height": 1, "width": 1}, "user": {"uid": 7, "gid": 7}}}
    (cdir / "config.json").write_text(json.dumps(spec))
    loads: list[str] = []
    real = json.loads
    monkeypatch.setattr(json, "loads", lambda text, **kw: (loads.append("x"), real(text, **kw))[1])
    seen = []
    for argv in (["true"], ["cat", "/x"], ["true"]):
        cmd, path = rt.exec_argv("c1", argv, tty=False)
        assert cmd[-1] == "c1" and cmd[cmd.index("--process") + 1] == str(path)
        seen.append(real(path.read_text()))
        path.unlink()
    assert len(loads) == 1
    assert [p["args"] for p in seen] == [["true"], ["cat", "/x"], ["true"]]
    assert all(p["env"] == ["A=1"] and p["user"] == {"uid": 7, "gid": 7} and p["terminal"] is False
               and "consoleSize" not in p for p in seen)
    spec["process"]["env"] = ["A=2"]
    (cdir / "config.json.new").write_text(json.dumps(spec))
    os.replace(cdir / "config.json.new", cdir / "config.json")     # a new file: read again
    cmd, path = rt.exec_argv("c1", ["true"], tty=True)
    assert real(path.read_text())["env"] == ["A=2"] and real(path.read_text())["terminal"] is True
    assert len(loads) == 2
    rt.remove("c1")
    assert "c1" not in rt._process


def test_kept_exec_process_files_are_written_once_per_argv(rt: ContainerRuntime) -> None:
    """Probes: one process file per container and argv, rewritten only when config.json changes."""
    import json

    cdir = rt.container_dir("c1")
    cdir.mkdir(parents=True)
    spec = {"process": {"args": ["sleep", "9"], "env": ["A=1"], "terminal": True, "consoleSize": {"height": 1}}}
    (cdir / "config.json").write_text(json.dumps(spec))

    def process_file(cmd: list[str]) -> Path:
        return Path(cmd[cmd.index("--process") + 1])

    first = process_file(rt.exec_argv_kept("c1", ["true"]))
    written = first.stat().st_ino
    again = process_file(rt.exec_argv_kept("c1", ["true"]))
    other = process_file(rt.exec_argv_kept("c1", ["cat", "/x"]))
    assert again == first and first.stat().st_ino == written          # not written again
    assert other != first and json.loads(other.read_text())["args"] == ["cat", "/x"]
    body = json.loads(first.read_text())
    assert body["args"] == ["true"] and body["terminal"] is False and "consoleSize" not in body
    assert oct(first.stat().st_mode & 0o777) == "0o600"
    spec["process"]["env"] = ["A=2"]
    (cdir / "config.json.new").write_text(json.dumps(spec))
    os.replace(cdir / "config.json.new", cdir / "config.json")
    assert json.loads(process_file(rt.exec_argv_kept("c1", ["true"])).read_text())["env"] == ["A=2"]
    rt.remove("c1")
    assert "c1" not in rt._exec_files
