"""SPDY/3.1 framing and a server-side session, as kubectl's port-forward speaks it.

client-go speaks SPDY through moby/spdystream (apimachinery util/httpstream/spdy): streams are opened
by the client (odd ids) with SYN_STREAM, the server answers SYN_REPLY with no headers, data flows in
DATA frames, a DATA frame with FIN half-closes, RST_STREAM resets. Header blocks are compressed with
one zlib stream per direction for the whole connection, primed with the SPDY/3 dictionary, each block
ended by a sync flush. spdystream does no flow control (it ignores WINDOW_UPDATE and SETTINGS), so this
session does not either; memory stays bounded because the reader stops while a stream's inbox is full.

The codec (FrameCodec) is pure: bytes in, frames out and back. SpdySession runs it over a ByteChannel
(a WebSocket carrying the bytes for kubectl >= 1.31, or the connection itself after an HTTP upgrade).
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

VERSION = 3
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02
# RST_STREAM status codes
PROTOCOL_ERROR, INVALID_STREAM, REFUSED_STREAM, UNSUPPORTED_VERSION, CANCEL, INTERNAL_ERROR = 1, 2, 3, 4, 5, 6
MAX_DATA = (1 << 24) - 1
MAX_HEADER_BLOCK = 1 << 16      # decompressed: a header block larger than this is a protocol error
WRITE_CHUNK = 32 * 1024

Headers = dict[str, list[str]]


def _dictionary() -> bytes:
    """The SPDY/3 header compression dictionary (draft 3, section 2.6.10.1).

    Built from its words: each is a 4-byte big-endian length and the word; then the final run of
    status codes, dates and common values without length prefixes (1423 bytes in all).
    """
    words = ["options", "head", "post", "put", "delete", "trace", "accept", "accept-charset",
             "accept-encoding", "accept-language", "accept-ranges", "age", "allow", "authorization",
             "cache-control", "connection", "content-base", "content-encoding", "content-language",
             "content-length", "content-location", "content-md5", "content-range", "content-type", "date",
             "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match",
             "if-range", "if-unmodified-since", "last-modified", "location", "max-forwards", "pragma",
             "proxy-authenticate", "proxy-authorization", "range", "referer", "retry-after", "server", "te",
             "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via", "warning",
             "www-authenticate", "method", "get", "status"]
    words += ["200 OK", "version", "HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"]
    tail = ("100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
            "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request"
            "401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented"
            "503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 "
            "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,"
            "application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,"
            "deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.")
    return b"".join(struct.pack(">I", len(w)) + w.encode() for w in words) + tail.encode()


DICTIONARY = _dictionary()


class ProtocolError(Exception):
    """The peer sent something that is not SPDY/3.1 (the session answers GOAWAY and closes)."""


# --- frames ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DataFrame:
    stream_id: int
    data: bytes
    flags: int = 0


@dataclass(frozen=True)
class SynStream:
    stream_id: int
    headers: Headers
    flags: int = 0
    associated_id: int = 0
    priority: int = 0
    slot: int = 0


@dataclass(frozen=True)
class SynReply:
    stream_id: int
    headers: Headers = field(default_factory=dict)
    flags: int = 0


@dataclass(frozen=True)
class HeadersFrame:
    stream_id: int
    headers: Headers
    flags: int = 0


@dataclass(frozen=True)
class RstStream:
    stream_id: int
    status: int


@dataclass(frozen=True)
class Settings:
    entries: tuple[tuple[int, int, int], ...] = ()   # (flags, id, value)
    flags: int = 0


@dataclass(frozen=True)
class Ping:
    id: int


@dataclass(frozen=True)
class GoAway:
    last_good_stream_id: int
    status: int = 0


@dataclass(frozen=True)
class WindowUpdate:
    stream_id: int
    delta: int


Frame = DataFrame | SynStream | SynReply | HeadersFrame | RstStream | Settings | Ping | GoAway | WindowUpdate


def encode_header_block(headers: Headers) -> bytes:
    """name/value pairs: counts and lengths are 32-bit, names lowercased, multiple values NUL-joined."""
    out = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        n = name.lower().encode()
        v = b"\x00".join(x.encode() for x in values)
        out += [struct.pack(">I", len(n)), n, struct.pack(">I", len(v)), v]
    return b"".join(out)


def decode_header_block(block: bytes) -> Headers:
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        if pos + n > len(block):
            raise ProtocolError("truncated header block")
        piece = block[pos:pos + n]
        pos += n
        return piece

    (count,) = struct.unpack(">I", take(4))
    headers: Headers = {}
    for _ in range(count):
        (nlen,) = struct.unpack(">I", take(4))
        name = take(nlen).decode(errors="replace").lower()
        (vlen,) = struct.unpack(">I", take(4))
        value = take(vlen).decode(errors="replace")
        if name in headers:
            raise ProtocolError(f"duplicate header {name!r}")
        headers[name] = value.split("\x00")
    if pos != len(block):
        raise ProtocolError("trailing bytes in header block")
    return headers


class FrameCodec:
    """Incremental SPDY/3.1 encoder/decoder with the connection's two zlib header streams."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY,
                                         zdict=DICTIONARY)
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._buf = bytearray()

    # ------------------------------------------------------------------ encode
    def _compress(self, headers: Headers) -> bytes:
        return self._deflate.compress(encode_header_block(headers)) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    @staticmethod
    def _control(ftype: int, flags: int, payload: bytes) -> bytes:
        if len(payload) > MAX_DATA:
            raise ValueError("control frame too large")
        return struct.pack(">HHI", 0x8000 | VERSION, ftype, (flags << 24) | len(payload)) + payload

    def encode(self, f: Frame) -> bytes:
        if isinstance(f, DataFrame):
            if len(f.data) > MAX_DATA:
                raise ValueError("data frame too large")
            return struct.pack(">II", f.stream_id & 0x7FFFFFFF, (f.flags << 24) | len(f.data)) + f.data
        if isinstance(f, SynStream):
            head = struct.pack(">IIBB", f.stream_id & 0x7FFFFFFF, f.associated_id & 0x7FFFFFFF,
                               (f.priority & 7) << 5, f.slot)
            return self._control(SYN_STREAM, f.flags, head + self._compress(f.headers))
        if isinstance(f, SynReply):
            return self._control(SYN_REPLY, f.flags, struct.pack(">I", f.stream_id) + self._compress(f.headers))
        if isinstance(f, HeadersFrame):
            return self._control(HEADERS, f.flags, struct.pack(">I", f.stream_id) + self._compress(f.headers))
        if isinstance(f, RstStream):
            return self._control(RST_STREAM, 0, struct.pack(">II", f.stream_id, f.status))
        if isinstance(f, Settings):
            body = struct.pack(">I", len(f.entries)) + b"".join(
                struct.pack(">II", (fl << 24) | (i & 0xFFFFFF), v) for fl, i, v in f.entries)
            return self._control(SETTINGS, f.flags, body)
        if isinstance(f, Ping):
            return self._control(PING, 0, struct.pack(">I", f.id))
        if isinstance(f, GoAway):
            return self._control(GOAWAY, 0, struct.pack(">II", f.last_good_stream_id, f.status))
        if isinstance(f, WindowUpdate):
            return self._control(WINDOW_UPDATE, 0, struct.pack(">II", f.stream_id, f.delta & 0x7FFFFFFF))
        raise TypeError(f"not a SPDY frame: {f!r}")

    # ------------------------------------------------------------------ decode
    def _decompress(self, data: bytes) -> Headers:
        try:
            block = self._inflate.decompress(data, MAX_HEADER_BLOCK + 1)
        except zlib.error as exc:
            raise ProtocolError(f"header block does not inflate: {exc}") from exc
        if len(block) > MAX_HEADER_BLOCK or self._inflate.unconsumed_tail:
            raise ProtocolError("header block too large")
        return decode_header_block(block)

    def feed(self, data: bytes) -> list[Frame]:
        """Append bytes from the peer; return every complete frame (partial ones wait for more)."""
        self._buf += data
        frames: list[Frame] = []
        while len(self._buf) >= 8:
            first, second = struct.unpack_from(">II", self._buf)
            length = second & 0xFFFFFF
            if len(self._buf) < 8 + length:
                break
            payload = bytes(self._buf[8:8 + length])
            del self._buf[:8 + length]
            flags = second >> 24
            if not first & 0x80000000:
                sid = first & 0x7FFFFFFF
                if sid == 0:
                    raise ProtocolError("stream id zero is disallowed")
                frames.append(DataFrame(sid, payload, flags))
                continue
            version, ftype = (first >> 16) & 0x7FFF, first & 0xFFFF
            if version != VERSION:
                raise ProtocolError(f"unsupported SPDY version {version}")
            frame = self._control_frame(ftype, flags, payload)
            if frame is not None:
                frames.append(frame)
        return frames

    def _control_frame(self, ftype: int, flags: int, p: bytes) -> Frame | None:
        def need(n: int) -> None:
            if len(p) < n:
                raise ProtocolError(f"control frame {ftype} too short")

        if ftype == SYN_STREAM:
            need(10)
            sid, assoc, prio, slot = struct.unpack_from(">IIBB", p)
            sid &= 0x7FFFFFFF
            if sid == 0:
                raise ProtocolError("stream id zero is disallowed")
            return SynStream(sid, self._decompress(p[10:]), flags, assoc & 0x7FFFFFFF, prio >> 5, slot)
        if ftype in (SYN_REPLY, HEADERS):
            need(4)
            sid = struct.unpack_from(">I", p)[0] & 0x7FFFFFFF
            headers = self._decompress(p[4:])
            return SynReply(sid, headers, flags) if ftype == SYN_REPLY else HeadersFrame(sid, headers, flags)
        if ftype == RST_STREAM:
            need(8)
            sid, status = struct.unpack_from(">II", p)
            return RstStream(sid & 0x7FFFFFFF, status)
        if ftype == SETTINGS:
            need(4)
            (count,) = struct.unpack_from(">I", p)
            need(4 + 8 * count)
            entries = tuple(((idf >> 24), idf & 0xFFFFFF, val)
                            for idf, val in (struct.unpack_from(">II", p, 4 + 8 * i) for i in range(count)))
            return Settings(entries, flags)
        if ftype == PING:
            need(4)
            return Ping(struct.unpack_from(">I", p)[0])
        if ftype == GOAWAY:
            need(4)
            last = struct.unpack_from(">I", p)[0] & 0x7FFFFFFF
            status = struct.unpack_from(">I", p, 4)[0] if len(p) >= 8 else 0
            return GoAway(last, status)
        if ftype == WINDOW_UPDATE:
            need(8)
            sid, delta = struct.unpack_from(">II", p)
            return WindowUpdate(sid & 0x7FFFFFFF, delta & 0x7FFFFFFF)
        return None   # unknown control frames are ignored (spdy/3 section 2.2.1)


