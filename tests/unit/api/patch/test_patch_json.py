"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902) as kube-apiserver answers them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podbay.api.patch import PatchError, apply_patch
from podbay.api.patch.merge import create_merge_patch, merge_values

MERGE = "application/merge-patch+json"
JSONP = "application/json-patch+json"
CM = "io.k8s.api.core.v1.ConfigMap"
LIVE = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1"}},
        "data": {"k": "v", "n": "x"}}


def patch(ct: str, body: Any) -> dict[str, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return apply_patch(ct, LIVE, raw, CM)


@pytest.mark.parametrize(("body", "expected"), [
    ({"metadata": {"labels": {"b": "2"}}}, {"a": "1", "b": "2"}),  # kubectl label
    ({"metadata": {"labels": {"a": None}}}, {}),
    ({"metadata": {"labels": None}}, None),
])
def test_merge_patch_labels(body: dict[str, Any], expected: Any) -> None:
    out = patch(MERGE, body)
    assert out["metadata"].get("labels") == expected
    assert LIVE["metadata"]["labels"] == {"a": "1"}


def test_merge_patch_replaces_lists_and_prunes_nulls_in_new_values() -> None:
    out = apply_patch(MERGE, {"a": [1, 2], "m": {"x": 1}}, b'{"a":[3],"n":{"p":null,"q":1}}', CM)
    assert out == {"a": [3], "m": {"x": 1}, "n": {"q": 1}}


@pytest.mark.parametrize("body", [b"null", b'"x"', b"12", b"{bad", b""])
def test_merge_patch_that_is_no_object_is_invalid_json_patch(body: bytes) -> None:
    with pytest.raises(PatchError) as e:
        patch(MERGE, body)
    assert (e.value.code, e.value.reason, e.value.message) == (400, "BadRequest", "Invalid JSON Patch")


def test_merge_patch_with_an_array_replaces_the_document_and_fails_to_decode() -> None:
    with pytest.raises(PatchError) as e:
        patch(MERGE, [1])
    assert e.value.code == 422 and e.value.reason == "Invalid"
    assert e.value.details and e.value.details["causes"][0]["field"] == "patch"


def test_json_patch_operations() -> None:
    out = patch(JSONP, [{"op": "add", "path": "/metadata/labels/b", "value": "2"},
                        {"op": "remove", "path": "/data/n"},
                        {"op": "replace", "path": "/data/k", "value": "w"},
                        {"op": "test", "path": "/data/k", "value": "w"},
                        {"op": "copy", "from": "/data/k", "path": "/data/c"},
                        {"op": "move", "from": "/data/c", "path": "/data/m"}])
    assert out["metadata"]["labels"] == {"a": "1", "b": "2"}
    assert out["data"] == {"k": "w", "m": "w"}


def test_json_patch_replace_of_a_missing_member_adds_it_as_json_patch_v4_does() -> None:
    assert patch(JSONP, [{"op": "replace", "path": "/data/new", "value": "1"}])["data"]["new"] == "1"


@pytest.mark.parametrize("ops", [
    [{"op": "test", "path": "/data/k", "value": "nope"}],
    [{"op": "remove", "path": "/data/missing"}],
    [{"op": "add", "path": "/no/such/parent", "value": 1}],
    [{"op": "frobnicate", "path": "/data"}],
    [{"op": "replace", "path": "/data/k"}],
])
def test_json_patch_failures_answer_the_generic_422(ops: list[dict[str, Any]]) -> None:
    with pytest.raises(PatchError) as e:
        patch(JSONP, ops)
    assert (e.value.code, e.value.reason) == (422, "Invalid")
    assert e.value.message == "the server rejected our request due to an error in our request"


@pytest.mark.parametrize(("body", "message"), [
    ({"op": "add"}, "json: cannot unmarshal object into Go value of type jsonpatch.Patch"),
    (["x"], "json: cannot unmarshal string into Go value of type jsonpatch.Operation"),
    (b"[", "unexpected end of JSON input"),
])
def test_json_patch_decode_errors_are_400(body: Any, message: str) -> None:
    with pytest.raises(PatchError) as e:
        patch(JSONP, body)
    assert (e.value.code, e.value.message) == (400, message)


def test_json_patch_size_limit() -> None:
    with pytest.raises(PatchError) as e:
        patch(JSONP, [{"op": "test", "path": "/kind", "value": "ConfigMap"}] * 10001)
    assert e.value.code == 413 and e.value.reason == "RequestEntityTooLarge"
    assert patch(JSONP, b"null") == LIVE


KEYS = st.sampled_from(["a", "b", "c"])
LEAF = st.one_of(st.integers(-3, 3), st.text("xy", max_size=2), st.booleans(),
                 st.lists(st.integers(0, 2), max_size=2))
DOCS = st.recursive(LEAF, lambda inner: st.dictionaries(KEYS, inner, max_size=3), max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, DOCS, max_size=3), st.dictionaries(KEYS, DOCS, max_size=3))
def test_a_computed_merge_patch_gives_back_the_target(a: dict[str, Any], b: dict[str, Any]) -> None:
    p = create_merge_patch(a, b)
    assert merge_values(a, p) == b
    assert apply_patch(MERGE, a, json.dumps(p).encode(), CM) == b
