"""Payloads of configMap / secret / downwardAPI / projected volumes (pure)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from podbay.core.projection import (
    FileProjection,
    configmap_payload,
    downward_payload,
    format_map,
    plugin_for,
    projected_payload,
    secret_payload,
    validate_path,
)
from podbay.errors import PermanentError


def b64(s: str | bytes) -> str:
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


CM = {"metadata": {"name": "cm"}, "data": {"a": "alpha", "b": "beta"}, "binaryData": {"bin": b64(b"\x00\xff")}}
SECRET = {"metadata": {"name": "s"}, "data": {"user": b64("admin"), "pw": b64("hunter2")}}
POD: dict[str, Any] = {
    "metadata": {
        "name": "p1", "namespace": "ns", "uid": "u-1",
        "labels": {"zeta": "1", "app": 'say "hi"', "multi": "a\nb"},
        "annotations": {"builder": "bob"},
    },
    "spec": {"containers": [
        {"name": "c", "resources": {"limits": {"cpu": "250m", "memory": "64Mi"}, "requests": {"cpu": "100m"}}},
        {"name": "free"},
    ]},
}


# --- configMap -------------------------------------------------------------------------------------

def test_configmap_all_keys_with_default_mode_and_binary_data() -> None:
    p = configmap_payload({"name": "cm", "defaultMode": 0o400}, CM)
    assert p == {
        "a": FileProjection(b"alpha", 0o400),
        "b": FileProjection(b"beta", 0o400),
        "bin": FileProjection(b"\x00\xff", 0o400),
    }


def test_configmap_default_mode_argument_when_source_has_none() -> None:
    assert configmap_payload({"name": "cm"}, CM)["a"].mode == 0o644
    assert configmap_payload({"name": "cm"}, CM, 0o600)["a"].mode == 0o600


def test_configmap_items_map_key_to_path_with_item_mode() -> None:
    src = {"name": "cm", "defaultMode": 0o644, "items": [
        {"key": "a", "path": "dir/first", "mode": 0o400},
        {"key": "bin", "path": "raw"},
    ]}
    assert configmap_payload(src, CM) == {
        "dir/first": FileProjection(b"alpha", 0o400),
        "raw": FileProjection(b"\x00\xff", 0o644),
    }


def test_configmap_missing_object() -> None:
    with pytest.raises(PermanentError, match='^configmap "nope" not found$'):
        configmap_payload({"name": "nope"}, None)
    assert configmap_payload({"name": "nope", "optional": True}, None) == {}


def test_configmap_missing_key() -> None:
    src: dict[str, Any] = {"name": "cm", "items": [{"key": "zzz", "path": "z"}, {"key": "a", "path": "a"}]}
    with pytest.raises(PermanentError, match="^configmap references non-existent config key: zzz$"):
        configmap_payload(src, CM)
    assert set(configmap_payload({**src, "optional": True}, CM)) == {"a"}


def test_configmap_item_path_validation() -> None:
    with pytest.raises(PermanentError, match="must not contain '..'"):
        configmap_payload({"name": "cm", "items": [{"key": "a", "path": "x/../../etc"}]}, CM)


# --- secret ----------------------------------------------------------------------------------------

def test_secret_decodes_base64_and_items() -> None:
    assert secret_payload({"secretName": "s"}, SECRET) == {
        "user": FileProjection(b"admin", 0o644), "pw": FileProjection(b"hunter2", 0o644),
    }
    src = {"secretName": "s", "defaultMode": 0o440, "items": [{"key": "pw", "path": "p/w", "mode": 0o400}]}
    assert secret_payload(src, SECRET) == {"p/w": FileProjection(b"hunter2", 0o400)}


def test_secret_errors() -> None:
    with pytest.raises(PermanentError, match='^secret "gone" not found$'):
        secret_payload({"secretName": "gone"}, None)
    assert secret_payload({"secretName": "gone", "optional": True}, None) == {}
    with pytest.raises(PermanentError, match="^references non-existent secret key: k$"):
        secret_payload({"secretName": "s", "items": [{"key": "k", "path": "k"}]}, SECRET)
    with pytest.raises(PermanentError, match="illegal base64"):
        secret_payload({"secretName": "s"}, {"data": {"x": "!!!"}})


# --- downwardAPI -----------------------------------------------------------------------------------

def dapi(*items: dict[str, Any], mode: int | None = None) -> dict[str, Any]:
    src: dict[str, Any] = {"items": list(items)}
    if mode is not None:
        src["defaultMode"] = mode
    return src


def test_format_map_sorted_go_quoted_no_trailing_newline() -> None:
    assert format_map({"zeta": "1", "app": 'say "hi"', "multi": "a\nb"}) == (
        'app="say \\"hi\\""\nmulti="a\\nb"\nzeta="1"'
    )
    assert format_map({}) == ""


def test_downward_metadata_fields() -> None:
    p = downward_payload(dapi(
        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}},
        {"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}, "mode": 0o400},
        {"path": "uid", "fieldRef": {"fieldPath": "metadata.uid"}},
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
        {"path": "one", "fieldRef": {"fieldPath": "metadata.labels['zeta']"}},
        {"path": "absent", "fieldRef": {"fieldPath": "metadata.annotations['nope']"}},
        mode=0o600,
    ), POD)
    assert p["name"] == FileProjection(b"p1", 0o600)
    assert p["ns"] == FileProjection(b"ns", 0o400)
    assert p["uid"].data == b"u-1"
    assert p["labels"].data == b'app="say \\"hi\\""\nmulti="a\\nb"\nzeta="1"'
    assert p["annotations"].data == b'builder="bob"'
    assert p["one"].data == b"1"
    assert p["absent"].data == b""


def test_downward_resource_field_refs_with_divisor_and_allocatable() -> None:
    alloc = {"cpu": "4", "memory": "8Gi"}
    p = downward_payload(dapi(
        {"path": "cpu_limit", "resourceFieldRef": {"containerName": "c", "resource": "limits.cpu", "divisor": "1m"}},
        {"path": "cpu_cores", "resourceFieldRef": {"containerName": "c", "resource": "limits.cpu"}},
        {"path": "mem_mi", "resourceFieldRef": {"containerName": "c", "resource": "limits.memory", "divisor": "1Mi"}},
        {"path": "cpu_req", "resourceFieldRef": {"containerName": "c", "resource": "requests.cpu", "divisor": "1m"}},
        {"path": "mem_req", "resourceFieldRef": {"containerName": "c", "resource": "requests.memory"}},
        {"path": "free_mem", "resourceFieldRef": {"containerName": "free", "resource": "limits.memory"}},
        {"path": "free_cpu", "resourceFieldRef": {"containerName": "free", "resource": "limits.cpu"}},
    ), POD, node_allocatable=alloc)
    assert {k: v.data for k, v in p.items()} == {
        "cpu_limit": b"250", "cpu_cores": b"1",  # ceil(0.25 core)
        "mem_mi": b"64", "cpu_req": b"100", "mem_req": b"0",
        "free_mem": str(8 * 1024**3).encode(), "free_cpu": b"4",  # limits default to node allocatable
    }


def test_downward_errors_aggregate() -> None:
    with pytest.raises(PermanentError) as exc:
        downward_payload(dapi(
            {"path": "x", "fieldRef": {"fieldPath": "spec.nodeName"}},
            {"path": "y", "resourceFieldRef": {"containerName": "ghost", "resource": "limits.cpu"}},
        ), POD)
    assert str(exc.value) == "[unsupported fieldPath: spec.nodeName, container ghost not found]"


# --- projected -------------------------------------------------------------------------------------

def lookup(objs: dict[str, dict[str, Any]]) -> Any:
    return lambda name: objs.get(name)


def test_projected_combines_sources_later_wins() -> None:
    src = {"defaultMode": 0o440, "sources": [
        {"configMap": {"name": "cm", "items": [{"key": "a", "path": "shared"}, {"key": "b", "path": "cfg/b"}]}},
        {"secret": {"name": "s", "items": [{"key": "user", "path": "shared", "mode": 0o400}]}},
        {"downwardAPI": {"items": [{"path": "pod/name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
    ]}
    p = projected_payload(src, POD, lookup({"cm": CM}), lookup({"s": SECRET}))
    assert p == {
        "shared": FileProjection(b"admin", 0o400),
        "cfg/b": FileProjection(b"beta", 0o440),
        "pod/name": FileProjection(b"p1", 0o440),
    }


def test_projected_optional_and_errors() -> None:
    src = {"sources": [
        {"configMap": {"name": "missing", "optional": True}},
        {"secret": {"name": "gone"}},
        {"configMap": {"name": "cm", "items": [{"key": "nokey", "path": "x"}]}},
    ]}
    with pytest.raises(PermanentError) as exc:
        projected_payload(src, POD, lookup({"cm": CM}), lookup({}))
    assert str(exc.value) == '[secret "gone" not found, configmap references non-existent config key: nokey]'


def test_projected_service_account_token_needs_a_token_source() -> None:
    src = {"sources": [{"serviceAccountToken": {"path": "token"}}]}
    with pytest.raises(PermanentError, match="service account tokens are not available"):
        projected_payload(src, POD, lookup({}), lookup({}))


def test_projected_service_account_token_from_the_token_manager() -> None:
    asked: list[tuple[str, int]] = []

    def token(aud: str, seconds: int) -> str:
        asked.append((aud, seconds))
        return "jwt-for-" + (aud or "api")

    src = {"defaultMode": 0o644, "sources": [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
        {"serviceAccountToken": {"path": "vault/token", "audience": "vault", "expirationSeconds": 600}},
    ]}
    out = projected_payload(src, POD, lookup({}), lookup({}), 0o644, None, token)
    assert out["token"] == FileProjection(b"jwt-for-api", 0o644, None)
    assert out["vault/token"].data == b"jwt-for-vault"
    assert asked == [("", 3607), ("vault", 600)]


def test_projected_token_is_0600_and_owned_by_the_common_run_as_user() -> None:
    pod = {**POD, "spec": {"securityContext": {"runAsUser": 1000}, "containers": [
        {"name": "a"}, {"name": "b", "securityContext": {"runAsUser": 1000}}]}}
    src = {"defaultMode": 0o644, "sources": [{"serviceAccountToken": {"path": "token"}}]}
    out = projected_payload(src, pod, lookup({}), lookup({}), 0o644, None, lambda a, s: "t")
    assert out["token"] == FileProjection(b"t", 0o600, 1000)
    # Two different users: no common owner, the defaultMode stays (projected.collectData).
    pod["spec"]["containers"][1]["securityContext"]["runAsUser"] = 2000
    out = projected_payload(src, pod, lookup({}), lookup({}), 0o644, None, lambda a, s: "t")
    assert out["token"] == FileProjection(b"t", 0o644, None)
    # An fsGroup alone makes it 0600 too (SetVolumeOwnership then adds g+r).
    pod["spec"] = {"securityContext": {"fsGroup": 3000}, "containers": [{"name": "a"}]}
    out = projected_payload(src, pod, lookup({}), lookup({}), 0o644, None, lambda a, s: "t")
    assert out["token"] == FileProjection(b"t", 0o600, None)


# --- paths -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "msg"), [
    ("", "must not be empty"),
    ("/etc/passwd", "must be relative path"),
    ("..", "must not contain '..'"),
    ("a/../b", "must not contain '..'"),
    ("..data", "must not start with '..'"),
    ("..data/x", "must not start with '..'"),
    ("./..data", "must not start with '..'"),
    ("x" * 256, "filenames must be less than or equal to 255"),
])
def test_validate_path_rejects(path: str, msg: str) -> None:
    with pytest.raises(PermanentError, match=msg):
        validate_path(path)


def test_validate_path_cleans() -> None:
    assert validate_path("a//b/./c/") == "a/b/c"
    with pytest.raises(PermanentError):
        validate_path("..a")  # any leading component starting with '..' is reserved
    assert validate_path("a..b/c") == "a..b/c"


def test_plugin_for() -> None:
    assert plugin_for({"name": "v", "secret": {}}) == "kubernetes.io~secret"
    assert plugin_for({"name": "v", "projected": {"sources": []}}) == "kubernetes.io~projected"
    assert plugin_for({"name": "v", "emptyDir": {}}) is None
