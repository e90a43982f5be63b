"""podbay's registries.conf: where a repository is pulled from (pure: text in, endpoints out).

The file uses containers-registries.conf(5) (version 2) syntax, the subset that applies to
Kubernetes pulls, plus one podbay key::

    certs-dir = "/var/lib/podbay/certs.d"   # per registry: <certs-dir>/<host[:port]>/*.crt, *.cert + *.key

    [[registry]]
    prefix = "docker.io"                     # host[:port][/namespace...], or *.example.com
    location = "127.0.0.1:5000"              # remap (default: the prefix itself)
    insecure = true                          # plain HTTP or unverified TLS allowed
    blocked = false
    mirror-by-digest-only = false

    [[registry.mirror]]
    location = "mirror.example.com:5000/dockerhub"
    insecure = false
    pull-from-mirror = "all"                 # all | digest-only | tag-only

The [[registry]] with the longest matching prefix applies (containers/image ``refMatchingPrefix``);
its mirrors are tried in order, then its location. Short-name resolution keys
(``unqualified-search-registries``, ``short-name-mode``, ``[aliases]``) are rejected: Kubernetes
resolves short names to docker.io, always. Registries on loopback (localhost, 127.0.0.0/8, ::1)
may use plain HTTP unless a [[registry]] says ``insecure = false`` (containerd's rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_TOP_KEYS = {"certs-dir", "registry"}
_REGISTRY_KEYS = {"prefix", "location", "insecure", "blocked", "mirror-by-digest-only", "mirror"}
_MIRROR_KEYS = {"location", "insecure", "pull-from-mirror"}
_PULL_FROM = ("all", "digest-only", "tag-only")
_REJECTED = {
    "unqualified-search-registries": "short names always resolve to docker.io under Kubernetes",
    "short-name-mode": "short names always resolve to docker.io under Kubernetes",
    "aliases": "short names always resolve to docker.io under Kubernetes",
    "credential-helpers": "credentials come from imagePullSecrets and --image-credentials",
    "additional-layer-store-auth-helper": "podbay has no additional layer stores",
    "registries": "the version 1 format is not supported; use [[registry]] tables",
}


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Mirror:
    location: str
    insecure: bool | None = None            # None: not said (loopback then defaults to insecure)
    pull_from: str = "all"


@dataclass(frozen=True)
class Registry:
    prefix: str
    location: str
    insecure: bool | None = None            # None: not said (loopback then defaults to insecure)
    blocked: bool = False
    mirror_by_digest_only: bool = False
    mirrors: tuple[Mirror, ...] = ()


@dataclass(frozen=True)
class Endpoint:
    """One place to try: ``name`` is the reference to fetch there (``host/path:tag`` or ``@digest``)."""

    host: str
    name: str
    insecure: bool
    mirror: bool = False


@dataclass(frozen=True)
class RegistriesConfig:
    registries: tuple[Registry, ...] = ()
    certs_dir: str | None = None
    source: str = ""

    def find(self, ref: str) -> Registry | None:
        """The [[registry]] whose prefix matches ``ref`` longest (ref with an explicit host)."""
        best: tuple[int, Registry] | None = None
        for reg in self.registries:
            n = match_prefix(ref, reg.prefix)
            if n >= 0 and (best is None or n > best[0]):
                best = (n, reg)
        return best[1] if best else None

    def endpoints(self, ref: str, *, digested: bool) -> list[Endpoint]:
        """Mirrors (those allowed for this kind of reference), then the primary; raises ConfigError
        when the registry is blocked. ``ref`` is the normalised reference string."""
        reg = self.find(ref)
        if reg is None:
            host = _host_of(ref)
            return [Endpoint(host, ref, is_loopback(host))]
        if reg.blocked:
            raise ConfigError(f"registry {reg.prefix} is blocked in {self.source or 'registries.conf'}")
        out: list[Endpoint] = []
        if not reg.mirror_by_digest_only or digested:
            for m in reg.mirrors:
                if (m.pull_from == "digest-only" and not digested) or (m.pull_from == "tag-only" and digested):
                    continue
                name = _rewrite(ref, reg.prefix, m.location)
                host = _host_of(name)
                insecure = m.insecure if m.insecure is not None else is_loopback(host)
                out.append(Endpoint(host, name, insecure, mirror=True))
        name = _rewrite(ref, reg.prefix, reg.location)
        host = _host_of(name)
        insecure = reg.insecure if reg.insecure is not None else is_loopback(host)
        out.append(Endpoint(host, name, insecure))
        return out


def _host_of(name: str) -> str:
    return name.split("/", 1)[0]


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1, with or without a port."""
    name = host
    if name.startswith("["):
        name = name[1:name.find("]")]
    elif name.count(":") == 1:
        name = name.split(":")[0]
    if name == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def match_prefix(ref: str, prefix: str) -> int:
    """Length of the matched prefix, or -1 (containers/image refMatchingPrefix and its *. form)."""
    if prefix.startswith("*."):
        index = ref.find(prefix[1:])
        if index < 0 or "/" in ref[:index]:
            return -1
        index += len(prefix) - 1
        return index if index == len(ref) or ref[index] in ":/@" else -1
    if ref == prefix:
        return len(prefix)
    if len(ref) > len(prefix) and ref.startswith(prefix) and ref[len(prefix)] in ":/@":
        return len(prefix)
    return -1


