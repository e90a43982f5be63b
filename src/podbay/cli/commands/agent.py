"""``podbay agent``: started by the ``podbay`` executable (podbay.entry) before click loads."""

from __future__ import annotations

import click

from podbay.cli.errors import fail


@click.command("agent", context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                          "help_option_names": []})
@click.argument("argv", nargs=-1, type=click.UNPROCESSED)
def command(argv: tuple[str, ...]) -> None:
    """Run the podbay agent (needs root; `podbay agent --help` lists its options)."""
    # Reaching this command means the CLI module was run directly, which cannot load the agent stack.
    raise fail("start the agent with the podbay executable: podbay agent " + " ".join(argv))
