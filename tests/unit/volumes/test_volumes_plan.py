"""plan_volumes: media, tmpfs sizing, hugepage page sizes, unsupported types (pure, no root)."""

from __future__ import annotations

from typing import Any

import pytest

from podbay.errors import NotSupported, PermanentError
from podbay.volumes.plan import VolumePlan, plan_volumes, pod_memory_limit

GI = 1024**3
MI = 1024**2


def pod(volumes: list[dict[str, Any]], containers: list[dict[str, Any]] | None = None,
        inits: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"volumes": volumes, "containers": containers or [{"name": "c"}], **spec}
    if inits:
        s["initContainers"] = inits
    return {"metadata": {"name": "p", "uid": "u1"}, "spec": s}


def ctr(name: str, limits: dict[str, str] | None = None, requests: dict[str, str] | None = None,
        **kw: Any) -> dict[str, Any]:
    res: dict[str, Any] = {}
    if limits:
        res["limits"] = limits
    if requests:
        res["requests"] = requests
    return {"name": name, "resources": res, **kw}


def mem_vol(size_limit: str | None = None) -> dict[str, Any]:
    ed: dict[str, Any] = {"medium": "Memory"}
    if size_limit:
        ed["sizeLimit"] = size_limit
    return {"name": "m", "emptyDir": ed}


def one(p: dict[str, Any], alloc: int = 8 * GI) -> VolumePlan:
    plans = plan_volumes(p, alloc)
    assert len(plans) == 1
    return plans[0]


def test_default_empty_dir_and_sourceless_volume():
    plans = plan_volumes(pod([{"name": "a", "emptyDir": {"sizeLimit": "100Mi"}}, {"name": "b"}]), GI)
    assert plans == [
        VolumePlan(name="a", plugin="empty-dir", size_limit="100Mi"),
        VolumePlan(name="b", plugin="empty-dir"),
    ]


def test_memory_without_limits_is_node_allocatable():
    p = one(pod([mem_vol()]), alloc=3 * GI)
    assert (p.medium, p.size_bytes, p.size_limit) == ("Memory", 3 * GI, None)


def test_memory_size_limit_applies():
    assert one(pod([mem_vol("10Mi")])).size_bytes == 10 * MI


def test_memory_size_limit_above_allocatable_is_capped():
    assert one(pod([mem_vol("10Gi")]), alloc=GI).size_bytes == GI


def test_pod_memory_limit_caps_size_limit():
    p = pod([mem_vol("1Gi")], [ctr("a", {"memory": "64Mi"}), ctr("b", {"memory": "64Mi"})])
    assert one(p).size_bytes == 128 * MI


def test_pod_limit_ignored_unless_every_container_declares_one():
    p = pod([mem_vol()], [ctr("a", {"memory": "64Mi"}), ctr("b", {"cpu": "1"})])
    assert one(p, alloc=GI).size_bytes == GI
    assert pod_memory_limit(p) is None


def test_init_container_without_limit_disables_pod_limit():
    p = pod([mem_vol()], [ctr("a", {"memory": "64Mi"})], inits=[ctr("i", {"cpu": "1"})])
    assert pod_memory_limit(p) is None


def test_init_max_vs_app_sum():
    p = pod([mem_vol()], [ctr("a", {"memory": "100Mi"}), ctr("b", {"memory": "100Mi"})],
            inits=[ctr("i", {"memory": "300Mi"})])
    assert pod_memory_limit(p) == 300 * MI
    p = pod([mem_vol()], [ctr("a", {"memory": "100Mi"}), ctr("b", {"memory": "100Mi"})],
            inits=[ctr("i", {"memory": "150Mi"})])
    assert pod_memory_limit(p) == 200 * MI


def test_sidecar_counts_in_app_sum_and_under_later_inits():
    p = pod([mem_vol()], [ctr("a", {"memory": "100Mi"})],
            inits=[ctr("side", {"memory": "50Mi"}, restartPolicy="Always"), ctr("i", {"memory": "200Mi"})])
    # app: 100 + 50; init "i" runs next to the sidecar: 200 + 50
    assert pod_memory_limit(p) == 250 * MI


