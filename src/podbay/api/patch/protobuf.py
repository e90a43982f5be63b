"""``application/vnd.kubernetes.protobuf`` request bodies decoded into the JSON objects they stand for.

kubectl 1.32 and later send protobuf for every typed-client write (``create configmap|secret|
deployment|job|cronjob|service|quota|pdb|priorityclass|ingress|role|…``, ``create token``,
``autoscale``, ``auth can-i``, ``auth whoami``, eviction) and, measured against a server that
answered 415 UnsupportedMediaType, neither 1.33 nor 1.37 falls back to JSON (client-go's 415
fallback is for CBOR only). So the server decodes them: the ``k8s\\x00`` magic, a
``runtime.Unknown`` envelope (typeMeta, raw), and the protobuf wire format of the kind's message,
with the field numbers of upstream's ``generated.proto`` held in the table of
:mod:`podbay.api.patch.protobuf_messages` (parsed on the first body, not at import).

The result is what Go's ``encoding/json`` writes for the decoded object: Go's marshaller writes
every non-pointer field, zero values included, and those zero scalars are dropped here as
``omitempty`` drops them, while pointer fields keep a zero value and fields without ``omitempty``
are always written. A field number the table does not know is an error naming the message and
number, never ignored.
"""

from __future__ import annotations

import base64
import datetime
import functools
import json
import struct
from typing import Any

from podbay.api.patch.errors import PatchError

PROTOBUF = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

# Types the decoder knows itself; every other type name is a message of the table.
SCALARS = frozenset({"s", "b", "i", "B", "d"})
BUILTINS = SCALARS | {"Time", "MicroTime", "Duration", "Quantity", "IntOrString", "FieldsV1", "RawExtension",
                      "ExtraValue"}


class Field:
    """One field of a message (plain slotted classes: cheaper to define at import than NamedTuple)."""

    __slots__ = ("json", "type", "flag")

    def __init__(self, json_name: str, typ: str, flag: str) -> None:
        self.json = json_name  # "*": an inlined embedded struct
        self.type = typ  # a builtin, "pkg.Message", "[T]" or "{s:T}" with T resolved the same way
        self.flag = flag  # "?" pointer, "!" always written, "" omitempty


class Table:
    __slots__ = ("messages", "kinds", "openapi")

    def __init__(self, messages: dict[str, dict[int, Field]], kinds: dict[tuple[str, str], str],
                 openapi: dict[str, str]) -> None:
        self.messages = messages  # "pkg.Message" -> number -> field
        self.kinds = kinds  # (apiVersion, kind) -> "pkg.Message"
        self.openapi = openapi  # "pkg.Message" -> OpenAPI definition name ("" when there is none)


