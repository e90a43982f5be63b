"""The cluster DNS server: UDP and TCP on the agent's DNS addresses, answering the cluster zone from
an in-memory ``ClusterDNS`` index and forwarding everything else to the host's resolvers with a
cache that honours TTLs (CoreDNS ``forward . /etc/resolv.conf`` + ``cache 30``).

It runs its own event loop in a thread so the agent's work never delays an answer; the index is
swapped atomically (``set_index``) whenever Services or EndpointSlices change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podbay.core.services import dnswire as w
from podbay.core.services.dnsrecords import ClusterDNS
from podbay.sys import children

log = logging.getLogger("podbay.dns")
FORWARD_TIMEOUT = 2.0
MAX_CACHE_TTL = 30  # CoreDNS `cache 30`
MAX_CACHE_ENTRIES = 10000
IP_FREEBIND = 15


def host_upstreams(resolv_conf: str | Path = "/etc/resolv.conf", exclude: Sequence[str] = ()) -> list[str]:
    """The host's nameservers (loopback ones work: this server runs in the host namespace)."""
    try:
        text = Path(resolv_conf).read_text()
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        f = line.split("#", 1)[0].split()
        if len(f) >= 2 and f[0] == "nameserver" and f[1] not in exclude and f[1] not in out:
            out.append(f[1])
    return out


@dataclass
class _Cached:
    resp: bytes
    stored: float
    expires: float


