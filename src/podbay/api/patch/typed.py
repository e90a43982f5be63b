"""Schema-typed operations on JSON values for server-side apply, after structured-merge-diff's
``typed`` package: ``ToFieldSet``, ``Merge``, ``Compare``, ``RemoveItems``, validation of an applied
configuration, and ``Set.EnsureNamedFieldsAreMembers``.

The types come from the OpenAPI definitions as kube-openapi's ``schemaconv`` derives them: objects
with properties are structs, objects with ``additionalProperties`` are maps (both granular unless
``x-kubernetes-map-type: atomic``); arrays follow ``x-kubernetes-list-type`` (``map`` with its keys,
``set``, ``atomic``), else a ``merge`` patch strategy (keyed by the merge key, or a set), else atomic;
everything else is a leaf.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from podbay.api import schema
from podbay.api.patch import fieldsv1 as fp
from podbay.api.patch.gofmt import go_v

Node = dict[str, Any]


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()  # a field not there at all (Go's nil Value), unlike JSON null

# Keys of associative lists that the served OpenAPI documents default (structured-merge-diff uses
# a key field's default when an item omits it); kubernetes-validate's schemas lack "default".
KEY_DEFAULTS: dict[tuple[str, str], Any] = {
    ("io.k8s.api.core.v1.ContainerPort", "protocol"): "TCP",
    ("io.k8s.api.core.v1.ServicePort", "protocol"): "TCP",
    ("io.k8s.api.core.v1.LocalObjectReference", "name"): "",
}


class TypedError(Exception):
    """A value does not conform to its schema (structured-merge-diff ValidationErrors)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__(self.text())

    def text(self) -> str:
        def one(p: str, m: str) -> str:
            return f"{p}: {m}" if p else m
        if len(self.errors) == 1:
            return one(*self.errors[0])
        return "\n".join(["errors:"] + ["  " + one(p, m) for p, m in self.errors])


@dataclass
class Type:
    kind: str  # struct | map | list | leaf
    node: Node | None = None
    atomic: bool = False
    rel: str = ""  # list: atomic | set | map
    keys: tuple[str, ...] = ()
    fields: dict[str, Node] = field(default_factory=dict)
    elem: Node | None = None
    scalar: str = ""  # leaf: string | numeric | boolean | "" (untyped)
    open: bool = False  # struct accepting unknown fields


def type_of(node: Node | None) -> Type:
    """The structured-merge-diff type of a schema node (None: an untyped leaf)."""
    if node is None:
        return Type("leaf")
    r = schema.resolve(node)
    ts = schema.types(node)
    if "array" in ts:
        elem = schema.items(node)
        lt = schema.list_type(node)
        if lt == "map":
            return Type("list", node, rel="map", keys=schema.list_map_keys(node), elem=elem)
        if lt == "set":
            return Type("list", node, rel="set", elem=elem)
        if lt is None and "merge" in schema.patch_strategies(node):
            mk = schema.patch_merge_key(node)
            if mk:
                return Type("list", node, rel="map", keys=(mk,), elem=elem)
            return Type("list", node, rel="set", elem=elem)
        return Type("list", node, rel="atomic", atomic=True, elem=elem)
    props = r.get("properties")
    atomic_map = schema.map_type(node) == "atomic"
    if props:
        return Type("struct", node, atomic=atomic_map, fields=dict(props),
                    open=bool(r.get("x-kubernetes-preserve-unknown-fields")),
                    elem=r["additionalProperties"] if isinstance(r.get("additionalProperties"),
                                                                  dict) else None)
    if "object" in ts and isinstance(r.get("additionalProperties"), dict):
        return Type("map", node, atomic=atomic_map, elem=r["additionalProperties"])
    scalar = ""
    if len(ts - {"null"}) == 1 and "oneOf" not in r and "anyOf" not in r:
        t = next(iter(ts - {"null"}))
        scalar = {"string": "string", "integer": "numeric", "number": "numeric",
                  "boolean": "boolean"}.get(t, "")
        if t == "string" and r.get("format") not in (None, "", "byte"):
            scalar = ""
    return Type("leaf", node, scalar=scalar)


