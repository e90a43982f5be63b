"""Protobuf request bodies: the ones kubectl 1.33 and 1.37 really sent (captured by a logging
test server that answered 415, to which neither fell back to JSON), and hand-built wire data."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from podbay.api.patch import PatchError, decode_protobuf
from podbay.api.patch.protobuf import MESSAGES

DATA = Path(__file__).parent / "data"


def body(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.mark.parametrize("version", ["k133", "k137"])
def test_kubectl_create_configmap(version: str) -> None:
    # kubectl create configmap cm1 --from-literal=a=b --from-file=bin=<"bin\0\1">
    assert decode_protobuf(body(f"{version}-create-configmap-cm1.pb")) == {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm1"},
        "data": {"a": "b", "bin": "bin\x00\x01"}}
    assert decode_protobuf(body(f"{version}-n-kube-system-create.pb")) == {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cm2", "namespace": "kube-system"}, "data": {"x": "y"}}


@pytest.mark.parametrize("version", ["k133", "k137"])
def test_kubectl_create_secrets(version: str) -> None:
    assert decode_protobuf(body(f"{version}-create-secret-generic.pb")) == {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1"},
        "data": {"pw": base64.b64encode(b"hunter2").decode()}, "type": "Opaque"}
    tls = decode_protobuf(body(f"{version}-create-secret-tls.pb"))
    assert tls["type"] == "kubernetes.io/tls" and sorted(tls["data"]) == ["tls.crt", "tls.key"]
    assert base64.b64decode(tls["data"]["tls.crt"]).startswith(b"-----BEGIN CERTIFICATE-----")


@pytest.mark.parametrize("version", ["k133", "k137"])
def test_kubectl_create_namespace_serviceaccount_token(version: str) -> None:
    assert decode_protobuf(body(f"{version}-create-namespace-n1.pb")) == {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n1"}, "spec": {},
        "status": {}}
    assert decode_protobuf(body(f"{version}-create-serviceaccount-sa1.pb")) == {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa1"}}
    # kubectl create token sa1 --audience=api --duration=10m
    assert decode_protobuf(body(f"{version}-create-token-sa1.pb")) == {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "metadata": {},
        "spec": {"audiences": ["api"], "expirationSeconds": 600}, "status": {}}


# --- hand-built wire data ---------------------------------------------------------------------

def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def ld(num: int, payload: bytes) -> bytes:
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def vi(num: int, n: int) -> bytes:
    return varint(num << 3) + varint(n)


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    tm = ld(1, api_version.encode()) + ld(2, kind.encode())
    return b"k8s\x00" + ld(1, tm) + ld(2, raw) + ld(3, b"") + ld(4, b"")


def test_pointer_zero_values_are_kept_and_plain_zeros_dropped() -> None:
    meta = ld(1, b"x") + ld(2, b"") + vi(7, 0) + ld(8, b"") + vi(10, 0)
    meta += ld(11, ld(1, b"k") + ld(2, b"v"))
    meta += ld(13, ld(1, b"ReplicaSet") + ld(3, b"rs") + ld(4, b"u") + ld(5, b"apps/v1")
               + vi(6, 1))
    meta += ld(8, vi(1, 1700000000))
    cm = ld(1, meta) + vi(4, 0) + ld(3, ld(1, b"b") + ld(2, b"\xff\x00"))
    assert decode_protobuf(envelope("v1", "ConfigMap", cm)) == {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "x", "deletionGracePeriodSeconds": 0, "labels": {"k": "v"},
                     "ownerReferences": [{"kind": "ReplicaSet", "name": "rs", "uid": "u",
                                          "apiVersion": "apps/v1", "controller": True}],
                     "creationTimestamp": "2023-11-14T22:13:20Z"},
        "immutable": False, "binaryData": {"b": "/wA="}}


def test_eviction_with_delete_options_and_negative_numbers() -> None:
    opts = vi(1, -1) + ld(2, ld(1, b"uid-1")) + ld(4, b"Foreground") + ld(5, b"All")
    ev = ld(1, ld(1, b"p") + ld(3, b"default")) + ld(2, opts)
    assert decode_protobuf(envelope("policy/v1", "Eviction", ev)) == {
        "apiVersion": "policy/v1", "kind": "Eviction",
        "metadata": {"name": "p", "namespace": "default"},
        "deleteOptions": {"gracePeriodSeconds": -1, "preconditions": {"uid": "uid-1"},
                          "propagationPolicy": "Foreground", "dryRun": ["All"]}}


@pytest.mark.parametrize(("raw", "message"), [
    (b"{}", "the body does not start with the Kubernetes protobuf magic number"),
    (b"k8s\x00\x0a\x05\x0a", "truncated length-delimited field"),
    (b"k8s\x00" + b"\x0b", "unsupported wire type 3"),
])
def test_malformed_bodies_are_400(raw: bytes, message: str) -> None:
    with pytest.raises(PatchError) as e:
        decode_protobuf(raw)
    assert e.value.code == 400 and e.value.message.endswith(message)


def test_unknown_fields_are_refused_not_ignored() -> None:
    with pytest.raises(PatchError) as e:
        decode_protobuf(envelope("v1", "ConfigMap", ld(1, ld(1, b"x")) + ld(9, b"?")))
    assert e.value.code == 400
    assert e.value.message == ("failed to decode the protobuf body: field 9 of ConfigMap is not "
                               "supported by podbay")


def test_kinds_without_a_table_are_415() -> None:
    with pytest.raises(PatchError) as e:
        decode_protobuf(envelope("apps/v1", "Deployment", b""))
    assert (e.value.code, e.value.reason) == (415, "UnsupportedMediaType")
    assert "send application/json" in e.value.message


def test_table_is_consistent() -> None:
    for name, fields in MESSAGES.items():
        for num, (json_name, typ, _keep) in fields.items():
            inner = typ.strip("[]{}").split(":")[-1]
            assert inner in MESSAGES or inner in ("s", "b", "i", "B", "d", "Time", "FieldsV1"), (
                name, num, json_name, typ)
