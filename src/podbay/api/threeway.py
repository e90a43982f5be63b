"""The patch ``kubectl apply`` sends (client side): a three-way strategic merge patch from the last
applied configuration (original), the new manifest (modified) and the live object (current).

Mirrors apimachinery ``strategicpatch.CreateThreeWayMergePatch`` with ``overwrite=true``: the
difference from current to modified without deletions (``diffMaps`` with ``IgnoreDeletions``) merged
into the deletions from original to modified (``IgnoreChangesAndAdditions``) by the client-side
``mergeMap`` (no parallel-list merging, nulls kept). The patch metadata -- ``merge`` lists and their
merge keys, ``retainKeys``, ``replace`` -- comes from the OpenAPI schema (``podbay.api.schema``),
as kubectl takes it from the server's OpenAPI. Lists with the merge strategy get
``$setElementOrder``, deleted scalars ``$deleteFromPrimitiveList``, deleted map items
``$patch: delete``; ``retainKeys`` fields get ``$retainKeys``. Kinds without a schema get
``jsonmergepatch.CreateThreeWayJSONMergePatch`` instead.

Pure: values in, a patch value out; kept out of ``podbay.api.patch`` so that the CLI loads only this.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from podbay.api import schema

Obj = dict[str, Any]
Node = dict[str, Any]
DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList"
SET_ORDER = "$setElementOrder"


class ThreeWayError(ValueError):
    """The documents cannot be diffed (what upstream reports as a mergepatch error)."""


class _Opts:
    def __init__(self, *, set_order: bool = False, ignore_changes: bool = False, ignore_deletions: bool = False,
                 retain_keys: bool = False) -> None:
        self.set_order = set_order
        self.ignore_changes = ignore_changes
        self.ignore_deletions = ignore_deletions
        self.retain_keys = retain_keys

    def with_retain(self, retain: bool) -> _Opts:
        return _Opts(set_order=self.set_order, ignore_changes=self.ignore_changes,
                     ignore_deletions=self.ignore_deletions, retain_keys=retain)


# --- Go value semantics ---------------------------------------------------------------------------------

def _gt(v: Any) -> str:
    """The Go type of a decoded JSON value (numbers are all float64 there)."""
    if v is None:
        return "nil"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "slice"
    if isinstance(v, dict):
        return "map"
    return type(v).__name__


def _eq(a: Any, b: Any) -> bool:
    """reflect.DeepEqual of decoded JSON."""
    ta = _gt(a)
    if ta != _gt(b):
        return False
    if ta == "map":
        return a.keys() == b.keys() and all(_eq(a[k], b[k]) for k in a)
    if ta == "slice":
        return len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _vstr(v: Any) -> str:
    """fmt's %v of a scalar, the sort key of upstream's scalar and merge-key sorts."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return str(int(v))
    return str(v)


# --- patch metadata ------------------------------------------------------------------------------------

def _meta(node: Node | None, key: str) -> tuple[Node | None, bool, str, str]:
    """(schema of node[key], retainKeys?, other strategy, merge key); an unknown field has none."""
    if node is None:
        return None, False, "", ""
    prop = schema.child(node, key)
    if prop is None:
        return None, False, "", ""
    strategies = schema.patch_strategies(prop)
    rest = [s for s in strategies if s != "retainKeys"]
    if len(rest) > 1:
        raise ThreeWayError(f"unexpected patch strategy: {sorted(strategies)}")
    return prop, "retainKeys" in strategies, rest[0] if rest else "", schema.patch_merge_key(prop) or ""


def _items(node: Node | None) -> Node | None:
    return schema.items(node) if node is not None else None


# --- diff ----------------------------------------------------------------------------------------------

