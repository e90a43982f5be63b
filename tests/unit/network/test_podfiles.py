from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from podbay.errors import PermanentError
from podbay.network import namespaces, podfiles

HEADER = (
    "# Kubernetes-managed hosts file.\n"
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "fe00::0\tip6-mcastprefix\n"
    "fe00::1\tip6-allnodes\n"
    "fe00::2\tip6-allrouters\n"
)


def pod(name: str = "web", ns: str = "default", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec}


def test_hosts_plain() -> None:
    assert podfiles.hosts_file(pod(), ["10.88.0.2"]) == HEADER + "10.88.0.2\tweb\n"


def test_hosts_subdomain_and_aliases() -> None:
    p = pod("web-0", "team", hostname="db", subdomain="svc1",
            hostAliases=[{"ip": "1.2.3.4", "hostnames": ["foo.local", "bar"]}, {"ip": "::5", "hostnames": ["v6"]}])
    assert podfiles.hosts_file(p, ["10.88.0.2", "fd00::2"]) == HEADER + (
        "10.88.0.2\tdb.svc1.team.svc.cluster.local\tdb\n"
        "fd00::2\tdb.svc1.team.svc.cluster.local\tdb\n"
        "\n# Entries added by HostAliases.\n"
        "1.2.3.4\tfoo.local\tbar\n"
        "::5\tv6\n"
    )


def test_hosts_host_network() -> None:
    p = pod(hostNetwork=True, hostAliases=[{"ip": "1.1.1.1", "hostnames": ["x"]}])
    assert podfiles.hosts_file(p, [], node_hosts="127.0.0.1 localhost\n") == (
        "# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n"
        "\n# Entries added by HostAliases.\n1.1.1.1\tx\n"
    )
    with pytest.raises(ValueError):
        podfiles.hosts_file(p, [])


def test_hostname_rules() -> None:
    assert namespaces.hostname_for(pod("web")) == "web"
    assert namespaces.hostname_for(pod("web", hostname="h1")) == "h1"
    long = "a" * 60 + "-.-b" + "c" * 10
    assert namespaces.hostname_for(pod(long)) == "a" * 60
    assert podfiles.kernel_hostname(pod("w", hostname="h", subdomain="s", setHostnameAsFQDN=True)) == \
        "h.s.default.svc.cluster.local"
    assert podfiles.kernel_hostname(pod("w", setHostnameAsFQDN=True)) == "w"  # no subdomain: no FQDN
    p = pod("w", "ns", hostname="h" * 40, subdomain="s" * 10, setHostnameAsFQDN=True)
    with pytest.raises(PermanentError) as ei:
        podfiles.kernel_hostname(p)
    fqdn = "h" * 40 + "." + "s" * 10 + ".ns.svc.cluster.local"
    assert str(ei.value) == (f"Failed to construct FQDN from pod hostname and cluster domain, FQDN {fqdn} is too "
                             f"long (64 characters is the max, {len(fqdn)} characters requested)")
    assert podfiles.hostname_file("web") == "web\n"


HOST_RESOLV = """# generated
domain example.com
search old.example
search corp.example. lab.example .
nameserver 127.0.0.53
nameserver 10.0.0.2 ; comment
nameserver ::1
nameserver 10.0.0.3
options ndots:1 edns0
options timeout:3
"""


@pytest.mark.parametrize("policy", ["ClusterFirst", "Default", None])
def test_resolv_host_fallback_drops_loopback(policy: str | None) -> None:
    p = pod(dnsPolicy=policy) if policy else pod()
    assert podfiles.resolv_conf(HOST_RESOLV, p) == (
        "search corp.example lab.example\n"
        "nameserver 10.0.0.2\n"
        "nameserver 10.0.0.3\n"
        "options ndots:1 edns0 timeout:3\n"
    )


def test_resolv_only_loopback_gives_no_nameserver() -> None:
    assert podfiles.resolv_conf("nameserver 127.0.0.53\noptions edns0\n", pod()) == "options edns0\n"
    assert podfiles.resolv_conf("", pod()) == ""


def test_resolv_dns_config_merge_and_limits() -> None:
    p = pod(dnsConfig={"nameservers": ["10.0.0.2", "1.1.1.1", "8.8.8.8"], "searches": ["a.b", "corp.example"],
                       "options": [{"name": "ndots", "value": "5"}, {"name": "rotate"}, {"name": "edns0"}]})
    assert podfiles.resolv_conf(HOST_RESOLV, p) == (
        "search corp.example lab.example a.b\n"
        "nameserver 10.0.0.2\n"
        "nameserver 10.0.0.3\n"
        "nameserver 1.1.1.1\n"
        "options ndots:5 edns0 timeout:3 rotate\n"
    )


