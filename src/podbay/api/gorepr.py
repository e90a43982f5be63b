"""Go's ``%#v`` renderings of the values field errors print for workload specs: label selectors
(``v1.LabelSelector{MatchLabels:map[string]string{"app":"web"}, MatchExpressions:…}``), string
maps, and ``intstr.IntOrString`` — what ``kubectl`` shows after ``Invalid value:``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from podbay.api.fielderror import GoValue, go_quote


def string_map(m: Mapping[str, Any] | None) -> str:
    if m is None:
        return "map[string]string(nil)"
    inner = ", ".join(f"{go_quote(str(k))}:{go_quote(str(v))}" for k, v in sorted(m.items()))
    return "map[string]string{" + inner + "}"


def _strings(values: Any) -> str:
    if values is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(go_quote(str(v)) for v in values) + "}"


def label_selector(sel: Mapping[str, Any] | None) -> GoValue:
    """``metav1.LabelSelector`` as ``%#v`` (the pointer dereferenced, as field.Error does)."""
    if sel is None:
        return GoValue('"null"')
    ml = sel.get("matchLabels")
    exprs = sel.get("matchExpressions")
    if exprs is None:
        ex = "[]v1.LabelSelectorRequirement(nil)"
    else:
        items = [f'v1.LabelSelectorRequirement{{Key:{go_quote(str(e.get("key") or ""))}, '
                 f'Operator:{go_quote(str(e.get("operator") or ""))}, Values:{_strings(e.get("values"))}}}'
                 for e in exprs]
        ex = "[]v1.LabelSelectorRequirement{" + ", ".join(items) + "}"
    return GoValue(f"v1.LabelSelector{{MatchLabels:{string_map(ml)}, MatchExpressions:{ex}}}")


def labels(m: Mapping[str, Any] | None) -> GoValue:
    return GoValue(string_map(m))


def int_or_string(v: Any) -> GoValue:
    """``intstr.IntOrString`` (a value: its String method has a pointer receiver, so Go prints the struct)."""
    if isinstance(v, str):
        return GoValue(f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{go_quote(v)}}}")
    n = v if isinstance(v, int) and not isinstance(v, bool) else 0
    return GoValue(f'intstr.IntOrString{{Type:0, IntVal:{n}, StrVal:""}}')
