"""Decode-time type check (issue 11 item 7): wrong types are 400 in the Go decoder's words, unknown
fields are dropped (or strict errors), nulls become zero values, nothing unbounded gets through."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from podbay.api.typecheck import MAX_DEPTH, check, go_type, object_pairs_hook
from podbay.errors import BadRequest

POD = "io.k8s.api.core.v1.Pod"
SECRET = "io.k8s.api.core.v1.Secret"
CONFIGMAP = "io.k8s.api.core.v1.ConfigMap"


def pod(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def bad(obj: Any, definition: str = POD, kind: str = "Pod") -> str:
    with pytest.raises(BadRequest) as exc:
        check(obj, definition, kind, "v1")
    return str(exc.value)


@pytest.mark.parametrize(("obj", "definition", "kind", "message"), [
    ({"metadata": {"name": "s"}, "data": "true"}, SECRET, "Secret",
     "json: cannot unmarshal string into Go struct field Secret.data of type map[string][]uint8"),
    ({"metadata": {"name": "c"}, "data": 3.14}, CONFIGMAP, "ConfigMap",
     "json: cannot unmarshal number into Go struct field ConfigMap.data of type map[string]string"),
    ({"metadata": {"name": 2**70}}, POD, "Pod",
     "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.name of type string"),
    (pod(initContainers="str"), POD, "Pod",
     "json: cannot unmarshal string into Go struct field PodSpec.spec.initContainers of type []v1.Container"),
    (pod(volumes=[{"name": "v", "emptyDir": 0}]), POD, "Pod",
     "json: cannot unmarshal number into Go struct field Volume.spec.volumes.emptyDir of type "
     "v1.EmptyDirVolumeSource"),
    (pod(volumes=[{"name": "v", "projected": {"sources": {"x": -1}}}]), POD, "Pod",
     "json: cannot unmarshal object into Go struct field ProjectedVolumeSource.spec.volumes.projected.sources of "
     "type []v1.VolumeProjection"),
    ({"metadata": {"name": "p", "annotations": ["a", "b"]}}, POD, "Pod",
     "json: cannot unmarshal array into Go struct field ObjectMeta.metadata.annotations of type map[string]string"),
    (pod(terminationGracePeriodSeconds="30"), POD, "Pod",
     "json: cannot unmarshal string into Go struct field PodSpec.spec.terminationGracePeriodSeconds of type int64"),
    (pod(containers=[{"name": "c", "ports": [{"containerPort": 1.5}]}]), POD, "Pod",
     "json: cannot unmarshal number 1.5 into Go struct field ContainerPort.spec.containers.ports.containerPort of "
     "type int32"),
    (pod(containers=[{"name": "c", "ports": [{"containerPort": 2**40}]}]), POD, "Pod",
     "json: cannot unmarshal number 1099511627776 into Go struct field ContainerPort.spec.containers.ports."
     "containerPort of type int32"),
    (pod(hostNetwork="yes"), POD, "Pod",
     "json: cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool"),
    ({"metadata": {"name": "s"}, "data": {"k": "!!!"}}, SECRET, "Secret", "illegal base64 data at input byte 0"),
    ({"metadata": {"name": "p", "creationTimestamp": "yesterday"}}, POD, "Pod",
     'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"'),
    (pod(containers=[{"name": "c", "resources": {"limits": {"memory": "lots"}}}]), POD, "Pod",
     "quantities must match the regular expression"),
])
def test_wrong_types_are_bad_requests_in_the_decoders_words(obj: Any, definition: str, kind: str,
                                                             message: str) -> None:
    text = bad(obj, definition, kind)
    assert text.startswith(f'{kind} in version "v1" cannot be handled as a {kind}: ')
    assert message in text


def test_a_huge_quantity_is_refused_quickly() -> None:
    """Issue 11 item 4: 1e300000 once blocked the event loop for 32 s while being formatted."""
    started = time.perf_counter()
    text = bad(pod(containers=[{"name": "c", "resources": {"limits": {"memory": "1e300000"}}}]))
    assert time.perf_counter() - started < 0.5
    assert "quantity is out of the range podbay supports" in text


def test_lone_surrogates_are_refused() -> None:
    text = bad(pod(containers=[{"name": "c", "command": ["\ud800"]}]))
    assert "lone UTF-16 surrogate" in text and "spec.containers[0].command[0]" in text


def test_deep_nesting_is_refused() -> None:
    deep: dict[str, Any] = {}
    cur = deep
    for _ in range(MAX_DEPTH + 5):
        cur["x"] = {}
        cur = cur["x"]
    text = bad({"metadata": {"name": "c", "managedFields": [{"fieldsV1": deep}]}})
    assert "nested too deeply" in text


def test_a_body_that_is_not_an_object_is_refused() -> None:
    assert "cannot unmarshal array into Go value of type v1.Pod" in bad([1, 2])


def test_unknown_fields_are_dropped_and_reported_with_their_paths() -> None:
    obj = pod(bogus=1, containers=[{"name": "c", "image": "i", "what": True}])
    obj["extra"] = {}
    got = check(obj, POD, "Pod", "v1")
    assert "bogus" not in got.obj["spec"] and "what" not in got.obj["spec"]["containers"][0] and "extra" not in got.obj
    assert got.unknown == ["spec.containers[0].what", "spec.bogus", "extra"]   # in document order
    assert got.strict_errors() == ['unknown field "spec.containers[0].what"', 'unknown field "spec.bogus"',
                                   'unknown field "extra"']


def test_duplicate_fields_are_found_with_the_decoder_hook() -> None:
    raw = '{"metadata": {"name": "a", "name": "b"}, "spec": {"containers": [{"name": "c", "image": "x", "image": "y"}]}}'
    got = check(json.loads(raw, object_pairs_hook=object_pairs_hook), POD, "Pod", "v1")
    assert got.obj["metadata"]["name"] == "b"   # the last one wins, as in Go
    assert got.duplicates == ["metadata.name", "spec.containers[0].image"]


def test_nulls_become_zero_values() -> None:
    obj = {"metadata": {"name": "x", "creationTimestamp": None, "labels": {"a": None}},
           "spec": {"containers": [None], "nodeSelector": None}}
    got = check(obj, POD, "Pod", "v1").obj
    assert got == {"metadata": {"name": "x", "labels": {"a": ""}}, "spec": {"containers": [{}]}}


def test_valid_objects_pass_unchanged() -> None:
    obj = pod(volumes=[{"name": "v", "emptyDir": {"sizeLimit": "1Gi"}}],
              containers=[{"name": "c", "image": "i", "ports": [{"containerPort": 80}],
                           "resources": {"limits": {"cpu": 0.5, "memory": "64Mi"}},
                           "livenessProbe": {"httpGet": {"port": "http", "path": "/"}}}])
    obj["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00+00:00"
    got = check(obj, POD, "Pod", "v1")
    assert got.obj == obj and got.unknown == [] and got.duplicates == []


def test_int_or_string_and_free_form_fields() -> None:
    ok = pod(containers=[{"name": "c", "readinessProbe": {"tcpSocket": {"port": 8080}}}])
    assert check(ok, POD, "Pod", "v1").unknown == []
    assert "IntOrString" in bad(pod(containers=[{"name": "c", "readinessProbe": {"tcpSocket": {"port": 1.5}}}]))
    managed = {"metadata": {"name": "p", "managedFields": [{"manager": "m", "fieldsV1": {"f:spec": {".": {}}}}]}}
    assert check(managed, POD, "Pod", "v1").obj == managed


def test_go_type_names() -> None:
    assert go_type({"$ref": "#/$defs/io.k8s.api.core.v1.Container"}) == "v1.Container"
    assert go_type({"type": "array", "items": {"type": "string"}}) == "[]string"
    assert go_type({"type": "object", "additionalProperties": {"type": "string", "format": "byte"}}) == \
        "map[string][]uint8"
    assert go_type({"$ref": "#/$defs/io.k8s.apimachinery.pkg.api.resource.Quantity"}) == "resource.Quantity"


def test_checking_a_big_pod_is_fast() -> None:
    big = pod(containers=[{"name": f"c{i}", "image": "busybox", "command": ["sh", "-c", "sleep 1"],
                           "env": [{"name": f"E{j}", "value": "x"} for j in range(20)]} for i in range(10)])
    started = time.perf_counter()
    for _ in range(20):
        check(big, POD, "Pod", "v1")
    assert (time.perf_counter() - started) / 20 < 0.05
