"""nftables and conntrack for the service data path: the port, its real adapter and an in-memory fake.

The real adapter feeds scripts to ``nft -f -`` (one atomic transaction each) and reads the table
back with ``nft -j list table``; conntrack entries are deleted with ``conntrack -D``. The bridge
netfilter switch the data path needs (``net.bridge.bridge-nf-call-iptables``: replies between two
pods on one bridge must pass conntrack to be un-DNATed) is checked and set here too: this kernel
has br_netfilter built in, so the sysctl is the whole story (no module to load).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from podbay.core.services.proxyrules import ConntrackFlush
from podbay.errors import NetworkFailure, RuntimeFailure
from podbay.sys.run import run

BRIDGE_NF_CALL = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


@dataclass(frozen=True)
class TableListing:
    """Names in the table as found (`nft -j list table`): what a full sync must clean up."""

    chains: frozenset[str] = frozenset()
    sets: frozenset[str] = frozenset()
    maps: frozenset[str] = frozenset()
    rules: int = 0

    def as_existing(self) -> dict[str, frozenset[str]]:
        return {"chains": self.chains, "sets": self.sets, "maps": self.maps}


def parse_listing(text: str) -> TableListing:
    """The names of chains, sets and maps in `nft -j list table` output."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise NetworkFailure(f"nft -j: unparsable output: {exc}") from exc
    chains, sets, maps = set(), set(), set()
    rules = 0
    for item in doc.get("nftables") or []:
        if "chain" in item:
            chains.add(str(item["chain"]["name"]))
        elif "set" in item:
            sets.add(str(item["set"]["name"]))
        elif "map" in item:
            maps.add(str(item["map"]["name"]))
        elif "rule" in item:
            rules += 1
    return TableListing(frozenset(chains), frozenset(sets), frozenset(maps), rules)


class Netfilter(Protocol):
    """The port the proxier uses."""

    def apply(self, script: str) -> None: ...

    def listing(self, table: str) -> TableListing | None: ...

    def delete_table(self, table: str) -> bool: ...

    def flush_conntrack(self, entries: list[ConntrackFlush]) -> None: ...


def conntrack_argv(e: ConntrackFlush) -> list[str]:
    """`conntrack -D` as kube-proxy's ClearEntriesForIP / ForNAT / ForPort / ForPortNAT run it."""
    argv = ["conntrack", "-D", "-p", e.protocol]
    if e.orig_dst:
        argv += ["--orig-dst", e.orig_dst]
    if e.dport:
        argv += ["--dport", str(e.dport)]
    if e.dst_nat:
        argv += ["--dst-nat", e.dst_nat]
    return argv


class NftCommand:
    """The real adapter: the nft and conntrack binaries."""

    def __init__(self, nft: str = "nft", conntrack: str = "conntrack") -> None:
        self.nft = nft
        self.conntrack = conntrack

    def apply(self, script: str) -> None:
        if not script.strip():
            return
        try:
            run([self.nft, "-f", "-"], input=script, timeout=30)
        except RuntimeFailure as exc:
            raise NetworkFailure(f"nft transaction failed: {exc.stderr.strip()[-800:] or exc}") from exc

    def listing(self, table: str) -> TableListing | None:
        done = run([self.nft, "-j", "list", "table", "ip", table], check=False, timeout=30)
        if done.rc != 0:
            if "No such file or directory" in done.stderr:
                return None
            raise NetworkFailure(f"nft list table ip {table} failed: {done.stderr.strip()[-500:]}")
        return parse_listing(done.stdout)

    def delete_table(self, table: str) -> bool:
        done = run([self.nft, "delete", "table", "ip", table], check=False, timeout=30)
        if done.rc != 0 and "No such file or directory" not in done.stderr:
            raise NetworkFailure(f"nft delete table ip {table} failed: {done.stderr.strip()[-500:]}")
        return done.rc == 0

    def flush_conntrack(self, entries: list[ConntrackFlush]) -> None:
        for e in entries:
            argv = conntrack_argv(e)
            argv[0] = self.conntrack
            # rc 1 with "0 flow entries have been deleted" is the usual, harmless answer.
            run(argv, check=False, timeout=10)


@dataclass
class FakeNetfilter:
    """In-memory double: records scripts, tracks the table's names like nft would."""

    scripts: list[str] = field(default_factory=list)
    tables: dict[str, TableListing] = field(default_factory=dict)
    flushed: list[ConntrackFlush] = field(default_factory=list)
    fail_next: str = ""

    def apply(self, script: str) -> None:
        if self.fail_next:
            msg, self.fail_next = self.fail_next, ""
            raise NetworkFailure(msg)
        if not script.strip():
            return
        self.scripts.append(script)
        for line in script.splitlines():
            words = line.split()
            if len(words) < 5 or words[2] != "ip":
                if len(words) >= 4 and words[:2] == ["delete", "table"]:
                    self.tables.pop(words[3], None)
                continue
            verb, kind, table, name = words[0], words[1], words[3], words[4]
            t = self.tables.setdefault(table, TableListing())
            if kind in ("chain", "set", "map"):
                attr = kind + "s"
                names = set(getattr(t, attr))
                if verb == "add":
                    names.add(name)
                elif verb == "delete":
                    names.discard(name)
                self.tables[table] = TableListing(**{**t.__dict__, attr: frozenset(names)})
        for line in script.splitlines():
            words = line.split()
            if len(words) >= 4 and words[0] == "add" and words[1] == "table":
                self.tables.setdefault(words[3], TableListing())

    def listing(self, table: str) -> TableListing | None:
        return self.tables.get(table)

    def delete_table(self, table: str) -> bool:
        return self.tables.pop(table, None) is not None

    def flush_conntrack(self, entries: list[ConntrackFlush]) -> None:
        self.flushed += entries


def ensure_bridge_netfilter(path: Path = BRIDGE_NF_CALL) -> bool:
    """Make bridged IPv4 traffic pass the ip hooks; False where the kernel lacks br_netfilter."""
    try:
        if path.read_text().strip() != "1":
            path.write_text("1\n")
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise NetworkFailure(f"cannot enable {path}: {exc}") from exc
