"""The kubelet's /stats/summary (stats/v1alpha1 Summary), limited to what podbay measures: volumes,
and the agent itself as the ``kubelet`` system container (CPU time, resident memory).

Per volume: usedBytes/inodesUsed (incremental inotify accounting when the volume is tracked for
eviction, else a du-style walk; statfs for tmpfs/hugetlbfs) and capacity/available from statfs.
hostPath volumes have no metrics, as upstream (MetricsNil). ``podbay.watchHistory`` (not in the
upstream schema, which clients ignore) is the watch history the agent keeps, in events and bytes.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from typing import Any

from podbay.agent.deps import Deps
from podbay.agent.events import iso
from podbay.agent.eviction import EvictionManager
from podbay.volumes.manager import volume_capacity, volume_usage

VOLUME_PATHS_ANNOTATION = "podbay.io/volume-paths"


def _volume_stats(name: str, path: str, tracked: dict[str, int]) -> dict[str, Any] | None:
    if not os.path.isdir(path):
        return None
    used, inodes = volume_usage(path)
    if name in tracked:
        used = tracked[name]
    capacity, available = volume_capacity(path)
    vfs = os.statvfs(path)
    return {"time": iso(time.time()), "name": name, "usedBytes": used, "inodesUsed": inodes,
            "capacityBytes": capacity, "availableBytes": available,
            "inodes": vfs.f_files, "inodesFree": vfs.f_ffree}


def pod_volume_stats(pod: dict[str, Any], evictions: EvictionManager) -> list[dict[str, Any]]:
    paths: dict[str, str] = {}
    with contextlib.suppress(ValueError, TypeError):
        paths = json.loads((pod["metadata"].get("annotations") or {}).get(VOLUME_PATHS_ANNOTATION, "{}"))
    host_paths = {v["name"] for v in pod["spec"].get("volumes") or [] if v.get("hostPath") is not None}
    tracked = evictions.usage(pod["metadata"]["uid"])
    out = []
    for name, path in sorted(paths.items()):
        if name in host_paths:
            continue
        st = _volume_stats(name, path, tracked)
        if st is not None:
            out.append(st)
    return out


def summary(deps: Deps, evictions: EvictionManager) -> dict[str, Any]:
    """Called in a thread: du walks may take a while on big volumes."""
    pods = []
    for pod in deps.store.list_objects("Pod"):
        md = pod["metadata"]
        pods.append({"podRef": {"name": md["name"], "namespace": md["namespace"], "uid": md["uid"]},
                     "startTime": (pod.get("status") or {}).get("startTime"),
                     "volume": pod_volume_stats(pod, evictions)})
    root_cap, root_avail = volume_capacity(deps.cfg.root)
    now = iso(time.time())
    return {"node": {"nodeName": deps.cfg.node_name, "startTime": None,
                     "fs": {"time": now, "capacityBytes": root_cap, "availableBytes": root_avail},
                     "systemContainers": [_agent_container(now)]},
            "pods": pods,
            "podbay": {"watchHistory": {"events": deps.hub.history_events(), "bytes": deps.hub.history_bytes()}}}


def _agent_container(now: str) -> dict[str, Any]:
    """The agent as the Summary API's ``kubelet`` system container."""
    t = os.times()
    rss = 0
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
    return {"name": "kubelet", "startTime": None,
            "cpu": {"time": now, "usageCoreNanoSeconds": int((t.user + t.system) * 1e9)},
            "memory": {"time": now, "rssBytes": rss, "workingSetBytes": rss}}
