"""``application/vnd.kubernetes.protobuf`` request bodies decoded into the JSON objects they stand for.

kubectl 1.32 and later send protobuf for every typed-client write (``create configmap|secret|
namespace|serviceaccount|deployment|job|…``, ``create token``, ``auth can-i``, ``certificate
approve``, eviction) and, measured against a server that answered 415 UnsupportedMediaType,
neither 1.33 nor 1.37 falls back to JSON (client-go's 415 fallback is for CBOR only). So the
server decodes them: the ``k8s\\x00`` magic, a ``runtime.Unknown`` envelope (typeMeta, raw), and
the protobuf wire format of the kind's message, with the field numbers of upstream's
``generated.proto`` held in :data:`MESSAGES` below (interoperability data, written for podbay).

Go's marshaller writes every non-pointer field, zero values included; those zero scalars are
dropped here (JSON's ``omitempty``), while fields marked ``?`` (pointers in Go) keep a zero value.
A field the table does not know is an error naming the message and number, never ignored.
"""

from __future__ import annotations

import base64
import datetime
import json
import struct
from typing import Any

from podbay.api.patch.errors import PatchError

PROTOBUF = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

# message -> {number: "jsonName:type"}; type: s string, b bytes (base64), i int, B bool,
# d double, [T] repeated, {s:T} map, Msg submessage; "?" suffix: keep zero values (Go pointer).
_SPEC = """
Unknown: 1 typeMeta:TypeMeta, 2 raw:b, 3 contentEncoding:s, 4 contentType:s
TypeMeta: 1 apiVersion:s, 2 kind:s
ObjectMeta: 1 name:s, 2 generateName:s, 3 namespace:s, 4 selfLink:s, 5 uid:s, 6 resourceVersion:s,
  7 generation:i, 8 creationTimestamp:Time, 9 deletionTimestamp:Time,
  10 deletionGracePeriodSeconds:i?, 11 labels:{s:s}, 12 annotations:{s:s},
  13 ownerReferences:[OwnerReference], 14 finalizers:[s], 17 managedFields:[ManagedFieldsEntry]
OwnerReference: 1 kind:s, 3 name:s, 4 uid:s, 5 apiVersion:s, 6 controller:B?, 7 blockOwnerDeletion:B?
ManagedFieldsEntry: 1 manager:s, 2 operation:s, 3 apiVersion:s, 4 time:Time, 6 fieldsType:s,
  7 fieldsV1:FieldsV1, 8 subresource:s
DeleteOptions: 1 gracePeriodSeconds:i?, 2 preconditions:Preconditions, 3 orphanDependents:B?,
  4 propagationPolicy:s?, 5 dryRun:[s]
Preconditions: 1 uid:s?, 2 resourceVersion:s?
LabelSelector: 1 matchLabels:{s:s}, 2 matchExpressions:[LabelSelectorRequirement]
LabelSelectorRequirement: 1 key:s, 2 operator:s, 3 values:[s]
ObjectReference: 1 kind:s, 2 namespace:s, 3 name:s, 4 uid:s, 5 apiVersion:s, 6 resourceVersion:s,
  7 fieldPath:s
LocalObjectReference: 1 name:s
ConfigMap: 1 metadata:ObjectMeta, 2 data:{s:s}, 3 binaryData:{s:b}, 4 immutable:B?
Secret: 1 metadata:ObjectMeta, 2 data:{s:b}, 3 type:s, 4 stringData:{s:s}, 5 immutable:B?
Namespace: 1 metadata:ObjectMeta, 2 spec:NamespaceSpec, 3 status:NamespaceStatus
NamespaceSpec: 1 finalizers:[s]
NamespaceStatus: 1 phase:s, 2 conditions:[NamespaceCondition]
NamespaceCondition: 1 type:s, 2 status:s, 4 lastTransitionTime:Time, 5 reason:s, 6 message:s
ServiceAccount: 1 metadata:ObjectMeta, 2 secrets:[ObjectReference],
  3 imagePullSecrets:[LocalObjectReference], 4 automountServiceAccountToken:B?
TokenRequest: 1 metadata:ObjectMeta, 2 spec:TokenRequestSpec, 3 status:TokenRequestStatus
TokenRequestSpec: 1 audiences:[s], 3 boundObjectRef:BoundObjectReference, 4 expirationSeconds:i?
BoundObjectReference: 1 kind:s, 2 apiVersion:s, 3 name:s, 4 uid:s
TokenRequestStatus: 1 token:s, 2 expirationTimestamp:Time
Eviction: 1 metadata:ObjectMeta, 2 deleteOptions:DeleteOptions
"""

