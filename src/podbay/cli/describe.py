"""``describe pod``: kubectl's describePod text (pkg/describe/describe.go), pure of (pod, events, now).

Additions for podbay: each volume shows its ``Host Path`` from the ``podbay.io/volume-paths`` annotation,
and ``Used`` / ``Inodes Used`` from the agent's stats summary when the caller has one.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from podbay.cli.printers import parse_time, since
from podbay.cli.tabwriter import TabWriter

VOLUME_PATHS_ANNOTATION = "podbay.io/volume-paths"
SKIP_ANNOTATIONS = {"kubectl.kubernetes.io/last-applied-configuration"}
MAX_ANNOTATION_LEN = 140


class _Out:
    """kubectl's PrefixWriter over one tabwriter (minwidth 0, padding 2)."""

    def __init__(self) -> None:
        self.tw = TabWriter(0, 2)
        self.parts: list[str] = []

    def w(self, level: int, text: str) -> None:
        self.tw.write("  " * level + text)

    def flush(self) -> None:
        self.parts.append(self.tw.flush())

    def text(self) -> str:
        self.flush()
        return "".join(self.parts)


def rfc1123z(value: str | None) -> str:
    t = parse_time(value)
    if t is None:
        return value or "<unknown>"
    return t.astimezone().strftime("%a, %d %b %Y %H:%M:%S %z")


def _labels(o: _Out, title: str, labels: dict[str, str] | None) -> None:
    o.w(0, f"{title}:\t")
    if not labels:
        o.w(0, "<none>\n")
        return
    for i, key in enumerate(sorted(labels)):
        if i:
            o.w(0, "\t")
        o.w(0, f"{key}={labels[key]}\n")


def _annotations(o: _Out, annotations: dict[str, str] | None, title: str = "Annotations") -> None:
    o.w(0, f"{title}:\t")
    keys = sorted(k for k in (annotations or {}) if k not in SKIP_ANNOTATIONS)
    if not keys:
        o.w(0, "<none>\n")
        return
    assert annotations is not None
    for i, key in enumerate(keys):
        if i:
            o.w(0, "\t")
        value = annotations[key].removesuffix("\n")
        if len(value) + len(key) + 2 > MAX_ANNOTATION_LEN or "\n" in value:
            o.w(0, f"{key}:\n")
            limit = MAX_ANNOTATION_LEN - 2
            for s in value.split("\n"):
                o.w(0, f"\t  {s[:limit] + '...' if len(s) > limit else s}\n")
        else:
            o.w(0, f"{key}: {value}\n")


def _ports(ports: list[dict[str, Any]], key: str) -> str:
    return ", ".join(f"{p.get(key, 0)}/{p.get('protocol', 'TCP')}" for p in ports)


def _probe(p: dict[str, Any]) -> str:
    attrs = (
        f"delay={p.get('initialDelaySeconds', 0)}s timeout={p.get('timeoutSeconds', 1)}s "
        f"period={p.get('periodSeconds', 10)}s #success={p.get('successThreshold', 1)} "
        f"#failure={p.get('failureThreshold', 3)}"
    )
    if "exec" in p:
        return f"exec [{' '.join((p['exec'] or {}).get('command') or [])}] {attrs}"
    if "httpGet" in p:
        h = p["httpGet"] or {}
        host = h.get("host", "")
        port = str(h.get("port", ""))
        hostport = (f"[{host}]" if ":" in host else host) + (":" + port if port else "")
        return f"http-get {str(h.get('scheme', 'HTTP')).lower()}://{hostport}{h.get('path', '')} {attrs}"
    if "tcpSocket" in p:
        t = p["tcpSocket"] or {}
        return f"tcp-socket {t.get('host', '')}:{t.get('port', '')} {attrs}"
    if "grpc" in p:
        g = p["grpc"] or {}
        return f"grpc <pod>:{g.get('port', '')} {g.get('service', '')} {attrs}"
    return f"unknown {attrs}"


