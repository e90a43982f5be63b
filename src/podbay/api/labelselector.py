"""``metav1.LabelSelector`` as the API machinery reads it (pure).

- ``matches``: ``metav1.LabelSelectorAsSelector(sel).Matches(labels)`` — a nil selector matches
  nothing, an empty one (``{}``) everything; ``NotIn`` also matches when the key is absent.
- ``selector_string``: the selector's ``String()`` (requirements sorted by key), the form the
  ``/scale`` subresource reports in ``status.selector`` and kubectl's wide SELECTOR column shows.
- ``validate_label_selector``: ``ValidateLabelSelector`` with upstream's paths and messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from podbay.api import names
from podbay.api.fielderror import FieldError, forbidden, invalid, required

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
Selector = Mapping[str, Any]


class SelectorError(ValueError):
    """A selector LabelSelectorAsSelector refuses (an unknown operator, In without values)."""


def _requirements(sel: Selector) -> list[tuple[str, str, tuple[str, ...]]]:
    """(key, operator, values) in the order ``labels.Selector`` keeps them: sorted by key."""
    reqs: list[tuple[str, str, tuple[str, ...]]] = []
    for k, v in sorted((sel.get("matchLabels") or {}).items()):
        reqs.append((str(k), "=", (str(v),)))
    for expr in sel.get("matchExpressions") or ():
        op = str(expr.get("operator") or "")
        key = str(expr.get("key") or "")
        values = tuple(sorted(str(v) for v in expr.get("values") or ()))
        if op not in OPERATORS:
            raise SelectorError(f"{op!r} is not a valid label selector operator")
        if op in ("In", "NotIn") and not values:
            raise SelectorError("for 'in', 'notin' operators, values set can't be empty")
        reqs.append((key, op, values))
    return sorted(reqs, key=lambda r: r[0])


def _match_one(req: tuple[str, str, tuple[str, ...]], labels: Mapping[str, str]) -> bool:
    key, op, values = req
    if op == "=":
        return key in labels and labels[key] == values[0]
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    return key not in labels  # DoesNotExist


def matches(sel: Selector | None, labels: Mapping[str, str] | None) -> bool:
    """Whether ``labels`` satisfy the selector; an invalid selector matches nothing (the callers
    upstream log the conversion error and skip the object)."""
    if sel is None:
        return False
    try:
        reqs = _requirements(sel)
    except SelectorError:
        return False
    labels = labels or {}
    return all(_match_one(r, labels) for r in reqs)


def is_empty(sel: Selector | None) -> bool:
    """``{}``: selects everything (the Deployment controller's SelectingAll case)."""
    return sel is not None and not sel.get("matchLabels") and not sel.get("matchExpressions")


def selector_string(sel: Selector | None) -> str:
    """``labels.Selector.String()``: ``app=web,tier in (a,b),!legacy``; "" for everything."""
    if sel is None:
        return ""
    parts = []
    for key, op, values in _requirements(sel):
        if op == "=":
            parts.append(f"{key}={values[0]}")
        elif op == "In":
            parts.append(f"{key} in ({','.join(values)})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({','.join(values)})")
        elif op == "Exists":
            parts.append(key)
        else:
            parts.append(f"!{key}")
    return ",".join(parts)


def from_map(selector: Mapping[str, str] | None) -> dict[str, Any] | None:
    """A ReplicationController's map selector as a LabelSelector (``labels.SelectorFromSet``):
    an empty or absent map selects everything there, as ``SelectorFromValidatedSet`` does."""
    return {"matchLabels": dict(selector or {})}


def validate_label_selector(sel: Any, path: str) -> list[FieldError]:
    """``ValidateLabelSelector`` (apimachinery meta/v1/validation)."""
    if sel is None:
        return []
    if not isinstance(sel, dict):
        return [invalid(path, sel, "must be a label selector")]
    errs: list[FieldError] = []
    ml = sel.get("matchLabels")
    if isinstance(ml, dict):
        for k, v in ml.items():
            errs += [invalid(f"{path}.matchLabels", k, m) for m in names.is_qualified_name(str(k))]
            errs += [invalid(f"{path}.matchLabels", v, m) for m in names.is_label_value(str(v))]
    elif ml is not None:
        errs.append(invalid(f"{path}.matchLabels", ml, "must be a map of strings"))
    exprs = sel.get("matchExpressions")
    for i, expr in enumerate(exprs if isinstance(exprs, list) else []):
        ep = f"{path}.matchExpressions[{i}]"
        expr = expr if isinstance(expr, dict) else {}
        op = expr.get("operator")
        values = expr.get("values") or []
        if op in ("In", "NotIn"):
            if not values:
                errs.append(required(f"{ep}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
        elif op in ("Exists", "DoesNotExist"):
            if values:
                errs.append(
                    forbidden(f"{ep}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
                )
        else:
            errs.append(invalid(f"{ep}.operator", op, "not a valid selector operator"))
        key = str(expr.get("key") or "")
        errs += [invalid(f"{ep}.key", key, m) for m in names.is_qualified_name(key)]
        for j, v in enumerate(values if isinstance(values, list) else []):
            errs += [invalid(f"{ep}.values[{j}]", v, m) for m in names.is_label_value(str(v))]
    return errs
