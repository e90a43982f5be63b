"""PersistentVolumeClaim helpers of kubectl's printers (storageutil): access-mode abbreviations, the
claim's class and its CAPACITY / ACCESS MODES cells, for ``describe pvc``. ``get`` prints the server's
Table (``cli.tableprint``)."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"), ("ReadWriteOncePod", "RWOP"))


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
