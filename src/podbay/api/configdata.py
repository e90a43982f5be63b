"""ConfigMap and Secret: defaulting (Secret stringData merge) and validation with the API server's messages."""

from __future__ import annotations

import base64
import binascii
import copy
from typing import Any

from podbay.api import names
from podbay.api.fielderror import FieldError, duplicate, forbidden, invalid, required, too_long
from podbay.api.validation import validate_object_meta

MAX_TOTAL_BYTES = 1024 * 1024   # validation.MaxSecretSize / RuntimeObjectsMaxSize for ConfigMap
SECRET_TYPES_WITH_KEYS = {
    "kubernetes.io/dockercfg": [".dockercfg"],
    "kubernetes.io/dockerconfigjson": [".dockerconfigjson"],
    "kubernetes.io/basic-auth": [],
    "kubernetes.io/ssh-auth": ["ssh-privatekey"],
    "kubernetes.io/tls": ["tls.crt", "tls.key"],
}


def default_secret(secret: dict[str, Any]) -> dict[str, Any]:
    """Merge stringData into data (base64), as the API server does; default type Opaque."""
    out = copy.deepcopy(secret)
    data = dict(out.get("data") or {})
    for k, v in (out.pop("stringData", None) or {}).items():
        data[k] = base64.b64encode(str(v).encode()).decode()
    out["data"] = data
    out.setdefault("type", "Opaque")
    return out


def _keys(obj: dict[str, Any], field: str) -> dict[str, Any]:
    value = obj.get(field) or {}
    return value if isinstance(value, dict) else {}


def validate_configmap(cm: dict[str, Any]) -> list[FieldError]:
    errs = validate_object_meta(cm.get("metadata"))
    data, binary = _keys(cm, "data"), _keys(cm, "binaryData")
    total = 0
    for k, v in data.items():
        errs += [invalid(f"data[{k}]", k, m) for m in names.is_config_map_key(k)]
        if not isinstance(v, str):
            errs.append(invalid(f"data[{k}]", v, "must be a string"))
        else:
            total += len(v.encode())
    for k, v in binary.items():
        errs += [invalid(f"binaryData[{k}]", k, m) for m in names.is_config_map_key(k)]
        if k in data:
            errs.append(duplicate(f"binaryData[{k}]", k))
        try:
            total += len(base64.b64decode(str(v), validate=True))
        except (binascii.Error, ValueError):
            errs.append(invalid(f"binaryData[{k}]", "<binary>", "must be base64-encoded"))
    if total > MAX_TOTAL_BYTES:
        errs.append(too_long("", MAX_TOTAL_BYTES))
    return errs


def validate_secret(secret: dict[str, Any]) -> list[FieldError]:
    errs = validate_object_meta(secret.get("metadata"))
    total = 0
    data = _keys(secret, "data")
    for k, v in data.items():
        errs += [invalid(f"data[{k}]", k, m) for m in names.is_config_map_key(k)]
        try:
            total += len(base64.b64decode(str(v), validate=True))
        except (binascii.Error, ValueError):
            errs.append(invalid(f"data[{k}]", "<secret contents redacted>", "illegal base64 data"))
    stype = secret.get("type") or "Opaque"
    for key in SECRET_TYPES_WITH_KEYS.get(stype, []):
        if key not in data:
            errs.append(required(f"data[{key}]"))
    if total > MAX_TOTAL_BYTES:
        errs.append(too_long("data", MAX_TOTAL_BYTES))
    return errs


def validate_immutable_update(old: dict[str, Any], new: dict[str, Any]) -> list[FieldError]:
    """Objects marked immutable: data and binaryData may not change, nor immutable be unset."""
    errs: list[FieldError] = []
    if old.get("immutable"):
        if not new.get("immutable"):
            errs.append(forbidden("immutable", "field is immutable when `immutable` is set"))
        if old.get("data") != new.get("data") or old.get("binaryData") != new.get("binaryData"):
            errs.append(forbidden("data", "field is immutable when `immutable` is set"))
    if old.get("kind") == "Secret" and (old.get("type") or "Opaque") != (new.get("type") or "Opaque"):
        errs.append(invalid("type", new.get("type"), "field is immutable"))
    return errs
