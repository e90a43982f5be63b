"""Agent configuration and the host paths derived from it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from socket import gethostname


def _env_path(name: str, default: str) -> Path:
    return Path(os.environ.get(name) or default)


@dataclass(frozen=True)
class AgentConfig:
    root: Path = field(default_factory=lambda: _env_path("PODBAY_ROOT", "/var/lib/podbay"))
    run_dir: Path = field(default_factory=lambda: _env_path("PODBAY_RUN_DIR", "/run/podbay"))
    socket: Path | None = None
    runtime: str = ""                      # "crun" | "runc" | "" (choose)
    conmon: str = "/usr/bin/conmon"
    cni_conf_dir: Path | None = None
    cni_plugin_dirs: tuple[Path, ...] = (Path("/usr/lib/cni"), Path("/opt/cni/bin"))
    subnet: str = "10.88.0.0/16"
    bridge: str = "podbay0"
    node_name: str = field(default_factory=gethostname)
    allowed_host_paths: tuple[str, ...] = ()   # empty = all allowed
    seccomp_profile_root: Path | None = None   # Localhost seccomp profiles; None = <root>/seccomp
    resync_seconds: float = 60.0            # kubelet syncFrequency (a backstop: events drive syncs)
    container_log_max_size: int = 10 * 1024 * 1024   # kubelet containerLogMaxSize
    container_log_max_files: int = 5                 # kubelet containerLogMaxFiles
    container_log_monitor_seconds: float = 10.0      # kubelet containerLogMonitorInterval
    max_pods: int = 110                              # kubelet --max-pods: the Node's pods capacity
    # access: the TLS listener ("none" disables it), extra serving-cert SANs, --token-auth-file paths
    listen: str = "127.0.0.1:6443"
    tls_sans: tuple[str, ...] = ()
    token_auth_files: tuple[str, ...] = ()
    # Services (kube-apiserver --service-cluster-ip-range / --service-node-port-range, kube-proxy
    # --nodeport-addresses, kubelet --cluster-domain); services=False: no Service data path, no DNS.
    services: bool = True
    service_cidr: str = "10.96.0.0/12"
    service_node_port_range: str = "30000-32767"
    nodeport_addresses: tuple[str, ...] = ()         # empty: the node's primary address
    cluster_domain: str = "cluster.local"
    # images lane: registries, credentials, the puller and image GC (kubelet defaults)
    registries_conf: Path | None = None              # default <root>/registries.conf
    image_credentials: Path | None = None            # default <root>/config.json when it exists
    serialize_image_pulls: bool = True
    max_parallel_image_pulls: int | None = None
    image_gc_high_threshold: int = 85
    image_gc_low_threshold: int = 80
    image_minimum_gc_age: float = 120.0
    image_gc_period: float = 300.0                   # kubelet ImageGCPeriod

    @property
    def registries_conf_path(self) -> Path:
        return self.registries_conf or self.root / "registries.conf"

    @property
    def socket_path(self) -> Path:
        if self.socket is not None:
            return self.socket
        env = os.environ.get("PODBAY_SOCKET")
        return Path(env) if env else self.run_dir / "podbay.sock"

    @property
    def nft_table(self) -> str:
        """This agent's nftables table: the bridge name is unique per agent on a host."""
        return f"podbay-{self.bridge}"

    @property
    def bridge_address(self) -> str:
        """The host's address on the pod bridge (the CNI bridge's gateway): what pods reach."""
        import ipaddress

        return str(next(ipaddress.ip_network(self.subnet, strict=False).hosts()))

    @property
    def cluster_dns(self) -> tuple[str, ...]:
        """kubelet --cluster-dns: the kube-dns ClusterIP (.10 of the service range)."""
        if not self.services:
            return ()
        from podbay.core.services.allocation import ServiceNetwork

        return (ServiceNetwork.from_flags(self.service_cidr, self.service_node_port_range).dns_ip,)

    @property
    def seccomp_root(self) -> Path:
        return self.seccomp_profile_root or self.root / "seccomp"

    @property
    def cni_conf(self) -> Path:
        return self.cni_conf_dir or self.root / "cni" / "net.d"

    def pod_dir(self, uid: str) -> Path:
        return self.root / "pods" / uid

    def ns_dir(self, uid: str) -> Path:
        return self.run_dir / "ns" / uid

    def log_path(self, pod: dict, container: str, attempt: int) -> Path:
        md = pod["metadata"]
        return (self.root / "logs" / f"{md['namespace']}_{md['name']}_{md['uid']}" / container /
                f"{attempt}.log")

    def pod_log_dir(self, pod: dict) -> Path:
        md = pod["metadata"]
        return self.root / "logs" / f"{md['namespace']}_{md['name']}_{md['uid']}"

    def pod_cgroup(self, uid: str) -> str:
        return f"podbay/pod{uid}"
