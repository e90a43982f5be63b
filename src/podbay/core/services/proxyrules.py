"""The service data path as an nftables ruleset in kube-proxy's nftables-mode layout (pure).

Mirrors pkg/proxy/nftables/proxier.go (``setupNFTables``, ``syncProxyRules``,
``writeServiceToEndpointRules``, ``servicePortChainNameBase``), ``proxy.CategorizeEndpoints`` and the
EndpointSlice cache's readiness rules, for one node and the IPv4 family:

* one table per agent; ``services`` dispatches ``ip daddr . meta l4proto . th dport`` through the
  ``service-ips`` verdict map (ClusterIPs, externalIPs, LoadBalancer ingress IPs) and NodePorts
  through ``service-nodeports``; per service port a ``service-…`` chain picks an endpoint with
  ``numgen random mod N vmap``; per endpoint an ``endpoint-…`` chain masquerades hairpin traffic and
  DNATs;
* ``no-endpoint-services`` / ``no-endpoint-nodeports`` REJECT (before DNAT, in the filter hooks);
  ``cluster-ips-check`` rejects unknown ports of ClusterIPs and drops unallocated service IPs;
* ClientIP affinity through per-endpoint dynamic sets with a timeout;
* off-node/host traffic to a ClusterIP and all external traffic under the Cluster policy are
  marked and masqueraded in ``masquerading``; the Local policy keeps the client address.

The model (``Ruleset``) is data; ``render_full`` writes an ``nft -f`` script that (re)creates the
table in one transaction, ``render_diff`` the incremental one between two models.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

MASQ_MARK = "0x00004000"  # --masquerade-bit 14, printed %#08x as kube-proxy does
NAME_MAX = 256  # knftables.NameLengthMax
PREFIX_MAX = 16
BASE_MAX = NAME_MAX - PREFIX_MAX

SERVICES = "services"
SERVICE_IPS = "service-ips"
SERVICE_NODEPORTS = "service-nodeports"
NODEPORT_IPS = "nodeport-ips"
CLUSTER_IPS = "cluster-ips"
ENDPOINTS_CHECK = "endpoints-check"
CLUSTER_IPS_CHECK = "cluster-ips-check"
NO_EP_SERVICES = "no-endpoint-services"
NO_EP_NODEPORTS = "no-endpoint-nodeports"
REJECT_CHAIN = "reject-chain"
MARK_MASQ = "mark-for-masquerade"
MASQUERADING = "masquerading"

# (name, type, hook, priority): kube-proxy's dstnat-10 / dstnat+10 / dstnat / srcnat, as numbers
# (nft 1.0.6 accepts the names only on the hooks they were defined for).
BASE_CHAINS = (
    ("filter-input", "filter", "input", "-110"),
    ("filter-forward", "filter", "forward", "-110"),
    ("filter-output", "filter", "output", "-110"),
    ("filter-output-post-dnat", "filter", "output", "-90"),
    ("nat-prerouting", "nat", "prerouting", "-100"),
    ("nat-output", "nat", "output", "-100"),
    ("nat-postrouting", "nat", "postrouting", "100"),
)
JUMPS = (
    ("filter-input", "ct state new jump " + ENDPOINTS_CHECK),
    ("filter-forward", "ct state new jump " + ENDPOINTS_CHECK),
    ("filter-forward", "ct state new jump " + CLUSTER_IPS_CHECK),
    ("filter-output", "ct state new jump " + ENDPOINTS_CHECK),
    ("filter-output-post-dnat", "ct state new jump " + CLUSTER_IPS_CHECK),
    ("nat-output", "jump " + SERVICES),
    ("nat-prerouting", "jump " + SERVICES),
    ("nat-postrouting", "jump " + MASQUERADING),
)
MAP_TYPES = {
    SERVICE_IPS: ("ipv4_addr . inet_proto . inet_service : verdict", "ClusterIP, ExternalIP and LoadBalancer IP traffic"),
    SERVICE_NODEPORTS: ("inet_proto . inet_service : verdict", "NodePort traffic"),
    NO_EP_SERVICES: ("ipv4_addr . inet_proto . inet_service : verdict",
                     "vmap to drop or reject packets to services with no endpoints"),
    NO_EP_NODEPORTS: ("inet_proto . inet_service : verdict",
                      "vmap to drop or reject packets to service nodeports with no endpoints"),
}
SET_TYPES = {
    CLUSTER_IPS: ("ipv4_addr", "Active ClusterIPs"),
    NODEPORT_IPS: ("ipv4_addr", "IPs that accept NodePort traffic"),
}


def _hash_and_truncate(name: str) -> str:
    """hashAndTruncate: 8 base32 chars of sha256(name), '-', name; cut to fit a chain name."""
    encoded = base64.b32encode(hashlib.sha256(name.encode()).digest()).decode()
    out = encoded[:8] + "-" + name
    if len(out) > BASE_MAX:
        out = out[: BASE_MAX - 3] + "..."
    return out


def service_port_chain_base(namespace: str, name: str, protocol: str, port_name: str) -> str:
    """servicePortChainNameBase: `HASH-namespace/service/protocol/portName`."""
    return _hash_and_truncate(f"{namespace}/{name}/{protocol}/{port_name}")


def endpoint_chain_base(namespace: str, name: str, protocol: str, port_name: str, ip: str, port: int) -> str:
    """servicePortEndpointChainNameBase: `HASH-ns/svc/proto/portName__ip/port`."""
    return _hash_and_truncate(f"{namespace}/{name}/{protocol}/{port_name}__{ip.replace(':', '.')}/{port}")


@dataclass(frozen=True)
class ProxyConfig:
    """What the proxier needs to know about this node."""

    table: str
    pod_cidr: str
    service_cidr: str
    node_name: str = ""
    nodeport_ips: tuple[str, ...] = ()  # empty: every local address but 127/8 (fib daddr type local)
    skip_cluster_ips: tuple[str, ...] = ()  # VIPs served locally without DNAT


@dataclass(frozen=True)
class Endpoint:
    ip: str
    port: int
    ready: bool
    serving: bool
    terminating: bool
    local: bool


@dataclass(frozen=True)
class ServicePort:
    namespace: str
    name: str
    port_name: str
    protocol: str  # lower case: tcp | udp | sctp
    cluster_ip: str
    port: int
    node_port: int = 0
    external_ips: tuple[str, ...] = ()
    lb_ips: tuple[str, ...] = ()
    affinity_seconds: int = 0
    internal_local: bool = False
    external_local: bool = False

    @property
    def label(self) -> str:
        """ServicePortName.String(): `ns/svc:port` (`ns/svc` for an unnamed port)."""
        base = f"{self.namespace}/{self.name}"
        return f"{base}:{self.port_name}" if self.port_name else base

    @property
    def chain_base(self) -> str:
        return service_port_chain_base(self.namespace, self.name, self.protocol, self.port_name)

    @property
    def externally_accessible(self) -> bool:
        return bool(self.node_port or self.external_ips or self.lb_ips)

    @property
    def uses_cluster_endpoints(self) -> bool:
        return not self.internal_local or (self.externally_accessible and not self.external_local)

    @property
    def uses_local_endpoints(self) -> bool:
        return self.internal_local or (self.externally_accessible and self.external_local)

    def endpoint_chain(self, ep: Endpoint) -> str:
        return "endpoint-" + endpoint_chain_base(self.namespace, self.name, self.protocol, self.port_name, ep.ip, ep.port)

    def affinity_set(self, ep: Endpoint) -> str:
        return "affinity-" + endpoint_chain_base(self.namespace, self.name, self.protocol, self.port_name, ep.ip, ep.port)


# ---------------------------------------------------------------------------------------------- inputs


def _ipv4(ip: Any) -> bool:
    try:
        return ipaddress.ip_address(str(ip)).version == 4
    except ValueError:
        return False


def service_ports(svc: Mapping[str, Any]) -> list[ServicePort]:
    """The proxier's ServicePorts of one Service (ServiceChangeTracker / newBaseServiceInfo)."""
    spec = svc.get("spec") or {}
    md = svc.get("metadata") or {}
    cip = spec.get("clusterIP") or ""
    if spec.get("type") == "ExternalName" or not cip or cip == "None" or not _ipv4(cip):
        return []
    affinity = 0
    if spec.get("sessionAffinity") == "ClientIP":
        affinity = int(((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds") or 10800)
    lb_ips: tuple[str, ...] = ()
    if spec.get("type") == "LoadBalancer":
        lb_ips = tuple(str(i["ip"]) for i in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
                       if isinstance(i, dict) and i.get("ip") and _ipv4(i["ip"]) and i.get("ipMode", "VIP") == "VIP")
    ext = tuple(str(i) for i in spec.get("externalIPs") or [] if _ipv4(i))
    out = []
    for p in spec.get("ports") or []:
        proto = str(p.get("protocol") or "TCP").lower()
        out.append(ServicePort(
            namespace=str(md.get("namespace")), name=str(md.get("name")), port_name=str(p.get("name") or ""),
            protocol=proto, cluster_ip=cip, port=int(p["port"]),
            node_port=int(p.get("nodePort") or 0) if spec.get("type") in ("NodePort", "LoadBalancer") else 0,
            external_ips=ext, lb_ips=lb_ips, affinity_seconds=affinity,
            internal_local=spec.get("internalTrafficPolicy") == "Local",
            external_local=spec.get("externalTrafficPolicy") == "Local",
        ))
    return out


def endpoints_for(sp: ServicePort, slices: Iterable[Mapping[str, Any]], node_name: str) -> list[Endpoint]:
    """Endpoints of one service port from its slices (endpointSliceCache): the slice port with the
    same name and protocol gives the number; ready nil counts as ready, serving nil as ready."""
    seen: set[tuple[str, int]] = set()
    out: list[Endpoint] = []
    for s in slices:
        if s.get("addressType") != "IPv4":
            continue
        port = None
        for p in s.get("ports") or []:
            if (p.get("name") or "") == sp.port_name and str(p.get("protocol") or "TCP").lower() == sp.protocol:
                port = p.get("port")
        if port is None:
            continue
        for ep in s.get("endpoints") or []:
            addrs = ep.get("addresses") or []
            if not addrs:
                continue
            cond = ep.get("conditions") or {}
            ready = cond.get("ready") is None or bool(cond.get("ready"))
            serving = ready if cond.get("serving") is None else bool(cond.get("serving"))
            terminating = bool(cond.get("terminating"))
            key = (str(addrs[0]), int(port))
            if key in seen:
                continue
            seen.add(key)
            local = bool(node_name) and ep.get("nodeName") == node_name
            out.append(Endpoint(str(addrs[0]), int(port), ready, serving, terminating, local))
    return sorted(out, key=lambda e: (ipaddress.ip_address(e.ip), e.port))


def categorize(sp: ServicePort, eps: list[Endpoint]) -> tuple[list[Endpoint], list[Endpoint], bool]:
    """CategorizeEndpoints: (cluster endpoints, local endpoints, has any usable endpoint); ready ones,
    else serving-terminating ones."""
    cluster: list[Endpoint] = []
    local: list[Endpoint] = []
    has_any = False
    if sp.uses_cluster_endpoints:
        cluster = [e for e in eps if e.ready] or [e for e in eps if e.serving and e.terminating]
        has_any = bool(cluster)
    if sp.uses_local_endpoints:
        for e in eps:
            if e.ready or (e.serving and e.terminating):
                has_any = True
        local = [e for e in eps if e.local and e.ready] or [e for e in eps if e.local and e.serving and e.terminating]
    return cluster, local, has_any


# ---------------------------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Ruleset:
    """The table's variable content; the static declarations are constants of the renderer."""

    table: str
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)
    maps: dict[str, dict[str, str]] = field(default_factory=dict)
    sets: dict[str, frozenset[str]] = field(default_factory=dict)
    affinity: dict[str, int] = field(default_factory=dict)  # set name -> timeout seconds

    def service_chains(self) -> set[str]:
        return {c for c in self.chains if "/" in c}


def _static_chains(cfg: ProxyConfig) -> dict[str, tuple[str, ...]]:
    cidr = str(ipaddress.ip_network(cfg.service_cidr, strict=False))
    if cfg.nodeport_ips:
        np_dispatch = f"ip daddr @{NODEPORT_IPS} meta l4proto . th dport vmap @{SERVICE_NODEPORTS}"
        np_check = f"ip daddr @{NODEPORT_IPS} meta l4proto . th dport vmap @{NO_EP_NODEPORTS}"
    else:
        np_dispatch = f"fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @{SERVICE_NODEPORTS}"
        np_check = f"fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @{NO_EP_NODEPORTS}"
    return {
        SERVICES: (f"ip daddr . meta l4proto . th dport vmap @{SERVICE_IPS}", np_dispatch),
        ENDPOINTS_CHECK: (f"ip daddr . meta l4proto . th dport vmap @{NO_EP_SERVICES}", np_check),
        CLUSTER_IPS_CHECK: (
            f'ip daddr @{CLUSTER_IPS} reject comment "Reject traffic to invalid ports of ClusterIPs"',
            f'ip daddr {cidr} drop comment "Drop traffic to unallocated ClusterIPs"',
        ),
        REJECT_CHAIN: ("reject",),
        MARK_MASQ: (f"mark set mark or {MASQ_MARK}",),
        MASQUERADING: (f"mark and {MASQ_MARK} == 0 return", f"mark set mark xor {MASQ_MARK}",
                       "masquerade fully-random"),
    }


def build_ruleset(cfg: ProxyConfig, services: Iterable[Mapping[str, Any]],
                  slices: Iterable[Mapping[str, Any]]) -> Ruleset:
    """syncProxyRules' content for the given Services and EndpointSlices."""
    chains = dict(_static_chains(cfg))
    maps: dict[str, dict[str, str]] = {SERVICE_IPS: {}, SERVICE_NODEPORTS: {}, NO_EP_SERVICES: {}, NO_EP_NODEPORTS: {}}
    cluster_ips: set[str] = set()
    affinity: dict[str, int] = {}
    by_service: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for s in slices:
        md = s.get("metadata") or {}
        svc_name = (md.get("labels") or {}).get("kubernetes.io/service-name")
        if svc_name:
            by_service.setdefault((str(md.get("namespace")), str(svc_name)), []).append(s)
    skip = set(cfg.skip_cluster_ips)
    for svc in sorted(services, key=lambda s: ((s.get("metadata") or {}).get("namespace", ""),
                                                 (s.get("metadata") or {}).get("name", ""))):
        md = svc.get("metadata") or {}
        svc_slices = by_service.get((str(md.get("namespace")), str(md.get("name"))), [])
        for sp in service_ports(svc):
            if sp.cluster_ip in skip:
                continue
            cluster_ips.add(sp.cluster_ip)
            _service_port_rules(cfg, sp, endpoints_for(sp, svc_slices, cfg.node_name), chains, maps, affinity)
    sets = {CLUSTER_IPS: frozenset(cluster_ips)}
    if cfg.nodeport_ips:
        sets[NODEPORT_IPS] = frozenset(cfg.nodeport_ips)
    return Ruleset(cfg.table, chains, maps, sets, affinity)


def _key(ip: str, proto: str, port: int) -> str:
    return f"{ip} . {proto} . {port}"


def _service_port_rules(cfg: ProxyConfig, sp: ServicePort, eps: list[Endpoint], chains: dict[str, tuple[str, ...]],
                        maps: dict[str, dict[str, str]], affinity: dict[str, int]) -> None:
    cluster_eps, local_eps, has_any = categorize(sp, eps)
    base = sp.chain_base
    cluster_chain, local_chain, ext_chain = "service-" + base, "local-" + base, "external-" + base
    reachable = {e: None for e in [*cluster_eps, *local_eps]}
    uses_cluster = bool(cluster_eps) and sp.uses_cluster_endpoints
    uses_local = bool(local_eps) and sp.uses_local_endpoints
    internal_chain, has_internal = cluster_chain, has_any
    if sp.internal_local:
        internal_chain, has_internal = local_chain, bool(local_eps)
    external_policy, has_external = cluster_chain, has_any
    if sp.external_local:
        external_policy, has_external = local_chain, bool(local_eps)
    uses_ext = has_any and sp.externally_accessible
    if not has_any:
        int_verdict = ext_verdict = f"goto {REJECT_CHAIN}"
    else:
        int_verdict = "drop" if not has_internal else ""
        ext_verdict = "drop" if not has_external else ""
    proto, port = sp.protocol, sp.port
    if has_internal:
        maps[SERVICE_IPS][_key(sp.cluster_ip, proto, port)] = f"goto {internal_chain}"
    else:
        maps[NO_EP_SERVICES][_key(sp.cluster_ip, proto, port)] = int_verdict
    for ip in (*sp.external_ips, *sp.lb_ips):
        if has_any:
            maps[SERVICE_IPS][_key(ip, proto, port)] = f"goto {ext_chain}"
        if not has_external:
            maps[NO_EP_SERVICES][_key(ip, proto, port)] = ext_verdict
    if sp.node_port:
        if has_any:
            maps[SERVICE_NODEPORTS][f"{proto} . {sp.node_port}"] = f"goto {ext_chain}"
        if not has_external:
            maps[NO_EP_NODEPORTS][f"{proto} . {sp.node_port}"] = ext_verdict
    internal_rules: list[str] = []
    if has_internal:
        # Off-pod-network sources (the host, other hosts routed here) are masqueraded.
        internal_rules.append(f"ip daddr {sp.cluster_ip} {proto} dport {port} ip saddr != {cfg.pod_cidr} jump {MARK_MASQ}")
    if uses_ext:
        if not sp.external_local:
            ext_rules = [f"jump {MARK_MASQ}"]
        else:
            ext_rules = [
                f'ip saddr {cfg.pod_cidr} goto {cluster_chain} comment "short-circuit pod traffic"',
                f'fib saddr type local jump {MARK_MASQ} comment "masquerade local traffic"',
                f'fib saddr type local goto {cluster_chain} comment "short-circuit local traffic"',
            ]
        if has_external:
            ext_rules.append(f"goto {external_policy}")
        chains[ext_chain] = tuple(ext_rules)
    if sp.affinity_seconds:
        for e in reachable:
            affinity[sp.affinity_set(e)] = sp.affinity_seconds
    for chain, used, group in ((cluster_chain, uses_cluster, cluster_eps), (local_chain, uses_local, local_eps)):
        if not used:
            continue
        rules = list(internal_rules) if chain == internal_chain else []
        if sp.affinity_seconds:
            rules += [f"ip saddr @{sp.affinity_set(e)} goto {sp.endpoint_chain(e)}" for e in group]
        vmap = ", ".join(f"{i} : goto {sp.endpoint_chain(e)}" for i, e in enumerate(group))
        rules.append(f"numgen random mod {len(group)} vmap {{ {vmap} }}")
        chains[chain] = tuple(rules)
    for e in reachable:
        rules = [f"ip saddr {e.ip} jump {MARK_MASQ}"]
        if sp.affinity_seconds:
            rules.append(f"update @{sp.affinity_set(e)} {{ ip saddr }}")
        rules.append(f"meta l4proto {proto} dnat to {e.ip}:{e.port}")
        chains[sp.endpoint_chain(e)] = tuple(rules)


# ---------------------------------------------------------------------------------------------- rendering


def _chain_decl(table: str, name: str) -> list[str]:
    return [f"add chain ip {table} {name}", f"flush chain ip {table} {name}"]


def render_full(rs: Ruleset, existing: Mapping[str, Iterable[str]] | None = None, comment: str = "") -> str:
    """One transaction that creates or rebuilds the table: base chains, every chain flushed and
    rewritten, maps and sets flushed and refilled; affinity sets keep their entries; chains and
    sets found in `existing` ({"chains": …, "sets": …, "maps": …}) but not in the model are flushed
    (chains, deleted later by the caller: see stale chains) or deleted (sets)."""
    t = rs.table
    out = [f'add table ip {t} {{ comment "{comment or "rules for podbay"}" ; }}']
    for name, ctype, hook, prio in BASE_CHAINS:
        out.append(f"add chain ip {t} {name} {{ type {ctype} hook {hook} priority {prio} ; }}")
        out.append(f"flush chain ip {t} {name}")
    for name, (mtype, mcomment) in MAP_TYPES.items():
        out.append(f'add map ip {t} {name} {{ type {mtype} ; comment "{mcomment}" ; }}')
        out.append(f"flush map ip {t} {name}")
    for name, (stype, scomment) in SET_TYPES.items():
        out.append(f'add set ip {t} {name} {{ type {stype} ; comment "{scomment}" ; }}')
        out.append(f"flush set ip {t} {name}")
    for name in rs.chains:
        out += _chain_decl(t, name)
    for name, timeout in sorted(rs.affinity.items()):
        out.append(f"add set ip {t} {name} {{ type ipv4_addr ; flags dynamic,timeout ; timeout {timeout}s ; }}")
    for chain, rule in JUMPS:
        out.append(f"add rule ip {t} {chain} {rule}")
    for name, rules in rs.chains.items():
        out += [f"add rule ip {t} {name} {r}" for r in rules]
    for name, elems in rs.maps.items():
        if elems:
            out.append(f"add element ip {t} {name} {{ " + ", ".join(f"{k} : {v}" for k, v in sorted(elems.items())) + " }")
    for name, members in rs.sets.items():
        if (name == NODEPORT_IPS or name in SET_TYPES) and members:
                out.append(f"add element ip {t} {name} {{ " + ", ".join(sorted(members)) + " }")
    if NODEPORT_IPS not in rs.sets:
        out.append(f"delete set ip {t} {NODEPORT_IPS}")
    if existing:
        for c in sorted(set(existing.get("chains") or ()) - set(rs.chains) - {b[0] for b in BASE_CHAINS}):
            out.append(f"flush chain ip {t} {c}")
        for s in sorted(set(existing.get("sets") or ()) - set(rs.affinity) - set(SET_TYPES)):
            out.append(f"delete set ip {t} {s}")
        for m in sorted(set(existing.get("maps") or ()) - set(MAP_TYPES)):
            out.append(f"delete map ip {t} {m}")
    return "\n".join(out) + "\n"


def render_diff(old: Ruleset, new: Ruleset) -> str:
    """The incremental transaction from `old` to `new` (both built for the same table): map and set
    elements added/deleted, changed chains flushed and rewritten, new chains added, removed chains
    flushed (the caller deletes them a sync later, as kube-proxy does for kernels before 6.2)."""
    t = new.table
    out: list[str] = []
    for name in new.chains:
        if name not in old.chains:
            out.append(f"add chain ip {t} {name}")
    for name, timeout in sorted(new.affinity.items()):
        if old.affinity.get(name) != timeout:
            if name in old.affinity:
                out.append(f"delete set ip {t} {name}")
            out.append(f"add set ip {t} {name} {{ type ipv4_addr ; flags dynamic,timeout ; timeout {timeout}s ; }}")
    # Map elements first removed (their chains may go), then chains rewritten, then elements added.
    adds: list[str] = []
    for name in sorted(set(old.maps) | set(new.maps)):
        o, n = old.maps.get(name, {}), new.maps.get(name, {})
        gone = sorted(k for k in o if k not in n or o[k] != n[k])
        if gone:
            out.append(f"delete element ip {t} {name} {{ " + ", ".join(gone) + " }")
        added = sorted(k for k in n if k not in o or o[k] != n[k])
        if added:
            adds.append(f"add element ip {t} {name} {{ " + ", ".join(f"{k} : {n[k]}" for k in added) + " }")
    for name in sorted(set(old.sets) | set(new.sets)):
        o2, n2 = old.sets.get(name, frozenset()), new.sets.get(name, frozenset())
        if o2 - n2:
            out.append(f"delete element ip {t} {name} {{ " + ", ".join(sorted(o2 - n2)) + " }")
        if n2 - o2:
            adds.append(f"add element ip {t} {name} {{ " + ", ".join(sorted(n2 - o2)) + " }")
    for name, rules in new.chains.items():
        if old.chains.get(name) != rules:
            if name in old.chains:
                out.append(f"flush chain ip {t} {name}")
            out += [f"add rule ip {t} {name} {r}" for r in rules]
    for name in old.chains:
        if name not in new.chains:
            out.append(f"flush chain ip {t} {name}")
    out += adds
    for name in sorted(set(old.affinity) - set(new.affinity)):
        out.append(f"delete set ip {t} {name}")
    return "\n".join(out) + ("\n" if out else "")


def removed_chains(old: Ruleset, new: Ruleset) -> set[str]:
    return set(old.chains) - set(new.chains)


def render_delete_chains(table: str, chains: Iterable[str]) -> str:
    return "".join(f"delete chain ip {table} {c}\n" for c in sorted(chains))


def render_delete_table(table: str) -> str:
    return f"delete table ip {table}\n"


# ---------------------------------------------------------------------------------------------- conntrack


@dataclass(frozen=True)
class ConntrackFlush:
    """One `conntrack -D` deletion: by original destination (and NAT target) or by nodePort."""

    protocol: str
    orig_dst: str = ""
    dst_nat: str = ""
    dport: int = 0


def udp_stale_entries(old_ports: Mapping[str, tuple[ServicePort, list[Endpoint]]],
                      new_ports: Mapping[str, tuple[ServicePort, list[Endpoint]]]) -> list[ConntrackFlush]:
    """conntrack.CleanStaleEntries for UDP: entries NATed to an endpoint that is gone, and entries
    of a service IP or nodePort that had no endpoint (cached rejects) and now has one."""
    out: list[ConntrackFlush] = []
    for label, (sp, eps) in old_ports.items():
        if sp.protocol != "udp":
            continue
        now_eps = {(e.ip, e.port) for e in new_ports.get(label, (sp, []))[1] if e.ready or (e.serving and e.terminating)}
        for e in eps:
            if (e.ip, e.port) not in now_eps and (e.ready or (e.serving and e.terminating)):
                for ip in (sp.cluster_ip, *sp.external_ips, *sp.lb_ips):
                    out.append(ConntrackFlush("udp", orig_dst=ip, dst_nat=e.ip))
                if sp.node_port:
                    out.append(ConntrackFlush("udp", dport=sp.node_port, dst_nat=e.ip))
    for label, (sp, eps) in new_ports.items():
        if sp.protocol != "udp":
            continue
        had = any(e.ready or (e.serving and e.terminating) for e in old_ports.get(label, (sp, []))[1])
        has = any(e.ready or (e.serving and e.terminating) for e in eps)
        if has and not had:
            for ip in (sp.cluster_ip, *sp.external_ips, *sp.lb_ips):
                out.append(ConntrackFlush("udp", orig_dst=ip))
            if sp.node_port:
                out.append(ConntrackFlush("udp", dport=sp.node_port))
    return list(dict.fromkeys(out))


def port_index(cfg: ProxyConfig, services: Iterable[Mapping[str, Any]],
               slices: Iterable[Mapping[str, Any]]) -> dict[str, tuple[ServicePort, list[Endpoint]]]:
    """`ns/svc:port/proto` -> (ServicePort, endpoints): what conntrack cleanup compares."""
    by_service: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for s in slices:
        md = s.get("metadata") or {}
        name = (md.get("labels") or {}).get("kubernetes.io/service-name")
        if name:
            by_service.setdefault((str(md.get("namespace")), str(name)), []).append(s)
    out: dict[str, tuple[ServicePort, list[Endpoint]]] = {}
    for svc in services:
        md = svc.get("metadata") or {}
        for sp in service_ports(svc):
            eps = endpoints_for(sp, by_service.get((str(md.get("namespace")), str(md.get("name"))), []), cfg.node_name)
            out[f"{sp.label}/{sp.protocol}"] = (sp, eps)
    return out
