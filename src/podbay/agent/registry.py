"""The generic registry: how anything creates, updates, patches, deletes, lists or watches objects.

The API server's handlers and in-process controllers call the same methods, so a controller's
write gets the same defaulting, validation, type check, optimistic concurrency, finalizer and
dry-run rules as a client's (kube-apiserver's ``registry/generic/registry.Store`` plus the
``rest.Before*`` helpers). Per kind, a ``Strategy`` adds what is specific; the ``ResourceTable``
says what is served. Writes go to the ``Repository``, which stamps, persists and publishes.

Order of a create, as upstream: type check (decode) → namespace/name checks → server metadata →
strategy defaults → validation → the support table (``api.support``: every field of every kind is
implemented or refused as not supported by podbay) → namespace lifecycle → dry run stops here → host
side effects → store. Nothing is written, started or recorded on a dry run.
"""

from __future__ import annotations

import builtins
import copy
import random
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from podbay.agent.strategies import Strategy
from podbay.api import meta, patch, support, typecheck
from podbay.api.events import from_events_v1, to_events_v1
from podbay.api.patchtypes import APPLY_PATCH
from podbay.api.query import DeleteOptions, WriteOptions
from podbay.api.resources import ResourceTable, ResourceType
from podbay.api.selectors import allowed_labels, field_test, parse_field_selector, parse_label_selector
from podbay.errors import BadRequest, Forbidden, NotFound, StatusError, ValidationError
from podbay.store.repository import Repository, Stored

Obj = dict[str, Any]

# SimpleNameGenerator's alphabet (no vowels, no look-alikes) and suffix length.
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_NAME_SUFFIX = 5
_MAX_NAME = 253
TERMINATING_CAUSE = "NamespaceTerminating"
FIELD_MANAGER = "podbay"   # the manager of the agent's own writes


