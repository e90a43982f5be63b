"""``podbay logs``: a container's log (pods/log), ``-f`` streams it; ``TYPE/NAME`` of a workload
reads one of its pods."""

from __future__ import annotations

import sys
from typing import Any

import click

from podbay.cli.context import common, settings
from podbay.cli.podpick import choose_container, resolve_pod
from podbay.client.http import pods_path


@click.command("logs")
@click.argument("name")
@click.argument("container_arg", required=False)
@click.option("-c", "--container", default=None)
@click.option("-f", "--follow", is_flag=True)
@click.option("-p", "--previous", is_flag=True)
@click.option("--tail", type=int, default=-1)
@click.option("--timestamps", is_flag=True)
@click.option("--since", "since_", default=None, help="Only newer logs (5s, 2m, 3h).")
@click.option("--limit-bytes", type=int, default=None)
@common
def command(name: str, container_arg: str | None, container: str | None, follow: bool, previous: bool, tail: int,
            timestamps: bool, since_: str | None, limit_bytes: int | None) -> None:
    """Print the logs of a container in a pod (or in a workload's pod: deploy/NAME)."""
    s = settings()
    client = s.client()
    pod = resolve_pod(name, "logs")
    query: dict[str, Any] = {"container": choose_container(pod, container or container_arg, "logs")}
    if follow:
        query["follow"] = True
    if previous:
        query["previous"] = True
    if tail >= 0:
        query["tailLines"] = tail
    if timestamps:
        query["timestamps"] = True
    if since_:
        from podbay.cli.args import parse_duration

        query["sinceSeconds"] = max(1, int(parse_duration(since_)))
    if limit_bytes is not None:
        query["limitBytes"] = limit_bytes
    sink = sys.stdout.buffer
    path = pods_path(pod["metadata"].get("namespace") or s.namespace, pod["metadata"]["name"], "log")
    for chunk in client.stream_chunks(path, query):
        sink.write(chunk)
        sink.flush()
