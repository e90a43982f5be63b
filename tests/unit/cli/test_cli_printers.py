"""Pure printing: Go tabwriter alignment and pod rows (the columns themselves: tests/unit/core)."""

from __future__ import annotations

from clifake import NOW, make_pod, ts

from podbay.cli.printers import pod_row, render_table
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


def test_wide_row_and_table() -> None:
    pod = make_pod("web")
    row = pod_row(pod, NOW, wide=True, with_namespace=True)
    assert row == ["default", "web", "1/1", "Running", "0", "65s", "10.88.0.5", "node1", "<none>", "<none>"]
    assert render_table([["NAME", "AGE"], ["web", "65s"]]) == "NAME   AGE\nweb    65s\n"



def test_row_takes_its_columns_from_core_phase() -> None:
    pod = make_pod("web", restarts=2)
    pod["status"]["containerStatuses"][0]["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": ts(300)}}
    assert pod_row(pod, NOW) == ["web", "1/1", "Running", "2 (5m ago)", "65s"]


def test_json_and_yaml_hide_managed_fields_as_kubectl_does() -> None:
    from podbay.cli.printers import to_json, to_yaml

    pod = {"kind": "Pod", "metadata": {"name": "p", "managedFields": [{"manager": "kubectl"}]}}
    assert "managedFields" not in to_json(pod) and "managedFields" not in to_yaml(pod)
    assert "managedFields" not in to_json({"kind": "List", "items": [pod]})
    assert pod["metadata"]["managedFields"]   # the caller's object is untouched
