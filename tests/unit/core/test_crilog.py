"""CRI log files as conmon writes them: joining partial lines, rendering like `kubectl logs`, tail."""

from __future__ import annotations

from podbay.core.crilog import LogLine, normalize_ts, parse, render, tail

TS1 = "2026-11-22T01:29:30.448340850+00:00"
TS2 = "2026-11-22T01:29:30.500000000+00:00"
TS3 = "2026-11-22T01:29:31.000000001+00:00"


def test_full_lines_keep_stream_and_text() -> None:
    got = list(parse([f"{TS1} stdout F out\n", f"{TS2} stderr F err with  two spaces\n"]))
    assert got == [LogLine(TS1, "stdout", "out"), LogLine(TS2, "stderr", "err with  two spaces")]


def test_partial_chunks_join_per_stream_with_first_timestamp() -> None:
    raw = [
        f"{TS1} stdout P hel",
        f"{TS1} stderr P E1-",
        f"{TS2} stdout P lo ",
        f"{TS2} stderr F E2",
        f"{TS3} stdout F world",
    ]
    got = list(parse(raw))
    assert got == [LogLine(TS1, "stderr", "E1-E2"), LogLine(TS1, "stdout", "hello world")]


def test_empty_message_is_an_empty_line() -> None:
    assert list(parse([f"{TS1} stdout F", f"{TS2} stdout F "])) == [
        LogLine(TS1, "stdout", ""), LogLine(TS2, "stdout", "")]


def test_malformed_lines_are_skipped() -> None:
    raw = ["", "garbage", f"{TS1} stdout", f"{TS1} weird F nope", f"{TS2} stdout F ok"]
    assert list(parse(raw)) == [LogLine(TS2, "stdout", "ok")]


def test_render_without_and_with_timestamps() -> None:
    line = LogLine(TS1, "stdout", "hello")
    assert render(line, False) == "hello\n"
    assert render(line, True) == "2026-11-22T01:29:30.448340850Z hello\n"


def test_normalize_ts_only_rewrites_utc_offset() -> None:
    assert normalize_ts(TS1) == "2026-11-22T01:29:30.448340850Z"
    assert normalize_ts("2026-11-22T01:29:30.4Z") == "2026-11-22T01:29:30.4Z"
    assert normalize_ts("2026-11-22T03:29:30.4+02:00") == "2026-11-22T03:29:30.4+02:00"


def test_tail() -> None:
    lines = [LogLine(TS1, "stdout", str(i)) for i in range(5)]
    assert [x.text for x in tail(lines, 2)] == ["3", "4"]
    assert tail(lines, 0) == []
    assert tail(lines, None) == lines
    assert tail(lines, -1) == lines
    assert tail(lines, 10) == lines
