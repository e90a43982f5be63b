import io
import os
import stat
import tarfile
from pathlib import Path

import pytest
from imgtest_helpers import layer

from podbay.errors import PermanentError
from podbay.images.layers import OPAQUE_XATTR, classify, extract_layer

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@pytest.mark.parametrize("name,want", [
    ("etc/passwd", ("entry", "etc/passwd")),
    ("./etc/", ("entry", "etc")),
    ("/abs/file", ("entry", "abs/file")),
    ("./", ("entry", "")),
    ("etc/.wh.passwd", ("whiteout", "etc/passwd")),
    (".wh.top", ("whiteout", "top")),
    ("var/cache/.wh..wh..opq", ("opaque", "var/cache")),
    (".wh..wh..opq", ("opaque", "")),
    ("etc/.whx", ("entry", "etc/.whx")),
])
def test_classify(name: str, want: tuple[str, str]) -> None:
    assert classify(name) == want


@pytest.mark.parametrize("name", ["../x", "a/../../x", "a/..", "etc/.wh.", "etc/.wh.."])
def test_classify_rejects(name: str) -> None:
    with pytest.raises(PermanentError):
        classify(name)


def test_extract_regular_tree(tmp_path: Path) -> None:
    data = layer([
        ("./", "dir", 0o755), ("etc", "dir", 0o700), ("etc/hosts", "file", "127.0.0.1 x\n"),
        ("bin/busybox", "file", b"\x7fELF"),  # parent dir missing from the tar: created 0755
        ("bin/sh", "sym", "busybox"), ("bin/hard", "link", "bin/busybox"),
        ("etc/hosts", "file", "replaced\n"),  # a later entry wins
    ])
    extract_layer(io.BytesIO(data), tmp_path)
    assert (tmp_path / "etc/hosts").read_text() == "replaced\n"
    assert stat.S_IMODE((tmp_path / "etc").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "bin").stat().st_mode) == 0o755
    assert os.readlink(tmp_path / "bin/sh") == "busybox"
    assert (tmp_path / "bin/hard").stat().st_ino == (tmp_path / "bin/busybox").stat().st_ino
    assert int((tmp_path / "etc/hosts").stat().st_mtime) == 1_600_000_000
    assert int((tmp_path / "etc").stat().st_mtime) == 1_600_000_000  # set after the children


def test_modes_owner_and_setuid(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        ti = tarfile.TarInfo("su")
        ti.mode, ti.uid, ti.gid, ti.size = 0o4755, os.geteuid(), 1234 if os.geteuid() == 0 else os.getegid(), 0
        tar.addfile(ti, io.BytesIO(b""))
    extract_layer(io.BytesIO(buf.getvalue()), tmp_path)
    st = (tmp_path / "su").stat()
    assert stat.S_IMODE(st.st_mode) == 0o4755
    if os.geteuid() == 0:
        assert st.st_gid == 1234


def test_symlink_parent_cannot_escape(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "layer"
    dest.mkdir()
    data = layer([("evil", "sym", str(outside)), ("evil/pwned", "file", "x")])
    with pytest.raises(PermanentError, match="non-directory"):
        extract_layer(io.BytesIO(data), dest)
    assert list(outside.iterdir()) == []


def test_dotdot_member_rejected(tmp_path: Path) -> None:
    dest = tmp_path / "layer"
    dest.mkdir()
    with pytest.raises(PermanentError, match="escapes"):
        extract_layer(io.BytesIO(layer([("../escaped", "file", "x")])), dest)
    assert not (tmp_path / "escaped").exists()


def test_file_over_existing_symlink_replaces_link(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_text("keep")
    dest = tmp_path / "layer"
    dest.mkdir()
    extract_layer(io.BytesIO(layer([("f", "sym", str(target)), ("f", "file", "new")])), dest)
    assert target.read_text() == "keep"
    assert not (dest / "f").is_symlink() and (dest / "f").read_text() == "new"


def test_hardlink_to_missing_target(tmp_path: Path) -> None:
    with pytest.raises(PermanentError, match="not in layer"):
        extract_layer(io.BytesIO(layer([("a", "link", "nope")])), tmp_path)


@root_only
def test_whiteouts_become_overlay_whiteouts(tmp_path: Path) -> None:
    data = layer([
        ("etc/.wh.passwd", "file", ""), ("var/cache", "dir", 0o755), ("var/cache/.wh..wh..opq", "file", ""),
        ("var/cache/new", "file", "n"), (".wh.gone", "file", ""),
    ])
    extract_layer(io.BytesIO(data), tmp_path)
    st = os.lstat(tmp_path / "etc/passwd")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0)
    assert stat.S_ISCHR(os.lstat(tmp_path / "gone").st_mode)
    assert os.getxattr(tmp_path / "var/cache", OPAQUE_XATTR) == b"y"
    assert (tmp_path / "var/cache/new").read_text() == "n"
    assert not any(p.name.startswith(".wh.") for p in tmp_path.rglob("*"))


@root_only
def test_devices_fifo_and_owner(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, mode in (("dev/null", tarfile.CHRTYPE, 0o666), ("dev/loop9", tarfile.BLKTYPE, 0o660),
                                 ("run/fifo", tarfile.FIFOTYPE, 0o600)):
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode, ti.uid, ti.gid = kind, mode, 5, 6
            ti.devmajor, ti.devminor = (1, 3) if name == "dev/null" else (7, 9)
            tar.addfile(ti)
    extract_layer(io.BytesIO(buf.getvalue()), tmp_path)
    null = os.lstat(tmp_path / "dev/null")
    assert stat.S_ISCHR(null.st_mode) and null.st_rdev == os.makedev(1, 3)
    assert (stat.S_IMODE(null.st_mode), null.st_uid, null.st_gid) == (0o666, 5, 6)
    assert stat.S_ISBLK(os.lstat(tmp_path / "dev/loop9").st_mode)
    assert stat.S_ISFIFO(os.lstat(tmp_path / "run/fifo").st_mode)
