"""``storage.k8s.io/v1`` StorageClass and ``v1`` PersistentVolume: podbay's one class
(``podbay-local``, the default, WaitForFirstConsumer, reclaim Delete), the PersistentVolume that
stands for a volume the local provisioner made, and defaulting and validation with upstream's
messages (pkg/apis/storage/validation, core ``ValidatePersistentVolume``)."""

from __future__ import annotations

import copy
from typing import Any

from podbay.api import names
from podbay.api.fielderror import FieldError, forbidden, invalid, not_supported, required, too_long
from podbay.api.pvc import DEFAULT_STORAGE_CLASS
from podbay.api.validation import validate_object_meta, validate_object_meta_update

Obj = dict[str, Any]
Errs = list[FieldError]

PROVISIONER = "podbay.io/local-path"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
RECLAIM_POLICIES = ("Delete", "Retain")
BINDING_MODES = ("Immediate", "WaitForFirstConsumer")
PV_RECLAIM_POLICIES = ("Delete", "Recycle", "Retain")
ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
MAX_PARAMETERS_BYTES = 256 * 1024
PV_SOURCES = ("gcePersistentDisk", "awsElasticBlockStore", "hostPath", "glusterfs", "nfs", "rbd", "quobyte",
              "iscsi", "cinder", "cephfs", "fc", "flocker", "flexVolume", "azureFile", "vsphereVolume",
              "azureDisk", "photonPersistentDisk", "portworxVolume", "scaleIO", "local", "storageos", "csi")


def _d(v: Any) -> Obj:
    return v if isinstance(v, dict) else {}