# The top-level message of each kind (apiVersion, kind) podbay decodes.
KINDS: dict[tuple[str, str], str] = {
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "Secret"): "Secret",
    ("v1", "Namespace"): "Namespace",
    ("v1", "ServiceAccount"): "ServiceAccount",
    ("authentication.k8s.io/v1", "TokenRequest"): "TokenRequest",
    ("policy/v1", "Eviction"): "Eviction",
    ("v1", "DeleteOptions"): "DeleteOptions",
    ("meta.k8s.io/v1", "DeleteOptions"): "DeleteOptions",
}


def _parse_spec(spec: str) -> dict[str, dict[int, tuple[str, str, bool]]]:
    out: dict[str, dict[int, tuple[str, str, bool]]] = {}
    for chunk in spec.strip().split("\n"):
        if not chunk.startswith(" "):
            name, _, rest = chunk.partition(":")
            current = out.setdefault(name.strip(), {})
        else:
            rest = chunk
        for f in filter(None, (x.strip() for x in rest.split(","))):
            num, _, decl = f.partition(" ")
            json_name, _, typ = decl.partition(":")
            keep = typ.endswith("?")
            current[int(num)] = (json_name, typ.rstrip("?"), keep)
    return out


MESSAGES = _parse_spec(_SPEC)


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
    if typ == "d":
        if wt != 1:
            raise _err(f"{where}: expected a fixed64")
        return struct.unpack("<d", v)[0]
    raise _err(f"{where}: unknown type {typ}")


def _time(b: bytes) -> str | None:
    secs = nanos = 0
    for num, wt, v in _fields(b):
        if num == 1 and wt == 0:
            secs = _signed(v)
        elif num == 2 and wt == 0:
            nanos = _signed(v)
    if secs == 0 and nanos == 0:
        return None
    t = datetime.datetime.fromtimestamp(secs, datetime.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _zero(v: Any) -> bool:
    return v == "" or v is False or (isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0)


def _value(typ: str, wt: int, v: Any, where: str) -> Any:
    if typ == "Time":
        if wt != 2:
            raise _err(f"{where}: expected a message")
        return _time(v)
    if typ == "FieldsV1":
        for num, fwt, raw in _fields(v):
            if num == 1 and fwt == 2:
                return json.loads(raw.decode()) if raw else {}
        return {}
    if typ in MESSAGES:
        if wt != 2:
            raise _err(f"{where}: expected a message")
        return decode_message(typ, v)
    return _scalar(typ, wt, v, where)


def decode_message(name: str, b: bytes) -> dict[str, Any]:
    """Decode one message of :data:`MESSAGES` into its JSON object."""
    table = MESSAGES[name]
    out: dict[str, Any] = {}
    for num, wt, v in _fields(b):
        if num not in table:
            raise _err(f"field {num} of {name} is not supported by podbay")
        json_name, typ, keep = table[num]
        where = f"{name}.{json_name}"
        if typ.startswith("{"):
            ktyp, vtyp = typ[1:-1].split(":")
            k = val = None
            for en, ewt, ev in _fields(v):
                if en == 1:
                    k = _value(ktyp, ewt, ev, where)
                elif en == 2:
                    val = _value(vtyp, ewt, ev, where)
            out.setdefault(json_name, {})[k if k is not None else ""] = (
                val if val is not None else ("" if vtyp in ("s", "b") else val))
        elif typ.startswith("["):
            inner = typ[1:-1]
            if wt == 2 and inner in ("i", "B"):  # packed
                items, j = [], 0
                while j < len(v):
                    x, j = _varint(v, j)
                    items.append(_scalar(inner, 0, x, where))
                out.setdefault(json_name, []).extend(items)
            else:
                out.setdefault(json_name, []).append(_value(inner, wt, v, where))
        else:
            val = _value(typ, wt, v, where)
            if val is None or (not keep and typ in ("s", "b", "i", "B", "d") and _zero(val)):
                out.pop(json_name, None)
                continue
            out[json_name] = val
    return out


def decode_protobuf(body: bytes) -> dict[str, Any]:
    """The JSON object a kube protobuf request body encodes (``apiVersion``/``kind`` included).

    Raises :class:`PatchError`: 400 for a malformed body, 415 UnsupportedMediaType for a kind
    podbay does not decode from protobuf (its message says to send JSON).
    """
    if not body.startswith(MAGIC):
        raise _err("the body does not start with the Kubernetes protobuf magic number")
    env = decode_message("Unknown", body[len(MAGIC):])
    tm = env.get("typeMeta") or {}
    api_version, kind = tm.get("apiVersion", ""), tm.get("kind", "")
    msg = KINDS.get((api_version, kind))
    if msg is None:
        raise PatchError(f"the protobuf encoding of {kind or 'this object'} ({api_version}) is not "
                         "supported by podbay; send application/json", "UnsupportedMediaType", 415)
    if env.get("contentEncoding"):
        raise _err(f"unsupported content encoding {env['contentEncoding']!r}")
    raw = base64.b64decode(env.get("raw", ""))
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    obj.update(decode_message(msg, raw))
    return obj