def parse_spec(spec: str) -> Table:
    """Parse the compact table format described in :mod:`.protobuf_messages`."""
    raw: dict[str, list[tuple[int, str, str]]] = {}
    pkg_of: dict[str, str] = {}
    kinds: dict[tuple[str, str], str] = {}
    openapi: dict[str, str] = {}
    pkg = prefix = ""
    current: list[tuple[int, str, str]] | None = None
    header: list[str] | None = None
    for line in spec.strip("\n").split("\n"):
        if not line.strip():
            continue
        if line.startswith("["):
            head, _, rest = line[1:].partition("]")
            pkg, _, prefix = head.partition(" ")
            header, current = [rest], None
            continue
        if line.startswith(" "):
            if current is None:
                assert header is not None, line
                header.append(line)
                continue
            rest = line
        else:
            if header is not None:
                api_version, _, names = " ".join(header).partition(":")
                for kind in names.split():
                    kinds[(api_version.strip(), kind)] = f"{pkg}.{kind}"
                if api_version.strip():
                    kinds[(api_version.strip(), "DeleteOptions")] = "meta.DeleteOptions"
                header = None
            name, _, rest = line.partition(":")
            qualified = f"{pkg}.{name.strip()}"
            current = raw.setdefault(qualified, [])
            pkg_of[qualified] = pkg
            openapi[qualified] = f"{prefix}.{name.strip()}" if prefix else ""
        for f in filter(None, (x.strip() for x in rest.split(","))):
            num_text, _, decl = f.partition(" ")
            json_name, _, typ = decl.partition(":")
            current.append((int(num_text), json_name, typ))

    def resolve(typ: str, pkg: str) -> str:
        if typ.startswith("["):
            return f"[{resolve(typ[1:-1], pkg)}]"
        if typ.startswith("{"):
            key, _, value = typ[1:-1].partition(":")
            return f"{{{key}:{resolve(value, pkg)}}}"
        if typ in BUILTINS or "." in typ:
            return typ
        for candidate in (f"{pkg}.{typ}", f"core.{typ}", f"meta.{typ}"):
            if candidate in raw:
                return candidate
        unknown.add(f"{pkg}:{typ}")
        return typ

    unknown: set[str] = set()
    messages: dict[str, dict[int, Field]] = {}
    for name, fields in raw.items():
        by_number = messages[name] = {}
        for number, json_name, typ in fields:
            flag = typ[-1] if typ[-1] in "?!" else ""
            by_number[number] = Field(json_name, resolve(typ.rstrip("?!"), pkg_of[name]), flag)
    if unknown:
        raise ValueError(f"unknown protobuf message types: {', '.join(sorted(unknown))}")
    kinds[("v1", "DeleteOptions")] = kinds[("meta.k8s.io/v1", "DeleteOptions")] = "meta.DeleteOptions"
    return Table(messages, kinds, openapi)


@functools.cache
def table() -> Table:
    """The parsed message table (the module holding it is imported on first use)."""
    from podbay.api.patch.protobuf_messages import SPEC

    return parse_spec(SPEC)


def _err(msg: str) -> PatchError:
    return PatchError(f"failed to decode the protobuf body: {msg}", "BadRequest", 400)


