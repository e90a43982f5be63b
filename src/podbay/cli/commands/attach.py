"""``podbay attach``: the running container's stdio (pods/attach over the v5/v4 channel WebSocket,
the same protocol as exec, so ``client.exec_ws`` carries it)."""

from __future__ import annotations

import sys
from typing import Any

import click

from podbay.cli.context import common, err, settings
from podbay.cli.podpick import choose_container, resolve_pod
from podbay.client.http import pods_path


@click.command("attach")
@click.argument("name")
@click.option("-c", "--container", default=None)
@click.option("-i", "--stdin", "stdin", is_flag=True, help="Pass stdin to the container.")
@click.option("-t", "--tty", is_flag=True, help="Stdin is a TTY.")
@click.option("-q", "--quiet", is_flag=True, help="Only print output from the remote session.")
@common
def command(name: str, container: str | None, stdin: bool, tty: bool, quiet: bool) -> None:
    """Attach to a running container: podbay attach NAME [-c C] [-i] [-t]."""
    from podbay.client.exec_ws import run_exec

    s = settings()
    pod = resolve_pod(name, "attach")
    chosen = choose_container(pod, container, "attach")
    if tty and not (stdin and sys.stdin.isatty()):
        err("Unable to use a TTY - input is not a terminal or the right kind of file")
        tty = False
    if tty and not quiet:
        err("If you don't see a command prompt, try pressing enter.")
    query: dict[str, Any] = {"container": chosen, "stdin": stdin, "stdout": True, "stderr": not tty, "tty": tty}
    ns = pod["metadata"].get("namespace") or s.namespace
    code = run_exec(s.socket, pods_path(ns, pod["metadata"]["name"], "attach"), query, stdin=stdin, tty=tty)
    sys.exit(code)
