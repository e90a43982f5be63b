"""Label and field selectors (the equality-based subset plus set-based in/notin/exists)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]
_SET = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")


def _split(sel: str) -> list[str]:
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


LabelTest = Callable[[Mapping[str, str]], bool]


def _eq(k: str, v: str, want: bool) -> LabelTest:
    return lambda labels: (labels.get(k) == v) == want


def _in(k: str, vs: set[str], want: bool) -> LabelTest:
    return lambda labels: (labels.get(k) in vs) == want


def _has(k: str, want: bool) -> LabelTest:
    return lambda labels: (k in labels) == want


def label_selector(sel: str) -> Predicate:
    tests: list[LabelTest] = []
    for term in _split(sel or ""):
        term = term.strip()
        if "!=" in term:
            k, v = (s.strip() for s in term.split("!=", 1))
            tests.append(_eq(k, v, False))
        elif "==" in term or ("=" in term and " in " not in term):
            k, v = (s.strip() for s in re.split("==?", term, maxsplit=1))
            tests.append(_eq(k, v, True))
        else:
            m = _SET.match(term)
            if not m:
                raise ValueError(f"unable to parse requirement: {term!r}")
            neg, key, op, values = m.groups()
            vals = {v.strip() for v in (values or "").split(",") if v.strip()}
            if op in ("in", "notin"):
                tests.append(_in(key, vals, op == "in"))
            else:
                tests.append(_has(key, not neg))

    def pred(obj: Mapping[str, Any]) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(t(labels) for t in tests)

    return pred


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
