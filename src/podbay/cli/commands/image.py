"""``podbay image``: local images (pull from registries, import tarballs or OCI layouts, list, remove)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from podbay.cli.context import err, out
from podbay.cli.errors import fail

DEFAULT_ROOT = "/var/lib/podbay"


@click.group("image")
@click.option("--root", envvar="PODBAY_ROOT", default=DEFAULT_ROOT, show_default=True, help="State root.")
@click.pass_context
def image_group(ctx: click.Context, root: str) -> None:
    """Manage local images: pull from registries, import tarballs or OCI layouts."""
    ctx.meta["podbay.root"] = root


def _root() -> Path:
    return Path(click.get_current_context().meta["podbay.root"])


@image_group.command("import")
@click.argument("path")
@click.argument("ref", required=False)
@click.option("-c", "--change", "changes", multiple=True, help="Dockerfile instruction (ENV, CMD, ENTRYPOINT...).")
def image_import(path: str, ref: str | None, changes: tuple[str, ...]) -> None:
    """Import a root filesystem tarball (as image REF)."""
    from podbay.images import cli_ops

    out(f"{cli_ops.import_image(_root(), Path(path), ref, list(changes))}\n")


@image_group.command("load")
@click.argument("path", required=False)
@click.option("-i", "--input", "input_", default=None, help="OCI layout dir, oci-archive or docker-archive.")
def image_load(path: str | None, input_: str | None) -> None:
    """Load images from an archive or an OCI layout."""
    from podbay.images import cli_ops

    src = input_ or path
    if not src:
        raise fail("requires an archive: podbay image load -i FILE")
    for line in cli_ops.load_images(_root(), Path(src)):
        out(f"{line}\n")


@image_group.command("ls")
@click.option("-q", "--quiet", is_flag=True, help="Only image IDs.")
def image_ls(quiet: bool) -> None:
    """List images (with the registry digest they were pulled by)."""
    from podbay.cli.tabwriter import TabWriter
    from podbay.images import cli_ops

    rows = [tuple(str(c) for c in r) for r in cli_ops.list_rows(_root())]
    if quiet:
        for r in dict.fromkeys(r[3] for r in rows):
            out(f"{r}\n")
        return
    tw = TabWriter(minwidth=6, padding=3)
    tw.write("".join("\t".join(r) + "\n" for r in [("REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "SIZE"), *rows]))
    out(tw.flush())


@image_group.command("pull")
@click.argument("ref")
@click.option("--creds", default=None, metavar="USER:PASS", help="Registry credentials (else <root>/config.json).")
@click.option("--registries-conf", "registries_conf", default=None,
              help="registries.conf with mirrors and insecure registries (default <root>/registries.conf).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the image ID.")
def image_pull(ref: str, creds: str | None, registries_conf: str | None, quiet: bool) -> None:
    """Pull an image from a registry (progress per layer), as the agent pulls for pods."""
    import os

    from podbay.cli.pullprogress import PullProgress, size
    from podbay.images import cli_ops, reference
    from podbay.images.registry import PullError

    try:
        normalized = reference.normalize(ref)
    except ValueError as exc:
        raise fail(f'Error: invalid reference "{ref}": {exc}') from None
    tty = sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
    def write(text: str) -> None:
        sys.stderr.write(text)
        sys.stderr.flush()

    bar = PullProgress(write, tty)
    started: list[bool] = []

    def progress(plan: Any, snap: Any) -> None:
        if not started:
            started.append(True)
            bar.begin([(layer.digest, layer.size) for layer in plan.layers])
        bar.update(snap.finished, snap.partial)

    if not quiet:
        err(f"Trying to pull {normalized}...")
    try:
        res = cli_ops.pull_image(_root(), ref, creds, Path(registries_conf) if registries_conf else None,
                                 None if quiet else progress)
    except PullError as exc:
        raise fail(f"Error: pulling image {normalized}: {exc.message}") from None
    except ValueError as exc:
        raise fail(f"Error: {exc}") from None
    if not quiet:
        if res.downloaded:
            err(f"Downloaded newer image for {normalized} ({size(res.image.size)}) in {res.seconds:.2f}s")
        else:
            err(f"Image is up to date for {normalized}")
        err(f"Digest: {res.repo_digest.partition('@')[2]}")
    out(f"{res.image.id.removeprefix('sha256:')}\n")


@image_group.command("prune")
def image_prune() -> None:
    """Remove every image no container uses (crictl rmi --prune); the agent also GCs by disk usage."""
    from podbay.images import cli_ops

    in_use: list[str] = []
    db = _root() / "state.db"
    if db.exists():
        from podbay.store.db import Store

        st = Store(db)
        try:
            in_use = [r.image_id or r.image for r in st.all_containers()]
        finally:
            st.close()
    for line in cli_ops.prune(_root(), in_use):
        out(f"{line}\n")


@image_group.command("rm")
@click.argument("refs", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Remove even if a container uses it.")
def image_rm(refs: tuple[str, ...], force: bool) -> None:
    """Remove images."""
    from podbay.images import cli_ops

    for ref in refs:
        out(f"{cli_ops.remove_image(_root(), ref, force=force)}\n")


command = image_group