# --- the session -----------------------------------------------------------------------------------

class ByteChannel(Protocol):
    async def read(self) -> bytes:
        """The next bytes from the peer; b"" at end of stream."""
        ...

    async def write(self, data: bytes) -> None: ...

    async def close(self) -> None: ...


INBOX_LIMIT = 1 << 20


class SpdyStream:
    def __init__(self, session: SpdySession, stream_id: int, headers: Headers, remote_closed: bool) -> None:
        self.session = session
        self.id = stream_id
        self.headers = headers
        self._chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self._buffered = 0
        self._room = asyncio.Event()
        self._room.set()
        self.remote_closed = False
        self.local_closed = False
        self.was_reset = False
        if remote_closed:
            self._remote_fin()

    def header(self, name: str) -> str:
        values = self.headers.get(name.lower()) or [""]
        return values[0]

    # inbound (driven by the session)
    def _deliver(self, data: bytes) -> None:
        if self.remote_closed or not data:
            return
        self._buffered += len(data)
        self._chunks.put_nowait(data)
        if self._buffered > INBOX_LIMIT:
            self._room.clear()

    def _remote_fin(self) -> None:
        if not self.remote_closed:
            self.remote_closed = True
            self._chunks.put_nowait(b"")

    def _reset_by_peer(self) -> None:
        self.was_reset = True
        self.local_closed = True
        self._remote_fin()
        self._room.set()

    async def wait_room(self) -> None:
        await self._room.wait()

    async def read(self) -> bytes:
        """Next chunk from the peer; b"" once the peer half-closed or reset the stream."""
        if self.remote_closed and self._chunks.empty():
            return b""
        data = await self._chunks.get()
        if not data:
            self._chunks.put_nowait(b"")   # keep reporting EOF
            return b""
        self._buffered -= len(data)
        if self._buffered <= INBOX_LIMIT // 2:
            self._room.set()
        return data

    # outbound
    async def write(self, data: bytes) -> None:
        if self.local_closed:
            return   # the peer reset it or we closed it: drop, as spdystream's closed-stream writes fail
        for i in range(0, len(data), WRITE_CHUNK):
            await self.session.send(DataFrame(self.id, data[i:i + WRITE_CHUNK]))

    async def close(self) -> None:
        """Half-close our side (an empty DATA frame with FIN)."""
        if not self.local_closed:
            self.local_closed = True
            await self.session.send(DataFrame(self.id, b"", FLAG_FIN))

    async def reset(self, status: int = CANCEL) -> None:
        if not self.was_reset:
            self.was_reset = True
            self.local_closed = True
            await self.session.send(RstStream(self.id, status))
        self._remote_fin()


