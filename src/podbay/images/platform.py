"""Choosing one manifest of a multi-arch index or list for this host (pure).

The rules are containers/image's (``internal/pkg/platform/platform_matcher.go WantedPlatforms``,
``internal/manifest/{docker_schema2_list,oci_index}.go``), so ``podbay image load`` and a pull
through skopeo pick the same instance:

* wanted platforms: (os, arch, variant) in order of preference. Only arm/arm64 have variants:
  arm v8 > v7 > v6 > v5, arm64 v8; with a known variant the list is that variant and every less
  capable one, then no variant; without a known variant, no variant first, then the whole list.
  amd64 has no variant list, so an ``amd64/v3`` entry never matches (and is skipped).
* a platform matches when os, architecture and variant are equal.
* Docker manifest list: the first entry matching the most preferred platform wins.
* OCI index: the best match over all entries; entries without ``platform`` are the last resort.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
_ARM_VARIANTS = {"arm": ("v8", "v7", "v6", "v5"), "arm64": ("v8",)}


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def wanted_platforms(host: Platform) -> list[Platform]:
    """The (os, arch, variant) triples acceptable on ``host``, most preferred first."""
    compat = _ARM_VARIANTS.get(host.architecture)
    if compat is None:
        return [Platform(host.os, host.architecture, "")]
    if host.variant and host.variant in compat:
        below = compat[compat.index(host.variant):]
        return [Platform(host.os, host.architecture, v) for v in below] + [Platform(host.os, host.architecture, "")]
    return [Platform(host.os, host.architecture, "")] + [Platform(host.os, host.architecture, v) for v in compat]


def _entry_platform(desc: Mapping[str, Any]) -> Platform | None:
    plat = desc.get("platform")
    if not isinstance(plat, Mapping):
        return None
    return Platform(str(plat.get("os") or ""), str(plat.get("architecture") or ""), str(plat.get("variant") or ""))


class NoMatchingPlatform(ValueError):
    """No entry for this host; the message is containers/image's."""


def choose(manifests: Sequence[Mapping[str, Any]], host: Platform, *, oci_index: bool) -> Mapping[str, Any]:
    """The descriptor to use from a list/index's ``manifests``; raises NoMatchingPlatform."""
    wanted = wanted_platforms(host)
    if not oci_index:
        for want in wanted:
            for desc in manifests:
                if _entry_platform(desc) == want:
                    return desc
    else:
        best: tuple[int, int] | None = None
        chosen: Mapping[str, Any] | None = None
        for pos, desc in enumerate(manifests):
            plat = _entry_platform(desc)
            rank = len(wanted) if plat is None else (wanted.index(plat) if plat in wanted else None)
            if rank is not None and (best is None or (rank, pos) < best):
                best, chosen = (rank, pos), desc
        if chosen is not None:
            return chosen
    raise NoMatchingPlatform(f"no image found in {'image index' if oci_index else 'manifest list'} for "
                             f'architecture {host.architecture}, variant "{host.variant}", OS {host.os}')
