"""Safe layer unpacking: tar (optionally gzip'd) -> a directory usable as an overlayfs lowerdir.

Every member is created relative to a directory fd opened with O_NOFOLLOW, so no symlink (in the
layer or planted later) can redirect a write outside the layer. OCI whiteouts become overlayfs
whiteouts: ``.wh.<name>`` -> a 0/0 char device ``<name>``, ``.wh..wh..opq`` -> the parent gets
``trusted.overlay.opaque=y``.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import os
import stat
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol, cast

from podbay.errors import NotSupported, PermanentError

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
OPAQUE_XATTR = "trusted.overlay.opaque"
_CHUNK = 1 << 20


class Reader(Protocol):
    def read(self, n: int, /) -> bytes: ...


class HashingReader:
    """A read-only stream that sha256-hashes and counts what passes through it."""

    def __init__(self, inner: Reader) -> None:
        self._inner = inner
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._inner.read(n)
        self._hash.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class _ZlibMember:
    """zlib's decompressobj for one gzip member behind bz2's decompressor interface (IgzipDecompressor's)."""

    def __init__(self, zlib: Any) -> None:
        self._z = zlib.decompressobj(31)
        self._tail = b""

    def decompress(self, data: bytes, max_length: int) -> bytes:
        out: bytes = self._z.decompress(self._tail + data if self._tail else data, max_length)
        self._tail = self._z.unconsumed_tail
        return out

    @property
    def eof(self) -> bool:
        return bool(self._z.eof)

    @property
    def needs_input(self) -> bool:
        return not self._tail

    @property
    def unused_data(self) -> bytes:
        return bytes(self._z.unused_data)

    def flush(self) -> bytes:
        return bytes(self._z.flush())


def inflater() -> tuple[Callable[[], Any], type[Exception]]:
    """A factory of one-gzip-member decompressors (bz2's interface: ``decompress(data, max_length)``,
    ``eof``, ``needs_input``, ``unused_data``) and their error class. ISA-L's IgzipDecompressor
    (``isal``) when installed: 2-3x zlib's speed on x86-64, and it releases the GIL while it inflates
    (isal_zlib's decompressobj does not), so the untar thread runs meanwhile. Else zlib."""
    try:
        from isal import igzip_lib

        error = cast("type[Exception]", igzip_lib.error)   # its stub types it as an instance
        return (lambda: igzip_lib.IgzipDecompressor(flag=igzip_lib.DECOMP_GZIP)), error
    except ImportError:   # no wheel for this platform
        import zlib

        return (lambda: _ZlibMember(zlib)), zlib.error


class PipelinedGunzip:
    """Reads a gzip stream in a helper thread: it hashes the compressed bytes, inflates them and hashes
    the result, while the caller untars. The inflater and hashlib release the GIL on large buffers, so
    on two cores decompression overlaps extraction instead of adding to it."""

    _EOF = b""

    def __init__(self, raw: Reader, chunk: int = 1 << 18, depth: int = 32) -> None:
        import queue
        import threading

        self._raw = raw
        self._chunk = chunk
        self._q: queue.Queue[bytes | BaseException] = queue.Queue(depth)
        self._buf = b""
        self._pos = 0
        self._done = False
        self.raw_hash = hashlib.sha256()
        self.diff_hash = hashlib.sha256()
        self.raw_size = 0
        self.size = 0
        self._member, self._error = inflater()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="gunzip", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            d: Any = None        # the decompressor of the current gzip member
            members = 0
            while not self._stop.is_set():
                data = self._raw.read(self._chunk)
                if not data:
                    break
                self.raw_hash.update(data)
                self.raw_size += len(data)
                while data or (d is not None and not d.needs_input):   # output is bounded per call
                    if d is None:
                        d, members = self._member(), members + 1
                    out = d.decompress(data, self._chunk)
                    data = b""
                    if out:
                        self._emit(out)
                    if d.eof:   # concatenated gzip members are legal: what follows starts a new one
                        data, d = d.unused_data, None
            if isinstance(d, _ZlibMember):
                tail = d.flush()
                if tail:
                    self._emit(tail)
            if (members == 0 or d is not None and not d.eof) and not self._stop.is_set():
                raise self._error("unexpected end of the compressed stream")
            self._q.put(self._EOF)
        except BaseException as exc:  # handed to the reader, raised there
            self._q.put(PermanentError(f"invalid gzip layer: {exc}") if isinstance(exc, self._error) else exc)

    def _emit(self, out: bytes) -> None:
        self.diff_hash.update(out)
        self.size += len(out)
        self._q.put(out)

    def read(self, n: int = -1) -> bytes:
        out = []
        want = n if n >= 0 else 1 << 62
        while want > 0:
            if self._pos >= len(self._buf):
                if self._done:
                    break
                item = self._q.get()
                if isinstance(item, BaseException):
                    self._done = True
                    raise item
                if item == self._EOF:
                    self._done = True
                    break
                self._buf, self._pos = item, 0
            take = self._buf[self._pos:self._pos + want]
            self._pos += len(take)
            want -= len(take)
            out.append(take)
        return b"".join(out)

    def drain(self) -> None:
        while self.read(_CHUNK):
            pass
        self._thread.join()

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():   # unblock a producer waiting on a full queue
            with contextlib.suppress(Exception):
                self._q.get_nowait()
            self._thread.join(0.01)


def decompressed(raw: Reader, head: bytes) -> Reader:
    """Wrap raw in a decompressor chosen from its first bytes (gzip or none)."""
    if head[:2] == b"\x1f\x8b":
        gz: Reader = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[call-overload]
        return gz
    if head[:4] == b"\x28\xb5\x2f\xfd":
        raise NotSupported("zstd-compressed layers are not supported by podbay yet")
    return raw


def classify(name: str) -> tuple[str, str]:
    """Split a member path into (kind, path): kind is "entry", "whiteout" or "opaque".

    For "whiteout", path is the hidden path; for "opaque", the directory made opaque ("" = layer root).
    Raises PermanentError for names that would escape the layer.
    """
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise PermanentError(f"invalid layer: member {name!r} escapes the layer directory")
    if not parts:
        return "entry", ""
    base = parts[-1]
    parent = "/".join(parts[:-1])
    if base == OPAQUE_MARKER:
        return "opaque", parent
    if base.startswith(WHITEOUT_PREFIX):
        hidden = base[len(WHITEOUT_PREFIX):]
        if not hidden or hidden in (".", ".."):
            raise PermanentError(f"invalid layer: bad whiteout {name!r}")
        return "whiteout", f"{parent}/{hidden}" if parent else hidden
    return "entry", "/".join(parts)


@contextmanager
def _dir_fd(root_fd: int, rel: str, *, create: bool) -> Iterator[int]:
    """Open directory ``rel`` under root_fd component by component, never following symlinks."""
    fd = os.dup(root_fd)
    try:
        for comp in [p for p in rel.split("/") if p]:
            try:
                nfd = os.open(comp, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                os.mkdir(comp, 0o755, dir_fd=fd)
                nfd = os.open(comp, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise PermanentError(f"invalid layer: {rel!r} goes through a non-directory ({comp!r})") from exc
                raise
            os.close(fd)
            fd = nfd
        yield fd
    finally:
        os.close(fd)


class _Dirs:
    """Directory fds of one extraction, by path relative to the layer root (opened component by
    component with O_NOFOLLOW, like _dir_fd). A path that is removed or replaced is forgotten with
    everything below it, so an fd never outlives the directory it stood for."""

    _MAX = 256

    def __init__(self, root_fd: int) -> None:
        self.root = root_fd
        self.fds: dict[str, int] = {}

    def get(self, rel: str, *, create: bool) -> int:
        if not rel:
            return self.root
        fd = self.fds.get(rel)
        if fd is not None:
            return fd
        parent, base = _split(rel)
        pfd = self.get(parent, create=create)
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(base, flags, dir_fd=pfd)
        except FileNotFoundError:
            if not create:
                raise
            os.mkdir(base, 0o755, dir_fd=pfd)
            fd = os.open(base, flags, dir_fd=pfd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise PermanentError(f"invalid layer: {rel!r} goes through a non-directory ({base!r})") from exc
            raise
        if len(self.fds) >= self._MAX:
            self.close()
        self.fds[rel] = fd
        return fd

    def forget(self, rel: str) -> None:
        prefix = rel + "/"
        for key in [k for k in self.fds if k == rel or k.startswith(prefix) or not rel]:
            os.close(self.fds.pop(key))

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()


def _split(path: str) -> tuple[str, str]:
    parent, _, base = path.rpartition("/")
    return parent, base


def _remove_existing(dfd: int, name: str, *, keep_dir: bool) -> None:
    """Make room for a new entry; a directory is kept when the new entry is a directory too."""
    try:
        st = os.lstat(name, dir_fd=dfd)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        if keep_dir:
            return
        _rmtree_at(dfd, name)
    else:
        os.unlink(name, dir_fd=dfd)


def _rmtree_at(dfd: int, name: str) -> None:
    fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dfd)
    try:
        for child in os.listdir(fd):
            st = os.lstat(child, dir_fd=fd)
            if stat.S_ISDIR(st.st_mode):
                _rmtree_at(fd, child)
            else:
                os.unlink(child, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=dfd)


def _is_root() -> bool:
    return os.geteuid() == 0


def _set_xattr(dfd: int, name: str, key: str, value: bytes) -> None:
    # /proc/self/fd/N pins the parent; the final component is not followed.
    os.setxattr(f"/proc/self/fd/{dfd}/{name}", key, value, follow_symlinks=False)


def _chown(dfd: int, name: str, m: tarfile.TarInfo) -> None:
    # A new entry is owned by root:root already when root creates it (dirs get their modes, setgid
    # included, only at the end): skip the no-op chown, a metadata write per member.
    if _is_root() and (m.uid, m.gid) != (0, 0):
        os.chown(name, m.uid, m.gid, dir_fd=dfd, follow_symlinks=False)


def _apply_meta(dfd: int, name: str, m: tarfile.TarInfo) -> None:
    _chown(dfd, name, m)
    for key, value in (m.pax_headers or {}).items():
        if key.startswith("SCHILY.xattr."):
            try:
                _set_xattr(dfd, name, key[len("SCHILY.xattr."):], value.encode("utf-8", "surrogateescape"))
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP):
                    raise
    if not m.issym():
        os.chmod(name, m.mode & 0o7777, dir_fd=dfd)  # after chown: chown clears setuid bits
    os.utime(name, ns=(int(m.mtime * 1e9), int(m.mtime * 1e9)), dir_fd=dfd, follow_symlinks=False)


def _write_file(dfd: int, name: str, src: IO[bytes] | None) -> None:
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dfd)
    with os.fdopen(fd, "wb") as out:
        while src is not None and (chunk := src.read(_CHUNK)):
            out.write(chunk)


def _whiteout(dfd: int, name: str) -> None:
    _remove_existing(dfd, name, keep_dir=False)
    try:
        os.mknod(name, stat.S_IFCHR | 0o000, os.makedev(0, 0), dir_fd=dfd)
    except PermissionError as exc:
        raise NotSupported("layers with whiteouts need root (CAP_MKNOD) to unpack") from exc


def _extract_member(tar: tarfile.TarFile, m: tarfile.TarInfo, cache: _Dirs, path: str,
                    dirs: list[tuple[str, tarfile.TarInfo]]) -> None:
    if path == "":
        if m.isdir():
            dirs.append(("", m))
        return
    parent, base = _split(path)
    dfd = cache.get(parent, create=True)
    if m.isdir():
        try:
            st = os.lstat(base, dir_fd=dfd)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISDIR(st.st_mode):
            os.unlink(base, dir_fd=dfd)
            st = None
        if st is None:
            os.mkdir(base, 0o700, dir_fd=dfd)
        dirs.append((path, m))  # mode/mtime applied last: children would change them
        _chown(dfd, base, m)
        return
    cache.forget(path)
    _remove_existing(dfd, base, keep_dir=False)
    if m.isreg():
        _write_file(dfd, base, tar.extractfile(m))
    elif m.issym():
        os.symlink(m.linkname, base, dir_fd=dfd)
    elif m.islnk():
        kind, target = classify(m.linkname)
        if kind != "entry" or not target:
            raise PermanentError(f"invalid layer: hardlink {m.name!r} -> {m.linkname!r}")
        tparent, tbase = _split(target)
        try:
            tfd = cache.get(tparent, create=False)
            os.link(tbase, base, src_dir_fd=tfd, dst_dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError as exc:
            raise PermanentError(f"invalid layer: hardlink {m.name!r} -> {m.linkname!r}: target not in layer") from exc
        return  # a hardlink shares the target's inode and metadata
    elif m.ischr() or m.isblk() or m.isfifo():
        kind_bits = stat.S_IFCHR if m.ischr() else stat.S_IFBLK if m.isblk() else stat.S_IFIFO
        try:
            os.mknod(base, kind_bits | 0o600, os.makedev(m.devmajor, m.devminor), dir_fd=dfd)
        except PermissionError:
            return  # devices need root; an unprivileged unpack skips them like rootless runtimes
    else:
        raise NotSupported(f"layer member {m.name!r} has an unsupported tar type {m.type!r}")
    _apply_meta(dfd, base, m)


def extract_layer(stream: Reader, dest: Path) -> None:
    """Unpack an uncompressed tar stream into the existing directory ``dest`` (safely)."""
    root_fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    dirs: list[tuple[str, tarfile.TarInfo]] = []
    cache = _Dirs(root_fd)
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:  # type: ignore[call-overload]
            for m in tar:
                kind, path = classify(m.name)
                if kind == "whiteout":
                    parent, base = _split(path)
                    cache.forget(path)
                    _whiteout(cache.get(parent, create=True), base)
                elif kind == "opaque":
                    try:
                        os.setxattr(cache.get(path, create=True), OPAQUE_XATTR, b"y")
                    except PermissionError as exc:
                        raise NotSupported("layers with opaque directories need root to unpack") from exc
                else:
                    _extract_member(tar, m, cache, path, dirs)
        cache.close()
        for path, m in sorted(dirs, key=lambda d: d[0].count("/"), reverse=True):
            parent, base = _split(path)
            with _dir_fd(root_fd, parent, create=False) as dfd:
                if base:
                    os.chmod(base, m.mode & 0o7777, dir_fd=dfd)
                    os.utime(base, ns=(int(m.mtime * 1e9),) * 2, dir_fd=dfd, follow_symlinks=False)
                else:
                    os.chmod(dfd, m.mode & 0o7777)
                    os.utime(dfd, ns=(int(m.mtime * 1e9),) * 2)
    except tarfile.TarError as exc:
        raise PermanentError(f"invalid layer tar: {exc}") from exc
    finally:
        cache.close()
        os.close(root_fd)
