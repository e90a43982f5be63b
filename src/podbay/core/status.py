"""Pod status as the kubelet reports it (kubectl's READY/STATUS/RESTARTS columns are ``api.printing``).

Sources (behaviour, not code): kubelet ``convertToAPIContainerStatuses`` and ``getPhase``
(kubelet_pods.go), ``pkg/kubelet/status/generate.go`` (conditions), ``GetPodQOS``, and kubectl's
``printPod`` (pkg/printers/internalversion/printers.go) with apimachinery's ``HumanDuration``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from podbay.api.printing import is_sidecar
from podbay.api.quantity import parse_quantity
from podbay.core.records import ContainerKind, ContainerRecord, PodRuntimeView
from podbay.core.restart import should_restart

CONTAINER_ID_PREFIX = "podbay://"


# --- time ----------------------------------------------------------------------------------------


def rfc3339(t: float) -> str:
    """metav1.Time's wire form: second precision, UTC, ``Z``."""
    return _dt.datetime.fromtimestamp(int(t), tz=_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- container statuses --------------------------------------------------------------------------


def _effective_policy(spec_container: Mapping[str, Any], kind: ContainerKind, pod_policy: str) -> str:
    if kind == "init":
        if is_sidecar(spec_container):
            return "Always"
        # Regular init containers are re-run only after a failure, never under Never.
        return "Never" if pod_policy == "Never" else "OnFailure"
    return pod_policy


def _state_of(rec: ContainerRecord, fmt: Callable[[float], str]) -> dict[str, Any]:
    if rec.state == "running":
        return {"running": {"startedAt": fmt(rec.started_at if rec.started_at is not None else rec.created_at)}}
    if rec.state == "exited" or (rec.state == "failed" and rec.exit_code is not None):
        code = rec.exit_code if rec.exit_code is not None else 0
        term: dict[str, Any] = {
            "exitCode": code,
            "reason": rec.reason or ("Completed" if code == 0 else "Error"),
        }
        if rec.message:
            term["message"] = rec.message
        if rec.started_at is not None:
            term["startedAt"] = fmt(rec.started_at)
        if rec.finished_at is not None:
            term["finishedAt"] = fmt(rec.finished_at)
        term["containerID"] = CONTAINER_ID_PREFIX + rec.id
        return {"terminated": term}
    if rec.state == "failed":
        waiting = {"reason": rec.reason or "CreateContainerError"}
        if rec.message:
            waiting["message"] = rec.message
        return {"waiting": waiting}
    return {"waiting": {"reason": "ContainerCreating"}}


def container_status(
    spec_container: Mapping[str, Any],
    view: PodRuntimeView,
    kind: ContainerKind,
    now_iso: Callable[[float], str] = rfc3339,
    *,
    has_init: bool = False,
    restart_policy: str = "Always",
    ready: bool | None = None,
    started: bool | None = None,
) -> dict[str, Any]:
    """v1 ContainerStatus of one spec container.

    ``now_iso`` formats record times; ``has_init`` picks the default waiting reason
    (PodInitializing when the pod has init containers, else ContainerCreating);
    ``ready``/``started`` are probe results (None: no probe, so running means ready/started).
    """
    name = str(spec_container.get("name", ""))
    latest = view.latest(name)
    status: dict[str, Any] = {
        "name": name,
        "state": {"waiting": {"reason": "PodInitializing" if has_init else "ContainerCreating"}},
        "lastState": {},
        "ready": False,
        "restartCount": latest.attempt if latest else 0,
        "image": str(spec_container.get("image", "")),
        "imageID": latest.image_id if latest else "",
        "started": False,
    }
    if latest is not None:
        status["containerID"] = CONTAINER_ID_PREFIX + latest.id
        status["state"] = _state_of(latest, now_iso)
        prev = view.previous(name)
        if prev is not None:
            prev_state = _state_of(prev, now_iso)
            if "terminated" in prev_state:
                status["lastState"] = prev_state

    # A waiting reason (CrashLoopBackOff, ErrImagePull, CreateContainerConfigError...) shows only for
    # a container that will be (re)started.
    waiting = view.waiting.get(name)
    if waiting is not None and _will_start(spec_container, kind, latest, restart_policy):
        if "terminated" in status["state"]:
            status["lastState"] = status["state"]
        w: dict[str, Any] = {"reason": waiting.reason}
        if waiting.message:
            w["message"] = waiting.message
        status["state"] = {"waiting": w}

    state = status["state"]
    if "running" in state:
        status["started"] = True if started is None else started
        probe_ready = ready if ready is not None else spec_container.get("readinessProbe") is None
        status["ready"] = bool(probe_ready and status["started"])
    elif kind == "init" and not is_sidecar(spec_container):
        term = state.get("terminated")
        status["ready"] = bool(term and term["exitCode"] == 0)
    return status


def _will_start(spec_container: Mapping[str, Any], kind: ContainerKind,
                latest: ContainerRecord | None, pod_policy: str) -> bool:
    if latest is None:
        return True
    if latest.state == "running":
        return False
    if latest.state == "exited" or (latest.state == "failed" and latest.exit_code is not None):
        return should_restart(_effective_policy(spec_container, kind, pod_policy), latest.exit_code)
    return True


def container_statuses(
    pod: Mapping[str, Any],
    view: PodRuntimeView,
    now_iso: Callable[[float], str] = rfc3339,
    ready: Mapping[str, bool] | None = None,
    started: Mapping[str, bool] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(initContainerStatuses, containerStatuses) in spec order."""
    spec = pod.get("spec") or {}
    inits = spec.get("initContainers") or []
    policy = str(spec.get("restartPolicy") or "Always")
    ready = ready or {}
    started = started or {}

    def one(c: Mapping[str, Any], kind: ContainerKind) -> dict[str, Any]:
        n = str(c.get("name", ""))
        return container_status(c, view, kind, now_iso, has_init=bool(inits), restart_policy=policy,
                                ready=ready.get(n), started=started.get(n))

    return [one(c, "init") for c in inits], [one(c, "regular") for c in spec.get("containers") or []]


# --- phase ---------------------------------------------------------------------------------------


def _any_regular_started(statuses: Sequence[Mapping[str, Any]]) -> bool:
    return any("running" in s["state"] or "terminated" in s["state"] or "terminated" in s["lastState"]
               for s in statuses)


def phase_from_statuses(pod: Mapping[str, Any], init_statuses: Sequence[Mapping[str, Any]],
                        statuses: Sequence[Mapping[str, Any]], pod_is_terminal: bool = False) -> str:
    """kubelet getPhase over already computed container statuses."""
    spec = pod.get("spec") or {}
    policy = str(spec.get("restartPolicy") or "Always")
    by_name = {s["name"]: s for s in list(init_statuses) + list(statuses)}
    pending_init = pending_sidecar = failed_init = 0
    unknown = running = waiting = stopped = succeeded = 0

    for c in spec.get("initContainers") or []:
        s = by_name.get(c.get("name"))
        if s is None:
            if is_sidecar(c):
                unknown += 1
                pending_sidecar += 1
            else:
                pending_init += 1
            continue
        st, last = s["state"], s["lastState"]
        if is_sidecar(c):
            if "running" in st:
                running += 1
                if not s.get("started"):
                    pending_sidecar += 1
            elif "waiting" in st and "terminated" not in last:
                pending_sidecar += 1
                waiting += 1
            continue
        if "running" in st:
            pending_init += 1
        elif "terminated" in st:
            if st["terminated"]["exitCode"] != 0:
                failed_init += 1
        elif "waiting" in st:
            if "terminated" in last:
                if last["terminated"]["exitCode"] != 0:
                    failed_init += 1
            else:
                pending_init += 1
        else:
            pending_init += 1

    for c in spec.get("containers") or []:
        s = by_name.get(c.get("name"))
        if s is None:
            unknown += 1
            continue
        st, last = s["state"], s["lastState"]
        if "running" in st:
            running += 1
        elif "terminated" in st:
            stopped += 1
            if st["terminated"]["exitCode"] == 0:
                succeeded += 1
        elif "waiting" in st:
            if "terminated" in last:
                stopped += 1
            else:
                waiting += 1
        else:
            unknown += 1

    if failed_init > 0 and policy == "Never":
        return "Failed"
    if pending_init > 0 or (pending_sidecar > 0 and not _any_regular_started(statuses)) or waiting > 0:
        return "Pending"
    if running > 0 and unknown == 0:
        return "Running"
    if running == 0 and stopped > 0 and unknown == 0:
        if pod_is_terminal:
            return "Succeeded" if stopped == succeeded else "Failed"
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def effective_phase(pod: Mapping[str, Any], view: PodRuntimeView, init_s: Sequence[Mapping[str, Any]],
                    main_s: Sequence[Mapping[str, Any]], pod_is_terminal: bool = False) -> str:
    """Phase per SEMANTICS §6.1/§6.3: a terminal phase already reported never changes; a pod the
    agent ended (eviction, deadline) is Failed; otherwise getPhase over the container statuses."""
    old = str((pod.get("status") or {}).get("phase") or "")
    if old in ("Succeeded", "Failed"):
        return old
    if view.terminal_reason:
        return "Failed"
    return phase_from_statuses(pod, init_s, main_s, pod_is_terminal)


# --- conditions ----------------------------------------------------------------------------------


def _go_list(names: Sequence[str]) -> str:
    return "[" + " ".join(names) + "]"


def _initialized(pod: Mapping[str, Any], init_s: Sequence[Mapping[str, Any]],
                 main_s: Sequence[Mapping[str, Any]], phase: str) -> dict[str, Any]:
    spec = pod.get("spec") or {}
    inits = spec.get("initContainers") or []
    if not inits:
        return {"type": "Initialized", "status": "True"}
    by_name = {s["name"]: s for s in init_s}
    unknown: list[str] = []
    incomplete: list[str] = []
    for c in inits:
        s = by_name.get(c.get("name"))
        if s is None:
            unknown.append(str(c.get("name")))
        elif is_sidecar(c):
            if not s.get("started"):
                incomplete.append(str(c.get("name")))
        else:
            term = s["state"].get("terminated")
            if term is None or term["exitCode"] != 0:
                incomplete.append(str(c.get("name")))
    if phase == "Succeeded" and not unknown:
        return {"type": "Initialized", "status": "True", "reason": "PodCompleted"}
    if _any_regular_started(main_s):
        return {"type": "Initialized", "status": "True"}
    msgs = []
    if unknown:
        msgs.append(f"containers with unknown status: {_go_list(unknown)}")
    if incomplete:
        msgs.append(f"containers with incomplete status: {_go_list(incomplete)}")
    if msgs:
        return {"type": "Initialized", "status": "False", "reason": "ContainersNotInitialized",
                "message": ", ".join(msgs)}
    return {"type": "Initialized", "status": "True"}


def _containers_ready(pod: Mapping[str, Any], init_s: Sequence[Mapping[str, Any]],
                      main_s: Sequence[Mapping[str, Any]], phase: str, ctype: str) -> dict[str, Any]:
    spec = pod.get("spec") or {}
    by_name = {s["name"]: s for s in list(init_s) + list(main_s)}
    unknown: list[str] = []
    unready: list[str] = []
    relevant = [c for c in spec.get("initContainers") or [] if is_sidecar(c)] + list(spec.get("containers") or [])
    for c in relevant:
        s = by_name.get(c.get("name"))
        if s is None:
            unknown.append(str(c.get("name")))
        elif not s.get("ready"):
            unready.append(str(c.get("name")))
    if phase == "Succeeded" and not unknown:
        return {"type": ctype, "status": "False", "reason": "PodCompleted"}
    if phase == "Failed":
        return {"type": ctype, "status": "False", "reason": "PodFailed"}
    msgs = []
    if unknown:
        msgs.append(f"containers with unknown status: {_go_list(unknown)}")
    if unready:
        msgs.append(f"containers with unready status: {_go_list(unready)}")
    if msgs:
        return {"type": ctype, "status": "False", "reason": "ContainersNotReady", "message": ", ".join(msgs)}
    return {"type": ctype, "status": "True"}


def _with_times(conds: list[dict[str, Any]], old: Sequence[Mapping[str, Any]], now: float) -> list[dict[str, Any]]:
    """lastTransitionTime changes only when a condition's status changes (status manager)."""
    old_by_type = {c.get("type"): c for c in old}
    out = []
    for c in conds:
        prev = old_by_type.get(c["type"])
        ltt = prev.get("lastTransitionTime") if prev and prev.get("status") == c["status"] else None
        out.append({**c, "lastProbeTime": None, "lastTransitionTime": ltt or rfc3339(now)})
    return out


# Conditions the kubelet owns (kubetypes.PodConditionByKubelet); any other type (a readiness gate
# patched in by a controller) is kept as it is.
KUBELET_CONDITIONS = ("PodScheduled", "Ready", "Initialized", "ContainersReady", "PodReadyToStartContainers")


def _pod_ready(pod: Mapping[str, Any], containers_ready: Mapping[str, Any],
               conditions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """GeneratePodReadyCondition: ContainersReady, then every spec.readinessGates condition."""
    if containers_ready["status"] != "True":
        return {**containers_ready, "type": "Ready"}
    by_type = {c.get("type"): c for c in conditions}
    unready = []
    for gate in (pod.get("spec") or {}).get("readinessGates") or []:
        ctype = str((gate or {}).get("conditionType", ""))
        cond = by_type.get(ctype)
        if cond is None:
            unready.append(f'corresponding condition of pod readiness gate "{ctype}" does not exist.')
        elif cond.get("status") != "True":
            unready.append(f'the status of pod readiness gate "{ctype}" is not "True", but {cond.get("status")}')
    if unready:
        return {"type": "Ready", "status": "False", "reason": "ReadinessGatesNotReady", "message": ", ".join(unready)}
    return {"type": "Ready", "status": "True"}


def _conditions(pod: Mapping[str, Any], view: PodRuntimeView, init_s: Sequence[Mapping[str, Any]],
                main_s: Sequence[Mapping[str, Any]], phase: str, now: float) -> list[dict[str, Any]]:
    old = (pod.get("status") or {}).get("conditions") or []
    foreign = [dict(c) for c in old if c.get("type") not in KUBELET_CONDITIONS]
    containers_ready = _containers_ready(pod, init_s, main_s, phase, "ContainersReady")
    conds = [
        {"type": "PodReadyToStartContainers", "status": "True" if view.sandbox_ready else "False"},
        _initialized(pod, init_s, main_s, phase),
        _pod_ready(pod, containers_ready, foreign),
        containers_ready,
        {"type": "PodScheduled", "status": "True"},
    ]
    return foreign + _with_times(conds, old, now)


# --- QoS -----------------------------------------------------------------------------------------


def qos_class(pod: Mapping[str, Any]) -> str:
    """GetPodQOS over cpu and memory (requests default to limits, as API defaulting does)."""
    spec = pod.get("spec") or {}
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    guaranteed = True
    for c in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        res = c.get("resources") or {}
        lim = {k: v for k, v in (res.get("limits") or {}).items() if k in ("cpu", "memory")}
        req = {k: v for k, v in (res.get("requests") or {}).items() if k in ("cpu", "memory")}
        req = {**lim, **req}
        for name, q in req.items():
            v = parse_quantity(q)
            if v > 0:
                requests[name] = requests.get(name, 0) + v
        found = set()
        for name, q in lim.items():
            v = parse_quantity(q)
            if v > 0:
                found.add(name)
                limits[name] = limits.get(name, 0) + v
        if not {"cpu", "memory"} <= found:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and all(limits.get(k) == v for k, v in requests.items()) and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


# --- the whole status ----------------------------------------------------------------------------


def pod_status(
    pod: Mapping[str, Any],
    view: PodRuntimeView,
    now: float,
    host_ip: str,
    *,
    ready: Mapping[str, bool] | None = None,
    started: Mapping[str, bool] | None = None,
    pod_is_terminal: bool = False,
) -> dict[str, Any]:
    """The v1 PodStatus the agent writes back (``ready``/``started``: probe results by container;
    ``pod_is_terminal``: the pod worker has finished the pod, so nothing restarts any more)."""
    spec = pod.get("spec") or {}
    old = pod.get("status") or {}
    init_s, main_s = container_statuses(pod, view, rfc3339, ready, started)
    _truncate_messages(pod, init_s + main_s)
    phase = effective_phase(pod, view, init_s, main_s, pod_is_terminal)
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": _conditions(pod, view, init_s, main_s, phase, now),
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}] if host_ip else [],
    }
    if view.pod_ip:
        status["podIP"] = view.pod_ip
        status["podIPs"] = [{"ip": view.pod_ip}]
    status["startTime"] = old.get("startTime") or rfc3339(now)
    if spec.get("initContainers"):
        status["initContainerStatuses"] = init_s
    status["containerStatuses"] = main_s
    status["qosClass"] = qos_class(pod)
    if view.terminal_reason:
        status["reason"] = view.terminal_reason
        status["message"] = view.terminal_message
    elif old.get("reason"):
        status["reason"] = old["reason"]
        if old.get("message"):
            status["message"] = old["message"]
    return status


MAX_POD_TERMINATION_MESSAGE = 12 * 1024   # kubecontainer.MaxPodTerminationMessageLogLength


def _truncate_messages(pod: Mapping[str, Any], statuses: Sequence[dict[str, Any]]) -> None:
    """status_manager normalizeStatus: each terminated message gets an equal share of 12 KiB."""
    spec = pod.get("spec") or {}
    n = len(spec.get("containers") or []) + len(spec.get("initContainers") or []) + \
        len(spec.get("ephemeralContainers") or [])
    budget = MAX_POD_TERMINATION_MESSAGE // max(n, 1)
    for st in statuses:
        for key in ("state", "lastState"):
            term = (st.get(key) or {}).get("terminated")
            if term and isinstance(term.get("message"), str):
                raw = term["message"].encode("utf-8", "surrogatepass")
                if len(raw) > budget:
                    term["message"] = raw[:budget].decode("utf-8", "ignore")
