"""ClusterIP and NodePort allocation, as the API server's service REST allocator does it (pure).

The allocated set is derived from the stored Services (every other Service's clusterIPs and
nodePorts), so a decision needs no bitmap of its own: state in, decision out.

* Ranges, offsets and random choice: ``ipallocator`` / ``portallocator`` with the static sub-range
  (``calculateRangeOffset``: IPs min(max(16, size/16), 256), ports min(max(16, size/32), 128)) and
  ``randomScanStrategyWithOffset`` (random in the upper part first, then the lower band).
* Service fields: ``initIPFamilyFields``, ``allocIPs``/``txnAllocClusterIPs``, ``initNodePorts``,
  ``allocHealthCheckNodePort`` (pkg/registry/core/service/storage/alloc.go), with their messages.
"""

from __future__ import annotations

import copy
import ipaddress
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from podbay.api.fielderror import FieldError, invalid
from podbay.api.services import EXTERNAL_NAME, LOAD_BALANCER, NONE, is_headless, needs_health_check

Obj = dict[str, Any]

DEFAULT_SERVICE_CIDR = "10.96.0.0/12"
DEFAULT_NODE_PORT_RANGE = "30000-32767"
ERR_FULL = "range is full"
ERR_IP_ALLOCATED = "provided IP is already allocated"
ERR_PORT_ALLOCATED = "provided port is already allocated"


