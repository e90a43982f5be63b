"""kubectl's table columns for ConfigMaps, Secrets and PersistentVolumeClaims, pure of (object, now).

Ports printConfigMap / printSecret / printPersistentVolumeClaim (pkg/printers/internalversion/printers.go,
kubectl 1.29+ with the VOLUMEATTRIBUTESCLASS column). Pods keep their own printer (printers.pod_row).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podbay.cli.printers import since

Obj = dict[str, Any]

STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP"))

HEADERS = {
    "ConfigMap": ["NAME", "DATA", "AGE"],
    "Secret": ["NAME", "TYPE", "DATA", "AGE"],
    "PersistentVolumeClaim": ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS",
                              "VOLUMEATTRIBUTESCLASS", "AGE"],
}
WIDE_HEADERS = {"PersistentVolumeClaim": ["VOLUMEMODE"]}


def access_modes(modes: list[str] | None) -> str:
    """storageutil.GetAccessModesAsString: abbreviations in a fixed order, duplicates dropped."""
    given = set(modes or [])
    return ",".join(short for mode, short in _MODES if mode in given)


def storage_class(pvc: Obj) -> str:
    """storageutil.GetPersistentVolumeClaimClass: the beta annotation wins over spec.storageClassName."""
    annotations = (pvc.get("metadata") or {}).get("annotations") or {}
    if STORAGE_CLASS_ANNOTATION in annotations:
        return str(annotations[STORAGE_CLASS_ANNOTATION])
    return str((pvc.get("spec") or {}).get("storageClassName") or "")


def pvc_capacity_and_modes(pvc: Obj) -> tuple[str, str]:
    """(CAPACITY, ACCESS MODES): from status, and only once the claim names a volume (as kubectl)."""
    spec, status = pvc.get("spec") or {}, pvc.get("status") or {}
    if not spec.get("volumeName"):
        return "", ""
    return str((status.get("capacity") or {}).get("storage") or "0"), access_modes(status.get("accessModes"))


def header(kind: str, *, wide: bool = False, with_namespace: bool = False) -> list[str]:
    cols = HEADERS[kind] + (WIDE_HEADERS.get(kind, []) if wide else [])
    return (["NAMESPACE"] if with_namespace else []) + cols


def row(kind: str, obj: Obj, now: datetime, *, wide: bool = False, with_namespace: bool = False) -> list[str]:
    meta = obj.get("metadata") or {}
    age = since(meta.get("creationTimestamp"), now)
    cells: list[str] = [str(meta.get("name", ""))]
    if kind == "ConfigMap":
        cells += [str(len(obj.get("data") or {}) + len(obj.get("binaryData") or {})), age]
    elif kind == "Secret":
        cells += [str(obj.get("type") or ""), str(len(obj.get("data") or {})), age]
    elif kind == "PersistentVolumeClaim":
        spec = obj.get("spec") or {}
        phase = "Terminating" if meta.get("deletionTimestamp") else str((obj.get("status") or {}).get("phase") or "")
        capacity, modes = pvc_capacity_and_modes(obj)
        cells += [phase, str(spec.get("volumeName") or ""), capacity, modes, storage_class(obj),
                  str(spec.get("volumeAttributesClassName") or "<unset>"), age]
        if wide:
            cells.append(str(spec.get("volumeMode") or "<unset>"))
    else:
        raise ValueError(f"no table printer for kind {kind!r}")
    if with_namespace:
        cells.insert(0, str(meta.get("namespace", "")))
    return cells
