"""Label selectors (equality- and set-based) and field selectors with each kind's selectable fields.

One parser serves the API server's ``labelSelector`` / ``fieldSelector`` and the CLI's ``-l`` filter.
Field selectors follow apimachinery's ``fields.ParseSelector`` (``k=v``, ``k==v``, ``k!=v``, terms
split on unescaped commas, ``\\,`` ``\\=`` ``\\\\`` escapes) and each kind's
``<Kind>ToSelectableFields`` (pkg/registry/core/*/strategy.go): ``selectable_fields`` computes the
values once per object so watches and lists match without re-reading the object.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]
LabelTest = Callable[[Mapping[str, str]], bool]
FieldTest = Callable[[Mapping[str, str]], bool]

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
    if not tests:
        return lambda labels: True
    return lambda labels: all(t(labels) for t in tests)


def label_selector(sel: str) -> Predicate:
    """parse_label_selector applied to an object's ``metadata.labels`` (absent labels: none)."""
    test = parse_label_selector(sel)
    return lambda obj: test((obj.get("metadata") or {}).get("labels") or {})


# --- field selectors ---------------------------------------------------------------------------------


def _get(obj: Mapping[str, Any], *path: str) -> Any:
    cur: Any = obj
    for p in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(p)
    return cur


def _s(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def _pod_fields(o: Mapping[str, Any]) -> dict[str, str]:
    return {
        "spec.nodeName": _s(_get(o, "spec", "nodeName")),
        "spec.restartPolicy": _s(_get(o, "spec", "restartPolicy")),
        "spec.schedulerName": _s(_get(o, "spec", "schedulerName")),
        "spec.serviceAccountName": _s(_get(o, "spec", "serviceAccountName")),
        "spec.hostNetwork": _s(bool(_get(o, "spec", "hostNetwork"))),
        "status.phase": _s(_get(o, "status", "phase")),
        "status.podIP": _s(_get(o, "status", "podIP")),
        "status.nominatedNodeName": _s(_get(o, "status", "nominatedNodeName")),
    }


def _event_fields(o: Mapping[str, Any]) -> dict[str, str]:
    inv = o.get("involvedObject") or {}
    out = {f"involvedObject.{k}": _s(inv.get(k) if isinstance(inv, Mapping) else None)
           for k in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")}
    out.update({"reason": _s(o.get("reason")), "reportingComponent": _s(o.get("reportingComponent")),
                "source": _s(_get(o, "source", "component")), "type": _s(o.get("type"))})
    return out


_SELECTABLE: dict[str, Callable[[Mapping[str, Any]], dict[str, str]]] = {
    "Pod": _pod_fields,
    "Event": _event_fields,
    "Secret": lambda o: {"type": _s(o.get("type"))},
    "Namespace": lambda o: {"status.phase": _s(_get(o, "status", "phase"))},
    "Node": lambda o: {"spec.unschedulable": _s(bool(_get(o, "spec", "unschedulable")))},
    # the workload kinds' SelectableFields (pkg/registry/{apps,batch,core}/...)
    "ReplicaSet": lambda o: {"status.replicas": _s(int(_get(o, "status", "replicas") or 0))},
    "ReplicationController": lambda o: {"status.replicas": _s(int(_get(o, "status", "replicas") or 0))},
    "Job": lambda o: {"status.successful": _s(int(_get(o, "status", "succeeded") or 0))},
    "Service": lambda o: {"spec.clusterIP": _s(_get(o, "spec", "clusterIP")), "spec.type": _s(_get(o, "spec", "type"))},
}

# events.k8s.io/v1 field names -> the stored core Event's (pkg/apis/events/v1 field label conversion).
EVENTS_V1_LABELS = {
    **{f"regarding.{k}": f"involvedObject.{k}"
       for k in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
    "reportingController": "reportingComponent",
    "deprecatedSource": "source",
    "reason": "reason",
    "type": "type",
}


def selectable_fields(storage_kind: str, obj: Mapping[str, Any]) -> dict[str, str]:
    """Every field a field selector can test for this stored kind, as strings."""
    md = obj.get("metadata") or {}
    out = {"metadata.name": _s(md.get("name")), "metadata.namespace": _s(md.get("namespace"))}
    fn = _SELECTABLE.get(storage_kind)
    if fn is not None:
        out.update(fn(obj))
    return out


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            out.append(value[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _split_fields(sel: str) -> list[str]:
    """Split on commas that are not escaped (fields.splitTerms)."""
    terms, cur, i = [], "", 0
    while i < len(sel):
        ch = sel[i]
        if ch == "\\" and i + 1 < len(sel):
            cur += sel[i:i + 2]
            i += 2
            continue
        if ch == ",":
            terms.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    terms.append(cur)
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    """(lhs, op, rhs) at the first unescaped operator: ``!=``, ``==`` or ``=`` (fields.splitTerm)."""
    i = 0
    while i < len(term):
        if term[i] == "\\":
            i += 2
            continue
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op):]
        i += 1
    return None


def parse_field_selector(sel: str, allowed: Mapping[str, str]) -> list[tuple[str, str, bool]]:
    """``a=b,c!=d`` -> [(stored field, value, want equal)].

    ``allowed`` maps each field label this resource accepts to the stored field it tests. Raises
    ValueError with apimachinery's messages: ``invalid selector: '<sel>'; can't understand '<term>'``
    and ``field label not supported: <label>``.
    """
    out: list[tuple[str, str, bool]] = []
    if not sel:
        return out
    for term in _split_fields(sel):
        if not term:
            continue
        parts = _split_term(term)
        if parts is None:
            raise ValueError(f"invalid selector: '{sel}'; can't understand '{term}'")
        lhs, op, rhs = parts
        label = _unescape(lhs)
        if label not in allowed:
            raise ValueError(f"field label not supported: {label}")
        out.append((allowed[label], _unescape(rhs), op != "!="))
    return out


def field_test(terms: list[tuple[str, str, bool]]) -> FieldTest:
    if not terms:
        return lambda fields: True
    return lambda fields: all((fields.get(k, "") == v) == want for k, v, want in terms)


def allowed_labels(field_labels: tuple[str, ...], group: str = "") -> dict[str, str]:
    """The field labels a resource accepts, mapped to stored field names."""
    out = {"metadata.name": "metadata.name", "metadata.namespace": "metadata.namespace"}
    for label in field_labels:
        out[label] = EVENTS_V1_LABELS.get(label, label) if group == "events.k8s.io" else label
    return out


POD_LABELS = allowed_labels(("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                             "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
                             "status.nominatedNodeName"))


def field_selector(sel: str, kind: str = "Pod", labels: Mapping[str, str] | None = None) -> Predicate:
    """A predicate on whole objects of ``kind`` (the pod field labels unless ``labels`` is given)."""
    test = field_test(parse_field_selector(sel, POD_LABELS if labels is None else labels))
    return lambda obj: test(selectable_fields(kind, obj))
