"""What every verb shares: the settings (socket, namespace), the client and discovery of this run,
output helpers, the clock, and the options kubectl accepts after any verb (``-n``, ``--socket``).

Imports only click and the stdlib client, so that each verb module pays for what it uses only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from podbay.client.http import ApiClient

DEFAULT_SOCKET = "/run/podbay/podbay.sock"
FOREVER = 7 * 24 * 3600.0  # kubectl's "no timeout" (168h)


def now() -> datetime:
    """The clock used for ages in describe and events (tests replace ``CLOCK``)."""
    return CLOCK()


def _utcnow() -> datetime:
    return datetime.now(UTC)


CLOCK: Callable[[], datetime] = _utcnow


class Settings:
    # A plain class: importing dataclasses costs ~15 ms of CLI start-up (it loads inspect).
    def __init__(self, socket: str = DEFAULT_SOCKET, namespace: str = "default",
                 namespace_explicit: bool = False) -> None:
        self.socket = socket
        self.namespace = namespace
        self.namespace_explicit = namespace_explicit
        self._client: ApiClient | None = None
        self._discovery: Any = None

    def client(self) -> ApiClient:
        if self._client is None or self._client.socket_path != self.socket:
            self._client = ApiClient(self.socket)
            self._discovery = None
        return self._client

    def discovery(self) -> Any:
        """The run's ``cli.discovery.Discovery`` (cached per server on disk)."""
        client = self.client()
        if self._discovery is None:
            from podbay.cli.discovery import Discovery

            self._discovery = Discovery(client)
        return self._discovery


def settings() -> Settings:
    return click.get_current_context().ensure_object(Settings)


def out(text: str) -> None:
    click.echo(text, nl=False)


def err(text: str) -> None:
    click.echo(text, err=True)


def _set_namespace(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        s = ctx.ensure_object(Settings)
        s.namespace, s.namespace_explicit = value, True


def _set_socket(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(Settings).socket = value


def common(f: Callable[..., Any]) -> Callable[..., Any]:
    """``-n`` and ``--socket`` accepted after the verb too, as kubectl does."""
    f = click.option("-n", "--namespace", expose_value=False, callback=_set_namespace, is_eager=True,
                     help="Namespace.")(f)
    f = click.option("--socket", expose_value=False, callback=_set_socket, is_eager=True, help="Agent socket.")(f)
    return f
