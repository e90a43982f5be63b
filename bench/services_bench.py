"""Services and cluster DNS, in one run on this host (root):

1. DNS codec micro-bench: parse a query and encode its answer with podbay's hand-written wire code,
   dnslib and dnspython (the candidates of WORKLOADS.md §9.3), µs per query, in-process.
2. DNS from a pod: the agent's server on the bridge address, queried through the kube-dns ClusterIP
   (DNAT) from a pod: sequential queries/s, then an open-loop 2,000 queries/s for a few seconds with
   p50/p99 latency; the server as a thread of the agent and as its own process, with the agent
   idle and busy (a thread serializing a large list over and over).
3. TCP through a ClusterIP against pod IP directly: iperf3 throughput, wrk request rate on
   keep-alive connections, and new connections per second, from one pod to another, and the ratios.
4. Endpoint change to traffic: time from an EndpointSlice change (a new ready endpoint) to the first
   answer from it: build the ruleset, render the incremental transaction, `nft -f`.

Usage: .venv/bin/python bench/services_bench.py [--seconds N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))

from svclab import PY, Lab  # noqa: E402

from podbay.agent.clusterdns import ClusterDnsService  # noqa: E402
from podbay.core.services import dnswire as w  # noqa: E402
from podbay.core.services.dnsrecords import ClusterDNS  # noqa: E402

SERVICES = [{"metadata": {"namespace": "default", "name": f"svc{i}"},
             "spec": {"clusterIP": f"10.96.{i // 250}.{i % 250 + 2}", "ports": [{"name": "http", "port": 80}]}}
            for i in range(200)]


def codec_bench(n: int = 20000) -> dict[str, float]:
    """µs per (parse query + look up + encode answer) for the three codecs."""
    import dns.message
    import dns.rrset
    import dnslib

    idx = ClusterDNS(SERVICES, [])
    raw = w.build_query("svc7.default.svc.cluster.local", w.A, qid=7)
    out: dict[str, float] = {}

    t0 = time.perf_counter()
    for _ in range(n):
        q = w.parse_query(raw)
        a = idx.answer(q.name, q.qtype)
        w.encode_response(q, a.rcode, list(a.answers), list(a.authority), limit=512)
    out["podbay_wire_us"] = (time.perf_counter() - t0) / n * 1e6

    t0 = time.perf_counter()
    for _ in range(n):
        rq = dnslib.DNSRecord.parse(raw)
        name = str(rq.q.qname).rstrip(".").lower()
        a = idx.answer(name, rq.q.qtype)
        reply = rq.reply()
        for rr in a.answers:
            reply.add_answer(dnslib.RR(rq.q.qname, dnslib.QTYPE.A, ttl=rr.ttl,
                                       rdata=dnslib.A(".".join(str(b) for b in rr.rdata))))
        reply.pack()
    out["dnslib_us"] = (time.perf_counter() - t0) / n * 1e6

    t0 = time.perf_counter()
    for _ in range(n):
        mq = dns.message.from_wire(raw)
        qn = mq.question[0].name
        a = idx.answer(qn.to_text(omit_final_dot=True).lower(), mq.question[0].rdtype)
        resp = dns.message.make_response(mq)
        for rr in a.answers:
            resp.answer.append(dns.rrset.from_text(qn, rr.ttl, "IN", "A", ".".join(str(b) for b in rr.rdata)))
        resp.to_wire()
    out["dnspython_us"] = (time.perf_counter() - t0) / n * 1e6
    return out


POD_DNS_CLIENT = textwrap.dedent(r"""
    import socket, struct, sys, time, json
    server, seconds, rate = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    def q(i, name=b"\x04svc7\x07default\x03svc\x07cluster\x05local\x00"):
        return struct.pack("!HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 0) + name + b"\x00\x01\x00\x01"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect((server, 53)); s.settimeout(1)
    # sequential: as fast as one client can go
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 2:
        s.send(q(n)); s.recv(512); n += 1
    seq = n / (time.perf_counter() - t0)
    # open loop at `rate`: send on schedule, receive whatever arrived, measure per-id latency
    s.setblocking(False)
    sent, lat, lost = {}, [], 0
    interval = 1.0 / rate
    start = time.perf_counter(); i = 0
    while True:
        now = time.perf_counter()
        if now - start >= seconds:
            break
        due = start + i * interval
        if now >= due:
            sent[i & 0xFFFF] = now; s.send(q(i)); i += 1
        try:
            while True:
                d = s.recv(512)
                t = sent.pop(struct.unpack("!H", d[:2])[0], None)
                if t is not None:
                    lat.append(time.perf_counter() - t)
        except BlockingIOError:
            pass
    end = time.perf_counter() + 1
    while sent and time.perf_counter() < end:
        try:
            d = s.recv(512)
            t = sent.pop(struct.unpack("!H", d[:2])[0], None)
            if t is not None:
                lat.append(time.perf_counter() - t)
        except BlockingIOError:
            time.sleep(0.0005)
    lat.sort()
    print(json.dumps({"sequential_qps": seq, "offered_qps": i / seconds, "answered": len(lat), "lost": len(sent),
                      "p50_ms": lat[len(lat) // 2] * 1e3, "p99_ms": lat[int(len(lat) * 0.99)] * 1e3}))
""")


def _busy_agent(stop: threading.Event) -> None:
    """What a busy agent does to its interpreter: long GIL-holding work (serializing a big list)."""
    big = [{"metadata": {"name": f"pod-{i}", "labels": {"app": "x"}}, "spec": {"containers": [{"name": "c"}] * 3}}
           for i in range(3000)]
    while not stop.is_set():
        json.dumps(big)


def dns_from_pod(lab: Lab, seconds: float) -> dict[str, Any]:
    """The server in the agent's process (a thread) and in its own process, with the agent idle and
    busy; the pod's client offers 2,000 queries/s through the kube-dns ClusterIP."""
    kube_dns = lab.service("kube-dns", 10, [{"name": "dns", "port": 53, "protocol": "UDP"}])
    kube_dns["metadata"]["namespace"] = "kube-system"
    sl = {"metadata": {"namespace": "kube-system", "name": "kube-dns", "labels": {"kubernetes.io/service-name": "kube-dns"}},
          "addressType": "IPv4", "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}],
          "endpoints": [{"addresses": [lab.gateway], "conditions": {"ready": True}}]}
    lab.sync([kube_dns], [sl])
    out: dict[str, Any] = {}
    for isolated in (False, True):
        svc = ClusterDnsService(lab.gateway, lab.vip(10), upstreams=[], isolated=isolated)
        svc.start()
        svc.update([kube_dns, *SERVICES], [sl])
        time.sleep(0.3)
        try:
            for busy in (False, True):
                stop = threading.Event()
                hog = threading.Thread(target=_busy_agent, args=(stop,), daemon=True)
                if busy:
                    hog.start()
                try:
                    runs = []
                    for _ in range(2):
                        r = lab.pods["p0"].run(PY, "-c", POD_DNS_CLIENT, lab.vip(10), str(seconds), "2000",
                                               timeout=seconds + 30)
                        runs.append(json.loads(r.stdout))
                finally:
                    stop.set()
                    if busy:
                        hog.join()
                key = ("process" if isolated else "thread") + ("_busy_agent" if busy else "_idle_agent")
                res = {k: statistics.median(float(x[k]) for x in runs) for k in runs[0]}
                res["p99_ms_runs"] = [round(float(x["p99_ms"]), 3) for x in runs]
                out[key] = res
                print(f"  DNS {key}: p50 {res['p50_ms']:.3f} ms, p99 {res['p99_ms']:.3f} ms, "
                      f"sequential {res['sequential_qps']:.0f} q/s, lost {res['lost']:.0f}", flush=True)
        finally:
            svc.stop()
    return out


def _iperf(lab: Lab, target: str, port: int) -> float:
    r = lab.pods["p0"].run("iperf3", "-c", target, "-p", str(port), "-t", "5", "-J", timeout=60)
    doc = json.loads(r.stdout)
    return float(doc["end"]["sum_received"]["bits_per_second"]) / 1e9


def _wrk(lab: Lab, url: str) -> float:
    r = lab.pods["p0"].run("wrk", "-t1", "-c16", "-d5s", url, timeout=60)
    for line in r.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(r.stdout + r.stderr)


HTTP_SERVER = textwrap.dedent(r"""
    import sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 65536  # headers and body in one segment (no Nagle/delayed-ACK stall)
        disable_nagle_algorithm = True
        def do_GET(self):
            self.send_response(200); self.send_header("Content-Length", "6"); self.end_headers()
            self.wfile.write(b"hello\n")
        def log_message(self, *a):
            pass
    ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), H).serve_forever()
""")

CONNECT_LOOP = textwrap.dedent(r"""
    import socket, sys, time
    ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    t0 = time.perf_counter()
    for _ in range(n):
        s = socket.create_connection((ip, port), timeout=3); s.sendall(b"x"); s.recv(100); s.close()
    print(n / (time.perf_counter() - t0))
""")


def tcp_bench(lab: Lab) -> dict[str, float]:
    """iperf3 throughput, wrk keep-alive request rate, and new connections per second (each one
    through the NAT rules), direct and through the ClusterIP, interleaved, medians of 3."""
    server = lab.pods["p1"]
    lab.procs.append(server.popen("iperf3", "-s", "-p", "5201"))
    lab.procs.append(server.popen(PY, "-c", HTTP_SERVER, "8081"))
    lab.wait_serving("p1", 8081)
    svc = lab.service("perf", 40, [{"name": "iperf", "port": 5201, "protocol": "TCP"},
                                   {"name": "http", "port": 80, "protocol": "TCP"},
                                   {"name": "echo", "port": 90, "protocol": "TCP"}])
    sl = lab.slice("perf", [{"name": "iperf", "port": 5201, "protocol": "TCP"},
                            {"name": "http", "port": 8081, "protocol": "TCP"},
                            {"name": "echo", "port": 8080, "protocol": "TCP"}], ["p1"])
    lab.sync([svc], [sl])
    time.sleep(0.5)
    res: dict[str, list[float]] = {k: [] for k in ("iperf_direct_gbps", "iperf_clusterip_gbps", "wrk_direct_rps",
                                                   "wrk_clusterip_rps", "conn_direct_per_s", "conn_clusterip_per_s")}
    for _ in range(3):
        res["iperf_direct_gbps"].append(_iperf(lab, server.ip, 5201))
        res["iperf_clusterip_gbps"].append(_iperf(lab, lab.vip(40), 5201))
        res["wrk_direct_rps"].append(_wrk(lab, f"http://{server.ip}:8081/"))
        res["wrk_clusterip_rps"].append(_wrk(lab, f"http://{lab.vip(40)}:80/"))
        for key, ip, port in (("conn_direct_per_s", server.ip, 8080), ("conn_clusterip_per_s", lab.vip(40), 90)):
            r = lab.pods["p0"].run(PY, "-c", CONNECT_LOOP, ip, str(port), "2000", timeout=120)
            res[key].append(float(r.stdout))
    out = {k: statistics.median(v) for k, v in res.items()}
    out["throughput_ratio"] = out["iperf_clusterip_gbps"] / out["iperf_direct_gbps"]
    out["request_rate_ratio"] = out["wrk_clusterip_rps"] / out["wrk_direct_rps"]
    out["connection_rate_ratio"] = out["conn_clusterip_per_s"] / out["conn_direct_per_s"]
    return out


def change_to_traffic(lab: Lab, runs: int = 5) -> dict[str, float]:
    """EndpointSlice change (p2 becomes the only ready endpoint) -> first answer from p2."""
    ports = [{"name": "http", "port": 80, "protocol": "TCP"}]
    ep = [{"name": "http", "port": 8080, "protocol": "TCP"}]
    svc = lab.service("flip", 50, ports)
    times = []
    for i in range(runs):
        lab.sync([svc], [lab.slice("flip", ep, ["p1"])])
        assert lab.client_host("tcp", lab.vip(50), 80) == ["p1"]
        t0 = time.perf_counter()
        lab.sync([svc], [lab.slice("flip", ep, ["p2"])])
        t_apply = time.perf_counter()
        while lab.client_host("tcp", lab.vip(50), 80) != ["p2"]:
            pass
        times.append(((t_apply - t0) * 1e3, (time.perf_counter() - t0) * 1e3))
        del i
    return {"sync_ms": statistics.median(t for t, _ in times),
            "first_answer_ms_incl_client_start": statistics.median(t for _, t in times)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--json", type=Path, default=REPO / "bench" / "services-last-run.json")
    args = ap.parse_args()
    results: dict[str, Any] = {"loadavg_before": Path("/proc/loadavg").read_text().split()[:3],
                               "codec": codec_bench()}
    print("codec µs/query:", json.dumps(results["codec"]))
    lab = Lab(3)
    try:
        for p in ("p1", "p2"):
            lab.serve(p, 8080)
            lab.wait_serving(p, 8080)
        results["dns_from_pod"] = dns_from_pod(lab, args.seconds)
        print("DNS from a pod:", json.dumps(results["dns_from_pod"]))
        if shutil.which("iperf3") and shutil.which("wrk"):
            results["tcp"] = tcp_bench(lab)
            print("TCP:", json.dumps(results["tcp"]))
        results["endpoint_change"] = change_to_traffic(lab)
        print("endpoint change:", json.dumps(results["endpoint_change"]))
    finally:
        lab.close()
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
