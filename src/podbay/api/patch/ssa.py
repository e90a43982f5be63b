"""Server-side apply and the managedFields of every write, as kube-apiserver does them.

The algorithm is structured-merge-diff's ``merge.Updater`` (``Apply``: merge the configuration,
take ownership of what it sets, prune what this applier set last time and nobody owns any more,
refuse on fields other managers own unless forced; ``Update``: the writer owns what it changed and
others lose it), behind apimachinery's field-manager chain (``NewDefaultFieldManager``): version
check, last-applied annotation upgrade for ``kubectl``, ``before-first-apply`` for objects without
managedFields, the cap of 10 update managers (``ancient-changes``), manager identifiers, timestamps,
and the metadata fields no manager owns (``stripMeta``). Fields the kind's strategy resets
(``status`` on the main resource, ``spec`` on ``/status``) are never owned there.

What the caller (the API server) still does, as upstream's REST layer does: defaulting and
validation of the result, the strategy's resets (status copied from the live object), name and
namespace checks, ``uid``/``resourceVersion``/``creationTimestamp``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

from podbay.api import schema
from podbay.api.patch import fieldsv1 as fp
from podbay.api.patch import managedfields as mf
from podbay.api.patch import typed
from podbay.api.patch.errors import ApplyConflict, PatchError, bad_request
from podbay.api.patch.gofmt import go_json
from podbay.api.patch.managedfields import Entry, Managed, ManagerId, Times

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
FIELD_MANAGER_MAX_LENGTH = 128
MAX_UPDATE_MANAGERS = 10
_CURRENT = ManagerId("current-operation", "Update")  # managedFieldsUpdater's placeholder

# stripMetaManager: never part of anyone's managed fields
_STRIP = frozenset(fp.make_path(*p) for p in (
    ("apiVersion",), ("kind",), ("metadata",), ("metadata", "name"), ("metadata", "namespace"),
    ("metadata", "creationTimestamp"), ("metadata", "selfLink"), ("metadata", "uid"),
    ("metadata", "clusterName"), ("metadata", "generation"), ("metadata", "managedFields"),
    ("metadata", "resourceVersion")))

# Strategies' GetResetFields where they differ from "status on the main resource, spec on status".
_RESET_OVERRIDES: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("io.k8s.api.core.v1.Pod", "status"): (("spec",), ("metadata", "deletionTimestamp"),
                                           ("metadata", "ownerReferences")),
    ("io.k8s.api.core.v1.Pod", "ephemeralcontainers"): (("status",),),
    ("io.k8s.api.core.v1.Pod", "resize"): (("status",),),
}

# Fields the empty Go object of a kind serialises (non-pointer structs, non-omitempty slices):
# create compares against it, so those containers are not "added" (no "." in FieldsV1).
_POD_TEMPLATE: dict[str, Any] = {"metadata": {"creationTimestamp": None},
                                 "spec": {"containers": None}}
_ZERO_OVERRIDES: dict[str, dict[str, Any]] = {
    "io.k8s.api.core.v1.Pod": {"spec": {"containers": None}, "status": {}},
    "io.k8s.api.core.v1.PersistentVolumeClaim": {"spec": {"resources": {}}, "status": {}},
    "io.k8s.api.core.v1.Service": {"spec": {}, "status": {"loadBalancer": {}}},
    "io.k8s.api.apps.v1.Deployment": {"spec": {"selector": None, "template": _POD_TEMPLATE,
                                               "strategy": {}}, "status": {}},
    "io.k8s.api.apps.v1.ReplicaSet": {"spec": {"selector": None, "template": _POD_TEMPLATE},
                                      "status": {"replicas": 0}},
    "io.k8s.api.apps.v1.StatefulSet": {"spec": {"selector": None, "template": _POD_TEMPLATE,
                                                "serviceName": "", "updateStrategy": {}},
                                       "status": {"replicas": 0}},
    "io.k8s.api.apps.v1.DaemonSet": {"spec": {"selector": None, "template": _POD_TEMPLATE,
                                              "updateStrategy": {}}, "status": {}},
    "io.k8s.api.batch.v1.Job": {"spec": {"template": _POD_TEMPLATE}, "status": {}},
    "io.k8s.api.batch.v1.CronJob": {"spec": {"schedule": "", "jobTemplate": {
        "metadata": {"creationTimestamp": None}, "spec": {"template": _POD_TEMPLATE}}},
        "status": {}},
    "io.k8s.api.core.v1.Event": {"involvedObject": {}, "source": {}, "firstTimestamp": None,
                                 "lastTimestamp": None, "eventTime": None},
}


# --- helpers the API server calls --------------------------------------------------------------

def default_manager(field_manager: str | None, user_agent: str | None) -> str:
    """``managerOrUserAgent``: the fieldManager, else the User-Agent up to its first ``/``
    (``kubectl/v1.37.1 (…)`` → ``kubectl``; the Python client's ``OpenAPI-Generator/37.0.2/python``
    → ``OpenAPI-Generator``), printable characters only, at most 128 bytes."""
    if field_manager:
        return field_manager
    out = ""
    for ch in (user_agent or "").split("/")[0]:
        if not ch.isprintable():
            continue
        if len((out + ch).encode()) > FIELD_MANAGER_MAX_LENGTH:
            break
        out += ch
    return out


def validate_patch_options(patch_type: str, field_manager: str | None,
                           force: bool | None) -> None:
    """``ValidatePatchOptions``: 422 ``PatchOptions.meta.k8s.io "" is invalid: …``."""
    errs: list[tuple[str, str, str]] = []
    is_apply = patch_type.split(";")[0].strip() == "application/apply-patch+yaml"
    if not is_apply:
        if force is not None:
            errs.append(("force", "FieldValueForbidden",
                         "Forbidden: may not be specified for non-apply patch"))
    elif not field_manager:
        errs.append(("fieldManager", "FieldValueRequired", "Required value: is required for apply patch"))
    fm = field_manager or ""
    if len(fm.encode()) > FIELD_MANAGER_MAX_LENGTH:
        errs.append(("fieldManager", "FieldValueTooLong",
                     f"Too long: may not be more than {FIELD_MANAGER_MAX_LENGTH} bytes"))
    for i, ch in enumerate(fm):
        if not ch.isprintable():
            errs.append(("fieldManager", "FieldValueInvalid",
                         f'Invalid value: {go_json(fm)}: invalid character U+{ord(ch):04X} '
                         f"(at position {i})"))
    if not errs:
        return
    bodies = [f"{f}: {m}" for f, _, m in errs]
    joined = bodies[0] if len(bodies) == 1 else "[" + ", ".join(bodies) + "]"
    causes = [{"reason": r, "message": m, "field": f} for f, r, m in errs]
    raise PatchError(f'PatchOptions.meta.k8s.io "" is invalid: {joined}', "Invalid", 422,
                     {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": causes})


def decode_apply_body(body: bytes | str) -> dict[str, Any]:
    """The body of an apply patch (YAML or JSON) as an object; 400 ``error decoding YAML``."""
    try:
        obj = yaml.safe_load(body)
    except yaml.YAMLError as e:
        raise bad_request(f"error decoding YAML: {e}") from None
    if obj is None:
        obj = {}
    if not isinstance(obj, dict):
        raise bad_request("error decoding YAML: error unmarshaling JSON: while decoding JSON: "
                          "json: cannot unmarshal array into Go value of type "
                          "map[string]interface {}")
    return obj


def reset_fields(schema_name: str, subresource: str = "") -> fp.FieldSet:
    """The paths the kind's strategy resets on this (sub)resource, which nobody owns there."""
    override = _RESET_OVERRIDES.get((schema_name, subresource))
    if override is not None:
        return frozenset(fp.make_path(*p) for p in override)
    props = schema.properties(schema.definition(schema_name))
    if subresource == "" and "status" in props:
        return frozenset({fp.make_path("status")})
    if subresource == "status" and "spec" in props:
        return frozenset({fp.make_path("spec")})
    return fp.EMPTY


