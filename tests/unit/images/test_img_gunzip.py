"""PipelinedGunzip: hashes and inflates a gzip layer in a helper thread, with ISA-L or zlib."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
from typing import Any

import pytest

from podbay.errors import PermanentError
from podbay.images import layers


@pytest.fixture(params=["best", "zlib"])
def inflater(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "zlib":
        import zlib

        monkeypatch.setattr(layers, "inflater", lambda: ((lambda: layers._ZlibMember(zlib)), zlib.error))
    return str(request.param)


def _gunzip(data: bytes, chunk: int = 1 << 18) -> layers.PipelinedGunzip:
    gz = layers.PipelinedGunzip(io.BytesIO(data), chunk=chunk)
    return gz


def _read_all(gz: layers.PipelinedGunzip, n: int = 70_001) -> bytes:
    out = []
    try:
        while block := gz.read(n):
            out.append(block)
        gz.drain()
    finally:
        gz.close()
    return b"".join(out)


def test_inflates_and_hashes_both_streams(inflater: Any) -> None:
    plain = os.urandom(300_000) + b"\0" * 2_000_000   # incompressible and very compressible parts
    packed = gzip.compress(plain)
    gz = _gunzip(packed, chunk=4096)   # small chunks: output is bounded per call, input is carried over
    assert _read_all(gz) == plain
    assert gz.raw_hash.hexdigest() == hashlib.sha256(packed).hexdigest()
    assert gz.diff_hash.hexdigest() == hashlib.sha256(plain).hexdigest()
    assert (gz.raw_size, gz.size) == (len(packed), len(plain))


def test_concatenated_members_are_one_stream(inflater: Any) -> None:
    parts = [b"first " * 5000, b"", b"second " * 7, os.urandom(50_000)]
    packed = b"".join(gzip.compress(p) for p in parts)
    gz = _gunzip(packed, chunk=1000)
    assert _read_all(gz) == b"".join(parts)
    assert gz.diff_hash.hexdigest() == hashlib.sha256(b"".join(parts)).hexdigest()


@pytest.mark.parametrize("cut", [10, 200, -4])
def test_truncated_stream_is_an_error(inflater: Any, cut: int) -> None:
    packed = gzip.compress(os.urandom(20_000))
    with pytest.raises(PermanentError, match="invalid gzip layer"):
        _read_all(_gunzip(packed[:cut]))


def test_empty_input_is_an_error(inflater: Any) -> None:
    with pytest.raises(PermanentError, match="invalid gzip layer"):
        _read_all(_gunzip(b""))


def test_corrupt_data_and_trailing_garbage_are_errors(inflater: Any) -> None:
    packed = bytearray(gzip.compress(b"x" * 100_000))
    packed[-8] ^= 0xFF   # the CRC32 of the trailer
    with pytest.raises(PermanentError, match="invalid gzip layer"):
        _read_all(_gunzip(bytes(packed)))
    with pytest.raises(PermanentError, match="invalid gzip layer"):
        _read_all(_gunzip(gzip.compress(b"y" * 1000) + b"not gzip"))


def test_isal_is_used_when_installed() -> None:
    pytest.importorskip("isal")
    make, error = layers.inflater()
    assert type(make()).__name__ == "IgzipDecompressor"
    assert issubclass(error, Exception)
