"""The ServiceAccount admission plugin's pod mutation, as a pure function (plugin/pkg/admission/serviceaccount).

On pod create: default ``spec.serviceAccountName`` to ``default``; unless automounting is off (the pod's
``automountServiceAccountToken`` wins over the ServiceAccount's), add the projected ``kube-api-access-*``
volume (a bound token, ``ca.crt`` from the ``kube-root-ca.crt`` ConfigMap, the namespace from the
downward API) and mount it read-only at /var/run/secrets/kubernetes.io/serviceaccount in every init and
app container that has nothing mounted there; copy the ServiceAccount's imagePullSecrets when the pod
has none. Looking the ServiceAccount up (and the error when it is missing) is the caller's job.
"""

from __future__ import annotations

import copy
from typing import Any

DEFAULT_SERVICE_ACCOUNT = "default"
VOLUME_PREFIX = "kube-api-access-"
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
ROOT_CA_KEY = "ca.crt"
TOKEN_EXPIRATION = 3607       # serviceaccount.WarnOnlyBoundTokenExpirationSeconds
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def service_account_name(pod: dict[str, Any]) -> str:
    """serviceAccountName, else the deprecated serviceAccount (v1 conversion), else `default`."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return DEFAULT_SERVICE_ACCOUNT
    for key in ("serviceAccountName", "serviceAccount"):
        name = spec.get(key)
        if isinstance(name, str) and name:
            return name
    return DEFAULT_SERVICE_ACCOUNT


def should_automount(pod: dict[str, Any], sa: dict[str, Any]) -> bool:
    """shouldAutomount: the pod's setting, else the ServiceAccount's, else true."""
    raw = pod.get("spec")
    spec: dict[str, Any] = raw if isinstance(raw, dict) else {}
    if isinstance(spec.get("automountServiceAccountToken"), bool):
        return bool(spec["automountServiceAccountToken"])
    if isinstance(sa.get("automountServiceAccountToken"), bool):
        return bool(sa["automountServiceAccountToken"])
    return True


def kube_api_access_volume(name: str) -> dict[str, Any]:
    return {"name": name, "projected": {"defaultMode": 0o644, "sources": [
        {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION, "path": "token"}},
        {"configMap": {"name": ROOT_CA_CONFIGMAP, "items": [{"key": ROOT_CA_KEY, "path": ROOT_CA_KEY}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]}}


def is_mirror_pod(pod: dict[str, Any]) -> bool:
    md = pod.get("metadata")
    anns = md.get("annotations") if isinstance(md, dict) else None
    return isinstance(anns, dict) and MIRROR_ANNOTATION in anns


def admit(pod: dict[str, Any], sa: dict[str, Any], suffix: str) -> dict[str, Any]:
    """A copy of pod as the admission plugin leaves it; `suffix` names a new kube-api-access volume."""
    out = copy.deepcopy(pod)
    spec = out.get("spec")
    if not isinstance(spec, dict):
        return out
    spec["serviceAccountName"] = spec["serviceAccount"] = service_account_name(out)   # both, as v1 serves them
    if should_automount(out, sa):
        _mount_token(spec, suffix)
    if not spec.get("imagePullSecrets") and sa.get("imagePullSecrets"):
        spec["imagePullSecrets"] = copy.deepcopy(sa["imagePullSecrets"])
    return out


def _mount_token(spec: dict[str, Any], suffix: str) -> None:
    volumes = spec.get("volumes")
    if volumes is None:
        volumes = []
    if not isinstance(volumes, list):
        return
    name = ""
    for v in volumes:   # an existing kube-api-access-* volume (a re-admitted pod) is reused
        if isinstance(v, dict) and str(v.get("name", "")).startswith(VOLUME_PREFIX):
            name = str(v["name"])
            break
    has_volume = bool(name)
    name = name or VOLUME_PREFIX + suffix
    needs = False
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            if not isinstance(c, dict):
                continue
            mounts = c.get("volumeMounts")
            if mounts is None:
                mounts = c["volumeMounts"] = []
            if not isinstance(mounts, list):
                continue
            if any(isinstance(m, dict) and m.get("mountPath") == MOUNT_PATH for m in mounts):
                continue
            mounts.append({"name": name, "readOnly": True, "mountPath": MOUNT_PATH})
            needs = True
    if needs and not has_volume:
        volumes.append(kube_api_access_volume(name))
        spec["volumes"] = volumes
