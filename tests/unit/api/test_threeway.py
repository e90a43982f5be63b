"""The client-side apply patch (``podbay.api.threeway``): the exact patches kubectl 1.37 sends for the
same (last applied, manifest, live) -- captured from ``kubectl apply -v=10`` against podbay; the live
parity test is tests/unit/cli/test_cli_kubectl_parity.py -- and what the server makes of them
(podbay's strategic merge patch, a port of apimachinery's)."""

from __future__ import annotations

import copy
import json
from typing import Any

from podbay.api import threeway
from podbay.api.patch import apply_patch

POD = "io.k8s.api.core.v1.Pod"
SVC = "io.k8s.api.core.v1.Service"
CM = "io.k8s.api.core.v1.ConfigMap"


def applied(live: dict[str, Any], patch: dict[str, Any], schema: str) -> dict[str, Any]:
    return apply_patch("application/strategic-merge-patch+json", live, json.dumps(patch), schema)


def svc(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"},
            "spec": spec}


def test_service_ports_selector_labels_like_kubectl() -> None:
    original = {**svc(selector={"app": "x"}, ports=[{"name": "http", "port": 80, "targetPort": 8080},
                                                   {"name": "https", "port": 443}])}
    original["metadata"]["labels"] = {"a": "b", "c": "d"}
    modified = svc(selector={"app": "y"}, ports=[{"name": "https", "port": 443}, {"name": "metrics", "port": 9090}],
                   externalIPs=["1.2.3.4", "5.6.7.8"])
    modified["metadata"]["labels"] = {"a": "b2"}
    current = copy.deepcopy(original)
    current["spec"].update(clusterIP="10.0.0.9", sessionAffinity="None", type="ClusterIP")
    for p in current["spec"]["ports"]:
        p.setdefault("protocol", "TCP")
        p.setdefault("targetPort", p["port"])
    patch = threeway.three_way_merge_patch(original, modified, current, SVC)
    assert patch == {   # kubectl 1.37's patch for the same three documents
        "metadata": {"labels": {"a": "b2", "c": None}},
        "spec": {"$setElementOrder/ports": [{"port": 443}, {"port": 9090}], "externalIPs": ["1.2.3.4", "5.6.7.8"],
                 "ports": [{"name": "metrics", "port": 9090}, {"$patch": "delete", "port": 80}],
                 "selector": {"app": "y"}}}
    result = applied(current, patch, SVC)
    assert result["spec"]["clusterIP"] == "10.0.0.9"   # set by the server: kept
    assert [p["port"] for p in result["spec"]["ports"]] == [443, 9090]
    assert result["spec"]["ports"][0]["protocol"] == "TCP"   # the server's default survives
    assert result["metadata"]["labels"] == {"a": "b2"}


def test_scalar_list_replaced_when_it_has_no_merge_strategy() -> None:
    original = svc(externalIPs=["1.2.3.4", "5.6.7.8"])
    modified = svc(externalIPs=["5.6.7.8", "9.9.9.9"])
    assert threeway.three_way_merge_patch(original, modified, copy.deepcopy(original), SVC) == {
        "spec": {"externalIPs": ["5.6.7.8", "9.9.9.9"]}}


def test_container_image_and_merged_tolerations() -> None:
    def pod(image_a: str, keys: list[str], order: tuple[str, str] = ("a", "b")) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
                "spec": {"containers": [{"name": n, "image": image_a if n == "a" else "busybox:1.35"} for n in order],
                         "tolerations": [{"key": k, "operator": "Exists"} for k in keys]}}

    original = pod("busybox:1.35", ["k1"])
    patch = threeway.three_way_merge_patch(original, pod("busybox:1.36", ["k1", "k2"]), original, POD)
    assert patch == {"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                              "containers": [{"image": "busybox:1.36", "name": "a"}],
                              "tolerations": [{"key": "k1", "operator": "Exists"}, {"key": "k2", "operator": "Exists"}]}}
    reorder = threeway.three_way_merge_patch(original, pod("busybox:1.35", ["k1"], ("b", "a")), original, POD)
    assert reorder == {"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}
    assert [c["name"] for c in applied(original, reorder, POD)["spec"]["containers"]] == ["b", "a"]


def test_fields_other_writers_set_are_kept_and_dropped_fields_deleted() -> None:
    original = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}
    current = copy.deepcopy(original)
    current["data"]["by-hand"] = "x"          # kubectl edit / another tool
    current["metadata"]["labels"] = {"team": "t"}
    modified = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "c": "3"}}
    patch = threeway.three_way_merge_patch(original, modified, current, CM)
    assert patch == {"data": {"b": None, "c": "3"}}
    result = applied(current, patch, CM)
    assert result["data"] == {"a": "1", "by-hand": "x", "c": "3"} and result["metadata"]["labels"] == {"team": "t"}
    assert threeway.three_way_merge_patch(modified, modified, result, CM) == {}


def test_without_last_applied_nothing_is_deleted() -> None:
    current = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}
    modified = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "9"}}
    assert threeway.three_way_merge_patch(None, modified, current, CM) == {"data": {"a": "9"}}


def test_scalar_merge_lists_delete_with_the_parallel_list() -> None:
    # PodSpec.containers[].ports is merge-by-containerPort; finalizers are a merge list of scalars
    def obj(finalizers: list[str]) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": finalizers}}

    patch = threeway.three_way_merge_patch(obj(["a", "b"]), obj(["b", "c"]), obj(["a", "b", "x"]), POD)
    assert patch == {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"],
                                  "$setElementOrder/finalizers": ["b", "c"], "finalizers": ["c"]}}
    assert applied(obj(["a", "b", "x"]), patch, POD)["metadata"]["finalizers"] == ["b", "c", "x"]


def test_retain_keys_for_volumes() -> None:
    def pod(volume: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                "spec": {"volumes": [{"name": "v", **volume}]}}

    original = pod({"emptyDir": {}})
    modified = pod({"hostPath": {"path": "/data"}})
    patch = threeway.three_way_merge_patch(original, modified, original, POD)
    assert patch == {"spec": {"$setElementOrder/volumes": [{"name": "v"}],
                              "volumes": [{"$retainKeys": ["hostPath", "name"], "emptyDir": None,
                                           "hostPath": {"path": "/data"}, "name": "v"}]}}
    assert applied(original, patch, POD)["spec"]["volumes"] == [{"name": "v", "hostPath": {"path": "/data"}}]


def test_json_merge_patch_for_kinds_without_a_schema() -> None:
    original = {"spec": {"a": 1, "b": 2}}
    modified = {"spec": {"a": 1, "c": 3}}
    current = {"spec": {"a": 5, "b": 2, "x": 9}}
    assert threeway.three_way_json_merge_patch(original, modified, current) == {"spec": {"a": 1, "b": None, "c": 3}}


def test_two_way_patch_of_an_edit() -> None:
    before = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1"}},
              "data": {"k": "v"}}
    after = copy.deepcopy(before)
    after["data"] = {"k": "w"}
    del after["metadata"]["labels"]
    assert threeway.two_way_merge_patch(before, after, CM) == {"data": {"k": "w"}, "metadata": {"labels": None}}
    assert threeway.two_way_merge_patch(before, after, None) == {"data": {"k": "w"}, "metadata": {"labels": None}}
