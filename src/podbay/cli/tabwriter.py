"""A port of Go's text/tabwriter (the elastic-tabstop algorithm kubectl prints with).

Cells end with a tab; the text after a line's last tab is not aligned. A column block is a run of
consecutive lines that all have a cell in that column, so a line without tabs breaks alignment,
exactly like kubectl's output (``get`` uses minwidth 6 / padding 3, ``describe`` 0 / 2).
"""

from __future__ import annotations


class TabWriter:
    """Collects text and aligns it on ``flush()``; ``remember_widths`` keeps widths across flushes."""

    def __init__(self, minwidth: int = 0, padding: int = 2, remember_widths: bool = False) -> None:
        self.minwidth = minwidth
        self.padding = padding
        self.remember_widths = remember_widths
        self._buf: list[str] = []
        self._remembered: list[int] = []

    def write(self, text: str) -> None:
        self._buf.append(text)

    def flush(self) -> str:
        """Return the aligned text written since the last flush."""
        text = "".join(self._buf)
        self._buf = []
        if not text:
            return ""
        raw = text.split("\n")
        trailing = raw[-1]
        lines = [line.split("\t") for line in raw[:-1]]
        out: list[str] = []
        self._format(out, lines, 0, len(lines), [])
        if trailing:
            out.append(trailing)
        return "".join(out)

    def _format(self, out: list[str], lines: list[list[str]], line0: int, line1: int, widths: list[int]) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            self._write_lines(out, lines, line0, this, widths)
            line0 = this
            width = self.minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + self.padding)
                this += 1
            if self.remember_widths:
                while len(self._remembered) <= column:
                    self._remembered.append(0)
                width = max(width, self._remembered[column])
                self._remembered[column] = width
            self._format(out, lines, line0, this, [*widths, width])
            line0 = this
        self._write_lines(out, lines, line0, line1, widths)

    @staticmethod
    def _write_lines(out: list[str], lines: list[list[str]], line0: int, line1: int, widths: list[int]) -> None:
        for cells in lines[line0:line1]:
            for j, cell in enumerate(cells):
                out.append(cell)
                if j < len(widths) and j < len(cells) - 1:
                    out.append(" " * (widths[j] - len(cell)))
            out.append("\n")


def tabulate(text: str, minwidth: int = 0, padding: int = 2) -> str:
    """Align ``text`` in one go."""
    tw = TabWriter(minwidth, padding)
    tw.write(text)
    return tw.flush()