def _diff_maps(original: Obj, modified: Obj, node: Node | None, opts: _Opts) -> Obj:
    """diffMaps."""
    patch: Obj = {}
    retain: list[Any] = []
    for key, mv in modified.items():
        if opts.retain_keys and mv is not None:
            retain.append(key)
        if key not in original:
            if not opts.ignore_changes:
                patch[key] = mv
            continue
        ov = original[key]
        if key == DIRECTIVE:
            if not isinstance(ov, str) or not isinstance(mv, str):
                raise ThreeWayError(f"invalid value for special key: {DIRECTIVE}")
            if ov != mv:
                patch[key] = mv
            continue
        if _gt(ov) != _gt(mv):
            if not opts.ignore_changes:
                patch[key] = mv
            continue
        if isinstance(ov, dict):
            _map_diff(key, ov, mv, patch, node, opts)
        elif isinstance(ov, list):
            _slice_diff(key, ov, mv, patch, node, opts)
        elif not opts.ignore_changes and not _eq(ov, mv):
            patch[key] = mv
    if not opts.ignore_deletions:
        for key in original:
            if key not in modified:
                patch[key] = None
    if retain and (patch or any(v is not None and k not in modified for k, v in original.items())):
        patch[RETAIN_KEYS] = sorted(retain, key=_vstr)
    return patch


def _map_diff(key: str, ov: Obj, mv: Obj, patch: Obj, node: Node | None, opts: _Opts) -> None:
    sub, retain, strategy, _ = _meta(node, key)
    if strategy == "replace":
        if not opts.ignore_changes:
            patch[key] = mv
        return
    value = _diff_maps(ov, mv, sub, opts.with_retain(retain))
    if value:
        patch[key] = value


def _slice_diff(key: str, ov: list[Any], mv: list[Any], patch: Obj, node: Node | None, opts: _Opts) -> None:
    sub, retain, strategy, merge_key = _meta(node, key)
    if strategy != "merge":
        if not opts.ignore_changes and not _eq(ov, mv):
            patch[key] = mv
        return
    add, delete, order = _diff_lists(ov, mv, _items(sub), merge_key, opts.with_retain(retain))
    if add:
        patch[key] = add
    if delete:
        patch[f"{DELETE_PRIMITIVE}/{key}"] = delete
    if order:
        patch[f"{SET_ORDER}/{key}"] = order


def _slice_kind(*slices: list[Any]) -> str:
    """sliceElementType: ``map`` or ``scalar``; mixed element types and lists of lists are errors."""
    prev: str | None = None
    for s in slices:
        for v in s:
            t = _gt(v)
            if t == "slice":
                raise ThreeWayError("lists of lists are not supported")
            if prev is None:
                prev = t
            elif prev != t:
                raise ThreeWayError(f"list element types are not identical: {slices!r}")
    if prev is None:
        raise ThreeWayError("no elements in any of the given slices")
    return "map" if prev == "map" else "scalar"


def _diff_lists(original: list[Any], modified: list[Any], elem: Node | None, merge_key: str,
                opts: _Opts) -> tuple[list[Any], list[Any], list[Any]]:
    """diffLists: (patch list, deletion list of scalars, $setElementOrder list)."""
    if not original:
        if not modified or opts.ignore_changes:
            return [], [], []
        return list(modified), [], []
    kind = _slice_kind(original, modified)
    order: list[Any] = []
    if kind == "map":
        patch_list, deletions = _diff_maps_list(original, modified, elem, merge_key, opts)
        patch_list = _normalize_slice_order(patch_list, modified, merge_key, kind)
        same = len(original) == len(modified) and all(
            _key_equal(o, m, merge_key) for o, m in zip(original, modified, strict=True))
        patch_list += deletions
        if opts.set_order and ((not opts.ignore_changes and (patch_list or not same))
                               or (not opts.ignore_deletions and patch_list)):
            order = [{merge_key: m.get(merge_key)} for m in modified]
        return patch_list, [], order
    patch_list, deletions = _diff_scalars(original, modified, opts)
    patch_list = _normalize_slice_order(patch_list, modified, merge_key, kind)
    if opts.set_order and ((not opts.ignore_deletions and deletions)
                           or (not opts.ignore_changes and not _eq(original, modified))):
        order = list(modified)
    return patch_list, deletions, order


