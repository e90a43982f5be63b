"""Invoke CNI plugins for pod sandboxes, the way libcni does (synchronous; the agent calls it in a thread)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from podbay.errors import NetworkFailure, RuntimeFailure
from podbay.network import cniconf
from podbay.network.cniconf import NetworkList
from podbay.sys.fileio import atomic_write
from podbay.sys.mount import fs_type_magic
from podbay.sys.run import run

NSFS_MAGIC = 0x6E736673
PLUGIN_TIMEOUT = 60.0
CACHE_MODE = 0o600
CACHE_DIR_MODE = 0o700


class RolledBack(NetworkFailure):
    """ADD failed and its DEL rollback succeeded: nothing of the attachment is left."""


def _unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def netns_usable(path: str | None) -> bool:
    """Whether path is a live pinned namespace (a plain leftover file would make plugins fail)."""
    return bool(path) and fs_type_magic(str(path)) == NSFS_MAGIC


class CniNetwork:
    def __init__(
        self,
        conf_dir: Path,
        plugin_dirs: list[Path],
        cache_dir: Path,
        *,
        bridge: str = "podbay0",
        subnet: str = "10.88.0.0/16",
        network_name: str = "podbay",
    ) -> None:
        self.conf_dir = Path(conf_dir)
        self.plugin_dirs = [Path(p) for p in plugin_dirs]
        self.cache_dir = Path(cache_dir)
        self.bridge = bridge
        self.subnet = subnet
        self.network_name = network_name
        for d in (self.cache_dir / "results", self.cache_dir / "intents"):
            d.mkdir(parents=True, exist_ok=True, mode=CACHE_DIR_MODE)

    # -- configuration ---------------------------------------------------------------------------

    def ensure_config(self) -> NetworkList:
        """Write the default conflist if the dir has no CNI config, then load the first one."""
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        ours = self.conf_dir / "10-podbay.conflist"
        if ours.exists():
            try:
                plugins = [p.get("type") for p in json.loads(ours.read_text()).get("plugins") or []]
            except (ValueError, AttributeError):
                plugins = []
            if plugins == ["bridge"]:       # written by an older podbay: add portmap (hostPort)
                ours.unlink()
        if cniconf.first_config_file(os.listdir(self.conf_dir)) is None:
            conf = cniconf.default_conflist(self.network_name, self.bridge, self.subnet,
                                            str(self.cache_dir / "ipam"))
            atomic_write(self.conf_dir / "10-podbay.conflist",
                          (json.dumps(conf, indent=2) + "\n").encode(), 0o644)
        return self.load_config()

    def load_config(self) -> NetworkList:
        try:
            name = cniconf.first_config_file(os.listdir(self.conf_dir))
        except FileNotFoundError:
            name = None
        if name is None:
            raise NetworkFailure(f"no networks found in {self.conf_dir}: cni plugin not initialized")
        return cniconf.parse_config((self.conf_dir / name).read_bytes(), name)

    # -- plugin execution -----------------------------------------------------------------------

    def _find_plugin(self, ptype: str) -> Path:
        for d in self.plugin_dirs:
            p = d / ptype
            if os.access(p, os.X_OK) and p.is_file():
                return p
        raise NetworkFailure(
            f"failed to find plugin {ptype!r} in path {[str(d) for d in self.plugin_dirs]}", code=50,
        )

    def _exec(
        self, command: str, conf: Mapping[str, Any], container_id: str, netns: str, ifname: str, cni_args: str,
    ) -> dict[str, Any] | None:
        ptype = str(conf["type"])
        env = {
            "CNI_COMMAND": command,
            "CNI_CONTAINERID": container_id,
            "CNI_NETNS": netns,
            "CNI_IFNAME": ifname,
            "CNI_ARGS": cni_args,
            "CNI_PATH": os.pathsep.join(str(d) for d in self.plugin_dirs),
        }
        plugin = self._find_plugin(ptype)
        try:
            done = run([str(plugin)], input=json.dumps(conf), env=env, timeout=PLUGIN_TIMEOUT, check=False)
        except RuntimeFailure as exc:
            raise NetworkFailure(f'plugin type="{ptype}" name="{conf.get("name")}" failed '
                                 f"({command.lower()}): {exc}") from exc
        if done.rc != 0:
            code, msg = cniconf.plugin_error(done.stdout, done.stderr, done.rc)
            raise NetworkFailure(
                f'plugin type="{ptype}" name="{conf.get("name")}" failed ({command.lower()}): {msg}', code=code,
            )
        if command != "ADD":
            return None
        try:
            result = json.loads(done.stdout)
        except ValueError as exc:
            raise NetworkFailure(f'plugin type="{ptype}" returned an unparsable result: {exc}',
                                 code=cniconf.CODE_DECODE) from exc
        if not isinstance(result, dict):
            raise NetworkFailure(f'plugin type="{ptype}" returned a non-object result', code=cniconf.CODE_DECODE)
        return result

    def _del_chain(
        self, net: NetworkList, plugins: tuple[dict[str, Any], ...], prev: dict[str, Any] | None,
        container_id: str, netns: str, ifname: str, cni_args: str, capability_args: Mapping[str, Any],
    ) -> None:
        for plugin in reversed(plugins):
            conf = cniconf.plugin_stdin(plugin, net.name, net.cni_version, prev, capability_args)
            self._exec("DEL", conf, container_id, netns, ifname, cni_args)

    # -- public API -----------------------------------------------------------------------------

    def cache_path(self, network: str, container_id: str, ifname: str = "eth0") -> Path:
        return self.cache_dir / "results" / cniconf.cache_key(network, container_id, ifname)

    def intent_path(self, network: str, container_id: str, ifname: str = "eth0") -> Path:
        """The ADD intent: written before ADD, removed once the result is cached or DEL has run."""
        return self.cache_dir / "intents" / cniconf.cache_key(network, container_id, ifname)

    def add(
        self,
        container_id: str,
        netns_path: str | Path,
        ifname: str = "eth0",
        args: Mapping[str, str] | None = None,
        *,
        capability_args: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Loopback up, then the chain ADD in order; the final result is cached before returning.

        Idempotent across crashes. The CNI spec forbids a second ADD for one attachment without a DEL in
        between (the bridge plugin fails with "eth0 already exists"), and libcni caches the result only
        after ADD succeeded. So an intent (the cache record without a result) is written before ADD: if
        one is found, an earlier ADD never completed -- the agent died between ADD and caching -- and
        DEL runs first, with the intent's config and args and no prevResult, which the spec requires
        every plugin to accept; this is how containerd recovers a sandbox whose set-up did not finish.
        """
        net = self.load_config()
        netns = str(netns_path)
        caps = dict(capability_args or {})
        pairs = cniconf.cni_args_pairs(args or {})
        env_args = cniconf.cni_args_env(pairs)
        intent = self.intent_path(net.name, container_id, ifname)
        if intent.exists():
            self._del_cached(intent, container_id, netns, ifname, net)
        record = cniconf.cache_record(net, container_id, ifname, netns, pairs, caps, None)
        atomic_write(intent, json.dumps(record).encode(), CACHE_MODE)
        # lo and the chain touch different interfaces: bring lo up while the chain runs (saves ~15 ms).
        with ThreadPoolExecutor(max_workers=1) as pool:
            lo = pool.submit(self._exec, "ADD", cniconf.LOOPBACK_CONFIG, container_id, netns, "lo", env_args)
            try:
                prev = self._add_chain(net, container_id, netns, ifname, env_args, caps)
            except RolledBack:
                lo.exception()
                intent.unlink(missing_ok=True)   # the chain was undone: nothing is left to DEL
                raise
            lo.result()
        record = cniconf.cache_record(net, container_id, ifname, netns, pairs, caps, prev)
        atomic_write(self.cache_path(net.name, container_id, ifname), json.dumps(record).encode(), CACHE_MODE)
        intent.unlink(missing_ok=True)
        return prev

    def _add_chain(self, net: NetworkList, container_id: str, netns: str, ifname: str, env_args: str,
                   caps: dict[str, Any]) -> dict[str, Any]:
        prev: dict[str, Any] | None = None
        for i, plugin in enumerate(net.plugins):
            conf = cniconf.plugin_stdin(plugin, net.name, net.cni_version, prev, caps)
            try:
                prev = self._exec("ADD", conf, container_id, netns, ifname, env_args)
            except NetworkFailure as exc:
                # Roll back including the failed plugin: it may have allocated (IPAM, veth) before failing.
                try:
                    self._del_chain(net, net.plugins[: i + 1], prev, container_id, netns, ifname, env_args, caps)
                except NetworkFailure:
                    # The ADD error is the one worth reporting; the intent kept makes the next ADD DEL first.
                    raise exc from None
                raise RolledBack(str(exc), code=exc.code) from exc
        assert prev is not None
        return prev

    def delete(self, container_id: str, netns_path: str | Path | None, ifname: str = "eth0") -> None:
        """DEL in reverse with the cached result (or the ADD intent); works with the netns or the cache
        gone; idempotent."""
        try:
            current: NetworkList | None = self.load_config()
        except NetworkFailure:
            current = None  # config removed since ADD: the cache alone can still tear down
        name = current.name if current else self.network_name
        path = self.cache_path(name, container_id, ifname)
        intent = self.intent_path(name, container_id, ifname)
        netns = str(netns_path) if netns_path is not None and netns_usable(str(netns_path)) else ""
        self._del_cached(path if path.exists() or not intent.exists() else intent, container_id, netns, ifname,
                         current)
        for p in (path, intent):
            p.unlink(missing_ok=True)

    def _del_cached(self, path: Path, container_id: str, netns: str, ifname: str,
                    current: NetworkList | None) -> None:
        """DEL the attachment a cache record (result or intent) at path describes; then drop the record."""
        cached_net, cached_result = None, None
        args_pairs: list[tuple[str, str]] = [("IgnoreUnknown", "1")]
        caps: dict[str, Any] = {}
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = b""
        if data:
            cached_net, cached_result = cniconf.parse_cache(data)
            try:
                rec = json.loads(data)
                args_pairs = [(str(k), str(v)) for k, v in rec.get("cniArgs") or []] or args_pairs
                caps = dict(rec.get("capabilityArgs") or {})
            except (ValueError, TypeError, AttributeError):
                pass
        # Tear down what was set up: the cached config wins over a config changed since ADD.
        net = cached_net or current
        if net is None:
            raise NetworkFailure(f"no networks found in {self.conf_dir} and no cached result for {container_id}")
        if netns and not netns_usable(netns):
            netns = ""
        env_args = cniconf.cni_args_env(args_pairs)
        self._del_chain(net, net.plugins, cached_result, container_id, netns, ifname, env_args, caps)
        if netns:
            self._exec("DEL", cniconf.LOOPBACK_CONFIG, container_id, netns, "lo", env_args)
        path.unlink(missing_ok=True)

    def result(self, container_id: str, ifname: str = "eth0") -> dict[str, Any] | None:
        try:
            name = self.load_config().name
        except NetworkFailure:
            name = self.network_name
        try:
            data = self.cache_path(name, container_id, ifname).read_bytes()
        except FileNotFoundError:
            return None
        return cniconf.parse_cache(data)[1]

    def forget(self, container_id: str, ifname: str = "eth0") -> None:
        """Drop the cached ADD result (and intent) without running DEL (after a reboot the attachment is
        gone anyway)."""
        try:
            name = self.load_config().name
        except NetworkFailure:
            name = self.network_name
        self.cache_path(name, container_id, ifname).unlink(missing_ok=True)
        self.intent_path(name, container_id, ifname).unlink(missing_ok=True)

    pod_ips = staticmethod(cniconf.pod_ips)

    def remove_bridge(self) -> bool:
        """Delete the bridge (CNI DEL never does); False if it did not exist."""
        if run(["ip", "link", "show", "dev", self.bridge], check=False).rc != 0:
            return False
        run(["ip", "link", "del", "dev", self.bridge])
        return True
