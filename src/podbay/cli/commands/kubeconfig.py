"""``podbay kubeconfig``: a kubeconfig for kubectl against the agent's TLS listener (access's
``cli.kubeconfig``; loads cryptography and yaml only for this verb)."""

from __future__ import annotations

from pathlib import Path

import click

from podbay.cli.context import out, settings

DEFAULT_ROOT = "/var/lib/podbay"
DEFAULT_RUN_DIR = "/run/podbay"


@click.command("kubeconfig")
@click.option("--server", default=None, help="API URL (default: the agent's TLS listener).")
@click.option("--user", default=None, help="User name (default podbay-admin, group system:masters).")
@click.option("--group", "groups", multiple=True, help="Group of --user (repeatable).")
@click.option("--token", is_flag=True, help="Embed a new bearer token instead of a client certificate.")
@click.option("--root", envvar="PODBAY_ROOT", default=DEFAULT_ROOT, show_default=True, help="State root.")
@click.option("--run-dir", envvar="PODBAY_RUN_DIR", default=DEFAULT_RUN_DIR, show_default=True, help="Run dir.")
def command(server: str | None, user: str | None, groups: tuple[str, ...], token: bool, root: str,
            run_dir: str) -> None:
    """Print a kubeconfig for kubectl (TLS, client certificate or token; needs root)."""
    from podbay.cli import kubeconfig

    s = settings()
    cfg = kubeconfig.build(Path(root), Path(run_dir), server=server, user=user, groups=groups, token=token,
                           namespace=s.namespace if s.namespace_explicit else None)
    out(kubeconfig.render(cfg))
