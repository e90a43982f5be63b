"""Atomic-writer volumes (configMap, secret, downwardAPI, projected): payloads from stored objects."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from podbay.agent.deps import Deps
from podbay.core import projection
from podbay.core.projection import Payload
from podbay.errors import PermanentError
from podbay.volumes import projected
from podbay.volumes.plan import memory_volume_size, setup_failed


def is_projection(volume: dict[str, Any]) -> bool:
    return projection.plugin_for(volume) is not None


def _payload(deps: Deps, pod: dict[str, Any], volume: dict[str, Any]) -> Payload:
    ns = pod["metadata"]["namespace"]

    def cm(name: str) -> dict[str, Any] | None:
        return deps.store.get_object("ConfigMap", ns, name)

    def secret(name: str) -> dict[str, Any] | None:
        return deps.store.get_object("Secret", ns, name)

    alloc = {"memory": str(deps.node_allocatable)}
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
    sas = deps.service_accounts
    token = (lambda aud, seconds: sas.pod_token(pod, aud, seconds)) if sas is not None else None
    return projection.projected_payload(src, pod, cm, secret, src.get("defaultMode", 0o644), alloc, token)


def _fs_group(pod: dict[str, Any]) -> int | None:
    value = (pod["spec"].get("securityContext") or {}).get("fsGroup")
    return int(value) if value is not None else None


def setup_all(deps: Deps, pod: dict[str, Any], pod_dir: Path) -> dict[str, str]:
    """Set up every atomic-writer volume of the pod (idempotent); volume name -> host path."""
    out: dict[str, str] = {}
    size = memory_volume_size(pod, deps.node_allocatable, None)
    for vol in pod["spec"].get("volumes") or []:
        plugin = projection.plugin_for(vol)
        if plugin is None:
            continue
        try:
            payload = _payload(deps, pod, vol)
        except PermanentError as exc:
            raise setup_failed(vol["name"], str(exc)) from exc
        out[vol["name"]] = projected.setup_projected_volume(pod_dir, plugin, vol["name"], payload,
                                                            size_bytes=size, fs_group=_fs_group(pod))
    return out


def refresh_all(deps: Deps, pod: dict[str, Any], pod_dir: Path) -> list[str]:
    """Re-project changed objects into mounted volumes (subPath mounts keep their old file, as upstream)."""
    changed = []
    for vol in pod["spec"].get("volumes") or []:
        plugin = projection.plugin_for(vol)
        if plugin is None:
            continue
        with contextlib.suppress(PermanentError):
            if projected.update_projected_volume(pod_dir, plugin, vol["name"], _payload(deps, pod, vol),
                                                 fs_group=_fs_group(pod)):
                changed.append(vol["name"])
    return changed


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
