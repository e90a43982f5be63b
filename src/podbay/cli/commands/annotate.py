"""``podbay annotate``: kubectl annotate for every served kind (see ``cli.metaedit``)."""

from __future__ import annotations

from podbay.cli import metaedit

command = metaedit.command("annotate", "annotations", "annotations")
