"""kubectl's JSONPath templates (client-go ``util/jsonpath``), for ``-o jsonpath=``, custom columns,
``wait --for=jsonpath=`` and ``--sort-by``.

A template is text with ``{...}`` actions. An action is a path (``.a.b``, ``['a.b']``, ``[0]``,
``[-1]``, ``[1:3]``, ``[*]``, ``.*``, ``..name`` recursive descent, ``[?(@.x == 'y')]`` filters with
``== != < <= > >=`` or a bare ``@.x`` existence test, unions ``['a','b']``), a quoted string
(``{"\\n"}``), or ``range PATH`` ... ``end``. Inside ``range`` a leading ``.`` is the current item.
Missing keys give no result (kubectl runs templates with ``AllowMissingKeys``). Results print as
client-go's ``PrintResults``: strings as they are, maps and lists as compact JSON, values of one
action separated by spaces.
"""

from __future__ import annotations

import json
from typing import Any

from podbay.cli.errors import fail


class JSONPathError(Exception):
    pass


# --- parsing -------------------------------------------------------------------------------------------
# Nodes: ("text", s) | ("action", [path nodes]) | ("range", [path nodes], body) ; path nodes:
# ("root",) ("cur",) ("field", name) ("wild",) ("recursive",) ("index", start, stop, step, is_slice)
# ("filter", left_path, op, right) ("union", [keys or indexes]) ("literal", s)

_TERMINATORS = set(" \t\r\n.,[]$@{}")


def parse(template: str) -> list[Any]:
    nodes, pos = _parse_block(template, 0, top=True)
    return nodes


def _parse_block(t: str, i: int, top: bool) -> tuple[list[Any], int]:
    nodes: list[Any] = []
    text: list[str] = []
    while i < len(t):
        if t[i] != "{":
            text.append(t[i])
            i += 1
            continue
        if text:
            nodes.append(("text", "".join(text)))
            text = []
        end = _close(t, i)
        inner = t[i + 1:end].strip()
        i = end + 1
        if inner == "end":
            if top:
                raise JSONPathError("not in range, nothing to end")
            return nodes, i
        if inner == "range" or (inner.startswith("range") and inner[5:6] in (" ", "\t", ".", "[", "$", "@")):
            path = _parse_path(inner[len("range"):].strip())
            body, i = _parse_block(t, i, top=False)
            nodes.append(("range", path, body))
            continue
        nodes.append(("action", _parse_actions(inner)))
    if text:
        nodes.append(("text", "".join(text)))
    if not top:
        raise JSONPathError("unclosed action: range without end")
    return nodes, i


def _close(t: str, i: int) -> int:
    """Index of the ``}`` closing the action at ``i`` (quotes and brackets may hold braces)."""
    depth, j, quote = 0, i + 1, ""
    while j < len(t):
        c = t[j]
        if quote:
            if c == "\\":
                j += 2
                continue
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        elif c == "}" and depth <= 0:
            return j
        j += 1
    raise JSONPathError("unclosed action")


def _parse_actions(inner: str) -> list[Any]:
    """An action: one path, or several joined by top-level commas (each printed in turn)."""
    parts = _split_top(inner, ",")
    return [_parse_path(p.strip()) for p in parts]


def _split_top(s: str, sep: str) -> list[str]:
    out, depth, quote, cur = [], 0, "", []
    i = 0
    while i < len(s):
        c = s[i]
        if quote:
            cur.append(c)
            if c == "\\" and i + 1 < len(s):
                cur.append(s[i + 1])
                i += 2
                continue
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
            cur.append(c)
        elif c in "[(":
            depth += 1
            cur.append(c)
        elif c in "])":
            depth -= 1
            cur.append(c)
        elif c == sep and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    out.append("".join(cur))
    return out


def _string_literal(s: str) -> str:
    q = s[0]
    body = s[1:-1]
    if q == '"':
        try:
            return str(json.loads(s))
        except ValueError:
            pass
    return body.replace("\\" + q, q).replace("\\\\", "\\")


