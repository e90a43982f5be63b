"""The garbage collector's decisions (pkg/controller/garbagecollector: ``attemptToDeleteItem``,
``classifyReferences``, ``processDeletingDependentsItem``, ``attemptToOrphanWorker``) over an
in-memory dependency graph of every object that has or is referenced by ownerReferences.

Level-triggered: ``plan`` looks at the whole graph and returns what the upstream workers would do
for each item the graph builder would have queued (dependents of absent owners, owners deleting
their dependents in the foreground, owners orphaning theirs), so one pass after any change — and
a periodic one — converges to the same state.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from podbay.core.controllers import objects as o
from podbay.core.controllers.plan import Action, Delete, Patch, Ref, Update, ref_of
from podbay.core.controllers.refmanager import release_patch

Obj = Mapping[str, Any]

FOREGROUND = "foregroundDeletion"  # metav1.FinalizerDeleteDependents
ORPHAN = "orphan"  # metav1.FinalizerOrphanDependents


def _group(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else ""


@dataclasses.dataclass
class Node:
    obj: Obj
    dependents: list[Obj] = dataclasses.field(default_factory=list)

    @property
    def uid(self) -> str:
        return o.uid(self.obj)

    def being_deleted(self) -> bool:
        return o.deleting(self.obj)

    def deleting_dependents(self) -> bool:
        return self.being_deleted() and FOREGROUND in o.finalizers(self.obj)

    def orphaning(self) -> bool:
        return self.being_deleted() and ORPHAN in o.finalizers(self.obj)

    def blocking_dependents(self) -> list[Obj]:
        """Dependents whose reference to this owner has ``blockOwnerDeletion: true``."""
        return [d for d in self.dependents
                if any(r.get("uid") == self.uid and r.get("blockOwnerDeletion") is True for r in o.owner_refs(d))]


Namespaced = Callable[[str, str], "bool | None"]  # (group, kind) → namespaced? None: unknown kind


class Graph:
    """``GraphBuilder``'s uidToNode, built from a snapshot of all objects."""

    def __init__(self, objects: Iterable[Obj], namespaced: Namespaced) -> None:
        self.namespaced = namespaced
        self.nodes: dict[str, Node] = {}
        self.by_identity: dict[tuple[str, str, str, str], Obj] = {}
        for obj in objects:
            uid = o.uid(obj)
            if not uid:
                continue
            self.nodes[uid] = Node(obj)
            key = (_group(str(obj.get("apiVersion") or "")), str(obj.get("kind") or ""), o.namespace(obj), o.name(obj))
            self.by_identity[key] = obj
        for node in list(self.nodes.values()):
            for ref in o.owner_refs(node.obj):
                owner = self.nodes.get(str(ref.get("uid")))
                if owner is not None:
                    owner.dependents.append(node.obj)

    def owner_of(self, ref: Mapping[str, Any], dependent: Obj) -> tuple[bool, Obj | None]:
        """``isDangling``: (dangling?, the live owner). An unknown kind is never dangling."""
        group = _group(str(ref.get("apiVersion") or ""))
        kind = str(ref.get("kind") or "")
        ns_scoped = self.namespaced(group, kind)
        if ns_scoped is None:
            return False, None
        dep_ns = o.namespace(dependent)
        if ns_scoped and not dep_ns:
            return True, None  # a cluster-scoped dependent cannot have a namespaced owner
        owner = self.by_identity.get((group, kind, dep_ns if ns_scoped else "", str(ref.get("name") or "")))
        if owner is None or o.uid(owner) != ref.get("uid"):
            return True, None
        return False, owner


def classify_references(graph: Graph, item: Obj) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """``classifyReferences``: (solid, dangling, waitingForDependentsDeletion)."""
    solid, dangling, waiting = [], [], []
    for ref in o.owner_refs(item):
        is_dangling, owner = graph.owner_of(ref, item)
        if is_dangling:
            dangling.append(ref)
        elif owner is not None and o.deleting(owner) and FOREGROUND in o.finalizers(owner):
            waiting.append(ref)
        else:
            solid.append(ref)
    return solid, dangling, waiting


def _delete(item: Obj, policy: str) -> Delete:
    """``deleteObject``: with UID and resourceVersion preconditions."""
    return Delete(ref_of(item), propagation=policy, precondition_uid=o.uid(item),
                  precondition_resource_version=str(o.meta(item).get("resourceVersion") or ""))


def unblock_patch(item: Obj) -> Patch:
    """``unblockOwnerReferencesStrategicMergePatch``: blockOwnerDeletion false on blocking refs."""
    refs = [{**dict(r), "blockOwnerDeletion": False} for r in o.owner_refs(item) if r.get("blockOwnerDeletion") is True]
    return Patch(ref_of(item), {"metadata": {"ownerReferences": refs, "uid": o.uid(item)}}, "strategic")


