"""Label selectors (``-l``), evaluated client-side so filtering works whatever the server supports."""

from __future__ import annotations

import re
from collections.abc import Callable

Labels = dict[str, str]
Requirement = Callable[[Labels], bool]

_SET = re.compile(r"^\s*(!?[A-Za-z0-9_./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ = re.compile(r"^\s*([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)([A-Za-z0-9_./-]+)\s*$")


def _split(selector: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p for p in parts if p.strip()]


def _in(key: str, values: set[str], positive: bool) -> Requirement:
    return lambda labels: (labels.get(key) in values) == positive


def _eq(key: str, value: str, positive: bool) -> Requirement:
    return lambda labels: (labels.get(key) == value) == positive


def _exists(key: str, positive: bool) -> Requirement:
    return lambda labels: (key in labels) == positive


def parse_selector(selector: str) -> Requirement:
    """Parse ``a=b,c!=d,e in (x,y),!f``; raises ValueError like kubectl's parser."""
    reqs: list[Requirement] = []
    for part in _split(selector):
        if m := _SET.match(part):
            key, op = m.group(1), m.group(2)
            values = {v.strip() for v in m.group(3).split(",") if v.strip()}
            reqs.append(_in(key, values, op == "in"))
        elif m := _EQ.match(part):
            key, op, value = m.groups()
            reqs.append(_eq(key, value, op != "!="))
        elif m := _EXISTS.match(part):
            neg, key = m.groups()
            reqs.append(_exists(key, not neg))
        else:
            raise ValueError(f"unable to parse requirement: {part.strip()!r}")
    return lambda labels: all(r(labels) for r in reqs)
