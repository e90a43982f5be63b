"""CniNetwork against fake plugins (no root): chain order, prevResult threading, env, cache, rollback."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from podbay.errors import NetworkFailure
from podbay.network.cni import CniNetwork

FAKE = """#!{python}
import json, os, sys
conf = json.load(sys.stdin)
name = os.path.basename(sys.argv[0])
env = {{k: v for k, v in os.environ.items() if k.startswith("CNI_")}}
with open(os.environ["FAKE_CNI_LOG"], "a") as f:
    f.write(json.dumps({{"plugin": name, "env": env, "stdin": conf}}) + "\\n")
cmd = env["CNI_COMMAND"]
if conf.get("fail" + cmd):
    print(json.dumps({{"cniVersion": "1.0.0", "code": 11, "msg": "no luck", "details": name}}))
    sys.exit(1)
if cmd == "ADD":
    res = conf.get("prevResult") or {{"cniVersion": conf["cniVersion"], "interfaces": [], "ips": []}}
    res["interfaces"].append({{"name": name + ":" + env["CNI_IFNAME"]}})
    if "ip" in conf:
        res["ips"].append({{"address": conf["ip"], "interface": 0}})
    print(json.dumps(res))
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    plugins = tmp_path / "bin"
    plugins.mkdir()
    for name in ("loopback", "first", "second"):
        p = plugins / name
        p.write_text(FAKE.format(python=sys.executable))
        p.chmod(0o755)
    log = tmp_path / "log.jsonl"
    log.touch()
    monkeypatch.setenv("FAKE_CNI_LOG", str(log))
    return {"tmp": tmp_path, "bin": plugins, "log": log}


def calls(log: Path) -> list[dict[str, Any]]:
    out = [json.loads(line) for line in log.read_text().splitlines()]
    log.write_text("")
    return out


def write_conf(d: Path, plugins: list[dict[str, Any]], name: str = "podbay") -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / "50-test.conflist").write_text(json.dumps({"cniVersion": "1.0.0", "name": name, "plugins": plugins}))


def make(env: dict[str, Path]) -> CniNetwork:
    return CniNetwork(env["tmp"] / "net.d", [env["tmp"] / "missing", env["bin"]], env["tmp"] / "cni")


def test_ensure_config_writes_default_once(env: dict[str, Path]) -> None:
    net = make(env)
    loaded = net.ensure_config()
    conf_file = env["tmp"] / "net.d" / "10-podbay.conflist"
    assert loaded.name == "podbay" and loaded.plugins[0]["type"] == "bridge"
    assert loaded.plugins[0]["ipam"]["dataDir"] == str(env["tmp"] / "cni" / "ipam")
    assert stat.S_IMODE(conf_file.stat().st_mode) == 0o644
    # an operator's config that sorts first wins, and nothing is rewritten
    (env["tmp"] / "net.d" / "05-mine.conf").write_text('{"cniVersion":"0.4.0","name":"mine","type":"first"}')
    assert net.ensure_config().name == "mine"
    assert sorted(os.listdir(env["tmp"] / "net.d")) == ["05-mine.conf", "10-podbay.conflist"]


def test_load_config_without_files_is_not_ready(env: dict[str, Path]) -> None:
    with pytest.raises(NetworkFailure, match="no networks found"):
        make(env).load_config()


def test_add_threads_prev_result_and_caches(env: dict[str, Path]) -> None:
    write_conf(env["tmp"] / "net.d", [{"type": "first", "ip": "10.9.0.2/24"},
                                      {"type": "second", "capabilities": {"mac": True}}])
    net = make(env)
    args = {"K8S_POD_NAMESPACE": "ns1", "K8S_POD_NAME": "p", "K8S_POD_UID": "u1"}
    res = net.add("cid1", "/run/x/net", args=args, capability_args={"mac": "aa:bb"})
    assert res["interfaces"] == [{"name": "first:eth0"}, {"name": "second:eth0"}]
    assert CniNetwork.pod_ips(res) == ["10.9.0.2"]
    # lo is brought up concurrently with the chain: only the chain's own order is fixed.
    all_calls = calls(env["log"])
    assert [(c["plugin"], c["env"]["CNI_COMMAND"], c["env"]["CNI_IFNAME"]) for c in all_calls
            if c["plugin"] == "loopback"] == [("loopback", "ADD", "lo")]
    log = [c for c in all_calls if c["plugin"] != "loopback"]
    assert [(c["plugin"], c["env"]["CNI_COMMAND"], c["env"]["CNI_IFNAME"]) for c in log] == [
        ("first", "ADD", "eth0"), ("second", "ADD", "eth0")]
    assert log[0]["env"] == {
        "CNI_COMMAND": "ADD", "CNI_CONTAINERID": "cid1", "CNI_NETNS": "/run/x/net", "CNI_IFNAME": "eth0",
        "CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=p;K8S_POD_UID=u1",
        "CNI_PATH": f"{env['tmp'] / 'missing'}:{env['bin']}",
    }
    assert "prevResult" not in log[0]["stdin"]
    assert log[0]["stdin"]["name"] == "podbay" and log[0]["stdin"]["cniVersion"] == "1.0.0"
    assert log[1]["stdin"]["prevResult"]["interfaces"] == [{"name": "first:eth0"}]
    assert log[1]["stdin"]["runtimeConfig"] == {"mac": "aa:bb"} and "capabilities" not in log[1]["stdin"]

    cache = env["tmp"] / "cni" / "results" / "podbay-cid1-eth0"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    rec = json.loads(cache.read_text())
    assert rec["kind"] == "cniCacheV1" and rec["containerId"] == "cid1" and rec["ifName"] == "eth0"
    assert rec["netns"] == "/run/x/net" and rec["result"] == res and rec["capabilityArgs"] == {"mac": "aa:bb"}
    assert rec["cniArgs"][0] == ["IgnoreUnknown", "1"]
    assert net.result("cid1") == res and net.result("other") is None