def child_type(t: Type, key: str) -> tuple[Type, bool]:
    """(type of ``value[key]``, whether ``key`` is a declared struct field)."""
    if t.kind == "struct":
        if key in t.fields:
            return type_of(t.fields[key]), True
        return type_of(t.elem), False
    return type_of(t.elem), False


def _is_empty(v: Any) -> bool:
    return v is ABSENT or v is None or v == {} or v == []


# --- list item identity (listItemToPathElement) ------------------------------------------------

def list_item_pe(t: Type, i: int, item: Any) -> fp.PathElement:
    if t.rel == "map":
        if item is None:
            raise ValueError("associative list with keys may not have a null element")
        if not isinstance(item, dict):
            raise ValueError("associative list with keys may not have non-map elements")
        vals = []
        elem_name = (schema.ref_name(t.elem) if t.elem else None) or ""
        for k in t.keys:
            if k in item:
                vals.append((k, item[k]))
            elif (elem_name, k) in KEY_DEFAULTS:
                vals.append((k, KEY_DEFAULTS[(elem_name, k)]))
            else:
                raise ValueError("associative list with keys has an element that omits key field "
                                 f'"{k}" (and doesn\'t have default value)')
        return fp.key(vals)
    if t.rel == "set":
        if isinstance(item, dict):
            raise ValueError("associative list without keys has an element that's a map type")
        if isinstance(item, list):
            raise ValueError("not supported: associative list with lists as elements")
        if item is None:
            raise ValueError("associative list without keys has an element that's an explicit null")
        return fp.value(item)
    return fp.index(i)


def _index_items(t: Type, items: list[Any], strict: bool
                 ) -> tuple[list[fp.PathElement], dict[fp.PathElement, Any], bool]:
    order: list[fp.PathElement] = []
    seen: dict[fp.PathElement, Any] = {}
    dup = False
    for i, item in enumerate(items):
        pe = list_item_pe(t, i, item)
        if pe in seen:
            if strict:
                raise ValueError(f"duplicate entries for key {fp.pe_string(pe)}")
            dup = True
            continue
        seen[pe] = item
        order.append(pe)
    return order, seen, dup


# --- validation of an applied configuration -------------------------------------------------------

def validate(v: Any, t: Type) -> None:
    """Raise :class:`TypedError` where ``v`` does not fit its type (as ``AsTyped`` would)."""
    errs: list[tuple[str, str]] = []
    _validate(v, t, "", errs)
    if errs:
        raise TypedError(errs)


def _validate(v: Any, t: Type, path: str, errs: list[tuple[str, str]]) -> None:
    if v is None:
        return
    if t.kind == "leaf":
        if t.scalar == "string" and not isinstance(v, str):
            errs.append((path, f"expected string, got {go_v(v)}"))
        elif t.scalar == "numeric" and (isinstance(v, bool) or not isinstance(v, (int, float))):
            errs.append((path, f"expected numeric (int or float), got {go_v(v)}"))
        elif t.scalar == "boolean" and not isinstance(v, bool):
            errs.append((path, f"expected boolean, got {go_v(v)}"))
        return
    if t.kind == "list":
        if not isinstance(v, list):
            errs.append((path, f"expected list, got {go_v(v)}"))
            return
        if t.atomic:
            et = type_of(t.elem)
            for i, item in enumerate(v):
                _validate(item, et, f"{path}[{i}]", errs)
            return
        seen: set[fp.PathElement] = set()
        et = type_of(t.elem)
        for i, item in enumerate(v):
            try:
                pe = list_item_pe(t, i, item)
            except ValueError as e:
                errs.append((path, f"element {i}: {e}"))
                continue
            if pe in seen:
                errs.append((path, f"duplicate entries for key {fp.pe_string(pe)}"))
                continue
            seen.add(pe)
            _validate(item, et, path + fp.pe_string(pe), errs)
        return
    if not isinstance(v, dict):
        errs.append((path, f"expected map, got {go_v(v)}"))
        return
    for k, x in v.items():
        if t.kind == "struct" and k not in t.fields and t.elem is None and not t.open:
            errs.append((f"{path}.{k}", "field not declared in schema"))
            continue
        _validate(x, child_type(t, k)[0], f"{path}.{k}", errs)


