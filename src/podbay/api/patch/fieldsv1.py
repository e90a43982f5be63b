"""Field paths and field sets of server-side apply, and their ``FieldsV1`` JSON encoding.

Mirrors structured-merge-diff ``fieldpath``: a path element is a field name (``f:``), the key
fields of an associative list item (``k:{"name":"app"}``), the value of a set item (``v:"x"``) or an
index (``i:0``); a set is the set of paths it contains (held here as a frozenset of tuples).
``FieldsV1`` is the trie of a set (``Set.ToJSON``): children in path-element order, ``"."`` last for
a path that is both a member and a parent. :func:`path_string` renders a path as conflict
messages print it (``.spec.containers[name="app"].image``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from typing import Any

from podbay.api.patch.gofmt import go_float_v, go_json, go_quote


class Value:
    """A JSON scalar (or composite) inside a path element, compared as ``value.Equals`` does:
    ints and floats numerically, every other type only with its own kind."""

    __slots__ = ("key", "raw")

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.key = _canon(raw)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Value) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"Value({self.raw!r})"


def _canon(v: Any) -> Any:
    if v is None:
        return ("z",)
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, (int, float)):
        return ("n", v)
    if isinstance(v, str):
        return ("s", v)
    if isinstance(v, list):
        return ("l", tuple(_canon(x) for x in v))
    if isinstance(v, dict):
        return ("m", tuple(sorted((k, _canon(x)) for k, x in v.items())))
    raise TypeError(f"not a JSON value: {type(v).__name__}")


# A path element: ("f", name) | ("k", ((name, Value), ...) sorted) | ("v", Value) | ("i", index)
PathElement = tuple[str, Any]
Path = tuple[PathElement, ...]
FieldSet = frozenset[Path]

EMPTY: FieldSet = frozenset()


def field(name: str) -> PathElement:
    return ("f", name)


def key(fields: Iterable[tuple[str, Any]]) -> PathElement:
    return ("k", tuple(sorted(((n, Value(v)) for n, v in fields), key=lambda nv: nv[0])))


def value(v: Any) -> PathElement:
    return ("v", Value(v))


def index(i: int) -> PathElement:
    return ("i", i)


def make_path(*parts: str | PathElement) -> Path:
    """``fieldpath.MakePathOrDie`` for field names (strings) and ready elements."""
    return tuple(field(p) if isinstance(p, str) else p for p in parts)


# --- ordering (PathElement.Compare / value.Compare) -----------------------------------------

def _cmp(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


def compare_values(a: Any, b: Any) -> int:
    """structured-merge-diff ``value.Compare``: numbers < strings < bools < lists < maps < null."""
    af, bf = isinstance(a, float), isinstance(b, float)
    ai = isinstance(a, int) and not isinstance(a, bool)
    bi = isinstance(b, int) and not isinstance(b, bool)
    if af or bf or (ai and bi):
        if (af or ai) and (bf or bi):
            return _cmp(a, b)
        return -1 if (af or ai) else 1
    if ai:
        return -1
    if bi:
        return 1
    for kind in (str, bool, list, dict):
        ca, cb = isinstance(a, kind), isinstance(b, kind)
        if ca and cb:
            if isinstance(a, list):
                for x, y in zip(a, b, strict=False):
                    if c := compare_values(x, y):
                        return c
                return _cmp(len(a), len(b))
            if isinstance(a, dict):
                return _cmp_maps(a, b)
            return _cmp(a, b)
        if ca:
            return -1
        if cb:
            return 1
    return 0  # both null


def _cmp_maps(a: dict[str, Any], b: dict[str, Any]) -> int:
    ka, kb = sorted(a), sorted(b)
    for x, y in zip(ka, kb, strict=False):
        if c := _cmp(x, y):
            return c
        if c := compare_values(a[x], b[y]):
            return c
    return _cmp(len(ka), len(kb))


_ORDER = {"f": 0, "k": 1, "v": 2, "i": 3}


def compare_pe(a: PathElement, b: PathElement) -> int:
    if a[0] != b[0]:
        return _cmp(_ORDER[a[0]], _ORDER[b[0]])
    if a[0] == "f" or a[0] == "i":
        return _cmp(a[1], b[1])
    if a[0] == "v":
        return compare_values(a[1].raw, b[1].raw)
    for (na, va), (nb, vb) in zip(a[1], b[1], strict=False):
        if c := _cmp(na, nb):
            return c
        if c := compare_values(va.raw, vb.raw):
            return c
    return _cmp(len(a[1]), len(b[1]))


_pe_key = functools.cmp_to_key(compare_pe)


# --- set algebra beyond frozenset's ------------------------------------------------------------

def recursive_difference(s: FieldSet, s2: FieldSet) -> FieldSet:
    """``Set.RecursiveDifference``: drops every path of ``s`` that is in ``s2`` or under one."""
    if not s2:
        return s
    return frozenset(p for p in s if not any(p[:i] in s2 for i in range(1, len(p) + 1)))


def with_prefix(s: FieldSet, pe: PathElement) -> FieldSet:
    """``Set.WithPrefix``: the paths below ``pe``, relative to it."""
    return frozenset(p[1:] for p in s if len(p) > 1 and p[0] == pe)


def prefixed(pe: PathElement, s: Iterable[Path]) -> Iterator[Path]:
    return ((pe, *p) for p in s)


# --- rendering -------------------------------------------------------------------------------

def _to_string(v: Any) -> str:
    # value.ToString
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return go_float_v(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return go_quote(v)
    if isinstance(v, list):
        return "[" + ",".join(_to_string(x) for x in v) + "]"
    return "".join(f"{k}={_to_string(x)}" for k, x in v.items())


def pe_string(pe: PathElement) -> str:
    tag, payload = pe
    if tag == "f":
        return "." + str(payload)
    if tag == "k":
        return "[" + ",".join(f"{n}={_to_string(v.raw)}" for n, v in payload) + "]"
    if tag == "v":
        return f"[={_to_string(payload.raw)}]"
    return f"[{payload}]"


def path_string(p: Path) -> str:
    return "".join(pe_string(pe) for pe in p)


def iterate(s: FieldSet) -> list[Path]:
    """``Set.Iterate`` order: a level's members first, then each child subtree in order."""
    out: list[Path] = []

    def walk(paths: set[Path], prefix: Path) -> None:
        members = sorted({p[0] for p in paths if len(p) == 1}, key=_pe_key)
        out.extend((*prefix, m) for m in members)
        for c in sorted({p[0] for p in paths if len(p) > 1}, key=_pe_key):
            walk({p[1:] for p in paths if len(p) > 1 and p[0] == c}, (*prefix, c))

    walk(set(s), ())
    return out


