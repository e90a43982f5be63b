"""Composition root: build the adapters, adopt stored pods, serve the API on a root-only Unix socket.

Stopping the agent (SIGTERM, or even SIGKILL) leaves pods running: conmon lives in its own cgroup and
session, and a restarted agent adopts every stored pod without restarting its containers. A stop is
bounded: blocking work still running in threads after STOP_GRACE_SECONDS is abandoned (the process
exits as after a crash, which the next start repairs) instead of holding the agent up.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from podbay.agent.config import AgentConfig
from podbay.agent.deps import Deps
from podbay.agent.hub import Hub
from podbay.agent.image_gc import image_gc_loop
from podbay.agent.image_puller import add_image_flags, build_image_manager, image_options
from podbay.agent.pods import PodService
from podbay.agent.stats import summary
from podbay.api.quantity import to_bytes
from podbay.core.ocispec import caps_from_mask
from podbay.errors import PermanentError, PodbayError
from podbay.host.hostprep import choose_runtime, host_rlimit_nofile
from podbay.images.store import ImageStore
from podbay.network.cni import CniNetwork
from podbay.runtime.oci import OciRuntime
from podbay.runtime.service import ContainerRuntime
from podbay.server.access import Access, build_access, start_listener, stop_listener
from podbay.server.access import install as install_access
from podbay.server.tls import IN_CLUSTER_PORT
from podbay.store.db import Store
from podbay.sys import children
from podbay.sys.mount import make_rshared, mounts_under, umount

log = logging.getLogger("podbay.agent")
PR_SET_CHILD_SUBREAPER = 36
STOP_GRACE_SECONDS = 5.0
IO_THREAD_PREFIX = "podbay-io"


def _max_pods(n: int, subnet: str) -> int:
    """kubelet --max-pods; more pods than the pod subnet has addresses could never all start."""
    import ipaddress

    if n < 1:
        raise PermanentError(f"--max-pods must be at least 1, not {n}")
    try:
        hosts = ipaddress.ip_network(subnet, strict=False).num_addresses - 3   # network, gateway, broadcast
    except ValueError:
        return n   # the subnet itself is reported where it is used
    if n > hosts:
        raise PermanentError(f"--max-pods {n}: the pod subnet {subnet} has room for {hosts} pods "
                             "(pass a larger --subnet)")
    return n


def config_from_options(opts: dict[str, Any]) -> AgentConfig:
    kw: dict[str, Any] = {}
    for key, conv in (("root", Path), ("run_dir", Path), ("socket", Path), ("cni_conf_dir", Path)):
        if opts.get(key):
            kw[key] = conv(opts[key])
    for key in ("runtime", "subnet", "bridge", "node_name", "service_cidr", "service_node_port_range",
                "cluster_domain"):
        if opts.get(key):
            kw[key] = str(opts[key])
    if opts.get("nodeport_addresses"):
        kw["nodeport_addresses"] = tuple(a for v in opts["nodeport_addresses"] for a in str(v).split(",") if a)
    if opts.get("no_services"):
        kw["services"] = False
    if opts.get("service_cidr") or opts.get("service_node_port_range"):
        from podbay.core.services.allocation import ServiceNetwork

        try:
            ServiceNetwork.from_flags(kw.get("service_cidr", "10.96.0.0/12"),
                                      kw.get("service_node_port_range", "30000-32767"))
        except ValueError as exc:
            raise PermanentError(str(exc)) from None
    if opts.get("container_log_max_size"):
        kw["container_log_max_size"] = to_bytes(opts["container_log_max_size"])
    if opts.get("container_log_max_files"):
        if int(opts["container_log_max_files"]) < 2:
            raise PermanentError("--container-log-max-files must be at least 2 (as the kubelet requires)")
        kw["container_log_max_files"] = int(opts["container_log_max_files"])
    if opts.get("max_pods") is not None:
        kw["max_pods"] = _max_pods(int(opts["max_pods"]), str(kw.get("subnet", AgentConfig.subnet)))
    if opts.get("container_log_monitor_interval"):
        kw["container_log_monitor_seconds"] = float(opts["container_log_monitor_interval"])
    if opts.get("allowed_host_path"):
        for prefix in opts["allowed_host_path"]:
            if not os.path.isabs(prefix):
                raise PermanentError(f"--allowed-host-path must be an absolute path, not {prefix}")
        kw["allowed_host_paths"] = tuple(opts["allowed_host_path"])
    if opts.get("seccomp_profile_root"):
        root = Path(opts["seccomp_profile_root"])
        if not root.is_absolute():
            raise PermanentError(f"--seccomp-profile-root must be an absolute path, not {root}")
        kw["seccomp_profile_root"] = root
    # access: --listen, --tls-san, --token-auth-file
    if opts.get("listen"):
        kw["listen"] = str(opts["listen"])
    if opts.get("tls_san"):
        kw["tls_sans"] = tuple(opts["tls_san"])
    if opts.get("token_auth_file"):
        kw["token_auth_files"] = tuple(opts["token_auth_file"])
    kw.update(image_options(opts))   # images lane
    return AgentConfig(**kw)


def _node_allocatable() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 1 << 30


def _host_ip() -> str:
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing address
        return str(s.getsockname()[0])
    return "127.0.0.1"


def _host_caps() -> tuple[str, ...] | None:
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return caps_from_mask(int(line.split()[1], 16))
    return None


def _runtime_binary(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise PermanentError(f"OCI runtime {name!r} not found (apt-get install -y {name})")
    return path


def build_deps(cfg: AgentConfig) -> Deps:
    for d in (cfg.root, cfg.run_dir):
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(d, 0o700)
    # Volumes live below the root: a shared root lets HostToContainer/Bidirectional propagation work.
    if make_rshared(str(cfg.root)):
        (cfg.run_dir / "root-self-bind").write_text(str(cfg.root))
    runtime_name = cfg.runtime or choose_runtime()
    oci = OciRuntime(_runtime_binary(runtime_name), cfg.run_dir / "runtime" / runtime_name)
    runtime = ContainerRuntime(oci, cfg.conmon, cfg.root / "containers", cfg.run_dir / "exits",
                               cfg.run_dir / "attach")
    network = CniNetwork(cfg.cni_conf, list(cfg.cni_plugin_dirs), cfg.root / "cni", bridge=cfg.bridge,
                         subnet=cfg.subnet)
    network.ensure_config()
    soft, hard = host_rlimit_nofile()
    nofile = (min(1048576, hard), min(1048576, hard))
    store = Store(cfg.root / "state.db")
    images = ImageStore(cfg.root / "images")
    return Deps(cfg=cfg, store=store, hub=Hub(start_rv=store.current_rv()), images=images,
                network=network, runtime=runtime, node_allocatable=_node_allocatable(), host_ip=_host_ip(),
                nofile=nofile, host_caps=_host_caps(), image_manager=build_image_manager(cfg, images))


async def serve(cfg: AgentConfig, ready: asyncio.Event | None = None) -> None:
    from aiohttp import web

    from podbay.server.app import AUTHENTICATOR, RUNNER_ARGS, build_app

    # As subreaper the agent inherits conmon monitors and what `crun exec` leaves: reap them all.
    uninstall_reaper = children.install(asyncio.get_running_loop())
    deps = await asyncio.to_thread(build_deps, cfg)
    deps.hub.attach(asyncio.get_running_loop())
    parts = await assemble(deps)
    pods = parts.pods
    image_gc = asyncio.create_task(image_gc_loop(deps), name="image-gc")   # images lane
    app = build_app(parts.api, stats=lambda: asyncio.to_thread(summary, deps, pods.evictions),
                    health={"store": lambda: _store_ok(deps)})
    access = parts.access
    assert access is not None
    app[AUTHENTICATOR] = access.authenticate   # access: certificates, tokens, ServiceAccount JWTs
    runner = web.AppRunner(app, access_log=None, handle_signals=False, handler_cancellation=True,
                           shutdown_timeout=2.0, **RUNNER_ARGS)
    await runner.setup()
    try:
        await start_listener(runner, access, cfg)   # access: the TLS sites
    except BaseException:
        image_gc.cancel()
        if deps.image_manager is not None:
            deps.image_manager.close()
        await runner.cleanup()
        await parts.stop()
        deps.store.close()
        uninstall_reaper()
        raise
    sock_path = cfg.socket_path
    sock_path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        sock_path.unlink()
    old = os.umask(0o177)  # the socket is root-only from the moment it exists
    try:
        site = web.UnixSite(runner, str(sock_path))
        await site.start()
    finally:
        os.umask(old)
    os.chmod(sock_path, 0o600)
    log.info("podbay agent serving on %s (runtime %s)", sock_path, deps.runtime.oci.name)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        image_gc.cancel()
        if deps.image_manager is not None:
            deps.image_manager.close()
        await runner.cleanup()
        stop_listener(cfg, access)
        await parts.stop()
        deps.store.close()
        _release_root_bind(cfg)
        with contextlib.suppress(FileNotFoundError):
            sock_path.unlink()
        uninstall_reaper()


def _store_ok(deps: Deps) -> bool:
    try:
        deps.store.current_rv()
    except Exception:
        return False
    return True


class Assembly:
    """The running parts of one agent (what serve() starts and stops)."""

    def __init__(self, api: Any, pods: PodService, node: Any, namespaces: Any, claims: Any,
                 services: Any = None, access: Access | None = None, controllers: Any = None) -> None:
        self.api = api
        self.pods = pods
        self.node = node
        self.namespaces = namespaces
        self.claims = claims
        self.services = services
        self.access = access
        self.controllers = controllers

    async def stop(self) -> None:
        if self.controllers is not None:
            await self.controllers.stop()
        if self.services is not None:
            # The nftables table stays: running pods keep their Services until `podbay agent --cleanup`.
            await self.services.stop()
        await self.node.stop()
        await self.namespaces.stop()
        await self.pods.stop()
        await self.claims.drain()


async def assemble(deps: Deps) -> Assembly:
    """Registry, controllers, pod workers and the API object, started in order: the namespaces
    exist before anything is served, the node registers itself, stored pods are adopted."""
    from podbay.agent.claims import ClaimService
    from podbay.agent.metrics import Metrics
    from podbay.agent.namespaces import NamespaceController
    from podbay.agent.node import NodeAgent, host_facts, runtime_binary
    from podbay.agent.wiring import build_registry
    from podbay.server import exec as exec_api
    from podbay.server import logs as logs_api
    from podbay.server.rest import Api

    cfg = deps.cfg
    from podbay.core.services.allocation import ServiceNetwork

    service_net = ServiceNetwork.from_flags(cfg.service_cidr, cfg.service_node_port_range)
    registry = build_registry(deps.repo, cfg.node_name, cfg.root, service_net=service_net)
    namespaces = NamespaceController(registry, deps.hub)
    namespaces.ensure()
    # access: PKI, ServiceAccount tokens (projected volumes need them before pods are adopted)
    access = await asyncio.to_thread(build_access, cfg, registry, deps.hub)
    deps.service_accounts = access.service_accounts
    claims = ClaimService(deps.repo, deps.hub, cfg.root)
    pods = PodService(deps)
    pods.attach()
    await pods.start()
    facts = await asyncio.to_thread(host_facts, cfg.node_name, cfg.root, deps.host_ip, deps.node_allocatable,
                                    runtime_binary(deps.runtime.oci.name), cfg.max_pods)
    node = NodeAgent(registry, facts)
    node.register()
    node.start()
    controllers = start_controllers(registry, deps)
    api = Api(registry, deps.hub)
    from podbay.server import scale as scale_api

    for group, plural in (("apps", "deployments"), ("apps", "replicasets"), ("apps", "statefulsets"),
                          ("", "replicationcontrollers")):
        api.connect[(group, plural, "scale")] = scale_api.handler(registry)
    api.connect[("", "pods", "log")] = lambda req, rt, route: logs_api.handle(req, pods, route.namespace or "",
                                                                               route.name)
    api.connect[("", "pods", "exec")] = lambda req, rt, route: exec_api.handle(req, pods, route.namespace or "",
                                                                                route.name)
    install_access(api, registry, pods, access)   # access: attach, portforward, token, reviews, admission
    metrics = Metrics(deps.repo, deps.store, cfg.node_name, cfg.pod_cgroup)

    async def pod_metrics(rt: Any, ns: str | None, name: str | None) -> list[dict[str, Any]]:
        wanted = [s.obj for s in deps.repo.list("Pod", ns) if name is None or s.name == name]
        return await metrics.pod_metrics(wanted)

    async def node_metrics(rt: Any, ns: str | None, name: str | None) -> list[dict[str, Any]]:
        return [m for m in await metrics.node_metrics() if name is None or m["metadata"]["name"] == name]

    api.computed[("metrics.k8s.io", "pods")] = pod_metrics
    api.computed[("metrics.k8s.io", "nodes")] = node_metrics
    services = start_services(deps, registry, service_net) if cfg.services else None
    from podbay.api.resources import PROXY_VERBS, Subresource
    from podbay.server import proxy as proxy_api

    if registry.table.by_path("", "v1", "pods") is not None and \
            registry.table.by_path("", "v1", "pods").subresource("proxy") is None:  # type: ignore[union-attr]
        registry.table.add_subresource("", "v1", "pods", Subresource("proxy", "PodProxyOptions", PROXY_VERBS))
    api.connect[("", "services", "proxy")] = proxy_api.make_handler(deps.repo)
    api.connect[("", "pods", "proxy")] = proxy_api.make_handler(deps.repo)
    return Assembly(api, pods, node, namespaces, claims, services, access, controllers)


def start_services(deps: Deps, registry: Any, net: Any) -> Any:
    """The Service data path (nftables), cluster DNS and the endpoint controllers of this agent."""
    from podbay.agent.clusterdns import ClusterDnsService
    from podbay.agent.proxier import Proxier
    from podbay.agent.services import ServiceController, ServiceSettings
    from podbay.core.services.proxyrules import ProxyConfig
    from podbay.network.nftables import NftCommand, ensure_bridge_netfilter

    cfg = deps.cfg
    if not ensure_bridge_netfilter():
        log.warning("no bridge netfilter in this kernel: pod -> ClusterIP -> pod on one bridge will not work")
    nodeport_ips = cfg.nodeport_addresses or (deps.host_ip,)
    proxier = Proxier(NftCommand(), ProxyConfig(table=cfg.nft_table, pod_cidr=cfg.subnet, service_cidr=cfg.service_cidr,
                                                node_name=cfg.node_name, nodeport_ips=nodeport_ips))
    dns = ClusterDnsService(cfg.bridge_address, net.dns_ip, zone=cfg.cluster_domain)
    # `default/kubernetes` -> <bridge address>:6443, where the API's TCP listener must answer pods
    # (until it does, in-cluster clients get "connection refused", not a missing Service).
    settings = ServiceSettings(net, cfg.bridge_address, api_port=IN_CLUSTER_PORT, ingress_ips=nodeport_ips)
    services = ServiceController(registry, deps.hub, settings, proxier, dns)
    services.start()
    return services


def cleanup(opts: dict[str, Any]) -> int:
    """`podbay agent --cleanup`: remove what the agent installed on the host for Services (its
    nftables table); pods and their network are the agent's to stop, not this."""
    from podbay.network.nftables import NftCommand

    cfg = config_from_options(opts)
    removed = NftCommand().delete_table(cfg.nft_table)
    print(f"nftables table ip {cfg.nft_table}: {'deleted' if removed else 'not present'}")
    return 0


