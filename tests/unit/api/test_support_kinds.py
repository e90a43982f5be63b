"""The support table for every served kind: each v1.37 field of each stored kind is implemented,
rejected by the table, or rejected by named cross-field code (``support.ELSEWHERE``); workload
templates carry the Pod (Job, claim) rules under their prefix; updates do not re-report what the
stored object already had."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from podbay.api import schema, support
from podbay.api.resources import default_table

Node = Any
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LEAVES = {OBJECT_META, "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"}
TEMPLATES = {"io.k8s.api.core.v1.PodTemplateSpec": "Pod", "io.k8s.api.batch.v1.JobTemplateSpec": "Job",
             "io.k8s.api.core.v1.PersistentVolumeClaim": "PersistentVolumeClaim"}


def served() -> dict[str, tuple[str, str]]:
    """Stored kind -> (group, version) of the resource that owns it."""
    out: dict[str, tuple[str, str]] = {}
    for rt in default_table():
        if rt.stored and rt.storage_kind not in out:
            out[rt.storage_kind] = (rt.group, rt.version)
    return out


def _definition(kind: str) -> Node:
    group, version = served()[kind]
    name = schema.definition_name(group, version, kind)
    assert name is not None, kind
    return schema.definition(name)


def _walk(node: Node, path: str, seen: frozenset[str], stop: bool) -> Iterator[tuple[str, str | None]]:
    """(path, template kind or None) of every field below ``node``; with ``stop``, ObjectMeta and
    LabelSelector are leaves and a template is yielded once with the kind whose rules it carries."""
    name = schema.ref_name(node)
    if stop and name in TEMPLATES and path:
        yield path, TEMPLATES[name]
        return
    if name in seen or (stop and name in LEAVES):
        yield path, None
        return
    seen = seen | {name} if name else seen
    r = schema.resolve(node)
    props = schema.properties(r)
    if not props:
        it = schema.items(r)
        if it is not None and schema.properties(schema.resolve(it)):
            yield path, None   # the list itself; ``[*]`` below it is its items
            yield from _walk(it, path + "[*]", seen, stop)
            return
        yield path, None
        return
    if path:
        yield path, None
    for k in sorted(props):
        if not path and k in ("apiVersion", "kind", "status"):
            continue
        yield from _walk(props[k], f"{path}.{k}" if path else k, seen, stop)


def fields(kind: str, *, stop: bool = True) -> list[tuple[str, str | None]]:
    return list(_walk(_definition(kind), "", frozenset(), stop))


KINDS = sorted(k for k in served() if k != "Pod")


def test_every_served_kind_is_in_the_table() -> None:
    assert sorted(served()) == sorted(support.KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_schema_field_is_implemented_or_rejected(kind: str) -> None:
    leaves = [(p, t) for p, t in fields(kind) if t is not None or not any(
        q.startswith((p + ".", p + "[")) for q, _ in fields(kind))]
    assert leaves
    missing = [p for p, t in leaves if t is None and not support.covered(kind, p)]
    assert missing == []
    for path, inner in ((p, t) for p, t in leaves if t is not None):
        # a template carries every rule of the kind it templates, under its prefix
        want = {f"{path}.{r.path}" for r in support.UNSUPPORTED[inner]}
        assert want <= {r.path for r in support.UNSUPPORTED[kind]}, path
        assert (path, inner) in support.INHERITS[kind] or (kind, inner) == ("StatefulSet", "PersistentVolumeClaim")


@pytest.mark.parametrize("kind", sorted(served()))
def test_the_table_names_real_fields(kind: str) -> None:
    real = {p for p, _ in fields(kind, stop=False)} | {"metadata.annotations", "status"}
    own = [r.path for r in support.OWN.get(kind, ())] + list(support.OWN_IMPLEMENTED[kind]) \
        + list(support.ELSEWHERE.get(kind, {}))
    assert [p for p in own if p not in real] == []


def errors(kind: str, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    return [str(e) for e in support.check(kind, obj, old)]


def deployment(**pod_spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "d"}, "spec": {"template": {"spec": {
        "containers": [{"name": "c", "image": "busybox"}], **pod_spec}}}}


def test_a_pod_template_is_checked_with_the_pod_rules() -> None:
    assert errors("Deployment", deployment(hostNetwork=True)) == [
        "spec.template.spec.hostNetwork: Forbidden: not supported by podbay"]
    assert errors("Deployment", deployment(hostNetwork=False)) == []
    cj = {"spec": {"jobTemplate": {"spec": {"maxFailedIndexes": 1, "template": deployment(hostPID=True)["spec"]["template"]}}}}
    assert errors("CronJob", cj) == [
        "spec.jobTemplate.spec.maxFailedIndexes: Forbidden: a maximum of failed indexes is not supported by podbay",
        "spec.jobTemplate.spec.template.spec.hostPID: Forbidden: not supported by podbay"]


def test_the_pod_limits_apply_to_templates() -> None:
    d = deployment()
    d["spec"]["template"]["spec"]["containers"] = [{"name": f"c{i}", "image": "x"} for i in range(65)]
    assert errors("Deployment", d) == ["spec.template.spec.containers: Too many: 65: must have at most 64 items"]


def test_a_storage_class_rule_holds_for_podbays_provisioner_only() -> None:
    local = {"provisioner": "podbay.io/local-path", "reclaimPolicy": "Retain", "parameters": {"a": "b"}}
    assert errors("StorageClass", local) == [
        "parameters: Forbidden: parameters of podbay's provisioner are not supported by podbay",
        "reclaimPolicy: Forbidden: reclaimPolicy Retain is not supported by podbay"]
    assert errors("StorageClass", {**local, "provisioner": "ebs.csi.aws.com"}) == []


def test_an_update_does_not_report_what_the_stored_object_had() -> None:
    """An object stored before a rule existed can still be relabelled, finalized and deleted."""
    old = deployment(hostNetwork=True)
    new = deployment(hostNetwork=True)
    new["metadata"]["labels"] = {"a": "b"}
    assert errors("Deployment", new, old) == []
    worse = deployment(hostNetwork=True, hostPID=True)
    assert errors("Deployment", worse, old) == ["spec.template.spec.hostPID: Forbidden: not supported by podbay"]


def test_validation_errors_win_at_the_same_field() -> None:
    from podbay.api.fielderror import forbidden

    svc = {"spec": {"type": "ClusterIP", "loadBalancerClass": "x"}}
    upstream = forbidden("spec.loadBalancerClass", "may only be used when `type` is 'LoadBalancer'")
    assert [str(e) for e in support.admit("Service", svc, None, [upstream])] == [str(upstream)]


def test_readme_groups_by_kind_pod_first() -> None:
    lines = support.readme_lines()
    assert lines[0] == "- **Pod**"
    assert "- **Deployment**" in lines and "  - the Pod rules under `spec.template`" in lines
    assert lines[-1].startswith("- Every field of ") and "ConfigMap" in lines[-1]
