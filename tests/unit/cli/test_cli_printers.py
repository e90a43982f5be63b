"""Pure printing: Go tabwriter alignment, kubectl durations and pod columns."""

from __future__ import annotations

from typing import Any

import pytest
from clifake import NOW, make_pod, ts

from podbay.cli.printers import human_duration, pod_columns, pod_row, render_table
from podbay.cli.selectors import parse_selector
from podbay.cli.tabwriter import TabWriter, tabulate


def test_tabwriter_aligns_like_go() -> None:
    text = "NAME\tREADY\tSTATUS\na\t1/1\tRunning\nlonger-name\t0/1\tPending\n"
    assert tabulate(text, minwidth=6, padding=3) == (
        "NAME          READY   STATUS\n"
        "a             1/1     Running\n"
        "longer-name   0/1     Pending\n"
    )


def test_tabwriter_line_without_tabs_breaks_the_column_block() -> None:
    text = "Name:\tx\nNamespace:\tdefault\nContainers:\n  IP:\t1.2.3.4\n"
    assert tabulate(text) == "Name:       x\nNamespace:  default\nContainers:\n  IP:  1.2.3.4\n"


def test_tabwriter_remember_widths_keeps_columns_across_flushes() -> None:
    tw = TabWriter(6, 3, remember_widths=True)
    tw.write("NAME\tAGE\nlong-pod-name\t1s\n")
    tw.flush()
    tw.write("a\t2s\n")
    assert tw.flush() == "a               2s\n"


@pytest.mark.parametrize(
    ("seconds", "want"),
    [(-5, "<invalid>"), (-1, "0s"), (5, "5s"), (119, "119s"), (120, "2m"), (182, "3m2s"), (600, "10m"),
     (3 * 3600 - 1, "179m"), (3 * 3600, "3h"), (3 * 3600 + 60, "3h1m"), (8 * 3600, "8h"), (47 * 3600, "47h"),
     (48 * 3600, "2d"), (50 * 3600, "2d2h"), (8 * 86400, "8d"), (800 * 86400, "2y70d"), (9 * 365 * 86400, "9y")],
)
def test_human_duration(seconds: int, want: str) -> None:
    assert human_duration(seconds) == want


def _waiting(reason: str) -> dict[str, Any]:
    return {"waiting": {"reason": reason}}


def test_columns_running_and_restarts_with_last_termination() -> None:
    pod = make_pod("p", restarts=2)
    pod["status"]["containerStatuses"][0]["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": ts(300)}}
    assert pod_columns(pod, NOW) == ("1/1", "Running", "2 (5m ago)")


def test_columns_crashloop_and_ready_counts() -> None:
    pod = make_pod("p", containers=("a", "b"))
    pod["status"]["containerStatuses"][1].update(ready=False, state=_waiting("CrashLoopBackOff"))
    assert pod_columns(pod, NOW)[:2] == ("1/2", "CrashLoopBackOff")


def test_columns_init_progress_and_init_failure() -> None:
    pod = make_pod("p", phase="Pending", ready=False)
    pod["spec"]["initContainers"] = [{"name": "i1"}, {"name": "i2"}]
    pod["status"]["containerStatuses"][0]["state"] = _waiting("PodInitializing")
    pod["status"]["initContainerStatuses"] = [
        {"name": "i1", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
        {"name": "i2", "restartCount": 0, "state": {"running": {}}},
    ]
    assert pod_columns(pod, NOW)[1] == "Init:1/2"
    pod["status"]["initContainerStatuses"][1]["state"] = _waiting("CrashLoopBackOff")
    assert pod_columns(pod, NOW)[1] == "Init:CrashLoopBackOff"
    pod["status"]["initContainerStatuses"][1]["state"] = {"terminated": {"exitCode": 3}}
    assert pod_columns(pod, NOW)[1] == "Init:ExitCode:3"


def test_columns_completed_and_terminating() -> None:
    pod = make_pod("p", phase="Succeeded", ready=False)
    pod["status"]["containerStatuses"][0]["state"] = {"terminated": {"exitCode": 0, "reason": "Completed"}}
    assert pod_columns(pod, NOW) == ("0/1", "Completed", "0")
    pod = make_pod("p")
    pod["metadata"]["deletionTimestamp"] = ts(0)
    assert pod_columns(pod, NOW)[1] == "Terminating"


def test_wide_row_and_table() -> None:
    pod = make_pod("web")
    row = pod_row(pod, NOW, wide=True, with_namespace=True)
    assert row == ["default", "web", "1/1", "Running", "0", "65s", "10.88.0.5", "node1", "<none>", "<none>"]
    assert render_table([["NAME", "AGE"], ["web", "65s"]]) == "NAME   AGE\nweb    65s\n"


def test_label_selectors() -> None:
    labels = {"app": "web", "tier": "front"}
    assert parse_selector("app=web,tier!=back")(labels)
    assert parse_selector("app in (web, db),!missing")(labels)
    assert not parse_selector("app notin (web)")(labels)
    assert not parse_selector("missing")(labels)
    with pytest.raises(ValueError):
        parse_selector("a=b=c")