def _state(o: _Out, title: str, state: dict[str, Any]) -> None:
    if state.get("running") is not None:
        o.w(2, f"{title}:\tRunning\n")
        o.w(3, f"Started:\t{rfc1123z((state['running'] or {}).get('startedAt'))}\n")
    elif state.get("waiting") is not None:
        o.w(2, f"{title}:\tWaiting\n")
        if (state["waiting"] or {}).get("reason"):
            o.w(3, f"Reason:\t{state['waiting']['reason']}\n")
    elif state.get("terminated") is not None:
        t = state["terminated"] or {}
        o.w(2, f"{title}:\tTerminated\n")
        if t.get("reason"):
            o.w(3, f"Reason:\t{t['reason']}\n")
        if t.get("message"):
            o.w(3, f"Message:\t{t['message']}\n")
        o.w(3, f"Exit Code:\t{t.get('exitCode', 0)}\n")
        if t.get("signal"):
            o.w(3, f"Signal:\t{t['signal']}\n")
        o.w(3, f"Started:\t{rfc1123z(t.get('startedAt'))}\n")
        o.w(3, f"Finished:\t{rfc1123z(t.get('finishedAt'))}\n")
    else:
        o.w(2, f"{title}:\tWaiting\n")


def _env(o: _Out, c: dict[str, Any], pod: dict[str, Any]) -> None:
    env = c.get("env") or []
    for src in c.get("envFrom") or []:
        prefix = src.get("prefix", "")
        if "configMapRef" in src:
            ref, kind = src["configMapRef"], "ConfigMap"
        else:
            ref, kind = src.get("secretRef") or {}, "Secret"
        o.w(2, "Environment Variables from:\n")
        opt = "true" if ref.get("optional") else "false"
        pre = f" with prefix '{prefix}'" if prefix else ""
        o.w(3, f"{ref.get('name', '')}\t{kind}{pre}\tOptional: {opt}\n")
    o.w(2, "Environment:" + ("\t<none>" if not env else "") + "\n")
    for e in env:
        vf = e.get("valueFrom")
        if vf is None:
            for i, s in enumerate(str(e.get("value", "")).split("\n")):
                o.w(3, f"{e['name']}:\t{s}\n" if i == 0 else f"\t{s}\n")
        elif "fieldRef" in vf:
            f = vf["fieldRef"] or {}
            value = _field_value(pod, f.get("fieldPath", ""))
            o.w(3, f"{e['name']}:\t{value} ({f.get('apiVersion', 'v1')}:{f.get('fieldPath', '')})\n")
        elif "resourceFieldRef" in vf:
            o.w(3, f"{e['name']}:\t ({(vf['resourceFieldRef'] or {}).get('resource', '')})\n")
        elif "secretKeyRef" in vf:
            r = vf["secretKeyRef"] or {}
            opt = "true" if r.get("optional") else "false"
            o.w(3, f"{e['name']}:\t<set to the key '{r.get('key')}' in secret '{r.get('name')}'>\tOptional: {opt}\n")
        elif "configMapKeyRef" in vf:
            r = vf["configMapKeyRef"] or {}
            opt = "true" if r.get("optional") else "false"
            o.w(3, f"{e['name']}:\t<set to the key '{r.get('key')}' of config map '{r.get('name')}'>\tOptional: {opt}\n")


def _field_value(pod: dict[str, Any], path: str) -> str:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.hostIP": status.get("hostIP"),
        "status.podIP": status.get("podIP"),
    }
    return str(simple.get(path) or "")


