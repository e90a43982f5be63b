"""The resource types podbay serves: one ``ResourceType`` per kind and group-version (pure data).

Everything that must agree on what is served reads this one table: the router, discovery
(``api.discovery``), OpenAPI (``api.openapi``), the Table printers (``api.tables``) and the
registry in the agent. Adding a kind is an entry here plus a strategy (``agent.strategies``);
other helpers add subresources and kinds through ``register`` / ``add_subresource`` (attach,
portforward, serviceaccounts/token, TokenReview).

``storage`` names the stored kind behind a resource: ``events.k8s.io/v1`` Events are the stored
core Events seen through a conversion, and the metrics kinds are computed, never stored (``""``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from podbay.api import schema

# Upstream's order in discovery (sets.String sorted).
STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CLUSTER_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")   # no deletecollection
READ_VERBS = ("get", "list")
PROXY_VERBS = ("create", "delete", "get", "patch", "update")
CORE = ""


@dataclass(frozen=True)
class Subresource:
    name: str                       # "status", "log", "exec", "eviction", ...
    kind: str                       # the kind the subresource answers or accepts
    verbs: tuple[str, ...]
    group: str | None = None        # set when the kind lives in another group (policy/v1 Eviction)
    version: str | None = None


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = STANDARD_VERBS
    subresources: tuple[Subresource, ...] = ()
    storage: str | None = None      # stored kind key; None = the kind itself, "" = computed (not stored)
    has_spec: bool = False          # metadata.generation is kept (bumped on spec changes)
    # Field selectors beyond metadata.name / metadata.namespace (upstream's <Kind>ToSelectableFields).
    field_labels: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return self.version if not self.group else f"{self.group}/{self.version}"

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def storage_kind(self) -> str:
        return self.kind if self.storage is None else self.storage

    @property
    def stored(self) -> bool:
        return self.storage != ""

    @property
    def group_resource(self) -> str:
        """``pods`` or ``leases.coordination.k8s.io`` (how errors name a resource)."""
        return self.plural if not self.group else f"{self.plural}.{self.group}"

    @property
    def qualified_kind(self) -> str:
        """``Pod`` or ``Lease.coordination.k8s.io`` (how Invalid errors name a kind)."""
        return self.kind if not self.group else f"{self.kind}.{self.group}"

    @property
    def schema_name(self) -> str | None:
        return schema.definition_name(self.group, self.version, self.kind)

    def subresource(self, name: str) -> Subresource | None:
        return next((s for s in self.subresources if s.name == name), None)

    def allows(self, verb: str) -> bool:
        return verb in self.verbs


POD_FIELDS = ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
              "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName")
EVENT_FIELDS = ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
                "reason", "reportingComponent", "source", "type")
# events.k8s.io/v1 names the same stored fields differently (pkg/apis/events/v1 conversion).
EVENTS_V1_FIELDS = ("regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
                    "regarding.apiVersion", "regarding.resourceVersion", "regarding.fieldPath",
                    "reason", "reportingController", "type", "deprecatedSource")

BUILTIN: tuple[ResourceType, ...] = (
    ResourceType(CORE, "v1", "Pod", "pods", "pod", True, ("po",), ("all",), has_spec=True,
                 field_labels=POD_FIELDS,
                 subresources=(Subresource("eviction", "Eviction", ("create",), "policy", "v1"),
                               Subresource("exec", "PodExecOptions", ("create", "get")),
                               Subresource("log", "Pod", ("get",)),
                               Subresource("status", "Pod", ("get", "patch", "update")))),
    ResourceType(CORE, "v1", "ConfigMap", "configmaps", "configmap", True, ("cm",)),
    ResourceType(CORE, "v1", "Secret", "secrets", "secret", True, field_labels=("type",)),
    ResourceType(CORE, "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", True,
                 ("pvc",), has_spec=False,
                 subresources=(Subresource("status", "PersistentVolumeClaim", ("get", "patch", "update")),)),
    ResourceType(CORE, "v1", "Namespace", "namespaces", "namespace", False, ("ns",), verbs=CLUSTER_VERBS,
                 field_labels=("status.phase",),
                 subresources=(Subresource("finalize", "Namespace", ("update",)),
                               Subresource("status", "Namespace", ("get", "patch", "update")))),
    ResourceType(CORE, "v1", "Node", "nodes", "node", False, ("no",), field_labels=("spec.unschedulable",),
                 subresources=(Subresource("status", "Node", ("get", "patch", "update")),)),
    ResourceType(CORE, "v1", "Event", "events", "event", True, ("ev",), field_labels=EVENT_FIELDS),
    ResourceType(CORE, "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", True, ("sa",)),
    ResourceType("events.k8s.io", "v1", "Event", "events", "event", True, ("ev",), storage="Event",
                 field_labels=EVENTS_V1_FIELDS),
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases", "lease", True),
    # Services (svc lane): the /status subresource; field selectors as ServiceToSelectableFields.
    ResourceType(CORE, "v1", "Service", "services", "service", True, ("svc",), ("all",), has_spec=False,
                 field_labels=("spec.clusterIP", "spec.type"),
                 subresources=(Subresource("proxy", "ServiceProxyOptions", PROXY_VERBS),
                               Subresource("status", "Service", ("get", "patch", "update")))),
    ResourceType(CORE, "v1", "Endpoints", "endpoints", "endpoints", True, ("ep",)),
    ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", True),
    ResourceType("metrics.k8s.io", "v1beta1", "NodeMetrics", "nodes", "", False, verbs=READ_VERBS, storage=""),
    ResourceType("metrics.k8s.io", "v1beta1", "PodMetrics", "pods", "", True, verbs=READ_VERBS, storage=""),
)

# The version a group is served at first (discovery's preferredVersion).
PREFERRED = {CORE: "v1", "events.k8s.io": "v1", "coordination.k8s.io": "v1", "metrics.k8s.io": "v1beta1",
             "discovery.k8s.io": "v1",
             "authentication.k8s.io": "v1"}


class ResourceTable:
    """The served resources, indexed by path and by kind; a new kind or subresource is one call."""

    def __init__(self, types: Iterable[ResourceType] = ()) -> None:
        self._types: list[ResourceType] = []
        for rt in types:
            self.register(rt)

    def register(self, rt: ResourceType) -> None:
        if self.by_path(rt.group, rt.version, rt.plural) is not None:
            raise ValueError(f"{rt.group_resource}/{rt.version} is already served")
        self._types.append(rt)

    def add_subresource(self, group: str, version: str, plural: str, sub: Subresource) -> None:
        """Serve ``<plural>/<sub.name>`` (e.g. pods/attach from the access helper)."""
        rt = self.by_path(group, version, plural)
        if rt is None:
            raise KeyError(f"{plural} is not served in {group or 'core'}/{version}")
        subs = tuple(s for s in rt.subresources if s.name != sub.name) + (sub,)
        self._types[self._types.index(rt)] = dataclasses.replace(rt, subresources=tuple(sorted(subs, key=lambda s: s.name)))

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(list(self._types))

    def by_path(self, group: str, version: str, plural: str) -> ResourceType | None:
        return next((t for t in self._types if (t.group, t.version, t.plural) == (group, version, plural)), None)

    def by_kind(self, group: str, version: str, kind: str) -> ResourceType | None:
        return next((t for t in self._types if (t.group, t.version, t.kind) == (group, version, kind)), None)

    def storing(self, storage_kind: str) -> list[ResourceType]:
        """Every resource served from this stored kind (core Events and events.k8s.io Events)."""
        return [t for t in self._types if t.stored and t.storage_kind == storage_kind]

    def primary(self, storage_kind: str) -> ResourceType:
        """The resource that owns a stored kind (the first registered: core/v1 for Events)."""
        found = self.storing(storage_kind)
        if not found:
            raise KeyError(storage_kind)
        return found[0]

    def groups(self) -> list[str]:
        """Served groups, core first, in registration order."""
        out: list[str] = []
        for t in self._types:
            if t.group not in out:
                out.append(t.group)
        return out

    def versions(self, group: str) -> list[str]:
        out: list[str] = []
        for t in self._types:
            if t.group == group and t.version not in out:
                out.append(t.version)
        preferred = PREFERRED.get(group)
        if preferred in out:
            out.remove(preferred)
            out.insert(0, preferred)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self._types if t.group == group and t.version == version]


def default_table() -> ResourceTable:
    from podbay.api.workload_resources import PREFERRED as WORKLOAD_PREFERRED
    from podbay.api.workload_resources import WORKLOAD_TYPES

    PREFERRED.update(WORKLOAD_PREFERRED)
    return ResourceTable(in_priority_order((*BUILTIN, *WORKLOAD_TYPES)))


# kube-apiserver's group priorities (aggregator apiVersionPriorities): discovery lists groups so.
GROUP_PRIORITY = ("", "apiregistration.k8s.io", "apps", "events.k8s.io", "authentication.k8s.io",
                  "authorization.k8s.io", "autoscaling", "batch", "certificates.k8s.io", "networking.k8s.io",
                  "policy", "rbac.authorization.k8s.io", "storage.k8s.io", "admissionregistration.k8s.io",
                  "apiextensions.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "node.k8s.io",
                  "discovery.k8s.io", "flowcontrol.apiserver.k8s.io")


def in_priority_order(types: Iterable[ResourceType]) -> list[ResourceType]:
    """Stable sort by group priority; groups upstream does not rank (metrics.k8s.io) come last."""
    def rank(rt: ResourceType) -> int:
        return GROUP_PRIORITY.index(rt.group) if rt.group in GROUP_PRIORITY else len(GROUP_PRIORITY)
    return sorted(types, key=rank)