def test_pod_level_memory_limit_wins():
    p = pod([mem_vol()], [ctr("a")], resources={"limits": {"memory": "32Mi"}})
    assert one(p).size_bytes == 32 * MI


def test_memory_limit_zero_is_not_a_limit():
    p = pod([mem_vol()], [ctr("a", {"memory": "0"})])
    assert one(p, alloc=GI).size_bytes == GI


def test_unknown_medium():
    with pytest.raises(PermanentError) as ei:
        plan_volumes(pod([{"name": "x", "emptyDir": {"medium": "Disk"}}]), GI)
    assert str(ei.value) == 'MountVolume.SetUp failed for volume "x" : unknown storage medium "Disk"'


def hp_pod(medium: str, *requests: dict[str, str]) -> dict[str, Any]:
    cs = [ctr(f"c{i}", {**r, "memory": "1Gi"}, r) for i, r in enumerate(requests)] or [ctr("c")]
    return pod([{"name": "h", "emptyDir": {"medium": medium}}], cs)


def test_hugepages_single_size():
    p = one(hp_pod("HugePages", {"hugepages-2Mi": "4Mi"}))
    assert (p.medium, p.hugepage_size, p.size_bytes) == ("HugePages", "2Mi", None)


def test_hugepages_size_is_canonical():
    assert one(hp_pod("HugePages", {"hugepages-2048Ki": "4Mi"})).hugepage_size == "2Mi"


def test_hugepages_sized_medium_picks_matching_request():
    p = one(hp_pod("HugePages-1Gi", {"hugepages-2Mi": "4Mi"}, {"hugepages-1Gi": "1Gi"}))
    assert p.hugepage_size == "1Gi"


def test_hugepages_multiple_sizes():
    with pytest.raises(PermanentError) as ei:
        plan_volumes(hp_pod("HugePages", {"hugepages-2Mi": "4Mi"}, {"hugepages-1Gi": "1Gi"}), GI)
    assert str(ei.value) == ('MountVolume.SetUp failed for volume "h" : '
                             "medium: HugePages can't be used if container requests multiple huge page sizes")


def test_hugepages_no_request():
    with pytest.raises(PermanentError) as ei:
        plan_volumes(hp_pod("HugePages-2Mi", {"hugepages-1Gi": "1Gi"}), GI)
    assert str(ei.value).endswith(
        "medium HugePages-2Mi: hugePages storage requested, but there is no resource request for huge pages")
    with pytest.raises(PermanentError, match="medium HugePages: hugePages storage requested"):
        plan_volumes(hp_pod("HugePages"), GI)


def test_hugepages_from_init_container():
    p = pod([{"name": "h", "emptyDir": {"medium": "HugePages"}}], [ctr("a")],
            inits=[ctr("i", {"hugepages-2Mi": "2Mi"}, {"hugepages-2Mi": "2Mi"})])
    assert one(p).hugepage_size == "2Mi"


def test_hugepages_bad_medium_size():
    with pytest.raises(PermanentError, match="quantities must match the regular expression"):
        plan_volumes(hp_pod("HugePages-big", {"hugepages-2Mi": "4Mi"}), GI)


def test_host_path_defaults_type():
    p = one(pod([{"name": "h", "hostPath": {"path": "/data"}}]))
    assert p == VolumePlan(name="h", plugin="host-path", host_path="/data", host_path_type="")
    p = one(pod([{"name": "h", "hostPath": {"path": "/d", "type": "DirectoryOrCreate"}}]))
    assert p.host_path_type == "DirectoryOrCreate"


@pytest.mark.parametrize("kind", ["configMap", "secret", "persistentVolumeClaim", "projected", "downwardAPI"])
def test_other_types_not_supported(kind: str):
    with pytest.raises(NotSupported) as ei:
        plan_volumes(pod([{"name": "v", kind: {}}]), GI)
    assert str(ei.value) == f'volume "v": {kind} volumes are not supported by podbay yet'


def test_no_volumes():
    assert plan_volumes(pod([]), GI) == []
    assert plan_volumes({"spec": {"containers": []}}, GI) == []
