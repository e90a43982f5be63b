"""The workload kinds' registry strategies (pkg/registry/apps/*, batch/*, core/replicationcontroller,
storage/storageclass, core/persistentvolume): defaulting and validation from ``podbay.api.apps`` /
``batch`` / ``storage``, the stored status kept on spec writes, status writes that change only the
status (and, for Deployments, the annotations the controller keeps the revision in), the
DaemonSet's template generation, the Job's generated selector."""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable, Iterator
from typing import Any

from podbay.agent.strategies import Strategy
from podbay.api import apps, batch, storage
from podbay.api.fielderror import FieldError, unsupported
from podbay.api.validation import validate_object_meta, validate_object_meta_update

Obj = dict[str, Any]
Errs = list[FieldError]
Defaults = Callable[[Obj], Obj]
Validate = Callable[[Obj], Errs]
ValidateUpdate = Callable[[Obj, Obj], Errs]


class WorkloadStrategy(Strategy):
    has_status = True

    def __init__(self, default: Defaults, validate: Validate, validate_update: ValidateUpdate,
                 validate_status: Validate | None = None, *, namespaced: bool = True,
                 status_annotations: bool = False) -> None:
        self._default = default
        self._validate = validate
        self._validate_update = validate_update
        self._validate_status = validate_status
        self.namespaced = namespaced
        self.status_annotations = status_annotations

    def prepare_create(self, obj: Obj) -> Obj:
        obj = self._default(obj)
        obj.pop("status", None)
        return obj

    def validate(self, obj: Obj) -> Errs:
        return self._validate(obj)

    def prepare_update(self, new: Obj, old: Obj) -> Obj:
        new = self._default(new)
        return super().prepare_update(new, old)

    def validate_update(self, new: Obj, old: Obj) -> Errs:
        return self._validate_update(new, old)

    def prepare_status_update(self, new: Obj, old: Obj) -> Obj:
        out = super().prepare_status_update(new, old)
        if self.status_annotations:
            # deploymentStatusStrategy keeps spec and labels only: the controller records the
            # revision annotation with its status writes
            ann = (new.get("metadata") or {}).get("annotations")
            md = out["metadata"] = dict(out.get("metadata") or {})
            if ann:
                md["annotations"] = dict(ann)
            else:
                md.pop("annotations", None)
        return out

    def validate_status_update(self, new: Obj, old: Obj) -> Errs:
        errs = validate_object_meta_update(new.get("metadata"), old.get("metadata"))
        if self._validate_status is not None:
            errs += self._validate_status(new)
        return errs


class DeploymentStrategy(WorkloadStrategy):
    def __init__(self) -> None:
        super().__init__(apps.default_deployment, apps.validate_deployment, apps.validate_deployment_update,
                         apps.validate_deployment_status, status_annotations=True)

    def bumps_generation(self, new: Obj, old: Obj) -> bool:
        """Annotation changes bump the generation too: they are copied to the ReplicaSets."""
        return (new.get("metadata") or {}).get("annotations") != (old.get("metadata") or {}).get("annotations")


class DaemonSetStrategy(WorkloadStrategy):
    def __init__(self) -> None:
        super().__init__(apps.default_daemon_set, apps.validate_daemon_set, apps.validate_daemon_set_update,
                         apps.validate_daemon_set_status)

    def prepare_create(self, obj: Obj) -> Obj:
        return apps.daemon_set_template_generation(super().prepare_create(obj), None)

    def prepare_update(self, new: Obj, old: Obj) -> Obj:
        return apps.daemon_set_template_generation(super().prepare_update(new, old), old)


class JobStrategy(WorkloadStrategy):
    def __init__(self) -> None:
        super().__init__(batch.default_job, batch.validate_job, batch.validate_job_update, batch.validate_job_status)

    def prepare_create(self, obj: Obj) -> Obj:
        return batch.prepare_job_create(batch.default_job(obj))

    def prepare_update(self, new: Obj, old: Obj) -> Obj:
        new = batch.default_job(new)
        new.get("metadata", {}).pop("_labels_from_template", None)
        return Strategy.prepare_update(self, new, old)


class ControllerRevisionStrategy(Strategy):
    has_status = False

    def validate(self, obj: Obj) -> Errs:
        return apps.validate_controller_revision(obj)

    def validate_update(self, new: Obj, old: Obj) -> Errs:
        return apps.validate_controller_revision_update(new, old)


class StorageClassStrategy(Strategy):
    namespaced = False

    def prepare_create(self, obj: Obj) -> Obj:
        return storage.default_storage_class(obj)

    def validate(self, obj: Obj) -> Errs:
        return storage.validate_storage_class(obj)

    def prepare_update(self, new: Obj, old: Obj) -> Obj:
        return storage.default_storage_class(new)

    def validate_update(self, new: Obj, old: Obj) -> Errs:
        return storage.validate_storage_class_update(new, old)


class PersistentVolumeStrategy(Strategy):
    """PersistentVolumes stand for the local provisioner's volumes; podbay binds no static ones,
    so a client may read, label and delete them but not create them."""

    namespaced = False
    has_status = True

    def __init__(self, internal: Callable[[], bool]) -> None:
        self.internal = internal   # true while the agent's own provisioner writes

    def prepare_create(self, obj: Obj) -> Obj:
        status = copy.deepcopy(obj.get("status"))
        out = storage.default_persistent_volume(obj)
        if self.internal() and status:
            out["status"] = status
        return out

    def validate(self, obj: Obj) -> Errs:
        errs = storage.validate_persistent_volume(obj)
        if not self.internal():   # who writes, not a field: listed in api/support.py ELSEWHERE
            errs.append(unsupported("spec", "statically provisioned PersistentVolumes are"))
        return errs

    def validate_update(self, new: Obj, old: Obj) -> Errs:
        return storage.validate_persistent_volume_update(new, old)


class InternalWrites:
    """Marks the agent's own provisioner writes (PersistentVolumes are not a client's to create)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def internal(self) -> bool:
        return bool(getattr(self._local, "on", False))

    @contextlib.contextmanager
    def enabled(self) -> Iterator[None]:
        self._local.on = True
        try:
            yield
        finally:
            self._local.on = False


PV_WRITES = InternalWrites()


def strategies(pv_internal: Callable[[], bool]) -> dict[str, Strategy]:
    return {
        "Deployment": DeploymentStrategy(),
        "ReplicaSet": WorkloadStrategy(apps.default_replica_set, apps.validate_replica_set,
                                       apps.validate_replica_set_update, apps.validate_replica_set_status),
        "StatefulSet": WorkloadStrategy(apps.default_stateful_set, apps.validate_stateful_set,
                                        apps.validate_stateful_set_update, apps.validate_stateful_set_status),
        "DaemonSet": DaemonSetStrategy(),
        "ControllerRevision": ControllerRevisionStrategy(),
        "Job": JobStrategy(),
        "CronJob": WorkloadStrategy(batch.default_cron_job, batch.validate_cron_job, batch.validate_cron_job_update),
        "ReplicationController": WorkloadStrategy(apps.default_replication_controller,
                                                  apps.validate_replication_controller,
                                                  apps.validate_replication_controller_update),
        "StorageClass": StorageClassStrategy(),
        "PersistentVolume": PersistentVolumeStrategy(pv_internal),
    }


def metadata_only(obj: Obj) -> Errs:
    return validate_object_meta(obj.get("metadata"), namespaced=False)
