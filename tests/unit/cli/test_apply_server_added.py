"""A second `podbay apply` keeps what the server added (the kube-api-access volume and mounts)."""

from __future__ import annotations

import copy
from typing import Any

from podbay.api import serviceaccount as admission
from podbay.cli.apply import changed, merged, with_last_applied


def manifest() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"volumes": [{"name": "data", "emptyDir": {}}],
                     "containers": [{"name": "c", "image": "busybox:1.35",
                                     "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}}


def live_from(m: dict[str, Any]) -> dict[str, Any]:
    return admission.admit(with_last_applied(m), {}, "xyz12")


def test_reapplying_the_same_manifest_is_unchanged() -> None:
    live = live_from(manifest())
    new = merged(live, manifest())
    assert new["spec"] == live["spec"]
    assert not changed(live, new)


def test_a_user_change_keeps_the_server_added_entries() -> None:
    live = live_from(manifest())
    m2 = manifest()
    m2["spec"]["containers"][0]["image"] = "busybox:1.36"
    new = merged(live, m2)
    names = [v["name"] for v in new["spec"]["volumes"]]
    assert names == ["data", "kube-api-access-xyz12"]
    mounts = [vm["name"] for vm in new["spec"]["containers"][0]["volumeMounts"]]
    assert mounts == ["data", "kube-api-access-xyz12"]
    assert new["spec"]["containers"][0]["image"] == "busybox:1.36"


def test_entries_the_previous_apply_set_and_this_one_dropped_go() -> None:
    m1 = manifest()
    m1["spec"]["volumes"].append({"name": "old", "emptyDir": {}})
    live = live_from(m1)
    new = merged(copy.deepcopy(live), manifest())
    assert [v["name"] for v in new["spec"]["volumes"]] == ["data", "kube-api-access-xyz12"]