def zero_object(schema_name: str) -> dict[str, Any]:
    """What the empty Go object of the kind serialises to (``scope.Creater.New(kind)``)."""
    props = schema.properties(schema.definition(schema_name))
    out: dict[str, Any] = {"metadata": {"creationTimestamp": None}}
    for p in ("spec", "status"):
        if p in props and typed.type_of(props[p]).kind == "struct":
            out[p] = {}
    out.update(copy.deepcopy(_ZERO_OVERRIDES.get(schema_name, {})))
    return out


def gvk_of(schema_name: str) -> tuple[str, str, str]:
    gvks = schema.definition(schema_name).get("x-kubernetes-group-version-kind") or [{}]
    g = gvks[0]
    return g.get("group", ""), g.get("version", ""), g.get("kind", "")


def api_version_of(schema_name: str) -> str:
    g, v, _ = gvk_of(schema_name)
    return f"{g}/{v}" if g else v


def _gvk_string(api_version: Any, kind: Any) -> str:
    # schema.GroupVersionKind.String(): "group/version, Kind=kind"
    av = api_version if isinstance(api_version, str) else ""
    group, _, version = av.rpartition("/")
    return f"{group}/{version}, Kind={kind if isinstance(kind, str) else ''}"


def _strip_nulls(v: Any) -> Any:
    """What survives the typed round trip: null members of objects are dropped."""
    if isinstance(v, dict):
        return {k: _strip_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_strip_nulls(x) for x in v]
    return v