def serialize_pe(pe: PathElement) -> str:
    tag, payload = pe
    if tag == "f":
        return "f:" + str(payload)
    if tag == "k":
        return "k:{" + ",".join(go_json(n) + ":" + go_json(v.raw) for n, v in payload) + "}"
    if tag == "v":
        return "v:" + go_json(payload.raw)
    return f"i:{payload}"


def to_fields_v1(s: FieldSet) -> dict[str, Any]:
    """The ``fieldsV1`` object of a set (``Set.ToJSON``), keys in upstream's order."""
    def build(paths: set[Path]) -> dict[str, Any]:
        heads = sorted({p[0] for p in paths}, key=_pe_key)
        out: dict[str, Any] = {}
        for h in heads:
            member = (h,) in paths
            rest = {p[1:] for p in paths if len(p) > 1 and p[0] == h}
            node = build(rest) if rest else {}
            if member and rest:
                node["."] = {}
            out[serialize_pe(h)] = node
        return out

    return build(set(s))


def deserialize_pe(s: str) -> PathElement | None:
    """``DeserializePathElement``; None for a kind of element this version does not know."""
    if len(s) < 2 or s[1] != ":":
        raise ValueError(f"missing colon: {s}")
    tag, body = s[0], s[2:]
    if tag == "f":
        return ("f", body)
    if tag == "v":
        return ("v", Value(json.loads(body)))
    if tag == "k":
        obj = json.loads(body)
        if not isinstance(obj, dict):
            raise ValueError(f"invalid key: {s}")
        return key(obj.items())
    if tag == "i":
        return ("i", int(body))
    return None


def from_fields_v1(obj: Any) -> FieldSet:
    """Parse a ``fieldsV1`` object back into a set (``Set.FromJSON``)."""
    out: set[Path] = set()

    def walk(node: Any, prefix: Path) -> None:
        if not isinstance(node, dict):
            raise ValueError("fieldsV1 must be an object")
        for k, child in node.items():
            if k == ".":
                if prefix:
                    out.add(prefix)
                continue
            pe = deserialize_pe(k)
            if pe is None:
                continue
            p = (*prefix, pe)
            if isinstance(child, dict) and any(x != "." for x in child):
                walk(child, p)
            else:
                out.add(p)

    walk(obj if obj is not None else {}, ())
    return frozenset(out)