def _diff_scalars(original: list[Any], modified: list[Any], opts: _Opts) -> tuple[list[Any], list[Any]]:
    """diffListsOfScalars: a merge walk over both lists sorted by their %v text."""
    os_ = sorted(original, key=_vstr)
    ms = sorted(modified, key=_vstr)
    oi = mi = 0
    add: list[Any] = []
    dels: list[Any] = []
    while oi < len(os_) or mi < len(ms):
        o_in, m_in = oi < len(os_), mi < len(ms)
        ostr = _vstr(os_[oi]) if o_in else ""
        mstr = _vstr(ms[mi]) if m_in else ""
        if o_in and m_in and ostr == mstr:
            oi += 1
            mi += 1
        elif not o_in or (m_in and ostr > mstr):
            if not opts.ignore_changes:
                add.append(ms[mi])
            mi += 1
        else:
            if not opts.ignore_deletions:
                dels.append(os_[oi])
            oi += 1
    return add, dedupe_scalars(dels)


def _merge_key_value(m: Any, merge_key: str) -> Any:
    if not isinstance(m, dict):
        raise ThreeWayError(f"expected a map, got {m!r}")
    if merge_key not in m:
        raise ThreeWayError(f"map: {m!r} does not contain declared merge key: {merge_key}")
    return m[merge_key]


def _key_equal(a: Any, b: Any, merge_key: str) -> bool:
    if not merge_key:
        return _eq(a, b)
    return _eq(_merge_key_value(a, merge_key), _merge_key_value(b, merge_key))


def _diff_maps_list(original: list[Any], modified: list[Any], elem: Node | None, merge_key: str,
                    opts: _Opts) -> tuple[list[Any], list[Any]]:
    """diffListsOfMaps: a merge walk over both lists sorted by merge key (changes, additions, deletions)."""
    if not merge_key:
        raise ThreeWayError("cannot diff lists of maps without a merge key")
    osorted = sorted(original, key=lambda m: _vstr(_merge_key_value(m, merge_key)))
    msorted = sorted(modified, key=lambda m: _vstr(_merge_key_value(m, merge_key)))
    oi = mi = 0
    patch: list[Any] = []
    dels: list[Any] = []
    while oi < len(osorted) or mi < len(msorted):
        o_in, m_in = oi < len(osorted), mi < len(msorted)
        ostr = _vstr(osorted[oi][merge_key]) if o_in else ""
        mstr = _vstr(msorted[mi][merge_key]) if m_in else ""
        if o_in and m_in and ostr == mstr:
            value = _diff_maps(osorted[oi], msorted[mi], elem, opts)
            if value:
                value[merge_key] = msorted[mi][merge_key]
                patch.append(value)
            oi += 1
            mi += 1
        elif not o_in or (m_in and ostr > mstr):
            if not opts.ignore_changes:
                patch.append(msorted[mi])
            mi += 1
        else:
            if not opts.ignore_deletions:
                dels.append({merge_key: osorted[oi][merge_key], DIRECTIVE: "delete"})
            oi += 1
    return patch, dels


# --- ordering ------------------------------------------------------------------------------------------

def _index(items: list[Any], value: Any, merge_key: str, kind: str) -> int:
    want = value.get(merge_key) if kind == "map" and isinstance(value, dict) else value
    for i, v in enumerate(items):
        got = v.get(merge_key) if kind == "map" and isinstance(v, dict) else v
        if _eq(got, want):
            return i
    return -1


def _normalize_slice_order(to_sort: list[Any], order: list[Any], merge_key: str, kind: str) -> list[Any]:
    """normalizeSliceOrder: by position in ``order`` (stable), ``$patch: delete`` items last."""
    deletes: list[Any] = []
    if kind == "map":
        for m in [*to_sort, *order]:
            _merge_key_value(m, merge_key)
        deletes = [m for m in to_sort if m.get(DIRECTIVE) == "delete"]
        to_sort = [m for m in to_sort if m.get(DIRECTIVE) != "delete"]

    def key(v: Any) -> int:
        i = _index(order, v, merge_key, kind)
        return i if i >= 0 else len(order)

    return sorted(to_sort, key=key) + deletes


def _merge_sorted(left: list[Any], right: list[Any], server_order: list[Any], merge_key: str,
                  kind: str) -> list[Any]:
    """mergeSortedSlice: interleave server-only items (left) into the patch items (right)."""
    out: list[Any] = []
    i = j = 0
    for _ in range(len(left) + len(right)):
        if i >= len(left) and j < len(right):
            out.append(right[j])
            j += 1
        elif j >= len(right) and i < len(left):
            out.append(left[i])
            i += 1
        else:
            li, ri = _index(server_order, left[i], merge_key, kind), _index(server_order, right[j], merge_key, kind)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(left[i])
                i += 1
            else:
                out.append(right[j])
                j += 1
    return out


