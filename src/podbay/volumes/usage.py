"""du-style usage of watched directory trees, kept current with inotify.

What is counted matches the kubelet's du provider (SEMANTICS §1.9): allocated blocks
(``st_blocks * 512``) of every inode reachable in the tree, the root directory included, hard links
once, symlinks never followed, nothing on another device; ``inodes`` = distinct inodes found.

Design (why not just re-walk every second): a walk of 50 trees per second costs CPU forever even
when nothing changes. Instead every directory of a tree carries an inotify watch; a full walk
happens only on ``watch()``, on queue overflow, after a directory is renamed, and as a slow safety
net every ``rescan_interval`` seconds (default 60 s, the kubelet's volume stats period; writes
through ``mmap`` raise no inotify event). Between walks each event re-stats just the one name it
names and updates an ``ino -> bytes`` table, so idle cost is a blocked ``poll()`` and a changing
tree costs one ``lstat`` per touched file.

Coalescing: the inotify fd is read at most once per ``coalesce`` seconds (default 0.1). The
kernel merges an event identical to the last queued one, so a process appending in a loop leaves
one queued IN_MODIFY per interval, not one per ``write()``; a name touched many times in one batch
is re-stat'ed once. Detection latency is therefore about ``coalesce`` plus one batch.

If the watch limit (fs.inotify.max_user_watches) is hit, that tree falls back to a full walk every
``DEGRADED_RESCAN`` (1 s) so a crossing is still noticed within the target.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import select
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from podbay.errors import Conflict, NotFound
from podbay.sys import inotify
from podbay.sys.inotify import (
    IN_ATTRIB,
    IN_CLOSE_WRITE,
    IN_CREATE,
    IN_DELETE,
    IN_DONT_FOLLOW,
    IN_EXCL_UNLINK,
    IN_IGNORED,
    IN_ISDIR,
    IN_MODIFY,
    IN_MOVED_FROM,
    IN_MOVED_TO,
    IN_ONLYDIR,
    IN_Q_OVERFLOW,
)

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_COALESCE", "DEFAULT_RESCAN", "IN_Q_OVERFLOW", "UsageMonitor"]

WATCH_MASK = (
    IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
    | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK
)
_MOVES = IN_MOVED_FROM | IN_MOVED_TO
_GONE = IN_DELETE | IN_MOVED_FROM

DEFAULT_COALESCE = 0.1
DEFAULT_RESCAN = 60.0  # the kubelet's volumeStatsAggPeriod: its du figures are up to this stale too
DEGRADED_RESCAN = 1.0

ChangeCallback = Callable[[str, int], None]
OverCallback = Callable[[str], object]


@dataclass(eq=False)  # identity hash: trees are dict keys while a batch is applied
class _Tree:
    key: str
    root: str
    dev: int
    limit: int | None
    total: int = 0
    inodes: dict[int, int] = field(default_factory=dict)  # ino -> allocated bytes
    refs: dict[int, int] = field(default_factory=dict)  # ino -> names in this tree
    entries: dict[tuple[int, str], int] = field(default_factory=dict)  # (dir wd, name) -> ino
    wds: dict[int, str] = field(default_factory=dict)  # wd -> directory path
    degraded: bool = False
    over: bool = False
    reported: int = -1
    next_scan: float = 0.0

    def set_entry(self, k: tuple[int, str], ino: int, nbytes: int) -> None:
        old = self.entries.get(k)
        if old != ino:
            if old is not None:
                self._unref(old)
            self.entries[k] = ino
            self.refs[ino] = self.refs.get(ino, 0) + 1
        self.total += nbytes - self.inodes.get(ino, 0)
        self.inodes[ino] = nbytes

    def drop_entry(self, k: tuple[int, str]) -> None:
        ino = self.entries.pop(k, None)
        if ino is not None:
            self._unref(ino)

    def _unref(self, ino: int) -> None:
        n = self.refs[ino] - 1
        if n:
            self.refs[ino] = n
            return
        del self.refs[ino]
        self.total -= self.inodes.pop(ino)


class UsageMonitor:
    """Bytes and inodes used per watched tree; reports trees that cross their limit.

    One driver: ``attach(loop, on_over)`` (an asyncio reader on the inotify fd plus the rescan
    timer); ``poll(timeout)`` runs the same step synchronously (tests, tools). ``on_over(key)`` fires
    once each time a tree goes from ``bytes <= limit`` to ``bytes > limit`` (strictly greater, as the
    kubelet). ``on_change(key, bytes)`` fires after each batch that changed a tree's total. ``watch``
    walks the tree and may run in a thread (the tables are under a lock); callbacks run in the
    driver.
    """

    def __init__(
        self,
        on_change: ChangeCallback | None = None,
        *,
        coalesce: float = DEFAULT_COALESCE,
        rescan_interval: float | None = DEFAULT_RESCAN,
    ) -> None:
        self.fd: int = inotify.init()
        self.on_change = on_change
        self.coalesce = coalesce
        self.rescan_interval = rescan_interval
        self._trees: dict[str, _Tree] = {}
        self._wd_tree: dict[int, _Tree] = {}
        self._lock = threading.RLock()
        self._last_read = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._retick: Callable[[], None] | None = None

    # ---- watched set -------------------------------------------------------------------------

    def watch(self, key: str, path: Path | str, limit_bytes: int | None = None) -> tuple[int, int]:
        """Start tracking path (a directory) under key; walks it once. Returns (bytes, inodes)."""
        root = os.path.abspath(path)
        try:
            st = os.lstat(root)
        except FileNotFoundError as exc:
            raise NotFound(f"stat {root}: no such file or directory") from exc
        if not stat.S_ISDIR(st.st_mode):
            raise NotFound(f"{root}: not a directory")
        with self._lock:
            if key in self._trees:
                raise Conflict(f"usage of {key!r} is already watched")
            for other in self._trees.values():
                if _overlaps(root, other.root):
                    raise Conflict(f"{root} overlaps the watched tree {other.root} ({other.key})")
            tree = _Tree(key, root, st.st_dev, limit_bytes)
            self._trees[key] = tree
            self._scan(tree, time.monotonic())
            tree.over = self._is_over(tree)
            tree.reported = tree.total
            result = tree.total, len(tree.inodes)
        self._wake()  # a running driver recomputes its rescan timeout
        return result

    def set_limit(self, key: str, limit_bytes: int | None) -> None:
        with self._lock:
            self._tree(key).limit = limit_bytes

    def unwatch(self, key: str) -> None:
        """Stop tracking key and release its inotify watches (no-op if unknown)."""
        with self._lock:
            tree = self._trees.pop(key, None)
            if tree is None:
                return
            for wd in tree.wds:
                self._rm_watch(wd)

    def usage(self, key: str) -> tuple[int, int]:
        """(bytes, inodes) as of the last processed batch."""
        with self._lock:
            tree = self._tree(key)
            return tree.total, len(tree.inodes)

    def over_limit(self) -> list[str]:
        with self._lock:
            return [t.key for t in self._trees.values() if self._is_over(t)]

    def watch_count(self) -> int:
        with self._lock:
            return len(self._wd_tree)

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._trees)

    # ---- driving -----------------------------------------------------------------------------

    def poll(self, timeout: float | None = None) -> list[str]:
        """Wait up to timeout for changes, process them; returns keys that newly went over limit."""
        deadline = None if timeout is None else time.monotonic() + timeout
        # Rate limit: leave the kernel time to merge repeated events before reading again.
        hold = self._last_read + self.coalesce - time.monotonic()
        if hold > 0:
            if deadline is not None and deadline - time.monotonic() < hold:
                time.sleep(max(0.0, deadline - time.monotonic()))
                return self._rescan_due()
            time.sleep(hold)
        wait = self._wait_time(deadline)
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        ready = poller.poll(None if wait is None else max(0, int(wait * 1000 + 0.999)))
        crossed = self._rescan_due()
        if any(fd == self.fd for fd, _ in ready):
            crossed += self._read_and_apply()
        return crossed

    def _wake(self) -> None:
        """A tree was added: the driver recomputes its rescan timeout (from any thread)."""
        if self._loop is not None and self._retick is not None:
            self._loop.call_soon_threadsafe(self._retick)

    def attach(self, loop: asyncio.AbstractEventLoop, on_over: OverCallback) -> None:
        """Drive the monitor from an asyncio loop (reader on the inotify fd + rescan timer).

        watch() walks the tree synchronously: call it via run_in_executor for large trees.
        """
        if self._loop is not None:
            raise Conflict("usage monitor already attached")
        self._loop = loop

        def emit(keys: list[str]) -> None:
            for key in keys:
                _safe(on_over, key)

        def readable() -> None:
            loop.remove_reader(self.fd)
            emit(self._read_and_apply())
            # Re-arm after the coalescing interval so a busy writer costs one wakeup per interval.
            loop.call_later(self.coalesce, rearm)

        def rearm() -> None:
            if self._loop is loop:
                loop.add_reader(self.fd, readable)

        def tick() -> None:
            if self._loop is not loop:
                return
            if self._timer is not None:
                self._timer.cancel()
            emit(self._rescan_due())
            wait = self._wait_time(None)
            self._timer = loop.call_later(DEFAULT_RESCAN if wait is None else wait, tick)

        loop.add_reader(self.fd, readable)
        self._retick = tick
        tick()

    def detach(self) -> None:
        if self._loop is None:
            return
        self._loop.remove_reader(self.fd)
        if self._timer is not None:
            self._timer.cancel()
        self._loop = None
        self._timer = None
        self._retick = None

    def close(self) -> None:
        self.detach()
        with self._lock:
            self._trees.clear()
            self._wd_tree.clear()
        os.close(self.fd)

    def __enter__(self) -> UsageMonitor:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---- internals ---------------------------------------------------------------------------

    def _tree(self, key: str) -> _Tree:
        tree = self._trees.get(key)
        if tree is None:
            raise NotFound(f"usage of {key!r} is not watched")
        return tree

    @staticmethod
    def _is_over(tree: _Tree) -> bool:
        return tree.limit is not None and tree.total > tree.limit

    def _wait_time(self, deadline: float | None) -> float | None:
        now = time.monotonic()
        with self._lock:
            scans = [t.next_scan for t in self._trees.values() if t.degraded or self.rescan_interval]
        waits = [max(0.0, s - now) for s in scans]
        if deadline is not None:
            waits.append(max(0.0, deadline - now))
        return min(waits) if waits else None

    def _rescan_due(self) -> list[str]:
        now = time.monotonic()
        with self._lock:
            due = [t for t in self._trees.values() if (t.degraded or self.rescan_interval) and t.next_scan <= now]
            for tree in due:
                self._scan(tree, now)
            return self._report(due)

    def _read_and_apply(self) -> list[str]:
        self._last_read = time.monotonic()
        data = inotify.read_all(self.fd)
        with self._lock:
            return self._apply(data)

    def _apply(self, data: bytes) -> list[str]:
        dirty: dict[_Tree, set[tuple[int, str]]] = {}
        rescan: set[_Tree] = set()
        for wd, mask, _cookie, name in inotify.parse(data):
            if mask & IN_Q_OVERFLOW:
                rescan.update(self._trees.values())
                continue
            tree = self._wd_tree.get(wd)
            if tree is None or self._trees.get(tree.key) is not tree:
                continue
            if mask & IN_IGNORED:  # the directory is gone (or we removed the watch)
                self._wd_tree.pop(wd, None)
                tree.wds.pop(wd, None)
                tree.drop_entry((wd, ""))
                dirty.setdefault(tree, set())
                continue
            if not name:  # an event about the watched directory itself
                continue
            if mask & IN_ISDIR and mask & _MOVES:
                rescan.add(tree)  # a renamed directory re-parents whole subtrees: walk again
                continue
            names = dirty.setdefault(tree, set())
            names.add((wd, ""))  # the directory's own blocks may grow with new entries
            if mask & _GONE:
                tree.drop_entry((wd, name))
                names.discard((wd, name))
            elif mask & IN_ISDIR and mask & IN_CREATE:
                self._scan_subdir(tree, wd, name)
            else:
                names.add((wd, name))
        now = time.monotonic()
        for tree in rescan:
            self._scan(tree, now)
        touched = set(rescan)
        for tree, names in dirty.items():
            if tree in rescan:
                continue
            touched.add(tree)
            for k in names:
                self._restat(tree, k)
        return self._report(list(touched))

    def _report(self, trees: list[_Tree]) -> list[str]:
        crossed = []
        for tree in trees:
            over = self._is_over(tree)
            if over and not tree.over:
                crossed.append(tree.key)
            tree.over = over
            if self.on_change is not None and tree.total != tree.reported:
                tree.reported = tree.total
                try:
                    self.on_change(tree.key, tree.total)
                except Exception:  # a callback bug must not kill the monitor
                    log.exception("usage monitor on_change failed for %s", tree.key)
        return crossed

    def _restat(self, tree: _Tree, k: tuple[int, str]) -> None:
        wd, name = k
        base = tree.wds.get(wd)
        if base is None:
            tree.drop_entry(k)
            return
        try:
            st = os.lstat(os.path.join(base, name) if name else base)
        except (FileNotFoundError, NotADirectoryError):
            tree.drop_entry(k)
            return
        if st.st_dev != tree.dev:
            return  # a mount point: another filesystem is not this volume's usage
        if name and stat.S_ISDIR(st.st_mode):
            return  # subdirectories are accounted through their own watch (wd, "")
        tree.set_entry(k, st.st_ino, st.st_blocks * 512)

    def _scan(self, tree: _Tree, now: float) -> None:
        """Full walk: rebuild the tables and reconcile the watches with the directories found."""
        old_wds = set(tree.wds)
        tree.total = 0
        tree.inodes, tree.refs, tree.entries, tree.wds = {}, {}, {}, {}
        tree.degraded = False
        self._walk(tree, tree.root)
        for wd in old_wds - set(tree.wds):
            self._rm_watch(wd)
        interval = DEGRADED_RESCAN if tree.degraded else (self.rescan_interval or 0.0)
        tree.next_scan = now + interval

    def _scan_subdir(self, tree: _Tree, parent_wd: int, name: str) -> None:
        """A directory appeared: watch it first, then walk it, so nothing created inside is missed."""
        base = tree.wds.get(parent_wd)
        if base is not None:
            self._walk(tree, os.path.join(base, name))

    def _walk(self, tree: _Tree, top: str) -> None:
        stack = [top]
        while stack:
            path = stack.pop()
            try:  # O_NOFOLLOW: a directory swapped for a symlink mid-walk is not followed
                fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError:
                continue  # gone, replaced by a symlink or a file, or unreadable
            try:
                self._walk_dir(tree, path, fd, stack)
            finally:
                os.close(fd)

    def _walk_dir(self, tree: _Tree, path: str, fd: int, stack: list[str]) -> None:
        st = os.fstat(fd)
        if st.st_dev != tree.dev:
            return  # a mount point: not this volume's filesystem
        # Watch before listing, so an entry created after the listing still raises an event.
        wd = self._add_watch(tree, path)
        if wd is None:  # unwatched (degraded): a private negative id, walked on every rescan
            wd = -1 - len(tree.wds)
            while wd in tree.wds:
                wd -= 1
        tree.wds[wd] = path
        tree.set_entry((wd, ""), st.st_ino, st.st_blocks * 512)
        with os.scandir(fd) as it:
            for entry in it:
                try:
                    est = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if stat.S_ISDIR(est.st_mode):
                    stack.append(os.path.join(path, entry.name))
                elif est.st_dev == tree.dev:
                    tree.set_entry((wd, entry.name), est.st_ino, est.st_blocks * 512)

    def _add_watch(self, tree: _Tree, path: str) -> int | None:
        if tree.degraded:
            return None
        try:
            wd = inotify.add_watch(self.fd, path, WATCH_MASK)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.ENOMEM):
                log.warning("inotify watch limit reached at %s; polling %s every %ss", path, tree.key, DEGRADED_RESCAN)
                tree.degraded = True
            return None
        owner = self._wd_tree.get(wd)
        if owner is not None and owner is not tree:
            return None  # the same directory is reachable from another tree (bind mount); skip it
        self._wd_tree[wd] = tree
        return int(wd)

    def _rm_watch(self, wd: int) -> None:
        if wd >= 0 and self._wd_tree.pop(wd, None) is not None:
            inotify.rm_watch(self.fd, wd)


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


def _safe(fn: Callable[[str], object], key: str) -> None:
    try:
        fn(key)
    except Exception:  # a callback bug must not kill the monitor
        log.exception("usage monitor callback failed for %s", key)