def start_controllers(registry: Any, deps: Deps) -> Any:
    """kube-controller-manager's workload controllers and the scheduler, fed by the hub (issue 8);
    the built-in StorageClass exists before anything asks for a claim."""
    from podbay.agent.controllers import feed, wiring
    from podbay.agent.controllers.cache import Cache
    from podbay.agent.controllers.registry_writer import RegistryWriter
    from podbay.api import storage
    from podbay.errors import AlreadyExists

    sc_rt = registry.kind("StorageClass", "storage.k8s.io", "v1")
    with contextlib.suppress(AlreadyExists):
        registry.create(sc_rt, "", storage.builtin_storage_class())
    from podbay.agent.claims import LocalProvisioner
    from podbay.agent.strategies.workloads import PV_WRITES

    writer = RegistryWriter(registry, deps.cfg.node_name)
    mgr = wiring.manager(Cache(), writer, feed.namespaced_lookup(registry.table),
                         provisioner=LocalProvisioner(deps.repo, deps.cfg.root), internal=PV_WRITES.enabled)
    feed.connect(mgr, deps.hub, deps.repo, feed.stored_kinds(registry.table))
    mgr.start()
    return mgr


def _release_root_bind(cfg: AgentConfig) -> None:
    """Undo the agent's self-bind of the state root when nothing runs below it any more (no pod):
    with pods still running it stays, so their mounts keep their propagation."""
    marker = cfg.run_dir / "root-self-bind"
    root = str(cfg.root.resolve())
    if marker.exists() and mounts_under(root) == [root]:
        with contextlib.suppress(PodbayError):
            umount(root)
        marker.unlink(missing_ok=True)