def _parse_path(s: str) -> list[Any]:
    if not s:
        raise JSONPathError("empty path")
    if s[0] in "'\"":
        if len(s) < 2 or s[-1] != s[0]:
            raise JSONPathError(f"unterminated string {s}")
        return [("literal", _string_literal(s))]
    nodes: list[Any] = []
    i = 0
    if s[0] == "$":
        nodes.append(("root",))
        i = 1
    elif s[0] == "@":
        nodes.append(("cur",))
        i = 1
    while i < len(s):
        c = s[i]
        if c == ".":
            if s.startswith("..", i):
                nodes.append(("recursive",))
                i += 2
                if i < len(s) and s[i] == "[":
                    continue
            else:
                i += 1
            j, name = _field(s, i)
            if name == "*":
                nodes.append(("wild",))
            elif name:
                nodes.append(("field", name))
            i = j
        elif c == "[":
            end = _bracket_end(s, i)
            nodes.append(_parse_bracket(s[i + 1:end].strip()))
            i = end + 1
        elif c in " \t":
            i += 1
        else:
            j, name = _field(s, i)
            if not name:
                raise JSONPathError(f"unrecognized character in action: {c!r}")
            nodes.append(("wild",) if name == "*" else ("field", name))
            i = j
    return nodes


def _field(s: str, i: int) -> tuple[int, str]:
    out = []
    while i < len(s) and s[i] not in _TERMINATORS:
        if s[i] == "\\" and i + 1 < len(s):
            out.append(s[i + 1])
            i += 2
            continue
        out.append(s[i])
        i += 1
    return i, "".join(out)


def _bracket_end(s: str, i: int) -> int:
    depth, quote, j = 0, "", i
    while j < len(s):
        c = s[j]
        if quote:
            if c == "\\":
                j += 2
                continue
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    raise JSONPathError(f"unterminated array: {s[i:]}")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise JSONPathError(f"invalid array index {text}") from None


def _parse_bracket(inner: str) -> Any:
    if inner.startswith("?"):
        body = inner[1:].strip()
        if body.startswith("(") and body.endswith(")"):
            body = body[1:-1].strip()
        return _parse_filter(body)
    if inner == "*":
        return ("wild",)
    parts = [p.strip() for p in _split_top(inner, ",")]
    if len(parts) > 1 or (parts[0][:1] in "'\""):
        keys: list[Any] = []
        for p in parts:
            keys.append(_string_literal(p) if p[:1] in "'\"" else _int(p))
        return ("union", keys)
    p = parts[0]
    if ":" in p:
        bits = p.split(":")
        if len(bits) > 3:
            raise JSONPathError(f"invalid array index {p}")
        vals = [(_int(b) if b.strip() else None) for b in bits] + [None] * (3 - len(bits))
        return ("index", vals[0], vals[1], vals[2], True)
    return ("index", _int(p), None, None, False)


_OPS = ("==", "!=", "<=", ">=", "<", ">")


def _parse_filter(body: str) -> Any:
    quote = ""
    for i, c in enumerate(body):
        if quote:
            if c == quote:
                quote = ""
            continue
        if c in "'\"":
            quote = c
            continue
        for op in _OPS:
            if body.startswith(op, i):
                left, right = body[:i].strip(), body[i + len(op):].strip()
                return ("filter", _parse_path(left), op, _operand(right))
    return ("filter", _parse_path(body), "exists", None)


def _operand(text: str) -> Any:
    if text[:1] in "'\"":
        return ("value", _string_literal(text))
    if text[:1] in "@$.":
        return ("path", _parse_path(text))
    if text in ("true", "false"):
        return ("value", text == "true")
    try:
        return ("value", int(text))
    except ValueError:
        pass
    try:
        return ("value", float(text))
    except ValueError:
        raise JSONPathError(f"unrecognized filter operand {text}") from None


# --- evaluation ----------------------------------------------------------------------------------------

def _eval_path(nodes: list[Any], root: Any, cur: Any) -> list[Any]:
    values = [cur]
    for node in nodes:
        kind = node[0]
        if kind == "root":
            values = [root]
        elif kind == "cur":
            values = [cur]
        elif kind == "literal":
            values = [node[1]]
        elif kind == "field":
            values = [v[node[1]] for v in values if isinstance(v, dict) and node[1] in v]
        elif kind == "wild":
            nxt: list[Any] = []
            for v in values:
                if isinstance(v, dict):
                    nxt += [v[k] for k in sorted(v)]
                elif isinstance(v, list):
                    nxt += v
            values = nxt
        elif kind == "recursive":
            values = [d for v in values for d in _descend(v)]
        elif kind == "index":
            values = [x for v in values if isinstance(v, list) for x in _index(v, node)]
        elif kind == "union":
            nxt = []
            for v in values:
                nxt += [_member(v, key) for key in node[1] if _has(v, key)]
            values = nxt
        elif kind == "filter":
            nxt = []
            for v in values:
                items = v if isinstance(v, list) else [v[k] for k in sorted(v)] if isinstance(v, dict) else []
                nxt += [item for item in items if _test(node, root, item)]
            values = nxt
    return values