def _without_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    md = out.get("metadata")
    if isinstance(md, dict):
        md.pop("managedFields", None)
    return out


def _set_managed_fields(obj: dict[str, Any], managed: Managed, times: Times) -> dict[str, Any]:
    entries = mf.encode(managed, times)
    md = obj.setdefault("metadata", {})
    if entries is None:
        md.pop("managedFields", None)
    else:
        md["managedFields"] = entries
    return obj


def _decode_or_empty(entries: Any) -> tuple[Managed, Times]:
    try:
        return mf.decode(entries)
    except (ValueError, TypeError):
        return {}, {}


# --- merge.Updater ---------------------------------------------------------------------------

class _Conflicts(Exception):
    def __init__(self, conflicts: dict[ManagerId, fp.FieldSet]) -> None:
        super().__init__("conflicts")
        self.conflicts = conflicts


def _update(old: Any, new: Any, t: typed.Type, version: str, managers: Managed,
            workflow: ManagerId, force: bool, ignored: fp.FieldSet
            ) -> tuple[Managed, typed.Comparison]:
    cmp = typed.compare(old, new, t).exclude(ignored)
    conflicts: dict[ManagerId, fp.FieldSet] = {}
    removed: dict[ManagerId, fp.FieldSet] = {}
    for mid, entry in managers.items():
        if mid == workflow:
            continue
        c = entry.fields & (cmp.modified | cmp.added)
        if c:
            conflicts[mid] = c
        if cmp.removed:
            removed[mid] = cmp.removed
    if not force and conflicts:
        raise _Conflicts(conflicts)
    out = dict(managers)
    for mid, c in conflicts.items():
        e = out[mid]
        out[mid] = Entry(e.fields - c, e.api_version, e.applied)
    for mid, r in removed.items():
        e = out[mid]
        out[mid] = Entry(e.fields - r, e.api_version, e.applied)
    return {m: e for m, e in out.items() if e.fields}, cmp


