"""Log rotation of running containers (agent.logrotate): what is due is rotated, and a log below the
size limit costs one stat (the agent walks every running container every 10 s)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from podbay.agent import logrotate


def _container(tmp_path: Path, size: int) -> tuple[str, Path, Path]:
    cdir = tmp_path / "bundle"
    cdir.mkdir()
    log = tmp_path / "logs" / "0.log"
    log.parent.mkdir()
    log.write_bytes(b"x" * size)
    (log.parent / "0.log.20260101-000000").write_bytes(b"old")
    return "c1", cdir, log


def test_a_log_below_the_limit_is_left_without_listing_its_rotated_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cid, cdir, log = _container(tmp_path, 100)

    def no_glob(self: Path, pattern: str) -> list[Path]:
        raise AssertionError(f"glob {pattern} for a log that is not due")

    monkeypatch.setattr(Path, "glob", no_glob)
    assert logrotate.rotate_logs([(cid, str(log))], lambda _cid: cdir, max_size=1000, max_files=3) == []
    assert log.read_bytes() == b"x" * 100


def test_a_log_at_the_limit_is_rotated_and_conmon_told_to_reopen(tmp_path: Path) -> None:
    cid, cdir, log = _container(tmp_path, 1000)
    os.mkfifo(cdir / "ctl")
    reader = os.open(cdir / "ctl", os.O_RDONLY | os.O_NONBLOCK)   # conmon's end of the ctl fifo
    try:
        done = logrotate.rotate_logs([(cid, str(log))], lambda _cid: cdir, max_size=1000, max_files=3)
        assert len(done) == 1 and done[0].startswith(str(log) + ".")
        assert not log.exists() and Path(done[0]).read_bytes() == b"x" * 1000
        assert os.read(reader, 64) == logrotate.REOPEN_LOGS
        assert (log.parent / "0.log.20260101-000000.gz").exists()   # the older one compressed
    finally:
        os.close(reader)
