"""Strategic merge patch (``application/strategic-merge-patch+json``), server side.

Mirrors apimachinery ``strategicpatch.StrategicMergeMapPatch`` (``mergeMap`` with
``MergeParallelList`` and ``IgnoreUnmatchedNulls``), driven by the OpenAPI patch metadata of
:mod:`podbay.api.schema` instead of Go struct tags:

- ``x-kubernetes-patch-strategy: merge`` lists merge by ``x-kubernetes-patch-merge-key`` (maps) or
  as a union (primitives); lists without it are replaced whole; ``replace`` maps are replaced;
- directives ``$patch: replace|delete`` on maps and in lists (``merge`` is refused, as upstream),
  ``$retainKeys``, ``$setElementOrder/<list>``, ``$deleteFromPrimitiveList/<list>``;
- ``null`` deletes a key; list orders follow upstream's rules (``normalizeElementOrder``), with
  Go's stable sort so that even its odd comparisons give the same orders.

Errors carry upstream's words. The sentinel format errors answer 400 as in apiserver's
``interpretStrategicMergePatchError``; lists of lists and retainKeys mismatches answer the generic
422; the errors upstream lets through as 500s answer 400 here.
"""

from __future__ import annotations

import copy
from typing import Any

from podbay.api import schema
from podbay.api.patch import gostable
from podbay.api.patch.errors import PatchError, bad_request, unprocessable
from podbay.api.patch.gofmt import go_v
from podbay.api.threeway import dedupe_scalars

Node = dict[str, Any]

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList"
SET_ORDER = "$setElementOrder"

# mergepatch sentinel errors (400 in apiserver)
ERR_BAD_JSON_DOC = "invalid JSON document"
ERR_PRIMITIVE_LIST = "invalid patch format of primitive list"
ERR_RETAIN_KEYS = "invalid patch format of retainKeys"
ERR_SET_ORDER = "invalid patch format of setElementOrder list"
ERR_UNSUPPORTED = "strategic merge patch format is not supported"


def _go_type(v: Any) -> str:
    """``reflect.TypeOf(v).String()`` for an unstructured value (ints as int64, as upstream)."""
    if v is None:
        return "<nil>"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, list):
        return "[]interface {}"
    if isinstance(v, str):
        return "string"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int64"
    if isinstance(v, float):
        return "float64"
    return type(v).__name__


def _same(a: Any, b: Any) -> bool:
    """Go ``==`` on two interface values holding JSON scalars: same dynamic type and value."""
    return _go_type(a) == _go_type(b) and a == b


def _go_s(v: Any) -> str:
    """``%s`` of an interface value (non-strings print as ``%!s(type=value)``)."""
    if isinstance(v, str):
        return v
    if v is None:
        return "%!s(<nil>)"
    return f"%!s({_go_type(v)}={go_v(v)})"


def err_bad_arg_type(expected: str, actual: Any) -> PatchError:
    return bad_request(f"expected a {expected}, but received a {_go_type(actual)}")


def err_no_merge_key(m: Any, key: str) -> PatchError:
    return bad_request(f"map: {go_v(m)} does not contain declared merge key: {key}")


def err_bad_patch_type(t: Any, m: Any) -> PatchError:
    return bad_request(f"unknown patch type: {_go_s(t)} in map: {go_v(m)}")


# --- patch metadata from the OpenAPI schema (LookupPatchMetadataForStruct/ForSlice) -----------

def _field_meta(node: Node | None, key: str) -> tuple[Node | None, str, str]:
    """(schema of the field's value, patch strategy without retainKeys, merge key)."""
    if node is None:
        return None, "", ""
    prop = schema.child(node, key)
    if prop is None:
        return None, "", ""
    return prop, _strategy(schema.patch_strategies(prop)), schema.patch_merge_key(prop) or ""


def _strategy(strategies: frozenset[str]) -> str:
    # extractRetainKeysPatchStrategy: retainKeys may accompany one other strategy
    rest = [s for s in strategies if s != "retainKeys"]
    if len(rest) > 1 or len(strategies) > 2:
        raise bad_request(f"unexpected patch strategy: [{' '.join(sorted(strategies))}]")
    return rest[0] if rest else ""


def _items(prop: Node | None) -> Node | None:
    return schema.items(prop) if prop is not None else None


# --- entry point ---------------------------------------------------------------------------

def strategic_merge_patch(original: dict[str, Any], patch: dict[str, Any],
                          root: Node | None) -> dict[str, Any]:
    """``StrategicMergeMapPatch(original, patch, schema)``; neither argument is modified."""
    if root is None:
        raise PatchError(ERR_UNSUPPORTED, "UnsupportedMediaType", 415)
    return _merge_map(copy.deepcopy(original), copy.deepcopy(patch), root)


