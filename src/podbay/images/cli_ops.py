"""Plain functions behind ``podbay image ...``: they print nothing and return what to show."""

from __future__ import annotations

from pathlib import Path

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


def list_rows(root: Path) -> list[tuple[str, str, str, str]]:
    """(REPOSITORY, TAG, IMAGE ID, SIZE) rows, one per ref; ``<none>`` for untagged images."""
    rows = []
    for img in _store(root).list():
        short = img.id.removeprefix("sha256:")[:12]
        size = human_size(img.size)
        names = [reference.split_for_display(r) for r in img.refs] or [("<none>", "<none>")]
        rows += [(repo, tag, short, size) for repo, tag in names]
    return sorted(rows)


def remove_image(root: Path, ref: str, *, force: bool = False) -> str:
    """``podbay image rm REF|ID``; returns ``Untagged: ...`` / ``Deleted: ...`` lines."""
    removed = _store(root).remove(ref, force=force)
    lines = [f"Untagged: {r}" for r in removed.untagged]
    if removed.deleted:
        lines.append(f"Deleted: {removed.deleted.removeprefix('sha256:')}")
    return "\n".join(lines)