def run_agent(opts: dict[str, Any]) -> int:
    logging.basicConfig(level=os.environ.get("PODBAY_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if os.geteuid() != 0:
        log.error("podbay agent must run as root")
        return 1
    # conmon double-forks; as subreaper we collect its monitors quickly instead of PID 1 (slow here).
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        cfg = config_from_options(opts)
        run_bounded(serve(cfg), STOP_GRACE_SECONDS)
    except (PermanentError, ValueError) as exc:
        log.error("%s", exc)
        return 1
    return 0


def run_bounded(main: Any, grace: float) -> None:
    """asyncio.run(main), except that the shutdown waits at most `grace` seconds for blocking work in
    threads (asyncio.run joins its executor without a limit; a container stop in a thread can take its
    whole grace period, a CNI plugin a minute). Past it the process exits at once, as after a crash."""
    loop = asyncio.new_event_loop()
    executor = ThreadPoolExecutor(thread_name_prefix=IO_THREAD_PREFIX)
    loop.set_default_executor(executor)
    try:
        loop.run_until_complete(main)
    finally:
        tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        executor.shutdown(wait=False, cancel_futures=True)
        busy = _join_io_threads(grace)
        if busy:
            log.warning("stopping with %d blocking operations unfinished; the next start repairs them", busy)
            logging.shutdown()
            os._exit(0)
        loop.close()


def _join_io_threads(timeout: float) -> int:
    """Join the executor's threads until the deadline; returns how many are still busy."""
    deadline = time.monotonic() + timeout
    busy = [t for t in threading.enumerate() if t.name.startswith(IO_THREAD_PREFIX)]
    for t in busy:
        t.join(max(0.0, deadline - time.monotonic()))
    return sum(t.is_alive() for t in busy)


def main(argv: list[str]) -> int:
    """`podbay agent [options]` (argparse: the agent does not need the CLI's click stack)."""
    import argparse

    ap = argparse.ArgumentParser(prog="podbay agent", description="Run the podbay node agent (root).")
    ap.add_argument("--root", help="state root (env PODBAY_ROOT, default /var/lib/podbay)")
    ap.add_argument("--run-dir", dest="run_dir", help="run dir (env PODBAY_RUN_DIR, default /run/podbay)")
    ap.add_argument("--socket", help="API socket (env PODBAY_SOCKET, default <run dir>/podbay.sock)")
    ap.add_argument("--runtime", choices=["crun", "runc"], help="OCI runtime (default: crun where it works)")
    ap.add_argument("--cni-conf-dir", dest="cni_conf_dir", help="CNI config dir (default <root>/cni/net.d)")
    ap.add_argument("--subnet", help="pod subnet for the default bridge network (default 10.88.0.0/16)")
    ap.add_argument("--bridge", help="bridge name of the default network (default podbay0)")
    ap.add_argument("--node-name", dest="node_name", help="node name (default: the host name)")
    ap.add_argument("--service-cidr", dest="service_cidr",
                    help="ClusterIP range (default 10.96.0.0/12: kubernetes .1, kube-dns .10)")
    ap.add_argument("--service-node-port-range", dest="service_node_port_range",
                    help="NodePort range (default 30000-32767)")
    ap.add_argument("--nodeport-addresses", dest="nodeport_addresses", action="append", default=[],
                    help="host IPs that answer NodePorts and LoadBalancer ports (default: the node's address)")
    ap.add_argument("--cluster-domain", dest="cluster_domain", help="cluster DNS domain (default cluster.local)")
    ap.add_argument("--no-services", dest="no_services", action="store_true",
                    help="no Service data path and no cluster DNS")
    ap.add_argument("--cleanup", action="store_true",
                    help="remove the agent's nftables table (Services) and exit")
    ap.add_argument("--allowed-host-path", dest="allowed_host_path", action="append", default=[],
                    help="allowed hostPath prefix (repeatable; default: all)")
    ap.add_argument("--seccomp-profile-root", dest="seccomp_profile_root",
                    help="dir of Localhost seccomp profiles (default <root>/seccomp)")
    ap.add_argument("--container-log-max-size", dest="container_log_max_size",
                    help="rotate a container log at this size (quantity, default 10Mi)")
    ap.add_argument("--container-log-max-files", dest="container_log_max_files", type=int,
                    help="log files kept per container, the live one included (default 5)")
    ap.add_argument("--max-pods", dest="max_pods", type=int,
                    help="pods this node runs at most: the Node's pods capacity (default 110, as the kubelet)")
    ap.add_argument("--container-log-monitor-interval", dest="container_log_monitor_interval", type=float,
                    help="seconds between log size checks (default 10)")
    ap.add_argument("--listen", help="TLS API listener ADDR:PORT, or none (default 127.0.0.1:6443)")
    ap.add_argument("--tls-san", dest="tls_san", action="append", default=[],
                    help="extra DNS name or IP in the serving certificate (repeatable)")
    ap.add_argument("--token-auth-file", dest="token_auth_file", action="append", default=[],
                    help="bearer tokens, kube-apiserver's CSV format token,user,uid,\"groups\" (repeatable)")
    add_image_flags(ap)   # images lane
    opts = vars(ap.parse_args(argv))
    if opts.get("cleanup"):
        if os.geteuid() != 0:
            print("podbay agent --cleanup must run as root", file=sys.stderr)
            return 1
        try:
            return cleanup(opts)
        except (PermanentError, PodbayError) as exc:
            print(f"podbay agent --cleanup: {exc}", file=sys.stderr)
            return 1
    return run_agent(opts)


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
