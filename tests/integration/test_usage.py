"""UsageMonitor against real files in tmp dirs (no root needed)."""

from __future__ import annotations

import asyncio
import errno
import mmap
import os
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from podbay.errors import Conflict, NotFound
from podbay.volumes import usage as usage_mod
from podbay.volumes.usage import IN_Q_OVERFLOW, UsageMonitor

MI = 1024**2


def du(root: Path) -> tuple[int, int]:
    """Reference walk: allocated bytes and distinct inodes, hard links once, same device."""
    dev = os.lstat(root).st_dev
    seen: dict[int, int] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [".", *filenames, *dirnames]:
            st = os.lstat(os.path.join(dirpath, name))
            if st.st_dev == dev:
                seen[st.st_ino] = st.st_blocks * 512
    return sum(seen.values()), len(seen)


def settle(m: UsageMonitor, rounds: int = 3) -> None:
    for _ in range(rounds):
        m.poll(0.05)


@pytest.fixture
def mon() -> Iterator[UsageMonitor]:
    m = UsageMonitor(coalesce=0.02, rescan_interval=None)  # short coalescing keeps the tests quick
    yield m
    m.close()


def test_initial_walk_matches_du(tmp_path: Path, mon: UsageMonitor) -> None:
    (tmp_path / "a/b").mkdir(parents=True)
    (tmp_path / "a/f").write_bytes(b"x" * 10000)
    (tmp_path / "a/b/g").write_bytes(b"y" * 300000)
    (tmp_path / "sparse").write_bytes(b"")
    os.truncate(tmp_path / "sparse", 50 * MI)  # sparse: no blocks allocated, none counted
    (tmp_path / "link").symlink_to("/usr")
    assert mon.watch("v", tmp_path, MI) == du(tmp_path)
    assert mon.over_limit() == []


async def test_writer_crossing_1mi_detected_within_1s(tmp_path: Path) -> None:
    """A process appending without closing the file; latency = first write over the limit -> callback
    (the agent's driver: the monitor attached to the event loop)."""
    mon = UsageMonitor()  # production defaults (100 ms coalescing)
    base, _ = mon.watch("v", tmp_path, MI)
    detected: list[float] = []
    crossed_at: list[float] = []
    mon.attach(asyncio.get_running_loop(), lambda key: detected.append(time.monotonic()))
    stop = threading.Event()

    def writer() -> None:
        with open(tmp_path / "out", "wb") as f:
            while not stop.is_set():
                f.write(b"z" * 16384)
                f.flush()
                if not crossed_at and base + os.fstat(f.fileno()).st_blocks * 512 > MI:
                    crossed_at.append(time.monotonic())
                time.sleep(0.002)

    t = threading.Thread(target=writer)
    t.start()
    try:
        deadline = time.monotonic() + 5
        while not detected and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
    finally:
        stop.set()
        t.join()
    over, used = mon.over_limit(), mon.usage("v")[0]
    mon.close()
    assert crossed_at and detected, "crossing not detected"
    latency = detected[0] - crossed_at[0]
    print(f"\ncrossing -> detection latency: {latency * 1000:.1f} ms")
    assert latency < 1.0
    assert over == ["v"] and used > MI


def test_callback_fires_once_per_crossing(tmp_path: Path, mon: UsageMonitor) -> None:
    mon.watch("v", tmp_path, MI)
    f = tmp_path / "f"
    f.write_bytes(b"x" * (2 * MI))
    assert mon.poll(0.1) + mon.poll(0.1) == ["v"]
    f.write_bytes(b"x" * (3 * MI))  # still over: no new crossing
    assert mon.poll(0.1) + mon.poll(0.1) == []
    assert mon.over_limit() == ["v"]
    f.unlink()
    settle(mon)
    assert mon.over_limit() == []
    f.write_bytes(b"x" * (2 * MI))
    assert mon.poll(0.1) + mon.poll(0.1) == ["v"]


def test_exactly_at_limit_is_not_over(tmp_path: Path, mon: UsageMonitor) -> None:
    base, _ = mon.watch("v", tmp_path, None)
    (tmp_path / "f").write_bytes(b"x" * 8192)
    settle(mon)
    used = mon.usage("v")[0]
    assert used == base + 8192
    mon.set_limit("v", used)
    assert mon.over_limit() == []
    mon.set_limit("v", used - 1)
    assert mon.over_limit() == ["v"]


