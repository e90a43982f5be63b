"""Times as kubectl prints them: RFC 3339 parsing and ``translateTimestampSince`` (AGE-style
durations via apimachinery's ``HumanDuration`` in ``podbay.api.printing``, imported where used:
it costs more at start-up than ``--help`` or ``version`` should pay). Tables are printed by the
server (``cli.tableprint``)."""

from __future__ import annotations

from datetime import datetime


def parse_time(value: str | None) -> datetime | None:
    """RFC 3339 (``2024-01-02T03:04:05Z``, fractional seconds allowed) -> aware datetime."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def since(value: str | None, now: datetime) -> str:
    """kubectl's translateTimestampSince."""
    t = parse_time(value)
    if t is None:
        return "<unknown>"
    from podbay.api.printing import human_duration

    return human_duration((now - t).total_seconds())
