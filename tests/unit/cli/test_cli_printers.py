"""Pure printing: Go's tabwriter, the Table printer's decoration rules, -o json/yaml as kubectl prints
them, and JSONPath templates."""

from __future__ import annotations

from typing import Any

import pytest

from podbay.cli.jsonpath import Template
from podbay.cli.output import OutputFormat, dump_json, dump_yaml
from podbay.cli.tableprint import TablePrinter, cell_text, format_labels, go_float, new_tabwriter
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


COLUMNS = [{"name": "Name", "type": "string", "format": "name", "priority": 0},
           {"name": "Status", "type": "string", "format": "", "priority": 0},
           {"name": "IP", "type": "string", "format": "", "priority": 1}]


def table(*rows: tuple[str, str, str], columns: bool = True) -> dict[str, Any]:
    return {"kind": "Table", "columnDefinitions": COLUMNS if columns else [],
            "rows": [{"cells": list(r), "object": {"metadata": {"namespace": "ns1", "name": r[0],
                                                                "labels": {"b": "2", "a": "1"}}}} for r in rows]}


def test_table_printer_hides_priority_columns_and_decorates() -> None:
    tw = new_tabwriter()
    p = TablePrinter(tw, with_namespace=True, kind_prefix="pod", show_labels=True, label_columns=["a"])
    p.print_table(table(("web", "Running", "10.0.0.1")))
    assert tw.flush() == ("NAMESPACE   NAME      STATUS    A     LABELS\n"
                          "ns1         pod/web   Running   1     a=1,b=2\n")
    tw = new_tabwriter()
    p = TablePrinter(tw, wide=True)
    p.print_table(table(("web", "Running", "10.0.0.1")))
    p.print_table(table(("db", "Pending", "<none>"), columns=False))   # a watch event: columns of the last
    p.print_table(table(("x", "y", "z")))                              # same columns: no second header
    assert tw.flush() == ("NAME   STATUS    IP\nweb    Running   10.0.0.1\ndb     Pending   <none>\nx      y         z\n")
    empty = new_tabwriter()
    TablePrinter(empty).print_table({"columnDefinitions": COLUMNS, "rows": []})
    assert empty.flush() == ""   # no header without rows


def test_cells_print_as_go_prints_them() -> None:
    assert [cell_text(v) for v in (None, 3, True, 0.5, 1e6, "a\nb", ["x", 1], {"k": "v"})] == [
        "", "3", "true", "0.5", "1e+06", "a...", "[x 1]", "map[k:v]"]
    assert [go_float(x) for x in (1234567.0, 100000.0, 1e-05, -2.25)] == ["1.234567e+06", "100000", "1e-05", "-2.25"]
    assert format_labels({}) == "<none>" and format_labels({"b": "1", "a": "2"}) == "a=2,b=1"


def test_json_and_yaml_are_kubectls() -> None:
    pod = {"metadata": {"name": "p", "managedFields": [{"manager": "kubectl"}]}, "kind": "Pod", "apiVersion": "v1",
           "spec": {"cmd": "a<b&c", "note": "line1\nline2\n", "flag": "true", "n": "01"}}
    assert dump_json(pod) == ('{\n    "apiVersion": "v1",\n    "kind": "Pod",\n    "metadata": {\n        "name": "p"\n'
                              '    },\n    "spec": {\n        "cmd": "a\\u003cb\\u0026c",\n        "flag": "true",\n'
                              '        "n": "01",\n        "note": "line1\\nline2\\n"\n    }\n}\n')
    assert dump_yaml(pod) == ('apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  cmd: a<b&c\n  flag: "true"\n'
                              '  n: "01"\n  note: |\n    line1\n    line2\n')
    assert pod["metadata"]["managedFields"]   # the caller's object is untouched


@pytest.mark.parametrize(("template", "want"), [
    ("{.items[*].metadata.name}", "a b"),
    ('{range .items[*]}{.metadata.name}={.spec.containers[*].image}{"\\n"}{end}', "a=i1 i2\nb=\n"),
    ("{.items[0].metadata.labels}", '{"app":"x","k8s.io/n":"v"}'),
    ('{.items[?(@.metadata.name=="b")].metadata.name}', "b"),
    ('{.items[0].status.conditions[?(@.type=="Ready")].status}', "True"),
    ("{.items[0].metadata.labels.k8s\\.io/n}", "v"),
    ("{.items[0].metadata.labels['k8s.io/n']}", "v"),
    ("{..image}", "i1 i2"),
    ("{.items[-1].metadata.name}", "b"),
    ("x{.missing}y", "xy"),
    ("{.items[0:1].metadata.name}", "a"),
    ("{.items[0].spec.replicas}", "3"),
    ("{.items[?(@.spec.replicas>2)].metadata.name}", "a"),
])
def test_jsonpath(template: str, want: str) -> None:
    doc = {"items": [{"metadata": {"name": "a", "labels": {"app": "x", "k8s.io/n": "v"}},
                      "spec": {"replicas": 3, "containers": [{"image": "i1"}, {"image": "i2"}]},
                      "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
                     {"metadata": {"name": "b"}, "spec": {"containers": []}}]}
    assert Template(template).render(doc) == want


def test_output_format_errors() -> None:
    from podbay.cli.errors import CliError

    with pytest.raises(CliError, match="unable to match a printer suitable for the output format"):
        OutputFormat("bogus")
    with pytest.raises(CliError, match="jsonpath format specified but no template given"):
        OutputFormat("jsonpath=")
    with pytest.raises(CliError, match="error parsing jsonpath"):
        OutputFormat("jsonpath={range .x}").render({}, None)
