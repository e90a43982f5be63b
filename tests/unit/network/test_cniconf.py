from __future__ import annotations

import base64
import json

import pytest

from podbay.errors import NetworkFailure
from podbay.network import cniconf


def test_default_conflist_shape() -> None:
    conf = cniconf.default_conflist("podbay", "podbay0", "10.88.0.0/16", "/r/cni/ipam")
    assert conf == {
        "cniVersion": "1.0.0",
        "name": "podbay",
        "plugins": [{
            "type": "bridge", "bridge": "podbay0", "isGateway": True, "ipMasq": True, "hairpinMode": True,
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": "10.88.0.0/16", "gateway": "10.88.0.1"}]],
                "routes": [{"dst": "0.0.0.0/0"}],
                "dataDir": "/r/cni/ipam",
            },
        }, {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True}],
    }


def test_parse_conflist_and_single_conf() -> None:
    raw = json.dumps({"cniVersion": "0.4.0", "name": "n", "plugins": [{"type": "bridge"}, {"type": "portmap"}]})
    net = cniconf.parse_config(raw.encode(), "x.conflist")
    assert (net.name, net.cni_version, [p["type"] for p in net.plugins]) == ("n", "0.4.0", ["bridge", "portmap"])
    assert net.raw == raw.encode()
    single = cniconf.parse_config(b'{"cniVersion":"0.3.1","name":"s","type":"bridge","bridge":"b"}', "s.conf")
    assert single.name == "s" and single.plugins[0]["bridge"] == "b" and len(single.plugins) == 1


@pytest.mark.parametrize("raw, fragment", [
    (b"{nope", "error parsing"),
    (b"[]", "not a JSON object"),
    (b'{"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}', "missing network name"),
    (b'{"cniVersion":"1.0.0","name":"n","plugins":[]}', "no plugins"),
    (b'{"cniVersion":"1.0.0","name":"n","plugins":[{"bridge":"x"}]}', "plugin without a type"),
])
def test_parse_config_errors(raw: bytes, fragment: str) -> None:
    with pytest.raises(NetworkFailure, match=fragment):
        cniconf.parse_config(raw, "bad.conflist")


def test_first_config_file_is_lexical_over_cni_extensions() -> None:
    assert cniconf.first_config_file(["99-z.conflist", "20-b.conf", "README", "10-a.json"]) == "10-a.json"
    assert cniconf.first_config_file(["README", "x.txt"]) is None


def test_plugin_stdin_injects_name_version_prev_and_runtime_config() -> None:
    plugin = {"type": "portmap", "capabilities": {"portMappings": True, "bandwidth": False}, "snat": True}
    out = cniconf.plugin_stdin(plugin, "net", "1.0.0", {"ips": []},
                               {"portMappings": [{"hostPort": 80}], "bandwidth": {"x": 1}, "mac": "m"})
    assert out == {"type": "portmap", "snat": True, "name": "net", "cniVersion": "1.0.0", "prevResult": {"ips": []},
                   "runtimeConfig": {"portMappings": [{"hostPort": 80}]}}
    assert "capabilities" in plugin  # input untouched
    first = cniconf.plugin_stdin({"type": "bridge"}, "net", "1.0.0", None, {})
    assert first == {"type": "bridge", "name": "net", "cniVersion": "1.0.0"}


def test_cni_args() -> None:
    pairs = cniconf.cni_args_pairs(cniconf.pod_cni_args("default", "web", "u-1", "cid"))
    assert cniconf.cni_args_env(pairs) == (
        "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=cid;K8S_POD_UID=u-1"
    )
    assert cniconf.cni_args_pairs({}) == [("IgnoreUnknown", "1")]
    with pytest.raises(ValueError):
        cniconf.cni_args_pairs({"A": "b;c"})


def test_cache_record_matches_libcni_cached_info() -> None:
    net = cniconf.parse_config(b'{"cniVersion":"1.0.0","name":"podbay","plugins":[{"type":"bridge"}]}', "f")
    result = {"cniVersion": "1.0.0", "ips": [{"address": "10.88.0.2/16"}]}
    rec = cniconf.cache_record(net, "cid", "eth0", "/run/podbay/ns/u/net", [("IgnoreUnknown", "1")], {}, result)
    assert rec == {
        "kind": "cniCacheV1", "containerId": "cid", "config": base64.b64encode(net.raw).decode(),
        "ifName": "eth0", "networkName": "podbay", "netns": "/run/podbay/ns/u/net",
        "cniArgs": [["IgnoreUnknown", "1"]], "result": result,
    }
    assert cniconf.cache_key("podbay", "cid", "eth0") == "podbay-cid-eth0"
    back_net, back_result = cniconf.parse_cache(json.dumps(rec).encode())
    assert back_net == net and back_result == result
    assert cniconf.parse_cache(b"garbage") == (None, None)
    assert cniconf.parse_cache(b'{"kind":"other"}') == (None, None)


def test_plugin_error() -> None:
    out = json.dumps({"cniVersion": "1.0.0", "code": 11, "msg": "try again", "details": "busy"})
    assert cniconf.plugin_error(out, "", 1) == (11, "try again; busy")
    assert cniconf.plugin_error("", "boom\n", 2) == (None, "boom")
    assert cniconf.plugin_error("", "", 2) == (None, "exit status 2")


def test_pod_ips() -> None:
    res = {"ips": [{"address": "10.88.0.5/16", "gateway": "10.88.0.1"}, {"address": "fd00::5/64"}]}
    assert cniconf.pod_ips(res) == ["10.88.0.5", "fd00::5"]
    assert cniconf.pod_ips(None) == [] and cniconf.pod_ips({}) == []


def test_host_port_mappings() -> None:
    pod = {"spec": {"containers": [{"name": "c", "ports": [
        {"containerPort": 80, "hostPort": 8080, "protocol": "TCP"}, {"containerPort": 53, "protocol": "UDP"},
        {"containerPort": 53, "hostPort": 5353, "protocol": "UDP", "hostIP": "127.0.0.1"}]}]}}
    assert cniconf.host_port_mappings(pod) == [
        {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"},
        {"hostPort": 5353, "containerPort": 53, "protocol": "udp", "hostIP": "127.0.0.1"}]
