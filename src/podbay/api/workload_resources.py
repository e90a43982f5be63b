"""The workload and storage kinds podbay serves (issue 8): ``apps/v1`` Deployments, ReplicaSets,
StatefulSets, DaemonSets and ControllerRevisions, ``batch/v1`` Jobs and CronJobs, ``v1``
ReplicationControllers and PersistentVolumes, ``storage.k8s.io/v1`` StorageClasses — with the
``status`` and ``scale`` subresources, short names and categories of kube-apiserver's discovery."""

from __future__ import annotations

from podbay.api.resources import CLUSTER_VERBS, CORE, STANDARD_VERBS, ResourceType, Subresource

STATUS = ("get", "patch", "update")


def _status(kind: str) -> Subresource:
    return Subresource("status", kind, STATUS)


SCALE = Subresource("scale", "Scale", STATUS, "autoscaling", "v1")

WORKLOAD_TYPES: tuple[ResourceType, ...] = (
    ResourceType("apps", "v1", "Deployment", "deployments", "deployment", True, ("deploy",), ("all",),
                 has_spec=True, subresources=(SCALE, _status("Deployment"))),
    ResourceType("apps", "v1", "ReplicaSet", "replicasets", "replicaset", True, ("rs",), ("all",),
                 has_spec=True, field_labels=("status.replicas",), subresources=(SCALE, _status("ReplicaSet"))),
    ResourceType("apps", "v1", "StatefulSet", "statefulsets", "statefulset", True, ("sts",), ("all",),
                 has_spec=True, subresources=(SCALE, _status("StatefulSet"))),
    ResourceType("apps", "v1", "DaemonSet", "daemonsets", "daemonset", True, ("ds",), ("all",),
                 has_spec=True, subresources=(_status("DaemonSet"),)),
    ResourceType("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", True,
                 verbs=STANDARD_VERBS),
    ResourceType("batch", "v1", "Job", "jobs", "job", True, (), ("all",), has_spec=True,
                 field_labels=("status.successful",), subresources=(_status("Job"),)),
    ResourceType("batch", "v1", "CronJob", "cronjobs", "cronjob", True, ("cj",), ("all",), has_spec=True,
                 subresources=(_status("CronJob"),)),
    ResourceType(CORE, "v1", "ReplicationController", "replicationcontrollers", "replicationcontroller", True,
                 ("rc",), ("all",), has_spec=True, field_labels=("status.replicas",),
                 subresources=(SCALE, _status("ReplicationController"))),
    ResourceType(CORE, "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", False, ("pv",),
                 verbs=STANDARD_VERBS, subresources=(_status("PersistentVolume"),)),
    ResourceType("storage.k8s.io", "v1", "StorageClass", "storageclasses", "storageclass", False, ("sc",),
                 verbs=STANDARD_VERBS),
)

PREFERRED = {"apps": "v1", "batch": "v1", "storage.k8s.io": "v1", "autoscaling": "v1"}

__all__ = ["CLUSTER_VERBS", "PREFERRED", "SCALE", "WORKLOAD_TYPES"]
