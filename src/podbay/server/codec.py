"""Request bodies in, responses out: decoding (JSON with duplicate-key detection, YAML, protobuf when
the patch helper's decoder is there), size limits, and the renderings ``api.negotiate`` chose
(the object, a Table, PartialObjectMetadata, YAML), with ``Warning`` headers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from podbay.api import meta, tables
from podbay.api.negotiate import JSON, PROTOBUF, YAML, Rendering
from podbay.api.typecheck import object_pairs_hook
from podbay.errors import BadRequest, RequestEntityTooLarge
from podbay.store.repository import Stored

MAX_BODY = 3 * 1024 * 1024     # kube-apiserver's default --max-request-body-bytes
Obj = dict[str, Any]


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


async def read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise RequestEntityTooLarge(f"the request entity is too large: limit is {MAX_BODY} bytes")
    # StreamReader.read(n) returns what has arrived so far; over TLS a body comes in several records.
    data = bytearray()
    try:
        while len(data) <= MAX_BODY:
            chunk = await request.content.read(MAX_BODY + 1 - len(data))
            if not chunk:
                break
            data += chunk
    except ValueError as exc:
        raise BadRequest(f"the request body could not be read: {exc}") from None
    if len(data) > MAX_BODY:
        raise RequestEntityTooLarge(f"the request entity is too large: limit is {MAX_BODY} bytes")
    return bytes(data)


def decode_json(data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the request body is not valid UTF-8: {exc}") from None
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except RecursionError:
        raise BadRequest("json: exceeded max depth (the request body is nested too deeply)") from None
    except ValueError as exc:
        raise BadRequest(f"couldn't get version/kind; json parse error: {exc}") from None


def decode(data: bytes, media_type: str) -> Any:
    """The body as a JSON value. Empty bodies are ``None``."""
    if not data.strip():
        return None
    if media_type == PROTOBUF:
        try:
            return _protobuf_decoder()(data)   # api.patch: PatchError 400/415 with upstream's messages
        except (ValueError, IndexError) as exc:
            raise BadRequest(f"the protobuf body could not be decoded: {exc}") from None
    if media_type in (YAML, "application/x-yaml", "text/yaml") and not data.lstrip().startswith(b"{"):
        import yaml

        try:
            return yaml.safe_load(data)
        except (yaml.YAMLError, RecursionError) as exc:
            raise BadRequest(f"error converting YAML to JSON: {exc}") from None
    return decode_json(data)


def _protobuf_decoder() -> Any:
    try:
        from podbay.api import patch  # type: ignore[attr-defined]
    except ImportError:
        return None
    return getattr(patch, "decode_protobuf", None)


def warning_headers(resp: web.StreamResponse, warnings: Iterable[str]) -> None:
    for w in dict.fromkeys(warnings):
        resp.headers.add("Warning", '299 - "' + w.replace("\\", "\\\\").replace('"', '\\"') + '"')


def respond(body: bytes, status: int = 200, content_type: str = JSON,
            warnings: Iterable[str] = ()) -> web.Response:
    resp = web.Response(body=body, status=status, headers={"Content-Type": content_type})
    warning_headers(resp, warnings)
    return resp


def _yaml(obj: Any) -> bytes:
    import yaml

    return yaml.safe_dump(obj, default_flow_style=False, sort_keys=False, allow_unicode=True).encode()


def render_object(obj: Obj, r: Rendering, *, printer: tables.Printer | None = None, now: float = 0.0,
                  include: str = "Metadata", stored: Obj | None = None) -> tuple[bytes, str]:
    """One object (``stored``: its stored form, which the Table printer reads)."""
    if r.form == "table":
        assert printer is not None
        return dumps(tables.table(printer, [stored or obj], now, include=include, version=r.version,
                                  views=[obj])), r.content_type
    if r.form == "partial":
        return dumps(meta.partial(obj, r.version)), r.content_type
    if r.form == "yaml":
        return _yaml(obj), YAML
    return dumps(obj), JSON


def render_list(kind: str, api_version: str, items: list[Stored], views: list[Obj] | None, rv: int,
                continue_token: str, r: Rendering, *, printer: tables.Printer, now: float,
                include: str = "Metadata", remaining: int | None = None) -> tuple[bytes, str]:
    """A list: raw stored bodies joined as they are when no conversion is needed (the fast path)."""
    md: Obj = {"resourceVersion": str(rv)}
    if continue_token:
        md["continue"] = continue_token
        if remaining is not None:
            md["remainingItemCount"] = remaining
    if r.form == "table":
        objs = [s.obj for s in items]
        table = tables.table(printer, objs, now, include=include, version=r.version, resource_version=str(rv),
                             continue_token=continue_token, views=views if views is not None else objs)
        return dumps(table), r.content_type
    if r.form == "partial_list":
        shown = views if views is not None else [s.obj for s in items]
        body = {"kind": "PartialObjectMetadataList", "apiVersion": f"meta.k8s.io/{r.version}", "metadata": md,
                "items": [meta.partial(o, r.version) for o in shown]}
        return dumps(body), r.content_type
    if r.form == "yaml":
        shown = views if views is not None else [s.copy() for s in items]
        return _yaml({"apiVersion": api_version, "items": shown, "kind": kind, "metadata": md}), YAML
    head = dumps({"kind": kind, "apiVersion": api_version, "metadata": md})[:-1]
    inner = b",".join(dumps(v) for v in views) if views is not None else b",".join(s.raw for s in items)
    return head + b',"items":[' + inner + b"]}", JSON