def _extract_key(s: str, prefix: str) -> str:
    parts = s.split("/", 1)
    if len(parts) <= 1 or parts[0] != prefix:
        if prefix == DELETE_PRIMITIVE:
            raise bad_request(ERR_PRIMITIVE_LIST)
        if prefix == SET_ORDER:
            raise bad_request(ERR_SET_ORDER)
        raise bad_request(f'fail to find unknown prefix "{prefix}" in {s}\n')
    return parts[1]


def _merge_map(original: dict[str, Any] | None, patch: dict[str, Any],
               node: Node | None) -> dict[str, Any]:
    if DIRECTIVE in patch:
        d = patch[DIRECTIVE]
        if _same(d, "replace"):
            del patch[DIRECTIVE]
            return patch
        if _same(d, "delete"):
            return {}
        raise err_bad_patch_type(d, patch)
    if original is None:
        original = {}
    _apply_retain_keys(original, patch)
    _merge_set_element_order(original, patch, node)
    for key in list(patch):
        pv = patch[key]
        k = key
        is_delete_list = False
        if key.startswith(DELETE_PRIMITIVE):
            k = _extract_key(key, DELETE_PRIMITIVE)
            is_delete_list = True
        if pv is None:
            original.pop(k, None)
            continue
        if k not in original:
            if not is_delete_list:
                original[k] = pv
            continue
        ov = original[k]
        if _go_type(ov) != _go_type(pv):
            if not is_delete_list:
                original[k] = pv
            continue
        if isinstance(ov, dict):
            sub, strategy, _ = _field_meta(node, k)
            original[k] = pv if strategy == "replace" else _merge_map(ov, pv, sub)
        elif isinstance(ov, list):
            sub, strategy, merge_key = _field_meta(node, k)
            original[k] = _merge_slice_handler(ov, pv, _items(sub), strategy, merge_key,
                                               is_delete_list)
        else:
            original[k] = pv
    return original


def _apply_retain_keys(original: dict[str, Any], patch: dict[str, Any]) -> None:
    if RETAIN_KEYS not in patch:
        return
    keep = patch.pop(RETAIN_KEYS)
    if not isinstance(keep, list) or any(isinstance(x, (dict, list)) for x in keep):
        raise bad_request(ERR_RETAIN_KEYS)
    allowed = [x for x in keep]
    for k, v in patch.items():
        if v is None or k.startswith(DELETE_PRIMITIVE) or k.startswith(SET_ORDER):
            continue
        if not any(_same(k, a) for a in allowed):
            raise bad_request(ERR_RETAIN_KEYS)
    for k in list(original):
        if not any(_same(k, a) for a in allowed):
            del original[k]


def _merge_set_element_order(original: dict[str, Any], patch: dict[str, Any],
                             node: Node | None) -> None:
    """``mergePatchIntoOriginal``: merge each list that has a ``$setElementOrder`` and order it."""
    for key in list(patch):
        if not key.startswith(SET_ORDER):
            continue
        order = patch.pop(key)
        if not isinstance(order, list):
            raise err_bad_arg_type("[]interface {}", order)
        okey = _extract_key(key, SET_ORDER)
        found_o, found_p = okey in original, okey in patch
        ol: list[Any] = []
        pl: list[Any] = []
        if found_o:
            if not isinstance(original[okey], list):
                raise err_bad_arg_type("[]interface {}", original[okey])
            ol = original[okey]
        if found_p:
            if not isinstance(patch[okey], list):
                raise err_bad_arg_type("[]interface {}", patch[okey])
            pl = patch[okey]
        sub, strategy, merge_key = _field_meta(node, okey)
        _validate_set_order(pl, order, merge_key)
        if found_o and not found_p:
            merged = ol
        elif found_p and not found_o:
            merged = pl
        elif found_o and found_p:
            view: list[Any] = []
            merged = _merge_slice_handler(ol, pl, _items(sub), strategy, merge_key, False, view)
            # Go's slices alias: deletions and appends inside mergeSlice rewrite the live list's
            # backing array, and that rewritten array is the live order used below
            if view:
                ol = view
        else:
            continue
        if merge_key:
            patch_items, server_only = _partition_maps(merged, order, merge_key)
        else:
            patch_items, server_only = _partition_primitives(merged, order)
        kind = _slice_element_kind(ol, pl)
        original[okey] = _normalize_element_order(patch_items, server_only, order, ol,
                                                  merge_key, kind)
        patch.pop(okey, None)