def _rewrite(ref: str, prefix: str, location: str) -> str:
    if prefix.startswith("*."):
        return ref   # a wildcard table has no location of its own
    return location + ref[len(prefix):]


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: must be true or false")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: must be a non-empty string")
    return value


def _unknown(keys: set[str], allowed: set[str], where: str) -> None:
    for key in sorted(keys - allowed):
        why = _REJECTED.get(key)
        raise ConfigError(f"{where}{key}: not supported by podbay" + (f" ({why})" if why else ""))


def _location(value: str, where: str) -> str:
    if "://" in value:
        raise ConfigError(f"{where}: must be host[:port][/path] without a scheme")
    return value.rstrip("/")


def _registry(t: Any, i: int) -> Registry:
    where = f"registry[{i}]."
    if not isinstance(t, dict):
        raise ConfigError(f"registry[{i}]: must be a table")
    _unknown(set(t), _REGISTRY_KEYS, where)
    prefix = _str(t.get("prefix", t.get("location")), where + "prefix")
    if prefix.startswith("*.") and "location" in t:
        raise ConfigError(f"{where}location: must not be set with a wildcarded prefix ({prefix})")
    if "/" in prefix.split("*.")[-1] and prefix.startswith("*."):
        raise ConfigError(f"{where}prefix: a wildcarded prefix names a host only ({prefix})")
    location = _location(_str(t.get("location", prefix), where + "location"), where + "location")
    mirrors = []
    raw = t.get("mirror", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{where}mirror: must be an array of tables ([[registry.mirror]])")
    for j, m in enumerate(raw):
        mw = f"{where}mirror[{j}]."
        if not isinstance(m, dict):
            raise ConfigError(f"{mw[:-1]}: must be a table")
        _unknown(set(m), _MIRROR_KEYS, mw)
        pull_from = m.get("pull-from-mirror", "all")
        if pull_from not in _PULL_FROM:
            raise ConfigError(f"{mw}pull-from-mirror: must be one of {', '.join(_PULL_FROM)}")
        mirrors.append(Mirror(_location(_str(m.get("location"), mw + "location"), mw + "location"),
                              _bool(m["insecure"], mw + "insecure") if "insecure" in m else None, pull_from))
    return Registry(
        prefix=prefix.rstrip("/"), location=location,
        insecure=_bool(t["insecure"], where + "insecure") if "insecure" in t else None,
        blocked=_bool(t.get("blocked", False), where + "blocked"),
        mirror_by_digest_only=_bool(t.get("mirror-by-digest-only", False), where + "mirror-by-digest-only"),
        mirrors=tuple(mirrors))


def parse(text: str, source: str = "registries.conf") -> RegistriesConfig:
    """Parse the file's text; raises ConfigError naming the key that is wrong."""
    import tomllib

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    _unknown(set(doc), _TOP_KEYS, f"{source}: ")
    regs = doc.get("registry", [])
    if not isinstance(regs, list):
        raise ConfigError(f"{source}: registry: must be an array of tables ([[registry]])")
    try:
        registries = tuple(_registry(t, i) for i, t in enumerate(regs))
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    seen: set[str] = set()
    for reg in registries:
        if reg.prefix in seen:
            raise ConfigError(f"{source}: registry prefix {reg.prefix!r} is defined more than once")
        seen.add(reg.prefix)
    certs = doc.get("certs-dir")
    return RegistriesConfig(registries, _str(certs, f"{source}: certs-dir") if certs is not None else None, source)


@dataclass
class _Builder:
    """Writes a config in the same syntax (used by the test registry script and the demo)."""

    lines: list[str] = field(default_factory=list)

    def registry(self, prefix: str, location: str, insecure: bool | None = None) -> _Builder:
        self.lines += ["[[registry]]", f'prefix = "{prefix}"', f'location = "{location}"']
        if insecure is not None:
            self.lines.append(f"insecure = {'true' if insecure else 'false'}")
        self.lines.append("")
        return self

    def text(self, certs_dir: str | None = None) -> str:
        head = [f'certs-dir = "{certs_dir}"', ""] if certs_dir else []
        return "\n".join(head + self.lines)


def builder() -> _Builder:
    return _Builder()
