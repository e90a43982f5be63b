"""The per-pod /etc/hosts, /etc/hostname and /etc/resolv.conf (kubelet + CRI runtime behaviour).

Rendering is pure; `write_pod_files` is the one impure helper that puts them under the pod dir.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podbay.errors import PermanentError
from podbay.sys.fileio import atomic_write

CLUSTER_DOMAIN = "cluster.local"
HOSTNAME_MAX = 63
FQDN_MAX = 64
MAX_NAMESERVERS = 3  # glibc MAXNS; kubelet trims to it
MAX_SEARCHES = 32  # kubelet MaxDNSSearchPaths

MANAGED_HEADER = "# Kubernetes-managed hosts file.\n"
MANAGED_HEADER_HOST_NETWORK = "# Kubernetes-managed hosts file (host network).\n"


# -- hostname ------------------------------------------------------------------------------------

def pod_hostname(pod: Mapping[str, Any]) -> str:
    """spec.hostname or the pod name, truncated to 63 with trailing '-'/'.' removed (kubelet)."""
    spec = pod.get("spec") or {}
    name = spec.get("hostname") or (pod.get("metadata") or {}).get("name") or ""
    if len(name) > HOSTNAME_MAX:
        name = name[:HOSTNAME_MAX].rstrip("-.")
        if not name:
            raise PermanentError("hostname for pod is empty after truncation")
    return str(name)


def pod_domain(pod: Mapping[str, Any], cluster_domain: str = CLUSTER_DOMAIN) -> str:
    """`<subdomain>.<namespace>.svc.<clusterDomain>`, or '' without spec.subdomain."""
    sub = (pod.get("spec") or {}).get("subdomain") or ""
    if not sub or not cluster_domain:
        return ""
    ns = (pod.get("metadata") or {}).get("namespace") or "default"
    return f"{sub}.{ns}.svc.{cluster_domain}"


def kernel_hostname(pod: Mapping[str, Any], cluster_domain: str = CLUSTER_DOMAIN) -> str:
    """The UTS hostname: the short name, or the FQDN with setHostnameAsFQDN (max 64)."""
    host = pod_hostname(pod)
    domain = pod_domain(pod, cluster_domain)
    if domain and (pod.get("spec") or {}).get("setHostnameAsFQDN"):
        fqdn = f"{host}.{domain}"
        if len(fqdn) > FQDN_MAX:
            raise PermanentError(
                f"Failed to construct FQDN from pod hostname and cluster domain, FQDN {fqdn} is too long "
                f"({FQDN_MAX} characters is the max, {len(fqdn)} characters requested)"
            )
        return fqdn
    return host


def hostname_file(hostname: str) -> str:
    return hostname + "\n"


# -- /etc/hosts ----------------------------------------------------------------------------------

def _alias_lines(pod: Mapping[str, Any]) -> str:
    aliases = (pod.get("spec") or {}).get("hostAliases") or []
    if not aliases:
        return ""
    out = "\n# Entries added by HostAliases.\n"
    for a in aliases:
        out += f"{a.get('ip', '')}\t" + "\t".join(a.get("hostnames") or []) + "\n"
    return out


def hosts_file(
    pod: Mapping[str, Any],
    pod_ips: list[str],
    *,
    cluster_domain: str = CLUSTER_DOMAIN,
    node_hosts: str | None = None,
) -> str:
    """kubelet's managedHostsFileContent; hostNetwork pods get the node's file (pass node_hosts)."""
    if (pod.get("spec") or {}).get("hostNetwork"):
        if node_hosts is None:
            raise ValueError("hostNetwork pod: node_hosts (the node's /etc/hosts) is required")
        return MANAGED_HEADER_HOST_NETWORK + node_hosts + _alias_lines(pod)
    host = pod_hostname(pod)
    domain = pod_domain(pod, cluster_domain)
    out = (
        MANAGED_HEADER
        + "127.0.0.1\tlocalhost\n"
        + "::1\tlocalhost ip6-localhost ip6-loopback\n"
        + "fe00::0\tip6-localnet\n"
        + "fe00::0\tip6-mcastprefix\n"
        + "fe00::1\tip6-allnodes\n"
        + "fe00::2\tip6-allrouters\n"
    )
    for ip in pod_ips:
        out += f"{ip}\t{host}.{domain}\t{host}\n" if domain else f"{ip}\t{host}\n"
    return out + _alias_lines(pod)


# -- resolv.conf ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class DnsConfig:
    nameservers: list[str]
    searches: list[str]
    options: list[str]


def parse_resolv_conf(text: str) -> DnsConfig:
    """kubelet's parseResolvConf: last `search` wins, trailing dots dropped, `domain` ignored."""
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0]
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "nameserver" and len(fields) >= 2:
            servers.append(fields[1])
        elif fields[0] == "search":
            searches = [s.rstrip(".") for s in fields[1:] if s != "."]
        elif fields[0] == "options":
            options = _merge_options(options, fields[1:])
    return DnsConfig(servers, searches, options)


