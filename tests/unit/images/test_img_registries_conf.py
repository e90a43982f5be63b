"""podbay's registries.conf: parsing, prefix matching, mirrors, insecure defaults, rejected keys."""

from __future__ import annotations

import pytest

from podbay.images.registries_conf import ConfigError, Endpoint, builder, is_loopback, match_prefix, parse

CONF = """
certs-dir = "/etc/podbay/certs.d"

[[registry]]
prefix = "docker.io"
location = "127.0.0.1:5000"

[[registry]]
prefix = "docker.io/library/redis"
location = "cache.example.com/hub/redis"
insecure = true

[[registry]]
prefix = "quay.io"
mirror-by-digest-only = true
[[registry.mirror]]
location = "mirror.example.com/quay"

[[registry]]
prefix = "ghcr.io"
[[registry.mirror]]
location = "m1.example.com/ghcr"
pull-from-mirror = "tag-only"
[[registry.mirror]]
location = "localhost:6000/ghcr"
pull-from-mirror = "digest-only"

[[registry]]
prefix = "*.internal.example"
insecure = true

[[registry]]
prefix = "evil.example.com"
blocked = true
"""
D = "sha256:" + "a" * 64


def test_remap_longest_prefix_and_defaults() -> None:
    c = parse(CONF, "/etc/podbay/registries.conf")
    assert c.certs_dir == "/etc/podbay/certs.d"
    assert c.endpoints("docker.io/library/busybox:1.35", digested=False) == [
        Endpoint("127.0.0.1:5000", "127.0.0.1:5000/library/busybox:1.35", insecure=True)]   # loopback: HTTP ok
    assert c.endpoints("docker.io/library/redis:7", digested=False) == [
        Endpoint("cache.example.com", "cache.example.com/hub/redis:7", insecure=True)]
    # no table: the reference as is, TLS verified unless loopback
    assert c.endpoints("registry.k8s.io/pause:3.9", digested=False) == [
        Endpoint("registry.k8s.io", "registry.k8s.io/pause:3.9", insecure=False)]
    assert c.endpoints("localhost:5000/x:1", digested=False)[0].insecure


def test_mirrors_by_kind_of_reference() -> None:
    c = parse(CONF)
    assert [e.name for e in c.endpoints("quay.io/a/b:1", digested=False)] == ["quay.io/a/b:1"]
    assert [e.name for e in c.endpoints(f"quay.io/a/b@{D}", digested=True)] == [
        f"mirror.example.com/quay/a/b@{D}", f"quay.io/a/b@{D}"]
    tag = c.endpoints("ghcr.io/o/app:v1", digested=False)
    assert [(e.name, e.mirror, e.insecure) for e in tag] == [("m1.example.com/ghcr/o/app:v1", True, False),
                                                             ("ghcr.io/o/app:v1", False, False)]
    dig = c.endpoints(f"ghcr.io/o/app@{D}", digested=True)
    assert [(e.host, e.insecure) for e in dig] == [("localhost:6000", True), ("ghcr.io", False)]


def test_wildcard_and_blocked() -> None:
    c = parse(CONF, "/etc/podbay/registries.conf")
    [e] = c.endpoints("a.b.internal.example/x:1", digested=False)
    assert e.name == "a.b.internal.example/x:1" and e.insecure
    with pytest.raises(ConfigError, match="registry evil.example.com is blocked in /etc/podbay/registries.conf"):
        c.endpoints("evil.example.com/x:1", digested=False)


@pytest.mark.parametrize("ref,prefix,want", [
    ("docker.io/library/busybox:1", "docker.io", 9),
    ("docker.io", "docker.io", 9),
    ("docker.iox/a", "docker.io", -1),
    ("example.com:5000/a", "example.com", 11),     # containers/image's own quirk, kept
    ("a.example.com/x", "*.example.com", 13),
    ("example.com/x", "*.example.com", -1),
    ("x.com/a.example.com/y", "*.example.com", -1),
])
def test_match_prefix(ref: str, prefix: str, want: int) -> None:
    assert match_prefix(ref, prefix) == want


@pytest.mark.parametrize("text,err", [
    ('unqualified-search-registries = ["docker.io"]', "unqualified-search-registries: not supported by podbay "
                                                      "(short names always resolve to docker.io under Kubernetes)"),
    ("[aliases]\nx = 'docker.io/x'", "aliases: not supported by podbay"),
    ('[[registry]]\nprefix = "a.io"\nfoo = 1', "registry[0].foo: not supported by podbay"),
    ('[[registry]]\nprefix = "a.io"\ninsecure = "yes"', "registry[0].insecure: must be true or false"),
    ('[[registry]]\nprefix = "*.a.io"\nlocation = "b.io"', "location: must not be set with a wildcarded prefix"),
    ('[[registry]]\nprefix = "a.io"\nlocation = "https://b.io"', "without a scheme"),
    ('[[registry]]\nprefix = "a.io"\n[[registry.mirror]]\nlocation = "m"\npull-from-mirror = "x"',
     "pull-from-mirror: must be one of all, digest-only, tag-only"),
    ('[[registry]]\nprefix = "a.io"\n[[registry]]\nprefix = "a.io"', "defined more than once"),
    ("[[registry", "registries.conf: "),
])
def test_errors_name_the_key(text: str, err: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse(text)
    assert err in str(exc.value)


def test_loopback_and_builder_round_trip() -> None:
    assert all(is_loopback(h) for h in ("localhost", "localhost:5000", "127.0.0.1:80", "127.5.0.1", "[::1]:5000"))
    assert not any(is_loopback(h) for h in ("10.0.0.1:5000", "registry.local", "[::2]:1"))
    text = builder().registry("docker.io", "127.0.0.1:5000").registry("127.0.0.1:6000", "127.0.0.1:6000",
                                                                      insecure=False).text("/c")
    c = parse(text)
    assert c.certs_dir == "/c" and [r.prefix for r in c.registries] == ["docker.io", "127.0.0.1:6000"]
    assert not c.endpoints("127.0.0.1:6000/x:1", digested=False)[0].insecure   # said explicitly: TLS verified
