"""Plain functions behind ``podbay image ...``: they print nothing and return what to show."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from podbay.images import reference
from podbay.images.store import ImageStore

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


def _store(root: Path) -> ImageStore:
    """``root`` is the podbay state root; the image store lives in ``root/images``."""
    return ImageStore(Path(root) / "images")


def human_size(n: int) -> str:
    """Decimal units with 3 significant digits, like podman (``2.14 MB``)."""
    size = float(n)
    unit = 0
    while size >= 1000 and unit < len(_UNITS) - 1:
        size /= 1000
        unit += 1
    return f"{size:.3g} {_UNITS[unit]}"


def import_image(root: Path, path: Path, ref: str | None, changes: list[str]) -> str:
    """``podbay image import TAR [REF] --change ...``; returns the image id."""
    return _store(root).import_tar(Path(path), ref, changes).id


def load_images(root: Path, path: Path) -> list[str]:
    """``podbay image load -i ARCHIVE``; returns ``Loaded image: REF`` lines (id for untagged)."""
    lines = []
    for img in _store(root).load(Path(path)):
        lines += [f"Loaded image: {r}" for r in img.refs] or [f"Loaded image: {img.id}"]
    return lines


def list_rows(root: Path) -> list[tuple[str, str, str, str, str]]:
    """(REPOSITORY, TAG, DIGEST, IMAGE ID, SIZE) rows, one per ref; ``<none>`` for untagged images.
    DIGEST is the registry digest the repository's image was pulled by (``<none>`` if loaded)."""
    rows = []
    for img in _store(root).list():
        short = img.id.removeprefix("sha256:")[:12]
        size = human_size(img.size)
        digests = {rd.partition("@")[0]: rd.partition("@")[2] for rd in img.repo_digests}
        names = [reference.split_for_display(r) for r in img.refs] or \
            [(repo, "<none>") for repo in digests] or [("<none>", "<none>")]
        for repo, tag in names:
            d = digests.get(repo, "")
            rows.append((repo, tag, d[:19] if d else "<none>", short, size))
    return sorted(rows)


def pull_image(root: Path, ref: str, creds: str | None, registries_conf: Path | None,
               progress: Any = None, cancel: threading.Event | None = None) -> Any:
    """``podbay image pull REF``: a Puller over skopeo with podbay's registries.conf and certs.d;
    credentials from ``--creds USER:PASS``, else the node file ``<root>/config.json`` (kubelet keyring)."""
    from podbay.images import keyring
    from podbay.images.archive import host_platform
    from podbay.images.pull import Puller, RegistriesConfFile
    from podbay.images.skopeo import SkopeoClient

    store = _store(root)
    conf = RegistriesConfFile(registries_conf or Path(root) / "registries.conf", required=registries_conf is not None)
    puller = Puller(store, SkopeoClient(store.root, poll_interval=0.1), conf.load, host_platform(),
                    default_certs_dir=str(Path(root) / "certs.d"))
    parsed = reference.parse(ref)
    if creds is not None:
        user, sep, password = creds.partition(":")
        if not sep:
            raise ValueError("--creds must be USER:PASSWORD")
        found = [keyring.Credential(user, password, "--creds")]
    else:
        node = Path(root) / "config.json"
        kr = keyring.Keyring()
        if node.exists():
            kr.add(keyring.parse_docker_config(node.read_bytes(), f"node file {node}"))
        found = kr.lookup(parsed.repository)
    return puller.pull(ref, found, progress, cancel)


def prune(root: Path, in_use: list[str]) -> list[str]:
    """``podbay image prune``: remove every image no container uses; returns ``Deleted: ...`` lines."""
    import time

    from podbay.core.image_gc import prune as plan_prune
    from podbay.images import gc

    store = _store(root)
    plan = plan_prune(gc.candidates(store, in_use), time.time())
    lines = []
    for r in gc.execute(store, plan):
        lines += [f"Untagged: {ref}" for ref in r.refs]
        lines.append(f"Deleted: {r.id.removeprefix('sha256:')}")
    return lines


def remove_image(root: Path, ref: str, *, force: bool = False) -> str:
    """``podbay image rm REF|ID``; returns ``Untagged: ...`` / ``Deleted: ...`` lines."""
    removed = _store(root).remove(ref, force=force)
    lines = [f"Untagged: {r}" for r in removed.untagged]
    if removed.deleted:
        lines.append(f"Deleted: {removed.deleted.removeprefix('sha256:')}")
    return "\n".join(lines)
