"""Go's text renderings of JSON values, so error messages and FieldsV1 keys read as upstream's.

- :func:`go_v` is ``fmt.Sprintf("%v", v)`` of an unstructured value (``map[a:1 b:[x y]]``),
- :func:`go_quote` is ``%q`` (``strconv.Quote``),
- :func:`go_json` is ``encoding/json.Marshal`` (HTML-escaped strings, Go's float format, keys sorted).
"""

from __future__ import annotations

import decimal
import json
import math
from typing import Any


def _digits(f: float) -> tuple[str, int]:
    """The shortest round-trip digits of ``f`` and the decimal exponent of the first one."""
    d = decimal.Decimal(repr(f)).normalize()
    sign, digits, exp = d.as_tuple()
    s = "".join(map(str, digits)) or "0"
    assert isinstance(exp, int)
    return s, exp + len(s) - 1


def _sci(s: str, e: int, min_exp_digits: int) -> str:
    mant = s[0] + ("." + s[1:] if len(s) > 1 else "")
    es = str(abs(e)).rjust(min_exp_digits, "0")
    return f"{mant}e{'-' if e < 0 else '+'}{es}"


def _plain(s: str, e: int) -> str:
    if e < 0:
        return "0." + "0" * (-e - 1) + s
    if e + 1 >= len(s):
        return s + "0" * (e + 1 - len(s))
    return s[: e + 1] + "." + s[e + 1:]


def go_float_v(f: float) -> str:
    """``strconv.FormatFloat(f, 'g', -1, 64)``, which ``%v`` uses for float64."""
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if math.isnan(f):
        return "NaN"
    if f == 0:
        return "-0" if math.copysign(1, f) < 0 else "0"
    neg = f < 0
    s, e = _digits(abs(f))
    # shortest %g switches to the exponent form when exp < -4 || exp >= 6 (eprec is 6)
    out = _sci(s, e, 2) if e < -4 or e >= 6 else _plain(s, e)
    return ("-" if neg else "") + out


def go_json_float(f: float) -> str:
    """encoding/json's float64 text: plain between 1e-6 and 1e21, else ``1e+21``/``1e-7``."""
    if f == 0:
        return "0"
    a = abs(f)
    s, e = _digits(a)
    out = _sci(s, e, 1) if a < 1e-6 or a >= 1e21 else _plain(s, e)
    return ("-" if f < 0 else "") + out


def go_v(v: Any) -> str:
    """``%v`` of a value decoded from JSON the way Go holds it (maps print sorted)."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return go_float_v(v)
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "[" + " ".join(go_v(x) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{go_v(v[k])}" for k in sorted(v)) + "]"
    return str(v)


def go_quote(s: str) -> str:
    """``strconv.Quote``: printable characters as they are, the rest escaped the Go way."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch.isprintable() or ch == " ":
            out.append(ch)
        elif ch in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                        "\t": "\\t", "\v": "\\v"}[ch])
        elif o < 0x80:
            out.append(f"\\x{o:02x}")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


def _json_str(s: str) -> str:
    text = json.dumps(s, ensure_ascii=False)
    # encoding/json escapes HTML-sensitive runes and the JS line separators.
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def go_json(v: Any) -> str:
    """``json.Marshal`` of an unstructured value: compact, keys sorted, Go's escaping."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return go_json_float(v)
    if isinstance(v, str):
        return _json_str(v)
    if isinstance(v, list):
        return "[" + ",".join(go_json(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(_json_str(k) + ":" + go_json(v[k]) for k in sorted(v)) + "}"
    raise TypeError(f"not a JSON value: {type(v).__name__}")
