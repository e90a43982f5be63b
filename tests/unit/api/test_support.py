"""The support policy for Pods: every v1.37 PodSpec/Container/Volume field is implemented or rejected
(the other kinds: test_support_kinds.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from podbay.api import schema, support
from podbay.api.defaults import default_pod
from podbay.api.validation import validate_pod

REPO = Path(__file__).resolve().parents[3]


def _fields(node: Any) -> list[str]:
    return sorted(schema.properties(schema.resolve(node)))


EXPANDED = {"spec.securityContext", "spec.volumes", "spec.containers[*].securityContext",
            "spec.initContainers[*].securityContext", "spec.volumes[*].projected"}


def schema_paths() -> list[str]:
    return [p for p in _schema_paths() if p not in EXPANDED]


def _schema_paths() -> list[str]:
    pod = schema.definition(schema.definition_name("", "v1", "Pod"))
    spec = schema.child(pod, "spec")
    out = [f"spec.{f}" for f in _fields(spec)]
    for key in ("containers", "initContainers"):
        c = schema.items(schema.child(schema.resolve(spec), key))
        out += [f"spec.{key}[*].{f}" for f in _fields(c)]
        sc = schema.child(schema.resolve(c), "securityContext")
        out += [f"spec.{key}[*].securityContext.{f}" for f in _fields(sc)]
    out += [f"spec.securityContext.{f}" for f in _fields(schema.child(schema.resolve(spec), "securityContext"))]
    vol = schema.items(schema.child(schema.resolve(spec), "volumes"))
    out += [f"spec.volumes[*].{f}" for f in _fields(vol)]
    projected = schema.child(schema.resolve(vol), "projected")
    out += [f"spec.volumes[*].projected.{f}" for f in _fields(projected) if f != "sources"]
    src = schema.items(schema.child(schema.resolve(projected), "sources"))
    out += [f"spec.volumes[*].projected.sources[*].{f}" for f in _fields(src)]
    return out


def test_every_schema_field_is_implemented_or_in_the_table() -> None:
    paths = schema_paths()
    assert len(paths) > 150
    missing = [p for p in paths if not support.covered("Pod", p)]
    assert missing == []


def test_the_table_names_real_fields() -> None:
    paths = set(schema_paths()) | {"metadata.annotations", "spec.os.name"}
    unknown = [r.path for r in support.UNSUPPORTED["Pod"]
               if not any(r.path == p or r.path.startswith((p + ".", p + "[")) for p in paths)]
    assert unknown == []


def errors(p: dict[str, Any]) -> list[Any]:
    """Validation, then the support table (the registry's order)."""
    return support.admit("Pod", p, None, validate_pod(p))


def pod(**spec: Any) -> dict[str, Any]:
    return default_pod({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
                        "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}})


@pytest.mark.parametrize(("mutate", "error"), [
    (lambda p: p["spec"].update(hostNetwork=True), "spec.hostNetwork: Forbidden: not supported by podbay"),
    (lambda p: p["spec"]["containers"][0].update(resizePolicy=[{"resourceName": "cpu", "restartPolicy": "NotRequired"}]),
     "spec.containers[0].resizePolicy: Forbidden: in-place resize is not supported by podbay"),
    (lambda p: p["spec"]["containers"][0]["resources"].update(limits={"example.com/gpu": "1"}),
     "spec.containers[0].resources.limits[example.com/gpu]: Forbidden: extended resources are not supported by podbay"),
    (lambda p: p["spec"].update(volumes=[{"name": "v", "gitRepo": {"repository": "x"}}]),
     "spec.volumes[0].gitRepo: Forbidden: gitRepo volumes are not supported by podbay"),
    (lambda p: p["spec"]["containers"][0].update(securityContext={"appArmorProfile": {"type": "RuntimeDefault"}}),
     "spec.containers[0].securityContext.appArmorProfile: Forbidden: AppArmor is not supported by podbay"),
    (lambda p: p["metadata"].update(annotations={"container.apparmor.security.beta.kubernetes.io/c": "runtime/default"}),
     "metadata.annotations[container.apparmor.security.beta.kubernetes.io/c]: Forbidden: AppArmor is not supported by podbay"),
])
def test_rejections(mutate: Any, error: str) -> None:
    """Regression (issue 10): appArmorProfile and the AppArmor annotation were silently ignored."""
    p = pod()
    mutate(p)
    assert [str(e) for e in errors(p)] == [error]


def test_unconfined_apparmor_is_fine() -> None:
    p = pod(securityContext={"appArmorProfile": {"type": "Unconfined"}})
    p["metadata"]["annotations"] = {"container.apparmor.security.beta.kubernetes.io/c": "unconfined"}
    assert errors(p) == []


def test_readme_lists_the_table() -> None:
    readme = (REPO / "README.md").read_text()
    begin, end = "<!-- support-table:begin -->", "<!-- support-table:end -->"
    assert begin in readme and end in readme, "run scripts/support_table.py"
    body = readme.split(begin, 1)[1].split(end, 1)[0].strip().splitlines()
    assert body == support.readme_lines(), "README out of date: run scripts/support_table.py"


def test_a_pod_with_20000_containers_is_refused() -> None:
    """Regression (issue 11 item 6): 20 000 containers were accepted and 5 400 conmons started."""
    p = pod()
    p["spec"]["containers"] = [{"name": f"c{i}", "image": "busybox"} for i in range(20000)]
    p = default_pod(p)
    errs = [str(e) for e in errors(p)]
    assert errs[-1] == "spec.containers: Too many: 20000: must have at most 64 items"
