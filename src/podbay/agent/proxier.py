"""The proxier: keeps this agent's nftables table in step with Services and EndpointSlices.

As kube-proxy's nftables Proxier: the first sync (and every sync after a failure, and once an hour)
rebuilds the whole table in one transaction, cleaning up what a previous agent left; every other
sync is the incremental transaction between the last applied model and the new one. Syncs are
rate-limited like ``BoundedFrequencyRunner`` (min sync period, burst 2); chains that went away are
flushed at once and deleted a second later (kernels before 6.2); UDP conntrack entries of removed
endpoints are deleted after the rules changed (``conntrack.CleanStaleEntries``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from podbay.core.services import proxyrules as pr
from podbay.errors import PodbayError
from podbay.network.nftables import Netfilter

log = logging.getLogger("podbay.proxier")
STALE_CHAIN_DELAY = 1.0
FULL_SYNC_PERIOD = 3600.0


class Proxier:
    def __init__(self, netfilter: Netfilter, cfg: pr.ProxyConfig, *, min_sync_period: float = 1.0,
                 burst: int = 2, clock: Callable[[], float] = time.monotonic) -> None:
        self.nf = netfilter
        self.cfg = cfg
        self.min_sync_period = min_sync_period
        self.burst = burst
        self.clock = clock
        self._next: tuple[pr.Ruleset, dict[str, tuple[pr.ServicePort, list[pr.Endpoint]]]] = (
            pr.build_ruleset(cfg, [], []), {})
        self._applied: pr.Ruleset | None = None
        self._applied_ports: dict[str, tuple[pr.ServicePort, list[pr.Endpoint]]] = {}
        self._need_full = True
        self._last_full = 0.0
        self._stale: dict[str, float] = {}
        self._tokens = float(burst)
        self._token_time = clock()
        self._dirty = True
        self._gen = 0
        self._synced_once = False
        self._wake = asyncio.Event()
        self.syncs = 0
        self.full_syncs = 0
        self.last_error = ""

    # -- inputs ---------------------------------------------------------------------------------

    def update(self, services: Iterable[Mapping[str, Any]], slices: Iterable[Mapping[str, Any]]) -> None:
        """A new snapshot of every Service and EndpointSlice; the next sync programs it.

        A snapshot that programs what is already applied (a pod event that changed no endpoint, a
        not-ready endpoint added) needs no sync: like kube-proxy's change trackers, which request a
        sync only for pending changes, it spends none of the rate limit's tokens, so the change
        that matters (an endpoint turning terminating) is programmed at once, not a period later."""
        services, slices = list(services), list(slices)
        new = pr.build_ruleset(self.cfg, services, slices)
        ports = pr.port_index(self.cfg, services, slices)
        self._next = (new, ports)
        self._gen += 1
        # Not dirty: no sync pending or running, so `_applied` is what the table holds.
        if not self._dirty and not self._need_full and self._applied == new and \
                not pr.udp_stale_entries(self._applied_ports, ports):
            self._applied_ports = ports
            return
        self._dirty = True
        self._wake.set()

    # -- rate limit -----------------------------------------------------------------------------

    def _take_token(self, now: float) -> float:
        """0 when a sync may run now (and takes the token), else seconds to wait."""
        if self.min_sync_period <= 0:
            return 0.0
        self._tokens = min(float(self.burst), self._tokens + (now - self._token_time) / self.min_sync_period)
        self._token_time = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) * self.min_sync_period

    # -- syncing --------------------------------------------------------------------------------

    def sync(self) -> bool:
        """Program the current snapshot now (no rate limit); False when nft refused it."""
        now = self.clock()
        gen, (new, ports) = self._gen, self._next
        full = self._need_full or self._applied is None or now - self._last_full >= FULL_SYNC_PERIOD
        try:
            if full:
                listing = self.nf.listing(self.cfg.table)
                script = pr.render_full(new, listing.as_existing() if listing else None,
                                        comment=f"rules for podbay ({self.cfg.table})")
                stale = set(listing.chains) - set(new.chains) - {b[0] for b in pr.BASE_CHAINS} if listing else set()
            else:
                assert self._applied is not None
                script = pr.render_diff(self._applied, new)
                stale = pr.removed_chains(self._applied, new)
            self.nf.apply(script)
        except PodbayError as exc:
            self.last_error = str(exc)
            log.warning("nftables sync of %s failed (full resync next): %s", self.cfg.table, exc)
            self._need_full = True
            return False
        self.syncs += 1
        if full:
            self.full_syncs += 1
            self._last_full = now
        self._need_full = False
        if self._gen == gen:  # an update that arrived during the sync keeps it dirty
            self._dirty = False
        self._synced_once = True
        for c in stale:
            self._stale.setdefault(c, now)
        for c in new.chains:
            self._stale.pop(c, None)
        old_ports, self._applied_ports = self._applied_ports, ports
        self._applied = new
        self.last_error = ""
        flushes = pr.udp_stale_entries(old_ports, ports)
        if flushes:
            try:
                self.nf.flush_conntrack(flushes)
            except PodbayError as exc:
                log.warning("conntrack cleanup failed: %s", exc)
        self.delete_stale_chains()
        return True

    def delete_stale_chains(self, force: bool = False) -> None:
        """Delete chains flushed at least STALE_CHAIN_DELAY ago (all of them with force)."""
        now = self.clock()
        due = {c for c, t in self._stale.items() if force or now - t >= STALE_CHAIN_DELAY}
        if not due:
            return
        try:
            self.nf.apply(pr.render_delete_chains(self.cfg.table, due))
        except PodbayError as exc:
            log.warning("deleting stale chains failed (retried later): %s", exc)
            return
        for c in due:
            self._stale.pop(c, None)

    def pending(self) -> bool:
        return self._dirty or bool(self._stale)

    async def run(self, stop: asyncio.Event) -> None:
        """Sync whenever the snapshot changes, at most `burst` times per min sync period; retry
        failures after the period; delete stale chains on time. Never dies from one bad sync."""
        while not stop.is_set():
            if self._dirty:
                wait = self._take_token(self.clock())
                if wait == 0.0:
                    ok = await asyncio.to_thread(self.sync)
                    if not ok:
                        wait = max(self.min_sync_period, 1.0)
                if wait:
                    await self._sleep(stop, wait)
                continue
            if self._stale:
                oldest = min(self._stale.values())
                await self._sleep(stop, max(0.0, oldest + STALE_CHAIN_DELAY - self.clock()))
                await asyncio.to_thread(self.delete_stale_chains)
                continue
            await self._sleep(stop, FULL_SYNC_PERIOD, wake_on_change=True)
            if self.clock() - self._last_full >= FULL_SYNC_PERIOD:
                self._need_full = self._dirty = True

    async def _sleep(self, stop: asyncio.Event, seconds: float, wake_on_change: bool = False) -> None:
        self._wake.clear()
        waiters = [asyncio.ensure_future(stop.wait())]
        if wake_on_change:
            waiters.append(asyncio.ensure_future(self._wake.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in waiters:
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await t

    def cleanup(self) -> bool:
        """Remove the table (agent uninstall); True if it existed."""
        self._applied = None
        self._need_full = True
        self._stale.clear()
        return self.nf.delete_table(self.cfg.table)
