"""Kubernetes ``resource.Quantity``: parse to an exact Fraction, and print the canonical string.

Parsing follows apimachinery: ``<signed number><suffix>`` where the suffix is binary-SI
(Ki..Ei), decimal-SI (n u m "" k M G T P E) or a decimal exponent (``e3``/``E-2``); non-zero
values are rounded away from zero to nano precision.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

QUANTITY_REGEX_MSG = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)

_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_BY_EXP = {v: k for k, v in _DECIMAL.items()}
_RE = re.compile(r"^([+-]?)(\d+\.?\d*|\.\d+)(.*)$")
_EXP_RE = re.compile(r"^[eE]([+-]?\d+)$")
_NANO = Fraction(1, 10**9)
# Go keeps any int32 exponent in an inf.Dec; printing 1e300000 here would take seconds (issue 11 #4).
# No resource is anywhere near 1e100, so podbay refuses magnitudes beyond 10^MAX_EXPONENT outright.
MAX_EXPONENT = 100
OUT_OF_RANGE_MSG = f"quantity is out of the range podbay supports (magnitudes up to 1e{MAX_EXPONENT})"

BINARY_SI = "BinarySI"
DECIMAL_SI = "DecimalSI"
DECIMAL_EXPONENT = "DecimalExponent"


def parse_with_format(v: str | int | float) -> tuple[Fraction, str]:
    """Return (value, format); format decides how the canonical string is printed."""
    if isinstance(v, bool):
        raise ValueError(QUANTITY_REGEX_MSG)
    if isinstance(v, int):
        return Fraction(v), DECIMAL_SI
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(QUANTITY_REGEX_MSG)
        v = repr(v)  # JSON numbers arrive as floats; their shortest repr is what the user wrote
    if not isinstance(v, str):
        raise ValueError(QUANTITY_REGEX_MSG)
    m = _RE.match(v.strip())
    if not m or v != v.strip():
        raise ValueError(QUANTITY_REGEX_MSG)
    sign, number, suffix = m.groups()
    digits = len(number.split(".")[0].lstrip("0"))
    if len(number) > MAX_EXPONENT:
        raise ValueError(OUT_OF_RANGE_MSG)
    value = Fraction(number)
    if suffix in _BINARY:
        value *= 2 ** _BINARY[suffix]
        fmt = BINARY_SI
    elif suffix in _DECIMAL:
        value *= Fraction(10) ** _DECIMAL[suffix]
        fmt = DECIMAL_SI
    elif em := _EXP_RE.match(suffix):
        exp = int(em.group(1)) if len(em.group(1)) <= 12 else 10**12
        if digits - 1 + exp > MAX_EXPONENT or exp < -MAX_EXPONENT:
            raise ValueError(OUT_OF_RANGE_MSG)
        value *= Fraction(10) ** exp
        fmt = DECIMAL_EXPONENT
    else:
        raise ValueError(QUANTITY_REGEX_MSG)
    # Round non-zero values up to the smallest representable amount (1n), as apimachinery does.
    if value and value.denominator != 1:
        value = Fraction(math.ceil(value / _NANO)) * _NANO
    return (-value if sign == "-" else value), fmt


def parse_quantity(v: str | int | float) -> Fraction:
    """Exact value of a Quantity; raises ValueError with apimachinery's message on garbage."""
    return parse_with_format(v)[0]


def to_bytes(v: str | int | float) -> int:
    return math.ceil(parse_quantity(v))


def to_millicores(v: str | int | float) -> int:
    return math.ceil(parse_quantity(v) * 1000)


def _decimal_mantissa(value: Fraction) -> tuple[int, int]:
    """(mantissa, exponent) with exponent a multiple of 3 and an integer mantissa, largest exponent."""
    exp = -9
    mant = value / Fraction(10) ** exp
    mant_i = math.ceil(mant)  # value is already rounded to nano, so this is exact
    while mant_i and mant_i % 1000 == 0:
        mant_i //= 1000
        exp += 3
    return mant_i, exp


def canonical(v: str | int | float) -> str:
    """Quantity.String(): ``1024Mi`` -> ``1Gi``, ``0.5`` -> ``500m``, ``1000m`` -> ``1``."""
    value, fmt = parse_with_format(v)
    return format_quantity(value, fmt)


def format_quantity(value: Fraction, fmt: str = DECIMAL_SI) -> str:
    if value == 0:
        return "0"
    neg = value < 0
    mag = -value if neg else value
    sign = "-" if neg else ""
    if fmt == BINARY_SI and (mag < 1024 or mag.denominator != 1):
        fmt = DECIMAL_SI
    if fmt == BINARY_SI:
        n = int(mag)
        shift = 0
        while shift < 60 and n % 1024 == 0:
            n //= 1024
            shift += 10
        suffix = {0: ""} | {b: s for s, b in _BINARY.items()}
        return f"{sign}{n}{suffix[shift]}"
    mant, exp = _decimal_mantissa(mag)
    if fmt == DECIMAL_SI and exp in _DECIMAL_BY_EXP:
        return f"{sign}{mant}{_DECIMAL_BY_EXP[exp]}"
    return f"{sign}{mant}" + (f"e{exp}" if exp else "")
