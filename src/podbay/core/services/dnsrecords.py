"""Cluster DNS records as CoreDNS's kubernetes plugin serves them ("pods insecure"), from
Services and EndpointSlices (pure). Follows the Kubernetes DNS specification v1.1.0:

* ``<svc>.<ns>.svc.<zone>``: A = the ClusterIP; headless: one A per ready endpoint (none ready:
  NXDOMAIN); ExternalName: CNAME; AAAA of an IPv4 service: NOERROR/NODATA with the SOA;
* ``<endpoint>.<svc>.<ns>.svc.<zone>``: the endpoint named by its hostname, or by its dashed IP;
* ``_<port>._<proto>.<svc>.<ns>.svc.<zone>`` SRV for named ports (target: the service, or each
  endpoint of a headless service); ``<svc>.<ns>.svc.<zone>`` SRV lists every port;
* ``<a-b-c-d>.<ns>.pod.<zone>`` A; PTR for ClusterIPs and headless endpoints;
* ``dns-version.<zone>`` TXT; the zone apex SOA and NS; anything else in the zone NXDOMAIN + SOA;
  reverse names of other addresses and every other zone are forwarded (``fallthrough``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from podbay.core.services import dnswire as w

DNS_SCHEMA_VERSION = "1.1.0"
DEFAULT_TTL = 5


@dataclass(frozen=True)
class Answer:
    rcode: int
    answers: tuple[w.RR, ...] = ()
    authority: tuple[w.RR, ...] = ()
    additional: tuple[w.RR, ...] = ()
    forward: bool = False


@dataclass
class _Service:
    namespace: str
    name: str
    kind: str  # "cluster" | "headless" | "external"
    cluster_ip: str = ""
    external_name: str = ""
    ports: list[tuple[str, str, int]] = field(default_factory=list)  # (name, proto lower, port)
    # endpoint label -> (ip, {(port name, proto): port})
    endpoints: dict[str, tuple[str, dict[tuple[str, str], int]]] = field(default_factory=dict)


def _dashed(ip: str) -> str:
    return ip.replace(".", "-").replace(":", "-")


def _reverse_name(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer


class ClusterDNS:
    """An immutable index: build it from the objects, ask it questions."""

    def __init__(self, services: Iterable[Mapping[str, Any]], slices: Iterable[Mapping[str, Any]],
                 namespaces: Iterable[str] | None = None, *, zone: str = "cluster.local", ttl: int = DEFAULT_TTL,
                 dns_ip: str = "", serial: int = 1) -> None:
        self.zone = zone.strip(".").lower()
        self.ttl = ttl
        self.dns_ip = dns_ip
        self.serial = serial
        self._svc: dict[tuple[str, str], _Service] = {}
        self._ptr: dict[str, str] = {}
        slices_by: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
        for s in slices:
            md = s.get("metadata") or {}
            name = (md.get("labels") or {}).get("kubernetes.io/service-name")
            if name:
                slices_by.setdefault((str(md.get("namespace")), str(name)), []).append(s)
        ns_set = set(namespaces or ())
        for svc in services:
            md = svc.get("metadata") or {}
            spec = svc.get("spec") or {}
            key = (str(md.get("namespace")), str(md.get("name")))
            ns_set.add(key[0])
            ports = [(str(p.get("name") or ""), str(p.get("protocol") or "TCP").lower(), int(p.get("port") or 0))
                     for p in spec.get("ports") or [] if isinstance(p, dict)]
            if spec.get("type") == "ExternalName":
                entry = _Service(key[0], key[1], "external", external_name=str(spec.get("externalName") or ""))
            elif spec.get("clusterIP") == "None":
                entry = _Service(key[0], key[1], "headless", ports=ports)
                self._add_endpoints(entry, slices_by.get(key, []))
            elif spec.get("clusterIP"):
                entry = _Service(key[0], key[1], "cluster", cluster_ip=str(spec["clusterIP"]), ports=ports)
                self._ptr[_reverse_name(entry.cluster_ip)] = self._svc_fqdn(entry)
            else:
                continue
            self._svc[key] = entry
        self.namespaces = frozenset(ns_set)

    def _svc_fqdn(self, s: _Service) -> str:
        return f"{s.name}.{s.namespace}.svc.{self.zone}"

    def _add_endpoints(self, s: _Service, slices: list[Mapping[str, Any]]) -> None:
        for sl in slices:
            if sl.get("addressType") != "IPv4":
                continue
            ports = {(str(p.get("name") or ""), str(p.get("protocol") or "TCP").lower()): int(p.get("port") or 0)
                     for p in sl.get("ports") or []}
            for ep in sl.get("endpoints") or []:
                ready = (ep.get("conditions") or {}).get("ready")
                if ready is False:
                    continue
                for ip in ep.get("addresses") or []:
                    label = str(ep.get("hostname") or _dashed(str(ip)))
                    if label not in s.endpoints:
                        s.endpoints[label] = (str(ip), dict(ports))
                        self._ptr.setdefault(_reverse_name(str(ip)), f"{label}.{self._svc_fqdn(s)}")

    # -- answers ------------------------------------------------------------------------------

    def soa(self) -> w.RR:
        return w.RR(self.zone, w.SOA, self.ttl,
                    w.rdata_soa(f"ns.dns.{self.zone}", f"hostmaster.{self.zone}", self.serial, 7200, 1800, 86400,
                                self.ttl))

    def _nx(self) -> Answer:
        return Answer(w.NXDOMAIN, authority=(self.soa(),))

    def _nodata(self) -> Answer:
        return Answer(w.NOERROR, authority=(self.soa(),))

    def in_zone(self, name: str) -> bool:
        return name == self.zone or name.endswith("." + self.zone)

    def answer(self, name: str, qtype: int) -> Answer:
        """The answer for a lower-case name without trailing dot."""
        if name.endswith(".in-addr.arpa") or name.endswith(".ip6.arpa"):
            target = self._ptr.get(name)
            if target is None:
                return Answer(w.NOERROR, forward=True)
            if qtype in (w.PTR, w.ANY):
                return Answer(w.NOERROR, (w.RR(name, w.PTR, self.ttl, w.rdata_name(target)),))
            return self._nodata()
        if not self.in_zone(name):
            return Answer(w.NOERROR, forward=True)
        if name == self.zone:
            if qtype == w.SOA:
                return Answer(w.NOERROR, (self.soa(),))
            if qtype == w.NS:
                add = (w.RR(f"ns.dns.{self.zone}", w.A, self.ttl, w.rdata_a(self.dns_ip)),) if self.dns_ip else ()
                return Answer(w.NOERROR, (w.RR(name, w.NS, self.ttl, w.rdata_name(f"ns.dns.{self.zone}")),), (), add)
            return self._nodata()
        labels = name[: -len(self.zone) - 1].split(".")
        if labels == ["dns-version"]:
            if qtype in (w.TXT, w.ANY):
                return Answer(w.NOERROR, (w.RR(name, w.TXT, 28800, w.rdata_txt(DNS_SCHEMA_VERSION)),))
            return self._nodata()
        if labels == ["ns", "dns"] and self.dns_ip:
            if qtype in (w.A, w.ANY):
                return Answer(w.NOERROR, (w.RR(name, w.A, self.ttl, w.rdata_a(self.dns_ip)),))
            return self._nodata()
        kind = labels[-1]
        if kind == "pod":
            return self._pod(name, labels[:-1], qtype)
        if kind == "svc":
            return self._service(name, labels[:-1], qtype)
        return self._nx()

    def _pod(self, name: str, labels: list[str], qtype: int) -> Answer:
        if not labels:
            return self._nodata()
        if len(labels) == 1:
            return self._nodata() if labels[0] in self.namespaces else self._nx()
        if len(labels) != 2:
            return self._nx()
        try:
            ip = ipaddress.IPv4Address(labels[0].replace("-", "."))
        except ValueError:
            return self._nx()
        if qtype in (w.A, w.ANY):
            return Answer(w.NOERROR, (w.RR(name, w.A, self.ttl, ip.packed),))
        return self._nodata()

    def _service(self, name: str, labels: list[str], qtype: int) -> Answer:
        if not labels:
            return self._nodata()
        ns = labels[-1]
        if len(labels) == 1:
            return self._nodata() if ns in self.namespaces else self._nx()
        svc = self._svc.get((ns, labels[-2]))
        if svc is None:
            return self._nx()
        rest = labels[:-2]
        if not rest:
            return self._service_records(name, svc, qtype)
        if len(rest) == 1:
            return self._endpoint(name, svc, rest[0], qtype)
        if len(rest) == 2 and rest[0].startswith("_") and rest[1].startswith("_"):
            return self._srv(name, svc, rest[0][1:], rest[1][1:], qtype)
        return self._nx()

    def _service_records(self, name: str, svc: _Service, qtype: int) -> Answer:
        if svc.kind == "external":
            if not svc.external_name:
                return self._nx()
            return Answer(w.NOERROR, (w.RR(name, w.CNAME, self.ttl, w.rdata_name(svc.external_name)),))
        if svc.kind == "cluster":
            if qtype in (w.A, w.ANY):
                return Answer(w.NOERROR, (w.RR(name, w.A, self.ttl, w.rdata_a(svc.cluster_ip)),))
            if qtype == w.SRV:
                rrs = tuple(w.RR(name, w.SRV, self.ttl, w.rdata_srv(0, _weight(len(svc.ports)), p, name))
                            for _, _, p in svc.ports)
                return Answer(w.NOERROR, rrs, (), (w.RR(name, w.A, self.ttl, w.rdata_a(svc.cluster_ip)),))
            return self._nodata()
        if not svc.endpoints:
            return self._nx()
        if qtype in (w.A, w.ANY):
            ips = sorted({ip for ip, _ in svc.endpoints.values()}, key=ipaddress.IPv4Address)
            return Answer(w.NOERROR, tuple(w.RR(name, w.A, self.ttl, w.rdata_a(ip)) for ip in ips))
        if qtype == w.SRV:
            return self._headless_srv(name, svc, None)
        return self._nodata()

    def _endpoint(self, name: str, svc: _Service, label: str, qtype: int) -> Answer:
        if svc.kind != "headless" or label not in svc.endpoints:
            return self._nx()
        if qtype in (w.A, w.ANY):
            return Answer(w.NOERROR, (w.RR(name, w.A, self.ttl, w.rdata_a(svc.endpoints[label][0])),))
        return self._nodata()

    def _srv(self, name: str, svc: _Service, port: str, proto: str, qtype: int) -> Answer:
        if svc.kind == "external":
            return self._nx()
        if svc.kind == "cluster":
            hits = [p for n, pr, p in svc.ports if n == port and pr == proto and n]
            if not hits:
                return self._nx()
            if qtype not in (w.SRV, w.ANY):
                return self._nodata()
            target = self._svc_fqdn(svc)
            return Answer(w.NOERROR, tuple(w.RR(name, w.SRV, self.ttl, w.rdata_srv(0, 100, p, target)) for p in hits),
                          (), (w.RR(target, w.A, self.ttl, w.rdata_a(svc.cluster_ip)),))
        if not any(n == port and pr == proto for n, pr, _ in svc.ports if n):
            return self._nx()
        ans = self._headless_srv(name, svc, (port, proto))
        if not ans.answers:
            return self._nx()
        return ans if qtype in (w.SRV, w.ANY) else self._nodata()

    def _headless_srv(self, name: str, svc: _Service, want: tuple[str, str] | None) -> Answer:
        recs: list[tuple[int, str, str]] = []
        for label, (ip, ports) in sorted(svc.endpoints.items()):
            for (pname, proto), num in sorted(ports.items()):
                if want is None or (pname, proto) == want:
                    recs.append((num, f"{label}.{self._svc_fqdn(svc)}", ip))
        weight = _weight(len(recs))
        return Answer(w.NOERROR, tuple(w.RR(name, w.SRV, self.ttl, w.rdata_srv(0, weight, p, t)) for p, t, _ in recs),
                      (), tuple(w.RR(t, w.A, self.ttl, w.rdata_a(ip)) for _, t, ip in recs))


def _weight(n: int) -> int:
    """CoreDNS spreads a weight of 100 over the records of one priority."""
    return max(1, 100 // max(1, n))
