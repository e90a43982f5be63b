from __future__ import annotations

from typing import Any

import pytest

from podbay.core.eviction import (
    SIGNAL_CONTAINER,
    SIGNAL_EMPTYDIR,
    SIGNAL_POD,
    Violation,
    eviction_status,
    is_local_ephemeral,
    local_storage_violation,
    pod_ephemeral_limit,
)

MI = 1024**2


def ctr(name: str, limit: str | None = None, **extra: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": "busybox", **extra}
    if limit is not None:
        c["resources"] = {"limits": {"ephemeral-storage": limit}}
    return c


def pod(volumes: list[dict[str, Any]] | None = None, containers: list[dict[str, Any]] | None = None,
        **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p"},
            "spec": {"volumes": volumes or [], "containers": containers or [ctr("app")], **spec}}


def test_empty_dir_strictly_greater() -> None:
    p = pod([{"name": "scratch", "emptyDir": {"sizeLimit": "1Mi"}}])
    assert local_storage_violation(p, {"scratch": MI}) is None
    v = local_storage_violation(p, {"scratch": MI + 1})
    assert v == Violation(SIGNAL_EMPTYDIR, 'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi". ')
    assert v.message.endswith(". ")


def test_empty_dir_limit_printed_canonically_and_unknown_usage_ignored() -> None:
    p = pod([{"name": "a", "emptyDir": {"sizeLimit": "1024Ki"}}, {"name": "b", "emptyDir": {"sizeLimit": "100M"}},
             {"name": "c", "emptyDir": {}}])
    assert local_storage_violation(p, {"c": 10**12}) is None  # no sizeLimit, no pod limit
    assert local_storage_violation(p, {"b": 10**9}) == Violation(
        SIGNAL_EMPTYDIR, 'Usage of EmptyDir volume "b" exceeds the limit "100M". ')
    v = local_storage_violation(p, {"a": 2 * MI, "b": 10**9})
    assert v is not None and v.message == 'Usage of EmptyDir volume "a" exceeds the limit "1Mi". '


def test_zero_size_limit_never_evicts() -> None:
    p = pod([{"name": "a", "emptyDir": {"sizeLimit": "0"}}])
    assert local_storage_violation(p, {"a": 10**9}) is None


def test_memory_empty_dir_size_limit_applies_but_not_to_pod_sum() -> None:
    vols = [{"name": "m", "emptyDir": {"medium": "Memory", "sizeLimit": "100Mi"}}]
    assert local_storage_violation(pod(vols), {"m": 101 * MI}) is not None
    # Memory emptyDir without sizeLimit + container limit 100Mi writing 200 MB: not evicted.
    p = pod([{"name": "m", "emptyDir": {"medium": "Memory"}}], [ctr("app", "100Mi")])
    assert local_storage_violation(p, {"m": 200 * 10**6}, {"app": 0}) is None


def test_pod_level_counts_disk_empty_dir_without_size_limit() -> None:
    p = pod([{"name": "d", "emptyDir": {}}], [ctr("app", "100Mi")])
    assert local_storage_violation(p, {"d": 99 * 10**6}, {"app": 0}) is None
    assert local_storage_violation(p, {"d": 101 * MI}, {"app": 0}) == Violation(
        SIGNAL_POD, "Pod ephemeral local storage usage exceeds the total limit of containers 100Mi. ")


def test_pod_usage_sums_volumes_containers_and_extra() -> None:
    p = pod([{"name": "cm", "configMap": {"name": "x"}}, {"name": "hp", "hostPath": {"path": "/x"}}],
            [ctr("a", "1Mi"), ctr("b", "1Mi")])
    usage = {"cm": MI // 2, "hp": 10**9}  # hostPath is not pod storage
    assert local_storage_violation(p, usage, {"a": MI // 2, "b": MI // 2}, pod_extra_usage=MI // 2) is None
    v = local_storage_violation(p, usage, {"a": MI // 2, "b": MI // 2}, pod_extra_usage=MI // 2 + 1)
    assert v is not None and v.message == "Pod ephemeral local storage usage exceeds the total limit of containers 2Mi. "


def test_container_limit() -> None:
    p = pod(containers=[ctr("a"), ctr("b", "100Mi"), ctr("c", "0")])
    # A zero container limit means "no limit" at the container level.
    assert local_storage_violation(p, {}, {"a": 0, "b": 40 * MI, "c": 50 * MI}) is None
    # Pod limit = 100Mi (only b declares one) trips first when the total is over it.
    v = local_storage_violation(p, {}, {"a": 0, "b": 100 * MI + 1, "c": 0})
    assert v is not None and v.signal == SIGNAL_POD


def test_container_limit_when_pod_total_is_fine() -> None:
    # Two limits: pod total 200Mi, one container over its own 100Mi.
    p = pod(containers=[ctr("a", "100Mi"), ctr("b", "100Mi")])
    v = local_storage_violation(p, {}, {"a": 0, "b": 100 * MI + 1})
    assert v == Violation(SIGNAL_CONTAINER, 'Container b exceeded its local ephemeral storage limit "100Mi". ')
    assert local_storage_violation(p, {}, {"a": 100 * MI, "b": 100 * MI}) is None


def test_order_empty_dir_then_pod_then_container() -> None:
    p = pod([{"name": "d", "emptyDir": {"sizeLimit": "1Mi"}}], [ctr("a", "1Mi")])
    everything = local_storage_violation(p, {"d": 5 * MI}, {"a": 5 * MI})
    assert everything is not None and everything.signal == SIGNAL_EMPTYDIR
    pod_and_ctr = local_storage_violation(p, {"d": MI}, {"a": 5 * MI})
    assert pod_and_ctr is not None and pod_and_ctr.signal == SIGNAL_POD


def test_pod_limit_aggregation_like_pod_limits() -> None:
    spec: dict[str, Any] = {
        "containers": [ctr("a", "1Gi"), ctr("b")],
        "initContainers": [ctr("init", "3Gi"), ctr("side", "512Mi", restartPolicy="Always")],
    }
    # regular 1Gi + sidecar 512Mi = 1.5Gi; classic init 3Gi (before the sidecar) wins the max.
    value, fmt = pod_ephemeral_limit(spec) or (0, "")
    assert value == 3 * 1024**3 and fmt == "BinarySI"
    spec["overhead"] = {"ephemeral-storage": "1Gi"}
    assert (pod_ephemeral_limit(spec) or (0, ""))[0] == 4 * 1024**3
    assert pod_ephemeral_limit({"containers": [ctr("a")]}) is None


@pytest.mark.parametrize(
    ("volume", "expected"),
    [
        ({"name": "v", "emptyDir": {}}, True),
        ({"name": "v", "emptyDir": {"medium": ""}}, True),
        ({"name": "v", "emptyDir": {"medium": "Memory"}}, False),
        ({"name": "v", "emptyDir": {"medium": "HugePages-2Mi"}}, False),
        ({"name": "v", "configMap": {"name": "c"}}, True),
        ({"name": "v", "downwardAPI": {"items": []}}, True),
        ({"name": "v", "hostPath": {"path": "/"}}, False),
        ({"name": "v", "secret": {"secretName": "s"}}, False),
    ],
)
def test_is_local_ephemeral(volume: dict[str, Any], expected: bool) -> None:
    assert is_local_ephemeral(volume) is expected


def test_eviction_status() -> None:
    assert eviction_status("m. ") == {"phase": "Failed", "reason": "Evicted", "message": "m. "}
