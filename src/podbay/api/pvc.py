"""PersistentVolumeClaim: defaulting and validation with the API server's messages (pure).

podbay's built-in storage class is ``podbay-local`` (a local-path provisioner): claims without a
class get it, as the DefaultStorageClass admission plugin would. A claim may name any class (one
podbay does not serve stays Pending, as upstream's does without its provisioner); what needs
pre-existing PersistentVolumes (static binding, selectors, data sources) and Block mode are rejected
as ``Forbidden: ... not supported by podbay``.
"""

from __future__ import annotations

import copy
from fractions import Fraction
from typing import Any

from podbay.api import names
from podbay.api.fielderror import (
    FieldError,
    forbidden,
    invalid,
    not_supported,
    required,
    unsupported,
)
from podbay.api.quantity import parse_quantity
from podbay.api.validation import validate_object_meta, validate_object_meta_update

DEFAULT_STORAGE_CLASS = "podbay-local"
ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")  # sets.List order
VOLUME_MODES = ("Block", "Filesystem")
PROTECTION_FINALIZER = "kubernetes.io/pvc-protection"
IMMUTABLE_SPEC_MSG = "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"

Obj = dict[str, Any]


def default_pvc(pvc: Obj) -> Obj:
    """v1 defaulting plus the admission plugins' part: volumeMode, storage class, protection finalizer."""
    out = copy.deepcopy(pvc)
    spec = out.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")
        if spec.get("storageClassName") is None:
            spec["storageClassName"] = DEFAULT_STORAGE_CLASS
    md = out.setdefault("metadata", {})
    if isinstance(md, dict):
        fins = list(md.get("finalizers") or [])
        if PROTECTION_FINALIZER not in fins:
            fins.append(PROTECTION_FINALIZER)
        md["finalizers"] = fins
    out["status"] = {"phase": "Pending"}  # status is the server's: PrepareForCreate resets it
    return out


def requested_storage(pvc: Obj) -> str | None:
    """spec.resources.requests.storage as written (None when absent)."""
    spec = pvc.get("spec") or {}
    requests = ((spec.get("resources") or {}).get("requests") or {}) if isinstance(spec, dict) else {}
    value = requests.get("storage") if isinstance(requests, dict) else None
    return None if value is None else str(value)


def _storage_value(pvc: Obj) -> Fraction | None:
    raw = requested_storage(pvc)
    if raw is None:
        return None
    try:
        return parse_quantity(raw)
    except ValueError:
        return None


def validate_pvc(pvc: Obj, bound_volume: str | None = None) -> list[FieldError]:
    """bound_volume: the volumeName podbay itself set (an update may carry it back unchanged)."""
    errs = validate_object_meta(pvc.get("metadata"))
    spec = pvc.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    errs += _validate_access_modes(spec.get("accessModes"))
    errs += _validate_storage(spec)
    mode = spec.get("volumeMode")
    if mode is not None and mode not in VOLUME_MODES:
        errs.append(not_supported("spec.volumeMode", mode, VOLUME_MODES))
    errs += _validate_class(spec.get("storageClassName"))
    # volumeMode Block, selector, dataSource(Ref), volumeAttributesClassName, limits: the support
    # table (api/support.py). volumeName stays here (listed in support.ELSEWHERE): an update may
    # carry back the name podbay's provisioner bound, which only the stored object knows.
    if spec.get("volumeName") and spec.get("volumeName") != bound_volume:
        errs.append(unsupported("spec.volumeName", "binding to a pre-existing PersistentVolume is"))
    return errs


def _validate_access_modes(modes: Any) -> list[FieldError]:
    if not modes:
        return [required("spec.accessModes", "at least 1 access mode is required")]
    if not isinstance(modes, list):
        return [invalid("spec.accessModes", modes, "must be a list")]
    errs = [not_supported("spec.accessModes", m, ACCESS_MODES) for m in modes if m not in ACCESS_MODES]
    if "ReadWriteOncePod" in modes and len(modes) > 1:
        errs.append(forbidden("spec.accessModes", "may not use ReadWriteOncePod with other access modes"))
    return errs


def _validate_storage(spec: Obj) -> list[FieldError]:
    resources = spec.get("resources") or {}
    requests = resources.get("requests") if isinstance(resources, dict) else None
    if not isinstance(requests, dict) or requests.get("storage") is None:
        # Upstream's path really is spec.resources[storage] here (no ".requests").
        return [required("spec.resources[storage]")]
    raw = requests["storage"]
    path = "spec.resources.requests[storage]"
    try:
        value = parse_quantity(raw)
    except ValueError as exc:
        return [invalid(path, str(raw), str(exc))]
    if value <= 0:
        return [invalid(path, str(raw), "must be greater than zero")]
    return []


def _validate_class(cls: Any) -> list[FieldError]:
    """``ValidatePersistentVolumeClaimSpec``: a non-empty class name is a DNS-1123 subdomain."""
    if cls is None or cls == DEFAULT_STORAGE_CLASS:
        return []
    if not isinstance(cls, str):
        return [invalid("spec.storageClassName", cls, "must be a string")]
    return [invalid("spec.storageClassName", cls, m) for m in names.is_dns1123_subdomain(cls)] if cls else []


def validate_pvc_update(old: Obj, new: Obj) -> list[FieldError]:
    """Metadata immutability, then spec immutability except growing resources.requests.storage."""
    errs = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    old_spec, new_spec = (copy.deepcopy(o.get("spec")) for o in (old, new))
    old_spec = old_spec if isinstance(old_spec, dict) else {}
    new_spec = new_spec if isinstance(new_spec, dict) else {}
    # A PUT may omit server-set fields; compare what the user can actually change.
    for s in (old_spec, new_spec):
        requests = (s.get("resources") or {}).get("requests")
        if isinstance(requests, dict):
            requests.pop("storage", None)
    if new_spec.get("volumeName") in (None, "") and old_spec.get("volumeName"):
        new_spec["volumeName"] = old_spec["volumeName"]
    if old_spec != new_spec:
        errs.append(forbidden("spec", IMMUTABLE_SPEC_MSG))
    old_size, new_size = _storage_value(old), _storage_value(new)
    if old_size is not None and new_size is not None and new_size < old_size:
        # RecoverVolumeExpansionFailure (on by default since 1.32): the floor is status.capacity,
        # which podbay's provisioner sets to the request.
        errs.append(forbidden("spec.resources.requests.storage", "field can not be less than status.capacity"))
    return errs