def attempt_to_delete(graph: Graph, item: Obj) -> list[Action]:
    """``attemptToDeleteItem`` for an object that is not deleting its own dependents."""
    node = graph.nodes.get(o.uid(item))
    if o.deleting(item) and not (node and node.deleting_dependents()):
        return []
    if node is not None and node.deleting_dependents():
        return process_deleting_dependents(graph, node)[0]
    if not o.owner_refs(item):
        return []
    solid, dangling, waiting = classify_references(graph, item)
    if solid:
        if not dangling and not waiting:
            return []
        return [release_patch([str(r.get("uid")) for r in [*dangling, *waiting]], item)]
    if waiting and node is not None and node.dependents:
        actions: list[Action] = []
        if any(graph.nodes[o.uid(d)].deleting_dependents() for d in node.dependents if o.uid(d) in graph.nodes):
            actions.append(unblock_patch(item))
        actions.append(_delete(item, "Foreground"))
        return actions
    fins = o.finalizers(item)
    policy = "Orphan" if ORPHAN in fins else "Foreground" if FOREGROUND in fins else "Background"
    return [_delete(item, policy)]


def remove_finalizer(obj: Obj, finalizer: str) -> Update:
    """``removeFinalizer``: the object without that finalizer (an update with its resourceVersion)."""
    body = copy.deepcopy(dict(obj))
    fins = [f for f in o.finalizers(obj) if f != finalizer]
    if fins:
        body["metadata"]["finalizers"] = fins
    else:
        body["metadata"].pop("finalizers", None)
    return Update(body)


def process_deleting_dependents(graph: Graph, owner: Node) -> tuple[list[Action], list[Obj]]:
    """``processDeletingDependentsItem``: drop the foreground finalizer once no dependent blocks,
    else queue the blocking dependents (not themselves deleting theirs) for ``attemptToDeleteItem``."""
    blocking = owner.blocking_dependents()
    if not blocking:
        return [remove_finalizer(owner.obj, FOREGROUND)], []
    queue = [d for d in blocking if (n := graph.nodes.get(o.uid(d))) is not None and not n.deleting_dependents()]
    return [], queue


def attempt_to_orphan(owner: Node) -> list[Action]:
    """``attemptToOrphanWorker``: remove the owner from every dependent, then the orphan finalizer."""
    actions: list[Action] = [release_patch([owner.uid], d) for d in owner.dependents]
    actions.append(remove_finalizer(owner.obj, ORPHAN))
    return actions


def plan(graph: Graph) -> list[list[Action]]:
    """Every work item's actions, one list per item (each executes on its own: a failure in one
    item does not stop the others). Items are queued once, as the work queues dedupe them."""
    items: list[list[Action]] = []
    queued: dict[str, Obj] = {}
    for node in graph.nodes.values():
        if node.orphaning():
            items.append(attempt_to_orphan(node))
        elif node.deleting_dependents():
            acts, deps = process_deleting_dependents(graph, node)
            items.append(acts)
            for d in deps:
                queued.setdefault(o.uid(d), d)
    for node in graph.nodes.values():
        if not o.owner_refs(node.obj) or node.being_deleted():
            continue
        _, dangling, waiting = classify_references(graph, node.obj)
        if dangling or waiting:
            queued.setdefault(node.uid, node.obj)
    for item in queued.values():
        items.append(attempt_to_delete(graph, item))
    return [i for i in items if i]


def default_propagation(api_version: str, kind: str) -> str:
    """The apiserver's default when a DELETE names no policy: Orphan for batch/v1 Jobs (and the
    legacy extensions / apps beta groups), Background for everything else."""
    if (api_version, kind) == ("batch/v1", "Job"):
        return "Orphan"
    if api_version in ("extensions/v1beta1", "apps/v1beta1", "apps/v1beta2"):
        return "Orphan"
    return "Background"


JOB_ORPHAN_WARNING = ("child pods are preserved by default when jobs are deleted; set propagationPolicy=Background "
                      "to remove them or set propagationPolicy=Orphan to suppress this warning")


def deletion_finalizers(policy: str | None, api_version: str, kind: str, current: list[str]) -> tuple[list[str], bool]:
    """What a DELETE does to the finalizers (the registry's ``deletionFinalizersForGarbageCollection``):
    the new finalizer list and whether the object must stay (it has finalizers)."""
    policy = policy or default_propagation(api_version, kind)
    fins = [f for f in current if f not in (ORPHAN, FOREGROUND)]
    if policy == "Orphan":
        fins.append(ORPHAN)
    elif policy == "Foreground":
        fins.append(FOREGROUND)
    return fins, bool(fins)


def ref_key(ref: Ref) -> tuple[str, str, str]:
    return (ref.kind, ref.namespace, ref.name)
