from __future__ import annotations

from podbay.core import termination


def cri(text: str, stream: str = "stdout", tag: str = "F") -> str:
    return f"2024-01-01T00:00:00.000000000+00:00 {stream} {tag} {text}\n"


def test_file_wins_and_keeps_the_last_4096_bytes() -> None:
    assert termination.message("File", 1, "Error", b"DONE", None) == "DONE"
    big = b"x" * 5000 + b"END"
    out = termination.message("File", 0, "Completed", big, None)
    assert len(out) == 4096 and out.endswith("END")


def test_file_policy_never_reads_logs() -> None:
    assert termination.message("File", 1, "Error", b"", [cri("boom")]) == ""


def test_fallback_only_on_failure_with_an_empty_file() -> None:
    logs = [cri("DONE", tag="P")]            # echo -n DONE; /bin/false: no newline
    assert termination.message("FallbackToLogsOnError", 1, "Error", b"", logs) == "DONE"
    assert termination.message("FallbackToLogsOnError", 1, "Error", None, logs) == "DONE"
    assert termination.message("FallbackToLogsOnError", 0, "Completed", b"", logs) == ""
    assert termination.message("FallbackToLogsOnError", 0, "Completed", b"OK", [cri("DONE")]) == "OK"
    assert termination.message("FallbackToLogsOnError", 1, "ContainerCannotRun", b"", logs) == ""


def test_fallback_keeps_80_lines_then_2048_bytes() -> None:
    lines = [cri(f"line {i}") for i in range(200)]
    out = termination.message("FallbackToLogsOnError", 2, "Error", b"", lines)
    assert out.splitlines()[0] == "line 120" and out.endswith("line 199\n")
    wide = [cri("y" * 100 + str(i)) for i in range(80)]
    out = termination.message("FallbackToLogsOnError", 2, "Error", b"", wide)
    assert len(out.encode()) == 2048 and out.endswith("y79\n")