def test_hard_links_counted_once(tmp_path: Path, mon: UsageMonitor) -> None:
    (tmp_path / "sub").mkdir()
    mon.watch("v", tmp_path, None)
    (tmp_path / "f").write_bytes(b"x" * MI)
    settle(mon)
    one = mon.usage("v")
    os.link(tmp_path / "f", tmp_path / "g")
    os.link(tmp_path / "f", tmp_path / "sub/h")
    settle(mon)
    assert mon.usage("v") == one == du(tmp_path)
    (tmp_path / "f").unlink()
    (tmp_path / "g").unlink()
    settle(mon)
    assert mon.usage("v") == one  # still reachable through sub/h


def test_deletes_decrease_usage(tmp_path: Path, mon: UsageMonitor) -> None:
    empty = mon.watch("v", tmp_path, None)
    (tmp_path / "d").mkdir()
    for i in range(5):
        (tmp_path / f"d/f{i}").write_bytes(b"x" * 100000)
    settle(mon)
    assert mon.usage("v")[0] > empty[0] + 500000
    for i in range(5):
        (tmp_path / f"d/f{i}").unlink()
    (tmp_path / "d").rmdir()
    settle(mon)
    assert mon.usage("v") == du(tmp_path)
    assert mon.watch_count() == 1


def test_truncate_decreases_usage(tmp_path: Path, mon: UsageMonitor) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"x" * MI)
    mon.watch("v", tmp_path, None)
    os.truncate(f, 0)
    settle(mon)
    assert mon.usage("v") == du(tmp_path)


def test_new_subdirectories_are_tracked(tmp_path: Path, mon: UsageMonitor) -> None:
    mon.watch("v", tmp_path, MI)
    # Created faster than the monitor can add watches: the walk of the new directory catches up.
    deep = tmp_path / "a/b/c/d"
    deep.mkdir(parents=True)
    (deep / "early").write_bytes(b"x" * 100000)
    settle(mon)
    assert mon.watch_count() == 5
    with open(deep / "late", "wb") as f:  # written after the watches exist
        f.write(b"y" * (2 * MI))
    settle(mon)
    assert mon.usage("v") == du(tmp_path)
    assert mon.over_limit() == ["v"]


def test_directory_rename_and_move_out(tmp_path: Path, mon: UsageMonitor) -> None:
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    (tree / "x/y").mkdir(parents=True)
    outside.mkdir()
    (tree / "x/y/f").write_bytes(b"x" * 50000)
    mon.watch("v", tree, None)
    os.rename(tree / "x", tree / "z")
    settle(mon)
    (tree / "z/y/g").write_bytes(b"x" * 70000)
    settle(mon)
    assert mon.usage("v") == du(tree)
    os.rename(tree / "z", outside / "z")
    settle(mon)
    assert mon.usage("v") == du(tree)
    assert mon.watch_count() == 1
    (outside / "z/y/h").write_bytes(b"x" * 70000)  # no longer ours
    settle(mon)
    assert mon.usage("v") == du(tree)


def test_symlinks_not_followed(tmp_path: Path, mon: UsageMonitor) -> None:
    tree, big = tmp_path / "tree", tmp_path / "big"
    tree.mkdir()
    big.mkdir()
    (big / "f").write_bytes(b"x" * MI)
    mon.watch("v", tree, None)
    (tree / "l").symlink_to(big)
    (tree / "lf").symlink_to(big / "f")
    settle(mon)
    assert mon.usage("v") == du(tree)
    assert mon.usage("v")[0] < MI


def test_unwatch_releases_watches(tmp_path: Path, mon: UsageMonitor) -> None:
    for i in range(10):
        (tmp_path / f"d{i}/e").mkdir(parents=True)
    mon.watch("v", tmp_path, None)
    assert mon.watch_count() == 21
    assert _kernel_watches(mon) == 21
    mon.unwatch("v")
    assert mon.watch_count() == 0
    assert _kernel_watches(mon) == 0
    with pytest.raises(NotFound):
        mon.usage("v")
    mon.unwatch("v")  # idempotent
    (tmp_path / "d0/f").write_bytes(b"x")
    assert mon.poll(0.2) == []


