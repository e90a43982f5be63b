"""Registry credentials as the kubelet picks them (pure): pull secrets and the node's config file.

A port of ``pkg/credentialprovider/keyring.go`` and ``config.go`` (behaviour, not code):

* keys are normalised on ``add``: a missing scheme gets ``https://``, the scheme is dropped, a
  ``/v1/`` or ``/v2/`` path prefix is cut, and the key is ``host`` or ``host + path``; keys are
  de-duplicated and reverse-sorted, so more specific ones come first;
* ``lookup(repo)`` (repo = the normalised repository, ``docker.io/library/busybox``) returns every
  credential whose key matches: same port, same number of host labels, each label matching as a
  glob (``*.example.com``), and the key's path a string prefix of the repository's path;
* nothing matched and the image is on Docker Hub: the entry keyed ``index.docker.io`` is used;
* pod secrets first, then the node file (``union``). Once anything matched there is no anonymous
  fallback (the caller tries each credential in order and fails with their errors).
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson"
DOCKER_CFG = "kubernetes.io/dockercfg"
_KEY_OF_TYPE = {DOCKER_CONFIG_JSON: ".dockerconfigjson", DOCKER_CFG: ".dockercfg"}
DEFAULT_REGISTRY_HOST = "index.docker.io"


@dataclass(frozen=True)
class Credential:
    username: str
    password: str
    source: str = ""     # e.g. "secret default/regcred", "node file /etc/podbay/config.json"

    @property
    def fingerprint(self) -> str:
        """A stable id for the pair (never the secret itself): sha256 of ``user:password``."""
        return hashlib.sha256(f"{self.username}:{self.password}".encode()).hexdigest()[:16]

    def __repr__(self) -> str:  # never show a password in a log or traceback
        return f"Credential(username={self.username!r}, source={self.source!r})"


class InvalidDockerConfig(ValueError):
    pass


def decode_auth(field: str) -> tuple[str, str]:
    """``base64(user:password)``, padded or not (``decodeDockerConfigFieldAuth``)."""
    text = field.strip()
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidDockerConfig(f"illegal base64 data in auth field: {exc}") from exc
    user, sep, password = raw.decode("utf-8", "replace").partition(":")
    if not sep:
        raise InvalidDockerConfig("unable to parse auth field, must be formatted as base64(username:password)")
    return user, password


def parse_entries(cfg: Mapping[str, Any], source: str) -> dict[str, Credential]:
    """``{"<server>": {"auth"|"username"+"password"}}`` -> server -> Credential; ``auth`` wins."""
    out: dict[str, Credential] = {}
    for server, entry in cfg.items():
        if not isinstance(entry, Mapping):
            raise InvalidDockerConfig(f"entry {server!r} is not an object")
        user, password = str(entry.get("username") or ""), str(entry.get("password") or "")
        if entry.get("auth"):
            user, password = decode_auth(str(entry["auth"]))
        out[str(server)] = Credential(user, password, source)
    return out


def parse_docker_config(data: bytes | str, source: str) -> dict[str, Credential]:
    """A config.json (``{"auths": {...}}``) or a legacy .dockercfg (the map itself)."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidDockerConfig(f"{source}: not JSON: {exc}") from exc
    if not isinstance(doc, Mapping):
        raise InvalidDockerConfig(f"{source}: not a JSON object")
    auths = doc.get("auths") if "auths" in doc else doc
    if not isinstance(auths, Mapping):
        raise InvalidDockerConfig(f"{source}: auths is not an object")
    return parse_entries(auths, source)


