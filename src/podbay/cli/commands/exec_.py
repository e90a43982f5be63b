"""``podbay exec``: run a command in a container (pods/exec over a WebSocket, as kubectl 1.30+)."""

from __future__ import annotations

import sys
from typing import Any

import click

from podbay.cli.context import common, err, settings
from podbay.cli.podpick import choose_container, resolve_pod
from podbay.client.http import pods_path


@click.command("exec", context_settings={"ignore_unknown_options": False})
@click.argument("name")
@click.argument("command_", metavar="COMMAND", nargs=-1, required=True)
@click.option("-c", "--container", default=None)
@click.option("-i", "--stdin", "stdin", is_flag=True)
@click.option("-t", "--tty", is_flag=True)
@common
def command(name: str, command_: tuple[str, ...], container: str | None, stdin: bool, tty: bool) -> None:
    """Execute a command in a container: podbay exec NAME [-c C] [-i] [-t] -- CMD..."""
    from podbay.client.exec_ws import run_exec

    s = settings()
    pod = resolve_pod(name, "exec")
    chosen = choose_container(pod, container, "exec")
    if tty and not (stdin and sys.stdin.isatty()):
        err("Unable to use a TTY - input is not a terminal or the right kind of file")
        tty = False
    query: dict[str, Any] = {
        "command": list(command_), "container": chosen, "stdin": stdin, "stdout": True, "stderr": not tty,
        "tty": tty,
    }
    ns = pod["metadata"].get("namespace") or s.namespace
    code = run_exec(s.socket, pods_path(ns, pod["metadata"]["name"], "exec"), query, stdin=stdin, tty=tty)
    if code:
        err(f"command terminated with exit code {code}")
    sys.exit(code)
