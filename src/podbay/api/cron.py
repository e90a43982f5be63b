"""Cron schedules as the CronJob controller reads them: ``cron.ParseStandard`` of robfig/cron v3
(five fields, ``*``/``?``, lists, ranges, steps, month and weekday names, the ``@yearly`` …
``@hourly`` descriptors and ``@every <duration>``, an optional ``TZ=``/``CRON_TZ=`` prefix) with its
error messages, and ``Schedule.Next`` in a time zone (``zoneinfo``), DST quirks included.

Pure: the time zone database is read through ``zoneinfo`` (package data, like the schemas).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
import zoneinfo
from typing import Protocol

STAR_BIT = 1 << 63

_MONTHS = {n: i + 1 for i, n in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))}
_DOW = {n: i for i, n in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}


@dataclasses.dataclass(frozen=True)
class _Bounds:
    lo: int
    hi: int
    names: dict[str, int] | None = None


SECONDS = _Bounds(0, 59)
MINUTES = _Bounds(0, 59)
HOURS = _Bounds(0, 23)
DOM = _Bounds(1, 31)
MONTHS = _Bounds(1, 12, _MONTHS)
DOW = _Bounds(0, 6, _DOW)


class CronError(ValueError):
    """A schedule robfig/cron rejects; ``str()`` is its error text."""


class Schedule(Protocol):
    def next(self, t: _dt.datetime) -> _dt.datetime | None: ...


def _bits(lo: int, hi: int, step: int) -> int:
    if step == 1:
        return ~(~0 << (hi + 1)) & (~0 << lo)
    out = 0
    for i in range(lo, hi + 1, step):
        out |= 1 << i
    return out


def _all(b: _Bounds) -> int:
    return _bits(b.lo, b.hi, 1) | STAR_BIT


def _atoi(expr: str) -> int:
    """Go's ``strconv.Atoi`` (optional sign, decimal digits) with its error text."""
    if not re.fullmatch(r"[+-]?[0-9]+", expr):
        raise CronError(f'failed to parse int from {expr}: strconv.Atoi: parsing "{expr}": invalid syntax')
    n = int(expr)
    if n < 0:
        raise CronError(f"negative number ({n}) not allowed: {expr}")
    return n


def _int_or_name(expr: str, names: dict[str, int] | None) -> int:
    if names is not None and expr.lower() in names:
        return names[expr.lower()]
    return _atoi(expr)


def _range(expr: str, b: _Bounds) -> int:
    """``getRange``: ``*``, ``a``, ``a-b``, each with an optional ``/step``."""
    range_and_step = expr.split("/")
    low_high = range_and_step[0].split("-")
    single = len(low_high) == 1
    extra = 0
    if low_high[0] in ("*", "?"):
        start, end, extra = b.lo, b.hi, STAR_BIT
    else:
        start = _int_or_name(low_high[0], b.names)
        if len(low_high) == 1:
            end = start
        elif len(low_high) == 2:
            end = _int_or_name(low_high[1], b.names)
        else:
            raise CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _atoi(range_and_step[1])
        if single:
            end = b.hi  # "N/step" means "N-max/step"
        if step > 1:
            extra = 0
    else:
        raise CronError(f"too many slashes: {expr}")
    if start < b.lo:
        raise CronError(f"beginning of range ({start}) below minimum ({b.lo}): {expr}")
    if end > b.hi:
        raise CronError(f"end of range ({end}) above maximum ({b.hi}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")
    return _bits(start, end, step) | extra


def _field(field: str, b: _Bounds) -> int:
    out = 0
    for expr in (x for x in field.split(",") if x):
        out |= _range(expr, b)
    return out


# ---------------------------------------------------------------------------------------------- time helpers


def _go_date(y: int, mo: int, d: int, h: int, mi: int, s: int, tz: _dt.tzinfo) -> _dt.datetime:
    """``time.Date`` with Go's normalisation of out-of-range months and days; a wall time that does
    not exist (a DST gap) resolves with the offset before the transition, as Go does."""
    y += (mo - 1) // 12
    mo = (mo - 1) % 12 + 1
    base = _dt.datetime(y, mo, 1, tzinfo=None) + _dt.timedelta(days=d - 1, hours=h, minutes=mi, seconds=s)
    return _normal(base.replace(tzinfo=tz))


def _normal(t: _dt.datetime) -> _dt.datetime:
    """An aware datetime re-derived from its instant (a nonexistent wall time moves forward)."""
    assert t.tzinfo is not None
    return t.astimezone(_dt.UTC).astimezone(t.tzinfo)


def _add(t: _dt.datetime, seconds: float) -> _dt.datetime:
    """``t.Add``: elapsed time, not wall clock."""
    assert t.tzinfo is not None
    return (t.astimezone(_dt.UTC) + _dt.timedelta(seconds=seconds)).astimezone(t.tzinfo)


def _weekday(t: _dt.datetime) -> int:
    return (t.weekday() + 1) % 7  # Sunday = 0


