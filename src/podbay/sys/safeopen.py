"""Open a path beneath a directory without following any symlink: openat2(2) through ctypes.

`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS` makes the kernel refuse, atomically,
any symlink (ELOOP) and any step out of the base (EXDEV) on the way, so a container swapping a path
component for a symlink between a check and the open cannot redirect it (CVE-2017-1002101,
CVE-2021-25741). Kernels without openat2 (< 5.6) get the same guarantee from an O_NOFOLLOW walk,
one component at a time, as the kubelet's doSafeOpen does.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import stat

from podbay.sys import libc

_libc = libc.load()
_libc.syscall.restype = ctypes.c_long

# openat2 is 437 on every architecture that has it (the generic syscall table), x86_64 included.
SYS_OPENAT2 = 437
RESOLVE_NO_XDEV = 0x01
RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
RESOLVE_BENEATH = 0x08

_openat2_works: bool | None = None if platform.machine() in ("x86_64", "aarch64") else False


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def openat2(dirfd: int, path: str, flags: int, resolve: int, mode: int = 0) -> int:
    """The raw syscall; raises OSError (ENOSYS where the kernel lacks it)."""
    how = _OpenHow(flags | os.O_CLOEXEC, mode, resolve)
    fd = _libc.syscall(SYS_OPENAT2, ctypes.c_int(dirfd), os.fsencode(path), ctypes.byref(how),
                       ctypes.c_size_t(ctypes.sizeof(how)))
    if fd < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), path)
    return int(fd)


def open_beneath(dirfd: int, path: str, flags: int = os.O_PATH) -> int:
    """fd of `path` (relative to dirfd) reached without any symlink and without leaving dirfd.

    Raises OSError: ELOOP for a symlink on the way, EXDEV for an escape (`..` above the base or an
    absolute path), ENOENT etc. as open(2) does.
    """
    global _openat2_works
    if os.path.isabs(path):
        raise OSError(errno.EXDEV, "absolute path outside of the base", path)
    rel = path
    if _openat2_works is not False:
        try:
            fd = openat2(dirfd, rel or ".", flags,
                         RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
            _openat2_works = True
            return fd
        except OSError as exc:
            if exc.errno not in (errno.ENOSYS, errno.EPERM) or _openat2_works:
                raise   # EPERM: a seccomp filter that does not know openat2
            _openat2_works = False
    return _walk(dirfd, rel, flags)


def _walk(dirfd: int, rel: str, flags: int) -> int:
    """The O_NOFOLLOW walk: openat(O_PATH|O_NOFOLLOW) per component, fstat, refuse symlinks and `..`."""
    segments = [s for s in rel.split("/") if s and s != "."]
    if ".." in segments:
        raise OSError(errno.EXDEV, "path leaves the base", rel)
    fd = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC, dir_fd=dirfd)
    try:
        for i, seg in enumerate(segments):
            last = i == len(segments) - 1
            child = os.open(seg, (flags if last else os.O_PATH) | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = child
            if stat.S_ISLNK(os.fstat(fd).st_mode):
                raise OSError(errno.ELOOP, "unexpected symlink", rel)
        if not segments and flags != os.O_PATH:
            child = os.open(".", flags | os.O_CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd
