"""mount(2)/umount2(2) through ctypes, plus mountinfo and statfs medium detection."""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Sequence
from dataclasses import dataclass

from podbay.errors import MountFailure
from podbay.sys import libc

_libc = libc.load()
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MNT_DETACH = 2
UMOUNT_NOFOLLOW = 8

TMPFS_MAGIC = 0x01021994
HUGETLBFS_MAGIC = 0x958458F6
OVERLAYFS_MAGIC = 0x794C7630


def mount(source: str, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    rc = _libc.mount(
        source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
        data.encode() if data else None,
    )
    if rc != 0:
        e = ctypes.get_errno()
        raise MountFailure(f"mount {source} on {target} ({fstype or 'bind'}, {data or ''}): {os.strerror(e)}")


def umount(target: str, *, detach: bool = False) -> bool:
    """Unmount target; False if it was not mounted. Never follows a final symlink."""
    rc = _libc.umount2(target.encode(), (MNT_DETACH if detach else 0) | UMOUNT_NOFOLLOW)
    if rc == 0:
        return True
    e = ctypes.get_errno()
    if e in (errno.EINVAL, errno.ENOENT):
        return False
    raise MountFailure(f"umount {target}: {os.strerror(e)}")


def bind(source: str, target: str, *, readonly: bool = False, recursive: bool = True) -> None:
    flags = MS_BIND | (MS_REC if recursive else 0)
    mount(source, target, None, flags)
    if readonly:
        mount("none", target, None, flags | MS_REMOUNT | MS_RDONLY)


@dataclass(frozen=True)
class MountInfo:
    mount_id: int
    parent_id: int
    mount_point: str
    options: str
    fstype: str
    source: str
    super_options: str


def _unescape(field: str) -> str:
    return field.encode().decode("unicode_escape") if "\\" in field else field


def parse_mountinfo(text: str) -> list[MountInfo]:
    """Parse /proc/*/mountinfo text (pure)."""
    result = []
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        lf = left.split()
        rf = right.split()
        if len(lf) < 6 or len(rf) < 3:
            continue
        result.append(MountInfo(int(lf[0]), int(lf[1]), _unescape(lf[4]), lf[5], rf[0], _unescape(rf[1]), rf[2]))
    return result


def mounts() -> list[MountInfo]:
    with open("/proc/self/mountinfo") as f:
        return parse_mountinfo(f.read())


def mounts_under(prefix: str) -> list[str]:
    """Mount points at or below prefix, deepest first (the order to unmount them)."""
    prefix = prefix.rstrip("/")
    points = [m.mount_point for m in mounts() if m.mount_point == prefix or m.mount_point.startswith(prefix + "/")]
    return sorted(set(points), key=lambda p: p.count("/"), reverse=True)


def is_mount_point(path: str) -> bool:
    path = os.path.realpath(path)
    return any(m.mount_point == path for m in mounts())


def fs_type_magic(path: str) -> int:
    """statfs f_type of path (0 if it cannot be read)."""

    class _Statfs(ctypes.Structure):
        _fields_ = [("f_type", ctypes.c_long), ("rest", ctypes.c_byte * 120)]

    buf = _Statfs()
    if _libc.statfs(path.encode(), ctypes.byref(buf)) != 0:
        return 0
    return int(buf.f_type) & 0xFFFFFFFF


def unmount_all_under(prefix: str, *, detach_fallback: bool = True) -> list[str]:
    """Unmount everything at or below prefix (deepest first); returns what was unmounted."""
    done = []
    for point in mounts_under(prefix):
        try:
            umount(point)
        except MountFailure:
            if not detach_fallback:
                raise
            umount(point, detach=True)
        done.append(point)
    return done


def options_flags(options: Sequence[str]) -> int:
    table = {"ro": MS_RDONLY, "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}
    flags = 0
    for o in options:
        flags |= table.get(o, 0)
    return flags


def make_rshared(path: str) -> bool:
    """Make path a shared mount (binding it onto itself first if it is not a mount point), as the
    kubelet does for its root dir so HostToContainer/Bidirectional propagation works for volumes
    below it. Returns True if it had to add the self-bind."""
    added = False
    if not is_mount_point(path):
        mount(path, path, None, MS_BIND | MS_REC)
        added = True
    mount("none", path, None, MS_SHARED | MS_REC)
    return added
