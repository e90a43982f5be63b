"""kubectl's pod table: AGE durations, READY / STATUS / RESTARTS columns, rows and -o formats.

Pure functions of (pod, now). The column logic ports kubectl's ``printPod``
(pkg/printers/internalversion/printers.go); ``podbay.core.phase`` may provide the same functions,
``columns()`` prefers those when they exist.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

Pod = dict[str, Any]

HEADERS = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
WIDE_HEADERS = ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]


def parse_time(value: str | None) -> datetime | None:
    """RFC 3339 (``2024-01-02T03:04:05Z``, fractional seconds allowed) -> aware datetime."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def human_duration(seconds_f: float) -> str:
    """apimachinery's duration.HumanDuration."""
    seconds = int(seconds_f)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = seconds // 3600
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


def since(value: str | None, now: datetime) -> str:
    """kubectl's translateTimestampSince."""
    t = parse_time(value)
    if t is None:
        return "<unknown>"
    return human_duration((now - t).total_seconds())


def _restartable(container: dict[str, Any] | None) -> bool:
    return bool(container) and (container or {}).get("restartPolicy") == "Always"


def _condition_true(pod: Pod, ctype: str) -> bool:
    return any(
        c.get("type") == ctype and c.get("status") == "True" for c in pod.get("status", {}).get("conditions") or []
    )


def _later(a: datetime | None, value: str | None) -> datetime | None:
    t = parse_time(value)
    if t is None:
        return a
    return t if a is None or t > a else a


def pod_columns(pod: Pod, now: datetime) -> tuple[str, str, str]:
    """(READY, STATUS, RESTARTS) exactly as kubectl's printPod computes them."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    meta = pod.get("metadata") or {}
    restarts = 0
    sidecar_restarts = 0
    total = len(spec.get("containers") or [])
    ready = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for c in status.get("conditions") or []:
        if c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    total += sum(1 for c in init_specs.values() if _restartable(c))

    initializing = False
    init_total = len(spec.get("initContainers") or [])
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += int(cs.get("restartCount") or 0)
        last_term = (cs.get("lastState") or {}).get("terminated")
        if last_term:
            last_restart = _later(last_restart, last_term.get("finishedAt"))
        sidecar = _restartable(init_specs.get(cs.get("name")))
        if sidecar:
            sidecar_restarts += int(cs.get("restartCount") or 0)
            if last_term:
                last_sidecar_restart = _later(last_sidecar_restart, last_term.get("finishedAt"))
        state = cs.get("state") or {}
        term = state.get("terminated")
        waiting = state.get("waiting")
        if term and int(term.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if term:
            if not term.get("reason"):
                if term.get("signal"):
                    reason = f"Init:Signal:{term['signal']}"
                else:
                    reason = f"Init:ExitCode:{term.get('exitCode', 0)}"
            else:
                reason = "Init:" + term["reason"]
        elif waiting and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{init_total}"
        initializing = True
        break

    if not initializing or _condition_true(pod, "Initialized"):
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            last_term = (cs.get("lastState") or {}).get("terminated")
            if last_term:
                last_restart = _later(last_restart, last_term.get("finishedAt"))
            state = cs.get("state") or {}
            waiting, term = state.get("waiting"), state.get("terminated")
            if waiting and waiting.get("reason"):
                reason = waiting["reason"]
            elif term and term.get("reason"):
                reason = term["reason"]
            elif term:
                reason = f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode', 0)}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(pod, "Ready") else "NotReady"

    if meta.get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_str = str(restarts)
    if restarts and last_restart is not None:
        restarts_str = f"{restarts} ({human_duration((now - last_restart).total_seconds())} ago)"
    return f"{ready}/{total}", reason, restarts_str


def columns(pod: Pod, now: datetime) -> tuple[str, str, str]:
    """READY, STATUS, RESTARTS: from podbay.core.phase when available, else our port."""
    try:
        from podbay.core import phase

        t = now.timestamp()
        return (
            str(phase.ready_column(pod)),
            str(phase.kubectl_status(pod, t)),
            str(phase.restarts_column(pod, t)),
        )
    except (ImportError, AttributeError):
        return pod_columns(pod, now)


def pod_row(pod: Pod, now: datetime, *, wide: bool = False, with_namespace: bool = False) -> list[str]:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    ready, reason, restarts = columns(pod, now)
    row = [meta.get("name", ""), ready, reason, restarts, since(meta.get("creationTimestamp"), now)]
    if wide:
        ips = status.get("podIPs") or []
        ip = (ips[0].get("ip") if ips else "") or "<none>"
        gates = spec.get("readinessGates") or []
        gates_str = "<none>"
        if gates:
            conds = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
            true = sum(1 for g in gates if conds.get(g.get("conditionType")) == "True")
            gates_str = f"{true}/{len(gates)}"
        row += [ip, spec.get("nodeName") or "<none>", status.get("nominatedNodeName") or "<none>", gates_str]
    if with_namespace:
        row.insert(0, meta.get("namespace", ""))
    return row


def header(*, wide: bool = False, with_namespace: bool = False) -> list[str]:
    cols = HEADERS + (WIDE_HEADERS if wide else [])
    return (["NAMESPACE"] if with_namespace else []) + cols


def table_lines(rows: list[list[str]]) -> str:
    """Rows as tab-separated lines, ready for a TabWriter(6, 3)."""
    return "".join("\t".join(r) + "\n" for r in rows)


def render_table(rows: list[list[str]]) -> str:
    from podbay.cli.tabwriter import TabWriter

    tw = TabWriter(minwidth=6, padding=3)
    tw.write(table_lines(rows))
    return tw.flush()


def as_list(items: list[Pod]) -> dict[str, Any]:
    """kubectl's -o json/yaml of several objects: a v1 List."""
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=4, ensure_ascii=False) + "\n"


def to_yaml(obj: Any) -> str:
    import yaml

    return str(yaml.safe_dump(obj, default_flow_style=False, sort_keys=True, allow_unicode=True))


def now_utc() -> datetime:
    return datetime.now(UTC)
