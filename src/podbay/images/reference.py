"""Image reference normalization, the way Docker's distribution/reference does it (pure).

``busybox`` -> ``docker.io/library/busybox:latest``; a tag is added only when there is no digest.
"""

from __future__ import annotations

import re
from typing import NamedTuple

DEFAULT_DOMAIN = "docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?")
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_HEX64_RE = re.compile(r"[a-f0-9]{64}")
_NAME_TOTAL_MAX = 255


class Parsed(NamedTuple):
    """A normalized reference split in parts; ``repository`` includes the domain."""

    repository: str
    tag: str | None
    digest: str | None

    def __str__(self) -> str:
        out = self.repository
        if self.tag:
            out += ":" + self.tag
        if self.digest:
            out += "@" + self.digest
        return out


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    # Docker's rule: the first component is a registry only if it looks like a host.
    if not sep or (not any(c in first for c in ".:") and first != "localhost" and first.lower() == first):
        domain, path = DEFAULT_DOMAIN, name
    else:
        domain, path = first, rest
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_REPO_PREFIX + path
    return domain, path


def parse(ref: str) -> Parsed:
    """Parse and normalize ``ref``; raises ValueError with distribution/reference's wording
    (``ParseNormalizedNamed``) when it is invalid."""
    if not ref:
        raise ValueError("repository name must have at least one component")
    if ref != ref.strip():
        raise ValueError("invalid reference format")
    name, at, digest = ref.partition("@")
    if at:
        if not _DIGEST_RE.fullmatch(digest):
            raise ValueError("invalid reference format")
        algo, _, hexpart = digest.partition(":")
        if algo == "sha256" and len(hexpart) != 64:
            raise ValueError("invalid checksum digest length")
    tag: str | None = None
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG_RE.fullmatch(tag):
            raise ValueError("invalid reference format")
    if _HEX64_RE.fullmatch(name):
        raise ValueError(f"invalid repository name ({name}), cannot specify 64-byte hexadecimal strings")
    domain, path = _split_domain(name)
    if not _DOMAIN_RE.fullmatch(domain):
        raise ValueError("invalid reference format")
    if not _PATH_RE.fullmatch(path):
        if _PATH_RE.fullmatch(path.lower()):
            raise ValueError(f"invalid reference format: repository name ({path}) must be lowercase")
        raise ValueError("invalid reference format")
    repository = f"{domain}/{path}"
    if len(repository) > _NAME_TOTAL_MAX:
        raise ValueError(f"repository name must not be more than {_NAME_TOTAL_MAX} characters")
    if tag is None and not at:
        tag = DEFAULT_TAG
    return Parsed(repository, tag, digest if at else None)


def normalize(ref: str) -> str:
    """``busybox:1.35`` -> ``docker.io/library/busybox:1.35`` (raises ValueError)."""
    return str(parse(ref))


def split_for_display(normalized: str) -> tuple[str, str]:
    """(REPOSITORY, TAG) columns for a normalized ref; ``<none>`` when there is no tag."""
    p = parse(normalized)
    return p.repository, p.tag or "<none>"
