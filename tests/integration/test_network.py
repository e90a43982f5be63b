"""Real CNI bridge + pinned namespaces: two pods on a private bridge talk to each other, then all is gone."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from podbay.errors import NetworkFailure, RuntimeFailure
from podbay.network import cniconf, namespaces
from podbay.network.cni import CniNetwork
from podbay.sys.mount import mounts_under

CNI_DIR = Path("/usr/lib/cni")

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not (CNI_DIR / "bridge").exists() or not shutil.which("busybox"),
                       reason="needs CNI plugins and busybox"),
]


def sh(*argv: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)


def nat_rules_for(network: str) -> list[str]:
    out = sh("iptables", "-t", "nat", "-S").stdout
    return [line for line in out.splitlines() if f'name: \\"{network}\\"' in line or f'name: "{network}"' in line]


def tcp_roundtrip(server_ns: Path, client_ns: Path, ip: str, port: int) -> str:
    server = subprocess.Popen(
        ["nsenter", f"--net={server_ns}", "busybox", "sh", "-c", f"echo pong | busybox nc -l -p {port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(50):
            r = sh("nsenter", f"--net={client_ns}", "busybox", "nc", "-w", "2", ip, str(port), timeout=5)
            if "pong" in r.stdout:
                return r.stdout.strip()
            time.sleep(0.05)
        return ""
    finally:
        server.kill()
        server.wait(timeout=5)


def test_two_pods_on_a_private_bridge(tmp_path: Path) -> None:
    tag = "".join(random.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=4))
    bridge = f"pbt{tag}"
    network = f"pbt-{tag}"
    subnet = f"10.231.{random.randint(1, 254)}.0/24"
    prefix = subnet.rsplit(".", 1)[0] + "."
    forward_before = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    net = CniNetwork(tmp_path / "net.d", [CNI_DIR], tmp_path / "cni", bridge=bridge, subnet=subnet,
                     network_name=network)
    net.ensure_config()
    pods = {"a": tmp_path / "ns" / "a", "b": tmp_path / "ns" / "b"}
    ids = {k: f"pbt{tag}{k}" * 4 for k in pods}
    try:
        pinned = {k: namespaces.pin(d, f"pod-{k}") for k, d in pods.items()}
        assert all(namespaces.is_pinned(d) for d in pods.values())
        # pin is idempotent: same files, no extra mounts
        n_mounts = len(mounts_under(str(tmp_path)))
        assert namespaces.pin(pods["a"], "pod-a") == pinned["a"]
        assert len(mounts_under(str(tmp_path))) == n_mounts == 6

        ips: dict[str, str] = {}
        for k, p in pinned.items():
            t0 = time.perf_counter()
            res = net.add(ids[k], p.net, args={"K8S_POD_NAMESPACE": "default", "K8S_POD_NAME": k,
                                              "K8S_POD_UID": f"uid-{k}"})
            print(f"CNI ADD {k}: {(time.perf_counter() - t0) * 1000:.1f} ms")
            assert net.result(ids[k]) == res
            (ip,) = CniNetwork.pod_ips(res)
            assert ip.startswith(prefix)
            ips[k] = ip
            addr = sh("nsenter", f"--net={p.net}", "ip", "-o", "-4", "addr", "show", "dev", "eth0").stdout
            assert f"inet {ip}/24" in addr
            lo = sh("nsenter", f"--net={p.net}", "ip", "-o", "link", "show", "lo").stdout
            assert "UP" in lo.split(">")[0]
            assert sh("nsenter", f"--uts={p.uts}", "hostname").stdout.strip() == f"pod-{k}"
        assert ips["a"] != ips["b"]
        assert nat_rules_for(network), "ipMasq rules expected while pods are up"

        ping = sh("nsenter", f"--net={pinned['a'].net}", "busybox", "ping", "-c", "1", "-W", "2", ips["b"])
        assert ping.returncode == 0, ping.stdout + ping.stderr
        assert tcp_roundtrip(pinned["b"].net, pinned["a"].net, ips["b"], 18080) == "pong"

        for k, p in pinned.items():
            t0 = time.perf_counter()
            net.delete(ids[k], p.net)
            print(f"CNI DEL {k}: {(time.perf_counter() - t0) * 1000:.1f} ms")
            assert net.result(ids[k]) is None
            assert sh("nsenter", f"--net={p.net}", "ip", "link", "show", "eth0").returncode != 0
        assert nat_rules_for(network) == []
        # IPs released by host-local
        ipam = tmp_path / "cni" / "ipam" / network
        assert not any(f.name.startswith(prefix) for f in ipam.iterdir())
    finally:
        for d in pods.values():
            namespaces.unpin(d)
        # second DEL: netns gone and cache gone -> still succeeds
        for k in pods:
            net.delete(ids[k], pods[k] / "net")
        net.remove_bridge()
        Path("/proc/sys/net/ipv4/ip_forward").write_text(forward_before)

    assert not any(d.exists() for d in pods.values())
    assert sh("ip", "link", "show", bridge).returncode != 0
    assert mounts_under(str(tmp_path)) == []


def test_pin_recovers_partial_state_and_cleans_up_on_failure(tmp_path: Path) -> None:
    d = tmp_path / "ns"
    d.mkdir()
    (d / "net").touch()
    assert sh("unshare", f"--net={d / 'net'}", "true").returncode == 0  # a crash after pinning only net
    assert not namespaces.is_pinned(d)
    p = namespaces.pin(d, "recovered")
    assert namespaces.is_pinned(d) and len(mounts_under(str(d))) == 3
    assert sh("nsenter", f"--uts={p.uts}", "hostname").stdout.strip() == "recovered"
    namespaces.unpin(d)
    namespaces.unpin(d)
    assert not d.exists() and mounts_under(str(tmp_path)) == []

    bad = tmp_path / "bad"
    with pytest.raises(RuntimeFailure):
        namespaces.pin(bad, "x" * 100)  # sethostname(2) refuses > 64 chars
    assert not bad.exists() and mounts_under(str(tmp_path)) == []


def test_failed_chain_releases_the_bridge_ip(tmp_path: Path) -> None:
    tag = "".join(random.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=4))
    network, bridge = f"pbf-{tag}", f"pbf{tag}"
    subnet = f"10.232.{random.randint(1, 254)}.0/24"
    conf = cniconf.default_conflist(network, bridge, subnet, str(tmp_path / "cni" / "ipam"))
    conf["plugins"].append({"type": "tuning", "sysctl": {"net.nope.does_not_exist": "1"}})
    (tmp_path / "net.d").mkdir()
    (tmp_path / "net.d" / "10-f.conflist").write_text(json.dumps(conf))
    net = CniNetwork(tmp_path / "net.d", [CNI_DIR], tmp_path / "cni", bridge=bridge)
    forward_before = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    d = tmp_path / "ns"
    try:
        p = namespaces.pin(d, "f")
        with pytest.raises(NetworkFailure, match='plugin type="tuning"'):
            net.add(f"pbf{tag}" * 8, p.net)
        assert sh("nsenter", f"--net={p.net}", "ip", "link", "show", "eth0").returncode != 0
        ipam = tmp_path / "cni" / "ipam" / network
        assert not any(f.name.startswith("10.232.") for f in ipam.iterdir())
        assert nat_rules_for(network) == []
        assert net.result(f"pbf{tag}" * 8) is None
    finally:
        namespaces.unpin(d)
        net.remove_bridge()
        Path("/proc/sys/net/ipv4/ip_forward").write_text(forward_before)
    assert mounts_under(str(tmp_path)) == []


CRASH_PLUGIN = """#!/bin/sh
# Pass prevResult through, then SIGKILL the caller: the agent dies between ADD and caching the result.
conf=$(cat)
if [ "$CNI_COMMAND" = ADD ]; then
    printf '%s' "$conf" | {python} -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["prevResult"]))'
    kill -9 $PPID
