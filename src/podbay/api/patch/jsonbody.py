"""Decoding request bodies with the error texts of Go's encoding/json, which kube-apiserver returns
verbatim in its 400 answers (``invalid character 'x' looking for beginning of value``)."""

from __future__ import annotations

import json
from typing import Any

from podbay.api.patch.errors import PatchError, bad_request
from podbay.api.typecheck import json_kind


def _char(ch: str) -> str:
    # encoding/json quoteChar: 'x', with ' and \ escaped
    if ch == "'":
        return "'\\''"
    if ch == '"':
        return "'\"'"
    return repr(ch) if not ch.isprintable() else f"'{ch}'"


def go_syntax_error(text: str, err: json.JSONDecodeError) -> str:
    """Translate a Python decode error into encoding/json's SyntaxError text."""
    pos = err.pos
    if pos >= len(text.rstrip()):
        return "unexpected end of JSON input"
    ch = text[pos]
    msg = err.msg
    if msg.startswith("Expecting property name"):
        where = "looking for beginning of object key string"
    elif msg.startswith("Expecting ':'"):
        where = "after object key"
    elif msg.startswith("Expecting ',' delimiter"):
        # Python reports the position of the offending character inside an object or array
        opener = _innermost_open(text, pos)
        where = "after object key:value pair" if opener == "{" else "after array element"
    elif msg.startswith("Extra data"):
        where = "after top-level value"
    elif msg.startswith("Invalid control character"):
        where = "in string literal"
    elif msg.startswith("Invalid \\escape") or msg.startswith("Invalid \\u"):
        where = "in string escape code"
    else:
        where = "looking for beginning of value"
    return f"invalid character {_char(ch)} {where}"


def _innermost_open(text: str, pos: int) -> str:
    depth: list[str] = []
    in_str = esc = False
    for ch in text[:pos]:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            depth.append(ch)
        elif ch in "}]" and depth:
            depth.pop()
    return depth[-1] if depth else ""


def loads(body: bytes | str) -> Any:
    """``json.Unmarshal`` into ``interface{}``; a syntax error is a 400 with Go's message."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise bad_request("invalid character looking for beginning of value") from None
    if not text.strip():
        raise bad_request("unexpected end of JSON input")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise bad_request(go_syntax_error(text, e)) from None
    except RecursionError:
        raise bad_request("exceeded max depth") from None


def unmarshal_type_error(v: Any, go_type: str) -> PatchError:
    return bad_request(f"json: cannot unmarshal {json_kind(v)} into Go value of type {go_type}")