def _validate_set_order(patch_list: list[Any], order: list[Any], merge_key: str) -> None:
    if not order or not patch_list:
        return
    if merge_key:
        non_delete, _ = _extract_to_delete(patch_list)
    else:
        non_delete = patch_list
    pi = si = 0
    while pi < len(non_delete) and si < len(order):
        if isinstance(non_delete[pi], dict) and DIRECTIVE in non_delete[pi]:
            pi += 1
            continue
        if _merge_key_equal(non_delete[pi], order[si], merge_key):
            pi += 1
        si += 1
    if pi < len(non_delete) and si >= len(order):
        raise bad_request(f"The order in patch list:\n{go_v(patch_list)}\n doesn't match "
                          f"{SET_ORDER} list:\n{go_v(order)}\n")


def _merge_key_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return _same(left, right)
    if not isinstance(left, dict):
        raise err_bad_arg_type("map[string]interface {}", left)
    if not isinstance(right, dict):
        raise err_bad_arg_type("map[string]interface {}", right)
    if merge_key not in left:
        raise err_no_merge_key(left, merge_key)
    if merge_key not in right:
        raise err_no_merge_key(right, merge_key)
    return _same(left[merge_key], right[merge_key])


# --- lists ---------------------------------------------------------------------------------

def _merge_slice_handler(original: Any, patch: Any, elem: Node | None, strategy: str,
                         merge_key: str, is_delete_list: bool,
                         view: list[Any] | None = None) -> list[Any]:
    if not isinstance(original, list):
        raise err_bad_arg_type("[]interface {}", original)
    if not isinstance(patch, list):
        raise err_bad_arg_type("[]interface {}", patch)
    if strategy == "merge":
        return _merge_slice(original, patch, elem, merge_key, is_delete_list, view)
    return patch


def _slice_element_kind(*slices: list[Any]) -> str:
    """``sliceElementType``: all elements of one type, not lists; returns map/other."""
    prev: str | None = None
    for s in slices:
        for v in s:
            t = _go_type(v)
            if prev is None:
                if v is None:
                    raise bad_request("list element types are not identical: "
                                      + go_v(list(slices)))
                prev = t
                if isinstance(v, list):
                    raise unprocessable()  # mergepatch.ErrNoListOfLists -> generic 422
            elif prev != t:
                raise bad_request("list element types are not identical: " + go_v(list(slices)))
    if prev is None:
        raise bad_request("no elements in any of the given slices")
    return "map" if prev == "map[string]interface {}" else "other"


def _merge_slice(original: list[Any], patch: list[Any], elem: Node | None, merge_key: str,
                 is_delete_list: bool, view: list[Any] | None = None) -> list[Any]:
    if not original and not patch:
        return original
    kind = _slice_element_kind(original, patch)
    if kind != "map":
        if is_delete_list:
            return [v for v in original if not any(_same(v, d) for d in patch)]
        merged = dedupe_scalars(original + patch, _same)
        server_order = original
    else:
        if not merge_key:
            raise bad_request("cannot merge lists without merge key for struct")
        backing = _Backing(original)
        original, patch = _merge_special_elements(original, patch, merge_key, backing)
        server_order = list(original)
        merged = _merge_without_special(list(original), patch, merge_key, elem, backing)
        if view is not None:
            view[:] = backing.array
    if not merge_key:
        patch_items, server_only = _partition_primitives(merged, patch)
    else:
        patch_items, server_only = _partition_maps(merged, patch, merge_key)
    return _normalize_element_order(patch_items, server_only, patch, server_order, merge_key, kind)


def _find_map(items: list[Any], key: str, value: Any) -> int:
    for i, v in enumerate(items):
        if not isinstance(v, dict):
            raise bad_request(f"value for key {i} is not a map.")
        if key in v and _same(v[key], value):
            return i
    return -1


class _Backing:
    """The backing array of the live list as Go's ``append`` rewrites it (len == cap, as
    ``runtime.DefaultUnstructuredConverter`` makes slices)."""

    def __init__(self, items: list[Any]) -> None:
        self.array = list(items)
        self.length = len(items)  # length of the slice still sharing the array; -1 = detached

    def delete(self, k: int) -> None:
        if self.length < 0:
            return
        n = self.length
        self.array[k:n - 1] = self.array[k + 1:n]
        self.length = n - 1

    def append(self, v: Any) -> None:
        if self.length < 0:
            return
        if self.length < len(self.array):
            self.array[self.length] = v
            self.length += 1
        else:
            self.length = -1

    def detach(self) -> None:
        self.length = -1


