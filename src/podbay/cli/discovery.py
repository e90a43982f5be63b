"""What the server serves, from its discovery documents, cached per server as kubectl caches them.

kubectl's RESTMapper in small: the aggregated discovery documents of ``/api`` and ``/apis``
(``apidiscovery.k8s.io/v2``; the legacy ``/api/v1`` + ``/apis/{g}/{v}`` documents when a server has
no aggregated discovery) give every resource with its kind, scope, short names, categories, verbs and
subresources. Type arguments resolve as kubectl resolves them (``ResourceOrKindArgs`` with the
shortcut and category expanders): plural, singular, short name or kind, case-insensitive, optionally
qualified ``resource.group`` / ``resource.version.group``; a category (``all``) expands to its
resources; a name served by several groups resolves to the first in discovery order (core first).

The cache is one JSON file per agent socket under ``$XDG_CACHE_HOME/podbay/discovery`` (kubectl:
``~/.kube/cache/discovery/<host>``), valid for 6 hours like kubectl's and only while the socket is
the same file: an agent restart (the only way its kinds change) re-creates the socket and so
invalidates it. A type the cache does not know refreshes it once before it is an error, as kubectl's
deferred mapper does. Plain classes and no extra imports: this runs on every verb's start.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from podbay.client.http import ApiClient, ApiError, resource_path

AGGREGATED = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
              "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")
CACHE_TTL = 6 * 3600.0   # kubectl's discovery cache TTL
CACHE_FORMAT = 1


class ApiResource:
    """One served resource (a plain class: importing dataclasses costs start-up time)."""

    def __init__(self, group: str, version: str, kind: str, plural: str, singular: str, namespaced: bool,
                 short_names: list[str] | None = None, categories: list[str] | None = None,
                 verbs: list[str] | None = None, subresources: list[str] | None = None) -> None:
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.singular = singular or kind.lower()
        self.namespaced = namespaced
        self.short_names = list(short_names or [])
        self.categories = list(categories or [])
        self.verbs = list(verbs or [])
        self.subresources = list(subresources or [])

    def __repr__(self) -> str:
        return f"ApiResource({self.group_resource}/{self.version})"

    @property
    def api_version(self) -> str:
        return self.version if not self.group else f"{self.group}/{self.version}"

    @property
    def group_resource(self) -> str:
        """``pods`` / ``deployments.apps``: how the server's errors name the resource."""
        return self.plural if not self.group else f"{self.plural}.{self.group}"

    @property
    def kind_group(self) -> str:
        """``pod`` / ``deployment.apps``: how kubectl names the kind in ``-o name``, apply and delete."""
        return self.kind.lower() if not self.group else f"{self.kind.lower()}.{self.group}"

    def name_of(self, name: str) -> str:
        """``-o name``: ``pod/web``, ``deployment.apps/web``."""
        return f"{self.kind_group}/{name}"

    def name_of_obj(self, obj: dict[str, Any]) -> str:
        return self.name_of(str((obj.get("metadata") or {}).get("name", "")))

    def path(self, namespace: str | None, name: str | None = None, sub: str | None = None) -> str:
        """The REST path; ``namespace`` is ignored for cluster-scoped resources."""
        return resource_path(self.group, self.version, self.plural, namespace if self.namespaced else None,
                             name, sub)

    def allows(self, verb: str) -> bool:
        return verb in self.verbs

    def to_json(self) -> list[Any]:
        return [self.group, self.version, self.kind, self.plural, self.singular, self.namespaced,
                self.short_names, self.categories, self.verbs, self.subresources]

    @classmethod
    def from_json(cls, row: list[Any]) -> ApiResource:
        return cls(*row)


class NoResourceType(Exception):
    """``the server doesn't have a resource type "x"``."""

    def __init__(self, name: str) -> None:
        super().__init__(f'the server doesn\'t have a resource type "{name}"')
        self.name = name


# --- reading discovery documents ---------------------------------------------------------------------

def _from_aggregated(doc: dict[str, Any]) -> list[ApiResource]:
    out: list[ApiResource] = []
    for item in doc.get("items") or []:
        group = str((item.get("metadata") or {}).get("name") or "")
        for v in item.get("versions") or []:
            version = str(v.get("version") or "")
            for r in v.get("resources") or []:
                kind = str((r.get("responseKind") or {}).get("kind") or "")
                out.append(ApiResource(
                    group, version, kind, str(r.get("resource") or ""), str(r.get("singularResource") or ""),
                    r.get("scope") == "Namespaced", r.get("shortNames"), r.get("categories"), r.get("verbs"),
                    [str(s.get("subresource")) for s in r.get("subresources") or []]))
    return out


def _from_resource_list(group: str, version: str, doc: dict[str, Any]) -> list[ApiResource]:
    out: list[ApiResource] = []
    subs: dict[str, list[str]] = {}
    for r in doc.get("resources") or []:
        name = str(r.get("name") or "")
        if "/" in name:
            parent, _, sub = name.partition("/")
            subs.setdefault(parent, []).append(sub)
            continue
        out.append(ApiResource(group, version, str(r.get("kind") or ""), name, str(r.get("singularName") or ""),
                               bool(r.get("namespaced")), r.get("shortNames"), r.get("categories"),
                               r.get("verbs")))
    for res in out:
        res.subresources = subs.get(res.plural, [])
    return out


