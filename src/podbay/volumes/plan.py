"""What each pod volume needs on the node (pure): plugin, medium, tmpfs size, hugepage size, hostPath.

Mirrors the kubelet's emptyDir/hostPath plugins (SEMANTICS §1, §3). Errors carry the kubelet's
node-side messages, prefixed the way the FailedMount event prints them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from podbay.api.quantity import canonical, parse_quantity, to_bytes
from podbay.errors import NotSupported, PermanentError

EMPTY_DIR = "empty-dir"
HOST_PATH = "host-path"

MEDIUM_DEFAULT = ""
MEDIUM_MEMORY = "Memory"
MEDIUM_HUGEPAGES = "HugePages"
HUGEPAGES_MEDIUM_PREFIX = "HugePages-"
HUGEPAGES_RESOURCE_PREFIX = "hugepages-"

HOST_PATH_TYPES = (
    "", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice",
)


@dataclass(frozen=True)
class VolumePlan:
    name: str
    plugin: str                      # "empty-dir" | "host-path"
    medium: str = ""                 # emptyDir medium as written ("", "Memory", "HugePages", "HugePages-2Mi")
    size_bytes: int | None = None    # tmpfs size= (Memory only); 0 means "no size option"
    size_limit: str | None = None    # emptyDir sizeLimit as written (eviction compares usage with it)
    hugepage_size: str | None = None  # canonical quantity for hugetlbfs pagesize=
    host_path: str | None = None
    host_path_type: str | None = None
    read_only_source: bool = False


def setup_failed(name: str, msg: str) -> PermanentError:
    """The kubelet's FailedMount wording (SEMANTICS §3.2)."""
    return PermanentError(f'MountVolume.SetUp failed for volume "{name}" : {msg}')


def is_hugepage_medium(medium: str) -> bool:
    return medium == MEDIUM_HUGEPAGES or medium.startswith(HUGEPAGES_MEDIUM_PREFIX)


def plan_volumes(pod: dict[str, Any], node_allocatable_bytes: int) -> list[VolumePlan]:
    spec = pod.get("spec") or {}
    return [_plan_one(v, pod, node_allocatable_bytes) for v in spec.get("volumes") or []]


def _plan_one(vol: dict[str, Any], pod: dict[str, Any], node_allocatable: int) -> VolumePlan:
    name = str(vol.get("name", ""))
    sources = [k for k in vol if k != "name" and vol[k] is not None]
    # v1 defaulting turns a source-less volume into emptyDir: {} (SEMANTICS §0).
    kind = sources[0] if sources else "emptyDir"
    if kind == "emptyDir":
        return _plan_empty_dir(name, vol.get("emptyDir") or {}, pod, node_allocatable)
    if kind == "hostPath":
        hp = vol.get("hostPath") or {}
        return VolumePlan(name=name, plugin=HOST_PATH, host_path=str(hp.get("path", "")),
                          host_path_type=str(hp.get("type") or ""))
    raise NotSupported(f'volume "{name}": {kind} volumes are not supported by podbay yet')


def _plan_empty_dir(name: str, ed: dict[str, Any], pod: dict[str, Any], node_allocatable: int) -> VolumePlan:
    medium = str(ed.get("medium") or "")
    raw_limit = ed.get("sizeLimit")
    size_limit = None if raw_limit is None else str(raw_limit)
    if medium == MEDIUM_DEFAULT:
        return VolumePlan(name=name, plugin=EMPTY_DIR, size_limit=size_limit)
    if medium == MEDIUM_MEMORY:
        size = memory_volume_size(pod, node_allocatable, raw_limit)
        return VolumePlan(name=name, plugin=EMPTY_DIR, medium=medium, size_bytes=size, size_limit=size_limit)
    if is_hugepage_medium(medium):
        try:
            page = hugepage_size(medium, pod)
        except ValueError as exc:
            raise setup_failed(name, str(exc)) from exc
        return VolumePlan(name=name, plugin=EMPTY_DIR, medium=medium, size_limit=size_limit, hugepage_size=page)
    raise setup_failed(name, f'unknown storage medium "{medium}"')


# --- tmpfs size (calculateEmptyDirMemorySize) ------------------------------------------------------

def memory_volume_size(pod: dict[str, Any], node_allocatable: int, size_limit: Any) -> int:
    """min(node allocatable, pod memory limit if declared, sizeLimit if > 0)."""
    size = node_allocatable
    pod_limit = pod_memory_limit(pod)
    if pod_limit is not None and 0 < pod_limit <= size:
        size = pod_limit
    if size_limit is not None:
        limit = to_bytes(size_limit)
        if 0 < limit <= size:
            size = limit
    return size


def _mem_limit(obj: dict[str, Any] | None) -> Fraction | None:
    limits = ((obj or {}).get("resources") or {}).get("limits") or {}
    if "memory" not in limits:
        return None
    value = parse_quantity(limits["memory"])
    return value if value != 0 else None


def pod_memory_limit(pod: dict[str, Any]) -> int | None:
    """The memory limit the kubelet puts on the pod cgroup, or None when not every container has one.

    Same aggregation as resourcehelper.PodLimits: sum(app + sidecars) vs max over init containers of
    (init limit + sidecars started before it). Pod-level resources win when declared.
    """
    spec = pod.get("spec") or {}
    pod_level = _mem_limit(spec)
    if pod_level is not None:
        return math.ceil(pod_level)
    containers = spec.get("containers") or []
    inits = spec.get("initContainers") or []
    limits = [_mem_limit(c) for c in [*containers, *inits]]
    if not limits or any(v is None for v in limits):
        return None
    app = sum((_mem_limit(c) or Fraction(0) for c in containers), Fraction(0))
    sidecars = Fraction(0)
    init_max = Fraction(0)
    for c in inits:
        lim = _mem_limit(c) or Fraction(0)
        if c.get("restartPolicy") == "Always":
            app += lim
            sidecars += lim
            effective = sidecars
        else:
            effective = lim + sidecars
        init_max = max(init_max, effective)
    return math.ceil(max(app, init_max))


# --- hugepages (getPageSizeMountOption) ------------------------------------------------------------

def _parse_size(s: str) -> Fraction:
    return parse_quantity(s)  # raises ValueError with apimachinery's message


def hugepage_size(medium: str, pod: dict[str, Any]) -> str:
    """The pagesize= value for a HugePages medium, from the pod's hugepage requests."""
    medium_size: Fraction | None = None
    if medium != MEDIUM_HUGEPAGES:
        medium_size = _parse_size(medium[len(HUGEPAGES_MEDIUM_PREFIX):])
    spec = pod.get("spec") or {}
    found: str | None = None
    found_value: Fraction | None = None
    # In rare cases init containers consume huge pages too; pod-level requests count as well.
    holders = [*(spec.get("containers") or []), *(spec.get("initContainers") or []), spec]
    for holder in holders:
        requests = (holder.get("resources") or {}).get("requests") or {}
        for rname in requests:
            if not rname.startswith(HUGEPAGES_RESOURCE_PREFIX):
                continue
            size_str = rname[len(HUGEPAGES_RESOURCE_PREFIX):]
            value = _parse_size(size_str)
            if medium_size is None:
                if found_value is not None and found_value != value:
                    raise ValueError(f"medium: {medium} can't be used if container requests multiple huge page sizes")
                found, found_value = canonical(size_str), value
            elif value == medium_size:
                found, found_value = canonical(size_str), value
    if found is None:
        raise ValueError(f"medium {medium}: hugePages storage requested, but there is no resource request for huge pages")
    return found