def _merge_special_elements(original: list[Any], patch: list[Any], merge_key: str,
                            backing: _Backing | None = None) -> tuple[list[Any], list[Any]]:
    without: list[Any] = []
    replace = False
    for v in patch:
        if DIRECTIVE not in v:
            without.append(v)
            continue
        d = v[DIRECTIVE]
        if _same(d, "delete"):
            if merge_key not in v:
                raise err_no_merge_key(v, merge_key)
            original = list(original)
            while (i := _find_map(original, merge_key, v[merge_key])) >= 0:
                del original[i]
                if backing is not None:
                    backing.delete(i)
        elif _same(d, "replace"):
            replace = True
        elif _same(d, "merge"):
            raise bad_request("merging lists cannot yet be specified in the patch")
        else:
            raise err_bad_patch_type(d, v)
    if replace:
        if backing is not None:
            backing.detach()
        return without, []
    return original, without


def _merge_without_special(original: list[Any], patch: list[Any], merge_key: str,
                           elem: Node | None, backing: _Backing | None = None) -> list[Any]:
    for v in patch:
        if merge_key not in v:
            raise err_no_merge_key(v, merge_key)
        i = _find_map(original, merge_key, v[merge_key])
        if i >= 0:
            original[i] = _merge_map(original[i], v, elem)
        else:
            original.append(v)
            if backing is not None:
                backing.append(v)
    return original


def _partition_primitives(items: list[Any], by: list[Any]) -> tuple[list[Any], list[Any]]:
    inside = [v for v in items if any(_same(v, b) for b in by)]
    outside = [v for v in items if not any(_same(v, b) for b in by)]
    return inside, outside


def _partition_maps(items: list[Any], by: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    inside: list[Any] = []
    outside: list[Any] = []
    for v in items:
        if not isinstance(v, dict):
            raise err_bad_arg_type("map[string]interface {}", v)
        if merge_key not in v:
            raise err_no_merge_key(v, merge_key)
        (inside if _find_map(by, merge_key, v[merge_key]) >= 0 else outside).append(v)
    return inside, outside


def _extract_to_delete(items: list[Any]) -> tuple[list[Any], list[Any]]:
    keep: list[Any] = []
    delete: list[Any] = []
    for v in items:
        if not isinstance(v, dict):
            raise err_bad_arg_type("map[string]interface {}", v)
        (delete if _same(v.get(DIRECTIVE), "delete") else keep).append(v)
    return keep, delete


def _index(items: list[Any], value: Any, merge_key: str, kind: str) -> int:
    def key_of(item: Any) -> Any:
        if kind == "map":
            return item.get(merge_key) if isinstance(item, dict) else None
        return item
    want = key_of(value)
    for i, v in enumerate(items):
        if _same(want, key_of(v)):
            return i
    return -1


def _normalize_slice_order(to_sort: list[Any], order: list[Any], merge_key: str,
                           kind: str) -> list[Any]:
    to_delete: list[Any] = []
    if kind == "map":
        for lst in (to_sort, order):
            for item in lst:
                if not isinstance(item, dict):
                    raise err_bad_arg_type("map[string]interface {}", item)
                if merge_key not in item:
                    raise err_no_merge_key(item, merge_key)
        to_sort, to_delete = _extract_to_delete(to_sort)
    to_sort = list(to_sort)

    def less(a: Any, b: Any) -> bool:
        ia = _index(order, a, merge_key, kind)
        if ia >= 0:
            ib = _index(order, b, merge_key, kind)
            if ib >= 0:
                return ia < ib
        return True

    gostable.slice_stable(to_sort, less)
    return to_sort + to_delete


def _normalize_element_order(patch: list[Any], server_only: list[Any], patch_order: list[Any],
                             server_order: list[Any], merge_key: str, kind: str) -> list[Any]:
    patch = _normalize_slice_order(patch, patch_order, merge_key, kind)
    server_only = _normalize_slice_order(server_only, server_order, merge_key, kind)
    # mergeSortedSlice(serverOnly, patch, serverOrder): interleave by the live order
    out: list[Any] = []
    i = j = 0
    for _ in range(len(server_only) + len(patch)):
        if i >= len(server_only) and j < len(patch):
            out.append(patch[j])
            j += 1
        elif j >= len(patch) and i < len(server_only):
            out.append(server_only[i])
            i += 1
        else:
            li = _index(server_order, server_only[i], merge_key, kind)
            ri = _index(server_order, patch[j], merge_key, kind)
            if li >= 0 and ri >= 0 and li < ri:
                out.append(server_only[i])
                i += 1
            else:
                out.append(patch[j])
                j += 1
    return out
