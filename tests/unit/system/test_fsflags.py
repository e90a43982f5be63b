"""podbay.sys.fsflags: the TOPDIR placement hint is set where the file system has it, ignored elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from podbay.sys import fsflags


def _fs_type(path: Path) -> str:
    best, kind = "", ""
    with open("/proc/self/mounts") as f:
        for line in f:
            _, mnt, fstype, *_ = line.split()
            if str(path.resolve()).startswith(mnt) and len(mnt) > len(best):
                best, kind = mnt, fstype
    return kind


def test_spread_children_sets_topdir_on_ext4(tmp_path: Path) -> None:
    if _fs_type(tmp_path) not in ("ext2", "ext3", "ext4"):
        pytest.skip("the TOPDIR flag is ext2/3/4's")
    d = tmp_path / "layers"
    d.mkdir()
    assert fsflags.spread_children(d) is True
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert fsflags.get_flags(fd) & fsflags.FS_TOPDIR_FL
    finally:
        os.close(fd)
    assert fsflags.spread_children(d) is True   # idempotent
    (d / "child").mkdir()   # still a normal directory
    (d / "child" / "f").write_text("x")
    assert (d / "child" / "f").read_text() == "x"


def test_spread_children_is_a_no_op_without_the_flag(tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or _fs_type(shm) != "tmpfs":
        pytest.skip("needs a tmpfs")
    d = Path(os.path.realpath(shm)) / f"podbay-fsflags-{os.getpid()}"
    d.mkdir()
    try:
        assert fsflags.spread_children(d) is False   # tmpfs has no TOPDIR: reported, not raised
        assert d.is_dir()
    finally:
        d.rmdir()


def test_spread_children_never_follows_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    with pytest.raises(OSError):
        fsflags.spread_children(tmp_path / "link")
