"""inotify(7) through ctypes: the one binding the agent uses (conmon's exit directory, volume usage).

``init``/``add_watch``/``rm_watch`` are the syscalls with errors as ``OSError``; ``parse`` splits a
read buffer into events; ``Inotify`` is a small non-blocking instance for an asyncio reader.
"""

from __future__ import annotations

import ctypes
import os
import struct
from collections.abc import Iterator
from typing import NamedTuple

from podbay.sys import libc

_libc = libc.load()

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_EXCL_UNLINK = 0x04000000  # no events for children already unlinked (writes to deleted files)
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

_EVENT = struct.Struct("iIII")


class Event(NamedTuple):
    wd: int
    mask: int
    cookie: int
    name: str       # "" for an event about the watched directory itself


def init(flags: int = IN_NONBLOCK | IN_CLOEXEC) -> int:
    fd = _libc.inotify_init1(flags)
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"inotify_init1: {os.strerror(err)}")
    return int(fd)


def add_watch(fd: int, path: str | bytes, mask: int) -> int:
    """The watch descriptor; OSError with the errno (ENOSPC: the watch limit) on failure."""
    wd = _libc.inotify_add_watch(fd, os.fsencode(path), mask)
    if wd < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"inotify_add_watch {os.fsdecode(path)}: {os.strerror(err)}")
    return int(wd)


def rm_watch(fd: int, wd: int) -> None:
    _libc.inotify_rm_watch(fd, wd)   # EINVAL for a watch the kernel already dropped: nothing to do


def parse(data: bytes) -> Iterator[Event]:
    off = 0
    while off + _EVENT.size <= len(data):
        wd, mask, cookie, length = _EVENT.unpack_from(data, off)
        off += _EVENT.size
        name = data[off:off + length].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        off += length
        yield Event(wd, mask, cookie, name)


def read_all(fd: int) -> bytes:
    """Everything pending on a non-blocking inotify fd."""
    chunks = []
    while True:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


class Inotify:
    """A non-blocking instance with names only (conmon's exit directory)."""

    def __init__(self) -> None:
        self.fd = init()

    def watch(self, path: str, mask: int = IN_CLOSE_WRITE | IN_MOVED_TO) -> int:
        return add_watch(self.fd, path, mask)

    def read_names(self) -> list[str]:
        """Names from all pending events (non-blocking)."""
        return [ev.name for ev in parse(read_all(self.fd))]

    def close(self) -> None:
        os.close(self.fd)
