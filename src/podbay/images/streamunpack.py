"""Unpacking layers while they download: the pull's unpack overlaps skopeo's transfer.

skopeo's ``oci:`` destination writes each blob to ``<layout>/oci-put-blob*`` and renames it into
``blobs/sha256/<hex>`` when complete (containers/image ``oci/layout/oci_dest.go PutBlob``). The
registry client reports each such file as it appears (and a finished blob it never saw being
written); a thread per file follows a temp file as it grows
(``GrowingFile``) and unpacks it into the pull's work dir with the store's safe unpacker, hashing
the compressed and the uncompressed stream. Nothing is trusted from the file name: the import
takes a streamed layer only when its computed blob digest is one of the manifest's layers and its
computed diff id is the config's; anything else is unpacked again from the finished layout.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from podbay.errors import PodbayError
from podbay.images.store import unpack_blob


class GrowingFile:
    """A file another process is still writing. At EOF a read waits until it grows, or returns EOF
    once its name is gone (renamed into place when complete, or removed after a failure)."""

    def __init__(self, f: BinaryIO, path: Path, stop: threading.Event, poll: float = 0.002) -> None:
        self._f = f
        self._path = path
        self._stop = stop
        self._poll = poll

    def read(self, n: int = -1) -> bytes:
        while True:
            data = self._f.read(n)
            if data or n == 0:
                return data
            if not os.path.lexists(self._path):
                return self._f.read(n)   # whatever was written before the rename, then EOF
            if self._stop.is_set():
                raise PodbayError("pull stopped")
            time.sleep(self._poll)

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._f.seek(pos, whence)


@dataclass(frozen=True)
class Streamed:
    diff_hex: str
    dir: Path
    size: int


class StreamUnpacker:
    """Starts an unpack per blob being written; ``finish()`` returns blob digest -> unpacked layer."""

    def __init__(self, work: Path, max_streams: int = 8) -> None:
        self._unpack = unpack_blob
        self.work = Path(work)
        self._threads: list[threading.Thread] = []
        self._results: dict[str, Streamed] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._slots = threading.Semaphore(max_streams)

    def on_blob(self, path: Path) -> None:
        if not self._slots.acquire(blocking=False):
            return   # plenty in flight already: this one is unpacked after the copy
        t = threading.Thread(target=self._one, args=(Path(path),), name="stream-unpack", daemon=True)
        with self._lock:
            self._threads.append(t)
        t.start()

    def _one(self, path: Path) -> None:
        dest: Path | None = None
        try:
            try:
                f = open(path, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                return   # already renamed: small blobs finish before we look
            with f:
                # A temp file grows until skopeo renames it; a blob under blobs/ is complete.
                src: GrowingFile | BinaryIO = GrowingFile(f, path, self._stop) if path.name.startswith(
                    "oci-put-blob") else f
                head = b""
                while len(head) < 2:
                    more = src.read(2 - len(head))
                    if not more:
                        return
                    head += more
                if head != b"\x1f\x8b":
                    return   # config, manifest or an uncompressed layer: left to the import
                src.seek(0)
                dest = self.work / f"stream-{os.fstat(f.fileno()).st_ino}"
                dest.mkdir(mode=0o755)
                raw_hex, diff_hex, size = self._unpack(src, dest)
            with self._lock:
                self._results["sha256:" + raw_hex] = Streamed(diff_hex, dest, size)
            dest = None
        except Exception as exc:   # any failure: the import unpacks that layer itself
            import logging

            logging.getLogger("podbay.images").debug("streamed unpack of %s abandoned: %s", path.name, exc)
        finally:
            if dest is not None:
                shutil.rmtree(dest, ignore_errors=True)
            self._slots.release()

    def finish(self, *, abort: bool = False) -> dict[str, Streamed]:
        """Wait for the streams (the copy is over: every file is complete or gone)."""
        if abort:
            self._stop.set()
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            t.join()
        with self._lock:
            return dict(self._results)
