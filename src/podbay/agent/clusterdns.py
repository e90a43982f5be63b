"""The agent's cluster DNS: one DnsServer on the host's address on the pod bridge, fed from the
Services and EndpointSlices the agent watches; the kube-dns ClusterIP is DNAT'd to it by the
proxier like any Service (its EndpointSlice names that address).

Why this address: the kernel here has no `dummy` link type (measured: ``ip link add type dummy`` →
"Unknown device type"), so the NodeLocal-DNSCache trick of putting the VIP on a dummy interface is
out; the bridge address exists wherever pods exist, is reachable from every pod, is unique per
agent (parallel agents never collide on port 53), and DNAT through the proxier needs no special
case. IP_FREEBIND lets the server bind before the bridge has its address.

By default the server runs in a child process (``isolated``): in the agent's own process its thread
would share the GIL with the agent's work, and the tail latency of every pod's lookups would follow
the agent's busiest moment (bench/services_bench.py measures both under a busy agent).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from podbay.core.services.dnsrecords import ClusterDNS
from podbay.network.dnsserver import DnsProcess, DnsServer, host_upstreams, snapshot_line

log = logging.getLogger("podbay.dns")


class ClusterDnsService:
    def __init__(self, listen_ip: str, dns_ip: str, *, zone: str = "cluster.local", ttl: int = 5,
                 port: int = 53, resolv_conf: str = "/etc/resolv.conf", upstreams: list[str] | None = None,
                 isolated: bool = True, upstream_port: int = 53) -> None:
        self.listen_ip = listen_ip
        self.dns_ip = dns_ip
        self.zone = zone
        self.ttl = ttl
        self.upstreams = upstreams if upstreams is not None else host_upstreams(resolv_conf, exclude=(dns_ip, listen_ip))
        self.isolated = isolated
        self.server: DnsServer | DnsProcess
        if isolated:
            self.server = DnsProcess((listen_ip, port), self.upstreams, upstream_port=upstream_port)
        else:
            self.server = DnsServer([(listen_ip, port)], self.upstreams,
                                    ClusterDNS([], [], zone=zone, ttl=ttl, dns_ip=dns_ip), upstream_port=upstream_port)
        self.generation = 0

    @property
    def bound(self) -> list[tuple[str, int]]:
        return self.server.bound

    def start(self) -> None:
        self.server.start()
        log.info("cluster DNS on %s:%d (kube-dns %s, %s), forwarding to %s", self.listen_ip, self.bound[0][1],
                 self.dns_ip, "own process" if self.isolated else "agent thread", ", ".join(self.upstreams) or "nothing")

    def update(self, services: Iterable[Mapping[str, Any]], slices: Iterable[Mapping[str, Any]],
               namespaces: Iterable[str] = ()) -> None:
        """Rebuild the index from a snapshot and swap it in (queries see the old or the new one)."""
        self.generation += 1
        if isinstance(self.server, DnsProcess):
            self.server.send(snapshot_line(list(services), list(slices), list(namespaces), zone=self.zone,
                                           ttl=self.ttl, dns_ip=self.dns_ip, serial=self.generation))
        else:
            self.server.set_index(ClusterDNS(services, slices, namespaces, zone=self.zone, ttl=self.ttl,
                                             dns_ip=self.dns_ip, serial=self.generation))

    def stop(self) -> None:
        self.server.stop()
