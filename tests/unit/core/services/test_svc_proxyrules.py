"""The kube-proxy nftables ruleset: dispatch maps, chains, affinity, traffic policies, diffs."""

from __future__ import annotations

from typing import Any

from podbay.core.services import proxyrules as pr

CFG = pr.ProxyConfig(table="podbay-t", pod_cidr="10.88.0.0/16", service_cidr="10.96.0.0/12", node_name="n1")


def service(name: str, ip: str, ports: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {"metadata": {"namespace": "default", "name": name},
            "spec": {"type": spec.pop("type", "ClusterIP"), "clusterIP": ip, "ports": ports, **spec}}


def slice_(svc: str, ports: list[dict[str, Any]], eps: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    return {"metadata": {"namespace": "default", "name": f"{svc}-x", "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "ports": ports,
            "endpoints": [{"addresses": [ip], "conditions": c, "nodeName": "n1"} for ip, c in eps]}


WEB = service("web", "10.96.0.50", [{"name": "http", "port": 80, "protocol": "TCP"}])
WEB_SLICE = slice_("web", [{"name": "http", "port": 8080, "protocol": "TCP"}],
                   [("10.88.0.5", {"ready": True}), ("10.88.0.6", {"ready": True})])


def test_chain_names_follow_kube_proxy() -> None:
    base = pr.service_port_chain_base("ns1", "svc1", "tcp", "p80")
    assert base.endswith("-ns1/svc1/tcp/p80") and len(base.split("-")[0]) == 8
    assert pr.service_port_chain_base("ns1", "svc1", "tcp", "p80") == base
    ep = pr.endpoint_chain_base("ns1", "svc1", "tcp", "p80", "10.180.0.1", 80)
    assert ep.endswith("-ns1/svc1/tcp/p80__10.180.0.1/80")


def test_cluster_ip_dispatch_and_random_choice() -> None:
    rs = pr.build_ruleset(CFG, [WEB], [WEB_SLICE])
    sp = pr.service_ports(WEB)[0]
    chain = "service-" + sp.chain_base
    assert rs.maps[pr.SERVICE_IPS] == {"10.96.0.50 . tcp . 80": f"goto {chain}"}
    rules = rs.chains[chain]
    assert rules[0] == f"ip daddr 10.96.0.50 tcp dport 80 ip saddr != 10.88.0.0/16 jump {pr.MARK_MASQ}"
    assert rules[-1].startswith("numgen random mod 2 vmap { 0 : goto endpoint-")
    ep_chain = [c for c in rs.chains if c.startswith("endpoint-") and c.endswith("10.88.0.5/8080")][0]
    assert rs.chains[ep_chain] == (f"ip saddr 10.88.0.5 jump {pr.MARK_MASQ}", "meta l4proto tcp dnat to 10.88.0.5:8080")
    assert rs.sets[pr.CLUSTER_IPS] == frozenset({"10.96.0.50"})


def test_no_endpoints_rejects() -> None:
    rs = pr.build_ruleset(CFG, [WEB], [])
    assert rs.maps[pr.NO_EP_SERVICES] == {"10.96.0.50 . tcp . 80": f"goto {pr.REJECT_CHAIN}"}
    assert rs.maps[pr.SERVICE_IPS] == {}
    assert not rs.service_chains()


def test_terminating_endpoints_are_the_fallback() -> None:
    sl = slice_("web", [{"name": "http", "port": 8080, "protocol": "TCP"}],
                [("10.88.0.5", {"ready": False, "serving": True, "terminating": True}),
                 ("10.88.0.6", {"ready": False, "serving": False, "terminating": True})])
    rs = pr.build_ruleset(CFG, [WEB], [sl])
    assert [c for c in rs.chains if c.startswith("endpoint-")] == [
        "endpoint-" + pr.endpoint_chain_base("default", "web", "tcp", "http", "10.88.0.5", 8080)]
    ready = slice_("web", [{"name": "http", "port": 8080, "protocol": "TCP"}],
                   [("10.88.0.5", {"ready": False, "serving": True, "terminating": True}),
                    ("10.88.0.7", {"ready": True})])
    rs2 = pr.build_ruleset(CFG, [WEB], [ready])
    assert [c.rsplit("__", 1)[1] for c in rs2.chains if c.startswith("endpoint-")] == ["10.88.0.7/8080"]


def test_node_port_and_load_balancer() -> None:
    svc = service("lb", "10.96.0.60", [{"port": 80, "protocol": "TCP", "nodePort": 30080}], type="LoadBalancer")
    svc["status"] = {"loadBalancer": {"ingress": [{"ip": "192.0.2.10", "ipMode": "VIP"}]}}
    sl = slice_("lb", [{"name": "", "port": 8080, "protocol": "TCP"}], [("10.88.0.5", {"ready": True})])
    rs = pr.build_ruleset(CFG, [svc], [sl])
    ext = "external-" + pr.service_ports(svc)[0].chain_base
    assert rs.maps[pr.SERVICE_NODEPORTS] == {"tcp . 30080": f"goto {ext}"}
    assert rs.maps[pr.SERVICE_IPS]["192.0.2.10 . tcp . 80"] == f"goto {ext}"
    assert rs.chains[ext] == (f"jump {pr.MARK_MASQ}", "goto service-" + pr.service_ports(svc)[0].chain_base)
    assert rs.chains[pr.SERVICES][1].startswith("fib daddr type local ip daddr != 127.0.0.0/8")


def test_external_traffic_policy_local_keeps_the_client_address() -> None:
    svc = service("np", "10.96.0.61", [{"port": 80, "protocol": "TCP", "nodePort": 30081}], type="NodePort",
                  externalTrafficPolicy="Local")
    sl = slice_("np", [{"name": "", "port": 80, "protocol": "TCP"}], [("10.88.0.5", {"ready": True})])
    rs = pr.build_ruleset(CFG, [svc], [sl])
    base = pr.service_ports(svc)[0].chain_base
    ext = rs.chains["external-" + base]
    assert ext[0].startswith("ip saddr 10.88.0.0/16 goto service-") and ext[-1] == f"goto local-{base}"
    assert f"jump {pr.MARK_MASQ}" not in ext[-1]
    assert rs.chains["local-" + base][-1].startswith("numgen random mod 1")


def test_session_affinity_sets() -> None:
    svc = service("web", "10.96.0.50", [{"name": "http", "port": 80, "protocol": "TCP"}],
                  sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})
    rs = pr.build_ruleset(CFG, [svc], [WEB_SLICE])
    assert set(rs.affinity.values()) == {60} and len(rs.affinity) == 2
    chain = rs.chains["service-" + pr.service_ports(svc)[0].chain_base]
    assert sum(r.startswith("ip saddr @affinity-") for r in chain) == 2
    ep = [v for k, v in rs.chains.items() if k.startswith("endpoint-")][0]
    assert ep[1].startswith("update @affinity-") and ep[1].endswith("{ ip saddr }")


def test_headless_external_name_and_skipped_vips_get_nothing() -> None:
    svcs = [service("h", "None", [{"port": 80, "protocol": "TCP"}]),
            {"metadata": {"namespace": "default", "name": "e"}, "spec": {"type": "ExternalName", "externalName": "x"}},
            service("dns", "10.96.0.10", [{"name": "dns", "port": 53, "protocol": "UDP"}])]
    cfg = pr.ProxyConfig(**{**CFG.__dict__, "skip_cluster_ips": ("10.96.0.10",)})
    rs = pr.build_ruleset(cfg, svcs, [])
    assert rs.maps[pr.SERVICE_IPS] == {} and rs.maps[pr.NO_EP_SERVICES] == {}


def test_nodeport_addresses_restrict_the_dispatch() -> None:
    cfg = pr.ProxyConfig(**{**CFG.__dict__, "nodeport_ips": ("10.88.0.1",)})
    rs = pr.build_ruleset(cfg, [], [])
    assert rs.chains[pr.SERVICES][1] == f"ip daddr @{pr.NODEPORT_IPS} meta l4proto . th dport vmap @{pr.SERVICE_NODEPORTS}"
    assert rs.sets[pr.NODEPORT_IPS] == frozenset({"10.88.0.1"})
    assert "delete set" not in pr.render_full(rs)
    assert f"delete set ip podbay-t {pr.NODEPORT_IPS}" in pr.render_full(pr.build_ruleset(CFG, [], []))


def test_full_render_is_one_table_and_cleans_up() -> None:
    rs = pr.build_ruleset(CFG, [WEB], [WEB_SLICE])
    script = pr.render_full(rs, {"chains": {"service-OLD-default/x/tcp/", "services"}, "sets": {"affinity-OLD"},
                                 "maps": set()})
    lines = script.splitlines()
    assert lines[0] == 'add table ip podbay-t { comment "rules for podbay" ; }'
    assert all(" ip podbay-t " in ln for ln in lines)
    assert "flush chain ip podbay-t service-OLD-default/x/tcp/" in lines
    assert "delete set ip podbay-t affinity-OLD" in lines
    assert "add rule ip podbay-t nat-prerouting jump services" in lines


def test_diff_touches_only_what_changed() -> None:
    old = pr.build_ruleset(CFG, [WEB], [WEB_SLICE])
    assert pr.render_diff(old, old) == ""
    one = slice_("web", [{"name": "http", "port": 8080, "protocol": "TCP"}], [("10.88.0.5", {"ready": True})])
    new = pr.build_ruleset(CFG, [WEB], [one])
    diff = pr.render_diff(old, new).splitlines()
    svc_chain = "service-" + pr.service_ports(WEB)[0].chain_base
    gone = "endpoint-" + pr.endpoint_chain_base("default", "web", "tcp", "http", "10.88.0.6", 8080)
    assert f"flush chain ip podbay-t {svc_chain}" in diff
    assert f"flush chain ip podbay-t {gone}" in diff
    assert not any("service-ips" in ln for ln in diff)
    assert pr.removed_chains(old, new) == {gone}
    assert pr.render_delete_chains("podbay-t", {gone}) == f"delete chain ip podbay-t {gone}\n"
    empty = pr.build_ruleset(CFG, [WEB], [])
    d2 = pr.render_diff(new, empty).splitlines()
    assert "delete element ip podbay-t service-ips { 10.96.0.50 . tcp . 80 }" in d2
    assert "add element ip podbay-t no-endpoint-services { 10.96.0.50 . tcp . 80 : goto reject-chain }" in d2
    assert d2.index("delete element ip podbay-t service-ips { 10.96.0.50 . tcp . 80 }") < d2.index(
        f"flush chain ip podbay-t {svc_chain}")


def test_udp_conntrack_cleanup() -> None:
    dns = service("dns", "10.96.0.53", [{"name": "dns", "port": 53, "protocol": "UDP"}])
    two = slice_("dns", [{"name": "dns", "port": 53, "protocol": "UDP"}],
                 [("10.88.0.5", {"ready": True}), ("10.88.0.6", {"ready": True})])
    one = slice_("dns", [{"name": "dns", "port": 53, "protocol": "UDP"}], [("10.88.0.5", {"ready": True})])
    a = pr.port_index(CFG, [dns], [two])
    b = pr.port_index(CFG, [dns], [one])
    assert pr.udp_stale_entries(a, b) == [
        pr.ConntrackFlush("udp", orig_dst="10.96.0.53", dst_nat="10.88.0.6")]
    none = pr.port_index(CFG, [dns], [])
    assert pr.udp_stale_entries(none, b) == [
        pr.ConntrackFlush("udp", orig_dst="10.96.0.53")]