def _varint(b: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(b):
            raise _err("truncated varint")
        c = b[i]
        result |= (c & 0x7F) << shift
        i += 1
        if not c & 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise _err("varint too long")


def _fields(b: bytes) -> list[tuple[int, int, Any]]:
    """(number, wire type, raw value) for each field on the wire."""
    out: list[tuple[int, int, Any]] = []
    i = 0
    while i < len(b):
        tag, i = _varint(b, i)
        num, wt = tag >> 3, tag & 7
        v: Any
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 1:
            if i + 8 > len(b):
                raise _err("truncated fixed64")
            v, i = b[i:i + 8], i + 8
        elif wt == 2:
            n, i = _varint(b, i)
            if i + n > len(b):
                raise _err("truncated length-delimited field")
            v, i = b[i:i + n], i + n
        elif wt == 5:
            if i + 4 > len(b):
                raise _err("truncated fixed32")
            v, i = b[i:i + 4], i + 4
        else:
            raise _err(f"unsupported wire type {wt}")
        if num == 0:
            raise _err("field number 0")
        out.append((num, wt, v))
    return out


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _scalar(typ: str, wt: int, v: Any, where: str) -> Any:
    if typ in ("s", "b"):
        if wt != 2:
            raise _err(f"{where}: expected a length-delimited field")
        if typ == "b":
            return base64.b64encode(v).decode()
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            raise _err(f"{where}: invalid UTF-8") from None
    if typ in ("i", "B"):
        if wt != 0:
            raise _err(f"{where}: expected a varint")
        return bool(v) if typ == "B" else _signed(v)
    if wt != 1:
        raise _err(f"{where}: expected a fixed64")
    return struct.unpack("<d", v)[0]


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _timestamp(b: bytes, where: str) -> datetime.datetime | None:
    """metav1.Time/MicroTime (a Timestamp of seconds and nanos); None for the zero time."""
    if not b:  # Go writes nothing for the zero time (Time.ProtoTime)
        return None
    secs = nanos = 0
    for num, wt, v in _fields(b):
        if wt != 0 or num not in (1, 2):
            raise _err(f"{where}: field {num} of Timestamp is not supported by podbay")
        if num == 1:
            secs = _signed(v)
        else:
            nanos = _signed(v)
    try:
        return _EPOCH + datetime.timedelta(seconds=secs, microseconds=nanos // 1000)
    except OverflowError:
        raise _err(f"{where}: time out of range") from None


def go_duration(ns: int) -> str:
    """Go's ``time.Duration.String`` (what metav1.Duration marshals to): ``1h2m3.5s``, ``150ms``."""
    if ns == 0:
        return "0s"
    sign, u = ("-" if ns < 0 else ""), abs(ns)

    def frac(v: int, digits: int) -> str:
        whole, rest = divmod(v, 10 ** digits)
        tail = f"{rest:0{digits}d}".rstrip("0")
        return f"{whole}.{tail}" if tail else str(whole)

    if u < 1000:
        return f"{sign}{u}ns"
    if u < 1_000_000:
        return f"{sign}{frac(u, 3)}µs"
    if u < 1_000_000_000:
        return f"{sign}{frac(u, 6)}ms"
    hours, rest = divmod(u, 3600 * 10 ** 9)
    minutes, rest = divmod(rest, 60 * 10 ** 9)
    out = f"{frac(rest, 9)}s"
    if hours or minutes:
        out = f"{minutes}m{out}"
    if hours:
        out = f"{hours}h{out}"
    return sign + out


def _builtin(typ: str, v: bytes, where: str) -> Any:
    """A value of one of the apimachinery types with their own JSON form."""
    if typ in ("Time", "MicroTime"):
        t = _timestamp(v, where)
        if t is None:
            return None
        if typ == "Time":
            return t.strftime("%Y-%m-%dT%H:%M:%SZ")
        return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    parts: dict[int, tuple[int, Any]] = {num: (wt, raw) for num, wt, raw in _fields(v)}
    if typ == "ExtraValue":  # authentication/authorization ExtraValue: a []string behind a message
        items: list[Any] = []
        for num, wt, raw in _fields(v):
            if num != 1:
                raise _err(f"{where}: field {num} of ExtraValue is not supported by podbay")
            items.append(_scalar("s", wt, raw, where))
        return items
    known = {"Duration": (1,), "Quantity": (1,), "IntOrString": (1, 2, 3), "FieldsV1": (1,),
             "RawExtension": (1,)}[typ]
    for num in parts:
        if num not in known:
            raise _err(f"{where}: field {num} of {typ} is not supported by podbay")
    if typ == "Duration":  # metav1.Duration: int64 nanoseconds, JSON the Go duration string
        wt, raw = parts.get(1, (0, 0))
        return go_duration(_scalar("i", wt, raw, where))
    if typ == "Quantity":  # resource.Quantity: its canonical string
        wt, raw = parts.get(1, (2, b"0"))
        return _scalar("s", wt, raw, where) or "0"
    if typ == "IntOrString":  # intstr.IntOrString: type 0 int (intVal), 1 string (strVal)
        kind = _scalar("i", *parts.get(1, (0, 0)), where)
        if kind == 1:
            return _scalar("s", *parts.get(3, (2, b"")), where)
        if kind != 0:
            raise _err(f"{where}: unknown IntOrString type {kind}")
        return _scalar("i", *parts.get(2, (0, 0)), where)
    # FieldsV1 (the JSON of a field set) and runtime.RawExtension (an embedded JSON object)
    wt, raw = parts.get(1, (2, b""))
    if wt != 2:
        raise _err(f"{where}: expected a length-delimited field")
    if not raw:
        return {} if typ == "FieldsV1" else None
    try:
        return json.loads(raw.decode())
    except ValueError:
        raise _err(f"{where}: {typ} is not JSON") from None


_ZERO: dict[str, Any] = {"s": "", "b": "", "i": 0, "B": False, "d": 0.0, "Quantity": "0", "IntOrString": 0}


def _value(typ: str, wt: int, v: Any, where: str) -> Any:
    if typ in SCALARS:
        return _scalar(typ, wt, v, where)
    if wt != 2:
        raise _err(f"{where}: expected a length-delimited field")
    if typ in BUILTINS:
        return _builtin(typ, v, where)
    return decode_message(typ, v)


def _display(name: str) -> str:
    return name.rpartition(".")[2]


def decode_message(name: str, b: bytes) -> dict[str, Any]:
    """Decode one message of the table (``"core.PodSpec"``) into its JSON object."""
    fields = table().messages[name]
    out: dict[str, Any] = {}
    for num, wt, v in _fields(b):
        f = fields.get(num)
        if f is None:
            raise _err(f"field {num} of {_display(name)} is not supported by podbay")
        where = f"{_display(name)}.{f.json}"
        typ = f.type
        if typ.startswith("{"):
            if wt != 2:
                raise _err(f"{where}: expected a map entry")
            ktyp, _, vtyp = typ[1:-1].partition(":")
            k: Any = None
            val: Any = None
            for en, ewt, ev in _fields(v):
                if en == 1:
                    k = _value(ktyp, ewt, ev, where)
                elif en == 2:
                    val = _value(vtyp, ewt, ev, where)
                else:
                    raise _err(f"{where}: field {en} of a map entry is not supported by podbay")
            if val is None and vtyp not in ("Time", "MicroTime", "RawExtension"):
                val = _ZERO.get(vtyp, {})
            out.setdefault(f.json, {})["" if k is None else k] = val
        elif typ.startswith("["):
            inner = typ[1:-1]
            items = out.setdefault(f.json, [])
            if wt == 2 and inner in ("i", "B", "d"):  # packed
                j = 0
                while j < len(v):
                    if inner == "d":
                        items.append(_scalar("d", 1, v[j:j + 8], where))
                        j += 8
                        continue
                    x, j = _varint(v, j)
                    items.append(_scalar(inner, 0, x, where))
            else:
                items.append(_value(inner, wt, v, where))
        elif f.json == "*":
            if wt != 2:
                raise _err(f"{where}: expected a message")
            out.update(decode_message(typ, v))
        else:
            val = _value(typ, wt, v, where)
            if val is None or (not f.flag and typ in SCALARS and val in ("", 0, False)):
                out.pop(f.json, None)
            else:
                out[f.json] = val
    for f in fields.values():
        if f.flag == "!" and f.json not in out and f.type in _ZERO:
            out[f.json] = _ZERO[f.type]
    return out


def decode_protobuf(body: bytes) -> dict[str, Any]:
    """The JSON object a kube protobuf request body encodes (``apiVersion``/``kind`` included).

    Raises :class:`PatchError`: 400 for a malformed body, 415 UnsupportedMediaType for a kind
    podbay does not decode from protobuf (its message says to send JSON).
    """
    if not body.startswith(MAGIC):
        raise _err("the body does not start with the Kubernetes protobuf magic number")
    env = decode_message("runtime.Unknown", body[len(MAGIC):])
    tm = env.get("typeMeta") or {}
    api_version, kind = tm.get("apiVersion", ""), tm.get("kind", "")
    msg = table().kinds.get((api_version, kind))
    if msg is None:
        raise PatchError(f"the protobuf encoding of {kind or 'this object'} ({api_version}) is not "
                         "supported by podbay; send application/json", "UnsupportedMediaType", 415)
    if env.get("contentEncoding"):
        raise _err(f"unsupported content encoding {env['contentEncoding']!r}")
    raw = base64.b64decode(env.get("raw", ""))
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    obj.update(decode_message(msg, raw))
    return obj
