"""Minimal inotify (ctypes) for watching conmon's exit directory from an asyncio loop."""

from __future__ import annotations

import ctypes
import os
import struct

from podbay.sys import libc

_libc = libc.load()
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
_EVENT = struct.Struct("iIII")


class Inotify:
    def __init__(self) -> None:
        fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.fd = int(fd)

    def watch(self, path: str, mask: int = IN_CLOSE_WRITE | IN_MOVED_TO) -> int:
        wd = _libc.inotify_add_watch(self.fd, path.encode(), mask)
        if wd < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {path}")
        return int(wd)

    def read_names(self) -> list[str]:
        """Names from all pending events (non-blocking)."""
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return []
        names = []
        off = 0
        while off + _EVENT.size <= len(data):
            _wd, _mask, _cookie, length = _EVENT.unpack_from(data, off)
            off += _EVENT.size
            raw = data[off:off + length].split(b"\0", 1)[0]
            off += length
            names.append(raw.decode(errors="replace"))
        return names

    def close(self) -> None:
        os.close(self.fd)