Acceptor = Callable[[SpdyStream], str | None]      # None accepts; a message refuses the stream
StreamHandler = Callable[[SpdyStream], Awaitable[None]]


class SpdySession:
    """Server side of one SPDY connection: accept client streams, run a handler per stream."""

    def __init__(self, channel: ByteChannel, accept: Acceptor, handler: StreamHandler) -> None:
        self.channel = channel
        self.accept = accept
        self.handler = handler
        self.codec = FrameCodec()
        self.streams: dict[int, SpdyStream] = {}
        self._last_id = 0
        self._wlock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.closed = False
        self.gone_away = False

    async def send(self, frame: Frame) -> None:
        if self.closed:
            return
        async with self._wlock:   # one writer at a time: the header compressor's state is shared
            data = self.codec.encode(frame)
            try:
                await self.channel.write(data)
            except (ConnectionError, RuntimeError, OSError):
                self.closed = True

    async def run(self) -> None:
        """Read frames until the peer goes; then reset what is left and wait for the handlers."""
        try:
            while not self.closed:
                data = await self.channel.read()
                if not data:
                    break
                try:
                    frames = self.codec.feed(data)
                except ProtocolError:
                    await self.send(GoAway(self._last_id, 1))
                    break
                for frame in frames:
                    await self._dispatch(frame)
        except (ConnectionError, OSError):
            pass
        finally:
            self.closed = True
            for s in self.streams.values():
                s._reset_by_peer()
            for t in list(self._tasks):
                t.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.channel.close()

    async def _dispatch(self, f: Frame) -> None:
        if isinstance(f, SynStream):
            await self._open(f)
        elif isinstance(f, DataFrame):
            s = self.streams.get(f.stream_id)
            if s is None:
                return   # a stream that is gone: ignore, as spdystream does
            s._deliver(f.data)
            if f.flags & FLAG_FIN:
                s._remote_fin()
            await s.wait_room()   # backpressure: stop reading while this stream's consumer lags
        elif isinstance(f, RstStream):
            s = self.streams.pop(f.stream_id, None)
            if s is not None:
                s._reset_by_peer()
        elif isinstance(f, Ping):
            if f.id & 1:   # the client's ping (odd): echo it; even ids would be ours
                await self.send(f)
        elif isinstance(f, GoAway):
            self.gone_away = True
        elif isinstance(f, HeadersFrame):
            s = self.streams.get(f.stream_id)
            if s is not None and f.flags & FLAG_FIN:
                s._remote_fin()
        # SETTINGS, WINDOW_UPDATE, SYN_REPLY (we open no streams): nothing to do

    async def _open(self, f: SynStream) -> None:
        sid = f.stream_id
        if sid % 2 == 0 or sid <= self._last_id or self.gone_away:
            await self.send(RstStream(sid, PROTOCOL_ERROR))
            return
        self._last_id = sid
        stream = SpdyStream(self, sid, f.headers, bool(f.flags & FLAG_FIN))
        if self.accept(stream) is not None:
            await self.send(RstStream(sid, CANCEL))   # connection.newSpdyStream: stream.Reset()
            return
        self.streams[sid] = stream
        await self.send(SynReply(sid, {}))
        task = asyncio.create_task(self._run_handler(stream))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_handler(self, stream: SpdyStream) -> None:
        try:
            await self.handler(stream)
        finally:
            if stream.local_closed and stream.remote_closed:
                self.streams.pop(stream.id, None)

    def forget(self, stream: SpdyStream) -> None:
        self.streams.pop(stream.id, None)
