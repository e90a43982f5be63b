"""The eviction manager's threading: walks in a worker thread, its own state changed on the loop only,
evictions delivered on the loop (REVIEW §3 #7). Real UsageMonitor on temp dirs (no root)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from podbay.agent.eviction import EvictionManager
from podbay.volumes.usage import UsageMonitor

MI = 1024 * 1024


def pod(uid: str, size_limit: str | None = "1Mi", ephemeral: str | None = None) -> dict[str, Any]:
    ctr: dict[str, Any] = {"name": "c", "image": "busybox"}
    if ephemeral:
        ctr["resources"] = {"limits": {"ephemeral-storage": ephemeral}}
    empty: dict[str, Any] = {} if size_limit is None else {"sizeLimit": size_limit}
    return {"metadata": {"name": f"p-{uid}", "namespace": "default", "uid": uid},
            "spec": {"containers": [ctr], "volumes": [{"name": "scratch", "emptyDir": empty}]}}


class Recorder:
    def __init__(self) -> None:
        self.evicted: list[tuple[str, str, int]] = []   # (uid, message, thread)
        self.got = asyncio.Event()

    def __call__(self, uid: str, message: str) -> None:
        self.evicted.append((uid, message, threading.get_ident()))
        self.got.set()


@pytest.fixture
async def mgr() -> AsyncIterator[tuple[EvictionManager, Recorder, list[int]]]:
    rec = Recorder()
    monitor = UsageMonitor(coalesce=0.01, rescan_interval=None)
    walked_in: list[int] = []
    real_watch = monitor.watch

    def watch(key: str, path: Any, limit: int | None = None) -> tuple[int, int]:
        walked_in.append(threading.get_ident())
        return real_watch(key, path, limit)

    monitor.watch = watch  # type: ignore[method-assign]
    m = EvictionManager(rec, monitor)
    m.attach(asyncio.get_running_loop())
    try:
        yield m, rec, walked_in
    finally:
        m.close()


async def test_walks_run_in_a_thread_and_a_crossing_evicts_on_the_loop(
        mgr: tuple[EvictionManager, Recorder, list[int]], tmp_path: Path) -> None:
    m, rec, walked_in = mgr
    (tmp_path / "scratch").mkdir()
    await m.track(pod("u1"), {"scratch": str(tmp_path / "scratch")})
    loop_thread = threading.get_ident()
    assert walked_in and all(t != loop_thread for t in walked_in)
    assert m.keys == {"u1": ["u1/scratch"]} and rec.evicted == []
    (tmp_path / "scratch" / "big").write_bytes(b"x" * (2 * MI))
    await asyncio.wait_for(rec.got.wait(), 5)
    (uid, message, thread), = rec.evicted
    assert uid == "u1" and thread == loop_thread
    assert message.startswith('Usage of EmptyDir volume "scratch" exceeds the limit "1Mi".')


async def test_a_pod_already_over_is_evicted_at_tracking_once(
        mgr: tuple[EvictionManager, Recorder, list[int]], tmp_path: Path) -> None:
    m, rec, _ = mgr
    (tmp_path / "scratch").mkdir()
    (tmp_path / "scratch" / "big").write_bytes(b"x" * (2 * MI))
    await m.track(pod("u2"), {"scratch": str(tmp_path / "scratch")})
    await m.track(pod("u2"), {"scratch": str(tmp_path / "scratch")})   # tracked already: nothing new
    (tmp_path / "scratch" / "more").write_bytes(b"x" * MI)
    await asyncio.sleep(0.1)
    assert [e[0] for e in rec.evicted] == ["u2"]
    assert rec.evicted[0][2] == threading.get_ident()   # decided after the walk, back on the loop


async def test_untrack_during_the_walk_leaves_no_watch(tmp_path: Path) -> None:
    rec = Recorder()
    monitor = UsageMonitor(coalesce=0.01, rescan_interval=None)
    release = threading.Event()
    entered = threading.Event()
    real_watch = monitor.watch

    def slow_watch(key: str, path: Any, limit: int | None = None) -> tuple[int, int]:
        entered.set()
        release.wait(5)
        return real_watch(key, path, limit)

    monitor.watch = slow_watch  # type: ignore[method-assign]
    m = EvictionManager(rec, monitor)
    m.attach(asyncio.get_running_loop())
    try:
        (tmp_path / "scratch").mkdir()
        task = asyncio.ensure_future(m.track(pod("u3"), {"scratch": str(tmp_path / "scratch")}))
        await asyncio.to_thread(entered.wait, 5)
        m.untrack("u3")                     # the pod went while its volume was being walked
        release.set()
        await task
        assert monitor.keys() == [] and m.keys == {} and m.pods == {}
    finally:
        m.close()


async def test_container_layers_are_replaced_per_attempt_for_ephemeral_limits(
        mgr: tuple[EvictionManager, Recorder, list[int]], tmp_path: Path) -> None:
    m, rec, _ = mgr
    (tmp_path / "scratch").mkdir()
    p = pod("u4", size_limit=None, ephemeral="1Mi")
    await m.track(p, {"scratch": str(tmp_path / "scratch")})
    await m.track_container(p, "c", tmp_path / "a1" / "upper", tmp_path / "logs")
    assert sorted(m.keys["u4"]) == ["u4/#log/c", "u4/#rw/c", "u4/scratch"]
    await m.track_container(p, "c", tmp_path / "a2" / "upper", tmp_path / "logs2")   # a restart
    assert sorted(m.monitor.keys()) == ["u4/#log/c", "u4/#rw/c", "u4/scratch"]
    (tmp_path / "a2" / "upper" / "f").write_bytes(b"x" * (2 * MI))
    await asyncio.wait_for(rec.got.wait(), 5)
    assert rec.evicted[0][0] == "u4" and "ephemeral" in rec.evicted[0][1].lower()


async def test_a_check_from_another_thread_is_delivered_on_the_loop(
        mgr: tuple[EvictionManager, Recorder, list[int]], tmp_path: Path) -> None:
    m, rec, _ = mgr
    (tmp_path / "scratch").mkdir()
    m.pods["u5"] = pod("u5")
    m.keys["u5"] = ["u5/scratch"]
    (tmp_path / "scratch" / "big").write_bytes(b"x" * (2 * MI))
    m.monitor.watch("u5/scratch", tmp_path / "scratch", MI)
    await asyncio.to_thread(m.check, "u5")
    await asyncio.wait_for(rec.got.wait(), 5)
    assert rec.evicted[0][2] == threading.get_ident()