class Registry:
    def __init__(self, table: ResourceTable, repo: Repository, strategies: Mapping[str, Strategy], *,
                 clock: Callable[[], float] = time.time, new_uid: Callable[[], str] | None = None) -> None:
        self.table = table
        self.repo = repo
        self.strategies = dict(strategies)
        self.clock = clock
        self.new_uid = new_uid or (lambda: str(uuid.uuid4()))

    # --- lookup -----------------------------------------------------------------------------------------
    def resource(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self.table.by_path(group, version, plural)
        if rt is None:
            raise NotFound("the server could not find the requested resource")
        return rt

    def kind(self, kind: str, group: str = "", version: str = "v1") -> ResourceType:
        rt = self.table.by_kind(group, version, kind)
        if rt is None:
            raise KeyError(kind)
        return rt

    def strategy(self, rt: ResourceType) -> Strategy:
        return self.strategies.get(rt.storage_kind) or Strategy()

    def not_found(self, rt: ResourceType, name: str) -> NotFound:
        details: Obj = {"name": name, "kind": rt.plural}
        if rt.group:
            details["group"] = rt.group
        return NotFound(f'{rt.group_resource} "{name}" not found', details)

    # --- views (events.k8s.io Events are stored as core Events) -------------------------------------
    def view(self, rt: ResourceType, stored: Obj) -> Obj:
        """The object as ``rt``'s group-version shows it."""
        if rt.group == "events.k8s.io":
            return to_events_v1(stored)
        return stored

    def needs_view(self, rt: ResourceType) -> bool:
        return rt.group == "events.k8s.io"

    def _to_storage(self, rt: ResourceType, obj: Obj) -> Obj:
        if rt.group == "events.k8s.io":
            return from_events_v1(obj)
        return obj

    def _primary(self, rt: ResourceType) -> ResourceType:
        return self.table.primary(rt.storage_kind)

    # --- reads ------------------------------------------------------------------------------------------
    def get_stored(self, rt: ResourceType, namespace: str, name: str) -> Stored:
        found = self.repo.peek(rt.storage_kind, namespace if rt.namespaced else "", name)
        if found is None:
            raise self.not_found(rt, name)
        return found

    def get(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        return self.view(rt, self.get_stored(rt, namespace, name).copy())

    def matcher(self, rt: ResourceType, label_selector: str, field_selector: str) -> Callable[[Stored], bool]:
        """A test of stored items by ``labelSelector`` / ``fieldSelector`` (400 if they do not parse)."""
        try:
            labels = parse_label_selector(label_selector)
            fields = field_test(parse_field_selector(field_selector, allowed_labels(rt.field_labels, rt.group)))
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return lambda s: labels(s.labels) and fields(s.fields)

    def list(self, rt: ResourceType, namespace: str | None, label_selector: str = "",
             field_selector: str = "") -> tuple[int, builtins.list[Stored]]:
        match = self.matcher(rt, label_selector, field_selector)
        rv, items = self.repo.snapshot(rt.storage_kind, namespace if rt.namespaced else None)
        return rv, [s for s in items if match(s)]

    # --- decoding ---------------------------------------------------------------------------------------
    def decode(self, rt: ResourceType, body: Any, opts: WriteOptions, *, schema_kind: str | None = None) -> Obj:
        """Type check and prune an incoming object (``fieldValidation``): 400 on a type error, on an
        unknown or duplicate field under Strict; warnings under Warn."""
        kind = schema_kind or rt.kind
        if isinstance(body, dict):
            want_version = rt.api_version
            got_kind, got_version = body.get("kind"), body.get("apiVersion")
            if got_kind not in (None, "") and got_kind != kind:
                raise BadRequest(f'{kind} in version "{rt.version}" cannot be handled as a {kind}: the object '
                                 f'has kind "{got_kind}", this endpoint serves "{kind}"')
            if got_version not in (None, "") and got_version != want_version and kind == rt.kind:
                raise BadRequest(f'the API version in the data ({got_version}) does not match the expected API '
                                 f'version ({want_version})')
        definition = rt.schema_name if schema_kind is None else None
        if schema_kind is not None:
            from podbay.api import schema

            definition = schema.definition_name(*self._schema_gv(schema_kind), schema_kind)
        if definition is None:
            if not isinstance(body, dict):
                raise BadRequest(f"the body of the request is not a {kind} object")
            return body
        checked = typecheck.check(body, definition, kind, rt.version if schema_kind is None else
                                  self._schema_gv(schema_kind)[1])
        problems = checked.strict_errors()
        if problems and opts.field_validation == "Strict":
            raise BadRequest("strict decoding error: " + ", ".join(problems))
        if problems and opts.field_validation == "Warn":
            opts.warnings += problems
        obj = checked.obj
        if schema_kind is None:
            obj["kind"] = rt.kind
            obj["apiVersion"] = rt.api_version
        return obj

    @staticmethod
    def _schema_gv(kind: str) -> tuple[str, str]:
        return {"DeleteOptions": ("", "v1"), "Eviction": ("policy", "v1")}.get(kind, ("", "v1"))

    # --- namespaces -------------------------------------------------------------------------------------
    def _check_namespace(self, rt: ResourceType, namespace: str, name: str) -> None:
        """NamespaceLifecycle admission: the namespace exists and is not being deleted."""
        if not rt.namespaced:
            return
        ns = self.repo.peek("Namespace", "", namespace)
        if ns is None:
            raise NotFound(f'namespaces "{namespace}" not found', {"name": namespace, "kind": "namespaces"})
        if (ns.obj.get("metadata") or {}).get("deletionTimestamp") and rt.storage_kind != "Event":
            raise Forbidden(f"{rt.group_resource} \"{name}\" is forbidden: unable to create new content in namespace "
                            f"{namespace} because it is being terminated",
                            {"name": name, "kind": rt.plural,
                             "causes": [{"reason": TERMINATING_CAUSE, "field": "metadata.namespace",
                                         "message": f"namespace {namespace} is being terminated"}]})

    def _namespace_of(self, rt: ResourceType, obj: Obj, namespace: str) -> str:
        md = meta.meta(obj)
        if rt.namespaced:
            if md.get("namespace") and md["namespace"] != namespace:
                raise BadRequest("the namespace of the provided object does not match the namespace sent on the "
                                 "request")
            md["namespace"] = namespace
            return namespace
        md.pop("namespace", None)
        return ""

    def _generate_name(self, obj: Obj) -> None:
        md = meta.meta(obj)
        if not md.get("name") and isinstance(md.get("generateName"), str) and md["generateName"]:
            base = md["generateName"][:_MAX_NAME - _NAME_SUFFIX]
            md["name"] = base + "".join(random.choice(_NAME_CHARS) for _ in range(_NAME_SUFFIX))

    def _invalid(self, rt: ResourceType, obj: Obj, errs: builtins.list[Any]) -> ValidationError:
        return ValidationError(rt.qualified_kind, str(meta.meta(obj).get("name") or ""), errs)

    def _managed(self, rt: ResourceType, old: Obj | None, new: Obj, opts: WriteOptions, subresource: str = "") -> Obj:
        """managedFields of a create or update (structured-merge-diff, ``api.patch``)."""
        if rt.schema_name is None:
            return new
        return dict(patch.update_managed_fields(old, new, opts.field_manager or FIELD_MANAGER, "Update",
                                                meta.rfc3339(self.clock()), subresource, schema_name=rt.schema_name))

    # --- create -----------------------------------------------------------------------------------------
    def create(self, rt: ResourceType, namespace: str, body: Any, opts: WriteOptions | None = None, *,
               decoded: bool = False) -> Obj:
        """POST. ``decoded``: ``body`` is already type-checked (a controller's own object)."""
        opts = opts or WriteOptions(field_manager=FIELD_MANAGER)
        obj = body if decoded else self.decode(rt, body, opts)
        return self._create(rt, namespace, obj, opts)

    def _create(self, rt: ResourceType, namespace: str, obj: Obj, opts: WriteOptions, *,
                managed: bool = True) -> Obj:
        strategy = self.strategy(rt)
        obj = _typed(self._to_storage(rt, obj), self._primary(rt))
        namespace = self._namespace_of(rt, obj, namespace)
        md = meta.meta(obj)
        if md.get("resourceVersion"):
            raise BadRequest("resourceVersion should not be set on objects to be created")
        self._generate_name(obj)
        meta.prepare_create(obj, uid=self.new_uid(), now=self.clock(), generation=rt.has_spec)
        obj = strategy.prepare_create(obj)
        errs = support.admit(rt.storage_kind, obj, None, strategy.validate(obj))
        if errs:
            raise self._invalid(rt, obj, errs)
        name = str(meta.meta(obj)["name"])
        self._check_namespace(rt, namespace, name)
        if self.repo.peek(rt.storage_kind, namespace, name) is not None:
            raise self._already_exists(rt, name)
        if managed:
            obj = self._managed(rt, None, obj, opts)
        if opts.dry_run:
            return self.view(rt, obj)
        strategy.admit_create(obj)
        try:
            self.repo.create(obj)
        except BaseException:
            strategy.undo_create(obj)
            raise
        return self.view(rt, obj)

    def _already_exists(self, rt: ResourceType, name: str) -> StatusError:
        from podbay.errors import AlreadyExists

        details: Obj = {"name": name, "kind": rt.plural}
        if rt.group:
            details["group"] = rt.group
        return AlreadyExists(f'{rt.group_resource} "{name}" already exists', details)

    # --- update -----------------------------------------------------------------------------------------
    def update(self, rt: ResourceType, namespace: str, name: str, body: Any, opts: WriteOptions | None = None, *,
               subresource: str = "", decoded: bool = False) -> tuple[Obj, bool]:
        """PUT; returns (object, created)."""
        opts = opts or WriteOptions(field_manager=FIELD_MANAGER)
        obj = body if decoded else self.decode(rt, body, opts)
        return self._update(rt, namespace, name, obj, opts, subresource)

    def _update(self, rt: ResourceType, namespace: str, name: str, obj: Obj, opts: WriteOptions,
                subresource: str, expected_rv: int | None = None, *, managed: bool = True) -> tuple[Obj, bool]:
        strategy = self.strategy(rt)
        obj = _typed(self._to_storage(rt, obj), self._primary(rt))
        md = meta.meta(obj)
        if md.get("name") and md["name"] != name:
            raise BadRequest(f"the name of the object ({md['name']}) does not match the name on the URL ({name})")
        md["name"] = name
        namespace = self._namespace_of(rt, obj, namespace)
        cur = self.repo.peek(rt.storage_kind, namespace, name)
        if cur is None:
            if strategy.create_on_update and not subresource:
                md.pop("resourceVersion", None)
                return self._create(rt, namespace, obj, opts, managed=managed), True
            raise self.not_found(rt, name)
        old = cur.copy()
        rv_text = md.get("resourceVersion")
        if expected_rv is None and rv_text:
            try:
                expected_rv = int(rv_text)
            except (TypeError, ValueError):
                raise BadRequest(f'metadata.resourceVersion: Invalid value: "{rv_text}": must be an integer') from None
        if expected_rv is not None and expected_rv != cur.rv:
            raise self.repo.conflict(rt.storage_kind, name)
        if subresource == "status":
            new = strategy.prepare_status_update(obj, old)
            errs = strategy.validate_status_update(new, old)
        elif subresource == "finalize":
            new = strategy.prepare_finalize(obj, old)
            errs = []
        else:
            meta.prepare_update(obj, old)
            new = strategy.prepare_update(obj, old)
            meta.set_generation(new, old, generation=rt.has_spec)
            if rt.has_spec and strategy.bumps_generation(new, old):
                meta.meta(new)["generation"] = int((old.get("metadata") or {}).get("generation") or 1) + 1
            errs = support.admit(rt.storage_kind, new, old, strategy.validate_update(new, old))
        if errs:
            raise self._invalid(rt, new, errs)
        if managed:
            new = self._managed(rt, old, new, opts, subresource)
        if _same(new, old):
            return self.view(rt, old), False   # a no-op update writes nothing (no new resourceVersion)
        if strategy.deletable(new):
            if opts.dry_run:
                return self.view(rt, new), False
            gone = self.repo.delete(rt.storage_kind, namespace, name, expected_rv=cur.rv)
            return self.view(rt, gone), False
        if opts.dry_run:
            return self.view(rt, new), False
        self.repo.update(new, cur.rv)
        return self.view(rt, new), False

    # --- patch ------------------------------------------------------------------------------------------
    def patch(self, rt: ResourceType, namespace: str, name: str, content_type: str, body: bytes,
              opts: WriteOptions, *, subresource: str = "") -> tuple[Obj, bool]:
        """PATCH with any of the four patch types (``api.patch``); returns (object, created)."""
        cur = self.repo.peek(rt.storage_kind, namespace if rt.namespaced else "", name)
        if cur is None and not (content_type == APPLY_PATCH and not subresource):
            raise self.not_found(rt, name)
        if content_type == APPLY_PATCH:
            return self._apply(rt, namespace, name, cur, body, opts, subresource)
        assert cur is not None
        live = self.view(rt, cur.copy())
        patched = patch.apply_patch(content_type, live, body, rt.schema_name)
        obj = self.decode(rt, patched, opts)
        patched_rv = (patched.get("metadata") or {}).get("resourceVersion")
        if patched_rv and str(patched_rv) != str(cur.rv):
            raise self.repo.conflict(rt.storage_kind, name)
        return self._update(rt, namespace, name, obj, opts, subresource, cur.rv)

    def _apply(self, rt: ResourceType, namespace: str, name: str, cur: Stored | None, body: bytes,
               opts: WriteOptions, subresource: str) -> tuple[Obj, bool]:
        """Server-side apply: structured-merge-diff with field managers (409 on conflicts unless
        force), then the same checks as any update."""
        if rt.schema_name is None:
            raise BadRequest(f"server-side apply is not supported for {rt.group_resource}")
        applied = patch.ssa.decode_apply_body(body)
        live = None if cur is None else self.view(rt, cur.copy())
        if cur is None:
            raw_md = applied.get("metadata")
            amd: Obj = raw_md if isinstance(raw_md, dict) else {}
            if amd.get("name") not in (None, name):
                raise BadRequest(f"the name of the object ({amd.get('name')}) does not match the name on the URL "
                                 f"({name})")
        merged = patch.server_side_apply(live, applied, opts.field_manager, opts.force, rt.schema_name,
                                         meta.rfc3339(self.clock()), subresource)
        obj = self.decode(rt, merged, opts)
        if cur is None:
            meta.meta(obj).pop("resourceVersion", None)
            meta.meta(obj).setdefault("name", name)
            return self._create(rt, namespace, obj, opts, managed=False), True
        return self._update(rt, namespace, name, obj, opts, subresource, cur.rv, managed=False)

    # --- delete -----------------------------------------------------------------------------------------
    def delete(self, rt: ResourceType, namespace: str, name: str, opts: DeleteOptions | None = None) -> tuple[Obj, int]:
        """DELETE; returns (the object or a Status, HTTP code)."""
        opts = opts or DeleteOptions()
        namespace = namespace if rt.namespaced else ""
        cur = self.repo.peek(rt.storage_kind, namespace, name)
        if cur is None:
            raise self.not_found(rt, name)
        if opts.uid is not None and opts.uid != cur.uid:
            raise self.repo.conflict(rt.storage_kind, name, f"Precondition failed: UID in precondition: {opts.uid}, "
                                                            f"UID in object meta: {cur.uid}")
        if opts.resource_version is not None and str(opts.resource_version) != str(cur.rv):
            raise self.repo.conflict(rt.storage_kind, name, "Precondition failed: ResourceVersion in precondition: "
                                                            f"{opts.resource_version}, ResourceVersion in object meta: "
                                                            f"{cur.rv}")
        strategy = self.strategy(rt)
        obj = cur.copy()
        grace = strategy.delete_grace(obj, opts)
        if not opts.dry_run:
            obj = strategy.before_delete(obj)
        _gc_finalizers(rt, obj, opts)
        if grace is None and not (meta.meta(obj).get("finalizers")):
            return self._delete_now(rt, strategy, cur, obj, opts)
        marked = copy.deepcopy(obj)
        meta.mark_deleted(marked, now=self.clock(), grace=0 if grace is None else grace)
        # handlers/delete.go: 200 even when the object is only marked, 202 only for orphanDependents=false.
        code = 202 if opts.orphan_dependents is False else 200
        if opts.dry_run or _same(marked, cur.copy()):
            return self.view(rt, marked), code
        self.repo.update(marked, cur.rv)
        return self.view(rt, marked), code

    def _delete_now(self, rt: ResourceType, strategy: Strategy, cur: Stored, obj: Obj,
                    opts: DeleteOptions) -> tuple[Obj, int]:
        if opts.dry_run:
            gone = obj
        else:
            if obj != cur.copy():   # before_delete dropped something: store that first
                self.repo.update(obj, cur.rv)
            gone = self.repo.delete(rt.storage_kind, cur.namespace, cur.name)
        if strategy.returns_deleted_object:
            return self.view(rt, gone), 200
        return meta.deleted_status(rt.plural, cur.name, cur.uid, rt.group), 200

    def delete_collection(self, rt: ResourceType, namespace: str | None, label_selector: str, field_selector: str,
                          opts: DeleteOptions) -> Obj:
        _rv, items = self.list(rt, namespace, label_selector, field_selector)
        out = []
        for s in items:
            try:
                obj, _code = self.delete(rt, s.namespace, s.name, opts)
            except NotFound:
                continue
            out.append(obj if obj.get("kind") != "Status" else self.view(rt, s.copy()))
        return {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": {}, "items": out}

    # --- eviction ---------------------------------------------------------------------------------------
    def evict(self, rt: ResourceType, namespace: str, name: str, body: Any, opts: WriteOptions) -> Obj:
        """POST pods/{name}/eviction (policy/v1 Eviction): no disruption budgets here, so the pod is
        deleted gracefully with the eviction's DeleteOptions."""
        from podbay.api.query import delete_options

        ev = self.decode(rt, body, opts, schema_kind="Eviction")
        ev_name = (ev.get("metadata") or {}).get("name")
        if ev_name and ev_name != name:
            raise BadRequest(f"name in URL does not match name in Eviction object: {name} != {ev_name}")
        ev_ns = (ev.get("metadata") or {}).get("namespace")
        if ev_ns and ev_ns != namespace:
            raise BadRequest("the namespace of the provided object does not match the namespace sent on the request")
        del_opts = delete_options({}, ev.get("deleteOptions") or {})
        del_opts.dry_run = del_opts.dry_run or opts.dry_run
        self.delete(rt, namespace, name, del_opts)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def _gc_finalizers(rt: ResourceType, obj: Obj, opts: DeleteOptions) -> None:
    """``deletionFinalizersForGarbageCollection``: Orphan and Foreground keep the object with the
    ``orphan`` / ``foregroundDeletion`` finalizer for the garbage collector; a batch/v1 Job deleted
    without a policy orphans its pods, with upstream's warning."""
    from podbay.core.controllers import gc

    policy = opts.propagation_policy
    if policy is None and opts.orphan_dependents is not None:
        policy = "Orphan" if opts.orphan_dependents else "Background"
    if policy is None and (rt.group, rt.kind) == ("batch", "Job"):
        opts.warnings.append(gc.JOB_ORPHAN_WARNING)
    md = meta.meta(obj)
    if md.get("deletionTimestamp") and policy is None:
        return   # a repeated delete keeps what the first one decided
    fins, _keep = gc.deletion_finalizers(policy, rt.api_version, rt.kind, list(md.get("finalizers") or []))
    if fins:
        md["finalizers"] = fins
    else:
        md.pop("finalizers", None)


def _typed(obj: Obj, rt: ResourceType) -> Obj:
    """The object with its stored kind and apiVersion, written first (as kube-apiserver orders them)."""
    return {"apiVersion": rt.api_version, "kind": rt.kind, **{k: v for k, v in obj.items()
                                                             if k not in ("apiVersion", "kind")}}


def _same(a: Obj, b: Obj) -> bool:
    """Equal apart from resourceVersion (a no-op write)."""
    def strip(o: Obj) -> Obj:
        md = dict(o.get("metadata") or {})
        md.pop("resourceVersion", None)
        return {**o, "metadata": md}

    return strip(a) == strip(b)