def builtin_storage_class() -> Obj:
    """The class podbay serves from start-up: default, local directories, bound at first use."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": DEFAULT_STORAGE_CLASS, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "provisioner": PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": False,
    }


def is_default_class(sc: Obj) -> bool:
    return _d(_d(sc.get("metadata")).get("annotations")).get(DEFAULT_CLASS_ANNOTATION) == "true"


def default_storage_class(obj: Obj) -> Obj:
    """``SetDefaults_StorageClass``: reclaimPolicy Delete, volumeBindingMode Immediate."""
    out = copy.deepcopy(obj)
    if not out.get("reclaimPolicy"):
        out["reclaimPolicy"] = "Delete"
    if not out.get("volumeBindingMode"):
        out["volumeBindingMode"] = "Immediate"
    return out


def validate_storage_class(sc: Obj) -> Errs:
    """``ValidateStorageClass``."""
    errs = validate_object_meta(sc.get("metadata"), namespaced=False)
    prov = sc.get("provisioner")
    if not prov:
        errs.append(required("provisioner", str(prov or "")))
    else:
        errs += [invalid("provisioner", prov, m) for m in names.is_qualified_name(str(prov).lower())]
    params = sc.get("parameters")
    if isinstance(params, dict):
        size = 0
        for k, v in params.items():
            if not k:
                errs.append(invalid("parameters", k, "field can not be empty."))
            size += len(str(k)) + len(str(v))
        if size > MAX_PARAMETERS_BYTES:
            errs.append(too_long("parameters", MAX_PARAMETERS_BYTES))
    rp = sc.get("reclaimPolicy")
    if rp is not None and rp not in RECLAIM_POLICIES:
        errs.append(not_supported("reclaimPolicy", rp, RECLAIM_POLICIES))
    vbm = sc.get("volumeBindingMode")
    if vbm is None:
        errs.append(required("volumeBindingMode"))
    elif vbm not in BINDING_MODES:
        errs.append(not_supported("volumeBindingMode", vbm, BINDING_MODES))
    return errs


def validate_storage_class_update(new: Obj, old: Obj) -> Errs:
    """``ValidateStorageClassUpdate``."""
    errs = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
    errs += validate_storage_class(new)
    if new.get("parameters") != old.get("parameters"):
        errs.append(forbidden("parameters", "updates to parameters are forbidden."))
    if new.get("provisioner") != old.get("provisioner"):
        errs.append(forbidden("provisioner", "updates to provisioner are forbidden."))
    if new.get("reclaimPolicy") != old.get("reclaimPolicy"):
        errs.append(forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
    if new.get("volumeBindingMode") != old.get("volumeBindingMode"):
        errs.append(invalid("volumeBindingMode", new.get("volumeBindingMode"), "field is immutable"))
    return errs


# ---------------------------------------------------------------------------------------------- PersistentVolume


def volume_name(claim: Obj) -> str:
    """The dynamic provisioner's name for a claim's volume: ``pvc-<claim uid>``."""
    return f"pvc-{_d(claim.get('metadata')).get('uid', '')}"


def persistent_volume_for(claim: Obj, path: str, node_name: str, now_rfc3339: str) -> Obj:
    """The PersistentVolume that records a local-provisioner volume bound to ``claim``."""
    md = _d(claim.get("metadata"))
    spec = _d(claim.get("spec"))
    storage = _d(_d(spec.get("resources")).get("requests")).get("storage", "0")
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": volume_name(claim), "annotations": {PROVISIONED_BY: PROVISIONER},
                     "finalizers": ["kubernetes.io/pv-protection"]},
        "spec": {
            "capacity": {"storage": storage},
            "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": spec.get("storageClassName") or DEFAULT_STORAGE_CLASS,
            "volumeMode": spec.get("volumeMode") or "Filesystem",
            "hostPath": {"path": path, "type": "DirectoryOrCreate"},
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": md.get("namespace", ""),
                         "name": md.get("name", ""), "uid": md.get("uid", ""),
                         "resourceVersion": str(md.get("resourceVersion") or "")},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [node_name]}]}]}},
        },
        "status": {"phase": "Bound", "lastPhaseTransitionTime": now_rfc3339},
    }


def default_persistent_volume(obj: Obj) -> Obj:
    """``SetDefaults_PersistentVolume``: Retain, Filesystem, phase Pending."""
    out = copy.deepcopy(obj)
    spec = out.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")
    st = out.setdefault("status", {})
    if isinstance(st, dict) and not st.get("phase"):
        st["phase"] = "Pending"
    return out


def validate_persistent_volume(pv: Obj) -> Errs:
    """``ValidatePersistentVolume`` (the parts a local volume exercises)."""
    errs = validate_object_meta(pv.get("metadata"), namespaced=False)
    spec = _d(pv.get("spec"))
    modes = spec.get("accessModes")
    if not modes:
        errs.append(required("spec.accessModes"))
    else:
        errs += [not_supported("spec.accessModes", m, ACCESS_MODES) for m in modes if m not in ACCESS_MODES]
    cap = _d(spec.get("capacity"))
    if not cap:
        errs.append(required("spec.capacity"))
    elif "storage" not in cap or len(cap) > 1:
        errs.append(not_supported("spec.capacity", sorted(cap), ["storage"]))
    rp = spec.get("persistentVolumeReclaimPolicy")
    if rp is not None and rp not in PV_RECLAIM_POLICIES:
        errs.append(not_supported("spec.persistentVolumeReclaimPolicy", rp, PV_RECLAIM_POLICIES))
    sources = [s for s in PV_SOURCES if spec.get(s) is not None]
    if not sources:
        errs.append(required("spec", "must specify a volume type"))
    for extra in sources[1:]:
        errs.append(forbidden(f"spec.{extra}", "may not specify more than 1 volume type"))
    hp = _d(spec.get("hostPath"))
    if spec.get("hostPath") is not None and not hp.get("path"):
        errs.append(required("spec.hostPath.path"))
    sc = spec.get("storageClassName")
    if isinstance(sc, str) and sc:
        errs += [invalid("spec.storageClassName", sc, m) for m in names.is_dns1123_subdomain(sc)]
    vm = spec.get("volumeMode")
    if vm is not None and vm not in ("Block", "Filesystem"):
        errs.append(not_supported("spec.volumeMode", vm, ["Block", "Filesystem"]))
    return errs


def validate_persistent_volume_update(new: Obj, old: Obj) -> Errs:
    errs = validate_object_meta_update(new.get("metadata"), old.get("metadata")) + validate_persistent_volume(new)
    ns, os_ = _d(new.get("spec")), _d(old.get("spec"))
    for key in ("hostPath", "local", "volumeMode"):
        if ns.get(key) != os_.get(key):
            errs.append(invalid(f"spec.{key}" if key != "volumeMode" else "spec.volumeMode",
                                ns.get(key) if isinstance(ns.get(key), str) else "", "field is immutable"))
    return errs


# ---------------------------------------------------------------------------------------------- provisioning decisions

PV_CONTROLLER = "persistentvolume-controller"


def claim_class_name(claim: Obj) -> str:
    return str(_d(claim.get("spec")).get("storageClassName") or "")


def provisioning_decision(claim: Obj, classes: dict[str, Obj], has_consumer: bool) -> tuple[str, tuple[str, str, str] | None]:
    """What the PersistentVolume controller does with an unbound claim, and the event it records:

    - ``provision``: podbay's provisioner makes the volume now (Immediate, or the first consumer exists);
    - ``wait``: WaitForFirstConsumer and no pod uses the claim yet;
    - ``pending``: the class is unknown, or another provisioner's — the claim stays Pending.
    """
    name = claim_class_name(claim)
    sc = classes.get(name)
    if sc is None:
        return "pending", ("Warning", "ProvisioningFailed", f'storageclass.storage.k8s.io "{name}" not found')
    if sc.get("provisioner") != PROVISIONER:
        return "pending", ("Normal", "ExternalProvisioning",
                           f"Waiting for a volume to be created either by the external provisioner "
                           f"'{sc.get('provisioner')}' or manually by the system administrator. If volume creation "
                           "is delayed, please verify that the provisioner is running and correctly registered.")
    if sc.get("volumeBindingMode") == "WaitForFirstConsumer" and not has_consumer:
        return "wait", ("Normal", "WaitForFirstConsumer", "waiting for first consumer to be created before binding")
    return "provision", ("Normal", "ProvisioningSucceeded",
                         f"Successfully provisioned volume {volume_name(claim)} using {PROVISIONER}")
