#!/usr/bin/env python3
"""Write the README's "not supported" list, grouped by kind (Pod first), from the support table
(src/podbay/api/support.py)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from podbay.api.support import readme_lines  # noqa: E402

BEGIN, END = "<!-- support-table:begin -->", "<!-- support-table:end -->"


def main() -> int:
    readme = REPO / "README.md"
    text = readme.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + BEGIN + "\n" + "\n".join(readme_lines()) + "\n" + END + tail)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
