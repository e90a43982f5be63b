"""PersistentVolumeClaim defaulting and validation: the API server's exact messages."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from podbay.api import support
from podbay.api.pvc import (
    DEFAULT_STORAGE_CLASS,
    PROTECTION_FINALIZER,
    default_pvc,
    validate_pvc,
    validate_pvc_update,
)


def claim(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    base.update(spec)
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": "default"}, "spec": base}


def errors(obj: dict[str, Any], bound: str | None = None) -> list[str]:
    pvc = default_pvc(obj)   # validation, then the support table, as the registry does
    return [str(e) for e in support.admit("PersistentVolumeClaim", pvc, None, validate_pvc(pvc, bound))]


def test_defaults_class_mode_finalizer_and_pending_status() -> None:
    src = claim()
    src["status"] = {"phase": "Bound"}
    out = default_pvc(src)
    assert out["spec"]["storageClassName"] == DEFAULT_STORAGE_CLASS
    assert out["spec"]["volumeMode"] == "Filesystem"
    assert out["metadata"]["finalizers"] == [PROTECTION_FINALIZER]
    assert out["status"] == {"phase": "Pending"}   # user-supplied status is dropped
    assert "storageClassName" not in src["spec"]    # input untouched
    assert default_pvc(out)["metadata"]["finalizers"] == [PROTECTION_FINALIZER]  # not duplicated


def test_valid_claim_has_no_errors() -> None:
    assert errors(claim()) == []
    assert errors(claim(accessModes=["ReadWriteOncePod"], volumeMode="Filesystem",
                        storageClassName="podbay-local")) == []


def test_access_modes_required_and_supported_values() -> None:
    assert errors(claim(accessModes=[])) == ["spec.accessModes: Required value: at least 1 access mode is required"]
    no_modes = claim()
    del no_modes["spec"]["accessModes"]
    assert errors(no_modes) == ["spec.accessModes: Required value: at least 1 access mode is required"]
    assert errors(claim(accessModes=["ReadWriteSometimes"])) == [
        'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", '
        '"ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"'
    ]
    assert errors(claim(accessModes=["ReadWriteOncePod", "ReadOnlyMany"])) == [
        "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes"
    ]


@pytest.mark.parametrize(("resources", "expected"), [
    ({}, "spec.resources[storage]: Required value"),
    ({"requests": {"cpu": "1"}}, "spec.resources[storage]: Required value"),
    ({"requests": {"storage": "0"}}, 'spec.resources.requests[storage]: Invalid value: "0": must be greater than zero'),
    ({"requests": {"storage": "-1Gi"}},
     'spec.resources.requests[storage]: Invalid value: "-1Gi": must be greater than zero'),
])
def test_storage_request(resources: dict[str, Any], expected: str) -> None:
    assert errors(claim(resources=resources)) == [expected]


def test_storage_request_must_parse() -> None:
    (err,) = errors(claim(resources={"requests": {"storage": "lots"}}))
    assert err.startswith('spec.resources.requests[storage]: Invalid value: "lots": quantities must match')


def test_volume_mode() -> None:
    assert errors(claim(volumeMode="Block")) == ["spec.volumeMode: Forbidden: volumeMode Block is not supported by podbay"]
    assert errors(claim(volumeMode="Raw")) == [
        'spec.volumeMode: Unsupported value: "Raw": supported values: "Block", "Filesystem"'
    ]


def test_any_valid_storage_class_name_is_accepted() -> None:
    # A class podbay does not serve is not an error: the claim stays Pending (the PV controller
    # records why); "" asks for a class-less static volume, which never comes.
    assert errors(claim(storageClassName="fast-ssd")) == []
    assert errors(claim(storageClassName="")) == []
    (err,) = errors(claim(storageClassName="Bad_Class"))
    assert err.startswith('spec.storageClassName: Invalid value: "Bad_Class": a lowercase RFC 1123 subdomain')


def test_static_binding_selectors_and_data_sources_are_forbidden() -> None:
    assert errors(claim(volumeName="pv-1")) == [
        "spec.volumeName: Forbidden: binding to a pre-existing PersistentVolume is not supported by podbay"
    ]
    assert errors(claim(volumeName="pvc-uid"), bound="pvc-uid") == []   # the binding podbay made itself
    assert errors(claim(selector={"matchLabels": {"a": "b"}})) == ["spec.selector: Forbidden: not supported by podbay"]
    assert errors(claim(resources={"requests": {"storage": "1Gi"}, "limits": {"storage": "2Gi"}})) == [
        "spec.resources.limits: Forbidden: storage limits are not supported by podbay"
    ]
    assert errors(claim(dataSource={"kind": "PersistentVolumeClaim", "name": "x"})) == [
        "spec.dataSource: Forbidden: not supported by podbay"
    ]


def test_metadata_is_validated() -> None:
    bad = claim()
    bad["metadata"]["name"] = "Data"
    (err,) = errors(bad)
    assert err.startswith('metadata.name: Invalid value: "Data": a lowercase RFC 1123 subdomain')


def bound(obj: dict[str, Any]) -> dict[str, Any]:
    out = default_pvc(obj)
    out["metadata"].update(uid="u-1", creationTimestamp="2026-01-01T00:00:00Z")
    out["spec"]["volumeName"] = "pvc-u-1"
    return out


def test_update_allows_growing_storage_only() -> None:
    old = bound(claim())
    grown = copy.deepcopy(old)
    grown["spec"]["resources"]["requests"]["storage"] = "2Gi"
    assert validate_pvc_update(old, grown) == []
    same_without_volume_name = copy.deepcopy(old)
    del same_without_volume_name["spec"]["volumeName"]
    assert validate_pvc_update(old, same_without_volume_name) == []

    shrunk = copy.deepcopy(old)
    shrunk["spec"]["resources"]["requests"]["storage"] = "512Mi"
    assert [str(e) for e in validate_pvc_update(old, shrunk)] == [
        "spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"
    ]


def test_update_other_spec_fields_are_immutable() -> None:
    old = bound(claim())
    changed = copy.deepcopy(old)
    changed["spec"]["accessModes"] = ["ReadWriteMany"]
    assert [str(e) for e in validate_pvc_update(old, changed)] == [
        "spec: Forbidden: spec is immutable after creation except resources.requests and "
        "volumeAttributesClassName for bound claims"
    ]
    renamed = copy.deepcopy(old)
    renamed["metadata"]["uid"] = "other"
    assert [str(e) for e in validate_pvc_update(old, renamed)] == [
        'metadata.uid: Invalid value: "other": field is immutable'
    ]
