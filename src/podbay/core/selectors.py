"""Label selectors (equality- and set-based) and the pod field selectors.

One parser serves the API server's ``labelSelector`` / ``fieldSelector`` and the CLI's ``-l`` filter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]
LabelTest = Callable[[Mapping[str, str]], bool]

# One requirement each: ``key in (a,b)`` / ``key notin (a,b)``, ``key=v`` / ``key==v`` / ``key!=v``,
# ``key`` / ``!key``. Anything else (``a=b=c``, ``!key in (x)``, ``key in x``) is rejected, as
# apimachinery's labels.Parse rejects it.
_KEY = r"[A-Za-z0-9_./-]+"
_SET = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s*\(([^)]*)\)\s*$")
_EQ = re.compile(rf"^\s*({_KEY})\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)\s*$")
_EXISTS = re.compile(rf"^\s*(!?)({_KEY})\s*$")


def _split(sel: str) -> list[str]:
    """Split on commas outside parentheses (a trailing comma is tolerated)."""
    parts, depth, cur = [], 0, ""
    for ch in sel:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def _eq(k: str, v: str, want: bool) -> LabelTest:
    return lambda labels: (labels.get(k) == v) == want


def _in(k: str, vs: set[str], want: bool) -> LabelTest:
    return lambda labels: (labels.get(k) in vs) == want


def _has(k: str, want: bool) -> LabelTest:
    return lambda labels: (k in labels) == want


def parse_label_selector(sel: str) -> LabelTest:
    """``a=b,c!=d,e in (x,y),f notin (z),g,!h`` -> a test of a labels map; "" matches everything.

    Raises ValueError ``unable to parse requirement: '<term>'`` for a term it cannot read.
    """
    tests: list[LabelTest] = []
    for term in _split(sel or ""):
        if m := _SET.match(term):
            key, op, values = m.groups()
            tests.append(_in(key, {v.strip() for v in values.split(",") if v.strip()}, op == "in"))
        elif m := _EQ.match(term):
            key, op, value = m.groups()
            tests.append(_eq(key, value, op != "!="))
        elif m := _EXISTS.match(term):
            neg, key = m.groups()
            tests.append(_has(key, not neg))
        else:
            raise ValueError(f"unable to parse requirement: {term.strip()!r}")
    return lambda labels: all(t(labels) for t in tests)


def label_selector(sel: str) -> Predicate:
    """parse_label_selector applied to an object's ``metadata.labels`` (absent labels: none)."""
    test = parse_label_selector(sel)
    return lambda obj: test((obj.get("metadata") or {}).get("labels") or {})


_FIELDS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "metadata.name": lambda o: str(o["metadata"].get("name", "")),
    "metadata.namespace": lambda o: str(o["metadata"].get("namespace", "")),
    "spec.nodeName": lambda o: str(o.get("spec", {}).get("nodeName", "")),
    "status.phase": lambda o: str(o.get("status", {}).get("phase", "")),
}


def _field(get: Callable[[Mapping[str, Any]], str], v: str, want: bool) -> Predicate:
    return lambda obj: (get(obj) == v) == want


def field_selector(sel: str) -> Predicate:
    tests: list[Predicate] = []
    for term in _split(sel or ""):
        neg = "!=" in term
        if "=" not in term:
            raise ValueError(f"invalid selector: '{sel}'; can't understand '{term.strip()}'")
        k, v = (s.strip() for s in re.split("!=|==?", term, maxsplit=1))
        if k not in _FIELDS:
            raise ValueError(f'"{k}" is not a known field selector: only "{", ".join(sorted(_FIELDS))}"')
        get = _FIELDS[k]
        tests.append(_field(get, v, not neg))
    return lambda obj: all(t(obj) for t in tests)