def fetch(client: ApiClient) -> list[ApiResource]:
    """Every served resource, groups in discovery order (core first), preferred versions first."""
    core = client.get("/api", accept=AGGREGATED)
    if core.get("kind") == "APIGroupDiscoveryList":
        return _from_aggregated(core) + _from_aggregated(client.get("/apis", accept=AGGREGATED))
    out: list[ApiResource] = []
    for version in core.get("versions") or ["v1"]:
        out += _from_resource_list("", version, client.get(f"/api/{version}"))
    for g in client.get("/apis").get("groups") or []:
        for v in g.get("versions") or []:
            try:
                doc = client.get(f"/apis/{v['groupVersion']}")
            except ApiError:
                continue   # a group-version that fails to answer is left out, as client-go does
            out += _from_resource_list(str(g.get("name") or ""), str(v.get("version") or ""), doc)
    return out


# --- the cache -----------------------------------------------------------------------------------------

def cache_dir() -> str:
    explicit = os.environ.get("PODBAY_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "podbay")


def _cache_file(socket_path: str) -> str:
    key = os.path.abspath(socket_path).strip("/").replace("/", "_") or "socket"
    return os.path.join(cache_dir(), "discovery", key + ".json")


def _socket_stamp(socket_path: str) -> list[int] | None:
    try:
        st = os.stat(socket_path)
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_mtime_ns]


def _read_cache(socket_path: str, stamp: list[int] | None) -> list[ApiResource] | None:
    if stamp is None:
        return None
    try:
        with open(_cache_file(socket_path), encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    if (not isinstance(doc, dict) or doc.get("format") != CACHE_FORMAT or doc.get("stamp") != stamp
            or time.time() - float(doc.get("fetched") or 0) > CACHE_TTL):
        return None
    try:
        return [ApiResource.from_json(row) for row in doc["resources"]]
    except (KeyError, TypeError):
        return None


def _write_cache(socket_path: str, stamp: list[int] | None, resources: list[ApiResource]) -> None:
    if stamp is None:
        return
    path = _cache_file(socket_path)
    doc = {"format": CACHE_FORMAT, "socket": os.path.abspath(socket_path), "stamp": stamp, "fetched": time.time(),
           "resources": [r.to_json() for r in resources]}
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(doc, f, separators=(",", ":"))
        os.replace(tmp, path)
    except OSError:
        pass   # a read-only or missing home: discovery is simply fetched every time


# --- the mapper ----------------------------------------------------------------------------------------

class Discovery:
    """Resolves type arguments and manifest kinds to served resources."""

    def __init__(self, client: ApiClient) -> None:
        self.client = client
        self._resources: list[ApiResource] | None = None
        self._fresh = False

    def resources(self) -> list[ApiResource]:
        if self._resources is None:
            stamp = _socket_stamp(self.client.socket_path)
            cached = _read_cache(self.client.socket_path, stamp)
            if cached is not None:
                self._resources = cached
            else:
                self.refresh()
        assert self._resources is not None
        return self._resources

    def refresh(self) -> list[ApiResource]:
        """Fetch from the server (and rewrite the cache), once per process."""
        if not self._fresh:
            stamp = _socket_stamp(self.client.socket_path)
            self._resources = fetch(self.client)
            self._fresh = True
            _write_cache(self.client.socket_path, stamp, self._resources)
        assert self._resources is not None
        return self._resources

    def _retry(self, fn: Any, *args: Any) -> Any:
        found = fn(self.resources(), *args)
        if not found and not self._fresh:
            found = fn(self.refresh(), *args)
        return found

    def resolve(self, arg: str) -> list[ApiResource]:
        """One type argument (no commas) -> its resources: one, or a category's members."""
        found: list[ApiResource] = self._retry(_resolve, arg.lower())
        if not found:
            raise NoResourceType(arg)
        return found

    def resolve_one(self, arg: str) -> ApiResource:
        """A type argument that must name one resource (``describe``, ``scale``...): a category is refused."""
        found = self.resolve(arg)
        return found[0]

    def for_kind(self, api_version: str, kind: str) -> ApiResource | None:
        """The resource serving ``kind`` in ``api_version`` (a manifest's), or None."""
        found: list[ApiResource] = self._retry(_by_kind, api_version, kind)
        return found[0] if found else None

    def kind_elsewhere(self, api_version: str, kind: str) -> bool:
        """Is ``kind`` of this group served in another version (for kubectl's mapping error)?"""
        group = api_version.rpartition("/")[0]
        return any(r.kind == kind and r.group == group for r in self.resources())


def _matches(r: ApiResource, name: str) -> bool:
    return name in (r.plural, r.singular, r.kind.lower()) or name in r.short_names


def _resolve(resources: list[ApiResource], arg: str) -> list[ApiResource]:
    top = [r for r in resources if r.plural and "/" not in r.plural]
    exact = [r for r in top if _matches(r, arg)]
    if exact:
        return _first_per_group_resource(exact)[:1]
    if "." in arg:
        name, _, rest = arg.partition(".")
        version, _, group = rest.partition(".")
        if group:   # resource.version.group, when that version exists
            hit = [r for r in top if _matches(r, name) and r.version == version and r.group == group]
            if hit:
                return hit[:1]
        hit = [r for r in top if _matches(r, name) and r.group == rest]
        if hit:
            return hit[:1]
    members = [r for r in top if arg in r.categories]
    return _first_per_group_resource(members)


def _first_per_group_resource(found: list[ApiResource]) -> list[ApiResource]:
    """Each group/resource once, at its preferred (first listed) version."""
    seen: set[tuple[str, str]] = set()
    out = []
    for r in found:
        if (r.group, r.plural) not in seen:
            seen.add((r.group, r.plural))
            out.append(r)
    return out


def _by_kind(resources: list[ApiResource], api_version: str, kind: str) -> list[ApiResource]:
    group, _, version = api_version.rpartition("/")
    return [r for r in resources if r.kind == kind and r.group == group and r.version == version
            and "/" not in r.plural]
