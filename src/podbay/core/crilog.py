"""CRI log lines (`<RFC3339Nano> <stream> <P|F> <msg>`): parse and render as `kubectl logs` shows them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class LogLine:
    timestamp: str
    stream: str
    text: str           # full line, partial chunks joined, without the trailing newline
    partial: bool = False   # output that never got its newline (flushed at the end)


class CriParser:
    """Stateful: P chunks are joined across feeds (follow mode reads the file in pieces)."""

    def __init__(self) -> None:
        self.pending: dict[str, tuple[str, str]] = {}

    def feed(self, lines: Iterable[str]) -> Iterator[LogLine]:
        for raw in lines:
            parts = raw.rstrip("\n").split(" ", 3)
            if len(parts) < 3:
                continue
            ts, stream, tag = parts[0], parts[1], parts[2]
            if stream not in ("stdout", "stderr"):
                continue  # the kubelet rejects such lines too ("unexpected stream type")
            msg = parts[3] if len(parts) > 3 else ""
            first_ts, acc = self.pending.pop(stream, (ts, ""))
            if tag == "P":
                self.pending[stream] = (first_ts, acc + msg)
                continue
            yield LogLine(first_ts, stream, acc + msg)

    def flush(self) -> Iterator[LogLine]:
        """Chunks still waiting for their F line: the container ended without a newline."""
        for stream, (ts, acc) in sorted(self.pending.items(), key=lambda kv: kv[1][0]):
            yield LogLine(ts, stream, acc, partial=True)
        self.pending.clear()


def parse(lines: Iterable[str], *, flush: bool = False) -> Iterator[LogLine]:
    """Join P chunks up to the next F line of the same stream; skip malformed lines."""
    parser = CriParser()
    yield from parser.feed(lines)
    if flush:
        yield from parser.flush()


def render(line: LogLine, timestamps: bool) -> str:
    end = "" if line.partial else "\n"
    if timestamps:
        return f"{normalize_ts(line.timestamp)} {line.text}{end}"
    return line.text + end


def normalize_ts(ts: str) -> str:
    """conmon writes `...+00:00`; the kubelet prints RFC3339Nano in UTC with `Z`."""
    return ts[:-6] + "Z" if ts.endswith("+00:00") else ts


def tail(lines: list[LogLine], n: int | None) -> list[LogLine]:
    if n is None or n < 0:
        return lines
    return lines[-n:] if n else []