def test_delete_reverse_with_cached_result_and_idempotent(env: dict[str, Path]) -> None:
    write_conf(env["tmp"] / "net.d", [{"type": "first", "ip": "10.9.0.2/24"}, {"type": "second"}])
    net = make(env)
    res = net.add("cid1", "/run/x/net", args={"K8S_POD_NAME": "p"})
    calls(env["log"])
    # config changes after ADD: DEL still tears down what the cache says was set up
    write_conf(env["tmp"] / "net.d", [{"type": "second"}])
    net.delete("cid1", "/run/x/net")
    log = calls(env["log"])
    assert [(c["plugin"], c["env"]["CNI_COMMAND"]) for c in log] == [("second", "DEL"), ("first", "DEL")]
    assert all(c["stdin"]["prevResult"] == res for c in log)
    # not a live netns -> plugins get an empty CNI_NETNS (they then only release IPAM)
    assert all(c["env"]["CNI_NETNS"] == "" for c in log)
    assert log[0]["env"]["CNI_ARGS"] == "IgnoreUnknown=1;K8S_POD_NAME=p"
    assert net.result("cid1") is None
    net.delete("cid1", None)  # cache gone: DEL without prevResult still succeeds
    log = calls(env["log"])
    assert [c["plugin"] for c in log] == ["second"] and "prevResult" not in log[0]["stdin"]


def test_add_failure_rolls_back_and_reports_cni_error(env: dict[str, Path]) -> None:
    write_conf(env["tmp"] / "net.d", [{"type": "first"}, {"type": "second", "failADD": True}])
    net = make(env)
    with pytest.raises(NetworkFailure) as ei:
        net.add("cid2", "/run/x/net")
    assert ei.value.code == 11
    assert str(ei.value) == 'plugin type="second" name="podbay" failed (add): no luck; second'
    all_calls = calls(env["log"])
    assert [(c["plugin"], c["env"]["CNI_COMMAND"]) for c in all_calls if c["plugin"] == "loopback"] == [
        ("loopback", "ADD")]
    log = [c for c in all_calls if c["plugin"] != "loopback"]
    assert [(c["plugin"], c["env"]["CNI_COMMAND"]) for c in log] == [
        ("first", "ADD"), ("second", "ADD"), ("second", "DEL"), ("first", "DEL")]
    assert log[2]["stdin"]["prevResult"]["interfaces"] == [{"name": "first:eth0"}]
    assert not (env["tmp"] / "cni" / "results" / "podbay-cid2-eth0").exists()


def test_missing_plugin_and_failing_del(env: dict[str, Path]) -> None:
    write_conf(env["tmp"] / "net.d", [{"type": "nope"}])
    with pytest.raises(NetworkFailure, match="failed to find plugin 'nope'") as ei:
        make(env).add("cid3", "/run/x/net")
    assert ei.value.code == 50
    write_conf(env["tmp"] / "net.d", [{"type": "first", "failDEL": True}])
    net = make(env)
    net.add("cid4", "/run/x/net")
    with pytest.raises(NetworkFailure, match=r"failed \(del\): no luck"):
        net.delete("cid4", None)
    assert net.result("cid4") is not None  # kept so that teardown can be retried


def test_delete_uses_cache_when_config_is_gone(env: dict[str, Path]) -> None:
    write_conf(env["tmp"] / "net.d", [{"type": "first"}])
    net = make(env)
    net.add("cid5", "/run/x/net")
    calls(env["log"])
    (env["tmp"] / "net.d" / "50-test.conflist").unlink()
    net.delete("cid5", None)
    assert [c["plugin"] for c in calls(env["log"])] == ["first"]
    with pytest.raises(NetworkFailure, match="no networks found"):
        net.delete("cid5", None)
