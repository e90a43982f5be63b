"""Decode-time type check of an object against its schema, as kube-apiserver's JSON decoding does it.

kube-apiserver decodes a body into Go structs before anything else looks at it: a value of the
wrong JSON type is a 400 BadRequest (``Pod in version "v1" cannot be handled as a Pod: json:
cannot unmarshal string into Go struct field PodSpec.spec.initContainers of type []v1.Container``),
unknown fields are dropped (warned about, or a 400 ``strict decoding error: unknown field
"spec.bogus"`` under ``fieldValidation=Strict``), ``null`` becomes the zero value, quantities and
times must parse and ``[]byte`` fields must be base64. ``check`` does the same walk over the
``podbay.api.schema`` definitions and returns the pruned object, so nothing malformed reaches
validation, the store or a worker.

Bounds podbay adds for safety (Go has its own: a 10000-deep decoder limit): nesting deeper than
``MAX_DEPTH`` and strings that are not valid Unicode (lone surrogates) are rejected as 400.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from podbay.api import quantity, schema
from podbay.errors import BadRequest

Node = dict[str, Any]

MAX_DEPTH = 100
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_TIME = "io.k8s.apimachinery.pkg.apis.meta.v1.Time"
_MICRO_TIME = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"
_FREE_FORM = {"io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1", "io.k8s.apimachinery.pkg.runtime.RawExtension",
              "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON"}
_GO_TYPE_OF_REF = {_QUANTITY: "resource.Quantity", _INT_OR_STRING: "intstr.IntOrString"}
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_ZERO = {"string": "", "integer": 0, "number": 0, "boolean": False}


class DupDict(dict[str, Any]):
    """A decoded JSON object that repeated a key (the last value won, as in Go)."""

    duplicates: list[str]


def object_pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads hook that remembers repeated keys (duplicate-field detection)."""
    d = dict(pairs)
    if len(d) == len(pairs):
        return d
    out = DupDict(d)
    seen: set[str] = set()
    out.duplicates = [k for k, _ in pairs if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
    return out


@dataclass
class Checked:
    obj: dict[str, Any]
    unknown: list[str] = field(default_factory=list)        # paths of dropped fields
    duplicates: list[str] = field(default_factory=list)     # paths of repeated keys

    def strict_errors(self) -> list[str]:
        return [f'unknown field "{p}"' for p in self.unknown] + [f'duplicate field "{p}"' for p in self.duplicates]


class _TypeError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def json_kind(v: Any) -> str:
    """The word encoding/json's UnmarshalTypeError uses for a JSON value."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def _short(name: str) -> str:
    """``io.k8s.api.core.v1.PodSpec`` -> ``PodSpec``."""
    return name.rsplit(".", 1)[-1]


def _go_ref(name: str) -> str:
    """``io.k8s.api.core.v1.Container`` -> ``v1.Container`` (Go's package-qualified type name)."""
    if name in _GO_TYPE_OF_REF:
        return _GO_TYPE_OF_REF[name]
    parts = name.split(".")
    return ".".join(parts[-2:])


def go_type(node: Node) -> str:
    ref = schema.ref_name(node)
    if ref is not None:
        target = schema.definition(ref)
        if ref in (_TIME, _MICRO_TIME):
            return f"v1.{_short(ref)}"
        if "properties" in target or ref in _GO_TYPE_OF_REF:
            return _go_ref(ref)
        node = target
    types = schema.types(node) - {"null"}
    fmt = schema.resolve(node).get("format")
    if "array" in types:
        item = schema.items(node)
        return "[]" + (go_type(item) if item is not None else "interface {}")
    if "object" in types:
        extra = schema.resolve(node).get("additionalProperties")
        if isinstance(extra, dict):
            return "map[string]" + go_type(extra)
        return "map[string]interface {}"
    if "string" in types:
        return "[]uint8" if fmt == "byte" else "string"
    if "integer" in types:
        return fmt if fmt in _INT_RANGES else "int"
    if "number" in types:
        return "float64"
    if "boolean" in types:
        return "bool"
    return "interface {}"


def _kind_of(node: Node) -> str:
    """What a resolved schema node expects: object | map | array | string | integer | number |
    boolean | quantity | intstr | time | free (anything)."""
    ref = schema.ref_name(node)
    while ref is not None:
        if ref == _QUANTITY:
            return "quantity"
        if ref == _INT_OR_STRING:
            return "intstr"
        if ref in (_TIME, _MICRO_TIME):
            return "time"
        if ref in _FREE_FORM:
            return "free"
        node = schema.definition(ref)
        ref = schema.ref_name(node)
    if node.get("x-kubernetes-preserve-unknown-fields"):
        return "free"
    types = schema.types(node) - {"null"}
    if "object" in types or "properties" in node:
        if "properties" in node:
            return "object"
        if isinstance(node.get("additionalProperties"), dict):
            return "map"
        return "free"
    for t in ("array", "string", "integer", "number", "boolean"):
        if t in types:
            return t
    if "oneOf" in node:
        return "free"
    return "free"


def _valid_unicode(s: str) -> bool:
    if s.isascii():
        return True
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _iter_strings(v: Any, depth: int = 0) -> Iterator[str]:
    if depth > MAX_DEPTH:
        raise _TypeError(f"object nested too deeply (more than {MAX_DEPTH} levels)")
    if isinstance(v, str):
        yield v
    elif isinstance(v, dict):
        for k, x in v.items():
            yield k
            yield from _iter_strings(x, depth + 1)
    elif isinstance(v, list):
        for x in v:
            yield from _iter_strings(x, depth + 1)


class _Walker:
    def __init__(self) -> None:
        self.unknown: list[str] = []
        self.duplicates: list[str] = []

    def fail(self, value: Any, struct: str, gopath: str, node: Node, literal: str = "") -> _TypeError:
        what = json_kind(value) + (f" {literal}" if literal else "")
        if struct:
            return _TypeError(f"json: cannot unmarshal {what} into Go struct field {struct}.{gopath} of type "
                              f"{go_type(node)}")
        return _TypeError(f"json: cannot unmarshal {what} into Go value of type {go_type(node)}")

    def check_string(self, s: str, path: str) -> str:
        if not _valid_unicode(s):
            raise _TypeError(f"invalid Unicode in string at {path or '<root>'}: lone UTF-16 surrogate")
        return s

    def walk(self, value: Any, node: Node, path: str, gopath: str, struct: str, depth: int) -> Any:
        """The value as Go would decode and re-encode it; raises _TypeError on the first mismatch."""
        if depth > MAX_DEPTH:
            raise _TypeError(f"object nested too deeply (more than {MAX_DEPTH} levels) at {path}")
        kind = _kind_of(node)
        if value is None:
            return None
        if kind == "free":
            for s in _iter_strings(value, depth):
                self.check_string(s, path)
            return value
        if kind == "object":
            return self.walk_object(value, node, path, gopath, struct, depth)
        if kind == "map":
            if not isinstance(value, dict):
                raise self.fail(value, struct, gopath, node)
            extra = schema.resolve(node)["additionalProperties"]
            out: dict[str, Any] = {}
            for k, v in value.items():
                self.check_string(k, path)
                got = self.walk(v, extra, f"{path}[{k}]", gopath, struct, depth + 1)
                out[k] = _zero(extra) if got is None else got
            return out
        if kind == "array":
            if not isinstance(value, list):
                raise self.fail(value, struct, gopath, node)
            item = schema.items(node) or {}
            items = []
            for i, v in enumerate(value):
                got = self.walk(v, item, f"{path}[{i}]", gopath, struct, depth + 1)
                items.append(_zero(item) if got is None else got)
            return items
        return self.walk_scalar(value, node, kind, path, gopath, struct)

    def walk_scalar(self, value: Any, node: Node, kind: str, path: str, gopath: str, struct: str) -> Any:
        if kind == "string":
            if not isinstance(value, str):
                raise self.fail(value, struct, gopath, node)
            self.check_string(value, path)
            if schema.resolve(node).get("format") == "byte":
                try:
                    base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    raise _TypeError(f"illegal base64 data at input byte {_bad_base64_at(value)}") from None
            return value
        if kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(value, struct, gopath, node)
            fmt = schema.resolve(node).get("format")
            lo, hi = _INT_RANGES.get(str(fmt), _INT_RANGES["int64"])
            if isinstance(value, float) or not lo <= value <= hi:
                raise self.fail(value, struct, gopath, node, _number_literal(value))
            return value
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(value, struct, gopath, node)
            return value
        if kind == "boolean":
            if not isinstance(value, bool):
                raise self.fail(value, struct, gopath, node)
            return value
        if kind == "quantity":
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise self.fail(value, struct, gopath, node)
            try:
                quantity.parse_quantity(value)
            except ValueError as exc:
                raise _TypeError(str(exc)) from None
            return value
        if kind == "intstr":
            if isinstance(value, bool | float) or not isinstance(value, str | int):
                raise self.fail(value, struct, gopath, node, _number_literal(value) if isinstance(value, float) else "")
            if isinstance(value, int) and not _INT_RANGES["int32"][0] <= value <= _INT_RANGES["int32"][1]:
                raise self.fail(value, struct, gopath, node, str(value))
            if isinstance(value, str):
                self.check_string(value, path)
            return value
        if kind == "time":
            if not isinstance(value, str):
                raise self.fail(value, struct, gopath, node)
            if not _RFC3339.match(value):
                raise _TypeError(f'parsing time "{value}" as "2006-01-02T15:04:05Z07:00": cannot parse '
                                 f'"{value}" as "2006"')
            return value
        return value   # pragma: no cover - every kind is handled above

    def walk_object(self, value: Any, node: Node, path: str, gopath: str, struct: str, depth: int) -> Any:
        if not isinstance(value, dict):
            raise self.fail(value, struct, gopath, node)
        resolved = schema.resolve(node)
        props: dict[str, Node] = resolved.get("properties") or {}
        ref = schema.ref_name(node)
        inner = _short(ref) if ref else struct
        if isinstance(value, DupDict):
            self.duplicates += [_join(path, k) for k in value.duplicates]
        out: dict[str, Any] = {}
        for k, v in value.items():
            self.check_string(k, path)
            sub = props.get(k)
            if sub is None:
                self.unknown.append(_join(path, k))
                continue
            got = self.walk(v, sub, _join(path, k), _join(gopath, k), inner, depth + 1)
            if got is not None:
                out[k] = got
        return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _zero(node: Node) -> Any:
    kind = _kind_of(node)
    if kind in ("object", "map"):
        return {}
    if kind == "array":
        return []
    if kind in ("quantity", "intstr", "time", "string"):
        return ""
    return _ZERO.get(kind)


def _number_literal(v: Any) -> str:
    if isinstance(v, float):
        return repr(v) if not v.is_integer() else f"{v:.1f}" if abs(v) < 1e16 else repr(v)
    return str(v)


def _bad_base64_at(value: str) -> int:
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    for i, ch in enumerate(value):
        if ch == "=":
            return i
        if ch not in alphabet:
            return i
    return len(value) - len(value) % 4


def check(obj: Any, definition: str, kind: str, version: str) -> Checked:
    """Type-check ``obj`` against the named definition; raises BadRequest as the Go decoder would."""
    prefix = f'{kind} in version "{version}" cannot be handled as a {kind}: '
    if not isinstance(obj, dict):
        raise BadRequest(prefix + f"json: cannot unmarshal {json_kind(obj)} into Go value of type "
                         f"{_go_ref(definition)}")
    walker = _Walker()
    try:
        out = walker.walk_object(obj, {"$ref": f"#/$defs/{definition}"}, "", "", _short(definition), 0)
    except _TypeError as exc:
        raise BadRequest(prefix + exc.message) from None
    except RecursionError:
        raise BadRequest(prefix + f"object nested too deeply (more than {MAX_DEPTH} levels)") from None
    return Checked(out, walker.unknown, walker.duplicates)
