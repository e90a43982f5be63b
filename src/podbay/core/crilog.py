"""CRI log lines (`<RFC3339Nano> <stream> <P|F> <msg>`): parse and render as `kubectl logs` shows them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class LogLine:
    timestamp: str
    stream: str
    text: str           # full line, partial chunks joined, without the trailing newline


def parse(lines: Iterable[str]) -> Iterator[LogLine]:
    """Join P chunks up to the next F line of the same stream; skip malformed lines."""
    pending: dict[str, tuple[str, str]] = {}
    for raw in lines:
        raw = raw.rstrip("\n")
        parts = raw.split(" ", 3)
        if len(parts) < 3:
            continue
        ts, stream, tag = parts[0], parts[1], parts[2]
        if stream not in ("stdout", "stderr"):
            continue  # the kubelet rejects such lines too ("unexpected stream type")
        msg = parts[3] if len(parts) > 3 else ""
        first_ts, acc = pending.pop(stream, (ts, ""))
        if tag == "P":
            pending[stream] = (first_ts, acc + msg)
            continue
        yield LogLine(first_ts, stream, acc + msg)


def render(line: LogLine, timestamps: bool) -> str:
    if timestamps:
        return f"{normalize_ts(line.timestamp)} {line.text}\n"
    return line.text + "\n"


def normalize_ts(ts: str) -> str:
    """conmon writes `...+00:00`; the kubelet prints RFC3339Nano in UTC with `Z`."""
    return ts[:-6] + "Z" if ts.endswith("+00:00") else ts


def tail(lines: list[LogLine], n: int | None) -> list[LogLine]:
    if n is None or n < 0:
        return lines
    return lines[-n:] if n else []
