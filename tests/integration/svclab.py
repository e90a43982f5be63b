"""A private service lab on the real parts: a CNI bridge with pod network namespaces, podbay's
nftables table for a random service CIDR, and helpers to run servers and clients inside pods.

Everything is named from one random tag (bridge `pbs<tag>`, table `podbay-pbs<tag>`, subnet
10.<a>.<b>.0/24, service CIDR 10.<c>.0.0/16) so parallel runs never collide; `close()` removes it all.
Used by the root integration tests and by bench/services_bench.py.
"""

from __future__ import annotations

import contextlib
import ipaddress
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from podbay.core.services import proxyrules as pr
from podbay.network import namespaces
from podbay.network.cni import CniNetwork
from podbay.network.nftables import NftCommand, ensure_bridge_netfilter

CNI_DIR = Path("/usr/lib/cni")
PY = sys.executable

ECHO_SERVER = r"""
import socket, sys, threading
kind, port, reply = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
if kind == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", port))
    while True:
        data, addr = s.recvfrom(2048); s.sendto(reply + b" " + data, addr)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", port)); s.listen(64)
def serve(c):
    with c:
        while True:
            d = c.recv(2048)
            if not d: return
            c.sendall(reply + b" " + d)
while True:
    c, a = s.accept(); threading.Thread(target=serve, args=(c,), daemon=True).start()
"""

CLIENT = r"""
import socket, sys, time
kind, ip, port, n, msg = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5].encode()
out = []
for _ in range(n):
    try:
        if kind == "udp":
            # connected, so an ICMP port unreachable (a REJECT) surfaces as ConnectionRefusedError
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2); s.connect((ip, port)); s.send(msg)
            out.append(s.recv(2048).decode().split()[0]); s.close()
        else:
            s = socket.create_connection((ip, port), timeout=2); s.sendall(msg)
            out.append(s.recv(2048).decode().split()[0]); s.close()
    except ConnectionRefusedError:
        out.append("REFUSED")
    except OSError as e:
        out.append("ERR:" + type(e).__name__)
print(" ".join(out))
"""


def sh(*argv: str, timeout: float = 30, check: bool = False, input: str | None = None) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, input=input)
    if check and r.returncode != 0:
        raise RuntimeError(f"{argv}: rc {r.returncode}: {r.stderr.strip()}")
    return r