def _normalize_element_order(patch: list[Any], server_only: list[Any], patch_order: list[Any],
                             server_order: list[Any], merge_key: str, kind: str) -> list[Any]:
    patch = _normalize_slice_order(patch, patch_order, merge_key, kind)
    server_only = _normalize_slice_order(server_only, server_order, merge_key, kind)
    return _merge_sorted(server_only, patch, server_order, merge_key, kind)


def _partition(items: list[Any], by: list[Any], merge_key: str, kind: str) -> tuple[list[Any], list[Any]]:
    inside: list[Any] = []
    outside: list[Any] = []
    for v in items:
        (inside if _index(by, v, merge_key, kind) >= 0 else outside).append(v)
    return inside, outside


def dedupe_scalars(s: list[Any], same: Callable[[Any, Any], bool] = lambda a, b: _eq(a, b)) -> list[Any]:
    """deduplicateScalars, including how it moves the last element into a duplicate's slot (``same``:
    the client's DeepEqual here, Go's ``==`` on interface values in the server's patch)."""
    s = list(s)
    length = len(s) - 1
    i = 0
    while i < length:
        j = i + 1
        while j <= length:
            if same(s[i], s[j]):
                s[j] = s[length]
                s = s[:length]
                length -= 1
                j -= 1
            j += 1
        i += 1
    return s


# --- the client-side merge of the two patches (mergeMap with MergeOptions{}) ---------------------------

def _merge_map(original: Obj, patch: Obj, node: Node | None) -> Obj:
    if DIRECTIVE in patch:
        d = patch[DIRECTIVE]
        if d == "replace":
            del patch[DIRECTIVE]
            return patch
        if d == "delete":
            return {}
        raise ThreeWayError(f"unknown patch type: {d!r}")
    if RETAIN_KEYS in patch:
        keep = patch.pop(RETAIN_KEYS)
        if RETAIN_KEYS in original:
            if not _eq(original[RETAIN_KEYS], keep):
                raise ThreeWayError(f"{original[RETAIN_KEYS]!r} and {keep!r} are not deep equal")
        else:
            original[RETAIN_KEYS] = keep
    for key in [k for k in patch if k.startswith(SET_ORDER + "/")]:
        order = patch.pop(key)
        if key in original:
            if not _eq(original[key], order):
                raise ThreeWayError("invalid patch format of setElementOrder list")
        else:
            original[key] = order
        okey = key[len(SET_ORDER) + 1:]
        sub, _retain, strategy, merge_key = _meta(node, okey)
        found_o, found_p = isinstance(original.get(okey), list), isinstance(patch.get(okey), list)
        ol: list[Any] = original[okey] if found_o else []
        pl: list[Any] = patch[okey] if found_p else []
        if found_o and not found_p:
            merged = ol
        elif found_p and not found_o:
            merged = pl
        elif found_o and found_p:
            merged = _merge_slice_handler(ol, pl, _items(sub), strategy, merge_key)
        else:
            continue
        kind = _slice_kind(ol, pl)
        inside, outside = _partition(merged, order, merge_key if kind == "map" else "", kind)
        original[okey] = _normalize_element_order(inside, outside, order, ol, merge_key, kind)
        patch.pop(okey, None)
    for key, pv in patch.items():
        if key.startswith(DELETE_PRIMITIVE + "/"):
            original[key] = pv
            continue
        if pv is None:
            original.pop(key, None)
            original[key] = None   # kept: the server is told to delete it
            continue
        if key not in original:
            original[key] = pv
            continue
        ov = original[key]
        if _gt(ov) != _gt(pv):
            original[key] = pv
            continue
        sub, _retain, strategy, merge_key = _meta(node, key)
        if isinstance(ov, dict):
            original[key] = pv if strategy == "replace" else _merge_map(ov, pv, sub)
        elif isinstance(ov, list):
            original[key] = _merge_slice_handler(ov, pv, _items(sub), strategy, merge_key)
        else:
            original[key] = pv
    return original


