"""Server-side apply and managedFields: exact FieldsV1, ownership, conflicts, pruning, the field
manager chain, and managedFields of plain writes compared with what real clusters record."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from podbay.api.patch import (
    ApplyConflict,
    PatchError,
    default_manager,
    server_side_apply,
    update_managed_fields,
    validate_patch_options,
)
from podbay.api.patch.ssa import decode_apply_body, reset_fields, zero_object

POD = "io.k8s.api.core.v1.Pod"
T0, T1, T2 = "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"


def pod(image: str = "nginx:1", labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    md: dict[str, Any] = {"name": "p", "namespace": "default"}
    if labels is not None:
        md["labels"] = labels
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": {"containers": [{"name": "app", "image": image}], **spec}}


def stored(obj: dict[str, Any]) -> dict[str, Any]:
    """What the registry stores after the write: uid and creationTimestamp set."""
    out = copy.deepcopy(obj)
    out["metadata"].update(uid="u-1", creationTimestamp=T0, resourceVersion="1")
    return out


def entries(obj: dict[str, Any]) -> list[tuple[str, str, Any]]:
    return [(e["manager"], e["operation"], e["fieldsV1"])
            for e in obj["metadata"].get("managedFields", [])]


APP = 'k:{"name":"app"}'


def test_apply_creates_and_owns_exactly_what_it_sets() -> None:
    cfg = pod(labels={"app": "web"})
    cfg["spec"]["containers"][0]["ports"] = [{"containerPort": 80}]
    out = server_side_apply(None, cfg, "kubectl", False, POD, T0)
    assert out["metadata"]["managedFields"] == [{
        "manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "time": T0,
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}},
                     "f:spec": {"f:containers": {APP: {
                         "f:image": {}, "f:name": {},
                         "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {
                             "f:containerPort": {}, ".": {}}},
                         ".": {}}}}}}]
    assert out["spec"]["containers"] == cfg["spec"]["containers"]
    assert out["metadata"]["labels"] == {"app": "web"}
    assert "status" in out and out["status"] == {}


def test_reapplying_the_same_config_changes_nothing() -> None:
    live = stored(server_side_apply(None, pod(), "kubectl", False, POD, T0))
    again = server_side_apply(live, pod(), "kubectl", False, POD, T1)
    assert again == live  # no change: the entry keeps its time


def test_conflict_message_and_causes_then_force_takes_ownership() -> None:
    live = stored(server_side_apply(None, pod(), "kubectl", False, POD, T0))
    edited = copy.deepcopy(live)
    edited["spec"]["containers"][0]["image"] = "nginx:2"
    live = update_managed_fields(live, edited, "kubectl-edit", "Update", T1)
    with pytest.raises(ApplyConflict) as e:
        server_side_apply(live, pod("nginx:3"), "kubectl", False, POD, T2)
    assert e.value.code == 409 and e.value.reason == "Conflict"
    assert e.value.message == ('Apply failed with 1 conflict: conflict with "kubectl-edit" using '
                               'v1: .spec.containers[name="app"].image')
    assert e.value.status()["details"] == {"causes": [{
        "type": "FieldManagerConflict", "message": 'conflict with "kubectl-edit" using v1',
        "field": '.spec.containers[name="app"].image'}]}
    out = server_side_apply(live, pod("nginx:3"), "kubectl", True, POD, T2)
    assert out["spec"]["containers"][0]["image"] == "nginx:3"
    assert [m for m, _, _ in entries(out)] == ["kubectl"]  # kubectl-edit lost its only field


def test_several_conflicts_are_grouped_by_manager() -> None:
    live = stored(server_side_apply(None, pod(labels={"a": "1"}), "alpha", False, POD, T0))
    with pytest.raises(ApplyConflict) as e:
        server_side_apply(live, pod("nginx:9", labels={"a": "2"}), "beta", False, POD, T1)
    assert e.value.message == ('Apply failed with 2 conflicts: conflicts with "alpha":\n'
                               "- .metadata.labels.a\n"
                               '- .spec.containers[name="app"].image')


def test_same_value_is_shared_not_a_conflict() -> None:
    live = stored(server_side_apply(None, pod(), "alpha", False, POD, T0))
    out = server_side_apply(live, pod(), "beta", False, POD, T1)
    # nothing changed, so (as upstream) beta's new entry gets no time and sorts first
    assert [m for m, _, _ in entries(out)] == ["beta", "alpha"]
    assert "time" not in out["metadata"]["managedFields"][0]
    # alpha stops applying the image: beta still owns it, so it stays
    cfg = pod()
    del cfg["spec"]["containers"][0]["image"]
    out = server_side_apply(stored(out), cfg, "alpha", False, POD, T2)
    assert out["spec"]["containers"][0]["image"] == "nginx:1"


def test_fields_only_the_applier_owned_are_removed() -> None:
    live = stored(server_side_apply(None, pod(labels={"a": "1", "b": "2"}), "kubectl", False, POD, T0))
    out = server_side_apply(live, pod(labels={"a": "1"}), "kubectl", False, POD, T1)
    assert out["metadata"]["labels"] == {"a": "1"}
    out = server_side_apply(stored(out), pod(), "kubectl", False, POD, T2)
    assert "labels" not in out["metadata"]
    assert entries(out)[0][2] == {"f:spec": {"f:containers": {APP: {"f:image": {}, "f:name": {},
                                                                    ".": {}}}}}


def test_list_items_the_applier_stops_applying_are_removed() -> None:
    two = pod()
    two["spec"]["containers"].append({"name": "side", "image": "busybox"})
    live = stored(server_side_apply(None, two, "kubectl", False, POD, T0))
    out = server_side_apply(live, pod(), "kubectl", False, POD, T1)
    assert [c["name"] for c in out["spec"]["containers"]] == ["app"]


def test_fields_owned_by_an_updater_survive_pruning() -> None:
    live = stored(server_side_apply(None, pod(labels={"a": "1"}), "kubectl", False, POD, T0))
    labelled = copy.deepcopy(live)
    labelled["metadata"]["labels"]["team"] = "x"
    live = update_managed_fields(live, labelled, "kubectl-label", "Update", T1)
    out = server_side_apply(live, pod(), "kubectl", False, POD, T2)
    assert out["metadata"]["labels"] == {"team": "x"}


def test_sets_and_atomic_lists() -> None:
    cfg = pod()
    cfg["metadata"]["finalizers"] = ["example.com/f"]
    cfg["spec"]["containers"][0]["args"] = ["a", "b"]
    out = server_side_apply(None, cfg, "kubectl", False, POD, T0)
    fv = entries(out)[0][2]
    assert fv["f:metadata"] == {"f:finalizers": {'v:"example.com/f"': {}}}
    assert fv["f:spec"]["f:containers"][APP]["f:args"] == {}


def test_status_is_not_owned_on_the_main_resource() -> None:
    cfg = pod()
    cfg["status"] = {"phase": "Running"}
    out = server_side_apply(None, cfg, "kubectl", False, POD, T0)
    assert "f:status" not in entries(out)[0][2]
    assert reset_fields(POD, "status") == frozenset({
        (("f", "spec"),), (("f", "metadata"), ("f", "deletionTimestamp")),
        (("f", "metadata"), ("f", "ownerReferences"))})


def test_existing_object_without_managed_fields_goes_to_before_first_apply() -> None:
    live = stored(pod(labels={"x": "1"}))
    with pytest.raises(ApplyConflict) as e:
        server_side_apply(live, pod("nginx:2"), "kubectl", False, POD, T1)
    assert e.value.message == ('Apply failed with 1 conflict: conflict with "before-first-apply" '
                               'using v1: .spec.containers[name="app"].image')
    out = server_side_apply(live, pod(), "kubectl", False, POD, T1)
    assert [(m, op) for m, op, _ in entries(out)] == [("kubectl", "Apply"),
                                                      ("before-first-apply", "Update")]
    assert entries(out)[1][2] == {
        "f:metadata": {"f:labels": {".": {}, "f:x": {}}},
        "f:spec": {"f:containers": {APP: {".": {}, "f:image": {}, "f:name": {}}}}}


def test_client_side_apply_upgrades_without_conflicts_for_kubectl() -> None:
    cfg = pod()
    last = json.dumps(cfg, separators=(",", ":"), sort_keys=True) + "\n"
    created = copy.deepcopy(cfg)
    created["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": last}
    live = stored(update_managed_fields(None, created, "kubectl-client-side-apply", "Update", T0))
    # the image is owned by kubectl-client-side-apply; kubectl may take it over because the
    # last-applied configuration says the same config set it
    out = server_side_apply(live, pod("nginx:2"), "kubectl", False, POD, T1)
    assert out["spec"]["containers"][0]["image"] == "nginx:2"
    ann = json.loads(out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert ann["spec"]["containers"][0]["image"] == "nginx:2"
    with pytest.raises(ApplyConflict):  # any other manager name does not get that
        server_side_apply(live, pod("nginx:2"), "other", False, POD, T1)


@pytest.mark.parametrize(("cfg", "message"), [
    ({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "p"}},
     "invalid object type: apps/v1, Kind=Deployment"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "managedFields": []}},
     "metadata.managedFields must be nil"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
      "spec": {"bogus": 1}},
     "failed to create typed patch object (default/p; /v1, Kind=Pod): .spec.bogus: field not "
     "declared in schema"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
      "spec": {"containers": [{"name": "a"}, {"name": "a"}]}},
     'failed to create typed patch object (/p; /v1, Kind=Pod): .spec.containers: duplicate '
     'entries for key [name="a"]'),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
      "spec": {"containers": [{"image": "x"}]}},
     "failed to create typed patch object (/p; /v1, Kind=Pod): .spec.containers: element 0: "
     'associative list with keys has an element that omits key field "name" (and doesn\'t have '
     "default value)"),
])
def test_bad_configurations(cfg: dict[str, Any], message: str) -> None:
    with pytest.raises(PatchError) as e:
        server_side_apply(None, cfg, "kubectl", False, POD, T0)
    assert (e.value.code, e.value.message) == (400, message)


def test_apply_body_yaml_or_json() -> None:
    assert decode_apply_body(b"kind: Pod\napiVersion: v1\n") == {"kind": "Pod", "apiVersion": "v1"}
    assert decode_apply_body(b'{"kind":"Pod"}') == {"kind": "Pod"}
    with pytest.raises(PatchError) as e:
        decode_apply_body(b"- a\n")
    assert e.value.code == 400 and e.value.message.startswith("error decoding YAML")


def test_patch_options() -> None:
    with pytest.raises(PatchError) as e:
        validate_patch_options("application/apply-patch+yaml", "", None)
    assert e.value.code == 422 and e.value.message == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for '
        "apply patch")
    with pytest.raises(PatchError) as e:
        validate_patch_options("application/merge-patch+json", "x", True)
    assert e.value.message == ('PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not '
                               "be specified for non-apply patch")
    validate_patch_options("application/apply-patch+yaml", "kubectl", True)


def test_default_manager_from_user_agent() -> None:
    assert default_manager("", "kubectl/v1.37.1 (linux/amd64) kubernetes/f78e722") == "kubectl"
    assert default_manager(None, "OpenAPI-Generator/37.0.2/python") == "OpenAPI-Generator"
    assert default_manager("mine", "kubectl/v1") == "mine"
    assert default_manager("", "a\x00b" + "x" * 200) == "ab" + "x" * 126


# --- managedFields of plain writes, against what real clusters show --------------------------

def test_kubectl_create_secret_records_what_a_cluster_records() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "basic-auth",
                                                                 "namespace": "longhorn-system"},
              "data": {"auth": "Z2RoYQ=="}, "type": "Opaque"}
    out = update_managed_fields(None, secret, "kubectl-create", "Update", T0)
    assert out["metadata"]["managedFields"] == [{
        "manager": "kubectl-create", "operation": "Update", "apiVersion": "v1", "time": T0,
        "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {".": {}, "f:auth": {}}, "f:type": {}}}]


def test_kubectl_create_csr_has_no_dot_on_spec() -> None:
    csr = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
           "metadata": {"name": "agent-smith"},
           "spec": {"groups": ["system:authenticated"], "request": "LS0t",
                    "signerName": "kubernetes.io/kube-apiserver-client", "usages": ["client auth"]}}
    out = update_managed_fields(None, csr, "kubectl-create", "Update", T0)
    assert out["metadata"]["managedFields"][0]["fieldsV1"] == {
        "f:spec": {"f:groups": {}, "f:request": {}, "f:signerName": {}, "f:usages": {}}}


def test_create_of_a_pod_owns_defaulted_fields_too() -> None:
    p = pod(labels={"run": "x"}, restartPolicy="Always", dnsPolicy="ClusterFirst")
    p["spec"]["containers"][0]["resources"] = {}
    out = update_managed_fields(None, p, "kubectl-run", "Update", T0)
    assert out["metadata"]["managedFields"][0]["fieldsV1"] == {
        "f:metadata": {"f:labels": {".": {}, "f:run": {}}},
        "f:spec": {"f:containers": {APP: {".": {}, "f:image": {}, "f:name": {},
                                          "f:resources": {}}},
                   "f:dnsPolicy": {}, "f:restartPolicy": {}}}


def test_updates_by_the_same_manager_accumulate_and_move_the_time() -> None:
    live = stored(update_managed_fields(None, pod(), "m", "Update", T0))
    new = copy.deepcopy(live)
    new["metadata"]["labels"] = {"a": "b"}
    out = update_managed_fields(live, new, "m", "Update", T1)
    (e,) = out["metadata"]["managedFields"]
    assert e["time"] == T1 and "f:labels" in e["fieldsV1"]["f:metadata"]
    # an update that changes nothing keeps the entry and its time
    same = update_managed_fields(stored(out), copy.deepcopy(stored(out)), "m", "Update", T2)
    assert same["metadata"]["managedFields"][0]["time"] == T1


def test_existing_object_without_managed_fields_is_not_tracked_by_updates() -> None:
    live = stored(pod())
    new = copy.deepcopy(live)
    new["metadata"]["labels"] = {"a": "b"}
    out = update_managed_fields(live, new, "kubectl-label", "Update", T1)
    assert "managedFields" not in out["metadata"]


def test_client_can_reset_managed_fields() -> None:
    live = stored(update_managed_fields(None, pod(), "m", "Update", T0))
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = []
    out = update_managed_fields(live, new, "m", "Update", T1)
    assert "managedFields" not in out["metadata"]


def test_status_subresource_entries() -> None:
    live = stored(update_managed_fields(None, pod(), "kubectl-create", "Update", T0))
    live["status"] = {"phase": "Pending"}
    new = copy.deepcopy(live)
    new["status"] = {"phase": "Running"}
    new["spec"]["containers"][0]["image"] = "ignored-on-status"
    out = update_managed_fields(live, new, "kubelet", "Update", T1, subresource="status")
    kubelet = [e for e in out["metadata"]["managedFields"] if e["manager"] == "kubelet"][0]
    assert kubelet["subresource"] == "status"
    assert kubelet["fieldsV1"] == {"f:status": {"f:phase": {}}}


def test_update_managers_are_capped_into_ancient_changes() -> None:
    obj = stored(update_managed_fields(None, pod(), "m0", "Update", "2026-01-01T00:00:00Z"))
    for i in range(1, 12):
        new = copy.deepcopy(obj)
        new["metadata"].setdefault("labels", {})[f"l{i}"] = "x"
        obj = stored(update_managed_fields(obj, new, f"m{i}", "Update",
                                           f"2026-01-01T00:{i:02d}:00Z"))
    names = [e["manager"] for e in obj["metadata"]["managedFields"]]
    assert len(names) == 10 and names[0] == "ancient-changes"
    assert "m0" not in names and "m1" not in names and "m2" not in names


def test_update_never_fails() -> None:
    live = stored(update_managed_fields(None, pod(), "m", "Update", T0))
    broken = copy.deepcopy(live)
    broken["metadata"]["managedFields"] = [{"manager": "x", "operation": "Nope"}]
    out = update_managed_fields(live, broken, "m", "Update", T1)
    assert out["metadata"]["managedFields"] == live["metadata"]["managedFields"]


def test_zero_objects() -> None:
    assert zero_object(POD) == {"metadata": {"creationTimestamp": None},
                                "spec": {"containers": None}, "status": {}}
    assert zero_object("io.k8s.api.core.v1.ConfigMap") == {"metadata": {"creationTimestamp": None}}
