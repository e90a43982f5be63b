"""CNI configuration, plugin stdin, CNI_ARGS and libcni result-cache records (pure).

Mirrors libcni (containernetworking/cni/libcni) so that the files podbay writes can be read by
podman/CRI-O tooling and by a human debugging with the upstream docs.
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from podbay.errors import NetworkFailure

CACHE_KIND = "cniCacheV1"
DEFAULT_CNI_VERSION = "1.0.0"
CONFIG_EXTENSIONS = (".conflist", ".conf", ".json")
LOOPBACK_CONFIG: dict[str, Any] = {"cniVersion": DEFAULT_CNI_VERSION, "name": "cni-loopback", "type": "loopback"}

# CNI spec error codes we raise ourselves.
CODE_DECODE = 6
CODE_INVALID_CONFIG = 7


@dataclass(frozen=True)
class NetworkList:
    """A loaded network configuration list; `raw` is cached verbatim like libcni's list.Bytes."""

    name: str
    cni_version: str
    plugins: tuple[dict[str, Any], ...]
    raw: bytes


def default_conflist(name: str, bridge: str, subnet: str, ipam_dir: str) -> dict[str, Any]:
    """The conflist podbay writes when the config dir is empty: one bridge with host-local IPAM."""
    net = ipaddress.ip_network(subnet)
    gateway = str(next(net.hosts()))
    return {
        "cniVersion": DEFAULT_CNI_VERSION,
        "name": name,
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "ipMasq": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": str(net), "gateway": gateway}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": ipam_dir,
                },
            },
            # hostPort: the runtime passes portMappings as a capability arg (as CRI-O and containerd do).
            {"type": "portmap", "capabilities": {"portMappings": True}, "snat": True},
        ],
    }