# --- ToFieldSet ------------------------------------------------------------------------------------

def to_field_set(v: Any, t: Type) -> fp.FieldSet:
    out: set[fp.Path] = set()
    _to_set(v, t, (), out)
    return frozenset(out)


def _to_set(v: Any, t: Type, path: fp.Path, out: set[fp.Path]) -> None:
    if t.kind == "leaf":
        out.add(path)
        return
    if t.atomic:
        out.add(path)
        return
    if t.kind == "list":
        if not isinstance(v, list):
            return
        et = type_of(t.elem)
        for i, item in enumerate(v):
            try:
                pe = list_item_pe(t, i, item)
            except ValueError:
                continue
            p = (*path, pe)
            _to_set(item, et, p, out)
            out.add(p)
        return
    if not isinstance(v, dict):
        return
    for k, x in v.items():
        ct, declared = child_type(t, k)
        p = (*path, fp.field(k))
        _to_set(x, ct, p, out)
        if not declared:
            out.add(p)


# --- Merge / Compare (the merging walker) --------------------------------------------------------

Rule = Callable[[fp.Path, Any, Any], Any]


def merge(lhs: Any, rhs: Any, t: Type) -> Any:
    """``TypedValue.Merge``: ``rhs`` wins on leaves; containers merge; nothing is removed."""
    def keep_rhs(_p: fp.Path, lv: Any, rv: Any) -> Any:
        return rv if rv is not ABSENT else lv
    return _walk((), lhs, rhs, t, keep_rhs, None)


@dataclass
class Comparison:
    added: fp.FieldSet
    modified: fp.FieldSet
    removed: fp.FieldSet

    def exclude(self, ignored: fp.FieldSet) -> Comparison:
        if not ignored:
            return self
        return Comparison(fp.recursive_difference(self.added, ignored),
                          fp.recursive_difference(self.modified, ignored),
                          fp.recursive_difference(self.removed, ignored))