def _updater_update(live: Any, new: Any, t: typed.Type, version: str, managers: Managed,
                    manager: ManagerId, ignored: fp.FieldSet) -> Managed:
    managers, cmp = _update(live, new, t, version, managers, manager, True, ignored)
    prev = managers.get(manager, Entry(fp.EMPTY, version, False)).fields
    fields = fp.recursive_difference((prev | cmp.modified | cmp.added) - cmp.removed, ignored)
    out = dict(managers)
    out[manager] = Entry(fields, version, False)
    if not fields:
        del out[manager]
    return out


def _updater_apply(live: Any, config: Any, t: typed.Type, version: str, managers: Managed,
                   manager: ManagerId, force: bool, ignored: fp.FieldSet
                   ) -> tuple[Any, Managed]:
    new = typed.merge(live, config, t)
    last = managers.get(manager)
    applied_set = fp.recursive_difference(typed.to_field_set(config, t), ignored)
    managers = dict(managers)
    managers[manager] = Entry(applied_set, version, True)
    new = _prune(new, t, managers, last)
    managers, _ = _update(live, new, t, version, managers, manager, force, ignored)
    if typed.values_equal(live, new):
        return None, managers
    return new, managers


def _prune(merged: Any, t: typed.Type, managers: Managed, last: Entry | None) -> Any:
    """Remove what this applier set last time, does not set now, and nobody else owns."""
    if last is None or not last.fields:
        return merged

    def named(s: fp.FieldSet) -> fp.FieldSet:
        return typed.ensure_named_fields_are_members(s, t)

    pruned = typed.remove_items(merged, t, named(last.fields))
    managed = frozenset().union(*(e.fields for e in managers.values()))
    merged_set = named(typed.to_field_set(merged, t))
    pruned_set = named(typed.to_field_set(pruned, t))
    pruned = typed.remove_items(merged, t, merged_set - (pruned_set | named(managed)))
    pruned_set = named(typed.to_field_set(pruned, t))
    return typed.remove_items(merged, t, (merged_set - pruned_set) & named(last.fields))


def _conflict_error(conflicts: dict[ManagerId, fp.FieldSet]) -> ApplyConflict:
    """``NewConflictError``/``getConflictMessage``."""
    items = [(mid.printed(), fp.path_string(p))
             for mid in sorted(conflicts, key=lambda m: m.printed())
             for p in fp.iterate(conflicts[mid])]
    if len(items) == 1:
        msg = f"Apply failed with 1 conflict: conflict with {items[0][0]}: {items[0][1]}"
    else:
        lines: list[str] = []
        for printed in sorted({m for m, _ in items}):
            lines.append(f"conflicts with {printed}:")
            lines.extend(f"- {p}" for m, p in items if m == printed)
        msg = f"Apply failed with {len(items)} conflicts: " + "\n".join(lines)
    return ApplyConflict(items, msg)


def _strip_meta(managed: Managed, mid: ManagerId) -> Managed:
    e = managed.get(mid)
    if e is None:
        return managed
    out = dict(managed)
    rest = e.fields - _STRIP
    if rest:
        out[mid] = Entry(rest, e.api_version, e.applied)
    else:
        del out[mid]
    return out


def _cap_update_managers(managed: Managed, times: Times) -> None:
    """``capManagersManager``: at most 10 Update entries; the oldest merge into
    ``ancient-changes`` per apiVersion."""
    updaters = [m for m, e in managed.items() if not e.applied]
    if len(updaters) <= MAX_UPDATE_MANAGERS:
        return
    updaters.sort(key=lambda m: (mf._seconds(times.get(m)), m.manager, m.operation,
                                 m.api_version, m.subresource))
    first: dict[str, ManagerId] = {}
    length = len(updaters)
    for m in updaters:
        if length <= MAX_UPDATE_MANAGERS:
            break
        e = managed[m]
        bucket = ManagerId("ancient-changes", "Update", e.api_version)
        if e.api_version in first:
            if bucket not in managed:
                managed[bucket] = managed.pop(first[e.api_version])
            b = managed[bucket]
            managed[bucket] = Entry(e.fields | b.fields, e.api_version, e.applied)
            del managed[m]
            length -= 1
            times[bucket] = times.get(m)
        else:
            first[e.api_version] = m


