"""openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS and its O_NOFOLLOW-walk fallback (issue 11 item 1)."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from podbay.sys import safeopen


@pytest.fixture(params=["openat2", "walk"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "walk":
        monkeypatch.setattr(safeopen, "_openat2_works", False)
    yield str(request.param)


@pytest.fixture
def base(tmp_path: Path) -> Iterator[int]:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "f").write_text("x")
    (tmp_path / "a" / "to-root").symlink_to("/")
    (tmp_path / "a" / "to-b").symlink_to("b")
    fd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    yield fd
    os.close(fd)


def target(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    finally:
        os.close(fd)


def test_opens_plain_paths(mode: str, base: int, tmp_path: Path) -> None:
    assert target(safeopen.open_beneath(base, "a/b/f")) == str(tmp_path / "a" / "b" / "f")
    assert target(safeopen.open_beneath(base, "a/b", os.O_RDONLY | os.O_DIRECTORY)) == str(tmp_path / "a" / "b")
    assert target(safeopen.open_beneath(base, "")) == str(tmp_path)


@pytest.mark.parametrize("path,code", [
    ("a/to-root", errno.ELOOP), ("a/to-root/etc", errno.ELOOP), ("a/to-b/f", errno.ELOOP),
    ("../x", errno.EXDEV), ("a/../../x", errno.EXDEV), ("/etc", errno.EXDEV),
])
def test_refuses_symlinks_and_escapes(mode: str, base: int, path: str, code: int) -> None:
    with pytest.raises(OSError) as ei:
        safeopen.open_beneath(base, path)
    assert ei.value.errno == code


def test_missing_is_enoent(mode: str, base: int) -> None:
    with pytest.raises(FileNotFoundError):
        safeopen.open_beneath(base, "a/nope")