class AllocationFailed(Exception):
    """Field errors (the API server answers 422 Invalid) or, without any, an internal error (500)."""

    def __init__(self, message: str, causes: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.causes = list(causes or [])


def _offset(size: int, lo: int, hi: int, step: int) -> int:
    """calculateRangeOffset: min(max(lo, size/step), hi); 0 for ranges no bigger than lo."""
    if size <= lo:
        return 0
    return max(lo, min(size // step, hi))


def _pick(max_: int, offset: int, taken: set[int], rand: random.Random) -> int | None:
    """randomScanStrategyWithOffset.AllocateBit over indices [0, max_)."""
    if len(taken) >= max_:
        return None
    upper = max_ - offset
    if upper > 0:
        start = rand.randrange(upper)
        for i in range(upper):
            at = offset + (start + i) % upper
            if at not in taken:
                return at
    if offset > 0:
        start = rand.randrange(offset)
        for i in range(offset):
            at = (start + i) % offset
            if at not in taken:
                return at
    return None


@dataclass(frozen=True)
class IPRange:
    """A service CIDR: index 0 is network+1; the network (and IPv4 broadcast) are never handed out."""

    cidr: str = DEFAULT_SERVICE_CIDR

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr, strict=True)

    @property
    def family(self) -> str:
        return "IPv4" if self.network.version == 4 else "IPv6"

    @property
    def size(self) -> int:
        n = self.network.num_addresses
        usable = n - 2 if self.network.version == 4 else n - 1
        return max(0, usable)

    @property
    def offset(self) -> int:
        return _offset(self.network.num_addresses, 16, 256, 16)

    def at(self, index: int) -> str:
        """The address at an allocation index (`.1` is index 0: the `kubernetes` Service)."""
        return str(self.network.network_address + 1 + index)

    def index(self, ip: str) -> int | None:
        try:
            a = ipaddress.ip_address(ip)
        except ValueError:
            return None
        if a.version != self.network.version or a not in self.network:
            return None
        i = int(a) - int(self.network.network_address) - 1
        return i if 0 <= i < self.size else None

    def not_in_range(self, ip: str) -> str:
        return f"the provided IP ({ip}) is not in the valid range. The range of valid IPs is {self.cidr}"

    def allocate(self, ip: str, used: set[str]) -> None:
        """Allocate a requested IP; raises ValueError with the allocator's message."""
        if self.index(ip) is None:
            raise ValueError(self.not_in_range(ip))
        if ip in used:
            raise ValueError(ERR_IP_ALLOCATED)

    def allocate_next(self, used: set[str], rand: random.Random) -> str:
        taken = {i for ip in used if (i := self.index(ip)) is not None}
        got = _pick(self.size, self.offset, taken, rand)
        if got is None:
            raise ValueError(ERR_FULL)
        return self.at(got)


@dataclass(frozen=True)
class PortRange:
    base: int = 30000
    size: int = 2768

    @classmethod
    def parse(cls, text: str) -> PortRange:
        """`--service-node-port-range` (`30000-32767`, `30000+2767`, or a single port)."""
        t = text.strip()
        try:
            if "+" in t:
                a, b = t.split("+", 1)
                lo, hi = int(a), int(a) + int(b)
            elif "-" in t:
                a, b = t.split("-", 1)
                lo, hi = int(a), int(b)
            else:
                lo = hi = int(t)
        except ValueError:
            raise ValueError(f"invalid port range {text!r}") from None
        if not (0 < lo <= hi <= 65535):
            raise ValueError(f"invalid port range {text!r}")
        return cls(lo, hi - lo + 1)

    def __str__(self) -> str:
        return f"{self.base}-{self.base + self.size - 1}"

    @property
    def offset(self) -> int:
        return _offset(self.size, 16, 128, 32)

    def contains(self, port: int) -> bool:
        return self.base <= port < self.base + self.size

    def allocate(self, port: int, used: set[int]) -> None:
        if not self.contains(port):
            raise ValueError(f"provided port is not in the valid range. The range of valid ports is {self}")
        if port in used:
            raise ValueError(ERR_PORT_ALLOCATED)

    def allocate_next(self, used: set[int], rand: random.Random) -> int:
        taken = {p - self.base for p in used if self.contains(p)}
        got = _pick(self.size, self.offset, taken, rand)
        if got is None:
            raise ValueError(ERR_FULL)
        return self.base + got


@dataclass(frozen=True)
class ServiceNetwork:
    """The cluster's service ranges (kube-apiserver --service-cluster-ip-range / --service-node-port-range)."""

    ips: IPRange = IPRange()
    ports: PortRange = PortRange()

    @classmethod
    def from_flags(cls, cidr: str = DEFAULT_SERVICE_CIDR, node_ports: str = DEFAULT_NODE_PORT_RANGE) -> ServiceNetwork:
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError as exc:
            raise ValueError(f"invalid service CIDR {cidr!r}: {exc}") from None
        return cls(IPRange(cidr), PortRange.parse(node_ports))

    @property
    def kubernetes_ip(self) -> str:
        return self.ips.at(0)

    @property
    def dns_ip(self) -> str:
        return self.ips.at(9)  # .10, inside the static band of every range of >= 16 addresses


def used_by(services: Iterable[Obj], skip_uid: str | None = None) -> tuple[set[str], set[int]]:
    """(clusterIPs, nodePorts incl. healthCheckNodePort) held by the given Services, except one."""
    ips: set[str] = set()
    ports: set[int] = set()
    for s in services:
        if skip_uid is not None and (s.get("metadata") or {}).get("uid") == skip_uid:
            continue
        spec = s.get("spec") or {}
        ips.update(ip for ip in spec.get("clusterIPs") or [] if ip and ip != NONE)
        for p in spec.get("ports") or []:
            if isinstance(p, dict) and p.get("nodePort"):
                ports.add(int(p["nodePort"]))
        if spec.get("healthCheckNodePort"):
            ports.add(int(spec["healthCheckNodePort"]))
    return ips, ports


def init_ip_family_fields(svc: Obj, net: ServiceNetwork) -> list[FieldError]:
    """initIPFamilyFields on a single-stack cluster (in place); returns field errors."""
    spec = svc.get("spec") or {}
    if spec.get("type") == EXTERNAL_NAME:
        return []
    cips = [ip for ip in spec.get("clusterIPs") or [] if ip]
    fams = list(spec.get("ipFamilies") or [])
    if spec.get("ipFamilyPolicy") is None:
        spec["ipFamilyPolicy"] = "RequireDualStack" if len(cips) == 2 or len(fams) == 2 else "SingleStack"
    errs: list[FieldError] = []
    if spec["ipFamilyPolicy"] == "RequireDualStack":
        errs.append(invalid("spec.ipFamilyPolicy", spec["ipFamilyPolicy"],
                            "this cluster is not configured for dual-stack services"))
    for i, ip in enumerate(cips):
        if ip == NONE:
            continue
        fam = "IPv6" if ":" in ip else "IPv4"
        if i >= len(fams):
            fams.append(fam)
    if not fams:
        fams = [net.ips.family]
    spec["ipFamilies"] = fams
    for i, f in enumerate(fams):
        if f != net.ips.family:
            errs.append(invalid(f"spec.ipFamilies[{i}]", f, "not configured on this cluster"))
    if spec["ipFamilyPolicy"] == "SingleStack" and len(fams) > 1:
        errs.append(invalid("spec.ipFamilies", fams, "when spec.ipFamilyPolicy is SingleStack, only one ipFamily is allowed"))
    return errs


def _alloc_cluster_ip(svc: Obj, old: Obj | None, net: ServiceNetwork, used: set[str], rand: random.Random) -> None:
    spec = svc["spec"]
    name = (svc.get("metadata") or {}).get("name", "")
    if spec.get("type") == EXTERNAL_NAME or is_headless(svc):
        return
    if old is not None and (old.get("spec") or {}).get("type") != EXTERNAL_NAME and spec.get("clusterIPs"):
        return  # kept from before (validation forbids changing it)
    requested = [ip for ip in spec.get("clusterIPs") or [] if ip]
    if requested:
        ip = requested[0]
        try:
            net.ips.allocate(ip, used)
        except ValueError as exc:
            err = invalid("spec.clusterIPs", spec.get("clusterIPs"), f"failed to allocate IP {ip}: {exc}")
            raise AllocationFailed(f'Service "{name}" is invalid: {err}', [err]) from None
        chosen = ip
    else:
        try:
            chosen = net.ips.allocate_next(used, rand)
        except ValueError as exc:
            raise AllocationFailed(f"failed to allocate a serviceIP: {exc}") from None
    spec["clusterIP"] = chosen
    spec["clusterIPs"] = [chosen]


def _should_allocate_node_ports(spec: Obj) -> bool:
    if spec.get("type") == "NodePort":
        return True
    if spec.get("type") == LOAD_BALANCER:
        return spec.get("allocateLoadBalancerNodePorts", True) is not False
    return False


def _alloc_node_ports(svc: Obj, net: ServiceNetwork, used: set[int], rand: random.Random) -> None:
    """initNodePorts: one nodePort per service port number (TCP and UDP on one port share it)."""
    spec = svc["spec"]
    name = (svc.get("metadata") or {}).get("name", "")
    if spec.get("type") not in ("NodePort", LOAD_BALANCER):
        return
    ports = [p for p in spec.get("ports") or [] if isinstance(p, dict)]
    taken = set(used)
    by_port: dict[int, int] = {}

    def fail(i: int, value: int, msg: str) -> AllocationFailed:
        err = invalid(f"spec.ports[{i}].nodePort", value, msg)
        return AllocationFailed(f'Service "{name}" is invalid: {err}', [err])

    for i, p in enumerate(ports):
        if not p.get("nodePort") and not _should_allocate_node_ports(spec):
            continue
        have = by_port.get(p.get("port", 0), 0)
        if not have:
            req = next((int(q["nodePort"]) for q in ports[i:]
                        if q.get("port") == p.get("port") and q.get("nodePort")), 0)
            if req:
                try:
                    net.ports.allocate(req, taken)
                except ValueError as exc:
                    raise fail(i, req, str(exc)) from None
                chosen = req
            else:
                try:
                    chosen = net.ports.allocate_next(taken, rand)
                except ValueError as exc:
                    raise AllocationFailed(f"failed to allocate a nodePort: {exc}") from None
            taken.add(chosen)
            p["nodePort"] = chosen
            by_port[p.get("port", 0)] = chosen
        elif int(p.get("nodePort") or 0) != have:
            if not p.get("nodePort"):
                p["nodePort"] = have
            else:
                try:
                    net.ports.allocate(int(p["nodePort"]), taken)
                except ValueError as exc:
                    raise fail(i, int(p["nodePort"]), str(exc)) from None
                taken.add(int(p["nodePort"]))
    if needs_health_check(svc):
        hc = spec.get("healthCheckNodePort") or 0
        if hc:
            try:
                net.ports.allocate(int(hc), taken)
            except ValueError as exc:
                err = invalid("spec.healthCheckNodePort", hc, f"failed to allocate requested HealthCheck NodePort {hc}: {exc}")
                raise AllocationFailed(f'Service "{name}" is invalid: {err}', [err]) from None
        else:
            try:
                spec["healthCheckNodePort"] = net.ports.allocate_next(taken, rand)
            except ValueError as exc:
                raise AllocationFailed(f"failed to allocate a nodePort: {exc}") from None


def allocate(svc: Obj, old: Obj | None, others: Iterable[Obj], net: ServiceNetwork,
             rand: random.Random | None = None) -> Obj:
    """Allocate clusterIP(s), nodePorts and healthCheckNodePort for a create (old None) or update.

    ``others`` are every *other* stored Service, so on update the values this Service keeps (patched
    in by ``patch_allocated_values``) are not "already allocated" to itself. Raises AllocationFailed.
    """
    rand = rand or random.SystemRandom()
    svc = copy.deepcopy(svc)
    svc.setdefault("spec", {})
    errs = init_ip_family_fields(svc, net)
    name = (svc.get("metadata") or {}).get("name", "")
    if errs:
        body = errs[0] if len(errs) == 1 else "[" + ", ".join(str(e) for e in errs) + "]"
        raise AllocationFailed(f'Service "{name}" is invalid: {body}', errs)
    used_ips, used_ports = used_by(others)
    _alloc_cluster_ip(svc, old, net, used_ips, rand)
    _alloc_node_ports(svc, net, used_ports, rand)
    return svc
