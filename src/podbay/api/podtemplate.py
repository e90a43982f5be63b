"""Pod templates inside workloads: v1 defaulting (``SetDefaults_PodSpec`` and the container and
volume defaults — not the Pod-only parts: ``enableServiceLinks`` and requests copied from limits)
and ``ValidatePodTemplateSpec`` / ``ValidatePodTemplateSpecForReplicaSet`` with upstream's paths,
reusing the pod validation of ``api.validation``."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from podbay.api import gorepr, labelselector, validation
from podbay.api.defaults import default_pod
from podbay.api.fielderror import FieldError, forbidden, invalid, not_supported, required

Obj = dict[str, Any]
Errs = list[FieldError]


def _d(v: Any) -> Obj:
    return v if isinstance(v, dict) else {}


def default_pod_template(template: Any) -> Obj:
    """A defaulted copy of a PodTemplateSpec."""
    t = copy.deepcopy(template) if isinstance(template, dict) else {}
    spec = _d(t.get("spec"))
    had_links = "enableServiceLinks" in spec
    requests = {}
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or []):
            if isinstance(c, dict):
                res = c.get("resources")
                requests[(key, i)] = copy.deepcopy(res.get("requests")) if isinstance(res, dict) else None
    pod = default_pod({"metadata": {"namespace": "x"}, "spec": spec})
    out_spec = pod["spec"]
    if not had_links:
        out_spec.pop("enableServiceLinks", None)
    for (key, i), req in requests.items():
        res = out_spec[key][i].setdefault("resources", {})
        if req is None:
            res.pop("requests", None)
        else:
            res["requests"] = req
    t["spec"] = out_spec
    if not isinstance(t.get("metadata"), dict):
        t["metadata"] = {}
    return t


def _reroot(errs: Errs, prefix: str) -> Errs:
    """Pod validation reports ``spec.…``; inside a template the spec lives at ``<prefix>.spec``."""
    out = []
    for e in errs:
        f = e.field
        if f == "spec" or f.startswith("spec.") or f.startswith("spec["):
            f = prefix + "." + f
        out.append(dataclasses.replace(e, field=f))
    return out


def validate_pod_template(template: Any, path: str) -> Errs:
    """``ValidatePodTemplateSpec`` on a defaulted template (labels at ``<path>.labels``, as upstream)."""
    if not isinstance(template, dict):
        return [required(path)]
    md = _d(template.get("metadata"))
    errs = validation.validate_labels(md.get("labels"), f"{path}.labels")
    errs += validation.validate_annotations(md.get("annotations"), f"{path}.annotations")
    spec = template.get("spec")
    if not isinstance(spec, dict):
        return [*errs, required(f"{path}.spec")]
    errs += _reroot(validation._validate_pod_spec(spec), path)  # noqa: SLF001 - the shared pod-spec validator
    for key in ("containers", "initContainers"):
        for i, c in enumerate(spec.get(key) or []):
            image = c.get("image") if isinstance(c, dict) else None
            if isinstance(image, str) and image.strip() != image:
                errs.append(invalid(f"{path}.spec.{key}[{i}].image", image, "must not have leading or trailing whitespace"))
    if spec.get("ephemeralContainers"):
        errs.append(forbidden(f"{path}.spec.ephemeralContainers", "ephemeral containers not allowed in pod template"))
    return errs


def template_labels(template: Any) -> dict[str, str] | None:
    md = template.get("metadata") if isinstance(template, dict) else None
    lbl = md.get("labels") if isinstance(md, dict) else None
    return lbl if isinstance(lbl, dict) else None


def validate_for_replica_set(template: Any, selector: Any, path: str) -> Errs:
    """``ValidatePodTemplateSpecForReplicaSet``: the selector selects the template, restartPolicy
    Always, no activeDeadlineSeconds."""
    if not isinstance(template, dict):
        return [required(path)]
    errs: Errs = []
    if not labelselector.is_empty(selector) and selector is not None:
        lbl = template_labels(template)
        if not labelselector.matches(selector, lbl or {}):
            errs.append(invalid(f"{path}.metadata.labels", gorepr.labels(lbl), "`selector` does not match template `labels`"))
    errs += validate_pod_template(template, path)
    spec = _d(template.get("spec"))
    rp = spec.get("restartPolicy")
    if rp != "Always":
        errs.append(not_supported(f"{path}.spec.restartPolicy", rp, ["Always"]))
    if spec.get("activeDeadlineSeconds") is not None:
        errs.append(forbidden(f"{path}.spec.activeDeadlineSeconds", "activeDeadlineSeconds in ReplicaSet is not Supported"))
    return errs
