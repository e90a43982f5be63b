"""Container probes, the pure part (kubelet ``pkg/kubelet/prober`` and ``pkg/probe``).

* the probe spec with the API defaults (``SetDefaults_Probe``);
* one probe worker as a state machine (``worker.doProbe``): initial results, on-hold, the
  ``initialDelaySeconds`` gate, startup gating, thresholds over consecutive identical results, and
  errors that never count;
* targets: httpGet URL parts and headers, tcpSocket, grpc; named ports (``ResolveContainerPort``);
  the exec command with ``$(VAR)`` expanded from literal env values only
  (``ExpandContainerCommandOnlyStatic``);
* event wording (``prober.go``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from podbay.core.command import expand, mapping_for

KUBE_VERSION = "1.37"
USER_AGENT = f"kube-probe/{KUBE_VERSION}"
LIFECYCLE_USER_AGENT = f"kube-lifecycle/{KUBE_VERSION}"
MAX_OUTPUT = 10 * 1024            # exec LimitWriter and http maxRespBodyLength
MAX_RETRIES = 3                   # runProbeWithRetries

ProbeType = Literal["liveness", "readiness", "startup"]
ProbeResult = Literal["success", "warning", "failure", "unknown"]


@dataclass(frozen=True)
class ProbeOutcome:
    """pkg/probe Result plus output; ``error`` set means the attempt errored (not a failure)."""

    result: ProbeResult
    output: str = ""
    error: str = ""


@dataclass(frozen=True)
class HttpTarget:
    scheme: str
    host: str
    port: int
    path: str                        # path and query, as given
    headers: tuple[tuple[str, str], ...] = ()
    user_agent: str = ""             # kube-probe/1.37 or kube-lifecycle/1.37


@dataclass(frozen=True)
class TcpTarget:
    host: str
    port: int


@dataclass(frozen=True)
class GrpcTarget:
    host: str
    port: int
    service: str = ""

Cached = Literal["success", "failure", "unknown"]
PROBE_FIELDS: dict[ProbeType, str] = {"liveness": "livenessProbe", "readiness": "readinessProbe",
                                      "startup": "startupProbe"}
TYPE_NAMES: dict[ProbeType, str] = {"liveness": "Liveness", "readiness": "Readiness", "startup": "Startup"}
INITIAL: dict[ProbeType, Cached] = {"liveness": "success", "readiness": "failure", "startup": "unknown"}


@dataclass(frozen=True)
class ProbeSpec:
    handler: Mapping[str, Any]           # the whole probe object (exec / httpGet / tcpSocket / grpc)
    initial_delay: int = 0
    timeout: int = 1
    period: int = 10
    success_threshold: int = 1
    failure_threshold: int = 3
    grace: int | None = None             # probe-level terminationGracePeriodSeconds

    @property
    def kind(self) -> str:
        for k in ("exec", "httpGet", "tcpSocket", "grpc"):
            if self.handler.get(k) is not None:
                return k
        return ""


def _positive(v: Any, default: int) -> int:
    return int(v) if isinstance(v, int) and not isinstance(v, bool) and v > 0 else default


def probe_spec(probe: Mapping[str, Any]) -> ProbeSpec:
    """SetDefaults_Probe: 0 or unset timeout 1, period 10, thresholds 1 and 3."""
    grace = probe.get("terminationGracePeriodSeconds")
    return ProbeSpec(
        handler=probe,
        initial_delay=max(0, int(probe.get("initialDelaySeconds") or 0)),
        timeout=_positive(probe.get("timeoutSeconds"), 1),
        period=_positive(probe.get("periodSeconds"), 10),
        success_threshold=_positive(probe.get("successThreshold"), 1),
        failure_threshold=_positive(probe.get("failureThreshold"), 3),
        grace=int(grace) if isinstance(grace, int) and not isinstance(grace, bool) else None,
    )


def container_probes(container: Mapping[str, Any]) -> dict[ProbeType, ProbeSpec]:
    out: dict[ProbeType, ProbeSpec] = {}
    for ptype, key in PROBE_FIELDS.items():
        p = container.get(key)
        if isinstance(p, Mapping):
            out[ptype] = probe_spec(p)
    return out


# --- one worker (worker.go doProbe) --------------------------------------------------------------


@dataclass(frozen=True)
class WorkerState:
    container_id: str = ""
    on_hold: bool = False
    last: Cached | None = None
    run: int = 0


@dataclass(frozen=True)
class Observed:
    """What the worker sees of its container in the cached pod status."""

    container_id: str                 # "" while not created
    running: bool
    started_at: float | None          # runtime startedAt (whole seconds)
    started: bool                     # startup finished (for the liveness/readiness gate)
    terminated: bool = False
    restartable: bool = True          # the container would be restarted after it exits
    deleting: bool = False            # pod deletionTimestamp set


@dataclass(frozen=True)
class Decision:
    state: WorkerState
    set_result: Cached | None = None       # publish into the results cache
    reset: bool = False                    # a new container id: drop the old result first
    probe: bool = False                    # run one attempt now
    keep_going: bool = True                # False: the worker ends


def before_probe(ptype: ProbeType, spec: ProbeSpec, st: WorkerState, c: Observed, now: float) -> Decision:
    """doProbe up to the attempt: returns whether to probe and what to publish."""
    if not c.container_id:
        return Decision(st)
    reset = False
    set_result: Cached | None = None
    if c.container_id != st.container_id:
        st = replace(st, container_id=c.container_id, on_hold=False)
        reset, set_result = True, INITIAL[ptype]
    if st.on_hold:
        return Decision(st, set_result, reset)
    if not c.running:
        keep = not c.terminated or c.restartable
        return Decision(st, "failure", reset, keep_going=keep)
    if c.deleting and ptype in ("liveness", "startup"):
        return Decision(st, "success", reset, keep_going=False)
    if c.started_at is not None and int(now - c.started_at) < spec.initial_delay:
        return Decision(st, set_result, reset)
    if c.started:
        if ptype == "startup":
            return Decision(st, set_result, reset)
    elif ptype != "startup":
        return Decision(st, set_result, reset)
    return Decision(st, set_result, reset, probe=True)


def after_probe(ptype: ProbeType, spec: ProbeSpec, st: WorkerState, outcome: ProbeOutcome) -> Decision:
    """doProbe after the attempt: thresholds over consecutive identical results; errors never count."""
    if outcome.error:
        return Decision(st)
    result: Cached = "success" if outcome.result in ("success", "warning") else "failure"
    run = st.run + 1 if result == st.last else 1
    st = replace(st, last=result, run=run)
    if (result == "failure" and run < spec.failure_threshold) or (result == "success" and run < spec.success_threshold):
        return Decision(st)
    if (ptype == "liveness" and result == "failure") or ptype == "startup":
        st = replace(st, on_hold=True, run=0)
    return Decision(st, result)


def event_for(ptype: ProbeType, outcome: ProbeOutcome) -> tuple[str, str] | None:
    """(reason, message) of the Warning event an attempt gives, None for a plain success."""
    name = TYPE_NAMES[ptype]
    if outcome.error:
        return "Unhealthy", f"{name} probe errored and resulted in {outcome.result} state: {outcome.error}"
    if outcome.result == "warning":
        return "ProbeWarning", f"{name} probe warning: {outcome.output}"
    if outcome.result == "failure":
        return "Unhealthy", f"{name} probe failed: {outcome.output}"
    return None


# --- targets -------------------------------------------------------------------------------------


def resolve_port(port: Any, container: Mapping[str, Any]) -> int:
    """ResolveContainerPort: a number, or a named containerPort, or a numeric string."""
    if isinstance(port, int) and not isinstance(port, bool):
        n = port
    else:
        text = str(port)
        n = -1
        for p in container.get("ports") or []:
            if isinstance(p, Mapping) and p.get("name") == text:
                n = int(p.get("containerPort") or 0)
                break
        else:
            try:
                n = int(text)
            except ValueError:
                raise ValueError(f'strconv.Atoi: parsing "{text}": invalid syntax') from None
    if not 0 < n < 65536:
        raise ValueError(f"invalid port number: {n}")
    return n


def http_target(action: Mapping[str, Any], container: Mapping[str, Any], pod_ip: str, user_agent: str) -> HttpTarget:
    scheme = str(action.get("scheme") or "HTTP").lower()
    host = str(action.get("host") or pod_ip)
    path = str(action.get("path") or "/")
    if not path.startswith("/"):
        path = "/" + path
    headers = tuple((str(h.get("name", "")), str(h.get("value", "")))
                    for h in action.get("httpHeaders") or [] if isinstance(h, Mapping))
    return HttpTarget(scheme, host, resolve_port(action.get("port"), container), path, headers, user_agent)


def without_authorization(t: HttpTarget, scheme: str) -> HttpTarget:
    return replace(t, scheme=scheme, headers=tuple(h for h in t.headers if h[0].lower() != "authorization"))


def request_headers(t: HttpTarget) -> list[tuple[str, str]]:
    """NewRequestForHTTPGetAction + newProbeRequest: user headers, then the defaults they do not set.

    An explicit empty User-Agent or Accept means none is sent; Host overrides the authority."""
    names = {k.lower() for k, _ in t.headers}
    out = [(k, v) for k, v in t.headers if not (k.lower() in ("user-agent", "accept") and v == "")]
    if "host" not in names:
        host = f"[{t.host}]" if ":" in t.host else t.host
        out.insert(0, ("Host", f"{host}:{t.port}"))
    if "user-agent" not in names and t.user_agent:
        out.append(("User-Agent", t.user_agent))
    if "accept" not in names:
        out.append(("Accept", "*/*"))
    out.append(("Connection", "close"))
    return out


def exec_command(command: Sequence[Any], container: Mapping[str, Any]) -> list[str]:
    """ExpandContainerCommandOnlyStatic: $(VAR) from the container's literal env values only."""
    env = {str(e.get("name")): str(e.get("value") or "") for e in container.get("env") or []
           if isinstance(e, Mapping) and e.get("valueFrom") is None}
    mapping = mapping_for(env)
    return [expand(str(c), mapping) for c in command]


def exec_outcome(exit_code: int | None, output: bytes, timed_out: bool, error: str, argv: Sequence[str],
                 timeout: int) -> ProbeOutcome:
    """pkg/probe/exec: exit 0 success; timeout is a failure with cri-client's message; no exit code -> error."""
    text = output[:MAX_OUTPUT].decode("utf-8", "replace")
    if timed_out:
        return ProbeOutcome("failure", f'command timed out: "{" ".join(argv)}" timed out after {timeout}s')
    if error or exit_code is None:
        return ProbeOutcome("unknown", text, error or "the exec did not report an exit code")
    return ProbeOutcome("success" if exit_code == 0 else "failure", text)
