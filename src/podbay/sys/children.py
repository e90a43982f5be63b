"""Every child of the agent is reaped, and no exit status someone waits for is ever stolen.

The agent is a child subreaper (PR_SET_CHILD_SUBREAPER), so the processes other programs leave
behind are re-parented to it: conmon's monitors (conmon double-forks) and the children `crun exec`
does not wait for. An unreaped one is a zombie; one inside a container's PID namespace even keeps
the namespace's init from finishing its exit (the kernel's zap_pid_ns_processes waits until every
task of the namespace has been reaped), so that container never stops and its conmon never exits.

The agent's own subprocesses are waited for by their owners: subprocess.Popen in worker threads and
asyncio's child watcher in the loop. A blind ``waitpid(-1)`` would steal their status (Popen then
reports 0 for a command that failed, asyncio 255). So every spawn is registered ("owned") under a
lock held from before the fork until the pid is recorded, and the reaper takes the same lock and
collects only children nobody owns. asyncio registers its children through :class:`OwningPidfdWatcher`
synchronously after the fork, in the loop thread, where :func:`install` also runs the reaper: it can
never see such a pid before it is owned.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVarTuple

if TYPE_CHECKING:
    import asyncio


_Ts = TypeVarTuple("_Ts")
BACKSTOP_SECONDS = 1.0   # SIGCHLD can coalesce and /proc/.../children can miss a racing exit


class Reaper:
    """The process-wide table of owned children and the collector of all other exited ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owned: dict[int, int] = {}   # pid -> number of owners (a pid is reused only after its reap)
        self.reaped = 0                     # orphans collected so far (for tests and logs)

    @contextlib.contextmanager
    def spawning(self) -> Iterator[Callable[[int], None]]:
        """Hold the lock across fork+exec; the yielded function records the new pid as owned."""
        with self._lock:
            yield self._own_locked

    def _own_locked(self, pid: int) -> None:
        self._owned[pid] = self._owned.get(pid, 0) + 1

    def own(self, pid: int) -> None:
        with self._lock:
            self._own_locked(pid)

    def disown(self, pid: int) -> None:
        """The owner has waited for pid (or gave up on it): from now on the reaper may collect it."""
        with self._lock:
            n = self._owned.get(pid, 0) - 1
            if n > 0:
                self._owned[pid] = n
            else:
                self._owned.pop(pid, None)

    def owns(self, pid: int) -> bool:
        with self._lock:
            return pid in self._owned

    def reap(self) -> list[int]:
        """waitpid(WNOHANG) every exited child nobody owns; returns the pids collected.

        ``waitid(P_ALL, WNOWAIT)`` peeks at one exited child without collecting it: while that child is
        not owned it is collected at once, and when no child has exited (the usual case: hundreds of
        live conmons) the reap costs one syscall instead of a waitpid per child. An exited child that
        is owned hides the others from the peek, so then every child is walked as before."""
        done: list[int] = []
        with self._lock:
            while True:
                try:
                    info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
                except ChildProcessError:
                    break      # no children at all
                if info is None:
                    break      # no child has exited
                pid = info.si_pid
                if pid in self._owned:
                    done += self._walk_locked()
                    break
                try:
                    got, _status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    continue   # collected meanwhile by a targeted waitpid (procfs.reap_if_child)
                if got != pid:
                    break
                done.append(pid)
            self.reaped += len(done)
        return done

    def _walk_locked(self) -> list[int]:
        done: list[int] = []
        for pid in sorted(children()):
            if pid in self._owned:
                continue
            try:
                got, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue   # collected meanwhile by a targeted waitpid (procfs.reap_if_child)
            if got == pid:
                done.append(pid)
        return done


REAPER = Reaper()


def children(pid: int | str = "self") -> set[int]:
    """Direct children of a process (every thread's /proc/<pid>/task/<tid>/children)."""
    out: set[int] = set()
    base = f"/proc/{pid}/task"
    try:
        tids = os.listdir(base)
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"{base}/{tid}/children") as f:
                out.update(int(p) for p in f.read().split())
        except OSError:
            continue
    return out


def zombies(pid: int | str = "self") -> list[int]:
    """Children of pid that have exited and wait to be reaped (state Z)."""
    out = []
    for child in sorted(children(pid)):
        try:
            with open(f"/proc/{child}/stat", "rb") as f:
                state = f.read().rpartition(b")")[2].split()[0]
        except (OSError, IndexError):
            continue
        if state == b"Z":
            out.append(child)
    return out


def popen(argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """subprocess.Popen whose pid is owned from the instant it exists; call :func:`release` after waiting."""
    with REAPER.spawning() as own:
        proc: subprocess.Popen[bytes] = subprocess.Popen(list(argv), **kwargs)
        own(proc.pid)
    return proc


def release(proc: subprocess.Popen[bytes]) -> None:
    """Give up ownership once proc was waited for (or if it never will be)."""
    REAPER.disown(proc.pid)


def _watcher_class() -> type[asyncio.PidfdChildWatcher]:
    """asyncio's pidfd watcher that owns each child from add_child_handler until its exit is read.
    Made on first use: asyncio is imported only by the agent (a CLI verb that spawns skopeo must
    not pay ~15 ms for it)."""
    import asyncio

    class OwningPidfdWatcher(asyncio.PidfdChildWatcher):
        def add_child_handler(self, pid: int, callback: Callable[[int, int, *_Ts], object],
                              *args: *_Ts) -> None:
            REAPER.own(pid)

            def done(pid_: int, returncode: int, *cb_args: *_Ts) -> None:
                REAPER.disown(pid_)
                callback(pid_, returncode, *cb_args)

            super().add_child_handler(pid, done, *args)

        def remove_child_handler(self, pid: int) -> bool:
            removed = super().remove_child_handler(pid)
            if removed:
                REAPER.disown(pid)
            return removed

    return OwningPidfdWatcher


def install(loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """Own asyncio's children, reap on SIGCHLD and every second; returns the undo function."""
    import asyncio

    watcher = _watcher_class()()
    policy = asyncio.get_event_loop_policy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)   # child watchers are deprecated from 3.12 on
        policy.set_child_watcher(watcher)
    watcher.attach_loop(loop)
    timer: asyncio.TimerHandle | None = None

    def tick() -> None:
        nonlocal timer
        _reap_logged()
        timer = loop.call_later(BACKSTOP_SECONDS, tick)

    loop.add_signal_handler(signal.SIGCHLD, _reap_logged)
    tick()

    def uninstall() -> None:
        if timer is not None:
            timer.cancel()
        loop.remove_signal_handler(signal.SIGCHLD)
        _reap_logged()

    return uninstall


def _reap_logged() -> None:
    pids = REAPER.reap()
    if pids:
        import logging  # only the agent reaps this way; a CLI verb need not load logging

        logging.getLogger("podbay.children").debug("reaped exited children %s", pids)
