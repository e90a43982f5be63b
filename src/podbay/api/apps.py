"""``apps/v1`` Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision and ``v1``
ReplicationController: defaulting (pkg/apis/apps/v1/defaults.go, core ``SetDefaults_ReplicationController``)
and validation (pkg/apis/apps/validation, ``ValidateReplicationController``) in upstream's words.
Everything takes and returns plain dicts; defaulting returns a copy."""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Any

from podbay.api import gorepr, labelselector, names
from podbay.api.fielderror import FieldError, forbidden, invalid, not_supported, required
from podbay.api.podtemplate import (
    default_pod_template,
    template_labels,
    validate_for_replica_set,
    validate_pod_template,
)
from podbay.api.pvc import default_pvc, validate_pvc
from podbay.api.validation import validate_object_meta, validate_object_meta_update

Obj = dict[str, Any]
Errs = list[FieldError]

NEGATIVE = "must be greater than or equal to 0"
IMMUTABLE = "field is immutable"
TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"
_PERCENT = re.compile(r"^[0-9]+%$")
PERCENT_MSG = names.regex_error("a valid percent string must be a numeric string followed by an ending '%'", "[0-9]+%", "1%", "93%")


# ---------------------------------------------------------------------------------------------- helpers


def _d(v: Any) -> Obj:
    return v if isinstance(v, dict) else {}


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def nonnegative(spec: Obj, key: str, path: str) -> Errs:
    v = spec.get(key)
    if v is None:
        return []
    if _int(v) is None:
        return [invalid(path, v, "must be an integer")]
    return [invalid(path, v, NEGATIVE)] if v < 0 else []


def int_or_percent(v: Any, path: str) -> Errs:
    """``ValidatePositiveIntOrPercent``."""
    if isinstance(v, str):
        return [] if _PERCENT.match(v) else [invalid(path, gorepr.int_or_string(v), PERCENT_MSG)]
    if _int(v) is not None and v < 0:
        return [invalid(path, v, NEGATIVE)]
    return []


def _ios_value(v: Any) -> int:
    """``getIntOrPercentValue``."""
    if isinstance(v, str):
        return int(v[:-1]) if _PERCENT.match(v) else 0
    return _int(v) or 0


def not_more_than_100_percent(v: Any, path: str) -> Errs:
    if isinstance(v, str) and _PERCENT.match(v) and int(v[:-1]) > 100:
        return [invalid(path, gorepr.int_or_string(v), "must not be greater than 100%")]
    return []


def validate_selector(sel: Any, path: str, kind: str | None) -> Errs:
    """Required, valid, and (when ``kind`` is given) not empty: ``empty selector is invalid for <kind>``."""
    if sel is None:
        return [required(path)]
    errs = labelselector.validate_label_selector(sel, path)
    if kind and labelselector.is_empty(sel):
        errs.append(invalid(path, gorepr.label_selector(sel), f"empty selector is invalid for {kind}"))
    return errs


def _replicas_default(spec: Obj) -> None:
    if spec.get("replicas") is None:
        spec["replicas"] = 1


def _meta(obj: Obj, path: str = "metadata") -> Errs:
    return validate_object_meta(obj.get("metadata"), namespaced=True, path=path)


def _immutable_selector(new: Obj, old: Obj, path: str = "spec.selector") -> Errs:
    ns, os_ = _d(new.get("spec")).get("selector"), _d(old.get("spec")).get("selector")
    if labelselector.selector_string(ns) != labelselector.selector_string(os_) or (ns is None) != (os_ is None):
        return [invalid(path, gorepr.label_selector(ns), IMMUTABLE)]
    return []


# ---------------------------------------------------------------------------------------------- Deployment


def default_deployment(obj: Obj) -> Obj:
    """``SetDefaults_Deployment`` plus the template's pod defaults."""
    out = copy.deepcopy(obj)
    spec = out.setdefault("spec", {})
    _replicas_default(spec)
    strategy = spec.setdefault("strategy", {})
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        if isinstance(ru, dict):
            ru.setdefault("maxUnavailable", "25%")
            ru.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    spec["template"] = default_pod_template(spec.get("template"))
    return out


