"""Atomic-writer volumes (configMap, secret, downwardAPI, projected): payloads from stored objects."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from podbay.core import projection
from podbay.core.projection import Payload
from podbay.errors import PermanentError
from podbay.ports import ObjectSource
from podbay.volumes import projected
from podbay.volumes.plan import memory_volume_size, setup_failed

# (pod, audience, expirationSeconds) -> a ServiceAccount token bound to the pod (the kubelet's token manager)
PodToken = Callable[[dict[str, Any], str, int], str]


class PodTokens(Protocol):
    """The kubelet's token manager: tokens for serviceAccountToken projections, dropped with the pod."""

    def pod_token(self, pod: dict[str, Any], audience: str, expiration_seconds: int) -> str: ...
    # The cached token while it needs no renewal, else None (never issues: safe on the event loop).
    def cached_token(self, pod: dict[str, Any], audience: str, expiration_seconds: int) -> str | None: ...
    def forget_pod(self, uid: str) -> None: ...


CachedToken = Callable[[dict[str, Any], str, int], "str | None"]


def is_projection(volume: dict[str, Any]) -> bool:
    return projection.plugin_for(volume) is not None


def _payload(objects: ObjectSource, node_allocatable: int, pod: dict[str, Any],
             volume: dict[str, Any], pod_token: PodToken | None = None) -> Payload:
    ns = pod["metadata"]["namespace"]

    def cm(name: str) -> dict[str, Any] | None:
        return objects.get("ConfigMap", ns, name)

    def secret(name: str) -> dict[str, Any] | None:
        return objects.get("Secret", ns, name)

    alloc = {"memory": str(node_allocatable)}
    if volume.get("configMap") is not None:
        src = volume["configMap"]
        return projection.configmap_payload(src, cm(src.get("name", "")), src.get("defaultMode", 0o644))
    if volume.get("secret") is not None:
        src = volume["secret"]
        return projection.secret_payload(src, secret(src.get("secretName", "")), src.get("defaultMode", 0o644))
    if volume.get("downwardAPI") is not None:
        src = volume["downwardAPI"]
        return projection.downward_payload(src, pod, src.get("defaultMode", 0o644), alloc)
    src = volume["projected"]
    token = (lambda aud, seconds: pod_token(pod, aud, seconds)) if pod_token is not None else None
    return projection.projected_payload(src, pod, cm, secret, src.get("defaultMode", 0o644), alloc, token)


def _fs_group(pod: dict[str, Any]) -> int | None:
    value = (pod["spec"].get("securityContext") or {}).get("fsGroup")
    return int(value) if value is not None else None


def setup_all(objects: ObjectSource, node_allocatable: int, pod: dict[str, Any],
              pod_dir: Path, pod_token: PodToken | None = None) -> dict[str, str]:
    """Set up every atomic-writer volume of the pod (idempotent); volume name -> host path."""
    out: dict[str, str] = {}
    size = memory_volume_size(pod, node_allocatable, None)
    for vol in pod["spec"].get("volumes") or []:
        plugin = projection.plugin_for(vol)
        if plugin is None:
            continue
        try:
            payload = _payload(objects, node_allocatable, pod, vol, pod_token)
        except PermanentError as exc:
            raise setup_failed(vol["name"], str(exc)) from exc
        out[vol["name"]] = projected.setup_projected_volume(pod_dir, plugin, vol["name"], payload,
                                                            size_bytes=size, fs_group=_fs_group(pod))
    return out


def refresh_all(objects: ObjectSource, node_allocatable: int, pod: dict[str, Any],
                pod_dir: Path, pod_token: PodToken | None = None, failed: list[str] | None = None) -> list[str]:
    """Re-project changed objects into mounted volumes (subPath mounts keep their old file, as upstream);
    volumes that could not be projected this time are added to ``failed``."""
    changed = []
    for vol in pod["spec"].get("volumes") or []:
        plugin = projection.plugin_for(vol)
        if plugin is None:
            continue
        try:
            payload = _payload(objects, node_allocatable, pod, vol, pod_token)
            if projected.update_projected_volume(pod_dir, plugin, vol["name"], payload, fs_group=_fs_group(pod)):
                changed.append(vol["name"])
        except PermanentError:
            if failed is not None:
                failed.append(vol["name"])
    return changed


# A refresh whose inputs did not change is skipped, but not for longer than this: the files are also
# rewritten if someone on the host changed them (containers mount these volumes read-only).
REFRESH_BACKSTOP = 300.0


@dataclass(frozen=True)
class RefreshInputs:
    """What one refresh read: the pod's mutable fields a downward API can show, each object's version
    (None: absent), each token."""

    pod: tuple[Any, ...]
    objects: dict[tuple[str, str, str], str | None]
    tokens: dict[tuple[str, int], str]
    at: float


