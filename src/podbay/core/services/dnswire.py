"""The DNS wire format for the few things cluster DNS needs (RFC 1035, 2782, 6891), hand-written.

Only the question is parsed on the hot path; answers are encoded from (name, type, ttl, rdata).
Chosen over dnslib/dnspython on measured speed (bench/dns_bench.py): a parse + encode here costs a
fraction of theirs, and cached responses only need their ID patched.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

A, NS, CNAME, SOA, PTR, TXT, AAAA, SRV, OPT, ANY = 1, 2, 5, 6, 12, 16, 28, 33, 41, 255
CLASS_IN = 1
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
QR, AA, TC, RD, RA = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080
UDP_LIMIT = 512
EDNS_SIZE = 1232  # the DNS flag day 2020 size we advertise and honour at most

_HDR = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
_QT = struct.Struct("!HH")


class WireError(ValueError):
    pass


@dataclass(frozen=True)
class Query:
    id: int
    flags: int
    name: str  # lower case, no trailing dot ("" is the root)
    qtype: int
    qclass: int
    question: bytes  # the question section as received (echoed back verbatim)
    udp_size: int  # 512 without EDNS, else the requester's payload size (capped)
    edns: bool


def _read_name(buf: bytes, off: int) -> tuple[str, int]:
    """A possibly compressed name at off -> (dotted lower-case name, offset after it)."""
    labels: list[str] = []
    end = -1
    jumps = 0
    n = len(buf)
    while True:
        if off >= n:
            raise WireError("name runs past the message")
        ln = buf[off]
        if ln == 0:
            off += 1
            break
        if ln & 0xC0 == 0xC0:
            if off + 1 >= n:
                raise WireError("truncated pointer")
            if end < 0:
                end = off + 2
            off = ((ln & 0x3F) << 8) | buf[off + 1]
            jumps += 1
            if jumps > 32:
                raise WireError("compression loop")
            continue
        if ln > 63:
            raise WireError("bad label length")
        labels.append(buf[off + 1 : off + 1 + ln].decode("ascii", "replace").lower())
        off += 1 + ln
    return ".".join(labels), (end if end >= 0 else off)


def _skip_name(buf: bytes | bytearray, off: int) -> int:
    n = len(buf)
    while True:
        if off >= n:
            raise WireError("name runs past the message")
        ln = buf[off]
        if ln == 0:
            return off + 1
        if ln & 0xC0 == 0xC0:
            return off + 2
        off += 1 + ln


def parse_query(data: bytes) -> Query:
    """The header and the single question (plus the EDNS payload size of an OPT record)."""
    if len(data) < 12:
        raise WireError("short message")
    qid, flags, qd, an, ns, ar = _HDR.unpack_from(data)
    if flags & QR or qd != 1:
        raise WireError("not a query with one question")
    name, off = _read_name(data, 12)
    if off + 4 > len(data):
        raise WireError("truncated question")
    qtype, qclass = _QT.unpack_from(data, off)
    qend = off + 4
    udp_size, edns = UDP_LIMIT, False
    if ar and not an and not ns:
        p = qend
        for _ in range(ar):
            p = _skip_name(data, p)
            if p + 10 > len(data):
                break
            rtype, rclass, _ttl, rdlen = _RR.unpack_from(data, p)
            if rtype == OPT:
                edns = True
                udp_size = max(UDP_LIMIT, min(rclass, EDNS_SIZE))
            p += 10 + rdlen
    return Query(qid, flags, name, qtype, qclass, data[12:qend], udp_size, edns)


def encode_name(name: str) -> bytes:
    out = bytearray()
    for label in name.strip(".").split(".") if name.strip(".") else []:
        b = label.encode("ascii", "replace")
        if not 0 < len(b) <= 63:
            raise WireError(f"bad label in {name!r}")
        out.append(len(b))
        out += b
    out.append(0)
    if len(out) > 255:
        raise WireError(f"name too long: {name!r}")
    return bytes(out)


# -- rdata ---------------------------------------------------------------------------------------

def rdata_a(ip: str) -> bytes:
    return ipaddress.IPv4Address(ip).packed


def rdata_aaaa(ip: str) -> bytes:
    return ipaddress.IPv6Address(ip).packed


def rdata_name(target: str) -> bytes:
    """CNAME, PTR and NS rdata (uncompressed)."""
    return encode_name(target)


def rdata_srv(priority: int, weight: int, port: int, target: str) -> bytes:
    return struct.pack("!HHH", priority, weight, port) + encode_name(target)


def rdata_txt(*strings: str) -> bytes:
    out = bytearray()
    for s in strings:
        b = s.encode()[:255]
        out.append(len(b))
        out += b
    return bytes(out)


def rdata_soa(mname: str, rname: str, serial: int, refresh: int, retry: int, expire: int, minimum: int) -> bytes:
    return encode_name(mname) + encode_name(rname) + struct.pack("!IIIII", serial & 0xFFFFFFFF, refresh, retry,
                                                                  expire, minimum)


@dataclass(frozen=True)
class RR:
    name: str
    rtype: int
    ttl: int
    rdata: bytes


def _rr_bytes(rr: RR, qname: str) -> bytes:
    # The owner is very often the question name: point at it (offset 12) instead of repeating it.
    owner = b"\xc0\x0c" if rr.name.lower().strip(".") == qname else encode_name(rr.name)
    return owner + _RR.pack(rr.rtype, CLASS_IN, max(0, rr.ttl), len(rr.rdata)) + rr.rdata


def encode_response(q: Query, rcode: int, answers: list[RR] = (), authority: list[RR] = (),  # type: ignore[assignment]
                    additional: list[RR] = (), *, authoritative: bool = True,  # type: ignore[assignment]
                    limit: int | None = None) -> bytes:
    """A response to q; past `limit` bytes (UDP) the sections are dropped and TC is set."""
    flags = QR | (q.flags & RD) | RA | (AA if authoritative else 0) | (rcode & 0xF) | (q.flags & 0x7800)
    opt = b"\x00" + _RR.pack(OPT, EDNS_SIZE, 0, 0) if q.edns else b""
    body = [_rr_bytes(r, q.name) for r in answers]
    auth = [_rr_bytes(r, q.name) for r in authority]
    add = [_rr_bytes(r, q.name) for r in additional]
    msg = _HDR.pack(q.id, flags, 1, len(body), len(auth), len(add) + (1 if opt else 0)) + q.question + \
        b"".join(body) + b"".join(auth) + b"".join(add) + opt
    if limit is not None and len(msg) > limit:
        # Additional records go first; if answers alone do not fit, truncate (the client retries on TCP).
        msg = _HDR.pack(q.id, flags, 1, len(body), len(auth), 1 if opt else 0) + q.question + \
            b"".join(body) + b"".join(auth) + opt
        if len(msg) > limit:
            msg = _HDR.pack(q.id, flags | TC, 1, 0, 0, 1 if opt else 0) + q.question + opt
    return msg


def error_response(data: bytes, rcode: int) -> bytes | None:
    """FORMERR/NOTIMP/SERVFAIL echoing whatever header and question could be read (None if none)."""
    if len(data) < 12:
        return None
    qid, flags = struct.unpack_from("!HH", data)
    try:
        _, off = _read_name(data, 12)
        question = data[12 : off + 4] if off + 4 <= len(data) else b""
    except WireError:
        question = b""
    return _HDR.pack(qid, QR | (flags & RD) | RA | rcode, 1 if question else 0, 0, 0, 0) + question


def with_id(resp: bytes, qid: int) -> bytes:
    return struct.pack("!H", qid) + resp[2:]


def response_meta(resp: bytes) -> tuple[int, int, int]:
    """(rcode, flags, min TTL of answer+authority records, or -1 when there are none)."""
    if len(resp) < 12:
        raise WireError("short message")
    _, flags, qd, an, ns, _ar = _HDR.unpack_from(resp)
    off = 12
    for _ in range(qd):
        off = _skip_name(resp, off) + 4
    ttl = -1
    for i in range(an + ns):
        off = _skip_name(resp, off)
        rtype, _c, t, rdlen = _RR.unpack_from(resp, off)
        if rtype == SOA and i >= an:
            # RFC 2308: a negative answer lives min(SOA TTL, SOA minimum).
            minimum = struct.unpack_from("!I", resp, off + 10 + rdlen - 4)[0]
            t = min(t, minimum)
        if rtype != OPT:
            ttl = t if ttl < 0 else min(ttl, t)
        off += 10 + rdlen
    return flags & 0xF, flags, ttl


def age_ttls(resp: bytes, elapsed: int) -> bytes:
    """A cached response with every TTL lowered by `elapsed` seconds (OPT records untouched)."""
    if elapsed <= 0:
        return resp
    buf = bytearray(resp)
    _, _flags, qd, an, ns, ar = _HDR.unpack_from(buf)
    off = 12
    for _ in range(qd):
        off = _skip_name(buf, off) + 4
    for _ in range(an + ns + ar):
        off = _skip_name(buf, off)
        rtype, _c, t, rdlen = _RR.unpack_from(buf, off)
        if rtype != OPT:
            struct.pack_into("!I", buf, off + 4, max(0, t - elapsed))
        off += 10 + rdlen
    return bytes(buf)


def build_query(name: str, qtype: int, qid: int = 0, rd: bool = True, edns: int = 0) -> bytes:
    """A query message (tests, benches and the forwarder's own probes)."""
    opt = b"\x00" + _RR.pack(OPT, edns, 0, 0) if edns else b""
    return _HDR.pack(qid, RD if rd else 0, 1, 0, 0, 1 if opt else 0) + encode_name(name) + \
        _QT.pack(qtype, CLASS_IN) + opt