def _record_update(live: Any, new: Any, t: typed.Type, version: str, managed: Managed,
                   times: Times, mid: ManagerId, ignored: fp.FieldSet, now: str) -> Managed:
    """managedFieldsUpdater + stripMeta + structured Update, then the cap."""
    managed = _updater_update(live, new, t, version, managed, _CURRENT, ignored)
    managed = _strip_meta(managed, _CURRENT)
    if _CURRENT in managed:
        cur = managed.pop(_CURRENT)
        prev = managed.get(mid)
        fields = cur.fields | prev.fields if prev is not None else cur.fields
        managed[mid] = Entry(fields, cur.api_version, cur.applied)
        times[mid] = now
    _cap_update_managers(managed, times)
    return managed


# --- the public operations ------------------------------------------------------------------

def update_managed_fields(old: dict[str, Any] | None, new: dict[str, Any], manager: str,
                          operation: str = "Update", now: str = "",
                          subresource: str = "", schema_name: str | None = None) -> dict[str, Any]:
    """``FieldManager.UpdateNoErrors`` for a POST/PUT/PATCH: ``new`` with its managedFields made
    right (``old`` is None on create). ``new`` is not modified. A client may set managedFields
    itself (``[]`` resets them); on a subresource the live ones are kept. An existing object
    without managedFields stays untracked until it is applied (``skipNonApplied``). Never fails:
    on an internal error the live managedFields are kept."""
    if operation != "Update":
        raise ValueError("apply goes through server_side_apply()")
    if schema_name is None:
        schema_name = _schema_for(new)
    old_entries = (old or {}).get("metadata", {}).get("managedFields") if old else None
    new_entries = new.get("metadata", {}).get("managedFields") if isinstance(
        new.get("metadata"), dict) else None
    try:
        if schema_name is None:
            raise ValueError("no schema")
        if subresource:
            managed, times = _decode_or_empty(old_entries)
        elif mf.is_reset(new_entries):
            managed, times = {}, {}
        else:
            try:
                managed, times = mf.decode(new_entries)
            except (ValueError, TypeError):
                managed, times = {}, {}
            if not managed:
                managed, times = _decode_or_empty(old_entries)
        out = _without_managed_fields(new)
        creating = old is None or not (old.get("metadata") or {}).get("uid")
        if not managed and not creating:
            return out
        t = typed.type_of(schema.definition(schema_name))
        version = api_version_of(schema_name)
        live = _without_managed_fields(old) if old is not None else zero_object(schema_name)
        mid = ManagerId(manager or "unknown", "Update", version, subresource)
        managed = _record_update(live, out, t, version, managed, times, mid,
                                 reset_fields(schema_name, subresource), now)
        return _set_managed_fields(out, managed, times)
    except (ValueError, TypeError, KeyError, typed.TypedError):
        out = _without_managed_fields(new)
        if old_entries is not None:
            out.setdefault("metadata", {})["managedFields"] = copy.deepcopy(old_entries)
        return out


def _schema_for(obj: dict[str, Any]) -> str | None:
    av, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(av, str) or not isinstance(kind, str):
        return None
    group, _, version = av.rpartition("/")
    return schema.definition_name(group, version, kind)


