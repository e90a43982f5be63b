"""``podbay port-forward TYPE/NAME [LOCAL:]REMOTE...``: local ports forwarded into a pod (pods/portforward).

A Service, Deployment or other workload picks one of its pods (``cli.podpick``); a Service port is
translated to its pod's target port (a named target port by the container's port name), as kubectl's
``translateServicePortToTargetPort``. ``:REMOTE`` takes a free local port. kubectl's output lines:
``Forwarding from 127.0.0.1:8080 -> 80`` (and ``[::1]``), ``Handling connection for 8080``.
"""

from __future__ import annotations

import threading
from typing import Any

import click

from podbay.cli.context import common, err, out, settings
from podbay.cli.errors import fail
from podbay.client.http import pods_path

Obj = dict[str, Any]


def parse_ports(specs: tuple[str, ...]) -> list[tuple[int, int]]:
    """``8080:80`` / ``80`` / ``:80`` -> (local, remote); local 0 means any free port."""
    out_: list[tuple[int, int]] = []
    for spec in specs:
        local_s, sep, remote_s = spec.partition(":")
        if not sep:
            local_s, remote_s = spec, spec
        try:
            local = int(local_s) if local_s else 0
            remote = int(remote_s)
        except ValueError:
            raise fail(f"Error parsing local port '{local_s}': invalid port spec {spec!r}") from None
        if not 0 <= local <= 65535 or not 0 < remote <= 65535:
            raise fail(f"invalid port spec {spec!r}")
        out_.append((local, remote))
    return out_


def _container_port(pod: Obj, name: str) -> int | None:
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == name:
                return int(p["containerPort"])
    return None


def translate_service_port(svc: Obj, pod: Obj, port: int) -> int:
    """translateServicePortToTargetPort."""
    for sp in (svc.get("spec") or {}).get("ports") or []:
        if int(sp.get("port", 0)) != port:
            continue
        target = sp.get("targetPort", port)
        if isinstance(target, int) or str(target).isdigit():
            return int(target)
        found = _container_port(pod, str(target))
        if found is None:
            raise fail(f"Pod '{pod['metadata']['name']}' does not have a named port '{target}'")
        return found
    raise fail(f"Service {svc['metadata']['name']} does not have a service port {port}")


@click.command("port-forward")
@click.argument("target")
@click.argument("ports", nargs=-1, required=True)
@click.option("--address", "addresses", default="localhost",
              help="Addresses to listen on (comma separated; localhost = 127.0.0.1 and ::1).")
@common
def command(target: str, ports: tuple[str, ...], addresses: str) -> None:
    """Forward one or more local ports to a pod: podbay port-forward pod/web 8080:80."""
    from podbay.cli.podpick import resolve_pod
    from podbay.client.portforward_ws import Listener

    s = settings()
    pod = resolve_pod(target if "/" in target else f"pod/{target}", "port-forward")
    pairs = parse_ports(ports)
    if target.split("/", 1)[0].lower() in ("svc", "service", "services"):
        svc = s.client().get(f"/api/v1/namespaces/{s.namespace}/services/{target.split('/', 1)[1]}")
        pairs = [(local, translate_service_port(svc, pod, remote)) for local, remote in pairs]
    phase = (pod.get("status") or {}).get("phase")
    if phase != "Running":
        raise fail(f"unable to forward port because pod is not running. Current status={phase}")
    ns = pod["metadata"].get("namespace") or s.namespace
    path = pods_path(ns, pod["metadata"]["name"], "portforward")
    hosts = ["127.0.0.1", "::1"] if addresses == "localhost" else [a.strip() for a in addresses.split(",") if a.strip()]
    listeners = []

    def connection(port: int) -> None:
        out(f"Handling connection for {port}\n")

    def error(message: str) -> None:
        err(f"error: {message}")

    for local, remote in pairs:
        bound = local
        for host in hosts:
            try:
                lst = Listener(s.socket, path, host, bound, remote, connection, error)
            except OSError as e:
                if host == "::1" and addresses == "localhost":
                    continue   # no IPv6 loopback here: kubectl goes on with IPv4 only
                raise fail(f"unable to listen on port {bound}: {e.strerror}") from None
            bound = lst.port   # a random local port is the same on every address
            listeners.append(lst)
            shown = f"[{host}]" if ":" in host else host
            out(f"Forwarding from {shown}:{lst.port} -> {remote}\n")
    threads = [threading.Thread(target=lst.serve, daemon=True) for lst in listeners]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    finally:
        for lst in listeners:
            lst.close()
