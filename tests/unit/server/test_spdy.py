"""SPDY/3.1 framing: every frame type round-trips, header blocks share one zlib stream per direction."""

from __future__ import annotations

import struct
import zlib

import pytest

from podbay.server import spdy
from podbay.server.spdy import (
    DataFrame,
    FrameCodec,
    GoAway,
    HeadersFrame,
    Ping,
    ProtocolError,
    RstStream,
    Settings,
    SynReply,
    SynStream,
    WindowUpdate,
)


def test_dictionary_is_the_spdy3_one() -> None:
    d = spdy.DICTIONARY
    assert len(d) == 1423
    assert d[:11] == b"\x00\x00\x00\x07options"
    assert d.endswith(b"charset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
    # the zlib preset dictionary id that goes into every SPDY/3 header stream's zlib header
    assert zlib.adler32(d) == 0xE3C6A7C2


FRAMES = [
    DataFrame(1, b"hello", 0),
    DataFrame(3, b"", spdy.FLAG_FIN),
    SynStream(5, {"streamtype": ["data"], "port": ["8080"], "requestid": ["0"]}, 0, 0, 3, 0),
    SynReply(5, {}),
    SynReply(7, {"x-multi": ["a", "b"]}, spdy.FLAG_FIN),
    HeadersFrame(9, {"k": ["v"]}),
    RstStream(5, spdy.CANCEL),
    Settings(((0, 7, 65536), (1, 4, 100))),
    Ping(1),
    GoAway(7, 0),
    WindowUpdate(5, 1 << 20),
]


def test_every_frame_round_trips() -> None:
    tx, rx = FrameCodec(), FrameCodec()
    wire = b"".join(tx.encode(f) for f in FRAMES)
    assert rx.feed(wire) == FRAMES


def test_frames_split_anywhere_still_decode() -> None:
    tx, rx = FrameCodec(), FrameCodec()
    wire = b"".join(tx.encode(f) for f in FRAMES)
    got: list[object] = []
    for i in range(len(wire)):
        got += rx.feed(wire[i:i + 1])
    assert got == FRAMES


def test_control_frame_header_layout() -> None:
    wire = FrameCodec().encode(Ping(7))
    assert wire == struct.pack(">HHI", 0x8003, spdy.PING, 4) + struct.pack(">I", 7)
    data = FrameCodec().encode(DataFrame(3, b"ab", spdy.FLAG_FIN))
    assert data == struct.pack(">II", 3, (1 << 24) | 2) + b"ab"


def test_header_blocks_decode_from_an_independent_compressor() -> None:
    """What Go's zlib.NewWriterLevelDict(BestCompression, dict) sends: one stream, sync-flushed blocks."""
    go = zlib.compressobj(9, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, zdict=spdy.DICTIONARY)
    rx = FrameCodec()
    out = []
    for sid, rid in ((1, "0"), (3, "0"), (5, "1")):
        block = spdy.encode_header_block({"streamtype": ["error" if sid != 3 else "data"], "port": ["80"],
                                          "requestid": [rid]})
        compressed = go.compress(block) + go.flush(zlib.Z_SYNC_FLUSH)
        payload = struct.pack(">IIBB", sid, 0, 0, 0) + compressed
        out += rx.feed(struct.pack(">HHI", 0x8003, spdy.SYN_STREAM, len(payload)) + payload)
    assert [f.stream_id for f in out] == [1, 3, 5]   # type: ignore[union-attr]
    assert out[2].headers == {"streamtype": ["error"], "port": ["80"], "requestid": ["1"]}  # type: ignore[union-attr]


def test_our_header_blocks_inflate_with_a_plain_zlib_and_the_dictionary() -> None:
    tx = FrameCodec()
    wire = tx.encode(SynReply(1, {"a": ["b"]})) + tx.encode(SynReply(3, {"c": ["d"]}))
    inflate = zlib.decompressobj(zdict=spdy.DICTIONARY)
    first_len = struct.unpack(">I", wire[4:8])[0] & 0xFFFFFF
    block1 = inflate.decompress(wire[12:8 + first_len])
    assert spdy.decode_header_block(block1) == {"a": ["b"]}
    rest = wire[8 + first_len:]
    block2 = inflate.decompress(rest[12:])
    assert spdy.decode_header_block(block2) == {"c": ["d"]}


def test_names_are_lowercased_on_the_wire() -> None:
    tx, rx = FrameCodec(), FrameCodec()
    (f,) = rx.feed(tx.encode(SynStream(1, {"StreamType": ["data"], "Port": ["1"]})))
    assert f.headers == {"streamtype": ["data"], "port": ["1"]}  # type: ignore[union-attr]


@pytest.mark.parametrize("wire", [
    struct.pack(">II", 0, 0),                                                 # DATA on stream 0
    struct.pack(">HHI", 0x8002, spdy.PING, 4) + b"\0\0\0\1",                  # SPDY/2
    struct.pack(">HHI", 0x8003, spdy.SYN_STREAM, 12) + b"\0\0\0\1" + b"\0" * 6 + b"xx",   # junk header block
])
def test_protocol_errors(wire: bytes) -> None:
    with pytest.raises(ProtocolError):
        FrameCodec().feed(wire)


def test_duplicate_header_names_are_an_error() -> None:
    block = struct.pack(">I", 2) + (struct.pack(">I", 1) + b"a" + struct.pack(">I", 1) + b"b") * 2
    with pytest.raises(ProtocolError, match="duplicate"):
        spdy.decode_header_block(block)


def test_unknown_control_frames_are_skipped() -> None:
    unknown = struct.pack(">HHI", 0x8003, 0x42, 3) + b"abc"
    assert FrameCodec().feed(unknown + FrameCodec().encode(Ping(3))) == [Ping(3)]


def test_oversized_header_block_is_refused() -> None:
    tx = FrameCodec()
    big = {"x": ["y" * (spdy.MAX_HEADER_BLOCK + 10)]}
    with pytest.raises(ProtocolError, match="too large"):
        FrameCodec().feed(tx.encode(SynStream(1, big)))
