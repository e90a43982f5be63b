"""ConfigMaps and Secrets: stored API objects that pods' volumes project. Changes wake the pods using them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from podbay.agent.deps import Deps
from podbay.agent.events import iso
from podbay.api.configdata import (
    default_secret,
    validate_configmap,
    validate_immutable_update,
    validate_secret,
)
from podbay.errors import AlreadyExists, NotFound, ValidationError

KINDS = {"configmaps": "ConfigMap", "secrets": "Secret"}


def _prepare(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    return default_secret(body) if kind == "Secret" else dict(body)


def _validate(kind: str, obj: dict[str, Any]) -> list[Any]:
    return validate_secret(obj) if kind == "Secret" else validate_configmap(obj)


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
        errs = _validate(kind, new) + validate_immutable_update(old, new)
        if errs:
            raise ValidationError(kind, name, errs)
        self.deps.store.put_object(new)
        self.deps.hub.publish("MODIFIED", new)
        self.on_change(kind, namespace, name)
        return new

    def delete(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        obj = self.get(kind, namespace, name)
        rv = self.deps.store.delete_object(kind, namespace, name)
        obj["metadata"]["resourceVersion"] = str(rv)
        self.deps.hub.publish("DELETED", obj)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "kind": kind.lower() + "s", "uid": obj["metadata"]["uid"]}}
