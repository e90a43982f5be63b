"""Strategic merge patch: upstream's scenarios (strategicpatch patch_test.go, re-encoded on a test
schema shaped like its MergeItem), real Pod/Deployment/Node schemas, and what kubectl sends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podbay.api.patch import PatchError, apply_patch
from podbay.api.patch.merge import create_merge_patch, merge_values
from podbay.api.patch.smp import strategic_merge_patch

SMP = "application/strategic-merge-patch+json"


def _item() -> dict[str, Any]:
    item: dict[str, Any] = {"type": "object", "properties": {}}
    merging = {"type": "array", "items": item, "x-kubernetes-patch-strategy": "merge",
               "x-kubernetes-patch-merge-key": "name"}
    p = item["properties"]
    p.update({
        "name": {"type": "string"}, "value": {"type": "string"}, "other": {"type": "string"},
        "mergingList": merging, "mergeItemPtr": dict(merging),
        "nonMergingList": {"type": "array", "items": item},
        "mergingIntList": {"type": "array", "items": {"type": "integer"},
                           "x-kubernetes-patch-strategy": "merge"},
        "nonMergingIntList": {"type": "array", "items": {"type": "integer"}},
        "simpleMap": {"type": "object", "additionalProperties": {"type": "string"}},
        "replacingItem": {"type": "object", "x-kubernetes-patch-strategy": "replace"},
        "retainKeysMergingList": {"type": "array", "items": item,
                                  "x-kubernetes-patch-strategy": "merge,retainKeys",
                                  "x-kubernetes-patch-merge-key": "name"},
    })
    p["retainKeysMap"] = {"type": "object", "x-kubernetes-patch-strategy": "retainKeys",
                          "properties": {k: p[k] for k in ("name", "value", "other", "simpleMap",
                                                           "mergingIntList", "mergingList",
                                                           "nonMergingList")}}
    return item


ITEM = _item()


def N(*names: Any) -> list[dict[str, Any]]:  # noqa: N802 - short builder for lists of {name: x}
    return [{"name": n} for n in names]


CASES: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ("union of scalars in a merging list",
     {"mergingIntList": [1, 2]}, {"mergingIntList": [2, 3]}, {"mergingIntList": [1, 2, 3]}),
    ("$patch: delete on a nested map empties it",
     {"simpleMap": {"key1": "1", "key2": "1"}}, {"simpleMap": {"$patch": "delete"}},
     {"simpleMap": {}}),
    ("$patch: replace alone in a merging list clears it",
     {"mergingList": N(1, 2)}, {"mergingList": [{"$patch": "replace"}]}, {"mergingList": []}),
    ("$patch: replace on the object keeps only the patch",
     {"name": "1", "value": "1"}, {"other": "a", "$patch": "replace"}, {"other": "a"}),
    ("deleting one of duplicated entries deletes all of them",
     {"mergingList": [*N(1, 1), {"name": 2, "value": "a"}, *N(3, 3)]},
     {"mergingList": [{"name": 1, "$patch": "delete"}, {"name": 3, "$patch": "delete"}]},
     {"mergingList": [{"name": 2, "value": "a"}]}),
    ("retainKeys map without the directive merges",
     {"retainKeysMap": {"name": "foo"}}, {"retainKeysMap": {"value": "bar"}},
     {"retainKeysMap": {"name": "foo", "value": "bar"}}),
    ("null deletes a field of a retainKeys map",
     {"retainKeysMap": {"name": "foo", "value": "a"}}, {"retainKeysMap": {"value": None}},
     {"retainKeysMap": {"name": "foo"}}),
    ("patch order wins in a merging list",
     {"mergingList": [{"name": 1}, {"name": 2, "value": "b"}, {"name": 3}]},
     {"mergingList": [{"name": 3, "value": "c"}, {"name": 1, "value": "a"},
                      {"name": 2, "other": "x"}]},
     {"mergingList": [{"name": 3, "value": "c"}, {"name": 1, "value": "a"},
                      {"name": 2, "value": "b", "other": "x"}]}),
    ("server-only items keep their place relative to patched ones",
     {"mergingList": [{"name": 1}, {"name": 2, "value": "b"}, {"name": 3}]},
     {"mergingList": [{"name": 3, "value": "c"}, {"name": 1, "value": "a"}]},
     {"mergingList": [{"name": 2, "value": "b"}, {"name": 3, "value": "c"},
                      {"name": 1, "value": "a"}]}),
    ("patch order of scalars with a server-only one",
     {"mergingIntList": [1, 2, 3]}, {"mergingIntList": [3, 1]}, {"mergingIntList": [2, 3, 1]}),
    ("$setElementOrder naming an item neither side has",
     {"mergingList": N(1, 3)},
     {"$setElementOrder/mergingList": N(3, 2, 1),
      "mergingList": [{"name": 3, "value": "3"}, {"name": 1, "value": "1"}]},
     {"mergingList": [{"name": 3, "value": "3"}, {"name": 1, "value": "1"}]}),
    ("$setElementOrder alone reorders scalars",
     {"mergingIntList": [1, 3]}, {"$setElementOrder/mergingIntList": [3, 2, 1]},
     {"mergingIntList": [3, 1]}),
    ("three-way: delete from a primitive list keeps the others",
     {"mergingIntList": [1, 2, 3, 4]},
     {"$setElementOrder/mergingIntList": [1, 2], "$deleteFromPrimitiveList/mergingIntList": [3]},
     {"mergingIntList": [1, 2, 4]}),
    ("three-way: delete every duplicate from a primitive list",
     {"mergingIntList": [1, 2, 3, 3, 4]},
     {"$setElementOrder/mergingIntList": [1, 2], "$deleteFromPrimitiveList/mergingIntList": [3]},
     {"mergingIntList": [1, 2, 4]}),
    ("three-way: merge lists of maps keeps server fields",
     {"mergingList": [{"name": 1, "other": "a"}, {"name": 2, "value": 2, "other": "b"}]},
     {"$setElementOrder/mergingList": N(4, 1, 2, 3),
      "mergingList": [{"name": 4, "value": 4}, {"name": 3, "value": 3}]},
     {"mergingList": [{"name": 4, "value": 4}, {"name": 1, "other": "a"},
                      {"name": 2, "value": 2, "other": "b"}, {"name": 3, "value": 3}]}),
    ("three-way: delete a map keeps the server-only one in its place",
     {"mergingList": [{"name": 1}, {"name": 2, "other": "b"}, {"name": 4, "other": "c"}]},
     {"$setElementOrder/mergingList": N(2, 3),
      "mergingList": [{"name": 3}, {"name": 1, "$patch": "delete"}]},
     {"mergingList": [{"name": 2, "other": "b"}, {"name": 4, "other": "c"}, {"name": 3}]}),
    ("three-way: add and delete with a conflict, server-only item first",
     {"mergingList": [{"name": 1, "other": "a"}, {"name": 4, "other": "c"}]},
     {"$setElementOrder/mergingList": N(2, 3),
      "mergingList": [{"name": 2}, {"name": 3}, {"name": 1, "$patch": "delete"}]},
     {"mergingList": [{"name": 4, "other": "c"}, {"name": 2}, {"name": 3}]}),
    ("three-way: delete an item and reorder",
     {"mergingList": [{"name": 1, "other": "a"}, {"name": 2, "value": 2, "other": "b"},
                      {"name": 3, "value": 3}]},
     {"$setElementOrder/mergingList": N(2, 1), "mergingList": [{"name": 3, "$patch": "delete"}]},
     {"mergingList": [{"name": 2, "value": 2, "other": "b"}, {"name": 1, "other": "a"}]}),
    ("non-merging list nested in a merging list is replaced",
     {"mergingList": [{"name": 1, "other": "a", "nonMergingList": [{"name": 1},
                                                                    {"name": 2, "value": 2}]},
                      {"name": 2, "other": "b"}]},
     {"$setElementOrder/mergingList": N(1, 2),
      "mergingList": [{"name": 1, "nonMergingList": [{"name": 1, "value": 1}]}]},
     {"mergingList": [{"name": 1, "other": "a", "nonMergingList": [{"name": 1, "value": 1}]},
                      {"name": 2, "other": "b"}]}),
    ("nested $setElementOrder orders the inner list",
     {"mergingList": [{"name": 1, "other": "a", "mergingList": [{"name": 2, "value": 2,
                                                                 "other": "d"}]},
                      {"name": 2, "other": "b"}]},
     {"$setElementOrder/mergingList": N(1, 2),
      "mergingList": [{"$setElementOrder/mergingList": N(2, 1), "name": 1,
                       "mergingList": [{"name": 1, "value": 1}]}]},
     {"mergingList": [{"name": 1, "other": "a",
                       "mergingList": [{"name": 2, "value": 2, "other": "d"},
                                       {"name": 1, "value": 1}]},
                      {"name": 2, "other": "b"}]}),
    ("$setElementOrder puts an added scalar first and keeps the server one",
     {"mergingIntList": [1, 4, 2]},
     {"$setElementOrder/mergingIntList": [3, 1, 2], "mergingIntList": [3]},
     {"mergingIntList": [3, 1, 4, 2]}),
    ("$setElementOrder reorders maps, server-only last",
     {"mergingList": [{"name": 1, "other": "a"}, {"name": 3, "value": 3},
                      {"name": 4, "value": 4}, {"name": 2, "value": 2}]},
     {"$setElementOrder/mergingList": N(4, 2, 3, 1)},
     {"mergingList": [{"name": 4, "value": 4}, {"name": 2, "value": 2},
                      {"name": 3, "value": 3}, {"name": 1, "other": "a"}]}),
    ("retainKeys clears fields not listed",
     {"retainKeysMap": {"name": "foo", "value": "bar", "other": "x"}},
     {"retainKeysMap": {"$retainKeys": ["name", "simpleMap", "value"],
                        "simpleMap": {"key1": "modified"}}},
     {"retainKeysMap": {"name": "foo", "value": "bar", "simpleMap": {"key1": "modified"}}}),
    ("retainKeys in a merging list item",
     {"retainKeysMergingList": [{"name": "bar"}, {"name": "foo", "value": "a", "other": "x"}]},
     {"$setElementOrder/retainKeysMergingList": [{"name": "bar"}, {"name": "foo"}],
      "retainKeysMergingList": [{"$retainKeys": ["name", "value"], "name": "foo"}]},
     {"retainKeysMergingList": [{"name": "bar"}, {"name": "foo", "value": "a"}]}),
    ("retainKeys map adds to a nested int list, server item last",
     {"retainKeysMap": {"name": "foo", "mergingIntList": [1, 2, 3]}},
     {"retainKeysMap": {"$setElementOrder/mergingIntList": [1, 2, 4],
                        "$retainKeys": ["mergingIntList", "name"], "mergingIntList": [4]}},
     {"retainKeysMap": {"name": "foo", "mergingIntList": [1, 2, 4, 3]}}),
    ("a replace strategy map is replaced",
     {"replacingItem": {"a": 1, "b": 2}}, {"replacingItem": {"c": 3}},
     {"replacingItem": {"c": 3}}),
    ("changing the type of a field replaces it",
     {"simpleMap": {"a": "b"}}, {"simpleMap": "x"}, {"simpleMap": "x"}),
    ("a null for a missing field is ignored",
     {"name": "a"}, {"other": None}, {"name": "a"}),
    ("deleting from a missing primitive list does nothing",
     {"name": "a"}, {"$deleteFromPrimitiveList/mergingIntList": [1]}, {"name": "a"}),
    ("a non-merging int list is replaced",
     {"nonMergingIntList": [1, 2]}, {"nonMergingIntList": [2, 3]}, {"nonMergingIntList": [2, 3]}),
]


@pytest.mark.parametrize(("original", "patch", "expected"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_upstream_scenarios(original: dict[str, Any], patch: dict[str, Any],
                            expected: dict[str, Any]) -> None:
    before = json.dumps(original)
    assert strategic_merge_patch(original, patch, ITEM) == expected
    assert json.dumps(original) == before  # the live object is not modified


ERRORS = [
    ("missing merge key", {"mergingList": [{"name": 1, "value": "a"}]},
     {"mergingList": [{"value": "b"}]}, "map: map[value:b] does not contain declared merge key: name"),
    ("$setElementOrder out of order", {"mergingList": N(1, 3, 2)},
     {"$setElementOrder/mergingList": N(1, 2, 3),
      "mergingList": [{"name": 3, "value": 3}, {"name": 1, "value": 1}]},
     "The order in patch list:\n[map[name:3 value:3] map[name:1 value:1]]\n doesn't match "
     "$setElementOrder list:\n[map[name:1] map[name:2] map[name:3]]\n"),
    ("unknown $patch in a list", {"mergingList": N(1)}, {"mergingList": [{"name": 1, "$patch": "x"}]},
     "unknown patch type: x in map: map[$patch:x name:1]"),
    ("$patch: merge in a list", {"mergingList": N(1)},
     {"mergingList": [{"name": 1, "$patch": "merge"}]},
     "merging lists cannot yet be specified in the patch"),
    ("$patch: merge on a map", {"simpleMap": {"a": "1"}}, {"simpleMap": {"$patch": "merge"}},
     "unknown patch type: merge in map: map[$patch:merge]"),
    ("patch field outside $retainKeys", {"retainKeysMap": {"name": "a"}},
     {"retainKeysMap": {"$retainKeys": ["name"], "value": "b"}},
     "invalid patch format of retainKeys"),
    ("$retainKeys not a list", {"retainKeysMap": {"name": "a"}},
     {"retainKeysMap": {"$retainKeys": "name"}}, "invalid patch format of retainKeys"),
    ("$setElementOrder without a field name", {"name": "a"}, {"$setElementOrder": [1]},
     "invalid patch format of setElementOrder list"),
    ("$deleteFromPrimitiveList without a field name", {"name": "a"},
     {"$deleteFromPrimitiveList": [1]}, "invalid patch format of primitive list"),
    ("mixed element types", {"mergingIntList": [1]}, {"mergingIntList": ["a"]},
     "list element types are not identical: [[1] [a]]"),
]


@pytest.mark.parametrize(("original", "patch", "message"), [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_errors_in_upstreams_words(original: dict[str, Any], patch: dict[str, Any],
                                   message: str) -> None:
    with pytest.raises(PatchError) as e:
        strategic_merge_patch(original, patch, ITEM)
    assert e.value.message == message
    assert (e.value.code, e.value.reason) == (400, "BadRequest")


def test_lists_of_lists_answer_the_generic_422() -> None:
    with pytest.raises(PatchError) as e:
        strategic_merge_patch({"mergingIntList": [[1]]}, {"mergingIntList": [[2]]}, ITEM)
    assert (e.value.code, e.value.reason) == (422, "Invalid")
    assert e.value.message == "the server rejected our request due to an error in our request"


POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "p", "labels": {"app": "web"}, "finalizers": ["a", "b"]},
       "spec": {"containers": [{"name": "app", "image": "nginx:1",
                                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                                "ports": [{"containerPort": 80, "protocol": "TCP"}]},
                               {"name": "side", "image": "busybox", "args": ["a", "b"]}],
                "volumes": [{"name": "v", "emptyDir": {}}],
                "tolerations": [{"key": "k", "operator": "Exists"}]}}
PODS = "io.k8s.api.core.v1.Pod"


def smp(obj: dict[str, Any], patch: Any, schema_name: str = PODS) -> dict[str, Any]:
    return apply_patch(SMP, obj, json.dumps(patch).encode(), schema_name)


def test_pod_containers_merge_by_name_and_env_by_name() -> None:
    out = smp(POD, {"spec": {"containers": [{"name": "app", "env": [{"name": "B", "value": "9"},
                                                                    {"name": "C", "value": "3"}]}]}})
    assert out["spec"]["containers"][0]["env"] == [
        {"name": "A", "value": "1"}, {"name": "B", "value": "9"}, {"name": "C", "value": "3"}]
    assert out["spec"]["containers"][1] == POD["spec"]["containers"][1]


def test_pod_ports_merge_by_container_port() -> None:
    out = smp(POD, {"spec": {"containers": [{"name": "app", "ports": [{"containerPort": 80,
                                                                       "name": "http"}]}]}})
    assert out["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP",
                                                      "name": "http"}]


def test_pod_atomic_lists_are_replaced() -> None:
    out = smp(POD, {"spec": {"tolerations": [{"key": "z"}],
                             "containers": [{"name": "side", "args": ["c"]}]}})
    assert out["spec"]["tolerations"] == [{"key": "z"}]
    assert out["spec"]["containers"][1]["args"] == ["c"]


def test_pod_volume_source_switch_with_retain_keys() -> None:
    out = smp(POD, {"spec": {"volumes": [{"name": "v", "$retainKeys": ["hostPath", "name"],
                                          "hostPath": {"path": "/d"}}]}})
    assert out["spec"]["volumes"] == [{"name": "v", "hostPath": {"path": "/d"}}]


def test_finalizers_are_a_merged_set() -> None:
    out = smp(POD, {"metadata": {"finalizers": ["c", "a"]}})
    assert out["metadata"]["finalizers"] == ["c", "a", "b"]
    out = smp(POD, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}})
    assert out["metadata"]["finalizers"] == ["b"]


def test_container_deleted_with_directive() -> None:
    out = smp(POD, {"spec": {"$setElementOrder/containers": [{"name": "app"}],
                             "containers": [{"name": "side", "$patch": "delete"}]}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["app"]


def test_what_kubectl_set_image_sends() -> None:
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1"},
                                                         {"name": "log", "image": "busybox"}]}}}}
    patch = (b'{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"app"},'
             b'{"name":"log"}],"containers":[{"image":"nginx:2","name":"app"}]}}}}')
    out = apply_patch(SMP, dep, patch, "io.k8s.api.apps.v1.Deployment")
    assert out["spec"]["template"]["spec"]["containers"] == [
        {"name": "app", "image": "nginx:2"}, {"name": "log", "image": "busybox"}]


def test_what_kubectl_cordon_and_rollout_restart_send() -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}, "spec": {}}
    out = apply_patch(SMP, node, b'{"spec":{"unschedulable":true}}', "io.k8s.api.core.v1.Node")
    assert out["spec"] == {"unschedulable": True}
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
           "spec": {"template": {"metadata": {"labels": {"a": "b"}}}}}
    out = apply_patch(SMP, dep, b'{"spec":{"template":{"metadata":{"annotations":{'
                      b'"kubectl.kubernetes.io/restartedAt":"2026-12-01T19:13:18Z"}}}}}',
                      "io.k8s.api.apps.v1.Deployment")
    assert out["spec"]["template"]["metadata"] == {
        "labels": {"a": "b"}, "annotations": {"kubectl.kubernetes.io/restartedAt":
                                              "2026-12-01T19:13:18Z"}}


def test_what_kubectl_client_side_apply_sends_second_time() -> None:
    # kubectl apply after changing the image and dropping env B: a three-way patch with
    # the new last-applied configuration
    live = json.loads(json.dumps(POD))
    patch = {"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                                          '{"x":1}\n'}},
             "spec": {"$setElementOrder/containers": [{"name": "app"}, {"name": "side"}],
                      "containers": [{"$setElementOrder/env": [{"name": "A"}], "name": "app",
                                      "image": "nginx:2",
                                      "env": [{"name": "B", "$patch": "delete"}]}]}}
    out = smp(live, patch)
    assert out["spec"]["containers"][0]["image"] == "nginx:2"
    assert out["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]
    assert out["metadata"]["annotations"] == {
        "kubectl.kubernetes.io/last-applied-configuration": '{"x":1}\n'}


def test_body_errors() -> None:
    with pytest.raises(PatchError) as e:
        apply_patch(SMP, POD, b"[1]", PODS)
    assert e.value.message == "json: cannot unmarshal array into Go value of type map[string]interface {}"
    with pytest.raises(PatchError) as e:
        apply_patch(SMP, POD, b"{x", PODS)
    assert e.value.message == "invalid character 'x' looking for beginning of object key string"
    with pytest.raises(PatchError) as e:
        apply_patch(SMP, POD, b"", PODS)
    assert e.value.message == "unexpected end of JSON input"
    assert apply_patch(SMP, POD, b"null", PODS) == POD


def test_content_types() -> None:
    with pytest.raises(PatchError) as e:
        apply_patch("text/plain", POD, b"{}", PODS)
    assert e.value.code == 415 and e.value.reason == "UnsupportedMediaType"
    assert e.value.message == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, "
        "application/strategic-merge-patch+json, application/apply-patch+yaml")
    with pytest.raises(PatchError) as e:
        apply_patch(SMP, POD, b"{}", None)
    assert e.value.code == 415
    out = apply_patch(SMP + "; charset=utf-8", POD, b'{"metadata":{"labels":null}}', PODS)
    assert "labels" not in out["metadata"]


KEYS = st.sampled_from(["a", "b", "c", "d"])
SCALARS = st.one_of(st.integers(-5, 5), st.text("xy", max_size=2), st.booleans())
JSON = st.recursive(SCALARS | st.lists(SCALARS, max_size=3),
                    lambda inner: st.dictionaries(KEYS, inner, max_size=4), max_leaves=12)
OBJECTS = st.dictionaries(KEYS, JSON, max_size=4)


@settings(max_examples=200, deadline=None)
@given(OBJECTS, OBJECTS)
def test_smp_without_strategies_is_json_merge_patch(a: dict[str, Any], b: dict[str, Any]) -> None:
    patch = create_merge_patch(a, b)
    assert merge_values(a, patch) == b
    assert strategic_merge_patch(a, patch, {"type": "object"}) == b