def host_port_mappings(pod: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The pod's container hostPorts as the CNI ``portMappings`` capability (libcni's PortMapping)."""
    out = []
    spec = pod.get("spec") or {}
    for c in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        for p in c.get("ports") or []:
            if isinstance(p, Mapping) and p.get("hostPort"):
                m: dict[str, Any] = {"hostPort": int(p["hostPort"]), "containerPort": int(p["containerPort"]),
                                     "protocol": str(p.get("protocol") or "TCP").lower()}
                if p.get("hostIP"):
                    m["hostIP"] = str(p["hostIP"])
                out.append(m)
    return out


def parse_config(data: bytes, filename: str) -> NetworkList:
    """Parse a .conflist, or a single-plugin .conf/.json which libcni wraps into a one-element list."""
    try:
        obj = json.loads(data)
    except ValueError as exc:
        raise NetworkFailure(f"error parsing CNI configuration {filename!r}: {exc}", code=CODE_DECODE) from exc
    if not isinstance(obj, dict):
        raise NetworkFailure(f"invalid CNI configuration {filename!r}: not a JSON object", code=CODE_INVALID_CONFIG)
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        raise NetworkFailure(f"invalid CNI configuration {filename!r}: missing network name",
                             code=CODE_INVALID_CONFIG)
    version = obj.get("cniVersion") or "0.1.0"
    if not isinstance(version, str):
        raise NetworkFailure(f"invalid CNI configuration {filename!r}: bad cniVersion", code=CODE_INVALID_CONFIG)
    if "plugins" in obj:
        plugins = obj["plugins"]
        if not isinstance(plugins, list) or not plugins:
            raise NetworkFailure(f"invalid CNI configuration {filename!r}: no plugins in list",
                                 code=CODE_INVALID_CONFIG)
    else:
        plugins = [obj]
    for p in plugins:
        if not isinstance(p, dict) or not isinstance(p.get("type"), str) or not p["type"]:
            raise NetworkFailure(f"invalid CNI configuration {filename!r}: plugin without a type",
                                 code=CODE_INVALID_CONFIG)
    return NetworkList(name, version, tuple(plugins), data)


def first_config_file(names: Sequence[str]) -> str | None:
    """The file libcni/ocicni picks: lexically first with a CNI extension."""
    candidates = sorted(n for n in names if n.endswith(CONFIG_EXTENSIONS))
    return candidates[0] if candidates else None


def plugin_stdin(
    plugin: Mapping[str, Any],
    name: str,
    cni_version: str,
    prev_result: Mapping[str, Any] | None,
    capability_args: Mapping[str, Any],
) -> dict[str, Any]:
    """The JSON one plugin gets on stdin (libcni buildOneConfig + injectRuntimeConfig)."""
    conf = copy.deepcopy(dict(plugin))
    conf["name"] = name
    conf["cniVersion"] = cni_version
    if prev_result is not None:
        conf["prevResult"] = copy.deepcopy(dict(prev_result))
    caps = conf.pop("capabilities", None) or {}
    runtime = {k: capability_args[k] for k, on in caps.items() if on and k in capability_args}
    if runtime:
        conf["runtimeConfig"] = runtime
    return conf


def cni_args_pairs(args: Mapping[str, str]) -> list[tuple[str, str]]:
    """CNI_ARGS as ordered pairs; IgnoreUnknown=1 first so plugins accept the K8S_* keys."""
    pairs = [("IgnoreUnknown", "1")]
    for k, v in args.items():
        if k == "IgnoreUnknown":
            continue
        if any(c in s for s in (k, v) for c in ";=") or not k:
            raise ValueError(f"invalid CNI arg {k}={v}: keys and values must not contain ';' or '='")
        pairs.append((k, v))
    return pairs


def cni_args_env(pairs: Sequence[tuple[str, str]]) -> str:
    return ";".join(f"{k}={v}" for k, v in pairs)


def pod_cni_args(namespace: str, name: str, uid: str, infra_id: str) -> dict[str, str]:
    """The K8S_* args a CRI runtime passes for a pod sandbox."""
    return {
        "K8S_POD_NAMESPACE": namespace,
        "K8S_POD_NAME": name,
        "K8S_POD_INFRA_CONTAINER_ID": infra_id,
        "K8S_POD_UID": uid,
    }


def cache_key(network: str, container_id: str, ifname: str) -> str:
    return f"{network}-{container_id}-{ifname}"


def cache_record(
    net: NetworkList,
    container_id: str,
    ifname: str,
    netns: str,
    pairs: Sequence[tuple[str, str]],
    capability_args: Mapping[str, Any],
    result: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """libcni's cachedInfo; `config` is []byte in Go, hence base64 in JSON. Without a result it is
    podbay's ADD intent (written before ADD, so a crash before the result is cached can be undone)."""
    rec: dict[str, Any] = {
        "kind": CACHE_KIND,
        "containerId": container_id,
        "config": base64.b64encode(net.raw).decode(),
        "ifName": ifname,
        "networkName": net.name,
    }
    if netns:
        rec["netns"] = netns
    if pairs:
        rec["cniArgs"] = [[k, v] for k, v in pairs]
    if capability_args:
        rec["capabilityArgs"] = dict(capability_args)
    if result is not None:
        rec["result"] = dict(result)
    return rec


def parse_cache(data: bytes) -> tuple[NetworkList | None, dict[str, Any] | None]:
    """(cached config, cached result) from a cache file; (None, None) if it is unusable."""
    try:
        rec = json.loads(data)
    except ValueError:
        return None, None
    if not isinstance(rec, dict) or rec.get("kind") != CACHE_KIND:
        return None, None
    result = rec.get("result") if isinstance(rec.get("result"), dict) else None
    net = None
    if isinstance(rec.get("config"), str):
        try:
            net = parse_config(base64.b64decode(rec["config"]), "cache")
        except (NetworkFailure, ValueError):
            net = None
    return net, result


def plugin_error(stdout: str, stderr: str, rc: int) -> tuple[int | None, str]:
    """(code, message) from a failed plugin: the CNI error object on stdout, else stderr."""
    try:
        obj = json.loads(stdout)
    except ValueError:
        obj = None
    if isinstance(obj, dict) and "msg" in obj:
        code = obj.get("code")
        msg = str(obj.get("msg"))
        if obj.get("details"):
            msg = f"{msg}; {obj['details']}"
        return (code if isinstance(code, int) else None), msg
    text = (stderr.strip() or stdout.strip())[-500:]
    return None, text or f"exit status {rc}"


def pod_ips(result: Mapping[str, Any] | None) -> list[str]:
    """Addresses of a CNI result without their prefix length, in result order."""
    if not result:
        return []
    out = []
    for ip in result.get("ips") or []:
        addr = ip.get("address") if isinstance(ip, dict) else None
        if isinstance(addr, str) and addr:
            out.append(addr.split("/", 1)[0])
    return out