def _has(v: Any, key: str | int) -> bool:
    if isinstance(v, dict):
        return isinstance(key, str) and key in v
    return isinstance(v, list) and isinstance(key, int) and -len(v) <= key < len(v)


def _member(v: Any, key: str | int) -> Any:
    return v[key]


def _descend(v: Any) -> list[Any]:
    out = [v]
    if isinstance(v, dict):
        for k in sorted(v):
            out += _descend(v[k])
    elif isinstance(v, list):
        for x in v:
            out += _descend(x)
    return out


def _index(v: list[Any], node: Any) -> list[Any]:
    _, start, stop, step, is_slice = node
    if not is_slice:
        i = start + len(v) if start < 0 else start
        if not 0 <= i < len(v):
            raise JSONPathError(f"array index out of bounds: index {start}, length {len(v)}")
        return [v[i]]
    return v[slice(start, stop, step)]


def _test(node: Any, root: Any, item: Any) -> bool:
    _, left, op, right = node
    lefts = _eval_path(left, root, item)
    if op == "exists":
        return bool(lefts)
    rights = [right[1]] if right[0] == "value" else _eval_path(right[1], root, item)
    for a in lefts:
        for b in rights:
            if _compare(a, op, b):
                return True
    return False


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return type(v).__name__


def _compare(a: Any, op: str, b: Any) -> bool:
    same = _kind(a) == _kind(b)
    if op == "==":
        return same and a == b
    if op == "!=":
        return not (same and bool(a == b))
    if not same or _kind(a) not in ("number", "str"):
        return False
    return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])


def text_of(v: Any) -> str:
    """One result as PrintResults writes it."""
    from podbay.cli.tableprint import go_float

    if isinstance(v, (dict, list)):
        from podbay.cli.output import go_json

        return go_json(v)
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "<nil>"
    if isinstance(v, float):
        return go_float(v)
    return str(v)


class Template:
    def __init__(self, text: str) -> None:
        self.text = text
        try:
            self.nodes = parse(text)
        except JSONPathError as e:
            raise fail(f"error parsing jsonpath {text}, {e}") from None

    def results(self, obj: Any) -> list[list[Any]]:
        """The values of each action (custom columns and --sort-by use these)."""
        out: list[list[Any]] = []
        try:
            for node in self.nodes:
                if node[0] == "action":
                    for path in node[1]:
                        out.append(_eval_path(path, obj, obj))
                elif node[0] == "range":
                    out.append(_eval_path(node[1], obj, obj))
        except JSONPathError as e:
            raise fail(f"error executing jsonpath {self.text!r}: {e}") from None
        return out

    def render(self, obj: Any) -> str:
        try:
            return _render(self.nodes, obj, obj)
        except JSONPathError as e:
            raise fail(f"error executing jsonpath {self.text!r}: {e}") from None


def _render(nodes: list[Any], root: Any, cur: Any) -> str:
    out: list[str] = []
    for node in nodes:
        if node[0] == "text":
            out.append(node[1])
        elif node[0] == "action":
            for path in node[1]:
                out.append(" ".join(text_of(v) for v in _eval_path(path, root, cur)))
        elif node[0] == "range":
            for item in _eval_path(node[1], root, cur):
                out.append(_render(node[2], root, item))
    return "".join(out)


def relaxed(expr: str) -> str:
    """RelaxedJSONPathExpression: ``.a.b``, ``a.b`` or ``{.a.b}`` -> ``{.a.b}``."""
    e = expr.strip()
    if e.startswith("{") and e.endswith("}"):
        e = e[1:-1]
    if e and not e.startswith((".", "[", "$", "@")):
        e = "." + e
    return "{" + e + "}"
