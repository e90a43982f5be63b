"""Credential matching as the kubelet's keyring does it (cases from pkg/credentialprovider/keyring_test.go)."""

from __future__ import annotations

import base64
import json

import pytest

from podbay.images import keyring
from podbay.images.keyring import Credential, InvalidDockerConfig, Keyring


@pytest.mark.parametrize("glob,target,want", [
    ("*.kubernetes.io", "prefix.kubernetes.io", True),
    ("prefix.*.io", "prefix.kubernetes.io", True),
    ("prefix.kubernetes.*", "prefix.kubernetes.io", True),
    ("*-good.kubernetes.io", "prefix-good.kubernetes.io", True),
    ("*.kubernetes.io/blah", "prefix.kubernetes.io/blah", True),
    ("prefix.*.io/foo", "prefix.kubernetes.io/foo/bar", True),
    ("*.kubernetes.io:1111/blah", "prefix.kubernetes.io:1111/blah", True),
    ("prefix.*.io:1111/foo", "prefix.kubernetes.io:1111/foo/bar", True),
    ("quay.io/foo", "quay.io/foobar", True),            # the path is a string prefix
    ("*.kubernetes.io", "kubernetes.io", False),
    ("*.*.kubernetes.io", "prefix.kubernetes.io", False),
    ("*.*.kubernetes.io", "kubernetes.io", False),
    ("*kubernetes.io", "a.kubernetes.io", False),
    ("*.kubernetes.io", "a.b.kubernetes.io", False),
    ("prefix.kubernetes.io:1111", "prefix.kubernetes.io", False),
    ("prefix.kubernetes.io", "prefix.kubernetes.io:1111", False),
    ("*.kubernetes.io/foo", "prefix.kubernetes.io/bar", False),
    ("re*.io", "reg.io", True),
    ("reg[", "reg[", False),                          # not a URL: never matches (upstream skips the entry)
])
def test_urls_match(glob: str, target: str, want: bool) -> None:
    assert keyring.urls_match(glob, target) is want


def _kr(*locations: str) -> Keyring:
    kr = Keyring()
    kr.add({loc: Credential("u-" + loc, "p", "t") for loc in locations})
    return kr


def test_keys_are_normalised_and_reverse_sorted() -> None:
    kr = _kr("quay.io", "https://quay.io/foo", "http://quay.io/foo/bar", "https://quay.io/v2/foo/bar/baz")
    got = [c.username for c in kr.lookup("quay.io/foo/bar/baz/x")]
    assert got == ["u-https://quay.io/v2/foo/bar/baz", "u-http://quay.io/foo/bar", "u-https://quay.io/foo",
                   "u-quay.io"]
    assert [c.username for c in kr.lookup("quay.io/other")] == ["u-quay.io"]


def test_glob_hosts() -> None:
    kr = _kr("https://*.docker.io", "*.example.com:8080/team")
    assert kr.lookup("world.docker.io/foo/bar")
    assert not kr.lookup("world.mesos.org/foo/bar")
    assert kr.lookup("reg.example.com:8080/team/app")
    assert not kr.lookup("reg.example.com/team/app")


def test_docker_hub_fallback_only_for_hub_images() -> None:
    kr = _kr("https://index.docker.io/v1/")
    for repo in ("docker.io/library/busybox", "google/docker-registry", "ubuntu", "index.docker.io/library/x"):
        assert [c.username for c in kr.lookup(repo)] == ["u-https://index.docker.io/v1/"], repo
    assert kr.lookup("world.mesos.org/foo/bar") == []
    assert kr.lookup("localhost:5000/foo") == []
    assert _kr("docker.io").lookup("docker.io/library/busybox")   # a docker.io key matches directly


@pytest.mark.parametrize("repo,want", [
    ("foo/bar", True), ("docker.io/library/foo", True), ("index.docker.io/foo", True), ("library/foo", True),
    ("ubuntu", True), ("localhost:5000/foo", False), ("quay.io/foo", False), ("foo.bar.io/baz", False), ("", False),
])
def test_is_default_registry(repo: str, want: bool) -> None:
    assert keyring.is_default_registry(repo) is want


def _secret(type_: str, key: str, doc: object, name: str = "regcred") -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": "default"}, "type": type_,
            "data": {key: base64.b64encode(json.dumps(doc).encode()).decode()}}


def _auth(user: str, pw: str, pad: bool = True) -> str:
    b = base64.b64encode(f"{user}:{pw}".encode()).decode()
    return b if pad else b.rstrip("=")


def test_secret_types_and_auth_field() -> None:
    cfgjson = _secret(keyring.DOCKER_CONFIG_JSON, ".dockerconfigjson",
                      {"auths": {"http://localhost:5000": {"auth": _auth("user", "password")}}})
    cfg = _secret(keyring.DOCKER_CFG, ".dockercfg", {"reg.io": {"username": "a", "password": "b", "auth": _auth("c", "d", False)}})
    opaque = _secret("Opaque", ".dockerconfigjson", {"auths": {"reg.io": {"auth": _auth("x", "y")}}})
    kr = keyring.pod_keyring([cfgjson, cfg, opaque])
    [c] = kr.lookup("localhost:5000/pause")
    assert (c.username, c.password, c.source) == ("user", "password", "secret default/regcred")
    assert [(c.username, c.password) for c in kr.lookup("reg.io/app")] == [("c", "d")]   # auth wins, unpadded ok


def test_invalid_secrets_are_skipped_and_errors_are_upstreams() -> None:
    bad_auth = _secret(keyring.DOCKER_CONFIG_JSON, ".dockerconfigjson", {"auths": {"r.io": {"auth": _auth("nocolon", "")[:-4]}}})
    not_json = {"type": keyring.DOCKER_CONFIG_JSON, "data": {".dockerconfigjson": base64.b64encode(b"{").decode()}}
    missing = {"type": keyring.DOCKER_CONFIG_JSON, "data": {}}
    assert keyring.pod_keyring([bad_auth, not_json, missing]).lookup("r.io/x") == []
    with pytest.raises(InvalidDockerConfig, match="must be formatted as base64"):
        keyring.decode_auth(base64.b64encode(b"nocolon").decode())


def test_node_file_both_formats_and_union_order() -> None:
    node = Keyring()
    node.add(keyring.parse_docker_config(json.dumps({"auths": {"r.io": {"username": "node", "password": "n"}}}), "f"))
    legacy = keyring.parse_docker_config(json.dumps({"old.io": {"auth": _auth("o", "p")}}), "f")
    assert legacy["old.io"].username == "o"
    pod = _kr("r.io")
    got = keyring.union_lookup([pod, node], "r.io/app")
    assert [c.username for c in got] == ["u-r.io", "node"]   # pod secrets first


def test_credentials_never_show_the_password() -> None:
    c = Credential("me", "hunter2", "s")
    assert "hunter2" not in repr(c) and "hunter2" not in c.fingerprint
    assert c.fingerprint == Credential("me", "hunter2").fingerprint != Credential("me", "other").fingerprint