def _containers(o: _Out, title: str, specs: list[dict[str, Any]], statuses: list[dict[str, Any]], pod: dict[str, Any],
                space: str = "") -> None:
    """describeContainers; ``space`` indents a pod template's (DescribePodTemplate), names one more."""
    by_name = {s.get("name"): s for s in statuses}
    o.w(0, f"{space}{title}:{' <none>' if not specs else ''}\n")
    for c in specs:
        st = by_name.get(c.get("name"))
        o.w(1, f"{' ' if space else ''}{c.get('name')}:\n")
        if st is not None:
            o.w(2, f"Container ID:\t{st.get('containerID', '')}\n")
        o.w(2, f"Image:\t{c.get('image', '')}\n")
        if st is not None:
            o.w(2, f"Image ID:\t{st.get('imageID', '')}\n")
        ports = c.get("ports") or []
        p = _ports(ports, "containerPort")
        o.w(2, f"Ports:\t{p}\n" if "," in p else f"Port:\t{p or '<none>'}\n")
        hp = _ports(ports, "hostPort")
        o.w(2, f"Host Ports:\t{hp}\n" if "," in hp else f"Host Port:\t{hp or '<none>'}\n")
        if c.get("restartPolicy"):
            o.w(2, f"Restart Policy:\t{c['restartPolicy']}\n")
        for key, label in (("command", "Command"), ("args", "Args")):
            if c.get(key):
                o.w(2, f"{label}:\n")
                for arg in c[key]:
                    for s in str(arg).split("\n"):
                        o.w(3, f"{s}\n")
        if st is not None:
            _state(o, "State", st.get("state") or {})
            last = st.get("lastState") or {}
            if last.get("terminated") is not None:
                _state(o, "Last State", last)
            o.w(2, f"Ready:\t{'True' if st.get('ready') else 'False'}\n")
            o.w(2, f"Restart Count:\t{st.get('restartCount', 0)}\n")
        res = c.get("resources") or {}
        for key, label in (("limits", "Limits"), ("requests", "Requests")):
            if res.get(key):
                o.w(2, f"{label}:\n")
                for name in sorted(res[key]):
                    o.w(3, f"{name}:\t{res[key][name]}\n")
        for key, label in (("livenessProbe", "Liveness"), ("readinessProbe", "Readiness"), ("startupProbe", "Startup")):
            if c.get(key):
                o.w(2, f"{label}:\t{_probe(c[key])}\n")
        _env(o, c, pod)
        mounts = sorted(c.get("volumeMounts") or [], key=lambda m: str(m.get("mountPath", "")))
        o.w(2, "Mounts:" + ("\t<none>" if not mounts else "") + "\n")
        for m in mounts:
            flags = ["ro" if m.get("readOnly") else "rw"]
            if m.get("subPath"):
                flags.append(json.dumps(m["subPath"]).join(["path=", ""]))
            o.w(3, f"{m.get('mountPath')} from {m.get('name')} ({','.join(flags)})\n")


def human_bytes(n: int | float) -> str:
    """Binary-suffixed size with one decimal (``1.2Mi``, ``4Ki``, ``512``), for ``Used:``."""
    value = float(n)
    for unit in ("", "Ki", "Mi", "Gi", "Ti"):
        if abs(value) < 1024 or unit == "Ti":
            text = f"{value:.1f}".removesuffix(".0") if unit else str(int(value))
            return text + unit
        value /= 1024
    raise AssertionError("unreachable")