def validate_deployment_strategy(strategy: Any, path: str) -> Errs:
    strategy = _d(strategy)
    t = strategy.get("type")
    if t == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            return [forbidden(f"{path}.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")]
        return []
    if t == "RollingUpdate":
        ru = strategy.get("rollingUpdate")
        if ru is None:
            return [required(f"{path}.rollingUpdate", "this should be defaulted and never be nil")]
        ru = _d(ru)
        rp = f"{path}.rollingUpdate"
        errs = int_or_percent(ru.get("maxUnavailable"), f"{rp}.maxUnavailable")
        errs += int_or_percent(ru.get("maxSurge"), f"{rp}.maxSurge")
        if _ios_value(ru.get("maxUnavailable")) == 0 and _ios_value(ru.get("maxSurge")) == 0:
            errs.append(invalid(f"{rp}.maxUnavailable", gorepr.int_or_string(ru.get("maxUnavailable")),
                                "may not be 0 when `maxSurge` is 0"))
        errs += not_more_than_100_percent(ru.get("maxUnavailable"), f"{rp}.maxUnavailable")
        return errs
    return [not_supported(path, t, ["Recreate", "RollingUpdate"])]


def validate_deployment(obj: Obj) -> Errs:
    """``ValidateDeployment`` on a defaulted Deployment."""
    errs = _meta(obj)
    spec = _d(obj.get("spec"))
    errs += nonnegative(spec, "replicas", "spec.replicas")
    sel = spec.get("selector")
    errs += validate_selector(sel, "spec.selector", "deployment")
    if sel is not None:
        errs += validate_for_replica_set(spec.get("template"), sel, "spec.template")
    errs += validate_deployment_strategy(spec.get("strategy"), "spec.strategy")
    errs += nonnegative(spec, "minReadySeconds", "spec.minReadySeconds")
    errs += nonnegative(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit")
    pds = spec.get("progressDeadlineSeconds")
    if pds is not None:
        errs += nonnegative(spec, "progressDeadlineSeconds", "spec.progressDeadlineSeconds")
        if _int(pds) is not None and pds <= (_int(spec.get("minReadySeconds")) or 0):
            errs.append(invalid("spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds"))
    return errs


def validate_deployment_update(new: Obj, old: Obj) -> Errs:
    """``ValidateDeploymentUpdate``: the selector is immutable in apps/v1."""
    errs = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    errs += validate_deployment(new)
    errs += _immutable_selector(new, old)
    return errs


def validate_deployment_status(obj: Obj) -> Errs:
    """``ValidateDeploymentStatus``."""
    st = _d(obj.get("status"))
    errs: Errs = []
    for key in ("observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
                "unavailableReplicas", "terminatingReplicas", "collisionCount"):
        errs += nonnegative(st, key, f"status.{key}")
    msg = "cannot be greater than status.replicas"
    for key in ("updatedReplicas", "availableReplicas", "readyReplicas"):
        if (_int(st.get(key)) or 0) > (_int(st.get("replicas")) or 0):
            errs.append(invalid(f"status.{key}", st.get(key), msg))
    if (_int(st.get("availableReplicas")) or 0) > (_int(st.get("readyReplicas")) or 0):
        errs.append(invalid("status.availableReplicas", st.get("availableReplicas"), "cannot be greater than readyReplicas"))
    return errs


# ---------------------------------------------------------------------------------------------- ReplicaSet / RC


def default_replica_set(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    spec = out.setdefault("spec", {})
    _replicas_default(spec)
    spec["template"] = default_pod_template(spec.get("template"))
    return out


def validate_replica_set(obj: Obj) -> Errs:
    """``ValidateReplicaSet``."""
    errs = _meta(obj)
    spec = _d(obj.get("spec"))
    errs += nonnegative(spec, "replicas", "spec.replicas")
    errs += nonnegative(spec, "minReadySeconds", "spec.minReadySeconds")
    sel = spec.get("selector")
    errs += validate_selector(sel, "spec.selector", "deployment")
    if sel is not None:
        errs += validate_for_replica_set(spec.get("template"), sel, "spec.template")
    return errs


def validate_replica_set_update(new: Obj, old: Obj) -> Errs:
    errs = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    errs += validate_replica_set(new)
    errs += _immutable_selector(new, old)
    return errs


def validate_replica_set_status(obj: Obj) -> Errs:
    st = _d(obj.get("status"))
    errs: Errs = []
    for key in ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas", "observedGeneration",
                "terminatingReplicas"):
        errs += nonnegative(st, key, f"status.{key}")
    for key in ("fullyLabeledReplicas", "readyReplicas", "availableReplicas"):
        if (_int(st.get(key)) or 0) > (_int(st.get("replicas")) or 0):
            errs.append(invalid(f"status.{key}", st.get(key), "cannot be greater than status.replicas"))
    if (_int(st.get("availableReplicas")) or 0) > (_int(st.get("readyReplicas")) or 0):
        errs.append(invalid("status.availableReplicas", st.get("availableReplicas"), "cannot be greater than readyReplicas"))
    return errs


def default_replication_controller(obj: Obj) -> Obj:
    """``SetDefaults_ReplicationController``: selector and labels from the template's labels."""
    out = copy.deepcopy(obj)
    spec = out.setdefault("spec", {})
    lbl = template_labels(spec.get("template"))
    if lbl is not None:
        if not spec.get("selector"):
            spec["selector"] = dict(lbl)
        md = out.setdefault("metadata", {})
        if not md.get("labels"):
            md["labels"] = dict(lbl)
    _replicas_default(spec)
    if spec.get("template") is not None:
        spec["template"] = default_pod_template(spec.get("template"))
    return out


def validate_replication_controller(obj: Obj) -> Errs:
    """``ValidateReplicationController`` / ``ValidateReplicationControllerSpec``."""
    errs = _meta(obj)
    spec = _d(obj.get("spec"))
    errs += nonnegative(spec, "minReadySeconds", "spec.minReadySeconds")
    sel = spec.get("selector")
    if not sel:
        errs.append(required("spec.selector"))
    else:
        errs += labelselector.validate_label_selector({"matchLabels": sel}, "spec.selector")
    errs += nonnegative(spec, "replicas", "spec.replicas")
    template = spec.get("template")
    if template is None:
        errs.append(required("spec.template"))
        return errs
    if sel:
        lbl = template_labels(template) or {}
        if not all(lbl.get(k) == v for k, v in sel.items()):
            errs.append(invalid("spec.template.metadata.labels", gorepr.labels(lbl), "`selector` does not match template `labels`"))
    errs += validate_pod_template(template, "spec.template")
    rp = _d(template.get("spec")).get("restartPolicy")
    if rp != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", rp, ["Always"]))
    if _d(template.get("spec")).get("activeDeadlineSeconds") is not None:
        errs.append(forbidden("spec.template.spec.activeDeadlineSeconds",
                              "activeDeadlineSeconds in ReplicationController is not Supported"))
    return errs


def validate_replication_controller_update(new: Obj, old: Obj) -> Errs:
    return validate_object_meta_update(new.get("metadata"), old.get("metadata")) + validate_replication_controller(new)


# ---------------------------------------------------------------------------------------------- StatefulSet


def default_stateful_set(obj: Obj) -> Obj:
    """``SetDefaults_StatefulSet`` (+ the claim templates' PVC defaults and type meta)."""
    out = copy.deepcopy(obj)
    spec = out.setdefault("spec", {})
    if not spec.get("podManagementPolicy"):
        spec["podManagementPolicy"] = "OrderedReady"
    us = spec.setdefault("updateStrategy", {})
    if isinstance(us, dict):
        if not us.get("type"):
            us["type"] = "RollingUpdate"
            us.setdefault("rollingUpdate", {})
        ru = us.get("rollingUpdate")
        if us["type"] == "RollingUpdate" and isinstance(ru, dict):
            ru.setdefault("partition", 0)
            ru.setdefault("maxUnavailable", 1)
    policy = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
    if isinstance(policy, dict):
        for key in ("whenDeleted", "whenScaled"):
            if not policy.get(key):
                policy[key] = "Retain"
    _replicas_default(spec)
    spec.setdefault("revisionHistoryLimit", 10)
    spec["template"] = default_pod_template(spec.get("template"))
    claims = []
    for t in spec.get("volumeClaimTemplates") or []:
        if not isinstance(t, dict):
            claims.append(t)
            continue
        c = default_pvc({**t, "metadata": {**_d(t.get("metadata")), "namespace": "x"}})
        c["metadata"] = _d(t.get("metadata"))
        c["apiVersion"], c["kind"] = "v1", "PersistentVolumeClaim"
        c.setdefault("status", {"phase": "Pending"})
        spec_c = c.get("spec") or {}
        c["spec"] = spec_c
        # the default StorageClass admission acts on the claims the controller creates, not here
        if not _d(t.get("spec")).get("storageClassName"):
            spec_c.pop("storageClassName", None)
        if c["metadata"].get("finalizers") is None:
            c["metadata"].pop("finalizers", None)
        claims.append({k: c[k] for k in ("apiVersion", "kind", "metadata", "spec", "status") if k in c})
    if "volumeClaimTemplates" in spec:
        spec["volumeClaimTemplates"] = claims
    return out


def validate_stateful_set(obj: Obj) -> Errs:
    """``ValidateStatefulSet``."""
    errs = _meta(obj)
    spec = _d(obj.get("spec"))
    pmp = spec.get("podManagementPolicy")
    if pmp not in ("OrderedReady", "Parallel"):
        errs.append(not_supported("spec.podManagementPolicy", pmp, ["OrderedReady", "Parallel"]) if pmp
                    else required("spec.podManagementPolicy"))
    us = _d(spec.get("updateStrategy"))
    t = us.get("type")
    if t == "RollingUpdate":
        ru = us.get("rollingUpdate")
        if ru is not None:
            errs += nonnegative(_d(ru), "partition", "spec.updateStrategy.rollingUpdate.partition")
            mu = _d(ru).get("maxUnavailable")
            if mu is not None:
                mp = "spec.updateStrategy.rollingUpdate.maxUnavailable"
                errs += int_or_percent(mu, mp)
                if _ios_value(mu) == 0:
                    errs.append(invalid(mp, gorepr.int_or_string(mu), "must be greater than 0"))
                errs += not_more_than_100_percent(mu, mp)
    elif t == "OnDelete":
        if us.get("rollingUpdate") is not None:
            errs.append(forbidden("spec.updateStrategy.rollingUpdate", "only allowed for updateStrategy 'RollingUpdate'"))
    elif not t:
        errs.append(required("spec.updateStrategy"))
    else:
        errs.append(not_supported("spec.updateStrategy", t, ["OnDelete", "RollingUpdate"]))
    policy = _d(spec.get("persistentVolumeClaimRetentionPolicy"))
    for key in ("whenDeleted", "whenScaled"):
        v = policy.get(key)
        if v not in ("Retain", "Delete"):
            errs.append(not_supported(f"spec.persistentVolumeClaimRetentionPolicy.{key}", v, ["Retain", "Delete"]))
    errs += nonnegative(spec, "replicas", "spec.replicas")
    errs += nonnegative(spec, "minReadySeconds", "spec.minReadySeconds")
    errs += nonnegative(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit")
    ordinals = spec.get("ordinals")
    if ordinals is not None:
        errs += nonnegative(_d(ordinals), "start", "spec.ordinals.start")
    sn = spec.get("serviceName")
    if isinstance(sn, str) and sn:
        errs += [invalid("spec.serviceName", sn, m) for m in names.is_dns1123_label(sn)]
    sel = spec.get("selector")
    errs += validate_selector(sel, "spec.selector", "statefulset")
    if sel is not None and not labelselector.is_empty(sel):
        lbl = template_labels(spec.get("template")) or {}
        if not labelselector.matches(sel, lbl):
            errs.append(invalid("spec.template.metadata.labels", gorepr.labels(lbl), "`selector` does not match template `labels`"))
    errs += validate_pod_template(_with_claim_volumes(spec), "spec.template")
    tspec = _d(_d(spec.get("template")).get("spec"))
    if tspec.get("restartPolicy") != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", tspec.get("restartPolicy"), ["Always"]))
    if tspec.get("activeDeadlineSeconds") is not None:
        errs.append(forbidden("spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in StatefulSet is not Supported"))
    seen: set[str] = set()
    for i, ct in enumerate(spec.get("volumeClaimTemplates") or []):
        path = f"spec.volumeClaimTemplates[{i}]"
        ct = _d(ct)
        name = str(_d(ct.get("metadata")).get("name") or "")
        if name in seen:
            errs.append(invalid(f"{path}.metadata.name", name, "duplicate claim template name"))
        seen.add(name)
        probe = {"metadata": {**_d(ct.get("metadata")), "name": name or "x", "namespace": "x"}, "spec": ct.get("spec")}
        for e in validate_pvc(probe):
            # a class podbay does not provide leaves the created claim Pending (with an event), as on a cluster
            if e.field.startswith("metadata.namespace") or e.field == "spec.storageClassName":
                continue
            errs.append(dataclasses.replace(e, field=f"{path}.{e.field}"))
    return errs


def _with_claim_volumes(spec: Obj) -> Any:
    """The template as its pods get it: every claim template is a volume of the same name
    (``updateStorage``), so mounts of claims validate like any other."""
    template = spec.get("template")
    if not isinstance(template, dict):
        return template
    out = copy.deepcopy(template)
    tspec = out.setdefault("spec", {})
    if not isinstance(tspec, dict):
        return out
    names_ = [str(_d(_d(t).get("metadata")).get("name") or "") for t in spec.get("volumeClaimTemplates") or []]
    vols = [v for v in tspec.get("volumes") or [] if not (isinstance(v, dict) and v.get("name") in names_)]
    tspec["volumes"] = [{"name": n, "persistentVolumeClaim": {"claimName": n}} for n in names_ if n] + vols
    return out


STS_UPDATABLE = ("'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', "
                 "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds'")


def validate_stateful_set_update(new: Obj, old: Obj) -> Errs:
    """``ValidateStatefulSetUpdate``: only some spec fields may change."""
    errs = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    errs += validate_stateful_set(new)
    a = copy.deepcopy(_d(new.get("spec")))
    b = copy.deepcopy(_d(old.get("spec")))
    for key in ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
                "persistentVolumeClaimRetentionPolicy", "minReadySeconds"):
        a.pop(key, None)
        b.pop(key, None)
    if a != b:
        errs.append(forbidden("spec", f"updates to statefulset spec for fields other than {STS_UPDATABLE} are forbidden"))
    return errs


def validate_stateful_set_status(obj: Obj) -> Errs:
    st = _d(obj.get("status"))
    errs: Errs = []
    for key in ("replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas",
                "observedGeneration", "collisionCount"):
        errs += nonnegative(st, key, f"status.{key}")
    for key in ("readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"):
        if (_int(st.get(key)) or 0) > (_int(st.get("replicas")) or 0):
            errs.append(invalid(f"status.{key}", st.get(key), "cannot be greater than status.replicas"))
    if (_int(st.get("availableReplicas")) or 0) > (_int(st.get("readyReplicas")) or 0):
        errs.append(invalid("status.availableReplicas", st.get("availableReplicas"), "cannot be greater than status.readyReplicas"))
    return errs


# ---------------------------------------------------------------------------------------------- DaemonSet


def default_daemon_set(obj: Obj) -> Obj:
    """``SetDefaults_DaemonSet``."""
    out = copy.deepcopy(obj)
    spec = out.setdefault("spec", {})
    us = spec.setdefault("updateStrategy", {})
    if isinstance(us, dict):
        if not us.get("type"):
            us["type"] = "RollingUpdate"
        if us["type"] == "RollingUpdate":
            ru = us.setdefault("rollingUpdate", {})
            if isinstance(ru, dict):
                ru.setdefault("maxUnavailable", 1)
                ru.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    spec["template"] = default_pod_template(spec.get("template"))
    return out


def validate_daemon_set(obj: Obj) -> Errs:
    """``ValidateDaemonSet`` / ``ValidateDaemonSetSpec``."""
    errs = _meta(obj)
    spec = _d(obj.get("spec"))
    sel = spec.get("selector")
    errs += validate_selector(sel, "spec.selector", "daemonset")
    if sel is not None and not labelselector.is_empty(sel):
        lbl = template_labels(spec.get("template")) or {}
        if not labelselector.matches(sel, lbl):
            errs.append(invalid("spec.template.metadata.labels", gorepr.labels(lbl), "`selector` does not match template `labels`"))
    errs += validate_pod_template(spec.get("template"), "spec.template")
    tspec = _d(_d(spec.get("template")).get("spec"))
    if tspec.get("restartPolicy") != "Always":
        errs.append(not_supported("spec.template.spec.restartPolicy", tspec.get("restartPolicy"), ["Always"]))
    if tspec.get("activeDeadlineSeconds") is not None:
        errs.append(forbidden("spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in DaemonSet is not Supported"))
    errs += nonnegative(spec, "minReadySeconds", "spec.minReadySeconds")
    errs += nonnegative(spec, "revisionHistoryLimit", "spec.revisionHistoryLimit")
    us = _d(spec.get("updateStrategy"))
    t = us.get("type")
    if t == "RollingUpdate":
        ru = us.get("rollingUpdate")
        if ru is None:
            errs.append(required("spec.updateStrategy.rollingUpdate"))
        else:
            ru = _d(ru)
            rp = "spec.updateStrategy.rollingUpdate"
            errs += int_or_percent(ru.get("maxUnavailable"), f"{rp}.maxUnavailable")
            errs += int_or_percent(ru.get("maxSurge"), f"{rp}.maxSurge")
            mu, ms = _ios_value(ru.get("maxUnavailable")), _ios_value(ru.get("maxSurge"))
            if mu == 0 and ms == 0:
                errs.append(invalid(f"{rp}.maxUnavailable", gorepr.int_or_string(ru.get("maxUnavailable")),
                                    "may not be 0 when `maxSurge` is 0"))
            elif mu != 0 and ms != 0:
                errs.append(invalid(f"{rp}.maxSurge", gorepr.int_or_string(ru.get("maxSurge")),
                                    "may not be set when maxUnavailable is non-zero"))
            errs += not_more_than_100_percent(ru.get("maxUnavailable"), f"{rp}.maxUnavailable")
            errs += not_more_than_100_percent(ru.get("maxSurge"), f"{rp}.maxSurge")
    elif t != "OnDelete":
        errs.append(not_supported("spec.updateStrategy.type", t, ["OnDelete", "RollingUpdate"]))
    return errs


def validate_daemon_set_update(new: Obj, old: Obj) -> Errs:
    errs = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    errs += validate_daemon_set(new)
    errs += _immutable_selector(new, old)
    return errs


def daemon_set_template_generation(new: Obj, old: Obj | None) -> Obj:
    """The apiserver's ``spec.templateGeneration`` kept in ``deprecated.daemonset.template.generation``:
    1 on create, +1 whenever the template changes."""
    md = new.setdefault("metadata", {})
    ann = dict(md.get("annotations") or {})
    if old is None:
        ann[TEMPLATE_GENERATION] = "1"
    else:
        prev = _d(old.get("metadata")).get("annotations") or {}
        try:
            gen = int(prev.get(TEMPLATE_GENERATION, "1"))
        except ValueError:
            gen = 1
        if _d(new.get("spec")).get("template") != _d(old.get("spec")).get("template"):
            gen += 1
        ann[TEMPLATE_GENERATION] = str(gen)
    md["annotations"] = ann
    return new


def validate_daemon_set_status(obj: Obj) -> Errs:
    st = _d(obj.get("status"))
    errs: Errs = []
    for key in ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady",
                "observedGeneration", "updatedNumberScheduled", "numberAvailable", "numberUnavailable", "collisionCount"):
        errs += nonnegative(st, key, f"status.{key}")
    return errs


# ---------------------------------------------------------------------------------------------- ControllerRevision


def validate_controller_revision(obj: Obj) -> Errs:
    """``ValidateControllerRevision``: a name, data, and a non-negative revision."""
    errs = _meta(obj)
    if obj.get("data") is None:
        errs.append(required("data", "data is mandatory"))
    errs += nonnegative(obj, "revision", "revision")
    return errs


def validate_controller_revision_update(new: Obj, old: Obj) -> Errs:
    errs = validate_object_meta_update(new.get("metadata"), old.get("metadata")) + validate_controller_revision(new)
    if new.get("data") != old.get("data"):
        errs.append(invalid("data", "", IMMUTABLE))
    return errs