class _Recording:
    """An ObjectSource that notes the version of every object read (taken before the read: a change
    in between shows as a new version next time, never as an old one)."""

    def __init__(self, inner: ObjectSource) -> None:
        self.inner = inner
        self.seen: dict[tuple[str, str, str], str | None] = {}

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        version = self.inner.version(kind, namespace, name)
        obj = self.inner.get(kind, namespace, name)
        self.seen[(kind, namespace, name)] = version if obj is not None else None
        return obj

    def version(self, kind: str, namespace: str, name: str) -> str | None:
        return self.inner.version(kind, namespace, name)


# Downward API fields that never change while a pod exists: a file showing only these needs no refresh.
_FIXED_FIELDS = frozenset({"metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
                           "spec.serviceAccountName"})


def _downward_items(pod: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for v in pod["spec"].get("volumes") or []:
        if v.get("downwardAPI") is not None:
            items += (v["downwardAPI"] or {}).get("items") or []
        for src in (v.get("projected") or {}).get("sources") or []:
            if src.get("downwardAPI") is not None:
                items += (src["downwardAPI"] or {}).get("items") or []
    return items


def _pod_inputs(pod: dict[str, Any]) -> tuple[Any, ...]:
    """What the pod's downward API files show that may change while it runs (labels, annotations, the
    IPs, container resources). kube-api-access shows only the namespace: status writes and label edits
    then never cause a refresh."""
    md = pod.get("metadata") or {}
    st = pod.get("status") or {}
    out: list[Any] = []
    for item in _downward_items(pod):
        ref = item.get("fieldRef")
        if ref is not None:
            path = str((ref or {}).get("fieldPath") or "")
            if path in _FIXED_FIELDS:
                continue
            top = path.split("[", 1)[0]
            if top == "metadata.labels":
                out.append(md.get("labels"))
            elif top == "metadata.annotations":
                out.append(md.get("annotations"))
            elif path.startswith("status."):
                out.append((st.get("podIP"), st.get("podIPs"), st.get("hostIP"), st.get("hostIPs")))
            else:
                out.append(path)   # anything else is read as it is (an error stays an error)
        elif item.get("resourceFieldRef") is not None:
            out.append([c.get("resources") for c in (pod["spec"].get("initContainers") or [])
                        + list(pod["spec"].get("containers") or [])])
    return tuple(out)


class InputRecorder:
    """Wraps the object source and the token source of one setup or refresh, noting what it read."""

    def __init__(self, objects: ObjectSource, pod_token: PodToken | None) -> None:
        self.objects = _Recording(objects)
        self._pod_token = pod_token
        self.tokens: dict[tuple[str, int], str] = {}
        self.pod_token: PodToken | None = self._token if pod_token is not None else None

    def _token(self, pod: dict[str, Any], audience: str, seconds: int) -> str:
        assert self._pod_token is not None
        self.tokens[(audience, seconds)] = value = self._pod_token(pod, audience, seconds)
        return value

    def inputs(self, pod: dict[str, Any], now: float) -> RefreshInputs:
        return RefreshInputs(copy.deepcopy(_pod_inputs(pod)), dict(self.objects.seen), dict(self.tokens), now)


def inputs_unchanged(last: RefreshInputs, objects: ObjectSource, pod: dict[str, Any],
                     cached_token: CachedToken | None, now: float) -> bool:
    """Would a refresh now read exactly what the last one read? (versions only: nothing is decoded;
    a cached token is a dictionary lookup; one due for renewal, or gone, is a change: the refresh, in
    its thread, issues the new one)."""
    if now - last.at >= REFRESH_BACKSTOP or _pod_inputs(pod) != last.pod:
        return False
    if any(objects.version(*key) != v for key, v in last.objects.items()):
        return False
    return cached_token is None or all(cached_token(pod, aud, secs) == t for (aud, secs), t in last.tokens.items())


def teardown_all(pod_dir: Path) -> None:
    """Tear down every atomic-writer volume found on disk (works without the pod spec)."""
    for plugin in projection.SOURCE_PLUGIN.values():
        base = pod_dir / "volumes" / plugin
        if base.is_dir():
            for entry in base.iterdir():
                projected.teardown_projected_volume(pod_dir, plugin, entry.name)


def uses_object(pod: dict[str, Any], kind: str, name: str) -> bool:
    for vol in pod["spec"].get("volumes") or []:
        if kind == "ConfigMap" and (vol.get("configMap") or {}).get("name") == name:
            return True
        if kind == "Secret" and (vol.get("secret") or {}).get("secretName") == name:
            return True
        for src in (vol.get("projected") or {}).get("sources") or []:
            if kind == "ConfigMap" and (src.get("configMap") or {}).get("name") == name:
                return True
            if kind == "Secret" and (src.get("secret") or {}).get("name") == name:
                return True
    return False
