"""/proc readers: liveness with the PID-reuse guard, in one read."""

from __future__ import annotations

import os
import subprocess

from podbay.sys import procfs


def test_is_alive_checks_the_start_time_and_reaped_processes() -> None:
    me = os.getpid()
    started = procfs.start_time(me)
    assert started is not None
    assert procfs.is_alive(me, started) and procfs.is_alive(me, None)
    assert not procfs.is_alive(me, started + 1)        # same pid, another process
    assert not procfs.is_alive(None, None) and not procfs.is_alive(0, None)
    child = subprocess.Popen(["true"])
    child.wait()
    assert not procfs.is_alive(child.pid, None)


def test_a_zombie_is_not_alive() -> None:
    child = subprocess.Popen(["true"])
    while procfs.state(child.pid) not in ("Z", None):
        os.sched_yield()
    assert not procfs.is_alive(child.pid, None)
    child.wait()
