"""Cluster DNS from a pod: the agent's server on the bridge address, the kube-dns ClusterIP DNAT'd to
it, UDP and TCP, the cluster zone from the index and everything else forwarded (and cached)."""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Iterator

import pytest

from podbay.core.services.dnsrecords import ClusterDNS
from podbay.network.dnsserver import DnsServer

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not shutil.which("nft") or not os.path.exists("/usr/lib/cni/bridge"),
                       reason="needs nftables and the CNI plugins"),
]

from svclab import PY, Lab  # noqa: E402

DIG = textwrap.dedent(r"""
    import sys, dns.message, dns.query, dns.rcode
    server, proto = sys.argv[1], sys.argv[2]
    for arg in sys.argv[3:]:
        name, rtype = arg.split("/")
        q = dns.message.make_query(name, rtype)
        r = (dns.query.tcp if proto == "tcp" else dns.query.udp)(q, server, timeout=3)
        ans = sorted(str(x) for rr in r.answer for x in rr)
        print(name, rtype, dns.rcode.to_text(r.rcode()), ",".join(ans) or "-")
""")


@pytest.fixture(scope="module")
def env() -> Iterator[tuple[Lab, DnsServer, DnsServer]]:
    lab = Lab(2)
    upstream = DnsServer([("127.0.0.1", 0)], [], ClusterDNS(
        [{"metadata": {"namespace": "x", "name": "www"}, "spec": {"clusterIP": "192.0.2.80", "ports": []}}], [],
        zone="example.test"))
    server: DnsServer | None = None
    try:
        upstream.start()
        dns_vip = lab.vip(10)
        kube_dns = lab.service("kube-dns", 10, [{"name": "dns", "port": 53, "protocol": "UDP"},
                                                {"name": "dns-tcp", "port": 53, "protocol": "TCP"}])
        kube_dns["metadata"]["namespace"] = "kube-system"
        web = lab.service("web", 20, [{"name": "http", "port": 80, "protocol": "TCP"}])
        slices = [{"metadata": {"namespace": "kube-system", "name": "kube-dns",
                                "labels": {"kubernetes.io/service-name": "kube-dns"}},
                   "addressType": "IPv4", "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                                                    {"name": "dns-tcp", "port": 53, "protocol": "TCP"}],
                   "endpoints": [{"addresses": [lab.gateway], "conditions": {"ready": True}}]}]
        lab.sync([kube_dns, web], slices)
        index = ClusterDNS([kube_dns, web], slices, dns_ip=dns_vip)
        server = DnsServer([(lab.gateway, 53)], ["127.0.0.1"], index, upstream_port=upstream.bound[0][1])
        server.start()
        yield lab, server, upstream
    finally:
        if server is not None:
            server.stop()
        upstream.stop()
        lab.close()


def dig(lab: Lab, proto: str, *queries: str, server: str | None = None) -> dict[str, tuple[str, str]]:
    r = lab.pods["p0"].run(PY, "-c", DIG, server or lab.vip(10), proto, *queries)
    assert r.returncode == 0, r.stderr
    out = {}
    for line in r.stdout.splitlines():
        name, rtype, rcode, ans = line.split(" ", 3)
        out[f"{name}/{rtype}"] = (rcode, ans)
    return out


@pytest.mark.parametrize("proto", ["udp", "tcp"])
def test_cluster_names_from_a_pod(env: tuple[Lab, DnsServer, DnsServer], proto: str) -> None:
    lab, _, _ = env
    got = dig(lab, proto, "web.default.svc.cluster.local/A", "web.default.svc.cluster.local/AAAA",
              "nope.default.svc.cluster.local/A", "_http._tcp.web.default.svc.cluster.local/SRV",
              "kube-dns.kube-system.svc.cluster.local/A")
    assert got["web.default.svc.cluster.local/A"] == ("NOERROR", lab.vip(20))
    assert got["web.default.svc.cluster.local/AAAA"] == ("NOERROR", "-")
    assert got["nope.default.svc.cluster.local/A"] == ("NXDOMAIN", "-")
    assert got["_http._tcp.web.default.svc.cluster.local/SRV"] == ("NOERROR", "0 100 80 web.default.svc.cluster.local.")
    assert got["kube-dns.kube-system.svc.cluster.local/A"] == ("NOERROR", lab.vip(10))


def test_other_names_are_forwarded_and_cached(env: tuple[Lab, DnsServer, DnsServer]) -> None:
    lab, server, upstream = env
    before = upstream.stats["queries"]
    for _ in range(3):
        assert dig(lab, "udp", "www.x.svc.example.test/A")["www.x.svc.example.test/A"] == ("NOERROR", "192.0.2.80")
    assert upstream.stats["queries"] - before == 1  # answered from the cache after the first time
    assert server.stats["cache_hits"] >= 2


def test_index_swap_is_seen_at_once(env: tuple[Lab, DnsServer, DnsServer]) -> None:
    lab, server, _ = env
    old = server.index
    new_svc = lab.service("late", 30, [{"port": 80, "protocol": "TCP"}])
    server.set_index(ClusterDNS([new_svc], [], dns_ip=lab.vip(10)))
    try:
        assert dig(lab, "udp", "late.default.svc.cluster.local/A")["late.default.svc.cluster.local/A"] == (
            "NOERROR", lab.vip(30))
    finally:
        server.set_index(old)
