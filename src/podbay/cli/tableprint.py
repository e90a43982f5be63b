"""Server-side Tables printed as kubectl prints them (cli-runtime ``HumanReadablePrinter``).

A ``meta.k8s.io/v1`` Table comes from the server with every column; the printer hides priority
columns unless ``-o wide``, upper-cases the headers, prefixes ``NAMESPACE`` (``-A``), appends
``-L`` label columns and ``LABELS`` (``--show-labels``), writes ``kind/name`` in the name column
when several kinds are printed, and an ``EVENT`` column for ``--output-watch-events``. Headers are
printed once per set of column definitions: watch events carry them only in their first Table, the
later ones reuse the last (``decorateTable`` / ``printTable``). Output goes through kubectl's
tabwriter settings (minwidth 6, padding 3, remembered widths).
"""

from __future__ import annotations

from typing import Any

from podbay.cli.tabwriter import TabWriter

Obj = dict[str, Any]
_BREAK = "\f\n\r"
_EVENT_TYPES = {"ADDED": "ADDED   ", "MODIFIED": "MODIFIED", "DELETED": "DELETED ", "ERROR": "ERROR   "}


def new_tabwriter() -> TabWriter:
    """printers.GetNewTabWriter."""
    return TabWriter(minwidth=6, padding=3, remember_widths=True)


def format_labels(labels: dict[str, str] | None) -> str:
    """labels.FormatLabels: sorted ``k=v`` joined by commas, ``<none>`` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def cell_text(cell: Any) -> str:
    """A cell as Go's fmt.Sprint shows it; strings stop at the first line break (plus ``...``)."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        for i, ch in enumerate(cell):
            if ch in _BREAK:
                return _escape(cell[:i]) + "..."
        return _escape(cell)
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, float):
        return go_float(cell)
    if isinstance(cell, list):
        return "[" + " ".join(cell_text(c) for c in cell) + "]"
    if isinstance(cell, dict):
        return "map[" + " ".join(f"{k}:{cell_text(cell[k])}" for k in sorted(cell)) + "]"
    return _escape(str(cell))


def go_float(f: float) -> str:
    """fmt's %v of a float64: shortest digits, exponent form below 1e-4 or from 1e+06 on."""
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    sign = "-" if f < 0 else ""
    r = repr(abs(f))
    mant, _, e = r.partition("e")
    intpart, _, frac = mant.partition(".")
    every = intpart + frac
    lead = len(every) - len(every.lstrip("0"))
    digits = every.strip("0") or "0"
    if digits == "0":
        return sign + "0"
    dp = len(intpart) + int(e or 0) - lead
    exp = dp - 1
    if exp < -4 or exp >= 6:
        m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{m}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return f"{sign}0.{'0' * -dp}{digits}"
    if dp >= len(digits):
        return sign + digits + "0" * (dp - len(digits))
    return f"{sign}{digits[:dp]}.{digits[dp:]}"


def _escape(text: str) -> str:
    """printers.WriteEscaped: terminal escape sequences are shown, not interpreted."""
    return text.replace("\x1b", "^[") if "\x1b" in text else text


class TablePrinter:
    """Prints Tables (lists, single objects, watch events) of ONE resource type."""

    def __init__(self, tw: TabWriter, *, wide: bool = False, with_namespace: bool = False,
                 kind_prefix: str = "", show_labels: bool = False, label_columns: list[str] | None = None,
                 no_headers: bool = False) -> None:
        self.tw = tw
        self.wide = wide
        self.with_namespace = with_namespace
        self.kind_prefix = kind_prefix
        self.show_labels = show_labels
        self.label_columns = list(label_columns or [])
        self.no_headers = no_headers
        self.last_columns: list[Obj] | None = None
        self.printed_headers = False
        self.rows_printed = 0

    def print_table(self, table: Obj, event_type: str = "") -> None:
        columns = list(table.get("columnDefinitions") or [])
        no_headers = self.no_headers
        if self.printed_headers and (not columns or columns == self.last_columns):
            no_headers = True
        if not columns:
            columns = self.last_columns or []
        elif columns != self.last_columns:
            self.last_columns = columns
            self.printed_headers = False
        rows = list(table.get("rows") or [])
        if rows:
            self.printed_headers = True
        else:
            return   # no headers without rows
        visible = [i for i, c in enumerate(columns) if self.wide or not c.get("priority")]
        name_col = next((i for i, c in enumerate(columns) if c.get("format") == "name" and c.get("type") == "string"),
                        -1) if self.kind_prefix else -1
        lines: list[str] = []
        if not no_headers:
            header = [str(columns[i].get("name", "")).upper() for i in visible]
            header = self._decorate_header(header)
            if event_type:
                header.insert(0, "EVENT")
            lines.append("\t".join(header))
        for row in rows:
            cells = row.get("cells") or []
            texts = []
            for i in visible:
                text = cell_text(cells[i]) if i < len(cells) else ""
                if i == name_col:
                    text = f"{self.kind_prefix}/{text}"
                texts.append(text)
            meta = (row.get("object") or {}).get("metadata") or {}
            texts = self._decorate_row(texts, meta)
            if event_type:
                texts.insert(0, _EVENT_TYPES.get(event_type, event_type))
            lines.append("\t".join(texts))
            self.rows_printed += 1
        self.tw.write("".join(line + "\n" for line in lines))

    def _decorate_header(self, header: list[str]) -> list[str]:
        if self.with_namespace:
            header.insert(0, "NAMESPACE")
        header += [label.rsplit("/", 1)[-1].upper() for label in self.label_columns]
        if self.show_labels:
            header.append("LABELS")
        return header

    def _decorate_row(self, texts: list[str], meta: Obj) -> list[str]:
        if self.with_namespace:
            texts.insert(0, str(meta.get("namespace") or ""))
        labels = meta.get("labels") or {}
        texts += [str(labels.get(key, "")) for key in self.label_columns]
        if self.show_labels:
            texts.append(format_labels(labels))
        return texts
