"""The agent's cluster DNS service on loopback: updates are visible at once, over UDP and TCP."""

from __future__ import annotations

import time

import dns.message
import dns.query
import dns.rcode
import pytest

from podbay.agent.clusterdns import ClusterDnsService
from podbay.network.dnsserver import host_upstreams


@pytest.mark.parametrize("isolated", [True, False])
def test_updates_are_served_over_udp_and_tcp(isolated: bool) -> None:
    svc = ClusterDnsService("127.0.0.1", "10.96.0.10", port=0, upstreams=[], isolated=isolated)
    svc.start()
    try:
        port = svc.bound[0][1]
        q = dns.message.make_query("web.default.svc.cluster.local", "A")
        assert dns.query.udp(q, "127.0.0.1", port=port, timeout=2).rcode() == dns.rcode.NXDOMAIN
        svc.update([{"metadata": {"namespace": "default", "name": "web"},
                     "spec": {"clusterIP": "10.96.0.33", "ports": [{"port": 80}]}}], [])
        for query in (dns.query.udp, dns.query.tcp):
            for _ in range(100):  # the child applies the snapshot asynchronously
                r = query(q, "127.0.0.1", port=port, timeout=2)
                if r.answer:
                    break
                time.sleep(0.01)
            assert [str(x) for rr in r.answer for x in rr] == ["10.96.0.33"]
        # No upstream: names outside the zone get SERVFAIL rather than silence.
        r = dns.query.udp(dns.message.make_query("example.org", "A"), "127.0.0.1", port=port, timeout=3)
        assert r.rcode() == dns.rcode.SERVFAIL
    finally:
        svc.stop()


def test_host_upstreams_skip_the_cluster_dns(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rc = tmp_path / "resolv.conf"
    rc.write_text("nameserver 127.0.0.53\nnameserver 10.96.0.10\n# c\nnameserver 192.0.2.1 # x\nsearch a\n")
    assert host_upstreams(rc, exclude=("10.96.0.10",)) == ["127.0.0.53", "192.0.2.1"]
