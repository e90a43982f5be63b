"""Cluster DNS records and the wire format, read back with dnspython (an independent decoder)."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from podbay.core.services import dnswire as w
from podbay.core.services.dnsrecords import ClusterDNS

SERVICES = [
    {"metadata": {"namespace": "default", "name": "kubernetes"},
     "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}},
    {"metadata": {"namespace": "default", "name": "web"},
     "spec": {"clusterIP": "10.96.3.4", "ports": [{"name": "http", "port": 80, "protocol": "TCP"},
                                                  {"port": 8443, "protocol": "TCP"}]}},
    {"metadata": {"namespace": "default", "name": "nginx"},
     "spec": {"clusterIP": "None", "ports": [{"name": "web", "port": 80, "protocol": "TCP"}]}},
    {"metadata": {"namespace": "default", "name": "empty"}, "spec": {"clusterIP": "None", "ports": []}},
    {"metadata": {"namespace": "default", "name": "ext"}, "spec": {"type": "ExternalName", "externalName": "db.example.org"}},
]
SLICES = [{"metadata": {"namespace": "default", "name": "nginx-a", "labels": {"kubernetes.io/service-name": "nginx"}},
           "addressType": "IPv4", "ports": [{"name": "web", "port": 8080, "protocol": "TCP"}],
           "endpoints": [{"addresses": ["10.88.0.5"], "hostname": "web-0", "conditions": {"ready": True}},
                         {"addresses": ["10.88.0.6"], "conditions": {"ready": True}},
                         {"addresses": ["10.88.0.7"], "conditions": {"ready": False}}]}]
IDX = ClusterDNS(SERVICES, SLICES, ["kube-system"], dns_ip="10.96.0.10")


def ask(name: str, rtype: str, edns: int = 0, idx: ClusterDNS = IDX) -> dns.message.Message:
    q = w.parse_query(w.build_query(name, dns.rdatatype.from_text(rtype), qid=4242, edns=edns))
    a = idx.answer(q.name, q.qtype)
    assert not a.forward, name
    wire = w.encode_response(q, a.rcode, list(a.answers), list(a.authority), list(a.additional), limit=q.udp_size)
    msg = dns.message.from_wire(wire)
    assert msg.id == 4242 and msg.flags & dns.flags.AA
    return msg


def texts(m: dns.message.Message) -> list[str]:
    return sorted(str(r) for rr in m.answer for r in rr)


@pytest.mark.parametrize(("name", "rtype", "rcode", "answers"), [
    ("kubernetes.default.svc.cluster.local", "A", "NOERROR", ["10.96.0.1"]),
    ("KUBERNETES.Default.svc.cluster.local.", "A", "NOERROR", ["10.96.0.1"]),
    ("kubernetes.default.svc.cluster.local", "AAAA", "NOERROR", []),
    ("missing.default.svc.cluster.local", "A", "NXDOMAIN", []),
    ("web.nope.svc.cluster.local", "A", "NXDOMAIN", []),
    ("nginx.default.svc.cluster.local", "A", "NOERROR", ["10.88.0.5", "10.88.0.6"]),
    ("empty.default.svc.cluster.local", "A", "NXDOMAIN", []),
    ("web-0.nginx.default.svc.cluster.local", "A", "NOERROR", ["10.88.0.5"]),
    ("10-88-0-6.nginx.default.svc.cluster.local", "A", "NOERROR", ["10.88.0.6"]),
    ("10-88-0-7.nginx.default.svc.cluster.local", "A", "NXDOMAIN", []),
    ("_http._tcp.web.default.svc.cluster.local", "SRV", "NOERROR", ["0 100 80 web.default.svc.cluster.local."]),
    ("_nope._tcp.web.default.svc.cluster.local", "SRV", "NXDOMAIN", []),
    ("_web._tcp.nginx.default.svc.cluster.local", "SRV", "NOERROR",
     ["0 50 8080 10-88-0-6.nginx.default.svc.cluster.local.", "0 50 8080 web-0.nginx.default.svc.cluster.local."]),
    ("web.default.svc.cluster.local", "SRV", "NOERROR",
     ["0 50 80 web.default.svc.cluster.local.", "0 50 8443 web.default.svc.cluster.local."]),
    ("ext.default.svc.cluster.local", "CNAME", "NOERROR", ["db.example.org."]),
    ("ext.default.svc.cluster.local", "A", "NOERROR", ["db.example.org."]),
    ("10-88-0-9.default.pod.cluster.local", "A", "NOERROR", ["10.88.0.9"]),
    ("10-88-0-999.default.pod.cluster.local", "A", "NXDOMAIN", []),
    ("1.0.96.10.in-addr.arpa", "PTR", "NOERROR", ["kubernetes.default.svc.cluster.local."]),
    ("5.0.88.10.in-addr.arpa", "PTR", "NOERROR", ["web-0.nginx.default.svc.cluster.local."]),
    ("dns-version.cluster.local", "TXT", "NOERROR", ['"1.1.0"']),
    ("default.svc.cluster.local", "A", "NOERROR", []),
    ("kube-system.svc.cluster.local", "A", "NOERROR", []),
    ("nons.svc.cluster.local", "A", "NXDOMAIN", []),
    ("svc.cluster.local", "A", "NOERROR", []),
    ("foo.cluster.local", "A", "NXDOMAIN", []),
    ("api.wordpress.org.default.svc.cluster.local", "A", "NXDOMAIN", []),
    ("cluster.local", "SOA", "NOERROR", ["ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"]),
    ("cluster.local", "NS", "NOERROR", ["ns.dns.cluster.local."]),
])
def test_records(name: str, rtype: str, rcode: str, answers: list[str]) -> None:
    m = ask(name, rtype)
    assert dns.rcode.to_text(m.rcode()) == rcode
    assert texts(m) == answers
    if not answers:
        # Negative answers carry the zone's SOA for negative caching (RFC 2308).
        assert [rr.rdtype for rr in m.authority] == [dns.rdatatype.SOA]


def test_srv_carries_addresses() -> None:
    m = ask("_web._tcp.nginx.default.svc.cluster.local", "SRV")
    assert sorted(str(r) for rr in m.additional for r in rr) == ["10.88.0.5", "10.88.0.6"]


def test_names_outside_the_zone_and_other_reverse_names_forward() -> None:
    assert IDX.answer("example.org", w.A).forward
    assert IDX.answer("9.9.9.9.in-addr.arpa", w.PTR).forward


def test_question_case_is_echoed() -> None:
    raw = w.build_query("Kubernetes.DEFAULT.svc.cluster.local", w.A, qid=1)
    q = w.parse_query(raw)
    a = IDX.answer(q.name, q.qtype)
    msg = dns.message.from_wire(w.encode_response(q, a.rcode, list(a.answers)))
    assert str(msg.question[0].name) == "Kubernetes.DEFAULT.svc.cluster.local."
    assert q.name == "kubernetes.default.svc.cluster.local"


def test_truncation_over_udp_and_edns() -> None:
    eps = [{"addresses": [f"10.88.1.{i}"], "conditions": {"ready": True}} for i in range(1, 60)]
    big = ClusterDNS([{"metadata": {"namespace": "d", "name": "h"}, "spec": {"clusterIP": "None", "ports": []}}],
                     [{"metadata": {"namespace": "d", "labels": {"kubernetes.io/service-name": "h"}},
                       "addressType": "IPv4", "ports": [], "endpoints": eps}])
    q = w.parse_query(w.build_query("h.d.svc.cluster.local", w.A))
    a = big.answer(q.name, q.qtype)
    small = w.encode_response(q, a.rcode, list(a.answers), limit=512)
    assert dns.message.from_wire(small).flags & dns.flags.TC
    qe = w.parse_query(w.build_query("h.d.svc.cluster.local", w.A, edns=4096))
    assert qe.udp_size == 1232 and qe.edns
    full = dns.message.from_wire(w.encode_response(qe, a.rcode, list(a.answers), limit=qe.udp_size))
    assert not full.flags & dns.flags.TC and len(texts(full)) == 59 and full.edns == 0


@pytest.mark.parametrize("data", [b"", b"\x00" * 11, b"\x00\x01\x80\x00\x00\x01" + b"\x00" * 6,
                                  b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01"])
def test_bad_messages_are_rejected(data: bytes) -> None:
    with pytest.raises(w.WireError):
        w.parse_query(data)


def test_ttl_aging_and_meta() -> None:
    q = w.parse_query(w.build_query("web.default.svc.cluster.local", w.A))
    a = ClusterDNS(SERVICES, [], ttl=30).answer(q.name, q.qtype)
    resp = w.encode_response(q, a.rcode, list(a.answers))
    assert w.response_meta(resp) == (0, w.response_meta(resp)[1], 30)
    aged = dns.message.from_wire(w.age_ttls(resp, 12))
    assert aged.answer[0].ttl == 18
    nx = w.parse_query(w.build_query("x.default.svc.cluster.local", w.A))
    na = IDX.answer(nx.name, nx.qtype)
    assert w.response_meta(w.encode_response(nx, na.rcode, [], list(na.authority)))[2] == 5