def test_watch_errors(tmp_path: Path, mon: UsageMonitor) -> None:
    (tmp_path / "a").mkdir()
    mon.watch("a", tmp_path / "a", None)
    with pytest.raises(Conflict):
        mon.watch("a", tmp_path, None)
    with pytest.raises(Conflict):
        mon.watch("b", tmp_path, None)  # contains a
    with pytest.raises(NotFound):
        mon.watch("c", tmp_path / "missing", None)


def test_overflow_triggers_full_walk(tmp_path: Path, mon: UsageMonitor) -> None:
    mon.watch("v", tmp_path, None)
    mon.unwatch("v")
    mon.watch("v", tmp_path, None)
    (tmp_path / "f").write_bytes(b"x" * 5000)
    os.read(mon.fd, 65536)  # lose the events, as an overflowed queue would
    assert mon.usage("v") != du(tmp_path)
    mon._apply(struct.pack("iIII", -1, IN_Q_OVERFLOW, 0, 0))
    assert mon.usage("v") == du(tmp_path)


def test_mmap_writes_caught_by_rescan(tmp_path: Path) -> None:
    """Writes through a shared mapping raise no inotify event; the periodic walk catches them."""
    f = tmp_path / "f"
    f.write_bytes(b"")
    os.truncate(f, MI)
    with UsageMonitor(rescan_interval=0.3) as m:
        m.watch("v", tmp_path, MI // 2)
        with open(f, "r+b") as fh, mmap.mmap(fh.fileno(), MI) as mm:
            mm[:] = b"x" * MI
            mm.flush()
        deadline = time.monotonic() + 2
        crossed: list[str] = []
        while not crossed and time.monotonic() < deadline:
            crossed = m.poll(0.5)
        assert crossed == ["v"]


async def test_asyncio_attach(tmp_path: Path) -> None:
    loop = asyncio.get_running_loop()
    hit: asyncio.Future[str] = loop.create_future()
    changes: list[tuple[str, int]] = []
    with UsageMonitor(on_change=lambda k, n: changes.append((k, n))) as m:
        m.watch("v", tmp_path, MI)

        def on_over(key: str) -> None:
            if not hit.done():
                hit.set_result(key)

        m.attach(loop, on_over)
        (tmp_path / "f").write_bytes(b"x" * (2 * MI))
        assert await asyncio.wait_for(hit, 2) == "v"
        assert changes and changes[-1] == ("v", du(tmp_path)[0])
        m.detach()


def _kernel_watches(m: UsageMonitor) -> int:
    with open(f"/proc/self/fdinfo/{m.fd}") as f:
        return sum(1 for line in f if line.startswith("inotify wd:"))


def test_watch_limit_falls_back_to_1s_walks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fs.inotify.max_user_watches exhausted: the tree is walked every second instead."""
    def no_watches(fd: int, path: str | bytes, mask: int) -> int:
        raise OSError(errno.ENOSPC, "inotify_add_watch: No space left on device")

    with UsageMonitor(rescan_interval=None) as m:
        monkeypatch.setattr(usage_mod.inotify, "add_watch", no_watches)
        m.watch("v", tmp_path, MI)
        assert m.watch_count() == 0
        (tmp_path / "f").write_bytes(b"x" * (2 * MI))
        t0 = time.monotonic()
        crossed: list[str] = []
        while not crossed and time.monotonic() - t0 < 3:
            crossed = m.poll(0.5)
        assert crossed == ["v"]
        assert time.monotonic() - t0 < 1.5


@pytest.mark.root
def test_other_filesystems_not_counted(tmp_path: Path, mon: UsageMonitor) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    inner = tmp_path / "mnt"
    inner.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(inner)], check=True)
    try:
        (inner / "f").write_bytes(b"x" * (2 * MI))
        before = mon.watch("v", tmp_path, MI)
        assert before[0] < MI
        (inner / "g").write_bytes(b"x" * MI)
        settle(mon)
        assert mon.usage("v") == before
        assert mon.watch_count() == 1
    finally:
        subprocess.run(["umount", str(inner)], check=True)