class DnsServer:
    def __init__(self, addresses: Sequence[tuple[str, int]], upstreams: Sequence[str], index: ClusterDNS,
                 *, upstream_port: int = 53) -> None:
        self.addresses = list(addresses)
        self.upstreams = list(upstreams)
        self.upstream_port = upstream_port
        self._state: tuple[ClusterDNS, dict[tuple[bytes, int, int], bytes]] = (index, {})
        self._fwd_cache: dict[tuple[bytes, int], _Cached] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._pending: dict[int, asyncio.Future[bytes]] = {}
        self._up_transport: asyncio.DatagramTransport | None = None
        self.bound: list[tuple[str, int]] = []
        self.stats = {"queries": 0, "forwarded": 0, "cache_hits": 0}

    # -- index --------------------------------------------------------------------------------

    def set_index(self, index: ClusterDNS) -> None:
        self._state = (index, {})  # one assignment: readers see the old pair or the new one

    @property
    def index(self) -> ClusterDNS:
        return self._state[0]

    # -- answering ----------------------------------------------------------------------------

    def answer_local(self, data: bytes, limit: int | None) -> bytes | None:
        """The response for a cluster-zone query, or None when it must be forwarded."""
        index, cache = self._state
        try:
            q = w.parse_query(data)
        except w.WireError:
            return w.error_response(data, w.FORMERR)
        if q.qclass != w.CLASS_IN:
            return w.encode_response(q, w.NOTIMP, authoritative=False)
        key = (q.question, q.flags & w.RD, (q.udp_size if q.edns else -1) if limit is not None else 0)
        hit = cache.get(key)
        if hit is not None:
            return w.with_id(hit, q.id)
        ans = index.answer(q.name, q.qtype)
        if ans.forward:
            return None
        cap = None if limit is None else max(limit, q.udp_size)
        resp = w.encode_response(q, ans.rcode, list(ans.answers), list(ans.authority), list(ans.additional),
                                 limit=cap)
        if len(cache) < MAX_CACHE_ENTRIES:
            cache[key] = w.with_id(resp, 0)
        return resp

    def _cached_forward(self, data: bytes, tcp: bool) -> bytes | None:
        try:
            q = w.parse_query(data)
        except w.WireError:
            return None
        c = self._fwd_cache.get((q.question, int(tcp)))
        now = time.monotonic()
        if c is None or c.expires <= now:
            return None
        self.stats["cache_hits"] += 1
        return w.with_id(w.age_ttls(c.resp, int(now - c.stored)), q.id)

    def _store_forward(self, data: bytes, resp: bytes, tcp: bool) -> None:
        try:
            q = w.parse_query(data)
            rcode, flags, ttl = w.response_meta(resp)
        except (w.WireError, struct.error):
            return
        if rcode not in (w.NOERROR, w.NXDOMAIN) or flags & w.TC or ttl <= 0:
            return
        if len(self._fwd_cache) >= MAX_CACHE_ENTRIES:
            now = time.monotonic()
            for k in [k for k, v in self._fwd_cache.items() if v.expires <= now] or list(self._fwd_cache)[:100]:
                self._fwd_cache.pop(k, None)
        now = time.monotonic()
        self._fwd_cache[(q.question, int(tcp))] = _Cached(w.with_id(resp, 0), now, now + min(ttl, MAX_CACHE_TTL))

    async def _forward_udp(self, data: bytes) -> bytes:
        assert self._up_transport is not None
        loop = asyncio.get_running_loop()
        for server in self.upstreams or []:
            qid = random.randrange(1 << 16)
            while qid in self._pending:
                qid = random.randrange(1 << 16)
            fut: asyncio.Future[bytes] = loop.create_future()
            self._pending[qid] = fut
            try:
                self._up_transport.sendto(w.with_id(data, qid), (server, self.upstream_port))
                resp = await asyncio.wait_for(fut, FORWARD_TIMEOUT)
                return w.with_id(resp, struct.unpack("!H", data[:2])[0])
            except (TimeoutError, OSError):
                continue
            finally:
                self._pending.pop(qid, None)
        raise TimeoutError("no upstream answered")

    async def _forward_tcp(self, data: bytes) -> bytes:
        for server in self.upstreams or []:
            try:
                r, wr = await asyncio.wait_for(asyncio.open_connection(server, self.upstream_port), FORWARD_TIMEOUT)
            except (TimeoutError, OSError):
                continue
            try:
                wr.write(struct.pack("!H", len(data)) + data)
                await wr.drain()
                n = struct.unpack("!H", await asyncio.wait_for(r.readexactly(2), FORWARD_TIMEOUT))[0]
                return await asyncio.wait_for(r.readexactly(n), FORWARD_TIMEOUT)
            except (TimeoutError, OSError, asyncio.IncompleteReadError):
                continue
            finally:
                wr.close()
        raise TimeoutError("no upstream answered")

    async def resolve(self, data: bytes, tcp: bool, limit: int | None) -> bytes | None:
        self.stats["queries"] += 1
        local = self.answer_local(data, limit)
        if local is not None:
            return local
        cached = self._cached_forward(data, tcp)
        if cached is not None:
            return cached
        self.stats["forwarded"] += 1
        try:
            resp = await (self._forward_tcp(data) if tcp else self._forward_udp(data))
        except TimeoutError:
            return w.error_response(data, w.SERVFAIL)
        self._store_forward(data, resp, tcp)
        return resp

    # -- transports ---------------------------------------------------------------------------

    def _udp_protocol(self) -> asyncio.DatagramProtocol:
        server = self

        class Udp(asyncio.DatagramProtocol):
            transport: asyncio.DatagramTransport

            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport  # type: ignore[assignment]

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                server.stats["queries"] += 1
                resp = server.answer_local(data, w.UDP_LIMIT)
                if resp is not None:
                    self.transport.sendto(resp, addr)
                    return
                server.stats["queries"] -= 1  # counted again by resolve()
                asyncio.ensure_future(self._slow(data, addr))

            async def _slow(self, data: bytes, addr: tuple[str, int]) -> None:
                resp = await server.resolve(data, False, w.UDP_LIMIT)
                if resp is not None:
                    self.transport.sendto(resp, addr)

        return Udp()

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await asyncio.wait_for(reader.readexactly(2), 10.0)
                data = await reader.readexactly(struct.unpack("!H", head)[0])
                resp = await self.resolve(data, True, None)
                if resp is None:
                    break
                writer.write(struct.pack("!H", len(resp)) + resp)
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _upstream_protocol(self) -> asyncio.DatagramProtocol:
        pending = self._pending

        class Up(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                if len(data) >= 2:
                    fut = pending.get(struct.unpack("!H", data[:2])[0])
                    if fut is not None and not fut.done():
                        fut.set_result(data)

        return Up()

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        closers = []
        try:
            up, _ = await loop.create_datagram_endpoint(self._upstream_protocol, local_addr=("0.0.0.0", 0))
            self._up_transport = up  # type: ignore[assignment]
            closers.append(up.close)
            for host, want in self.addresses:
                # UDP and TCP share the port; with port 0 the first free pair is taken.
                for _attempt in range(50):
                    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    us.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)  # the address may appear a moment later
                    us.bind((host, want))
                    port = us.getsockname()[1]
                    ts = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    ts.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    ts.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
                    try:
                        ts.bind((host, port))
                        break
                    except OSError:
                        us.close()
                        ts.close()
                        if want:
                            raise
                else:
                    raise OSError(f"no free UDP+TCP port pair on {host}")
                ut, _ = await loop.create_datagram_endpoint(self._udp_protocol, sock=us)
                closers.append(ut.close)
                srv = await asyncio.start_server(self._tcp_client, sock=ts)
                closers.append(srv.close)
                self.bound.append((host, port))
        except BaseException as exc:
            self._error = exc
            for c in closers:
                c()
            self._ready.set()
            return
        self._ready.set()
        await self._stop.wait()
        for c in closers:
            c()

    def start(self) -> None:
        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve())
            finally:
                loop.close()

        self._thread = threading.Thread(target=main, name="podbay-dns", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            err, self._error = self._error, None
            raise OSError(f"cluster DNS cannot listen on {self.addresses}: {err}") from err

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(5)
        self._thread = None


# -- as a child process ----------------------------------------------------------------------------
#
# In the agent's process the server's thread shares the GIL with everything the agent does; a child
# process answers from its own interpreter. The parent sends index snapshots as JSON lines on the
# child's stdin; EOF (the agent went away) stops the child.


def snapshot_line(services: Sequence[object], slices: Sequence[object], namespaces: Sequence[str], *,
                  zone: str, ttl: int, dns_ip: str, serial: int) -> bytes:
    import json

    return (json.dumps({"services": services, "slices": slices, "namespaces": list(namespaces), "zone": zone,
                        "ttl": ttl, "dns_ip": dns_ip, "serial": serial}, separators=(",", ":")) + "\n").encode()


def _index_from(doc: dict) -> ClusterDNS:  # type: ignore[type-arg]
    return ClusterDNS(doc.get("services") or [], doc.get("slices") or [], doc.get("namespaces") or [],
                      zone=str(doc.get("zone") or "cluster.local"), ttl=int(doc.get("ttl") or 5),
                      dns_ip=str(doc.get("dns_ip") or ""), serial=int(doc.get("serial") or 1))


def child_main(argv: list[str]) -> int:
    """`python -m podbay.network.dnsserver --listen IP:PORT [--upstream IP]... [--upstream-port N]`."""
    import argparse
    import json
    import sys

    ap = argparse.ArgumentParser(prog="podbay-dns")
    ap.add_argument("--listen", required=True)
    ap.add_argument("--upstream", action="append", default=[])
    ap.add_argument("--upstream-port", type=int, default=53)
    args = ap.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    server = DnsServer([(host, int(port))], args.upstream, ClusterDNS([], []), upstream_port=args.upstream_port)
    try:
        server.start()
    except OSError as exc:
        print(json.dumps({"error": str(exc)}), flush=True)
        return 1
    print(json.dumps({"bound": server.bound}), flush=True)
    try:
        for line in sys.stdin:
            if line.strip():
                try:
                    server.set_index(_index_from(json.loads(line)))
                except (ValueError, TypeError, KeyError) as exc:
                    print(f"podbay-dns: bad snapshot: {exc}", file=sys.stderr, flush=True)
    finally:
        server.stop()
    return 0


class DnsProcess:
    """The same server in a child process (`python -m podbay.network.dnsserver`)."""

    def __init__(self, address: tuple[str, int], upstreams: Sequence[str], *, upstream_port: int = 53) -> None:
        self.address = address
        self.upstreams = list(upstreams)
        self.upstream_port = upstream_port
        self.proc: object | None = None
        self.bound: list[tuple[str, int]] = []

    def start(self, retry_seconds: float = 3.0) -> None:
        """Start the child; a previous agent's child may still hold the port for a moment after
        that agent was killed (it exits on EOF of its stdin), so "in use" is retried briefly."""
        deadline = time.monotonic() + retry_seconds
        while True:
            try:
                self._start_once()
                return
            except OSError as exc:
                if "in use" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def _start_once(self) -> None:
        import json
        import subprocess
        import sys

        argv = [sys.executable, "-m", "podbay.network.dnsserver", "--listen", f"{self.address[0]}:{self.address[1]}",
                "--upstream-port", str(self.upstream_port)]
        for u in self.upstreams:
            argv += ["--upstream", u]
        # Owned by the agent's reaper until waited for (sys.children).
        proc = children.popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert proc.stdout is not None
        first = proc.stdout.readline()
        hello: dict[str, Any]
        try:
            hello = json.loads(first) if first else {"error": "exited"}
        except ValueError:
            hello = {"error": first.decode(errors="replace")}
        if "bound" not in hello:
            proc.kill()
            proc.wait(5)
            for f in (proc.stdin, proc.stdout):
                if f is not None:
                    f.close()
            children.release(proc)
            raise OSError(f"cluster DNS process did not start: {hello.get('error')}")
        self.bound = [(str(h), int(p)) for h, p in hello["bound"]]
        self.proc = proc

    def send(self, line: bytes) -> None:
        import subprocess

        proc = self.proc
        assert isinstance(proc, subprocess.Popen) and proc.stdin is not None
        proc.stdin.write(line)
        proc.stdin.flush()

    def stop(self) -> None:
        import subprocess

        proc = self.proc
        if isinstance(proc, subprocess.Popen):
            with contextlib.suppress(OSError, ValueError):
                if proc.stdin:
                    proc.stdin.close()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            if proc.stdout is not None:
                proc.stdout.close()
            children.release(proc)
        self.proc = None


if __name__ == "__main__":
    import sys as _sys

    raise SystemExit(child_main(_sys.argv[1:]))
