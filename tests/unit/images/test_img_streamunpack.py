"""Streamed unpacks: which blob files the skopeo watcher reports, and unpacking a finished blob."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

from imgtest_helpers import layer

from podbay.images.skopeo import _fresh_blobs
from podbay.images.streamunpack import StreamUnpacker


def test_each_blob_is_reported_once_whether_seen_writing_or_only_finished(tmp_path: Path) -> None:
    blobs = tmp_path / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    seen: set[int] = set()
    assert _fresh_blobs(tmp_path, seen) == []
    (tmp_path / "oci-put-blob1").write_bytes(b"growing")
    (tmp_path / "index.json").write_text("{}")          # not a blob
    assert _fresh_blobs(tmp_path, seen) == [tmp_path / "oci-put-blob1"]
    os.rename(tmp_path / "oci-put-blob1", blobs / "aa")  # renamed when complete: same inode, not again
    (blobs / "bb").write_bytes(b"fetched and renamed between two looks")
    (blobs / ".tmp").write_bytes(b"")                  # hidden: never a blob
    assert _fresh_blobs(tmp_path, seen) == [blobs / "bb"]
    assert _fresh_blobs(tmp_path, seen) == []


def test_a_finished_blob_is_unpacked_without_waiting(tmp_path: Path) -> None:
    tar = layer([("etc", "dir", 0o755), ("etc/hello", "file", "hi\n"), ("bin", "sym", "usr/bin")])
    blob = gzip.compress(tar)
    path = tmp_path / "blobs" / "sha256" / hashlib.sha256(blob).hexdigest()
    path.parent.mkdir(parents=True)
    path.write_bytes(blob)
    work = tmp_path / "work"
    work.mkdir()
    streams = StreamUnpacker(work)
    streams.on_blob(path)
    (config := tmp_path / "blobs" / "sha256" / "cfg").write_bytes(b'{"not": "a layer"}')
    streams.on_blob(config)
    got = streams.finish()   # returns: a complete file is read to its end, not followed
    assert list(got) == ["sha256:" + hashlib.sha256(blob).hexdigest()]
    streamed = got["sha256:" + hashlib.sha256(blob).hexdigest()]
    assert streamed.diff_hex == hashlib.sha256(tar).hexdigest()
    assert (streamed.dir / "etc" / "hello").read_text() == "hi\n"
    assert os.readlink(streamed.dir / "bin") == "usr/bin"
