"""The kubelet's AtomicWriter (pkg/volume/util/atomic_writer.go) for configMap/secret/downwardAPI/projected.

Layout of a target dir:

    ..2024_01_02_03_04_05.123456789/   the real files (dir 0755, files with their exact modes)
    ..data -> ..2024_01_02_03_04_05.123456789
    <top> -> ..data/<top>              one symlink per top-level payload entry

An update writes a new timestamped dir, points `..data_tmp` at it and renames that over `..data`
(rename(2) is atomic), so readers see either the old or the new set, never a mix.

Differences from upstream, on purpose: every access goes through directory fds with O_NOFOLLOW, so a
symlink planted in the target dir (a container may share it through a writable subPath parent, or a
previous crash may leave debris) is replaced, never followed; a mode change alone also counts as a
change; leftover timestamped dirs of a crashed write are removed. Not concurrency-safe: callers
serialize writes per volume, as in the kubelet.
"""

from __future__ import annotations

import errno
import os
import random
import stat
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from podbay.core.projection import FileProjection, validate_payload
from podbay.errors import PermanentError

DATA_DIR = "..data"
NEW_DATA_DIR = "..data_tmp"
TS_DIR_MODE = 0o755  # group/other must be able to traverse, whatever the umask
SUBDIR_MODE = 0o755
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def write_payload(
    target_dir: Path | str,
    payload: Mapping[str, FileProjection],
    *,
    set_perms: Callable[[Path], None] | None = None,
) -> bool:
    """Project payload into target_dir (which must exist); True if anything on disk changed.

    set_perms, if given, runs on the new timestamped dir before it becomes visible (fsGroup).
    """
    clean = validate_payload(payload)
    target = Path(target_dir)
    try:
        tfd = os.open(target, _DIR_FLAGS)
    except OSError as exc:
        raise PermanentError(f"error opening target directory {target}: {os.strerror(exc.errno or 0)}") from exc
    try:
        return _write(tfd, target, clean, set_perms)
    except OSError as exc:
        raise PermanentError(f"error writing payload to {target}: {exc}") from exc
    finally:
        os.close(tfd)


def _write(tfd: int, target: Path, payload: dict[str, FileProjection],
           set_perms: Callable[[Path], None] | None) -> bool:
    old_ts = _current_ts_dir(tfd)
    new_paths = _with_parents(payload)
    changed = False

    needs_write = old_ts is None
    if old_ts is not None:
        on_disk = _walk(tfd, old_ts)
        needs_write = bool(on_disk - new_paths) or any(
            not _same_file(tfd, old_ts, path, proj) for path, proj in payload.items()
        )

    if needs_write:
        ts = _new_ts_dir(tfd)
        try:
            _write_tree(tfd, ts, payload)
            if set_perms is not None:
                set_perms(target / ts)
            _unlink_quiet(tfd, NEW_DATA_DIR)
            os.symlink(ts, NEW_DATA_DIR, dir_fd=tfd)
            _clear_non_symlink(tfd, DATA_DIR)
            os.rename(NEW_DATA_DIR, DATA_DIR, src_dir_fd=tfd, dst_dir_fd=tfd)
        except BaseException:
            _unlink_quiet(tfd, NEW_DATA_DIR)
            _remove_at(tfd, ts)
            raise
        changed = True
        old_ts = ts
    # Debris of this or earlier writes: every other timestamped dir goes (old one included).
    for name in os.listdir(tfd):
        if _is_ts_name(name) and name != old_ts:
            _remove_at(tfd, name)

    tops = {p.split("/", 1)[0] for p in payload}
    for name in sorted(tops):
        changed |= _ensure_visible_link(tfd, name)
    for name in os.listdir(tfd):
        if name.startswith("..") or name in tops:
            continue
        if _is_our_link(tfd, name):  # only links into ..data are ours to prune
            os.unlink(name, dir_fd=tfd)
            changed = True
    return changed


# --- reading the current version -------------------------------------------------------------------

def _is_ts_name(name: str) -> bool:
    return name.startswith("..") and name not in (DATA_DIR, NEW_DATA_DIR) and len(name) > 2 and "/" not in name


