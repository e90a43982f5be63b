"""The agent's reaper (issue 11 items 10, 11): every orphan collected, no owned exit status stolen.

Each scenario runs in a fresh interpreter that makes itself a child subreaper, as the agent does, so
the test process itself is never changed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from podbay.sys import children

SRC = Path(__file__).resolve().parents[3] / "src"

SCENARIO = r"""
import asyncio, ctypes, json, sys
from podbay.sys import children, run

ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)      # PR_SET_CHILD_SUBREAPER, as podbay agent does
INSTALL = sys.argv[1] == "install"
ROUNDS = int(sys.argv[2])

async def main():
    uninstall = children.install(asyncio.get_running_loop()) if INSTALL else None
    codes_async, codes_sync = [], []
    for _ in range(ROUNDS):
        # Each spawner leaves a background child behind: it is re-parented to us (an orphan).
        spawners = [await asyncio.create_subprocess_exec("sh", "-c", "(sleep 0.02) & exit 0") for _ in range(5)]
        owned = [await asyncio.create_subprocess_exec("sh", "-c", f"exit {i}") for i in range(1, 6)]
        sync = await asyncio.gather(*(asyncio.to_thread(run.run, ["sh", "-c", f"exit {i}"], check=False)
                                      for i in range(1, 6)))
        codes_async.append([await p.wait() for p in owned])
        codes_sync.append([r.rc for r in sync])
        for p in spawners:
            await p.wait()
    await asyncio.sleep(0.6)
    out = {"async": codes_async, "sync": codes_sync, "zombies": len(children.zombies()),
           "reaped": children.REAPER.reaped}
    if uninstall:
        uninstall()
    print(json.dumps(out))

asyncio.run(main())
"""


def scenario(mode: str, rounds: int) -> dict[str, Any]:
    res = subprocess.run([sys.executable, "-c", SCENARIO, mode, str(rounds)], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": str(SRC)})
    assert res.returncode == 0, res.stderr
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


def test_orphans_are_reaped_and_owned_statuses_survive() -> None:
    out = scenario("install", 8)
    assert out["async"] == [[1, 2, 3, 4, 5]] * 8       # asyncio's children: never stolen
    assert out["sync"] == [[1, 2, 3, 4, 5]] * 8        # Popen in threads: never stolen (else rc 0)
    assert out["zombies"] == 0
    assert out["reaped"] >= 40                         # every orphan was collected by the reaper


def test_without_the_reaper_orphans_stay_zombies() -> None:
    """The same scenario as the agent ran before: a subreaper that never reaps keeps every orphan."""
    out = scenario("none", 2)
    assert out["zombies"] == 10 and out["reaped"] == 0


def test_reaper_skips_owned_children() -> None:
    proc = children.popen(["true"])
    try:
        deadline = 50
        while proc.pid not in children.zombies() and deadline:
            deadline -= 1
            subprocess.run(["sleep", "0.02"])
        assert proc.pid in children.zombies()
        assert proc.pid not in children.REAPER.reap()   # owned: left for its owner
        assert proc.wait() == 0
    finally:
        children.release(proc)
    assert not children.REAPER.owns(proc.pid)


@pytest.mark.parametrize("pattern", [r"\bsubprocess\.(Popen|run|call|check_call|check_output)\(",
                                     r"\bos\.(fork|posix_spawn|posix_spawnp|system|popen)\("])
def test_the_agent_spawns_only_through_podbay_sys(pattern: str) -> None:
    """Every child the agent starts must be owned (sys.children.popen / sys.run.run / asyncio), or the
    reaper could take its exit status. The CLI and the test-image builder run outside the agent."""
    allowed = {"sys/children.py", "images/testimage.py"}
    offenders = []
    for path in sorted((SRC / "podbay").rglob("*.py")):
        rel = path.relative_to(SRC / "podbay").as_posix()
        if rel in allowed or rel.startswith(("cli/", "client/")):
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(pattern, line):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert offenders == []


def _spawn_unowned(argv: list[str]) -> subprocess.Popen[bytes]:
    proc = children.popen(argv)
    children.release(proc)      # as a conmon re-parented to the agent: a child nobody owns
    return proc


def _wait_zombies(pids: set[int]) -> None:
    for _ in range(250):
        if pids <= set(children.zombies()):
            return
        subprocess.run(["sleep", "0.02"])
    raise AssertionError(f"{pids - set(children.zombies())} never exited")


def test_reap_of_live_children_waits_for_none_of_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reap runs every second with hundreds of live conmons: no waitpid per live child."""
    live = [_spawn_unowned(["sleep", "30"]) for _ in range(20)]
    try:
        calls: list[int] = []
        real = os.waitpid

        def counting(pid: int, options: int) -> tuple[int, int]:
            calls.append(pid)
            return real(pid, options)

        monkeypatch.setattr(os, "waitpid", counting)
        assert children.REAPER.reap() == []
        assert calls == []
        for p in live:
            p.kill()
        pids = {p.pid for p in live}
        _wait_zombies(pids)
        calls.clear()
        assert set(children.REAPER.reap()) == pids       # each exited one collected, one waitpid each
        assert sorted(calls) == sorted(pids)
        assert not pids & set(children.children())
    finally:
        for p in live:
            with contextlib.suppress(OSError):
                p.kill()
            p.wait()        # reaped already: ECHILD, Popen records it (no ResourceWarning)


def test_an_owned_exited_child_does_not_hide_unowned_ones() -> None:
    """The peek sees one exited child; an owned one first still lets every unowned one be collected."""
    owned = children.popen(["true"])
    try:
        _wait_zombies({owned.pid})
        orphans = [_spawn_unowned(["true"]) for _ in range(3)]
        pids = {p.pid for p in orphans}
        _wait_zombies(pids)
        got = children.REAPER.reap()
        assert set(got) == pids and owned.pid not in got
        assert owned.pid in children.zombies()        # left for its owner
        assert owned.wait() == 0
        for p in orphans:
            p.wait()
    finally:
        children.release(owned)
