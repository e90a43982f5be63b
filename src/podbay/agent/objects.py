"""ConfigMaps, Secrets and PersistentVolumeClaims: stored API objects pods' volumes use. Changes wake those pods."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from podbay.agent import claims
from podbay.agent.deps import Deps
from podbay.agent.events import iso
from podbay.api.configdata import (
    default_secret,
    validate_configmap,
    validate_immutable_update,
    validate_secret,
)
from podbay.api.pvc import default_pvc, validate_pvc, validate_pvc_update
from podbay.errors import AlreadyExists, NotFound, ValidationError

KINDS = {"configmaps": "ConfigMap", "secrets": "Secret", "persistentvolumeclaims": claims.KIND}
PVC = claims.KIND


def _prepare(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    if kind == PVC:
        return default_pvc(body)
    return default_secret(body) if kind == "Secret" else dict(body)


def _validate(kind: str, obj: dict[str, Any], bound_volume: str | None = None) -> list[Any]:
    if kind == PVC:
        return validate_pvc(obj, bound_volume)
    return validate_secret(obj) if kind == "Secret" else validate_configmap(obj)


def _immutable(kind: str, old: dict[str, Any], new: dict[str, Any]) -> list[Any]:
    return validate_pvc_update(old, new) if kind == PVC else validate_immutable_update(old, new)


class ObjectService:
    def __init__(self, deps: Deps, on_change: Callable[[str, str, str], None]) -> None:
        self.deps = deps
        self.on_change = on_change   # (kind, namespace, name): re-project volumes that use it

    def create(self, kind: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        md = body.setdefault("metadata", {})
        md["namespace"] = namespace
        if not md.get("name") and md.get("generateName"):
            md["name"] = md["generateName"] + uuid.uuid4().hex[:5]
        obj = _prepare(kind, body)
        errs = _validate(kind, obj)
        if errs:
            raise ValidationError(kind, str(md.get("name", "")), errs)
        name = obj["metadata"]["name"]
        if self.deps.store.get_object(kind, namespace, name) is not None:
            raise AlreadyExists(f'{kind.lower()}s "{name}" already exists')
        obj.update(apiVersion="v1", kind=kind)
        obj["metadata"].update(uid=str(uuid.uuid4()), creationTimestamp=iso(time.time()))
        if kind == PVC:
            claims.provision(self.deps.cfg.root, obj)   # podbay-local binds immediately
        self.deps.store.put_object(obj, create=True)
        self.deps.hub.publish("ADDED", obj)
        self.on_change(kind, namespace, name)
        return obj

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        obj = self.deps.store.get_object(kind, namespace, name)
        if obj is None:
            raise NotFound(f'{kind.lower()}s "{name}" not found')
        return obj

    def list(self, kind: str, namespace: str | None) -> list[dict[str, Any]]:
        return self.deps.store.list_objects(kind, namespace)

    def replace(self, kind: str, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        old = self.get(kind, namespace, name)
        new = _prepare(kind, body)
        new.setdefault("metadata", {}).update(namespace=namespace, name=name, uid=old["metadata"]["uid"],
                                              creationTimestamp=old["metadata"].get("creationTimestamp"))
        new.update(apiVersion="v1", kind=kind)
        bound = None
        if kind == PVC:
            # Status, finalizers and deletion state are the server's; a PUT cannot change them.
            bound = (old.get("spec") or {}).get("volumeName")
            for key in ("finalizers", "deletionTimestamp", "deletionGracePeriodSeconds"):
                new["metadata"].pop(key, None)
                if key in old["metadata"]:
                    new["metadata"][key] = old["metadata"][key]
            if isinstance(new.get("spec"), dict) and bound and not new["spec"].get("volumeName"):
                new["spec"]["volumeName"] = bound   # a PUT of the original manifest keeps the binding
        errs = _validate(kind, new, bound) + _immutable(kind, old, new)
        if errs:
            raise ValidationError(kind, name, errs)
        if kind == PVC:
            claims.set_bound_status(new)   # capacity follows an expanded request (advisory)
        self.deps.store.put_object(new)
        self.deps.hub.publish("MODIFIED", new)
        self.on_change(kind, namespace, name)
        return new

    def delete(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        obj = self.get(kind, namespace, name)
        if kind == PVC:
            terminating = claims.request_delete(self.deps, namespace, name)
            if terminating is not None:
                return terminating   # kubernetes.io/pvc-protection: 200 with the Terminating claim
            return _deleted_status(kind, name, obj)
        rv = self.deps.store.delete_object(kind, namespace, name)
        obj["metadata"]["resourceVersion"] = str(rv)
        self.deps.hub.publish("DELETED", obj)
        return _deleted_status(kind, name, obj)


def _deleted_status(kind: str, name: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": name, "kind": kind.lower() + "s", "uid": obj["metadata"]["uid"]}}