fi
"""


def test_add_after_a_crash_between_add_and_cache_succeeds(tmp_path: Path) -> None:
    """Issue 11 item 15 with the real bridge plugin: without the intent the second ADD failed with
    "container veth name provided (eth0) already exists" and its rollback tore the first one down."""
    import sys

    tag = "".join(random.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=4))
    network, bridge = f"pbc-{tag}", f"pbc{tag}"
    subnet = f"10.233.{random.randint(1, 254)}.0/24"
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    crash = plugins / f"crash{tag}"
    crash.write_text(CRASH_PLUGIN.format(python=sys.executable))
    crash.chmod(0o755)
    conf = cniconf.default_conflist(network, bridge, subnet, str(tmp_path / "cni" / "ipam"))
    conf_dir = tmp_path / "net.d"
    conf_dir.mkdir()
    (conf_dir / "10-c.conflist").write_text(json.dumps({**conf, "plugins": [*conf["plugins"],
                                                                           {"type": crash.name}]}))
    forward_before = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    d = tmp_path / "ns"
    cid = f"pbc{tag}" * 8
    try:
        p = namespaces.pin(d, "c")
        child = (f"from pathlib import Path; from podbay.network.cni import CniNetwork; "
                 f"CniNetwork(Path({str(conf_dir)!r}), [Path({str(plugins)!r}), Path({str(CNI_DIR)!r})], "
                 f"Path({str(tmp_path / 'cni')!r}), bridge={bridge!r}).add({cid!r}, {str(p.net)!r})")
        res = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60,
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")})
        assert res.returncode == -9, res.stderr
        assert sh("nsenter", f"--net={p.net}", "ip", "link", "show", "eth0").returncode == 0   # ADD happened
        (conf_dir / "10-c.conflist").write_text(json.dumps(conf))                               # no crash now
        net = CniNetwork(conf_dir, [plugins, CNI_DIR], tmp_path / "cni", bridge=bridge)
        result = net.add(cid, p.net)
        (ip,) = CniNetwork.pod_ips(result)
        addr = sh("nsenter", f"--net={p.net}", "ip", "-o", "-4", "addr", "show", "dev", "eth0").stdout
        assert f"inet {ip}/24" in addr
        ipam = tmp_path / "cni" / "ipam" / network
        assert [f.name for f in ipam.iterdir() if f.name.startswith("10.233.")] == [ip]   # the first IP went
        net.delete(cid, p.net)
        assert sh("nsenter", f"--net={p.net}", "ip", "link", "show", "eth0").returncode != 0
        assert not any(f.name.startswith("10.233.") for f in ipam.iterdir())
    finally:
        namespaces.unpin(d)
        sh("ip", "link", "del", bridge)
        Path("/proc/sys/net/ipv4/ip_forward").write_text(forward_before)
    assert mounts_under(str(tmp_path)) == []
