"""The bundled v1.37 definitions: lookup by GVK and the patch/list extensions the API relies on."""

from __future__ import annotations

from podbay.api import schema


def test_pod_definition_by_group_version_kind() -> None:
    assert schema.definition_name("", "v1", "Pod") == "io.k8s.api.core.v1.Pod"
    assert schema.definition_name("apps", "v1", "Deployment") == "io.k8s.api.apps.v1.Deployment"
    assert schema.definition_name("", "v1", "NoSuchKind") is None


def test_containers_merge_by_name_and_volumes_retain_keys() -> None:
    spec = schema.child(schema.definition("io.k8s.api.core.v1.Pod"), "spec")
    assert spec is not None
    containers = schema.child(spec, "containers")
    volumes = schema.child(spec, "volumes")
    assert containers is not None and volumes is not None
    assert schema.patch_strategies(containers) == {"merge"}
    assert schema.patch_merge_key(containers) == "name"
    assert schema.list_map_keys(containers) == ("name",)
    assert schema.patch_strategies(volumes) == {"merge", "retainKeys"}
    container = schema.items(containers)
    assert container is not None
    ports = schema.child(container, "ports")
    assert ports is not None and schema.list_map_keys(ports) == ("containerPort", "protocol")


def test_types_follow_refs_and_maps() -> None:
    meta = schema.definition("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
    labels = schema.child(meta, "labels")
    assert labels is not None and schema.types(labels) == {"object", "null"}
    value = schema.child(labels, "any-key")
    assert value is not None and "string" in schema.types(value)
    ts = schema.child(meta, "creationTimestamp")
    assert ts is not None and "string" in schema.types(ts)
    assert schema.child(meta, "bogus") is None
