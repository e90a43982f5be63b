"""kubectl's printing of objects: apimachinery's ``HumanDuration`` and ``printPod``'s READY /
STATUS / RESTARTS columns (pkg/printers/internalversion/printers.go). Pure functions of (object, now);
the server's Table rows (``api.tables``) and the CLI's tables both use them.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any


def is_sidecar(container: Mapping[str, Any]) -> bool:
    return container.get("restartPolicy") == "Always"


def parse_rfc3339(s: str) -> float:
    return _dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def human_duration(seconds: float) -> str:
    """apimachinery duration.HumanDuration (kubectl's AGE and "(5m ago)")."""
    secs = int(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 120:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        s = secs % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = secs // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def pod_columns(pod: Mapping[str, Any], now: float) -> tuple[str, str, str]:
    """kubectl printPod: (READY, STATUS, RESTARTS) of an API pod at ``now`` (epoch seconds)."""
    spec = pod.get("spec") or {}
    st = pod.get("status") or {}
    meta = pod.get("metadata") or {}
    total = len(spec.get("containers") or [])
    ready_n = 0
    restarts = sidecar_restarts = 0
    last_restart = sidecar_last_restart = 0.0
    phase = str(st.get("phase") or "")
    reason = str(st.get("reason") or phase)
    for cond in st.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    total += sum(1 for c in init_specs.values() if is_sidecar(c))

    def finished(cs: Mapping[str, Any]) -> float:
        term = (cs.get("lastState") or {}).get("terminated")
        if term and term.get("finishedAt"):
            return parse_rfc3339(str(term["finishedAt"]))
        return 0.0

    initializing = False
    init_statuses = st.get("initContainerStatuses") or []
    for i, cs in enumerate(init_statuses):
        restarts += int(cs.get("restartCount") or 0)
        last_restart = max(last_restart, finished(cs))
        c_spec = init_specs.get(cs.get("name")) or {}
        sidecar = is_sidecar(c_spec)
        if sidecar:
            sidecar_restarts += int(cs.get("restartCount") or 0)
            sidecar_last_restart = max(sidecar_last_restart, finished(cs))
        state = cs.get("state") or {}
        term = state.get("terminated")
        wait = state.get("waiting")
        if term and term.get("exitCode") == 0:
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready_n += 1
            continue
        if term:
            if term.get("reason"):
                reason = "Init:" + str(term["reason"])
            elif term.get("signal"):
                reason = f"Init:Signal:{term['signal']}"
            else:
                reason = f"Init:ExitCode:{term.get('exitCode')}"
        elif wait and wait.get("reason") and wait["reason"] != "PodInitializing":
            reason = "Init:" + str(wait["reason"])
        else:
            reason = f"Init:{i}/{len(spec.get('initContainers') or [])}"
        initializing = True
        break

    initialized_true = any(c.get("type") == "Initialized" and c.get("status") == "True"
                           for c in st.get("conditions") or [])
    if not initializing or initialized_true:
        restarts, last_restart = sidecar_restarts, sidecar_last_restart
        has_running = False
        for cs in reversed(st.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            last_restart = max(last_restart, finished(cs))
            state = cs.get("state") or {}
            wait, term = state.get("waiting"), state.get("terminated")
            if wait and wait.get("reason"):
                reason = str(wait["reason"])
            elif term and term.get("reason"):
                reason = str(term["reason"])
            elif term:
                reason = f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode')}"
            elif cs.get("ready") and "running" in state:
                has_running = True
                ready_n += 1
        if reason == "Completed" and has_running:
            ready_cond = any(c.get("type") == "Ready" and c.get("status") == "True"
                             for c in st.get("conditions") or [])
            reason = "Running" if ready_cond else "NotReady"

    if meta.get("deletionTimestamp") and st.get("reason") == "NodeLost":
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_s = str(restarts)
    if restarts and last_restart:
        restarts_s = f"{restarts} ({human_duration(now - last_restart)} ago)"
    return f"{ready_n}/{total}", reason, restarts_s


def age_column(pod: Mapping[str, Any], now: float) -> str:
    created = (pod.get("metadata") or {}).get("creationTimestamp")
    return human_duration(now - parse_rfc3339(str(created))) if created else "<unknown>"
