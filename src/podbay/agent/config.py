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
    resync_seconds: float = 10.0
    container_log_max_size: int = 10 * 1024 * 1024   # kubelet containerLogMaxSize
    container_log_max_files: int = 5                 # kubelet containerLogMaxFiles
    container_log_monitor_seconds: float = 10.0      # kubelet containerLogMonitorInterval

    @property
    def socket_path(self) -> Path:
        if self.socket is not None:
            return self.socket
        env = os.environ.get("PODBAY_SOCKET")
        return Path(env) if env else self.run_dir / "podbay.sock"

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
