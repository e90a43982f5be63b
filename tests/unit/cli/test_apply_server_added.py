"""A second `podbay apply` keeps what the server added (the kube-api-access volume and mounts): the
three-way patch never deletes what the last applied configuration did not have."""

from __future__ import annotations

import copy
import json
from typing import Any

from podbay.api import serviceaccount as admission
from podbay.api.patch import apply_patch
from podbay.api.threeway import three_way_merge_patch
from podbay.cli.commands.apply import parse_last_applied, with_last_applied

POD = "io.k8s.api.core.v1.Pod"


def manifest() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"volumes": [{"name": "data", "emptyDir": {}}],
                     "containers": [{"name": "c", "image": "busybox:1.35",
                                     "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}}


def live_from(m: dict[str, Any]) -> dict[str, Any]:
    return admission.admit(with_last_applied(m), {}, "xyz12")


def reapply(live: dict[str, Any], m: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    patch = three_way_merge_patch(parse_last_applied(live), with_last_applied(m), live, POD)
    return patch, apply_patch("application/strategic-merge-patch+json", live, json.dumps(patch), POD)


def test_reapplying_the_same_manifest_changes_nothing() -> None:
    """Only kubectl's order directives (the server's entries make the lists longer than the manifest's,
    so kubectl too sends them and says "configured"); the object comes back as it was."""
    live = live_from(manifest())
    patch, new = reapply(live, manifest())
    assert patch == {"spec": {"$setElementOrder/containers": [{"name": "c"}],
                              "$setElementOrder/volumes": [{"name": "data"}],
                              "containers": [{"$setElementOrder/volumeMounts": [{"mountPath": "/data"}],
                                              "name": "c"}]}}
    assert new == live


def test_a_user_change_keeps_the_server_added_entries() -> None:
    live = live_from(manifest())
    m2 = manifest()
    m2["spec"]["containers"][0]["image"] = "busybox:1.36"
    _, new = reapply(live, m2)
    assert [v["name"] for v in new["spec"]["volumes"]] == ["data", "kube-api-access-xyz12"]
    assert [vm["name"] for vm in new["spec"]["containers"][0]["volumeMounts"]] == ["data", "kube-api-access-xyz12"]
    assert new["spec"]["containers"][0]["image"] == "busybox:1.36"


def test_entries_the_previous_apply_set_and_this_one_dropped_go() -> None:
    m1 = manifest()
    m1["spec"]["volumes"].append({"name": "old", "emptyDir": {}})
    _, new = reapply(copy.deepcopy(live_from(m1)), manifest())
    assert [v["name"] for v in new["spec"]["volumes"]] == ["data", "kube-api-access-xyz12"]
