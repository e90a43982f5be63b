"""``field.Error`` of apimachinery: one validation failure and its exact printed form."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

REQUIRED = "Required"
INVALID = "Invalid"
DUPLICATE = "Duplicate"
NOT_FOUND = "NotFound"
NOT_SUPPORTED = "NotSupported"
FORBIDDEN = "Forbidden"
TOO_LONG = "TooLong"
TOO_MANY = "TooMany"

_TYPE_TEXT = {
    REQUIRED: "Required value",
    INVALID: "Invalid value",
    DUPLICATE: "Duplicate value",
    NOT_FOUND: "Not found",
    NOT_SUPPORTED: "Unsupported value",
    FORBIDDEN: "Forbidden",
    TOO_LONG: "Too long",
    TOO_MANY: "Too many",
}
# Types whose body never shows the value.
_NO_VALUE = {REQUIRED, FORBIDDEN, TOO_LONG}

_GO_ESCAPES = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t", "\v": r"\v"}


def go_quote(s: str) -> str:
    """Go's ``%q`` / strconv.Quote for a string."""
    out = ['"']
    for ch in s:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


@dataclasses.dataclass(frozen=True)
class GoValue:
    """A bad value already rendered as Go prints it (``%#v`` of a struct such as
    ``v1.LabelSelector{…}`` or ``map[string]string{…}``); see ``api.gorepr``."""

    text: str


OMIT_VALUE = GoValue("")  # field.OmitValueType{}: "Invalid value: <detail>" without the value


def format_value(value: Any) -> str:
    """How field.Error prints a bad value (``%q`` strings, ``%v`` numbers and bools)."""
    if isinstance(value, GoValue):
        return value.text
    if value is None:
        return '"null"'  # Go substitutes the string "null", then quotes it
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(go_quote(v) for v in value) + "}"
    return json.dumps(value, sort_keys=True)


_CAUSE = {
    REQUIRED: "FieldValueRequired",
    INVALID: "FieldValueInvalid",
    DUPLICATE: "FieldValueDuplicate",
    NOT_FOUND: "FieldValueNotFound",
    NOT_SUPPORTED: "FieldValueNotSupported",
    FORBIDDEN: "FieldValueForbidden",
    TOO_LONG: "FieldValueTooLong",
    TOO_MANY: "FieldValueTooMany",
}


@dataclasses.dataclass(frozen=True)
class FieldError:
    type: str
    field: str
    value: Any = None
    detail: str = ""
    supported: tuple[str, ...] = ()

    def body(self) -> str:
        """The message without the field path (``ErrorBody``)."""
        s = _TYPE_TEXT[self.type]
        if self.type not in _NO_VALUE and self.value is not OMIT_VALUE:
            s += ": " + format_value(self.value)
        detail = self.detail
        if self.type == NOT_SUPPORTED and self.supported:
            detail = "supported values: " + ", ".join(go_quote(v) for v in self.supported)
        if detail:
            s += ": " + detail
        return s

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"

    def cause(self) -> dict[str, str]:
        return {"reason": _CAUSE[self.type], "message": self.body(), "field": self.field}


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(REQUIRED, path, None, detail)


def invalid(path: str, value: Any, detail: str) -> FieldError:
    return FieldError(INVALID, path, value, detail)


def duplicate(path: str, value: Any) -> FieldError:
    return FieldError(DUPLICATE, path, value)


def not_found(path: str, value: Any) -> FieldError:
    return FieldError(NOT_FOUND, path, value)


def not_supported(path: str, value: Any, supported: list[str] | tuple[str, ...]) -> FieldError:
    return FieldError(NOT_SUPPORTED, path, value, "", tuple(supported))


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(FORBIDDEN, path, None, detail)


def too_long(path: str, max_bytes: int) -> FieldError:
    return FieldError(TOO_LONG, path, None, f"must have at most {max_bytes} bytes")


def too_many(path: str, actual: int, maximum: int) -> FieldError:
    return FieldError(TOO_MANY, path, actual, f"must have at most {maximum} items")


PODBAY_UNSUPPORTED = "not supported by podbay"


def unsupported(path: str, what: str = "") -> FieldError:
    """A valid Kubernetes feature podbay rejects instead of silently ignoring."""
    return forbidden(path, f"{what} {PODBAY_UNSUPPORTED}" if what else PODBAY_UNSUPPORTED)