def secret_entries(secret: Mapping[str, Any]) -> dict[str, Credential] | None:
    """The credentials of a pull secret; None when its type is not a docker config type or it is invalid
    (the kubelet skips such secrets: ``MakeDockerKeyring``)."""
    key = _KEY_OF_TYPE.get(str(secret.get("type") or ""))
    if key is None:
        return None
    md = secret.get("metadata") or {}
    source = f"secret {md.get('namespace', '')}/{md.get('name', '')}"
    raw = (secret.get("data") or {}).get(key)
    if raw is None:
        return None
    try:
        text = base64.b64decode(raw)
        if key == ".dockercfg":
            doc = json.loads(text)
            return parse_entries(doc, source) if isinstance(doc, Mapping) else None
        return parse_docker_config(text, source)
    except (ValueError, binascii.Error):
        return None


def _key(location: str) -> str:
    value = location if location.startswith(("https://", "http://")) else "https://" + location
    parts = urlsplit(value)
    path = parts.path
    if path.startswith(("/v2/", "/v1/")):
        path = path[3:]
    return parts.netloc + path if path and path != "/" else parts.netloc


def _split(url: str) -> tuple[list[str], str, str]:
    """(host labels, port, path) of a schemeless URL."""
    parts = urlsplit("https://" + url)
    netloc = parts.netloc
    host, port = netloc, ""
    if netloc.startswith("["):
        end = netloc.find("]")
        host, rest = netloc[1:end], netloc[end + 1:]
        port = rest[1:] if rest.startswith(":") else ""
    elif netloc.count(":") == 1:
        host, port = netloc.split(":")
    return host.split("."), port, parts.path


def _glob(pattern: str, name: str) -> bool:
    # Go's filepath.Match: '*' never crosses '/', '[^...]' negates (fnmatch spells it '[!...]').
    return fnmatch.fnmatchcase(name, pattern.replace("[^", "[!"))


def urls_match(glob: str, target: str) -> bool:
    """``URLsMatch``: ports equal, same label count, per-label glob, key path a prefix of the target's."""
    try:
        g_labels, g_port, g_path = _split(glob)
        t_labels, t_port, t_path = _split(target)
    except ValueError:   # not a URL (url.Parse fails upstream; the entry is ignored)
        return False
    if g_port != t_port or len(g_labels) != len(t_labels) or not t_path.startswith(g_path):
        return False
    return all(_glob(g, t) for g, t in zip(g_labels, t_labels, strict=True))


def is_default_registry(repo: str) -> bool:
    first, sep, _ = repo.partition("/")
    if not first:
        return False
    if not sep or first in ("docker.io", "index.docker.io"):
        return True
    return not any(c in first for c in ".:")


class Keyring:
    """One keyring (``BasicDockerKeyring``): the entries of one or more docker configs."""

    def __init__(self) -> None:
        self._creds: dict[str, list[Credential]] = {}
        self._index: list[str] = []

    def add(self, entries: Mapping[str, Credential]) -> None:
        for location, cred in entries.items():
            try:
                key = _key(location)
            except ValueError:
                continue   # "Entry %q in dockercfg invalid": ignored, as upstream
            self._creds.setdefault(key, []).append(cred)
            self._index.append(key)
        self._index = sorted(set(self._index), reverse=True)

    def lookup(self, repo: str) -> list[Credential]:
        out: list[Credential] = []
        for key in self._index:
            if urls_match(key, repo):
                out += self._creds[key]
        if not out and is_default_registry(repo):
            out = list(self._creds.get(DEFAULT_REGISTRY_HOST, []))
        return out


def union_lookup(keyrings: Sequence[Keyring], repo: str) -> list[Credential]:
    """``UnionDockerKeyring.Lookup``: pod secrets' keyring first, then the node's; duplicates kept once."""
    out: list[Credential] = []
    for kr in keyrings:
        for cred in kr.lookup(repo):
            if cred not in out:
                out.append(cred)
    return out


def pod_keyring(secrets: Iterable[Mapping[str, Any]]) -> Keyring:
    """A keyring of the pod's pull secrets of the docker config types (others are ignored, as upstream)."""
    kr = Keyring()
    for secret in secrets:
        entries = secret_entries(secret)
        if entries:
            kr.add(entries)
    return kr