def volume_stats(summary: dict[str, Any], pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The stats/v1alpha1 Summary's volume entries of ``pod`` (matched by uid, else namespace/name), by name."""
    meta = pod.get("metadata") or {}
    entries = summary.get("pods") if isinstance(summary, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        ref = entry.get("podRef") if isinstance(entry, dict) else None
        if not isinstance(ref, dict):
            continue
        same = ref.get("uid") == meta.get("uid") if ref.get("uid") and meta.get("uid") else (
            ref.get("name") == meta.get("name") and ref.get("namespace") == meta.get("namespace"))
        if same:
            volumes = entry.get("volume")
            return {str(v.get("name")): v for v in volumes if isinstance(v, dict)} if isinstance(volumes, list) else {}
    return {}


def _usage(o: _Out, stats: dict[str, Any] | None) -> None:
    if not stats:
        return
    if isinstance(stats.get("usedBytes"), int | float):
        o.w(2, f"Used:\t{human_bytes(stats['usedBytes'])}\n")
    if isinstance(stats.get("inodesUsed"), int | float):
        o.w(2, f"Inodes Used:\t{int(stats['inodesUsed'])}\n")


def _volumes(o: _Out, pod: dict[str, Any], stats: dict[str, dict[str, Any]] | None = None, space: str = "") -> None:
    volumes = (pod.get("spec") or {}).get("volumes") or []
    if not volumes:
        o.w(0, f"{space}Volumes:\t<none>\n")
        return
    try:
        host_paths = json.loads(((pod.get("metadata") or {}).get("annotations") or {}).get(VOLUME_PATHS_ANNOTATION, "{}"))
        if not isinstance(host_paths, dict):
            host_paths = {}
    except ValueError:
        host_paths = {}
    o.w(0, f"{space}Volumes:\n")
    for v in volumes:
        o.w(1, f"{' ' if space else ''}{v.get('name')}:\n")
        if "hostPath" in v:
            hp = v["hostPath"] or {}
            o.w(2, "Type:\tHostPath (bare host directory volume)\n")
            o.w(2, f"Path:\t{hp.get('path', '')}\n")
            o.w(2, f"HostPathType:\t{hp.get('type') or '<none>'}\n")
        elif "emptyDir" in v:
            ed = v["emptyDir"] or {}
            size = ed.get("sizeLimit")
            o.w(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n")
            o.w(2, f"Medium:\t{ed.get('medium', '')}\n")
            o.w(2, f"SizeLimit:\t{size if size not in (None, '', '0', 0) else '<unset>'}\n")
        elif "configMap" in v:
            cm = v["configMap"] or {}
            o.w(2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n")
            o.w(2, f"Name:\t{cm.get('name', '')}\n")
            o.w(2, f"Optional:\t{'true' if cm.get('optional') else 'false'}\n")
        elif "secret" in v:
            s = v["secret"] or {}
            o.w(2, "Type:\tSecret (a volume populated by a Secret)\n")
            o.w(2, f"SecretName:\t{s.get('secretName', '')}\n")
            o.w(2, f"Optional:\t{'true' if s.get('optional') else 'false'}\n")
        elif "persistentVolumeClaim" in v:
            claim = v["persistentVolumeClaim"] or {}
            o.w(2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n")
            o.w(2, f"ClaimName:\t{claim.get('claimName', '')}\n")
            o.w(2, f"ReadOnly:\t{'true' if claim.get('readOnly') else 'false'}\n")
        else:
            o.w(1, "<unknown>\n")
        if v.get("name") in host_paths:
            o.w(2, f"Host Path:\t{host_paths[v['name']]}\n")
        _usage(o, (stats or {}).get(str(v.get("name"))))


def qos_class(pod: dict[str, Any]) -> str:
    """status.qosClass, or the kubelet's classification (GetPodQOS) of the containers' resources."""
    given = (pod.get("status") or {}).get("qosClass")
    if given:
        return str(given)
    from podbay.core.status import qos_class as classify

    return classify(pod)


def _events(o: _Out, events: list[dict[str, Any]], now: datetime) -> None:
    if not events:
        o.w(0, "Events:\t<none>\n")
        return
    o.flush()

    def first(e: dict[str, Any]) -> str:
        return str(e.get("eventTime") or e.get("firstTimestamp") or "")

    events = sorted(events, key=lambda e: str(e.get("lastTimestamp") or first(e)))
    o.w(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    o.w(1, "----\t------\t----\t----\t-------\n")
    for e in events:
        first_since = since(first(e), now)
        count = int(e.get("count") or 0)
        series = e.get("series")
        if series:
            interval = f"{since(series.get('lastObservedTime'), now)} (x{series.get('count')} over {first_since})"
        elif count > 1:
            interval = f"{since(e.get('lastTimestamp'), now)} (x{count} over {first_since})"
        else:
            interval = first_since
        source = (e.get("source") or {}).get("component") or e.get("reportingComponent") or ""
        o.w(1, f"{e.get('type', '')}\t{e.get('reason', '')}\t{interval}\t{source}\t{str(e.get('message', '')).strip()}\n")


def describe_pod(
    pod: dict[str, Any], events: list[dict[str, Any]] | None, now: datetime,
    stats: dict[str, dict[str, Any]] | None = None,
) -> str:
    """``stats``: volume name -> stats/v1alpha1 VolumeStats (see volume_stats); None prints no usage."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    o = _Out()
    o.w(0, f"Name:\t{meta.get('name', '')}\n")
    o.w(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    if spec.get("priority") is not None:
        o.w(0, f"Priority:\t{spec['priority']}\n")
    if spec.get("runtimeClassName"):
        o.w(0, f"Runtime Class Name:\t{spec['runtimeClassName']}\n")
    if spec.get("serviceAccountName"):
        o.w(0, f"Service Account:\t{spec['serviceAccountName']}\n")
    node = spec.get("nodeName")
    o.w(0, f"Node:\t{node + '/' + status.get('hostIP', '') if node else '<none>'}\n")
    if status.get("startTime"):
        o.w(0, f"Start Time:\t{rfc1123z(status['startTime'])}\n")
    _labels(o, "Labels", meta.get("labels"))
    _annotations(o, meta.get("annotations"))
    phase = status.get("phase", "")
    if meta.get("deletionTimestamp") and phase not in ("Failed", "Succeeded"):
        # kubectl: translateTimestampSince(deletionTimestamp), <invalid> until the grace period ends
        o.w(0, f"Status:\tTerminating (lasts {since(meta['deletionTimestamp'], now)})\n")
        o.w(0, f"Termination Grace Period:\t{meta.get('deletionGracePeriodSeconds', 0)}s\n")
    else:
        o.w(0, f"Status:\t{phase}\n")
    if status.get("reason"):
        o.w(0, f"Reason:\t{status['reason']}\n")
    if status.get("message"):
        o.w(0, f"Message:\t{status['message']}\n")
    o.w(0, f"IP:\t{status.get('podIP', '')}\n")
    ips = status.get("podIPs") or []
    if not ips:
        o.w(0, "IPs:\t<none>\n")
    else:
        o.w(0, "IPs:\n")
        for ip in ips:
            o.w(0, f"  IP:\t{ip.get('ip', '')}\n")
    if spec.get("initContainers"):
        _containers(o, "Init Containers", spec["initContainers"], status.get("initContainerStatuses") or [], pod)
    _containers(o, "Containers", spec.get("containers") or [], status.get("containerStatuses") or [], pod)
    conditions = status.get("conditions") or []
    if conditions:
        o.w(0, "Conditions:\n  Type\tStatus\n")
        for c in conditions:
            o.w(1, f"{c.get('type')} \t{c.get('status')} \n")
    _volumes(o, pod, stats)
    o.w(0, f"QoS Class:\t{qos_class(pod)}\n")
    _selectors_tolerations(o, spec)
    if events is not None:
        _events(o, events, now)
    return o.text()


def _selectors_tolerations(o: _Out, spec: dict[str, Any], space: str = "") -> None:
    _labels(o, f"{space}Node-Selectors", spec.get("nodeSelector"))
    tolerations = spec.get("tolerations") or []
    o.w(0, f"{space}Tolerations:\t")
    if not tolerations:
        o.w(0, "<none>\n")
    for i, t in enumerate(tolerations):
        if i:
            o.w(0, "\t")
        o.w(0, _toleration(t) + "\n")


def describe_pod_template(o: _Out, template: dict[str, Any] | None) -> None:
    """DescribePodTemplate (Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs)."""
    o.w(0, "Pod Template:\n")
    if template is None:
        o.w(1, "<unset>")
        return
    meta, spec = template.get("metadata") or {}, template.get("spec") or {}
    _labels(o, "  Labels", meta.get("labels"))
    if meta.get("annotations"):
        _annotations(o, meta.get("annotations"), "  Annotations")
    if spec.get("serviceAccountName"):
        o.w(1, f"Service Account:\t{spec['serviceAccountName']}\n")
    if spec.get("initContainers"):
        _containers(o, "Init Containers", spec["initContainers"], [], {}, "  ")
    _containers(o, "Containers", spec.get("containers") or [], [], {}, "  ")
    _volumes(o, template, None, "  ")
    if spec.get("priorityClassName"):
        o.w(1, f"Priority Class Name:\t{spec['priorityClassName']}\n")
    _selectors_tolerations(o, spec, "  ")


def _toleration(t: dict[str, Any]) -> str:
    s = str(t.get("key", ""))
    if t.get("value"):
        s += "=" + str(t["value"])
    if t.get("effect"):
        s += ":" + str(t["effect"])
    if t.get("operator") == "Exists" and not t.get("value"):
        s += " op=Exists"
    if t.get("tolerationSeconds") is not None:
        s += f" for {t['tolerationSeconds']}s"
    return s

