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


def label_selector(sel: str) -> Predicate:
    tests: list[Callable[[Mapping[str, str]], bool]] = []
    for term in _split(sel or ""):
        term = term.strip()
        if "!=" in term:
            k, v = (s.strip() for s in term.split("!=", 1))
            tests.append(lambda labels, k=k, v=v: labels.get(k) != v)
        elif "==" in term or ("=" in term and " in " not in term):
            k, v = (s.strip() for s in re.split("==?", term, maxsplit=1))
            tests.append(lambda labels, k=k, v=v: labels.get(k) == v)
        else:
            m = _SET.match(term)
            if not m:
                raise ValueError(f"unable to parse requirement: {term!r}")
            neg, key, op, values = m.groups()
            vals = {v.strip() for v in (values or "").split(",") if v.strip()}
            if op == "in":
                tests.append(lambda labels, k=key, vs=vals: labels.get(k) in vs)
            elif op == "notin":
                tests.append(lambda labels, k=key, vs=vals: labels.get(k) not in vs)
            elif neg:
                tests.append(lambda labels, k=key: k not in labels)
            else:
                tests.append(lambda labels, k=key: k in labels)

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


def field_selector(sel: str) -> Predicate:
    tests: list[Callable[[Mapping[str, Any]], bool]] = []
    for term in _split(sel or ""):
        neg = "!=" in term
        k, v = (s.strip() for s in re.split("!=|==?", term, maxsplit=1))
        if k not in _FIELDS:
            raise ValueError(f'"{k}" is not a known field selector: only "{", ".join(sorted(_FIELDS))}"')
        get = _FIELDS[k]
        tests.append((lambda o, g=get, v=v: g(o) != v) if neg else (lambda o, g=get, v=v: g(o) == v))
    return lambda obj: all(t(obj) for t in tests)
