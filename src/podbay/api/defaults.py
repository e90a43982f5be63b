"""v1 API defaulting for Pods (pkg/apis/core/v1/defaults.go), applied before validation."""

from __future__ import annotations

import copy
from typing import Any

VOLUME_SOURCES = (
    "emptyDir",
    "hostPath",
    "gitRepo",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "flocker",
    "persistentVolumeClaim",
    "rbd",
    "cinder",
    "cephfs",
    "quobyte",
    "downwardAPI",
    "fc",
    "flexVolume",
    "configMap",
    "azureFile",
    "vsphereVolume",
    "photonPersistentDisk",
    "portworxVolume",
    "azureDisk",
    "storageos",
    "projected",
    "scaleIO",
    "csi",
    "ephemeral",
    "image",
)  # fmt: skip  -- validateVolumeSource's fixed order

DEFAULT_MODE = 0o644  # secret/configMap/downwardAPI/projected defaultMode


def image_tag(image: str) -> tuple[str, str]:
    """(tag, digest) of an image reference; tag is "latest" when neither is given."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    if not tag and not digest:
        tag = "latest"
    return tag, digest


def _default_probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    for k, v in (
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ):
        if not probe.get(k):
            probe[k] = v
    http = probe.get("httpGet")
    if isinstance(http, dict):
        if not http.get("path"):
            http["path"] = "/"
        if not http.get("scheme"):
            http["scheme"] = "HTTP"


def _default_container(c: Any) -> None:
    if not isinstance(c, dict):
        return
    if not c.get("imagePullPolicy"):
        tag, _ = image_tag(str(c.get("image") or ""))
        c["imagePullPolicy"] = "Always" if tag == "latest" else "IfNotPresent"
    if not c.get("terminationMessagePath"):
        c["terminationMessagePath"] = "/dev/termination-log"
    if not c.get("terminationMessagePolicy"):
        c["terminationMessagePolicy"] = "File"
    for p in c.get("ports") or []:
        if isinstance(p, dict) and not p.get("protocol"):
            p["protocol"] = "TCP"
    res = c.get("resources")
    if not isinstance(res, dict):
        res = c["resources"] = {}
    # SetDefaults_Pod: a limit without a request makes the request equal to the limit.
    limits = res.get("limits")
    if isinstance(limits, dict) and limits:
        requests = res.setdefault("requests", {})
        if isinstance(requests, dict):
            for k, v in limits.items():
                requests.setdefault(k, v)
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(c.get(probe))
    lifecycle = c.get("lifecycle")
    for hook in ("postStart", "preStop"):
        http = (lifecycle.get(hook) or {}).get("httpGet") if isinstance(lifecycle, dict) else None
        if isinstance(http, dict):      # SetDefaults_HTTPGetAction applies to hook handlers too
            http.setdefault("path", "/") if http.get("path") else http.__setitem__("path", "/")
            if not http.get("scheme"):
                http["scheme"] = "HTTP"
    for env in c.get("env") or []:
        ref = ((env or {}).get("valueFrom") or {}).get("fieldRef") if isinstance(env, dict) else None
        if isinstance(ref, dict) and not ref.get("apiVersion"):
            ref["apiVersion"] = "v1"


def _default_volume(v: Any) -> None:
    if not isinstance(v, dict):
        return
    if not any(v.get(src) is not None for src in VOLUME_SOURCES):
        v["emptyDir"] = {}
    hp = v.get("hostPath")
    if isinstance(hp, dict) and hp.get("type") is None:
        hp["type"] = ""
    for src in ("secret", "configMap", "downwardAPI", "projected"):
        s = v.get(src)
        if isinstance(s, dict) and s.get("defaultMode") is None:
            s["defaultMode"] = DEFAULT_MODE
    apis = [v.get("downwardAPI")]
    projected = v.get("projected")
    sources = projected.get("sources") if isinstance(projected, dict) else None
    for source in sources if isinstance(sources, list) else []:
        if not isinstance(source, dict):
            continue
        apis.append(source.get("downwardAPI"))   # SetDefaults_ObjectFieldSelector reaches these too
        sat = source.get("serviceAccountToken")
        if isinstance(sat, dict) and sat.get("expirationSeconds") is None:
            sat["expirationSeconds"] = 3600   # SetDefaults_ServiceAccountTokenProjection
    for dapi in apis:
        items = dapi.get("items") if isinstance(dapi, dict) else None
        for item in items if isinstance(items, list) else []:
            ref = item.get("fieldRef") if isinstance(item, dict) else None
            if isinstance(ref, dict) and not ref.get("apiVersion"):
                ref["apiVersion"] = "v1"


def default_pod(pod: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``pod`` with v1 defaults applied (SEMANTICS §0)."""
    out = copy.deepcopy(pod)
    meta = out.get("metadata")
    if not isinstance(meta, dict):
        meta = out["metadata"] = {}
    if not meta.get("namespace"):
        meta["namespace"] = "default"
    spec = out.get("spec")
    if not isinstance(spec, dict):
        spec = out["spec"] = {}
    for key, value in (
        ("restartPolicy", "Always"),
        ("dnsPolicy", "ClusterFirst"),
        ("schedulerName", "default-scheduler"),
    ):
        if not spec.get(key):
            spec[key] = value
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    for v in spec.get("volumes") or []:
        _default_volume(v)
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            _default_container(c)
    return out