def test_resolv_policy_none_uses_only_dns_config() -> None:
    p = pod(dnsPolicy="None", dnsConfig={"nameservers": ["1.2.3.4"], "searches": ["x.y"],
                                         "options": [{"name": "ndots", "value": "2"}]})
    assert podfiles.resolv_conf(HOST_RESOLV, p) == "search x.y\nnameserver 1.2.3.4\noptions ndots:2\n"


def test_write_pod_files(tmp_path: Path) -> None:
    resolv = tmp_path / "host-resolv"
    resolv.write_text("nameserver 10.0.0.2\n")
    pod_dir = tmp_path / "pod"
    files = podfiles.write_pod_files(pod_dir, pod("web"), ["10.88.0.9"], resolv)
    assert files.hosts.read_text() == HEADER + "10.88.0.9\tweb\n"
    assert files.hostname.read_text() == "web\n"
    assert files.resolv.read_text() == "nameserver 10.0.0.2\n"
    for f in (files.hosts, files.hostname, files.resolv):
        assert stat.S_IMODE(f.stat().st_mode) == 0o644
    assert sorted(p.name for p in pod_dir.iterdir()) == ["etc-hostname", "etc-hosts", "resolv.conf"]
    # rewrite (e.g. after the IP changed) replaces the content in place
    podfiles.write_pod_files(pod_dir, pod("web"), ["10.88.0.10"], tmp_path / "absent")
    assert files.hosts.read_text().endswith("10.88.0.10\tweb\n") and files.resolv.read_text() == ""


def test_unpin_and_is_pinned_on_plain_dirs(tmp_path: Path) -> None:
    assert not namespaces.is_pinned(tmp_path)
    namespaces.unpin(tmp_path / "never-made")  # idempotent on a missing dir


# -- ClusterFirst with cluster DNS (kubelet GetPodDNS) ---------------------------------------------------

HOST_RESOLV_CF = "nameserver 192.0.2.53\nsearch corp.example\noptions edns0 timeout:2\n"


def _dns_pod(policy: str | None = None, host_network: bool = False, dns_config: dict | None = None) -> dict:
    spec: dict = {}
    if policy:
        spec["dnsPolicy"] = policy
    if host_network:
        spec["hostNetwork"] = True
    if dns_config:
        spec["dnsConfig"] = dns_config
    return {"metadata": {"name": "p", "namespace": "shop"}, "spec": spec}


def test_cluster_first_uses_the_cluster_dns() -> None:
    from podbay.network.podfiles import resolv_conf

    assert resolv_conf(HOST_RESOLV_CF, _dns_pod(), ["10.96.0.10"]) == (
        "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
        "nameserver 10.96.0.10\n"
        "options ndots:5\n")


def test_cluster_first_on_host_network_is_default_but_with_host_net_is_cluster() -> None:
    from podbay.network.podfiles import resolv_conf

    assert resolv_conf(HOST_RESOLV_CF, _dns_pod(host_network=True), ["10.96.0.10"]).startswith(
        "search corp.example\nnameserver 192.0.2.53\n")
    assert "nameserver 10.96.0.10" in resolv_conf(HOST_RESOLV_CF, _dns_pod("ClusterFirstWithHostNet", True), ["10.96.0.10"])


def test_default_and_none_ignore_the_cluster_dns() -> None:
    from podbay.network.podfiles import resolv_conf

    assert "10.96.0.10" not in resolv_conf(HOST_RESOLV_CF, _dns_pod("Default"), ["10.96.0.10"])
    none = _dns_pod("None", dns_config={"nameservers": ["1.1.1.1"], "searches": ["a.b"],
                                        "options": [{"name": "ndots", "value": "2"}]})
    assert resolv_conf(HOST_RESOLV_CF, none, ["10.96.0.10"]) == "search a.b\nnameserver 1.1.1.1\noptions ndots:2\n"


def test_dns_config_is_appended_to_cluster_first() -> None:
    from podbay.network.podfiles import resolv_conf

    pod = _dns_pod(dns_config={"nameservers": ["1.1.1.1"], "searches": ["extra.example"],
                               "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]})
    assert resolv_conf(HOST_RESOLV_CF, pod, ["10.96.0.10"]) == (
        "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example extra.example\n"
        "nameserver 10.96.0.10\nnameserver 1.1.1.1\n"
        "options ndots:2 edns0\n")