def _merge_options(existing: list[str], new: list[str]) -> list[str]:
    """Later options override earlier ones by name (`ndots:5` replaces `ndots:1`); order kept."""
    merged: dict[str, str | None] = {}
    for op in [*existing, *new]:
        name, sep, value = op.partition(":")
        merged[name] = value if sep else None
    return [n if v is None or v == "" else f"{n}:{v}" for n, v in merged.items()]


def _dedup(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _is_loopback(addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def pod_dns_type(pod: Mapping[str, Any], cluster_dns: Sequence[str]) -> str:
    """getPodDNSType: "cluster", "host" or "none"; ClusterFirst without cluster DNS (or on the host
    network) falls back to the host's configuration."""
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "None":
        return "none"
    if policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not spec.get("hostNetwork")):
        return "cluster" if cluster_dns else "host"
    if policy in ("ClusterFirst", "Default"):
        return "host"
    raise ValueError(f"unsupported dnsPolicy {policy!r}")


def pod_dns_config(host_resolv: str, pod: Mapping[str, Any], cluster_dns: Sequence[str] = (),
                   cluster_domain: str = CLUSTER_DOMAIN) -> DnsConfig:
    """kubelet GetPodDNS: ClusterFirst gets only the cluster DNS servers, the cluster search list
    before the host's and `ndots:5`; Default the node's resolv.conf; None nothing; dnsConfig is
    appended to any of them. Without cluster DNS, ClusterFirst falls back to Default."""
    spec = pod.get("spec") or {}
    kind = pod_dns_type(pod, cluster_dns)
    if kind == "none":
        base = DnsConfig([], [], [])
    else:
        base = parse_resolv_conf(host_resolv)
        # A node-local resolver (127.0.0.53, ::1) is unreachable from the pod's netns.
        base = DnsConfig([s for s in base.nameservers if not _is_loopback(s)], base.searches, base.options)
        if kind == "cluster":
            ns = (pod.get("metadata") or {}).get("namespace") or "default"
            searches = base.searches
            if cluster_domain:
                searches = _dedup([f"{ns}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain, *searches])
            base = DnsConfig(list(cluster_dns), searches, ["ndots:5"])
    dc = spec.get("dnsConfig") or {}
    opts = []
    for o in dc.get("options") or []:
        value = o.get("value")
        opts.append(o.get("name", "") if value is None else f"{o.get('name', '')}:{value}")
    servers = _dedup(base.nameservers + list(dc.get("nameservers") or []))
    searches = _dedup(base.searches + list(dc.get("searches") or []))
    options = _merge_options(base.options, opts)
    return DnsConfig(servers[:MAX_NAMESERVERS], searches[:MAX_SEARCHES], options)


def resolv_conf(host_resolv: str, pod: Mapping[str, Any], cluster_dns: Sequence[str] = (),
                cluster_domain: str = CLUSTER_DOMAIN) -> str:
    """resolv.conf text as containerd/CRI-O write it: search, nameservers, options."""
    dc = pod_dns_config(host_resolv, pod, cluster_dns, cluster_domain)
    out = ""
    if dc.searches:
        out += "search " + " ".join(dc.searches) + "\n"
    for s in dc.nameservers:
        out += f"nameserver {s}\n"
    if dc.options:
        out += "options " + " ".join(dc.options) + "\n"
    return out


# -- writing -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PodFiles:
    hosts: Path
    hostname: Path
    resolv: Path


def _write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    atomic_write(path, text.encode(), mode)


def write_pod_files(
    pod_dir: Path,
    pod: Mapping[str, Any],
    ips: list[str],
    host_resolv_path: str | Path = "/etc/resolv.conf",
    *,
    cluster_domain: str = CLUSTER_DOMAIN,
    cluster_dns: Sequence[str] = (),
) -> PodFiles:
    """Write etc-hosts, etc-hostname and resolv.conf into pod_dir (each atomically, 0644)."""
    pod_dir = Path(pod_dir)
    pod_dir.mkdir(parents=True, exist_ok=True)
    try:
        host_resolv = Path(host_resolv_path).read_text()
    except FileNotFoundError:
        host_resolv = ""
    node_hosts = None
    if (pod.get("spec") or {}).get("hostNetwork"):
        node_hosts = Path("/etc/hosts").read_text()
    files = PodFiles(pod_dir / "etc-hosts", pod_dir / "etc-hostname", pod_dir / "resolv.conf")
    _write_atomic(files.hosts, hosts_file(pod, ips, cluster_domain=cluster_domain, node_hosts=node_hosts))
    # hostNetwork pods share the node's UTS namespace, hence its hostname.
    host = os.uname().nodename if node_hosts is not None else kernel_hostname(pod, cluster_domain)
    _write_atomic(files.hostname, hostname_file(host))
    _write_atomic(files.resolv, resolv_conf(host_resolv, pod, cluster_dns, cluster_domain))
    return files