def _merge_slice_handler(original: list[Any], patch: list[Any], elem: Node | None, strategy: str,
                         merge_key: str) -> list[Any]:
    if strategy != "merge":
        return patch
    if not original and not patch:
        return original
    kind = _slice_kind(original, patch)
    if kind != "map":
        merged = dedupe_scalars(original + patch)
    else:
        if not merge_key:
            raise ThreeWayError("cannot merge lists without merge key")
        base, rest = list(original), []
        replace = False
        for v in patch:
            d = v.get(DIRECTIVE)
            if d is None:
                rest.append(v)
            elif d == "delete":
                mv = _merge_key_value(v, merge_key)
                base = [o for o in base if not _eq(o.get(merge_key), mv)]
            elif d == "replace":
                replace = True
            else:
                raise ThreeWayError(f"unknown patch type: {d!r}")
        if replace:
            base, rest = rest, []
        merged = base
        for v in rest:
            mv = _merge_key_value(v, merge_key)
            i = next((n for n, o in enumerate(merged) if isinstance(o, dict) and _eq(o.get(merge_key), mv)), -1)
            if i >= 0:
                merged[i] = _merge_map(merged[i], v, elem)
            else:
                merged.append(v)
    inside, outside = _partition(merged, patch, merge_key if kind == "map" else "", kind)
    return _normalize_element_order(inside, outside, patch, original, merge_key, kind)


# --- entry points --------------------------------------------------------------------------------------

def three_way_merge_patch(original: Obj | None, modified: Obj, current: Obj, schema_name: str) -> Obj:
    """CreateThreeWayMergePatch(original, modified, current, schema, overwrite=true)."""
    node = schema.definition(schema_name)
    original = copy.deepcopy(original or {})
    modified = copy.deepcopy(modified)
    current = copy.deepcopy(current)
    delta = _diff_maps(current, modified, node, _Opts(ignore_deletions=True, set_order=True))
    deletions = _diff_maps(original, modified, node, _Opts(set_order=True, ignore_changes=True))
    return _merge_map(deletions, delta, node)


def _merge_patch_diff(a: Any, b: Any) -> Any:
    """jsonpatch.CreateMergePatch of two objects."""
    out: Obj = {}
    for k, v in b.items():
        if k not in a:
            out[k] = v
        elif isinstance(a[k], dict) and isinstance(v, dict):
            sub = _merge_patch_diff(a[k], v)
            if sub:
                out[k] = sub
        elif not _eq(a[k], v):
            out[k] = v
    for k in a:
        if k not in b:
            out[k] = None
    return out


def _nulls(patch: Obj, keep_null: bool) -> Obj:
    """keepOrDeleteNullInObj: only the deletions (nulls), or everything but them."""
    out: Obj = {}
    for k, v in patch.items():
        if v is None:
            if keep_null:
                out[k] = None
        elif isinstance(v, dict):
            sub = _nulls(v, keep_null)
            if sub or (not keep_null and not v):
                out[k] = sub
        elif not keep_null:
            out[k] = v
    return out


def _merge_json(doc: Obj, patch: Obj) -> Obj:
    out = dict(doc)
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge_json(out[k], v)
        else:
            out[k] = v
    return out


def three_way_json_merge_patch(original: Obj | None, modified: Obj, current: Obj) -> Obj:
    """jsonmergepatch.CreateThreeWayJSONMergePatch (kinds without strategic merge metadata)."""
    add_change = _nulls(_merge_patch_diff(current, modified), keep_null=False)
    deletions = _nulls(_merge_patch_diff(original or {}, modified), keep_null=True)
    return _merge_json(deletions, add_change)


def two_way_merge_patch(original: Obj, modified: Obj, schema_name: str | None) -> Obj:
    """CreateTwoWayMergePatch (``edit``): the strategic merge patch from original to modified; the JSON
    merge patch for kinds without a schema."""
    if schema_name is None:
        return dict(_merge_patch_diff(original, modified))
    return _diff_maps(copy.deepcopy(original), copy.deepcopy(modified), schema.definition(schema_name),
                      _Opts(set_order=True))