def _current_ts_dir(tfd: int) -> str | None:
    """Target of ..data if it is a sane timestamped dir inside target_dir, else None."""
    try:
        link = os.readlink(DATA_DIR, dir_fd=tfd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.EINVAL:  # ..data is not a symlink: debris, rewrite
            return None
        raise
    if not _is_ts_name(link):
        return None
    try:
        st = os.stat(link, dir_fd=tfd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    return link if stat.S_ISDIR(st.st_mode) else None


def _with_parents(payload: Mapping[str, FileProjection]) -> set[str]:
    out: set[str] = set()
    for path in payload:
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            out.add("/".join(parts[:i]))
    return out


def _walk(tfd: int, ts: str) -> set[str]:
    """Relative paths of everything inside the timestamped dir (never following symlinks)."""
    found: set[str] = set()
    fd = os.open(ts, _DIR_FLAGS, dir_fd=tfd)
    try:
        _walk_fd(fd, "", found)
    finally:
        os.close(fd)
    return found


def _walk_fd(fd: int, prefix: str, found: set[str]) -> None:
    for name in os.listdir(fd):
        rel = prefix + name
        found.add(rel)
        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            try:
                _walk_fd(child, rel + "/", found)
            finally:
                os.close(child)


def _open_beneath(tfd: int, ts: str, rel: str) -> int | None:
    """Open ts/rel for reading component by component with O_NOFOLLOW; None if absent or odd."""
    parts = [ts, *rel.split("/")]
    fd = tfd
    try:
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            flags = (os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK) if last else _DIR_FLAGS
            nfd = os.open(part, flags, dir_fd=fd)
            if fd != tfd:
                os.close(fd)
            fd = nfd
        return fd
    except OSError:
        if fd != tfd:
            os.close(fd)
        return None


def _same_file(tfd: int, ts: str, rel: str, proj: FileProjection) -> bool:
    fd = _open_beneath(tfd, ts, rel)
    if fd is None:
        return False
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or stat.S_IMODE(st.st_mode) != proj.mode & 0o7777:
            return False
        if proj.fs_user is not None and st.st_uid != proj.fs_user:
            return False
        if st.st_size != len(proj.data):
            return False
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks) == proj.data
    finally:
        os.close(fd)


# --- writing the new version -----------------------------------------------------------------------

def _new_ts_dir(tfd: int) -> str:
    """`..YYYY_MM_DD_HH_MM_SS.<random>` like Go's os.MkdirTemp with the kubelet's UTC prefix."""
    prefix = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime())
    for _ in range(100):
        name = prefix + str(random.randrange(1 << 32))
        try:
            os.mkdir(name, 0o700, dir_fd=tfd)
        except FileExistsError:
            continue
        fd = os.open(name, _DIR_FLAGS, dir_fd=tfd)
        try:
            os.fchmod(fd, TS_DIR_MODE)
        finally:
            os.close(fd)
        return name
    raise PermanentError("unable to create new temp directory: too many collisions")


def _write_tree(tfd: int, ts: str, payload: Mapping[str, FileProjection]) -> None:
    root = os.open(ts, _DIR_FLAGS, dir_fd=tfd)
    try:
        for rel, proj in sorted(payload.items()):
            *dirs, base = rel.split("/")
            fd = _mkdirs(root, dirs)
            try:
                _write_file(fd, base, proj)
            finally:
                if fd != root:
                    os.close(fd)
    finally:
        os.close(root)


def _mkdirs(root: int, dirs: list[str]) -> int:
    fd = root
    for d in dirs:
        try:
            os.mkdir(d, SUBDIR_MODE, dir_fd=fd)
            created = True
        except FileExistsError:
            created = False
        nfd = os.open(d, _DIR_FLAGS, dir_fd=fd)
        if created:
            os.fchmod(nfd, SUBDIR_MODE)  # the umask may have cleared bits
        if fd != root:
            os.close(fd)
        fd = nfd
    return fd


def _write_file(dir_fd: int, name: str, proj: FileProjection) -> None:
    mode = proj.mode & 0o7777
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    try:
        view = memoryview(proj.data)
        while view:
            view = view[os.write(fd, view):]
        if proj.fs_user is not None:
            os.fchown(fd, proj.fs_user, -1)
        os.fchmod(fd, mode)  # exact mode whatever the umask (and after chown, which clears setuid)
    finally:
        os.close(fd)


# --- user-visible links ----------------------------------------------------------------------------

def _ensure_visible_link(tfd: int, name: str) -> bool:
    want = f"{DATA_DIR}/{name}"
    try:
        if os.readlink(name, dir_fd=tfd) == want:
            return False
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
    _remove_at(tfd, name)  # a wrong link or a stray file/dir: replaced, never followed
    os.symlink(want, name, dir_fd=tfd)
    return True


def _is_our_link(tfd: int, name: str) -> bool:
    try:
        return os.readlink(name, dir_fd=tfd).startswith(DATA_DIR + "/")
    except OSError:
        return False


# --- removal without following symlinks ------------------------------------------------------------

def _unlink_quiet(dir_fd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass


def _clear_non_symlink(dir_fd: int, name: str) -> None:
    """rename(2) of a symlink cannot replace a directory: remove a non-symlink ..data first."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISLNK(st.st_mode):
        _remove_at(dir_fd, name)


def _remove_at(dir_fd: int, name: str) -> None:
    """rm -rf name relative to dir_fd (no-op if gone); never follows symlinks, never crosses a mount."""
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=dir_fd)
        return
    fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    try:
        if os.fstat(fd).st_dev != os.fstat(dir_fd).st_dev:
            raise PermanentError(f"refusing to remove {name}: it is a mount point")
        for child in os.listdir(fd):
            _remove_at(fd, child)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=dir_fd)
