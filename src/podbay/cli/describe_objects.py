"""``describe configmap|secret|pvc``: kubectl's describers (pkg/describe/describe.go), pure of their inputs.

Go iterates maps in random order; keys are sorted here so the output is stable.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from podbay.cli.describe import _annotations, _events, _labels, _Out, rfc1123z
from podbay.cli.printers import since
from podbay.cli.tables import pvc_capacity_and_modes, storage_class

Obj = dict[str, Any]
SA_TOKEN_TYPE = "kubernetes.io/service-account-token"


def _head(o: _Out, obj: Obj) -> None:
    meta = obj.get("metadata") or {}
    o.w(0, f"Name:\t{meta.get('name', '')}\n")
    o.w(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels(o, "Labels", meta.get("labels"))
    _annotations(o, meta.get("annotations"))


def _decoded(value: Any) -> bytes:
    """A base64 ``data`` value; a value that is not base64 counts as its raw text."""
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        return str(value).encode()


def describe_configmap(cm: Obj, events: list[Obj] | None, now: datetime) -> str:
    o = _Out()
    _head(o, cm)
    data, binary = cm.get("data") or {}, cm.get("binaryData") or {}
    o.w(0, "\nData\n====\n")
    for key in sorted(data):
        o.w(0, f"{key}:\n----\n")
        o.w(0, f"{data[key]}\n")
        o.w(0, "\n")
    o.w(0, "\nBinaryData\n====\n")
    for key in sorted(binary):
        o.w(0, f"{key}: {len(_decoded(binary[key]))} bytes\n")
    o.w(0, "\n")
    if events is not None:
        _events(o, events, now)
    return o.text()


def describe_secret(secret: Obj) -> str:
    """Never prints values (only sizes), except a service-account token, as kubectl."""
    o = _Out()
    _head(o, secret)
    stype = str(secret.get("type") or "")
    o.w(0, f"\nType:\t{stype}\n")
    o.w(0, "\nData\n====\n")
    data = secret.get("data") or {}
    for key in sorted(data):
        raw = _decoded(data[key])
        if key == "token" and stype == SA_TOKEN_TYPE:
            o.w(0, f"{key}:\t{raw.decode('utf-8', 'replace')}\n")
        else:
            o.w(0, f"{key}:\t{len(raw)} bytes\n")
    return o.text()


def pods_using_claim(claim: str, pods: list[Obj]) -> list[str]:
    """Names of the pods whose volumes reference ``claim`` (getPodsForPVC), sorted."""
    return sorted(
        str(p["metadata"]["name"])
        for p in pods
        if any(((v.get("persistentVolumeClaim") or {}).get("claimName") == claim)
               for v in (p.get("spec") or {}).get("volumes") or [])
    )


def describe_pvc(pvc: Obj, used_by: list[str], events: list[Obj] | None, now: datetime) -> str:
    meta, spec, status = pvc.get("metadata") or {}, pvc.get("spec") or {}, pvc.get("status") or {}
    o = _Out()
    o.w(0, f"Name:\t{meta.get('name', '')}\n")
    o.w(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    o.w(0, f"StorageClass:\t{storage_class(pvc)}\n")
    if meta.get("deletionTimestamp"):
        o.w(0, f"Status:\tTerminating (lasts {since(meta['deletionTimestamp'], now)})\n")
    else:
        o.w(0, f"Status:\t{status.get('phase', '')}\n")
    o.w(0, f"Volume:\t{spec.get('volumeName', '')}\n")
    _labels(o, "Labels", meta.get("labels"))
    _annotations(o, meta.get("annotations"))
    o.w(0, f"Finalizers:\t[{' '.join(meta.get('finalizers') or [])}]\n")
    capacity, modes = pvc_capacity_and_modes(pvc)
    o.w(0, f"Capacity:\t{capacity}\n")
    o.w(0, f"Access Modes:\t{modes}\n")
    if spec.get("volumeMode"):
        o.w(0, f"VolumeMode:\t{spec['volumeMode']}\n")
    source = spec.get("dataSource")
    if source:
        o.w(0, "DataSource:\n")
        if source.get("apiGroup"):
            o.w(1, f"APIGroup:\t{source['apiGroup']}\n")
        o.w(1, f"Kind:\t{source.get('kind', '')}\n")
        o.w(1, f"Name:\t{source.get('name', '')}\n")
    o.w(0, "Used By:\t")
    if not used_by:
        o.w(0, "<none>\n")
    for i, name in enumerate(used_by):
        o.w(0, f"{chr(9) if i else ''}{name}\n")
    conditions = status.get("conditions") or []
    if conditions:
        o.w(0, "Conditions:\n")
        o.w(1, "Type\tStatus\tLastProbeTime\tLastTransitionTime\tReason\tMessage\n")
        o.w(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
        for c in conditions:
            o.w(1, f"{c.get('type', '')} \t{c.get('status', '')} \t{rfc1123z(c.get('lastProbeTime'))} \t"
                   f"{rfc1123z(c.get('lastTransitionTime'))} \t{c.get('reason', '')} \t{c.get('message', '')}\n")
    if events is not None:
        _events(o, events, now)
    return o.text()
