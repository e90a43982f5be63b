"""The strategies of the simple kinds: Node, Event, ServiceAccount, Lease."""

from __future__ import annotations

from podbay.agent.strategies import Plain, Strategy


def node_strategy() -> Strategy:
    return Plain(namespaced=False, has_status=True)


def event_strategy() -> Strategy:
    return Plain(create_on_update=True)


def service_account_strategy() -> Strategy:
    return Plain()


def lease_strategy() -> Strategy:
    return Plain(create_on_update=True)
