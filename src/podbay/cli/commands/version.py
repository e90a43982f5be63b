"""``podbay version``: the client's version and the server's ``/version``."""

from __future__ import annotations

import click

from podbay import __version__
from podbay.cli.context import common, out, settings


@click.command("version")
@click.option("--client", "client_only", is_flag=True, help="Client version only.")
@click.option("-o", "--output", default="", type=click.Choice(["", "json", "yaml"]), help="json|yaml")
@common
def command(client_only: bool, output: str) -> None:
    """Print the client and server versions."""
    info = {} if client_only else settings().client().get("/version")
    if output:
        from podbay.cli.output import dump_json, dump_yaml

        doc: dict[str, object] = {"clientVersion": {"gitVersion": __version__}}
        if not client_only:
            doc["serverVersion"] = info
        out(dump_json(doc) if output == "json" else dump_yaml(doc))
        return
    out(f"Client Version: {__version__}\n")
    if not client_only:
        out(f"Server Version: {info.get('gitVersion') or info.get('version') or info}\n")
