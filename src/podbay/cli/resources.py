"""The resource types the CLI knows: kubectl's names and aliases, kinds and API paths (pure)."""

from __future__ import annotations


class Resource:
    # A plain class: importing dataclasses costs CLI start-up time (see main.Settings).
    def __init__(self, kind: str, plural: str, singular: str, short: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.plural = plural
        self.singular = singular
        self.names = {plural, singular, *short}

    def name_of(self, obj_name: str) -> str:
        """``-o name`` and ``apply``/``wait`` output: ``configmap/x``."""
        return f"{self.singular}/{obj_name}"


POD = Resource("Pod", "pods", "pod", ("po",))
CONFIGMAP = Resource("ConfigMap", "configmaps", "configmap", ("cm",))
SECRET = Resource("Secret", "secrets", "secret")
PVC = Resource("PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", ("pvc",))
ALL = (POD, CONFIGMAP, SECRET, PVC)


def lookup(type_name: str) -> Resource | None:
    """``cm`` / ``ConfigMaps`` / ``configmap`` -> the resource (case-insensitive like kubectl)."""
    t = type_name.lower()
    return next((r for r in ALL if t in r.names or t == r.kind.lower()), None)


def by_kind(kind: str) -> Resource | None:
    return next((r for r in ALL if r.kind == kind), None)