def server_side_apply(live: dict[str, Any] | None, applied: dict[str, Any], manager: str,
                      force: bool, schema_name: str, now: str,
                      subresource: str = "") -> dict[str, Any]:
    """The object after ``kubectl apply --server-side`` of ``applied`` by ``manager``
    (``live`` is None when the apply creates the object). Neither argument is modified.

    Raises :class:`ApplyConflict` (409) when ``applied`` sets fields other managers own, unless
    ``force``; :class:`PatchError` 400 for a configuration of the wrong kind or version, with
    ``metadata.managedFields``, or that does not fit the schema.
    """
    g, v, k = gvk_of(schema_name)
    version = f"{g}/{v}" if g else v
    if not isinstance(applied, dict):
        raise bad_request("error decoding YAML: applied configuration is not an object")
    if applied.get("apiVersion") != version or applied.get("kind") != k:
        raise bad_request("invalid object type: "
                          + _gvk_string(applied.get("apiVersion"), applied.get("kind")))
    amd = applied.get("metadata")
    if isinstance(amd, dict) and amd.get("managedFields") is not None:
        raise bad_request("metadata.managedFields must be nil")
    t = typed.type_of(schema.definition(schema_name))
    try:
        typed.validate(applied, t)
    except typed.TypedError as e:
        md = amd if isinstance(amd, dict) else {}
        raise bad_request(f"failed to create typed patch object ({md.get('namespace', '')}/"
                          f"{md.get('name', '')}; {_gvk_string(version, k)}): {e.text()}") from None
    ignored = reset_fields(schema_name, subresource)
    base = _without_managed_fields(live) if live is not None else zero_object(schema_name)
    managed, times = _decode_or_empty(
        (live.get("metadata") or {}).get("managedFields") if live is not None else None)
    config = copy.deepcopy(applied)

    def attempt(force: bool) -> tuple[dict[str, Any], Managed, Times]:
        m, tm = dict(managed), dict(times)
        cur = base
        if not m:
            # skipNonAppliedManager: whatever exists so far belongs to "before-first-apply"
            before = ManagerId("before-first-apply", "Update", version, subresource)
            m = _record_update(zero_object(schema_name), cur, t, version, m, tm, before,
                               ignored, now)
        mid = ManagerId(manager, "Apply", "", subresource)
        new, m = _updater_apply(cur, config, t, version, m, mid, force, ignored)
        m = _strip_meta(m, mid)
        if new is not None:
            tm[mid] = now
            return new, m, tm
        return copy.deepcopy(cur), m, tm

    try:
        obj, managed, times = attempt(force)
    except _Conflicts as c:
        if manager != "kubectl":
            raise _conflict_error(c.conflicts) from None
        allowed = _allowed_by_last_applied(base, t, version)
        left = {m: s - allowed for m, s in c.conflicts.items() if s - allowed}
        if left:
            raise _conflict_error(left) from None
        obj, managed, times = attempt(True)
    if manager == "kubectl" and _has_last_applied(obj):
        ann = _without_managed_fields(applied)
        anns = (ann.get("metadata") or {}).get("annotations")
        if isinstance(anns, dict):
            anns.pop(LAST_APPLIED, None)
        obj["metadata"]["annotations"][LAST_APPLIED] = go_json(ann) + "\n"
    obj = _strip_nulls(obj)
    return _set_managed_fields(obj, managed, times)


def _has_last_applied(obj: dict[str, Any]) -> bool:
    anns = (obj.get("metadata") or {}).get("annotations")
    return isinstance(anns, dict) and bool(anns.get(LAST_APPLIED))


def _allowed_by_last_applied(live: dict[str, Any], t: typed.Type, version: str) -> fp.FieldSet:
    """``lastAppliedManager``: fields client-side apply set that still hold their value."""
    anns = (live.get("metadata") or {}).get("annotations") or {}
    text = anns.get(LAST_APPLIED) if isinstance(anns, dict) else None
    if not text:
        return fp.EMPTY
    try:
        last = json.loads(text)
        if not isinstance(last, dict) or last.get("apiVersion") != version:
            return fp.EMPTY
        typed.validate(last, t)
    except (ValueError, typed.TypedError):
        return fp.EMPTY
    s = typed.to_field_set(last, t)
    cmp = typed.compare(last, live, t)
    return s - cmp.modified - cmp.added - cmp.removed