@dataclasses.dataclass(frozen=True)
class SpecSchedule:
    second: int
    minute: int
    hour: int
    dom: int
    month: int
    dow: int
    location: _dt.tzinfo | None = None  # None: the caller's time zone (time.Local)

    def _day_matches(self, t: _dt.datetime) -> bool:
        dom_match = bool(1 << t.day & self.dom)
        dow_match = bool(1 << _weekday(t) & self.dow)
        if self.dom & STAR_BIT or self.dow & STAR_BIT:
            return dom_match and dow_match
        return dom_match or dow_match

    def next(self, t: _dt.datetime) -> _dt.datetime | None:
        """``SpecSchedule.Next``: the first time after ``t`` that matches; None within five years."""
        orig = t.tzinfo
        loc = self.location or orig
        assert loc is not None
        t = t.astimezone(loc)
        t = _add(t.replace(microsecond=0), 1)
        added = False
        year_limit = t.year + 5
        while True:  # WRAP
            if t.year > year_limit:
                return None
            wrapped = False
            while not (1 << t.month) & self.month:
                if not added:
                    added = True
                    t = _go_date(t.year, t.month, 1, 0, 0, 0, loc)
                t = _go_date(t.year, t.month + 1, t.day, t.hour, t.minute, t.second, loc)
                if t.month == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not self._day_matches(t):
                if not added:
                    added = True
                    t = _go_date(t.year, t.month, t.day, 0, 0, 0, loc)
                t = _go_date(t.year, t.month, t.day + 1, t.hour, t.minute, t.second, loc)
                if t.hour != 0:  # DST: back to midnight
                    t = _add(t, (24 - t.hour) * 3600 if t.hour > 12 else -t.hour * 3600)
                if t.day == 1:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not (1 << t.hour) & self.hour:
                if not added:
                    added = True
                    t = _go_date(t.year, t.month, t.day, t.hour, 0, 0, loc)
                t = _add(t, 3600)
                if t.hour == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not (1 << t.minute) & self.minute:
                if not added:
                    added = True
                    t = t.replace(second=0, microsecond=0)
                t = _add(t, 60)
                if t.minute == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            while not (1 << t.second) & self.second:
                if not added:
                    added = True
                    t = t.replace(microsecond=0)
                t = _add(t, 1)
                if t.second == 0:
                    wrapped = True
                    break
            if wrapped:
                continue
            return t.astimezone(orig)


@dataclasses.dataclass(frozen=True)
class ConstantDelaySchedule:
    """``@every <duration>``: whole seconds, at least one."""

    delay: int

    def next(self, t: _dt.datetime) -> _dt.datetime | None:
        return _add(t.replace(microsecond=0), self.delay)


# ---------------------------------------------------------------------------------------------- Go durations

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DUR_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([^0-9.]*)")


def parse_go_duration(s: str) -> float:
    """``time.ParseDuration`` in seconds, with Go's error texts."""
    orig = s
    if not s:
        raise CronError(f'time: invalid duration "{orig}"')
    neg = s[0] == "-"
    if s[0] in "+-":
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise CronError(f'time: invalid duration "{orig}"')
    total = 0.0
    while s:
        m = _DUR_PART.match(s)
        num, unit = (m.group(1), m.group(2)) if m else ("", "")
        if not num or num == ".":
            raise CronError(f'time: invalid duration "{orig}"')
        if not unit:
            raise CronError(f'time: missing unit in duration "{orig}"')
        # the unit runs until the next digit or '.'
        if unit not in _UNITS:
            raise CronError(f'time: unknown unit "{unit}" in duration "{orig}"')
        total += float(num) * _UNITS[unit]
        s = s[len(num) + len(unit):]
    return -total if neg else total


def every(seconds: float) -> ConstantDelaySchedule:
    """``cron.Every``: at least a second, truncated to whole seconds."""
    return ConstantDelaySchedule(max(1, int(seconds)))


# ---------------------------------------------------------------------------------------------- parse


def load_location(name: str) -> _dt.tzinfo:
    """``time.LoadLocation``: UTC, or an IANA zone; CronError ``unknown time zone %s`` otherwise."""
    if name in ("", "UTC"):
        return _dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise CronError(f"unknown time zone {name}") from exc


def _descriptor(spec: str, loc: _dt.tzinfo | None) -> Schedule:
    if spec in ("@yearly", "@annually"):
        return SpecSchedule(1 << 0, 1 << 0, 1 << 0, 1 << 1, 1 << 1, _all(DOW), loc)
    if spec == "@monthly":
        return SpecSchedule(1 << 0, 1 << 0, 1 << 0, 1 << 1, _all(MONTHS), _all(DOW), loc)
    if spec == "@weekly":
        return SpecSchedule(1 << 0, 1 << 0, 1 << 0, _all(DOM), _all(MONTHS), 1 << 0, loc)
    if spec in ("@daily", "@midnight"):
        return SpecSchedule(1 << 0, 1 << 0, 1 << 0, _all(DOM), _all(MONTHS), _all(DOW), loc)
    if spec == "@hourly":
        return SpecSchedule(1 << 0, 1 << 0, _all(HOURS), _all(DOM), _all(MONTHS), _all(DOW), loc)
    if spec.startswith("@every "):
        try:
            d = parse_go_duration(spec[len("@every "):])
        except CronError as exc:
            raise CronError(f"failed to parse duration {spec}: {exc}") from exc
        return every(d)
    raise CronError(f"unrecognized descriptor: {spec}")


def parse_standard(spec: str) -> Schedule:
    """``cron.ParseStandard``."""
    if not spec:
        raise CronError("empty spec string")
    loc: _dt.tzinfo | None = None
    if spec.startswith("TZ=") or spec.startswith("CRON_TZ="):
        i = spec.find(" ")
        eq = spec.find("=")
        if i < 0:
            raise CronError(f"provided bad location {spec[eq + 1:]}: unknown time zone {spec[eq + 1:]}")
        name = spec[eq + 1:i]
        try:
            loc = load_location(name)
        except CronError as exc:
            raise CronError(f"provided bad location {name}: {exc}") from exc
        spec = spec[i:].strip()
    if spec.startswith("@"):
        return _descriptor(spec, loc)
    fields = spec.split()
    if len(fields) != 5:
        raise CronError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    return SpecSchedule(
        _field("0", SECONDS), _field(fields[0], MINUTES), _field(fields[1], HOURS), _field(fields[2], DOM),
        _field(fields[3], MONTHS), _field(fields[4], DOW), loc,
    )
