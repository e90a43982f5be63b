"""``podbay doctor``: can this host run pods (podbay.host.doctor)."""

from __future__ import annotations

import sys

import click


@click.command("doctor", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
def command(argv: tuple[str, ...]) -> None:
    """Check that this host can run pods."""
    from podbay.host.doctor import main as doctor_main

    sys.exit(int(doctor_main(list(argv)) or 0))
