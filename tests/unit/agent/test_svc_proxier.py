"""The proxier against the in-memory netfilter: full then incremental syncs, rate limit, stale
chains, failures, conntrack, cleanup."""

from __future__ import annotations

import asyncio
from typing import Any

from podbay.agent.proxier import Proxier
from podbay.core.services import proxyrules as pr
from podbay.network.nftables import FakeNetfilter

CFG = pr.ProxyConfig(table="podbay-t", pod_cidr="10.88.0.0/16", service_cidr="10.96.0.0/12", node_name="n1")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def svc(proto: str = "TCP") -> dict[str, Any]:
    return {"metadata": {"namespace": "default", "name": "web"},
            "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.50",
                     "ports": [{"name": "p", "port": 80, "protocol": proto}]}}


def slc(ips: list[str], proto: str = "TCP") -> dict[str, Any]:
    return {"metadata": {"namespace": "default", "name": "web-a", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4", "ports": [{"name": "p", "port": 8080, "protocol": proto}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips]}


def test_first_sync_is_full_then_incremental_and_stale_chains_go_later() -> None:
    nf, clock = FakeNetfilter(), Clock()
    p = Proxier(nf, CFG, clock=clock)
    p.update([svc()], [slc(["10.88.0.5", "10.88.0.6"])])
    assert p.sync()
    assert nf.scripts[-1].startswith("add table ip podbay-t")
    assert p.full_syncs == 1
    p.update([svc()], [slc(["10.88.0.5"])])
    assert p.sync()
    assert "add table" not in nf.scripts[-1] and p.full_syncs == 1
    gone = [c for c in nf.tables["podbay-t"].chains if c.endswith("10.88.0.6/8080")]
    assert gone  # flushed, not yet deleted
    clock.t += 1.5
    p.delete_stale_chains()
    assert nf.scripts[-1] == f"delete chain ip podbay-t {gone[0]}\n"
    assert not [c for c in nf.tables["podbay-t"].chains if c.endswith("10.88.0.6/8080")]


def test_restart_rebuilds_over_a_leftover_table() -> None:
    nf = FakeNetfilter()
    Proxier(nf, CFG).update([svc()], [slc(["10.88.0.5", "10.88.0.6"])])
    first = Proxier(nf, CFG)
    first.update([svc()], [slc(["10.88.0.5", "10.88.0.6"])])
    first.sync()
    # A new agent process: its first sync is a full one that flushes what it does not know.
    second = Proxier(nf, CFG)
    second.update([svc()], [slc(["10.88.0.5"])])
    second.sync()
    old_chain = [c for c in nf.tables["podbay-t"].chains if c.endswith("10.88.0.6/8080")][0]
    assert f"flush chain ip podbay-t {old_chain}" in nf.scripts[-1]
    assert second._stale  # and deletes it a second later


def test_failure_forces_a_full_resync() -> None:
    nf = FakeNetfilter()
    p = Proxier(nf, CFG)
    p.update([svc()], [slc(["10.88.0.5"])])
    p.sync()
    nf.fail_next = "Error: Could not process rule"
    p.update([svc()], [slc(["10.88.0.6"])])
    assert not p.sync() and "Could not process rule" in p.last_error
    assert p.sync() and nf.scripts[-1].startswith("add table") and p.full_syncs == 2


def test_udp_endpoint_removal_flushes_conntrack() -> None:
    nf = FakeNetfilter()
    p = Proxier(nf, CFG)
    p.update([svc("UDP")], [slc(["10.88.0.5", "10.88.0.6"], "UDP")])
    p.sync()
    p.update([svc("UDP")], [slc(["10.88.0.5"], "UDP")])
    p.sync()
    assert pr.ConntrackFlush("udp", orig_dst="10.96.0.50", dst_nat="10.88.0.6") in nf.flushed


def test_rate_limit_allows_a_burst_then_spaces_syncs() -> None:
    clock = Clock()
    p = Proxier(FakeNetfilter(), CFG, min_sync_period=1.0, burst=2, clock=clock)
    assert p._take_token(clock.t) == 0.0
    assert p._take_token(clock.t) == 0.0
    assert 0.99 < p._take_token(clock.t) <= 1.0
    clock.t += 0.5
    assert 0.49 < p._take_token(clock.t) <= 0.5


def test_run_loop_programs_changes_and_stops() -> None:
    async def go() -> tuple[int, int]:
        nf = FakeNetfilter()
        p = Proxier(nf, CFG, min_sync_period=0.01)
        stop = asyncio.Event()
        task = asyncio.create_task(p.run(stop))
        p.update([svc()], [slc(["10.88.0.5"])])
        for _ in range(200):
            await asyncio.sleep(0.01)
            if p.syncs >= 1 and not p.pending():
                break
        p.update([svc()], [slc(["10.88.0.5", "10.88.0.7"])])
        for _ in range(200):
            await asyncio.sleep(0.01)
            if p.syncs >= 2:
                break
        stop.set()
        await asyncio.wait_for(task, 5)
        return p.syncs, p.full_syncs

    syncs, full = asyncio.run(go())
    assert syncs >= 2 and full == 1


def test_cleanup_removes_the_table() -> None:
    nf = FakeNetfilter()
    p = Proxier(nf, CFG)
    p.update([], [])
    p.sync()
    assert "podbay-t" in nf.tables
    assert p.cleanup() and "podbay-t" not in nf.tables


def test_a_snapshot_that_changes_no_rule_spends_no_sync() -> None:
    """kube-proxy syncs for pending Service/EndpointSlice changes only: pod events that change no
    rule (the same slices again, a not-ready endpoint added) must not use up the burst, so the
    change that matters (an endpoint turning terminating) is programmed at once."""
    nf, clock = FakeNetfilter(), Clock()
    p = Proxier(nf, CFG, min_sync_period=1.0, burst=2, clock=clock)
    p.update([svc()], [slc(["10.88.0.5", "10.88.0.6"])])
    assert p.pending() and p.sync()
    scripts = len(nf.scripts)
    for _ in range(5):
        p.update([svc()], [slc(["10.88.0.5", "10.88.0.6"])])
        assert not p.pending()
    not_ready = slc(["10.88.0.5", "10.88.0.6"])
    not_ready["endpoints"].append({"addresses": ["10.88.0.7"], "conditions": {"ready": False}})
    p.update([svc()], [not_ready])
    assert not p.pending() and len(nf.scripts) == scripts
    assert [e.ip for e in next(iter(p._applied_ports.values()))[1]] == ["10.88.0.5", "10.88.0.6", "10.88.0.7"]
    # One token was spent (the first sync): the terminating change syncs without waiting.
    terminating = slc(["10.88.0.5", "10.88.0.6"])
    terminating["endpoints"][1]["conditions"] = {"ready": False, "serving": True, "terminating": True}
    p.update([svc()], [terminating])
    assert p.pending() and p._take_token(clock.t) == 0.0
    assert p.sync()
    assert p._applied is not None
    rules = " ".join(r for c, rs in p._applied.chains.items() if c.startswith("service-") for r in rs)
    assert "10.88.0.5/8080" in rules and "10.88.0.6/8080" not in rules
    assert not p._dirty   # (its endpoint chain is deleted a second later)


def test_an_update_while_dirty_is_never_dropped() -> None:
    """A snapshot equal to the applied one but arriving while another is pending still syncs (the
    pending one may already be half programmed)."""
    nf = FakeNetfilter()
    p = Proxier(nf, CFG)
    p.update([svc()], [slc(["10.88.0.5"])])
    p.sync()
    p.update([svc()], [slc(["10.88.0.5", "10.88.0.6"])])
    p.update([svc()], [slc(["10.88.0.5"])])   # back to what is applied, but a sync is pending
    assert p.pending()
    assert p.sync() and not p.pending()
    assert p._applied == pr.build_ruleset(CFG, [svc()], [slc(["10.88.0.5"])])