class Pod:
    def __init__(self, name: str, ns: Path, ip: str) -> None:
        self.name = name
        self.ns = ns
        self.ip = ip

    def run(self, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return sh("nsenter", f"--net={self.ns}", *argv, timeout=timeout)

    def popen(self, *argv: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["nsenter", f"--net={self.ns}", *argv], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)


class Lab:
    def __init__(self, n_pods: int = 3) -> None:
        if not (CNI_DIR / "bridge").exists() or not shutil.which("nft"):
            raise RuntimeError("needs the CNI plugins and nftables")
        ensure_bridge_netfilter()
        self.tag = "".join(random.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=5))
        self.bridge = f"pbs{self.tag}"
        self.table = f"podbay-{self.bridge}"
        self.subnet = f"10.{random.randrange(200, 250)}.{random.randrange(0, 255)}.0/24"
        self.gateway = str(next(ipaddress.ip_network(self.subnet).hosts()))
        self.service_cidr = f"10.{random.randrange(100, 199)}.0.0/16"
        self.tmp = Path(tempfile.mkdtemp(prefix=f"podbay-svclab-{self.tag}-"))
        self.net = CniNetwork(self.tmp / "net.d", [CNI_DIR], self.tmp / "cni", bridge=self.bridge,
                              subnet=self.subnet, network_name=f"pbs-{self.tag}")
        self.net.ensure_config()
        self.nft = NftCommand()
        self.cfg = pr.ProxyConfig(table=self.table, pod_cidr=self.subnet, service_cidr=self.service_cidr,
                                  node_name="lab", nodeport_ips=(self.gateway,))
        self.pods: dict[str, Pod] = {}
        self.procs: list[subprocess.Popen[bytes]] = []
        self.ruleset: pr.Ruleset | None = None
        try:
            for i in range(n_pods):
                self.add_pod(f"p{i}")
        except BaseException:
            self.close()
            raise

    def vip(self, index: int) -> str:
        return str(ipaddress.ip_network(self.service_cidr).network_address + index)

    def add_pod(self, name: str) -> Pod:
        d = self.tmp / "ns" / name
        pinned = namespaces.pin(d, name)
        res = self.net.add(f"{self.tag}{name}" * 3, pinned.net, args={"K8S_POD_NAMESPACE": "default",
                                                                     "K8S_POD_NAME": name, "K8S_POD_UID": name})
        pod = Pod(name, pinned.net, CniNetwork.pod_ips(res)[0])
        self.pods[name] = pod
        return pod

    def serve(self, pod: str, port: int, kind: str = "tcp", reply: str | None = None) -> None:
        p = self.pods[pod].popen(PY, "-c", ECHO_SERVER, kind, str(port), reply or pod)
        self.procs.append(p)

    def wait_serving(self, pod: str, port: int, kind: str = "tcp") -> None:
        ip = self.pods[pod].ip
        for _ in range(100):
            if kind == "tcp":
                with contextlib.suppress(OSError), __import__("socket").create_connection((ip, port), timeout=0.2):
                    return
            else:
                if self.client_host("udp", ip, port, 1)[0] == pod:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"{pod}:{port} never served")

    def client(self, pod: str, kind: str, ip: str, port: int, n: int = 1, msg: str = "hi") -> list[str]:
        r = self.pods[pod].run(PY, "-c", CLIENT, kind, ip, str(port), str(n), msg, timeout=60)
        return r.stdout.split()

    def client_host(self, kind: str, ip: str, port: int, n: int = 1, msg: str = "hi") -> list[str]:
        return sh(PY, "-c", CLIENT, kind, ip, str(port), str(n), msg, timeout=60).stdout.split()

    # -- rules ----------------------------------------------------------------------------------

    def sync(self, services: list[dict[str, Any]], slices: list[dict[str, Any]], full: bool = False) -> str:
        new = pr.build_ruleset(self.cfg, services, slices)
        if full or self.ruleset is None:
            listing = self.nft.listing(self.table)
            script = pr.render_full(new, listing.as_existing() if listing else None)
        else:
            script = pr.render_diff(self.ruleset, new)
        self.nft.apply(script)
        if self.ruleset is not None:
            gone = pr.removed_chains(self.ruleset, new)
            if gone:
                self.nft.apply(pr.render_delete_chains(self.table, gone))
        self.ruleset = new
        return script

    def service(self, name: str, vip_index: int, ports: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
        return {"metadata": {"namespace": "default", "name": name},
                "spec": {"type": spec.pop("type", "ClusterIP"), "clusterIP": self.vip(vip_index),
                         "ports": ports, **spec}}

    def slice(self, svc: str, ports: list[dict[str, Any]], pods: list[str], ready: bool = True) -> dict[str, Any]:
        return {"metadata": {"namespace": "default", "name": f"{svc}-s", "labels": {"kubernetes.io/service-name": svc}},
                "addressType": "IPv4", "ports": ports,
                "endpoints": [{"addresses": [self.pods[p].ip], "conditions": {"ready": ready}, "nodeName": "lab"}
                              for p in pods]}

    def rule_count(self) -> int:
        listing = self.nft.listing(self.table)
        return listing.rules if listing else -1

    def close(self) -> None:
        for p in self.procs:
            with contextlib.suppress(ProcessLookupError):
                p.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=5)
        self.procs.clear()
        with contextlib.suppress(Exception):
            self.nft.delete_table(self.table)
        for name in list(self.pods):
            d = self.tmp / "ns" / name
            with contextlib.suppress(Exception):
                self.net.delete(f"{self.tag}{name}" * 3, d / "net")
            with contextlib.suppress(Exception):
                namespaces.unpin(d)
        self.pods.clear()
        with contextlib.suppress(Exception):
            self.net.remove_bridge()
        shutil.rmtree(self.tmp, ignore_errors=True)
