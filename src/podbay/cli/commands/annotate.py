"""``podbay annotate``: kubectl annotate for every served kind (see ``cli.metaedit``)."""

from __future__ import annotations

import click

from podbay.cli import metaedit
from podbay.cli.context import common


@click.command("annotate")
@click.argument("args", nargs=-1)
@click.option("--overwrite", is_flag=True, help="Allow replacing an existing value.")
@click.option("-l", "--selector", default=None)
@click.option("--all", "all_", is_flag=True)
@click.option("-A", "--all-namespaces", is_flag=True)
@click.option("-f", "--filename", "files", multiple=True)
@click.option("--resource-version", default=None, help="Only if the object is still at this resourceVersion.")
@click.option("--dry-run", default="none", type=click.Choice(["none", "client", "server"]))
@click.option("-o", "--output", default="")
@common
def command(args: tuple[str, ...], overwrite: bool, selector: str | None, all_: bool, all_namespaces: bool,
            files: tuple[str, ...], resource_version: str | None, dry_run: str, output: str) -> None:
    """Update the annotations of resources: TYPE NAME KEY=VAL... (KEY- removes)."""
    metaedit.run("annotations", "annotate", args, overwrite=overwrite, selector=selector, all_=all_,
                 all_namespaces=all_namespaces, files=files, resource_version=resource_version, dry_run=dry_run,
                 output=output)
