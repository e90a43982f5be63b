"""Content negotiation of the API server (``endpoints/handlers/negotiation``), pure.

The ``Accept`` header picks how an answer is rendered: the object itself (JSON or YAML), a
``meta.k8s.io`` Table or PartialObjectMetadata(List) (``as=…;g=meta.k8s.io;v=v1``, what kubectl
asks for), or aggregated discovery (``as=APIGroupDiscoveryList;g=apidiscovery.k8s.io;v=v2``).
Clauses podbay cannot serve (protobuf, unknown ``as``) are skipped; when none is left the answer is
406 NotAcceptable. ``Content-Type`` of request bodies is checked by ``body_format``.
"""

from __future__ import annotations

from dataclasses import dataclass

from podbay.api.patchtypes import PATCH_TYPES
from podbay.errors import NotAcceptable, UnsupportedMediaType

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
DISCOVERY_GROUP = "apidiscovery.k8s.io"
META_GROUP = "meta.k8s.io"

SERVED_TYPES = f"{JSON}, {YAML}"


@dataclass(frozen=True)
class MediaRange:
    type: str                     # "application/json"
    params: tuple[tuple[str, str], ...]
    q: float

    def param(self, key: str) -> str:
        return next((v for k, v in self.params if k == key), "")


@dataclass(frozen=True)
class Rendering:
    """How to render an answer."""

    form: str            # json | yaml | table | partial | partial_list | discovery
    version: str = ""    # Table/PartialObjectMetadata: v1 or v1beta1; discovery: v2 or v2beta1

    @property
    def content_type(self) -> str:
        if self.form == "yaml":
            return YAML
        if self.form == "discovery":
            return f"{JSON};g={DISCOVERY_GROUP};v={self.version};as=APIGroupDiscoveryList"
        if self.form in ("table", "partial", "partial_list"):
            as_ = {"table": "Table", "partial": "PartialObjectMetadata", "partial_list": "PartialObjectMetadataList"}
            return f"{JSON};as={as_[self.form]};g={META_GROUP};v={self.version}"
        return JSON


def parse_accept(header: str) -> list[MediaRange]:
    """Media ranges in preference order (q descending, then as written); q=0 ranges are dropped."""
    out: list[tuple[float, int, MediaRange]] = []
    for i, clause in enumerate(header.split(",")):
        parts = [p.strip() for p in clause.split(";")]
        mtype = parts[0].lower()
        if not mtype:
            continue
        if mtype == "*":
            mtype = "*/*"
        params: list[tuple[str, str]] = []
        q = 1.0
        for p in parts[1:]:
            k, _, v = p.partition("=")
            k, v = k.strip().lower(), v.strip().strip('"')
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
                if not 0.0 <= q <= 1.0:   # also rejects nan
                    q = 0.0
            elif k:
                params.append((k, v))
        if q > 0:
            out.append((-q, i, MediaRange(mtype, tuple(params), q)))
    return [m for _, _, m in sorted(out, key=lambda t: (t[0], t[1]))]


def _is_json(mtype: str) -> bool:
    return mtype in (JSON, "application/*", "*/*")


def negotiate(header: str | None, *, target: str) -> Rendering:
    """``target``: object | list | watch | discovery | plain (a fixed JSON document)."""
    if not header or not header.strip():
        return Rendering("json")
    for m in parse_accept(header):
        as_ = m.param("as")
        if as_:
            if not _is_json(m.type):
                continue
            g, v = m.param("g"), m.param("v")
            if target == "discovery" and as_ == "APIGroupDiscoveryList" and g == DISCOVERY_GROUP \
                    and v in ("v2", "v2beta1"):
                return Rendering("discovery", v)
            if g != META_GROUP or v not in ("v1", "v1beta1") or target in ("discovery", "plain"):
                continue
            if as_ == "Table" and target in ("object", "list", "watch"):
                return Rendering("table", v)
            if as_ == "PartialObjectMetadata" and target in ("object", "watch"):
                return Rendering("partial", v)
            if as_ == "PartialObjectMetadataList" and target == "list":
                return Rendering("partial_list", v)
            continue
        if _is_json(m.type):
            return Rendering("json")
        if m.type == YAML and target in ("object", "list", "plain"):
            return Rendering("yaml")
    raise NotAcceptable(f"only the following media types are accepted: {SERVED_TYPES}")


def body_format(content_type: str | None, *, patch: bool = False) -> str:
    """The request body's media type (lower-case, no parameters); 415 if it cannot be decoded.

    ``patch``: PATCH accepts only the four patch types (``handlers/patch.go``).
    """
    mtype = (content_type or "").split(";")[0].strip().lower()
    if patch:
        if mtype in PATCH_TYPES:
            return mtype
        raise UnsupportedMediaType(f"the body of the request was in an unknown format - accepted media types "
                                   f"include: {', '.join(PATCH_TYPES)}")
    if mtype in (JSON, YAML, "application/x-yaml", "text/yaml", PROTOBUF) or not mtype:
        return mtype or JSON
    raise UnsupportedMediaType(f"the body of the request was in an unknown format - accepted media types "
                               f"include: {JSON}, {YAML}, {PROTOBUF}")