def values_equal(a: Any, b: Any) -> bool:
    """``value.Equals``: numbers compare numerically; bools only with bools."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def compare(lhs: Any, rhs: Any, t: Type) -> Comparison:
    """``TypedValue.Compare``: the paths ``rhs`` added, modified and removed relative to ``lhs``."""
    added: set[fp.Path] = set()
    modified: set[fp.Path] = set()
    removed: set[fp.Path] = set()

    def rule(p: fp.Path, lv: Any, rv: Any) -> Any:
        if lv is ABSENT:
            added.add(p)
        elif rv is ABSENT:
            removed.add(p)
        elif not values_equal(lv, rv):
            modified.add(p)
        return rv if rv is not ABSENT else lv

    def post(p: fp.Path, lv: Any, rv: Any) -> None:
        if lv is ABSENT:
            added.add(p)
        elif rv is ABSENT:
            removed.add(p)

    _walk((), lhs, rhs, t, rule, post)
    return Comparison(frozenset(added), frozenset(modified), frozenset(removed))


def _walk(path: fp.Path, lhs: Any, rhs: Any, t: Type, rule: Rule,
          post: Callable[[fp.Path, Any, Any], None] | None) -> Any:
    if t.kind == "leaf" or t.atomic:
        return rule(path, lhs, rhs)
    if t.kind == "list":
        lv = lhs if isinstance(lhs, list) else None
        rv = rhs if isinstance(rhs, list) else None
        if (not lv) and (not rv):
            return rule(path, lhs, rhs)
        out = _walk_list(path, lv or [], rv or [], t, rule, post)
    else:
        lm = lhs if isinstance(lhs, dict) else None
        rm = rhs if isinstance(rhs, dict) else None
        if (not lm) and (not rm):
            return rule(path, lhs, rhs)
        out = _walk_map(path, lm or {}, rm or {}, t, rule, post)
    if post is not None:
        post(path, lhs, rhs)
    return out


def _walk_map(path: fp.Path, lhs: dict[str, Any], rhs: dict[str, Any], t: Type, rule: Rule,
              post: Callable[[fp.Path, Any, Any], None] | None) -> Any:
    out: dict[str, Any] = {}
    for k in list(lhs) + [k for k in rhs if k not in lhs]:
        ct, _ = child_type(t, k)
        r = _walk((*path, fp.field(k)), lhs.get(k, ABSENT), rhs.get(k, ABSENT), ct, rule, post)
        if r is not ABSENT:
            out[k] = r
    return out if out else ABSENT


def _walk_list(path: fp.Path, lhs: list[Any], rhs: list[Any], t: Type, rule: Rule,
               post: Callable[[fp.Path, Any, Any], None] | None) -> Any:
    r_order, r_seen, _ = _index_items(t, rhs, strict=False)
    l_order, l_seen, l_dup = _index_items(t, lhs, strict=False)
    if l_dup:
        # duplicate keys in the live list: the list is treated as one leaf
        return rule(path, lhs, rhs if rhs else ABSENT)
    et = type_of(t.elem)
    shared = [pe for pe in r_order if pe in l_seen]
    out: list[Any] = []

    def item(pe: fp.PathElement, lv: Any, rv: Any) -> None:
        r = _walk((*path, pe), lv, rv, et, rule, post)
        if r is not ABSENT:
            out.append(r)

    # mergingWalker.visitListItems: live order, except that items both sides have follow the
    # applied order, and new items go where the applied list puts them
    nxt = shared.pop(0) if shared else None
    li = ri = 0
    while li < len(l_order) or ri < len(r_order):
        if li < len(l_order) and ri < len(r_order):
            pe = l_order[li]
            if pe == r_order[ri]:
                item(pe, l_seen[pe], r_seen[pe])
                li += 1
                ri += 1
                nxt = shared.pop(0) if shared else None
                continue
            if pe in r_seen and nxt is not None and nxt != pe:
                li += 1
                continue
        if li < len(l_order):
            pe = l_order[li]
            if pe not in r_seen:
                item(pe, l_seen[pe], ABSENT)
                li += 1
                continue
        if ri < len(r_order):
            pe = r_order[ri]
            item(pe, l_seen.get(pe, ABSENT), r_seen[pe])
            ri += 1
            if nxt is not None and nxt == pe:
                nxt = shared.pop(0) if shared else None
    return out if out else ABSENT


# --- RemoveItems ------------------------------------------------------------------------------

def remove_items(v: Any, t: Type, to_remove: fp.FieldSet) -> Any:
    """``TypedValue.RemoveItems``: drop each member path (and what is under it)."""
    if not to_remove or t.kind == "leaf" or t.atomic:
        return v
    if t.kind == "list":
        if not isinstance(v, list) or not v:
            return v
        et = type_of(t.elem)
        items: list[Any] = []
        for i, x in enumerate(v):
            try:
                pe = list_item_pe(t, i, x)
            except ValueError:
                items.append(x)
                continue
            if (pe,) in to_remove:
                continue
            sub = fp.with_prefix(to_remove, pe)
            items.append(remove_items(x, et, sub) if sub else x)
        return items if items else None
    if not isinstance(v, dict) or not v:
        return v
    out: dict[str, Any] = {}
    for k, x in v.items():
        pe = fp.field(k)
        if (pe,) in to_remove:
            continue
        sub = fp.with_prefix(to_remove, pe)
        out[k] = remove_items(x, child_type(t, k)[0], sub) if sub else x
    return out if out else None


def ensure_named_fields_are_members(s: fp.FieldSet, t: Type) -> fp.FieldSet:
    """``Set.EnsureNamedFieldsAreMembers``: a struct field with owned children is owned too."""
    out = set(s)

    def walk(paths: set[fp.Path], t: Type, prefix: fp.Path) -> None:
        heads = {p[0] for p in paths if len(p) > 1}
        for h in heads:
            if h[0] == "f" and t.kind == "struct" and h[1] in t.fields:
                out.add((*prefix, h))
            if h[0] == "f":
                ct = child_type(t, h[1])[0] if t.kind in ("struct", "map") else Type("leaf")
            elif t.kind == "list":
                ct = type_of(t.elem)
            else:
                ct = Type("leaf")
            walk({p[1:] for p in paths if len(p) > 1 and p[0] == h}, ct, (*prefix, h))

    walk(set(s), t, ())
    return frozenset(out)
