"""seccompProfile fields and the deprecated seccomp annotations: validation and the annotation -> field
conversion (pure).

Mirrors validateSeccompProfileField / validateSeccompProfileType and ValidateSeccompProfile of
pkg/apis/core/validation, and podutil.SeccompFieldForAnnotation: the API server copies an annotation
into the matching field when only the annotation is set, so the node only ever reads fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from podbay.api.fielderror import FieldError, invalid, not_supported, required

POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
CONTAINER_ANNOTATION_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
RUNTIME_DEFAULT = "RuntimeDefault"
UNCONFINED = "Unconfined"
LOCALHOST = "Localhost"
TYPES = (LOCALHOST, RUNTIME_DEFAULT, UNCONFINED)

_ANN_RUNTIME_DEFAULT = "runtime/default"
_ANN_DOCKER_DEFAULT = "docker/default"
_ANN_UNCONFINED = "unconfined"
_ANN_LOCALHOST = "localhost/"


def _descending(p: str, path: str) -> list[FieldError]:
    """validateLocalDescendingPath."""
    errs = [invalid(path, p, "must be a relative path")] if p.startswith("/") else []
    if ".." in p.split("/"):
        errs.append(invalid(path, p, "must not contain '..'"))
    return errs


def validate_profile(sp: Any, path: str) -> list[FieldError]:
    """validateSeccompProfileField for `<securityContext path>.seccompProfile`."""
    if sp is None:
        return []
    if not isinstance(sp, Mapping):
        return [invalid(path, sp, "must be an object")]
    errs: list[FieldError] = []
    kind = sp.get("type") or ""
    if kind == "":
        errs.append(required(f"{path}.type", "type is required when seccompProfile is set"))
    elif kind not in TYPES:
        errs.append(not_supported(f"{path}.type", kind, list(TYPES)))
    profile = sp.get("localhostProfile")
    if kind == LOCALHOST:
        if profile is None:
            errs.append(required(f"{path}.localhostProfile", "must be set when seccomp type is Localhost"))
        else:
            errs += _descending(str(profile), f"{path}.localhostProfile")
    elif profile is not None:
        # Upstream prints the whole SeccompProfile struct as the value; the profile string is clearer.
        errs.append(invalid(f"{path}.localhostProfile", profile, "can only be set when seccomp type is Localhost"))
    return errs


def validate_annotation(value: Any, path: str) -> list[FieldError]:
    """ValidateSeccompProfile for one seccomp annotation value."""
    v = str(value)
    if v in (_ANN_RUNTIME_DEFAULT, _ANN_DOCKER_DEFAULT, _ANN_UNCONFINED):
        return []
    if v.startswith(_ANN_LOCALHOST):
        return _descending(v[len(_ANN_LOCALHOST):], path)
    return [invalid(path, v, "must be a valid seccomp profile")]


def validate_annotations(annotations: Any, path: str = "metadata.annotations") -> list[FieldError]:
    """The pod and per-container seccomp annotations (ValidateSeccompPodAnnotations)."""
    errs: list[FieldError] = []
    if not isinstance(annotations, Mapping):
        return errs
    for key in sorted(str(k) for k in annotations):
        if key == POD_ANNOTATION or key.startswith(CONTAINER_ANNOTATION_PREFIX):
            errs += validate_annotation(annotations[key], f"{path}[{key}]")
    return errs


def field_for_annotation(value: str) -> dict[str, str] | None:
    """SeccompFieldForAnnotation: the seccompProfile an annotation value stands for (None if invalid)."""
    if value == _ANN_UNCONFINED:
        return {"type": UNCONFINED}
    if value in (_ANN_RUNTIME_DEFAULT, _ANN_DOCKER_DEFAULT):
        return {"type": RUNTIME_DEFAULT}
    if value.startswith(_ANN_LOCALHOST) and len(value) > len(_ANN_LOCALHOST):
        return {"type": LOCALHOST, "localhostProfile": value[len(_ANN_LOCALHOST):]}
    return None


def effective_profile(pod: Mapping[str, Any], container: Mapping[str, Any]) -> dict[str, Any] | None:
    """The container's seccompProfile after the API server's annotation sync and the kubelet's
    DetermineEffectiveSecurityContext: container field, container annotation, pod field, pod annotation."""
    meta = pod.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    csc = container.get("securityContext") or {}
    if csc.get("seccompProfile") is not None:
        return dict(csc["seccompProfile"])
    ann = annotations.get(CONTAINER_ANNOTATION_PREFIX + str(container.get("name", "")))
    if ann is not None and field_for_annotation(str(ann)) is not None:
        return field_for_annotation(str(ann))
    psc = (pod.get("spec") or {}).get("securityContext") or {}
    if psc.get("seccompProfile") is not None:
        return dict(psc["seccompProfile"])
    ann = annotations.get(POD_ANNOTATION)
    if ann is not None:
        return field_for_annotation(str(ann))
    return None
