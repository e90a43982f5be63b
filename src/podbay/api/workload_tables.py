"""kubectl's columns for the workload and storage kinds (kube-apiserver's printers.go:
printDeployment, printReplicaSet, printReplicationController, printStatefulSet, printDaemonSet,
printJob, printCronJob, printControllerRevision, printStorageClass, printPersistentVolume).

Pure: rows are ``(object, now)`` in, cells out; ``printers(since)`` takes the Table module's
``translateTimestampSince`` (``api.tables`` registers these printers).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from typing import Any

from podbay.api import labelselector, schema
from podbay.api.quantity import canonical
from podbay.api.tables import Column, Printer

Obj = dict[str, Any]
Cell = str | int | float | bool | None
Since = Callable[[Any, float], str]

_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_APPS = "io.k8s.api.apps.v1."
_BATCH = "io.k8s.api.batch.v1."
_CORE = "io.k8s.api.core.v1."
_STORAGE = "io.k8s.api.storage.v1."
DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")


def _doc(definition: str, prop: str) -> str:
    try:
        node = schema.definition(definition).get("properties", {}).get(prop) or {}
    except KeyError:
        return ""
    return str(node.get("description") or "")


def _d(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, Mapping) else {}


def _name(obj: Obj) -> str:
    return str(_d(obj.get("metadata")).get("name") or "")


def _parse_time(v: Any) -> float | None:
    if not isinstance(v, str) or not v:
        return None
    try:
        return _dt.datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _i(v: Any) -> int:
    return int(v) if isinstance(v, int) and not isinstance(v, bool) else 0


def containers_and_images(spec: Mapping[str, Any]) -> tuple[str, str]:
    """``layoutContainerCells``."""
    cs = [c for c in spec.get("containers") or [] if isinstance(c, Mapping)]
    return ",".join(str(c.get("name") or "") for c in cs), ",".join(str(c.get("image") or "") for c in cs)


def format_labels(m: Any) -> str:
    """``labels.FormatLabels``: ``k=v,…`` sorted, ``<none>`` when empty."""
    if not isinstance(m, Mapping) or not m:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(m.items()))


def _selector(sel: Any) -> str:
    return labelselector.selector_string(sel if isinstance(sel, Mapping) else None)


def _template_spec(obj: Obj) -> Mapping[str, Any]:
    return _d(_d(_d(obj.get("spec")).get("template")).get("spec"))


def _has_condition(obj: Obj, ctype: str) -> bool:
    return any(c.get("type") == ctype and c.get("status") == "True" for c in _d(obj.get("status")).get("conditions") or [])


def _wide(cols: list[Column], with_selector: bool = True, selector_doc: str = "") -> list[Column]:
    out = cols + [Column("Containers", priority=1, description="Names of each container in the template."),
                  Column("Images", priority=1, description="Images referenced by each container in the template.")]
    if with_selector:
        out.append(Column("Selector", priority=1, description=selector_doc))
    return out


def access_modes(modes: Any) -> str:
    """``GetAccessModesAsString``."""
    given = set(modes or [])
    return ",".join(s for m, s in (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
                                    ("ReadWriteOncePod", "RWOP")) if m in given)


def printers(since: Since) -> dict[tuple[str, str], Printer]:
    def name_col() -> Column:
        return Column("Name", "string", _doc(_META, "name"), 0, "name")

    def age_col() -> Column:
        return Column("Age", "string", _doc(_META, "creationTimestamp"))

    def age(obj: Obj, now: float) -> str:
        return since(_d(obj.get("metadata")).get("creationTimestamp"), now)

    # Deployment
    def deploy_cols() -> list[Column]:
        return _wide([name_col(), Column("Ready", description="Number of the pod with ready state"),
                      Column("Up-to-date", description=_doc(_APPS + "DeploymentStatus", "updatedReplicas")),
                      Column("Available", description=_doc(_APPS + "DeploymentStatus", "availableReplicas")),
                      age_col()], selector_doc=_doc(_APPS + "DeploymentSpec", "selector"))

    def deploy_row(d: Obj, now: float) -> list[Cell]:
        st, spec = _d(d.get("status")), _d(d.get("spec"))
        names, images = containers_and_images(_template_spec(d))
        return [_name(d), f"{_i(st.get('readyReplicas'))}/{_i(spec.get('replicas'))}", _i(st.get("updatedReplicas")),
                _i(st.get("availableReplicas")), age(d, now), names, images, _selector(spec.get("selector"))]

    # ReplicaSet / ReplicationController
    def rs_cols(doc_kind: str) -> Callable[[], list[Column]]:
        def cols() -> list[Column]:
            spec_def, st_def = _APPS + "ReplicaSetSpec", _APPS + "ReplicaSetStatus"
            if doc_kind == "ReplicationController":
                spec_def, st_def = _CORE + "ReplicationControllerSpec", _CORE + "ReplicationControllerStatus"
            return _wide([name_col(), Column("Desired", "integer", _doc(spec_def, "replicas")),
                          Column("Current", "integer", _doc(st_def, "replicas")),
                          Column("Ready", "integer", _doc(st_def, "readyReplicas")), age_col()],
                         selector_doc=_doc(spec_def, "selector"))
        return cols

    def rs_row(rs: Obj, now: float) -> list[Cell]:
        st, spec = _d(rs.get("status")), _d(rs.get("spec"))
        names, images = containers_and_images(_template_spec(rs))
        sel = format_labels(spec.get("selector")) if rs.get("kind") == "ReplicationController" else _selector(spec.get("selector"))
        return [_name(rs), _i(spec.get("replicas")), _i(st.get("replicas")), _i(st.get("readyReplicas")), age(rs, now),
                names, images, sel]

    # StatefulSet
    def sts_cols() -> list[Column]:
        return _wide([name_col(), Column("Ready", description="Number of the pod with ready state"), age_col()],
                     with_selector=False)

    def sts_row(s: Obj, now: float) -> list[Cell]:
        st, spec = _d(s.get("status")), _d(s.get("spec"))
        names, images = containers_and_images(_template_spec(s))
        return [_name(s), f"{_i(st.get('readyReplicas'))}/{_i(spec.get('replicas'))}", age(s, now), names, images]

    # DaemonSet
    def ds_cols() -> list[Column]:
        st = _APPS + "DaemonSetStatus"
        return _wide([name_col(), Column("Desired", "integer", _doc(st, "desiredNumberScheduled")),
                      Column("Current", "integer", _doc(st, "currentNumberScheduled")),
                      Column("Ready", "integer", _doc(st, "numberReady")),
                      Column("Up-to-date", "integer", _doc(st, "updatedNumberScheduled")),
                      Column("Available", "integer", _doc(st, "numberAvailable")),
                      Column("Node Selector", description=_doc(_CORE + "PodSpec", "nodeSelector")), age_col()],
                     selector_doc=_doc(_APPS + "DaemonSetSpec", "selector"))

    def ds_row(ds: Obj, now: float) -> list[Cell]:
        st, spec = _d(ds.get("status")), _d(ds.get("spec"))
        tspec = _template_spec(ds)
        names, images = containers_and_images(tspec)
        return [_name(ds), _i(st.get("desiredNumberScheduled")), _i(st.get("currentNumberScheduled")),
                _i(st.get("numberReady")), _i(st.get("updatedNumberScheduled")), _i(st.get("numberAvailable")),
                format_labels(tspec.get("nodeSelector")), age(ds, now), names, images, _selector(spec.get("selector"))]

    # Job
    def job_cols() -> list[Column]:
        return _wide([name_col(), Column("Status", description="Status of the job."),
                      Column("Completions", description=_doc(_BATCH + "JobStatus", "succeeded")),
                      Column("Duration", description="Time required to complete the job."), age_col()],
                     selector_doc=_doc(_BATCH + "JobSpec", "selector"))

    def job_row(j: Obj, now: float) -> list[Cell]:
        st, spec = _d(j.get("status")), _d(j.get("spec"))
        succeeded = _i(st.get("succeeded"))
        if spec.get("completions") is not None:
            completions = f"{succeeded}/{_i(spec.get('completions'))}"
        elif _i(spec.get("parallelism")) > 1:
            completions = f"{succeeded}/1 of {_i(spec.get('parallelism'))}"
        else:
            completions = f"{succeeded}/1"
        duration = ""
        start, done = _parse_time(st.get("startTime")), _parse_time(st.get("completionTime"))
        if start is not None:
            duration = since(st.get("startTime"), done if done is not None else now)
        if _has_condition(j, "Complete"):
            status = "Complete"
        elif _has_condition(j, "Failed"):
            status = "Failed"
        elif _d(j.get("metadata")).get("deletionTimestamp"):
            status = "Terminating"
        elif _has_condition(j, "Suspended"):
            status = "Suspended"
        elif _has_condition(j, "FailureTarget"):
            status = "FailureTarget"
        elif _has_condition(j, "SuccessCriteriaMet"):
            status = "SuccessCriteriaMet"
        else:
            status = "Running"
        names, images = containers_and_images(_template_spec(j))
        return [_name(j), status, completions, duration, age(j, now), names, images, _selector(spec.get("selector"))]

    # CronJob
    def cj_cols() -> list[Column]:
        spec, st = _BATCH + "CronJobSpec", _BATCH + "CronJobStatus"
        return _wide([name_col(), Column("Schedule", description=_doc(spec, "schedule")),
                      Column("Timezone", description=_doc(spec, "timeZone")),
                      Column("Suspend", "boolean", _doc(spec, "suspend")),
                      Column("Active", "integer", _doc(st, "active")),
                      Column("Last Schedule", description=_doc(st, "lastScheduleTime")), age_col()],
                     selector_doc=_doc(_BATCH + "JobSpec", "selector"))

    def cj_row(cj: Obj, now: float) -> list[Cell]:
        st, spec = _d(cj.get("status")), _d(cj.get("spec"))
        last = since(st["lastScheduleTime"], now) if st.get("lastScheduleTime") else "<none>"
        suspend = spec.get("suspend")
        jspec = _d(_d(spec.get("jobTemplate")).get("spec"))
        names, images = containers_and_images(_d(_d(jspec.get("template")).get("spec")))
        return [_name(cj), str(spec.get("schedule") or ""), str(spec.get("timeZone") or "<none>"),
                "<unset>" if suspend is None else ("true" if suspend else "false"), len(st.get("active") or []),
                last, age(cj, now), names, images, _selector(jspec.get("selector"))]

    # ControllerRevision
    def cr_cols() -> list[Column]:
        return [name_col(), Column("Controller", description="Controller of the object"),
                Column("Revision", description=_doc(_APPS + "ControllerRevision", "revision")), age_col()]

    def cr_row(cr: Obj, now: float) -> list[Cell]:
        owner = "<none>"
        for ref in _d(cr.get("metadata")).get("ownerReferences") or []:
            if ref.get("controller") is True:
                api_version = str(ref.get("apiVersion") or "")
                group = api_version.split("/")[0] if "/" in api_version else ""
                kind = str(ref.get("kind") or "")
                gk = f"{kind}.{group}" if group else kind
                owner = f"{gk.lower()}/{ref.get('name')}"
        return [_name(cr), owner, _i(cr.get("revision")), age(cr, now)]

    # StorageClass
    def sc_cols() -> list[Column]:
        sc = _STORAGE + "StorageClass"
        return [name_col(), Column("Provisioner", description=_doc(sc, "provisioner")),
                Column("ReclaimPolicy", description=_doc(sc, "reclaimPolicy")),
                Column("VolumeBindingMode", description=_doc(sc, "volumeBindingMode")),
                Column("AllowVolumeExpansion", description=_doc(sc, "allowVolumeExpansion")), age_col()]

    def sc_row(sc: Obj, now: float) -> list[Cell]:
        ann = _d(_d(sc.get("metadata")).get("annotations"))
        name = _name(sc)
        if any(ann.get(a) == "true" for a in DEFAULT_CLASS_ANNOTATIONS):
            name += " (default)"
        return [name, str(sc.get("provisioner") or ""), str(sc.get("reclaimPolicy") or "Delete"),
                str(sc.get("volumeBindingMode") or "Immediate"), bool(sc.get("allowVolumeExpansion")), age(sc, now)]

    # PersistentVolume
    def pv_cols() -> list[Column]:
        spec, st = _CORE + "PersistentVolumeSpec", _CORE + "PersistentVolumeStatus"
        return [name_col(), Column("Capacity", description=_doc(spec, "capacity")),
                Column("Access Modes", description=_doc(spec, "accessModes")),
                Column("Reclaim Policy", description=_doc(spec, "persistentVolumeReclaimPolicy")),
                Column("Status", description=_doc(st, "phase")), Column("Claim", description=_doc(spec, "claimRef")),
                Column("StorageClass", description="StorageClass of the pv"),
                Column("VolumeAttributesClass", description="VolumeAttributesClass of the pv"),
                Column("Reason", description=_doc(st, "reason")), age_col(),
                Column("VolumeMode", priority=1, description=_doc(spec, "volumeMode"))]

    def pv_row(pv: Obj, now: float) -> list[Cell]:
        spec, st = _d(pv.get("spec")), _d(pv.get("status"))
        ref = _d(spec.get("claimRef"))
        claim = f"{ref.get('namespace', '')}/{ref.get('name', '')}" if spec.get("claimRef") is not None else ""
        cap = _d(spec.get("capacity")).get("storage")
        size = canonical(cap) if cap is not None else "0"
        phase = "Terminating" if _d(pv.get("metadata")).get("deletionTimestamp") else str(st.get("phase") or "")
        return [_name(pv), size, access_modes(spec.get("accessModes")), str(spec.get("persistentVolumeReclaimPolicy") or ""),
                phase, claim, str(spec.get("storageClassName") or ""), str(spec.get("volumeAttributesClassName") or "<unset>"),
                str(st.get("reason") or ""), age(pv, now), str(spec.get("volumeMode") or "<unset>")]

    return {
        ("apps", "Deployment"): Printer(deploy_cols, deploy_row),
        ("apps", "ReplicaSet"): Printer(rs_cols("ReplicaSet"), rs_row),
        ("", "ReplicationController"): Printer(rs_cols("ReplicationController"), rs_row),
        ("apps", "StatefulSet"): Printer(sts_cols, sts_row),
        ("apps", "DaemonSet"): Printer(ds_cols, ds_row),
        ("batch", "Job"): Printer(job_cols, job_row),
        ("batch", "CronJob"): Printer(cj_cols, cj_row),
        ("apps", "ControllerRevision"): Printer(cr_cols, cr_row),
        ("storage.k8s.io", "StorageClass"): Printer(sc_cols, sc_row),
        ("", "PersistentVolume"): Printer(pv_cols, pv_row),
    }
